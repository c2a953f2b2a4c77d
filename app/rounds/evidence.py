"""Evidence files (佐证材料) for an application: the checks of reference/security.md §5 and
checklist rows 24–29, then storage under a random name.

Pipeline for one upload, nothing written until every check passed:

1. the name: NFC, path components, control characters and bidi controls removed; a name that
   tries to climb directories ("../") or to disguise its extension with a bidi override
   (U+202E …) is refused outright — no browser sends such a name for an honest file;
2. size (per file) and the school's quota for the round (checked in the inserting transaction);
3. the type by content, never by the extension alone: PDF, JPEG, PNG, DOCX, XLSX; the
   extension must agree with the content;
4. structure: Office files are zips and pass ``app.uploads.check_office_zip`` (entry count,
   declared sizes, compression ratio, paths, symlinks) *before* any part is read, then their
   XML parts must carry no DOCTYPE/ENTITY; PDFs need a header and an end-of-file marker;
   images are walked chunk by chunk / marker by marker — dimensions come from the PNG IHDR or
   the JPEG SOF header and more than 50 million pixels is refused without decoding anything;
5. images are cleaned: JPEG APP1 (EXIF with GPS, XMP), APP3–APP13, APP15 and comments and
   anything after the end-of-image marker are dropped; PNG eXIf and text chunks are dropped.

Why marker parsing and not Pillow: Pillow is not a dependency, and re-encoding would change
the pixels (a JPEG re-encode loses quality) and decode the whole image in the web process —
itself a decompression-bomb risk for the pixel flood we refuse here. Removing the metadata
segments is lossless, needs no decoding, and leaves the entropy-coded image data untouched.
APP0 (JFIF), APP2 (ICC colour profile) and APP14 (Adobe colour transform) are kept because a
viewer needs them to show the right colours. The EXIF orientation tag goes with EXIF; photos
taken sideways show as stored — an accepted cost of dropping GPS.
"""
from __future__ import annotations

import hashlib
import io
import os
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass

from flask import current_app
from flask_babel import gettext
from sqlalchemy import func, select

from app.extensions import db
from app.i18n import N_, translate
from app.rounds.models import Application, ApplicationSnapshot, Evidence
from app.uploads import UploadError, check_office_zip, remove, store

MAX_FILE_BYTES = 20 * 1024 * 1024          # per file (config EVIDENCE_MAX_BYTES)
QUOTA_BYTES = 200 * 1024 * 1024            # per school and round (config EVIDENCE_QUOTA_BYTES)
MAX_FILES_PER_INDICATOR = 20
MAX_PIXELS = 50_000_000
MAX_NAME = 200

BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c")


@dataclass(frozen=True)
class EvidenceKind:
    code: str
    mimetype: str
    suffix: str
    extensions: tuple[str, ...]
    label: str


KINDS = {
    "pdf": EvidenceKind("pdf", "application/pdf", ".pdf", (".pdf",), N_("PDF 文档")),
    "jpeg": EvidenceKind("jpeg", "image/jpeg", ".jpg", (".jpg", ".jpeg"), N_("JPEG 图片")),
    "png": EvidenceKind("png", "image/png", ".png", (".png",), N_("PNG 图片")),
    "docx": EvidenceKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                         ".docx", (".docx",), N_("Word 文档（.docx）")),
    "xlsx": EvidenceKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         ".xlsx", (".xlsx",), N_("Excel 表格（.xlsx）")),
}
ALLOWED_TEXT = "PDF、JPG、PNG、DOCX、XLSX"
OFFICE_PARTS = {"docx": ("[Content_Types].xml", "word/document.xml"),
                "xlsx": ("[Content_Types].xml", "xl/workbook.xml")}


class EvidenceError(UploadError):
    """Why an evidence file is refused (Chinese)."""


def limits() -> tuple[int, int]:
    cfg = current_app.config
    return cfg.get("EVIDENCE_MAX_BYTES", MAX_FILE_BYTES), cfg.get("EVIDENCE_QUOTA_BYTES", QUOTA_BYTES)


