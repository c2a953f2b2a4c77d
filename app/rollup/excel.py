"""The Excel 汇总表: several sheets with Chinese headers, frozen header rows, number
formats, column widths, filters; every text cell through safe_cell (no formulas)."""
from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from app.spreadsheets import safe_cell

PERCENT = "0.0%"
HEAD_FILL = PatternFill("solid", fgColor="F3E5E5")
SCHOOL_COLUMNS = [  # header, key, width, number format
    ("学校", "name", 24, None), ("代码", "code", 10, None), ("类型", "kind_label", 10, None),
    ("计划状态", "plan_status_label", 10, None), ("首次提交日期", "submitted_on", 13, None),
    ("按时提交", "on_time_label", 10, None), ("通过日期", "approved_on", 13, None),
    ("计划活动数", "planned", 11, "0"), ("已完成活动数", "done", 12, "0"), ("计划完成率", "completion_rate", 11, PERCENT),
    ("工作总结", "summary_status_label", 10, None), ("总结提交日期", "summary_submitted_on", 13, None),
    ("申报数", "applications", 8, "0"), ("已提交申报", "applications_submitted", 10, "0"),
    ("申报及状态", "applications_text", 30, None), ("综评总分", "total", 10, "0.00"), ("排名", "rank", 7, "0"),
    ("等次", "tier", 8, None), ("档次", "grade", 8, None), ("荣誉称号数", "titles_count", 10, "0"),
    ("所获荣誉称号", "titles", 36, None), ("最近复查日期", "review_due", 13, None),
]
SUMMARY_LINES = [  # label, key, format
    ("学校数", "schools", "0"), ("已提交计划", "filed", "0"), ("提交率", "filed_rate", PERCENT),
    ("按时提交", "filed_on_time", "0"), ("按时提交率", "on_time_rate", PERCENT), ("计划已通过", "approved", "0"),
    ("通过率", "approved_rate", PERCENT), ("平均计划完成率", "completion_avg", PERCENT),
    ("申报数", "applications", "0"), ("已提交申报", "applications_submitted", "0"), ("有综评得分的学校", "scored", "0"),
    ("平均综评分", "score_avg", "0.00"), ("持有荣誉称号", "titles_held", "0"), ("年内到期复查", "reviews_due", "0"),
    ("已提交工作总结", "summaries_submitted", "0"), ("工作总结已阅收", "summaries_accepted", "0"),
]


def on_time_label(value) -> str:
    return {True: "是", False: "否"}.get(value, "—")


def _sheet(wb, title, headers, rows, widths, formats, first=False):
    ws = wb.active if first else wb.create_sheet()
    ws.title = title
    ws.append([safe_cell(h) for h in headers])
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = HEAD_FILL
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for index, width in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(index)].width = width
    for index, fmt in enumerate(formats, 1):
        if fmt:
            for (cell,) in ws.iter_rows(min_row=2, min_col=index, max_col=index):
                cell.number_format = fmt
    ws.freeze_panes = "B2"
    if rows:
        ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    return ws


def workbook(figures: dict) -> bytes:
    wb = Workbook()
    year, prev = figures["year"], figures["previous_year"]
    rows = []
    for school in figures["schools"]:
        values = dict(school, on_time_label=on_time_label(school["on_time"]))
        rows.append([values[key] if values[key] != "" else None for _, key, _, _ in SCHOOL_COLUMNS])
    _sheet(wb, "学校明细", [h for h, *_ in SCHOOL_COLUMNS], rows, [w for _, _, w, _ in SCHOOL_COLUMNS],
           [f for *_, f in SCHOOL_COLUMNS], first=True)

    summary, previous = figures["summary"], figures["previous"]
    lines = [[label, summary[key], previous[key]] for label, key, _ in SUMMARY_LINES]
    ws = _sheet(wb, "全区汇总", ["指标", f"{year}年", f"{prev}年"], lines, [20, 14, 14], [None, None, None])
    for n, (_, _, fmt) in enumerate(SUMMARY_LINES, 2):
        ws.cell(n, 2).number_format = fmt
        ws.cell(n, 3).number_format = fmt

    kinds = {k["kind"]: k for k in previous["by_kind"]}
    kind_rows = []
    for k in summary["by_kind"]:
        p = kinds.get(k["kind"], {})
        kind_rows.append([k["label"], k["schools"], k["filed"], k["approved"], k["completion_avg"],
                          p.get("filed"), p.get("approved"), p.get("completion_avg")])
    _sheet(wb, "按学校类型", ["学校类型", "学校数", f"{year}已提交计划", f"{year}计划已通过", f"{year}平均完成率",
                          f"{prev}已提交计划", f"{prev}计划已通过", f"{prev}平均完成率"],
           kind_rows, [12, 8, 14, 14, 14, 14, 14, 14], [None, "0", "0", "0", PERCENT, "0", "0", PERCENT])

    dist = [[b["band"], b["count"], pb["count"]] for b, pb in zip(summary["completion_distribution"],
                                                                   previous["completion_distribution"])]
    _sheet(wb, "完成率分布", ["计划完成率", f"{year}年学校数", f"{prev}年学校数"], dist, [14, 14, 14], [None, "0", "0"])
    scores = [[b["band"], b["count"], pb["count"]] for b, pb in zip(summary["score_distribution"],
                                                                     previous["score_distribution"])]
    _sheet(wb, "得分分布", ["综评分", f"{year}年学校数", f"{prev}年学校数"], scores, [14, 14, 14], [None, "0", "0"])
    tiers = [[t["round"], t["tier_label"], t["count"], t["quota"]] for t in summary["tiers"]]
    _sheet(wb, "等次与名额", ["轮次", "等次", "评定数", "名额"], tiers, [30, 8, 10, 10], [None, None, "0", "0"])
    results = [[s["name"], r["round"], r["total"], r["rank"], r["tier"], r["grade"]]
               for s in figures["schools"] for r in s["results"]]
    _sheet(wb, "评选结果", ["学校", "轮次", "总分", "排名", "等次", "档次"], results, [24, 30, 10, 8, 8, 8],
           [None, None, "0.00", "0", None, None])
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
