"""The application state machine: draft → submitted → returned → submitted → under_assessment,
every allowed and refused transition; deadline and grace; eligibility (ladder and thresholds);
snapshots and the dossier job."""
from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from app.jobs.models import JobRun
from app.rounds import services
from app.rounds.models import Application, ApplicationComment, ApplicationSnapshot, Round, SelfScore, SnapshotFrozen
from app.rounds.services import ApplicationError
from app.titles.models import Title
from tenants.models import School
from tests.rounds.conftest import full_entries, in_district, in_school, open_round

CHAIR = ("school_chair",)
EDITOR = ("school_editor",)
IN_TIME = date(2026, 5, 10)


def _app(world, round_id, school_id) -> Application:
    return db.session.scalar(select(Application).where(Application.round_id == round_id,
                                                       Application.school_id == school_id))


def _round(world, round_id) -> Round:
    return db.session.get(Round, (world.d1, round_id))


def _fill_and_submit(app, world, rubric, round_id, school_id=None, today=IN_TIME):
    school_id = school_id or world.s1a
    with in_school(app, world.d1, school_id):
        application = _app(world, round_id, school_id)
        services.save_self_scores(application, full_entries(rubric), today=today)
        snapshot = services.submit(application, user_id=world.users["chair1a"], roles=CHAIR, today=today)
        db.session.commit()
        return snapshot.id


# --- the happy path, step by step ----------------------------------------------------------------

