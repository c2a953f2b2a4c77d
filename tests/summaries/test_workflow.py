"""工作总结 state machine: every allowed and every refused transition, immutable versions,
figures computed from the plan and the activity records (never typed in), the dossier run
queued with the submission."""
from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs.models import JobRun
from app.summaries import services
from app.summaries.models import YearSummary, YearSummaryVersion
from app.summaries.services import SummaryError
from tests.compilation.helpers import submit_plan
from tests.plans.helpers import actor, district_session, school
from tests.summaries.helpers import YEAR, sections


def _summary(world, name="s1a"):
    return services.get_summary(getattr(world, name), YEAR)


def test_full_cycle_draft_submit_return_resubmit_accept(app, world):
    with district_session(app, world.d1):
        s = services.save_draft(school(world), YEAR, sections(), actor(world, "editor1a"))  # editor drafts
        assert s.status == "draft" and s.latest_version_no == 0
        v1 = services.submit(s, actor(world, "chair1a"))
        assert (s.status, v1.number, v1.decision) == ("submitted", 1, "submitted")
        assert v1.content["sections"]["achievements"].startswith("全年召开教代会")
        run = db.session.scalar(select(JobRun).where(JobRun.id == v1.dossier_run_id))
        assert run.kind == "summary_dossier" and run.args["version_id"] == v1.id and run.school_id == world.s1a
        services.return_summary(s, 1, actor(world, "d1staff"), "请补充女工工作情况")
        assert s.status == "returned" and v1.decision == "returned" and v1.decision_note == "请补充女工工作情况"
        assert services.returned_version(s).id == v1.id
        # returned: editable again, stays returned until resubmitted
        services.save_draft(school(world), YEAR, sections(highlights="女工委员会开展“巾帼建功”活动"),
                            actor(world, "chair1a"))
        assert s.status == "returned"
        v2 = services.submit(s, actor(world, "chair1a"))
        assert (s.status, v2.number) == ("submitted", 2)
        services.accept(s, 2, actor(world, "d1admin"), "已阅")
        assert s.status == "accepted" and s.accepted_version_id == v2.id and v2.decision == "accepted"
        assert s.first_submitted_at <= s.last_submitted_at and s.accepted_at is not None
        db.session.commit()
        assert [v.number for v in services.versions_of(s)] == [2, 1]


@pytest.mark.parametrize("who", ["editor1a", "d1staff", "d1admin"])
def test_only_the_chair_submits(app, world, who):
    with district_session(app, world.d1):
        s = services.save_draft(school(world), YEAR, sections(), actor(world, "chair1a"))
        with pytest.raises(SummaryError):
            services.submit(s, actor(world, who))
        assert s.status == "draft"


@pytest.mark.parametrize("who", ["chair1a", "editor1a", "d1assessor"])
def test_schools_and_assessors_cannot_accept_or_return(app, world, who):
    with district_session(app, world.d1):
        s = services.save_draft(school(world), YEAR, sections(), actor(world, "chair1a"))
        services.submit(s, actor(world, "chair1a"))
        with pytest.raises(SummaryError):
            services.accept(s, 1, actor(world, who))
        with pytest.raises(SummaryError):
            services.return_summary(s, 1, actor(world, who), "意见")
        assert s.status == "submitted"


def test_district_users_cannot_edit(app, world):
    with district_session(app, world.d1):
        with pytest.raises(SummaryError):
            services.save_draft(school(world), YEAR, sections(), actor(world, "d1staff"))


def test_refused_transitions(app, world):
    chair, staff = actor(world, "chair1a"), actor(world, "d1staff")
    with district_session(app, world.d1):
        # empty content cannot be submitted; achievements are required
        empty = services.save_draft(school(world), YEAR, {k: "" for k in sections()}, chair)
        with pytest.raises(SummaryError, match="内容为空"):
            services.submit(empty, chair)
        services.save_draft(school(world), YEAR, sections(achievements=""), chair)
        with pytest.raises(SummaryError, match="主要工作与成效"):
            services.submit(empty, chair)
        # a draft cannot be accepted or returned
        with pytest.raises(SummaryError, match="尚未提交"):
            services.accept(empty, 1, staff)
        with pytest.raises(SummaryError, match="尚未提交"):
            services.return_summary(empty, 1, staff, "意见")
        s = services.save_draft(school(world), YEAR, sections(), chair)
        services.submit(s, chair)
        # submitted: no second submit, no editing, the reviewer names the current version
        with pytest.raises(SummaryError, match="不能重复提交"):
            services.submit(s, chair)
        with pytest.raises(SummaryError, match="暂不能修改"):
            services.save_draft(school(world), YEAR, sections(), chair)
        with pytest.raises(SummaryError, match="不是最新"):
            services.accept(s, 7, staff)
        with pytest.raises(SummaryError, match="不是最新"):
            services.accept(s, None, staff)
        # returning needs a comment
        with pytest.raises(SummaryError, match="修改意见"):
            services.return_summary(s, 1, staff, "  ")
        services.return_summary(s, 1, staff, "请补充数据")
        # returned: cannot be accepted or returned again, nor resubmitted unchanged
        with pytest.raises(SummaryError, match="重新提交后"):
            services.accept(s, 1, staff)
        with pytest.raises(SummaryError, match="重新提交后"):
            services.return_summary(s, 1, staff, "再退")
        with pytest.raises(SummaryError, match="尚未修改"):
            services.submit(s, chair)
        services.save_draft(school(world), YEAR, sections(problems="经费使用需进一步规范。"), chair)
        services.submit(s, chair)
        services.accept(s, 2, staff)
        # accepted is final: no edit, no submit, no second decision
        with pytest.raises(SummaryError, match="阅收"):
            services.save_draft(school(world), YEAR, sections(), chair)
        with pytest.raises(SummaryError, match="阅收"):
            services.submit(s, chair)
        with pytest.raises(SummaryError, match="已阅收"):
            services.accept(s, 2, staff)
        with pytest.raises(SummaryError, match="已阅收"):
            services.return_summary(s, 2, staff, "意见")


