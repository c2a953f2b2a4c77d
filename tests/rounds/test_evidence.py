"""Evidence uploads with real malicious fixtures (all refused in Chinese, none crash) and real
honest files (accepted; GPS stripped); names; quota and size; downloads and isolation."""
from __future__ import annotations

import io
import re
import unicodedata
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import select

from app.extensions import db
from app.rounds import evidence
from app.rounds.models import Application, Evidence
from tests.conftest import post
from tests.rounds import files
from tests.rounds.conftest import WIDE_OPEN, in_district, open_round


# --- pure checks ---------------------------------------------------------------------------------

@pytest.mark.parametrize("name, data, text", [
    ("年度总结.pdf", files.html_as_pdf(), "网页/脚本文件"),
    ("会议记录.docx", files.plain_zip(), "不是有效的 Word 文档"),
    ("台账.docx", files.zip_bomb_docx(), "压缩炸弹"),
    ("台账.docx", files.xxe_docx(), "DOCTYPE"),
    ("台账.docx", files.traversal_docx(), "非法路径"),
    ("统计.xlsx", files.docx(), "不是有效的 Excel"),
    ("照片.png", files.png(50_000, 50_000), "50000×50000"),
    ("照片.jpg", files.jpeg(10_000, 10_000, gps=False), "10000×10000"),
    ("照片.jpg", files.png(), "PNG 图片，与扩展名 .jpg 不符"),
    ("照片.jpg", files.jpeg()[:60], "损坏"),
    ("照片.png", files.png()[:40], "损坏"),
    ("截断.pdf", files.pdf()[:-8], "不完整"),
    ("脚本.html", b"<html></html>", "不受支持"),
    ("程序.exe", b"MZ\x90\x00", "不受支持"),
    ("空.pdf", b"", "空文件"),
])
def test_malicious_and_broken_content_is_refused(name, data, text):
    with pytest.raises(evidence.EvidenceError) as info:
        evidence.check_content(data, name, 20 * 1024 * 1024)
    assert text in str(info.value)


@pytest.mark.parametrize("raw, text", [
    ("../../etc/passwd.pdf", "路径"),
    ("..\\..\\windows\\system.pdf", "路径"),
    ("报告\u202efdp.exe", "方向控制字符"),          # shows as 报告exe.pdf
    ("photo\u2066.jpg", "方向控制字符"),
    ("  .pdf", "文件名为空"),
])
def test_hostile_names_are_refused(raw, text):
    with pytest.raises(evidence.EvidenceError, match=text):
        evidence.check_name(raw)


def test_names_are_normalised():
    nfd = unicodedata.normalize("NFD", "é档案.pdf")
    assert evidence.check_name(nfd) == "é档案.pdf" and unicodedata.is_normalized("NFC", evidence.check_name(nfd))
    assert evidence.check_name("C:\\Users\\张老师\\2026年度自评报告.pdf") == "2026年度自评报告.pdf"
    assert evidence.check_name("会议\r\n记录\t.pdf") == "会议记录.pdf"
    long = evidence.check_name("长" * 300 + ".pdf")
    assert len(long) == 200 and long.endswith(".pdf")
    assert evidence.display_name("报告\u202efdp.exe") == "报告fdp.exe"


def test_honest_files_pass_and_images_lose_their_metadata():
    for name, data, code in (("自评报告.pdf", files.pdf(), "pdf"), ("台账.docx", files.docx(), "docx"),
                             ("会员统计.xlsx", files.xlsx(), "xlsx")):
        kind, stored = evidence.check_content(data, name, 20 * 1024 * 1024)
        assert stored == data and kind.code == code
    kind, stored = evidence.check_content(files.jpeg(trailer=b"<script>x</script>"), "活动照片.JPG", 10 ** 7)
    assert kind.code == "jpeg" and files.GPS_MARK not in stored and b"Exif" not in stored
    assert stored.startswith(b"\xff\xd8\xff\xe0") and stored.endswith(b"\xff\xd9")  # JFIF kept, trailer dropped
    assert b"<script>" not in stored
    kind, stored = evidence.check_content(files.png(metadata=True), "活动照片.png", 10 ** 7)
    assert files.GPS_MARK not in stored and b"eXIf" not in stored and b"tEXt" not in stored
    assert b"IHDR" in stored and b"IDAT" in stored and stored.endswith(b"IEND\xaeB`\x82")


# --- through the web -----------------------------------------------------------------------------

@pytest.fixture
def open_annual(app, world, rubric):
    return open_round(app, world, rubric, **WIDE_OPEN)


