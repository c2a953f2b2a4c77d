"""Rounds and applications: set-up, the state machines, 上级提供 values, snapshots, progress.

Round (DESIGN §7): draft → open → assessing (this issue; calibrating → publicised → final come
next). Set-up fields lock when the round opens.

Application: draft → submitted → returned → submitted (resubmit) → under_assessment (when the
round starts assessing). Every submit freezes an immutable ApplicationSnapshot and queues the
dossier compile (JobRun ``application_dossier``) in the same transaction.

Services write and flush; the caller commits once. Every rule answers in Chinese.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import and_, distinct, func, or_, select

from app.audit.services import ACTION_LABELS, record
from app.extensions import db
from app.spreadsheets import safe_cell
from app.jobs.services import handler
from app.jobs.services import submit as submit_job
from app.rounds.models import (AGGREGATIONS, ANNUAL_REVIEW, APPLICATION_STATE_LABELS, RE_REVIEW, ROUND_KINDS,
                               ROUND_STATE_LABELS, TITLE_ROUND, Application, ApplicationComment,
                               ApplicationSnapshot, Evidence, Round, SelfScore)
from app.rubrics.models import (BONUS, DEDUCTION, EVIDENCE_METHODS, INDICATOR_KINDS, POINTS, PROVIDED_SOURCES,
                                PUBLISHED, RATE_BAND, Indicator, Rubric, RubricCategory)
from app.rubrics.scoring import (CategorySpec, IndicatorSpec, Inputs, ScoreInputError, has_input,
                                 indicator_points, q2, score)
from app.titles.models import HOME_KINDS, TIER_ORDER, TIERS, Title
from app.titles.services import HELD_STATUSES, holds_tier, re_review_titles
from app.titles.services import highest_tier as highest_title_tier
from tenants.models import School
from tenants.roles import roles_allow

CHINA = ZoneInfo("Asia/Shanghai")

# Which titles count as held / enter a 复查 round: defined once, with the Title state machine.
HELD_TITLE_STATUSES = HELD_STATUSES
EDITABLE = ("draft", "returned")
GRADE_BANDS = {"excellent": "优秀", "good": "良好", "pass": "合格"}  # below the last band: 不合格
GRADE_ORDER = ["excellent", "good", "pass"]
# The tie-break codes are those the results engine applies (app/results/tiers.py), defined once;
# the aliases (veto_free, self_score) are accepted and stored as their canonical code.
from app.results.tiers import TIE_BREAK_ALIASES, TIE_BREAK_LABELS  # noqa: E402

TIE_BREAKS = dict(TIE_BREAK_LABELS)
CATEGORY_TIE_BREAK = "category:"
ELIGIBILITY_LABELS = {
    "requires_tier": "须已获得的称号等级",
    "min_membership_rate": "入会率不低于（%）",
    "min_plan_completion_rate": "年度计划完成率不低于（%）",
    "requires_plan_approved": "年度计划须已通过审核",
}
# assessing → calibrating → publicised → final (and publicised → calibrating when an objection
# is upheld) are carried out by app/results/services.py, which checks them here.
ROUND_TRANSITIONS = {"draft": {"open"}, "open": {"assessing"}, "assessing": {"calibrating"},
                     "calibrating": {"publicised"}, "publicised": {"calibrating", "final"}}
TRANSITION_LABELS = {"open": "开始申报", "assessing": "开始评审", "calibrating": "进入核分",
                     "publicised": "发布结果并开始公示", "final": "定稿命名"}
MAX_NOTE = 1000
MAX_SUMMARY = 5000
MAX_COMMENT = 2000

ACTION_LABELS.update({
    "round_created": "新建评选/考核轮次",
    "round_updated": "修改轮次设置",
    "round_opened": "轮次开始申报",
    "round_assessing": "轮次开始评审",
    "application_created": "申报/列入轮次",
    "application_saved": "保存自评",
    "application_submitted": "提交申报",
    "application_returned": "退回申报",
    "evidence_uploaded": "上传佐证材料",
    "evidence_rejected": "佐证材料被拒绝",
    "evidence_deleted": "删除佐证材料",
})


class RoundError(ValueError):
    """A round rule refused the request. ``errors``: field → message (Chinese)."""

    def __init__(self, message: str | dict, field: str | None = None):
        if isinstance(message, dict):
            self.errors = dict(message)
            message = "；".join(self.errors.values())
        else:
            self.errors = {field or "_": message}
        super().__init__(message)
        self.field = field


class ApplicationError(ValueError):
    """An application rule refused the request. ``errors``: indicator id (or "_") → message."""

    def __init__(self, message: str | dict):
        if isinstance(message, dict):
            self.errors = dict(message)
            message = "；".join(str(v) for v in self.errors.values())
        else:
            self.errors = {"_": message}
        super().__init__(message)


def china_today() -> date:
    return datetime.now(CHINA).date()


def _utcnow() -> datetime:
    return datetime.now(timezone.utc)


# --- round set-up ---------------------------------------------------------------------------

def published_rubrics() -> list[Rubric]:
    return list(db.session.scalars(select(Rubric).where(Rubric.status == PUBLISHED)
                                   .order_by(Rubric.name, Rubric.version.desc())))


def _number(value, label: str, errors: dict, key: str, *, low=0, high=100, integer=False, required=False):
    if value is None or value == "":
        if required:
            errors[key] = f"请填写{label}"
        return None
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        errors[key] = f"{label}应为数字"
        return None
    if not number.is_finite() or number < low or number > high:
        errors[key] = f"{label}应在 {low} 到 {high} 之间"
        return None
    if integer:
        if number != number.to_integral_value():
            errors[key] = f"{label}应为整数"
            return None
        return int(number)
    if number.as_tuple().exponent < -2:
        errors[key] = f"{label}最多保留两位小数"
        return None
    return int(number) if number == number.to_integral_value() else float(number)


def _date(value, label: str, errors: dict, key: str):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        errors[key] = f"{label}格式不正确，请按 2026-03-08 的格式填写"
        return None


def tie_break_label(code: str) -> str:
    if code.startswith(CATEGORY_TIE_BREAK):
        return f"「{code[len(CATEGORY_TIE_BREAK):]}」类别得分高者优先"
    return TIE_BREAKS.get(code, code)


def validate_setup(data: dict) -> dict:
    """Check a round's whole set-up; returns the cleaned values or raises RoundError with
    every problem (field → Chinese message)."""
    errors: dict[str, str] = {}
    out: dict = {}
    name = (data.get("name") or "").strip()
    if not name:
        errors["name"] = "请填写轮次名称"
    elif len(name) > 200:
        errors["name"] = "轮次名称不能超过 200 个字"
    out["name"] = name
    kind = data.get("kind")
    if kind not in ROUND_KINDS:
        errors["kind"] = "请选择轮次类型（建家评选、复查或年度考评）"
    out["kind"] = kind
    out["year"] = _number(data.get("year"), "年度", errors, "year", low=2000, high=2100, integer=True,
                          required=True)
    home_kind = data.get("home_kind") or "staff_home"
    if home_kind not in HOME_KINDS:
        errors["home_kind"] = "请选择职工之家或职工小家"
    out["home_kind"] = home_kind

    rubric = None
    rubric_id = data.get("rubric_id")
    if rubric_id not in (None, ""):
        try:
            rubric = db.session.get(Rubric, (_district_id(), int(rubric_id)))
        except (TypeError, ValueError):
            rubric = None
        if rubric is None or rubric.status != PUBLISHED:
            errors["rubric_id"] = "只能选用本区已发布的考核细则"
            rubric = None
    out["rubric_id"] = rubric.id if rubric else None

    target_tier = data.get("target_tier") or None
    if kind == TITLE_ROUND:
        if target_tier not in TIERS:
            errors["target_tier"] = "建家评选须选择申报的称号等级（合格/先进/模范）"
    else:
        target_tier = None
    out["target_tier"] = target_tier

    # Timeline
    opens_on = _date(data.get("opens_on"), "申报开始日期", errors, "opens_on")
    closes_on = _date(data.get("closes_on"), "申报截止日期", errors, "closes_on")
    due_on = _date(data.get("assessment_due_on"), "评审截止日期", errors, "assessment_due_on")
    grace = _number(data.get("grace_days", 0) or 0, "宽限天数", errors, "grace_days", low=0, high=30, integer=True)
    publicity = _number(data.get("publicity_working_days", 5), "公示期（工作日）", errors,
                        "publicity_working_days", low=1, high=30, integer=True, required=True)
    if opens_on and closes_on and closes_on < opens_on:
        errors["closes_on"] = "申报截止日期不能早于开始日期"
    if due_on and closes_on and due_on < closes_on + timedelta(days=grace or 0):
        errors["assessment_due_on"] = "评审截止日期不能早于申报截止日期（含宽限期）"
    out.update(opens_on=opens_on, closes_on=closes_on, assessment_due_on=due_on, grace_days=grace or 0,
               publicity_working_days=publicity if publicity is not None else 5)

    out["eligibility"] = _validate_eligibility(data.get("eligibility") or {}, kind, target_tier, errors)

    # Weights (percent), summing to 100
    weights_in = data.get("weights") or {}
    unknown = set(weights_in) - {"self", "assessor", "peer"}
    if unknown:
        errors["weights"] = f"未知的权重项：{'、'.join(sorted(unknown))}"
    weights = {}
    for key, label in (("self", "自评权重"), ("assessor", "考评权重"), ("peer", "互评权重")):
        weights[key] = _number(weights_in.get(key, 0) or 0, label, errors, f"weights.{key}", low=0, high=100) or 0
    total = sum(Decimal(str(v)) for v in weights.values())
    if not any(k.startswith("weights") for k in errors) and total != 100:
        errors["weights"] = f"自评、考评、互评权重之和应为 100%，现为 {total}%"
    out["weights"] = weights

    aggregation = data.get("aggregation") or "mean"
    panel_size = _number(data.get("panel_size"), "每份申报的评审人数", errors, "panel_size", low=1, high=50,
                         integer=True)
    if aggregation not in AGGREGATIONS:
        errors["aggregation"] = "请选择汇总方式（平均分、中位数或去掉最高最低后平均）"
    elif aggregation == "trimmed_mean" and (panel_size or 0) < 5:
        errors["aggregation"] = "去掉最高最低分后平均需要每份申报至少 5 位评审：请把评审人数设为 5 或以上，或改用平均分、中位数"
    out["aggregation"] = aggregation
    out["panel_size"] = panel_size
    threshold = _number(data.get("disagreement_threshold"), "分歧提示阈值", errors, "disagreement_threshold",
                        low=0, high=100)
    out["disagreement_threshold"] = Decimal(str(threshold)) if threshold is not None else None

    out["grade_bands"] = _validate_bands(data.get("grade_bands") or [], kind, rubric, errors)
    out["quotas"] = _validate_quotas(data.get("quotas") or {}, kind, errors)
    out["thresholds"] = _validate_thresholds(data.get("thresholds") or {}, kind, rubric, errors)
    out["tie_break"] = _validate_tie_break(data.get("tie_break") or [], rubric, errors)
    if errors:
        raise RoundError(errors)
    return out


def _validate_eligibility(eligibility: dict, kind, target_tier, errors) -> dict:
    if not isinstance(eligibility, dict):
        errors["eligibility"] = "申报条件格式不正确"
        return {}
    eligibility = {k: v for k, v in eligibility.items() if v not in (None, "", False)}
    if not eligibility:
        return {}
    if kind != TITLE_ROUND:
        errors["eligibility"] = "只有建家评选轮次可以设置申报条件（复查与年度考评按规则自动列入）"
        return {}
    unknown = set(eligibility) - set(ELIGIBILITY_LABELS)
    if unknown:
        errors["eligibility"] = f"未知的申报条件：{'、'.join(sorted(unknown))}"
        return {}
    out = {}
    tier = eligibility.get("requires_tier")
    if tier is not None:
        if tier not in TIERS:
            errors["eligibility.requires_tier"] = "须已获得的称号等级只能是合格、先进或模范"
        elif target_tier in TIERS and TIER_ORDER.index(tier) >= TIER_ORDER.index(target_tier):
            errors["eligibility.requires_tier"] = (f"称号阶梯：申报「{TIERS[target_tier]}」时，前置等级应低于"
                                                   f"「{TIERS[target_tier]}」")
        else:
            out["requires_tier"] = tier
    for key, label in (("min_membership_rate", "入会率门槛"), ("min_plan_completion_rate", "计划完成率门槛")):
        if key in eligibility:
            value = _number(eligibility[key], label, errors, f"eligibility.{key}", low=0, high=100)
            if value is not None:
                out[key] = value
    if "requires_plan_approved" in eligibility:
        if eligibility["requires_plan_approved"] is not True:
            errors["eligibility.requires_plan_approved"] = "“年度计划须已通过审核”只能是是或否"
        else:
            out["requires_plan_approved"] = True
    return out


def _validate_bands(bands, kind, rubric, errors) -> list:
    if not bands:
        return []
    if kind != ANNUAL_REVIEW:
        errors["grade_bands"] = "只有年度考评设置等次分数线"
        return []
    ceiling = Decimal(str(rubric.total_points)) if rubric is not None and rubric.total_points else Decimal(1000)
    cleaned, last, seen = [], None, set()
    for item in bands:
        try:
            code, minimum = item
        except (TypeError, ValueError):
            errors["grade_bands"] = "等次分数线格式不正确"
            return []
        if code not in GRADE_BANDS or code in seen:
            errors["grade_bands"] = "等次只能是优秀、良好、合格，且各设一次"
            return []
        seen.add(code)
        value = _number(minimum, f"「{GRADE_BANDS[code]}」分数线", errors, f"grade_bands.{code}", low=0,
                        high=ceiling)
        if value is None:
            return []
        if cleaned and GRADE_ORDER.index(code) < GRADE_ORDER.index(cleaned[-1][0]):
            errors["grade_bands"] = "等次应按优秀、良好、合格的顺序从高到低排列"
            return []
        if last is not None and Decimal(str(value)) >= last:
            errors["grade_bands"] = "等次分数线应从高到低依次递减"
            return []
        last = Decimal(str(value))
        cleaned.append([code, value])
    return cleaned


def _validate_quotas(quotas, kind, errors) -> dict:
    if not isinstance(quotas, dict):
        errors["quotas"] = "名额格式不正确"
        return {}
    quotas = {k: v for k, v in quotas.items() if v not in (None, "")}
    if not quotas:
        return {}
    allowed = TIERS if kind == TITLE_ROUND else GRADE_BANDS if kind == ANNUAL_REVIEW else {}
    if not allowed:
        errors["quotas"] = "复查轮次不设名额"
        return {}
    out = {}
    for key, value in quotas.items():
        if key not in allowed:
            errors["quotas"] = f"名额只能按{'称号等级' if kind == TITLE_ROUND else '等次'}设置"
            return {}
        number = _number(value, f"「{allowed[key]}」名额", errors, f"quotas.{key}", low=0, high=1000, integer=True)
        if number is not None:
            out[key] = number
    return out


def _validate_thresholds(thresholds, kind, rubric, errors) -> dict:
    """Minimum combined total per tier (建家评选 and 复查): a higher tier's line is not below a
    lower tier's (the results engine refuses rising lines)."""
    if not isinstance(thresholds, dict):
        errors["thresholds"] = "分数线格式不正确"
        return {}
    thresholds = {k: v for k, v in thresholds.items() if v not in (None, "")}
    if not thresholds:
        return {}
    if kind not in (TITLE_ROUND, RE_REVIEW):
        errors["thresholds"] = "只有建家评选和复查设置称号分数线（年度考评请设等次分数线）"
        return {}
    ceiling = Decimal(str(rubric.total_points)) if rubric is not None and rubric.total_points else Decimal(1000)
    out = {}
    for key, value in thresholds.items():
        if key not in TIERS:
            errors["thresholds"] = "分数线只能按合格、先进、模范设置"
            return {}
        number = _number(value, f"「{TIERS[key]}」分数线", errors, f"thresholds.{key}", low=0, high=ceiling)
        if number is not None:
            out[key] = number
    last = None
    for key in TIER_ORDER:  # qualified → advanced → model
        if key in out:
            if last is not None and Decimal(str(out[key])) < last:
                errors["thresholds"] = "称号分数线应为模范 ≥ 先进 ≥ 合格"
                return {}
            last = Decimal(str(out[key]))
    return out


