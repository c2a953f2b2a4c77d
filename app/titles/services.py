"""荣誉称号 (DESIGN §7): the Title state machine, its history, the district's 复查 cycle, the
title ladder used by eligibility, and the 标兵 flag.

States and transitions (every change writes a TitleEvent and an audit record in the caller's
transaction; the history is never changed or deleted):

    (new) ──confer / register──▶ awarded
    awarded, kept ──mark_due (review_due_on reached)──▶ due
    conditional ──mark_due (rectification deadline passed)──▶ due
    awarded, due, kept ──keep──▶ kept                (复查保留; next review after one cycle)
    awarded, due, kept ──make_conditional──▶ conditional   (限期整改: reason + deadline)
    awarded, due, kept, conditional ──revoke──▶ revoked    (摘牌: reason required; final)
    conditional ──restore──▶ kept                    (整改合格; next review after one cycle)

Anything else is refused with a Chinese message. Outcomes by hand need a reason; outcomes from
a 复查 round carry the round and default their reason to it (摘牌 always has a reason).

review_due_on = the day of the award (or of the last keep/restore) + the district's cycle
(DistrictSetting.review_cycle_years, default 1: "每年一次复查…动态管理，不搞终身制", the only
practice found, reference/domain.md §1.5). While conditional it holds the rectification
deadline. A revoked title has none. mark_due() runs daily (``flask titles mark-due``, and the
clock process: see app/cli.py ``jobs sweep --every``).

A 复查 round of year Y enters, per school, the highest held title of its kind that is due or
falls due by the end of Y (re_review_titles); its outcome comes back through
confer_from_round().

标兵: a school that has held 模范 (of a kind of home, any level) without a break for at least
three years up to today — "连续三年" counted as three full years of holding — is flagged.

Services write and flush; the caller commits once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from flask import has_request_context
from flask_login import current_user
from sqlalchemy import and_, or_, select

from app.audit.services import ACTION_LABELS, record
from app.extensions import db
from app.i18n import N_
from app.rounds.models import ANNUAL_REVIEW, RE_REVIEW, TITLE_ROUND, Application, Round
from app.titles.models import (EVENTS, HOME_KINDS, LEVELS, TIER_ORDER, TIERS, TITLE_STATUSES, DistrictSetting,
                               Title, TitleEvent)
from tenants.models import School
from tenants.scope import current_scope

CHINA = ZoneInfo("Asia/Shanghai")

HELD_STATUSES = ("awarded", "due", "kept", "conditional")  # the school still holds the title
RE_REVIEW_STATUSES = ("awarded", "due", "kept")             # may be entered into a 复查 round
DEFAULT_CYCLE_YEARS = 1
MIN_CYCLE_YEARS, MAX_CYCLE_YEARS = 1, 10
EXEMPLAR_YEARS = 3  # 连续三年模范 → 标兵
EXEMPLAR_LABEL = N_("标兵")
MAX_REASON = 1000
MAX_NOTE = 2000
MAX_CONDITION_DAYS = 366 * 2
EARLIEST_AWARD = date(1980, 1, 1)

# event → (statuses it may start from, status it leads to)
TRANSITIONS = {
    "marked_due": (("awarded", "kept", "conditional"), "due"),
    "kept": (("awarded", "due", "kept"), "kept"),
    "conditional": (("awarded", "due", "kept"), "conditional"),
    "revoked": (("awarded", "due", "kept", "conditional"), "revoked"),
    "restored": (("conditional",), "kept"),
}
OUTCOMES = {"kept": N_("复查保留"), "conditional": N_("限期整改"), "revoked": N_("摘牌"), "restored": N_("整改合格恢复")}

ACTION_LABELS.update({f"title_{event}": f"荣誉称号：{label}" for event, label in EVENTS.items()})
ACTION_LABELS["title_cycle_changed"] = "修改复查周期"


class TitleError(ValueError):
    """A title rule refused the request. ``errors``: field → message (Chinese)."""

    def __init__(self, message: str | dict, field: str | None = None):
        if isinstance(message, dict):
            self.errors = dict(message)
            message = "；".join(self.errors.values())
        else:
            self.errors = {field or "_": message}
        super().__init__(message)
        self.field = field


def china_today() -> date:
    return datetime.now(CHINA).date()


def _actor(actor_id: int | None) -> int | None:
    if actor_id is not None:
        return actor_id
    if has_request_context() and current_user and current_user.is_authenticated:
        return current_user.id
    return None


def add_years(day: date, years: int) -> date:
    """The same calendar day ``years`` later (29 Feb → 28 Feb in a common year)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


