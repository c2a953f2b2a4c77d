"""PDF building blocks on reportlab: Chinese styles (Noto Sans SC), a document with a table
of contents and PDF bookmarks for its headings, page numbers, tables that wrap, and
appending other PDFs (pypdf) with their own bookmarks."""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from xml.sax.saxutils import escape

from app.compilation import fonts


@dataclass
class Styles:
    title: object
    subtitle: object
    h1: object
    h2: object
    body: object
    small: object
    cell: object
    cell_head: object
    toc_levels: list = field(default_factory=list)


def styles() -> Styles:
    from reportlab.lib import colors
    from reportlab.lib.enums import TA_CENTER
    from reportlab.lib.styles import ParagraphStyle

    regular, bold = fonts.register()
    base = dict(fontName=regular, wordWrap="CJK", leading=16, fontSize=10.5)
    return Styles(
        title=ParagraphStyle("title", **{**base, "fontName": bold, "fontSize": 22, "leading": 30},
                             alignment=TA_CENTER, spaceAfter=12),
        subtitle=ParagraphStyle("subtitle", **{**base, "fontSize": 13, "leading": 22}, alignment=TA_CENTER),
        h1=ParagraphStyle("h1", **{**base, "fontName": bold, "fontSize": 15, "leading": 22},
                          spaceBefore=10, spaceAfter=6, textColor=colors.HexColor("#8b1a1a")),
        h2=ParagraphStyle("h2", **{**base, "fontName": bold, "fontSize": 12, "leading": 18},
                          spaceBefore=6, spaceAfter=4),
        body=ParagraphStyle("body", **base, spaceAfter=4),
        small=ParagraphStyle("small", **{**base, "fontSize": 8.5, "leading": 12}, textColor=colors.grey),
        cell=ParagraphStyle("cell", **{**base, "fontSize": 9, "leading": 12}),
        cell_head=ParagraphStyle("cell_head", **{**base, "fontName": bold, "fontSize": 9, "leading": 12}),
        toc_levels=[ParagraphStyle("toc1", **base, leftIndent=10, firstLineIndent=-10),
                    ParagraphStyle("toc2", **{**base, "fontSize": 9.5}, leftIndent=28, firstLineIndent=-10)],
    )


def p(text, style, guard=None) -> object:
    """A paragraph of plain text (escaped; line breaks kept)."""
    from reportlab.platypus import Paragraph

    text = guard(text) if guard else ("" if text is None else str(text))
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


def heading(text, style, level: int, guard=None):
    para = p(text, style, guard)
    para._toc_level = level  # noqa: SLF001 - read by Document.afterFlowable
    return para


def table(rows, st: Styles, widths=None, guard=None, head_rows: int = 1, align_right: tuple = ()):
    """A table of plain-text cells that wrap (Chinese), header rows repeated on each page."""
    from reportlab.lib import colors
    from reportlab.platypus import Table, TableStyle

    data = []
    for r, row in enumerate(rows):
        style = st.cell_head if r < head_rows else st.cell
        data.append([p(value, style, guard) for value in row])
    t = Table(data, colWidths=widths, repeatRows=head_rows)
    commands = [
        ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#999999")),
        ("BACKGROUND", (0, 0), (-1, head_rows - 1), colors.HexColor("#f3e5e5")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
        ("LEFTPADDING", (0, 0), (-1, -1), 3), ("RIGHTPADDING", (0, 0), (-1, -1), 3),
    ]
    t.setStyle(TableStyle(commands))
    return t


def build(story_factory, *, title: str, author: str = "建家平台", with_toc: bool = True) -> bytes:
    """Build a PDF from ``story_factory(st, toc)`` (called once per pass); returns bytes.
    Headings made by :func:`heading` become table-of-contents lines and bookmarks."""
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import Frame, PageTemplate
    from reportlab.platypus.doctemplate import BaseDocTemplate
    from reportlab.platypus.tableofcontents import TableOfContents

    st = styles()
    regular = fonts.REGULAR

    class Document(BaseDocTemplate):
        def __init__(self, buffer):
            super().__init__(buffer, pagesize=A4, title=title, author=author, creator="建家平台",
                             leftMargin=18 * mm, rightMargin=18 * mm, topMargin=18 * mm, bottomMargin=18 * mm)
            frame = Frame(self.leftMargin, self.bottomMargin, self.width, self.height, id="body")
            self.addPageTemplates([PageTemplate(id="page", frames=[frame], onPage=self._footer)])
            self._seq = 0

        def beforeDocument(self):
            self._seq = 0  # the same keys on every pass, or the table of contents never settles

        def _footer(self, canvas, doc):
            canvas.saveState()
            canvas.setFont(regular, 8)
            canvas.drawCentredString(A4[0] / 2, 10 * mm, f"— {doc.page} —")
            canvas.restoreState()

        def afterFlowable(self, flowable):
            level = getattr(flowable, "_toc_level", None)
            if level is None:
                return
            text = flowable.getPlainText()
            self._seq += 1
            key = f"h{self._seq}"
            self.canv.bookmarkPage(key)
            self.canv.addOutlineEntry(text, key, level=level, closed=level > 0)
            self.notify("TOCEntry", (level, text, self.page, key))

    buffer = io.BytesIO()
    toc = None
    if with_toc:
        toc = TableOfContents()
        toc.levelStyles = st.toc_levels
        toc.dotsMinLevel = 0
    story = story_factory(st, toc)
    doc = Document(buffer)
    if with_toc:
        doc.multiBuild(story)
    else:
        doc.build(story)
    return buffer.getvalue()


def append_pdfs(main: bytes, attachments: list[tuple[str, bytes]], parent_title: str | None = None) -> tuple[bytes, list[str]]:
    """Append whole PDFs after ``main`` with a bookmark each (under ``parent_title`` if given).
    Unreadable PDFs are skipped and named in the second value."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(main)))
    skipped = []
    parent = None
    for name, data in attachments:
        try:
            reader = PdfReader(io.BytesIO(data))
            if reader.is_encrypted:
                raise ValueError("encrypted")
            start = len(writer.pages)
            writer.append(reader, import_outline=False)
        except Exception:  # noqa: BLE001 - a broken attachment must not fail the dossier
            skipped.append(name)
            continue
        if parent_title and parent is None:
            parent = writer.add_outline_item(title=parent_title, page_number=start)
        writer.add_outline_item(title=name, page_number=start, parent=parent)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), skipped


def merge(parts: list[tuple[str, bytes]], title: str) -> bytes:
    """Concatenate whole PDFs, one top-level bookmark per part (its name) that keeps the
    part's own bookmarks beneath it."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    writer.add_metadata({"/Title": title, "/Creator": "建家平台"})
    for name, data in parts:
        reader = PdfReader(io.BytesIO(data))
        start = len(writer.pages)
        writer.append(reader, import_outline=False)
        top = writer.add_outline_item(title=name, page_number=start)
        _copy_outline(reader, reader.outline, writer, top, start)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _copy_outline(reader, items, writer, parent, offset):
    last = None
    for item in items:
        if isinstance(item, list):
            if last is not None:
                _copy_outline(reader, item, writer, last, offset)
            continue
        try:
            page = reader.get_destination_page_number(item)
        except Exception:  # noqa: BLE001
            continue
        last = writer.add_outline_item(title=item.title, page_number=offset + page, parent=parent)
