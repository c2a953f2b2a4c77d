"""Results arithmetic (DESIGN §8, issue 5 "Results"): aggregating assessors' scores, their spread
and a disagreement flag, and the combined score (综评分) per indicator and in total. Pure
functions over plain values: no Flask, no database. Every combined number is a ``Figure`` that
carries the inputs it came from and its formula as text (``explain()``).

Rules, decided here and tested in tests/results/test_aggregation.py:

* **Rounding.** All arithmetic is Decimal; every published number (an aggregate, a combined
  indicator score) is rounded to 2 places with ROUND_HALF_UP (``scoring.q2``) once, where it is
  produced. Totals are sums of the rounded numbers shown, so a column always adds up on paper.
* **Methods.** ``mean``; ``median`` (the mean of the two middle values for an even count);
  ``trimmed_mean`` drops ONE highest and ONE lowest value and averages the rest. A trimmed mean
  needs at least 5 values (review-platforms §4.2; the round form already refuses trimmed_mean with
  a panel below 5). With fewer values ``aggregate`` **refuses** (AggregationError) instead of
  silently falling back to the mean: the method is announced before scoring, and replacing it is a
  person's decision (wait for the missing sheet, or change the round's method, audited).
* **Combined score: per indicator first, then the rubric.** For each rater (self, each assessor,
  each peer) the indicator points come from ``scoring.score`` (so deductions, rate bands and bounds
  follow the rubric exactly). Per indicator the assessors' points are aggregated with the round's
  method (peers likewise), then the weights are applied:
  ``combined_i = q2((w_self·self_i + w_assessor·A_i + w_peer·P_i) / 100)``.
  Category caps and bonus-over-cap are then applied by ``scoring.score`` to the combined
  indicator points (each indicator presented as plain points within its own bounds). Why this
  rule rather than aggregating per-rater totals: the 综评分 column of the paper form is per
  indicator and must add up to the total, and for ``median``/``trimmed_mean`` only the
  per-indicator rule keeps that true (the median of totals is not the sum of medians). Per-rater
  totals are still computed (each with caps and bonus) and shown with their spread, because
  disagreement is judged on them. With a published rubric a category's non-bonus points add up to
  its cap, so the cap never changes a number; bonus points are added after the cap and may take a
  category above it.
* **Weights** are percentages {"self", "assessor", "peer"} summing to 100 (as validated in
  app/rounds/services.py). A weight above 0 with no scores for that rater kind is an error, never a
  silent renormalisation. Peers are aggregated with the same method as assessors unless told.
* **Gates.** Only *confirmed* vetoes (一票否决) and *confirmed* failed must-pass (必备) items count
  (the second-person confirmation lives in the services). They are passed in explicitly. The
  numbers are computed and kept either way; ``gates_passed`` tells the tier/grade code to withhold
  a tier (grade 不合格). Findings raised by a rater but not confirmed are listed beside, for the
  calibration view.
* **Spread and disagreement.** Spread = min, max, range (max − min) and the population standard
  deviation of the assessors' values. The disagreement measure is the **range** (a person sets a
  threshold as "评审分差超过 N 分"). An application is flagged on its assessors' totals, an
  indicator on its assessors' points for that indicator:
    - if the round has ``disagreement_threshold``: flagged when range > threshold (strictly);
    - otherwise relative to the round: flagged when range > 2 × the median range of the same
      measure over all applications of the round with at least 2 assessors (for an indicator: the
      median range of that indicator), and range > 0.
  Fewer than 2 assessors: no spread, never flagged.
"""
from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Hashable, Iterable, Mapping

from app.rubrics.models import BONUS, DEDUCTION, POINTS, RATE_BAND
from app.rubrics.scoring import (ZERO, CategorySpec, IndicatorSpec, Inputs, ScoreResult, D, q2, score)

MEAN = "mean"
MEDIAN = "median"
TRIMMED_MEAN = "trimmed_mean"
METHODS = {MEAN: "平均分", MEDIAN: "中位数", TRIMMED_MEAN: "去掉最高最低后平均"}
TRIM_MINIMUM = 5
DISAGREEMENT_FACTOR = Decimal(2)
WEIGHT_KEYS = ("self", "assessor", "peer")
WEIGHT_LABELS = {"self": "自评", "assessor": "考评", "peer": "互评"}
HUNDRED = Decimal(100)


