"""上级提供 indicators are filled from data the system holds (plans, activity records, the
school's counts) and are read-only for the school."""
from datetime import date, datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.extensions import db
from app.rounds import services
from app.rounds.models import Application, Round, SelfScore
from app.rounds.services import ApplicationError
from tenants.models import School
from tests.rounds.conftest import in_district, in_school, open_round


def make_plan(world, school_id, *, planned=4, done=3, status="submitted", first_submitted=date(2026, 2, 20),
              year=2026):
    """A real plan with ``planned`` scheduled activities, ``done`` of them carried out (the
    first one twice: a completion rate counts activities, not records)."""
    from app.activities.models import ActivityRecord
    from app.plans.models import ScheduledActivity, WorkPlan

    plan = WorkPlan(district_id=world.d1, school_id=school_id, year=year, status=status,
                    first_submitted_at=datetime(first_submitted.year, first_submitted.month, first_submitted.day, 2,
                                                tzinfo=timezone.utc) if first_submitted else None,
                    approved_version_id=1 if status == "approved" else None)
    db.session.add(plan)
    db.session.flush()
    activities = []
    for n in range(planned):
        activity = ScheduledActivity(district_id=world.d1, school_id=school_id, plan_id=plan.id, months=[n + 3],
                                     first_month=n + 3, position=n, title=f"第{n + 1}项活动")
        db.session.add(activity)
        activities.append(activity)
    db.session.flush()
    for n, activity in enumerate(activities[:done]):
        for repeat in range(2 if n == 0 else 1):
            db.session.add(ActivityRecord(district_id=world.d1, school_id=school_id, year=year,
                                          held_on=date(year, n + 3, 10 + repeat), title=f"开展{activity.title}",
                                          scheduled_activity_id=activity.id))
    db.session.add(ActivityRecord(district_id=world.d1, school_id=school_id, year=year, held_on=date(year, 9, 1),
                                  title="计划外活动"))  # unplanned: does not raise the rate
    db.session.flush()
    return plan


def _deadline(world, due_on):
    from app.plans.models import PlanDeadline

    db.session.add(PlanDeadline(district_id=world.d1, year=2026, due_on=due_on))
    db.session.flush()


def _values(world, round_id, school_id):
    round_ = db.session.get(Round, (world.d1, round_id))
    return services.provided_values(round_, db.session.get(School, (world.d1, school_id)))


def test_values_from_real_plan_and_activity_rows(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_district(app, world.d1):
        make_plan(world, world.s1a, planned=4, done=3)
        _deadline(world, date(2026, 2, 28))
        values = _values(world, round_id, world.s1a)
        assert values["plan_on_time"][0] is True and "2026-02-20" in values["plan_on_time"][1]
        assert values["plan_approved"][0] is False
        assert values["plan_completion_rate"][0] == Decimal("75.00")
        assert "计划活动 4 项，已有活动记录 3 项" in values["plan_completion_rate"][1]
        assert values["membership_rate"][0] == Decimal("96.00")  # 48 / 50


def test_late_plan_no_plan_no_deadline(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_district(app, world.d1):
        make_plan(world, world.s1a, first_submitted=date(2026, 3, 5), status="approved", planned=0, done=0)
        assert _values(world, round_id, world.s1a)["plan_on_time"][0] is None  # no deadline recorded: unknown
        _deadline(world, date(2026, 2, 28))
        values = _values(world, round_id, world.s1a)
        assert values["plan_on_time"][0] is False and "逾期" in values["plan_on_time"][1]
        assert values["plan_approved"][0] is True
        assert values["plan_completion_rate"][0] is None  # nothing scheduled: no rate
        nothing = _values(world, round_id, world.s1b)
        assert nothing["plan_on_time"][0] is False and nothing["plan_completion_rate"][0] == 0


def test_provided_indicators_are_filled_and_scored(app, world, rubric):
    with in_district(app, world.d1):
        make_plan(world, world.s1a, planned=4, done=3)
        _deadline(world, date(2026, 2, 28))
        db.session.commit()
    round_id = open_round(app, world, rubric)  # entry fills them
    with in_district(app, world.d1):
        application = db.session.scalar(select(Application).where(Application.school_id == world.s1a))
        rows = {s.indicator_id: s for s in db.session.scalars(select(SelfScore).where(
            SelfScore.application_id == application.id))}
        membership, on_time, completion = (rows[rubric.ind[k]] for k in ("membership", "on_time", "completion"))
        assert membership.provided and membership.rate == Decimal("96.00")
        assert on_time.points == Decimal("3.00") and on_time.passed is True
        assert completion.points == Decimal("2.25")  # 75 % of 3 points
        parts = services.rubric_parts(rubric.rubric)
        result = services.evaluate(parts, services.scores_of(application))
        assert result.indicators[rubric.ind["membership"]] == 4  # ≥ 90 % band
        assert result.categories[rubric.categories["民主管理"]]["subtotal"] == Decimal("9.25")


def test_provided_indicators_are_read_only_for_the_school(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        application = db.session.scalar(select(Application).where(Application.round_id == round_id))
        with pytest.raises(ApplicationError, match="由上级提供"):
            services.save_self_scores(application, {rubric.ind["membership"]: {"rate": "100"}},
                                      today=date(2026, 5, 1))


def test_values_refresh_when_the_data_changes(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        application = db.session.scalar(select(Application).where(Application.round_id == round_id))
        row = lambda: db.session.scalar(select(SelfScore).where(  # noqa: E731
            SelfScore.application_id == application.id, SelfScore.indicator_id == rubric.ind["completion"]))
        assert row().points == 0 and "未报送" in row().note
        make_plan(world, world.s1a, planned=2, done=2)
        services.save_self_scores(application, {}, summary="更新", today=date(2026, 5, 1))
        assert row().points == Decimal("3.00") and "完成率 100.00%" in row().note


def test_a_deduction_cannot_be_derived_from_a_rate(app, world):
    from app.rubrics.models import Indicator

    indicator = Indicator(kind="deduction", max_points=Decimal(4), deduction_per_unit=Decimal(1), title="x",
                          category_id=1)
    assert services.provided_inputs(indicator, Decimal(80)) == {"points": None, "units": None, "rate": None,
                                                                "passed": None}
    assert services.provided_inputs(indicator, True)["units"] == 0
