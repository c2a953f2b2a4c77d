"""Rules for rubrics (考核细则): build and edit a draft, copy a version into a new draft,
publish when the numbers add up, and the lock.

* A rubric row is one *version*; versions of one rubric share ``family``.
* Only a draft that no running round uses can be changed. A published version is never
  edited: it is copied into a new draft version (``copy_rubric``) and that one is edited.
* A version used by a round whose status is not ``draft`` is *locked*; a version used by any
  round cannot be deleted.
* Publishing is refused with the Chinese list from ``scoring.rubric_problems`` when the
  numbers do not add up. The arithmetic lives in ``scoring``; this module only feeds it.

Everything runs inside the request's (or job's, or CLI's) district scope: the ORM filter keeps
every query to the current district. Callers commit once.
"""
from __future__ import annotations

import re
import secrets
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from flask_babel import gettext
from sqlalchemy import func, select

from app.audit.services import record
from app.i18n import N_, translate
from app.extensions import db
from app.rounds.models import ROUND_STATE_LABELS, Round
from app.rubrics.models import (BONUS, DEDUCTION, DRAFT, EVIDENCE_METHODS, INDICATOR_KINDS, POINTS,
                                PROVIDED_SOURCES, PUBLISHED, RATE_BAND, RUBRIC_STATUS_LABELS, Indicator, Rubric,
                                RubricCategory)
from app.rubrics.scoring import ZERO, CategorySpec, IndicatorSpec, q2, rubric_problems
from tenants.scope import current_scope

MAX_POINTS = Decimal("1000")
MAX_CATEGORIES = 50
MAX_INDICATORS = 500
LOCKED_MESSAGE = "该版本已被进行中的评选/考核轮次使用，已锁定，不能修改；请复制为新版本后修改"
PUBLISHED_MESSAGE = "已发布的版本不能修改；请复制为新版本（草稿）后修改"


class RubricError(ValueError):
    """A refused change, in Chinese. ``field``: the form field at fault; ``problems``: the
    list of reasons (publishing); ``errors``: field → message (validation)."""

    def __init__(self, message: str, field: str | None = None, problems: list[str] | None = None,
                 errors: dict | None = None):
        super().__init__(message)
        self.field = field
        self.problems = problems or []
        self.errors = errors or {}


# --- cleaning input (shared by forms, Excel import, the API and the shipped templates) -----

def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return unicodedata.normalize("NFC", str(value)).strip()


def parse_decimal(value, *, required: bool, label: str = "", minimum: Decimal = ZERO,
                  maximum: Decimal = MAX_POINTS, positive: bool = False) -> Decimal | None:
    """A number with at most two decimals; full-width digits are accepted. Raises ValueError
    with a Chinese message."""
    if isinstance(value, bool):
        raise ValueError(gettext("应为数字"))
    if value is None or (isinstance(value, str) and value.strip() == ""):
        if required:
            raise ValueError(gettext("请填写%(label)s", label=translate(label)) if label else gettext("必填"))
        return None
    if isinstance(value, Decimal):
        number = value
    else:
        text = unicodedata.normalize("NFKC", str(value)).strip().rstrip("分").strip()
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(gettext("应为数字，如 4 或 0.5"))
    if not number.is_finite():
        raise ValueError(gettext("应为数字，如 4 或 0.5"))
    if number != number.quantize(Decimal("0.01")):
        raise ValueError(gettext("最多保留两位小数"))
    if positive and number <= 0:
        raise ValueError(gettext("应大于 0"))
    if number < minimum or number > maximum:
        raise ValueError(gettext("应在 %(low)s 到 %(high)s 之间", low=minimum, high=maximum))
    return q2(number)


def parse_bool(value) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).lower()
    if text in ("", "否", "0", "false", "no", "n", "×", "x", "无"):
        return False
    if text in ("是", "1", "true", "yes", "y", "√", "✓", "✔", "必备", "否决", "一票否决"):
        return True
    raise ValueError(gettext("应填写「是」或留空"))


