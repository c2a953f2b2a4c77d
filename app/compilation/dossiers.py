"""Submission dossiers (材料汇编): one PDF per submitted plan version, per application
snapshot and per year summary (工作总结) version — cover, table of contents, the structured content, the self-score table, an
evidence index with images embedded and attached PDFs appended (Office files listed by
name and size) — and merged bundles of a year or a round with a bookmark per school.

Jobs: ``plan_dossier``, ``application_dossier`` and ``summary_dossier`` (queued by the submit
services of app.plans, app.rounds and app.summaries, one run per version/snapshot), ``dossier_bundle`` (queued by the
district). Each reads only frozen content, so a re-run writes the same artifact again."""
from __future__ import annotations

import hashlib
import io
import os
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.compilation import fonts, pdf, storage
from app.compilation.models import APPLICATION_DOSSIER, DOSSIER_BUNDLE, PLAN_DOSSIER, SUMMARY_DOSSIER, Artifact
from app.extensions import db
from app.jobs import services as jobs

CHINA = ZoneInfo("Asia/Shanghai")
# Bump when the layout changes: existing dossiers then count as out of date.
RENDERER = "dossier-1"
IMAGE_KINDS = {"png", "jpeg", "gif", "webp"}
OFFICE_NAMES = (".docx", ".xlsx", ".doc", ".xls", ".pptx")


def plan_subject(version_id: int) -> str:
    return f"plan-version-{version_id}"


def snapshot_subject(snapshot_id: int) -> str:
    return f"application-snapshot-{snapshot_id}"


def summary_subject(version_id: int) -> str:
    return f"summary-version-{version_id}"


def subject_of(kind: str, subject_id: int) -> str:
    return {PLAN_DOSSIER: plan_subject, APPLICATION_DOSSIER: snapshot_subject,
            SUMMARY_DOSSIER: summary_subject}[kind](subject_id)


def _when(value) -> str:
    if not value:
        return "—"
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    return value.astimezone(CHINA).strftime("%Y-%m-%d %H:%M")


def human_size(size) -> str:
    size = int(size or 0)
    if size >= 1024 * 1024:
        return f"{size / 1024 / 1024:.1f} MB"
    if size >= 1024:
        return f"{size / 1024:.0f} KB"
    return f"{size} B"


def _cover(st, guard, *, kind_label: str, school: str, year, version: str, submitted_at: str, extra=()):
    from reportlab.lib.units import mm
    from reportlab.platypus import PageBreak, Spacer

    story = [Spacer(1, 45 * mm), pdf.p("材料汇编", st.title, guard), pdf.p(kind_label, st.subtitle, guard),
             Spacer(1, 20 * mm)]
    rows = [["学校", school], ["年度", f"{year} 年"], ["类别", kind_label], ["版本", version],
            ["提交时间", submitted_at], *extra]
    story.append(pdf.table(rows, st, widths=[35 * mm, 110 * mm], guard=guard, head_rows=0))
    story.append(Spacer(1, 30 * mm))
    story.append(pdf.p(f"汇编生成时间：{_when(datetime.now(CHINA))}（由建家平台自动生成，内容为提交时冻结的版本）",
                       st.small, guard))
    story.append(PageBreak())
    return story


def _toc_page(st, toc, guard):
    from reportlab.platypus import PageBreak

    return [pdf.p("目录", st.h1, guard), toc, PageBreak()]


# --------------------------------------------------------------------------- plan version

