"""The calibration's arithmetic is kept per round in a process-local cache, keyed by a fingerprint
of its inputs (app/results/services.calibrate). A repeated view reuses it; a change to any input
(a sheet reopened or rescored, a comment, a finding raised or confirmed, a self score, the round's
settings, a school, an assessor's name) gives a new fingerprint, and the result is then the same as
computed from scratch. Decisions and pending findings are read on every view."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update

from app.accounts.models import User
from app.assessments import services as assessments
from app.assessments.models import AssessorScore, Assignment
from app.extensions import db
from app.results import aggregation, services
from app.rounds.models import Application, Round, SelfScore
from tenants.models import School
from tests.results.helpers import assert_table_matches, make_round
from tests.rounds.conftest import in_district

D = Decimal


def _score(round_, application_id, assessor, points, comment=""):
    assignment = assessments.assign(round_, application_id, assessor.id)
    entries = {iid: {"points": str(p), "comment": comment if n == 0 else ""}
               for n, (iid, p) in enumerate(points.items())}
    assessments.save_scores(assignment, round_, entries, comment="总体良好")
    assessments.submit_sheet(assignment, round_)
    return assignment


def view(cal) -> dict:
    """Everything the calibration page and the exports show, as plain values."""
    rows = []
    for r in cal.rows:
        c = r.combined
        rows.append({
            "id": r.id, "school": r.school_name, "error": r.error, "rank": str(r.rank) if r.rank else "",
            "proposed": r.proposed, "placement": (r.placement.label, r.placement.reason) if r.placement else None,
            "decision": r.decision.level if r.decision else "-", "stale": r.decision_stale,
            "unconfirmed": [f.id for f in r.unconfirmed], "comments": r.comments,
            "disagreement": (r.disagreement.total, sorted(r.disagreement.indicators)) if r.disagreement else None,
            "sheets": {k: dict(v) for k, v in r.sheets.items()},
            "numbers": None if c is None else (
                c.total, c.self_total, c.assessor_column_total, c.assessor_totals, c.vetoed, c.raised_vetoes,
                c.explain(), services.explain_self(c), services.explain_assessor_column(c),
                services.explain_spread(c), [c.explain(i) for i in c.indicators]),
        })
    return {"rows": rows, "errors": cal.errors, "flag_rule": cal.flag_rule, "names": cal.assessor_names,
            "ties": [t.reason for t in cal.proposal.ties] if cal.proposal else None}


def from_scratch(round_):
    services.calibration_cache().clear()
    return services.calibrate(round_)


@pytest.fixture
def scored(app, world):
    """A title round in calibrating: two assessors scored both applications and submitted."""
    with in_district(app, world.d1):
        setup = make_round(world, status="assessing", quotas={"advanced": 1},
                           thresholds={"advanced": 15, "qualified": 12})
        round_ = db.session.get(Round, (world.d1, setup.round_id))
        wang = assessments.add_assessor(world.users["d1staff"])
        li = assessments.add_assessor(world.users["d1admin"])
        i1, i2, i3 = setup.indicators
        a, b = setup.apps["s1a"], setup.apps["s1b"]
        sheets = {
            "wa": _score(round_, a, wang, {i1: 8, i2: 5, i3: 4}, comment="台账齐全"),
            "la": _score(round_, a, li, {i1: 10, i2: 6, i3: 4}),
            "wb": _score(round_, b, wang, {i1: 7, i2: 4, i3: 3}),
            "lb": _score(round_, b, li, {i1: 7, i2: 4, i3: 3}),
        }
        services.start_calibrating(round_)
        yield {"round": round_, "setup": setup, "wang": wang, "li": li, "sheets": sheets, "a": a, "b": b,
               "world": world}


def test_a_repeated_calibration_reuses_the_arithmetic(scored):
    round_, a = scored["round"], scored["a"]
    first = services.calibrate(round_)
    second = services.calibrate(round_)
    assert second.by_id[a].combined is first.by_id[a].combined  # from the cache
    assert second.by_id[a].application is not None and second.rows is not first.rows
    assert view(second) == view(from_scratch(round_))
    assert first.by_id[a].combined.total == D("18.40")


def test_the_cache_is_per_round_and_district(scored):
    round_ = scored["round"]
    services.calibrate(round_)
    keys = list(services.calibration_cache().items)
    assert [k[:4] for k in keys] == [(round_.district_id, round_.id, "district", None)]


def _changes(scored):
    """(what, change) pairs: each changes an input of the calibration and what it shows."""
    round_, setup, world = scored["round"], scored["setup"], scored["world"]
    i1, i2, i3 = setup.indicators
    a, b = scored["a"], scored["b"]

    def rescore():
        sheet = scored["sheets"]["la"]
        assessments.reopen_sheet(sheet, round_, "请复核第一项")
        assessments.save_scores(sheet, round_, {i1: {"points": "6", "comment": ""}})
        assessments.submit_sheet(sheet, round_)

    def reopen_only():
        assessments.reopen_sheet(scored["sheets"]["wb"], round_, "请补充评语")

    def comment_only():
        sheet = scored["sheets"]["lb"]
        assessments.reopen_sheet(sheet, round_, "请写评语")
        assessments.save_scores(sheet, round_, {i2: {"points": "4", "comment": "教代会记录完整"}})
        assessments.submit_sheet(sheet, round_)

    def raise_veto():
        application = db.session.get(Application, (world.d1, a))
        scored["finding"] = assessments.raise_finding(application, round_, i3, "veto", "发现违纪情况",
                                                      user_id=world.users["d1staff"], assessor=scored["wang"])

    def confirm_veto():
        assessments.decide_finding(scored["finding"], round_, "confirm", "核实属实", user_id=world.users["d1admin"],
                                   as_district=True)

    def self_score():
        db.session.execute(update(SelfScore).where(SelfScore.application_id == b, SelfScore.indicator_id == i1)
                           .values(points=D("2")))

    def score_in_database():  # a change that bypasses the services (no save time): the sums still differ
        db.session.execute(update(AssessorScore).where(
            AssessorScore.assignment_id == scored["sheets"]["wa"].id, AssessorScore.indicator_id == i2)
            .values(points=D("1")))

    def scores_offsetting_in_database():  # +1 on one score, -1 on another of the same sheet: every sum
        sheet = scored["sheets"]["lb"].id  # of the inputs stays the same, the sheet's revision does not
        db.session.execute(update(AssessorScore).where(AssessorScore.assignment_id == sheet,
                                                       AssessorScore.indicator_id == i1).values(points=D("8")))
        db.session.execute(update(AssessorScore).where(AssessorScore.assignment_id == sheet,
                                                       AssessorScore.indicator_id == i2).values(points=D("3")))

    def score_deleted_in_database():
        db.session.execute(delete(AssessorScore).where(
            AssessorScore.assignment_id == scored["sheets"]["wa"].id, AssessorScore.indicator_id == i3))

    def sheet_comment_in_database():  # same length, no save time: the sheet's revision still moves
        db.session.execute(update(Assignment).where(Assignment.id == scored["sheets"]["wa"].id)
                           .values(comment="总体一般"))

    def self_score_deleted_in_database():
        db.session.execute(delete(SelfScore).where(SelfScore.application_id == a, SelfScore.indicator_id == i2))

    def weights():
        round_.weights = {"self": 50, "assessor": 50, "peer": 0}

    def method():
        round_.aggregation = "median"
        round_.disagreement_threshold = D("0.5")

    def thresholds():
        round_.thresholds = {"advanced": 30, "qualified": 5}

    def school():
        db.session.get(School, (world.d1, world.s1b)).name = "改名后的学校"

    def assessor_name():
        db.session.get(User, world.users["d1admin"]).display_name = "李评审"

    return [("rescore", rescore), ("reopen", reopen_only), ("comment", comment_only), ("raise", raise_veto),
            ("confirm", confirm_veto), ("self score", self_score), ("score in database", score_in_database),
            ("scores offsetting in database", scores_offsetting_in_database),
            ("score deleted in database", score_deleted_in_database),
            ("sheet comment in database", sheet_comment_in_database),
            ("self score deleted in database", self_score_deleted_in_database),
            ("weights", weights), ("method", method), ("thresholds", thresholds), ("school", school),
            ("assessor name", assessor_name)]


def test_every_input_change_invalidates_the_cache(scored):
    round_ = scored["round"]
    for what, change in _changes(scored):
        before = view(services.calibrate(round_))
        services.calibrate(round_)  # cached now
        change()
        db.session.flush()
        db.session.expire_all()
        round_ = db.session.get(Round, (round_.district_id, round_.id))
        cached = view(services.calibrate(round_))
        assert cached != before, what
        assert cached == view(from_scratch(round_)), what
        assert_table_matches(round_)
    db.session.rollback()


def test_decisions_are_read_on_every_view_without_recomputing(scored):
    round_, a, b = scored["round"], scored["a"], scored["b"]
    first = services.calibrate(round_)
    assert first.by_id[b].decision is None
    services.decide(round_, first.by_id[b].application, first.by_id[b].proposed, "")
    db.session.flush()
    second = services.calibrate(round_)
    assert second.by_id[b].combined is first.by_id[b].combined
    assert second.by_id[b].decided and second.by_id[b].decision.level == first.by_id[b].proposed
    assert view(second) == view(from_scratch(round_))
    assert not any("「" in p and "尚未确认" in p and second.by_id[b].school_name in p for p in second.problems())
    assert_table_matches(round_)
    table = services.calibration_table(round_)  # the page reads the decision without an entity
    assert table.row(b).decision.level == second.by_id[b].proposed and table.row(b).decided
    db.session.execute(update(AssessorScore).where(  # the decided total changes: stale on the page too
        AssessorScore.assignment_id == scored["sheets"]["wb"].id).values(points=D("1")))
    db.session.expire_all()
    round_ = db.session.get(Round, (round_.district_id, round_.id))
    assert services.calibration_table(round_).row(b).decision_stale
    assert_table_matches(round_)
    db.session.rollback()


def test_lazy_explanations_equal_the_eager_text():
    """The formula of a figure is built when first read, and is the text the rules give."""
    from app.rubrics.scoring import CategorySpec, IndicatorSpec, Inputs

    categories = [CategorySpec(id=1, name="甲类", cap=D(10))]
    indicators = [IndicatorSpec(id=1, category_id=1, kind="points", max_points=D(6), title="指标1"),
                  IndicatorSpec(id=2, category_id=1, kind="points", max_points=D(4), title="指标2")]
    sheets = {name: {1: Inputs(points=D(p1)), 2: Inputs(points=D(p2))}
              for name, p1, p2 in (("甲", 5, 3), ("乙", 4, 2), ("丙", 6, 4))}
    c = aggregation.combine(categories, indicators, {1: Inputs(points=D(5)), 2: Inputs(points=D("3.5"))}, sheets,
                            {"self": 20, "assessor": 80}, "median")
    ir = c.indicators[1]
    assert ir.figure.formula == "20% × 自评 5.00 + 80% × 考评 5.00 = 5.00"
    assert ir.figure.inputs[1].formula == "从小到大 4.00、5.00、6.00，取中间值 = 5.00"
    assert ir.figure.inputs[1].inputs[0].formula == "评分 5.00（满分 6.00）"
    assert c.explain() == c.explain() and c.explain().startswith("综评总分 = 8.10\n  算式：甲类 8.10 = 8.10\n  说明：权重：自评 20% + 考评 80%；汇总方式：中位数")
    assert aggregation.fmt(D("-0")) == "-0.00" and aggregation.fmt(D("0")) == "0.00"
    assert aggregation.fmt(D("1.005")) == "1.01" and aggregation.fmt(D("1.0050")) == "1.01"


def test_the_cache_is_bounded_by_entries_and_weight():
    lru = services._LRU(size=2, max_weight=100)
    lru.put("a", "f", 1, weight=40)
    lru.put("b", "f", 2, weight=40)
    assert lru.get("a", "f") == 1 and lru.get("a", "other") is None
    lru.put("c", "f", 3, weight=40)  # over the weight: the least recently used ("b") goes
    assert lru.get("b", "f") is None and lru.get("a", "f") == 1 and lru.get("c", "f") == 3
    lru.put("d", "f", 4, weight=10)  # over the count: "a" goes
    assert set(lru.items) == {"c", "d"}
    lru.put("e", "f", 5, weight=101)  # too big to keep at all
    assert lru.get("e", "f") is None and set(lru.items) == {"c", "d"}


def test_the_database_counts_every_write_of_a_score_row(scored):
    """The revisions the fingerprint reads are kept by the database (migration 0011), whoever writes:
    +1 on the sheet for each insert, update or delete of its score rows, +1 on the application for
    each write of its self scores; a sheet's ORM save counts too."""
    round_, setup, a = scored["round"], scored["setup"], scored["a"]
    i1, i2, i3 = setup.indicators
    sheet = scored["sheets"]["wa"]

    def revisions():
        return (db.session.scalar(select(Assignment.score_revision).where(Assignment.id == sheet.id)),
                db.session.scalar(select(Application.self_score_revision).where(Application.id == a)))

    score, own = revisions()
    assert score >= 1 and own >= 1  # the scores and self scores of the fixture were counted
    db.session.execute(update(AssessorScore).where(AssessorScore.assignment_id == sheet.id,
                                                   AssessorScore.indicator_id == i1).values(comment="改"))
    assert revisions() == (score + 1, own)
    db.session.execute(delete(AssessorScore).where(AssessorScore.assignment_id == sheet.id,
                                                   AssessorScore.indicator_id == i2))
    assert revisions() == (score + 2, own)
    db.session.execute(update(SelfScore).where(SelfScore.application_id == a, SelfScore.indicator_id == i3)
                       .values(note="改"))
    assert revisions() == (score + 2, own + 1)
    # an update of the sheet row itself counts too (migration 0013), once per row and statement
    db.session.execute(update(Assignment).where(Assignment.id == sheet.id).values(comment="总体一般"))
    assert revisions() == (score + 3, own + 1)
    db.session.execute(update(Assignment).where(Assignment.id == sheet.id).values(score_revision=0))
    assert revisions() == (score + 4, own + 1)  # never goes down
    other = scored["sheets"]["lb"]
    before = db.session.scalar(select(Assignment.score_revision).where(Assignment.id == other.id))
    other.reminded_at = other.submitted_at  # an ORM update of another column
    db.session.flush()
    assert db.session.scalar(select(Assignment.score_revision).where(Assignment.id == other.id)) == before + 1
    assessments.reopen_sheet(sheet, round_, "请复核")
    assessments.save_scores(sheet, round_, {i2: {"points": "5", "comment": ""}})
    db.session.flush()
    assert revisions()[0] > score + 2
    db.session.rollback()


