"""Photos and files of activity records: checked by content and size (never by the name
alone), stored under random names, served under their Chinese names with safe headers."""
from __future__ import annotations

import io
import os
import zipfile
from datetime import date
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app.extensions import db
from app.uploads import UploadError, check_file, normalise_name
from tenants.scope import Scope, tenant_scope
from tests.activities.helpers import (EXE_BYTES, HTML_BYTES, add_record, docx_bytes, jpeg_bytes, pdf_bytes,
                                      png_bytes, png_header_only, xlsx_bytes, zip_bomb_docx)
from tests.conftest import csrf_token

MB = 1024 * 1024


# --- content checks ------------------------------------------------------------------------

@pytest.mark.parametrize("data,name,kind", [
    (png_bytes(), "合影.png", "png"),
    (jpeg_bytes(), "现场照片.JPG", "jpeg"),
    (jpeg_bytes(), "现场照片.jpeg", "jpeg"),
    (b"GIF89a\x02\x00\x02\x00\x80\x00\x00" + b"\x00" * 20 + b";", "动图.gif", "gif"),
    (b"RIFF\x1a\x00\x00\x00WEBPVP8X\x0a\x00\x00\x00\x00\x00\x00\x00\x0f\x00\x00\x0f\x00\x00", "图.webp", "webp"),
    (pdf_bytes(), "活动方案.pdf", "pdf"),
    (docx_bytes(), "活动总结.docx", "docx"),
    (xlsx_bytes(), "签到表.xlsx", "xlsx"),
])
def test_real_files_are_accepted(data, name, kind):
    assert check_file(data, name).code == kind


@pytest.mark.parametrize("data,name,message", [
    (EXE_BYTES, "照片.png", "不是有效的PNG 图片"),
    (HTML_BYTES, "照片.jpg", "不是有效的JPEG 图片"),
    (HTML_BYTES, "方案.pdf", "不是有效的PDF 文档"),
    (EXE_BYTES, "程序.exe", "文件类型不受支持"),
    (png_bytes(), "照片.svg", "文件类型不受支持"),
    (png_bytes(), "方案.pdf", "与扩展名 .pdf 不符"),
    (b"", "空.png", "空文件"),
    (png_header_only(50000, 50000), "巨图.png", "尺寸过大"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 10, "坏图.png", "已损坏"),
    (b"%PDF-1.4\n1 0 obj\n", "截断.pdf", "不完整或已损坏"),
    (zip_bomb_docx(), "炸弹.docx", "压缩炸弹"),
    (xlsx_bytes(), "表格.docx", "不是有效的 Word"),
    (b"PK\x03\x04 not really a zip", "坏.xlsx", "已损坏"),
])
def test_bad_files_are_refused_with_chinese_messages(data, name, message):
    with pytest.raises(UploadError) as exc:
        check_file(data, name)
    assert message in str(exc.value)


def test_oversized_file_is_refused():
    data = png_bytes() + b"\x00" * (10 * MB)
    with pytest.raises(UploadError, match="超过 10 MB 的大小上限"):
        check_file(data, "大照片.png", max_bytes=10 * MB)


def test_zip_with_path_traversal_or_symlink_is_refused():
    for entry in ("../evil", "word\\..\\evil"):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as zf:
            zf.writestr("[Content_Types].xml", "<Types/>")
            zf.writestr("word/document.xml", "<w/>")
            zf.writestr(entry, "x")
        with pytest.raises(UploadError, match="非法路径"):
            check_file(out.getvalue(), "a.docx")
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w/>")
        link = zipfile.ZipInfo("word/link")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    with pytest.raises(UploadError, match="符号链接"):
        check_file(out.getvalue(), "a.docx")