BAND_RE = re.compile(r"^(?:≥|>=|>)?\s*(\d+(?:\.\d+)?)\s*%?\s*(?:=|:|：|→|->)\s*(\d+(?:\.\d+)?)\s*分?$")
BAND_SPLIT_RE = re.compile(r"[\n\r;；,，、]+")


def parse_bands(value) -> list[list]:
    """Rate bands from lines such as ``90=4`` (or ``≥90%：4``), or from [[90, 4], …].
    Returned high to low as [[rate, points], …] with plain numbers (JSON)."""
    pairs = []
    if value is None or value == "":
        return []
    if isinstance(value, (list, tuple)):
        for i, item in enumerate(value, start=1):
            if not isinstance(item, (list, tuple)) or len(item) != 2:
                raise ValueError(gettext("第 %(i)s 档应为 [比率, 得分]", i=i))
            pairs.append((i, item[0], item[1]))
    else:
        text = unicodedata.normalize("NFKC", str(value))
        for i, line in enumerate([p.strip() for p in BAND_SPLIT_RE.split(text) if p.strip()], start=1):
            match = BAND_RE.match(line)
            if not match:
                raise ValueError(gettext("第 %(i)s 档「%(line)s」格式应为「比率=得分」，如 90=4", i=i, line=line))
            pairs.append((i, match.group(1), match.group(2)))
    bands, seen = [], set()
    for i, rate, points in pairs:
        try:
            rate = parse_decimal(rate, required=True, maximum=Decimal(100))
            points = parse_decimal(points, required=True)
        except ValueError as exc:
            raise ValueError(gettext("第 %(i)s 档：比率应在 0 到 100 之间、得分应为不超过两位小数的数字（%(problem)s）", i=i, problem=exc))
        if rate in seen:
            raise ValueError(gettext("比率 %(rate)s%% 重复", rate=_plain(rate)))
        seen.add(rate)
        bands.append([_plain(rate), _plain(points)])
    if len(bands) > 20:
        raise ValueError(gettext("最多 20 档"))
    bands.sort(key=lambda b: Decimal(str(b[0])), reverse=True)
    return bands


def _plain(number: Decimal | None):
    """A Decimal as an int when whole, else a float (for JSON and Excel)."""
    if number is None:
        return None
    number = Decimal(number)
    return int(number) if number == number.to_integral_value() else float(number)


def bands_text(bands) -> str:
    return "\n".join(f"{_plain(Decimal(str(r)))}={_plain(Decimal(str(p)))}" for r, p in (bands or []))


def _limit(errors, key, text, maximum, label=""):
    if len(text) > maximum:
        errors[key] = gettext("%(label)s不能超过 %(n)s 个字", label=translate(label) or "", n=maximum)


def clean_header(raw: dict) -> tuple[dict, dict]:
    """Name, declared total, description and notes of a rubric version."""
    errors = {}
    name = _text(raw.get("name"))
    if not name:
        errors["name"] = gettext("请填写考核细则名称")
    _limit(errors, "name", name, 200)
    total = None
    try:
        total = parse_decimal(raw.get("total_points"), required=True, label=N_("总分"), positive=True)
    except ValueError as exc:
        errors["total_points"] = str(exc)
    description, notes = _text(raw.get("description")), _text(raw.get("notes"))
    _limit(errors, "description", description, 10000)
    _limit(errors, "notes", notes, 10000)
    return {"name": name, "total_points": total, "description": description, "notes": notes}, errors


def clean_category(raw: dict) -> tuple[dict, dict]:
    errors = {}
    name = _text(raw.get("name"))
    if not name:
        errors["name"] = gettext("请填写类别名称")
    _limit(errors, "name", name, 100)
    cap = None
    try:
        cap = parse_decimal(raw.get("cap"), required=True, label=N_("类别分值"), positive=True)
    except ValueError as exc:
        errors["cap"] = str(exc)
    return {"name": name, "cap": cap}, errors