def _validate_tie_break(chain, rubric, errors) -> list:
    if not isinstance(chain, (list, tuple)):
        errors["tie_break"] = "同分排序规则格式不正确"
        return []
    categories = None
    if rubric is not None:
        categories = set(db.session.scalars(select(RubricCategory.name).where(RubricCategory.rubric_id == rubric.id)))
    out = []
    for code in chain:
        code = (code or "").strip()
        if not code:
            continue
        if code.startswith(CATEGORY_TIE_BREAK):
            name = code[len(CATEGORY_TIE_BREAK):].strip()
            if not name or (categories is not None and name not in categories):
                errors["tie_break"] = f"同分排序规则中的类别「{name}」不在所选考核细则中"
                return []
            code = CATEGORY_TIE_BREAK + name
        else:
            code = TIE_BREAK_ALIASES.get(code, code)
            if code not in TIE_BREAKS:
                errors["tie_break"] = f"未知的同分排序规则：{code}"
                return []
        if code in out:
            errors["tie_break"] = f"同分排序规则重复：{tie_break_label(code)}"
            return []
        out.append(code)
    if len(out) > 8:
        errors["tie_break"] = "同分排序规则最多 8 项"
        return []
    return out


def _district_id() -> int:
    from tenants.scope import current_scope

    scope = current_scope()
    return scope.district_id