def render_plan_version(version, school, progress=None) -> tuple[bytes, dict]:
    """The dossier of one frozen plan version: (pdf bytes, facts)."""
    from app.plans.models import CATEGORIES
    from app.plans.services import months_label

    content = version.content or {}
    guard = fonts.GlyphGuard()
    kind_label = "年度工会工作计划"

    def story(st, toc):
        out = _cover(st, guard, kind_label=kind_label, school=school.name, year=content.get("year") or _plan_year(version),
                     version=f"第 {version.number} 版", submitted_at=_when(version.submitted_at))
        out += _toc_page(st, toc, guard)
        out.append(pdf.heading("一、计划内容", st.h1, 0, guard))
        if content.get("title"):
            out.append(pdf.p(content["title"], st.h2, guard))
        for key, label in (("guiding_ideology", "指导思想"), ("goals", "工作目标")):
            out.append(pdf.heading(label, st.h2, 1, guard))
            out.append(pdf.p(content.get(key) or "（未填写）", st.body, guard))
        out.append(pdf.heading("主要工作", st.h2, 1, guard))
        sections = content.get("sections") or []
        if not sections:
            out.append(pdf.p("（未填写）", st.body, guard))
        for n, section in enumerate(sections, 1):
            out.append(pdf.p(f"{n}. {section.get('title', '')}", st.body, guard))
            for item in section.get("items") or []:
                label = CATEGORIES.get(item.get("category"), "其他")
                out.append(pdf.p(f"　· [{label}] {item.get('text', '')}", st.body, guard))
        out.append(pdf.heading("落实措施", st.h2, 1, guard))
        measures = content.get("measures") or []
        for n, text in enumerate(measures, 1):
            out.append(pdf.p(f"{n}. {text}", st.body, guard))
        if not measures:
            out.append(pdf.p("（未填写）", st.body, guard))
        out.append(pdf.heading("活动安排", st.h2, 1, guard))
        rows = [["月份", "活动", "类别"]]
        for slot in content.get("schedule") or []:
            for activity in slot.get("activities") or []:
                rows.append([months_label(slot.get("months") or []), activity.get("title", ""),
                             CATEGORIES.get(activity.get("category"), "其他")])
        if len(rows) > 1:
            from reportlab.lib.units import mm

            out.append(pdf.table(rows, st, widths=[30 * mm, 110 * mm, 30 * mm], guard=guard))
        else:
            out.append(pdf.p("（未安排）", st.body, guard))
        if content.get("unclassified"):
            out.append(pdf.heading("未归类内容", st.h2, 1, guard))
            for text in content["unclassified"]:
                out.append(pdf.p(text, st.body, guard))
        out.append(pdf.heading("二、佐证材料目录", st.h1, 0, guard))
        out.append(pdf.p("工作计划的提交不附佐证材料。", st.body, guard))
        return out

    if progress:
        progress(40, "排版工作计划")
    data = pdf.build(story, title=f"{school.name} {kind_label} 第{version.number}版 材料汇编")
    return data, {"replaced_characters": sorted(guard.replaced)}


def _plan_year(version) -> int:
    from app.plans.models import WorkPlan

    plan = db.session.get(WorkPlan, (version.district_id, version.plan_id))
    return plan.year if plan else 0


# --------------------------------------------------------------------------- year summary version

def render_summary_version(version, school, year: int, progress=None) -> tuple[bytes, dict]:
    """The dossier of one frozen 工作总结 version: cover, table of contents, the four
    sections and the figures table (computed at submission). (pdf bytes, facts)."""
    from reportlab.lib.units import mm

    from app.summaries.models import SECTIONS
    from app.summaries.services import figure_rows

    content = version.content or {}
    sections = content.get("sections") or {}
    figures = content.get("figures") or {}
    guard = fonts.GlyphGuard()
    kind_label = "工作总结"
    numerals = "一二三四五六七八九十"

    def story(st, toc):
        out = _cover(st, guard, kind_label=kind_label, school=school.name, year=content.get("year") or year,
                     version=f"第 {version.number} 版", submitted_at=_when(version.submitted_at))
        out += _toc_page(st, toc, guard)
        out.append(pdf.p(f"{school.name}{content.get('year') or year}年度工会工作总结", st.h2, guard))
        for n, (key, label) in enumerate(SECTIONS):
            out.append(pdf.heading(f"{numerals[n]}、{label}", st.h1, 0, guard))
            out.append(pdf.p(sections.get(key) or "（未填写）", st.body, guard))
        out.append(pdf.heading(f"{numerals[len(SECTIONS)]}、年度数据", st.h1, 0, guard))
        out.append(pdf.p("以下数据由建家平台根据年度工作计划和活动记录在提交时计算并冻结。", st.small, guard))
        rows = [["指标", "数值"]] + [[label, value] for label, value in figure_rows(figures)]
        out.append(pdf.table(rows, st, widths=[70 * mm, 60 * mm], guard=guard))
        return out

    if progress:
        progress(40, "排版工作总结")
    data = pdf.build(story, title=f"{school.name} {kind_label} 第{version.number}版 材料汇编")
    return data, {"replaced_characters": sorted(guard.replaced)}


