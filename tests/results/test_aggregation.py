"""Aggregation and the combined score from hand-computed examples (issue 5, quality bars)."""
from decimal import Decimal

import pytest

from app.results.aggregation import (AggregationError, Weights, aggregate, combine, disagreement_flags,
                                     flag_disagreements, min_count, spread)
from app.rubrics.scoring import CategorySpec, IndicatorSpec, Inputs, ScoreInputError

D = Decimal
ORG = CategorySpec(1, "组织建设", D(10))
WORK = CategorySpec(2, "履行职能", D(10))
CATEGORIES = [ORG, WORK]


def spec(i, cat, kind, max_points, **kw):
    return IndicatorSpec(id=i, category_id=cat, kind=kind, max_points=D(max_points), title=f"指标{i}", **kw)


INDICATORS = [
    spec(1, 1, "points", 6),
    spec(2, 1, "deduction", 4, deduction_per_unit=D(1), deduction_floor=D(0)),  # −1 per missed activity
    spec(3, 1, "bonus", 0, bonus_max=D(3)),                                     # may exceed the cap of 10
    spec(4, 2, "points", 7, veto=True),
    spec(5, 2, "rate_band", 3, bands=((90, 3), (80, 2)), must_pass=True),       # 入会率
]


def sheet(p1, units2, bonus3, p4, rate5, veto_ok=True, must_ok=True):
    return {1: Inputs(points=D(p1)), 2: Inputs(units=units2), 3: Inputs(points=D(bonus3)),
            4: Inputs(points=D(p4), passed=veto_ok), 5: Inputs(rate=D(rate5), passed=must_ok)}


SELF = sheet(6, 0, 3, 7, 95)          # 6 + 4 + 3 | 7 + 3
ASSESSORS = {
    "甲": sheet(5, 1, 2, 6, 85),      # 5 + 3 + 2 | 6 + 2 → 18
    "乙": sheet(4, 2, 2, 5, 92),      # 4 + 2 + 2 | 5 + 3 → 16
    "丙": sheet(6, 0, 1, 6, 85),      # 6 + 4 + 1 | 6 + 2 → 19
}


# ---- aggregate() -------------------------------------------------------------------------

FIVE = [80, 85, 90, 70, 95]
SIX = [80, 85, 90, 70, 95, 60]


def test_mean_median_trimmed_with_five_assessors():
    assert aggregate(FIVE, "mean") == D("84.00")            # 420 / 5
    assert aggregate(FIVE, "median") == D("85.00")          # 70 80 [85] 90 95
    assert aggregate(FIVE, "trimmed_mean") == D("85.00")    # drop 95 and 70: (80 + 85 + 90) / 3


def test_mean_median_trimmed_with_six_assessors():
    assert aggregate(SIX, "mean") == D("80.00")             # 480 / 6
    assert aggregate(SIX, "median") == D("82.50")           # 60 70 [80 85] 90 95 → (80 + 85) / 2
    assert aggregate(SIX, "trimmed_mean") == D("81.25")     # drop 95 and 60: (70 + 80 + 85 + 90) / 4


def test_trimmed_mean_drops_only_one_of_equal_extremes():
    assert aggregate([80, 80, 80, 90, 90], "trimmed_mean") == D("83.33")  # (80 + 80 + 90) / 3


def test_trimmed_mean_is_refused_with_four_assessors():
    with pytest.raises(AggregationError, match="至少 5 位"):
        aggregate([80, 85, 90, 70], "trimmed_mean")
    assert min_count("trimmed_mean") == 5 and min_count("mean") == 1
    # the other methods are fine with four
    assert aggregate([80, 85, 90, 70], "median") == D("82.50")


def test_rounding_is_half_up_to_two_places():
    assert aggregate([1, 2, 2], "mean") == D("1.67")
    assert aggregate(["1.00", "1.01"], "mean") == D("1.01")      # 1.005 → 1.01 (not banker's 1.00)
    assert aggregate(["1.00", "1.01"], "median") == D("1.01")
    assert aggregate(["2.00", "2.01", "2.02", "2.02", "9"], "trimmed_mean") == D("2.02")  # 6.05 / 3 = 2.0166…


def test_no_values_or_unknown_method_is_an_error():
    with pytest.raises(AggregationError):
        aggregate([], "mean")
    with pytest.raises(AggregationError, match="未知的汇总方式"):
        aggregate([1], "mode")


def test_spread():
    s = spread([18, 16, 19])
    assert (s.count, s.minimum, s.maximum, s.range) == (3, D(16), D(19), D(3))
    assert s.mean == D("17.67")
    # population SD: deviations 1/3, −5/3, 4/3 → squares sum 42/9 → /3 = 14/9 → √ = 1.247…
    assert s.stdev == D("1.25")
    assert spread([7]).range == 0 and spread([7]).stdev == 0
    assert spread([]) is None


