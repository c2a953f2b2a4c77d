"""Proposed tiers, the tie-break chain, grade bands and ranks from hand-worked examples (issue 5)."""
from datetime import datetime
from decimal import Decimal

import pytest

from app.results.aggregation import combine
from app.results.tiers import (GATES_FAILED, NOT_REACHED, PROPOSED, TIE, Candidate, Level, TierError,
                               competition_ranks, decided_by, grade_for, grade_levels, normalise_chain,
                               propose_tiers, title_levels)
from app.rubrics.scoring import CategorySpec, IndicatorSpec, Inputs

D = Decimal
BANDS = [["excellent", 90], ["good", 80], ["pass", 60]]


def C(key, total, **kw):
    kw.setdefault("categories", {"履行职能": D(0)})
    return Candidate(key=key, total=D(total), name=key, **kw)


def levels_of(proposal):
    return {k: p.level for k, p in proposal.placements.items()}


TITLE_LEVELS = title_levels(quotas={"model": 2, "advanced": 3}, thresholds={"model": 90, "advanced": 80})


# ---- quotas and ties at the boundary ------------------------------------------------------------


def test_a_tie_exactly_at_the_quota_boundary_is_returned_for_a_person():
    proposal = propose_tiers([C("A", 95), C("B", 92), C("C", 92), C("D", 85), C("E", 79)], TITLE_LEVELS)
    assert levels_of(proposal) == {"A": "model", "B": None, "C": None, "D": "advanced", "E": None}
    assert [p.status for p in proposal.placements.values()] == [PROPOSED, TIE, TIE, PROPOSED, NOT_REACHED]
    (tie,) = proposal.ties
    assert tie.members == ("B", "C") and tie.total == D(92)
    # one 模范 place is left for two equal schools; the other takes a 先进 place
    assert tie.places == (("model", "模范", 1), ("advanced", "先进", 1))
    assert "「B」、「C」综评总分同为 92.00" in tie.reason and "请人工决定" in tie.reason
    assert proposal.placements["B"].tie == 0
    assert "未达到「先进」分数线 80.00" in proposal.placements["E"].reason
    assert "待人工决定" in proposal.explain()


def test_equal_totals_inside_the_quota_are_not_a_tie():
    proposal = propose_tiers([C("A", 95), C("B", 95), C("C", 91)], TITLE_LEVELS)
    assert levels_of(proposal) == {"A": "model", "B": "model", "C": "advanced"}
    assert proposal.ties == []
    assert "模范名额（2）已满" in proposal.placements["C"].reason


def test_a_three_way_tie_can_straddle_two_boundaries():
    levels = title_levels(quotas={"model": 1, "advanced": 1})
    proposal = propose_tiers([C("X", 92), C("Y", 92), C("Z", 92)], levels)
    (tie,) = proposal.ties
    assert tie.places == (("model", "模范", 1), ("advanced", "先进", 1), (None, "不推荐", 1))


def test_a_school_below_a_threshold_cannot_take_the_tier_even_with_places_left():
    proposal = propose_tiers([C("A", "89.99"), C("B", 90)], TITLE_LEVELS)
    assert levels_of(proposal) == {"B": "model", "A": "advanced"}
    assert "达到分数线 80.00" in proposal.placements["A"].reason


def test_thresholds_are_cumulative_down_the_ladder():
    levels = title_levels(quotas={"model": 1}, thresholds={"qualified": 60})
    assert [(lv.code, lv.threshold, lv.quota) for lv in levels] == [("model", None, 1), ("qualified", D(60), None)]
    proposal = propose_tiers([C("A", 55)], levels)
    assert levels_of(proposal) == {"A": None}                # the top place is free, but 55 < 合格's 60
    assert "未达到「合格」分数线 60.00" in proposal.placements["A"].reason
    assert levels_of(propose_tiers([C("A", 55), C("B", 70), C("C", 65)], levels)) == {
        "B": "model", "C": "qualified", "A": None}


def test_no_quota_is_unlimited_and_quota_zero_is_none():
    unlimited = title_levels(thresholds={"qualified": 60})
    assert set(levels_of(propose_tiers([C(k, 70) for k in "ABCDE"], unlimited)).values()) == {"qualified"}
    closed = title_levels(quotas={"model": 0, "advanced": 1})
    assert levels_of(propose_tiers([C("A", 99), C("B", 98)], closed)) == {"A": "advanced", "B": None}


def test_a_vetoed_school_keeps_its_total_but_takes_no_place():
    proposal = propose_tiers([C("V", 99, gates_passed=False), C("A", 95), C("B", 93), C("C", 91)], TITLE_LEVELS)
    assert levels_of(proposal) == {"A": "model", "B": "model", "C": "advanced", "V": None}
    assert proposal.placements["V"].status == GATES_FAILED and "99.00" in proposal.placements["V"].reason
    assert list(proposal.placements)[-1] == "V"


