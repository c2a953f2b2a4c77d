"""The PDF report of the roll-up: summary beside the previous year, charts drawn with
reportlab.graphics (completion distribution, completion by school kind, year over year),
and the per-school table. Same figures dict as the Excel and the dashboard."""
from __future__ import annotations

from app.compilation import fonts, pdf
from app.rollup.data import pct
from app.rollup.excel import SUMMARY_LINES, on_time_label

RED, GREY = "#b71c1c", "#9e9e9e"


def _fmt(value, fmt: str) -> str:
    if value is None:
        return "—"
    if fmt == "0.0%":
        return pct(value)
    if fmt == "0.00":
        return f"{value:.2f}"
    return str(value)


def _bar_chart(title: str, categories: list[str], series: list[tuple[str, list]], guard, percent=False):
    from reportlab.graphics.charts.barcharts import VerticalBarChart
    from reportlab.graphics.charts.legends import Legend
    from reportlab.graphics.shapes import Drawing, String
    from reportlab.lib import colors

    width, height = 480, 220
    drawing = Drawing(width, height)
    drawing.add(String(width / 2, height - 14, guard(title), fontName=fonts.BOLD, fontSize=11, textAnchor="middle"))
    chart = VerticalBarChart()
    chart.x, chart.y, chart.width, chart.height = 50, 40, width - 170, height - 75
    chart.data = [[(v or 0) * (100 if percent else 1) for v in values] for _, values in series]
    chart.categoryAxis.categoryNames = [guard(c) for c in categories]
    chart.categoryAxis.labels.fontName = fonts.REGULAR
    chart.categoryAxis.labels.fontSize = 8
    chart.valueAxis.labels.fontName = fonts.REGULAR
    chart.valueAxis.valueMin = 0
    if percent:
        chart.valueAxis.valueMax = 100
        chart.valueAxis.labelTextFormat = "%d%%"
    chart.barLabels.fontName = fonts.REGULAR
    chart.barLabels.fontSize = 7
    chart.barLabelFormat = "%.1f%%" if percent else "%d"
    chart.barLabels.nudge = 6
    palette = [colors.HexColor(RED), colors.HexColor(GREY)]
    for i in range(len(series)):
        chart.bars[i].fillColor = palette[i % 2]
    drawing.add(chart)
    legend = Legend()
    legend.x, legend.y = width - 105, height - 45
    legend.fontName = fonts.REGULAR
    legend.fontSize = 8
    legend.colorNamePairs = [(palette[i % 2], guard(name)) for i, (name, _) in enumerate(series)]
    drawing.add(legend)
    return drawing


