"""Rubric arithmetic from hand-computed examples."""
from decimal import Decimal

import pytest

from app.rubrics.scoring import (CategorySpec, IndicatorSpec, Inputs, ScoreInputError, indicator_points,
                                 rubric_problems, score)

D = Decimal
ORG = CategorySpec(1, "组织建设", D(17))
WORK = CategorySpec(2, "履行职能", D(10))


def spec(i, cat, kind, max_points, **kw):
    return IndicatorSpec(id=i, category_id=cat, kind=kind, max_points=D(max_points), title=f"指标{i}", **kw)


INDICATORS = [
    spec(1, 1, "points", 6),
    spec(2, 1, "deduction", 4, deduction_per_unit=D(1), deduction_floor=D(0)),   # −1 per missed activity
    spec(3, 1, "rate_band", 4, bands=((90, 4), (80, 3), (70, 2))),               # 入会率
    spec(4, 1, "points", 3, must_pass=True),
    spec(5, 1, "bonus", 0, bonus_max=D(5)),                                      # 模范教工之家 +1/+3/+5
    spec(6, 2, "points", 10, veto=True),
]


def test_deduction_with_floor():
    s = INDICATORS[1]
    assert indicator_points(s, Inputs(units=0)) == 4
    assert indicator_points(s, Inputs(units=3)) == 1
    assert indicator_points(s, Inputs(units=9)) == 0  # floor, never negative
    floored = spec(9, 1, "deduction", 6, deduction_per_unit=D("2"), deduction_floor=D(2))
    assert indicator_points(floored, Inputs(units=5)) == 2


def test_rate_bands():
    s = INDICATORS[2]
    assert [indicator_points(s, Inputs(rate=D(r))) for r in (100, 90, "89.99", 80, 75, 69)] == [4, 4, 3, 3, 2, 0]


def test_bounds_are_enforced():
    with pytest.raises(ScoreInputError, match="0 到 6"):
        indicator_points(INDICATORS[0], Inputs(points=D(7)))
    with pytest.raises(ScoreInputError):
        indicator_points(INDICATORS[4], Inputs(points=D(6)))
    with pytest.raises(ScoreInputError):
        indicator_points(INDICATORS[2], Inputs(rate=D(101)))


def test_category_cap_then_bonus_over_cap():
    inputs = {1: Inputs(points=D(6)), 2: Inputs(units=1), 3: Inputs(rate=D(95)), 4: Inputs(points=D(3), passed=True),
              5: Inputs(points=D(5)), 6: Inputs(points=D("8.5"), passed=True)}
    result = score([ORG, WORK], INDICATORS, inputs)
    # 组织建设: 6 + 3 + 4 + 3 = 16 (≤ 17) + bonus 5 = 21 — over the cap because of the bonus.
    assert result.categories[1] == {"raw": D(16), "capped": D(16), "bonus": D(5), "subtotal": D(21)}
    assert result.categories[2]["subtotal"] == D("8.5")
    assert result.total == D("29.50")
    assert result.gates_passed and result.missing == []


def test_cap_limits_raw_points():
    org = CategorySpec(1, "组织建设", D(10))
    result = score([org, WORK], INDICATORS, {1: Inputs(points=D(6)), 2: Inputs(units=0), 3: Inputs(rate=D(90)),
                                              5: Inputs(points=D(1))})
    assert result.categories[1]["raw"] == D(14) and result.categories[1]["capped"] == D(10)
    assert result.categories[1]["subtotal"] == D(11)


def test_must_pass_and_veto_are_gates_beside_points():
    result = score([ORG, WORK], INDICATORS, {4: Inputs(points=D(3), passed=False), 6: Inputs(points=D(9), passed=False)})
    assert result.must_pass_failed == [4] and result.vetoed == [6]
    assert not result.gates_passed
    assert result.total == D(12)  # 3 + 9: an indicator with no input yet scores nothing
    assert result.missing == [1, 2, 3]


def test_rubric_problems_catch_numbers_that_do_not_add_up():
    assert rubric_problems(D(27), [ORG, WORK], INDICATORS) == []
    problems = rubric_problems(D(30), [ORG, WORK], INDICATORS)
    assert any("与总分" in p for p in problems)
    bad = [spec(1, 1, "points", 5), spec(2, 1, "rate_band", 4, bands=((90, 3),)),
           spec(3, 1, "deduction", 4), spec(4, 1, "bonus", 0)]
    problems = rubric_problems(D(17), [ORG], bad)
    assert any("最高档" in p for p in problems)
    assert any("每次扣分值" in p for p in problems)
    assert any("加分上限" in p for p in problems)
    assert any("与类别分值" in p for p in problems)
