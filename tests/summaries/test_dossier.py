"""The 工作总结 dossier (材料汇编): compiled by a worker after the submission is committed,
opened with pypdf (cover, headings, sections, figures), downloadable from the school page
and by the district, progress while compiling, a Chinese failure text with a retry, and
the year bundle holding each school's summary under its bookmark."""
from __future__ import annotations

from sqlalchemy import select

from app.compilation.models import DOSSIER_BUNDLE, SUMMARY_DOSSIER
from app.extensions import db
from app.jobs.models import DONE, JobRun
from tests.compilation.helpers import artifact_bytes, artifacts, outline_titles, pdf_text, run_job, submit_plan
from tests.conftest import post
from tests.plans.helpers import district_session
from tests.summaries.helpers import YEAR, submit_summary


def test_dossier_pdf_has_cover_headings_sections_and_figures(app, world):
    submit_plan(app, world, "s1a")
    version_id, run_id = submit_summary(app, world, "s1a")
    result = run_job(app, world.d1, run_id)
    assert result["status"] == DONE, result["error"]
    assert result["result"]["version_id"] == version_id and result["result"]["replaced_characters"] == []
    [row] = artifacts(app, world.d1, SUMMARY_DOSSIER)
    assert row["subject"] == f"summary-version-{version_id}" and row["school_id"] == world.s1a
    assert row["filename"] == f"一区甲小学-{YEAR}年工作总结-第1版-材料汇编.pdf"
    data = artifact_bytes(app, row)
    text = "".join(pdf_text(data).split())
    for expected in ("材料汇编", "工作总结", "一区甲小学", f"{YEAR}年", "第1版", "目录", "一、主要工作与成效", "二、特色亮点",
                     "三、存在问题与不足", "四、下一年度工作思路", "五、年度数据", "教工书屋", "计划活动数", "计划完成率",
                     "0%", "已提交"):
        assert expected in text, expected
    assert "二区" not in text
    titles = outline_titles(data)
    assert titles == ["一、主要工作与成效", "二、特色亮点", "三、存在问题与不足", "四、下一年度工作思路", "五、年度数据"]
    # idempotent: running the same compile again keeps one artifact
    with app.app_context():
        from app.jobs import services as jobs
        from tenants.scope import Scope, tenant_scope

        with tenant_scope(Scope.district(world.d1)):
            jobs.requeue(db.session.get(JobRun, (world.d1, run_id)))
            db.session.commit()
        db.session.remove()
    assert run_job(app, world.d1, run_id)["status"] == DONE
    assert len(artifacts(app, world.d1, SUMMARY_DOSSIER)) == 1


def test_download_from_the_school_page_and_by_the_district(app, world, login_as):
    version_id, run_id = submit_summary(app, world, "s1a")
    chair = login_as("chair1a")
    url = f"/d/d1/s/{world.s1a}/summaries/dossiers/{version_id}"
    response = chair.get(url)  # not compiled yet: back to the page with a message
    assert response.status_code == 302
    assert run_job(app, world.d1, run_id)["status"] == DONE
    page = chair.get(f"/d/d1/s/{world.s1a}/summaries/{YEAR}").get_data(as_text=True)
    assert url in page and "下载材料汇编" in page
    response = chair.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "一区甲小学" in pdf_text(response.get_data())
    staff = login_as("d1staff")
    with district_session(app, world.d1):
        from app.summaries.models import YearSummary

        summary_id = db.session.scalar(select(YearSummary.id).where(YearSummary.school_id == world.s1a))
    assert url in staff.get(f"/d/d1/summaries/review/{summary_id}").get_data(as_text=True)
    assert staff.get(url).status_code == 200
    # another school, another district: 404
    assert login_as("chair1b").get(url).status_code == 404
    assert login_as("d2admin").get(url).status_code == 404
    assert login_as("chair2a").get(f"/d/d2/s/{world.s2a}/summaries/dossiers/{version_id}").status_code == 404


def test_failure_is_shown_in_chinese_with_a_retry(app_factory, tmp_path):
    from tests.conftest import build_world, login

    app = app_factory(CJK_FONT_DIR=str(tmp_path / "none"))
    world = build_world(app)
    version_id, run_id = submit_summary(app, world, "s1a")
    assert run_job(app, world.d1, run_id)["status"] == "failed"
    client = app.test_client()
    login(client, "chair1a")
    page = client.get(f"/d/d1/s/{world.s1a}/summaries/{YEAR}").get_data(as_text=True)
    assert "材料汇编生成失败" in page and "未安装 PDF 中文字体" in page and "重新生成" in page
    assert "提交本身不受影响" in page and "已提交第 1 版" in page
    app.config["CJK_FONT_DIR"] = None
    response = post(client, f"/d/d1/s/{world.s1a}/summaries/dossiers/{version_id}/retry")
    assert response.status_code == 302
    assert run_job(app, world.d1, run_id)["status"] == DONE
    page = client.get(f"/d/d1/s/{world.s1a}/summaries/{YEAR}").get_data(as_text=True)
    assert "下载材料汇编" in page and "生成失败" not in page


def test_year_bundle_contains_each_schools_plan_and_summary(app, world, login_as):
    submit_plan(app, world, "s1a")
    submit_summary(app, world, "s1a")
    submit_summary(app, world, "s1b")  # a summary without a plan
    submit_summary(app, world, "s2a")  # another district: never in d1's bundle
    client = login_as("d1staff")
    assert post(client, f"/d/d1/dossiers/years/{YEAR}").status_code == 302
    with district_session(app, world.d1):
        run_id = db.session.scalar(select(JobRun.id).where(JobRun.kind == DOSSIER_BUNDLE))
    result = run_job(app, world.d1, run_id)
    assert result["status"] == DONE, result["error"]
    assert result["result"]["schools"] == 2
    data = client.get(f"/d/d1/dossiers/years/{YEAR}.pdf").get_data()
    from pypdf import PdfReader
    import io

    outline = PdfReader(io.BytesIO(data)).outline
    tops = [item.title for item in outline if not isinstance(item, list)]
    assert sorted(tops) == ["一区乙中学", "一区甲小学"]  # one bookmark per school
    titles = outline_titles(data)
    assert titles.count("工作总结") == 2 and titles.count("年度工会工作计划") == 1
    assert "一、主要工作与成效" in titles and "一、计划内容" in titles
    text = "".join(pdf_text(data).split())
    assert "教工书屋" in text and "二区甲小学" not in text
    page = client.get(f"/d/d1/dossiers/?year={YEAR}").get_data(as_text=True)
    assert "工作计划与工作总结" in page