def test_the_database_counts_every_write_of_a_submitted_sheet_on_its_application(scored):
    """application.sheets_revision (migration 0015), read with the applications by the fingerprint:
    it grows on every write of one of the application's submitted sheets or of their score rows,
    whoever writes; saves on an open sheet leave it alone (the assessing phase's traffic)."""
    round_, setup, a, b = scored["round"], scored["setup"], scored["a"], scored["b"]
    i1, i2, i3 = setup.indicators
    sheet = scored["sheets"]["wa"]

    def revision(application_id=a):
        return db.session.scalar(select(Application.sheets_revision).where(Application.id == application_id))

    start = revision()
    assert start >= 2 and revision(b) >= 2  # the fixture's submissions were counted
    db.session.execute(update(AssessorScore).where(AssessorScore.assignment_id == sheet.id,
                                                   AssessorScore.indicator_id == i1).values(points=D("7")))
    assert revision() == start + 1
    db.session.execute(update(Assignment).where(Assignment.id == sheet.id).values(comment="总体一般"))
    after_comment = revision()
    assert after_comment > start + 1
    assessments.reopen_sheet(sheet, round_, "请复核")
    db.session.flush()
    reopened = revision()
    assert reopened > after_comment
    assessments.save_scores(sheet, round_, {i2: {"points": "5", "comment": ""}})  # an open sheet: not counted
    db.session.flush()
    assert revision() == reopened
    assessments.submit_sheet(sheet, round_)
    db.session.flush()
    assert revision() > reopened
    submitted, other = revision(), revision(b)
    db.session.execute(delete(Assignment).where(Assignment.id == scored["sheets"]["lb"].id))
    assert revision(b) > other and revision() == submitted
    db.session.rollback()


