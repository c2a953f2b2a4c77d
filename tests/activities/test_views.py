"""The school's activity pages: list with filters, form, detail, calendar, home card."""
from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select

from app.activities.models import ActivityRecord
from app.extensions import db
from tenants.scope import Scope, tenant_scope
from tests.activities.helpers import add_record, make_plan
from tests.conftest import csrf_token

SLOTS = [([3], "三八节女教职工活动", "women"), ([7, 8], "暑期走访慰问困难教职工", "care"),
         ([12], "年度工作总结", "self_building")]


def _base(world):
    return f"/d/d1/s/{world.s1a}/activities"


def _records(app, world):
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        return [(r.title, r.scheduled_activity_id) for r in db.session.scalars(select(ActivityRecord))]


def test_list_filters_by_month_and_category_and_paginates(app, world, login_as):
    add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节座谈", category="women")
    add_record(app, world.d1, world.s1a, date(2026, 3, 20), "春季读书会", category="culture_sports")
    add_record(app, world.d1, world.s1a, date(2026, 5, 4), "五四青年教师沙龙", category="culture_sports")
    add_record(app, world.d1, world.s1a, date(2025, 3, 1), "去年三月的活动", category="women")
    client = login_as("chair1a")
    page = client.get(f"{_base(world)}?year=2026").get_data(as_text=True)
    assert "三八节座谈" in page and "五四青年教师沙龙" in page and "去年三月的活动" not in page
    page = client.get(f"{_base(world)}?year=2026&month=3").get_data(as_text=True)
    assert "三八节座谈" in page and "春季读书会" in page and "五四青年教师沙龙" not in page
    page = client.get(f"{_base(world)}?year=2026&month=3&category=culture_sports").get_data(as_text=True)
    assert "春季读书会" in page and "三八节座谈" not in page
    page = client.get(f"{_base(world)}?year=0&category=women").get_data(as_text=True)
    assert "三八节座谈" in page and "去年三月的活动" in page
    for i in range(25):
        add_record(app, world.d1, world.s1a, date(2026, 9, 1 + i), f"第{i:02d}次活动")
    first = client.get(f"{_base(world)}?year=2026&month=9").get_data(as_text=True)
    assert first.count("次活动</a>") == 20 and "共 25 条" in first
    assert "page=2" in first
    second = client.get(f"{_base(world)}?year=2026&month=9&page=2").get_data(as_text=True)
    assert second.count("次活动</a>") == 5
    # rubbish filters are ignored, not errors
    assert client.get(f"{_base(world)}?year=abc&month=13&category=x").status_code == 200


def test_form_lists_this_years_planned_activities_with_their_month_slots(app, world, login_as):
    make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    make_plan(app, world.d1, world.s1b, 2026, [([3], "乙中学的计划活动")])
    client = login_as("editor1a")
    page = client.get(f"{_base(world)}/new?year=2026").get_data(as_text=True)
    assert "【三月】三八节女教职工活动" in page and "【七、八月】暑期走访慰问困难教职工" in page
    assert "乙中学的计划活动" not in page
    assert "计划外" in page and "每个文件不超过 10 MB" in page


def test_create_linked_record_and_see_it(app, world, login_as):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    client = login_as("chair1a")
    url = f"{_base(world)}/new?year=2026&scheduled_id={ids[1]}"
    page = client.get(url).get_data(as_text=True)
    assert 'value="暑期走访慰问困难教职工"' in page  # prefilled from the planned activity
    data = {"csrf_token": csrf_token(client, url), "held_on": "2026-07-15", "title": "暑期走访慰问",
            "category": "care", "participants": "12", "description": "走访 6 户\n送慰问金", "scheduled_activity_id": str(ids[1])}
    response = client.post(url, data=data)
    assert response.status_code == 302
    assert _records(app, world) == [("暑期走访慰问", ids[1])]
    detail = client.get(response.location).get_data(as_text=True)
    assert "暑期走访慰问" in detail and "七、八月" in detail and "送温暖/帮扶" in detail
    assert "<p class=\"mb-1\">送慰问金</p>" in detail