# ---- weights -----------------------------------------------------------------------------


def test_weights_must_sum_to_100():
    assert Weights.of({"self": 20, "assessor": 80}).peer == 0
    with pytest.raises(AggregationError, match="100%"):
        Weights.of({"self": 20, "assessor": 70})
    with pytest.raises(AggregationError, match="未知的权重项"):
        Weights.of({"self": 20, "assessor": 80, "boss": 0})
    with pytest.raises(AggregationError, match="负数"):
        Weights.of({"self": -20, "assessor": 120})


# ---- combine(): 20/80 --------------------------------------------------------------------


def test_combined_20_80_mean_per_indicator_then_rubric():
    r = combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 20, "assessor": 80, "peer": 0}, "mean")
    # assessor means per indicator: 5.00, 3.00, 1.67 (5/3), 5.67 (17/3), 2.33 (7/3)
    assert [r.indicators[i].assessor_value for i in (1, 2, 3, 4, 5)] == [D("5.00"), D("3.00"), D("1.67"),
                                                                         D("5.67"), D("2.33")]
    # 0.2 × self + 0.8 × assessors: 1.2 + 4 = 5.20; 0.8 + 2.4 = 3.20; 0.6 + 1.336 = 1.936 → 1.94;
    # 1.4 + 4.536 = 5.936 → 5.94; 0.6 + 1.864 = 2.464 → 2.46
    assert [r.indicators[i].combined for i in (1, 2, 3, 4, 5)] == [D("5.20"), D("3.20"), D("1.94"),
                                                                   D("5.94"), D("2.46")]
    # 组织建设: min(10, 5.20 + 3.20) + bonus 1.94 = 10.34 — over its cap of 10 through the bonus
    assert r.categories[1] == {"raw": D("8.40"), "capped": D("8.40"), "bonus": D("1.94"), "subtotal": D("10.34")}
    assert r.categories[2]["subtotal"] == D("8.40")
    assert r.total == D("18.74")
    assert r.self_total == D("23.00")                       # min(10, 6 + 4) + 3 + 7 + 3
    assert r.assessor_totals == {"甲": D(18), "乙": D(16), "丙": D(19)}
    assert r.assessor_min == D(16)
    assert r.assessor_column_total == D("17.67")           # min(10, 5 + 3) + 1.67 + 5.67 + 2.33
    assert r.category_subtotals() == {"组织建设": D("10.34"), "履行职能": D("8.40")}
    assert r.gates_passed


def test_bonus_over_cap_through_the_combined_score():
    full = {i: s for i, s in sheet(6, 0, 3, 7, 95).items()}
    r = combine(CATEGORIES, INDICATORS, full, {"甲": full, "乙": full}, {"self": 20, "assessor": 80}, "median")
    # 6 + 4 = 10 reaches the cap exactly; the bonus of 3 comes on top: 13 > cap 10
    assert r.categories[1] == {"raw": D(10), "capped": D(10), "bonus": D(3), "subtotal": D(13)}
    assert r.total == D(23)
    assert "小计可超过上限" in r.explain()


def test_combined_40_30_30_with_peers():
    """楚雄师范学院: 自评 40% + 校工会 30% + 二级工会互评 30%."""
    cat = CategorySpec(1, "工作实绩", D(100))
    specs = [spec(1, 1, "points", 60), spec(2, 1, "points", 40)]
    pts = lambda a, b: {1: Inputs(points=D(a)), 2: Inputs(points=D(b))}  # noqa: E731
    r = combine([cat], specs, pts(55, 38), {"A": pts(50, 30), "B": pts(46, 34)},
                {"self": 40, "assessor": 30, "peer": 30}, "mean",
                peer_inputs={"一中": pts(52, 35), "二中": pts(50, 36), "三中": pts(45, 31)})
    # assessors: 48, 32; peers: 147/3 = 49, 102/3 = 34
    assert (r.indicators[1].assessor_value, r.indicators[1].peer_value) == (D(48), D(49))
    assert (r.indicators[2].assessor_value, r.indicators[2].peer_value) == (D(32), D(34))
    # 22 + 14.4 + 14.7 = 51.10; 15.2 + 9.6 + 10.2 = 35.00
    assert (r.indicators[1].combined, r.indicators[2].combined) == (D("51.10"), D("35.00"))
    assert r.total == D("86.10")                         # = 0.4 × 93 + 0.3 × 80 + 0.3 × 83
    assert (r.self_total, r.assessor_column_total, r.peer_column_total) == (D(93), D(80), D(83))
    assert "40% × 自评 55.00 + 30% × 考评 48.00 + 30% × 互评 49.00 = 51.10" in r.explain()