def test_a_kept_round_is_moved_out_of_the_collectors_reach(scored, monkeypatch):
    """Once kept, a computed round's objects are frozen (gc.freeze): a full collection no longer walks
    them (at 500 schools ~1.5 M objects, ~0.8 s a collection). A small round is not worth it."""
    import gc

    round_ = scored["round"]
    services.calibration_cache().clear()
    small = services.calibrate(round_).rows[0].combined
    assert any(o is small for o in gc.get_objects())  # under SETTLE_WEIGHT: left to the collector
    monkeypatch.setattr(services, "SETTLE_WEIGHT", 1)
    try:
        services.calibration_cache().clear()
        kept = services.calibrate(round_).rows[0].combined
        assert gc.get_freeze_count() > 0 and not any(o is kept for o in gc.get_objects())
        assert services.calibrate(round_).rows[0].combined is kept  # and still the cached entry
    finally:
        gc.unfreeze()


def test_threads_missing_the_same_round_compute_it_once(app, scored, monkeypatch):
    """A cold cache under many users: one thread computes the round, the others wait for it and
    read its result (they do not all compute at once)."""
    import threading
    import time

    world, round_id = scored["world"], scored["round"].id
    db.session.commit()  # the threads read through their own connections
    computing = []
    real = services._compute

    def slow_compute(*args, **kwargs):
        computing.append(threading.get_ident())
        time.sleep(0.3)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "_compute", slow_compute)
    expected = view(from_scratch(scored["round"]))
    services.calibration_cache().clear()
    computing.clear()
    seen, failures = [], []

    def open_calibration():
        try:
            with in_district(app, world.d1):
                seen.append(view(services.calibrate(db.session.get(Round, (world.d1, round_id)))))
        except Exception as exc:  # surfaced below: an exception in a thread does not fail the test
            failures.append(exc)

    threads = [threading.Thread(target=open_calibration) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not failures
    assert len(computing) == 1 and len(seen) == 4
    assert all(result == expected for result in seen)


def test_the_table_reads_pending_findings_with_the_fingerprint(scored):
    """The page's rows carry the ids of the raised findings, read with the fingerprint (no query of
    their own); ``calibrate``'s rows the findings."""
    round_, world, a = scored["round"], scored["world"], scored["a"]
    application = db.session.get(Application, (world.d1, a))
    finding = assessments.raise_finding(application, round_, scored["setup"].indicators[2], "veto", "发现违纪情况",
                                        user_id=world.users["d1staff"], assessor=scored["wang"])
    db.session.flush()
    table = services.calibration_table(round_)
    assert table.row(a).unconfirmed == [finding.id] and table.row(scored["b"]).unconfirmed == []
    assert [f.id for f in services.calibrate(round_).by_id[a].unconfirmed] == [finding.id]
    assert any("第二人确认" in p for p in table.problems)
    db.session.rollback()