SETUP_FIELDS = ("name", "kind", "year", "rubric_id", "home_kind", "target_tier", "opens_on", "closes_on",
                "grace_days", "assessment_due_on", "publicity_working_days", "eligibility", "weights",
                "aggregation", "panel_size", "disagreement_threshold", "quotas", "thresholds", "tie_break",
                "grade_bands")


def setup_of(round_: Round) -> dict:
    """The round's set-up as the dict ``validate_setup`` takes."""
    return {f: getattr(round_, f) for f in SETUP_FIELDS}


def create_round(data: dict, *, user_id: int | None = None) -> Round:
    cleaned = validate_setup(data)
    round_ = Round(status="draft", **cleaned)
    db.session.add(round_)
    db.session.flush()
    record("round_created", target=round_, details={"name": round_.name, "kind": round_.kind})
    return round_


def update_round(round_: Round, data: dict) -> Round:
    if round_.status != "draft":
        raise RoundError("轮次已开始申报，设置已锁定，不能再修改")
    cleaned = validate_setup(data)
    for key, value in cleaned.items():
        setattr(round_, key, value)
    db.session.flush()
    record("round_updated", target=round_, details={"name": round_.name})
    return round_


def _require_transition(round_: Round, target: str) -> None:
    if target not in ROUND_TRANSITIONS.get(round_.status, set()):
        raise RoundError(f"轮次当前为「{ROUND_STATE_LABELS.get(round_.status, round_.status)}」，"
                         f"不能{TRANSITION_LABELS.get(target, target)}")


def last_day(round_: Round) -> date | None:
    """The last day a submission is accepted (closing date plus grace days)."""
    if round_.closes_on is None:
        return None
    return round_.closes_on + timedelta(days=round_.grace_days or 0)


def open_round(round_: Round, *, today: date | None = None, user_id: int | None = None) -> int:
    """draft → open. Requires a published rubric and dates; enters schools automatically for
    年度考评 (every active school) and 复查 (every holder of a title of the home kind).
    Returns the number of applications created."""
    today = today or china_today()
    _require_transition(round_, "open")
    problems = {}
    try:
        validate_setup(setup_of(round_))
    except RoundError as exc:
        problems.update(exc.errors)
    rubric = db.session.get(Rubric, (round_.district_id, round_.rubric_id)) if round_.rubric_id else None
    if rubric is None:
        problems["rubric_id"] = "开始申报前须选定一份已发布的考核细则"
    elif rubric.status != PUBLISHED:
        problems["rubric_id"] = "所选考核细则尚未发布，不能开始申报"
    if round_.opens_on is None or round_.closes_on is None:
        problems["closes_on"] = "开始申报前须设定申报开始和截止日期"
    elif last_day(round_) < today:
        problems["closes_on"] = "申报截止日期（含宽限期）已过，请先修改日期"
    if round_.kind == ANNUAL_REVIEW and not round_.grade_bands:
        problems["grade_bands"] = "年度考评开始前须设定优秀、良好、合格的分数线"
    if problems:
        raise RoundError(problems)
    round_.status = "open"
    round_.opened_at = _utcnow()
    entered = enter_automatically(round_)
    record("round_opened", target=round_, details={"name": round_.name, "entered": entered})
    return entered


