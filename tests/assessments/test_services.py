"""Assessment services: the pool, conflicts of interest on every assignment path, balanced
random and panel assignment, score sheets (bounds, submit, reopen), veto/must-pass findings
(every transition, allowed and refused), the contract read by the results code, reminders."""
from datetime import date

import pytest
from sqlalchemy import func, select

from app.activities.models import Notification
from app.assessments import services
from app.assessments.models import AssessorConflict, AssessorScore, Assignment, Finding
from app.assessments.services import AssessmentError
from app.audit.models import AuditEvent
from app.audit.services import record
from app.extensions import db
from app.rounds.models import Application, Round
from tenants.models import Membership
from tests.assessments.conftest import add_to_pool, in_district, make_assessing

D = date


def _round(world, setup) -> Round:
    return db.session.get(Round, (world.d1, setup.round_id))


def _count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _sheet(world, setup, school="s1a", assessor_id=None) -> Assignment:
    stmt = select(Assignment).where(Assignment.application_id == setup.apps[school])
    if assessor_id:
        stmt = stmt.where(Assignment.assessor_id == assessor_id)
    return db.session.scalar(stmt)


def _entries(rubric, **changes):
    entries = {rubric.ind["org"]: {"points": "3", "comment": "组织健全"},
               rubric.ind["meetings"]: {"units": "1"},
               rubric.ind["discipline"]: {"points": "2"}}
    for key, value in changes.items():
        entries[rubric.ind[key]] = value
    return entries


def _actions():
    return [e.action for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]


# --- pool ---------------------------------------------------------------------------------------

def test_pool_add_grants_role_and_remove_revokes_it(app, world, rubric):
    ids = add_to_pool(app, world, "chair1b", "d1staff")
    with in_district(app, world.d1):
        roles = db.session.scalars(select(Membership.role).where(Membership.user_id == world.users["chair1b"])).all()
        assert sorted(roles) == ["assessor", "school_chair"]
        assert {a.user_id for a in services.pool()} == {world.users["chair1b"], world.users["d1staff"]}
        assert world.users["chair1b"] not in {u.id for u, _ in services.candidates()}
        with pytest.raises(AssessmentError, match="已在评审专家库"):
            services.add_assessor(world.users["chair1b"])
        with pytest.raises(AssessmentError, match="本区"):
            services.add_assessor(world.users["chair2a"])  # another district's user
        assessor = db.session.get(services.Assessor, (world.d1, ids["chair1b"]))
        services.remove_assessor(assessor)
        db.session.commit()
        roles = db.session.scalars(select(Membership.role).where(Membership.user_id == world.users["chair1b"])).all()
        assert roles == ["school_chair"]
        assert "assessor_added" in _actions() and "assessor_removed" in _actions()


def test_pool_keeps_a_role_granted_elsewhere(app, world, rubric):
    ids = add_to_pool(app, world, "d1assessor")
    with in_district(app, world.d1):
        services.remove_assessor(db.session.get(services.Assessor, (world.d1, ids["d1assessor"])))
        db.session.commit()
        assert _count(Membership, Membership.user_id == world.users["d1assessor"], Membership.role == "assessor") == 1


# --- conflicts on every path --------------------------------------------------------------------

def test_own_school_is_impossible_by_hand(app, world, assessing):
    ids = add_to_pool(app, world, "chair1b")
    with in_district(app, world.d1):
        with pytest.raises(AssessmentError, match="本人所在学校"):
            services.assign(_round(world, assessing), assessing.apps["s1b"], ids["chair1b"])
        services.assign(_round(world, assessing), assessing.apps["s1a"], ids["chair1b"])
        with pytest.raises(AssessmentError, match="已被指派"):
            services.assign(_round(world, assessing), assessing.apps["s1a"], ids["chair1b"])
        db.session.commit()
        assert _count(Assignment) == 1


def test_own_school_is_impossible_in_bulk_and_nothing_changes(app, world, assessing):
    ids = add_to_pool(app, world, "chair1b", "d1staff")
    with in_district(app, world.d1):
        with pytest.raises(AssessmentError) as exc:
            services.assign_many(_round(world, assessing),
                                 [(assessing.apps["s1a"], ids["d1staff"]), (assessing.apps["s1b"], ids["chair1b"])],
                                 source="api", labels=["1", "2"])
        assert list(exc.value.errors) == ["2"]
        db.session.rollback()
        assert _count(Assignment) == 0