def test_names_are_normalised():
    assert normalise_name("C:\\Users\\王老师\\三八节\u202e合影.png") == "三八节合影.png"
    assert normalise_name("../../etc/活动\r\n.pdf") == "活动.pdf"
    # NFC: a decomposed é becomes one code point
    assert normalise_name("cafe\u0301.pdf") == "caf\u00e9.pdf"
    long = normalise_name("长" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")
    assert normalise_name("") == "未命名文件"
    assert check_file(png_bytes(), ".png").code == "png"  # an empty stem is still a PNG


# --- through the pages ---------------------------------------------------------------------

def _record(app, world):
    return add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节座谈会")


def _upload(client, world, record_id, *files):
    url = f"/d/d1/s/{world.s1a}/activities/{record_id}/files"
    data = {"csrf_token": csrf_token(client, f"/d/d1/s/{world.s1a}/activities/{record_id}"),
            "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(url, data=data, content_type="multipart/form-data")


def _files(app, world):
    from app.activities.models import ActivityFile

    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            rows = db.session.scalars(select(ActivityFile).order_by(ActivityFile.id)).all()
            out = [(f.id, f.original_name, f.stored_path, f.content_type, f.size) for f in rows]
        db.session.remove()
    return out


def test_png_and_pdf_are_stored_under_random_names_and_served_under_chinese_names(app, world, login_as):
    record_id = _record(app, world)
    client = login_as("chair1a")
    response = _upload(client, world, record_id, ("三八节合影.png", png_bytes()), ("活动方案（定稿）.pdf", pdf_bytes()))
    assert response.status_code == 302
    files = _files(app, world)
    assert [f[1] for f in files] == ["三八节合影.png", "活动方案（定稿）.pdf"]
    assert [f[3] for f in files] == ["image/png", "application/pdf"]
    for _, name, stored, _, size in files:
        assert "三八节" not in stored and "方案" not in stored
        assert stored.startswith(f"{world.d1}/activities/{world.s1a}/")
        assert os.path.getsize(os.path.join(app.config["UPLOAD_FOLDER"], stored)) == size

    detail = client.get(f"/d/d1/s/{world.s1a}/activities/{record_id}").get_data(as_text=True)
    assert "三八节合影.png" in detail and "活动方案（定稿）.pdf" in detail
    assert f"/files/{files[0][0]}?inline=1" in detail  # the photo is shown in the page

    pdf = client.get(f"/d/d1/s/{world.s1a}/activities/{record_id}/files/{files[1][0]}")
    assert pdf.status_code == 200 and pdf.data == pdf_bytes()
    disposition = pdf.headers["Content-Disposition"]
    assert disposition.startswith("attachment")
    assert "filename*=UTF-8''" + quote("活动方案（定稿）.pdf") in disposition
    assert pdf.headers["Content-Security-Policy"] == "sandbox"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"
    assert pdf.headers["Content-Type"] == "application/pdf"
    assert "no-store" in pdf.headers["Cache-Control"]

    image = client.get(f"/d/d1/s/{world.s1a}/activities/{record_id}/files/{files[0][0]}?inline=1")
    assert image.status_code == 200 and image.headers["Content-Type"] == "image/png"
    assert image.headers["Content-Disposition"].startswith("inline")
    assert "filename*=UTF-8''" + quote("三八节合影.png") in image.headers["Content-Disposition"]
    # a PDF is never inline, even when asked
    assert client.get(f"/d/d1/s/{world.s1a}/activities/{record_id}/files/{files[1][0]}?inline=1") \
        .headers["Content-Disposition"].startswith("attachment")


@pytest.mark.parametrize("name,content,message", [
    ("setup.png", EXE_BYTES, "不是有效的PNG 图片"),
    ("照片.jpg", HTML_BYTES, "不是有效的JPEG 图片"),
    ("大照片.png", png_bytes() + b"\x00" * (10 * MB), "超过 10 MB"),
])
def test_bad_uploads_are_refused_and_nothing_is_stored(app, world, login_as, name, content, message):
    record_id = _record(app, world)
    client = login_as("chair1a")
    response = _upload(client, world, record_id, ("好照片.png", png_bytes()), (name, content))
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert message in page and name in page
    assert _files(app, world) == []  # all or nothing
    from app.audit.models import AuditEvent

    with app.app_context():
        reasons = [e.details["reason"] for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "upload_rejected"))]
    assert len(reasons) == 1 and message in reasons[0]
    folder = os.path.join(app.config["UPLOAD_FOLDER"], str(world.d1), "activities")
    assert not os.path.exists(folder) or not any(files for _, _, files in os.walk(folder))


def test_a_bad_file_on_the_form_keeps_the_input(app, world, login_as):
    client = login_as("chair1a")
    url = f"/d/d1/s/{world.s1a}/activities/new"
    data = {"csrf_token": csrf_token(client, url), "held_on": "2026-03-08", "title": "三八节趣味运动会",
            "category": "women", "participants": "45", "description": "全体女教职工参加",
            "scheduled_activity_id": "", "files": [(io.BytesIO(EXE_BYTES), "合影.png")]}
    response = client.post(url, data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "不是有效的PNG 图片" in page and "所选文件需要重新选择" in page
    assert 'value="三八节趣味运动会"' in page and "全体女教职工参加" in page and 'value="45"' in page
    from app.activities.models import ActivityRecord

    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            assert db.session.scalars(select(ActivityRecord)).all() == []


def test_deleting_files_and_records_removes_them_from_disk(app, world, login_as):
    record_id = _record(app, world)
    client = login_as("editor1a")
    _upload(client, world, record_id, ("一.png", png_bytes()), ("二.pdf", pdf_bytes()))
    files = _files(app, world)
    paths = [os.path.join(app.config["UPLOAD_FOLDER"], f[2]) for f in files]
    assert all(os.path.exists(p) for p in paths)
    token = csrf_token(client, f"/d/d1/s/{world.s1a}/activities/{record_id}")
    response = client.post(f"/d/d1/s/{world.s1a}/activities/{record_id}/files/{files[0][0]}/delete",
                           data={"csrf_token": token})
    assert response.status_code == 302
    assert not os.path.exists(paths[0]) and os.path.exists(paths[1])
    response = client.post(f"/d/d1/s/{world.s1a}/activities/{record_id}/delete", data={"csrf_token": token})
    assert response.status_code == 302
    assert not os.path.exists(paths[1]) and _files(app, world) == []


def test_a_lost_file_is_reported_not_a_server_error(app, world, login_as):
    record_id = _record(app, world)
    client = login_as("chair1a")
    _upload(client, world, record_id, ("合影.png", png_bytes()))
    file_id, _, stored, _, _ = _files(app, world)[0]
    os.remove(os.path.join(app.config["UPLOAD_FOLDER"], stored))
    response = client.get(f"/d/d1/s/{world.s1a}/activities/{record_id}/files/{file_id}")
    assert response.status_code == 302
    assert "已丢失" in client.get(response.location).get_data(as_text=True)
