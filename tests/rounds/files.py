"""Real test files built in memory: honest ones (PDF, PNG, JPEG with an EXIF GPS block, DOCX,
XLSX) and malicious ones (HTML renamed .pdf, zip renamed .docx, a zip bomb, an XXE docx, a
pixel-flood PNG header). Nothing here is committed malware: every byte is generated."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib

GPS_MARK = b"GPSLATITUDEMARK"  # a value inside the GPS IFD, to prove it is gone


def pdf(extra: bytes = b"") -> bytes:
    body = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n"
            b"2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\nendobj\n" + extra +
            b"trailer\n<< /Root 1 0 R >>\n%%EOF\n")
    return body


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(width: int = 1, height: int = 1, *, metadata: bool = False) -> bytes:
    """A real RGB PNG (width×height, red); with ``metadata`` it also carries tEXt and eXIf."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    out = b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr)
    if metadata:
        out += _chunk(b"tEXt", b"Comment\x00" + GPS_MARK)
        out += _chunk(b"eXIf", b"MM\x00*\x00\x00\x00\x08" + GPS_MARK)
    if width * height <= 10_000:
        raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
        out += _chunk(b"IDAT", zlib.compress(raw))
    else:  # a header that lies about its size: no pixel data at all
        out += _chunk(b"IDAT", zlib.compress(b"\x00"))
    return out + _chunk(b"IEND", b"")


def _segment(marker: int, payload: bytes) -> bytes:
    return bytes([0xFF, marker]) + struct.pack(">H", len(payload) + 2) + payload


def _exif_with_gps() -> bytes:
    """APP1 'Exif' payload: a big-endian TIFF with IFD0 → GPS IFD (latitude ref N, latitude
    31°13'N as rationals, and an ASCII tag carrying GPS_MARK)."""
    def entry(tag, typ, count, value):
        return struct.pack(">HHI", tag, typ, count) + value

    ifd0_offset = 8
    gps_offset = ifd0_offset + 2 + 12 + 4
    gps_entries = 3
    data_offset = gps_offset + 2 + gps_entries * 12 + 4
    rationals = struct.pack(">IIIIII", 31, 1, 13, 1, 0, 1)
    mark_offset = data_offset + len(rationals)
    tiff = b"MM\x00*" + struct.pack(">I", ifd0_offset)
    tiff += struct.pack(">H", 1) + entry(0x8825, 4, 1, struct.pack(">I", gps_offset)) + struct.pack(">I", 0)
    tiff += struct.pack(">H", gps_entries)
    tiff += entry(0x0001, 2, 2, b"N\x00\x00\x00")                                   # GPSLatitudeRef
    tiff += entry(0x0002, 5, 3, struct.pack(">I", data_offset))                     # GPSLatitude
    tiff += entry(0x001B, 2, len(GPS_MARK), struct.pack(">I", mark_offset))         # GPSProcessingMethod
    tiff += struct.pack(">I", 0) + rationals + GPS_MARK
    return b"Exif\x00\x00" + tiff


def jpeg(width: int = 8, height: int = 8, *, gps: bool = True, trailer: bytes = b"") -> bytes:
    """A real baseline JPEG: one grey 8×8 block (DC category 0, then end-of-block, with
    one-code Huffman tables), JFIF APP0, optionally an EXIF APP1 with a GPS IFD and a comment."""
    out = b"\xff\xd8"
    out += _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    if gps:
        out += _segment(0xE1, _exif_with_gps())
        out += _segment(0xFE, b"shot at " + GPS_MARK)
    out += _segment(0xDB, b"\x00" + bytes([1] * 64))                                   # DQT
    out += _segment(0xC0, b"\x08" + struct.pack(">HH", height, width) + b"\x01\x01\x11\x00")  # SOF0
    one_code = bytes([1] + [0] * 15) + b"\x00"                                          # one 1-bit code: symbol 0
    out += _segment(0xC4, b"\x00" + one_code)                                           # DHT DC 0
    out += _segment(0xC4, b"\x10" + one_code)                                           # DHT AC 0
    out += _segment(0xDA, b"\x01\x01\x00\x00\x3f\x00")                                  # SOS
    out += b"\x3f"   # bits 0 (DC diff category 0) 0 (EOB), padded with ones
    return out + b"\xff\xd9" + trailer


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


CONTENT_TYPES = (b'<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
                 b'package/2006/content-types"></Types>')


def docx() -> bytes:
    from docx import Document

    document = Document()
    document.add_paragraph("建家工作台账：教代会会议记录")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def xlsx() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["会员", "人数"])
    wb.active.append(["在册会员", 48])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def html_as_pdf() -> bytes:
    return b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"


def plain_zip() -> bytes:
    return _zip({"readme.txt": b"not a word document"})


def zip_bomb_docx() -> bytes:
    """A .docx whose document.xml inflates 1000-fold (100 MB of zeros in ~100 KB)."""
    return _zip({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"0" * (100 * 1024 * 1024)})


def xxe_docx() -> bytes:
    evil = (b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
            b'<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">&xxe;</w:document>')
    return _zip({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": evil})


def traversal_docx() -> bytes:
    return _zip({"[Content_Types].xml": CONTENT_TYPES, "word/document.xml": b"<w/>", "../../evil.sh": b"rm -rf /"})
