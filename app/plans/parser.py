"""Parse a school union annual work plan (年度工会工作计划) into a proposed structure.

The input is plain text or a .docx. The result is a ``ParsedPlan`` that the user reviews
and edits before it becomes a ``WorkPlan``. The parser is heuristic. It never raises on
text input, and every non-blank input line ends up somewhere in the result (see
``all_text``).

How lines are read
------------------
* Numbering markers are ranked: 第一部分 (0) > 一、 (1) > （一） (2) > 1. / 1、 (3) > (1) (4) > ① (5).
  The highest Chinese rank in the plan marks sections, and the next Chinese rank below it
  marks sub-sections. Lines numbered 1. / ① are items or activities, except in plans that
  number their sections only with 1. (then short 1. lines are sections).
* A short unnumbered line such as "指导思想", "保障措施：" or "活动安排:" is a heading too.
  For 活动安排, the next line must be a month.
* Sections titled 指导思想 / 总体思路 / 工作思路 / 总体要求 / 总的要求 fill ``guiding_ideology``.
  Only the first such section does; later ones stay ordinary sections. If the plan has no
  such heading, the paragraphs before the first heading become the guiding ideology.
* 工作目标 stays an ordinary section with that title and is not merged into
  ``guiding_ideology``. Goals are usually a numbered list, and as a titled section the
  caller can map them to ``WorkPlan.goals``.
* A sub-heading such as （一）民主管理 under 三、主要工作 becomes its own section after the
  parent. The parent keeps only its own intro lines, so its items may be empty.
* Sections whose title ends in 措施 (落实措施 / 保障措施 / 工作措施 …) fill ``measures``,
  including their sub-sections.
* A month label opens a schedule slot: 二月 / 二月份 / 一、二月 / 七、八月份 / 9月 / 1-2月 / 十二月.
  The lines that follow are its activities. Activities are split on ；/;/。 outside quotes
  and on inline numbering. Under a schedule heading (活动安排 / 月工作安排 / 工作行事历 …)
  text may follow a month directly ("三月开展…"). Anywhere else the month must stand alone
  or be followed by a colon or a space. So "3月8日召开…" inside a section stays an item.
  A schedule heading with no months under it is read as an ordinary section. In a schedule,
  lines starting with 注 / 备注 / 说明 / 以上 are notes, not activities.
* These lines go to ``unclassified``:
  - the title line(s) before the plan body;
  - signature and date lines at the end;
  - text before the first month under a schedule heading;
  - lines with a number and nothing else.
* In a .docx, paragraphs and table cells are read in document order, and each paragraph of
  a cell is a line. So a 月份 | 活动内容 table reads like text. A third column (负责人) would
  be read as more activities. Word heading styles stand in for numbering that Word generated
  automatically (Heading 1 ≈ 一、). A paragraph in the Title style is a title line.
* Some headings only turned into a field: 指导思想, 落实措施, 活动安排 …. These headings and
  the original month labels are kept on the dataclasses (``structural_headings``,
  ``ScheduleSlot.label``). ``to_dict`` leaves them out, but ``all_text`` includes them.
"""

from __future__ import annotations

import codecs
import io
import os
import re
import zipfile
from dataclasses import dataclass, field

from app.i18n import N_

__all__ = [
    "CATEGORY_LABELS",
    "ParsedPlan",
    "PlanParseError",
    "ScheduleSlot",
    "Section",
    "all_text",
    "parse_plan_file",
    "parse_plan_text",
    "suggest_category",
]

MAX_FILE_BYTES = 20 * 1024 * 1024
MAX_DOCX_UNCOMPRESSED_BYTES = 50 * 1024 * 1024
MAX_DOCX_RATIO = 100
MAX_DOCX_ENTRIES = 1000


class PlanParseError(ValueError):
    """The file cannot be read as a plan. The message is in Chinese and shown to the user."""


# --------------------------------------------------------------------------- categories

