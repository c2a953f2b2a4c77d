"""The district's tracking page: statuses, dates, late flags, filters, pagination, the Excel
export, the deadline, reminders with in-app notifications (and e-mail when SMTP is set), and a
constant number of SQL statements however many schools there are."""
from __future__ import annotations

import io
import re
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import pytest
from openpyxl import load_workbook
from sqlalchemy import event, select

from app.accounts import services as accounts
from app.activities.models import Notification
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import DONE, JobRun
from app.plans import services
from app.plans.models import PlanDeadline
from app.plans.services import Actor
from tenants import provisioning
from tenants.models import District, Membership, School
from tests.conftest import PASSWORD, login, post
from tests.plans.helpers import actor, content, district_session

YEAR = 2026
TRACKING = f"/d/d1/plans/{YEAR}/tracking"


def _school(name):
    district = db.session.get(District, 1)
    return provisioning.add_school(district, name, "primary")


def _chair_for(school, username, email=""):
    user = accounts.create_user(username, username.upper(), PASSWORD, must_change_password=False, email=email)
    db.session.add(Membership(district_id=school.district_id, user_id=user.id, role="school_chair",
                              school_id=school.id))
    db.session.flush()
    return user


def _plan(world, school, state):
    """A plan of ``school`` in ``state`` (draft/submitted/returned/approved)."""
    chair = Actor(world.users["chair1a"], frozenset({"school_chair"}))
    staff = actor(world, "d1staff")
    plan = services.save_draft(school, YEAR, content(), chair)
    if state == "draft":
        return plan
    services.submit(plan, chair)
    if state == "returned":
        services.return_plan(plan, 1, [("goals", "请修改")], staff)
    elif state == "approved":
        services.approve(plan, 1, staff)
    return plan


@pytest.fixture
def district(app, world):
    """s1a approved, s1b submitted, 丙 returned, 丁 draft (未提交), 戊 no plan, 己 inactive."""
    with district_session(app, world.d1):
        schools = {"s1a": db.session.get(School, (world.d1, world.s1a)),
                   "s1b": db.session.get(School, (world.d1, world.s1b))}
        for key, name in (("c", "一区丙小学"), ("d", "一区丁小学"), ("e", "一区戊中学"), ("f", "一区己小学")):
            schools[key] = _school(name)
        schools["f"].active = False
        _chair_for(schools["d"], "chair1d", "chair1d@example.cn")
        _chair_for(schools["e"], "chair1e")
        _plan(world, schools["s1a"], "approved")
        _plan(world, schools["s1b"], "submitted")
        _plan(world, schools["c"], "returned")
        _plan(world, schools["d"], "draft")
        _plan(world, schools["f"], "submitted")
        db.session.commit()
        ids = {key: s.id for key, s in schools.items()}
    return ids


def rows_of(html):
    """{school id: row text} of the tracking table."""
    return {int(sid): re.sub(r"<[^>]+>", " ", body) for sid, body in
            re.findall(r'<tr data-school="(\d+)">(.*?)</tr>', html, re.S)}


def set_deadline(app, world, due_on):
    with district_session(app, world.d1):
        services.set_deadline(YEAR, due_on, actor(world, "d1admin"))
        db.session.commit()


# --------------------------------------------------------------------------- statuses & filters

def test_every_active_school_is_listed_with_its_status(app, world, district, login_as):
    html = login_as("d1staff").get(TRACKING).get_data(as_text=True)
    rows = rows_of(html)
    assert set(rows) == {district[k] for k in ("s1a", "s1b", "c", "d", "e")}  # not the inactive one
    expected = {"s1a": "已通过", "s1b": "已提交", "c": "已退回", "d": "未提交", "e": "未提交"}
    for key, label in expected.items():
        assert label in rows[district[key]], (key, rows[district[key]])
    assert re.search(r'id="count-not_submitted">2<', html) and re.search(r'id="count-approved">1<', html)
    assert "CHAIR1B" in rows[district["s1b"]]
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d", rows[district["s1b"]])  # submitted dates shown