# --- the district's cycle ------------------------------------------------------------------------

def district_setting() -> DistrictSetting | None:
    return db.session.scalar(select(DistrictSetting))


def cycle_years() -> int:
    """The district's 复查 cycle in years (default 3)."""
    setting = district_setting()
    return setting.review_cycle_years if setting is not None else DEFAULT_CYCLE_YEARS


def set_cycle_years(years, *, actor_id: int | None = None) -> DistrictSetting:
    """Change the cycle. Due dates already set stay (they were announced); new awards, keeps
    and restores use the new cycle."""
    try:
        years = int(years)
    except (TypeError, ValueError):
        raise TitleError("复查周期须为整数（年）", "review_cycle_years") from None
    if not MIN_CYCLE_YEARS <= years <= MAX_CYCLE_YEARS:
        raise TitleError(f"复查周期须在 {MIN_CYCLE_YEARS}～{MAX_CYCLE_YEARS} 年之间", "review_cycle_years")
    setting = district_setting()
    before = setting.review_cycle_years if setting is not None else DEFAULT_CYCLE_YEARS
    if setting is None:
        setting = DistrictSetting(review_cycle_years=years)
        db.session.add(setting)
    setting.review_cycle_years = years
    db.session.flush()
    if before != years:
        record("title_cycle_changed", target=setting, details={"from": before, "to": years})
    return setting


def due_date(start: date) -> date:
    return add_years(start, cycle_years())


# --- history -------------------------------------------------------------------------------------

def _write_event(title: Title, event: str, from_status: str | None, *, reason: str = "", actor_id=None,
                 round_id=None, deadline=None, changes=None, today: date) -> TitleEvent:
    entry = TitleEvent(district_id=title.district_id, school_id=title.school_id, title_id=title.id, event=event,
                       from_status=from_status, to_status=title.status, reason=reason, deadline=deadline,
                       changes=changes or {}, actor_id=_actor(actor_id), round_id=round_id,
                       effective_on=title.awarded_on if event == "awarded" else today)
    db.session.add(entry)
    details = {"school_id": title.school_id, "title": title.name, "from": from_status, "to": title.status}
    if reason:
        details["reason"] = reason
    if deadline:
        details["deadline"] = deadline.isoformat()
    if round_id:
        details["round_id"] = round_id
    if changes:
        details["changes"] = changes
    record(f"title_{event}", target=title, details=details)
    db.session.flush()
    return entry


def history(title: Title) -> list[TitleEvent]:
    return list(db.session.scalars(select(TitleEvent).where(TitleEvent.title_id == title.id)
                                   .order_by(TitleEvent.at, TitleEvent.id)))


def histories(titles) -> dict[int, list[TitleEvent]]:
    """title id → its history, oldest first, for many titles in one query."""
    ids = [t.id for t in titles]
    out: dict[int, list[TitleEvent]] = {i: [] for i in ids}
    if ids:
        for entry in db.session.scalars(select(TitleEvent).where(TitleEvent.title_id.in_(ids))
                                        .order_by(TitleEvent.at, TitleEvent.id)):
            out[entry.title_id].append(entry)
    return out


def _reason(reason, *, required: bool, what: str) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise TitleError(f"{what}须填写理由", "reason")
    if len(reason) > MAX_REASON:
        raise TitleError(f"理由不能超过 {MAX_REASON} 字", "reason")
    return reason


def _check(title: Title, event: str) -> None:
    sources, _ = TRANSITIONS[event]
    if title.status not in sources:
        current = TITLE_STATUSES.get(title.status, title.status)
        raise TitleError(f"称号当前为「{current}」，不能{EVENTS[event]}", "outcome")


# --- conferring ----------------------------------------------------------------------------------