CATEGORY_LABELS: dict[str, str] = {
    "democratic_management": N_("民主管理/教代会"),
    "openness": N_("校务公开"),
    "ethics": N_("师德建设"),
    "home_building": N_("建家"),
    "care": N_("送温暖/帮扶"),
    "culture_sports": N_("文体活动"),
    "women": N_("女工工作"),
    "publicity": N_("宣传"),
    "self_building": N_("自身建设"),
    "other": N_("其他"),
}

# When two categories match the same number of keywords, the earlier one wins.
_CATEGORY_KEYWORDS: dict[str, tuple[str, ...]] = {
    "democratic_management": (
        "教代会", "教职工代表大会", "教职工大会", "职代会", "民主管理", "民主评议",
        "民主测评", "提案", "民主治校", "民主参与", "合理化建议",
    ),
    "openness": ("校务公开", "政务公开", "公开栏", "公开制度"),
    # not a bare 师风: it matches 教师风采
    "ethics": ("师德", "师风建设", "师表", "职业道德", "诚信教育", "教书育人"),
    "home_building": ("建家", "教工之家", "职工之家", "职工小家", "教工小家", "模范之家"),
    "care": (
        "送温暖", "帮扶", "慰问", "困难教职工", "特困", "互助保险", "看望", "解难",
        "疾苦", "关心教职工", "冷暖", "体检", "扶助", "困难学生", "疗养",
    ),
    "culture_sports": (
        "文体", "体育", "乒乓球", "羽毛球", "篮球", "拔河", "健身", "运动会", "校运会",
        "文艺", "联欢", "趣味", "登山", "球赛", "棋", "歌咏", "合唱",
    ),
    "women": (
        "女工", "女教工", "女教师", "女职工", "三八", "三·八", "妇女节", "计划生育",
        "育龄", "孕检",
    ),
    "publicity": ("宣传", "报道", "通讯员", "简报", "宣传栏", "网站", "公众号"),
    "self_building": (
        "自身建设", "工会干部", "工会委员", "会员档案", "组织建设", "工会小组",
        "入会", "财务审核", "经费", "经审", "工会工作计划", "工会例会",
    ),
}


def suggest_category(text: str) -> str:
    """Propose a category code for one plan item or activity by keyword hits."""
    best, best_hits = "other", 0
    for code, words in _CATEGORY_KEYWORDS.items():
        hits = sum(1 for word in words if word in text)
        if hits > best_hits:
            best, best_hits = code, hits
    return best


# --------------------------------------------------------------------------- result types


@dataclass
class Section:
    title: str
    items: list[str] = field(default_factory=list)


@dataclass
class ScheduleSlot:
    months: list[int]
    activities: list[str] = field(default_factory=list)
    label: str = ""  # the month label as written, e.g. "七、八月份"


@dataclass
class ParsedPlan:
    guiding_ideology: str = ""
    sections: list[Section] = field(default_factory=list)
    measures: list[str] = field(default_factory=list)
    schedule: list[ScheduleSlot] = field(default_factory=list)
    unclassified: list[str] = field(default_factory=list)
    # Headings whose meaning became a field (指导思想, 活动安排 …); kept for all_text().
    structural_headings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "guiding_ideology": self.guiding_ideology,
            "sections": [{"title": s.title, "items": list(s.items)} for s in self.sections],
            "measures": list(self.measures),
            "schedule": [
                {"months": list(slot.months), "activities": list(slot.activities)}
                for slot in self.schedule
            ],
            "unclassified": list(self.unclassified),
        }

    def items_with_categories(self) -> list[dict]:
        """Every section item with a proposed category.

        An item that matches no keyword takes its section title's category.
        """
        result = []
        for section in self.sections:
            fallback = suggest_category(section.title)
            for item in section.items:
                category = suggest_category(item)
                if category == "other":
                    category = fallback
                result.append({"section": section.title, "text": item, "category": category})
        return result

    def activities_with_categories(self) -> list[dict]:
        """Every scheduled activity with its months and a proposed category."""
        return [
            {"months": list(slot.months), "text": activity, "category": suggest_category(activity)}
            for slot in self.schedule
            for activity in slot.activities
        ]


