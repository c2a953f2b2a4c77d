"""Round set-up and the round state machine: draft → open → assessing, every allowed and
refused transition, set-up locking, automatic entry for 年度考评 and 复查."""
from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.rounds import services
from app.rounds.models import Application, Round
from app.rounds.services import RoundError
from app.rubrics.models import Rubric
from app.rubrics.scoring import rubric_problems
from tests.rounds.conftest import in_district, make_rubric, round_data


def test_the_test_rubric_adds_up(app, world, rubric):
    from app.rounds.services import rubric_parts

    with in_district(app, world.d1):
        parts = rubric_parts(rubric.rubric)
        categories, specs = parts.specs()
        assert rubric_problems(parts.rubric.total_points, categories, specs) == []


def test_a_valid_set_up_is_saved_as_a_draft(app, world, rubric):
    with in_district(app, world.d1):
        data = round_data("title", rubric.rubric, aggregation="trimmed_mean", panel_size=5,
                          eligibility={"requires_tier": "qualified", "min_membership_rate": 90},
                          quotas={"advanced": 3}, weights={"self": 20, "assessor": 60, "peer": 20})
        round_ = services.create_round(data)
        db.session.commit()
        assert round_.status == "draft"
        assert round_.eligibility == {"requires_tier": "qualified", "min_membership_rate": 90}
        assert round_.weights == {"self": 20, "assessor": 60, "peer": 20}
        assert round_.tie_break == ["gates_passed", "category:民主管理", "earlier_submission"]
        assert round_.aggregation == "trimmed_mean" and round_.panel_size == 5


@pytest.mark.parametrize("overrides, field, text", [
    ({"name": ""}, "name", "请填写轮次名称"),
    ({"kind": "party", "grade_bands": []}, "kind", "轮次类型"),
    ({"year": 1990}, "year", "2000 到 2100"),
    ({"weights": {"self": 30, "assessor": 80, "peer": 0}}, "weights", "之和应为 100%，现为 110%"),
    ({"weights": {"self": 20, "assessor": 80, "judge": 0}}, "weights", "未知的权重项"),
    ({"aggregation": "trimmed_mean", "panel_size": 4}, "aggregation", "至少 5 位评审"),
    ({"aggregation": "mode"}, "aggregation", "汇总方式"),
    ({"closes_on": date(2026, 2, 1)}, "closes_on", "不能早于开始日期"),
    ({"assessment_due_on": date(2026, 7, 2)}, "assessment_due_on", "含宽限期"),
    ({"grace_days": 45}, "grace_days", "0 到 30"),
    ({"publicity_working_days": 0}, "publicity_working_days", "1 到 30"),
    ({"grade_bands": [["excellent", 15], ["good", 16]]}, "grade_bands", "从高到低"),
    ({"grade_bands": [["excellent", 30]]}, "grade_bands.excellent", "0 到 20"),
    ({"grade_bands": [["great", 18]]}, "grade_bands", "优秀、良好、合格"),
    ({"eligibility": {"min_membership_rate": 90}}, "eligibility", "只有建家评选"),
    ({"tie_break": ["category:女工工作"]}, "tie_break", "不在所选考核细则中"),
    ({"tie_break": ["coin_flip"]}, "tie_break", "未知的同分排序规则"),
    ({"tie_break": ["self_total", "self_total"]}, "tie_break", "重复"),
    ({"quotas": {"model": 2}}, "quotas", "等次"),
])
def test_set_up_is_validated_with_chinese_errors(app, world, rubric, overrides, field, text):
    with in_district(app, world.d1):
        with pytest.raises(RoundError) as info:
            data = round_data("annual_review", rubric.rubric)
            data.update(overrides)
            services.create_round(data)
        assert field in info.value.errors, info.value.errors
        assert text in info.value.errors[field], info.value.errors


@pytest.mark.parametrize("overrides, field, text", [
    ({"target_tier": None}, "target_tier", "申报的称号等级"),
    ({"eligibility": {"requires_tier": "advanced"}}, "eligibility.requires_tier", "称号阶梯"),
    ({"eligibility": {"requires_tier": "gold"}}, "eligibility.requires_tier", "合格、先进或模范"),
    ({"eligibility": {"min_membership_rate": 120}}, "eligibility.min_membership_rate", "0 到 100"),
    ({"eligibility": {"favourite": True}}, "eligibility", "未知的申报条件"),
    ({"quotas": {"excellent": 2}}, "quotas", "称号等级"),
    ({"quotas": {"advanced": -1}}, "quotas.advanced", "0 到 1000"),
    ({"grade_bands": [["excellent", 90]]}, "grade_bands", "只有年度考评"),
])
def test_title_round_rules(app, world, rubric, overrides, field, text):
    with in_district(app, world.d1):
        with pytest.raises(RoundError) as info:
            services.create_round(round_data("title", rubric.rubric, **overrides))
        assert text in info.value.errors.get(field, ""), info.value.errors