def enter_automatically(round_: Round) -> int:
    """Create the applications of a 年度考评 or 复查 round (idempotent)."""
    if round_.kind not in (ANNUAL_REVIEW, RE_REVIEW):
        return 0
    existing = set(db.session.scalars(select(Application.school_id).where(Application.round_id == round_.id)))
    schools = {s.id: s for s in db.session.scalars(select(School).where(School.active.is_(True)))}
    titles: dict[int, Title] = {}
    if round_.kind == RE_REVIEW:
        titles = re_review_titles(round_.home_kind, round_.year)  # due by year end (app/titles/services.py)
        targets = [sid for sid in titles if sid in schools]
    else:
        targets = list(schools)
    parts = rubric_parts(round_.rubric_id)
    created = 0
    for school_id in sorted(targets):
        if school_id in existing:
            continue
        application = Application(district_id=round_.district_id, school_id=school_id, round_id=round_.id,
                                  status="draft", entered_automatically=True,
                                  title_id=titles[school_id].id if school_id in titles else None)
        db.session.add(application)
        db.session.flush()
        refresh_provided(application, round_, schools[school_id], parts)
        created += 1
    return created


def start_assessing(round_: Round, *, today: date | None = None) -> int:
    """open → assessing: submitted applications go under assessment. Refused while the
    application window (with grace days) runs and some application is not submitted."""
    today = today or china_today()
    _require_transition(round_, "assessing")
    applications = list(db.session.scalars(select(Application).where(Application.round_id == round_.id)))
    pending = [a for a in applications if a.status != "submitted"]
    last = last_day(round_)
    if last is not None and today <= last and (pending or not applications):
        waiting = f"仍有 {len(pending)} 份申报未提交" if applications else "还没有学校提交申报"
        raise RoundError(f"申报尚未截止（含宽限期至 {last.isoformat()}），{waiting}，不能开始评审")
    moved = 0
    for application in applications:
        if application.status == "submitted":
            application.status = "under_assessment"
            moved += 1
    round_.status = "assessing"
    db.session.flush()
    record("round_assessing", target=round_, details={"name": round_.name, "under_assessment": moved})
    return moved


# --- rubric parts ---------------------------------------------------------------------------

@dataclass
class RubricParts:
    rubric: Rubric | None
    categories: list = field(default_factory=list)   # RubricCategory rows, ordered
    indicators: list = field(default_factory=list)   # Indicator rows, ordered by category then position

    @property
    def by_id(self) -> dict:
        return {i.id: i for i in self.indicators}

    def specs(self):
        return ([CategorySpec(c.id, c.name, Decimal(str(c.cap))) for c in self.categories],
                [IndicatorSpec.of(i) for i in self.indicators])

    def grouped(self):
        by_category = {c.id: [] for c in self.categories}
        for indicator in self.indicators:
            by_category.setdefault(indicator.category_id, []).append(indicator)
        return [(c, by_category.get(c.id, [])) for c in self.categories]


def rubric_parts(rubric_id: int | None) -> RubricParts:
    if rubric_id is None:
        return RubricParts(None)
    rubric = db.session.get(Rubric, (_district_id(), rubric_id))
    categories = list(db.session.scalars(select(RubricCategory).where(RubricCategory.rubric_id == rubric_id)
                                         .order_by(RubricCategory.position, RubricCategory.id)))
    order = {c.id: n for n, c in enumerate(categories)}
    indicators = list(db.session.scalars(select(Indicator).where(Indicator.rubric_id == rubric_id)))
    indicators.sort(key=lambda i: (order.get(i.category_id, 0), i.position, i.id))
    return RubricParts(rubric, categories, indicators)


def is_provided(indicator: Indicator) -> bool:
    return indicator.evidence_method == "provided"


# --- 上级提供: values the system already holds ------------------------------------------------

def provided_values(round_: Round, school: School) -> dict[str, tuple]:
    """source → (value, note). value: bool, a Decimal percent, or None (no data)."""
    from app.activities.models import ActivityRecord
    from app.plans.models import APPROVED, PlanDeadline, ScheduledActivity, WorkPlan

    year = round_.year
    plan = db.session.scalar(select(WorkPlan).where(WorkPlan.school_id == school.id, WorkPlan.year == year))
    deadline = db.session.scalar(select(PlanDeadline).where(PlanDeadline.year == year))
    out: dict[str, tuple] = {}

    if plan is None or plan.first_submitted_at is None:
        out["plan_on_time"] = (False, f"系统记录：{year} 年度工作计划尚未报送")
    elif deadline is None:
        out["plan_on_time"] = (None, f"系统暂无 {year} 年度计划报送截止日期，由区教育工会核定")
    else:
        filed = plan.first_submitted_at.astimezone(CHINA).date()
        on_time = filed <= deadline.due_on
        out["plan_on_time"] = (on_time, f"系统记录：计划于 {filed.isoformat()} 首次报送，截止日期 "
                                        f"{deadline.due_on.isoformat()}，{'按时' if on_time else '逾期'}")

    approved = plan is not None and (plan.status == APPROVED or plan.approved_version_id is not None)
    out["plan_approved"] = (approved, f"系统记录：{year} 年度工作计划{'已通过审核' if approved else '尚未通过审核'}")

    if plan is None:
        out["plan_completion_rate"] = (Decimal(0), f"系统记录：未报送 {year} 年度工作计划，完成率按 0 计")
    else:
        planned = db.session.scalar(select(func.count(ScheduledActivity.id)).where(
            ScheduledActivity.plan_id == plan.id, ScheduledActivity.school_id == school.id)) or 0
        done = db.session.scalar(
            select(func.count(distinct(ScheduledActivity.id)))
            .join(ActivityRecord, and_(ActivityRecord.district_id == ScheduledActivity.district_id,
                                       ActivityRecord.scheduled_activity_id == ScheduledActivity.id))
            .where(ScheduledActivity.plan_id == plan.id, ScheduledActivity.school_id == school.id)) or 0
        if planned == 0:
            out["plan_completion_rate"] = (None, "系统记录：年度计划中没有活动安排，无法计算完成率")
        else:
            rate = q2(Decimal(done) * 100 / Decimal(planned))
            out["plan_completion_rate"] = (rate, f"系统记录：计划活动 {planned} 项，已有活动记录 {done} 项，完成率 {rate}%")

    if school.staff_count:
        rate = min(Decimal(100), q2(Decimal(school.member_count or 0) * 100 / Decimal(school.staff_count)))
        out["membership_rate"] = (rate, f"系统记录：会员 {school.member_count} 人 / 教职工 {school.staff_count} 人，"
                                        f"入会率 {rate}%")
    else:
        out["membership_rate"] = (None, "系统暂无教职工人数，无法计算入会率")
    return out