def all_text(parsed: ParsedPlan) -> str:
    """All text held by a parsed plan, one piece per line (used to check nothing was lost)."""
    parts = [parsed.guiding_ideology, *parsed.structural_headings]
    for section in parsed.sections:
        parts.append(section.title)
        parts.extend(section.items)
    parts.extend(parsed.measures)
    for slot in parsed.schedule:
        parts.append(slot.label)
        parts.extend(slot.activities)
    parts.extend(parsed.unclassified)
    return "\n".join(parts)


# --------------------------------------------------------------------------- line reading

_CN_DIGITS = "一二三四五六七八九十百〇零"

# (rank, pattern) in matching order; rank 6 = a stray marker whose number was lost (".在…").
_STRAY_RANK = 6
_MARKERS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (0, re.compile(rf"第[{_CN_DIGITS}\d]{{1,4}}(?:部分|章|篇)[\s、.．:：，,]*")),
    (2, re.compile(rf"[（(]\s*[{_CN_DIGITS}]{{1,4}}\s*[）)][\s、.．，,]*|[㈠-㈩][\s、.．]*")),
    (4, re.compile(r"[（(]\s*\d{1,3}\s*[）)][\s、.．，,]*|[⑴-⒇][\s、.．]*")),
    (1, re.compile(rf"[{_CN_DIGITS}]{{1,4}}\s*[、.．，,]\s*")),
    (3, re.compile(r"\d{1,3}\s*(?:[.．](?!\d)|[、，,)）])\s*|[⒈-⒛]\s*")),
    (5, re.compile(r"[①-⑳❶-❿➀-➉][\s、.．]*")),
    (_STRAY_RANK, re.compile(r"[.．、]+\s*")),
)

_MONTH_NUM = r"(?:十[一二]|[一二三四五六七八九十元]|\d{1,2})"
_MONTH_SEP = r"\s*(?:[、，,/和及与]|[-－—–~～至到]{1,2})\s*"
_MONTH_LABEL = re.compile(
    r"(?:(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年\s*)?"
    rf"(?:{_MONTH_NUM}(?:月份?)?{_MONTH_SEP}){{0,11}}{_MONTH_NUM}\s*月份?"
    r"(?:(?:主要)?(?:工作|活动)(?:安排|重点|计划|内容)?(?=[\s:：]|$))?"
)
_MONTH_TOKEN = re.compile(r"(?P<num>十[一二]|[一二三四五六七八九十元]|\d{1,2})|(?P<range>[-－—–~～至到])")
_YEAR_PREFIX = re.compile(r"^(?:\d{4}|[〇零○一二三四五六七八九]{4})\s*年")
# A month followed by these is a date ("3月8日", "九月底前"), not a schedule slot.
_DATE_AFTER_MONTH = re.compile(r"[日号底初中上下旬末前后内间起止以\d]|[一二三四五六七八九十廿卅〇零]+[日号]")
_STRICT_AFTER_MONTH = re.compile(r"[\s:：.．)）—]")
_CN_MONTH_VALUES = {
    "元": 1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6,
    "七": 7, "八": 8, "九": 9, "十": 10, "十一": 11, "十二": 12,
}

_QUOTE_PAIRS = {"“": "”", "「": "」", "『": "』", "《": "》", "（": "）", "(": ")", "‘": "’"}
_SENTENCE_PUNCT = re.compile(r"[。；;！!？?，,：:]")
_TITLE_TRIM = " \t\u3000：:；;，,、。.．!！?？"
_ITEM_TRIM = " \t\u3000；;，,、：:"
_ACTIVITY_TRIM = " \t\u3000；;，,、：:。.．!！?？"
_ACTIVITY_SEPS = "；;。！!？?\t"
_INLINE_MARKER = re.compile(
    r"(?:^|(?<=[\s，,：:]))(?:\d{1,2}[.．、)）](?!\d)|[（(]\d{1,2}[）)])|[①-⑳❶-❿➀-➉⑴-⒇⒈-⒛]"
)