INDICATOR_FIELDS = ("code", "title", "guidance", "kind", "max_points", "evidence_method", "must_pass", "veto",
                    "deduction_per_unit", "deduction_floor", "bonus_max", "bands", "provided_source")


def clean_indicator(raw: dict) -> tuple[dict, dict]:
    """Every field of an indicator, checked for its kind; fields of other kinds are cleared.
    Numbers that must add up (分值 against the category cap) are checked at publishing."""
    errors: dict[str, str] = {}
    out: dict = {}
    out["code"] = _text(raw.get("code"))
    _limit(errors, "code", out["code"], 20)
    out["title"] = _text(raw.get("title"))
    if not out["title"]:
        errors["title"] = gettext("请填写考核内容")
    _limit(errors, "title", out["title"], 2000)
    out["guidance"] = _text(raw.get("guidance"))
    _limit(errors, "guidance", out["guidance"], 4000)
    kind = _text(raw.get("kind")) or POINTS
    if kind not in INDICATOR_KINDS:
        errors["kind"] = gettext("「%(v)s」不是有效类型，可选：%(options)s", v=kind,
                                 options=gettext("、").join(map(translate, INDICATOR_KINDS.values())))
        kind = POINTS
    out["kind"] = kind
    method = _text(raw.get("evidence_method")) or "records"
    if method not in EVIDENCE_METHODS:
        errors["evidence_method"] = gettext("「%(v)s」不是有效的评分依据，可选：%(options)s", v=method,
                                            options=gettext("、").join(map(translate, EVIDENCE_METHODS.values())))
    out["evidence_method"] = method
    source = _text(raw.get("provided_source")) or None
    if source is not None and source not in PROVIDED_SOURCES:
        errors["provided_source"] = gettext("「%(v)s」不是系统可提供的数据，可选：%(options)s", v=source,
                                            options=gettext("、").join(map(translate, PROVIDED_SOURCES.values())))
    elif source is not None and method != "provided":
        errors["provided_source"] = gettext("只有评分依据为「上级提供」的指标才能指定上级提供数据")
    out["provided_source"] = source
    for key in ("must_pass", "veto"):
        try:
            out[key] = parse_bool(raw.get(key))
        except ValueError as exc:
            errors[key] = str(exc)
            out[key] = False

    def number(key, *, required=False, positive=False, label=""):
        try:
            return parse_decimal(raw.get(key), required=required, positive=positive, label=label)
        except ValueError as exc:
            errors[key] = str(exc)
            return None

    out.update(deduction_per_unit=None, deduction_floor=None, bonus_max=None, bands=[])
    if kind == BONUS:
        out["max_points"] = ZERO  # a bonus counts up to bonus_max, outside the category cap
        out["bonus_max"] = number("bonus_max", required=True, positive=True, label=N_("加分上限"))
    else:
        out["max_points"] = number("max_points", required=kind != RATE_BAND, label=N_("分值"))
    if kind == DEDUCTION:
        out["deduction_per_unit"] = number("deduction_per_unit", required=True, positive=True, label=N_("每次扣分"))
        floor = number("deduction_floor")
        out["deduction_floor"] = floor if floor is not None else ZERO
        if out["max_points"] is not None and out["deduction_floor"] > out["max_points"]:
            errors["deduction_floor"] = gettext("最低分不能高于分值")
    if kind == RATE_BAND:
        try:
            out["bands"] = parse_bands(raw.get("bands"))
        except ValueError as exc:
            errors["bands"] = str(exc)
        else:
            if not out["bands"]:
                errors["bands"] = gettext("请填写分档，每行一档，如 90=4")
            else:
                top = q2(max(Decimal(str(p)) for _, p in out["bands"]))
                if out["max_points"] is None and "max_points" not in errors:
                    out["max_points"] = top
                elif out["max_points"] is not None and out["max_points"] != top:
                    errors["bands"] = gettext("最高档得分 %(top)s 应等于分值 %(max)s", top=top, max=out["max_points"])
    if out["max_points"] is None:
        out["max_points"] = ZERO
    return out, errors