def _school(school_id) -> School:
    try:
        school_id = int(school_id)
    except (TypeError, ValueError):
        raise TitleError("请选择学校", "school_id") from None
    scope = current_scope()
    school = db.session.get(School, (scope.district_id, school_id)) if scope and scope.district_id else None
    if school is None:
        raise TitleError("本区没有这所学校", "school_id")
    return school


def _new_title(school: School, *, tier: str, level: str, home_kind: str, awarded_on: date, round_id=None,
               note: str = "", review_due_on: date | None = None) -> Title:
    title = Title(district_id=school.district_id, school_id=school.id, tier=tier, level=level,
                  home_kind=home_kind, awarded_on=awarded_on, status="awarded", round_id=round_id,
                  review_due_on=review_due_on or due_date(awarded_on), note=note)
    db.session.add(title)
    db.session.flush()
    return title


def _validate_fields(data: dict, errors: dict, *, today: date) -> dict:
    out = {}
    tier = data.get("tier")
    if tier not in TIERS:
        errors["tier"] = "等级只能是合格、先进或模范"
    out["tier"] = tier
    level = data.get("level") or "district"
    if level not in LEVELS:
        errors["level"] = "级别只能是区级、市级、省级或全国"
    out["level"] = level
    home_kind = data.get("home_kind") or "staff_home"
    if home_kind not in HOME_KINDS:
        errors["home_kind"] = "类型只能是职工之家或职工小家"
    out["home_kind"] = home_kind
    awarded_on = data.get("awarded_on")
    if not isinstance(awarded_on, date):
        errors["awarded_on"] = "请填写授予日期"
    elif awarded_on > today:
        errors["awarded_on"] = "授予日期不能晚于今天"
    elif awarded_on < EARLIEST_AWARD:
        errors["awarded_on"] = f"授予日期不能早于 {EARLIEST_AWARD.year} 年"
    out["awarded_on"] = awarded_on
    review_due_on = data.get("review_due_on")
    if review_due_on is not None and isinstance(awarded_on, date) and review_due_on <= awarded_on:
        errors["review_due_on"] = "复查到期日须晚于授予日期"
    out["review_due_on"] = review_due_on
    note = (data.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        errors["note"] = f"备注不能超过 {MAX_NOTE} 字"
    out["note"] = note
    return out


def register(data: dict, *, actor_id: int | None = None, today: date | None = None) -> Title:
    """Register by hand a title awarded outside the system (e.g. a 市级先进 conferred in 2023).

    ``data``: school_id, tier, level, home_kind, awarded_on, note, optional review_due_on (blank:
    awarded_on + the district's cycle). A title already past its due date is marked due at once.
    """
    today = today or china_today()
    errors: dict = {}
    try:
        school = _school(data.get("school_id"))
    except TitleError as exc:
        errors.update(exc.errors)
        school = None
    values = _validate_fields(data, errors, today=today)
    if errors:
        raise TitleError(errors)
    duplicate = db.session.scalar(select(Title.id).where(
        Title.school_id == school.id, Title.tier == values["tier"], Title.level == values["level"],
        Title.home_kind == values["home_kind"], Title.awarded_on == values["awarded_on"]))
    if duplicate is not None:
        raise TitleError("该校已登记过同一日期授予的同一称号", "tier")
    title = _new_title(school, tier=values["tier"], level=values["level"], home_kind=values["home_kind"],
                       awarded_on=values["awarded_on"], note=values["note"], review_due_on=values["review_due_on"])
    _write_event(title, "awarded", None, reason=values["note"] or "手工登记（系统外授予的称号）", actor_id=actor_id,
                 today=today)
    _mark_if_due(title, today, actor_id=actor_id)
    return title


@dataclass
class RoundOutcome:
    """What confer_from_round did, per application id."""

    conferred: dict = field(default_factory=dict)  # application id → Title
    kept: dict = field(default_factory=dict)
    conditional: dict = field(default_factory=dict)
    revoked: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)    # application id → why (already done, no tier)


