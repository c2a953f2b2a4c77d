"""Results of a round (issue 5 "Results", DESIGN §7–8): calibration, decisions, publication with
the 公示, objections, finalising with a frozen snapshot and the titles, and the Excel export.

Round state machine (checked by app/rounds/services.ROUND_TRANSITIONS):

    assessing ──start_calibrating──▶ calibrating ──publish──▶ publicised ──finalise──▶ final
                                          ▲                        │
                                          └──reopen_calibration────┘  (only after an upheld objection)

* start_calibrating: every application under assessment has enough submitted sheets for the
  round's method (when assessors carry weight); applications go to ``scored``.
* publish: every application has a confirmed decision that still matches its current total, no
  tie is left open, no veto / must-pass finding is waiting for its second confirmation. All
  results are released at once (a ResultPublication with the content the schools see) and the
  公示 runs for ``round.publicity_working_days`` working days from the day of publication
  (workdays.add_working_days; the district's overrides apply).
* Objections (异议): open ──uphold / reject (reason required)──▶ upheld / rejected; decided
  objections never change. Filing is possible while the 公示 runs (to its last day inclusive).
* Decision on an upheld objection (documented here, tested): upholding records that the
  objection is valid; it does not by itself change a result. A round with an upheld objection in
  its current publication cannot be finalised: the district sends it back to calibrating
  (reopen_calibration withdraws the publication, the results disappear from the schools' pages),
  corrects the decision or the scores, and publishes again — a new 公示 of full length.
* finalise: the 公示 is over (the day after its last day), no objection is open, none upheld;
  the results are frozen in a ResultSnapshot (never changed), applications become ``final`` and
  the titles are conferred (app.titles.services.confer_from_round; 复查: kept / revoked).

Services write and flush; the caller commits once. Every refusal is a Chinese message.
"""
from __future__ import annotations

import gc
import hashlib
import io
import threading
from collections import OrderedDict
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import NamedTuple

from flask import current_app, has_app_context
from sqlalchemy import func, select
from sqlalchemy import inspect as sa_inspect

from app.audit.services import ACTION_LABELS, record
from app.extensions import db
from app.i18n import N_
from app.results import aggregation, tiers, workdays
from app.results.aggregation import AggregationError, fmt
from app.results.models import (OBJECTION_OPEN, OBJECTION_REJECTED, OBJECTION_UPHELD, Objection, ObjectionFile,
                                ResultDecision, ResultPublication, ResultSnapshot, WorkdayOverride)
from app.rounds import services as rounds
from app.rounds.models import ANNUAL_REVIEW, RE_REVIEW, TITLE_ROUND, Application, Round, SelfScore
from app.rubrics.scoring import Inputs, ScoreInputError, q2
from app.spreadsheets import safe_cell
from app.titles.models import TIER_ORDER, TIERS, Title
from tenants.models import School
from tenants.scope import current_scope

ACTION_LABELS.update({
    "round_calibrating": "轮次进入核分",
    "result_decided": "确认/调整推荐结果",
    "results_published": "发布结果并开始公示",
    "results_withdrawn": "撤回公示，退回核分",
    "results_finalised": "结果定稿（命名）",
    "objection_filed": "提出异议",
    "objection_upheld": "异议成立",
    "objection_rejected": "异议不成立",
    "workday_override_set": "设置工作日调整",
    "workday_override_removed": "删除工作日调整",
})

RE_REVIEW_OUTCOMES = {"kept": "保留称号", "revoked": "摘牌"}
OBJECTION_TRANSITIONS = {OBJECTION_OPEN: {OBJECTION_UPHELD, OBJECTION_REJECTED}}
MAX_REASON = 2000
MAX_OBJECTION_FILES = 5
MAX_OBJECTION_BYTES = 10 * 1024 * 1024
IN_RESULTS = ("under_assessment", "scored", "final")


class ResultsError(ValueError):
    """A results rule refused the request (message in Chinese)."""


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


def _assessments():
    from app.assessments import services as assessments

    return assessments


def _reason(text, *, required: bool, what: str) -> str:
    text = (text or "").strip()
    if required and not text:
        raise ResultsError(f"请填写{what}的理由")
    if len(text) > MAX_REASON:
        raise ResultsError(f"{what}的理由不能超过 {MAX_REASON} 个字")
    return text


# --- labels ----------------------------------------------------------------------------------

def level_choices(round_: Round) -> dict:
    """The decisions a person can take for an application of this round: code → label ("" = none)."""
    if round_.kind == ANNUAL_REVIEW:
        return {code: tiers.GRADE_LABELS[code] for code in (*tiers.GRADE_ORDER, tiers.FAIL)}
    if round_.kind == RE_REVIEW:
        return dict(RE_REVIEW_OUTCOMES)
    allowed = _title_tiers(round_)
    return {**{code: TIERS[code] for code in reversed(allowed)}, "": tiers.NO_TIER_LABEL}


def level_label(round_: Round, code) -> str:
    if code in (None, ""):
        return tiers.NO_TIER_LABEL if round_.kind != ANNUAL_REVIEW else tiers.GRADE_LABELS[tiers.FAIL]
    return (TIERS.get(code) or tiers.GRADE_LABELS.get(code) or RE_REVIEW_OUTCOMES.get(code) or code)


def _title_tiers(round_: Round) -> list[str]:
    """Tiers this title round can confer: up to the tier applied for."""
    if round_.target_tier in TIER_ORDER:
        return TIER_ORDER[:TIER_ORDER.index(round_.target_tier) + 1]
    return list(TIER_ORDER)


# --- calibration -----------------------------------------------------------------------------

class AppFigures(NamedTuple):
    """An application of the round as the calibration reads it: plain columns, not an entity (the
    rows of a calibration table's page and of one explained number carry these; ``calibrate``'s
    rows, which the decisions write through, carry the Application entity)."""

    id: int
    school_id: int
    status: str
    first_submitted_at: datetime | None
    title_id: int | None
    self_score_revision: int
    sheets_revision: int


class DecisionFigures(NamedTuple):
    """A decision as the calibration table shows it (plain columns; see AppFigures)."""

    level: str | None
    total: Decimal | None
    reason: str
    proposed: str | None


def _is_stale(decision_total, combined) -> bool:
    """A decision taken on another total than the current one (scores changed since)."""
    return bool(combined and decision_total is not None and q2(Decimal(str(decision_total))) != combined.total)


def _problem(school_name: str, error, unconfirmed: bool, decision, stale: bool, tie: bool) -> str | None:
    """What stops the publication of one application (Chinese), None if nothing."""
    if error:
        return f"「{school_name}」：{error}"
    if unconfirmed:
        return f"「{school_name}」有一票否决或必备项认定尚待第二人确认"
    if decision is None:
        return f"「{school_name}」的结果尚未确认" + ("（同分待定）" if tie else "")
    if stale:
        return f"「{school_name}」的分数在确认后发生变化，请重新确认"
    return None