def test_only_published_rubrics_of_the_district(app, world):
    with in_district(app, world.d1):
        draft = make_rubric(world.d1, published=False)
        with pytest.raises(RoundError) as info:
            services.create_round(round_data("annual_review", draft.rubric))
        assert "已发布" in info.value.errors["rubric_id"]
    with in_district(app, world.d2):
        foreign = make_rubric(world.d2)
        db.session.commit()
    with in_district(app, world.d1):
        with pytest.raises(RoundError) as info:
            services.create_round(round_data("annual_review", foreign.rubric))
        assert "rubric_id" in info.value.errors


def test_re_review_rounds_take_no_quotas_or_conditions(app, world, rubric):
    with in_district(app, world.d1):
        with pytest.raises(RoundError) as info:
            services.create_round(round_data("re_review", rubric.rubric, quotas={"model": 1}))
        assert "复查轮次不设名额" in info.value.errors["quotas"]


# --- state machine ---------------------------------------------------------------------------------

def _draft(app, world, rubric, kind="annual_review", **overrides) -> int:
    with in_district(app, world.d1):
        round_ = services.create_round(round_data(kind, rubric.rubric, **overrides))
        db.session.commit()
        return round_.id


def _get(world, round_id) -> Round:
    return db.session.get(Round, (world.d1, round_id))


def test_draft_to_open_to_assessing(app, world, rubric):
    round_id = _draft(app, world, rubric)
    with in_district(app, world.d1):
        round_ = _get(world, round_id)
        entered = services.open_round(round_, today=date(2026, 2, 20))
        db.session.commit()
        assert round_.status == "open" and round_.opened_at is not None and entered == 2
    with in_district(app, world.d1):
        round_ = _get(world, round_id)
        apps = db.session.scalars(select(Application).where(Application.round_id == round_id)).all()
        apps[0].status = "submitted"
        moved = services.start_assessing(round_, today=date(2026, 7, 4))  # after closes_on + 3 grace days
        db.session.commit()
        assert round_.status == "assessing" and moved == 1
        statuses = sorted(a.status for a in db.session.scalars(select(Application).where(Application.round_id == round_id)))
        assert statuses == ["draft", "under_assessment"]


@pytest.mark.parametrize("status, action, text", [
    ("draft", "assess", "不能开始评审"),
    ("open", "open", "不能开始申报"),
    ("assessing", "open", "不能开始申报"),
    ("assessing", "assess", "不能开始评审"),
    ("calibrating", "open", "不能开始申报"),
    ("final", "assess", "不能开始评审"),
])
def test_refused_round_transitions(app, world, rubric, status, action, text):
    round_id = _draft(app, world, rubric)
    with in_district(app, world.d1):
        round_ = _get(world, round_id)
        round_.status = status
        db.session.commit()
        with pytest.raises(RoundError, match=text):
            if action == "open":
                services.open_round(round_, today=date(2026, 3, 1))
            else:
                services.start_assessing(round_, today=date(2026, 12, 1))
        assert _get(world, round_id).status == status


def test_assessing_cannot_start_while_applications_are_still_due(app, world, rubric):
    round_id = _draft(app, world, rubric)
    with in_district(app, world.d1):
        round_ = _get(world, round_id)
        services.open_round(round_, today=date(2026, 3, 1))
        db.session.commit()
        with pytest.raises(RoundError, match="仍有 2 份申报未提交"):
            services.start_assessing(round_, today=date(2026, 7, 3))  # last grace day
        for application in db.session.scalars(select(Application)):
            application.status = "submitted"
        assert services.start_assessing(round_, today=date(2026, 4, 1)) == 2  # everyone is in: early start


def test_set_up_locks_when_the_round_opens(app, world, rubric):
    round_id = _draft(app, world, rubric)
    with in_district(app, world.d1):
        round_ = _get(world, round_id)
        services.update_round(round_, round_data("annual_review", rubric.rubric, name="改名后的考评"))
        assert round_.name == "改名后的考评"
        services.open_round(round_, today=date(2026, 3, 1))
        db.session.commit()
        with pytest.raises(RoundError, match="设置已锁定"):
            services.update_round(round_, round_data("annual_review", rubric.rubric, grace_days=10))
        db.session.rollback()
        assert _get(world, round_id).grace_days == 3