def provided_inputs(indicator: Indicator, value) -> dict:
    """Turn a system value into the indicator's inputs (points/units/rate/passed)."""
    empty = {"points": None, "units": None, "rate": None, "passed": None}
    if value is None:
        return empty
    kind = indicator.kind
    ceiling = Decimal(str(indicator.bonus_max or 0)) if kind == BONUS else Decimal(str(indicator.max_points or 0))
    if isinstance(value, bool):
        if kind in (POINTS, BONUS):
            return {**empty, "points": ceiling if value else Decimal(0), "passed": value}
        if kind == DEDUCTION:
            return {**empty, "units": 0 if value else 1, "passed": value}
        return {**empty, "rate": Decimal(100) if value else Decimal(0), "passed": value}
    rate = Decimal(value)
    if kind == RATE_BAND:
        points = indicator_points(IndicatorSpec.of(indicator), Inputs(rate=rate))
        return {**empty, "rate": rate, "passed": points > 0}
    if kind in (POINTS, BONUS):
        points = q2(ceiling * rate / 100)
        return {**empty, "points": points, "passed": points > 0}
    return empty  # a deduction cannot be derived from a rate


def refresh_provided(application: Application, round_: Round, school: School, parts: RubricParts) -> None:
    """Fill the 上级提供 indicators of an application from system data (read-only for the school)."""
    provided = [i for i in parts.indicators if is_provided(i)]
    if not provided:
        return
    values = provided_values(round_, school)
    rows = {s.indicator_id: s for s in db.session.scalars(select(SelfScore).where(
        SelfScore.application_id == application.id, SelfScore.school_id == application.school_id))}
    for indicator in provided:
        value, note = values.get(indicator.provided_source, (None, "系统暂无该项数据，由区教育工会核定"))
        if indicator.provided_source not in PROVIDED_SOURCES:
            note = "该项由区教育工会提供，系统暂无对应数据"
        inputs = provided_inputs(indicator, value)
        if value is not None and all(v is None for k, v in inputs.items() if k != "passed"):
            note += "（此类指标无法由比率自动计分，由区教育工会核定）"
        row = rows.get(indicator.id)
        if row is None:
            row = SelfScore(district_id=application.district_id, school_id=application.school_id,
                            application_id=application.id, indicator_id=indicator.id)
            db.session.add(row)
        row.points, row.units, row.rate, row.passed = (inputs["points"], inputs["units"], inputs["rate"],
                                                       inputs["passed"])
        row.note = note[:MAX_NOTE]
        row.provided = True
    db.session.flush()


# --- eligibility -----------------------------------------------------------------------------

def eligibility_problems(round_: Round, school: School) -> list[str]:
    """Why ``school`` may not apply to a title round ([] when it may)."""
    if round_.kind != TITLE_ROUND:
        return []
    problems = []
    rules = round_.eligibility or {}
    held_tier = highest_title_tier(school, round_.home_kind)  # the ladder (app/titles/services.py)
    best = TIER_ORDER.index(held_tier) if held_tier else -1
    kind_label = HOME_KINDS.get(round_.home_kind, round_.home_kind)
    if round_.target_tier in TIER_ORDER and best >= TIER_ORDER.index(round_.target_tier):
        problems.append(f"本校已获得「{TIERS[TIER_ORDER[best]]}{kind_label}」称号，不能重复申报同级或更低等级")
    tier = rules.get("requires_tier")
    if tier in TIER_ORDER and not holds_tier(school, tier, round_.home_kind):  # the ladder
        problems.append(f"申报条件：须已获得「{TIERS[tier]}{kind_label}」称号（称号阶梯）")
    needs_values = {"min_membership_rate", "min_plan_completion_rate", "requires_plan_approved"} & set(rules)
    if needs_values:
        values = provided_values(round_, school)
        for key, source, label in (("min_membership_rate", "membership_rate", "入会率"),
                                   ("min_plan_completion_rate", "plan_completion_rate", "年度计划完成率")):
            if key not in rules:
                continue
            value = values[source][0]
            minimum = Decimal(str(rules[key]))
            if value is None:
                problems.append(f"申报条件：{label}须不低于 {minimum}%，系统暂无数据")
            elif value < minimum:
                problems.append(f"申报条件：{label}须不低于 {minimum}%，本校为 {value}%")
        if rules.get("requires_plan_approved") and not values["plan_approved"][0]:
            problems.append(f"申报条件：{round_.year} 年度工作计划须已通过审核")
    return problems


# --- applications -----------------------------------------------------------------------------

def window_problem(round_: Round, today: date) -> str | None:
    """Why nothing may be submitted (or edited) today, or None."""
    if round_.status != "open":
        return f"本轮次当前为「{round_.status_label}」，不在申报阶段"
    if round_.opens_on and today < round_.opens_on:
        return f"申报将于 {round_.opens_on.isoformat()} 开始"
    last = last_day(round_)
    if last is not None and today > last:
        return f"申报已于 {round_.closes_on.isoformat()} 截止" + (
            f"（宽限期至 {last.isoformat()}）" if round_.grace_days else "") + "，不能再提交或修改"
    return None


def in_grace(round_: Round, today: date) -> bool:
    return round_.closes_on is not None and today > round_.closes_on and today <= last_day(round_)


def edit_problem(application: Application, round_: Round, today: date | None = None) -> str | None:
    today = today or china_today()
    if application.status not in EDITABLE:
        return f"申报当前为「{application.status_label}」，不能修改"
    return window_problem(round_, today)


def application_for(round_: Round, school_id: int) -> Application | None:
    return db.session.scalar(select(Application).where(Application.round_id == round_.id,
                                                       Application.school_id == school_id))


def apply(round_: Round, school: School, *, user_id: int | None = None, today: date | None = None) -> Application:
    """A school applies to a title round (creates its draft application)."""
    today = today or china_today()
    if round_.kind != TITLE_ROUND:
        raise ApplicationError("复查与年度考评由区教育工会统一列入，无需申报")
    problem = window_problem(round_, today)
    if problem:
        raise ApplicationError(problem)
    if application_for(round_, school.id) is not None:
        raise ApplicationError("本校已申报本轮次")
    problems = eligibility_problems(round_, school)
    if problems:
        raise ApplicationError("；".join(problems))
    application = Application(district_id=round_.district_id, school_id=school.id, round_id=round_.id,
                              status="draft", entered_automatically=False)
    db.session.add(application)
    db.session.flush()
    refresh_provided(application, round_, school, rubric_parts(round_.rubric_id))
    record("application_created", target=application, details={"round": round_.name})
    return application


def scores_of(application: Application) -> dict[int, SelfScore]:
    return {s.indicator_id: s for s in db.session.scalars(select(SelfScore).where(
        SelfScore.application_id == application.id, SelfScore.school_id == application.school_id))}


def inputs_of(row: SelfScore | None) -> Inputs | None:
    if row is None:
        return None
    return Inputs(points=row.points, units=row.units, rate=row.rate, passed=row.passed)


def _decimal(value, label: str) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ScoreInputError(f"「{label}」请填写数字")
    if not number.is_finite():
        raise ScoreInputError(f"「{label}」请填写数字")
    if number.as_tuple().exponent < -2:
        raise ScoreInputError(f"「{label}」最多保留两位小数")
    return number


def _int(value, label: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ScoreInputError(f"「{label}」请填写整数")
    if not number.is_finite() or number != number.to_integral_value():
        raise ScoreInputError(f"「{label}」请填写整数")
    if abs(number) > 10000:
        raise ScoreInputError(f"「{label}」次数过大")
    return int(number)


def _passed(value) -> bool | None:
    if value in (None, ""):
        return None
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "是", "on")