# --------------------------------------------------------------------------- application snapshot

def _evidence_bytes(item) -> bytes | None:
    from app.uploads import UploadError, absolute

    try:
        path = absolute(item.get("stored_path") or "")
    except UploadError:
        return None
    if not os.path.isfile(path):
        return None
    with open(path, "rb") as handle:
        return handle.read()


def render_snapshot(snapshot, school, progress=None) -> tuple[bytes, dict]:
    """The dossier of one frozen application snapshot: (pdf bytes, facts)."""
    from reportlab.lib.units import mm
    from reportlab.platypus import Image, KeepTogether, Spacer

    from app.rounds.models import ROUND_KINDS
    from app.uploads import sniff

    content = snapshot.content or {}
    round_info = content.get("round") or {}
    guard = fonts.GlyphGuard()
    kind_label = f"{ROUND_KINDS.get(round_info.get('kind'), '申报')}申报：{round_info.get('name', '')}"
    evidence = content.get("evidence") or []
    loaded = []  # (item, kind, bytes|None)
    for n, item in enumerate(evidence, 1):
        data = _evidence_bytes(item)
        kind = sniff(data) if data else None
        name = (item.get("original_name") or "").lower()
        if kind == "zip" or name.endswith(OFFICE_NAMES):
            kind = "office"
        loaded.append((item, kind, data))
        if progress:
            progress(10 + int(40 * n / max(1, len(evidence))), f"读取佐证材料 {n}/{len(evidence)}")
    indicators = {s.get("indicator_id"): s for s in content.get("scores") or []}
    pdf_attachments = [(f"佐证：{item.get('original_name')}", data) for item, kind, data in loaded if kind == "pdf"]

    def story(st, toc):
        extra = [["自评总分", str(content.get("total") or "—")]]
        if content.get("late"):
            extra.append(["说明", "宽限期内迟交"])
        out = _cover(st, guard, kind_label=kind_label, school=(content.get("school") or {}).get("name") or school.name,
                     year=round_info.get("year", ""), version=f"第 {snapshot.number} 次提交",
                     submitted_at=_when(snapshot.submitted_at), extra=extra)
        out += _toc_page(st, toc, guard)
        out.append(pdf.heading("一、申报说明", st.h1, 0, guard))
        out.append(pdf.p(content.get("summary") or "（未填写）", st.body, guard))
        rubric = content.get("rubric") or {}
        if rubric:
            out.append(pdf.p(f"考核细则：{rubric.get('name', '')}（第 {rubric.get('version', '')} 版，满分 "
                             f"{rubric.get('total_points', '')} 分）", st.small, guard))
        out.append(pdf.heading("二、自评分表", st.h1, 0, guard))
        rows = [["编号", "考核指标", "标准分", "自评分", "说明"]]
        categories = content.get("categories") or []
        by_category: dict = {}
        for score in content.get("scores") or []:
            by_category.setdefault(score.get("category_id"), []).append(score)
        for category in categories:
            rows.append(["", f"【{category.get('name', '')}】（上限 {category.get('cap') or '—'} 分）", "", "", ""])
            for score in by_category.get(category.get("id"), []):
                note = score.get("note") or ""
                if score.get("must_pass") or score.get("veto"):
                    flag = "必备" if score.get("must_pass") else "否决项"
                    answer = {True: "符合", False: "不符合"}.get(score.get("passed"), "未答")
                    note = f"{flag}：{answer}" + (f"；{note}" if note else "")
                rows.append([score.get("code") or "", score.get("title") or "", score.get("max_points") or "",
                             score.get("computed_points") if score.get("computed_points") is not None else "—", note])
        rows.append(["", "自评总分", rubric.get("total_points") or "", content.get("total") or "—", ""])
        out.append(pdf.table(rows, st, widths=[16 * mm, 76 * mm, 16 * mm, 16 * mm, 50 * mm], guard=guard))
        out.append(pdf.heading("三、佐证材料目录", st.h1, 0, guard))
        if not loaded:
            out.append(pdf.p("本次提交没有佐证材料。", st.body, guard))
        else:
            index = [["序号", "指标", "文件名", "大小", "在本汇编中"]]
            for n, (item, kind, data) in enumerate(loaded, 1):
                indicator = indicators.get(item.get("indicator_id")) or {}
                where = {"pdf": "附后（见书签）", "office": "Office 文件，仅列出", None: "文件缺失"}.get(
                    kind, "图片，见第四部分")
                index.append([str(n), f"{indicator.get('code') or ''} {indicator.get('title') or ''}".strip(),
                              item.get("original_name") or "", human_size(item.get("size")), where])
            out.append(pdf.table(index, st, widths=[12 * mm, 55 * mm, 55 * mm, 18 * mm, 34 * mm], guard=guard))
        images = [(n, item, data) for n, (item, kind, data) in enumerate(loaded, 1) if kind in IMAGE_KINDS]
        if images:
            out.append(pdf.heading("四、图片佐证", st.h1, 0, guard))
            for n, item, data in images:
                try:
                    image = Image(io.BytesIO(data))
                    scale = min(1.0, (170 * mm) / image.imageWidth, (110 * mm) / image.imageHeight)
                    image.drawWidth, image.drawHeight = image.imageWidth * scale, image.imageHeight * scale
                except Exception:  # noqa: BLE001 - an unreadable image is listed, not fatal
                    out.append(pdf.p(f"{n}. {item.get('original_name')}（图片无法读取）", st.body, guard))
                    continue
                out.append(KeepTogether([image, pdf.p(f"图 {n}：{item.get('original_name')}", st.small, guard),
                                         Spacer(1, 4 * mm)]))
        if pdf_attachments:
            out.append(pdf.heading("附：PDF 佐证材料", st.h1, 0, guard))
            for name, _ in pdf_attachments:
                out.append(pdf.p(name, st.body, guard))
        return out

    if progress:
        progress(60, "排版申报材料")
    data = pdf.build(story, title=f"{school.name} {kind_label} 第{snapshot.number}次提交 材料汇编")
    skipped = []
    if pdf_attachments:
        if progress:
            progress(85, "附加 PDF 佐证材料")
        data, skipped = pdf.append_pdfs(data, pdf_attachments, parent_title="PDF 佐证材料")
    facts = {"evidence_files": len(evidence), "images": sum(1 for _, k, _ in loaded if k in IMAGE_KINDS),
             "pdfs_appended": len(pdf_attachments) - len(skipped), "pdfs_unreadable": skipped,
             "office_listed": sum(1 for _, k, _ in loaded if k == "office"),
             "missing_files": sum(1 for _, k, _ in loaded if k is None),
             "replaced_characters": sorted(guard.replaced)}
    return data, facts