@dataclass
class Row:
    """One application as the calibration view, the decisions and the exports see it."""

    application: Application | AppFigures
    school_name: str
    combined: aggregation.CombinedScore | None = None
    error: str | None = None
    disagreement: aggregation.Disagreement | None = None
    placement: tiers.Placement | None = None
    rank: tiers.Rank | None = None
    decision: ResultDecision | DecisionFigures | None = None
    unconfirmed: list = field(default_factory=list)  # raised findings (entities; their ids on a table's rows)
    comments: list = field(default_factory=list)
    sheets: dict = field(default_factory=dict)       # rater label → {indicator_id: Inputs}
    title: Title | None = None                       # the title under 复查

    @property
    def id(self) -> int:
        return self.application.id

    @property
    def proposed(self) -> str | None:
        return self.placement.level if self.placement else None

    @property
    def is_tie(self) -> bool:
        return bool(self.placement and self.placement.status == tiers.TIE)

    @property
    def median(self):
        """The median of the assessors' totals (kept with the cached combined score once computed)."""
        c = self.combined
        if c is None:
            return None
        if "median" not in c.texts:
            totals = list(c.assessor_totals.values())
            c.texts["median"] = aggregation.aggregate(totals, aggregation.MEDIAN) if totals else None
        return c.texts["median"]

    @property
    def decision_stale(self) -> bool:
        """The decision was taken on another total (scores changed since)."""
        return bool(self.decision) and _is_stale(self.decision.total, self.combined)

    @property
    def decided(self) -> bool:
        return self.decision is not None and not self.decision_stale


@dataclass
class Calibration:
    round: Round
    parts: rounds.RubricParts
    rows: list
    proposal: tiers.TierProposal | None = None
    errors: list = field(default_factory=list)
    flag_rule: str = ""
    assessor_names: dict = field(default_factory=dict)

    @property
    def by_id(self) -> dict:
        return {r.id: r for r in self.rows}

    def problems(self) -> list[str]:
        """What stops publication (Chinese)."""
        out = list(self.errors)
        for r in self.rows:
            problem = _problem(r.school_name, r.error, bool(r.unconfirmed), r.decision, r.decision_stale, r.is_tie)
            if problem:
                out.append(problem)
        return out


def _rater_labels(sheets: dict, names: dict) -> dict:
    """assessor id → a label unique within the round (the name, with the id on a clash)."""
    counts: dict = {}
    for aid in {a for by_app in sheets.values() for a in by_app}:
        counts.setdefault(names.get(aid, str(aid)), []).append(aid)
    labels = {}
    for name, ids in counts.items():
        for aid in ids:
            labels[aid] = name if len(ids) == 1 else f"{name}（#{aid}）"
    return labels


def _levels(round_: Round):
    if round_.kind == ANNUAL_REVIEW:
        return tiers.grade_levels(round_.grade_bands or [], round_.quotas or {}), tiers.FAIL
    allowed = _title_tiers(round_) if round_.kind == TITLE_ROUND else list(TIER_ORDER)
    quotas = {k: v for k, v in (round_.quotas or {}).items() if k in allowed} if round_.kind == TITLE_ROUND else {}
    thresholds = {k: v for k, v in (round_.thresholds or {}).items() if k in allowed}
    levels = tiers.title_levels(quotas, thresholds)
    if not levels and round_.kind == TITLE_ROUND and round_.target_tier in TIERS:
        levels = [tiers.Level(round_.target_tier, TIERS[round_.target_tier])]
    return levels, None


@dataclass
class _Computed:
    """The part of a calibration that is pure arithmetic over the round's inputs (no ORM objects):
    kept in a process-local cache keyed by a fingerprint of those inputs (``_fingerprint``)."""

    combined: dict          # application id → CombinedScore
    errors: dict            # application id → why it has no combined score
    sheets: dict            # application id → rater label → {indicator id: Inputs}
    comments: dict          # application id → [comment dicts]
    names: dict             # assessor id → name
    flags: dict = field(default_factory=dict)
    flag_rule: str = ""
    proposal: tiers.TierProposal | None = None
    ranks: dict = field(default_factory=dict)
    round_errors: list = field(default_factory=list)
    placed: bool = False    # proposal and ranks computed without a TierError
    weight: int = 0         # score inputs it was computed from (self and assessors)


class _LRU:
    """A thread-safe LRU of (fingerprint, _Computed) per (district, round), bounded by the number of
    entries and by their total weight (the score inputs they were computed from: ~1.3 KB of kept
    figures each, ~200 MB for a 500-school round with 5 assessors and 60 indicators)."""

    def __init__(self, size: int, max_weight: int):
        self.size = size
        self.max_weight = max_weight
        self.items: OrderedDict = OrderedDict()
        self.weights: dict = {}
        self.lock = threading.Lock()
        self.building: dict = {}  # key → the lock held by the one thread computing that entry

    def building_lock(self, key) -> threading.Lock:
        """The lock a thread holds while it computes ``key``: the other threads of the process that
        miss the same entry wait for it and then read its result, instead of all computing the
        round at once (a cold cache under 50 users made every thread compute for seconds)."""
        with self.lock:
            if len(self.building) > 256:  # forget idle locks of old keys
                self.building = {k: v for k, v in self.building.items() if v.locked()}
            return self.building.setdefault(key, threading.Lock())

    def get(self, key, fingerprint):
        with self.lock:
            entry = self.items.get(key)
            if entry is None or entry[0] != fingerprint:
                return None
            self.items.move_to_end(key)
            return entry[1]

    def put(self, key, fingerprint, value, weight: int = 0) -> bool:
        """Keep ``value``; False if it is too big to keep (computed on every view)."""
        with self.lock:
            self.items.pop(key, None)
            self.weights.pop(key, None)
            if weight > self.max_weight:
                return False
            self.items[key] = (fingerprint, value)
            self.weights[key] = weight
            while len(self.items) > self.size or sum(self.weights.values()) > self.max_weight:
                old, _entry = self.items.popitem(last=False)
                self.weights.pop(old, None)
            return True

    def clear(self) -> None:
        with self.lock:
            self.items.clear()
            self.weights.clear()


CACHE_SIZE = 8             # rounds kept per process
CACHE_WEIGHT = 250_000     # score inputs kept per process (a 500-school round: ~180,000)

_gc_lock = threading.Lock()
_gc_state = {"pauses": 0, "was_enabled": False}


