"""工作总结 pages: the chair and the editor edit (a failed save keeps what was typed, errors in
Chinese), only the chair submits, the district lists every school with its status and
filters, accepts or returns with a comment that the school then sees; resubmission."""
from __future__ import annotations

import re

from sqlalchemy import select

from app.extensions import db
from app.summaries.models import YearSummary
from tests.conftest import post
from tests.plans.helpers import district_session
from tests.summaries.helpers import YEAR, sections, submit_summary


def _url(world, tail=""):
    return f"/d/d1/s/{world.s1a}/summaries/{YEAR}{tail}"


def _status(app, world, name="s1a"):
    with district_session(app, world.d1):
        return db.session.scalar(select(YearSummary.status).where(YearSummary.school_id == getattr(world, name),
                                                                  YearSummary.year == YEAR))


def test_chair_writes_saves_and_submits(app, world, login_as):
    client = login_as("chair1a")
    page = client.get(_url(world)).get_data(as_text=True)
    for heading in ("主要工作与成效", "特色亮点", "存在问题与不足", "下一年度工作思路", "年度数据", "计划完成率"):
        assert heading in page, heading
    assert "本年度工作总结尚未编写" not in page and 'id="summary-form"' in page
    response = post(client, _url(world), sections())
    assert response.status_code == 302
    page = client.get(_url(world)).get_data(as_text=True)
    assert "草稿尚未提交" in page and "教工书屋" in page and 'id="submit-summary"' in page
    response = post(client, _url(world, "/submit"))
    assert response.status_code == 302
    page = client.get(_url(world)).get_data(as_text=True)
    assert "已提交第 1 版" in page and 'id="summary-form"' not in page
    home = client.get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    from app.activities.services import current_year

    assert 'id="home-summary-link"' in home  # the school home shows this year's summary
    if current_year() == YEAR:
        assert re.search(r'id="home-summary-status">已提交<', home)
    assert "材料汇编生成中" in page and "job-progress" in page  # the dossier compiles in the background
    assert _status(app, world) == "submitted"
    # editing while submitted is refused with a Chinese message, nothing changes
    response = post(client, _url(world), sections(highlights="改动"))
    assert response.status_code == 400 and "暂不能修改" in response.get_data(as_text=True)


def test_a_failed_save_keeps_what_was_typed(app, world, login_as):
    client = login_as("editor1a")
    typed = sections(achievements="我们做了很多工作<script>", highlights="长" * 20001)
    response = post(client, _url(world), typed)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "特色亮点不能超过 20000 个字" in body and "is-invalid" in body
    assert "我们做了很多工作&lt;script&gt;" in body  # kept (escaped)
    assert "长" * 20001 in body
    assert _status(app, world) is None  # nothing saved


def test_editor_drafts_but_cannot_submit(app, world, login_as):
    client = login_as("editor1a")
    assert post(client, _url(world), sections()).status_code == 302
    page = client.get(_url(world)).get_data(as_text=True)
    assert 'id="submit-summary"' not in page and "提交由工会主席进行" in page
    assert post(client, _url(world, "/submit")).status_code == 403
    assert _status(app, world) == "draft"


def test_submitting_nothing_says_so(app, world, login_as):
    client = login_as("chair1a")
    response = post(client, _url(world, "/submit"), follow_redirects=True)
    assert "请先填写并保存工作总结" in response.get_data(as_text=True)
    post(client, _url(world), {k: "" for k in sections()})
    response = post(client, _url(world, "/submit"), follow_redirects=True)
    assert "内容为空" in response.get_data(as_text=True) and _status(app, world) == "draft"