def test_draft_submit_return_resubmit_assess(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        assert application.status == "draft"
        services.save_self_scores(application, full_entries(rubric), summary="本年度建家工作汇报", today=IN_TIME)
        snapshot = services.submit(application, user_id=world.users["chair1a"], roles=CHAIR, today=IN_TIME)
        db.session.commit()
        assert application.status == "submitted" and snapshot.number == 1 and not application.late
        assert application.first_submitted_at is not None and application.latest_snapshot_no == 1

    with in_district(app, world.d1):
        application = _app(world, round_id, world.s1a)
        assert services.return_application(application, comments=[(None, "请补充会议记录"),
                                                                  (rubric.ind["meetings"], "缺席次数与签到表不符")],
                                           user_id=world.users["d1admin"]) == 2
        db.session.commit()
        assert application.status == "returned"
        comments = db.session.scalars(select(ApplicationComment)).all()
        assert {c.snapshot_no for c in comments} == {1}

    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        services.save_self_scores(application, full_entries(rubric, meetings={"units": "2"}), today=IN_TIME)
        second = services.submit(application, user_id=world.users["chair1a"], roles=CHAIR, today=IN_TIME)
        db.session.commit()
        assert application.status == "submitted" and second.number == 2

    with in_district(app, world.d1):
        first, second = db.session.scalars(select(ApplicationSnapshot).order_by(ApplicationSnapshot.number)).all()
        meetings = rubric.ind["meetings"]
        assert next(s for s in first.content["scores"] if s["indicator_id"] == meetings)["units"] == 1
        assert next(s for s in second.content["scores"] if s["indicator_id"] == meetings)["units"] == 2
        services.start_assessing(_round(world, round_id), today=date(2026, 7, 10))
        db.session.commit()
        assert _app(world, round_id, world.s1a).status == "under_assessment"
        assert _app(world, round_id, world.s1b).status == "draft"  # never submitted: not assessed


def test_snapshot_content_and_queued_dossier_job(app, world, rubric):
    round_id = open_round(app, world, rubric)
    snapshot_id = _fill_and_submit(app, world, rubric, round_id)
    with in_district(app, world.d1):
        snapshot = db.session.get(ApplicationSnapshot, (world.d1, snapshot_id))
        content = snapshot.content
        # 组织健全 4 + 参加会议 (4 − 1) + 无违纪 2 = 9; 入会率 96% → 4, 计划按时: no plan → 0, 完成率: no plan → 0
        assert content["total"] == "13.00"
        assert content["categories"][0]["subtotal"] == "9.00" and content["categories"][1]["subtotal"] == "4.00"
        by_id = {s["indicator_id"]: s for s in content["scores"]}
        assert by_id[rubric.ind["membership"]]["provided"] and by_id[rubric.ind["membership"]]["rate"] == "96.00"
        assert by_id[rubric.ind["meetings"]]["computed_points"] == "3.00"
        assert content["round"]["name"] == "2026年度学校工会工作考评" and content["school"]["name"] == "一区甲小学"
        assert content["must_pass_failed"] == [] and content["vetoed"] == []
        run = db.session.get(JobRun, (world.d1, snapshot.dossier_run_id))
        assert run.kind == "application_dossier" and run.status == "pending"
        assert run.dedupe_key == f"application-dossier-{snapshot.id}" and run.school_id == world.s1a
        assert run.args["snapshot_id"] == snapshot.id


def test_the_dossier_job_records_snapshot_statistics(app, world, rubric):
    from app.jobs import services as jobs

    round_id = open_round(app, world, rubric)
    snapshot_id = _fill_and_submit(app, world, rubric, round_id)
    with app.app_context():
        from tenants.scope import Scope, tenant_scope

        with tenant_scope(Scope.district(world.d1)):
            run_id = db.session.get(ApplicationSnapshot, (world.d1, snapshot_id)).dossier_run_id
        assert jobs.execute(world.d1, run_id) == "done"
        assert jobs.execute(world.d1, run_id) == "skipped"  # idempotent: claimed once
        with tenant_scope(Scope.district(world.d1)):
            run = db.session.get(JobRun, (world.d1, run_id))
            assert run.result["number"] == 1 and run.result["indicators"] == 7 and run.result["total"] == "13.00"
            assert run.result["evidence_files"] == 0
        db.session.remove()


def test_snapshots_are_immutable(app, world, rubric):
    round_id = open_round(app, world, rubric)
    snapshot_id = _fill_and_submit(app, world, rubric, round_id)
    with in_district(app, world.d1):
        snapshot = db.session.get(ApplicationSnapshot, (world.d1, snapshot_id))
        snapshot.content = {**snapshot.content, "total": "100.00"}
        with pytest.raises(SnapshotFrozen):
            db.session.flush()
        db.session.rollback()
        snapshot = db.session.get(ApplicationSnapshot, (world.d1, snapshot_id))
        snapshot.dossier_run_id = 999
        with pytest.raises(SnapshotFrozen):
            db.session.flush()
        db.session.rollback()
        db.session.delete(db.session.get(ApplicationSnapshot, (world.d1, snapshot_id)))
        with pytest.raises(SnapshotFrozen):
            db.session.flush()
        db.session.rollback()
        assert db.session.get(ApplicationSnapshot, (world.d1, snapshot_id)).content["total"] == "13.00"


def test_editing_after_submit_does_not_touch_the_snapshot(app, world, rubric):
    round_id = open_round(app, world, rubric)
    snapshot_id = _fill_and_submit(app, world, rubric, round_id)
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        with pytest.raises(ApplicationError, match="已提交"):
            services.save_self_scores(application, full_entries(rubric, org={"points": "1", "passed": "1"}), today=IN_TIME)
    with in_district(app, world.d1):
        application = _app(world, round_id, world.s1a)
        services.return_application(application, comments=[(None, "请修改")])
        db.session.commit()
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        services.save_self_scores(application, full_entries(rubric, org={"points": "1", "passed": "1"}), today=IN_TIME)
        db.session.commit()
        snapshot = db.session.get(ApplicationSnapshot, (world.d1, snapshot_id))
        org = next(s for s in snapshot.content["scores"] if s["indicator_id"] == rubric.ind["org"])
        assert org["points"] == "4.00"


# --- refused transitions ------------------------------------------------------------------------------

def test_an_editor_cannot_submit(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a, roles=EDITOR):
        application = _app(world, round_id, world.s1a)
        services.save_self_scores(application, full_entries(rubric), today=IN_TIME)  # editors may fill in
        with pytest.raises(ApplicationError, match="只有学校工会主席可以提交"):
            services.submit(application, user_id=world.users["editor1a"], roles=EDITOR, today=IN_TIME)
        assert application.status == "draft"


def test_submit_with_missing_indicators_is_refused(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        entries = full_entries(rubric)
        del entries[rubric.ind["meetings"]]
        entries[rubric.ind["org"]] = {"points": "4"}  # must-pass answer missing
        services.save_self_scores(application, entries, today=IN_TIME)
        with pytest.raises(ApplicationError) as info:
            services.submit(application, user_id=1, roles=CHAIR, today=IN_TIME)
        assert "尚未填写完整" in str(info.value) and "参加培训及会议" in str(info.value) and "组织健全" in str(info.value)
        assert "获奖加分" not in str(info.value)  # bonus items are optional
        assert "入会率" not in str(info.value)    # 上级提供 items are the system's
        assert application.status == "draft" and application.latest_snapshot_no == 0


@pytest.mark.parametrize("key, entry, text", [
    ("org", {"points": "5", "passed": "1"}, "0 到 4"),
    ("org", {"points": "-1", "passed": "1"}, "0 到 4"),
    ("org", {"points": "abc"}, "请填写数字"),
    ("org", {"points": "3.333"}, "两位小数"),
    ("meetings", {"units": "-2"}, "不能为负数"),
    ("meetings", {"units": "1.5"}, "整数"),
    ("prize", {"points": "6"}, "0 到 5"),
    ("membership", {"rate": "100"}, "上级提供"),
    ("on_time", {"points": "3"}, "上级提供"),
    ("org", {"points": "4", "note": "长" * 1001}, "1000"),
])
def test_inputs_out_of_bounds_are_refused_and_nothing_is_written(app, world, rubric, key, entry, text):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        entries = full_entries(rubric)
        entries[rubric.ind[key]] = entry
        with pytest.raises(ApplicationError) as info:
            services.save_self_scores(application, entries, today=IN_TIME)
        assert text in info.value.errors[rubric.ind[key]]
        db.session.rollback()
        own = db.session.scalars(select(SelfScore).where(SelfScore.provided.is_(False))).all()
        assert own == []


def test_unknown_indicator_is_refused(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        with pytest.raises(ApplicationError, match="不属于本轮次"):
            services.save_self_scores(_app(world, round_id, world.s1a), {99999: {"points": "1"}}, today=IN_TIME)


def test_deadline_and_grace_days(app, world, rubric):
    round_id = open_round(app, world, rubric)  # 2026-03-01 … 2026-06-30, 3 grace days
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        with pytest.raises(ApplicationError, match="将于 2026-03-01 开始"):
            services.save_self_scores(application, full_entries(rubric), today=date(2026, 2, 28))
        services.save_self_scores(application, full_entries(rubric), today=date(2026, 7, 3))  # in grace: may still edit
        with pytest.raises(ApplicationError, match="已于 2026-06-30 截止（宽限期至 2026-07-03）"):
            services.submit(application, user_id=1, roles=CHAIR, today=date(2026, 7, 4))
        with pytest.raises(ApplicationError, match="截止"):
            services.save_self_scores(application, full_entries(rubric), today=date(2026, 7, 4))
        services.submit(application, user_id=1, roles=CHAIR, today=date(2026, 7, 2))
        db.session.commit()
        assert application.late is True and application.status == "submitted"
    with in_school(app, world.d1, world.s1b):
        application = _app(world, round_id, world.s1b)
        services.save_self_scores(application, full_entries(rubric), today=date(2026, 6, 30))
        snapshot = services.submit(application, user_id=1, roles=CHAIR, today=date(2026, 6, 30))  # the last day
        db.session.commit()
        assert application.late is False and snapshot.content["late"] is False


def test_no_grace_means_nothing_after_the_deadline(app, world, rubric):
    round_id = open_round(app, world, rubric, grace_days=0)
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        services.save_self_scores(application, full_entries(rubric), today=date(2026, 6, 30))
        with pytest.raises(ApplicationError) as info:
            services.submit(application, user_id=1, roles=CHAIR, today=date(2026, 7, 1))
        assert "宽限期" not in str(info.value) and "截止" in str(info.value)


@pytest.mark.parametrize("status", ["draft", "returned", "under_assessment"])
def test_the_district_can_only_return_a_submitted_application(app, world, rubric, status):
    round_id = open_round(app, world, rubric)
    with in_district(app, world.d1):
        application = _app(world, round_id, world.s1a)
        application.status = status
        with pytest.raises(ApplicationError, match="只能退回已提交的申报"):
            services.return_application(application, comments=[(None, "请修改")])


def test_return_needs_a_comment_and_an_open_round(app, world, rubric):
    round_id = open_round(app, world, rubric)
    _fill_and_submit(app, world, rubric, round_id)
    with in_district(app, world.d1):
        application = _app(world, round_id, world.s1a)
        with pytest.raises(ApplicationError, match="请填写修改意见"):
            services.return_application(application, comments=[(None, "  ")])
        with pytest.raises(ApplicationError, match="不属于本轮次"):
            services.return_application(application, comments=[(424242, "意见")])
        _round(world, round_id).status = "assessing"
        application.status = "submitted"
        with pytest.raises(ApplicationError, match="评审中"):
            services.return_application(application, comments=[(None, "请修改")])


@pytest.mark.parametrize("status", ["submitted", "under_assessment", "scored", "final"])
def test_submit_is_refused_unless_draft_or_returned(app, world, rubric, status):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        services.save_self_scores(application, full_entries(rubric), today=IN_TIME)
        application.status = status
        with pytest.raises(ApplicationError, match="不能提交"):
            services.submit(application, user_id=1, roles=CHAIR, today=IN_TIME)


def test_submit_is_refused_once_the_round_is_assessing(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_district(app, world.d1):
        _round(world, round_id).status = "assessing"
        db.session.commit()
    with in_school(app, world.d1, world.s1a):
        application = _app(world, round_id, world.s1a)
        with pytest.raises(ApplicationError, match="不在申报阶段"):
            services.submit(application, user_id=1, roles=CHAIR, today=IN_TIME)


# --- title rounds: applying, the ladder and thresholds --------------------------------------------------

def _title(world, school_id, tier, status="awarded", home_kind="staff_home"):
    db.session.add(Title(district_id=world.d1, school_id=school_id, tier=tier, awarded_on=date(2024, 1, 1),
                         status=status, home_kind=home_kind))


def test_title_ladder(app, world, rubric):
    round_id = open_round(app, world, rubric, kind="title", eligibility={"requires_tier": "qualified"})
    with in_school(app, world.d1, world.s1a):
        round_ = _round(world, round_id)
        school = db.session.get(School, (world.d1, world.s1a))
        with pytest.raises(ApplicationError, match="须已获得「合格职工之家」称号"):
            services.apply(round_, school, today=IN_TIME)
        _title(world, world.s1a, "qualified", status="revoked")  # a revoked title does not count
        _title(world, world.s1a, "qualified", home_kind="group_home")  # nor a title of another kind
        db.session.flush()
        with pytest.raises(ApplicationError, match="称号阶梯"):
            services.apply(round_, school, today=IN_TIME)
        _title(world, world.s1a, "qualified", status="kept")
        db.session.flush()
        application = services.apply(round_, school, today=IN_TIME)
        db.session.commit()
        assert application.status == "draft" and not application.entered_automatically
        with pytest.raises(ApplicationError, match="已申报"):
            services.apply(round_, school, today=IN_TIME)
    with in_school(app, world.d1, world.s1b):
        _title(world, world.s1b, "advanced")
        db.session.flush()
        round_ = _round(world, round_id)
        with pytest.raises(ApplicationError, match="不能重复申报"):
            services.apply(round_, db.session.get(School, (world.d1, world.s1b)), today=IN_TIME)


def test_membership_threshold(app, world, rubric):
    round_id = open_round(app, world, rubric, kind="title", eligibility={"min_membership_rate": 90})
    with in_school(app, world.d1, world.s1a):  # 48 / 50 = 96 %
        services.apply(_round(world, round_id), db.session.get(School, (world.d1, world.s1a)), today=IN_TIME)
        db.session.commit()
    with in_school(app, world.d1, world.s1b):  # 70 / 80 = 87.5 %
        with pytest.raises(ApplicationError, match=r"入会率须不低于 90%，本校为 87.50%"):
            services.apply(_round(world, round_id), db.session.get(School, (world.d1, world.s1b)), today=IN_TIME)


def test_eligibility_is_checked_again_at_submit(app, world, rubric):
    round_id = open_round(app, world, rubric, kind="title", eligibility={"min_membership_rate": 90})
    with in_school(app, world.d1, world.s1a):
        application = services.apply(_round(world, round_id), db.session.get(School, (world.d1, world.s1a)),
                                     today=IN_TIME)
        services.save_self_scores(application, full_entries(rubric), today=IN_TIME)
        db.session.get(School, (world.d1, world.s1a)).member_count = 40  # 80 %
        with pytest.raises(ApplicationError, match="本校为 80.00%"):
            services.submit(application, user_id=1, roles=CHAIR, today=IN_TIME)


def test_plan_thresholds(app, world, rubric):
    from tests.rounds.test_provided import make_plan

    round_id = open_round(app, world, rubric, kind="title",
                          eligibility={"min_plan_completion_rate": 50, "requires_plan_approved": True})
    with in_school(app, world.d1, world.s1a):
        round_ = _round(world, round_id)
        school = db.session.get(School, (world.d1, world.s1a))
        problems = services.eligibility_problems(round_, school)
        assert any("年度计划完成率须不低于 50%" in p for p in problems)
        assert any("须已通过审核" in p for p in problems)
        make_plan(world, world.s1a, planned=4, done=2, status="approved")
        assert services.eligibility_problems(round_, school) == []


def test_annual_and_re_review_rounds_take_no_applications(app, world, rubric):
    round_id = open_round(app, world, rubric)
    with in_school(app, world.d1, world.s1a):
        with pytest.raises(ApplicationError, match="统一列入"):
            services.apply(_round(world, round_id), db.session.get(School, (world.d1, world.s1a)), today=IN_TIME)


def test_applying_outside_the_window_is_refused(app, world, rubric):
    round_id = open_round(app, world, rubric, kind="title")
    with in_school(app, world.d1, world.s1a):
        with pytest.raises(ApplicationError, match="截止"):
            services.apply(_round(world, round_id), db.session.get(School, (world.d1, world.s1a)),
                           today=date(2026, 8, 1))
