"""Rules of activity records and the completion rate, without HTTP."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.activities import services
from app.activities.models import ActivityRecord
from app.extensions import db
from tenants.models import School
from tenants.scope import Scope, tenant_scope
from tests.activities.helpers import add_record, make_plan

SLOTS = [([3], "三八节女教职工活动", "women"), ([5], "教职工趣味运动会", "culture_sports"),
         ([7, 8], "暑期走访慰问困难教职工", "care"), ([12], "年度工作总结", "self_building")]


@pytest.fixture
def ctx(app, world):
    """An app context in the chair's scope: school s1a only."""
    with app.app_context():
        with tenant_scope(Scope.school(world.d1, {world.s1a})):
            yield db.session.get(School, (world.d1, world.s1a))
        db.session.remove()


def _data(**kw):
    data = {"held_on": date(2026, 3, 8), "title": "三八节趣味活动", "category": "women", "participants": 40,
            "description": "全体女教职工参加", "scheduled_activity_id": None}
    data.update(kw)
    return data


def test_create_without_a_link(app, world, ctx):
    record, stored = services.save_record(ctx, _data(title="  三八节   趣味活动 "), user_id=world.users["chair1a"])
    db.session.commit()
    assert stored == []
    assert (record.school_id, record.district_id, record.year) == (world.s1a, world.d1, 2026)
    assert record.title == "三八节 趣味活动" and record.scheduled_activity_id is None
    assert record.created_by == world.users["chair1a"]


def test_create_with_a_link_and_update(app, world):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    with app.app_context(), tenant_scope(Scope.school(world.d1, {world.s1a})):
        school = db.session.get(School, (world.d1, world.s1a))
        assert [label for _, label in services.scheduled_choices(world.s1a, 2026)] == [
            "【三月】三八节女教职工活动", "【五月】教职工趣味运动会", "【七、八月】暑期走访慰问困难教职工", "【十二月】年度工作总结"]
        record, _ = services.save_record(school, _data(scheduled_activity_id=ids[0]))
        db.session.commit()
        assert record.scheduled_activity_id == ids[0]
        services.save_record(school, _data(held_on=date(2026, 8, 2), title="暑期慰问", category="care",
                                           scheduled_activity_id=ids[2]), record=record)
        db.session.commit()
        again = db.session.get(ActivityRecord, (world.d1, record.id))
        assert (again.title, again.scheduled_activity_id, again.held_on) == ("暑期慰问", ids[2], date(2026, 8, 2))


@pytest.mark.parametrize("scope_kind", ["school", "district"])
def test_a_link_to_another_schools_activity_is_refused(app, world, scope_kind):
    other = make_plan(app, world.d1, world.s1b, 2026, [([3], "乙中学的三八节活动")])
    with app.app_context():
        # Even in the wider district scope (where the ORM filter shows s1b's rows), the link is refused.
        scope = Scope.school(world.d1, {world.s1a}) if scope_kind == "school" else Scope.district(world.d1)
        with tenant_scope(scope):
            school = db.session.get(School, (world.d1, world.s1a))
            with pytest.raises(services.ActivityError) as exc:
                services.save_record(school, _data(scheduled_activity_id=other[0]))
            assert exc.value.field == "scheduled_activity_id"
            assert "不属于本校 2026 年的工作计划" in str(exc.value)
            db.session.rollback()
            assert db.session.scalars(select(ActivityRecord)).all() == []


def test_a_link_to_another_years_plan_is_refused(app, world, ctx):
    ids = make_plan(app, world.d1, world.s1a, 2025, [([3], "去年的活动")])
    with pytest.raises(services.ActivityError, match="不属于本校 2026 年"):
        services.save_record(ctx, _data(scheduled_activity_id=ids[0]))
    record, _ = services.save_record(ctx, _data(held_on=date(2025, 3, 9), scheduled_activity_id=ids[0]))
    assert record.year == 2025


@pytest.mark.parametrize("change,field,message", [
    ({"held_on": None}, "held_on", "请填写活动日期"),
    ({"title": "   "}, "title", "请填写活动名称"),
    ({"title": "长" * 201}, "title", "不能超过 200 个字"),
    ({"category": "party"}, "category", "请选择活动类别"),
    ({"participants": -1}, "participants", "0 到 100000"),
    ({"participants": True}, "participants", "0 到 100000"),
    ({"description": "字" * 10001}, "description", "不能超过 10000 个字"),
    ({"scheduled_activity_id": 999999}, "scheduled_activity_id", "不属于本校"),
])
def test_invalid_input_is_refused_in_chinese(app, world, ctx, change, field, message):
    with pytest.raises(services.ActivityError) as exc:
        services.save_record(ctx, _data(**change))
    assert exc.value.field == field and message in str(exc.value)


