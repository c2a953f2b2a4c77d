"""Checking and storing uploaded files: by content and size, never by extension alone.

Files are stored under random names in ``<UPLOAD_FOLDER>/<district>/<area>/``; the original
(Chinese) name is kept by the caller in the database.
"""
from __future__ import annotations

import io
import os
import unicodedata
import uuid
import zipfile

from flask import current_app
from flask_babel import gettext

from app.i18n import N_, translate

ZIP_MAGIC = b"PK\x03\x04"
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100
MAX_ENTRIES = 2000


class UploadError(ValueError):
    """Why an upload is refused, in Chinese."""


def normalise_name(name: str) -> str:
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if len(name) > 200:  # keep the extension of a long name
        stem, ext = os.path.splitext(name)
        name = stem[:200 - len(ext[:20])] + ext[:20]
    return name or "未命名文件"


def check_office_zip(data: bytes, required: tuple[str, ...], kind_label: str) -> None:
    """An OOXML file (.xlsx/.docx) is a zip: check it is one, holds ``required`` parts and is
    no zip bomb, reading only its directory."""
    if not data.startswith(ZIP_MAGIC):
        raise UploadError(gettext("文件不是有效的 %(kind)s 文件（请另存为 %(kind)s 后再上传）", kind=translate(kind_label)))
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError, NotImplementedError, EOFError, OSError, RuntimeError):
        # a damaged directory can claim an unknown zip version or method: a refusal, never a 500
        raise UploadError(gettext("文件已损坏，不是有效的 %(kind)s 文件", kind=translate(kind_label))) from None
    if len(infos) > MAX_ENTRIES:
        raise UploadError(gettext("文件内部条目过多，已拒绝"))
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO:
        raise UploadError(gettext("文件解压后体积异常（疑似压缩炸弹），已拒绝"))
    for info in infos:
        name = info.filename
        absolute_name = name.startswith("/") or (len(name) > 1 and name[1] == ":")
        if absolute_name or "\\" in name or ".." in name.split("/"):
            raise UploadError(gettext("文件内部含有非法路径，已拒绝"))
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise UploadError(gettext("文件内部含有符号链接，已拒绝"))
    names = {i.filename for i in infos}
    if not all(part in names for part in required):
        raise UploadError(gettext("文件不是有效的 %(kind)s 文件", kind=translate(kind_label)))


def store(district_id: int, area: str, data: bytes, suffix: str) -> str:
    """Write ``data`` under a random name; returns the path relative to UPLOAD_FOLDER."""
    relative = os.path.join(str(district_id), area, f"{uuid.uuid4().hex}{suffix}")
    path = absolute(relative)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data)
    return relative


def absolute(relative: str) -> str:
    root = os.path.realpath(current_app.config["UPLOAD_FOLDER"])
    path = os.path.realpath(os.path.join(root, relative))
    if not path.startswith(root + os.sep):
        raise UploadError(gettext("非法的文件路径"))
    return path


# --- content checks for photos and documents ---------------------------------------------
# Types are recognised by their bytes (magic numbers and structure), never by the name alone;
# the name's extension must also agree with the content.

MAX_IMAGE_PIXELS = 89_478_485  # Pillow's default decompression-bomb guard (Pillow is not used)


class FileKind:
    """A recognised file type: code, MIME type, the suffix files are stored with, the
    extensions a user's file name may carry, and whether browsers may show it inline."""

    def __init__(self, code: str, mimetype: str, suffix: str, extensions: tuple[str, ...], label: str,
                 inline: bool = False):
        self.code, self.mimetype, self.suffix, self.extensions = code, mimetype, suffix, extensions
        self.label, self.inline = label, inline

    @property
    def is_image(self) -> bool:
        return self.mimetype.startswith("image/")

    def __repr__(self) -> str:
        return f"<FileKind {self.code}>"


