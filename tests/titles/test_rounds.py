"""Titles and rounds: confer_from_round (title rounds confer, 复查 keeps / conditions / revokes,
年度考评 confers nothing, idempotent), the 复查 round's entries, the ladder in eligibility."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.rounds.models import Application
from app.titles import services
from app.titles.models import Title, TitleEvent
from app.titles.services import TitleError
from tests.titles.conftest import TODAY, in_district, make_application, make_round, make_title


def test_a_title_round_confers_district_titles_once(app, world):
    with in_district(app, world.d1):
        round_ = make_round(world, kind="title", home_kind="group_home", name="2026年度先进职工小家评选")
        a = make_application(world, round_, world.s1a)
        b = make_application(world, round_, world.s1b)
        outcome = services.confer_from_round(round_, {a.id: "advanced", b.id: None}, awarded_on=TODAY,
                                             actor_id=world.users["d1admin"])
        db.session.commit()
        title = outcome.conferred[a.id]
        assert (title.school_id, title.tier, title.level, title.home_kind, title.round_id, title.awarded_on,
                title.status, title.review_due_on) == (world.s1a, "advanced", "district", "group_home", round_.id,
                                                       TODAY, "awarded", date(2027, 3, 10))
        assert outcome.skipped == {b.id: "未授予称号"}
        (entry,) = services.history(title)
        assert entry.round_id == round_.id and "2026年度先进职工小家评选" in entry.reason
        again = services.confer_from_round(round_, {str(a.id): "advanced", b.id: ""}, awarded_on=TODAY)
        db.session.commit()
        assert again.conferred == {} and again.skipped[a.id] == "本轮次已授予"
        assert db.session.scalar(select(func.count()).select_from(Title)) == 1
        assert services.holds_tier(world.s1a, "advanced", "group_home")


def test_the_annual_review_confers_nothing(app, world):
    with in_district(app, world.d1):
        round_ = make_round(world, kind="annual_review")
        a = make_application(world, round_, world.s1a)
        outcome = services.confer_from_round(round_, {a.id: "model"}, awarded_on=TODAY)
        assert outcome.conferred == {} and db.session.scalar(select(func.count()).select_from(Title)) == 0


def test_confer_refuses_an_unfinished_round_and_foreign_applications(app, world):
    with in_district(app, world.d1):
        round_ = make_round(world, status="publicised")
        a = make_application(world, round_, world.s1a)
        with pytest.raises(TitleError, match="尚未命名"):
            services.confer_from_round(round_, {a.id: "advanced"})
        final = make_round(world, name="另一轮次")
        with pytest.raises(TitleError, match="不属于本轮次"):
            services.confer_from_round(final, {a.id: "advanced"})
        b = make_application(world, final, world.s1b)
        with pytest.raises(TitleError, match="未知的称号等级"):
            services.confer_from_round(final, {b.id: "gold"})


def test_a_re_review_round_keeps_conditions_and_revokes(app, world):
    from tenants import provisioning
    from tenants.models import District

    with in_district(app, world.d1):
        district = db.session.get(District, world.d1)
        s1c = provisioning.add_school(district, "一区丙小学", "primary").id
        s1d = provisioning.add_school(district, "一区丁中学", "junior").id
        s1e = provisioning.add_school(district, "一区戊中学", "junior").id
        round_ = make_round(world, kind="re_review", name="2026年度职工之家复查")
        titles = {
            "tier_kept": make_title(world, world.s1a, tier="advanced", status="due"),
            "tier_lower": make_title(world, world.s1b, tier="model", status="due"),
            "none": make_title(world, s1c, tier="qualified", status="due"),
            "conditional": make_title(world, s1d, tier="advanced", status="due"),
            "explicit": make_title(world, s1e, tier="qualified", status="awarded"),
        }
        apps = {key: make_application(world, round_, t.school_id, t.id) for key, t in titles.items()}
        decisions = {apps["tier_kept"].id: "model", apps["tier_lower"].id: "advanced", apps["none"].id: None,
                     apps["conditional"].id: {"outcome": "conditional", "reason": "职工书屋未开放",
                                              "deadline": "2026-09-30"},
                     apps["explicit"].id: "kept"}
        outcome = services.confer_from_round(round_, decisions, awarded_on=TODAY, actor_id=world.users["d1admin"])
        db.session.commit()
        assert set(outcome.kept) == {apps["tier_kept"].id, apps["explicit"].id}
        assert set(outcome.revoked) == {apps["tier_lower"].id, apps["none"].id}
        assert set(outcome.conditional) == {apps["conditional"].id} and outcome.conferred == {}
        status = {k: t.status for k, t in titles.items()}
        assert status == {"tier_kept": "kept", "tier_lower": "revoked", "none": "revoked",
                          "conditional": "conditional", "explicit": "kept"}
        assert titles["tier_kept"].review_due_on == date(2027, 3, 10)
        assert titles["conditional"].review_due_on == date(2026, 9, 30)
        revoked = services.history(titles["tier_lower"])[-1]
        assert revoked.round_id == round_.id and "仅达到「先进」标准，不再保留「模范」称号" in revoked.reason
        assert "未达到标准" in services.history(titles["none"])[-1].reason
        assert services.history(titles["conditional"])[-1].reason == "职工书屋未开放"
        # Idempotent: a second run changes nothing and writes no history.
        count = db.session.scalar(select(func.count()).select_from(TitleEvent))
        again = services.confer_from_round(round_, decisions, awarded_on=TODAY)
        db.session.commit()
        assert set(again.skipped) == set(decisions) and not (again.kept or again.revoked or again.conditional)
        assert db.session.scalar(select(func.count()).select_from(TitleEvent)) == count
        assert not services.holds_tier(world.s1b, "model") and services.holds_tier(world.s1b, "qualified") is False


def test_a_re_review_outcome_does_not_override_a_later_decision_by_hand(app, world):
    with in_district(app, world.d1):
        round_ = make_round(world, kind="re_review")
        title = make_title(world, status="due")
        application = make_application(world, round_, world.s1a, title.id)
        services.revoke(title, reason="发生重大违纪，先行摘牌", today=date(2026, 3, 1))
        no_title = make_application(world, round_, world.s1b)
        outcome = services.confer_from_round(round_, {application.id: "kept", no_title.id: "kept"}, awarded_on=TODAY)
        assert outcome.skipped == {application.id: "称号当前为「已摘牌」，未按本轮次结论处理",
                                   no_title.id: "没有待复查的称号"}
        assert title.status == "revoked"
        with pytest.raises(TitleError, match="未知的复查结论"):
            services.confer_from_round(round_, {application.id: {"outcome": "restored"}})


def test_re_review_titles_are_those_due_by_the_end_of_the_year(app, world):
    from tenants import provisioning
    from tenants.models import District

    with in_district(app, world.d1):
        district = db.session.get(District, world.d1)
        s1c = provisioning.add_school(district, "一区丙小学", "primary").id
        s1d = provisioning.add_school(district, "一区丁中学", "junior").id
        make_title(world, world.s1a, tier="qualified", status="due")
        best = make_title(world, world.s1a, tier="advanced", status="awarded", review_due_on=date(2026, 11, 30))
        make_title(world, world.s1a, tier="model", status="awarded", review_due_on=date(2027, 1, 1))  # next year
        kept = make_title(world, world.s1b, tier="qualified", status="kept", review_due_on=date(2026, 12, 31))
        make_title(world, s1c, tier="model", status="conditional", review_due_on=date(2026, 6, 30))
        make_title(world, s1d, tier="model", status="revoked", review_due_on=None)
        make_title(world, s1d, tier="model", status="due", home_kind="group_home")
        chosen = services.re_review_titles("staff_home", 2026)
        assert chosen == {world.s1a: best, world.s1b: kept}


def test_opening_a_re_review_round_enters_the_due_titles(app, world):
    from app.rounds import services as rounds
    from tests.rounds.conftest import make_rubric, round_data

    with in_district(app, world.d1):
        due = make_title(world, world.s1a, tier="advanced", status="due")
        make_title(world, world.s1b, tier="model", status="awarded", review_due_on=date(2027, 3, 1))
        rubric = make_rubric(world.d1)
        round_ = rounds.create_round(round_data("re_review", rubric.rubric, name="2026年度复查"))
        db.session.commit()
        assert rounds.open_round(round_, today=date(2026, 3, 1)) == 1
        db.session.commit()
        (application,) = db.session.scalars(select(Application).where(Application.round_id == round_.id)).all()
        assert (application.school_id, application.title_id) == (world.s1a, due.id)


def test_the_application_pages_of_a_re_review_round_name_the_title(app, world, login_as):
    from app.rounds import services as rounds
    from tests.rounds.conftest import make_rubric, round_data

    with in_district(app, world.d1):
        make_title(world, world.s1a, tier="advanced", level="city", status="due", awarded_on=date(2024, 5, 1))
        rubric = make_rubric(world.d1)
        round_ = rounds.create_round(round_data("re_review", rubric.rubric, opens_on=date(2000, 1, 1),
                                                closes_on=date(2099, 12, 31), assessment_due_on=None, name="职工之家复查"))
        rounds.open_round(round_, today=date(2026, 3, 1))
        db.session.commit()
        round_id = round_.id
        application_id = db.session.scalar(select(Application.id).where(Application.round_id == round_id))
    page = login_as("chair1a").get(f"/d/d1/s/{world.s1a}/rounds/{round_id}/").get_data(as_text=True)
    assert "复查的称号：市级先进职工之家（2024-05-01 授予，待复查）" in page
    page = login_as("d1admin").get(f"/d/d1/rounds/{round_id}/applications/{application_id}").get_data(as_text=True)
    assert "复查的称号：市级先进职工之家" in page