class AggregationError(ValueError):
    """Inputs that cannot be aggregated under the round's rules (message in Chinese)."""


_FMT_MEMO: dict = {}
_FMT_MEMO_MAX = 50_000


def fmt(value) -> str:
    """A number as shown everywhere: two decimals."""
    if value is None:
        return "—"
    if type(value) is Decimal and value:  # equal non-zero Decimals print alike (zero: "-0.00" ≠ "0.00")
        try:
            return _FMT_MEMO[value]
        except KeyError:
            pass
        except TypeError:  # a signalling NaN is not hashable
            return str(q2(D(value)))
        text = str(q2(value))
        if len(_FMT_MEMO) >= _FMT_MEMO_MAX:
            _FMT_MEMO.clear()
        _FMT_MEMO[value] = text
        return text
    return str(q2(D(value)))


# --------------------------------------------------------------------------------------------
# Aggregates and spread


def min_count(method: str) -> int:
    """How many values the method needs."""
    _check_method(method)
    return TRIM_MINIMUM if method == TRIMMED_MEAN else 1


def _check_method(method: str) -> None:
    if method not in METHODS:
        raise AggregationError(f"未知的汇总方式：{method}")


def _values(values: Iterable) -> list[Decimal]:
    return [D(v) for v in values]


def aggregate(values: Iterable, method: str) -> Decimal:
    """The mean, median or trimmed mean of ``values``, rounded half-up to 2 places.

    Raises AggregationError for no values, an unknown method, or a trimmed mean of fewer than 5.
    """
    return _aggregate(_values(values), method)[0]


def _aggregate(values: list[Decimal], method: str) -> tuple[Decimal, str]:
    """(result, the formula as text)."""
    result, formula = _aggregate_lazy(values, method)
    return result, formula()