# --------------------------------------------------------------------------- compiling

def _school(district_id, school_id):
    from tenants.models import School

    return db.session.get(School, (district_id, school_id))


def _fail_on_missing_font():
    if not fonts.available():
        raise jobs.JobFailed(fonts.MISSING_MESSAGE)


def compile_plan_version(version_id: int, *, run=None, progress=None) -> Artifact:
    from app.plans.models import PlanVersion

    _fail_on_missing_font()
    version = db.session.scalar(select(PlanVersion).where(PlanVersion.id == version_id))
    if version is None:
        raise jobs.JobFailed("计划版本不存在")
    school = _school(version.district_id, version.school_id)
    data, facts = render_plan_version(version, school, progress)
    if progress:
        progress(90, "保存材料汇编")
    year = _plan_year(version)
    return storage.store(PLAN_DOSSIER, plan_subject(version.id), RENDERER, data,
                         filename=f"{school.name}-{year}年工作计划-第{version.number}版-材料汇编.pdf", extension=".pdf",
                         school_id=version.school_id, run_id=run.id if run else None,
                         meta={"version_id": version.id, "number": version.number, **facts})


def compile_snapshot(snapshot_id: int, *, run=None, progress=None) -> Artifact:
    from app.rounds.models import ApplicationSnapshot

    _fail_on_missing_font()
    snapshot = db.session.scalar(select(ApplicationSnapshot).where(ApplicationSnapshot.id == snapshot_id))
    if snapshot is None:
        raise jobs.JobFailed("申报快照不存在")
    school = _school(snapshot.district_id, snapshot.school_id)
    data, facts = render_snapshot(snapshot, school, progress)
    if progress:
        progress(95, "保存材料汇编")
    round_name = ((snapshot.content or {}).get("round") or {}).get("name", "申报")
    return storage.store(APPLICATION_DOSSIER, snapshot_subject(snapshot.id), RENDERER, data,
                         filename=f"{school.name}-{round_name}-第{snapshot.number}次提交-材料汇编.pdf", extension=".pdf",
                         school_id=snapshot.school_id, run_id=run.id if run else None,
                         meta={"snapshot_id": snapshot.id, "number": snapshot.number, **facts})