# ---- the tie-break chain -----------------------------------------------------------------------

EARLY, LATE = datetime(2025, 3, 1, 9, 0), datetime(2025, 3, 2, 8, 0)


@pytest.mark.parametrize("chain, b, c, winner", [
    (["category:履行职能"], {"categories": {"履行职能": D(40)}}, {"categories": {"履行职能": D(38)}}, "B"),
    (["assessor_total"], {"assessor_total": D(90)}, {"assessor_total": D(91)}, "C"),
    (["assessor_min"], {"assessor_min": D(85)}, {"assessor_min": D(88)}, "C"),
    (["assessor_min"], {"assessor_min": None}, {"assessor_min": D(80)}, "C"),       # unknown ranks last
    (["self_total"], {"self_total": D(93)}, {"self_total": D(95)}, "C"),             # higher self total first
    (["self_score"], {"self_total": D(96)}, {"self_total": D(95)}, "B"),             # alias
    (["membership_rate"], {"membership_rate": D(98)}, {"membership_rate": D(100)}, "C"),
    (["earlier_submission"], {"submitted_at": EARLY}, {"submitted_at": LATE}, "B"),
    # the chain is applied in order: an equal first key passes to the second …
    (["self_total", "category:履行职能"], {"self_total": D(95), "categories": {"履行职能": D(38)}},
     {"self_total": D(95), "categories": {"履行职能": D(40)}}, "C"),
    # … and a first key that decides is never overruled by a later one
    (["self_total", "category:履行职能"], {"self_total": D(96), "categories": {"履行职能": D(38)}},
     {"self_total": D(95), "categories": {"履行职能": D(40)}}, "B"),
])
def test_each_tie_break_key_resolves_a_boundary_tie(chain, b, c, winner):
    loser = "C" if winner == "B" else "B"
    proposal = propose_tiers([C("A", 95), C("B", 92, **b), C("C", 92, **c)], TITLE_LEVELS, chain)
    assert proposal.ties == []
    assert levels_of(proposal) == {"A": "model", winner: "model", loser: "advanced"}
    (note,) = proposal.boundaries
    assert note.startswith(f"「{winner}」与「{loser}」综评总分同为 92.00")


def test_boundary_notes_name_the_deciding_key():
    proposal = propose_tiers([C("A", 95), C("B", 92, submitted_at=EARLY), C("C", 92, submitted_at=LATE)],
                             TITLE_LEVELS, ["self_total", "earlier_submission"])
    assert proposal.boundaries == ["「B」与「C」综评总分同为 92.00，按「先提交者优先」「B」在前"]
    assert decided_by(C("B", 92, submitted_at=EARLY), C("C", 92, submitted_at=LATE),
                      ["self_total", "earlier_submission"]) == "earlier_submission"
    assert decided_by(C("B", 92), C("C", 91)) == "total"
    assert decided_by(C("B", 92), C("C", 92), ["self_total"]) is None
    text = proposal.explain()
    assert "同分排序规则：自评分高者优先、先提交者优先" in text and "同分排序：「B」与「C」" in text


def test_still_equal_after_the_whole_chain_is_a_tie():
    same = {"self_total": D(95), "submitted_at": EARLY}
    proposal = propose_tiers([C("A", 95), C("B", 92, **same), C("C", 92, **same)], TITLE_LEVELS,
                             ["self_total", "earlier_submission"])
    assert [t.members for t in proposal.ties] == [("B", "C")]


def test_veto_free_key_orders_ranks():
    cands = [C("V", 90, gates_passed=False), C("B", 90)]
    ranks = competition_ranks(cands, ["veto_free"], gates_last=False)
    assert (ranks["B"].position, ranks["V"].position) == (1, 2)
    assert competition_ranks(cands, [], gates_last=False)["V"].position == 1  # equal without the key
    assert str(competition_ranks(cands, [], gates_last=False)["V"]) == "=1"


def test_bad_chains_and_levels_are_refused():
    with pytest.raises(TierError, match="未知的同分排序规则"):
        normalise_chain(["coin_toss"])
    with pytest.raises(TierError, match="重复"):
        normalise_chain(["self_total", "self_score"])
    with pytest.raises(TierError, match="类别「组织建设」"):
        propose_tiers([C("A", 95), C("B", 95)], TITLE_LEVELS, ["category:组织建设"])
    with pytest.raises(TierError, match="低于下一等级"):
        propose_tiers([C("A", 95)], title_levels(thresholds={"model": 80, "advanced": 90}))
    with pytest.raises(TierError, match="未知的称号等级"):
        title_levels(quotas={"gold": 1})
    with pytest.raises(TierError, match="重复的申报"):
        propose_tiers([C("A", 95), C("A", 90)], TITLE_LEVELS)
    assert normalise_chain(["veto_free", "self_score", " category:履行职能 ", ""]) == (
        "gates_passed", "self_total", "category:履行职能")


