"""A round ready for results: a published rubric (20 points, a veto item), applications of
s1a and s1b under assessment with self scores, and submitted assessor sheets.

The sheets come from app.assessments (helper A's contract) when it exists; ``FakeAssessments``
stands in for it (installed with ``use_fake``) so these tests do not depend on the scoring UI.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from app.extensions import db
from app.rubrics.scoring import Inputs


@dataclass
class FakeAssessments:
    sheets: dict = field(default_factory=dict)      # application id → {assessor id: {indicator id: Inputs}}
    gates: dict = field(default_factory=dict)
    pending: dict = field(default_factory=dict)
    comments: dict = field(default_factory=dict)
    names: dict = field(default_factory=dict)

    def submitted_sheets(self, round_):
        return self.sheets

    def confirmed_gates(self, round_):
        return self.gates

    def unconfirmed_findings(self, round_):
        return self.pending

    def sheet_comments(self, round_):
        return self.comments

    def assessor_names(self, round_):
        return self.names

    def sheet_progress(self, round_):
        return {}


def use_fake(monkeypatch, fake: FakeAssessments | None = None) -> FakeAssessments:
    from app.results import services

    fake = fake or FakeAssessments()
    monkeypatch.setattr(services, "_assessments", lambda: fake)
    return fake


@dataclass
class Setup:
    round_id: int
    rubric_id: int
    apps: dict           # "s1a"/"s1b" → application id
    indicators: list     # indicator ids: [i1 (10 pts), i2 (6 pts), i3 (4 pts, veto)]


def make_round(world, *, kind="title", status="assessing", quotas=None, thresholds=None, grade_bands=None,
               weights=None, target_tier="advanced", aggregation="mean", tie_break=None, publicity=5) -> Setup:
    """Call inside a district scope of d1."""
    from app.rounds.models import Application, Round, SelfScore
    from app.rubrics.models import Indicator, Rubric, RubricCategory

    rubric = Rubric(family=f"r-{kind}", version=1, name="考核细则", total_points=20, status="published")
    db.session.add(rubric)
    db.session.flush()
    c1 = RubricCategory(rubric_id=rubric.id, position=1, name="组织建设", cap=10)
    c2 = RubricCategory(rubric_id=rubric.id, position=2, name="民主管理", cap=10)
    db.session.add_all([c1, c2])
    db.session.flush()
    i1 = Indicator(rubric_id=rubric.id, category_id=c1.id, position=1, code="1", title="组织健全", kind="points",
                   max_points=10)
    i2 = Indicator(rubric_id=rubric.id, category_id=c2.id, position=1, code="2", title="教代会", kind="points",
                   max_points=6)
    i3 = Indicator(rubric_id=rubric.id, category_id=c2.id, position=2, code="3", title="无违纪", kind="points",
                   max_points=4, veto=True)
    round_ = Round(kind=kind, year=2026, name="先进职工之家评选" if kind == "title" else "年度考评", status=status,
                   rubric_id=rubric.id, target_tier=target_tier if kind == "title" else None,
                   opens_on=date(2026, 3, 1), closes_on=date(2026, 3, 31), quotas=quotas or {},
                   thresholds=thresholds or {}, grade_bands=grade_bands or [],
                   weights=weights or {"self": 20, "assessor": 80, "peer": 0}, aggregation=aggregation,
                   tie_break=tie_break or [], publicity_working_days=publicity)
    db.session.add_all([i1, i2, i3, round_])
    db.session.flush()
    apps = {}
    for key, school_id, points in (("s1a", world.s1a, (9, 5, 4)), ("s1b", world.s1b, (8, 5, 3))):
        application = Application(school_id=school_id, round_id=round_.id, status="under_assessment",
                                  latest_snapshot_no=1)
        db.session.add(application)
        db.session.flush()
        for indicator, p in zip((i1, i2, i3), points):
            db.session.add(SelfScore(school_id=school_id, application_id=application.id, indicator_id=indicator.id,
                                     points=p, passed=True if indicator.veto else None))
        apps[key] = application.id
    db.session.flush()
    return Setup(round_.id, rubric.id, apps, [i1.id, i2.id, i3.id])


def sheet(*points, passed=None) -> dict:
    """An assessor's inputs for the three indicators."""
    return {i: Inputs(points=p) for i, p in zip(range(3), points)}


def sheets_for(setup: Setup, by_app: dict) -> dict:
    """{"s1a": {assessor: (p1, p2, p3)}} → the contract's shape with real indicator ids."""
    out = {}
    for key, raters in by_app.items():
        out[setup.apps[key]] = {aid: {iid: Inputs(points=p) for iid, p in zip(setup.indicators, points)}
                                for aid, points in raters.items()}
    return out


def _shown(row) -> tuple:
    """What the calibration page, its explanations and its decision form read of a row."""
    p, d, c = row.placement, row.decision, row.combined
    return (row.id, row.application.school_id, row.school_name, str(row.rank) if row.rank else "",
            (p.level, p.label, p.status, p.reason) if p else None,
            (d.level, d.total, d.reason) if d else None, row.decided, row.decision_stale, row.is_tie,
            len(row.unconfirmed), row.comments, row.sheets, row.error, row.title.id if row.title else None,
            row.disagreement, c, row.median)


def assert_table_matches(round_) -> None:
    """``calibration_table`` (the page: order, counts and problems from the plain figures, rows for a
    page only) shows what ``calibrate`` and ``sorted_rows`` give, for every sort, both directions,
    with and without the flagged filter."""
    from app.results import services

    cal = services.calibrate(round_)
    for sort in services.SORTS:
        for descending in (False, True):
            for flagged_only in (False, True):
                table = services.calibration_table(round_, sort, descending, flagged_only=flagged_only)
                expected = services.sorted_rows(cal, sort, descending, flagged_only=flagged_only)
                assert table.order == [r.id for r in expected], (sort, descending, flagged_only)
                assert [_shown(r) for r in table.rows(table.order)] == [_shown(r) for r in expected]
                assert table.problems == cal.problems()
                assert table.count == len(cal.rows)
                assert table.flagged == sum(1 for r in cal.rows if services.is_flagged(r))
                shown = table.calibration
                assert (shown.errors, shown.flag_rule, shown.proposal, shown.assessor_names) == \
                    (cal.errors, cal.flag_rule, cal.proposal, cal.assessor_names)
    assert services.calibration_table(round_).row(-1) is None and services.calibration_row(round_, -1)[1] is None
    for row in cal.rows:  # one row alone, as an explained number and a decision form read it
        assert _shown(services.calibration_row(round_, row.id)[1]) == _shown(row)