def test_own_school_is_impossible_in_auto_assignment(app, world, assessing):
    ids = add_to_pool(app, world, "chair1b", "d1staff", "d1assessor")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        with pytest.raises(AssessmentError, match="一区乙中学"):
            services.auto_assign(round_, per_application=3, seed=1)  # s1b has only 2 non-conflicted assessors
        db.session.rollback()
        assert _count(Assignment) == 0
        made = services.auto_assign(round_, per_application=2, seed=1)
        db.session.commit()
        pairs = {(a.application_id, a.assessor_id) for a in made}
        assert (assessing.apps["s1b"], ids["chair1b"]) not in pairs
        assert len(pairs) == 4


def test_own_school_is_impossible_in_panels(app, world, assessing):
    ids = add_to_pool(app, world, "chair1b", "d1staff")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        with pytest.raises(AssessmentError, match="本人所在学校"):
            services.save_panel(round_, "第一组", [ids["chair1b"], ids["d1staff"]], assessing.apps.values())
        panel = services.save_panel(round_, "第一组", [ids["chair1b"], ids["d1staff"]], [assessing.apps["s1a"]])
        services.save_panel(round_, "第二组", [ids["d1staff"]], [assessing.apps["s1b"]])
        with pytest.raises(AssessmentError, match="另一个评审组"):
            services.save_panel(round_, "第三组", [ids["d1staff"]], [assessing.apps["s1b"]])
        made = services.assign_panels(round_)
        db.session.commit()
        assert {(a.application_id, a.assessor_id, a.panel_id is not None) for a in made} == {
            (assessing.apps["s1a"], ids["chair1b"], True), (assessing.apps["s1a"], ids["d1staff"], True),
            (assessing.apps["s1b"], ids["d1staff"], True)}
        assert panel.id in {a.panel_id for a in made}
        with pytest.raises(AssessmentError, match="全部完成"):
            services.assign_panels(round_)


def test_declared_conflict_blocks_and_removes_unscored_assignment(app, world, assessing):
    ids = add_to_pool(app, world, "d1staff")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        services.assign(round_, assessing.apps["s1a"], ids["d1staff"])
        assessor = db.session.get(services.Assessor, (world.d1, ids["d1staff"]))
        with pytest.raises(AssessmentError, match="回避理由"):
            services.declare_conflict(assessor, world.s1a, "")
        services.declare_conflict(assessor, world.s1a, "配偶在该校任教")
        db.session.commit()
        assert _count(Assignment) == 0
        with pytest.raises(AssessmentError, match="利益冲突"):
            services.assign(round_, assessing.apps["s1a"], ids["d1staff"])
        assert "conflict_declared" in _actions()


def test_declared_conflict_after_scoring_is_refused(app, world, assessing):
    ids = add_to_pool(app, world, "d1staff")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        sheet = services.assign(round_, assessing.apps["s1a"], ids["d1staff"])
        services.save_scores(sheet, round_, {assessing.rubric.ind["org"]: {"points": "3"}})
        assessor = db.session.get(services.Assessor, (world.d1, ids["d1staff"]))
        with pytest.raises(AssessmentError, match="已对「一区甲小学」评分"):
            services.declare_conflict(assessor, world.s1a, "配偶在该校任教")
        services.unassign(sheet)  # the district removes the sheet first
        services.declare_conflict(assessor, world.s1a, "配偶在该校任教")
        db.session.commit()
        assert _count(AssessorScore) == 0