def clean_document(doc: dict) -> tuple[dict, list[tuple[str, str]]]:
    """A whole rubric (header, categories, indicators) from plain data; errors as
    (path, message) pairs such as ("categories.0.indicators.2.max_points", "应为数字")."""
    header, header_errors = clean_header(doc)
    errors = [(key, msg) for key, msg in header_errors.items()]
    categories = []
    raw_categories = doc.get("categories") or []
    if len(raw_categories) > MAX_CATEGORIES:
        errors.append(("categories", gettext("最多 %(n)s 个类别", n=MAX_CATEGORIES)))
    names = set()
    count = 0
    for ci, raw_category in enumerate(raw_categories[:MAX_CATEGORIES]):
        category, cat_errors = clean_category(raw_category)
        errors += [(f"categories.{ci}.{k}", m) for k, m in cat_errors.items()]
        if category["name"] and category["name"] in names:
            errors.append((f"categories.{ci}.name", gettext("类别「%(name)s」重复", name=category["name"])))
        names.add(category["name"])
        category["indicators"] = []
        for ii, raw_indicator in enumerate(raw_category.get("indicators") or []):
            count += 1
            indicator, ind_errors = clean_indicator(raw_indicator)
            errors += [(f"categories.{ci}.indicators.{ii}.{k}", m) for k, m in ind_errors.items()]
            category["indicators"].append(indicator)
        categories.append(category)
    if count > MAX_INDICATORS:
        errors.append(("categories", gettext("最多 %(n)s 个指标", n=MAX_INDICATORS)))
    header["categories"] = categories
    return header, errors


# --- reading -----------------------------------------------------------------------------

def get_rubric(rubric_id: int) -> Rubric | None:
    """A version of this district (the scope's ORM filter hides every other district)."""
    return db.session.scalar(select(Rubric).where(Rubric.id == rubric_id))


def get_category(rubric: Rubric, category_id: int) -> RubricCategory | None:
    return db.session.scalar(select(RubricCategory).where(RubricCategory.id == category_id,
                                                          RubricCategory.rubric_id == rubric.id))


def get_indicator(rubric: Rubric, indicator_id: int) -> Indicator | None:
    return db.session.scalar(select(Indicator).where(Indicator.id == indicator_id,
                                                     Indicator.rubric_id == rubric.id))


def categories_of(rubric: Rubric) -> list[RubricCategory]:
    return list(db.session.scalars(select(RubricCategory).where(RubricCategory.rubric_id == rubric.id)
                                   .order_by(RubricCategory.position, RubricCategory.id)))


def indicators_of(rubric: Rubric) -> list[Indicator]:
    """Every indicator in table order (category position, then indicator position)."""
    order = {c.id: i for i, c in enumerate(categories_of(rubric))}
    rows = db.session.scalars(select(Indicator).where(Indicator.rubric_id == rubric.id)
                              .order_by(Indicator.position, Indicator.id)).all()
    return sorted(rows, key=lambda i: (order.get(i.category_id, 0), i.position, i.id))


def specs(rubric: Rubric) -> tuple[list[CategorySpec], list[IndicatorSpec]]:
    """The arithmetic's view of a version (for scoring.score and rubric_problems)."""
    categories = categories_of(rubric)
    return ([CategorySpec(c.id, c.name, Decimal(c.cap)) for c in categories],
            [IndicatorSpec.of(i) for i in indicators_of(rubric)])


def problems(rubric: Rubric) -> list[str]:
    categories, indicators = specs(rubric)
    return rubric_problems(Decimal(rubric.total_points), categories, indicators)


def rounds_using(rubric_ids) -> dict[int, list[Round]]:
    ids = list(rubric_ids)
    if not ids:
        return {}
    out: dict[int, list[Round]] = {}
    for r in db.session.scalars(select(Round).where(Round.rubric_id.in_(ids)).order_by(Round.year.desc(), Round.id)):
        out.setdefault(r.rubric_id, []).append(r)
    return out