def confer_from_round(round_: Round, decisions: dict, *, awarded_on: date | None = None,
                      actor_id: int | None = None) -> RoundOutcome:
    """Apply a finalised round's decisions ({application_id: tier}); idempotent.

    * 建家评选 (title round): a tier confers a district-level title of the round's kind of home,
      dated ``awarded_on`` (default today); None / "" confers nothing.
    * 复查 round: each value decides the application's title under review: a tier at or above
      the title's tier keeps it; a lower tier or None revokes it (摘牌, with the reason stated).
      A value may also be an explicit outcome, "kept" / "revoked" or a dict
      {"outcome": "kept"|"conditional"|"revoked", "reason": …, "deadline": date}.
    * 年度考评: confers no title.
    """
    if round_.status != "final":
        raise TitleError("轮次尚未命名（定稿），不能授予称号", "round")
    today = awarded_on or china_today()
    result = RoundOutcome()
    if round_.kind == ANNUAL_REVIEW:
        return result
    applications = {a.id: a for a in db.session.scalars(select(Application).where(
        Application.round_id == round_.id, Application.id.in_([int(k) for k in decisions])))}
    for key, decision in decisions.items():
        application = applications.get(int(key))
        if application is None:
            raise TitleError(f"申报 {key} 不属于本轮次", "decisions")
        if round_.kind == TITLE_ROUND:
            _confer_one(round_, application, decision, today, actor_id, result)
        elif round_.kind == RE_REVIEW:
            _re_review_one(round_, application, decision, today, actor_id, result)
    return result


def _confer_one(round_, application, tier, today, actor_id, result: RoundOutcome) -> None:
    if not tier:
        result.skipped[application.id] = "未授予称号"
        return
    if tier not in TIERS:
        raise TitleError(f"未知的称号等级：{tier}", "decisions")
    existing = db.session.scalar(select(Title).where(Title.round_id == round_.id,
                                                     Title.school_id == application.school_id))
    if existing is not None:
        result.skipped[application.id] = "本轮次已授予"
        return
    school = db.session.get(School, (round_.district_id, application.school_id))
    title = _new_title(school, tier=tier, level="district", home_kind=round_.home_kind, awarded_on=today,
                       round_id=round_.id)
    _write_event(title, "awarded", None, reason=f"{round_.year} 年「{round_.name}」命名", actor_id=actor_id,
                 round_id=round_.id, today=today)
    result.conferred[application.id] = title


def _re_review_one(round_, application, decision, today, actor_id, result: RoundOutcome) -> None:
    title = db.session.get(Title, (round_.district_id, application.title_id)) if application.title_id else None
    if title is None:
        result.skipped[application.id] = "没有待复查的称号"
        return
    done = db.session.scalar(select(TitleEvent.id).where(
        TitleEvent.title_id == title.id, TitleEvent.round_id == round_.id,
        TitleEvent.event.in_(("kept", "conditional", "revoked"))))
    if done is not None:
        result.skipped[application.id] = "本轮次已处理"
        return
    outcome, reason, deadline = _read_decision(title, decision, round_)
    if title.status not in TRANSITIONS[outcome][0]:
        # Changed by hand while the round ran (e.g. 摘牌 or 限期整改): the later decision by
        # hand stands; the round's outcome is reported, not applied.
        result.skipped[application.id] = f"称号当前为「{title.status_label}」，未按本轮次结论处理"
        return
    apply_outcome(title, outcome, reason=reason, deadline=deadline, actor_id=actor_id, round_id=round_.id,
                  today=today)
    getattr(result, outcome)[application.id] = title


def _read_decision(title: Title, decision, round_: Round):
    label = f"{round_.year} 年「{round_.name}」"
    if isinstance(decision, dict):
        outcome = decision.get("outcome")
        reason = decision.get("reason") or ""
        deadline = decision.get("deadline")
        if isinstance(deadline, str) and deadline:
            deadline = date.fromisoformat(deadline)
        if outcome not in ("kept", "conditional", "revoked"):
            raise TitleError(f"未知的复查结论：{outcome}", "decisions")
        return outcome, reason or (label + "复查结论" if outcome != "revoked" else ""), deadline or None
    if decision in ("kept", "revoked"):
        reason = f"{label}复查" + ("保留" if decision == "kept" else "未通过")
        return decision, reason, None
    if decision in TIERS and TIER_ORDER.index(decision) >= TIER_ORDER.index(title.tier):
        return "kept", f"{label}复查达到「{TIERS[title.tier]}」标准", None
    if decision in TIERS or not decision:
        reached = f"仅达到「{TIERS[decision]}」标准" if decision else "未达到标准"
        return "revoked", f"{label}复查{reached}，不再保留「{TIERS[title.tier]}」称号", None
    raise TitleError(f"未知的复查结论：{decision}", "decisions")