def test_a_record_of_another_school_cannot_be_updated_or_found(app, world):
    other = add_record(app, world.d1, world.s1b, date(2026, 4, 1), "乙中学的活动")
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        s1a = db.session.get(School, (world.d1, world.s1a))
        rec = db.session.get(ActivityRecord, (world.d1, other))
        assert services.record_for(s1a, other) is None
        with pytest.raises(services.ActivityError):
            services.save_record(s1a, _data(), record=rec)


def test_completion_counts_planned_activities_with_at_least_one_record(app, world):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节", ids[0])
    add_record(app, world.d1, world.s1a, date(2026, 7, 10), "七月走访", ids[2])
    add_record(app, world.d1, world.s1a, date(2026, 8, 20), "八月走访", ids[2])  # the same slot twice
    add_record(app, world.d1, world.s1a, date(2026, 6, 1), "计划外的六一活动")
    add_record(app, world.d1, world.s1a, date(2025, 6, 1), "去年的活动")
    with app.app_context(), tenant_scope(Scope.school(world.d1, {world.s1a})):
        c = services.completion_for_school(world.s1a, 2026)
        assert (c.planned, c.done, c.records, c.plan_status) == (4, 2, 4, "approved")
        assert c.rate == 0.5 and services.format_rate(c.rate) == "50%"


def test_completion_with_nothing_planned_is_none(app, world):
    make_plan(app, world.d1, world.s1b, 2026, [])
    add_record(app, world.d1, world.s1b, date(2026, 3, 1), "无计划的活动")
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        empty = services.completion_for_school(world.s1b, 2026)
        assert (empty.planned, empty.done, empty.records, empty.rate) == (0, 0, 1, None)
        assert services.format_rate(empty.rate) == "—"
        none = services.completion_for_school(world.s1a, 2026)
        assert (none.plan_status, none.plan_status_label, none.rate) == ("none", "未填写", None)


def test_district_completion_for_every_school(app, world):
    a = make_plan(app, world.d1, world.s1a, 2026, SLOTS[:3])
    b = make_plan(app, world.d1, world.s1b, 2026, SLOTS, status="submitted")
    add_record(app, world.d1, world.s1a, date(2026, 3, 8), "甲", a[0])
    for sid in b:
        add_record(app, world.d1, world.s1b, date(2026, 12, 1), "乙", sid)
    make_plan(app, world.d2, world.s2a, 2026, SLOTS)  # another district: never counted
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        rows = {r.school_name: r for r in services.district_completion(2026)}
        assert set(rows) == {"一区甲小学", "一区乙中学"}
        assert (rows["一区甲小学"].planned, rows["一区甲小学"].done) == (3, 1)
        assert services.format_rate(rows["一区甲小学"].rate) == "33.3%"
        assert (rows["一区乙中学"].planned, rows["一区乙中学"].done, rows["一区乙中学"].rate) == (4, 4, 1.0)
        assert rows["一区乙中学"].plan_status_label == "已提交"
        assert [r.school_name for r in services.sort_completion(list(rows.values()), "rate", True)] == [
            "一区乙中学", "一区甲小学"]
        assert services.district_completion(2027)[0].rate is None


def test_sorting_puts_unknown_rates_last():
    rows = [services.Completion(1, "甲", planned=2, done=1), services.Completion(2, "乙"),
            services.Completion(3, "丙", planned=4, done=4), services.Completion(4, "丁", planned=4, done=0)]
    assert [r.school_name for r in services.sort_completion(rows, "rate", True)] == ["丙", "甲", "丁", "乙"]
    assert [r.school_name for r in services.sort_completion(rows, "rate", False)] == ["丁", "甲", "丙", "乙"]


def test_month_labels():
    assert services.slot_label([7, 8]) == "七、八月"
    assert services.slot_label([12, 11]) == "十一、十二月"
    assert services.slot_label([2]) == "二月"
    assert services.slot_label([]) == "未定月份"
    assert services.format_rate(2 / 3) == "66.7%" and services.format_rate(0) == "0%"


