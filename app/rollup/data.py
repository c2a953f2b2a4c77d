"""Collecting the roll-up figures: a handful of set-based queries whatever the number of
schools (a test counts them), then plain Python. Everything the three outputs show comes
from :func:`collect`; rates are fractions rounded to 4 places, shown as 66.7% everywhere."""
from __future__ import annotations

import functools
import hashlib
from collections import Counter
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true

from app.extensions import db

CHINA = ZoneInfo("Asia/Shanghai")
COMPLETION_BANDS = ["未安排活动", "0–49%", "50–79%", "80–99%", "100%"]
SCORE_BANDS = ["60 分以下", "60–69 分", "70–79 分", "80–89 分", "90 分及以上"]
TIER_LABELS = {"model": "模范", "advanced": "先进", "qualified": "合格"}


def school_results(year: int) -> dict:
    """Per-school tiers/ranks/grades from app.results (issue 5). Until that service exists
    (parallel work) the roll-up shows no results rather than failing."""
    try:
        from app.results import services as results_services
    except ImportError:
        return {}
    fn = getattr(results_services, "school_results", None)
    if fn is None:
        return {}
    return fn(year) or {}


def rate(numerator: int, denominator: int) -> float | None:
    return None if not denominator else round(numerator / denominator, 4)


def pct(value: float | None) -> str:
    """0.6667 → "66.7%"; None → "—" (the one format of the Excel display, PDF and dashboard)."""
    if value is None:
        return "—"
    return f"{value * 100:.1f}%"