def render(figures: dict, progress=None) -> bytes:
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Spacer

    guard = fonts.GlyphGuard()
    year, prev = figures["year"], figures["previous_year"]
    summary, previous = figures["summary"], figures["previous"]
    district = figures["district"]["name"]

    def story(st, toc):
        out = [Spacer(1, 30 * mm), pdf.p(f"{district}", st.subtitle, guard),
               pdf.p(f"{year}年度学校工会工作汇总报告", st.title, guard),
               pdf.p(f"生成时间：{figures['generated_at']}　学校数：{summary['schools']}", st.subtitle, guard),
               Spacer(1, 10 * mm), pdf.p("目录", st.h1, guard), toc, PageBreak()]
        out.append(pdf.heading("一、全区汇总", st.h1, 0, guard))
        lines = [["指标", f"{year}年", f"{prev}年"]]
        lines += [[label, _fmt(summary[key], fmt), _fmt(previous[key], fmt)] for label, key, fmt in SUMMARY_LINES]
        out.append(pdf.table(lines, st, widths=[60 * mm, 40 * mm, 40 * mm], guard=guard))
        if summary["deadline"]:
            out.append(pdf.p(f"计划提交截止日期：{summary['deadline']}", st.small, guard))
        out.append(pdf.heading("二、计划完成率分布", st.h1, 0, guard))
        out.append(_bar_chart("计划完成率分布（学校数）", [b["band"] for b in summary["completion_distribution"]],
                              [(f"{year}年", [b["count"] for b in summary["completion_distribution"]]),
                               (f"{prev}年", [b["count"] for b in previous["completion_distribution"]])], guard))
        rows = [["计划完成率", f"{year}年学校数", f"{prev}年学校数"]]
        rows += [[b["band"], str(b["count"]), str(pb["count"])] for b, pb in
                 zip(summary["completion_distribution"], previous["completion_distribution"])]
        out.append(pdf.table(rows, st, widths=[50 * mm, 40 * mm, 40 * mm], guard=guard))
        out.append(pdf.heading("三、按学校类型", st.h1, 0, guard))
        kinds = summary["by_kind"]
        prev_kinds = {k["kind"]: k for k in previous["by_kind"]}
        out.append(_bar_chart("各类学校平均计划完成率", [k["label"] for k in kinds],
                              [(f"{year}年", [k["completion_avg"] for k in kinds]),
                               (f"{prev}年", [prev_kinds.get(k["kind"], {}).get("completion_avg") for k in kinds])],
                              guard, percent=True))
        rows = [["学校类型", "学校数", "已提交计划", "计划已通过", "平均完成率", f"{prev}年平均完成率"]]
        rows += [[k["label"], str(k["schools"]), str(k["filed"]), str(k["approved"]), pct(k["completion_avg"]),
                  pct(prev_kinds.get(k["kind"], {}).get("completion_avg"))] for k in kinds]
        out.append(pdf.table(rows, st, guard=guard))
        out.append(pdf.heading("四、年度对比", st.h1, 0, guard))
        keys = [("提交率", "filed_rate"), ("按时提交率", "on_time_rate"), ("通过率", "approved_rate"),
                ("平均完成率", "completion_avg")]
        out.append(_bar_chart("主要比率年度对比", [k for k, _ in keys],
                              [(f"{year}年", [summary[key] for _, key in keys]),
                               (f"{prev}年", [previous[key] for _, key in keys])], guard, percent=True))
        out.append(pdf.heading("五、得分分布与等次名额", st.h1, 0, guard))
        rows = [["综评分", f"{year}年学校数", f"{prev}年学校数"]]
        rows += [[b["band"], str(b["count"]), str(pb["count"])] for b, pb in
                 zip(summary["score_distribution"], previous["score_distribution"])]
        out.append(pdf.table(rows, st, widths=[50 * mm, 40 * mm, 40 * mm], guard=guard))
        if summary["tiers"]:
            rows = [["轮次", "等次", "评定数", "名额"]]
            rows += [[t["round"], t["tier_label"], str(t["count"]), "—" if t["quota"] is None else str(t["quota"])]
                     for t in summary["tiers"]]
            out.append(Spacer(1, 4 * mm))
            out.append(pdf.table(rows, st, guard=guard))
        else:
            out.append(pdf.p("本年度尚无评定等次。", st.body, guard))
        out.append(PageBreak())
        out.append(pdf.heading("六、学校明细", st.h1, 0, guard))
        rows = [["学校", "类型", "计划", "按时", "完成率", "总结", "申报", "总分", "排名", "等次", "荣誉称号", "复查"]]
        total = len(figures["schools"])
        for n, s in enumerate(figures["schools"], 1):
            rows.append([s["name"], s["kind_label"], s["plan_status_label"], on_time_label(s["on_time"]),
                         pct(s["completion_rate"]), s.get("summary_status_label") or "—",
                         f"{s['applications_submitted']}/{s['applications']}",
                         "—" if s["total"] is None else f"{s['total']:.2f}", "—" if s["rank"] is None else str(s["rank"]),
                         s["tier"] or "—", s["titles"] or "—", s["review_due"] or "—"])
        out.append(pdf.table(rows, st, guard=guard, widths=[25 * mm, 13 * mm, 12 * mm, 9 * mm, 14 * mm, 11 * mm,
                                                            10 * mm, 13 * mm, 9 * mm, 10 * mm, 26 * mm, 19 * mm]))
        if progress:
            progress(total, total)
        return out

    return pdf.build(story, title=f"{district} {year}年度汇总报告")