@dataclass
class _Month:
    months: list[int]
    label: str
    rest: str  # text after the label on the same line
    strict: bool  # the label stands alone or is followed by a colon / space


@dataclass
class _Line:
    raw: str  # the stripped source line
    rank: int | None  # heading rank of its numbering, None when unnumbered or a month
    body: str  # text after the numbering marker
    month: _Month | None = None
    styled_title: bool = False  # a .docx paragraph in the Title style


def _split_marker(text: str) -> tuple[int | None, str]:
    """('一、指导思想') -> (1, '指导思想'); unnumbered text -> (None, text)."""
    for rank, pattern in _MARKERS:
        match = pattern.match(text)
        if match:
            return rank, text[match.end():]
    return None, text


def _strip_marker(text: str) -> str:
    return _split_marker(text)[1]


def _month_values(label: str) -> list[int] | None:
    """'七、八月份' -> [7, 8]; '1-3月' -> [1, 2, 3]; '12-2月' -> [12, 1, 2]; None if invalid."""
    months: list[int] = []
    pending_range = False
    for token in _MONTH_TOKEN.finditer(_YEAR_PREFIX.sub("", label)):
        if token.group("range"):
            pending_range = bool(months)
            continue
        num = token.group("num")
        value = _CN_MONTH_VALUES.get(num) or int(num)
        if not 1 <= value <= 12:
            return None
        if pending_range:
            start = months[-1]
            span = (value - start) % 12
            months.extend((start + step - 1) % 12 + 1 for step in range(1, span + 1))
        else:
            months.append(value)
        pending_range = False
    unique = list(dict.fromkeys(months))
    return unique or None


def _match_month(text: str) -> _Month | None:
    match = _MONTH_LABEL.match(text)
    if not match:
        return None
    after = text[match.end():]
    if after and _DATE_AFTER_MONTH.match(after):
        return None
    months = _month_values(match.group())
    if months is None:
        return None
    strict = not after.strip() or bool(_STRICT_AFTER_MONTH.match(after))
    rest = after.strip().lstrip(":：.．)）—、，,").strip()
    return _Month(months, match.group().strip(), rest, strict)


def _is_numbering_not_months(text: str) -> bool:
    """'3、9月…' is item 3 in September; '1、2月' or '一、二月' is a two-month slot."""
    head = re.match(r"(\d{1,2})\s*[、，,]\s*(\d{1,2})\s*月", text)
    return bool(head) and int(head.group(2)) != int(head.group(1)) + 1


def _split_number_before_month(text: str) -> tuple[int | None, str]:
    """'1.9月' is item 1 in September; the arabic marker pattern refuses '1.9' as a decimal."""
    match = re.match(r"\d{1,3}\s*[.．]\s*", text)
    if match and _match_month(text[match.end():]):
        return 3, text[match.end():]
    return None, text


def _tokenize(raw: str, style_rank: int | None = None, styled_title: bool = False) -> _Line:
    raw = raw.strip()
    month = _match_month(raw)
    if month and not _is_numbering_not_months(raw):
        return _Line(raw, None, raw, month, styled_title)
    rank, body = _split_marker(raw)
    if rank is None:
        rank, body = _split_number_before_month(raw)
    body = body.strip()
    month = _match_month(body) if rank is not None else None
    if month:
        return _Line(raw, None, body, month, styled_title)
    if rank is None:
        rank = style_rank
    return _Line(raw, rank, body, None, styled_title)


def _find_outside_quotes(text: str, separators: str) -> int:
    depth_stack: list[str] = []
    for index, char in enumerate(text):
        if depth_stack and char == depth_stack[-1]:
            depth_stack.pop()
        elif char in _QUOTE_PAIRS:
            depth_stack.append(_QUOTE_PAIRS[char])
        elif not depth_stack and char in separators:
            return index
    return -1


