"""Builders for activity tests: plans created directly through the models (the plan services
are another area's), and real files made in memory."""
from __future__ import annotations

import io
import struct
import zipfile
import zlib
from datetime import date

from app.extensions import db
from tenants.scope import Scope, tenant_scope


def make_plan(app, district_id: int, school_id: int, year: int, slots, status: str = "approved") -> list[int]:
    """A WorkPlan of ``school_id`` for ``year`` with one ScheduledActivity per slot; a slot is
    (months, title) or (months, title, category). Returns the ScheduledActivity ids in order."""
    from app.plans.models import ScheduledActivity, WorkPlan

    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            plan = WorkPlan(district_id=district_id, school_id=school_id, year=year, status=status,
                            title=f"{year}年工会工作计划")
            db.session.add(plan)
            db.session.flush()
            ids = []
            for position, slot in enumerate(slots):
                months, title = slot[0], slot[1]
                category = slot[2] if len(slot) > 2 else "other"
                activity = ScheduledActivity(district_id=district_id, school_id=school_id, plan_id=plan.id,
                                             months=list(months), first_month=min(months), position=position,
                                             title=title, category=category)
                db.session.add(activity)
                db.session.flush()
                ids.append(activity.id)
            db.session.commit()
        db.session.remove()
    return ids


def add_record(app, district_id: int, school_id: int, held_on: date, title: str, scheduled_id=None,
               category: str = "other") -> int:
    from app.activities.models import ActivityRecord

    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            record = ActivityRecord(district_id=district_id, school_id=school_id, year=held_on.year,
                                    held_on=held_on, title=title, category=category,
                                    scheduled_activity_id=scheduled_id)
            db.session.add(record)
            db.session.commit()
            record_id = record.id
        db.session.remove()
    return record_id


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png_bytes(width: int = 2, height: int = 2) -> bytes:
    """A real, decodable RGB PNG."""
    raw = b"".join(b"\x00" + b"\xb7\x1c\x1c" * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IDAT", zlib.compress(raw)) + _chunk(b"IEND", b""))


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims a huge image (a decompression bomb's first bytes)."""
    return (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + _chunk(b"IEND", b""))


def jpeg_bytes(width: int = 16, height: int = 8) -> bytes:
    """JPEG markers as a camera writes them: SOI, APP0 (JFIF), SOF0 with the size, SOS, EOI."""
    app0 = b"\xff\xe0" + struct.pack(">H", 16) + b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
    sof0 = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, height, width, 1) + b"\x01\x11\x00"
    sos = b"\xff\xda" + struct.pack(">HB", 8, 1) + b"\x01\x00\x00\x3f\x00"
    return b"\xff\xd8" + app0 + sof0 + sos + b"\x12\x34" * 10 + b"\xff\xd9"


def pdf_bytes() -> bytes:
    """A small valid one-page PDF with a correct xref table."""
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>", b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(b"%d 0 obj\n" % number + body + b"\nendobj\n")
    xref = out.tell()
    out.write(b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1))
    for offset in offsets:
        out.write(b"%010d 00000 n \n" % offset)
    out.write(b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref))
    return out.getvalue()


def docx_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>')
        zf.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"/>')
    return out.getvalue()


def xlsx_bytes() -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.active["A1"] = "活动签到表"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def zip_bomb_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", b"\x00" * (20 * 1024 * 1024))
    return out.getvalue()


EXE_BYTES = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"This program cannot be run in DOS mode."
HTML_BYTES = b"<!doctype html><html><body><script>alert(document.cookie)</script></body></html>"