def test_calendar_shows_a_multi_month_slot_in_both_months(app, world):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    add_record(app, world.d1, world.s1a, date(2026, 8, 20), "八月走访", ids[2])
    add_record(app, world.d1, world.s1a, date(2026, 6, 1), "计划外的六一活动")
    with app.app_context(), tenant_scope(Scope.school(world.d1, {world.s1a})):
        cal = services.calendar(world.s1a, 2026)
        months = {m.month: m for m in cal["months"]}
        assert len(months) == 12
        assert [p.activity.title for p in months[7].planned] == ["暑期走访慰问困难教职工"]
        assert [p.activity.title for p in months[8].planned] == ["暑期走访慰问困难教职工"]
        assert months[7].planned[0].done and months[8].planned[0].done
        assert not months[3].planned[0].done
        assert [r.title for r in months[8].records] == ["八月走访"] and months[7].records == []
        assert [r.title for r in months[6].records] == ["计划外的六一活动"]
        assert (cal["completion"].planned, cal["completion"].done) == (4, 1)


def test_detaching_keeps_records_when_planned_activities_are_deleted(app, world):
    """The composite FK's ON DELETE SET NULL would null district_id too: plan code detaches first."""
    from app.plans.models import ScheduledActivity

    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS[:1])
    record_id = add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节", ids[0])
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        assert services.detach_from_scheduled(ids) == 1
        db.session.delete(db.session.get(ScheduledActivity, (world.d1, ids[0])))
        db.session.commit()
        assert db.session.get(ActivityRecord, (world.d1, record_id)).scheduled_activity_id is None


def test_formula_cells_are_escaped():
    assert services.safe_cell("=HYPERLINK(\"http://x\")") == "'=HYPERLINK(\"http://x\")"
    assert [services.safe_cell(v) for v in ("+1", "-1", "@SUM(A1)", "一区甲小学", 3)] == [
        "'+1", "'-1", "'@SUM(A1)", "一区甲小学", 3]


def test_completion_figures_in_one_statement_match_the_rules(app, world):
    """The one-statement figures (issue 7): a planned activity is done with a linked record of its
    own school of any year, counted once; the records are the year's; other years' plans, inactive
    schools and other districts stay out; district and per-school figures agree."""
    from sqlalchemy import event

    from tenants import provisioning
    from tenants.models import District

    a = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    b = make_plan(app, world.d1, world.s1b, 2026, SLOTS[:2])
    old = make_plan(app, world.d1, world.s1b, 2025, SLOTS)
    add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节", a[0])
    add_record(app, world.d1, world.s1a, date(2026, 3, 9), "三八节（二）", a[0])  # the same activity again
    add_record(app, world.d1, world.s1a, date(2025, 12, 30), "提前的运动会", a[1])  # linked, another year
    add_record(app, world.d1, world.s1b, date(2026, 7, 1), "乙记在甲的计划上", a[2])  # another school's activity
    add_record(app, world.d1, world.s1b, date(2025, 3, 8), "去年", old[0])
    add_record(app, world.d1, world.s1b, date(2026, 5, 1), "计划外")
    make_plan(app, world.d2, world.s2a, 2026, SLOTS)
    add_record(app, world.d2, world.s2a, date(2026, 3, 8), "二区", None)
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            closed = provisioning.add_school(db.session.get(District, world.d1), "一区停办学校", "other")
            closed_id = closed.id
            db.session.flush()
            closed.active = False
            db.session.commit()
        db.session.remove()
    make_plan(app, world.d1, closed_id, 2026, SLOTS)
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        statements = []
        listener = lambda *args: statements.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", listener)
        try:
            rows = services.district_completion(2026)
        finally:
            event.remove(db.engine, "before_cursor_execute", listener)
        assert len([s for s in statements if "set_config" not in s]) == 1  # PostgreSQL: + the RLS settings
        got = {r.school_name: (r.plan_status, r.planned, r.done, r.records) for r in rows}
        assert got == {"一区甲小学": ("approved", 4, 2, 2), "一区乙中学": ("approved", 2, 0, 2)}
        assert [r.school_name for r in rows] == sorted(got)
        for r in rows:
            assert services.completion_for_school(r.school_id, 2026) == services.Completion(
                r.school_id, "", r.plan_status, r.planned, r.done, r.records)
        last_year = {r.school_name: (r.plan_status, r.planned, r.done, r.records)
                     for r in services.district_completion(2025)}
        assert last_year == {"一区甲小学": ("none", 0, 0, 1), "一区乙中学": ("approved", 4, 1, 1)}
        assert services.completion_for_school(closed_id, 2026).planned == 4  # a school's own page still counts
    with app.app_context(), tenant_scope(Scope.school(world.d1, {world.s1b})):
        assert [(r.school_name, r.planned, r.records) for r in services.district_completion(2026)] == [
            ("一区乙中学", 2, 2)]