def _mb(n: int) -> str:
    value = n / (1024 * 1024)
    return f"{value:.0f}" if value >= 1 else f"{value:.2f}"


# --- names ---------------------------------------------------------------------------------

def display_name(raw: str) -> str:
    """The name kept in the database and sent back on download: NFC, no path, no control or
    bidi characters, at most 200 characters (the extension kept)."""
    name = unicodedata.normalize("NFC", raw or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch not in BIDI_CONTROLS and unicodedata.category(ch) not in ("Cc", "Cf"))
    name = " ".join(name.split())  # tabs/newlines already gone; collapse runs of spaces
    name = name.rstrip(" .")  # Windows drops trailing dots and spaces
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        ext = ext[:20]
        name = stem[:MAX_NAME - len(ext)] + ext
    return name


def check_name(raw: str) -> str:
    """Refuse hostile names; return the display name of an honest one."""
    raw = raw or ""
    if any(ch in BIDI_CONTROLS for ch in raw):
        raise EvidenceError(gettext("文件名含有用于伪装扩展名的方向控制字符，已拒绝；请重命名后再上传"))
    parts = [p for p in unicodedata.normalize("NFC", raw).replace("\\", "/").split("/")]
    if any(p.strip() in ("..", ".") for p in parts) or "\x00" in raw:
        raise EvidenceError(gettext("文件名含有路径（如 ../），已拒绝；请只上传文件本身"))
    name = display_name(raw)
    stem = name if name.startswith(".") and name.count(".") == 1 else os.path.splitext(name)[0]
    if name.startswith(".") and name.count(".") == 1:
        stem = ""  # ".pdf": an extension with no name
    if not stem.strip(" ."):
        raise EvidenceError(gettext("文件名为空，请重命名后再上传"))
    return name


# --- content -------------------------------------------------------------------------------

def sniff(data: bytes) -> str | None:
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def _describe(found: str | None, data: bytes) -> str:
    if found == "zip":
        return gettext("普通压缩包")
    if found in KINDS:
        return translate(KINDS[found].label)
    head = data[:512].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html", b"<script", b"<?xml", b"<svg")):
        return gettext("网页/脚本文件")
    return gettext("无法识别的内容")