# --- 复查 outcomes ---------------------------------------------------------------------------------

def keep(title: Title, *, reason: str = "", actor_id=None, round_id=None, today: date | None = None) -> Title:
    """复查保留: awarded/due → kept; the next review is due one cycle later."""
    today = today or china_today()
    _check(title, "kept")
    reason = _reason(reason, required=round_id is None, what="复查保留")
    before = title.status
    title.status, title.review_due_on = "kept", due_date(today)
    _write_event(title, "kept", before, reason=reason, actor_id=actor_id, round_id=round_id, today=today)
    return title


def make_conditional(title: Title, *, reason: str = "", deadline: date | None = None, actor_id=None,
                     round_id=None, today: date | None = None) -> Title:
    """限期整改: awarded/due/kept → conditional, with what to fix (reason) and a deadline."""
    today = today or china_today()
    _check(title, "conditional")
    reason = _reason(reason, required=True, what="限期整改（整改要求）")
    if not isinstance(deadline, date):
        raise TitleError("限期整改须设定整改期限", "deadline")
    if deadline <= today:
        raise TitleError("整改期限须晚于今天", "deadline")
    if deadline > today + timedelta(days=MAX_CONDITION_DAYS):
        raise TitleError("整改期限不能超过两年", "deadline")
    before = title.status
    title.status, title.review_due_on = "conditional", deadline
    _write_event(title, "conditional", before, reason=reason, actor_id=actor_id, round_id=round_id,
                 deadline=deadline, today=today)
    return title


def revoke(title: Title, *, reason: str = "", actor_id=None, round_id=None, today: date | None = None) -> Title:
    """摘牌: any held status → revoked (final). A reason is always required."""
    today = today or china_today()
    _check(title, "revoked")
    reason = _reason(reason, required=True, what="摘牌")
    before = title.status
    title.status, title.review_due_on = "revoked", None
    _write_event(title, "revoked", before, reason=reason, actor_id=actor_id, round_id=round_id, today=today)
    return title


def restore(title: Title, *, reason: str = "", actor_id=None, today: date | None = None) -> Title:
    """整改合格: conditional → kept; the next review is due one cycle later."""
    today = today or china_today()
    _check(title, "restored")
    reason = _reason(reason, required=True, what="整改合格恢复")
    before = title.status
    title.status, title.review_due_on = "kept", due_date(today)
    _write_event(title, "restored", before, reason=reason, actor_id=actor_id, today=today)
    return title


def apply_outcome(title: Title, outcome: str, *, reason: str = "", deadline: date | None = None, actor_id=None,
                  round_id=None, today: date | None = None) -> Title:
    """One entry point for the forms, the API and 复查 rounds."""
    if outcome == "kept":
        return keep(title, reason=reason, actor_id=actor_id, round_id=round_id, today=today)
    if outcome == "conditional":
        return make_conditional(title, reason=reason, deadline=deadline, actor_id=actor_id, round_id=round_id,
                                today=today)
    if outcome == "revoked":
        return revoke(title, reason=reason, actor_id=actor_id, round_id=round_id, today=today)
    if outcome == "restored":
        if round_id is not None:
            raise TitleError("整改合格恢复只能手工办理", "outcome")
        return restore(title, reason=reason, actor_id=actor_id, today=today)
    raise TitleError("请选择复查结论：保留、限期整改、摘牌或整改合格恢复", "outcome")


def allowed_outcomes(title: Title) -> list[str]:
    return [o for o in OUTCOMES if title.status in TRANSITIONS[o][0]]


# --- due for re-review -----------------------------------------------------------------------------

def _is_due(title: Title, today: date) -> bool:
    if title.review_due_on is None:
        return False
    if title.status in ("awarded", "kept"):
        return title.review_due_on <= today
    if title.status == "conditional":
        return title.review_due_on < today  # the deadline day itself still counts for rectifying
    return False