def clean_entry(indicator: Indicator, entry: dict) -> dict:
    """One indicator's raw inputs → typed and within bounds (raises ScoreInputError)."""
    title = indicator.title
    points = units = rate = None
    if indicator.kind in (POINTS, BONUS):
        points = _decimal(entry.get("points"), title)
    elif indicator.kind == DEDUCTION:
        units = _int(entry.get("units"), title)
    elif indicator.kind == RATE_BAND:
        rate = _decimal(entry.get("rate"), title)
    passed = _passed(entry.get("passed")) if (indicator.must_pass or indicator.veto) else None
    note = (entry.get("note") or "").strip()
    if len(note) > MAX_NOTE:
        raise ScoreInputError(f"「{title}」的说明不能超过 {MAX_NOTE} 个字")
    inputs = Inputs(points=points, units=units, rate=rate, passed=passed)
    indicator_points(IndicatorSpec.of(indicator), inputs)  # bounds
    return {"points": points, "units": units, "rate": rate, "passed": passed, "note": note}


def save_self_scores(application: Application, entries: dict, *, summary: str | None = None,
                     today: date | None = None, user_id: int | None = None) -> None:
    """Save self scores: ``entries`` maps indicator id → {points, units, rate, passed, note}
    (strings or typed values; each listed indicator is replaced). Nothing is written when
    any entry is refused; errors name the indicator."""
    round_ = db.session.get(Round, (application.district_id, application.round_id))
    problem = edit_problem(application, round_, today)
    if problem:
        raise ApplicationError(problem)
    parts = rubric_parts(round_.rubric_id)
    indicators = parts.by_id
    errors, cleaned = {}, {}
    for raw_id, entry in entries.items():
        try:
            indicator_id = int(raw_id)
        except (TypeError, ValueError):
            errors["_"] = "指标编号不正确"
            continue
        indicator = indicators.get(indicator_id)
        if indicator is None:
            errors[indicator_id] = "指标不属于本轮次的考核细则"
            continue
        if is_provided(indicator):
            errors[indicator_id] = f"「{indicator.title}」由上级提供（系统数据），学校不能填写"
            continue
        try:
            cleaned[indicator_id] = clean_entry(indicator, entry or {})
        except ScoreInputError as exc:
            errors[indicator_id] = str(exc)
    if summary is not None and len(summary) > MAX_SUMMARY:
        errors["summary"] = f"申报材料摘要不能超过 {MAX_SUMMARY} 个字"
    if errors:
        raise ApplicationError(errors)
    rows = scores_of(application)
    for indicator_id, values in cleaned.items():
        row = rows.get(indicator_id)
        if row is None:
            row = SelfScore(district_id=application.district_id, school_id=application.school_id,
                            application_id=application.id, indicator_id=indicator_id)
            db.session.add(row)
        for key, value in values.items():
            setattr(row, key, value)
        row.provided = False
    if summary is not None:
        application.summary = summary.strip()
    school = db.session.get(School, (application.district_id, application.school_id))
    refresh_provided(application, round_, school, parts)
    db.session.flush()


def evaluate(parts: RubricParts, rows: dict[int, SelfScore]):
    """scoring.score over the saved inputs (raises ScoreInputError if one is out of bounds)."""
    categories, specs = parts.specs()
    return score(categories, specs, {i: inputs_of(r) for i, r in rows.items()})


def missing_inputs(parts: RubricParts, rows: dict[int, SelfScore]) -> list[Indicator]:
    """Indicators the school must still fill (bonus items and 上级提供 ones are not required;
    必备/否决 items need the yes/no answer too)."""
    out = []
    for indicator in parts.indicators:
        if is_provided(indicator):
            continue
        row = rows.get(indicator.id)
        spec = IndicatorSpec.of(indicator)
        if indicator.kind != BONUS and not has_input(spec, inputs_of(row)):
            out.append(indicator)
        elif (indicator.must_pass or indicator.veto) and (row is None or row.passed is None):
            out.append(indicator)
    return out


def evidence_rows(application: Application) -> list[Evidence]:
    return list(db.session.scalars(select(Evidence).where(Evidence.application_id == application.id,
                                                          Evidence.school_id == application.school_id)
                                   .order_by(Evidence.uploaded_at, Evidence.id)))


def submit(application: Application, *, user_id: int | None, roles, today: date | None = None) -> ApplicationSnapshot:
    """draft/returned → submitted: freeze a snapshot and queue the dossier compile."""
    today = today or china_today()
    if not roles_allow(roles, "school.submit"):
        raise ApplicationError("只有学校工会主席可以提交申报（工会委员可以填写和保存）")
    round_ = db.session.get(Round, (application.district_id, application.round_id))
    if application.status not in EDITABLE:
        raise ApplicationError(f"申报当前为「{application.status_label}」，不能提交")
    problem = window_problem(round_, today)
    if problem:
        raise ApplicationError(problem)
    school = db.session.get(School, (application.district_id, application.school_id))
    if not application.entered_automatically:
        problems = eligibility_problems(round_, school)
        if problems:
            raise ApplicationError("；".join(problems))
    parts = rubric_parts(round_.rubric_id)
    refresh_provided(application, round_, school, parts)
    rows = scores_of(application)
    missing = missing_inputs(parts, rows)
    if missing:
        names = "、".join(f"{i.code or ''}「{i.title[:20]}」" for i in missing[:5])
        more = f"等 {len(missing)} 项" if len(missing) > 5 else ""
        raise ApplicationError(f"以下指标尚未填写完整：{names}{more}")
    try:
        result = evaluate(parts, rows)
    except ScoreInputError as exc:
        raise ApplicationError(str(exc))
    late = in_grace(round_, today)
    now = _utcnow()
    frozen = db.session.scalar(select(func.max(ApplicationSnapshot.number)).where(
        ApplicationSnapshot.application_id == application.id, ApplicationSnapshot.school_id == application.school_id))
    number = max(application.latest_snapshot_no or 0, frozen or 0) + 1
    evidence = evidence_rows(application)
    snapshot = ApplicationSnapshot(
        district_id=application.district_id, school_id=application.school_id, application_id=application.id,
        number=number, submitted_at=now, submitted_by=user_id,
        content=snapshot_content(application, round_, school, parts, rows, result, evidence, number, now, late))
    db.session.add(snapshot)
    db.session.flush()
    run = submit_job("application_dossier", f"application-dossier-{snapshot.id}",
                     {"snapshot_id": snapshot.id, "application_id": application.id, "number": number},
                     school_id=application.school_id, actor_user_id=user_id)
    snapshot.dossier_run_id = run.id
    application.status = "submitted"
    application.latest_snapshot_no = number
    application.first_submitted_at = application.first_submitted_at or now
    application.last_submitted_at = now
    application.late = late
    db.session.flush()
    record("application_submitted", target=application,
           details={"round": round_.name, "snapshot": number, "late": late, "total": str(result.total)})
    return snapshot


