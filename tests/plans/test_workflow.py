"""The work plan state machine (service level): every allowed and every refused transition,
version immutability, the dossier job, editing after approval, draft saving and the diff."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.activities.models import ActivityRecord
from app.extensions import db
from app.jobs import services as jobs
from app.jobs.models import DONE, PENDING, JobRun
from app.plans import services
from app.plans.models import (APPROVED, DRAFT, RETURNED, SUBMITTED, PlanItem, PlanSection, PlanVersion,
                              ReviewComment, ScheduledActivity, WorkPlan)
from app.plans.services import PlanError
from tests.plans.helpers import actor, content, district_session, school

YEAR = 2026


@pytest.fixture
def ctx(app, world):
    with district_session(app, world.d1):
        yield world


def draft(world, data=None, who="chair1a"):
    return services.save_draft(school(world), YEAR, data or content(), actor(world, who))


def submitted(world):
    plan = draft(world)
    services.submit(plan, actor(world, "chair1a"))
    db.session.commit()
    return plan


def returned(world, comments=(("section:0", "请补充教代会的时间"),)):
    plan = submitted(world)
    services.return_plan(plan, plan.latest_version_no, list(comments), actor(world, "d1staff"))
    db.session.commit()
    return plan


def approved(world):
    plan = submitted(world)
    services.approve(plan, plan.latest_version_no, actor(world, "d1staff"))
    db.session.commit()
    return plan


def refused(fn, *args, match=None, **kwargs):
    with pytest.raises(PlanError, match=match) as info:
        fn(*args, **kwargs)
    db.session.rollback()
    return str(info.value)


# --------------------------------------------------------------------------- allowed transitions

def test_chair_and_editor_save_a_draft(ctx):
    for who in ("chair1a", "editor1a"):
        plan = draft(ctx, who=who)
        db.session.commit()
        assert plan.status == DRAFT and plan.latest_version_no == 0
    saved = services.plan_content(plan)
    assert [s["title"] for s in saved["sections"]] == ["加强民主管理", "关心教职工生活"]
    assert [slot["months"] for slot in saved["schedule"]] == [[3], [7, 8], [9]]
    assert len(saved["schedule"][0]["activities"]) == 2


def test_draft_to_submitted_freezes_version_and_queues_dossier(ctx):
    plan = draft(ctx)
    version = services.submit(plan, actor(ctx, "chair1a"))
    db.session.commit()
    assert plan.status == SUBMITTED and plan.latest_version_no == 1 == version.number
    assert plan.first_submitted_at is not None and plan.last_submitted_at == plan.first_submitted_at
    assert version.content["guiding_ideology"] == content()["guiding_ideology"]
    assert version.submitted_by == ctx.users["chair1a"]
    run = db.session.scalar(select(JobRun).where(JobRun.id == version.dossier_run_id))
    assert run.kind == "plan_dossier" and run.status == PENDING
    assert run.dedupe_key == f"plan-dossier-v{version.id}" and run.school_id == ctx.s1a
    assert run.args == {"plan_id": plan.id, "version_id": version.id}


def test_dossier_job_records_snapshot_stats_and_is_idempotent(app, world):
    with district_session(app, world.d1):
        plan = submitted(world)
        version = services.latest_version(plan)
        key = (world.d1, version.dossier_run_id)
    with app.app_context():
        assert jobs.execute(*key) == DONE
        assert jobs.execute(*key) == "skipped"
    with district_session(app, world.d1):
        run = db.session.get(JobRun, key)
        assert run.result["stats"] == {"sections": 2, "items": 3, "measures": 2, "slots": 3, "activities": 4,
                                       "unclassified": 0}
        assert run.result["number"] == 1


def test_submitted_to_returned_by_staff_with_comments(ctx):
    plan = submitted(ctx)
    version = services.return_plan(plan, 1, [("section:0", "请补充教代会的时间"), ("goals", "目标要具体"),
                                              ("measures", "  ")], actor(ctx, "d1staff"), note="请修改后重报")
    db.session.commit()
    assert plan.status == RETURNED and version.decision == RETURNED and version.decision_note == "请修改后重报"
    comments = services.comments_of(version)
    assert {a: [c.text for c in cs] for a, cs in comments.items()} == {
        "section:0": ["请补充教代会的时间"], "goals": ["目标要具体"]}
    shown_version, shown = services.open_comments(plan)
    assert shown_version.id == version.id and set(shown) == {"section:0", "goals"}


def test_district_admin_may_return_and_approve(ctx):
    plan = submitted(ctx)
    services.return_plan(plan, 1, [("schedule", "九月活动太少")], actor(ctx, "d1admin"))
    services.save_draft(school(ctx), YEAR, content(measures=["新增措施"]), actor(ctx, "chair1a"))
    services.submit(plan, actor(ctx, "chair1a"))
    services.approve(plan, 2, actor(ctx, "d1admin"))
    db.session.commit()
    assert plan.status == APPROVED


def test_editing_a_returned_plan_keeps_it_returned_until_resubmitted(ctx):
    plan = returned(ctx)
    services.save_draft(school(ctx), YEAR, content(goals="建设模范教工之家，教代会三月召开"), actor(ctx, "editor1a"))
    db.session.commit()
    assert plan.status == RETURNED and plan.has_unsubmitted_changes


def test_returned_to_resubmitted_to_approved(ctx):
    plan = returned(ctx)
    first = plan.first_submitted_at
    services.save_draft(school(ctx), YEAR, content(goals="教代会三月召开"), actor(ctx, "chair1a"))
    version = services.submit(plan, actor(ctx, "chair1a"))
    db.session.commit()
    assert plan.status == SUBMITTED and version.number == 2 and not plan.has_unsubmitted_changes
    assert plan.first_submitted_at == first and plan.last_submitted_at >= first
    assert version.dossier_run_id != services.version_by_number(plan, 1).dossier_run_id
    services.approve(plan, 2, actor(ctx, "d1staff"), note="同意")
    db.session.commit()
    assert plan.status == APPROVED and plan.approved_version_id == version.id
    assert version.decision == APPROVED and version.decided_by == ctx.users["d1staff"]
    assert services.version_by_number(plan, 1).decision == RETURNED


def test_editing_after_approval_starts_a_new_draft_and_keeps_the_approval(ctx):
    plan = approved(ctx)
    approved_id = plan.approved_version_id
    services.save_draft(school(ctx), YEAR, content(measures=["工会委员分工负责"]), actor(ctx, "editor1a"))
    db.session.commit()
    assert plan.status == DRAFT and plan.has_unsubmitted_changes and plan.approved_version_id == approved_id
    assert services.approved_version(plan).content["measures"] == ["工会委员分工负责", "每月召开工会例会"]
    version = services.submit(plan, actor(ctx, "chair1a"))
    db.session.commit()
    assert plan.status == SUBMITTED and plan.approved_version_id == approved_id and version.number == 2
    services.approve(plan, 2, actor(ctx, "d1staff"))
    db.session.commit()
    assert plan.approved_version_id == version.id


def test_saving_unchanged_content_after_approval_keeps_it_approved(ctx):
    plan = approved(ctx)
    services.save_draft(school(ctx), YEAR, services.plan_content(plan), actor(ctx, "chair1a"))
    db.session.commit()
    assert plan.status == APPROVED and not plan.has_unsubmitted_changes


def test_undoing_edits_after_approval_returns_to_approved(ctx):
    plan = approved(ctx)
    original = services.plan_content(plan)
    services.save_draft(school(ctx), YEAR, content(goals="改动"), actor(ctx, "chair1a"))
    assert plan.status == DRAFT
    services.save_draft(school(ctx), YEAR, original, actor(ctx, "chair1a"))
    db.session.commit()
    assert plan.status == APPROVED and not plan.has_unsubmitted_changes


# --------------------------------------------------------------------------- refused transitions

def test_editor_cannot_submit(ctx):
    plan = draft(ctx)
    assert "工会委员不能提交" in refused(services.submit, plan, actor(ctx, "editor1a"))
    assert plan.status == DRAFT and not db.session.scalars(select(PlanVersion)).all()


@pytest.mark.parametrize("who", ["d1staff", "d1admin", "d1assessor"])
def test_district_roles_cannot_submit(ctx, who):
    plan = draft(ctx)
    refused(services.submit, plan, actor(ctx, who), match="只有学校工会主席")


def test_cannot_submit_an_empty_plan(ctx):
    plan = draft(ctx, {"title": "空计划", "sections": [{"title": "主要工作", "items": []}]})
    db.session.commit()
    assert "计划内容为空" in refused(services.submit, plan, actor(ctx, "chair1a"))
    assert db.session.scalar(select(JobRun).where(JobRun.kind == "plan_dossier")) is None


def test_cannot_submit_twice(ctx):
    plan = submitted(ctx)
    refused(services.submit, plan, actor(ctx, "chair1a"), match="不能重复提交")
    assert plan.latest_version_no == 1


def test_cannot_submit_an_approved_plan_without_changes(ctx):
    plan = approved(ctx)
    refused(services.submit, plan, actor(ctx, "chair1a"), match="没有需要提交的修改")


def test_cannot_resubmit_a_returned_plan_without_changes(ctx):
    plan = returned(ctx)
    refused(services.submit, plan, actor(ctx, "chair1a"), match="尚未修改")
    assert plan.status == RETURNED


@pytest.mark.parametrize("who", ["chair1a", "editor1a", "d1assessor"])
def test_school_roles_and_assessors_cannot_review(ctx, who):
    plan = submitted(ctx)
    refused(services.approve, plan, 1, actor(ctx, who), match="只有区教育工会")
    refused(services.return_plan, plan, 1, [("goals", "意见")], actor(ctx, who), match="只有区教育工会")
    assert plan.status == SUBMITTED


def test_returned_plan_cannot_be_approved_without_resubmission(ctx):
    plan = returned(ctx)
    refused(services.approve, plan, 1, actor(ctx, "d1staff"), match="重新提交")
    services.save_draft(school(ctx), YEAR, content(goals="已按意见修改"), actor(ctx, "chair1a"))
    db.session.commit()
    refused(services.approve, plan, 1, actor(ctx, "d1staff"), match="重新提交")
    assert plan.status == RETURNED


def test_draft_cannot_be_reviewed(ctx):
    plan = draft(ctx)
    db.session.commit()
    refused(services.approve, plan, None, actor(ctx, "d1staff"), match="尚未提交")
    refused(services.return_plan, plan, None, [("goals", "x")], actor(ctx, "d1staff"), match="尚未提交")


def test_approved_plan_cannot_be_reviewed_again(ctx):
    plan = approved(ctx)
    refused(services.approve, plan, 1, actor(ctx, "d1staff"), match="已通过")
    refused(services.return_plan, plan, 1, [("goals", "x")], actor(ctx, "d1staff"), match="已通过")


def test_returned_plan_cannot_be_returned_again(ctx):
    plan = returned(ctx)
    refused(services.return_plan, plan, 1, [("goals", "x")], actor(ctx, "d1staff"), match="重新提交")


def test_draft_after_approval_cannot_be_reviewed(ctx):
    plan = approved(ctx)
    services.save_draft(school(ctx), YEAR, content(goals="新目标"), actor(ctx, "chair1a"))
    db.session.commit()
    refused(services.approve, plan, 1, actor(ctx, "d1staff"), match="尚未提交")


def test_return_needs_a_comment(ctx):
    plan = submitted(ctx)
    refused(services.return_plan, plan, 1, [("goals", "   ")], actor(ctx, "d1staff"), match="至少填写一条")
    assert plan.status == SUBMITTED


def test_return_refuses_an_unknown_part(ctx):
    plan = submitted(ctx)
    refused(services.return_plan, plan, 1, [("budget", "意见")], actor(ctx, "d1staff"), match="部分无效")


def test_review_must_name_the_latest_version(ctx):
    plan = returned(ctx)
    services.save_draft(school(ctx), YEAR, content(goals="改"), actor(ctx, "chair1a"))
    services.submit(plan, actor(ctx, "chair1a"))
    db.session.commit()
    for number in (None, 1, 3):
        refused(services.approve, plan, number, actor(ctx, "d1staff"), match="最新提交的版本")
    refused(services.return_plan, plan, 1, [("goals", "x")], actor(ctx, "d1staff"), match="最新提交的版本")


def test_submitted_plan_cannot_be_edited(ctx):
    submitted(ctx)
    refused(services.save_draft, school(ctx), YEAR, content(goals="偷偷修改"), actor(ctx, "chair1a"),
            match="暂不能修改")
    plan = services.get_plan(ctx.s1a, YEAR)
    assert services.plan_content(plan)["goals"] == content()["goals"]


@pytest.mark.parametrize("who", ["d1staff", "d1admin"])
def test_reviewers_cannot_edit_a_plan(ctx, who):
    refused(services.save_draft, school(ctx), YEAR, content(), actor(ctx, who), match="只有学校工会主席或工会委员")


def test_invalid_content_is_refused_in_chinese(ctx):
    bad = content(schedule=[{"months": [13], "activities": [{"title": "x"}]}])
    refused(services.save_draft, school(ctx), YEAR, bad, actor(ctx, "chair1a"), match="月份")
    bad = content(sections=[{"title": "", "items": [{"text": "有条目无标题"}]}])
    refused(services.save_draft, school(ctx), YEAR, bad, actor(ctx, "chair1a"), match="标题")
    bad = content(sections=[{"title": "x", "items": [{"text": "y", "category": "nope"}]}])
    refused(services.save_draft, school(ctx), YEAR, bad, actor(ctx, "chair1a"), match="类别")


# --------------------------------------------------------------------------- versions

def test_versions_are_immutable(ctx):
    plan = returned(ctx)
    v1 = services.version_by_number(plan, 1)
    frozen = dict(v1.content)
    services.save_draft(school(ctx), YEAR, content(guiding_ideology="全新的指导思想"), actor(ctx, "chair1a"))
    services.submit(plan, actor(ctx, "chair1a"))
    db.session.commit()
    db.session.expire_all()
    assert services.version_by_number(plan, 1).content == frozen
    assert services.version_by_number(plan, 2).content["guiding_ideology"] == "全新的指导思想"
    v1 = services.version_by_number(plan, 1)
    v1.content = {"guiding_ideology": "篡改"}
    with pytest.raises(PlanError, match="不可修改"):
        db.session.flush()
    db.session.rollback()
    v1 = services.version_by_number(plan, 1)
    v1.number = 9
    with pytest.raises(PlanError, match="不可修改"):
        db.session.flush()
    db.session.rollback()
    assert services.version_by_number(plan, 1).content == frozen


def test_snapshot_is_a_copy_of_the_draft(ctx):
    plan = submitted(ctx)
    version = services.latest_version(plan)
    live = services.plan_content(plan)
    live["goals"] = "changed in memory"
    assert version.content["goals"] != "changed in memory"


# --------------------------------------------------------------------------- saving drafts

def test_draft_keeps_scheduled_activity_ids_and_unlinks_removed_ones(ctx):
    from datetime import date

    plan = draft(ctx)
    db.session.commit()
    saved = services.plan_content(plan)
    keep_id = saved["schedule"][0]["activities"][0]["id"]
    teachers_day_id = saved["schedule"][2]["activities"][0]["id"]
    trip_id = saved["schedule"][1]["activities"][0]["id"]
    db.session.add_all([
        ActivityRecord(school_id=ctx.s1a, year=YEAR, held_on=date(2026, 3, 8), title="三八节活动",
                       scheduled_activity_id=keep_id),
        ActivityRecord(school_id=ctx.s1a, year=YEAR, held_on=date(2026, 9, 10), title="教师节",
                       scheduled_activity_id=teachers_day_id),
    ])
    db.session.commit()
    # Edit: rename the kept row (by id), drop September, re-add the trip without its id.
    edited = services.plan_content(plan)
    edited["schedule"][0]["activities"][0]["title"] = "三八节女教工趣味活动"
    edited["schedule"][1]["activities"][0]["id"] = None
    del edited["schedule"][2]
    services.save_draft(school(ctx), YEAR, edited, actor(ctx, "chair1a"))
    db.session.commit()
    rows = {a.id: a for a in db.session.scalars(select(ScheduledActivity))}
    assert rows[keep_id].title == "三八节女教工趣味活动"
    assert trip_id in rows  # matched by months and title
    assert teachers_day_id not in rows
    records = {r.title: r for r in db.session.scalars(select(ActivityRecord))}
    assert records["三八节活动"].scheduled_activity_id == keep_id
    assert records["教师节"].scheduled_activity_id is None and records["教师节"].district_id == ctx.d1


def test_draft_replaces_sections_and_items(ctx):
    draft(ctx)
    draft(ctx, content(sections=[{"title": "只有一部分", "items": [{"text": "一条"}]}]))
    db.session.commit()
    assert [s.title for s in db.session.scalars(select(PlanSection))] == ["只有一部分"]
    assert [(i.text, i.category) for i in db.session.scalars(select(PlanItem))] == [("一条", "other")]


def test_one_plan_per_school_and_year(ctx):
    draft(ctx)
    draft(ctx)
    services.save_draft(school(ctx, "s1b"), YEAR, content(), actor(ctx, "chair1b"))
    db.session.commit()
    assert db.session.scalar(select(db.func.count()).select_from(WorkPlan)) == 2


# --------------------------------------------------------------------------- diff

def test_diff_shows_added_and_removed_lines():
    old = content()
    new = content(measures=["工会委员分工负责", "每学期召开一次工会委员会"])
    diff = services.diff_lines(old, new)
    assert ("-", "【落实措施】每月召开工会例会") in diff
    assert ("+", "【落实措施】每学期召开一次工会委员会") in diff
    assert (" ", "【落实措施】工会委员分工负责") in diff
    assert all(op == " " for op, _ in services.diff_lines(old, old))


def test_collapsed_diff_keeps_changes_with_context():
    diff = [(" ", "a"), (" ", "b"), (" ", "c"), ("-", "d"), ("+", "D"), (" ", "e"), (" ", "f"), (" ", "g")]
    assert services.collapse_diff(diff) == [("…", "2 行未改动"), (" ", "c"), ("-", "d"), ("+", "D"), (" ", "e"),
                                            ("…", "2 行未改动")]
    assert services.collapse_diff([(" ", "a")]) == []


def test_diff_base_is_the_returned_version(ctx):
    plan = returned(ctx)
    services.save_draft(school(ctx), YEAR, content(goals="按意见修改后的目标"), actor(ctx, "chair1a"))
    v2 = services.submit(plan, actor(ctx, "chair1a"))
    db.session.commit()
    base = services.diff_base(plan, v2)
    assert base.number == 1
    changes = [(op, line) for op, line in services.diff_lines(base.content, v2.content) if op != " "]
    assert ("+", "【工作目标】按意见修改后的目标") in changes
    assert ("-", "【工作目标】建设模范教工之家") in changes
    assert services.diff_base(plan, services.version_by_number(plan, 1)) is None


def test_comments_are_kept_per_version(ctx):
    plan = returned(ctx)
    services.save_draft(school(ctx), YEAR, content(goals="改"), actor(ctx, "chair1a"))
    services.submit(plan, actor(ctx, "chair1a"))
    db.session.commit()
    assert services.open_comments(plan) == (None, {})
    assert db.session.scalar(select(db.func.count()).select_from(ReviewComment)) == 1
