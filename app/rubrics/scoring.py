"""Rubric arithmetic: from an indicator's inputs to points, to category subtotals, to a total.

Pure functions over plain values so that every number on a report can be recomputed from its
inputs. Rules (DESIGN §8):

* ``points``: the score given, within 0..max_points.
* ``deduction``: max_points − per_unit × units, never below the floor (default 0).
* ``rate_band``: the points of the highest band whose minimum rate the rate reaches, else 0.
* ``bonus``: 0..bonus_max, added after the category cap (so a category may exceed its cap).
* A category subtotal is min(cap, sum of its non-bonus points) + its bonus points.
* ``must_pass`` (必备) not met, or a ``veto`` (一票否决) triggered, are gates reported beside
  the points; the points are still computed and shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from app.rubrics.models import BONUS, DEDUCTION, POINTS, RATE_BAND

ZERO = Decimal("0")


def D(value) -> Decimal:
    if value is None:
        return ZERO
    if isinstance(value, Decimal):
        return value
    return Decimal(str(value))


def q2(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


class ScoreInputError(ValueError):
    """An input outside the indicator's bounds (message in Chinese)."""


@dataclass(frozen=True)
class IndicatorSpec:
    id: int
    category_id: int
    kind: str
    max_points: Decimal
    title: str = ""
    must_pass: bool = False
    veto: bool = False
    deduction_per_unit: Decimal | None = None
    deduction_floor: Decimal | None = None
    bonus_max: Decimal | None = None
    bands: tuple = ()

    @classmethod
    def of(cls, indicator) -> "IndicatorSpec":
        return cls(id=indicator.id, category_id=indicator.category_id, kind=indicator.kind,
                   max_points=D(indicator.max_points), title=indicator.title, must_pass=indicator.must_pass,
                   veto=indicator.veto, deduction_per_unit=indicator.deduction_per_unit,
                   deduction_floor=indicator.deduction_floor, bonus_max=indicator.bonus_max,
                   bands=tuple(tuple(b) for b in (indicator.bands or [])))

    @property
    def ceiling(self) -> Decimal:
        """The most this indicator can give."""
        return D(self.bonus_max) if self.kind == BONUS else self.max_points


@dataclass(frozen=True)
class CategorySpec:
    id: int
    name: str
    cap: Decimal


@dataclass(frozen=True)
class Inputs:
    points: Decimal | None = None
    units: int | None = None
    rate: Decimal | None = None
    passed: bool | None = None


@dataclass
class ScoreResult:
    total: Decimal
    categories: dict = field(default_factory=dict)  # category id -> {"raw", "capped", "bonus", "subtotal"}
    indicators: dict = field(default_factory=dict)  # indicator id -> points
    must_pass_failed: list = field(default_factory=list)
    vetoed: list = field(default_factory=list)
    missing: list = field(default_factory=list)     # indicators with no input yet

    @property
    def gates_passed(self) -> bool:
        return not self.must_pass_failed and not self.vetoed


def indicator_points(spec: IndicatorSpec, inputs: Inputs | None) -> Decimal:
    """Points for one indicator; raises ScoreInputError for inputs out of bounds."""
    if inputs is None:
        return ZERO
    if spec.kind == POINTS:
        value = D(inputs.points)
        if value < 0 or value > spec.max_points:
            raise ScoreInputError(f"「{spec.title}」得分应在 0 到 {spec.max_points} 之间")
        return value
    if spec.kind == BONUS:
        value = D(inputs.points)
        if value < 0 or value > D(spec.bonus_max):
            raise ScoreInputError(f"「{spec.title}」加分应在 0 到 {D(spec.bonus_max)} 之间")
        return value
    if spec.kind == DEDUCTION:
        units = inputs.units or 0
        if units < 0:
            raise ScoreInputError(f"「{spec.title}」扣分次数不能为负数")
        floor = D(spec.deduction_floor)
        return max(floor, spec.max_points - D(spec.deduction_per_unit) * units)
    if spec.kind == RATE_BAND:
        if inputs.rate is None:
            return ZERO
        rate = D(inputs.rate)
        if rate < 0 or rate > 100:
            raise ScoreInputError(f"「{spec.title}」比率应在 0 到 100 之间")
        for minimum, points in sorted(spec.bands, key=lambda b: D(b[0]), reverse=True):
            if rate >= D(minimum):
                return D(points)
        return ZERO
    raise ScoreInputError(f"未知的指标类型：{spec.kind}")


