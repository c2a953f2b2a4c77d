"""Submission dossiers (材料汇编): the PDFs open, hold the school, the Chinese headings and
the content (extracted text), every character has a glyph in the font, images are embedded,
attached PDFs appended with bookmarks, Office files listed; downloads, progress, failure
and retry on the submission pages; merged bundles with a bookmark per school."""
from __future__ import annotations

import io
import os

import pytest

from app.compilation import fonts
from app.compilation.models import APPLICATION_DOSSIER, DOSSIER_BUNDLE, PLAN_DOSSIER
from app.jobs.models import DONE, FAILED
from tests.compilation.helpers import (YEAR, artifact_bytes, artifacts, make_snapshot, outline_titles, pdf_bytes,
                                       pdf_text, png_bytes, run_job, run_row, submit_plan)
from tests.conftest import post
from tests.plans.helpers import CONTENT


def _squash(text: str) -> str:
    return "".join(text.split())


def test_font_is_installed_and_covers_every_character_the_product_writes(app):
    with app.app_context():
        assert fonts.available(), "run scripts/assets.py (make setup) to install the CJK font"
        sample = "材料汇编目录计划内容指导思想工作目标主要工作落实措施活动安排佐证材料自评分表一区甲小学乙中学" \
                 "汇总表报告学校明细全区按时提交率通过率完成率分布等次名额模范先进合格职工之家复查〓—（）：；、…%"
        for value in (CONTENT["guiding_ideology"], CONTENT["goals"], *CONTENT["measures"]):
            sample += value
        assert fonts.missing_glyphs(sample) == set()
        assert fonts.missing_glyphs("😀") == {"😀"}  # the check itself works


def test_plan_version_dossier_pdf(app, world):
    version_id, run_id = submit_plan(app, world)
    assert run_row(app, world.d1, run_id)["status"] == "pending"  # queued in the submit transaction
    result = run_job(app, world.d1, run_id)
    assert result["status"] == DONE, result["error"]
    assert "材料汇编已生成" in result["result"]["summary"]
    [row] = artifacts(app, world.d1, PLAN_DOSSIER)
    assert row["subject"] == f"plan-version-{version_id}" and row["school_id"] == world.s1a
    data = artifact_bytes(app, row)
    text = _squash(pdf_text(data))
    for expected in ("材料汇编", "一区甲小学", "年度工会工作计划", "第1版", "提交时间", "目录", "一、计划内容", "指导思想",
                     "工作目标", "主要工作", "落实措施", "活动安排", "二、佐证材料目录",
                     _squash(CONTENT["guiding_ideology"]), "召开第五届教代会第二次会议", "三八节女教工活动", "七、八月"):
        assert expected in text, expected
    titles = outline_titles(data)
    assert "一、计划内容" in titles and "指导思想" in titles
    assert row["meta"]["replaced_characters"] == []


def test_application_dossier_embeds_images_appends_pdfs_lists_office(app, world):
    docx = b"PK\x03\x04" + b"\x00" * 200
    with app.app_context():
        attached = pdf_bytes()
    snapshot_id, run_id = make_snapshot(app, world, [("活动照片.png", png_bytes()), ("会议纪要.pdf", attached),
                                                     ("提案汇总.docx", docx)])
    result = run_job(app, world.d1, run_id)
    assert result["status"] == DONE, result["error"]
    [row] = artifacts(app, world.d1, APPLICATION_DOSSIER)
    data = artifact_bytes(app, row)
    text = _squash(pdf_text(data))
    for expected in ("材料汇编", "一区甲小学", f"{YEAR}年先进职工之家评选", "第1次提交", "自评分表", "组织健全", "必备：符合",
                     "参加培训及会议", "5.50", "自评总分", "17.50", "三、佐证材料目录", "活动照片.png", "会议纪要.pdf",
                     "提案汇总.docx", "Office文件，仅列出", "四、图片佐证", "附件一佐证材料", "第二页"):
        assert expected in text, expected
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    images = sum(len(page.images) for page in reader.pages)
    assert images == 1
    titles = outline_titles(data)
    assert "PDF 佐证材料" in titles and "佐证：会议纪要.pdf" in titles
    assert row["meta"]["images"] == 1 and row["meta"]["pdfs_appended"] == 1 and row["meta"]["office_listed"] == 1


def test_compiling_twice_keeps_one_artifact(app, world):
    from app.jobs import services as jobs
    from tenants.scope import Scope, tenant_scope

    _, run_id = submit_plan(app, world)
    assert run_job(app, world.d1, run_id)["status"] == DONE
    first = artifacts(app, world.d1, PLAN_DOSSIER)
    with app.app_context():
        from app.extensions import db
        from app.jobs.models import JobRun

        with tenant_scope(Scope.district(world.d1)):
            jobs.requeue(db.session.get(JobRun, (world.d1, run_id)))
            db.session.commit()
        db.session.remove()
    assert run_job(app, world.d1, run_id)["status"] == DONE
    second = artifacts(app, world.d1, PLAN_DOSSIER)
    assert len(second) == 1 and second[0]["id"] == first[0]["id"] and second[0]["path"] == first[0]["path"]