def test_status_filter_search_and_pagination(app, world, district, login_as):
    client = login_as("d1staff")
    assert set(rows_of(client.get(TRACKING + "?status=not_submitted").get_data(as_text=True))) == {
        district["d"], district["e"]}
    assert set(rows_of(client.get(TRACKING + "?status=returned").get_data(as_text=True))) == {district["c"]}
    assert set(rows_of(client.get(TRACKING + "?q=乙中").get_data(as_text=True))) == {district["s1b"]}
    app.config["PAGE_SIZE"] = 2
    first = client.get(TRACKING).get_data(as_text=True)
    third = client.get(TRACKING + "?page=3").get_data(as_text=True)
    assert len(rows_of(first)) == 2 and len(rows_of(third)) == 1 and "共 5 条" in first


def test_draft_after_approval_still_counts_as_approved(app, world, district, login_as):
    with district_session(app, world.d1):
        school = db.session.get(School, (world.d1, world.s1a))
        services.save_draft(school, YEAR, content(goals="修改"), actor(world, "chair1a"))
        db.session.commit()
    rows = rows_of(login_as("d1staff").get(TRACKING).get_data(as_text=True))
    assert "已通过" in rows[district["s1a"]]


# --------------------------------------------------------------------------- deadline & late flags

def test_only_the_district_admin_sets_the_deadline(app, world, login_as):
    admin = login_as("d1admin")
    response = post(admin, f"/d/d1/plans/{YEAR}/deadline", {"due_on": "2026-03-15"}, follow_redirects=True)
    assert "截止日期已设为 2026-03-15" in response.get_data(as_text=True)
    assert "报送截止日期：2026-03-15" in admin.get(TRACKING).get_data(as_text=True)
    assert "请填写有效的截止日期" in post(admin, f"/d/d1/plans/{YEAR}/deadline", {"due_on": "3月15日"},
                                          follow_redirects=True).get_data(as_text=True)
    staff = login_as("d1staff")
    assert 'id="set-deadline"' not in staff.get(TRACKING).get_data(as_text=True)
    assert post(staff, f"/d/d1/plans/{YEAR}/deadline", {"due_on": "2026-04-01"}).status_code == 403
    with district_session(app, world.d1):
        assert [d.due_on.isoformat() for d in db.session.scalars(select(PlanDeadline))] == ["2026-03-15"]
    chair_page = login_as("chair1a").get(f"/d/d1/s/{world.s1a}/plans/{YEAR}").get_data(as_text=True)
    assert "报送截止日期：2026-03-15" in chair_page


def test_late_flags_after_the_deadline(app, world, district, login_as):
    today = services.today_china()
    set_deadline(app, world, today - timedelta(days=5))
    with district_session(app, world.d1):  # s1b filed before the deadline; the others today
        plan = services.get_plan(district["s1b"], YEAR)
        plan.first_submitted_at = datetime.now(timezone.utc) - timedelta(days=10)
        db.session.commit()
    client = login_as("d1staff")
    rows = rows_of(client.get(TRACKING).get_data(as_text=True))
    late = {sid for sid, text in rows.items() if "逾期" in text}
    # submitted after the deadline (s1a, 丙) and not submitted with the deadline passed (丁, 戊)
    assert late == {district[k] for k in ("s1a", "c", "d", "e")}
    assert set(rows_of(client.get(TRACKING + "?late=1").get_data(as_text=True))) == late
    assert set(rows_of(client.get(TRACKING + "?late=1&status=not_submitted").get_data(as_text=True))) == {
        district["d"], district["e"]}


def test_nobody_is_late_before_the_deadline(app, world, district, login_as):
    set_deadline(app, world, services.today_china() + timedelta(days=5))
    client = login_as("d1staff")
    assert not any("逾期" in text for text in rows_of(client.get(TRACKING).get_data(as_text=True)).values())
    assert rows_of(client.get(TRACKING + "?late=1").get_data(as_text=True)) == {}


