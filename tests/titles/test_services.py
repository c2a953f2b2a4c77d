"""The Title state machine (every allowed and every refused transition), registration, due
dates with the district's cycle, mark_due, edits, history immutability, the ladder and 标兵."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from app.titles import services
from app.titles.models import TITLE_STATUSES, HistoryIsKept, Title, TitleEvent
from app.titles.services import OUTCOMES, TRANSITIONS, TitleError
from tests.titles.conftest import TODAY, in_district, make_title

ALLOWED = {  # (from status, outcome) → resulting status; everything else is refused
    ("awarded", "kept"): "kept", ("due", "kept"): "kept", ("kept", "kept"): "kept",
    ("awarded", "conditional"): "conditional", ("due", "conditional"): "conditional",
    ("kept", "conditional"): "conditional",
    ("awarded", "revoked"): "revoked", ("due", "revoked"): "revoked", ("kept", "revoked"): "revoked",
    ("conditional", "revoked"): "revoked",
    ("conditional", "restored"): "kept",
}
ALL_PAIRS = [(status, outcome) for status in TITLE_STATUSES for outcome in OUTCOMES]


def _events(title):
    return [e.event for e in services.history(title)]


def test_the_table_of_transitions_is_the_documented_one():
    derived = {(s, o): TRANSITIONS[o][1] for s, o in ALL_PAIRS if s in TRANSITIONS[o][0]}
    assert derived == ALLOWED


@pytest.mark.parametrize("status,outcome", [p for p in ALL_PAIRS if p in ALLOWED])
def test_every_allowed_outcome(app, world, status, outcome):
    with in_district(app, world.d1):
        title = make_title(world, status=status)
        deadline = date(2026, 9, 30) if outcome == "conditional" else None
        services.apply_outcome(title, outcome, reason="复查组意见", deadline=deadline, actor_id=world.users["d1admin"],
                               today=TODAY)
        db.session.commit()
        assert title.status == ALLOWED[(status, outcome)]
        last = services.history(title)[-1]
        assert (last.event, last.from_status, last.to_status) == (outcome, status, title.status)
        assert last.reason == "复查组意见" and last.actor_id == world.users["d1admin"] and last.effective_on == TODAY
        if outcome in ("kept", "restored"):
            assert title.review_due_on == date(2027, 3, 10)  # one cycle (default 1 year) after the decision
        elif outcome == "conditional":
            assert title.review_due_on == date(2026, 9, 30) and last.deadline == date(2026, 9, 30)
        else:
            assert title.review_due_on is None
        audit = db.session.scalar(select(AuditEvent).where(AuditEvent.action == f"title_{outcome}"))
        assert audit is not None and audit.details["to"] == title.status


@pytest.mark.parametrize("status,outcome", [p for p in ALL_PAIRS if p not in ALLOWED])
def test_every_refused_outcome(app, world, status, outcome):
    with in_district(app, world.d1):
        title = make_title(world, status=status, review_due_on=None if status == "revoked" else date(2026, 3, 1))
        with pytest.raises(TitleError, match=f"称号当前为「{TITLE_STATUSES[status]}」") as info:
            services.apply_outcome(title, outcome, reason="理由", deadline=date(2026, 9, 30), today=TODAY)
        assert info.value.errors == {"outcome": str(info.value)}
        assert title.status == status and _events(title) == ["awarded"]


@pytest.mark.parametrize("outcome,what", [("revoked", "摘牌须填写理由"), ("conditional", "限期整改（整改要求）须填写理由"),
                                          ("restored", "整改合格恢复须填写理由"), ("kept", "复查保留须填写理由")])
def test_outcomes_by_hand_need_a_reason(app, world, outcome, what):
    with in_district(app, world.d1):
        title = make_title(world, status="conditional" if outcome == "restored" else "due")
        with pytest.raises(TitleError, match=what) as info:
            services.apply_outcome(title, outcome, reason="  ", deadline=date(2026, 9, 30), today=TODAY)
        assert "reason" in info.value.errors


def test_conditional_needs_a_deadline_within_two_years(app, world):
    with in_district(app, world.d1):
        title = make_title(world, status="due")
        for deadline, message in ((None, "须设定整改期限"), (TODAY, "须晚于今天"), (date(2028, 12, 31), "不能超过两年")):
            with pytest.raises(TitleError, match=message) as info:
                services.make_conditional(title, reason="台账不全", deadline=deadline, today=TODAY)
            assert "deadline" in info.value.errors
        assert title.status == "due"


def test_unknown_outcome_is_refused(app, world):
    with in_district(app, world.d1):
        title = make_title(world, status="due")
        with pytest.raises(TitleError, match="请选择复查结论"):
            services.apply_outcome(title, "", reason="x", today=TODAY)
        with pytest.raises(TitleError, match="只能手工办理"):
            services.apply_outcome(make_title(world, status="conditional"), "restored", reason="x", round_id=1,
                                   today=TODAY)


def test_allowed_outcomes_follow_the_table(app, world):
    with in_district(app, world.d1):
        for status in TITLE_STATUSES:
            title = make_title(world, status=status)
            assert set(services.allowed_outcomes(title)) == {o for s, o in ALLOWED if s == status}


# --- registration and due dates -------------------------------------------------------------------

def _data(world, **changes):
    data = {"school_id": str(world.s1a), "tier": "advanced", "level": "city", "home_kind": "staff_home",
            "awarded_on": date(2025, 12, 28), "review_due_on": None, "note": "市总工会〔2025〕12号"}
    data.update(changes)
    return data


def test_register_checks_every_field_in_chinese(app, world):
    with in_district(app, world.d1):
        with pytest.raises(TitleError) as info:
            services.register({"school_id": "x", "tier": "gold", "level": "moon", "home_kind": "hut",
                               "awarded_on": None, "note": "x" * 2001}, today=TODAY)
        assert info.value.errors == {"school_id": "请选择学校", "tier": "等级只能是合格、先进或模范",
                                     "level": "级别只能是区级、市级、省级或全国", "home_kind": "类型只能是职工之家或职工小家",
                                     "awarded_on": "请填写授予日期", "note": "备注不能超过 2000 字"}
        for changes, key, message in (({"awarded_on": date(2026, 3, 11)}, "awarded_on", "不能晚于今天"),
                                      ({"awarded_on": date(1979, 12, 31)}, "awarded_on", "不能早于 1980 年"),
                                      ({"review_due_on": date(2025, 12, 28)}, "review_due_on", "须晚于授予日期"),
                                      ({"school_id": str(world.s2a)}, "school_id", "本区没有这所学校")):
            with pytest.raises(TitleError, match=message) as info:
                services.register(_data(world, **changes), today=TODAY)
            assert key in info.value.errors
        assert db.session.scalar(select(func.count()).select_from(Title)) == 0


def test_register_computes_the_due_date_from_the_cycle_and_refuses_duplicates(app, world):
    with in_district(app, world.d1):
        title = services.register(_data(world), actor_id=world.users["d1admin"], today=TODAY)
        db.session.commit()
        assert (title.status, title.level, title.review_due_on) == ("awarded", "city", date(2026, 12, 28))
        assert title.name == "市级先进职工之家"
        (entry,) = services.history(title)
        assert (entry.event, entry.to_status, entry.reason) == ("awarded", "awarded", "市总工会〔2025〕12号")
        assert entry.effective_on == date(2025, 12, 28)  # the day of the award, recorded on TODAY (entry.at)
        with pytest.raises(TitleError, match="已登记过"):
            services.register(_data(world), today=TODAY)
        services.set_cycle_years(3)
        other = services.register(_data(world, tier="model", awarded_on=date(2024, 2, 29)), today=TODAY)
        assert other.review_due_on == date(2027, 2, 28)  # 29 Feb + 3 years
        explicit = services.register(_data(world, tier="qualified", review_due_on=date(2026, 6, 30)), today=TODAY)
        assert explicit.review_due_on == date(2026, 6, 30)


def test_a_title_registered_past_its_due_date_is_due_at_once(app, world):
    with in_district(app, world.d1):
        title = services.register(_data(world, awarded_on=date(2023, 5, 1)), today=TODAY)
        assert title.status == "due" and title.review_due_on == date(2024, 5, 1)
        assert _events(title) == ["awarded", "marked_due"]


def test_cycle_setting(app, world):
    with in_district(app, world.d1):
        assert services.cycle_years() == services.DEFAULT_CYCLE_YEARS == 1
        for bad, message in (("abc", "须为整数"), (0, "1～10"), (11, "1～10"), (None, "须为整数")):
            with pytest.raises(TitleError, match=message):
                services.set_cycle_years(bad)
        services.set_cycle_years("2", actor_id=world.users["d1admin"])
        db.session.commit()
        assert services.cycle_years() == 2 and services.due_date(date(2026, 1, 5)) == date(2028, 1, 5)
        services.set_cycle_years(2)  # unchanged: no second audit entry
        db.session.commit()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                                 .where(AuditEvent.action == "title_cycle_changed")) == 1
    with in_district(app, world.d2):
        assert services.cycle_years() == 1  # each district has its own


def test_keep_uses_the_cycle_in_force_on_the_day(app, world):
    with in_district(app, world.d1):
        title = make_title(world, status="due")
        services.set_cycle_years(3)
        services.keep(title, reason="复查合格", today=TODAY)
        assert title.review_due_on == date(2029, 3, 10)


# --- mark_due -------------------------------------------------------------------------------------------

def test_mark_due(app, world):
    with in_district(app, world.d1):
        reached = make_title(world, status="awarded", review_due_on=TODAY)
        kept = make_title(world, status="kept", review_due_on=date(2026, 1, 1), tier="model")
        later = make_title(world, status="awarded", review_due_on=date(2026, 3, 11), tier="qualified")
        deadline_today = make_title(world, school_id=world.s1b, status="conditional", review_due_on=TODAY)
        deadline_past = make_title(world, school_id=world.s1b, status="conditional", review_due_on=date(2026, 3, 9),
                                   tier="model")
        revoked = make_title(world, school_id=world.s1b, status="revoked", review_due_on=None, tier="qualified")
        marked = services.mark_due(TODAY)
        db.session.commit()
        assert {t.id for t in marked} == {reached.id, kept.id, deadline_past.id}
        assert [t.status for t in (reached, kept, later, deadline_today, deadline_past, revoked)] == \
            ["due", "due", "awarded", "conditional", "due", "revoked"]
        entry = services.history(deadline_past)[-1]
        assert (entry.event, entry.from_status, entry.to_status) == ("marked_due", "conditional", "due")
        assert "整改期限 2026-03-09 已过" in entry.reason and entry.actor_id is None
        assert services.mark_due(TODAY) == []  # idempotent
        assert len(services.history(reached)) == 2


def test_mark_due_everywhere_and_the_cli(app, world):
    with in_district(app, world.d1):
        make_title(world, status="awarded", review_due_on=date(2026, 3, 1))
        db.session.commit()
    with in_district(app, world.d2):
        make_title(world, school_id=world.s2a, district_id=world.d2, review_due_on=date(2026, 3, 5))
        make_title(world, school_id=world.s2a, district_id=world.d2, review_due_on=date(2026, 4, 5), tier="model")
        db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["titles", "mark-due", "--district", "d1", "--today", "2026-03-10"])
    assert result.exit_code == 0, result.output
    assert "d1：1 个称号到期待复查" in result.output and "d2" not in result.output
    result = runner.invoke(args=["titles", "mark-due", "--today", "2026-03-10"])
    assert "d1：0 个" in result.output and "d2：1 个" in result.output and "合计 1 个" in result.output
    assert runner.invoke(args=["titles", "mark-due", "--today", "10/3"]).exit_code != 0
    assert "找不到" in runner.invoke(args=["titles", "mark-due", "--district", "nope"]).output
    with app.app_context():
        services._last_daily_run.clear()
        assert services.run_daily_if_new_day(date(2026, 4, 6)) == {"d1": 0, "d2": 1}
        assert services.run_daily_if_new_day(date(2026, 4, 6)) is None  # once a day
        db.session.remove()


def test_the_embedded_worker_runs_the_daily_mark_due(app, world):
    from worker.embedded import work

    with in_district(app, world.d1):
        title_id = make_title(world, status="kept", review_due_on=date(2020, 1, 1)).id
        db.session.commit()
    services._last_daily_run.clear()
    work(app, burst=True)
    with in_district(app, world.d1):
        assert db.session.get(Title, (world.d1, title_id)).status == "due"
    assert services._last_daily_run["mark_due"] == services.china_today()


# --- edits -------------------------------------------------------------------------------------------------

def test_edit_needs_a_reason_except_for_the_note_and_writes_the_changes(app, world):
    with in_district(app, world.d1):
        title = make_title(world, status="awarded", awarded_on=date(2025, 6, 1), review_due_on=date(2026, 6, 1))
        services.edit(title, {"note": "文号补录"}, today=TODAY)
        assert title.note == "文号补录" and services.history(title)[-1].changes == {"note": ["", "文号补录"]}
        with pytest.raises(TitleError, match="修改称号信息须填写理由"):
            services.edit(title, {"tier": "model"}, today=TODAY)
        services.edit(title, {"awarded_on": date(2025, 7, 1)}, reason="日期录错", today=TODAY)
        entry = services.history(title)[-1]
        assert entry.event == "edited" and entry.reason == "日期录错"
        assert entry.changes == {"awarded_on": ["2025-06-01", "2025-07-01"], "review_due_on": ["2026-06-01", "2026-07-01"]}
        assert title.review_due_on == date(2026, 7, 1)
        count = len(services.history(title))
        services.edit(title, {"tier": "advanced"}, reason="无变化", today=TODAY)  # nothing changed: no entry
        assert len(services.history(title)) == count
        with pytest.raises(TitleError, match="须晚于授予日期"):
            services.edit(title, {"review_due_on": date(2025, 1, 1)}, reason="x", today=TODAY)


def test_edit_refusals(app, world):
    with in_district(app, world.d1):
        conferred = make_title(world, round_id=99)
        with pytest.raises(TitleError, match="以轮次结果为准") as info:
            services.edit(conferred, {"tier": "model"}, reason="x", today=TODAY)
        assert "tier" in info.value.errors
        services.edit(conferred, {"note": "可以改备注"}, today=TODAY)
        revoked = make_title(world, status="revoked", review_due_on=None)
        with pytest.raises(TitleError, match="已摘牌的称号只能修改备注"):
            services.edit(revoked, {"level": "city"}, reason="x", today=TODAY)
        due = make_title(world, status="due")
        with pytest.raises(TitleError, match="请给出复查结论"):
            services.edit(due, {"review_due_on": date(2027, 1, 1)}, reason="x", today=TODAY)


def test_an_edit_that_moves_the_due_date_into_the_past_marks_due(app, world):
    with in_district(app, world.d1):
        title = make_title(world, status="awarded", review_due_on=date(2026, 12, 1))
        services.edit(title, {"review_due_on": date(2026, 3, 1)}, reason="按上级通知提前复查", today=TODAY)
        assert title.status == "due" and _events(title)[-2:] == ["edited", "marked_due"]


# --- history is kept ------------------------------------------------------------------------------------------

def test_history_cannot_be_changed_or_deleted_nor_a_title_deleted(app, world):
    with in_district(app, world.d1):
        title = make_title(world)
        db.session.commit()
        entry = services.history(title)[0]
        entry.reason = "改写历史"
        with pytest.raises(HistoryIsKept, match="不可修改"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(services.history(title)[0])
        with pytest.raises(HistoryIsKept, match="不可删除"):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(Title, (world.d1, title.id)))
        with pytest.raises(HistoryIsKept, match="摘牌"):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(TitleEvent)) == 1


def test_offboarding_still_removes_titles_and_their_history(app, world):
    from tenants.scope import system_scope

    with in_district(app, world.d1):
        title = make_title(world)
        services.revoke(title, reason="测试", today=TODAY)
        services.set_cycle_years(2)
        db.session.commit()
    with in_district(app, world.d2):
        make_title(world, school_id=world.s2a, district_id=world.d2)
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["tenants", "offboard", "d1", "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with system_scope("test: titles after offboarding"):
            for model in (Title, TitleEvent):
                rows = db.session.scalars(select(model.district_id)).all()
                assert rows == [world.d2]
            from app.titles.models import DistrictSetting

            assert db.session.scalar(select(func.count()).select_from(DistrictSetting)) == 0


# --- the ladder and 标兵 -------------------------------------------------------------------------------------

def test_holds_tier_is_the_ladder(app, world):
    with in_district(app, world.d1):
        assert services.highest_tier(world.s1a) is None and not services.holds_tier(world.s1a, "qualified")
        make_title(world, tier="model", status="revoked")
        make_title(world, tier="model", home_kind="group_home")
        make_title(world, tier="advanced", status="conditional")
        assert services.highest_tier(world.s1a) == "advanced"
        assert services.holds_tier(world.s1a, "qualified") and services.holds_tier(world.s1a, "advanced")
        assert not services.holds_tier(world.s1a, "model")
        assert services.holds_tier(world.s1a, "model", "group_home")


def test_exemplar_needs_three_unbroken_years_of_model(app, world):
    with in_district(app, world.d1):
        # s1a: 模范 since 2022-01-01, re-awarded 2024 (overlapping): unbroken.
        make_title(world, tier="model", awarded_on=date(2022, 1, 1), status="kept")
        make_title(world, tier="model", level="city", awarded_on=date(2024, 1, 1))
        # s1b: 模范 2020 revoked in 2022, new 模范 2023: the run starts in 2023.
        old = make_title(world, school_id=world.s1b, tier="model", awarded_on=date(2020, 1, 1))
        services.revoke(old, reason="复查未通过", today=date(2022, 6, 1))
        make_title(world, school_id=world.s1b, tier="model", awarded_on=date(2023, 1, 1))
        assert services.exemplars(today=date(2024, 12, 31)) == {}
        assert services.exemplars(today=date(2025, 1, 1)) == {world.s1a: date(2022, 1, 1)}
        assert services.exemplar_since(world.s1b, today=date(2026, 1, 1)) == date(2023, 1, 1)
        assert services.exemplar_since(world.s1b, "group_home", today=date(2026, 1, 1)) is None
        assert services.school_exemplars(world.s1a, today=date(2025, 1, 1)) == {"staff_home": date(2022, 1, 1),
                                                                                "group_home": None}