def test_missing_font_fails_in_chinese_and_retry_recovers(app_factory, tmp_path):
    from tests.conftest import build_world

    app = app_factory(CJK_FONT_DIR=str(tmp_path / "no-fonts"))
    world = build_world(app)
    version_id, run_id = submit_plan(app, world)
    result = run_job(app, world.d1, run_id)
    assert result["status"] == FAILED
    assert "未安装 PDF 中文字体" in result["error"] and "make setup" in result["error"]
    assert artifacts(app, world.d1) == []

    client = app.test_client()
    from tests.conftest import login

    login(client, "chair1a")
    page = client.get(f"/d/d1/s/{world.s1a}/plans/{YEAR}").get_data(as_text=True)
    assert "材料汇编生成失败" in page and "未安装 PDF 中文字体" in page and "重新生成" in page
    assert "提交本身不受影响" in page
    # the submission is untouched
    assert "已提交" in page

    app.config["CJK_FONT_DIR"] = None  # the font is installed now
    response = post(client, f"/d/d1/s/{world.s1a}/dossiers/plan-versions/{version_id}/retry")
    assert response.status_code == 302
    assert run_row(app, world.d1, run_id)["status"] == "pending"
    assert run_job(app, world.d1, run_id)["status"] == DONE
    page = client.get(f"/d/d1/s/{world.s1a}/plans/{YEAR}").get_data(as_text=True)
    assert "下载材料汇编" in page
    response = client.get(f"/d/d1/s/{world.s1a}/dossiers/plan-versions/{version_id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "一区甲小学" in pdf_text(response.get_data())


def test_submission_page_shows_progress_while_compiling(app, world, login_as):
    version_id, run_id = submit_plan(app, world)
    client = login_as("chair1a")
    page = client.get(f"/d/d1/s/{world.s1a}/plans/{YEAR}").get_data(as_text=True)
    assert "材料汇编生成中" in page and f"/d/d1/jobs/{run_id}/progress" in page and "job-progress" in page
    # downloading before it is ready answers with a message, not an error
    response = client.get(f"/d/d1/s/{world.s1a}/dossiers/plan-versions/{version_id}")
    assert response.status_code == 302


def test_snapshot_download_from_both_sides_and_only_own_school(app, world, login_as):
    snapshot_id, run_id = make_snapshot(app, world, [("活动照片.png", png_bytes())])
    assert run_job(app, world.d1, run_id)["status"] == DONE
    for who in ("chair1a", "d1staff", "d1admin"):
        client = login_as(who)
        response = client.get(f"/d/d1/s/{world.s1a}/dossiers/snapshots/{snapshot_id}")
        assert response.status_code == 200, who
        assert response.mimetype == "application/pdf"
    # another school of the same district and another district see nothing
    assert login_as("chair1b").get(f"/d/d1/s/{world.s1a}/dossiers/snapshots/{snapshot_id}").status_code == 404
    assert login_as("chair1b").get(f"/d/d1/s/{world.s1b}/dossiers/snapshots/{snapshot_id}").status_code == 404
    client = login_as("d2admin")
    assert client.get(f"/d/d1/s/{world.s1a}/dossiers/snapshots/{snapshot_id}").status_code == 404
    assert client.get(f"/d/d2/s/{world.s2a}/dossiers/snapshots/{snapshot_id}").status_code == 404


def test_year_bundle_merges_schools_with_bookmarks(app, world, login_as):
    from tests.compilation.helpers import run_row as _row  # noqa: F401

    submit_plan(app, world, "s1a")
    submit_plan(app, world, "s1b")
    submit_plan(app, world, "s2a")  # another district: never in d1's bundle
    client = login_as("d1staff")
    page = client.get(f"/d/d1/dossiers/?year={YEAR}").get_data(as_text=True)
    assert "2026 年工作计划" in page or "2026年工作计划" in page.replace(" ", "")
    response = post(client, f"/d/d1/dossiers/years/{YEAR}")
    assert response.status_code == 302
    from app.extensions import db
    from app.jobs.models import JobRun
    from sqlalchemy import select
    from tenants.scope import Scope, tenant_scope

    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            run_id = db.session.scalar(select(JobRun.id).where(JobRun.kind == DOSSIER_BUNDLE))
        db.session.remove()
    page = client.get(f"/d/d1/dossiers/?year={YEAR}").get_data(as_text=True)
    assert "job-progress" in page
    result = run_job(app, world.d1, run_id)
    assert result["status"] == DONE, result["error"]
    assert result["result"]["schools"] == 2
    response = client.get(f"/d/d1/dossiers/years/{YEAR}.pdf")
    assert response.status_code == 200
    data = response.get_data()
    titles = outline_titles(data)
    assert titles[0] == "一区乙中学" or titles[0] == "一区甲小学"
    assert {"一区甲小学", "一区乙中学"} <= set(titles) and "二区甲小学" not in titles
    assert "一、计划内容" in titles  # each school's own bookmarks are kept beneath it
    text = pdf_text(data)
    assert "二区甲小学" not in text
    # the other district cannot fetch it
    assert login_as("d2admin").get(f"/d/d1/dossiers/years/{YEAR}.pdf").status_code == 404
    # schools cannot use district bundles
    assert login_as("chair1a").get(f"/d/d1/dossiers/years/{YEAR}.pdf").status_code == 403