def _num(value):
    """Numbers in a snapshot: strings with two decimals (exact, and the same however stored)."""
    return None if value is None else str(q2(Decimal(str(value))))


def snapshot_content(application, round_, school, parts, rows, result, evidence, number, now, late) -> dict:
    scores = []
    for indicator in parts.indicators:
        row = rows.get(indicator.id)
        scores.append({
            "indicator_id": indicator.id, "category_id": indicator.category_id, "code": indicator.code,
            "title": indicator.title, "kind": indicator.kind, "max_points": _num(indicator.max_points),
            "bonus_max": _num(indicator.bonus_max), "evidence_method": indicator.evidence_method,
            "must_pass": indicator.must_pass, "veto": indicator.veto,
            "points": _num(row.points) if row else None, "units": row.units if row else None,
            "rate": _num(row.rate) if row else None, "passed": row.passed if row else None,
            "note": row.note if row else "", "provided": bool(row and row.provided),
            "computed_points": _num(result.indicators.get(indicator.id)),
        })
    return {
        "number": number,
        "submitted_at": now.isoformat(),
        "late": late,
        "round": {"id": round_.id, "name": round_.name, "kind": round_.kind, "year": round_.year,
                  "target_tier": round_.target_tier, "home_kind": round_.home_kind},
        "rubric": {"id": parts.rubric.id, "name": parts.rubric.name, "version": parts.rubric.version,
                   "total_points": _num(parts.rubric.total_points)} if parts.rubric else None,
        "school": {"id": school.id, "name": school.name, "code": school.code},
        "summary": application.summary,
        "categories": [{"id": c.id, "name": c.name, "cap": _num(c.cap),
                        **{k: _num(v) for k, v in result.categories.get(c.id, {}).items()}}
                       for c in parts.categories],
        "scores": scores,
        "total": _num(result.total),
        "must_pass_failed": list(result.must_pass_failed),
        "vetoed": list(result.vetoed),
        "evidence": [{"id": e.id, "indicator_id": e.indicator_id, "original_name": e.original_name,
                      "stored_path": e.stored_path, "content_type": e.content_type, "size": e.size,
                      "sha256": e.sha256, "uploaded_at": e.uploaded_at.isoformat() if e.uploaded_at else None}
                     for e in evidence],
    }


def return_application(application: Application, *, comments: list, user_id: int | None = None) -> int:
    """submitted → returned with the district's comments: [(indicator_id or None, text)]."""
    round_ = db.session.get(Round, (application.district_id, application.round_id))
    if application.status != "submitted":
        raise ApplicationError(f"只能退回已提交的申报（当前为「{application.status_label}」）")
    if round_.status != "open":
        raise ApplicationError(f"本轮次当前为「{round_.status_label}」，不能再退回申报")
    indicators = rubric_parts(round_.rubric_id).by_id
    cleaned = []
    for indicator_id, text in comments:
        text = (text or "").strip()
        if not text:
            continue
        if len(text) > MAX_COMMENT:
            raise ApplicationError(f"每条修改意见不能超过 {MAX_COMMENT} 个字")
        if indicator_id is not None and int(indicator_id) not in indicators:
            raise ApplicationError("修改意见对应的指标不属于本轮次")
        cleaned.append((int(indicator_id) if indicator_id is not None else None, text))
    if not cleaned:
        raise ApplicationError("退回时请填写修改意见")
    for indicator_id, text in cleaned:
        db.session.add(ApplicationComment(district_id=application.district_id, school_id=application.school_id,
                                          application_id=application.id, indicator_id=indicator_id, text=text,
                                          author_id=user_id, snapshot_no=application.latest_snapshot_no))
    application.status = "returned"
    db.session.flush()
    record("application_returned", target=application, details={"round": round_.name, "comments": len(cleaned)})
    return len(cleaned)


def comments_of(application: Application) -> list[ApplicationComment]:
    return list(db.session.scalars(select(ApplicationComment).where(
        ApplicationComment.application_id == application.id, ApplicationComment.school_id == application.school_id)
        .order_by(ApplicationComment.created_at.desc(), ApplicationComment.id)))


def snapshots_of(application: Application) -> list[ApplicationSnapshot]:
    return list(db.session.scalars(select(ApplicationSnapshot).where(
        ApplicationSnapshot.application_id == application.id,
        ApplicationSnapshot.school_id == application.school_id).order_by(ApplicationSnapshot.number.desc())))


def visible_rounds() -> list[Round]:
    """Rounds a school sees: every round past its set-up."""
    return list(db.session.scalars(select(Round).where(Round.status != "draft")
                                   .order_by(Round.year.desc(), Round.created_at.desc(), Round.id.desc())))


# --- progress ------------------------------------------------------------------------------

NOT_APPLIED = "none"


class ProgressApplication(NamedTuple):
    """An application's columns for the progress table and its latest snapshot's figures (read by
    position below: 0 id, 1 school_id, 2 status, 4 late, 7 total, 8 filled, 9 with_evidence)."""
    id: int
    school_id: int
    status: str
    entered_automatically: bool
    late: bool
    first_submitted_at: Any
    last_submitted_at: Any
    total: Any
    filled: int | None
    with_evidence: int | None


@dataclass(slots=True)
class ProgressRow:
    """One school of the round's progress: ``school`` (id, name, code) and ``application`` (id,
    school_id, status, entered_automatically, late, first_submitted_at, last_submitted_at, …, or
    None) are plain column rows, not ORM entities."""
    school: Any
    application: Any
    filled: int
    total: int
    with_evidence: int
    self_points: Decimal | None = None  # the latest submission's self-assessment total
    status: str = NOT_APPLIED
    late: bool = False

    @property
    def status_label(self) -> str:
        return APPLICATION_STATE_LABELS.get(self.status, self.status) if self.application else "未申报"

    @property
    def complete(self) -> bool:
        return self.total > 0 and self.filled >= self.total

    @property
    def self_total(self) -> str | None:
        """The total as the snapshot holds it: a string with two decimals."""
        return None if self.self_points is None else str(q2(self.self_points))


