"""工作总结 (YearSummary): the year-end summary workflow and everything the pages do with it.

State machine (``YearSummary.status``)::

    draft ──submit──▶ submitted ──accept──▶ accepted (已阅收, final)
                        │  ▲
                 return │  │ submit (resubmission, after editing)
                        ▼  │
                      returned  (edits keep it "returned" until resubmitted)

* Only the chair submits (``school.submit``); chair and editor edit drafts (``school.edit``);
  district admins and staff accept or return (``plans.review``: the same people who review
  the school's plans). Returning needs a comment; a returned summary cannot be accepted
  until it is resubmitted; a submitted or accepted summary cannot be edited.
* Every submit freezes an immutable ``YearSummaryVersion``: the four sections and the
  figures computed from the activity records and the plan (never typed in), then queues
  the dossier compile (JobRun ``summary_dossier``, one per version).

Refused transitions raise ``SummaryError`` with a Chinese message. Nothing here commits:
the caller commits once; the job run is handed over after that commit.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import datetime, timezone

from flask_babel import gettext
from sqlalchemy import and_, case, event, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import attributes

from app.audit.services import ACTION_LABELS, record
from app.extensions import db
from app.i18n import N_, translate
from app.jobs import services as jobs
from app.plans.services import Actor
from app.summaries.models import (
    ACCEPTED,
    DRAFT,
    RETURNED,
    SECTION_KEYS,
    SECTIONS,
    SUBMITTED,
    YearSummary,
    YearSummaryVersion,
)
from tenants.models import School

ACTION_LABELS.update({
    "summary_saved": N_("保存工作总结草稿"),
    "summary_submitted": N_("提交工作总结"),
    "summary_returned": N_("退回工作总结"),
    "summary_accepted": N_("阅收工作总结"),
})

DOSSIER_KIND = "summary_dossier"
MAX_SECTION = 20000
MAX_NOTE = 2000

# What the district sees per school.
NOT_SUBMITTED = "not_submitted"
TRACKING_LABELS = {NOT_SUBMITTED: N_("未提交"), SUBMITTED: N_("已提交"), RETURNED: N_("已退回"),
                   ACCEPTED: N_("已阅收")}
DECISION_LABELS = {SUBMITTED: N_("待阅收"), RETURNED: N_("已退回"), ACCEPTED: N_("已阅收")}


class SummaryError(ValueError):
    """A refused transition or invalid input; the message is Chinese and shown to the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _require(actor: Actor, permission: str, message: str) -> None:
    if not actor.may(permission):
        raise SummaryError(message)


# --------------------------------------------------------------------------- reading

def get_summary(school_id: int, year: int) -> YearSummary | None:
    return db.session.scalar(select(YearSummary).where(YearSummary.school_id == school_id,
                                                       YearSummary.year == year))


def summary_by_id(summary_id: int) -> YearSummary | None:
    return db.session.scalar(select(YearSummary).where(YearSummary.id == summary_id))


def versions_of(summary: YearSummary) -> list[YearSummaryVersion]:
    return list(db.session.scalars(select(YearSummaryVersion).where(YearSummaryVersion.summary_id == summary.id)
                                   .order_by(YearSummaryVersion.number.desc())))


def version_by_number(summary: YearSummary, number: int) -> YearSummaryVersion | None:
    return db.session.scalar(select(YearSummaryVersion).where(YearSummaryVersion.summary_id == summary.id,
                                                              YearSummaryVersion.number == number))


def version_by_id(version_id: int, school_id: int | None = None) -> YearSummaryVersion | None:
    stmt = select(YearSummaryVersion).where(YearSummaryVersion.id == version_id)
    if school_id is not None:
        stmt = stmt.where(YearSummaryVersion.school_id == school_id)
    return db.session.scalar(stmt)


def latest_version(summary: YearSummary) -> YearSummaryVersion | None:
    if not summary.latest_version_no:
        return None
    return version_by_number(summary, summary.latest_version_no)


def returned_version(summary: YearSummary | None) -> YearSummaryVersion | None:
    """The version whose district comment the school must act on (latest, if returned)."""
    if summary is None:
        return None
    version = latest_version(summary)
    return version if version is not None and version.decision == RETURNED else None


# --------------------------------------------------------------------------- figures

def compute_figures(school_id: int, year: int) -> dict:
    """The year's figures from the activity records and the plan (app.activities): planned
    activities, planned activities carried out, activity records, the completion rate and
    the plan's status. Frozen into every submitted version; never typed in."""
    from app.activities.services import completion_for_school

    completion = completion_for_school(school_id, year)
    rate = completion.rate
    return {"year": year, "planned": int(completion.planned), "done": int(completion.done),
            "records": int(completion.records), "completion_rate": round(rate, 4) if rate is not None else None,
            "plan_status": completion.plan_status, "plan_status_label": str(completion.plan_status_label)}