def test_median_is_taken_per_indicator_so_the_combined_column_adds_up():
    cat = CategorySpec(1, "c", D(20))
    specs = [spec(1, 1, "points", 10), spec(2, 1, "points", 10)]
    pts = lambda a, b: {1: Inputs(points=D(a)), 2: Inputs(points=D(b))}  # noqa: E731
    r = combine([cat], specs, pts(10, 10), {"A": pts(2, 2), "B": pts(4, 8), "C": pts(8, 4)},
                {"self": 0, "assessor": 100}, "median")
    # per-indicator medians 4 and 4 → 8, although the median of the totals (4, 12, 12) is 12
    assert r.total == D(8) == r.assessor_column_total
    assert sum(x.combined for x in r.indicators.values()) == r.total
    assert r.assessor_spread.range == D(8)


def test_trimmed_mean_in_combine_needs_five_sheets():
    five = {k: sheet(p, 0, 0, 7, 95) for k, p in zip("ABCDE", (2, 3, 4, 5, 6))}
    r = combine(CATEGORIES, INDICATORS, SELF, five, {"self": 0, "assessor": 100}, "trimmed_mean")
    assert r.indicators[1].assessor_value == D(4)         # drop 6 and 2: (3 + 4 + 5) / 3
    four = dict(list(five.items())[:4])
    with pytest.raises(AggregationError, match="「指标1」的考评分.*至少 5 位"):
        combine(CATEGORIES, INDICATORS, SELF, four, {"self": 0, "assessor": 100}, "trimmed_mean")


def test_a_weight_without_scores_is_an_error_not_a_renormalisation():
    with pytest.raises(AggregationError, match="互评权重为 30%"):
        combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 40, "assessor": 30, "peer": 30}, "mean")
    with pytest.raises(AggregationError, match="考评权重"):
        combine(CATEGORIES, INDICATORS, SELF, {}, {"self": 20, "assessor": 80}, "mean")


def test_out_of_bounds_rater_input_is_refused_by_the_rubric():
    bad = {**ASSESSORS, "丁": sheet(7, 0, 0, 7, 95)}        # 7 > max 6
    with pytest.raises(ScoreInputError):
        combine(CATEGORIES, INDICATORS, SELF, bad, {"self": 20, "assessor": 80}, "mean")


# ---- gates --------------------------------------------------------------------------------


def test_confirmed_veto_keeps_the_numbers_but_fails_the_gates():
    plain = combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 20, "assessor": 80}, "mean")
    vetoed = combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 20, "assessor": 80}, "mean",
                     confirmed_vetoes=[4])
    assert vetoed.total == plain.total == D("18.74")
    assert not vetoed.gates_passed and vetoed.vetoed == (4,)
    assert "一票否决已确认：「指标4」" in vetoed.explain()


def test_confirmed_failed_must_pass_fails_the_gates():
    r = combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 20, "assessor": 80}, "mean", failed_must_pass=[5])
    assert not r.gates_passed and r.must_pass_failed == (5,) and r.total == D("18.74")
    assert "必备项未达到（已确认）：「指标5」" in r.explain()


def test_a_raised_but_unconfirmed_veto_does_not_count():
    raters = {**ASSESSORS, "丙": sheet(6, 0, 1, 6, 85, veto_ok=False, must_ok=False)}
    r = combine(CATEGORIES, INDICATORS, SELF, raters, {"self": 20, "assessor": 80}, "mean")
    assert r.gates_passed
    assert r.raised_vetoes == (4,) and r.raised_must_pass == (5,)
    text = r.explain()
    assert "有评审提出一票否决但尚未确认：「指标4」" in text and "提出一票否决" in r.explain(4)


def test_a_gate_must_be_on_a_veto_or_must_pass_indicator():
    with pytest.raises(AggregationError, match="不是一票否决项"):
        combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 20, "assessor": 80}, "mean", confirmed_vetoes=[1])
    with pytest.raises(AggregationError, match="不是必备项"):
        combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 20, "assessor": 80}, "mean", failed_must_pass=[4])


# ---- explain() ------------------------------------------------------------------------------


def test_explain_shows_every_input_and_formula():
    r = combine(CATEGORIES, INDICATORS, SELF, ASSESSORS, {"self": 20, "assessor": 80}, "mean")
    text = r.explain()
    assert text.splitlines()[0] == "综评总分 = 18.74"
    assert "组织建设 10.34 + 履行职能 8.40 = 18.74" in text
    assert "min(上限 10.00, 合计 8.40) + 加分 1.94 = 10.34" in text
    assert "权重：自评 20% + 考评 80%；汇总方式：平均分" in text
    one = r.explain(2)
    assert "综评分「指标2」 = 3.20" in one
    assert "20% × 自评 4.00 + 80% × 考评 3.00 = 3.20" in one
    assert "(3.00 + 2.00 + 4.00) ÷ 3 = 3.00" in one
    assert "考评 乙 = 2.00" in one and "扣分 2 次：4.00 − 1.00 × 2，不低于 0.00 = 2.00" in one
    assert "比率 92.00%" in r.explain(5)
    tree = r.figure.as_dict()
    assert tree["value"] == "18.74" and tree["inputs"][0]["label"] == "类别「组织建设」小计"
    leaf = tree["inputs"][0]["inputs"][0]["inputs"][1]["inputs"][0]
    assert leaf == {"label": "考评 甲", "value": "5.00", "formula": "评分 5.00（满分 6.00）", "notes": [],
                    "inputs": []}


