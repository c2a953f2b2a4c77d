"""`flask plans parse FILE [--json]`: try the plan parser on a file from the command line.

``plans_cli`` (the ``flask plans`` group) holds ``parse_command``; nothing here touches the app.
"""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from app.plans.parser import (
    CATEGORY_LABELS,
    MAX_FILE_BYTES,
    ParsedPlan,
    PlanParseError,
    parse_plan_file,
)

_PREVIEW_CHARS = 40


def _preview(text: str, limit: int = _PREVIEW_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + "…"


def _months_label(months: list[int]) -> str:
    return "、".join(str(month) for month in months) + "月"


def format_summary(parsed: ParsedPlan) -> str:
    """A readable Chinese summary of a parsed plan."""
    lines = [f"指导思想：{_preview(parsed.guiding_ideology) or '（未识别）'}"]
    lines.append(f"主要工作：{len(parsed.sections)} 个部分")
    categorized = iter(parsed.items_with_categories())  # same order as the section items
    for section in parsed.sections:
        lines.append(f"  ■ {section.title}（{len(section.items)} 条）")
        for entry in (next(categorized) for _ in section.items):
            lines.append(f"    - [{CATEGORY_LABELS[entry['category']]}] {_preview(entry['text'])}")
    lines.append(f"落实措施：{len(parsed.measures)} 条")
    lines.extend(f"    - {_preview(measure)}" for measure in parsed.measures)
    activity_count = sum(len(slot.activities) for slot in parsed.schedule)
    lines.append(f"活动安排：{len(parsed.schedule)} 个时段，{activity_count} 项活动")
    for slot in parsed.schedule:
        activities = "；".join(_preview(activity, 20) for activity in slot.activities)
        lines.append(f"  {_months_label(slot.months)}（{len(slot.activities)} 项）：{activities}")
    lines.append(f"未归类：{len(parsed.unclassified)} 行")
    lines.extend(f"    - {_preview(text)}" for text in parsed.unclassified)
    return "\n".join(lines)


@click.command("parse")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="以 JSON 格式输出解析结果")
def parse_command(path: str, as_json: bool) -> None:
    """解析年度工会工作计划（.txt 或 .docx），输出建议的结构。"""
    with open(path, "rb") as handle:
        data = handle.read(MAX_FILE_BYTES + 1)  # one byte over the cap lets the parser reject it
    try:
        parsed = parse_plan_file(path, data)
    except PlanParseError as exc:
        click.echo(str(exc), err=True)
        raise click.exceptions.Exit(1) from exc
    if as_json:
        click.echo(json.dumps(parsed.to_dict(), ensure_ascii=False, indent=2))
    else:
        click.echo(format_summary(parsed))


# `flask plans …`: registered in app/__init__.py (_register_cli).

plans_cli = AppGroup("plans", help="年度工会工作计划")
plans_cli.add_command(parse_command)