def test_district_lists_filters_returns_and_accepts(app, world, login_as):
    submit_summary(app, world, "s1a")
    submit_summary(app, world, "s2a")  # another district: never listed in d1
    staff = login_as("d1staff")
    page = staff.get(f"/d/d1/summaries/{YEAR}").get_data(as_text=True)
    assert "一区甲小学" in page and "一区乙中学" in page and "二区甲小学" not in page
    for label in ("未提交", "已提交", "已退回", "已阅收"):
        assert label in page
    assert re.search(r'id="count-submitted">1<', page) and re.search(r'id="count-not_submitted">1<', page)
    filtered = staff.get(f"/d/d1/summaries/{YEAR}?status=submitted").get_data(as_text=True)
    assert "一区甲小学" in filtered and "一区乙中学" not in filtered
    assert "一区乙中学" in staff.get(f"/d/d1/summaries/{YEAR}?q=乙").get_data(as_text=True)
    with district_session(app, world.d1):
        summary_id = db.session.scalar(select(YearSummary.id).where(YearSummary.school_id == world.s1a))
    review = staff.get(f"/d/d1/summaries/review/{summary_id}").get_data(as_text=True)
    assert "教工书屋" in review and "计划完成率" in review and 'id="accept-summary"' in review
    # returning without a comment is refused and keeps the page
    response = post(staff, f"/d/d1/summaries/review/{summary_id}/return", {"version": "1", "note": ""})
    assert response.status_code == 400 and "退回时请填写修改意见" in response.get_data(as_text=True)
    response = post(staff, f"/d/d1/summaries/review/{summary_id}/return",
                    {"version": "1", "note": "请补充女工工作的具体数据"})
    assert response.status_code == 302 and _status(app, world) == "returned"
    # the school sees the comment, edits and resubmits
    chair = login_as("chair1a")
    page = chair.get(_url(world)).get_data(as_text=True)
    assert "请补充女工工作的具体数据" in page and "已退回第 1 版" in page and 'id="summary-form"' in page
    assert "重新提交" in page
    response = post(chair, _url(world, "/submit"), follow_redirects=True)
    assert "尚未修改" in response.get_data(as_text=True) and _status(app, world) == "returned"
    post(chair, _url(world), sections(highlights="女教工委员会组织“巾帼建功”活动 6 次，参与 120 人次"))
    post(chair, _url(world, "/submit"))
    assert _status(app, world) == "submitted"
    # accepting a stale version number is refused; the current one is accepted
    response = post(staff, f"/d/d1/summaries/review/{summary_id}/accept", {"version": "1"})
    assert response.status_code == 400 and "不是最新" in response.get_data(as_text=True)
    response = post(staff, f"/d/d1/summaries/review/{summary_id}/accept", {"version": "2", "note": "已阅"})
    assert response.status_code == 302 and _status(app, world) == "accepted"
    page = staff.get(f"/d/d1/summaries/{YEAR}?status=accepted").get_data(as_text=True)
    assert "一区甲小学" in page
    page = chair.get(_url(world)).get_data(as_text=True)
    assert "被区教育工会阅收" in page and 'id="summary-form"' not in page and "巾帼建功" in page
    assert chair.get(_url(world, "/versions/1")).get_data(as_text=True).count("请补充女工工作的具体数据") >= 1


def test_schools_cannot_review_and_district_cannot_edit(app, world, login_as):
    submit_summary(app, world, "s1a")
    with district_session(app, world.d1):
        summary_id = db.session.scalar(select(YearSummary.id).where(YearSummary.school_id == world.s1a))
    chair = login_as("chair1a")
    assert chair.get(f"/d/d1/summaries/{YEAR}").status_code == 403
    assert post(chair, f"/d/d1/summaries/review/{summary_id}/accept", {"version": "1"}).status_code == 403
    staff = login_as("d1staff")
    assert post(staff, _url(world), sections()).status_code == 403
    assert post(staff, _url(world, "/submit")).status_code == 403
    # the district sees the submitted version on the school page, not a form
    page = staff.get(_url(world)).get_data(as_text=True)
    assert 'id="summary-form"' not in page and "以下为第 1 版" in page
    # another school's chair: 404 on s1a's summary
    assert login_as("chair1b").get(_url(world)).status_code == 404
    # navigation links
    assert re.search(r'href="/d/d1/summaries/\d{4}"', staff.get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True))
    assert re.search(rf'href="/d/d1/s/{world.s1a}/summaries/\d{{4}}"',
                     chair.get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True))


def test_english_pages(app, world, login_as):
    submit_summary(app, world, "s1a")
    client = login_as("chair1a")
    client.get("/lang/en")
    page = client.get(_url(world)).get_data(as_text=True)
    for text in ("Main work and results", "Highlights", "Problems and shortcomings", "Plans for next year",
                 "Figures of the year", "Planned activities", "Year summary"):
        assert text in page, text
    staff = login_as("d1staff")
    staff.get("/lang/en")
    page = staff.get(f"/d/d1/summaries/{YEAR}").get_data(as_text=True)
    assert "Year summaries 2026: who has filed" in page and "Awaiting acceptance" not in page