def _upload(client, world, round_id, indicator_id, name, data, school=None):
    school = school or world.s1a
    return post(client, f"/d/d1/s/{school}/rounds/{round_id}/indicators/{indicator_id}/evidence",
                {"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def _rows(app, world):
    with in_district(app, world.d1):
        return [(e.original_name, e.stored_path, e.size, e.content_type, e.id)
                for e in db.session.scalars(select(Evidence).order_by(Evidence.id))]


@pytest.mark.parametrize("name, data, text", [
    ("年度总结.pdf", files.html_as_pdf(), "网页/脚本文件"),
    ("会议记录.docx", files.plain_zip(), "不是有效的 Word 文档"),
    ("台账.docx", files.zip_bomb_docx(), "压缩炸弹"),
    ("../../etc/passwd.pdf", files.pdf(), "路径"),
    ("自评报告\u202efdp.exe", files.pdf(), "方向控制字符"),
    ("照片.png", files.png(50_000, 50_000), "图片尺寸过大"),
])
def test_malicious_uploads_are_refused_in_chinese(app, world, login_as, rubric, open_annual, name, data, text):
    client = login_as("chair1a")
    response = _upload(client, world, open_annual, rubric.ind["org"], name, data)
    assert response.status_code == 400
    assert text in response.get_data(as_text=True)
    assert _rows(app, world) == []
    assert [p for p in Path(app.config["UPLOAD_FOLDER"]).rglob("*") if p.is_file()] == []


def test_a_real_jpeg_with_gps_is_stored_without_it(app, world, login_as, rubric, open_annual):
    client = login_as("chair1a")
    response = _upload(client, world, open_annual, rubric.ind["org"], "活动照片.jpg", files.jpeg())
    assert response.status_code == 302
    (name, path, size, content_type, evidence_id), = _rows(app, world)
    assert name == "活动照片.jpg" and content_type == "image/jpeg"
    assert re.fullmatch(rf"{world.d1}/evidence/{world.s1a}/[0-9a-f]{{32}}\.jpg", path)  # random name
    with app.app_context():
        from app.uploads import absolute

        stored = open(absolute(path), "rb").read()
    assert files.GPS_MARK not in stored and b"Exif" not in stored and len(stored) == size
    download = client.get(f"/d/d1/s/{world.s1a}/rounds/{open_annual}/evidence/{evidence_id}")
    assert download.status_code == 200 and download.data == stored


def test_chinese_names_round_trip_and_downloads_are_sandboxed(app, world, login_as, rubric, open_annual):
    client = login_as("chair1a")
    name = "2026年度自评报告（终稿）.pdf"
    assert _upload(client, world, open_annual, rubric.ind["org"], name, files.pdf()).status_code == 302
    assert _upload(client, world, open_annual, rubric.ind["meetings"], "会员统计.xlsx", files.xlsx()).status_code == 302
    assert _upload(client, world, open_annual, rubric.ind["meetings"], "台账.docx", files.docx()).status_code == 302
    assert _upload(client, world, open_annual, rubric.ind["discipline"], "照片.png", files.png(metadata=True)).status_code == 302
    rows = _rows(app, world)
    assert [r[0] for r in rows] == [name, "会员统计.xlsx", "台账.docx", "照片.png"]
    page = client.get(f"/d/d1/s/{world.s1a}/rounds/{open_annual}/").get_data(as_text=True)
    assert name in page and "会员统计.xlsx" in page
    response = client.get(f"/d/d1/s/{world.s1a}/rounds/{open_annual}/evidence/{rows[0][4]}")
    assert response.status_code == 200 and response.data == files.pdf()
    disposition = response.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(name)}" in disposition
    assert response.headers["Content-Security-Policy"] == "sandbox"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "no-store" in response.headers["Cache-Control"]
    assert response.mimetype == "application/pdf"
    # the district sees it too
    admin = login_as("d1admin")
    assert admin.get(f"/d/d1/s/{world.s1a}/rounds/{open_annual}/evidence/{rows[0][4]}").status_code == 200


def test_evidence_isolation(app, world, login_as, rubric, open_annual):
    client = login_as("chair1a")
    _upload(client, world, open_annual, rubric.ind["org"], "甲小学台账.pdf", files.pdf())
    (_, _, _, _, evidence_id), = _rows(app, world)
    url = f"/d/d1/s/{world.s1a}/rounds/{open_annual}/evidence/{evidence_id}"
    for actor in ("chair1b", "d2admin", "chair2a", "d1assessor"):
        response = login_as(actor).get(url)
        assert response.status_code == 404, actor
        assert "甲小学台账" not in response.get_data(as_text=True)
    # another school's URL with s1a's evidence id
    own = login_as("chair1b").get(f"/d/d1/s/{world.s1b}/rounds/{open_annual}/evidence/{evidence_id}")
    assert own.status_code == 404
    # another round's URL
    assert client.get(f"/d/d1/s/{world.s1a}/rounds/{open_annual + 1000}/evidence/{evidence_id}").status_code == 404
    # deletion by another school is impossible too
    assert post(login_as("chair1b"), f"/d/d1/s/{world.s1a}/rounds/{open_annual}/evidence/{evidence_id}/delete").status_code == 404
    assert len(_rows(app, world)) == 1
    anonymous = app.test_client().get(url)
    assert anonymous.status_code == 302 and "/login" in anonymous.location


@pytest.fixture
def small_limits_app(app_factory):
    return app_factory(EVIDENCE_MAX_BYTES=4000, EVIDENCE_QUOTA_BYTES=6000, MAX_CONTENT_LENGTH=64 * 1024)


def test_size_limit_quota_and_413(small_limits_app):
    from tests.conftest import build_world, login
    from tests.rounds.conftest import make_rubric

    app = small_limits_app
    world = build_world(app)
    with in_district(app, world.d1):
        ids = make_rubric(world.d1)
        db.session.commit()
    round_id = open_round(app, world, ids, **WIDE_OPEN)
    client = app.test_client()
    login(client, "chair1a")
    big = files.pdf(b"%" + b"x" * 5000 + b"\n")
    response = _upload(client, world, round_id, ids.ind["org"], "大文件.pdf", big)
    assert response.status_code == 400 and "超过单个文件" in response.get_data(as_text=True)
    medium = files.pdf(b"%" + b"x" * 2500 + b"\n")
    assert _upload(client, world, round_id, ids.ind["org"], "第一份.pdf", medium).status_code == 302
    assert _upload(client, world, round_id, ids.ind["org"], "第二份.pdf", medium).status_code == 302
    assert sum(r[2] for r in _rows(app, world)) == 2 * len(medium) <= 6000
    response = _upload(client, world, round_id, ids.ind["meetings"], "第三份.pdf", medium)
    assert response.status_code == 400 and "总量上限" in response.get_data(as_text=True)
    huge = b"%PDF-" + b"0" * (70 * 1024)
    assert _upload(client, world, round_id, ids.ind["org"], "超大.pdf", huge).status_code == 413


def test_deleting_evidence_keeps_files_a_snapshot_needs(app, world, login_as, rubric, open_annual):
    from tests.rounds.conftest import FULL_SCORES

    client = login_as("chair1a")
    _upload(client, world, open_annual, rubric.ind["org"], "旧台账.pdf", files.pdf())
    _upload(client, world, open_annual, rubric.ind["org"], "草稿.pdf", files.pdf(b"% draft\n"))
    (_, frozen_path, _, _, frozen_id), (_, draft_path, _, _, draft_id) = _rows(app, world)
    form = {f"{k}-{rubric.ind[key]}": v for key, entry in FULL_SCORES.items() for k, v in entry.items()}
    base = f"/d/d1/s/{world.s1a}/rounds/{open_annual}"
    # delete the draft-only file before submitting: the file goes
    assert post(client, f"{base}/evidence/{draft_id}/delete").status_code == 302
    assert post(client, f"{base}/submit", form).status_code == 302
    admin = login_as("d1admin")
    with in_district(app, world.d1):
        application_id = db.session.scalar(select(Application.id).where(Application.school_id == world.s1a))
    assert post(admin, f"/d/d1/rounds/{open_annual}/applications/{application_id}/return",
                {"comment": "请更换台账"}).status_code == 302
    assert post(client, f"{base}/evidence/{frozen_id}/delete").status_code == 302
    assert _rows(app, world) == []
    with app.app_context():
        import os

        from app.uploads import absolute

        assert os.path.exists(absolute(frozen_path))        # listed by snapshot 1: kept for its dossier
        assert not os.path.exists(absolute(draft_path))     # never submitted: removed


def test_uploads_are_refused_when_the_application_is_not_editable(app, world, login_as, rubric, open_annual):
    client = login_as("chair1a")
    with in_district(app, world.d1):
        db.session.scalar(select(Application).where(Application.school_id == world.s1a)).status = "submitted"
        db.session.commit()
    response = _upload(client, world, open_annual, rubric.ind["org"], "补充.pdf", files.pdf())
    assert response.status_code == 400 and "不能修改" in response.get_data(as_text=True)
    response = _upload(client, world, open_annual, rubric.ind["membership"], "入会率.pdf", files.pdf())
    assert response.status_code == 400


def test_editor_may_upload_but_district_may_not(app, world, login_as, rubric, open_annual):
    assert _upload(login_as("editor1a"), world, open_annual, rubric.ind["org"], "委员上传.pdf", files.pdf()).status_code == 302
    assert _upload(login_as("d1admin"), world, open_annual, rubric.ind["org"], "区里上传.pdf", files.pdf()).status_code == 403