def test_suggested_conflict_from_a_former_school_blocks_until_dismissed(app, world, assessing):
    with in_district(app, world.d1):
        record("membership_removed", target_type="User", target_id=world.users["d1staff"], school_id=world.s1a,
               district_id=world.d1, details={"role": "school_chair", "school_id": world.s1a})
        db.session.commit()
    ids = add_to_pool(app, world, "d1staff")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        conflict = db.session.scalar(select(AssessorConflict))
        assert (conflict.status, conflict.source, conflict.school_id) == ("suggested", "former_membership", world.s1a)
        with pytest.raises(AssessmentError, match="系统提示待确认"):
            services.assign(round_, assessing.apps["s1a"], ids["d1staff"])
        with pytest.raises(AssessmentError, match="处理理由"):
            services.decide_conflict(conflict, "dismiss", " ")
        services.decide_conflict(conflict, "dismiss", "2019 年已调离，无利害关系")
        with pytest.raises(AssessmentError, match="已处理过"):
            services.decide_conflict(conflict, "confirm", "再次确认")
        services.assign(round_, assessing.apps["s1a"], ids["d1staff"])
        db.session.commit()
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "conflict_dismissed"))
        assert event.details["reason"] == "2019 年已调离，无利害关系"


def test_confirmed_suggestion_keeps_blocking(app, world, assessing):
    with in_district(app, world.d1):
        record("membership_removed", target_type="User", target_id=world.users["d1staff"], school_id=world.s1a,
               district_id=world.d1, details={"role": "school_editor", "school_id": world.s1a})
        db.session.commit()
    ids = add_to_pool(app, world, "d1staff")
    with in_district(app, world.d1):
        services.decide_conflict(db.session.scalar(select(AssessorConflict)), "confirm", "刚调离一年")
        with pytest.raises(AssessmentError, match="曾在该校担任工会职务"):
            services.assign(_round(world, assessing), assessing.apps["s1a"], ids["d1staff"])


# --- auto assignment ----------------------------------------------------------------------------

def _more_schools(app, world, rubric, round_id, n):
    from app.rounds.models import Application
    from tenants import provisioning
    from tenants.models import District

    with in_district(app, world.d1):
        district = db.session.get(District, world.d1)
        for i in range(n):
            school = provisioning.add_school(district, f"扩充学校{i:02d}", "primary")
            db.session.add(Application(district_id=world.d1, school_id=school.id, round_id=round_id,
                                       status="under_assessment"))
        db.session.commit()


def test_auto_assignment_is_balanced_capped_and_deterministic(app, world, assessing):
    _more_schools(app, world, assessing.rubric, assessing.round_id, 4)   # 6 applications
    ids = add_to_pool(app, world, "chair1b", "d1staff", "d1assessor", "d1admin")
    results = []
    for _ in range(2):
        with in_district(app, world.d1):
            round_ = _round(world, assessing)
            made = services.auto_assign(round_, per_application=2, load_cap=3, seed=42)
            results.append(sorted((a.application_id, a.assessor_id) for a in made))
            loads = {}
            for a in made:
                loads[a.assessor_id] = loads.get(a.assessor_id, 0) + 1
            assert sorted(loads.values()) == [3, 3, 3, 3]
            assert (assessing.apps["s1b"], ids["chair1b"]) not in results[-1]
            db.session.rollback()
    assert results[0] == results[1]
    with in_district(app, world.d1):
        with pytest.raises(AssessmentError, match="需要 2 位"):
            services.auto_assign(_round(world, assessing), per_application=2, load_cap=2, seed=42)
        db.session.rollback()
        assert _count(Assignment) == 0


def test_auto_assignment_fills_up_to_panel_size(app, world, assessing):
    ids = add_to_pool(app, world, "d1staff", "d1assessor", "d1admin")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        services.assign(round_, assessing.apps["s1a"], ids["d1staff"])
        made = services.auto_assign(round_, seed=3)   # round.panel_size == 3
        assert len(made) == 5
        db.session.commit()


def test_assignment_refused_when_round_is_not_running(app, world, assessing):
    ids = add_to_pool(app, world, "d1staff")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        round_.status = "calibrating"
        with pytest.raises(AssessmentError, match="申报中或评审中"):
            services.assign(round_, assessing.apps["s1a"], ids["d1staff"])


# --- sheets -------------------------------------------------------------------------------------

def _assigned(app, world, setup, *names):
    ids = add_to_pool(app, world, *names)
    with in_district(app, world.d1):
        for name in names:
            services.assign(_round(world, setup), setup.apps["s1a"], ids[name])
        db.session.commit()
    return ids