def _mark_if_due(title: Title, today: date, actor_id=None) -> bool:
    if not _is_due(title, today):
        return False
    before = title.status
    if before == "conditional":
        reason = f"整改期限 {title.review_due_on.isoformat()} 已过，待复查"
    else:
        reason = f"复查到期（{title.review_due_on.isoformat()}）"
    title.status = "due"
    _write_event(title, "marked_due", before, reason=reason, actor_id=actor_id, today=today)
    return True


def mark_due(today: date | None = None, *, actor_id: int | None = None) -> list[Title]:
    """Mark due every title of the current scope whose review date has come (idempotent)."""
    today = today or china_today()
    candidates = db.session.scalars(select(Title).where(
        Title.review_due_on.is_not(None),
        or_(and_(Title.status.in_(("awarded", "kept")), Title.review_due_on <= today),
            and_(Title.status == "conditional", Title.review_due_on < today)))
        .order_by(Title.school_id, Title.id)).all()
    return [t for t in candidates if _mark_if_due(t, today, actor_id=actor_id)]


def mark_due_everywhere(today: date | None = None, *, district_slug: str | None = None) -> dict[str, int]:
    """The daily run: mark_due() in every active district (or one), each in its own scope and
    transaction. Returns {district slug: titles marked}. Idempotent."""
    from tenants.models import District
    from tenants.scope import Scope, system_scope, tenant_scope

    today = today or china_today()
    with system_scope("titles: the active districts for the daily 复查 due-date run"):
        stmt = select(District.id, District.slug).where(District.active.is_(True)).order_by(District.id)
        if district_slug:
            stmt = stmt.where(District.slug == district_slug)
        districts = db.session.execute(stmt).all()
    db.session.commit()
    counts = {}
    for district_id, slug in districts:
        with tenant_scope(Scope.district(district_id)):
            counts[slug] = len(mark_due(today))
            db.session.commit()
    return counts


_last_daily_run: dict[str, date] = {}


def run_daily_if_new_day(today: date | None = None) -> dict[str, int] | None:
    """Called by the clock loop and the embedded worker: mark_due_everywhere() once per China
    day and process (several processes doing it the same day change nothing: idempotent)."""
    today = today or china_today()
    if _last_daily_run.get("mark_due") == today:
        return None
    counts = mark_due_everywhere(today)
    _last_daily_run["mark_due"] = today
    return counts


# --- 复查 rounds ------------------------------------------------------------------------------------

def re_review_titles(home_kind: str, year: int) -> dict[int, Title]:
    """school id → the title a 复查 round of ``year`` reviews: per school the highest-tier
    held title of ``home_kind`` that is due, or (awarded / kept) falls due by 31 Dec of
    ``year``. Conditional titles wait for their deadline (then they become due). One query."""
    end = date(year, 12, 31)
    rows = db.session.scalars(select(Title).where(
        Title.home_kind == home_kind,
        or_(Title.status == "due",
            and_(Title.status.in_(("awarded", "kept")), Title.review_due_on.is_not(None),
                 Title.review_due_on <= end)))
        .order_by(Title.school_id, Title.id))
    chosen: dict[int, Title] = {}
    for title in rows:
        best = chosen.get(title.school_id)
        if best is None or TIER_ORDER.index(title.tier) > TIER_ORDER.index(best.tier):
            chosen[title.school_id] = title
    return chosen


# --- editing ----------------------------------------------------------------------------------------

EDITABLE_FIELDS = ("tier", "level", "home_kind", "awarded_on", "review_due_on", "note")