def rate_text(rate) -> str:
    from app.activities.services import format_rate

    return format_rate(rate)


def figure_rows(figures: dict) -> list[tuple[str, str]]:
    """(label, value) lines of the figures table (pages and the dossier show the same)."""
    return [
        (N_("年度工作计划状态"), figures.get("plan_status_label") or "—"),
        (N_("计划活动数"), str(figures.get("planned", 0))),
        (N_("已完成的计划活动"), str(figures.get("done", 0))),
        (N_("计划完成率"), rate_text(figures.get("completion_rate"))),
        (N_("活动记录总数"), str(figures.get("records", 0))),
    ]


# --------------------------------------------------------------------------- editing

def clean_sections(data: dict) -> dict[str, str]:
    """The four sections from a form or dict, trimmed and checked (errors name the field)."""
    out = {}
    for key, label in SECTIONS:
        value = data.get(key)
        value = "" if value is None else str(value).replace("\r\n", "\n").strip()
        if len(value) > MAX_SECTION:
            raise SummaryError(gettext("%(label)s不能超过 %(n)s 个字", label=translate(label), n=MAX_SECTION), key)
        out[key] = value
    return out


def is_empty(sections: dict) -> bool:
    return not any((sections.get(key) or "").strip() for key in SECTION_KEYS)


def check_editable(summary: YearSummary | None) -> None:
    if summary is None:
        return
    if summary.status == SUBMITTED:
        raise SummaryError(gettext("工作总结已提交，正在等待区教育工会阅收，暂不能修改"))
    if summary.status == ACCEPTED:
        raise SummaryError(gettext("工作总结已被区教育工会阅收，不能再修改"))


def save_draft(school: School, year: int, data: dict, actor: Actor) -> YearSummary:
    """Save the four sections as the school's draft for ``year`` (creating the summary).
    A returned summary stays returned until it is resubmitted."""
    _require(actor, "school.edit", gettext("只有学校工会主席或工会委员可以编辑工作总结"))
    summary = get_summary(school.id, year)
    check_editable(summary)
    sections = clean_sections(data)
    if summary is None:
        summary = YearSummary(district_id=school.district_id, school_id=school.id, year=year, status=DRAFT)
        db.session.add(summary)
    for key, value in sections.items():
        setattr(summary, key, value)
    summary.updated_at = _now()
    db.session.flush()
    record("summary_saved", target=summary, details={"year": year,
                                                     "chars": sum(len(v) for v in sections.values())})
    return summary


# --------------------------------------------------------------------------- transitions

def submit(summary: YearSummary, actor: Actor) -> YearSummaryVersion:
    """draft/returned → submitted: freeze a version (sections + figures), queue its dossier."""
    _require(actor, "school.submit", gettext("只有学校工会主席可以提交工作总结，工会委员不能提交"))
    if summary.status == SUBMITTED:
        raise SummaryError(gettext("工作总结已提交，正在等待阅收，不能重复提交"))
    if summary.status == ACCEPTED:
        raise SummaryError(gettext("工作总结已被阅收，不能再次提交"))
    sections = summary.sections()
    if is_empty(sections):
        raise SummaryError(gettext("工作总结内容为空，不能提交。请先填写主要工作与成效等内容"))
    if not sections["achievements"].strip():
        raise SummaryError(gettext("请填写“主要工作与成效”后再提交"), "achievements")
    last = latest_version(summary)
    if summary.status == RETURNED and last is not None and (last.content or {}).get("sections") == sections:
        raise SummaryError(gettext("工作总结退回后尚未修改，请按区教育工会的意见修改后再提交"))
    now = _now()
    content = {"year": summary.year, "sections": copy.deepcopy(sections),
               "figures": compute_figures(summary.school_id, summary.year)}
    version = YearSummaryVersion(district_id=summary.district_id, school_id=summary.school_id,
                                 summary_id=summary.id, number=summary.latest_version_no + 1, content=content,
                                 submitted_at=now, submitted_by=actor.user_id, decision=SUBMITTED)
    try:
        with db.session.begin_nested():  # a concurrent submit (double click) took this number
            db.session.add(version)
            db.session.flush()
    except IntegrityError:
        raise SummaryError(gettext("工作总结已提交，请勿重复提交")) from None
    resubmission = summary.latest_version_no > 0
    summary.latest_version_no = version.number
    summary.status = SUBMITTED
    summary.first_submitted_at = summary.first_submitted_at or now
    summary.last_submitted_at = now
    summary.updated_at = now
    run = jobs.submit(DOSSIER_KIND, f"summary-dossier-v{version.id}",
                      {"summary_id": summary.id, "version_id": version.id}, school_id=summary.school_id,
                      actor_user_id=actor.user_id)
    version.dossier_run_id = run.id
    record("summary_submitted", target=summary, details={"year": summary.year, "version": version.number,
                                                         "resubmission": resubmission})
    return version


