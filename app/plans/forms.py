"""The structured plan editor and the import review page share one form.

The form is plain HTML with indexed field names (rows are added and removed by
``static/js/plans.js``; indices need not be contiguous, they are sorted here)::

    title, guiding_ideology, goals
    section-<i>-title, section-<i>-item-<j>-text, section-<i>-item-<j>-category
    measure-<i>
    slot-<i>-months, slot-<i>-act-<j>-title, slot-<i>-act-<j>-category, slot-<i>-act-<j>-id
    unclassified-<i>-text, unclassified-<i>-target, unclassified-<i>-months

``read_form`` turns a posted form into a view model (``vm``: everything as typed,
renumbered) plus Chinese errors keyed by field name, so an invalid post re-renders with
nothing lost. ``PlanForm.content()`` applies the moves of 未归类 lines and gives the dict
that ``services.save_draft`` takes.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext as _

from app.i18n import N_
from app.plans import services
from app.plans.models import CATEGORIES
from app.plans.parser import ParsedPlan, suggest_category

MONTHS_HELP = N_("请填写 1–12 月，如 7,8 或 七、八月")
_INDEXED = re.compile(r"^(section|measure|slot|unclassified)-(\d{1,4})(?:-(item|act)-(\d{1,4}))?-?(.*)$")
GOAL_TITLES = {"工作目标", "目标任务", "目标"}
TARGETS = ("keep", "drop", "title", "guiding_ideology", "goals", "measures", "schedule")


_CN_MONTHS = {"元": 1, "正": 1, "一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9,
              "十": 10, "十一": 11, "十二": 12}
_MONTH_SEP = re.compile(r"[\s,，、/;；和及与]+")
_MONTH_RANGE = re.compile(r"^(.+?)[-－—–~～至到](.+)$")


def _one_month(token: str) -> int | None:
    token = token.strip()
    if token in _CN_MONTHS:
        return _CN_MONTHS[token]
    if token.isdigit() and 1 <= int(token) <= 12:
        return int(token)
    return None


def parse_months(text: str) -> list[int] | None:
    """'7,8' / '七、八月' / '9-10月' / '12-2月' → months; None when it is not a month list."""
    text = re.sub(r"月份?", " ", (text or "").strip())
    months: list[int] = []
    for piece in (p for p in _MONTH_SEP.split(text) if p):
        span = _MONTH_RANGE.match(piece)
        if span:
            start, end = _one_month(span.group(1)), _one_month(span.group(2))
            if start is None or end is None:
                return None
            months.extend((start - 1 + step) % 12 + 1 for step in range((end - start) % 12 + 1))
            continue
        month = _one_month(piece)
        if month is None:
            return None
        months.append(month)
    return list(dict.fromkeys(months)) or None


def months_text(months: list[int]) -> str:
    return services.months_label(months) if months else ""


@dataclass
class PlanForm:
    vm: dict
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def valid(self) -> bool:
        return not self.errors

    def content(self) -> dict:
        """The content to save, with 未归类 lines moved where the user chose."""
        vm = self.vm
        sections = [{"title": s["title"], "items": [dict(i) for i in s["items"]]} for s in vm["sections"]]
        slots = [{"months": parse_months(s["months_text"]) or [],
                  "activities": [{"id": a["id"] or None, "title": a["title"], "category": a["category"]}
                                 for a in s["activities"]]} for s in vm["slots"]]
        guiding, goals = [vm["guiding_ideology"]], [vm["goals"]]
        measures, unclassified = list(vm["measures"]), []
        title = vm["title"]
        for line in vm["unclassified"]:
            text, target = line["text"], line["target"]
            if not text.strip() or target == "drop":
                continue
            if target == "title":
                title = text
            elif target == "guiding_ideology":
                guiding.append(text)
            elif target == "goals":
                goals.append(text)
            elif target == "measures":
                measures.append(text)
            elif target.startswith("section:"):
                sections[int(target.split(":")[1])]["items"].append({"text": text, "category": suggest_category(text)})
            elif target == "schedule":
                months = parse_months(line["months_text"]) or []
                slot = next((s for s in slots if s["months"] == months), None)
                if slot is None:
                    slot = {"months": months, "activities": []}
                    slots.append(slot)
                slot["activities"].append({"id": None, "title": text, "category": suggest_category(text)})
            else:
                unclassified.append(text)
        return {
            "title": title,
            "guiding_ideology": "\n".join(t for t in guiding if t.strip()),
            "goals": "\n".join(t for t in goals if t.strip()),
            "sections": sections,
            "measures": measures,
            "schedule": [s for s in slots if s["activities"]],
            "unclassified": unclassified,
        }


def _grouped(form) -> dict:
    """{kind: {index: {"fields": {name: value}, "rows": {j: {name: value}}}}}."""
    groups: dict = {"section": {}, "measure": {}, "slot": {}, "unclassified": {}}
    for key in form.keys():
        match = _INDEXED.match(key)
        if not match:
            continue
        kind, index, sub, sub_index, name = match.groups()
        entry = groups[kind].setdefault(int(index), {"fields": {}, "rows": {}})
        value = form.get(key, "")
        if sub:
            entry["rows"].setdefault(int(sub_index), {})[name] = value
        else:
            entry["fields"][name] = value
    return {kind: [entries[i] for i in sorted(entries)] for kind, entries in groups.items()}


def _clean(value: str) -> str:
    return (value or "").replace("\r\n", "\n").strip()


def read_form(form) -> PlanForm:
    """Read the posted editor / review form; never loses what was typed."""
    groups = _grouped(form)
    errors: dict[str, str] = {}

    def check_length(name: str, value: str, limit: int, label: str):
        if len(value) > limit:
            errors[name] = _("%(label)s不能超过 %(n)s 个字", label=_(label), n=limit)

    vm = {"title": _clean(form.get("title", "")), "guiding_ideology": _clean(form.get("guiding_ideology", "")),
          "goals": _clean(form.get("goals", ""))}
    check_length("title", vm["title"], services.MAX_TITLE, N_("计划标题"))
    check_length("guiding_ideology", vm["guiding_ideology"], services.MAX_TEXT, N_("指导思想"))
    check_length("goals", vm["goals"], services.MAX_TEXT, N_("工作目标"))

    # 主要工作: blank rows are dropped; the new index maps old section keys for the moves.
    sections, section_key = [], {}
    for old_index, entry in enumerate(groups["section"]):
        title = _clean(entry["fields"].get("title", ""))
        items = []
        for row in (entry["rows"][j] for j in sorted(entry["rows"])):
            text = _clean(row.get("text", ""))
            if text:
                items.append({"text": text, "category": row.get("category") or "other"})
        if not title and not items:
            continue
        i = len(sections)
        section_key[str(entry["fields"].get("key", old_index))] = i
        if not title:
            errors[f"section-{i}-title"] = _("请填写这一部分的标题")
        check_length(f"section-{i}-title", title, services.MAX_SECTION_TITLE, N_("部分标题"))
        for j, item in enumerate(items):
            if item["category"] not in CATEGORIES:
                errors[f"section-{i}-item-{j}-category"] = _("请选择有效的类别")
            check_length(f"section-{i}-item-{j}-text", item["text"], services.MAX_LINE, N_("工作条目"))
        sections.append({"title": title, "items": items})
    vm["sections"] = sections

    vm["measures"] = [text for text in (_clean(e["fields"].get("", "")) for e in groups["measure"]) if text]
    for i, text in enumerate(vm["measures"]):
        check_length(f"measure-{i}", text, services.MAX_LINE, N_("落实措施"))

    slots = []
    for entry in groups["slot"]:
        months = _clean(entry["fields"].get("months", ""))
        activities = []
        for row in (entry["rows"][j] for j in sorted(entry["rows"])):
            title = _clean(row.get("title", ""))
            if title:
                activities.append({"id": (row.get("id") or "").strip(), "title": title,
                                   "category": row.get("category") or "other"})
        if not activities:
            continue  # a month with no activity is a blank row
        i = len(slots)
        if parse_months(months) is None:
            errors[f"slot-{i}-months"] = _(MONTHS_HELP)
        for j, activity in enumerate(activities):
            if activity["category"] not in CATEGORIES:
                errors[f"slot-{i}-act-{j}-category"] = _("请选择有效的类别")
            check_length(f"slot-{i}-act-{j}-title", activity["title"], services.MAX_LINE, N_("活动"))
        slots.append({"months_text": months, "activities": activities})
    vm["slots"] = slots

    unclassified = []
    for entry in groups["unclassified"]:
        text = _clean(entry["fields"].get("text", ""))
        if not text:
            continue
        target = entry["fields"].get("target") or "keep"
        i = len(unclassified)
        if target.startswith("section:"):
            key = target.split(":", 1)[1]
            if key in section_key:
                target = f"section:{section_key[key]}"
            else:
                errors[f"unclassified-{i}-target"] = _("所选的“主要工作”部分不存在，请重新选择")
        elif target not in TARGETS:
            errors[f"unclassified-{i}-target"] = _("请选择这一行的去向")
        months = _clean(entry["fields"].get("months", ""))
        if target == "schedule" and parse_months(months) is None:
            errors[f"unclassified-{i}-months"] = _("移入活动安排须填写月份：%(help)s", help=_(MONTHS_HELP))
        check_length(f"unclassified-{i}-text", text, services.MAX_LINE, N_("未归类内容"))
        unclassified.append({"text": text, "target": target, "months_text": months})
    vm["unclassified"] = unclassified
    return PlanForm(vm, errors)


def vm_from_content(content: dict) -> dict:
    """The editor's view model of saved content (a draft or a version)."""
    return {
        "title": content.get("title", ""),
        "guiding_ideology": content.get("guiding_ideology", ""),
        "goals": content.get("goals", ""),
        "sections": [{"title": s.get("title", ""), "items": [dict(i) for i in s.get("items") or []]}
                     for s in content.get("sections") or []],
        "measures": list(content.get("measures") or []),
        "slots": [{"months_text": months_text(slot.get("months") or []),
                   "activities": [{"id": str(a.get("id") or ""), "title": a.get("title", ""),
                                   "category": a.get("category", "other")} for a in slot.get("activities") or []]}
                  for slot in content.get("schedule") or []],
        "unclassified": [{"text": t, "target": "keep", "months_text": ""} for t in content.get("unclassified") or []],
    }


def vm_from_parsed(parsed: ParsedPlan, title: str = "") -> dict:
    """The parser's proposal as a view model: categories proposed, 工作目标 mapped to goals."""
    categorized = iter(parsed.items_with_categories())  # same order as the section items
    sections, goals = [], []
    for section in parsed.sections:
        items = [{"text": entry["text"], "category": entry["category"]}
                 for entry in (next(categorized) for _ in section.items)]
        if section.title.strip(" ：:") in GOAL_TITLES and not goals:
            goals.extend(item["text"] for item in items)
            if items:
                continue
        sections.append({"title": section.title, "items": items})
    return {
        "title": title,
        "guiding_ideology": parsed.guiding_ideology,
        "goals": "\n".join(goals),
        "sections": sections,
        "measures": list(parsed.measures),
        "slots": [{"months_text": months_text(slot.months),
                   "activities": [{"id": "", "title": a, "category": suggest_category(a)} for a in slot.activities]}
                  for slot in parsed.schedule],
        "unclassified": [{"text": t, "target": "keep", "months_text": ""} for t in parsed.unclassified],
    }