def is_locked(rubric: Rubric, rounds: list[Round] | None = None) -> bool:
    """Used by a round that is no longer a draft (opened, assessing, …)."""
    if rounds is None:
        rounds = rounds_using([rubric.id]).get(rubric.id, [])
    return any(r.status != "draft" for r in rounds)


def is_editable(rubric: Rubric, rounds: list[Round] | None = None) -> bool:
    return rubric.status == DRAFT and not is_locked(rubric, rounds)


def published_rubrics() -> list[Rubric]:
    """Versions a round may use (for the round set-up)."""
    return list(db.session.scalars(select(Rubric).where(Rubric.status == PUBLISHED)
                                   .order_by(Rubric.name, Rubric.version.desc())))


@dataclass
class CategoryView:
    category: RubricCategory
    indicators: list = field(default_factory=list)
    points: Decimal = ZERO   # sum of the max points of its scored (non-bonus) indicators
    bonus: Decimal = ZERO    # sum of the bonus ceilings (may exceed the cap)

    @property
    def adds_up(self) -> bool:
        return self.points == Decimal(self.category.cap)


@dataclass
class RubricView:
    rubric: Rubric
    categories: list[CategoryView]
    caps_total: Decimal
    points_total: Decimal
    bonus_total: Decimal
    problems: list[str]
    rounds: list
    locked: bool
    editable: bool

    @property
    def status_label(self) -> str:
        return RUBRIC_STATUS_LABELS.get(self.rubric.status, self.rubric.status)

    @property
    def indicator_count(self) -> int:
        return sum(len(c.indicators) for c in self.categories)

    @property
    def total_adds_up(self) -> bool:
        return self.caps_total == Decimal(self.rubric.total_points)


def _view(rubric, categories, indicators, rounds) -> RubricView:
    by_category = {c.id: CategoryView(c) for c in categories}
    for indicator in indicators:
        view = by_category.get(indicator.category_id)
        if view is None:
            continue
        view.indicators.append(indicator)
        if indicator.kind == BONUS:
            view.bonus += Decimal(indicator.bonus_max or 0)
        else:
            view.points += Decimal(indicator.max_points or 0)
    views = [by_category[c.id] for c in categories]
    for view in views:
        view.indicators.sort(key=lambda i: (i.position, i.id))
    found = rubric_problems(Decimal(rubric.total_points),
                            [CategorySpec(c.id, c.name, Decimal(c.cap)) for c in categories],
                            [IndicatorSpec.of(i) for v in views for i in v.indicators])
    locked = is_locked(rubric, rounds)
    return RubricView(rubric=rubric, categories=views,
                      caps_total=q2(sum((Decimal(c.cap) for c in categories), ZERO)),
                      points_total=q2(sum((v.points for v in views), ZERO)),
                      bonus_total=q2(sum((v.bonus for v in views), ZERO)),
                      problems=found, rounds=rounds, locked=locked,
                      editable=rubric.status == DRAFT and not locked)


def view(rubric: Rubric) -> RubricView:
    """The table with its computed sums, the problems and the lock (three queries)."""
    categories = categories_of(rubric)
    indicators = db.session.scalars(select(Indicator).where(Indicator.rubric_id == rubric.id)).all()
    return _view(rubric, categories, indicators, rounds_using([rubric.id]).get(rubric.id, []))