def _decidable_version(summary: YearSummary, number: int | None, actor: Actor) -> YearSummaryVersion:
    _require(actor, "plans.review", gettext("只有区教育工会管理员或工作人员可以阅收工作总结"))
    if summary.status == RETURNED:
        raise SummaryError(gettext("工作总结已退回，须学校修改并重新提交后才能阅收"))
    if summary.status == ACCEPTED:
        raise SummaryError(gettext("工作总结已阅收"))
    if summary.status != SUBMITTED:
        raise SummaryError(gettext("工作总结尚未提交"))
    version = latest_version(summary)
    if number is None or version is None or version.number != number:
        raise SummaryError(gettext("所处理的版本不是最新提交的版本，请刷新页面后再操作"))
    return version


def accept(summary: YearSummary, number: int | None, actor: Actor, note: str = "") -> YearSummaryVersion:
    """submitted → accepted (已阅收), naming the version."""
    version = _decidable_version(summary, number, actor)
    note = (note or "").strip()
    if len(note) > MAX_NOTE:
        raise SummaryError(gettext("意见不能超过 %(n)s 个字", n=MAX_NOTE), "note")
    now = _now()
    version.decision, version.decided_at, version.decided_by, version.decision_note = ACCEPTED, now, actor.user_id, note
    summary.status = ACCEPTED
    summary.accepted_version_id = version.id
    summary.accepted_at = now
    record("summary_accepted", target=summary, details={"year": summary.year, "version": version.number})
    return version


def return_summary(summary: YearSummary, number: int | None, actor: Actor, comment: str) -> YearSummaryVersion:
    """submitted → returned, with the district's comment (required)."""
    version = _decidable_version(summary, number, actor)
    comment = (comment or "").replace("\r\n", "\n").strip()
    if not comment:
        raise SummaryError(gettext("退回时请填写修改意见"), "note")
    if len(comment) > MAX_NOTE:
        raise SummaryError(gettext("意见不能超过 %(n)s 个字", n=MAX_NOTE), "note")
    now = _now()
    version.decision, version.decided_at, version.decided_by = RETURNED, now, actor.user_id
    version.decision_note = comment
    summary.status = RETURNED
    record("summary_returned", target=summary, details={"year": summary.year, "version": version.number})
    return version


@event.listens_for(YearSummaryVersion, "before_update")
def _versions_are_immutable(mapper, connection, target):
    """A submitted version never changes; only the decision on it is written."""
    for name in ("content", "number", "summary_id", "submitted_at", "submitted_by", "school_id"):
        if attributes.get_history(target, name).has_changes():
            raise SummaryError(gettext("已提交的工作总结版本不可修改"))


# --------------------------------------------------------------------------- the dossier job

@jobs.handler(DOSSIER_KIND)
def compile_dossier(run, progress) -> dict:
    """The dossier (材料汇编) of one summary version, compiled by app.compilation."""
    from app.compilation.dossiers import summary_dossier_job

    return summary_dossier_job(run, progress)


# --------------------------------------------------------------------------- district list

def tracking_status_expr():
    return case(
        (YearSummary.id.is_(None), NOT_SUBMITTED),
        (YearSummary.status == SUBMITTED, SUBMITTED),
        (YearSummary.status == RETURNED, RETURNED),
        (YearSummary.status == ACCEPTED, ACCEPTED),
        else_=NOT_SUBMITTED,
    )


def _join(year: int):
    return and_(YearSummary.district_id == School.district_id, YearSummary.school_id == School.id,
                YearSummary.year == year)


@dataclass
class TrackingRow:
    school: School
    summary: YearSummary | None
    status: str

    @property
    def status_label(self) -> str:
        return TRACKING_LABELS[self.status]


def tracking_rows(year: int, *, status: str = "", q: str = "") -> list[TrackingRow]:
    """Every active school of the district with its summary for ``year`` (one SELECT)."""
    status_expr = tracking_status_expr()
    stmt = (select(School, YearSummary, status_expr.label("summary_status"))
            .outerjoin(YearSummary, _join(year)).where(School.active.is_(True)))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(School.name.like(like), School.code.like(like)))
    if status in TRACKING_LABELS:
        stmt = stmt.where(status_expr == status)
    rows = db.session.execute(stmt.order_by(School.name, School.id)).all()
    return [TrackingRow(school, summary, st) for school, summary, st in rows]


def tracking_counts(year: int) -> dict[str, int]:
    rows = db.session.execute(select(YearSummary.status, func.count()).select_from(School)
                              .outerjoin(YearSummary, _join(year)).where(School.active.is_(True))
                              .group_by(YearSummary.status)).all()
    counts = {key: 0 for key in TRACKING_LABELS}
    for st, n in rows:
        counts[st if st in (SUBMITTED, RETURNED, ACCEPTED) else NOT_SUBMITTED] += n
    counts["total"] = sum(n for _, n in rows)
    return counts