def test_too_long_section_is_refused_with_its_field(app, world):
    with district_session(app, world.d1):
        with pytest.raises(SummaryError) as info:
            services.save_draft(school(world), YEAR, sections(highlights="长" * 20001), actor(world, "chair1a"))
        assert info.value.field == "highlights" and "特色亮点" in str(info.value)


def test_versions_are_immutable(app, world):
    with district_session(app, world.d1):
        s = services.save_draft(school(world), YEAR, sections(), actor(world, "chair1a"))
        v = services.submit(s, actor(world, "chair1a"))
        db.session.commit()
        v.content = {"sections": {"achievements": "改过"}}
        with pytest.raises(SummaryError):
            db.session.flush()
        db.session.rollback()


def test_figures_are_computed_from_the_plan_and_activity_records(app, world):
    """The plan has 4 planned activities; 2 are carried out (one twice) and one record is
    not linked to the plan: planned 4, done 2, records 4, rate 50%, plan status submitted."""
    from app.activities.models import ActivityRecord
    from app.plans.models import ScheduledActivity

    submit_plan(app, world, "s1a")
    with district_session(app, world.d1):
        planned = db.session.scalars(select(ScheduledActivity).order_by(ScheduledActivity.first_month,
                                                                        ScheduledActivity.id)).all()
        assert len(planned) == 4
        for activity in (planned[0], planned[0], planned[1]):
            db.session.add(ActivityRecord(school_id=world.s1a, year=YEAR, held_on=date(YEAR, 3, 8),
                                          title=activity.title, scheduled_activity_id=activity.id))
        db.session.add(ActivityRecord(school_id=world.s1a, year=YEAR, held_on=date(YEAR, 5, 4), title="计划外活动"))
        db.session.commit()
        s = services.save_draft(school(world), YEAR, sections(), actor(world, "chair1a"))
        v = services.submit(s, actor(world, "chair1a"))
        figures = v.content["figures"]
        assert figures == {"year": YEAR, "planned": 4, "done": 2, "records": 4, "completion_rate": 0.5,
                           "plan_status": "submitted", "plan_status_label": "已提交"}
        assert dict(services.figure_rows(figures))["计划完成率"] == "50%"
        db.session.commit()
    # s1b has no plan: nothing planned, rate "—"
    with district_session(app, world.d1):
        figures = services.compute_figures(world.s1b, YEAR)
        assert (figures["planned"], figures["done"], figures["completion_rate"], figures["plan_status"]) == \
            (0, 0, None, "none")
        assert dict(services.figure_rows(figures))["计划完成率"] == "—"


def test_the_figures_are_frozen_in_the_version(app, world):
    """Records added after the submission change the live figures, not the submitted version."""
    from app.activities.models import ActivityRecord
    from app.plans.models import ScheduledActivity

    submit_plan(app, world, "s1a")
    with district_session(app, world.d1):
        s = services.save_draft(school(world), YEAR, sections(), actor(world, "chair1a"))
        v = services.submit(s, actor(world, "chair1a"))
        db.session.commit()
        first = db.session.scalars(select(ScheduledActivity)).first()
        db.session.add(ActivityRecord(school_id=world.s1a, year=YEAR, held_on=date(YEAR, 3, 8), title="补记",
                                      scheduled_activity_id=first.id))
        db.session.commit()
        assert services.compute_figures(world.s1a, YEAR)["done"] == 1
        again = db.session.scalar(select(YearSummaryVersion).where(YearSummaryVersion.id == v.id))
        assert again.content["figures"]["done"] == 0


def test_district_list_statuses_and_filters(app, world):
    chair, staff = actor(world, "chair1a"), actor(world, "d1staff")
    with district_session(app, world.d1):
        rows = services.tracking_rows(YEAR)
        assert [(r.school.name, r.status) for r in rows] == [("一区乙中学", "not_submitted"),
                                                            ("一区甲小学", "not_submitted")] or \
            {r.status for r in rows} == {"not_submitted"}
        s = services.save_draft(school(world), YEAR, sections(), chair)
        assert {r.school.id: r.status for r in services.tracking_rows(YEAR)}[world.s1a] == "not_submitted"
        services.submit(s, chair)
        assert {r.school.id: r.status for r in services.tracking_rows(YEAR)}[world.s1a] == "submitted"
        services.return_summary(s, 1, staff, "请修改")
        assert [r.school.id for r in services.tracking_rows(YEAR, status="returned")] == [world.s1a]
        assert [r.school.id for r in services.tracking_rows(YEAR, q="乙")] == [world.s1b]
        counts = services.tracking_counts(YEAR)
        assert counts == {"not_submitted": 1, "submitted": 0, "returned": 1, "accepted": 0, "total": 2}
        # another year is separate
        assert services.tracking_counts(YEAR + 1)["not_submitted"] == 2
        assert db.session.scalar(select(YearSummary.id).where(YearSummary.year == YEAR + 1)) is None