def _split_outside_quotes(text: str, separators: str) -> list[str]:
    pieces = []
    while text:
        index = _find_outside_quotes(text, separators)
        if index < 0:
            pieces.append(text)
            break
        pieces.append(text[:index])
        text = text[index + 1:]
    return pieces


def _split_title(text: str) -> tuple[str, str]:
    """'指导思想：以…' -> ('指导思想', '以…'). A heading with nothing after the colon stays whole."""
    index = _find_outside_quotes(text, "：:。")
    if 0 < index <= 30:
        title, rest = text[:index].strip(_TITLE_TRIM), text[index + 1:].strip()
        if title and rest:
            return title, rest
    return text.strip(_TITLE_TRIM), ""


# --------------------------------------------------------------------------- heading kinds

_IDEOLOGY_WORDS = ("指导思想", "总体思路", "工作思路", "总体要求", "总的要求", "指导方针")
_SCHEDULE_WORDS = (
    "活动安排", "工作安排", "行事历", "月历", "日程安排", "日程", "月度安排", "逐月安排",
    "月工作", "工作进度", "进度安排", "时间安排", "具体安排", "安排表", "配档表",
    "活动计划", "月份安排", "活动一览",
)
_SECTION_TITLES = frozenset({
    "工作目标", "目标任务", "主要工作", "工作内容", "工作重点", "重点工作", "主要任务",
    "工作任务", "具体工作", "主要内容", "工作要点",
})
_MAX_PLAIN_HEADING = 14


def _title_kind(title: str) -> str:
    core = re.sub(r"(?:如下|一览表)$", "", title.strip(_TITLE_TRIM))
    if core.endswith(_IDEOLOGY_WORDS):
        return "ideology"
    if core.endswith("措施"):
        return "measures"
    if core.endswith(_SCHEDULE_WORDS):
        return "schedule"
    return "section"


def _plain_heading_kind(line: _Line, next_line: _Line | None) -> str | None:
    """Kind of an unnumbered keyword heading ("指导思想", "活动安排:"), or None."""
    if line.month is not None or not line.body:
        return None
    title, rest = _split_title(line.body)
    if not title or len(title) > _MAX_PLAIN_HEADING or re.search(r"[，,。；;、]", title):
        return None
    kind = _title_kind(title)
    if kind == "section":
        return "section" if title in _SECTION_TITLES else None
    if kind == "schedule":
        follows = _tokenize(rest) if rest else next_line
        if follows is None or follows.month is None:
            return None
    return kind


def _section_ranks(lines: list[_Line], has_plain_headings: bool) -> tuple[int | None, int | None]:
    """Ranks that open sections and sub-sections in this plan."""
    present = {line.rank for line in lines if line.rank is not None}
    chinese = sorted(rank for rank in present if rank <= 2)
    if chinese:
        return chinese[0], (chinese[1] if len(chinese) > 1 else None)
    if 3 in present and not has_plain_headings:
        return 3, None
    return None, None


def _heading_like(body: str) -> bool:
    return 0 < len(body) <= 30 and not body.endswith(("。", "；", ";"))


# --------------------------------------------------------------------------- blocks


@dataclass
class _Block:
    title: str | None  # None for the text before the first heading
    kind: str  # preamble / ideology / measures / schedule / section
    level: int  # 0 section, 1 sub-section
    entries: list[tuple[_Line, bool]] = field(default_factory=list)  # (line, opens a slot)

    def has_slots(self) -> bool:
        return any(is_slot for _, is_slot in self.entries)