def test_form_errors_are_chinese_and_keep_the_input(app, world, login_as):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    other = make_plan(app, world.d1, world.s1b, 2026, [([3], "乙中学的计划活动")])
    client = login_as("chair1a")
    url = f"{_base(world)}/new"
    token = csrf_token(client, url)
    bad = {"csrf_token": token, "held_on": "2026/13/45", "title": "", "category": "women",
           "participants": "很多", "description": "我写了很长的活动内容", "scheduled_activity_id": str(ids[0])}
    page = client.post(url, data=bad).get_data(as_text=True)
    assert "日期格式不正确" in page and "请填写活动名称" in page and "请填写整数" in page
    assert "我写了很长的活动内容" in page and 'value="2026/13/45"' in page and 'value="很多"' in page
    # another school's planned activity, by a crafted id
    crafted = dict(bad, held_on="2026-03-08", title="三八节", participants="3", scheduled_activity_id=str(other[0]))
    page = client.post(url, data=crafted).get_data(as_text=True)
    assert "不属于本校 2026 年的工作计划" in page and 'value="三八节"' in page
    # a date in another year than the planned activity's plan
    wrong_year = dict(crafted, held_on="2025-03-08", scheduled_activity_id=str(ids[0]))
    page = client.post(url, data=wrong_year).get_data(as_text=True)
    assert "不属于本校 2025 年的工作计划" in page
    assert _records(app, world) == []


def test_edit_and_delete_by_chair_and_editor_only(app, world, login_as):
    record_id = add_record(app, world.d1, world.s1a, date(2026, 4, 1), "读书分享会", category="culture_sports")
    client = login_as("editor1a")
    url = f"{_base(world)}/{record_id}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'value="读书分享会"' in page and 'value="2026-04-01"' in page
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "held_on": "2026-04-02",
                                      "title": "读书分享会（第二期）", "category": "culture_sports",
                                      "participants": "30", "description": "", "scheduled_activity_id": ""})
    assert response.status_code == 302 and _records(app, world) == [("读书分享会（第二期）", None)]
    staff = login_as("d1staff")
    assert staff.get(f"{_base(world)}/{record_id}").status_code == 200  # district staff may read
    assert staff.get(url).status_code == 403
    assert staff.post(f"{_base(world)}/{record_id}/delete",
                      data={"csrf_token": csrf_token(staff, "/account/password")}).status_code == 403
    assert "编辑" not in staff.get(f"{_base(world)}/{record_id}").get_data(as_text=True).split("record-title")[1][:400]
    response = client.post(f"{_base(world)}/{record_id}/delete", data={"csrf_token": csrf_token(client, url)})
    assert response.status_code == 302 and _records(app, world) == []
    assert client.get(f"{_base(world)}/{record_id}").status_code == 404


def _month_section(page, month):
    match = re.search(rf'<section[^>]*id="m{month}".*?</section>', page, re.S)
    assert match, month
    return match.group(0)


def test_calendar_shows_planned_vs_done_month_by_month(app, world, login_as):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    add_record(app, world.d1, world.s1a, date(2026, 8, 20), "八月走访慰问", ids[1])
    add_record(app, world.d1, world.s1a, date(2026, 6, 1), "六一亲子活动")
    client = login_as("chair1a")
    page = client.get(f"{_base(world)}/2026/calendar").get_data(as_text=True)
    assert page.count("<section") == 12
    for month in (7, 8):  # a two-month slot appears in both months, done in both
        section = _month_section(page, month)
        assert "暑期走访慰问困难教职工" in section and "（七、八月）" in section and "已完成" in section
    assert "八月走访慰问" in _month_section(page, 8) and "八月走访慰问" not in _month_section(page, 7)
    march = _month_section(page, 3)
    assert "三八节女教职工活动" in march and "is-open" in march and "is-done" not in march
    assert "六一亲子活动" in _month_section(page, 6) and "计划外" in _month_section(page, 6)
    assert "<h2 class=\"h6 mb-0\" id=\"m1-title\">一月</h2>" in page
    assert 'id="calendar-rate">33.3%' in page
    # responsive: a list of month cards, not a 12-column table
    assert "<table" not in page and "col-12 col-md-6 col-xl-4" in page
    # another year without a plan still works
    other = client.get(f"{_base(world)}/2024/calendar").get_data(as_text=True)
    assert "尚未填写工作计划" in other
    assert client.get(f"{_base(world)}/1900/calendar").status_code == 404


def test_school_home_shows_this_years_completion(app, world, login_as):
    from app.activities.services import current_year

    year = current_year()
    ids = make_plan(app, world.d1, world.s1a, year, SLOTS)
    add_record(app, world.d1, world.s1a, date(year, 3, 8), "三八节", ids[0])
    page = login_as("chair1a").get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    assert 'id="home-completion-rate">33.3%' in page and "查看活动记录" in page
    page = login_as("chair1b").get(f"/d/d1/s/{world.s1b}/").get_data(as_text=True)
    assert 'id="home-completion-rate">—' in page


def test_navigation_links(app, world, login_as):
    page = login_as("chair1a").get(f"/d/d1/s/{world.s1a}/").get_data(as_text=True)
    assert f'href="/d/d1/s/{world.s1a}/activities"' in page
    page = login_as("d1staff").get("/d/d1/").get_data(as_text=True)
    assert "/d/d1/activities/" in page and "活动完成率" in page