def progress(round_: Round) -> list[ProgressRow]:
    """Every active school of the district with its application's state and completeness, in
    a fixed number of queries however many schools there are.

    A frozen application (submitted or later: its self scores and evidence cannot change) takes
    its figures from the columns of its latest snapshot, which were counted from the same rows
    when it was submitted; only editable applications (or snapshots without figures) are counted
    from the self score and evidence rows. The JSON content is never read."""
    schools = db.session.execute(select(School.id, School.name, School.code)
                                 .where(School.active.is_(True)).order_by(School.name, School.id)).all()
    latest = and_(ApplicationSnapshot.district_id == Application.district_id,
                  ApplicationSnapshot.application_id == Application.id,
                  ApplicationSnapshot.number == Application.latest_snapshot_no)
    rows_of_round = db.session.execute(
        select(Application.id, Application.school_id, Application.status, Application.entered_automatically,
               Application.late, Application.first_submitted_at, Application.last_submitted_at,
               Application.latest_snapshot_no).where(Application.round_id == round_.id)).all()
    # The latest snapshots' figures by the applications' ids, not by a join: under the RLS policies
    # PostgreSQL estimates a few rows on each side and joined the 500 applications to the 500
    # snapshots in a nested loop with a filter (10 ms instead of 1).
    latest_no = {row[0]: row[7] for row in rows_of_round if row[7]}
    figures = {}
    if latest_no:
        for app_id, number, *values in db.session.execute(
                select(ApplicationSnapshot.application_id, ApplicationSnapshot.number, ApplicationSnapshot.total,
                       ApplicationSnapshot.filled, ApplicationSnapshot.with_evidence)
                .where(ApplicationSnapshot.application_id.in_(
                    select(Application.id).where(Application.round_id == round_.id)))):
            if latest_no.get(app_id) == number:
                figures[app_id] = values
    applications = {row[1]: ProgressApplication(*row[:7], *figures.get(row[0], (None, None, None)))
                    for row in rows_of_round}
    counted = (Indicator.kind != BONUS)
    total = db.session.scalar(select(func.count(Indicator.id)).where(
        Indicator.rubric_id == round_.rubric_id, counted)) or 0 if round_.rubric_id else 0
    live_ids = {row[0] for row in applications.values() if row[2] in EDITABLE or row[8] is None}
    filled, with_evidence = {}, {}
    if live_ids:
        live = or_(Application.status.in_(EDITABLE), ApplicationSnapshot.filled.is_(None))
        app_join = and_(Application.district_id == SelfScore.district_id, Application.id == SelfScore.application_id)
        filled = dict(db.session.execute(
            select(SelfScore.application_id, func.count(SelfScore.id))
            .join(Application, app_join).outerjoin(ApplicationSnapshot, latest)
            .join(Indicator, and_(Indicator.district_id == SelfScore.district_id,
                                  Indicator.id == SelfScore.indicator_id))
            .where(Application.round_id == round_.id, live, counted,
                   or_(SelfScore.points.is_not(None), SelfScore.units.is_not(None), SelfScore.rate.is_not(None)))
            .group_by(SelfScore.application_id)).all())
        with_evidence = dict(db.session.execute(
            select(Evidence.application_id, func.count(distinct(Evidence.indicator_id)))
            .join(Application, and_(Application.district_id == Evidence.district_id,
                                    Application.id == Evidence.application_id))
            .outerjoin(ApplicationSnapshot, latest)
            .join(Indicator, and_(Indicator.district_id == Evidence.district_id, Indicator.id == Evidence.indicator_id))
            .where(Application.round_id == round_.id, live, counted)
            .group_by(Evidence.application_id)).all())
    rows = []
    for school in schools:
        application = applications.get(school[0])
        if application is None:
            rows.append(ProgressRow(school, None, 0, total, 0))
        elif application[0] in live_ids:
            rows.append(ProgressRow(school, application, filled.get(application[0], 0), total,
                                    with_evidence.get(application[0], 0), application[7], application[2],
                                    bool(application[4])))
        else:
            rows.append(ProgressRow(school, application, application[8], total, application[9], application[7],
                                    application[2], bool(application[4])))
    return rows


PROGRESS_PER_PAGE = 50  # schools per page of the progress table


def filter_progress(rows: list[ProgressRow], *, status: str = "", q: str = "", late: bool = False,
                    incomplete: bool = False) -> list[ProgressRow]:
    if status:
        rows = [r for r in rows if r.status == status]
    if q:
        rows = [r for r in rows if q in r.school[1] or q in (r.school[2] or "")]
    if late:
        rows = [r for r in rows if r.late]
    if incomplete:
        rows = [r for r in rows if not r.complete]
    return rows


def progress_summary(rows: list[ProgressRow]) -> dict:
    counts = {key: 0 for key in [NOT_APPLIED, *APPLICATION_STATE_LABELS]}
    for r in rows:
        counts[r.status] = counts.get(r.status, 0) + 1
    return {"schools": len(rows), "counts": counts, "late": sum(1 for r in rows if r.late),
            "complete": sum(1 for r in rows if r.complete)}


def progress_workbook(round_: Round, rows: list[ProgressRow], district_name: str) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    from app.templating import local_time

    wb = Workbook()
    ws = wb.active
    ws.title = "申报进度"
    ws.append([safe_cell(f"{district_name} · {round_.year} 年 {round_.name}（{round_.kind_label}）申报进度")])
    ws["A1"].font = Font(bold=True, size=13)
    headers = ["学校", "学校代码", "申报状态", "自动列入", "已填指标", "指标总数", "有佐证的指标", "是否完整",
               "宽限期内提交", "首次提交", "最近提交", "自评总分"]
    ws.append(headers)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        a = r.application
        ws.append([safe_cell(r.school.name), safe_cell(r.school.code or ""), r.status_label,
                   "是" if a and a.entered_automatically else "否", r.filled, r.total, r.with_evidence,
                   "是" if r.complete else "否", "是" if r.late else "否",
                   local_time(a.first_submitted_at) if a else "", local_time(a.last_submitted_at) if a else "",
                   float(r.self_total) if r.self_total is not None else None])
    for n, width in enumerate([28, 12, 10, 10, 10, 10, 12, 10, 12, 18, 18, 10], start=1):
        ws.column_dimensions[get_column_letter(n)].width = width
    ws.freeze_panes = "A3"
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


# --- labels for pages ------------------------------------------------------------------------

def indicator_kind_label(indicator: Indicator) -> str:
    return INDICATOR_KINDS.get(indicator.kind, indicator.kind)


def evidence_method_label(indicator: Indicator) -> str:
    return EVIDENCE_METHODS.get(indicator.evidence_method, indicator.evidence_method)


# --- the dossier job ---------------------------------------------------------------------------

@handler("application_dossier")
def compile_dossier(run, progress_cb) -> dict:
    """Compile one frozen submission (the PDF comes with issue 6): for now record the
    snapshot's statistics. Idempotent: reads the snapshot only."""
    import os

    from app.jobs.services import JobFailed
    from app.uploads import UploadError, absolute

    snapshot = db.session.get(ApplicationSnapshot, (run.district_id, int(run.args.get("snapshot_id", 0))))
    if snapshot is None:
        raise JobFailed("申报快照不存在")
    content = snapshot.content or {}
    progress_cb(30, "统计申报内容")
    evidence = content.get("evidence", [])
    present = 0
    for item in evidence:
        try:
            if os.path.exists(absolute(item.get("stored_path") or "")):
                present += 1
        except UploadError:
            pass
    scores = content.get("scores", [])
    return {
        "snapshot_id": snapshot.id, "application_id": snapshot.application_id, "number": snapshot.number,
        "indicators": len(scores),
        "indicators_filled": sum(1 for s in scores if any(s.get(k) is not None for k in ("points", "units", "rate"))),
        "evidence_files": len(evidence), "evidence_present": present,
        "evidence_bytes": sum(int(e.get("size") or 0) for e in evidence),
        "total": content.get("total"), "late": content.get("late", False),
        "summary": f"第 {snapshot.number} 次提交：{len(scores)} 项指标，佐证材料 {len(evidence)} 个，自评总分 {content.get('total')}",
    }