def _build_blocks(lines: list[_Line]) -> list[_Block]:
    plain_kinds = [
        _plain_heading_kind(line, lines[i + 1] if i + 1 < len(lines) else None)
        for i, line in enumerate(lines)
    ]
    top, sub = _section_ranks(lines, any(plain_kinds))
    blocks = [_Block(None, "preamble", 0)]
    parent_kind = "preamble"
    seen_ideology = False
    in_slots = False
    for line, plain_kind in zip(lines, plain_kinds):
        level = _heading_level(line, plain_kind, top, sub, in_slots)
        if level is not None:
            title, rest = _split_title(line.body)
            kind = _title_kind(title)
            if level == 1 and parent_kind in ("ideology", "measures", "schedule"):
                kind = parent_kind
            elif kind == "ideology":
                kind = "section" if seen_ideology else "ideology"
                seen_ideology = True
            if level == 0:
                parent_kind = kind
            blocks.append(_Block(title, kind, level))
            in_slots = False
            if not rest:
                continue
            line = _tokenize(rest)
        block = blocks[-1]
        loose_ok = in_slots or block.kind == "schedule"
        is_slot = line.month is not None and (line.month.strict or loose_ok)
        in_slots = in_slots or is_slot
        block.entries.append((line, is_slot))
    _demote_empty_schedules(blocks)
    return blocks


def _heading_level(
    line: _Line, plain_kind: str | None, top: int | None, sub: int | None, in_slots: bool
) -> int | None:
    if line.month is not None or not line.body.strip(_TITLE_TRIM):
        return None
    if sub is not None and line.rank == sub:
        return 1
    if plain_kind is not None:
        return 0
    if top is not None and line.rank == top:
        if top == 3 and (in_slots or not _heading_like(line.body)):
            return None
        return 0
    return None


def _demote_empty_schedules(blocks: list[_Block]) -> None:
    """A schedule heading with no month under it (or its sub-sections) is an ordinary section."""
    index = 0
    while index < len(blocks):
        end = index + 1
        while end < len(blocks) and blocks[end].level == 1:
            end += 1
        group = blocks[index:end]
        if group[0].kind == "schedule" and not any(b.has_slots() for b in group):
            for block in group:
                block.kind = "section"
        index = end


# --------------------------------------------------------------------------- filling the plan


def _item_text(line: _Line) -> str:
    return line.body.strip(_ITEM_TRIM)


def _split_activities(text: str) -> list[str]:
    activities = []
    for piece in _split_outside_quotes(text, _ACTIVITY_SEPS):
        for part in _INLINE_MARKER.split(piece):
            part = _strip_marker(part.strip()).strip(_ACTIVITY_TRIM)
            if part:
                activities.append(part)
    return activities


def _is_note(text: str) -> bool:
    return text.startswith(("注", "备注", "说明", "以上"))


class _PlanBuilder:
    def __init__(self) -> None:
        self.plan = ParsedPlan()
        self.guiding: list[str] = []

    def fill(self, blocks: list[_Block]) -> ParsedPlan:
        has_ideology = any(block.kind == "ideology" for block in blocks)
        for block in blocks:
            first_slot = next(
                (i for i, (_, is_slot) in enumerate(block.entries) if is_slot), len(block.entries)
            )
            self._fill_block(block, [line for line, _ in block.entries[:first_slot]], has_ideology)
            self._fill_slots(block.entries[first_slot:])
        self.plan.guiding_ideology = "\n".join(self.guiding)
        return self.plan

    def _fill_block(self, block: _Block, lines: list[_Line], has_ideology: bool) -> None:
        plan = self.plan
        if block.kind == "preamble":
            target = plan.unclassified if has_ideology else self.guiding
            target.extend(line.raw for line in lines)
        elif block.kind == "ideology":
            self._heading(block, self.guiding)
            self.guiding.extend(line.raw for line in lines)
        elif block.kind == "measures":
            self._heading(block, plan.measures)
            self._items(lines, plan.measures)
        elif block.kind == "schedule":
            plan.structural_headings.append(block.title or "")
            plan.unclassified.extend(line.raw for line in lines)
        elif not lines and block.has_slots():  # "五、全年活动" followed only by months
            plan.structural_headings.append(block.title or "")
        else:
            section = Section(block.title or "")
            plan.sections.append(section)
            self._items(lines, section.items)

    def _heading(self, block: _Block, children_target: list[str]) -> None:
        """A top heading is structural; a sub-heading's title is content of the field."""
        if block.level == 0:
            self.plan.structural_headings.append(block.title or "")
        elif block.title:
            children_target.append(block.title)

    def _items(self, lines: list[_Line], target: list[str]) -> None:
        for line in lines:
            text = _item_text(line)
            (target if text else self.plan.unclassified).append(text or line.raw)

    def _fill_slots(self, entries: list[tuple[_Line, bool]]) -> None:
        slot: ScheduleSlot | None = None
        for line, is_slot in entries:
            if is_slot and line.month is not None:
                slot = ScheduleSlot(line.month.months, _split_activities(line.month.rest), line.month.label)
                self.plan.schedule.append(slot)
                continue
            activities = _split_activities(line.body)
            if slot is None or _is_note(line.body) or not activities:
                self.plan.unclassified.append(line.raw)
            else:
                slot.activities.extend(activities)