def test_scores_are_checked_against_bounds_and_nothing_is_saved_on_error(app, world, assessing):
    ids = _assigned(app, world, assessing, "d1staff")
    ind = assessing.rubric.ind
    with in_district(app, world.d1):
        round_, sheet = _round(world, assessing), _sheet(world, assessing)
        for entry, key, text in [({"points": "5"}, "org", "0 到 4"), ({"units": "-1"}, "meetings", "负数"),
                                 ({"points": "abc"}, "org", "数字"), ({"points": "1.234"}, "org", "两位小数"),
                                 ({"points": "6"}, "prize", "加分"), ({"rate": "120"}, "membership", "0 到 100")]:
            with pytest.raises(AssessmentError) as exc:
                services.save_scores(sheet, round_, _entries(assessing.rubric, **{key: entry}))
            assert text in exc.value.errors[ind[key]]
            assert _count(AssessorScore) == 0
        services.save_scores(sheet, round_, _entries(assessing.rubric), comment="总体较好")
        services.save_scores(sheet, round_, {ind["org"]: {"points": "4"}})
        db.session.commit()
        rows = services.scores_of(sheet)
        assert rows[ind["org"]].points == 4 and rows[ind["meetings"]].units == 1
        assert sheet.comment == "总体较好"
        assert ids  # noqa
        assert _actions().count("score_saved") == 2


def test_submit_needs_every_scored_indicator_then_locks(app, world, assessing):
    _assigned(app, world, assessing, "d1staff")
    ind = assessing.rubric.ind
    with in_district(app, world.d1):
        round_, sheet = _round(world, assessing), _sheet(world, assessing)
        services.save_scores(sheet, round_, {ind["org"]: {"points": "3"}})
        with pytest.raises(AssessmentError) as exc:
            services.submit_sheet(sheet, round_)
        assert set(exc.value.errors) == {ind["meetings"], ind["discipline"]}
        services.save_scores(sheet, round_, _entries(assessing.rubric))
        services.submit_sheet(sheet, round_)
        db.session.commit()
        assert sheet.status == "submitted"
        rows = services.scores_of(sheet)
        assert rows[ind["membership"]].rate is not None  # 上级提供 taken from the system value
        with pytest.raises(AssessmentError, match="已提交"):
            services.save_scores(sheet, round_, {ind["org"]: {"points": "1"}})
        with pytest.raises(AssessmentError, match="已提交"):
            services.submit_sheet(sheet, round_)


def test_reopen_by_the_district_in_assessing_and_calibrating_only(app, world, assessing):
    _assigned(app, world, assessing, "d1staff")
    with in_district(app, world.d1):
        round_, sheet = _round(world, assessing), _sheet(world, assessing)
        with pytest.raises(AssessmentError, match="尚未提交"):
            services.reopen_sheet(sheet, round_, "分数有误")
        services.save_scores(sheet, round_, _entries(assessing.rubric))
        services.submit_sheet(sheet, round_)
        with pytest.raises(AssessmentError, match="退回理由"):
            services.reopen_sheet(sheet, round_, "")
        round_.status = "calibrating"
        services.reopen_sheet(sheet, round_, "第 2 项分数有误")
        assert sheet.status == "assigned" and sheet.reopened_count == 1
        assert services.editable_problem(sheet, round_) is None     # corrected during calibrating
        db.session.commit()
        assert "sheet_reopened" in _actions()
        services.save_scores(sheet, round_, _entries(assessing.rubric, org={"points": "4"}))
        services.submit_sheet(sheet, round_)
        for status in ("publicised", "final", "open"):
            round_.status = status
            with pytest.raises(AssessmentError, match="评审中或核分中"):
                services.reopen_sheet(sheet, round_, "再改")
        db.session.rollback()


def test_others_scores_hidden_until_own_submitted(app, world, assessing):
    _assigned(app, world, assessing, "d1staff", "d1assessor")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        ids = {a.assessor_id: a for a in db.session.scalars(select(Assignment))}
        first, second = sorted(ids.values(), key=lambda a: a.id)
        services.save_scores(first, round_, _entries(assessing.rubric))
        services.submit_sheet(first, round_)
        assert services.others_scores(second, viewer_submitted=False) == []
        services.save_scores(second, round_, _entries(assessing.rubric))
        services.submit_sheet(second, round_)
        others = services.others_scores(second, viewer_submitted=True)
        assert [o["assignment"].id for o in others] == [first.id]


