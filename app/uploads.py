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

ZIP_MAGIC = b"PK\x03\x04"
MAX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_RATIO = 100
MAX_ENTRIES = 2000


class UploadError(ValueError):
    """Why an upload is refused, in Chinese."""


def normalise_name(name: str) -> str:
    name = unicodedata.normalize("NFC", os.path.basename((name or "").replace("\\", "/")))
    return "".join(ch for ch in name if ch.isprintable())[:200] or "未命名文件"


def check_office_zip(data: bytes, required: tuple[str, ...], kind_label: str) -> None:
    """An OOXML file (.xlsx/.docx) is a zip: check it is one, holds ``required`` parts and is
    no zip bomb, reading only its directory."""
    if not data.startswith(ZIP_MAGIC):
        raise UploadError(f"文件不是有效的 {kind_label} 文件（请另存为 {kind_label} 后再上传）")
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        infos = archive.infolist()
    except (zipfile.BadZipFile, ValueError):
        raise UploadError(f"文件已损坏，不是有效的 {kind_label} 文件")
    if len(infos) > MAX_ENTRIES:
        raise UploadError("文件内部条目过多，已拒绝")
    total = sum(i.file_size for i in infos)
    packed = max(1, sum(i.compress_size for i in infos))
    if total > MAX_UNCOMPRESSED or total / packed > MAX_RATIO:
        raise UploadError("文件解压后体积异常（疑似压缩炸弹），已拒绝")
    names = {i.filename for i in infos}
    if not all(part in names for part in required):
        raise UploadError(f"文件不是有效的 {kind_label} 文件")


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
        raise UploadError("非法的文件路径")
    return path