# --------------------------------------------------------------------------- title / signature

_DATE_LINE = re.compile(
    r"^(?:[\d〇零○Ｏ一二三四五六七八九]{2,4}\s*年(?:\s*[\d一二三四五六七八九十]{1,2}\s*月"
    r"(?:\s*[\d一二三四五六七八九十]{1,3}\s*[日号])?)?|\d{4}\s*[./-]\s*\d{1,2}(?:\s*[./-]\s*\d{1,2})?)$"
)
_SIGNATURE = re.compile(r"(?:学校|小学|中学|幼儿园|学院|大学|校|教育)\S{0,10}工会(?:委员会)?$|^工会(?:委员会)?$")
_ACTION_WORDS = re.compile(r"召开|开展|组织|举行|成立|健全|加强|做好|落实")


def _count_title_lines(lines: list[_Line]) -> int:
    count = 0
    for line in lines[:3]:
        plain_title = (
            line.rank is None
            and line.month is None
            and len(line.raw) <= 40
            and not _SENTENCE_PUNCT.search(line.raw)
            and _title_kind(line.raw) == "section"
            and line.raw not in _SECTION_TITLES
        )
        if not (line.styled_title or plain_title):
            break
        count += 1
    return count


def _count_signature_lines(lines: list[_Line]) -> int:
    count = 0
    while count < min(3, len(lines)):
        text = lines[-1 - count].raw
        is_date = bool(_DATE_LINE.match(text))
        is_signature = bool(_SIGNATURE.search(text)) and not _ACTION_WORDS.search(text)
        if len(text) > 30 or not (is_date or is_signature):
            break
        count += 1
    return count


# --------------------------------------------------------------------------- entry points


def _parse_lines(source: list[tuple[str, int | None, bool]]) -> ParsedPlan:
    lines = [_tokenize(text, rank, title) for text, rank, title in source if text.strip()]
    head = _count_title_lines(lines)
    tail = _count_signature_lines(lines[head:])
    body = lines[head:len(lines) - tail]
    plan = _PlanBuilder().fill(_build_blocks(body))
    plan.unclassified[:0] = [line.raw for line in lines[:head]]
    plan.unclassified.extend(line.raw for line in lines[len(lines) - tail:])
    return plan


def parse_plan_text(text: str) -> ParsedPlan:
    """Parse a plan given as plain text. Never raises on any string."""
    return _parse_lines([(line, None, False) for line in (text or "").splitlines()])


def parse_plan_file(filename: str, data: bytes) -> ParsedPlan:
    """Parse an uploaded .txt or .docx. Raises PlanParseError with a Chinese message."""
    if not data:
        raise PlanParseError("文件为空")
    if len(data) > MAX_FILE_BYTES:
        raise PlanParseError(f"文件过大（上限 {MAX_FILE_BYTES // (1024 * 1024)} MB）")
    extension = os.path.splitext(filename or "")[1].lower()
    if extension == ".docx":
        return _parse_lines(_docx_lines(data))
    if extension == ".txt":
        return parse_plan_text(_decode_text(data))
    if extension == ".doc":
        raise PlanParseError("暂不支持旧版 Word（.doc）文件，请另存为 .docx 后上传")
    raise PlanParseError("不支持的文件类型，请上传 .txt 或 .docx 文件")