def list_views(search: str = "") -> list[RubricView]:
    """Every version of the district with computed totals (four queries in all)."""
    stmt = select(Rubric)
    if search:
        stmt = stmt.where(Rubric.name.like(f"%{search.strip()}%"))
    rubrics = db.session.scalars(stmt.order_by(Rubric.name, Rubric.family, Rubric.version.desc())).all()
    ids = [r.id for r in rubrics]
    if not ids:
        return []
    categories: dict[int, list] = {}
    for c in db.session.scalars(select(RubricCategory).where(RubricCategory.rubric_id.in_(ids))
                                .order_by(RubricCategory.position, RubricCategory.id)):
        categories.setdefault(c.rubric_id, []).append(c)
    indicators: dict[int, list] = {}
    for i in db.session.scalars(select(Indicator).where(Indicator.rubric_id.in_(ids))):
        indicators.setdefault(i.rubric_id, []).append(i)
    rounds = rounds_using(ids)
    return [_view(r, categories.get(r.id, []), indicators.get(r.id, []), rounds.get(r.id, [])) for r in rubrics]


def families() -> list[Rubric]:
    """The newest version of every family (for 'import as a new version of …')."""
    newest: dict[str, Rubric] = {}
    for rubric in db.session.scalars(select(Rubric).order_by(Rubric.version)):
        newest[rubric.family] = rubric
    return sorted(newest.values(), key=lambda r: (r.name, r.family))


def round_label(r: Round) -> str:
    return f"{r.name}（{ROUND_STATE_LABELS.get(r.status, r.status)}）"


# --- writing -----------------------------------------------------------------------------

def ensure_editable(rubric: Rubric) -> None:
    if rubric.status != DRAFT:
        raise RubricError(PUBLISHED_MESSAGE)
    if is_locked(rubric):
        raise RubricError(LOCKED_MESSAGE)


def new_family(base: str | None = None) -> str:
    """A family key not used in this district: ``base``, ``base-2``, … or a random one."""
    taken = set(db.session.scalars(select(Rubric.family).distinct()))
    if base:
        base = base[:34]
        if base not in taken:
            return base
        for n in range(2, 1000):
            if f"{base}-{n}" not in taken:
                return f"{base}-{n}"
    while True:
        family = "r" + secrets.token_hex(6)
        if family not in taken:
            return family


def next_version(family: str) -> int:
    return (db.session.scalar(select(func.max(Rubric.version)).where(Rubric.family == family)) or 0) + 1


def _district_id() -> int:
    return current_scope().district_id


def create_rubric(doc: dict, *, family: str | None = None, copied_from_id: int | None = None,
                  audit_action: str = "rubric_created", audit_details: dict | None = None) -> Rubric:
    """A new draft from a *cleaned* document (see ``clean_document``). With ``family`` the
    draft is the next version of that family, else a new family."""
    district_id = _district_id()
    family = family or new_family()
    rubric = Rubric(district_id=district_id, family=family, version=next_version(family), name=doc["name"],
                    description=doc.get("description", ""), notes=doc.get("notes", ""),
                    total_points=doc["total_points"], status=DRAFT, copied_from_id=copied_from_id)
    db.session.add(rubric)
    db.session.flush()
    for ci, category in enumerate(doc.get("categories", []), start=1):
        row = RubricCategory(district_id=district_id, rubric_id=rubric.id, position=ci, name=category["name"],
                             cap=category["cap"])
        db.session.add(row)
        db.session.flush()
        for ii, indicator in enumerate(category.get("indicators", []), start=1):
            db.session.add(Indicator(district_id=district_id, rubric_id=rubric.id, category_id=row.id,
                                     position=ii, **{k: indicator[k] for k in INDICATOR_FIELDS}))
    db.session.flush()
    record(audit_action, target=rubric, details={"name": rubric.name, "version": rubric.version,
                                                 **(audit_details or {})})
    return rubric


def create_empty(header: dict, family_of: Rubric | None = None) -> Rubric:
    return create_rubric(dict(header, categories=[]), family=family_of.family if family_of else None)