def test_opening_requires_a_published_rubric_dates_and_bands(app, world, rubric):
    with in_district(app, world.d1):
        no_rubric = services.create_round(round_data("annual_review", None, opens_on=None, closes_on=None,
                                                     assessment_due_on=None, grade_bands=[], tie_break=[]))
        db.session.flush()
        with pytest.raises(RoundError) as info:
            services.open_round(no_rubric, today=date(2026, 3, 1))
        errors = info.value.errors
        assert "须选定一份已发布的考核细则" in errors["rubric_id"]
        assert "申报开始和截止日期" in errors["closes_on"]
        assert "分数线" in errors["grade_bands"]
        assert no_rubric.status == "draft"

        unpublished = services.create_round(round_data("annual_review", rubric.rubric))
        db.session.flush()
        db.session.get(Rubric, (world.d1, rubric.rubric)).status = "draft"  # withdrawn after the set-up
        with pytest.raises(RoundError, match="尚未发布"):
            services.open_round(unpublished, today=date(2026, 3, 1))


def test_opening_after_the_last_day_is_refused(app, world, rubric):
    round_id = _draft(app, world, rubric)
    with in_district(app, world.d1):
        with pytest.raises(RoundError, match="已过"):
            services.open_round(_get(world, round_id), today=date(2026, 7, 4))
        assert services.open_round(_get(world, round_id), today=date(2026, 7, 3)) == 2  # last grace day


def test_annual_review_enters_every_active_school(app, world, rubric):
    from tenants import provisioning
    from tenants.models import District

    with in_district(app, world.d1):
        district = db.session.get(District, world.d1)
        closed = provisioning.add_school(district, "一区已撤并小学", "primary")
        closed.active = False
        db.session.commit()
    round_id = _draft(app, world, rubric)
    with in_district(app, world.d1):
        round_ = _get(world, round_id)
        assert services.open_round(round_, today=date(2026, 3, 1)) == 2
        db.session.commit()
        apps = db.session.scalars(select(Application).where(Application.round_id == round_id)).all()
        assert sorted(a.school_id for a in apps) == sorted([world.s1a, world.s1b])
        assert all(a.entered_automatically and a.status == "draft" for a in apps)
        assert services.enter_automatically(round_) == 0  # idempotent


def test_re_review_enters_every_holder_of_a_title_of_its_home_kind(app, world, rubric):
    from tenants import provisioning
    from tenants.models import District
    from app.titles.models import Title

    with in_district(app, world.d1):
        district = db.session.get(District, world.d1)
        s1c = provisioning.add_school(district, "一区丙小学", "primary").id
        s1d = provisioning.add_school(district, "一区丁中学", "junior").id
        db.session.add_all([
            Title(district_id=world.d1, school_id=world.s1a, tier="qualified", awarded_on=date(2020, 1, 1), status="awarded"),
            Title(district_id=world.d1, school_id=world.s1a, tier="advanced", awarded_on=date(2023, 1, 1), status="due"),
            Title(district_id=world.d1, school_id=world.s1b, tier="model", awarded_on=date(2022, 1, 1), status="revoked"),
            Title(district_id=world.d1, school_id=s1c, tier="model", awarded_on=date(2022, 1, 1), status="awarded",
                  home_kind="group_home"),
            Title(district_id=world.d1, school_id=s1d, tier="qualified", awarded_on=date(2024, 1, 1), status="kept"),
        ])
        db.session.commit()
    round_id = _draft(app, world, rubric, kind="re_review")
    with in_district(app, world.d1):
        round_ = _get(world, round_id)
        assert services.open_round(round_, today=date(2026, 3, 1)) == 1
        db.session.commit()
        (application,) = db.session.scalars(select(Application).where(Application.round_id == round_id)).all()
        assert application.school_id == world.s1a and application.entered_automatically
        title = db.session.get(Title, (world.d1, application.title_id))
        assert title.tier == "advanced"  # the highest title under re-review


def test_title_rounds_enter_nobody_automatically(app, world, rubric):
    round_id = _draft(app, world, rubric, kind="title")
    with in_district(app, world.d1):
        assert services.open_round(_get(world, round_id), today=date(2026, 3, 1)) == 0
