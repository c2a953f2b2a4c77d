"""Results services: the round through calibrating → publicised → final (every allowed and refused
transition), decisions with reasons, the 公示 window in working days with district overrides,
objections (open → upheld / rejected), the frozen snapshot, the titles and school_results."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import select

from app.audit.models import AuditEvent
from app.extensions import db
from app.results import services
from app.results.models import Objection, ResultPublication, ResultSnapshot, SnapshotFrozen
from app.results.services import ResultsError
from app.rounds.models import ROUND_STATES, Application, Round
from app.rounds.services import RoundError
from app.titles.models import Title
from tests.results.helpers import assert_table_matches, make_round, sheets_for, use_fake
from tests.rounds.conftest import in_district

D = Decimal
PDF = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n"
PUBLISH_DAY = date(2026, 9, 30)       # Wednesday before 国庆
AFTER = date(2026, 10, 13)            # the day after a 5-working-day 公示 from PUBLISH_DAY


def _scores(setup):
    return sheets_for(setup, {"s1a": {101: (8, 5, 4), 102: (10, 6, 4)},
                              "s1b": {101: (7, 4, 3), 102: (7, 4, 3)}})


@pytest.fixture
def fake(monkeypatch):
    return use_fake(monkeypatch)


def _title_round(world, fake, status="assessing", **kw):
    kw.setdefault("quotas", {"advanced": 1})
    kw.setdefault("thresholds", {"advanced": 15, "qualified": 12})
    setup = make_round(world, status=status, **kw)
    fake.sheets = _scores(setup)
    fake.names = {101: "王老师", 102: "李老师"}
    fake.comments = {setup.apps["s1a"]: [{"assessor_id": 101, "assessor": "王老师", "indicator_id": setup.indicators[0],
                                           "comment": "台账齐全"}]}
    db.session.flush()
    return setup


def _round(setup) -> Round:
    return db.session.get(Round, (db.session.scalar(select(Round.district_id).where(Round.id == setup.round_id)),
                                  setup.round_id))


def _published(world, fake):
    setup = _title_round(world, fake)
    round_ = _round(setup)
    services.start_calibrating(round_)
    services.confirm_proposals(round_)
    services.publish(round_, today=PUBLISH_DAY)
    return setup, round_


def test_calibration_numbers_proposals_and_ranks(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating")
        cal = services.calibrate(_round(setup))
        a, b = cal.by_id[setup.apps["s1a"]], cal.by_id[setup.apps["s1b"]]
        assert a.combined.self_total == D("18.00") and a.combined.assessor_column_total == D("18.50")
        assert a.combined.total == D("18.40") and b.combined.total == D("14.40")
        assert a.median == D("18.50") and a.combined.assessor_spread.range == D("3")
        assert (a.proposed, b.proposed) == ("advanced", "qualified")
        assert (str(a.rank), str(b.rank)) == ("1", "2")
        assert "综评总分 = 18.40" in a.combined.explain()
        assert "王老师" in services.explain_spread(a.combined)
        assert cal.problems() == ["「一区甲小学」的结果尚未确认", "「一区乙中学」的结果尚未确认"]


def test_only_tiers_up_to_the_one_applied_for_are_proposed(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating", quotas={}, thresholds={"model": 18, "qualified": 12})
        cal = services.calibrate(_round(setup))
        assert cal.by_id[setup.apps["s1a"]].proposed == "qualified"  # target 先进: no 模范 line applies
        assert set(services.level_choices(_round(setup))) == {"advanced", "qualified", ""}


@pytest.mark.parametrize("state", ROUND_STATES)
def test_every_round_transition_is_allowed_only_from_its_state(app, world, fake, state):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, status=state)
        round_ = _round(setup)
        attempts = {
            "calibrating": lambda: services.start_calibrating(round_),
            "publicised": lambda: services.publish(round_, today=PUBLISH_DAY),
            "final": lambda: services.finalise(round_, today=AFTER),
            "reopen": lambda: services.reopen_calibration(round_, "更正"),
        }
        allowed = {"assessing": {"calibrating"}, "calibrating": {"publicised"},
                   "publicised": {"final", "reopen"}}.get(state, set())
        for target, attempt in attempts.items():
            if target in allowed:
                continue
            with pytest.raises(RoundError, match="不能"):
                attempt()
            assert round_.status == state


def test_start_calibrating_needs_sheets_and_marks_applications_scored(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake)
        round_ = _round(setup)
        fake.sheets.pop(setup.apps["s1b"])
        with pytest.raises(ResultsError, match="一区乙中学"):
            services.start_calibrating(round_)
        fake.sheets = _scores(setup)
        assert services.start_calibrating(round_) == 2
        assert round_.status == "calibrating"
        statuses = set(db.session.scalars(select(Application.status).where(Application.round_id == round_.id)))
        assert statuses == {"scored"}


def test_trimmed_mean_needs_five_sheets_before_calibrating(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, aggregation="trimmed_mean")
        with pytest.raises(ResultsError, match="不足 5 份"):
            services.start_calibrating(_round(setup))


def test_decisions_need_a_reason_when_they_change_the_proposal(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating")
        round_ = _round(setup)
        application = db.session.get(Application, (world.d1, setup.apps["s1b"]))
        with pytest.raises(ResultsError, match="理由"):
            services.decide(round_, application, "advanced", "")
        with pytest.raises(ResultsError, match="有效"):
            services.decide(round_, application, "model", "越级")
        decision = services.decide(round_, application, "", "材料存在问题，经研究不予推荐")
        assert decision.level is None and decision.proposed == "qualified" and decision.total == D("14.40")
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "result_decided"))
        assert event.details["reason"] == "材料存在问题，经研究不予推荐" and event.details["changed"] is True
        confirmed = services.decide(round_, db.session.get(Application, (world.d1, setup.apps["s1a"])), "advanced")
        assert confirmed.reason == ""


def test_a_tie_at_the_quota_boundary_is_left_to_a_person(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating")
        fake.sheets = sheets_for(setup, {"s1a": {101: (8, 5, 4)}, "s1b": {101: (8, 5, 4)}})
        round_ = _round(setup)
        # equal self scores too
        from app.rounds.models import SelfScore
        for row in db.session.scalars(select(SelfScore)):
            row.points = {setup.indicators[0]: 9, setup.indicators[1]: 5, setup.indicators[2]: 4}[row.indicator_id]
        db.session.flush()
        cal = services.calibrate(round_)
        assert all(r.is_tie for r in cal.rows) and len(cal.proposal.ties) == 1
        assert_table_matches(round_)
        assert services.confirm_proposals(round_) == 0
        application = db.session.get(Application, (world.d1, setup.apps["s1a"]))
        with pytest.raises(ResultsError, match="同分待定"):
            services.decide(round_, application, "advanced", "")
        services.decide(round_, application, "advanced", "党支部评议后决定")
        assert_table_matches(round_)


def test_publish_releases_everything_and_counts_working_days_over_national_day(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake)
        round_ = _round(setup)
        services.start_calibrating(round_)
        with pytest.raises(ResultsError, match="尚未确认"):
            services.publish(round_, today=PUBLISH_DAY)
        assert services.confirm_proposals(round_) == 2
        publication = services.publish(round_, today=PUBLISH_DAY)
        # 9-30 (1), 国庆 10-1..7 off, 10-8 (2), 10-9 (3), 10-10 Saturday 调休 (4), 10-12 (5)
        assert (publication.starts_on, publication.ends_on) == (PUBLISH_DAY, date(2026, 10, 12))
        assert round_.status == "publicised" and publication.number == 1
        rows = publication.content["rows"]
        assert [(r["school"], r["total"], r["level_label"], r["rank"]) for r in rows] == [
            ("一区甲小学", "18.40", "先进", "1"), ("一区乙中学", "14.40", "合格", "2")]
        assert publication.content["feedback"][str(world.s1a)]["comments"] == [
            {"assessor": "评审 1", "indicator": "组织健全", "comment": "台账齐全"}]


def test_a_district_override_moves_the_end_of_the_publicity(app, world, fake):
    with in_district(app, world.d1):
        services.set_workday_override(date(2026, 10, 12), False, "区运动会")
        assert services.publicity_window(PUBLISH_DAY, 5) == (PUBLISH_DAY, date(2026, 10, 13))
        services.set_workday_override("2026-10-11", True, "补班")
        assert services.publicity_window(PUBLISH_DAY, 5)[1] == date(2026, 10, 11)
        with pytest.raises(ResultsError, match="格式"):
            services.set_workday_override("10/11", True)
        with pytest.raises(ResultsError, match="尚未录入"):
            services.publicity_window(date(2027, 12, 20), 5)


def test_publication_is_refused_while_a_veto_waits_for_confirmation(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating")
        round_ = _round(setup)
        services.confirm_proposals(round_)
        fake.pending = {setup.apps["s1b"]: [{"indicator_id": setup.indicators[2]}]}
        with pytest.raises(ResultsError, match="第二人确认"):
            services.publish(round_, today=PUBLISH_DAY)
        assert_table_matches(round_)


def test_a_confirmed_veto_withholds_the_title(app, world, fake):
    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating")
        fake.gates = {setup.apps["s1a"]: ({setup.indicators[2]}, set())}
        round_ = _round(setup)
        cal = services.calibrate(round_)
        row = cal.by_id[setup.apps["s1a"]]
        assert row.proposed is None and row.placement.status == "gates_failed"
        assert cal.by_id[setup.apps["s1b"]].proposed == "qualified"  # 14.40 is below 先进's 15
        with pytest.raises(ResultsError, match="不能授予称号"):
            services.decide(round_, row.application, "qualified", "酌情")
        assert_table_matches(round_)


def test_objections_state_machine(app, world, fake):
    with in_district(app, world.d1):
        setup, round_ = _published(world, fake)
        with pytest.raises(ResultsError, match="理由"):
            services.file_objection(round_, "  ", school_id=world.s1b, today=PUBLISH_DAY)
        with pytest.raises(ResultsError, match="不在公示名单"):
            services.file_objection(round_, "有误", school_id=world.s1b, application_id=999999, today=PUBLISH_DAY)
        with pytest.raises(ResultsError, match="不符|不受支持|不是有效"):
            services.file_objection(round_, "有误", school_id=world.s1b, files=[("证明.pdf", b"not a pdf")],
                                    today=PUBLISH_DAY)
        with pytest.raises(ResultsError, match="已于 2026-10-12 结束"):
            services.file_objection(round_, "有误", school_id=world.s1b, today=AFTER)
        objection, paths = services.file_objection(round_, "甲小学台账不全", school_id=world.s1b,
                                                   application_id=setup.apps["s1a"], files=[("证明.pdf", PDF)],
                                                   today=date(2026, 10, 12))
        assert objection.status == "open" and len(paths) == 1 and objection.publication_no == 1
        assert services.objection_files([objection.id])[objection.id][0].original_name == "证明.pdf"
        with pytest.raises(ResultsError, match="成立或"):
            services.decide_objection(objection, "maybe", "x")
        with pytest.raises(ResultsError, match="理由"):
            services.decide_objection(objection, "rejected", "")
        services.decide_objection(objection, "rejected", "经核查台账齐全")
        for outcome in ("upheld", "rejected"):
            with pytest.raises(ResultsError, match="已处理"):
                services.decide_objection(objection, outcome, "再议")
        second, _ = services.file_objection(round_, "乙中学分数偏低", school_id=None, today=PUBLISH_DAY)
        services.decide_objection(second, "upheld", "确有漏计")
        assert second.status == "upheld" and second.school_id is None


def test_finalise_waits_for_the_end_of_the_publicity_and_open_objections(app, world, fake):
    with in_district(app, world.d1):
        setup, round_ = _published(world, fake)
        with pytest.raises(ResultsError, match="2026-10-12 结束"):
            services.finalise(round_, today=date(2026, 10, 12))
        objection, _ = services.file_objection(round_, "有误", school_id=world.s1b, today=PUBLISH_DAY)
        with pytest.raises(ResultsError, match="待处理"):
            services.finalise(round_, today=AFTER)
        with pytest.raises(ResultsError, match="异议成立后"):
            services.reopen_calibration(round_, "更正")
        services.decide_objection(objection, "upheld", "确有漏计")
        with pytest.raises(ResultsError, match="退回核分"):
            services.finalise(round_, today=AFTER)
        with pytest.raises(ResultsError, match="理由"):
            services.reopen_calibration(round_, "")
        publication = services.reopen_calibration(round_, "更正乙中学的分数")
        assert round_.status == "calibrating" and publication.withdrawn_at is not None
        assert services.active_publication(round_) is None
        again = services.publish(round_, today=date(2026, 10, 14))
        assert again.number == 2 and again.ends_on == date(2026, 10, 20)
        snapshot = services.finalise(round_, today=date(2026, 10, 21))
        assert snapshot.content["publication"]["number"] == 2


def test_finalise_freezes_the_snapshot_and_confers_titles(app, world, fake):
    with in_district(app, world.d1):
        setup, round_ = _published(world, fake)
        objection, _ = services.file_objection(round_, "有误", school_id=world.s1b, today=PUBLISH_DAY)
        services.decide_objection(objection, "rejected", "经核查无误")
        snapshot = services.finalise(round_, today=AFTER)
        assert round_.status == "final"
        assert set(db.session.scalars(select(Application.status).where(Application.round_id == round_.id))) == {"final"}
        content = snapshot.content
        assert content["rubric"]["version"] == 1 and content["weights"]["assessor"] == 80
        assert content["quotas"] == {"advanced": 1} and content["thresholds"] == {"advanced": 15, "qualified": 12}
        first = content["rows"][0]
        assert first["school"] == "一区甲小学" and first["assessor_totals"] == {"王老师": "17.00", "李老师": "20.00"}
        assert first["indicators"][0]["assessors"] == {"王老师": "8.00", "李老师": "10.00"}
        assert content["objections"][0]["status"] == "rejected"
        titles = {t.school_id: t.tier for t in db.session.scalars(select(Title).where(Title.round_id == round_.id))}
        assert titles == {world.s1a: "advanced", world.s1b: "qualified"}
        db.session.commit()
        snapshot.content = {"rows": []}
        with pytest.raises(SnapshotFrozen):
            db.session.flush()
        db.session.rollback()
        assert db.session.scalar(select(ResultSnapshot.id)) is not None
        assert services.school_results(2026)[world.s1a] == [
            {"round_id": round_.id, "round_name": "先进职工之家评选", "kind": "title", "total": "18.40", "rank": "1",
             "tier": "advanced", "grade": None}]
        assert services.school_results(2025) == {}
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert {"round_calibrating", "result_decided", "results_published", "objection_filed", "objection_rejected",
                "results_finalised"} <= actions


def test_annual_review_grades_and_school_results(app, world, fake):
    with in_district(app, world.d1):
        setup = make_round(world, kind="annual_review", status="assessing",
                           grade_bands=[["excellent", 18], ["good", 15], ["pass", 12]])
        fake.sheets = _scores(setup)
        round_ = _round(setup)
        services.start_calibrating(round_)
        cal = services.calibrate(round_)
        assert [cal.by_id[setup.apps[k]].proposed for k in ("s1a", "s1b")] == ["excellent", "pass"]
        services.confirm_proposals(round_)
        services.publish(round_, today=PUBLISH_DAY)
        services.finalise(round_, today=AFTER)
        results = services.school_results(2026)
        assert results[world.s1b][0]["grade"] == "pass" and results[world.s1b][0]["tier"] is None
        assert db.session.scalar(select(Title.id)) is None


def test_calibration_runs_a_constant_number_of_queries(app, world, fake):
    from tenants import provisioning
    from tenants.models import District
    from tests.querycount import count_queries

    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating")
        round_ = _round(setup)
        db.session.expire_all()
        with count_queries(db.engine) as few:
            services.calibrate(round_)
        district = db.session.get(District, world.d1)
        from app.rounds.models import SelfScore
        for n in range(4):
            school = provisioning.add_school(district, f"一区新学校{n}", "primary", code=f"N{n}")
            application = Application(school_id=school.id, round_id=round_.id, status="scored")
            db.session.add(application)
            db.session.flush()
            for iid in setup.indicators:
                db.session.add(SelfScore(school_id=school.id, application_id=application.id, indicator_id=iid,
                                         points=3))
            fake.sheets[application.id] = {101 + k: {iid: fake.sheets[setup.apps["s1a"]][101][iid]
                                                     for iid in setup.indicators} for k in range(3)}
        db.session.flush()
        db.session.expire_all()
        with count_queries(db.engine) as many:
            cal = services.calibrate(round_)
        assert len(cal.rows) == 6
        assert len(many) == len(few), (len(few), len(many))


def test_export_reads_back_with_openpyxl(app, world, fake):
    import io

    from openpyxl import load_workbook

    with in_district(app, world.d1):
        setup = _title_round(world, fake, status="calibrating")
        round_ = _round(setup)
        from tenants.models import School
        school = db.session.get(School, (world.d1, world.s1b))
        school.name = "=HYPERLINK(\"x\")乙"
        db.session.flush()
        services.confirm_proposals(round_)
        cal = services.calibrate(round_)
        wb = load_workbook(io.BytesIO(services.workbook(cal, "一区教育工会")))
        summary = wb["汇总"]
        rows = list(summary.iter_rows(min_row=3, values_only=True))
        assert rows[0][:5] == ("1", "一区甲小学", 18.0, 18.5, 18.4)
        assert rows[0][11:13] == ("先进", "先进")
        assert rows[1][1] == "'=HYPERLINK(\"x\")乙" or summary.cell(4, 2).data_type == "s"
        assert not str(summary.cell(4, 2).value).startswith("=")
        detail = list(wb["评审明细"].iter_rows(min_row=2, values_only=True))
        wang = [r for r in detail if r[0] == "一区甲小学" and r[5] == "评审 王老师"]
        assert [r[6] for r in wang] == [8.0, 5.0, 4.0]
        assert wang[0][8] == "台账齐全"
        combined = [r for r in detail if r[0] == "一区甲小学" and r[5] == "综评分"]
        assert sum(r[6] for r in combined) == pytest.approx(18.4)
        per = list(wb["评审总分"].iter_rows(values_only=True))
        assert per[0] == ("学校", "评审 李老师", "评审 王老师") and per[1] == ("一区甲小学", 20.0, 17.0)


def test_re_review_keeps_or_revokes_the_title_under_review(app, world, fake):
    with in_district(app, world.d1):
        setup = make_round(world, kind="re_review", status="assessing", thresholds={"advanced": 15, "qualified": 12})
        fake.sheets = _scores(setup)
        held = {}
        for key, school_id in (("s1a", world.s1a), ("s1b", world.s1b)):
            title = Title(school_id=school_id, tier="advanced", level="district", awarded_on=date(2023, 6, 1),
                          status="due")
            db.session.add(title)
            db.session.flush()
            db.session.get(Application, (world.d1, setup.apps[key])).title_id = title.id
            held[key] = title
        round_ = _round(setup)
        services.start_calibrating(round_)
        cal = services.calibrate(round_)
        a, b = cal.by_id[setup.apps["s1a"]], cal.by_id[setup.apps["s1b"]]
        assert (a.proposed, b.proposed) == ("kept", "revoked")
        assert "未达到「先进」标准" in b.placement.reason
        assert set(services.level_choices(round_)) == {"kept", "revoked"}
        assert_table_matches(round_)
        services.confirm_proposals(round_)
        assert_table_matches(round_)
        services.publish(round_, today=PUBLISH_DAY)
        services.finalise(round_, today=AFTER)
        assert (held["s1a"].status, held["s1b"].status) == ("kept", "revoked")