def document(rubric: Rubric) -> dict:
    """A version as plain data (the shape ``clean_document`` reads): copy, export, API."""
    categories = categories_of(rubric)
    by_category: dict[int, list] = {c.id: [] for c in categories}
    for indicator in indicators_of(rubric):
        by_category.setdefault(indicator.category_id, []).append({
            "code": indicator.code, "title": indicator.title, "guidance": indicator.guidance,
            "kind": indicator.kind, "max_points": Decimal(indicator.max_points),
            "evidence_method": indicator.evidence_method, "must_pass": indicator.must_pass, "veto": indicator.veto,
            "deduction_per_unit": _dec(indicator.deduction_per_unit),
            "deduction_floor": _dec(indicator.deduction_floor), "bonus_max": _dec(indicator.bonus_max),
            "bands": [list(b) for b in (indicator.bands or [])], "provided_source": indicator.provided_source,
        })
    return {"name": rubric.name, "description": rubric.description or "", "notes": rubric.notes or "",
            "total_points": Decimal(rubric.total_points),
            "categories": [{"name": c.name, "cap": Decimal(c.cap), "indicators": by_category[c.id]}
                           for c in categories]}


def _dec(value):
    return None if value is None else Decimal(value)


def copy_rubric(rubric: Rubric) -> Rubric:
    """The next version of the same family, a draft with the same structure."""
    return create_rubric(document(rubric), family=rubric.family, copied_from_id=rubric.id,
                         audit_action="rubric_copied", audit_details={"from_version": rubric.version})


def update_header(rubric: Rubric, clean: dict) -> None:
    ensure_editable(rubric)
    for key in ("name", "total_points", "description", "notes"):
        setattr(rubric, key, clean[key])
    db.session.flush()


def _check_category_name(rubric: Rubric, name: str, own_id: int | None = None) -> None:
    stmt = select(RubricCategory.id).where(RubricCategory.rubric_id == rubric.id, RubricCategory.name == name)
    if own_id is not None:
        stmt = stmt.where(RubricCategory.id != own_id)
    if db.session.scalar(stmt) is not None:
        raise RubricError(gettext("本考核细则已有类别「%(name)s」", name=name), field="name")


def add_category(rubric: Rubric, clean: dict) -> RubricCategory:
    ensure_editable(rubric)
    _check_category_name(rubric, clean["name"])
    count = db.session.scalar(select(func.count()).select_from(RubricCategory)
                              .where(RubricCategory.rubric_id == rubric.id))
    if count >= MAX_CATEGORIES:
        raise RubricError(gettext("最多 %(n)s 个类别", n=MAX_CATEGORIES))
    position = (db.session.scalar(select(func.max(RubricCategory.position))
                                  .where(RubricCategory.rubric_id == rubric.id)) or 0) + 1
    category = RubricCategory(district_id=rubric.district_id, rubric_id=rubric.id, position=position,
                              name=clean["name"], cap=clean["cap"])
    db.session.add(category)
    db.session.flush()
    return category


def update_category(rubric: Rubric, category: RubricCategory, clean: dict) -> None:
    ensure_editable(rubric)
    _check_category_name(rubric, clean["name"], category.id)
    category.name, category.cap = clean["name"], clean["cap"]
    db.session.flush()


def delete_category(rubric: Rubric, category: RubricCategory) -> None:
    ensure_editable(rubric)
    for indicator in db.session.scalars(select(Indicator).where(Indicator.category_id == category.id)):
        db.session.delete(indicator)
    db.session.flush()
    db.session.delete(category)
    db.session.flush()
    _renumber(categories_of(rubric))


def _renumber(rows) -> None:
    for position, row in enumerate(rows, start=1):
        if row.position != position:
            row.position = position
    db.session.flush()


def _move(rows: list, row, direction: str) -> bool:
    if direction not in ("up", "down"):
        raise RubricError(gettext("未知的移动方向"))
    index = next(i for i, r in enumerate(rows) if r.id == row.id)
    other = index - 1 if direction == "up" else index + 1
    if other < 0 or other >= len(rows):
        return False
    rows[index], rows[other] = rows[other], rows[index]
    _renumber(rows)
    return True


def move_category(rubric: Rubric, category: RubricCategory, direction: str) -> bool:
    ensure_editable(rubric)
    return _move(categories_of(rubric), category, direction)