def compile_summary_version(version_id: int, *, run=None, progress=None) -> Artifact:
    from app.summaries.models import YearSummary, YearSummaryVersion

    _fail_on_missing_font()
    version = db.session.scalar(select(YearSummaryVersion).where(YearSummaryVersion.id == version_id))
    if version is None:
        raise jobs.JobFailed("工作总结版本不存在")
    school = _school(version.district_id, version.school_id)
    summary = db.session.get(YearSummary, (version.district_id, version.summary_id))
    year = (version.content or {}).get("year") or (summary.year if summary else 0)
    data, facts = render_summary_version(version, school, year, progress)
    if progress:
        progress(90, "保存材料汇编")
    return storage.store(SUMMARY_DOSSIER, summary_subject(version.id), RENDERER, data,
                         filename=f"{school.name}-{year}年工作总结-第{version.number}版-材料汇编.pdf", extension=".pdf",
                         school_id=version.school_id, run_id=run.id if run else None,
                         meta={"version_id": version.id, "number": version.number, **facts})


def summary_dossier_job(run, progress) -> dict:
    artifact = compile_summary_version(int(run.args.get("version_id", 0)), run=run, progress=progress)
    return {"artifact_id": artifact.id, "size": artifact.size, "filename": artifact.filename,
            "summary_id": run.args.get("summary_id"),
            "summary": f"工作总结材料汇编已生成（{human_size(artifact.size)}）", **artifact.meta}


def plan_dossier_job(run, progress) -> dict:
    from app.plans.models import PlanVersion
    from app.plans.services import content_stats

    artifact = compile_plan_version(int(run.args.get("version_id", 0)), run=run, progress=progress)
    version = db.session.scalar(select(PlanVersion).where(PlanVersion.id == artifact.meta["version_id"]))
    return {"artifact_id": artifact.id, "size": artifact.size, "filename": artifact.filename,
            "plan_id": version.plan_id, "stats": content_stats(version.content or {}),
            "summary": f"材料汇编已生成（{human_size(artifact.size)}）", **artifact.meta}


def application_dossier_job(run, progress) -> dict:
    from app.rounds.models import ApplicationSnapshot

    artifact = compile_snapshot(int(run.args.get("snapshot_id", 0)), run=run, progress=progress)
    snapshot = db.session.scalar(select(ApplicationSnapshot).where(ApplicationSnapshot.id == artifact.meta["snapshot_id"]))
    content = snapshot.content or {}
    return {"artifact_id": artifact.id, "size": artifact.size, "filename": artifact.filename,
            "application_id": snapshot.application_id, "indicators": len(content.get("scores") or []),
            "total": content.get("total"), "late": content.get("late", False),
            "summary": f"第 {snapshot.number} 次提交的材料汇编已生成（{human_size(artifact.size)}）", **artifact.meta}


# --------------------------------------------------------------------------- state for pages

def dossier_state(kind: str, subject_id: int, run_id: int | None):
    """(artifact or None, run or None) for a submission's dossier cell."""
    from app.jobs.models import JobRun

    artifact = storage.find(kind, subject_of(kind, subject_id), RENDERER)
    if artifact is not None and not storage.exists(artifact):
        artifact = None
    run = db.session.scalar(select(JobRun).where(JobRun.id == run_id)) if run_id else None
    return artifact, run