_SOF = {0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_KEEP_APP = {0xE0, 0xE2, 0xEE}  # JFIF, ICC profile, Adobe


def clean_jpeg(data: bytes) -> tuple[bytes, tuple[int, int]]:
    """Walk the JPEG markers; return the image without metadata segments and its size.
    Raises EvidenceError for a malformed file or one over the pixel limit."""
    broken = EvidenceError("JPEG 图片已损坏或不完整，已拒绝")
    n = len(data)
    out = [b"\xff\xd8"]
    size = None
    i = 2
    while True:
        if i >= n:
            raise broken  # no end-of-image marker
        if data[i] != 0xFF:
            raise broken
        while i + 1 < n and data[i + 1] == 0xFF:  # fill bytes
            i += 1
        if i + 1 >= n:
            raise broken
        marker = data[i + 1]
        if marker == 0xD9:  # EOI: anything after it (a polyglot's payload) is dropped
            out.append(b"\xff\xd9")
            break
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:
            out.append(data[i:i + 2])
            i += 2
            continue
        if marker in (0x00, 0xD8):
            raise broken
        if i + 4 > n:
            raise broken
        length = int.from_bytes(data[i + 2:i + 4], "big")
        end = i + 2 + length
        if length < 2 or end > n:
            raise broken
        if marker in _SOF:
            if length < 7:
                raise broken
            height = int.from_bytes(data[i + 5:i + 7], "big")
            width = int.from_bytes(data[i + 7:i + 9], "big")
            size = (width, height)
            _check_pixels(width, height, "JPEG")
        keep = not ((0xE0 <= marker <= 0xEF and marker not in _KEEP_APP) or marker == 0xFE)
        if keep:
            out.append(data[i:end])
        i = end
        if marker == 0xDA:  # start of scan: copy entropy-coded data up to the next real marker
            if size is None:
                raise broken
            j = i
            while j + 1 < n:
                if data[j] == 0xFF and data[j + 1] != 0x00 and not (0xD0 <= data[j + 1] <= 0xD7) \
                        and data[j + 1] != 0xFF:
                    break
                j += 1
            else:
                raise broken
            out.append(data[i:j])
            i = j
    if size is None or size[0] == 0 or size[1] == 0:
        raise broken
    return b"".join(out), size


_PNG_DROP = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def clean_png(data: bytes) -> tuple[bytes, tuple[int, int]]:
    """Walk the PNG chunks; return the image without metadata chunks and its size."""
    broken = EvidenceError("PNG 图片已损坏或不完整，已拒绝")
    n = len(data)
    if n < 33 or data[12:16] != b"IHDR":
        raise broken
    width = int.from_bytes(data[16:20], "big")
    height = int.from_bytes(data[20:24], "big")
    if width == 0 or height == 0:
        raise broken
    _check_pixels(width, height, "PNG")
    out = [data[:8]]
    i = 8
    while True:
        if i + 12 > n:
            raise broken
        length = int.from_bytes(data[i:i + 4], "big")
        ctype = data[i + 4:i + 8]
        end = i + 12 + length
        if end > n or not ctype.isalpha():
            raise broken
        if ctype not in _PNG_DROP:
            out.append(data[i:end])
        i = end
        if ctype == b"IEND":
            break
    return b"".join(out), (width, height)


def _check_pixels(width: int, height: int, label: str) -> None:
    if width * height > MAX_PIXELS:
        raise EvidenceError(gettext("%(kind)s 图片尺寸过大（%(w)s×%(h)s 像素，上限 5000 万像素），已拒绝", kind=label, w=width, h=height))


def _office_parts_clean(data: bytes) -> None:
    """After the zip pre-check (sizes bounded): no XML part may declare a DOCTYPE or ENTITY
    (OOXML never does; that is how XXE and billion-laughs files look). A part that cannot be
    decompressed (damaged, truncated, encrypted, an unknown method) is a refusal, not a crash."""
    try:
        _scan_office_parts(data)
    except EvidenceError:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError, ValueError, OSError):
        raise EvidenceError(gettext("文件已损坏（压缩内容无法读取），已拒绝")) from None


def _scan_office_parts(data: bytes) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.filename.lower().endswith((".xml", ".rels")):
                continue
            tail = b""
            with archive.open(info) as fh:
                while True:
                    chunk = fh.read(256 * 1024)
                    if not chunk:
                        break
                    window = (tail + chunk).upper()
                    if b"<!DOCTYPE" in window or b"<!ENTITY" in window:
                        raise EvidenceError(gettext("文件内部含有 DOCTYPE/实体声明（疑似 XML 攻击），已拒绝"))
                    tail = chunk[-16:]