def _day(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(CHINA).date().isoformat()
    return value.isoformat()


def completion_band(planned: int, done: int) -> str:
    if not planned:
        return COMPLETION_BANDS[0]
    r = done / planned
    if r >= 1:
        return COMPLETION_BANDS[4]
    if r >= 0.8:
        return COMPLETION_BANDS[3]
    if r >= 0.5:
        return COMPLETION_BANDS[2]
    return COMPLETION_BANDS[1]


def score_band(total: float) -> str:
    for limit, label in ((90, SCORE_BANDS[4]), (80, SCORE_BANDS[3]), (70, SCORE_BANDS[2]), (60, SCORE_BANDS[1])):
        if total >= limit:
            return label
    return SCORE_BANDS[0]


# --------------------------------------------------------------------------- queries

def _schools():
    from tenants.models import SCHOOL_KINDS, School

    rows = db.session.execute(select(School.id, School.name, School.code, School.kind)
                              .where(School.active.is_(True)).order_by(School.name, School.id)).all()
    return [{"school_id": sid, "name": name, "code": code or "", "kind": kind,
             "kind_label": str(SCHOOL_KINDS.get(kind, kind))} for sid, name, code, kind in rows]


def _plans(year: int) -> dict[int, tuple]:
    from app.activities.models import ActivityRecord
    from app.plans.models import ScheduledActivity, WorkPlan
    from sqlalchemy import distinct

    rows = db.session.execute(
        select(WorkPlan.school_id, WorkPlan.status, WorkPlan.approved_version_id, WorkPlan.first_submitted_at,
               WorkPlan.approved_at, func.count(distinct(ScheduledActivity.id)),
               func.count(distinct(ActivityRecord.scheduled_activity_id)))
        .select_from(WorkPlan)
        .outerjoin(ScheduledActivity, (ScheduledActivity.district_id == WorkPlan.district_id)
                   & (ScheduledActivity.plan_id == WorkPlan.id) & (ScheduledActivity.school_id == WorkPlan.school_id))
        .outerjoin(ActivityRecord, (ActivityRecord.district_id == ScheduledActivity.district_id)
                   & (ActivityRecord.scheduled_activity_id == ScheduledActivity.id)
                   & (ActivityRecord.school_id == ScheduledActivity.school_id))
        .where(WorkPlan.year == year)
        .group_by(WorkPlan.school_id, WorkPlan.status, WorkPlan.approved_version_id, WorkPlan.first_submitted_at,
                  WorkPlan.approved_at)).all()
    return {row[0]: row[1:] for row in rows}


def _summaries(year: int) -> dict[int, tuple]:
    """Per school: its 工作总结 of ``year`` (status, first submitted at). One query."""
    from app.summaries.models import YearSummary

    rows = db.session.execute(select(YearSummary.school_id, YearSummary.status, YearSummary.first_submitted_at)
                              .where(YearSummary.year == year)).all()
    return {sid: (status, first) for sid, status, first in rows}


def _summary_status(status) -> str:
    from app.summaries.services import NOT_SUBMITTED

    return status if status in ("submitted", "returned", "accepted") else NOT_SUBMITTED


def _deadline(year: int) -> date | None:
    from app.plans.models import PlanDeadline

    return db.session.scalar(select(PlanDeadline.due_on).where(PlanDeadline.year == year))


def _applications(year: int) -> list[tuple]:
    from app.rounds.models import Application, Round

    return db.session.execute(
        select(Application.school_id, Round.id, Round.name, Application.status)
        .join(Round, (Round.district_id == Application.district_id) & (Round.id == Application.round_id))
        .where(Round.year == year).order_by(Round.id)).all()


def _rounds(year: int) -> list[tuple]:
    from app.rounds.models import Round

    return db.session.execute(select(Round.id, Round.name, Round.kind, Round.quotas)
                              .where(Round.year == year).order_by(Round.id)).all()


def _titles() -> list[tuple]:
    from app.titles.models import Title
    from app.titles.services import HELD_STATUSES

    return db.session.execute(
        select(Title.school_id, Title.level, Title.tier, Title.home_kind, Title.status, Title.review_due_on)
        .where(Title.status.in_(HELD_STATUSES)).order_by(Title.school_id, Title.awarded_on)).all()


# --------------------------------------------------------------------------- figures

def _plan_status(status, approved_version_id) -> str:
    from app.plans.services import NOT_SUBMITTED

    if status in ("submitted", "returned", "approved"):
        return status
    if status == "draft" and approved_version_id is not None:
        return "approved"
    return NOT_SUBMITTED


def _summary(rows: list[dict], deadline: date | None, rounds, results_by_round) -> dict:
    n = len(rows)
    filed = sum(1 for r in rows if r["submitted_on"])
    on_time = sum(1 for r in rows if r["on_time"] is True) if deadline else None  # no deadline: not measured
    approved = sum(1 for r in rows if r["plan_status"] == "approved")
    with_plan = [r for r in rows if r["planned"]]
    completion_avg = round(sum(r["done"] / r["planned"] for r in with_plan) / len(with_plan), 4) if with_plan else None
    bands = Counter(completion_band(r["planned"], r["done"]) for r in rows)
    scores = [r["total"] for r in rows if r["total"] is not None]
    score_bands = Counter(score_band(t) for t in scores)
    by_kind = []
    for kind, label in sorted({(r["kind"], r["kind_label"]) for r in rows}):
        of_kind = [r for r in rows if r["kind"] == kind]
        kind_plans = [r for r in of_kind if r["planned"]]
        by_kind.append({
            "kind": kind, "label": label, "schools": len(of_kind),
            "filed": sum(1 for r in of_kind if r["submitted_on"]),
            "approved": sum(1 for r in of_kind if r["plan_status"] == "approved"),
            "completion_avg": round(sum(r["done"] / r["planned"] for r in kind_plans) / len(kind_plans), 4)
            if kind_plans else None,
        })
    tiers = []
    for round_id, name, _kind, quotas in rounds:
        got = Counter(entry.get("tier") for entry in results_by_round.get(round_id, []) if entry.get("tier"))
        for tier in ("model", "advanced", "qualified"):
            quota = (quotas or {}).get(tier)
            if quota is None and not got.get(tier):
                continue
            tiers.append({"round_id": round_id, "round": name, "tier": tier, "tier_label": TIER_LABELS[tier],
                          "count": got.get(tier, 0), "quota": quota})
    return {
        "schools": n, "deadline": deadline.isoformat() if deadline else "",
        "filed": filed, "filed_rate": rate(filed, n),
        "filed_on_time": on_time, "on_time_rate": rate(on_time, n) if on_time is not None else None,
        "approved": approved, "approved_rate": rate(approved, n),
        "completion_avg": completion_avg,
        "completion_distribution": [{"band": b, "count": bands.get(b, 0)} for b in COMPLETION_BANDS],
        "applications": sum(r["applications"] for r in rows),
        "applications_submitted": sum(r["applications_submitted"] for r in rows),
        "scored": len(scores),
        "score_avg": round(sum(scores) / len(scores), 2) if scores else None,
        "score_distribution": [{"band": b, "count": score_bands.get(b, 0)} for b in SCORE_BANDS],
        "tiers": tiers,
        "by_kind": by_kind,
        "titles_held": sum(r["titles_count"] for r in rows),
        "summaries_submitted": sum(1 for r in rows if r["summary_submitted_on"]),
        "summaries_accepted": sum(1 for r in rows if r["summary_status"] == "accepted"),
        "reviews_due": 0,  # filled by the caller (needs the year)
    }


def _year_rows(year: int, schools: list[dict], titles, progress=None) -> tuple[list[dict], dict, list]:
    from app.plans.services import TRACKING_LABELS, deadline_cutoff
    from app.rounds.models import APPLICATION_STATE_LABELS
    from app.summaries.services import TRACKING_LABELS as SUMMARY_LABELS
    from app.titles.models import HOME_KINDS, LEVELS, TIERS, TITLE_STATUSES

    plans = _plans(year)
    summaries = _summaries(year)
    deadline = _deadline(year)
    cutoff = deadline_cutoff(deadline) if deadline else None
    apps: dict[int, list] = {}
    for school_id, round_id, round_name, status in _applications(year):
        apps.setdefault(school_id, []).append((round_id, round_name, status))
    rounds = _rounds(year)
    results = school_results(year)
    results_by_round: dict[int, list] = {}
    for entries in results.values():
        for entry in entries:
            results_by_round.setdefault(entry.get("round_id"), []).append(entry)
    titles_by_school: dict[int, list] = {}
    for school_id, level, tier, home_kind, status, due in titles:
        titles_by_school.setdefault(school_id, []).append((level, tier, home_kind, status, due))
    rows = []
    total = len(schools)
    step = max(1, total // 50)
    for n, school in enumerate(schools, 1):
        sid = school["school_id"]
        status, approved_version_id, first_submitted, approved_at, planned, done = plans.get(
            sid, (None, None, None, None, 0, 0))
        plan_status = _plan_status(status, approved_version_id)
        on_time = None
        if cutoff is not None:
            on_time = bool(first_submitted is not None and first_submitted < cutoff)
        school_apps = apps.get(sid, [])
        entries = results.get(sid, [])
        primary = next((e for e in entries if e.get("kind") == "annual_review"), entries[0] if entries else None)
        held = titles_by_school.get(sid, [])
        dues = sorted(d for *_, d in held if d is not None)
        total_value = primary.get("total") if primary else None
        summary_state, summary_first = summaries.get(sid, (None, None))
        summary_status = _summary_status(summary_state)
        rows.append({
            **school,
            "plan_status": plan_status, "plan_status_label": str(TRACKING_LABELS[plan_status]),
            "submitted_on": _day(first_submitted), "approved_on": _day(approved_at) if plan_status == "approved" else "",
            "on_time": on_time,
            "summary_status": summary_status, "summary_status_label": str(SUMMARY_LABELS[summary_status]),
            "summary_submitted_on": _day(summary_first),
            "planned": int(planned or 0), "done": int(done or 0), "completion_rate": rate(int(done or 0), int(planned or 0)),
            "applications": len(school_apps),
            "applications_submitted": sum(1 for *_, s in school_apps if s != "draft"),
            "applications_text": "；".join(f"{name}：{APPLICATION_STATE_LABELS.get(s, s)}" for _, name, s in school_apps),
            "total": float(total_value) if total_value not in (None, "") else None,
            "rank": primary.get("rank") if primary else None,
            "tier": TIER_LABELS.get(primary.get("tier"), primary.get("tier") or "") if primary else "",
            "grade": (primary.get("grade") or "") if primary else "",
            "results": [{"round_id": e.get("round_id"), "round": e.get("round_name"),
                         "total": float(e["total"]) if e.get("total") not in (None, "") else None,
                         "rank": e.get("rank"), "tier": TIER_LABELS.get(e.get("tier"), e.get("tier") or ""),
                         "grade": e.get("grade") or ""} for e in entries],
            "titles_count": len(held),
            "titles": "；".join(f"{LEVELS.get(lv, lv)}{TIERS.get(t, t)}{HOME_KINDS.get(h, h)}（{TITLE_STATUSES.get(s, s)}）"
                               for lv, t, h, s, _ in held),
            "review_due": dues[0].isoformat() if dues else "",
        })
        if progress and (n % step == 0 or n == total):
            progress(n, total)
    summary = _summary(rows, deadline, rounds, results_by_round)
    summary["reviews_due"] = sum(1 for r in rows if r["review_due"] and r["review_due"] <= f"{year}-12-31")
    return rows, summary, rounds


def collect(year: int, progress=None) -> dict:
    """The figures of the district's roll-up for ``year`` (and the previous year beside)."""
    from tenants.models import District
    from tenants.scope import current_scope

    district = db.session.get(District, current_scope().district_id)
    schools = _schools()
    titles = _titles()
    rows, summary, _ = _year_rows(year, schools, titles, progress)
    _prev_rows, previous, _ = _year_rows(year - 1, schools, titles)
    return {
        "year": year, "previous_year": year - 1,
        "district": {"id": district.id, "name": district.name},
        "generated_at": datetime.now(CHINA).strftime("%Y-%m-%d %H:%M"),
        "schools": rows, "summary": summary, "previous": previous,
    }


# --------------------------------------------------------------------------- fingerprint

@functools.cache
def _fingerprint_statements() -> tuple:
    """The fingerprint's statements, built once (the tenant filter is added when each runs):
    building them cost ~1 ms of every dashboard view."""
    from app.activities.models import ActivityRecord
    from app.plans.models import PlanDeadline, PlanVersion, ScheduledActivity, WorkPlan
    from app.rounds.models import Application, Round
    from app.summaries.models import YearSummary
    from app.titles.models import Title, TitleEvent
    from tenants.models import School

    # The single-row aggregates of the large tables in one statement (one round trip, not five).
    aggregates = {
        "plans": select(func.count(), func.max(WorkPlan.updated_at), func.max(WorkPlan.approved_at),
                        func.max(WorkPlan.last_submitted_at)).select_from(WorkPlan),
        "versions": select(func.count(), func.max(PlanVersion.submitted_at), func.max(PlanVersion.decided_at))
        .select_from(PlanVersion),
        "activities": select(func.count(), func.sum(ScheduledActivity.id)).select_from(ScheduledActivity),
        "records": select(func.count(), func.max(ActivityRecord.created_at), func.sum(ActivityRecord.id),
                          func.count(ActivityRecord.scheduled_activity_id), func.sum(ActivityRecord.revision))
        .select_from(ActivityRecord),
        "title_events": select(func.count(), func.max(TitleEvent.id)).select_from(TitleEvent),
    }
    subqueries = [q.subquery() for q in aggregates.values()]
    joined = subqueries[0]
    for sq in subqueries[1:]:  # each has one row: the cross join is that one row
        joined = joined.join(sq, true())
    widths = [(name, len(q.selected_columns)) for name, q in aggregates.items()]
    combined = select(*[c for sq in subqueries for c in sq.c]).select_from(joined)
    rows = {
        "summaries": select(YearSummary.status, func.count(), func.max(YearSummary.first_submitted_at),
                            func.max(YearSummary.accepted_at), func.sum(YearSummary.id))
        .where(YearSummary.status != "draft")  # never submitted: shown as 未提交 either way
        .group_by(YearSummary.status).order_by(YearSummary.status),
        "applications": select(Application.status, func.count(), func.max(Application.last_submitted_at))
        .group_by(Application.status).order_by(Application.status),
        "titles": select(Title.status, func.count(), func.max(Title.created_at), func.max(Title.review_due_on))
        .group_by(Title.status).order_by(Title.status),
        "schools": select(School.id, School.name, School.code, School.kind, School.active).order_by(School.id),
        "rounds": select(Round.id, Round.name, Round.year, Round.kind, Round.status, Round.quotas).order_by(Round.id),
        "deadlines": select(PlanDeadline.year, PlanDeadline.due_on).order_by(PlanDeadline.year),
    }
    return combined, widths, rows


def fingerprint(year: int) -> str:
    """A digest of everything the roll-up reads: per input table its row count and latest
    timestamps (aggregates; those of the large tables in one statement; activity records also
    the sum of their revisions, raised by every update), the rows of the small tables (schools,
    rounds, deadlines) and the results service's output. Unchanged inputs → the same digest."""
    combined, widths, rows = _fingerprint_statements()
    values = list(db.session.execute(combined).one())
    got, at = {}, 0
    for name, width in widths:
        got[name], at = tuple(values[at:at + width]), at + width
    read = {name: [tuple(row) for row in db.session.execute(stmt)] for name, stmt in rows.items()}
    parts = (f"v3|{year}", got["plans"], got["versions"], got["activities"], read["summaries"], got["records"],
             read["applications"], read["titles"], got["title_events"], read["schools"], read["rounds"],
             read["deadlines"], sorted(school_results(year).items()), sorted(school_results(year - 1).items()))
    # repr of tuples of plain values (str, int, Decimal, date, datetime, JSON dicts): deterministic
    # for the same values, and several times cheaper than JSON with a default for the dates.
    return hashlib.sha256(repr(parts).encode()).hexdigest()