# --- findings -----------------------------------------------------------------------------------

def test_finding_transitions(app, world, assessing):
    ids = _assigned(app, world, assessing, "d1staff", "d1assessor")
    ind = assessing.rubric.ind
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        application = db.session.get(Application, (world.d1, assessing.apps["s1a"]))
        staff = db.session.get(services.Assessor, (world.d1, ids["d1staff"]))
        other = db.session.get(services.Assessor, (world.d1, ids["d1assessor"]))
        raiser = world.users["d1staff"]
        with pytest.raises(AssessmentError, match="证据说明"):
            services.raise_finding(application, round_, ind["discipline"], "veto", " ", user_id=raiser, assessor=staff)
        with pytest.raises(AssessmentError, match="不是一票否决项"):
            services.raise_finding(application, round_, ind["org"], "veto", "x", user_id=raiser, assessor=staff)
        with pytest.raises(AssessmentError, match="不是必备条件"):
            services.raise_finding(application, round_, ind["discipline"], "must_pass", "x", user_id=raiser)
        with pytest.raises(AssessmentError, match="佐证材料"):
            services.raise_finding(application, round_, ind["discipline"], "veto", "x", user_id=raiser,
                                   evidence_id=999999)
        finding = services.raise_finding(application, round_, ind["discipline"], "veto", "2026年3月违纪通报",
                                         user_id=raiser, assessor=staff)
        with pytest.raises(AssessmentError, match="待确认的同类问题"):
            services.raise_finding(application, round_, ind["discipline"], "veto", "又一次", user_id=raiser)
        assert services.unconfirmed_findings(round_) == {application.id: [finding]}
        assert services.confirmed_gates(round_) == {}
        with pytest.raises(AssessmentError, match="提出人不能自己确认"):
            services.decide_finding(finding, round_, "confirm", "", user_id=raiser, assessor=staff)
        with pytest.raises(AssessmentError, match="其他评审专家"):
            services.decide_finding(finding, round_, "confirm", "", user_id=world.users["chair1b"])
        with pytest.raises(AssessmentError, match="不采纳须填写理由"):
            services.decide_finding(finding, round_, "dismiss", "", user_id=world.users["d1assessor"], assessor=other)
        services.decide_finding(finding, round_, "confirm", "属实", user_id=world.users["d1assessor"], assessor=other)
        assert finding.status == "confirmed"
        with pytest.raises(AssessmentError, match="已确认"):
            services.decide_finding(finding, round_, "dismiss", "不对", user_id=world.users["d1admin"], as_district=True)
        assert services.confirmed_gates(round_) == {application.id: ({ind["discipline"]}, set())}
        # must-pass raised by the district, dismissed by another assessor
        second = services.raise_finding(application, round_, ind["org"], "must_pass", "未建立女工委",
                                        user_id=world.users["d1admin"])
        services.decide_finding(second, round_, "dismiss", "已于 4 月建立", user_id=world.users["d1staff"], assessor=staff)
        assert second.status == "dismissed"
        assert services.confirmed_gates(round_) == {application.id: ({ind["discipline"]}, set())}
        round_.status = "publicised"
        third = Finding(round_id=round_.id, application_id=application.id, school_id=application.school_id,
                        indicator_id=ind["org"], kind="must_pass", note="n", raised_by=raiser)
        with pytest.raises(AssessmentError, match="评审中或核分中"):
            services.decide_finding(third, round_, "confirm", "", user_id=world.users["d1admin"], as_district=True)
        db.session.rollback()


# --- the contract read by the results code ------------------------------------------------------

