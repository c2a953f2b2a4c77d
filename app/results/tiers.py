"""Proposed tiers, grade bands and ranks from combined scores (issue 5 "Results",
review-platforms §4.6). Pure functions: no Flask, no database. The system proposes, a person
confirms (the services record the decision with a reason).

Rules, decided here and tested in tests/results/test_tiers.py:

* **Eligibility.** Only candidates whose gates passed (no confirmed 一票否决, no confirmed failed
  必备项) compete. The others keep their numbers and get no tier (title rounds) or 不合格
  (年度考评); they never use up a place.
* **Order.** Higher combined total first; equal totals are ordered by the tie-break chain fixed
  before scoring, key by key, in the order given. Keys (the codes validated in
  app/rounds/services.py, plus ``assessor_min``):
    - ``gates_passed`` (alias ``veto_free``): no veto / must-pass failure first (only matters for
      ranks, since gated candidates do not compete for tiers);
    - ``category:<name>``: higher combined subtotal of that category first;
    - ``assessor_total``: higher assessor column total first (the aggregated assessor scores,
      through the rubric);
    - ``assessor_min``: higher lowest single-assessor total first (the least convinced assessor);
    - ``self_total`` (alias ``self_score``): **higher** self total first, as announced to schools by
      the round's label "自评分高者优先" (one might argue for modesty, but the announced rule wins);
    - ``membership_rate``: higher 入会率 first;
    - ``earlier_submission``: earlier first submission first.
  A missing value (None) ranks after any known value and equals another missing value.
* **Levels** are processed highest first (模范 → 先进 → 合格; 优秀 → 良好 → 合格). A level has an
  optional minimum total (threshold) and an optional quota (places; None = no limit). A level's
  effective threshold is the highest threshold of it and every level below it (a school that does
  not reach 合格's bar cannot be 模范), and explicit thresholds that rise from a higher level to a
  lower one are a configuration error.
* **Places.** Candidates equal on the total and on every chain key form a group. Walking the
  groups in order, a group takes the highest level whose threshold its total reaches and that has
  places left; a candidate whose total reaches a level whose places are taken moves down to the
  next level with places (the reason says so). A group that does not fit into the places left
  is a **tie**: its members get no proposal and a ``TieGroup`` lists them with the places open to
  them (e.g. "1 × 模范, 1 × 先进 among 2 schools"), for a person to decide — never broken silently.
  Equal candidates wholly inside a quota are not a tie (they all get the level).
* **Ranks** are competition ranks (1, 2, 2, 4): equal after the total and the given chain share a
  rank; by default gated candidates are ranked after all others.
* **Grade bands** (年度考评): total ≥ cut-off gives the band (exactly 90 with 优秀 at 90 → 优秀);
  below the last band, or gated, → 不合格.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Hashable, Iterable, Mapping, Sequence

from app.results.aggregation import CombinedScore, fmt
from app.rubrics.scoring import D
from app.titles.models import TIER_ORDER, TIERS

GRADE_LABELS = {"excellent": "优秀", "good": "良好", "pass": "合格", "fail": "不合格"}
GRADE_ORDER = ["excellent", "good", "pass"]
FAIL = "fail"
NO_TIER_LABEL = "不推荐"

CATEGORY_KEY = "category:"
TIE_BREAK_LABELS = {
    "gates_passed": "无一票否决且必备项齐全者优先",
    "assessor_total": "考评分高者优先",
    "assessor_min": "评审最低分高者优先",
    "self_total": "自评分高者优先",
    "membership_rate": "入会率高者优先",
    "earlier_submission": "先提交者优先",
}
TIE_BREAK_ALIASES = {"veto_free": "gates_passed", "self_score": "self_total"}

PROPOSED = "proposed"
TIE = "tie"
NOT_REACHED = "not_reached"
GATES_FAILED = "gates_failed"


class TierError(ValueError):
    """A tier or tie-break configuration that cannot be applied (message in Chinese)."""


@dataclass(frozen=True)
class Candidate:
    """One application as the tier, grade and rank rules see it."""

    key: Hashable
    total: Decimal
    name: str = ""
    gates_passed: bool = True
    self_total: Decimal | None = None
    assessor_total: Decimal | None = None
    assessor_min: Decimal | None = None
    categories: Mapping[str, Decimal] = field(default_factory=dict)
    membership_rate: Decimal | None = None
    submitted_at: datetime | None = None

    @classmethod
    def from_combined(cls, key: Hashable, combined: CombinedScore, *, name: str = "",
                      membership_rate=None, submitted_at: datetime | None = None) -> "Candidate":
        return cls(key=key, total=combined.total, name=name, gates_passed=combined.gates_passed,
                   self_total=combined.self_total, assessor_total=combined.assessor_column_total,
                   assessor_min=combined.assessor_min, categories=combined.category_subtotals(),
                   membership_rate=None if membership_rate is None else D(membership_rate),
                   submitted_at=submitted_at)

    @property
    def display(self) -> str:
        return self.name or str(self.key)


def tie_break_label(code: str) -> str:
    code = TIE_BREAK_ALIASES.get(code, code)
    if code.startswith(CATEGORY_KEY):
        return f"「{code[len(CATEGORY_KEY):]}」类别得分高者优先"
    return TIE_BREAK_LABELS.get(code, code)


def normalise_chain(chain: Iterable[str]) -> tuple[str, ...]:
    """The chain with aliases resolved; TierError for an unknown or repeated key."""
    out: list[str] = []
    for raw in chain or ():
        code = TIE_BREAK_ALIASES.get((raw or "").strip(), (raw or "").strip())
        if not code:
            continue
        if code.startswith(CATEGORY_KEY):
            if not code[len(CATEGORY_KEY):].strip():
                raise TierError("同分排序规则中的类别名称为空")
        elif code not in TIE_BREAK_LABELS:
            raise TierError(f"未知的同分排序规则：{raw}")
        if code in out:
            raise TierError(f"同分排序规则重复：{tie_break_label(code)}")
        out.append(code)
    return tuple(out)


def _higher_first(value) -> tuple:
    return (1,) if value is None else (0, -D(value))


def _component(candidate: Candidate, code: str) -> tuple:
    if code == "gates_passed":
        return (0,) if candidate.gates_passed else (1,)
    if code == "earlier_submission":
        return (1,) if candidate.submitted_at is None else (0, candidate.submitted_at)
    if code.startswith(CATEGORY_KEY):
        name = code[len(CATEGORY_KEY):]
        if name not in candidate.categories:
            raise TierError(f"同分排序规则中的类别「{name}」不在「{candidate.display}」的考核细则中")
        return _higher_first(candidate.categories[name])
    return _higher_first(getattr(candidate, code))


def sort_key(candidate: Candidate, chain: Sequence[str] = ()) -> tuple:
    """Smaller sorts first: higher total, then the chain (already normalised)."""
    return (-D(candidate.total),) + tuple(_component(candidate, code) for code in chain)


def decided_by(a: Candidate, b: Candidate, chain: Sequence[str] = ()) -> str | None:
    """The first key that tells ``a`` and ``b`` apart ("total" or a chain key); None if none does."""
    if D(a.total) != D(b.total):
        return "total"
    for code in normalise_chain(chain):
        if _component(a, code) != _component(b, code):
            return code
    return None


# --------------------------------------------------------------------------------------------
# Levels


@dataclass(frozen=True)
class Level:
    code: str
    label: str
    threshold: Decimal | None = None  # minimum combined total
    quota: int | None = None          # places; None = no limit


def title_levels(quotas: Mapping[str, int] | None = None,
                 thresholds: Mapping[str, object] | None = None) -> list[Level]:
    """模范 → 先进 → 合格, each tier that has a quota or a threshold (the optional
    {"thresholds": {"model": 90, ...}} shape of a round's configuration)."""
    quotas, thresholds = quotas or {}, thresholds or {}
    unknown = (set(quotas) | set(thresholds)) - set(TIERS)
    if unknown:
        raise TierError(f"未知的称号等级：{'、'.join(sorted(unknown))}")
    levels = []
    for code in reversed(TIER_ORDER):
        if code in quotas or code in thresholds:
            threshold = thresholds.get(code)
            levels.append(Level(code, TIERS[code], None if threshold is None else D(threshold), quotas.get(code)))
    return levels


def grade_levels(grade_bands: Sequence[Sequence], quotas: Mapping[str, int] | None = None) -> list[Level]:
    """优秀 → 良好 → 合格 from the round's grade_bands [["excellent", 90], ["good", 80], ["pass", 60]]
    (any subset, highest first, as validated in app/rounds/services.py) and optional quotas."""
    quotas = quotas or {}
    if not grade_bands:
        raise TierError("未设定等次分数线")
    levels = []
    for code, minimum in grade_bands:
        if code not in GRADE_ORDER:
            raise TierError(f"未知的等次：{code}")
        levels.append(Level(code, GRADE_LABELS[code], D(minimum), quotas.get(code)))
    unknown = set(quotas) - {lv.code for lv in levels}
    if unknown:
        raise TierError(f"名额对应的等次没有分数线：{'、'.join(sorted(unknown))}")
    return levels


def _effective(levels: Sequence[Level]) -> list[Level]:
    """Each level with the highest threshold of itself and the levels below it."""
    if len({lv.code for lv in levels}) != len(levels):
        raise TierError("等级重复")
    out, floor = [], None
    for level in reversed(levels):
        if level.threshold is not None and floor is not None and level.threshold < floor:
            raise TierError(f"「{level.label}」的分数线 {fmt(level.threshold)} 低于下一等级的分数线 {fmt(floor)}")
        if level.quota is not None and level.quota < 0:
            raise TierError(f"「{level.label}」的名额不能为负数")
        if level.threshold is not None:
            floor = level.threshold
        out.append(Level(level.code, level.label, floor, level.quota))
    return list(reversed(out))


# --------------------------------------------------------------------------------------------
# Proposals


@dataclass(frozen=True)
class Placement:
    key: Hashable
    level: str | None       # the proposed level code (None: none, or undecided tie)
    label: str
    status: str             # proposed / tie / not_reached / gates_failed
    reason: str
    tie: int | None = None  # index into TierProposal.ties


@dataclass(frozen=True)
class TieGroup:
    """Candidates still equal after the whole chain, straddling a quota boundary."""

    members: tuple          # candidate keys, in input order
    total: Decimal
    places: tuple           # ((level code or None, label, count), ...): what the members share
    reason: str

    def describe(self) -> str:
        return self.reason


@dataclass
class TierProposal:
    placements: dict        # key -> Placement, in rank order (gated candidates last)
    ties: list              # TieGroup
    boundaries: list        # how equal totals next to a boundary were ordered (text)
    chain: tuple

    def level_of(self, key) -> str | None:
        return self.placements[key].level

    def explain(self) -> str:
        chain = "、".join(tie_break_label(c) for c in self.chain) or "无"
        lines = [f"同分排序规则：{chain}"]
        for placement in self.placements.values():
            lines.append(f"{placement.key}：{placement.label}——{placement.reason}")
        lines.extend(f"同分排序：{note}" for note in self.boundaries)
        lines.extend(f"待人工决定：{tie.reason}" for tie in self.ties)
        return "\n".join(lines)


def _below_label(below: str | None) -> str:
    return GRADE_LABELS.get(below, below) if below else NO_TIER_LABEL


def propose_tiers(candidates: Iterable[Candidate], levels: Sequence[Level], tie_break: Iterable[str] = (), *,
                  below: str | None = None) -> TierProposal:
    """Propose a level per candidate (rules in the module docstring).

    ``levels`` highest first (``title_levels`` / ``grade_levels``); ``below`` is what a candidate
    gets without a level: None for title rounds (no tier), ``"fail"`` (不合格) for the 年度考评.
    """
    chain = normalise_chain(tie_break)
    levels = _effective(levels)
    candidates = list(candidates)
    if len({c.key for c in candidates}) != len(candidates):
        raise TierError("候选名单中有重复的申报")
    below_label = _below_label(below)
    eligible = sorted((c for c in candidates if c.gates_passed), key=lambda c: sort_key(c, chain))
    gated = sorted((c for c in candidates if not c.gates_passed), key=lambda c: sort_key(c, ()))

    groups: list[list[Candidate]] = []
    for c in eligible:
        if groups and sort_key(groups[-1][0], chain) == sort_key(c, chain):
            groups[-1].append(c)
        else:
            groups.append([c])

    left = {lv.code: lv.quota for lv in levels}
    placements: dict = {}
    ties: list[TieGroup] = []
    for group in groups:
        total = D(group[0].total)
        reached = [lv for lv in levels if lv.threshold is None or total >= lv.threshold]
        allocation, remaining, full = [], len(group), []
        for level in reached:
            if not remaining:
                break
            places = left[level.code]
            take = remaining if places is None else min(places, remaining)
            if take:
                allocation.append((level, take))
                if places is not None:
                    left[level.code] = places - take
                remaining -= take
            if remaining:
                full.append(level)
        if remaining:
            allocation.append((None, remaining))

        if len(allocation) == 1:
            level = allocation[0][0]
            for c in group:
                placements[c.key] = _placement(c, level, reached, full, levels, below, below_label)
            continue
        index = len(ties)
        places = tuple((lv.code if lv else below, lv.label if lv else below_label, n) for lv, n in allocation)
        names = "、".join(f"「{c.display}」" for c in group)
        shares = "、".join(f"{n} 个{label}" for _, label, n in places)
        reason = (f"{names}综评总分同为 {fmt(total)}，同分排序规则也无法区分；{len(group)} 个申报共享：{shares}，"
                  f"请人工决定")
        ties.append(TieGroup(tuple(c.key for c in group), total, places, reason))
        for c in group:
            placements[c.key] = Placement(c.key, None, "同分待定", TIE, reason, index)

    for c in gated:
        placements[c.key] = Placement(c.key, below, below_label, GATES_FAILED,
                                      f"综评总分 {fmt(c.total)}；一票否决或必备项未达到（已确认），不评定等级")

    boundaries = []
    for a, b in zip(eligible, eligible[1:]):
        pa, pb = placements[a.key], placements[b.key]
        if (pa.level, pa.tie) == (pb.level, pb.tie) or D(a.total) != D(b.total):
            continue
        key = decided_by(a, b, chain)
        if key is not None:
            boundaries.append(f"「{a.display}」与「{b.display}」综评总分同为 {fmt(a.total)}，"
                              f"按「{tie_break_label(key)}」「{a.display}」在前")
    return TierProposal(placements=placements, ties=ties, boundaries=boundaries, chain=chain)


def _placement(c: Candidate, level: Level | None, reached, full, levels, below, below_label) -> Placement:
    total = fmt(c.total)
    skipped = "；".join(f"{lv.label}名额（{lv.quota}）已满" for lv in full if level is None or lv != level)
    if level is None:
        if not reached:
            lowest = levels[-1] if levels else None
            why = (f"未达到「{lowest.label}」分数线 {fmt(lowest.threshold)}" if lowest and lowest.threshold is not None
                   else "未达到任何等级")
        else:
            why = skipped or "无可用名额"
        return Placement(c.key, below, below_label, NOT_REACHED, f"综评总分 {total}；{why}")
    why = f"达到分数线 {fmt(level.threshold)}" if level.threshold is not None else "不设分数线"
    if level.quota is not None:
        why += f"，在名额 {level.quota} 之内"
    if skipped:
        why = f"{skipped}，{why}"
    return Placement(c.key, level.code, level.label, PROPOSED, f"综评总分 {total}；{why}")


# --------------------------------------------------------------------------------------------
# Grade bands and ranks


@dataclass(frozen=True)
class Grade:
    code: str
    label: str


def grade_for(total, grade_bands: Sequence[Sequence], gates_passed: bool = True) -> Grade:
    """The 年度考评 grade of a total: the first band whose cut-off the total reaches (≥);
    below every band, or gated (veto / must-pass), → 不合格."""
    levels = grade_levels(grade_bands)
    _effective(levels)
    if gates_passed:
        for level in levels:
            if D(total) >= level.threshold:
                return Grade(level.code, level.label)
    return Grade(FAIL, GRADE_LABELS[FAIL])


@dataclass(frozen=True)
class Rank:
    position: int
    shared: bool = False

    def __str__(self) -> str:
        return f"={self.position}" if self.shared else str(self.position)


def competition_ranks(candidates: Iterable[Candidate], tie_break: Iterable[str] = (), *,
                      gates_last: bool = True) -> dict:
    """Competition ranks (1, 2, 2, 4) by total, then ``tie_break`` (empty: by total only).
    With ``gates_last`` a gated candidate is ranked after every candidate whose gates passed."""
    chain = normalise_chain(tie_break)

    def key(c: Candidate) -> tuple:
        return ((0 if c.gates_passed or not gates_last else 1),) + sort_key(c, chain)

    ordered = sorted(candidates, key=key)
    keys = [key(c) for c in ordered]
    ranks, position = {}, 0
    for index, c in enumerate(ordered):
        if index == 0 or keys[index] != keys[index - 1]:
            position = index + 1
        shared = (index > 0 and keys[index] == keys[index - 1]) or (index + 1 < len(ordered)
                                                                    and keys[index] == keys[index + 1])
        ranks[c.key] = Rank(position, shared)
    return ranks