def test_every_chain_key_of_the_round_form_is_supported():
    from app.rounds.services import GRADE_BANDS, TIE_BREAKS
    from app.results.tiers import GRADE_LABELS

    assert normalise_chain(list(TIE_BREAKS)) == tuple(TIE_BREAKS)
    assert {k: GRADE_LABELS[k] for k in GRADE_BANDS} == GRADE_BANDS


# ---- grade bands (年度考评) -------------------------------------------------------------------------


@pytest.mark.parametrize("total, label", [
    (100, "优秀"), (90, "优秀"), ("90.00", "优秀"), ("89.99", "良好"), (80, "良好"), ("79.99", "合格"),
    (60, "合格"), ("59.99", "不合格"), (0, "不合格"),
])
def test_grade_bands_with_boundaries(total, label):
    assert grade_for(total, BANDS).label == label


def test_veto_or_must_pass_means_fail_whatever_the_total():
    assert grade_for(99, BANDS, gates_passed=False) == grade_for(0, BANDS)
    assert grade_for(99, BANDS, gates_passed=False).code == "fail"


def test_a_subset_of_bands():
    assert grade_for(60, [["pass", 60]]).label == "合格"
    assert grade_for(95, [["pass", 60]]).label == "合格"
    assert grade_for(59, [["pass", 60]]).label == "不合格"
    with pytest.raises(TierError):
        grade_for(80, [])


def test_annual_review_with_a_quota_for_excellent():
    levels = grade_levels(BANDS, {"excellent": 2})
    assert levels[0] == Level("excellent", "优秀", D(90), 2)
    cands = [C("A", 95), C("B", 93), C("C", 91), C("D", 85), C("E", 50), C("V", 99, gates_passed=False)]
    proposal = propose_tiers(cands, levels, below="fail")
    assert levels_of(proposal) == {"A": "excellent", "B": "excellent", "C": "good", "D": "good", "E": "fail",
                                   "V": "fail"}
    assert proposal.placements["C"].label == "良好" and "优秀名额（2）已满" in proposal.placements["C"].reason
    assert proposal.placements["E"].label == "不合格"
    tied = propose_tiers([C("A", 95), C("B", 93), C("C", 93)], levels, below="fail")
    assert tied.ties[0].places == (("excellent", "优秀", 1), ("good", "良好", 1))
    with pytest.raises(TierError, match="没有分数线"):
        grade_levels([["pass", 60]], {"excellent": 1})


# ---- competition ranks -------------------------------------------------------------------------


def test_competition_ranks_1_2_2_4():
    cands = [C("A", 95), C("B", 90), C("C", 90), C("D", 85)]
    ranks = competition_ranks(cands)
    assert {k: r.position for k, r in ranks.items()} == {"A": 1, "B": 2, "C": 2, "D": 4}
    assert [str(ranks[k]) for k in "ABCD"] == ["1", "=2", "=2", "4"]


def test_ranks_with_a_chain_and_gated_last():
    cands = [C("A", 95), C("B", 90, self_total=D(80)), C("C", 90, self_total=D(85)), C("D", 85),
             C("V", 99, gates_passed=False)]
    ranks = competition_ranks(cands, ["self_total"])
    assert {k: r.position for k, r in ranks.items()} == {"A": 1, "C": 2, "B": 3, "D": 4, "V": 5}
    assert competition_ranks(cands, gates_last=False)["V"].position == 1


# ---- from a combined score -----------------------------------------------------------------------


def test_candidate_from_a_combined_score():
    cat = CategorySpec(1, "履行职能", D(10))
    specs = [IndicatorSpec(id=1, category_id=1, kind="points", max_points=D(10), title="i", veto=True)]
    r = combine([cat], specs, {1: Inputs(points=D(9))}, {"甲": {1: Inputs(points=D(7))},
                                                        "乙": {1: Inputs(points=D(8))}},
                {"self": 20, "assessor": 80}, "mean", confirmed_vetoes=[1])
    c = Candidate.from_combined(7, r, name="一中", membership_rate="98.5", submitted_at=EARLY)
    # 0.2 × 9 + 0.8 × 7.5 = 7.80
    assert (c.total, c.self_total, c.assessor_total, c.assessor_min) == (D("7.80"), D(9), D("7.50"), D(7))
    assert c.categories == {"履行职能": D("7.80")} and c.membership_rate == D("98.5")
    assert not c.gates_passed and c.display == "一中"