def retry(kind: str, subject_id: int, run_id: int | None, actor_user_id: int | None, school_id: int):
    """Run the compile again (after a failure, or when the file went missing). The
    submission itself is never touched."""
    from app.jobs.models import JobRun

    run = db.session.scalar(select(JobRun).where(JobRun.id == run_id)) if run_id else None
    if run is not None and not run.finished:
        return run
    if run is not None:
        jobs.requeue(run)
        return run
    key = {PLAN_DOSSIER: f"plan-dossier-v{subject_id}", SUMMARY_DOSSIER: f"summary-dossier-v{subject_id}"}.get(
        kind, f"application-dossier-{subject_id}")
    args = {"snapshot_id": subject_id} if kind == APPLICATION_DOSSIER else {"version_id": subject_id}
    return jobs.submit(kind, key, args, school_id=school_id, actor_user_id=actor_user_id)


# --------------------------------------------------------------------------- bundles

def bundle_members(scope_kind: str, scope_id: int) -> list[tuple[str, int, int, str]]:
    """What a bundle holds, ordered by school: (dossier kind, subject id, school id, school name).
    Year: each school's latest submitted plan version and latest submitted year summary
    (工作总结) version of that year. Round: each school's latest application snapshot in that
    round. A fixed number of queries whatever the number of schools."""
    from tenants.models import School

    if scope_kind == "year":
        from app.plans.models import PlanVersion, WorkPlan
        from app.summaries.models import YearSummary, YearSummaryVersion

        latest = (select(PlanVersion.plan_id, func.max(PlanVersion.number).label("n"))
                  .group_by(PlanVersion.plan_id).subquery())
        plans = db.session.execute(
            select(PlanVersion.id, PlanVersion.school_id, School.name)
            .join(latest, (latest.c.plan_id == PlanVersion.plan_id) & (latest.c.n == PlanVersion.number))
            .join(WorkPlan, (WorkPlan.district_id == PlanVersion.district_id) & (WorkPlan.id == PlanVersion.plan_id))
            .join(School, (School.district_id == PlanVersion.district_id) & (School.id == PlanVersion.school_id))
            .where(WorkPlan.year == scope_id)).all()
        latest_summary = (select(YearSummaryVersion.summary_id, func.max(YearSummaryVersion.number).label("n"))
                          .group_by(YearSummaryVersion.summary_id).subquery())
        summaries = db.session.execute(
            select(YearSummaryVersion.id, YearSummaryVersion.school_id, School.name)
            .join(latest_summary, (latest_summary.c.summary_id == YearSummaryVersion.summary_id)
                  & (latest_summary.c.n == YearSummaryVersion.number))
            .join(YearSummary, (YearSummary.district_id == YearSummaryVersion.district_id)
                  & (YearSummary.id == YearSummaryVersion.summary_id))
            .join(School, (School.district_id == YearSummaryVersion.district_id)
                  & (School.id == YearSummaryVersion.school_id))
            .where(YearSummary.year == scope_id)).all()
        members = [(PLAN_DOSSIER, vid, sid, name) for vid, sid, name in plans]
        members += [(SUMMARY_DOSSIER, vid, sid, name) for vid, sid, name in summaries]
        order = {PLAN_DOSSIER: 0, SUMMARY_DOSSIER: 1}
        return sorted(members, key=lambda m: (m[3], m[2], order[m[0]]))
    from app.rounds.models import Application, ApplicationSnapshot

    latest = (select(ApplicationSnapshot.application_id, func.max(ApplicationSnapshot.number).label("n"))
              .group_by(ApplicationSnapshot.application_id).subquery())
    rows = db.session.execute(
        select(ApplicationSnapshot.id, ApplicationSnapshot.school_id, School.name)
        .join(latest, (latest.c.application_id == ApplicationSnapshot.application_id)
              & (latest.c.n == ApplicationSnapshot.number))
        .join(Application, (Application.district_id == ApplicationSnapshot.district_id)
              & (Application.id == ApplicationSnapshot.application_id))
        .join(School, (School.district_id == ApplicationSnapshot.district_id) & (School.id == ApplicationSnapshot.school_id))
        .where(Application.round_id == scope_id).order_by(School.name, School.id)).all()
    return [(APPLICATION_DOSSIER, snap_id, sid, name) for snap_id, sid, name in rows]


def bundle_subject(scope_kind: str, scope_id: int) -> str:
    return f"{scope_kind}-{scope_id}"


def bundle_fingerprint(members) -> str:
    text = RENDERER + "|" + ";".join(f"{k}:{i}:{s}:{n}" for k, i, s, n in members)
    return hashlib.sha256(text.encode()).hexdigest()