@contextmanager
def _gc_paused():
    """Pause the cyclic garbage collector while the calibration builds its ~10⁶ small objects (none
    of them in a cycle): at 500 schools the collector's repeated passes over them cost more than
    the arithmetic. Counted, so overlapping pauses from several threads restore it once."""
    with _gc_lock:
        if _gc_state["pauses"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["pauses"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["pauses"] -= 1
            if _gc_state["pauses"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


_settle_lock = threading.Lock()
SETTLE_WEIGHT = 10_000     # score inputs from which a kept round is settled (a 500-school round: ~180,000)


def _settle() -> None:
    """After a computed round was kept: one full collection, then every object the cyclic collector
    tracks goes to its permanent generation (``gc.freeze``), the cached rounds' ~10⁶ objects among
    them. Otherwise every later full collection walked them (~0.8 s at 500 schools, ~1.5 M objects,
    stalling each thread of the worker, whatever page it served) and collected nothing: an entry
    is only ever dropped whole, by reference counting. The collector first takes back what earlier
    settles froze (``gc.unfreeze``), so cyclic garbage frozen with them (objects of other requests
    alive at that moment) is collected at the next settle at the latest: nothing leaks for good.
    Once per computed round (its ~3 s), under a lock; what the web worker froze at start
    (app/gunicorn_conf.py) is frozen again."""
    with _settle_lock:
        gc.unfreeze()
        gc.collect()
        gc.freeze()


def calibration_cache() -> _LRU | None:
    """The process-local cache of the current app (None outside an app context)."""
    if not has_app_context():
        return None
    return current_app.extensions.setdefault("results.calibrations", _LRU(CACHE_SIZE, CACHE_WEIGHT))


def _fingerprint(round_: Round, parts, applications, schools, assessment_inputs) -> tuple:
    """Every input of ``_compute`` in a few cheap values: the round's settings, the rubric, the
    applications (AppFigures, read as rows: their self-score and sheets revisions are counted by
    the database on every write of a self score row, of a score sheet or of its score rows, whoever
    makes it; migrations 0011 and 0015), their schools and the assessments' own fingerprint
    (findings, assessors' names). Immutable values only (the settings, JSON columns among them, as
    their repr), compared whole by the cache: no digest to compute, no collision possible."""
    settings = repr(tuple((c.key, getattr(round_, c.key)) for c in sa_inspect(Round).column_attrs))
    specs = tuple(tuple(part) for part in parts.specs()) if parts.rubric is not None else None
    return settings, specs, tuple(applications), tuple(sorted(schools.items())), assessment_inputs


_APP_COLUMNS = (Application.id, Application.school_id, Application.status, Application.first_submitted_at,
                Application.title_id, Application.self_score_revision, Application.sheets_revision)
_SCHOOL_COLUMNS = (School.name, School.member_count, School.staff_count)
_DECISION_COLUMNS = (ResultDecision.level, ResultDecision.total, ResultDecision.reason, ResultDecision.proposed,
                     ResultDecision.id)


def _round_rows(round_: Round, *, entities: bool) -> tuple[list, dict, dict, dict]:
    """The round's applications in the results with their schools and decisions, in ONE statement:
    (AppFigures by application id, schools {id: (name, members, staff)}, decisions by application id,
    entities by application id). The figures are read as columns, fresh from the database even where
    an entity of the session is older. With ``entities`` the Application and ResultDecision entities
    come too (the rows the decisions write through); otherwise decisions are DecisionFigures."""
    columns = [*_APP_COLUMNS, *_SCHOOL_COLUMNS]
    columns += [Application, ResultDecision] if entities else list(_DECISION_COLUMNS)
    statement = (select(*columns)
                 .outerjoin(School, (School.district_id == Application.district_id)
                            & (School.id == Application.school_id))
                 .outerjoin(ResultDecision, (ResultDecision.district_id == Application.district_id)
                            & (ResultDecision.application_id == Application.id)
                            & (ResultDecision.round_id == Application.round_id))
                 .where(Application.round_id == round_.id, Application.status.in_(IN_RESULTS))
                 .order_by(Application.id))
    applications, schools, decisions, loaded = [], {}, {}, {}
    for row in db.session.execute(statement):
        figures = AppFigures(*row[:7])
        applications.append(figures)
        if row[7] is not None:
            schools[figures.school_id] = tuple(row[7:10])
        if entities:
            loaded[figures.id] = row[10]
            if row[11] is not None:
                decisions[figures.id] = row[11]
        elif row[14] is not None:
            decisions[figures.id] = DecisionFigures(*row[10:14])
    return applications, schools, decisions, loaded


@dataclass
class _Round:
    """What one view of a round's calibration reads: its inputs, the (cached) arithmetic over them,
    the decisions and the pending findings."""

    round: Round
    parts: rounds.RubricParts
    applications: list      # AppFigures, by application id
    schools: dict
    decisions: dict         # application id → ResultDecision (entities) or DecisionFigures
    entities: dict          # application id → Application (entities only)
    computed: _Computed
    pending: dict

    def calibration(self, rows: list) -> Calibration:
        computed = self.computed
        return Calibration(round=self.round, parts=self.parts, rows=rows, assessor_names=computed.names,
                           errors=list(computed.round_errors), flag_rule=computed.flag_rule,
                           proposal=computed.proposal)

    def school_name(self, application) -> str:
        return self.schools.get(application.school_id, ("",))[0]

    def rank(self, application_id: int):
        computed = self.computed
        if computed.placed and application_id in computed.proposal.placements:
            return computed.ranks[application_id]
        return None

    def row(self, application, title=None) -> Row:
        computed, app_id = self.computed, application.id
        row = Row(application=self.entities.get(app_id, application), school_name=self.school_name(application),
                  decision=self.decisions.get(app_id), unconfirmed=list(self.pending.get(app_id, [])),
                  comments=list(computed.comments.get(app_id, [])), sheets=computed.sheets.get(app_id, {}),
                  title=title, combined=computed.combined.get(app_id), error=computed.errors.get(app_id),
                  disagreement=computed.flags.get(app_id))
        if computed.placed and app_id in computed.proposal.placements:
            row.placement = computed.proposal.placements[app_id]
            row.rank = computed.ranks[app_id]
            if self.round.kind == RE_REVIEW:
                row.placement = _re_review_placement(row)
        return row

    def titles(self, applications) -> dict:
        """The titles under 复查 of these applications (a query in a 复查 round only)."""
        ids = [a.title_id for a in applications if a.title_id]
        if self.round.kind != RE_REVIEW or not ids:
            return {}
        return {t.id: t for t in db.session.scalars(select(Title).where(Title.id.in_(ids)))}

    def rows(self, applications) -> list[Row]:
        if self.parts.rubric is None:
            return []
        titles = self.titles(applications)
        return [self.row(a, titles.get(a.title_id)) for a in applications]


def _read(round_: Round, *, entities: bool) -> _Round:
    """The inputs of a round's calibration and its arithmetic, from the process-local cache while the
    fingerprint of the inputs is unchanged (decisions and pending findings are always read).
    Constant queries however many applications, assessors and indicators there are."""
    parts = rounds.rubric_parts(round_.rubric_id)
    applications, schools, decisions, loaded = _round_rows(round_, entities=entities)

    assessments = _assessments()
    cache = calibration_cache()
    fingerprint_of = getattr(assessments, "inputs_fingerprint", None)
    key = fingerprint = computed = None
    pending = None  # read with the inputs when computing, on its own otherwise
    if cache is not None and fingerprint_of is not None:
        scope = current_scope()  # who reads: a district and a school scope never share an entry
        key = (round_.district_id, round_.id, scope.kind if scope else None, scope.school_ids if scope else None)
        inputs = fingerprint_of(round_)
        fingerprint = _fingerprint(round_, parts, applications, schools, inputs)
        computed = cache.get(key, fingerprint)
        if not entities and hasattr(assessments, "raised_in"):
            pending = assessments.raised_in(inputs)  # finding ids, read with the fingerprint
    if computed is None and key is not None:
        with cache.building_lock(key):
            computed = cache.get(key, fingerprint)  # built by another thread while this one waited
            if computed is None:
                with _gc_paused():
                    computed, computed_pending = _compute(round_, parts, applications, schools, assessments)
                pending = computed_pending if pending is None else pending
                if cache.put(key, fingerprint, computed, weight=computed.weight) and computed.weight >= SETTLE_WEIGHT:
                    _settle()  # a small round's objects cost the collector little: not worth a full collection
    elif computed is None:
        with _gc_paused():
            computed, computed_pending = _compute(round_, parts, applications, schools, assessments)
        pending = computed_pending if pending is None else pending
    if pending is None:
        pending = assessments.unconfirmed_findings(round_) or {}
    return _Round(round_, parts, applications, schools, decisions, loaded, computed, pending)


def calibrate(round_: Round) -> Calibration:
    """Every number of the round, a row per application (with the Application and ResultDecision
    entities the decisions write through), in a constant number of queries however many
    applications, assessors and indicators there are. The arithmetic is reused from a process-local
    cache while the fingerprint of its inputs is unchanged."""
    read = _read(round_, entities=True)
    return read.calibration(read.rows(read.applications))


@dataclass
class CalibrationTable:
    """The calibration page's view of a round: the whole round's order, counts and problems from
    the cached plain figures; Row objects only for the rows shown (``rows``)."""

    calibration: Calibration  # its rows: none (``rows`` builds those of a page)
    order: list               # application ids in the order asked for (after the flagged filter)
    count: int                # applications in the results
    flagged: int              # of them with a disagreement (评审分歧)
    problems: list            # what stops publication, as Calibration.problems()
    _read: _Round

    def rows(self, application_ids) -> list[Row]:
        by_id = {a.id: a for a in self._read.applications}
        return self._read.rows([by_id[i] for i in application_ids if i in by_id])

    def row(self, application_id: int) -> Row | None:
        rows = self.rows([application_id])
        return rows[0] if rows else None


def calibration_row(round_: Round, application_id: int) -> tuple[Calibration, Row | None]:
    """(the round's calibration without rows, the row of one application or None if it is not in
    the results): for one explained number or one decision form, no order and no problems."""
    read = _read(round_, entities=False)
    rows = read.rows([a for a in read.applications if a.id == application_id])
    return read.calibration([]), (rows[0] if rows else None)


def calibration_table(round_: Round, sort: str = "rank", descending: bool = False, *,
                      flagged_only: bool = False) -> CalibrationTable:
    """The calibration of a round for its page (and for one of its numbers): sorted over the whole
    round, counted and checked from the cached figures, without an entity or a Row per application.
    Same order, counts and problems as ``sorted_rows`` / ``Calibration.problems`` over ``calibrate``."""
    read = _read(round_, entities=False)
    computed = read.computed
    calibration = read.calibration([])
    if read.parts.rubric is None:
        return CalibrationTable(calibration, [], 0, 0, calibration.problems(), read)
    flags, combined, decisions = computed.flags, computed.combined, read.decisions
    placements = computed.proposal.placements if computed.placed else {}
    problems = list(calibration.errors)
    flagged = []
    for a in read.applications:
        app_id = a.id
        c = combined.get(app_id)
        disagreement = flags.get(app_id)
        if disagreement is not None and disagreement.any:
            flagged.append(a)
        decision = decisions.get(app_id)
        placement = placements.get(app_id)
        tie = read.round.kind != RE_REVIEW and placement is not None and placement.status == tiers.TIE
        problem = _problem(read.school_name(a), computed.errors.get(app_id), bool(read.pending.get(app_id)),
                           decision, decision is not None and _is_stale(decision.total, c), tie)
        if problem:
            problems.append(problem)
    key = SORTS.get(sort, SORTS["rank"])
    shown = flagged if flagged_only else read.applications
    order = sorted(shown, key=lambda a: key(read.school_name(a), combined.get(a.id), read.rank(a.id)),
                   reverse=descending)
    return CalibrationTable(calibration, [a.id for a in order], len(read.applications), len(flagged), problems, read)


def _compute(round_: Round, parts, applications, schools: dict, assessments) -> tuple[_Computed, dict]:
    """The arithmetic of ``calibrate`` (and the pending findings read with its inputs)."""
    ids = [a.id for a in applications]
    self_inputs: dict = {i: {} for i in ids}
    if ids:
        for app_id, indicator_id, points, units, rate, passed in db.session.execute(
                select(SelfScore.application_id, SelfScore.indicator_id, SelfScore.points, SelfScore.units,
                       SelfScore.rate, SelfScore.passed).where(SelfScore.application_id.in_(ids))):
            self_inputs.setdefault(app_id, {})[indicator_id] = Inputs(points=points, units=units, rate=rate,
                                                                      passed=passed)
    loader = getattr(assessments, "calibration_inputs", None)
    if loader is not None:
        inputs = loader(round_)
        sheets, gates, pending = inputs["sheets"] or {}, inputs["gates"] or {}, inputs["pending"] or {}
        comments, names = inputs["comments"] or {}, inputs["names"] or {}
    else:  # the results tests' stand-in for app.assessments
        sheets = assessments.submitted_sheets(round_) or {}
        gates = assessments.confirmed_gates(round_) or {}
        pending = assessments.unconfirmed_findings(round_) or {}
        comments = assessments.sheet_comments(round_) or {}
        names = assessments.assessor_names(round_) or {}
    labels = _rater_labels(sheets, names)
    computed = _Computed(combined={}, errors={}, sheets={}, comments=comments, names=names,
                         weight=sum(len(s) for s in self_inputs.values())
                         + sum(len(s) for by_assessor in sheets.values() for s in by_assessor.values()))
    if parts.rubric is None:
        computed.round_errors.append("本轮次没有考核细则")
        return computed, pending
    categories, indicators = parts.specs()
    names_of = {a.id: schools.get(a.school_id, ("",))[0] for a in applications}
    for application in applications:
        by_assessor = sheets.get(application.id, {})
        computed.sheets[application.id] = rater_sheets = {labels[aid]: inputs for aid, inputs in by_assessor.items()}
        vetoes, failed = gates.get(application.id, (set(), set()))
        try:
            computed.combined[application.id] = aggregation.combine(
                categories, indicators, self_inputs.get(application.id, {}), rater_sheets, round_.weights or {},
                round_.aggregation or "mean", confirmed_vetoes=vetoes, failed_must_pass=failed)
        except (AggregationError, ScoreInputError) as exc:
            computed.errors[application.id] = str(exc)

    results = computed.combined
    if results:
        computed.flags = aggregation.flag_disagreements(results, round_.disagreement_threshold)
        computed.flag_rule = next(iter(computed.flags.values())).rule
        by_id = {a.id: a for a in applications}
        candidates = []
        for app_id, combined in results.items():
            application = by_id[app_id]
            school = schools.get(application.school_id)
            rate = (Decimal(school[1]) * 100 / school[2]) if school and school[2] else None
            candidates.append(tiers.Candidate.from_combined(app_id, combined, name=names_of[app_id],
                                                            membership_rate=rate,
                                                            submitted_at=application.first_submitted_at))
        try:
            levels, below = _levels(round_)
            computed.proposal = tiers.propose_tiers(candidates, levels, round_.tie_break or [], below=below)
            ranks = tiers.competition_ranks(candidates, round_.tie_break or [])
        except tiers.TierError as exc:
            computed.round_errors.append(str(exc))
        else:
            computed.ranks, computed.placed = ranks, True
    return computed, pending


def _re_review_placement(row: Row) -> tiers.Placement:
    """复查: keep the title when the reached tier is at least the title's tier."""
    placement = row.placement
    title = row.title
    if title is None:
        return tiers.Placement(row.id, None, "—", tiers.NOT_REACHED, "没有待复查的称号")
    reached = placement.level
    keep = reached in TIER_ORDER and TIER_ORDER.index(reached) >= TIER_ORDER.index(title.tier)
    code = "kept" if keep else "revoked"
    why = (f"达到「{TIERS[title.tier]}」标准" if keep else f"未达到「{TIERS[title.tier]}」标准") + f"；{placement.reason}"
    return tiers.Placement(row.id, code, RE_REVIEW_OUTCOMES[code], tiers.PROPOSED, why)


# sort key → the value of (school name, combined score, rank) it sorts by
SORTS = {
    "school": lambda name, c, rank: name,
    "self": lambda name, c, rank: c.self_total if c else Decimal(-1),
    "assessor": lambda name, c, rank: (c.assessor_column_total or Decimal(-1)) if c else Decimal(-1),
    "total": lambda name, c, rank: c.total if c else Decimal(-1),
    "range": lambda name, c, rank: c.assessor_spread.range if c and c.assessor_spread else Decimal(-1),
    "rank": lambda name, c, rank: rank.position if rank else 10 ** 6,
}


def sorted_rows(calibration: Calibration, sort: str = "rank", descending: bool = False, *,
                flagged_only: bool = False) -> list[Row]:
    """Every row in the order asked for (the whole round: the page is cut from it afterwards, so the
    order is global), only the flagged ones (评审分歧) if asked."""
    key = SORTS.get(sort, SORTS["rank"])
    rows = [r for r in calibration.rows if is_flagged(r)] if flagged_only else calibration.rows
    return sorted(rows, key=lambda r: key(r.school_name, r.combined, r.rank), reverse=descending)


def is_flagged(row: Row) -> bool:
    return bool(row.disagreement and row.disagreement.any)


# The numbers of the calibration table that open to their inputs (one fragment each, on demand).
FIGURES = {"self": N_("自评总分"), "assessor": N_("考评分"), "total": N_("综评总分"), "spread": N_("评审均分与极差"),
           "proposal": N_("推荐")}


def explain_figure(row: Row, figure: str) -> tuple[str, str] | None:
    """(the number as shown, how it was computed) for one figure of one row; None if that row has
    no such number (no combined score, no proposal)."""
    c = row.combined
    if figure == "proposal":
        return (row.placement.label, row.placement.reason) if row.placement else None
    if c is None:
        return None
    if figure == "self":
        return fmt(c.self_total), explain_self(c)
    if figure == "assessor":
        return fmt(c.assessor_column_total), explain_assessor_column(c)
    if figure == "total":
        return fmt(c.total), c.explain()
    if figure == "spread":
        spread = c.assessor_spread
        shown = f"{fmt(spread.mean)} / {fmt(spread.range)}" if spread else fmt(None)
        return shown, explain_spread(c)
    return None


def explain_self(combined: aggregation.CombinedScore) -> str:
    """Built once per combined score (the calibration is cached, the page shows it every time)."""
    text = combined.texts.get("explain_self")
    if text is None:
        text = combined.texts["explain_self"] = _explain_self(combined)
    return text


def _explain_self(combined: aggregation.CombinedScore) -> str:
    result = combined.self_result
    parts = " + ".join(f"{combined.category_names[c]} {fmt(v['subtotal'])}" for c, v in result.categories.items())
    lines = [f"自评总分 = {fmt(result.total)}", f"  算式：{parts} = {fmt(result.total)}"]
    for i, r in combined.indicators.items():
        lines.append(f"    「{r.title}」自评 {fmt(r.self_points)}")
    return "\n".join(lines)


def explain_assessor_column(combined: aggregation.CombinedScore) -> str:
    """Built once per combined score (the calibration is cached, the page shows it every time)."""
    text = combined.texts.get("explain_assessor_column")
    if text is None:
        text = combined.texts["explain_assessor_column"] = _explain_assessor_column(combined)
    return text


def _explain_assessor_column(combined: aggregation.CombinedScore) -> str:
    if combined.assessor_column_total is None:
        return "没有评审分"
    lines = [f"考评分（各指标按{aggregation.METHODS[combined.method]}汇总后合计）= {fmt(combined.assessor_column_total)}"]
    for r in combined.indicators.values():
        lines.append(f"  「{r.title}」{r.figure.inputs[1].formula if len(r.figure.inputs) > 1 else fmt(r.assessor_value)}")
    return "\n".join(lines)


def explain_rater(combined: aggregation.CombinedScore, rater) -> str:
    result = combined.assessor_results[rater]
    lines = [f"评审 {rater} 的总分 = {fmt(result.total)}"]
    for i, r in combined.indicators.items():
        lines.append(f"  「{r.title}」{fmt(r.assessor_points.get(rater))}")
    return "\n".join(lines)


def explain_spread(combined: aggregation.CombinedScore) -> str:
    """Built once per combined score (the calibration is cached, the page shows it every time)."""
    text = combined.texts.get("explain_spread")
    if text is None:
        text = combined.texts["explain_spread"] = _explain_spread(combined)
    return text


def _explain_spread(combined: aggregation.CombinedScore) -> str:
    spread = combined.assessor_spread
    if spread is None:
        return "没有评审分"
    totals = "、".join(f"{rater} {fmt(t)}" for rater, t in combined.assessor_totals.items())
    return f"各评审总分：{totals}\n{spread.describe()}，平均 {fmt(spread.mean)}"


# --- decisions ---------------------------------------------------------------------------------

def _require_round(round_: Round, *states: str, doing: str) -> None:
    if round_.status not in states:
        raise ResultsError(f"轮次当前为「{round_.status_label}」，不能{doing}")


def decide(round_: Round, application: Application, level, reason: str = "", *, user_id=None,
           calibration: Calibration | None = None) -> ResultDecision:
    """Confirm the proposal or change it. A change, a tie and a gated application need a reason."""
    _require_round(round_, "calibrating", doing="确认或调整结果")
    if application.round_id != round_.id:
        raise ResultsError("申报不属于本轮次")
    level = level or None
    choices = level_choices(round_)
    if (level or "") not in choices:
        raise ResultsError("请选择有效的结果")
    calibration = calibration or calibrate(round_)
    row = calibration.by_id.get(application.id)
    if row is None or row.combined is None:
        raise ResultsError("该申报还没有可用的综评分：" + (row.error if row and row.error else "请先完成评分"))
    if row.unconfirmed:
        raise ResultsError("该申报有一票否决或必备项认定尚待第二人确认，确认后才能决定结果")
    proposed = row.proposed
    changed = (level or None) != (proposed or None) or row.is_tie
    if round_.kind == ANNUAL_REVIEW and not row.combined.gates_passed and level != tiers.FAIL:
        raise ResultsError("一票否决或必备项未达到（已确认）的学校等次只能为不合格")
    if round_.kind == TITLE_ROUND and not row.combined.gates_passed and level:
        raise ResultsError("一票否决或必备项未达到（已确认）的学校不能授予称号")
    what = "同分待定的决定" if row.is_tie else "调整推荐结果"
    reason = _reason(reason, required=changed, what=what)
    decision = row.decision
    before = (decision.level if decision else None)
    if decision is None:
        decision = ResultDecision(school_id=application.school_id, round_id=round_.id, application_id=application.id)
        db.session.add(decision)
    decision.proposed = proposed
    decision.level = level
    decision.total = row.combined.total
    decision.reason = reason
    decision.decided_by = user_id
    decision.decided_at = _utcnow()
    db.session.flush()
    record("result_decided", target=application,
           details={"round": round_.name, "school": row.school_name, "proposed": proposed, "decided": level,
                    "previous": before, "total": fmt(row.combined.total), "reason": reason,
                    "tie": row.is_tie, "changed": changed})
    return decision


def confirm_proposals(round_: Round, *, user_id=None) -> int:
    """Confirm every clear proposal not yet decided (ties and pending findings are left to a person)."""
    _require_round(round_, "calibrating", doing="确认推荐结果")
    calibration = calibrate(round_)
    count = 0
    for row in calibration.rows:
        if row.combined is None or row.is_tie or row.unconfirmed or row.placement is None or row.decided:
            continue
        decide(round_, row.application, row.proposed, "", user_id=user_id, calibration=calibration)
        row.decision = db.session.scalar(select(ResultDecision).where(
            ResultDecision.application_id == row.id))
        count += 1
    return count


# --- round transitions ----------------------------------------------------------------------------

def start_calibrating(round_: Round, *, user_id=None) -> int:
    """assessing → calibrating; applications under assessment become scored."""
    if round_.status != "assessing":
        raise rounds.RoundError(f"轮次当前为「{round_.status_label}」，不能进入核分")
    rounds._require_transition(round_, "calibrating")
    applications = list(db.session.scalars(select(Application).where(
        Application.round_id == round_.id, Application.status == "under_assessment")))
    if not applications:
        raise ResultsError("本轮次没有处于评审中的申报，不能进入核分")
    weights = round_.weights or {}
    if weights.get("assessor"):
        sheets = _assessments().submitted_sheets(round_) or {}
        need = aggregation.min_count(round_.aggregation or "mean")
        schools = dict(db.session.execute(select(School.id, School.name).where(
            School.id.in_([a.school_id for a in applications]))).all())
        short = [schools.get(a.school_id, str(a.id)) for a in applications if len(sheets.get(a.id, {})) < need]
        if short:
            raise ResultsError(f"以下学校提交的评分表不足 {need} 份，不能进入核分："
                               + "、".join(f"「{n}」" for n in short))
    for application in applications:
        application.status = "scored"
    round_.status = "calibrating"
    db.session.flush()
    record("round_calibrating", target=round_, details={"name": round_.name, "scored": len(applications)})
    return len(applications)


def workday_overrides() -> dict:
    return {o.day: o.working for o in db.session.scalars(select(WorkdayOverride))}


def publicity_window(start: date, n: int, overrides: dict | None = None) -> tuple[date, date]:
    """(first day, last day) of an n-working-day 公示 published on ``start``."""
    overrides = workday_overrides() if overrides is None else overrides
    try:
        first = workdays.add_working_days(start, 1, overrides)
        last = workdays.add_working_days(start, n, overrides)
    except workdays.CalendarMissing as exc:
        raise ResultsError(str(exc)) from None
    return first, last


def active_publication(round_: Round) -> ResultPublication | None:
    return db.session.scalar(select(ResultPublication).where(
        ResultPublication.round_id == round_.id, ResultPublication.withdrawn_at.is_(None))
        .order_by(ResultPublication.number.desc()))


def publication_content(calibration: Calibration) -> dict:
    round_ = calibration.round
    rows = []
    feedback = {}
    for r in sorted_rows(calibration, "rank"):
        c = r.combined
        specs = calibration.parts.by_id
        rows.append({
            "application_id": r.id, "school_id": r.application.school_id, "school": r.school_name,
            "self_total": fmt(c.self_total), "assessor_total": fmt(c.assessor_column_total)
            if c.assessor_column_total is not None else None,
            "total": fmt(c.total), "rank": str(r.rank) if r.rank else "", "rank_position": r.rank.position
            if r.rank else None, "level": r.decision.level, "level_label": level_label(round_, r.decision.level),
            "gates_passed": c.gates_passed,
            "vetoed": [specs[i].title for i in c.vetoed if i in specs],
            "must_pass_failed": [specs[i].title for i in c.must_pass_failed if i in specs],
        })
        # Feedback for the school: the assessors' comments, assessors shown as 评审 1, 2, … only.
        order = {}
        items = []
        for comment in r.comments:
            number = order.setdefault(comment.get("assessor_id"), len(order) + 1)
            indicator = specs.get(comment.get("indicator_id"))
            items.append({"assessor": f"评审 {number}", "indicator": indicator.title if indicator else "总体意见",
                          "comment": comment.get("comment", "")})
        feedback[str(r.application.school_id)] = {
            "categories": [{"name": c.category_names[cid], "subtotal": fmt(v["subtotal"])}
                           for cid, v in c.categories.items()],
            "comments": items,
        }
    return {"round": {"id": round_.id, "name": round_.name, "year": round_.year, "kind": round_.kind},
            "rubric": {"name": calibration.parts.rubric.name, "version": calibration.parts.rubric.version},
            "weights": round_.weights, "method": round_.aggregation, "rows": rows, "feedback": feedback}


def publish(round_: Round, *, user_id=None, today: date | None = None) -> ResultPublication:
    """calibrating → publicised: release every result at once and start the 公示."""
    today = today or rounds.china_today()
    rounds._require_transition(round_, "publicised")
    calibration = calibrate(round_)
    if not calibration.rows:
        raise ResultsError("本轮次没有可发布的结果")
    problems = calibration.problems()
    if problems:
        more = f"等 {len(problems)} 项" if len(problems) > 5 else ""
        raise ResultsError("还不能发布：" + "；".join(problems[:5]) + more)
    n = round_.publicity_working_days or 5
    first, last = publicity_window(today, n)
    number = (db.session.scalar(select(ResultPublication.number).where(ResultPublication.round_id == round_.id)
                                .order_by(ResultPublication.number.desc())) or 0) + 1
    publication = ResultPublication(round_id=round_.id, number=number, starts_on=first, ends_on=last,
                                    working_days=n, content=publication_content(calibration),
                                    published_by=user_id, published_at=_utcnow())
    db.session.add(publication)
    round_.status = "publicised"
    db.session.flush()
    record("results_published", target=round_,
           details={"name": round_.name, "publication": number, "starts_on": first.isoformat(),
                    "ends_on": last.isoformat(), "working_days": n, "applications": len(calibration.rows)})
    return publication


def reopen_calibration(round_: Round, reason: str, *, user_id=None) -> ResultPublication:
    """publicised → calibrating after an upheld objection: the publication is withdrawn."""
    if round_.status != "publicised":
        raise rounds.RoundError(f"轮次当前为「{round_.status_label}」，不能撤回公示、退回核分")
    rounds._require_transition(round_, "calibrating")
    publication = active_publication(round_)
    upheld = db.session.scalar(select(Objection.id).where(
        Objection.round_id == round_.id, Objection.publication_no == (publication.number if publication else 0),
        Objection.status == OBJECTION_UPHELD))
    if upheld is None:
        raise ResultsError("只有在异议成立后才能撤回公示、退回核分")
    reason = _reason(reason, required=True, what="退回核分")
    publication.withdrawn_at = _utcnow()
    publication.withdrawn_by = user_id
    publication.withdrawn_reason = reason
    round_.status = "calibrating"
    db.session.flush()
    record("results_withdrawn", target=round_,
           details={"name": round_.name, "publication": publication.number, "reason": reason})
    return publication


def finalise(round_: Round, *, user_id=None, today: date | None = None) -> ResultSnapshot:
    """publicised → final: freeze the snapshot, applications final, titles conferred."""
    from app.titles import services as titles

    today = today or rounds.china_today()
    rounds._require_transition(round_, "final")
    publication = active_publication(round_)
    if publication is None:
        raise ResultsError("没有正在公示的结果")
    if today <= publication.ends_on:
        raise ResultsError(f"公示期至 {publication.ends_on.isoformat()} 结束，之后才能定稿")
    objections = list(db.session.scalars(select(Objection).where(
        Objection.round_id == round_.id, Objection.publication_no == publication.number)))
    open_ = [o for o in objections if o.status == OBJECTION_OPEN]
    if open_:
        raise ResultsError(f"还有 {len(open_)} 件异议待处理，处理完毕后才能定稿")
    if any(o.status == OBJECTION_UPHELD for o in objections):
        raise ResultsError("有异议成立：请退回核分更正结果，重新公示后再定稿")
    calibration = calibrate(round_)
    published = {row["application_id"]: row for row in publication.content.get("rows", [])}
    for r in calibration.rows:
        was = published.get(r.id)
        if r.combined is None or was is None or was["total"] != fmt(r.combined.total) or not r.decided \
                or (r.decision.level or None) != (was["level"] or None):
            raise ResultsError(f"「{r.school_name}」的结果与公示内容不一致，请退回核分后重新公示")
    content = snapshot_content(calibration, publication, objections)
    snapshot = ResultSnapshot(round_id=round_.id, year=round_.year, kind=round_.kind, round_name=round_.name,
                              content=content, finalised_by=user_id, finalised_at=_utcnow())
    db.session.add(snapshot)
    for r in calibration.rows:
        r.application.status = "final"
    round_.status = "final"
    db.session.flush()
    conferred = 0
    if round_.kind in (TITLE_ROUND, RE_REVIEW):
        decisions = {r.id: r.decision.level for r in calibration.rows}
        outcome = titles.confer_from_round(round_, decisions, awarded_on=today, actor_id=user_id)
        conferred = len(outcome.conferred) + len(outcome.kept) + len(outcome.revoked)
    record("results_finalised", target=round_,
           details={"name": round_.name, "publication": publication.number, "applications": len(calibration.rows),
                    "titles": conferred, "snapshot": snapshot.id})
    return snapshot


def snapshot_content(calibration: Calibration, publication: ResultPublication, objections) -> dict:
    """Everything the result rests on: rubric version, weights, method, quotas, thresholds,
    bands, chain, raw scores (self and every assessor, per indicator), vetoes, totals, ranks
    and decisions with their reasons."""
    round_ = calibration.round
    parts = calibration.parts
    rows = []
    for r in sorted_rows(calibration, "rank"):
        c = r.combined
        indicators = []
        for spec in parts.indicators:
            ir = c.indicators[spec.id]
            indicators.append({
                "indicator_id": spec.id, "code": spec.code, "title": spec.title,
                "self": fmt(ir.self_points),
                "assessors": {str(k): fmt(v) for k, v in ir.assessor_points.items()},
                "assessor_value": fmt(ir.assessor_value) if ir.assessor_value is not None else None,
                "combined": fmt(ir.combined),
            })
        rows.append({
            "application_id": r.id, "school_id": r.application.school_id, "school": r.school_name,
            "self_total": fmt(c.self_total),
            "assessor_totals": {str(k): fmt(v) for k, v in c.assessor_totals.items()},
            "assessor_total": fmt(c.assessor_column_total) if c.assessor_column_total is not None else None,
            "total": fmt(c.total), "rank": str(r.rank) if r.rank else "",
            "rank_position": r.rank.position if r.rank else None,
            "proposed": r.decision.proposed, "level": r.decision.level,
            "level_label": level_label(round_, r.decision.level), "reason": r.decision.reason,
            "gates_passed": c.gates_passed, "vetoed": list(c.vetoed), "must_pass_failed": list(c.must_pass_failed),
            "indicators": indicators,
        })
    return {
        "round": {"id": round_.id, "name": round_.name, "year": round_.year, "kind": round_.kind,
                  "target_tier": round_.target_tier, "home_kind": round_.home_kind},
        "rubric": {"id": parts.rubric.id, "name": parts.rubric.name, "version": parts.rubric.version,
                   "total_points": fmt(parts.rubric.total_points)},
        "weights": round_.weights, "method": round_.aggregation, "quotas": round_.quotas,
        "thresholds": round_.thresholds, "grade_bands": round_.grade_bands, "tie_break": round_.tie_break,
        "publication": {"number": publication.number, "starts_on": publication.starts_on.isoformat(),
                        "ends_on": publication.ends_on.isoformat()},
        "objections": [{"id": o.id, "status": o.status, "reason": o.reason, "decision": o.decision_reason}
                       for o in objections],
        "rows": rows,
    }


def snapshot_of(round_: Round) -> ResultSnapshot | None:
    return db.session.scalar(select(ResultSnapshot).where(ResultSnapshot.round_id == round_.id))


def school_results(year: int) -> dict:
    """{school_id: [{"round_id", "round_name", "kind", "total", "rank", "tier", "grade"}]} from the
    FINAL rounds of ``year``, read from their frozen snapshots (one query)."""
    out: dict = {}
    for snapshot in db.session.scalars(select(ResultSnapshot).where(ResultSnapshot.year == year)
                                       .order_by(ResultSnapshot.round_id)):
        for row in snapshot.content.get("rows", []):
            level = row.get("level")
            out.setdefault(row["school_id"], []).append({
                "round_id": snapshot.round_id, "round_name": snapshot.round_name, "kind": snapshot.kind,
                "total": row.get("total"), "rank": row.get("rank"),
                "tier": level if snapshot.kind != ANNUAL_REVIEW else None,
                "grade": (level or tiers.FAIL) if snapshot.kind == ANNUAL_REVIEW else None,
            })
    return out


# --- objections ---------------------------------------------------------------------------------

def objection_window(round_: Round, today: date | None = None) -> tuple[ResultPublication | None, str | None]:
    """(the publication, why filing is not possible now or None)."""
    today = today or rounds.china_today()
    if round_.status != "publicised":
        return None, "本轮次不在公示期，不能提出异议"
    publication = active_publication(round_)
    if publication is None:
        return None, "本轮次不在公示期，不能提出异议"
    if today > publication.ends_on:
        return publication, f"公示期已于 {publication.ends_on.isoformat()} 结束，不能再提出异议"
    return publication, None


def file_objection(round_: Round, reason: str, *, school_id: int | None, application_id=None, files=(),
                   user_id=None, today: date | None = None) -> tuple[Objection, list[str]]:
    """File an objection with files [(name, bytes)]; returns it and the stored paths (for the
    caller to remove if the transaction fails)."""
    from app.uploads import DOCUMENT_KINDS, IMAGE_KINDS, UploadError, check_file, normalise_name, store

    publication, problem = objection_window(round_, today)
    if problem:
        raise ResultsError(problem)
    reason = _reason(reason, required=True, what="异议")
    if application_id not in (None, ""):
        try:
            application_id = int(application_id)
        except (TypeError, ValueError):
            raise ResultsError("异议针对的学校不在公示名单中") from None
        if application_id not in {r["application_id"] for r in publication.content.get("rows", [])}:
            raise ResultsError("异议针对的学校不在公示名单中")
    else:
        application_id = None
    files = [(n, d) for n, d in files if d]
    if len(files) > MAX_OBJECTION_FILES:
        raise ResultsError(f"每件异议最多附 {MAX_OBJECTION_FILES} 个文件")
    checked = []
    for name, data in files:
        try:
            kind = check_file(data, name, IMAGE_KINDS | DOCUMENT_KINDS, MAX_OBJECTION_BYTES)
        except UploadError as exc:
            raise ResultsError(str(exc)) from None
        checked.append((normalise_name(name), data, kind))
    objection = Objection(round_id=round_.id, publication_no=publication.number, application_id=application_id,
                          school_id=school_id, filed_by=user_id, reason=reason, status=OBJECTION_OPEN,
                          filed_at=_utcnow())
    db.session.add(objection)
    db.session.flush()
    paths = []
    for name, data, kind in checked:
        path = store(round_.district_id, f"objections/{school_id or 'district'}", data, kind.suffix)
        paths.append(path)
        db.session.add(ObjectionFile(objection_id=objection.id, school_id=school_id, original_name=name,
                                     stored_path=path, content_type=kind.mimetype, size=len(data),
                                     sha256=hashlib.sha256(data).hexdigest()))
    db.session.flush()
    record("objection_filed", target=objection,
           details={"round": round_.name, "application": application_id, "files": len(checked)})
    return objection, paths


def decide_objection(objection: Objection, outcome: str, reason: str, *, user_id=None) -> Objection:
    """open → upheld / rejected, with the district's reasons. A decided objection never changes."""
    round_ = db.session.get(Round, (objection.district_id, objection.round_id))
    if outcome not in (OBJECTION_UPHELD, OBJECTION_REJECTED):
        raise ResultsError("请选择异议成立或异议不成立")
    if outcome not in OBJECTION_TRANSITIONS.get(objection.status, set()):
        raise ResultsError(f"该异议已处理（{objection.status_label}），不能再更改")
    if round_.status not in ("publicised", "calibrating"):
        raise ResultsError(f"轮次当前为「{round_.status_label}」，不能处理异议")
    reason = _reason(reason, required=True, what="处理异议")
    objection.status = outcome
    objection.decision_reason = reason
    objection.decided_by = user_id
    objection.decided_at = _utcnow()
    db.session.flush()
    record(f"objection_{outcome}", target=objection, details={"round": round_.name, "reason": reason})
    return objection


def objections_of(round_: Round) -> list[Objection]:
    return list(db.session.scalars(select(Objection).where(Objection.round_id == round_.id)
                                   .order_by(Objection.filed_at.desc(), Objection.id.desc())))


def objection_files(objection_ids) -> dict:
    ids = list(objection_ids)
    out: dict = {}
    if ids:
        for f in db.session.scalars(select(ObjectionFile).where(ObjectionFile.objection_id.in_(ids))
                                    .order_by(ObjectionFile.id)):
            out.setdefault(f.objection_id, []).append(f)
    return out


# --- working-day overrides ---------------------------------------------------------------------------

def set_workday_override(day, working, note: str = "", *, user_id=None) -> WorkdayOverride:
    if not isinstance(day, date):
        try:
            day = date.fromisoformat(str(day))
        except ValueError:
            raise ResultsError("日期格式不正确，请按 2026-10-08 的格式填写") from None
    if working not in (True, False):
        raise ResultsError("请选择“上班”或“放假”")
    note = (note or "").strip()[:200]
    override = db.session.scalar(select(WorkdayOverride).where(WorkdayOverride.day == day))
    if override is None:
        override = WorkdayOverride(day=day, working=working, note=note, created_by=user_id)
        db.session.add(override)
    else:
        override.working, override.note = working, note
    db.session.flush()
    record("workday_override_set", target=override, details={"day": day.isoformat(), "working": working,
                                                            "note": note})
    return override


def remove_workday_override(override: WorkdayOverride) -> None:
    record("workday_override_removed", target=override, details={"day": override.day.isoformat()})
    db.session.delete(override)
    db.session.flush()


# --- export ---------------------------------------------------------------------------------------------

SUMMARY_HEADERS = ["名次", "学校", "自评总分", "考评分", "综评总分", "评审人数", "评审均分", "评审中位数", "极差",
                   "标准差", "分歧提示", "推荐结果", "确认结果", "理由"]


def workbook(calibration: Calibration, district_name: str) -> bytes:
    """汇总 (one row per application), 评审明细 (per indicator, per rater) and 评审总分 (per assessor)."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    round_ = calibration.round
    wb = Workbook()
    ws = wb.active
    ws.title = "汇总"
    ws.append([safe_cell(f"{district_name} · {round_.year} 年 {round_.name}（{round_.kind_label}）结果汇总")])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append(SUMMARY_HEADERS)
    for cell in ws[2]:
        cell.font = Font(bold=True)

    def num(value):
        return None if value is None else float(value)

    rows = sorted_rows(calibration, "rank")
    for r in rows:
        c = r.combined
        spread = c.assessor_spread if c else None
        ws.append([
            str(r.rank) if r.rank else "", safe_cell(r.school_name), num(c.self_total) if c else None,
            num(c.assessor_column_total) if c else None, num(c.total) if c else None,
            spread.count if spread else 0, num(spread.mean) if spread else None, num(r.median),
            num(spread.range) if spread else None, num(spread.stdev) if spread else None,
            "是" if r.disagreement and r.disagreement.any else "",
            safe_cell(r.placement.label if r.placement else (r.error or "")),
            safe_cell(level_label(round_, r.decision.level) if r.decision else ""),
            safe_cell(r.decision.reason if r.decision else ""),
        ])
    detail = wb.create_sheet("评审明细")
    detail.append(["学校", "类别", "序号", "指标", "满分", "评分人", "得分", "输入", "评语"])
    for cell in detail[1]:
        cell.font = Font(bold=True)
    categories = {c.id: c.name for c in calibration.parts.categories}
    specs = {s.id: s for s in calibration.parts.specs()[1]} if calibration.parts.rubric else {}
    for r in rows:
        if r.combined is None:
            continue
        comments = {}
        for item in r.comments:
            key = (calibration.assessor_names.get(item.get("assessor_id")), item.get("indicator_id"))
            comments.setdefault(key, []).append(item.get("comment", ""))
        for spec in calibration.parts.indicators:
            ir = r.combined.indicators[spec.id]
            base = [safe_cell(r.school_name), safe_cell(categories.get(spec.category_id, "")), safe_cell(spec.code),
                    safe_cell(spec.title), num(spec.max_points)]
            detail.append(base + ["自评", num(ir.self_points), safe_cell(ir.figure.inputs[0].formula), ""])
            for rater, points in ir.assessor_points.items():
                text = aggregation.describe_inputs(specs[spec.id], (r.sheets.get(rater) or {}).get(spec.id), points)
                detail.append(base + [safe_cell(f"评审 {rater}"), num(points), safe_cell(text),
                                      safe_cell("；".join(comments.get((rater, spec.id), [])))])
            detail.append(base + ["综评分", num(ir.combined), safe_cell(ir.figure.formula), ""])
    per = wb.create_sheet("评审总分")
    raters = sorted({k for r in rows if r.combined for k in r.combined.assessor_totals}, key=str)
    per.append(["学校", *[safe_cell(f"评审 {k}") for k in raters]])
    for cell in per[1]:
        cell.font = Font(bold=True)
    for r in rows:
        totals = r.combined.assessor_totals if r.combined else {}
        per.append([safe_cell(r.school_name), *[num(totals.get(k)) for k in raters]])
    from openpyxl.utils import get_column_letter

    for sheet, widths in ((ws, [6, 26, 10, 10, 10, 8, 10, 10, 8, 8, 8, 12, 12, 30]),
                          (detail, [24, 14, 6, 36, 8, 16, 8, 40, 30]), (per, [24] + [12] * len(raters))):
        for n, width in enumerate(widths, start=1):
            sheet.column_dimensions[get_column_letter(n)].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