def test_deadline_day_counts_in_china_time():
    due = datetime(2026, 3, 15).date()
    cutoff = services.deadline_cutoff(due)
    assert cutoff == datetime(2026, 3, 15, 16, 0, tzinfo=timezone.utc)  # 2026-03-16 00:00 in Beijing


# --------------------------------------------------------------------------- export

def test_excel_export_lists_rows_and_escapes_formulas(app, world, district, login_as):
    with district_session(app, world.d1):
        _school('=HYPERLINK("http://evil.example","点我")')
        db.session.commit()
    set_deadline(app, world, services.today_china() - timedelta(days=1))
    response = login_as("d1staff").get(f"/d/d1/plans/{YEAR}/tracking.xlsx")
    assert response.status_code == 200
    assert quote(f"{YEAR}年工会工作计划报送情况.xlsx") in response.headers["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("学校名称", "学校代码", "工会主席", "状态")
    by_name = {row[0]: row for row in rows[1:]}
    assert len(by_name) == 6
    assert by_name["一区甲小学"][3] == "已通过" and by_name["一区戊中学"][3] == "未提交"
    assert by_name["一区戊中学"][7] == "逾期"
    assert by_name["一区乙中学"][2] == "CHAIR1B" and by_name["一区乙中学"][4]
    evil = [name for name in by_name if "HYPERLINK" in name]
    assert evil == ['\'=HYPERLINK("http://evil.example","点我")']
    assert all(not str(cell).startswith(("=", "+", "-", "@")) for row in rows for cell in row if cell)


def test_excel_export_follows_the_filters(app, world, district, login_as):
    response = login_as("d1staff").get(f"/d/d1/plans/{YEAR}/tracking.xlsx?status=not_submitted")
    names = [row[0] for row in load_workbook(io.BytesIO(response.data)).active.iter_rows(min_row=2, values_only=True)]
    assert sorted(names) == ["一区丁小学", "一区戊中学"]


def test_excel_safe():
    assert services.excel_safe("=1+1") == "'=1+1"
    assert services.excel_safe("-2") == "'-2" and services.excel_safe("@x") == "'@x"
    assert services.excel_safe("+86") == "'+86" and services.excel_safe("正常") == "正常"
    assert services.excel_safe(3) == 3


# --------------------------------------------------------------------------- reminders & notifications

def test_reminders_go_to_chairs_of_schools_that_have_not_filed(app, world, district, login_as):
    set_deadline(app, world, datetime(2026, 3, 15).date())
    staff = login_as("d1staff")
    response = post(staff, f"/d/d1/plans/{YEAR}/remind", follow_redirects=True)
    assert "已向 2 位工会主席发送站内提醒（未提交学校 2 所）" in response.get_data(as_text=True)
    with district_session(app, world.d1):
        notes = db.session.scalars(select(Notification)).all()
        chairs = {n.user_id: n for n in notes}
        assert len(notes) == 2
        assert {n.school_id for n in notes} == {district["d"], district["e"]}
        assert "请于 2026 年 3 月 15 日前" in notes[0].text
        assert world.users["chair1a"] not in chairs and world.users["chair1b"] not in chairs
        # No e-mail without an SMTP server.
        assert db.session.scalar(select(JobRun).where(JobRun.kind == "plan_reminder_mail")) is None
    again = post(staff, f"/d/d1/plans/{YEAR}/remind", follow_redirects=True).get_data(as_text=True)
    assert "已向 0 位工会主席发送站内提醒" in again and "2 位已有未读提醒" in again
    assert post(login_as("chair1a"), f"/d/d1/plans/{YEAR}/remind").status_code == 403


def test_chair_reads_notifications(app, world, district, login_as):
    post(login_as("d1staff"), f"/d/d1/plans/{YEAR}/remind")
    chair = app.test_client()
    login(chair, "chair1d")
    home = chair.get(f"/d/d1/s/{district['d']}/").get_data(as_text=True)
    assert re.search(r'id="unread-count">1<', home)
    page = chair.get("/d/d1/notifications/").get_data(as_text=True)
    assert "一区丁小学尚未提交 2026 年度工会工作计划" in page
    with district_session(app, world.d1):
        note = db.session.scalar(select(Notification).where(Notification.school_id == district["d"]))
        other = db.session.scalar(select(Notification).where(Notification.school_id == district["e"]))
        note_id, other_id = note.id, other.id
    response = post(chair, f"/d/d1/notifications/{note_id}/read")
    assert response.status_code == 302 and response.location.endswith(f"/d/d1/s/{district['d']}/plans/{YEAR}")
    assert 'id="unread-count"' not in chair.get("/d/d1/notifications/").get_data(as_text=True)
    # Another user's notification: 404, and it stays unread.
    assert post(chair, f"/d/d1/notifications/{other_id}/read").status_code == 404
    assert post(login_as("d1staff"), f"/d/d1/notifications/{other_id}/read").status_code == 404
    with district_session(app, world.d1):
        assert db.session.get(Notification, (world.d1, other_id)).read_at is None
    other_chair = app.test_client()
    login(other_chair, "chair1e")
    assert "1 条通知标为已读" in post(other_chair, "/d/d1/notifications/read-all",
                                      follow_redirects=True).get_data(as_text=True)


class FakeSMTP:
    sent: list = []

    def __init__(self, host, port, timeout=None):
        self.host = host

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def send_message(self, message):
        FakeSMTP.sent.append((message["To"], message["Subject"], message.get_content()))


def test_reminder_mail_is_sent_by_a_job_when_smtp_is_configured(app, world, district, login_as, monkeypatch):
    from app.plans import notify

    monkeypatch.setattr(notify.smtplib, "SMTP", FakeSMTP)
    FakeSMTP.sent = []
    app.config["MAIL_SERVER"] = "smtp.example.cn"
    post(login_as("d1staff"), f"/d/d1/plans/{YEAR}/remind")
    assert FakeSMTP.sent == []  # nothing is sent in the request
    with district_session(app, world.d1):
        run = db.session.scalar(select(JobRun).where(JobRun.kind == "plan_reminder_mail"))
        assert run.queue == "mail" and len(run.args["notification_ids"]) == 2
        key = (run.district_id, run.id)
    with app.app_context():
        assert jobs.execute(*key) == DONE
    with district_session(app, world.d1):
        assert db.session.get(JobRun, key).result == {"sent": 1, "skipped": 1, "failed": 0}
    assert [(to, subject) for to, subject, _ in FakeSMTP.sent] == [("chair1d@example.cn", "工作计划报送提醒")]
    assert "一区丁小学" in FakeSMTP.sent[0][2]


# --------------------------------------------------------------------------- query count

def _count_queries(app, client, url) -> int:
    statements = []

    def count(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = client.get(url)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    return len(statements)


def _add_schools(app, world, start, count):
    states = ["draft", "submitted", "returned", "approved", None]
    with district_session(app, world.d1):
        for n in range(start, start + count):
            school = _school(f"测试学校{n:03d}")
            _chair_for(school, f"chair{n:03d}")
            if states[n % 5]:
                _plan(world, school, states[n % 5])
        db.session.commit()


def test_tracking_page_runs_a_constant_number_of_queries(app, world, login_as):
    app.config["PAGE_SIZE"] = 100  # every school on one page
    set_deadline(app, world, services.today_china() - timedelta(days=1))
    client = login_as("d1staff")
    _add_schools(app, world, 0, 8)  # 10 schools in the district
    client.get(TRACKING)  # warm up
    small = _count_queries(app, client, TRACKING)
    assert len(rows_of(client.get(TRACKING).get_data(as_text=True))) == 10
    _add_schools(app, world, 8, 57)  # 67 schools
    large = _count_queries(app, client, TRACKING)
    assert len(rows_of(client.get(TRACKING).get_data(as_text=True))) == 67
    assert small == large, (small, large)
    assert _count_queries(app, client, TRACKING + "?late=1&status=not_submitted&q=测试") == small