def submit_bundle(scope_kind: str, scope_id: int, actor_user_id: int | None):
    members = bundle_members(scope_kind, scope_id)
    fp = bundle_fingerprint(members)
    key = f"dossier-bundle-{scope_kind}-{scope_id}-{fp[:16]}"
    run = jobs.submit(DOSSIER_BUNDLE, key, {"scope": scope_kind, "scope_id": scope_id, "fingerprint": fp},
                      queue="reports", actor_user_id=actor_user_id)
    if run.status == "failed":
        jobs.requeue(run)
    return run, fp


PART_LABELS = {PLAN_DOSSIER: "年度工会工作计划", SUMMARY_DOSSIER: "工作总结", APPLICATION_DOSSIER: "申报材料"}


def _member_artifact(kind: str, subject_id: int) -> Artifact:
    artifact = storage.find(kind, subject_of(kind, subject_id), RENDERER)
    if artifact is None or not storage.exists(artifact):
        compile_ = {PLAN_DOSSIER: compile_plan_version, SUMMARY_DOSSIER: compile_summary_version,
                    APPLICATION_DOSSIER: compile_snapshot}[kind]
        artifact = compile_(subject_id)
    return artifact


def bundle_job(run, progress) -> dict:
    """One merged PDF with one top-level bookmark per school. In a year bundle each school's
    bookmark holds its plan and its year summary (each with its own headings beneath)."""
    scope_kind, scope_id = run.args["scope"], int(run.args["scope_id"])
    _fail_on_missing_font()
    members = bundle_members(scope_kind, scope_id)
    fp = bundle_fingerprint(members)
    if not members:
        raise jobs.JobFailed("没有可汇编的提交材料")
    by_school: list[tuple[int, str, list]] = []
    for kind, subject_id, school_id, school_name in members:
        if not by_school or by_school[-1][0] != school_id:
            by_school.append((school_id, school_name, []))
        by_school[-1][2].append((kind, subject_id))
    parts = []
    total = len(by_school)
    for n, (school_id, school_name, items) in enumerate(by_school, 1):
        files = [(PART_LABELS[kind], storage.read(_member_artifact(kind, subject_id))) for kind, subject_id in items]
        if scope_kind == "year":
            parts.append((school_name, pdf.merge(files, title=school_name)))
        else:
            parts.extend((school_name, data) for _, data in files)
        progress(int(90 * n / total), f"已汇编 {n}/{total} 所学校")
    label = f"{scope_id}年工作计划与工作总结" if scope_kind == "year" else _round_name(scope_id)
    data = pdf.merge(parts, title=f"{label} 材料汇编")
    progress(95, "保存合并文件")
    artifact = storage.store(DOSSIER_BUNDLE, bundle_subject(scope_kind, scope_id), fp, data,
                             filename=f"{label}-材料汇编（{total}所学校）.pdf", extension=".pdf", run_id=run.id,
                             meta={"schools": total, "parts": len(members), "members": [s for _, s, _ in by_school]})
    return {"artifact_id": artifact.id, "schools": total, "size": artifact.size,
            "summary": f"已合并 {total} 所学校的材料汇编（{human_size(artifact.size)}）"}


def _round_name(round_id: int) -> str:
    from app.rounds.models import Round

    round_ = db.session.scalar(select(Round).where(Round.id == round_id))
    return round_.name if round_ else f"轮次{round_id}"


jobs.handler(DOSSIER_BUNDLE)(bundle_job)


def _install_handlers() -> None:
    """The submit services of app.plans, app.rounds and app.summaries queue ``plan_dossier``,
    ``application_dossier`` and ``summary_dossier`` runs; the compile is here. Import them
    first so this registration is the one that stands whatever the import order."""
    import app.plans.services  # noqa: F401
    import app.rounds.services  # noqa: F401
    import app.summaries.services  # noqa: F401

    jobs.HANDLERS[PLAN_DOSSIER] = plan_dossier_job
    jobs.HANDLERS[APPLICATION_DOSSIER] = application_dossier_job
    jobs.HANDLERS[SUMMARY_DOSSIER] = summary_dossier_job


_install_handlers()