def edit(title: Title, data: dict, *, reason: str = "", actor_id=None, today: date | None = None) -> Title:
    """Correct a title's record. A title conferred by a round keeps its level, tier, kind and date
    (the round's snapshot is the record); a revoked one only its note. Changing anything but the
    note needs a reason. A new award date recomputes the due date of a title not yet reviewed."""
    today = today or china_today()
    merged = {f: getattr(title, f) for f in EDITABLE_FIELDS}
    merged.update({k: v for k, v in data.items() if k in EDITABLE_FIELDS})
    errors: dict = {}
    values = _validate_fields(merged, errors, today=today)
    if errors:
        raise TitleError(errors)
    changed = {f for f in EDITABLE_FIELDS if values[f] != getattr(title, f)}
    if not changed:
        return title
    locked = set()
    if title.round_id is not None:
        locked = {"tier", "level", "home_kind", "awarded_on"}
    if title.status == "revoked":
        locked = set(EDITABLE_FIELDS) - {"note"}
    if changed & locked:
        why = "已摘牌的称号只能修改备注" if title.status == "revoked" else "由评选轮次授予的称号，等级、级别、类型和授予日期以轮次结果为准，不能修改"
        raise TitleError(why, sorted(changed & locked)[0])
    if "review_due_on" in changed and title.status not in ("awarded", "kept"):
        raise TitleError("待复查或限期整改的称号不能改复查日期，请给出复查结论", "review_due_on")
    reason = _reason(reason, required=bool(changed - {"note"}), what="修改称号信息")
    if "awarded_on" in changed and "review_due_on" not in changed and title.status == "awarded":
        values["review_due_on"] = due_date(values["awarded_on"])
        changed.add("review_due_on")
    changes = {}
    for f in sorted(changed):
        old, new = getattr(title, f), values[f]
        changes[f] = [_plain(old), _plain(new)]
        setattr(title, f, new)
    _write_event(title, "edited", title.status, reason=reason or "修改备注", actor_id=actor_id, changes=changes,
                 today=today)
    _mark_if_due(title, today, actor_id=actor_id)
    return title


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


# --- the ladder -------------------------------------------------------------------------------------

def _school_id(school) -> int:
    return school.id if isinstance(school, School) else int(school)


def held_titles(school, home_kind: str = "staff_home") -> list[Title]:
    return list(db.session.scalars(select(Title).where(
        Title.school_id == _school_id(school), Title.home_kind == home_kind, Title.status.in_(HELD_STATUSES))))


def highest_tier(school, home_kind: str = "staff_home") -> str | None:
    """The highest tier (合格 < 先进 < 模范) the school holds now, any level; None if none."""
    best = max((TIER_ORDER.index(t.tier) for t in held_titles(school, home_kind) if t.tier in TIER_ORDER),
               default=-1)
    return TIER_ORDER[best] if best >= 0 else None


def holds_tier(school, tier: str, home_kind: str = "staff_home") -> bool:
    """True when the school holds ``tier`` or a higher one (the ladder). Revoked titles count
    for nothing; due and conditional ones are still held."""
    best = highest_tier(school, home_kind)
    return best is not None and TIER_ORDER.index(best) >= TIER_ORDER.index(tier)


# --- 标兵 -------------------------------------------------------------------------------------------

def exemplars_by_kind(school_ids=None, today: date | None = None) -> dict[str, dict[int, date]]:
    """home kind → {school flagged 标兵 → the day its unbroken holding of 模范 began}. One query
    (the 模范 titles with the day each revoked one was revoked)."""
    today = today or china_today()
    revoked = TitleEvent
    stmt = (select(Title.school_id, Title.home_kind, Title.awarded_on, Title.status, revoked.effective_on)
            .outerjoin(revoked, and_(revoked.district_id == Title.district_id, revoked.title_id == Title.id,
                                     revoked.event == "revoked"))
            .where(Title.tier == "model", Title.awarded_on <= today))
    if school_ids is not None:
        ids = list(set(school_ids))
        if not ids:
            return {}
        stmt = stmt.where(Title.school_id.in_(ids))
    spans: dict[tuple[str, int], list[tuple[date, date | None]]] = {}
    for school_id, kind, awarded_on, status, revoked_on in db.session.execute(stmt):
        end = (revoked_on or awarded_on) if status == "revoked" else None
        spans.setdefault((kind, school_id), []).append((awarded_on, end))
    found: dict[str, dict[int, date]] = {}
    for (kind, school_id), intervals in spans.items():
        since = _unbroken_since(intervals, today)
        if since is not None and since <= add_years(today, -EXEMPLAR_YEARS):
            found.setdefault(kind, {})[school_id] = since
    return found


def exemplars(school_ids=None, home_kind: str = "staff_home", today: date | None = None) -> dict[int, date]:
    """Schools flagged 标兵 for ``home_kind`` → the day their unbroken holding of 模范 began."""
    return exemplars_by_kind(school_ids, today).get(home_kind, {})