def has_input(spec: IndicatorSpec, inputs: Inputs | None) -> bool:
    if inputs is None:
        return False
    if spec.kind in (POINTS, BONUS):
        return inputs.points is not None
    if spec.kind == DEDUCTION:
        return inputs.units is not None
    return inputs.rate is not None


def score(categories: list[CategorySpec], indicators: list[IndicatorSpec],
          inputs: dict[int, Inputs]) -> ScoreResult:
    result = ScoreResult(total=ZERO)
    per_category = {c.id: {"raw": ZERO, "bonus": ZERO} for c in categories}
    for spec in indicators:
        given = inputs.get(spec.id)
        points = indicator_points(spec, given)
        result.indicators[spec.id] = points
        if not has_input(spec, given) and spec.kind != BONUS:
            result.missing.append(spec.id)
        bucket = per_category[spec.category_id]
        bucket["bonus" if spec.kind == BONUS else "raw"] += points
        if spec.must_pass and not (given and given.passed):
            result.must_pass_failed.append(spec.id)
        if spec.veto and given is not None and given.passed is False:
            result.vetoed.append(spec.id)
    for category in categories:
        bucket = per_category[category.id]
        capped = min(category.cap, bucket["raw"])
        subtotal = capped + bucket["bonus"]
        result.categories[category.id] = {"raw": bucket["raw"], "capped": capped, "bonus": bucket["bonus"],
                                          "subtotal": subtotal}
        result.total += subtotal
    result.total = q2(result.total)
    return result


def rubric_problems(total_points: Decimal, categories: list[CategorySpec],
                    indicators: list[IndicatorSpec]) -> list[str]:
    """Why a rubric cannot be published (its numbers must add up), in Chinese; [] if fine."""
    problems = []
    if not categories:
        problems.append("考核细则至少需要一个考核类别")
    by_category = {c.id: [] for c in categories}
    for spec in indicators:
        by_category.setdefault(spec.category_id, []).append(spec)
        if spec.kind == DEDUCTION and D(spec.deduction_per_unit) <= 0:
            problems.append(f"扣分指标「{spec.title}」需要填写每次扣分值")
        if spec.kind == DEDUCTION and D(spec.deduction_floor) > spec.max_points:
            problems.append(f"扣分指标「{spec.title}」的最低分不能高于分值")
        if spec.kind == BONUS and D(spec.bonus_max) <= 0:
            problems.append(f"加分项「{spec.title}」需要填写加分上限")
        if spec.kind == RATE_BAND:
            if not spec.bands:
                problems.append(f"分档指标「{spec.title}」需要至少一个分档")
            elif max(D(p) for _, p in spec.bands) != spec.max_points:
                problems.append(f"分档指标「{spec.title}」的最高档得分应等于分值 {spec.max_points}")
        if spec.kind != BONUS and spec.max_points <= 0:
            problems.append(f"指标「{spec.title}」的分值应大于 0")
    for category in categories:
        specs = by_category.get(category.id, [])
        if not [s for s in specs if s.kind != BONUS]:
            problems.append(f"类别「{category.name}」没有计分指标")
            continue
        points = sum((s.max_points for s in specs if s.kind != BONUS), ZERO)
        if points != category.cap:
            problems.append(f"类别「{category.name}」各指标分值合计 {q2(points)}，与类别分值 {q2(category.cap)} 不符")
    caps = sum((c.cap for c in categories), ZERO)
    if categories and caps != D(total_points):
        problems.append(f"各类别分值合计 {q2(caps)}，与总分 {q2(D(total_points))} 不符")
    return problems