_ZIP_MAGIC = b"PK\x03\x04"


def _decode_text(data: bytes) -> str:
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise PlanParseError("无法识别文本编码，请另存为 UTF-8 编码的文本文件") from exc
    if data.startswith(_ZIP_MAGIC) or b"\x00" in data:
        raise PlanParseError("文件内容不是纯文本；Word 文档请以 .docx 格式上传")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PlanParseError("无法识别文本编码，请另存为 UTF-8 编码的文本文件")


def _check_docx_archive(data: bytes) -> None:
    """Reject anything that is not a sane zip before python-docx touches it (zip bombs)."""
    not_docx = "文件内容不是有效的 Word（.docx）文档"
    if not data.startswith(_ZIP_MAGIC):
        raise PlanParseError(not_docx)
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            entries = archive.infolist()
    except Exception as exc:  # zipfile raises many types on malformed input
        raise PlanParseError(not_docx) from exc
    if len(entries) > MAX_DOCX_ENTRIES:
        raise PlanParseError(f"文档内部文件数超过 {MAX_DOCX_ENTRIES} 个，疑似异常文件，已拒绝处理")
    uncompressed = sum(entry.file_size for entry in entries)
    compressed = sum(entry.compress_size for entry in entries)
    if uncompressed > MAX_DOCX_UNCOMPRESSED_BYTES:
        raise PlanParseError("文档解压后超过 50 MB，已拒绝处理")
    if uncompressed > MAX_DOCX_RATIO * max(compressed, 1):
        raise PlanParseError(f"文档压缩比超过 {MAX_DOCX_RATIO} 倍，疑似压缩炸弹，已拒绝处理")
    if "word/document.xml" not in {entry.filename for entry in entries}:
        raise PlanParseError(not_docx)


def _docx_lines(data: bytes) -> list[tuple[str, int | None, bool]]:
    _check_docx_archive(data)
    try:
        import docx
        from docx.table import Table

        document = docx.Document(io.BytesIO(data))
        lines: list[tuple[str, int | None, bool]] = []
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                lines.extend(_table_lines(block))
            else:
                lines.extend(_paragraph_lines(block))
        return lines
    except PlanParseError:
        raise
    except Exception as exc:  # python-docx / lxml raise many types on damaged files
        raise PlanParseError("无法读取 Word 文档，文件可能已损坏") from exc


_HEADING_STYLE = re.compile(r"(?i)^(?:heading|标题)\s*(\d)$")
_TITLE_STYLE = re.compile(r"(?i)^(?:title|标题)$")


def _paragraph_lines(paragraph) -> list[tuple[str, int | None, bool]]:
    """A paragraph's lines; Word heading styles stand in for lost auto-numbering."""
    try:
        style_name = paragraph.style.name or ""
    except Exception:  # a broken style reference must not stop the import
        style_name = ""
    heading = _HEADING_STYLE.match(style_name)
    rank = min(int(heading.group(1)), 3) if heading else None
    is_title = bool(_TITLE_STYLE.match(style_name))
    return [(line, rank, is_title) for line in paragraph.text.splitlines()]


def _table_lines(table) -> list[tuple[str, int | None, bool]]:
    """Table cells in reading order, merged cells once; each cell paragraph is a line."""
    from docx.table import Table

    lines: list[tuple[str, int | None, bool]] = []
    seen = set()  # holding the elements keeps lxml proxies (and their identity) alive
    for row in table.rows:
        for cell in row.cells:
            if cell._tc in seen:
                continue
            seen.add(cell._tc)
            for inner in cell.iter_inner_content():
                if isinstance(inner, Table):
                    lines.extend(_table_lines(inner))
                else:
                    lines.extend(_paragraph_lines(inner))
    return lines