def check_content(data: bytes, name: str, max_bytes: int) -> tuple[EvidenceKind, bytes]:
    """Check an evidence file by size, content and structure; returns its kind and the bytes
    to store (images without metadata). Raises EvidenceError (Chinese)."""
    if not data:
        raise EvidenceError(gettext("“%(name)s”是空文件", name=name))
    if len(data) > max_bytes:
        raise EvidenceError(gettext("“%(name)s”超过单个文件 %(mb)s MB 的大小上限", name=name, mb=_mb(max_bytes)))
    ext = os.path.splitext(name)[1].lower()
    by_ext = next((k for k in KINDS.values() if ext in k.extensions), None)
    if by_ext is None:
        raise EvidenceError(gettext("“%(name)s”的文件类型不受支持，佐证材料只能是 %(allowed)s 文件", name=name, allowed=ALLOWED_TEXT))
    found = sniff(data)
    if by_ext.code in OFFICE_PARTS:
        if found != "zip":
            raise EvidenceError(gettext("“%(name)s”的内容是%(found)s，不是有效的%(kind)s，已拒绝", name=name, found=_describe(found, data), kind=translate(by_ext.label)))
        try:
            check_office_zip(data, OFFICE_PARTS[by_ext.code], by_ext.label)
        except UploadError as exc:
            raise EvidenceError(gettext("“%(name)s”：%(problem)s", name=name, problem=exc)) from None
        _office_parts_clean(data)
        return by_ext, data
    if found != by_ext.code:
        raise EvidenceError(gettext("“%(name)s”的内容是%(found)s，与扩展名 %(ext)s 不符，已拒绝", name=name, found=_describe(found, data), ext=ext))
    if by_ext.code == "pdf":
        if b"%%EOF" not in data[-2048:]:
            raise EvidenceError(gettext("“%(name)s”不完整或已损坏，不是有效的 PDF 文档", name=name))
        return by_ext, data
    if by_ext.code == "jpeg":
        cleaned, _ = clean_jpeg(data)
        return by_ext, cleaned
    cleaned, _ = clean_png(data)
    return by_ext, cleaned


# --- storing -------------------------------------------------------------------------------

def used_bytes(application: Application) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(Evidence.size), 0)).where(
        Evidence.application_id == application.id, Evidence.school_id == application.school_id)) or 0


def add_evidence(application: Application, indicator_id: int, filename: str, data: bytes,
                 *, user_id: int | None = None) -> tuple[Evidence, str]:
    """Check and store one file for one indicator. Returns the row and the stored path (the
    caller removes the file if its commit fails). Editability is checked by the caller."""
    max_bytes, quota = limits()
    name = check_name(filename)
    kind, cleaned = check_content(data, name, max_bytes)
    count = db.session.scalar(select(func.count(Evidence.id)).where(
        Evidence.application_id == application.id, Evidence.indicator_id == indicator_id)) or 0
    if count >= MAX_FILES_PER_INDICATOR:
        raise EvidenceError(gettext("每个指标最多上传 %(n)s 个佐证文件", n=MAX_FILES_PER_INDICATOR))
    used = used_bytes(application)
    if used + len(cleaned) > quota:
        raise EvidenceError(gettext("本校本轮佐证材料已用 %(used)s MB，再上传“%(name)s”将超过 %(quota)s MB 的总量上限", used=_mb(used), name=name, quota=_mb(quota)))
    path = store(application.district_id, f"evidence/{application.school_id}", cleaned, kind.suffix)
    try:
        evidence = Evidence(district_id=application.district_id, school_id=application.school_id,
                            application_id=application.id, indicator_id=indicator_id, original_name=name,
                            stored_path=path, content_type=kind.mimetype, size=len(cleaned),
                            sha256=hashlib.sha256(cleaned).hexdigest(), uploaded_by=user_id)
        db.session.add(evidence)
        db.session.flush()
    except Exception:
        remove(path)
        raise
    return evidence, path


def evidence_of(application: Application, evidence_id: int) -> Evidence | None:
    """The evidence row if it belongs to this application (and so to its school), else None."""
    evidence = db.session.get(Evidence, (application.district_id, evidence_id))
    if evidence is None or evidence.application_id != application.id or evidence.school_id != application.school_id:
        return None
    return evidence


def delete_evidence(application: Application, evidence: Evidence) -> str | None:
    """Delete the row; returns the stored path to remove after the commit, or None when a
    frozen snapshot still lists the file (the dossier of that submission needs it)."""
    path = evidence.stored_path
    frozen = db.session.scalars(select(ApplicationSnapshot.content).where(
        ApplicationSnapshot.application_id == application.id)).all()
    db.session.delete(evidence)
    for content in frozen:
        if any(item.get("stored_path") == path for item in (content or {}).get("evidence", [])):
            return None
    return path