def _category_indicators(category_id: int) -> list[Indicator]:
    return list(db.session.scalars(select(Indicator).where(Indicator.category_id == category_id)
                                   .order_by(Indicator.position, Indicator.id)))


def add_indicator(rubric: Rubric, category: RubricCategory, clean: dict) -> Indicator:
    ensure_editable(rubric)
    count = db.session.scalar(select(func.count()).select_from(Indicator).where(Indicator.rubric_id == rubric.id))
    if count >= MAX_INDICATORS:
        raise RubricError(gettext("最多 %(n)s 个指标", n=MAX_INDICATORS))
    values = dict(clean)
    if not values["code"]:
        values["code"] = _next_code(rubric)
    position = len(_category_indicators(category.id)) + 1
    indicator = Indicator(district_id=rubric.district_id, rubric_id=rubric.id, category_id=category.id,
                          position=position, **{k: values[k] for k in INDICATOR_FIELDS})
    db.session.add(indicator)
    db.session.flush()
    return indicator


def _next_code(rubric: Rubric) -> str:
    """The number after the highest numeric 序号 (``"3+"`` counts as 3)."""
    numbers = [int(m.group(1)) for code in db.session.scalars(select(Indicator.code)
                                                              .where(Indicator.rubric_id == rubric.id))
               if (m := re.match(r"^(\d+)", code or ""))]
    return str(max(numbers, default=0) + 1)


def update_indicator(rubric: Rubric, indicator: Indicator, clean: dict,
                     category: RubricCategory | None = None) -> None:
    """Change every field; with ``category`` (of the same rubric) move it there, last."""
    ensure_editable(rubric)
    for key in INDICATOR_FIELDS:
        setattr(indicator, key, clean[key])
    if category is not None and category.id != indicator.category_id:
        old = indicator.category_id
        position = len(_category_indicators(category.id)) + 1
        indicator.category_id = category.id
        indicator.position = position
        db.session.flush()
        _renumber(_category_indicators(old))
    db.session.flush()


def delete_indicator(rubric: Rubric, indicator: Indicator) -> None:
    ensure_editable(rubric)
    category_id = indicator.category_id
    db.session.delete(indicator)
    db.session.flush()
    _renumber(_category_indicators(category_id))


def move_indicator(rubric: Rubric, indicator: Indicator, direction: str) -> bool:
    ensure_editable(rubric)
    return _move(_category_indicators(indicator.category_id), indicator, direction)


def publish(rubric: Rubric) -> None:
    """Draft → published; refused with the list of problems when the numbers do not add up."""
    from tenants.models import utcnow

    if rubric.status != DRAFT:
        raise RubricError(gettext("该版本已发布"))
    found = problems(rubric)
    if found:
        raise RubricError(gettext("考核细则的分值不能对上，暂不能发布：") + "；".join(found), problems=found)
    rubric.status = PUBLISHED
    rubric.published_at = utcnow()
    db.session.flush()
    record("rubric_published", target=rubric, details={"name": rubric.name, "version": rubric.version})


def delete_rubric(rubric: Rubric) -> None:
    """Refused when any round uses the version (whatever the round's status)."""
    rounds = rounds_using([rubric.id]).get(rubric.id, [])
    if rounds:
        raise RubricError(gettext("该版本已被以下轮次使用，不能删除：") + "、".join(round_label(r) for r in rounds))
    details = {"name": rubric.name, "version": rubric.version, "family": rubric.family}
    rubric_id = rubric.id
    for indicator in db.session.scalars(select(Indicator).where(Indicator.rubric_id == rubric_id)):
        db.session.delete(indicator)
    db.session.flush()
    for category in db.session.scalars(select(RubricCategory).where(RubricCategory.rubric_id == rubric_id)):
        db.session.delete(category)
    db.session.flush()
    db.session.delete(rubric)
    db.session.flush()
    record("rubric_deleted", target_type="Rubric", target_id=rubric_id, details=details)