def _aggregate_lazy(values: list[Decimal], method: str):
    """(result, a function giving the formula as text): the text is built only when shown."""
    _check_method(method)
    if not values:
        raise AggregationError("没有可汇总的分数")
    ordered = sorted(values)
    if method == MEAN:
        result = q2(sum(values, ZERO) / len(values))
        return result, lambda: f"({' + '.join(fmt(v) for v in values)}) ÷ {len(values)} = {fmt(result)}"
    if method == MEDIAN:
        n = len(ordered)
        if n % 2:
            result = q2(ordered[n // 2])
            return result, lambda: f"从小到大 {'、'.join(fmt(v) for v in ordered)}，取中间值 = {fmt(result)}"
        low, high = ordered[n // 2 - 1], ordered[n // 2]
        result = q2((low + high) / 2)
        return result, lambda: (f"从小到大 {'、'.join(fmt(v) for v in ordered)}，"
                                f"取中间两数 ({fmt(low)} + {fmt(high)}) ÷ 2 = {fmt(result)}")
    if len(values) < TRIM_MINIMUM:
        raise AggregationError(f"去掉最高最低分后平均需要至少 {TRIM_MINIMUM} 位评审的分数，现只有 {len(values)} 份："
                               f"请等待其余评审提交，或由区教育工会改用平均分、中位数")
    kept = ordered[1:-1]
    result = q2(sum(kept, ZERO) / len(kept))
    return result, lambda: (f"去掉最高 {fmt(ordered[-1])}、最低 {fmt(ordered[0])}，"
                            f"({' + '.join(fmt(v) for v in kept)}) ÷ {len(kept)} = {fmt(result)}")


@dataclass(frozen=True)
class Spread:
    count: int
    minimum: Decimal
    maximum: Decimal
    range: Decimal
    mean: Decimal
    stdev: Decimal  # population standard deviation, 2 places

    def describe(self) -> str:
        return (f"{self.count} 份，最低 {fmt(self.minimum)}，最高 {fmt(self.maximum)}，极差 {fmt(self.range)}，"
                f"标准差 {fmt(self.stdev)}")


def spread(values: Iterable) -> Spread | None:
    """min, max, range and population standard deviation; None when there are no values."""
    values = _values(values)
    if not values:
        return None
    with localcontext() as ctx:
        ctx.prec = 28
        mean = sum(values, ZERO) / len(values)
        variance = sum(((v - mean) ** 2 for v in values), ZERO) / len(values)
        stdev = variance.sqrt()
    low, high = min(values), max(values)
    return Spread(count=len(values), minimum=low, maximum=high, range=high - low, mean=q2(mean), stdev=q2(stdev))


# --------------------------------------------------------------------------------------------
# Traceable numbers


class Figure:
    """One number with the inputs it came from and how (for "open this number").

    ``formula`` may be given as a function returning the text: it is then built the first time it
    is read (most figures are never opened), and kept. ``explain()`` is kept too. A Figure is not
    changed after it is made (treat it as frozen)."""

    __slots__ = ("label", "value", "_formula", "inputs", "notes", "_explained")

    def __init__(self, label: str, value: Decimal | None, formula="", inputs: tuple = (), notes: tuple = ()):
        self.label = label
        self.value = value
        self._formula = formula
        self.inputs = inputs
        self.notes = notes
        self._explained = None

    @property
    def formula(self) -> str:
        formula = self._formula
        if not isinstance(formula, str):
            formula = self._formula = formula()
        return formula

    def _key(self) -> tuple:
        return self.label, self.value, self.formula, self.inputs, self.notes

    def __eq__(self, other) -> bool:
        return self._key() == other._key() if isinstance(other, Figure) else NotImplemented

    def __hash__(self) -> int:
        return hash(self._key())

    def __repr__(self) -> str:
        return (f"Figure(label={self.label!r}, value={self.value!r}, formula={self.formula!r}, "
                f"inputs={self.inputs!r}, notes={self.notes!r})")

    def explain(self) -> str:
        """The number, its formula and, indented below, every input down to what a rater entered."""
        if self._explained is None:
            lines: list[str] = []
            self._lines(lines, "")
            self._explained = "\n".join(lines)
        return self._explained

    def _lines(self, out: list[str], pad: str) -> None:
        out.append(f"{pad}{self.label} = {fmt(self.value)}")
        formula = self.formula
        if formula:
            out.append(f"{pad}  {'算式' if self.inputs else '依据'}：{formula}")
        for note in self.notes:
            out.append(f"{pad}  说明：{note}")
        if self.inputs:
            deeper = pad + "  "
            for child in self.inputs:
                child._lines(out, deeper)

    def as_dict(self) -> dict:
        return {"label": self.label, "value": None if self.value is None else fmt(self.value),
                "formula": self.formula, "notes": list(self.notes),
                "inputs": [child.as_dict() for child in self.inputs]}


def describe_inputs(spec: IndicatorSpec, inputs: Inputs | None, points: Decimal) -> str:
    """What a rater entered for one indicator and how it became ``points`` (computed by scoring)."""
    if inputs is None:
        return "未填写，计 0 分"
    text = _describe_points(spec, inputs, points)
    if spec.veto and inputs.passed is False:
        text += "；提出一票否决"
    if spec.must_pass and inputs.passed is False:
        text += "；认为必备项未达到"
    return text


def _describe_points(spec: IndicatorSpec, inputs: Inputs, points: Decimal) -> str:
    if spec.kind == POINTS:
        return "未填写，计 0 分" if inputs.points is None else f"评分 {fmt(inputs.points)}（满分 {fmt(spec.max_points)}）"
    if spec.kind == BONUS:
        return "未填写，计 0 分" if inputs.points is None else f"加分 {fmt(inputs.points)}（上限 {fmt(spec.bonus_max)}）"
    if spec.kind == DEDUCTION:
        if inputs.units is None:
            return f"未填写扣分次数，计满分 {fmt(points)}"
        floor = f"，不低于 {fmt(spec.deduction_floor)}" if spec.deduction_floor is not None else "，不低于 0"
        return (f"扣分 {inputs.units} 次：{fmt(spec.max_points)} − {fmt(spec.deduction_per_unit)} × {inputs.units}"
                f"{floor} = {fmt(points)}")
    if spec.kind == RATE_BAND:
        if inputs.rate is None:
            return "未填写比率，计 0 分"
        bands = "；".join(f"≥{fmt(lo)}% 得 {fmt(p)}" for lo, p in sorted(spec.bands, key=lambda b: D(b[0]),
                                                                       reverse=True))
        return f"比率 {fmt(inputs.rate)}%（{bands}）= {fmt(points)}"
    return f"{fmt(points)}"


# --------------------------------------------------------------------------------------------
# Weights


@dataclass(frozen=True)
class Weights:
    """Rater weights in percent; ``self_`` because ``self`` is the school's self score."""

    self_: Decimal
    assessor: Decimal
    peer: Decimal = ZERO

    @classmethod
    def of(cls, weights: "Weights | Mapping") -> "Weights":
        if isinstance(weights, Weights):
            return weights
        unknown = set(weights) - set(WEIGHT_KEYS)
        if unknown:
            raise AggregationError(f"未知的权重项：{'、'.join(sorted(unknown))}")
        try:
            values = {k: D(weights.get(k) or 0) for k in WEIGHT_KEYS}
        except ArithmeticError:
            raise AggregationError("权重须为数字") from None
        if any(v < 0 for v in values.values()):
            raise AggregationError("权重不能为负数")
        total = sum(values.values(), ZERO)
        if total != HUNDRED:
            raise AggregationError(f"自评、考评、互评权重之和应为 100%，现为 {total}%")
        return cls(self_=values["self"], assessor=values["assessor"], peer=values["peer"])

    def get(self, key: str) -> Decimal:
        if key not in WEIGHT_KEYS:
            raise KeyError(key)
        return getattr(self, "self_" if key == "self" else key)

    def describe(self) -> str:
        return " + ".join(f"{WEIGHT_LABELS[k]} {_pct(self.get(k))}" for k in WEIGHT_KEYS if self.get(k))


def _pct(value: Decimal) -> str:
    return f"{value.normalize():f}%"


# --------------------------------------------------------------------------------------------
# Combined score


@dataclass(frozen=True)
class IndicatorResult:
    """One indicator of one application: self, assessors, peers and the combined points."""

    indicator_id: int
    title: str
    category_id: int
    self_points: Decimal
    assessor_points: dict  # rater -> points
    assessor_value: Decimal | None  # the aggregate (None when there are no assessor sheets)
    assessor_spread: Spread | None
    peer_points: dict
    peer_value: Decimal | None
    combined: Decimal
    figure: Figure

    def explain(self) -> str:
        return self.figure.explain()


@dataclass
class CombinedScore:
    """All numbers of one application in a round (calibration view, exports, snapshot)."""

    method: str
    weights: Weights
    total: Decimal                    # the combined total (综评总分)
    indicators: dict                  # indicator id -> IndicatorResult
    categories: dict                  # category id -> {"raw", "capped", "bonus", "subtotal"} (combined)
    category_names: dict              # category id -> name
    self_result: ScoreResult          # the school's own sheet, scored with the rubric
    assessor_results: dict            # rater -> ScoreResult (each with caps and bonus)
    peer_results: dict
    assessor_spread: Spread | None    # of the assessors' totals
    assessor_column_total: Decimal | None  # the aggregated assessor column, through the rubric
    peer_column_total: Decimal | None
    vetoed: tuple = ()                # confirmed vetoes (indicator ids)
    must_pass_failed: tuple = ()      # confirmed failed must-pass items
    raised_vetoes: tuple = ()         # raised by a rater, not confirmed
    raised_must_pass: tuple = ()
    figure: Figure = field(default=None)
    texts: dict = field(default_factory=dict, repr=False, compare=False)  # explanations (and the
    # median of the assessors' totals), kept once built

    @property
    def gates_passed(self) -> bool:
        return not self.vetoed and not self.must_pass_failed

    @property
    def self_total(self) -> Decimal:
        return self.self_result.total

    @property
    def assessor_totals(self) -> dict:
        return {rater: result.total for rater, result in self.assessor_results.items()}

    @property
    def assessor_min(self) -> Decimal | None:
        return min(self.assessor_totals.values()) if self.assessor_results else None

    def category_subtotals(self) -> dict:
        """Combined subtotal by category *name* (the tie-break chain names categories)."""
        return {self.category_names[cid]: values["subtotal"] for cid, values in self.categories.items()}

    def explain(self, indicator_id: int | None = None) -> str:
        if indicator_id is not None:
            return self.indicators[indicator_id].explain()
        return self.figure.explain()


def _points_spec(spec: IndicatorSpec) -> IndicatorSpec:
    """The indicator as plain points within its bounds: combined points go through ``score`` for
    the caps and bonus only; the gates are handled from the confirmed findings. (The same specs
    come for every application of a round: kept.)"""
    try:
        return _points_spec_kept(spec)
    except TypeError:  # a spec with an unhashable field
        return _as_points(spec)


def _as_points(spec: IndicatorSpec) -> IndicatorSpec:
    return dataclasses.replace(spec, kind=BONUS if spec.kind == BONUS else POINTS, must_pass=False, veto=False)


_points_spec_kept = functools.lru_cache(maxsize=4096)(_as_points)


def _score_sheets(categories, indicators, sheets: Mapping | None) -> dict:
    return {rater: score(categories, indicators, dict(inputs or {})) for rater, inputs in (sheets or {}).items()}


def _rater_label(prefix: str, rater) -> str:
    return f"{prefix} {rater}"


def combine(categories: list[CategorySpec], indicators: list[IndicatorSpec], self_inputs: Mapping[int, Inputs],
            assessor_inputs: Mapping[Hashable, Mapping[int, Inputs]], weights: "Weights | Mapping", method: str, *,
            peer_inputs: Mapping[Hashable, Mapping[int, Inputs]] | None = None, peer_method: str | None = None,
            confirmed_vetoes: Iterable[int] = (), failed_must_pass: Iterable[int] = ()) -> CombinedScore:
    """The combined score of one application (see the module docstring for the rules).

    ``assessor_inputs`` / ``peer_inputs`` map a rater (an id or a name; shown as "评审 <rater>")
    to that rater's inputs per indicator id. Raises AggregationError for bad weights, a weight
    without scores, too few sheets for a trimmed mean, or a confirmed gate on an indicator that is
    not a veto / must-pass item; ScoreInputError (from scoring) for inputs out of bounds.
    """
    weights = Weights.of(weights)
    _check_method(method)
    peer_method = peer_method or method
    _check_method(peer_method)
    peer_inputs = peer_inputs or {}
    specs = {s.id: s for s in indicators}
    names = {c.id: c.name for c in categories}
    for kind, rater_sheets in (("assessor", assessor_inputs), ("peer", peer_inputs)):
        if weights.get(kind) and not rater_sheets:
            raise AggregationError(f"{WEIGHT_LABELS[kind]}权重为 {_pct(weights.get(kind))}，但还没有{WEIGHT_LABELS[kind]}分")

    vetoed = tuple(sorted(set(confirmed_vetoes)))
    failed = tuple(sorted(set(failed_must_pass)))
    for i in vetoed:
        if i not in specs or not specs[i].veto:
            raise AggregationError(f"指标 {i} 不是一票否决项")
    for i in failed:
        if i not in specs or not specs[i].must_pass:
            raise AggregationError(f"指标 {i} 不是必备项")

    self_result = score(categories, indicators, dict(self_inputs))
    assessor_results = _score_sheets(categories, indicators, assessor_inputs)
    peer_results = _score_sheets(categories, indicators, peer_inputs)

    results: dict[int, IndicatorResult] = {}
    for spec in indicators:
        results[spec.id] = _combine_indicator(spec, self_inputs, self_result, assessor_inputs, assessor_results,
                                              peer_inputs, peer_results, weights, method, peer_method)

    plain = [_points_spec(s) for s in indicators]
    combined = score(categories, plain, {i: Inputs(points=r.combined) for i, r in results.items()})
    assessor_column = (score(categories, plain, {i: Inputs(points=r.assessor_value) for i, r in results.items()}).total
                       if assessor_results else None)
    peer_column = (score(categories, plain, {i: Inputs(points=r.peer_value) for i, r in results.items()}).total
                   if peer_results else None)

    # Findings a rater raised (answered "no") that are not confirmed; an unanswered item is not a finding.
    sheets = [*assessor_inputs.values(), *peer_inputs.values()]
    raised = {i for sheet in sheets for i, given in (sheet or {}).items()
              if i in specs and given is not None and given.passed is False}
    raised_vetoes = tuple(sorted(i for i in raised - set(vetoed) if specs[i].veto))
    raised_must_pass = tuple(sorted(i for i in raised - set(failed) if specs[i].must_pass))

    category_figures = []
    for category in categories:
        values = combined.categories[category.id]
        members = tuple(results[s.id].figure for s in indicators if s.category_id == category.id)
        has_bonus = any(s.kind == BONUS for s in indicators if s.category_id == category.id)
        notes = ("加分在类别上限之外计入，小计可超过上限",) if values["subtotal"] > category.cap else ()
        category_figures.append(Figure(f"类别「{category.name}」小计", values["subtotal"],
                                       _category_formula(category, values, has_bonus), members, notes))

    notes = [f"权重：{weights.describe()}；汇总方式：{METHODS[method]}"
             + (f"（互评：{METHODS[peer_method]}）" if peer_results and peer_method != method else "")]
    for i in vetoed:
        notes.append(f"一票否决已确认：「{specs[i].title}」——分数照常计算，不评定等级（等次为不合格）")
    for i in failed:
        notes.append(f"必备项未达到（已确认）：「{specs[i].title}」——分数照常计算，不评定等级（等次为不合格）")
    for i in raised_vetoes:
        notes.append(f"有评审提出一票否决但尚未确认：「{specs[i].title}」")
    for i in raised_must_pass:
        notes.append(f"有评审认为必备项未达到但尚未确认：「{specs[i].title}」")
    if self_result.missing:
        notes.append("自评未填写的指标按 0 分计：" + "、".join(f"「{specs[i].title}」" for i in self_result.missing))
    for kind, scored in (("assessor", assessor_results), ("peer", peer_results)):
        for rater, result in scored.items():
            if result.missing:
                notes.append(f"{_rater_label(WEIGHT_LABELS[kind], rater)} 未填写的指标按 0 分计："
                             + "、".join(f"「{specs[i].title}」" for i in result.missing))
    total_figure = Figure("综评总分", combined.total, _total_formula(categories, combined),
                          tuple(category_figures), tuple(notes))

    return CombinedScore(method=method, weights=weights, total=combined.total, indicators=results,
                         categories=combined.categories, category_names=names, self_result=self_result,
                         assessor_results=assessor_results, peer_results=peer_results,
                         assessor_spread=spread(r.total for r in assessor_results.values()),
                         assessor_column_total=assessor_column, peer_column_total=peer_column,
                         vetoed=vetoed, must_pass_failed=failed, raised_vetoes=raised_vetoes,
                         raised_must_pass=raised_must_pass, figure=total_figure)


def _category_formula(category, values, has_bonus: bool):
    def formula() -> str:
        text = f"min(上限 {fmt(category.cap)}, 合计 {fmt(values['raw'])})"
        if has_bonus:
            text += f" + 加分 {fmt(values['bonus'])}"
        return text + f" = {fmt(values['subtotal'])}"
    return formula


def _total_formula(categories, combined):
    def formula() -> str:
        text = " + ".join(f"{c.name} {fmt(combined.categories[c.id]['subtotal'])}" for c in categories)
        return f"{text} = {fmt(combined.total)}"
    return formula


def _described(spec, inputs, points):
    return functools.partial(describe_inputs, spec, inputs, points)  # smaller than a closure, kept per figure


def _combine_indicator(spec, self_inputs, self_result, assessor_inputs, assessor_results, peer_inputs, peer_results,
                       weights: Weights, method: str, peer_method: str) -> IndicatorResult:
    self_points = self_result.indicators[spec.id]
    self_figure = Figure("自评", self_points, _described(spec, self_inputs.get(spec.id), self_points))

    def column(kind: str, label: str, sheets, scored, how: str):
        points = {rater: result.indicators[spec.id] for rater, result in scored.items()}
        if not points:
            return points, None, None
        try:
            value, formula = _aggregate_lazy(list(points.values()), how)
        except AggregationError as exc:
            raise AggregationError(f"「{spec.title}」的{label}：{exc}") from None
        leaves = tuple(Figure(_rater_label(WEIGHT_LABELS[kind], rater), p,
                              _described(spec, (sheets.get(rater) or {}).get(spec.id), p))
                       for rater, p in points.items())
        return points, value, Figure(f"{label}（{METHODS[how]}）", value, formula, leaves)

    assessor_points, assessor_value, assessor_figure = column("assessor", "考评分", assessor_inputs, assessor_results,
                                                              method)
    peer_points, peer_value, peer_figure = column("peer", "互评分", peer_inputs, peer_results, peer_method)

    terms, figures, weighted = [], [], ZERO
    for key, value, figure in (("self", self_points, self_figure), ("assessor", assessor_value, assessor_figure),
                               ("peer", peer_value, peer_figure)):
        weight = weights.get(key)
        if figure is not None:
            figures.append(figure)
        if not weight:
            continue
        weighted += weight * value
        terms.append((weight, key, value))
    combined = q2(weighted / HUNDRED)

    def formula() -> str:
        listed = " + ".join(f"{_pct(weight)} × {WEIGHT_LABELS[key]} {fmt(value)}" for weight, key, value in terms)
        return f"{listed} = {fmt(combined)}"

    figure = Figure(f"综评分「{spec.title}」", combined, formula, tuple(figures))
    return IndicatorResult(indicator_id=spec.id, title=spec.title, category_id=spec.category_id,
                           self_points=self_points, assessor_points=assessor_points, assessor_value=assessor_value,
                           assessor_spread=spread(assessor_points.values()), peer_points=peer_points,
                           peer_value=peer_value, combined=combined, figure=figure)


# --------------------------------------------------------------------------------------------
# Disagreement


@dataclass(frozen=True)
class Flags:
    """Which keys are flagged, and the rule applied (with its baseline), as text."""

    flagged: frozenset
    rule: str
    limit: Decimal | None  # the range above which a value is flagged (None: nothing to compare)


def disagreement_flags(ranges: Mapping[Hashable, Decimal | None], threshold=None,
                       factor=DISAGREEMENT_FACTOR) -> Flags:
    """Flag the keys whose range is unusually large (rule in the module docstring).

    ``ranges`` maps a key to its assessors' range (None when fewer than 2 assessors). With a
    ``threshold``: range > threshold. Without: range > factor × median of the known ranges, and > 0.
    """
    known = {k: D(v) for k, v in ranges.items() if v is not None}
    if threshold is not None:
        limit = D(threshold)
        rule = f"评审分差（最高减最低）超过本轮设定的 {fmt(limit)} 分"
        return Flags(frozenset(k for k, v in known.items() if v > limit), rule, limit)
    if not known:
        return Flags(frozenset(), "评审不足 2 位，无法比较分差", None)
    baseline = aggregate(known.values(), MEDIAN)
    limit = q2(D(factor) * baseline)
    rule = (f"评审分差超过本轮通常分差（中位数 {fmt(baseline)}）的 {D(factor).normalize():f} 倍，"
            f"即超过 {fmt(limit)} 分")
    return Flags(frozenset(k for k, v in known.items() if v > limit and v > 0), rule, limit)


@dataclass(frozen=True)
class Disagreement:
    total: bool                 # the assessors' totals disagree
    indicators: frozenset       # indicator ids where the assessors disagree
    total_range: Decimal | None
    rule: str                   # the rule for the totals, with its baseline

    @property
    def any(self) -> bool:
        return self.total or bool(self.indicators)


def flag_disagreements(results: Mapping[Hashable, CombinedScore], threshold=None,
                       factor=DISAGREEMENT_FACTOR) -> dict:
    """Per application key: a Disagreement, judged against the whole round (``results``)."""
    totals = {key: (r.assessor_spread.range if r.assessor_spread and r.assessor_spread.count > 1 else None)
              for key, r in results.items()}
    total_flags = disagreement_flags(totals, threshold, factor)
    indicator_ids = {i for r in results.values() for i in r.indicators}
    by_indicator = {}
    for i in indicator_ids:
        ranges = {}
        for key, r in results.items():
            s = r.indicators[i].assessor_spread if i in r.indicators else None
            ranges[key] = s.range if s and s.count > 1 else None
        by_indicator[i] = disagreement_flags(ranges, threshold, factor).flagged
    return {key: Disagreement(total=key in total_flags.flagged,
                              indicators=frozenset(i for i, keys in by_indicator.items() if key in keys),
                              total_range=totals[key], rule=total_flags.rule)
            for key in results}