def _unbroken_since(intervals, today: date) -> date | None:
    """The start of the run of overlapping intervals [start, end) that covers today."""
    covering = [(s, e) for s, e in intervals if s <= today and (e is None or e > today)]
    if not covering:
        return None
    since = min(s for s, _ in covering)
    changed = True
    while changed:
        changed = False
        for s, e in intervals:
            if s < since and (e is None or e >= since):
                since, changed = s, True
    return since


def exemplar_since(school, home_kind: str = "staff_home", today: date | None = None) -> date | None:
    return exemplars([_school_id(school)], home_kind, today).get(_school_id(school))


def school_exemplars(school, today: date | None = None) -> dict[str, date | None]:
    """home kind → since when the school is 标兵 of it (None: it is not)."""
    found = exemplars_by_kind([_school_id(school)], today)
    return {kind: found.get(kind, {}).get(_school_id(school)) for kind in HOME_KINDS}


# --- lists --------------------------------------------------------------------------------------------

def title_query(*, level="", tier="", status="", year=None, home_kind="", school_id=None, q=""):
    stmt = select(Title).join(School, and_(School.district_id == Title.district_id, School.id == Title.school_id))
    if level:
        stmt = stmt.where(Title.level == level)
    if tier:
        stmt = stmt.where(Title.tier == tier)
    if status:
        stmt = stmt.where(Title.status == status)
    if home_kind:
        stmt = stmt.where(Title.home_kind == home_kind)
    if year:
        stmt = stmt.where(Title.awarded_on >= date(year, 1, 1), Title.awarded_on <= date(year, 12, 31))
    if school_id:
        stmt = stmt.where(Title.school_id == school_id)
    if q:
        pattern = f"%{q.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(School.name.like(pattern), School.code.like(pattern), Title.note.like(pattern)))
    return stmt.order_by(Title.awarded_on.desc(), School.name, Title.id.desc())


def school_names(school_ids) -> dict[int, str]:
    ids = list(set(school_ids))
    if not ids:
        return {}
    return dict(db.session.execute(select(School.id, School.name).where(School.id.in_(ids))).all())


def school_titles(school_id: int) -> list[Title]:
    return list(db.session.scalars(select(Title).where(Title.school_id == school_id)
                                   .order_by(Title.awarded_on.desc(), Title.id.desc())))


def round_names(round_ids) -> dict[int, str]:
    ids = [i for i in set(round_ids) if i]
    if not ids:
        return {}
    return {r.id: f"{r.year} 年「{r.name}」" for r in db.session.scalars(select(Round).where(Round.id.in_(ids)))}


def award_years() -> list[int]:
    days = db.session.scalars(select(Title.awarded_on).distinct())
    return sorted({d.year for d in days}, reverse=True)


EXPORT_HEADERS = ["学校", "称号", "级别", "等级", "类型", "授予日期", "年度", "状态", "复查到期日", "来源", "标兵", "备注"]


def titles_workbook(titles: list[Title], district_name: str, *, today: date | None = None) -> bytes:
    """The list as an .xlsx; text a spreadsheet would run as a formula is written as text."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    from app.spreadsheets import safe_cell

    today = today or china_today()
    names = school_names(t.school_id for t in titles)
    rounds = round_names(t.round_id for t in titles)
    flagged = exemplars_by_kind([t.school_id for t in titles], today)
    wb = Workbook()
    ws = wb.active
    ws.title = "荣誉称号"
    ws.append([safe_cell(f"{district_name} 荣誉称号（导出日期 {today.isoformat()}）")])
    ws.append(EXPORT_HEADERS)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for t in titles:
        exemplar = EXEMPLAR_LABEL if t.school_id in flagged.get(t.home_kind, {}) and t.tier == "model" \
            and t.status in HELD_STATUSES else ""
        ws.append([safe_cell(v) for v in (
            names.get(t.school_id, ""), t.name, t.level_label, t.tier_label, t.home_kind_label, t.awarded_on,
            t.awarded_on.year, t.status_label, t.review_due_on, rounds.get(t.round_id, "手工登记"), exemplar,
            t.note)])
    for column, width in zip("ABCDEFGHIJKL", (24, 22, 8, 8, 10, 12, 8, 10, 12, 28, 6, 40)):
        ws.column_dimensions[column].width = width
    for row in ws.iter_rows(min_row=3):
        for cell in row:
            if isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