def test_contract_functions(app, world, assessing):
    ids = _assigned(app, world, assessing, "d1staff", "d1assessor")
    ind = assessing.rubric.ind
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        sheets = {a.assessor_id: a for a in db.session.scalars(select(Assignment))}
        staff_sheet = sheets[ids["d1staff"]]
        services.save_scores(staff_sheet, round_, _entries(assessing.rubric), comment="材料齐全")
        services.submit_sheet(staff_sheet, round_)
        services.save_scores(sheets[ids["d1assessor"]], round_, {ind["org"]: {"points": "1", "comment": "未提交"}})
        application = db.session.get(Application, (world.d1, assessing.apps["s1a"]))
        services.raise_finding(application, round_, ind["discipline"], "veto", "违纪", user_id=world.users["d1staff"],
                               assessor=db.session.get(services.Assessor, (world.d1, ids["d1staff"])))
        db.session.commit()
        with db.engine.connect():
            pass
        sheets_out = services.submitted_sheets(round_)
        assert list(sheets_out) == [application.id]
        assert list(sheets_out[application.id]) == [ids["d1staff"]]
        inputs = sheets_out[application.id][ids["d1staff"]]
        assert inputs[ind["org"]].points == 3 and inputs[ind["org"]].passed is True
        assert inputs[ind["meetings"]].units == 1
        assert inputs[ind["discipline"]].passed is False   # raised by this assessor
        comments = services.sheet_comments(round_)[application.id]
        assert {"assessor_id": ids["d1staff"], "assessor": "D1STAFF", "indicator_id": None,
                "comment": "材料齐全"} in comments
        assert any(c["indicator_id"] == ind["org"] and c["comment"] == "组织健全" for c in comments)
        assert all(c["comment"] != "未提交" for c in comments)
        assert services.assessor_names(round_) == {ids["d1staff"]: "D1STAFF", ids["d1assessor"]: "D1ASSESSOR"}
        progress = services.sheet_progress(round_)
        assert progress["assigned"] == 2 and progress["submitted"] == 1 and not progress["complete"]
        assert progress["unassigned_applications"] == 1 and progress["raised_findings"] == 1


def test_submitted_sheets_runs_constant_queries(app, world, assessing):
    from tests.querycount import count_queries

    _more_schools(app, world, assessing.rubric, assessing.round_id, 6)
    add_to_pool(app, world, "d1staff", "d1assessor", "d1admin")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        made = services.auto_assign(round_, per_application=3, seed=1)
        for sheet in made:
            services.save_scores(sheet, round_, _entries(assessing.rubric))
            services.submit_sheet(sheet, round_)
        db.session.commit()
        assert round_.id  # loaded before counting
        with count_queries(db.engine) as statements:
            out = services.submitted_sheets(round_)
        assert len(out) == 8 and len(statements) <= 4, statements


# --- progress and reminders ---------------------------------------------------------------------

def test_progress_and_reminders_to_late_assessors(app, world, assessing):
    ids = _assigned(app, world, assessing, "d1staff", "d1assessor")
    with in_district(app, world.d1):
        round_ = _round(world, assessing)
        sheets = {a.assessor_id: a for a in db.session.scalars(select(Assignment))}
        services.save_scores(sheets[ids["d1staff"]], round_, _entries(assessing.rubric))
        services.submit_sheet(sheets[ids["d1staff"]], round_)
        data = services.progress(round_, today=D(2026, 7, 1))
        assert not data["past_due"] and not any(r.late for r in data["assessors"])
        data = services.progress(round_, today=D(2026, 8, 1))    # due 2026-07-31
        late = [r for r in data["assessors"] if r.late]
        assert [r.assessor.id for r in late] == [ids["d1assessor"]]
        assert services.remind_late(round_, url="/x", today=D(2026, 8, 1)) == 1
        db.session.commit()
        notes = db.session.scalars(select(Notification)).all()
        assert [n.user_id for n in notes] == [world.users["d1assessor"]]
        assert "已逾期" in notes[0].text
        assert sheets[ids["d1assessor"]].reminded_at is not None


def test_unsubmitted_sheet_is_read_only_after_assessing_unless_reopened(app, world, assessing):
    _assigned(app, world, assessing, "d1staff")
    with in_district(app, world.d1):
        round_, sheet = _round(world, assessing), _sheet(world, assessing)
        round_.status = "calibrating"
        with pytest.raises(AssessmentError, match="只读"):
            services.save_scores(sheet, round_, _entries(assessing.rubric))
        db.session.rollback()