def test_explain_for_median_and_trimmed_mean():
    five = {k: sheet(p, 0, 0, 7, 95) for k, p in zip("ABCDE", (2, 3, 4, 5, 6))}
    r = combine(CATEGORIES, INDICATORS, SELF, five, {"self": 0, "assessor": 100}, "trimmed_mean")
    assert "去掉最高 6.00、最低 2.00，(3.00 + 4.00 + 5.00) ÷ 3 = 4.00" in r.explain(1)
    r = combine(CATEGORIES, INDICATORS, SELF, dict(list(five.items())[:4]), {"self": 0, "assessor": 100}, "median")
    assert "从小到大 2.00、3.00、4.00、5.00，取中间两数 (3.00 + 4.00) ÷ 2 = 3.50" in r.explain(1)


def test_missing_inputs_count_as_zero_and_are_noted():
    partial = {1: Inputs(points=D(5))}
    r = combine(CATEGORIES, INDICATORS, SELF, {"甲": partial}, {"self": 0, "assessor": 100}, "mean")
    assert r.indicators[4].assessor_value == 0
    assert "考评 甲 未填写的指标按 0 分计：「指标2」、「指标4」、「指标5」" in r.explain()  # bonus may stay empty


# ---- disagreement -------------------------------------------------------------------------------


def test_disagreement_with_a_round_threshold():
    flags = disagreement_flags({"a": D(2), "b": D(5), "c": D("5.01"), "d": None}, threshold=D(5))
    assert flags.flagged == {"c"}                      # strictly above 5; "d" has fewer than 2 assessors
    assert "超过本轮设定的 5.00 分" in flags.rule


def test_disagreement_relative_to_the_round():
    # ranges 2 2 3 3 6 9: median 3 → flagged above 2 × 3 = 6
    flags = disagreement_flags({"a": D(2), "b": D(3), "c": D(2), "d": D(3), "e": D(9), "f": D(6)})
    assert flags.flagged == {"e"}                      # 6 is not above 6
    assert flags.limit == D(6) and "中位数 3.00" in flags.rule
    assert disagreement_flags({"a": D(0), "b": D(0), "c": D(0)}).flagged == set()
    assert disagreement_flags({"a": D(0), "b": D(0), "c": D(1)}).flagged == {"c"}  # usually unanimous
    assert disagreement_flags({"a": None}).flagged == set()


def test_flag_disagreements_on_totals_and_indicators():
    w = {"self": 0, "assessor": 100}

    def app(*pairs):  # each assessor: (indicator 1 points, indicator 4 points)
        return combine(CATEGORIES, INDICATORS, SELF,
                       {n: sheet(a, 0, 0, b, 95) for n, (a, b) in enumerate(pairs)}, w, "mean")

    results = {
        # totals are a + b + 7 (indicator 2 gives 4, indicator 5 gives 3)
        "一中": app((5, 6), (5, 6)),          # totals 18, 18 → range 0
        "二中": app((5, 6), (4, 6)),          # 18, 17 → 1; indicator 1 range 1
        "三中": app((5, 6), (5, 5)),          # 18, 17 → 1; indicator 4 range 1
        "四中": app((6, 7), (1, 3)),          # 20, 11 → 9; indicator 1 range 5, indicator 4 range 4
    }
    relative = flag_disagreements(results)
    # totals: median of (0, 1, 1, 9) = 1 → flagged above 2
    assert {k for k, d in relative.items() if d.total} == {"四中"}
    assert relative["四中"].total_range == D(9)
    # indicator 1 ranges (0, 1, 0, 5): median 0.5 → above 1; indicator 4 (0, 0, 1, 4): median 0.5 → above 1
    assert relative["四中"].indicators == {1, 4}
    assert relative["二中"].indicators == set() and not relative["二中"].any
    fixed = flag_disagreements(results, threshold=D("0.5"))
    assert {k for k, d in fixed.items() if d.total} == {"二中", "三中", "四中"}
    assert fixed["二中"].indicators == {1} and fixed["三中"].indicators == {4}
    single = flag_disagreements({"x": app((5, 6))})
    assert single["x"].total_range is None and not single["x"].any