KINDS = {
    "png": FileKind("png", "image/png", ".png", (".png",), N_("PNG 图片"), inline=True),
    "jpeg": FileKind("jpeg", "image/jpeg", ".jpg", (".jpg", ".jpeg", ".jpe"), N_("JPEG 图片"), inline=True),
    "gif": FileKind("gif", "image/gif", ".gif", (".gif",), N_("GIF 图片"), inline=True),
    "webp": FileKind("webp", "image/webp", ".webp", (".webp",), N_("WebP 图片"), inline=True),
    "pdf": FileKind("pdf", "application/pdf", ".pdf", (".pdf",), N_("PDF 文档")),
    "docx": FileKind("docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                     ".docx", (".docx",), N_("Word 文档（.docx）")),
    "xlsx": FileKind("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                     ".xlsx", (".xlsx",), N_("Excel 表格（.xlsx）")),
}
IMAGE_KINDS = frozenset({"png", "jpeg", "gif", "webp"})
DOCUMENT_KINDS = frozenset({"pdf", "docx", "xlsx"})


def _image_size(kind: str, data: bytes) -> tuple[int, int] | None:
    """Width and height from the header, or None when the header is not readable."""
    if kind == "png":
        if len(data) < 24 or data[12:16] != b"IHDR":
            return None
        return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    if kind == "gif":
        if len(data) < 10:
            return None
        return int.from_bytes(data[6:8], "little"), int.from_bytes(data[8:10], "little")
    if kind == "jpeg":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:  # fill byte
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            length = int.from_bytes(data[i + 2:i + 4], "big")
            if length < 2:
                return None
            if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
                return int.from_bytes(data[i + 7:i + 9], "big"), int.from_bytes(data[i + 5:i + 7], "big")
            if marker == 0xDA:  # start of scan before a frame header
                return None
            i += 2 + length
        return None
    if kind == "webp":
        chunk = data[12:16]
        if chunk == b"VP8X" and len(data) >= 30:
            return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
        if chunk == b"VP8 " and len(data) >= 30 and data[23:26] == b"\x9d\x01\x2a":
            return int.from_bytes(data[26:28], "little") & 0x3FFF, int.from_bytes(data[28:30], "little") & 0x3FFF
        if chunk == b"VP8L" and len(data) >= 25 and data[20] == 0x2F:
            bits = int.from_bytes(data[21:25], "little")
            return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
        return None
    return None


def sniff(data: bytes) -> str | None:
    """The kind code the bytes start like, or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(ZIP_MAGIC):
        return "zip"
    return None


def _extension(name: str) -> str:
    base = name.rsplit("/", 1)[-1]
    ext = os.path.splitext(base)[1]
    if not ext and base.startswith(".") and base.count(".") == 1:  # ".png": an empty stem
        ext = base
    return ext.lower()


def check_file(data: bytes, filename: str, allowed=IMAGE_KINDS | DOCUMENT_KINDS,
               max_bytes: int = 10 * 1024 * 1024) -> FileKind:
    """Check an upload by size and content; returns its kind or raises UploadError (Chinese).

    The content must be one of ``allowed`` and agree with the name's extension; images must
    have a readable header within the pixel limit; PDF must start with ``%PDF-`` and hold an
    end-of-file marker; Word/Excel must be a well-formed OOXML zip and no zip bomb.
    """
    name = normalise_name(filename)
    allowed_kinds = [KINDS[k] for k in KINDS if k in allowed]
    allowed_text = "、".join(sorted({e for k in allowed_kinds for e in k.extensions}))
    if not data:
        raise UploadError(gettext("“%(name)s”是空文件", name=name))
    if len(data) > max_bytes:
        raise UploadError(gettext("“%(name)s”超过 %(mb)s MB 的大小上限", name=name, mb=max_bytes // (1024 * 1024)))
    ext = _extension(name)
    by_ext = next((k for k in allowed_kinds if ext in k.extensions), None)
    if by_ext is None:
        raise UploadError(gettext("“%(name)s”的文件类型不受支持，只能上传 %(allowed)s 文件", name=name, allowed=allowed_text))
    found = sniff(data)
    if found == "zip" and by_ext.code in ("docx", "xlsx"):
        required = ("[Content_Types].xml", "word/document.xml") if by_ext.code == "docx" else (
            "[Content_Types].xml", "xl/workbook.xml")
        check_office_zip(data, required, by_ext.label)
        return by_ext
    if found != by_ext.code:
        if found is None or found == "zip" or found not in allowed:
            raise UploadError(gettext("“%(name)s”的内容不是有效的%(kind)s（文件内容与扩展名不符），已拒绝", name=name, kind=translate(by_ext.label)))
        raise UploadError(gettext("“%(name)s”的内容是%(kind)s，与扩展名 %(ext)s 不符，请改正文件名后再上传", name=name, kind=translate(KINDS[found].label), ext=ext))
    if by_ext.is_image:
        size = _image_size(by_ext.code, data)
        if size is None or size[0] <= 0 or size[1] <= 0:
            raise UploadError(gettext("“%(name)s”已损坏，不是有效的%(kind)s", name=name, kind=translate(by_ext.label)))
        if size[0] * size[1] > MAX_IMAGE_PIXELS:
            raise UploadError(gettext("“%(name)s”的图片尺寸过大（%(w)s×%(h)s 像素），已拒绝", name=name, w=size[0], h=size[1]))
    if by_ext.code == "pdf" and b"%%EOF" not in data[-4096:]:
        raise UploadError(gettext("“%(name)s”不完整或已损坏，不是有效的 PDF 文档", name=name))
    return by_ext


def remove(relative: str) -> None:
    """Delete a stored file (after the commit that removed its row); a missing file is fine."""
    try:
        os.remove(absolute(relative))
    except (FileNotFoundError, UploadError):
        pass
