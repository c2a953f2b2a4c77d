"""年度工会工作计划: the plan workflow (DESIGN §7) and everything the views and the API do with it.

State machine (``WorkPlan.status``)::

    draft ──submit──▶ submitted ──approve──▶ approved ──edit──▶ draft (approval kept)
                          │  ▲
                       return │ submit (resubmission, after editing)
                          ▼  │
                        returned  (edits keep it "returned" until resubmitted)

* Every submit freezes an immutable ``PlanVersion`` (a JSON snapshot) and queues the dossier
  compile (JobRun ``plan_dossier``, one per version).
* Approving and returning name the version the reviewer saw; a returned plan cannot be
  approved until it is resubmitted; only district admins and staff review; an editor
  cannot submit; a chair cannot review.
* Editing after approval opens a new draft: ``status`` goes back to draft,
  ``has_unsubmitted_changes`` is set and ``approved_version_id`` keeps naming the approved
  version.

Refused transitions raise ``PlanError`` with a Chinese message. Nothing here commits: the
caller commits once, and the job run is handed to the queue after that commit
(``app.jobs.services.submit``).
"""
from __future__ import annotations

import copy
import difflib
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import and_, case, delete, event, false, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import attributes

from app.audit.services import ACTION_LABELS, record
from app.extensions import db
from app.i18n import N_, translate
from app.spreadsheets import safe_cell as excel_safe
from app.jobs import services as jobs
from app.plans.models import (
    APPROVED,
    CATEGORIES,
    DRAFT,
    RETURNED,
    SUBMITTED,
    PlanDeadline,
    PlanItem,
    PlanSection,
    PlanVersion,
    ReviewComment,
    ScheduledActivity,
    WorkPlan,
)
from tenants.models import School
from tenants.roles import roles_allow

CHINA = ZoneInfo("Asia/Shanghai")

ACTION_LABELS.update({
    "plan_saved": N_("保存工作计划草稿"),
    "plan_imported": N_("导入工作计划"),
    "plan_submitted": N_("提交工作计划"),
    "plan_returned": N_("退回工作计划"),
    "plan_approved": N_("通过工作计划"),
    "plan_deadline_set": N_("设置计划报送截止日期"),
    "plan_reminders_sent": N_("发送计划报送提醒"),
})

# Limits of the structured content (the form and the API both go through normalise()).
MAX_TITLE = 200
MAX_SECTION_TITLE = 300
MAX_TEXT = 20000
MAX_LINE = 2000
MAX_ROWS = 500

ANCHOR_RE = re.compile(r"^(guiding_ideology|goals|measures|schedule|unclassified|section:\d{1,3})$")
ANCHOR_LABELS = {"guiding_ideology": N_("指导思想"), "goals": N_("工作目标"), "measures": N_("落实措施"),
                 "schedule": N_("活动安排"), "unclassified": N_("未归类")}

# Tracking statuses (what the district sees per school).
NOT_SUBMITTED = "not_submitted"
TRACKING_LABELS = {NOT_SUBMITTED: N_("未提交"), SUBMITTED: N_("已提交"), RETURNED: N_("已退回"), APPROVED: N_("已通过")}
DECISION_LABELS = {SUBMITTED: N_("待审核"), RETURNED: N_("已退回"), APPROVED: N_("已通过")}


class PlanError(ValueError):
    """A refused transition or invalid content; the message is Chinese and shown to the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class Actor:
    """Who acts, with the roles of the current scope (services check them again)."""

    user_id: int | None
    roles: frozenset

    @classmethod
    def current(cls) -> "Actor":
        from flask import g
        from flask_login import current_user

        scope = g.get("scope")
        return cls(getattr(current_user, "id", None), frozenset(scope.roles) if scope else frozenset())

    def may(self, permission: str) -> bool:
        return roles_allow(self.roles, permission)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def today_china() -> date:
    return datetime.now(CHINA).date()


# --------------------------------------------------------------------------- reading

def get_plan(school_id: int, year: int) -> WorkPlan | None:
    return db.session.scalar(select(WorkPlan).where(WorkPlan.school_id == school_id, WorkPlan.year == year))


def plan_by_id(plan_id: int) -> WorkPlan | None:
    return db.session.scalar(select(WorkPlan).where(WorkPlan.id == plan_id))


def versions_of(plan: WorkPlan) -> list[PlanVersion]:
    return list(db.session.scalars(select(PlanVersion).where(PlanVersion.plan_id == plan.id)
                                   .order_by(PlanVersion.number.desc())))


def version_by_number(plan: WorkPlan, number: int) -> PlanVersion | None:
    return db.session.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan.id,
                                                       PlanVersion.number == number))


def latest_version(plan: WorkPlan) -> PlanVersion | None:
    if not plan.latest_version_no:
        return None
    return version_by_number(plan, plan.latest_version_no)


def approved_version(plan: WorkPlan) -> PlanVersion | None:
    if plan.approved_version_id is None:
        return None
    return db.session.scalar(select(PlanVersion).where(PlanVersion.id == plan.approved_version_id))


def comments_of(version: PlanVersion | None) -> dict[str, list[ReviewComment]]:
    """A version's review comments by anchor."""
    if version is None:
        return {}
    out: dict[str, list[ReviewComment]] = {}
    for comment in db.session.scalars(select(ReviewComment).where(ReviewComment.version_id == version.id)
                                      .order_by(ReviewComment.created_at, ReviewComment.id)):
        out.setdefault(comment.anchor, []).append(comment)
    return out


def open_comments(plan: WorkPlan) -> tuple[PlanVersion | None, dict[str, list[ReviewComment]]]:
    """The comments the chair must act on: those of the latest version if it was returned."""
    version = latest_version(plan)
    if version is None or version.decision != RETURNED:
        return None, {}
    return version, comments_of(version)


def deadline_for(year: int) -> PlanDeadline | None:
    return db.session.scalar(select(PlanDeadline).where(PlanDeadline.year == year))


def anchor_label(anchor: str, content: dict | None = None) -> str:
    if anchor.startswith("section:"):
        position = int(anchor.split(":", 1)[1])
        sections = (content or {}).get("sections") or []
        title = sections[position].get("title", "") if position < len(sections) else ""
        return (gettext("主要工作 · %(t)s", t=title) if title
                else gettext("主要工作（第 %(n)s 部分）", n=position + 1))
    return translate(ANCHOR_LABELS.get(anchor, anchor))


# --------------------------------------------------------------------------- content

def empty_content() -> dict:
    return {"title": "", "guiding_ideology": "", "goals": "", "sections": [], "measures": [],
            "schedule": [], "unclassified": []}


def plan_content(plan: WorkPlan) -> dict:
    """The draft as a JSON-able dict: the snapshot a submission freezes.

    ``schedule`` is a list of slots (months + activities, several activities per slot);
    each activity carries its ScheduledActivity id so that records can link to it.
    """
    sections = list(db.session.scalars(select(PlanSection).where(PlanSection.plan_id == plan.id)
                                       .order_by(PlanSection.position, PlanSection.id)))
    items = list(db.session.scalars(select(PlanItem).where(PlanItem.plan_id == plan.id)
                                    .order_by(PlanItem.position, PlanItem.id)))
    activities = list(db.session.scalars(select(ScheduledActivity).where(ScheduledActivity.plan_id == plan.id)
                                         .order_by(ScheduledActivity.position, ScheduledActivity.id)))
    by_section: dict[int, list[PlanItem]] = {}
    for item in items:
        by_section.setdefault(item.section_id, []).append(item)
    return {
        "title": plan.title or "",
        "guiding_ideology": plan.guiding_ideology or "",
        "goals": plan.goals or "",
        "sections": [{"title": s.title, "items": [{"text": i.text, "category": i.category}
                                                  for i in by_section.get(s.id, [])]} for s in sections],
        "measures": list(plan.measures or []),
        "schedule": group_slots([{"id": a.id, "months": list(a.months or []), "title": a.title,
                                  "category": a.category} for a in activities]),
        "unclassified": list(plan.unclassified or []),
    }


def group_slots(activities: list[dict]) -> list[dict]:
    """Consecutive activities with the same months form one slot."""
    slots: list[dict] = []
    for activity in activities:
        entry = {"id": activity.get("id"), "title": activity["title"], "category": activity.get("category", "other")}
        if slots and slots[-1]["months"] == list(activity["months"]):
            slots[-1]["activities"].append(entry)
        else:
            slots.append({"months": list(activity["months"]), "activities": [entry]})
    return slots


def flat_schedule(content: dict) -> list[dict]:
    return [{"id": a.get("id"), "months": list(slot.get("months") or []), "title": a.get("title", ""),
             "category": a.get("category", "other")}
            for slot in content.get("schedule") or [] for a in slot.get("activities") or []]


def without_ids(content: dict) -> dict:
    """The content as the reader sees it (activity ids left out): for comparing versions."""
    out = copy.deepcopy(content)
    for slot in out.get("schedule") or []:
        for activity in slot.get("activities") or []:
            activity.pop("id", None)
    return out


def is_empty(content: dict) -> bool:
    return not (
        (content.get("guiding_ideology") or "").strip()
        or (content.get("goals") or "").strip()
        or any(item.get("text", "").strip() for s in content.get("sections") or [] for item in s.get("items") or [])
        or any(m.strip() for m in content.get("measures") or [])
        or flat_schedule(content)
    )


def content_stats(content: dict) -> dict:
    schedule = content.get("schedule") or []
    return {
        "sections": len(content.get("sections") or []),
        "items": sum(len(s.get("items") or []) for s in content.get("sections") or []),
        "measures": len(content.get("measures") or []),
        "slots": len(schedule),
        "activities": sum(len(slot.get("activities") or []) for slot in schedule),
        "unclassified": len(content.get("unclassified") or []),
    }


def _text(value, limit: int, label: str, field: str) -> str:
    value = "" if value is None else str(value)
    value = value.replace("\r\n", "\n").strip()
    if len(value) > limit:
        raise PlanError(gettext("%(label)s不能超过 %(n)s 个字", label=translate(label), n=limit), field)
    return value


def _category(value) -> str:
    value = value or "other"
    if value not in CATEGORIES:
        raise PlanError(gettext("未知的类别：%(v)s", v=value), "category")
    return value


def _months(value) -> list[int]:
    try:
        months = [int(m) for m in value or []]
    except (TypeError, ValueError):
        raise PlanError(gettext("月份必须是 1 到 12 的整数"), "months") from None
    if not months or any(not 1 <= m <= 12 for m in months):
        raise PlanError(gettext("月份必须是 1 到 12 的整数"), "months")
    return list(dict.fromkeys(months))


def normalise(data: dict) -> dict:
    """Check and clean content coming from the editor, the import review or the API.

    ``schedule`` may be given as slots (``{"months", "activities": [...]}``) or flat
    (``{"months", "title", ...}``); the result is flat. Blank rows are left out.
    """
    sections = []
    for s_index, section in enumerate(data.get("sections") or []):
        title = _text(section.get("title"), MAX_SECTION_TITLE, N_("部分标题"), f"section-{s_index}-title")
        items = []
        for i_index, item in enumerate(section.get("items") or []):
            if isinstance(item, str):
                item = {"text": item}
            text = _text(item.get("text"), MAX_LINE, N_("工作条目"), f"section-{s_index}-item-{i_index}-text")
            if text:
                items.append({"text": text, "category": _category(item.get("category"))})
        if not title and items:
            raise PlanError(gettext("请填写主要工作各部分的标题"), f"section-{s_index}-title")
        if title or items:
            sections.append({"title": title, "items": items})
    schedule = []
    raw_schedule = data.get("schedule") or []
    if raw_schedule and "activities" in raw_schedule[0]:
        raw_schedule = flat_schedule({"schedule": raw_schedule})
    for index, activity in enumerate(raw_schedule):
        title = _text(activity.get("title"), MAX_LINE, N_("活动"), f"schedule-{index}")
        if not title:
            continue
        schedule.append({"id": activity.get("id"), "months": _months(activity.get("months")), "title": title,
                         "category": _category(activity.get("category"))})
    measures = [m for m in (_text(m, MAX_LINE, N_("落实措施"), "measures") for m in data.get("measures") or []) if m]
    unclassified = [u for u in (_text(u, MAX_LINE, N_("未归类内容"), "unclassified")
                                for u in data.get("unclassified") or []) if u]
    if max(len(sections), len(schedule), len(measures), len(unclassified),
           sum(len(s["items"]) for s in sections)) > MAX_ROWS:
        raise PlanError(gettext("计划条目过多（每部分最多 %(n)s 条）", n=MAX_ROWS))
    return {
        "title": _text(data.get("title"), MAX_TITLE, N_("计划标题"), "title"),
        "guiding_ideology": _text(data.get("guiding_ideology"), MAX_TEXT, N_("指导思想"), "guiding_ideology"),
        "goals": _text(data.get("goals"), MAX_TEXT, N_("工作目标"), "goals"),
        "sections": sections,
        "measures": measures,
        "schedule": schedule,
        "unclassified": unclassified,
    }


# --------------------------------------------------------------------------- editing

def _require(actor: Actor, permission: str, message: str) -> None:
    if not actor.may(permission):
        raise PlanError(message)


def new_plan(school: School, year: int) -> WorkPlan:
    plan = WorkPlan(district_id=school.district_id, school_id=school.id, year=year, status=DRAFT,
                    title=f"{school.name}{year}年工会工作计划", measures=[], unclassified=[])
    db.session.add(plan)
    db.session.flush()
    return plan


def check_editable(plan: WorkPlan | None) -> None:
    if plan is not None and plan.status == SUBMITTED:
        raise PlanError(gettext("计划已提交，正在等待区教育工会审核，暂不能修改"))


def save_draft(school: School, year: int, data: dict, actor: Actor, *, action: str = "plan_saved") -> WorkPlan:
    """Save the structured content as the school's draft for ``year`` (creating the plan).

    Existing ScheduledActivity rows keep their ids: by the id the editor sent back, or,
    for rows without one (an import), by the same months and title. Rows no longer in the
    plan are deleted (activity records linked to them are unlinked by the database).
    """
    _require(actor, "school.edit", gettext("只有学校工会主席或工会委员可以编辑工作计划"))
    plan = get_plan(school.id, year)
    check_editable(plan)
    content = normalise(data)
    if plan is None:
        plan = new_plan(school, year)
    plan.title = content["title"] or plan.title
    plan.guiding_ideology = content["guiding_ideology"]
    plan.goals = content["goals"]
    plan.measures = content["measures"]
    plan.unclassified = content["unclassified"]
    _replace_sections(plan, content["sections"])
    _merge_schedule(plan, content["schedule"])
    db.session.flush()
    _after_edit(plan)
    record(action, target=plan, details={"year": year, **content_stats(plan_content(plan))})
    return plan


def _replace_sections(plan: WorkPlan, sections: list[dict]) -> None:
    db.session.execute(delete(PlanItem).where(PlanItem.plan_id == plan.id).execution_options(
        synchronize_session=False))
    db.session.execute(delete(PlanSection).where(PlanSection.plan_id == plan.id).execution_options(
        synchronize_session=False))
    for position, section in enumerate(sections):
        row = PlanSection(district_id=plan.district_id, school_id=plan.school_id, plan_id=plan.id,
                          position=position, title=section["title"])
        db.session.add(row)
        db.session.flush()
        db.session.add_all(PlanItem(district_id=plan.district_id, school_id=plan.school_id, plan_id=plan.id,
                                    section_id=row.id, position=i, text=item["text"], category=item["category"])
                           for i, item in enumerate(section["items"]))


def _merge_schedule(plan: WorkPlan, schedule: list[dict]) -> None:
    existing = {row.id: row for row in db.session.scalars(
        select(ScheduledActivity).where(ScheduledActivity.plan_id == plan.id))}
    claimed: set[int] = set()

    def parse_id(value):
        try:
            return int(value)
        except (TypeError, ValueError):
            return None

    # First the rows that name their id, then rows matched by months and title.
    rows: list[ScheduledActivity | None] = []
    for activity in schedule:
        row_id = parse_id(activity.get("id"))
        row = existing.get(row_id) if row_id not in claimed else None
        if row is not None:
            claimed.add(row.id)
        rows.append(row)
    for index, activity in enumerate(schedule):
        if rows[index] is not None:
            continue
        for row in existing.values():
            if row.id not in claimed and row.title == activity["title"] and list(row.months) == activity["months"]:
                rows[index] = row
                claimed.add(row.id)
                break
    for position, (activity, row) in enumerate(zip(schedule, rows)):
        if row is None:
            row = ScheduledActivity(district_id=plan.district_id, school_id=plan.school_id, plan_id=plan.id)
            db.session.add(row)
        row.months = list(activity["months"])
        row.first_month = activity["months"][0]
        row.position = position
        row.title = activity["title"]
        row.category = activity["category"]
    gone = [row_id for row_id in existing if row_id not in claimed]
    if gone:
        from app.activities.services import detach_from_scheduled

        # Activity records linked to a removed planned activity stay, unlinked.
        detach_from_scheduled(gone)
        db.session.flush()
        for row_id in gone:
            db.session.delete(existing[row_id])


def _after_edit(plan: WorkPlan) -> None:
    """Track whether the draft differs from the last submitted version."""
    last = latest_version(plan)
    if last is None:
        plan.has_unsubmitted_changes = False
        return
    changed = without_ids(plan_content(plan)) != without_ids(last.content or {})
    plan.has_unsubmitted_changes = changed
    if plan.status == APPROVED and changed:
        plan.status = DRAFT  # a new draft; approved_version_id keeps naming the approval
    elif plan.status == DRAFT and not changed and plan.approved_version_id == last.id:
        plan.status = APPROVED  # the edits were undone: the approved version is current again
    plan.updated_at = _now()


# --------------------------------------------------------------------------- transitions

def submit(plan: WorkPlan, actor: Actor) -> PlanVersion:
    """draft/returned → submitted: freeze a version and queue its dossier compile."""
    _require(actor, "school.submit", gettext("只有学校工会主席可以提交工作计划，工会委员不能提交"))
    if plan.status == SUBMITTED:
        raise PlanError(gettext("计划已提交，正在等待审核，不能重复提交"))
    if plan.status == APPROVED:
        raise PlanError(gettext("计划已通过审核，没有需要提交的修改"))
    content = plan_content(plan)
    if is_empty(content):
        raise PlanError(gettext("计划内容为空，不能提交。请先填写指导思想、主要工作或活动安排"))
    last = latest_version(plan)
    if plan.status == RETURNED and last is not None and without_ids(content) == without_ids(last.content or {}):
        raise PlanError(gettext("计划退回后尚未修改，请按审核意见修改后再提交"))
    now = _now()
    version = PlanVersion(district_id=plan.district_id, school_id=plan.school_id, plan_id=plan.id,
                          number=plan.latest_version_no + 1, content=copy.deepcopy(content), submitted_at=now,
                          submitted_by=actor.user_id, decision=SUBMITTED)
    try:
        with db.session.begin_nested():  # a concurrent submit (double click) took this number
            db.session.add(version)
            db.session.flush()
    except IntegrityError:
        raise PlanError(gettext("计划已提交，请勿重复提交")) from None
    resubmission = plan.latest_version_no > 0
    plan.latest_version_no = version.number
    plan.status = SUBMITTED
    plan.has_unsubmitted_changes = False
    plan.first_submitted_at = plan.first_submitted_at or now
    plan.last_submitted_at = now
    run = jobs.submit("plan_dossier", f"plan-dossier-v{version.id}",
                      {"plan_id": plan.id, "version_id": version.id}, school_id=plan.school_id,
                      actor_user_id=actor.user_id)
    version.dossier_run_id = run.id
    record("plan_submitted", target=plan, details={"year": plan.year, "version": version.number,
                                                   "resubmission": resubmission})
    return version


def _reviewable_version(plan: WorkPlan, number: int | None, actor: Actor) -> PlanVersion:
    _require(actor, "plans.review", gettext("只有区教育工会管理员或工作人员可以审核工作计划"))
    if plan.status == RETURNED:
        raise PlanError(gettext("计划已退回，须学校修改并重新提交后才能审核"))
    if plan.status == APPROVED:
        raise PlanError(gettext("计划已通过审核"))
    if plan.status != SUBMITTED:
        raise PlanError(gettext("计划尚未提交，不能审核"))
    version = latest_version(plan)
    if number is None or version is None or version.number != number:
        raise PlanError(gettext("审核的版本不是最新提交的版本，请刷新页面后再审核"))
    if version.decision != SUBMITTED:
        raise PlanError(gettext("该版本已审核"))
    return version


def approve(plan: WorkPlan, number: int | None, actor: Actor, note: str = "") -> PlanVersion:
    """submitted → approved; the approval names the version."""
    version = _reviewable_version(plan, number, actor)
    now = _now()
    version.decision, version.decided_at, version.decided_by = APPROVED, now, actor.user_id
    version.decision_note = _text(note, MAX_LINE, N_("审核意见"), "note")
    plan.status = APPROVED
    plan.approved_version_id = version.id
    plan.approved_at = now
    plan.has_unsubmitted_changes = False
    record("plan_approved", target=plan, details={"year": plan.year, "version": version.number})
    return version


def return_plan(plan: WorkPlan, number: int | None, comments: list[tuple[str, str]], actor: Actor,
                note: str = "") -> PlanVersion:
    """submitted → returned, with comments attached to parts of the version."""
    version = _reviewable_version(plan, number, actor)
    note = _text(note, MAX_LINE, N_("退回说明"), "note")
    cleaned = []
    for anchor, text in comments:
        text = _text(text, MAX_LINE, N_("审核意见"), f"comment-{anchor}")
        if not text:
            continue
        if not ANCHOR_RE.match(anchor or ""):
            raise PlanError(gettext("审核意见所指的部分无效"))
        cleaned.append((anchor, text))
    if not cleaned and not note:
        raise PlanError(gettext("退回时请至少填写一条修改意见"))
    now = _now()
    version.decision, version.decided_at, version.decided_by = RETURNED, now, actor.user_id
    version.decision_note = note
    db.session.add_all(ReviewComment(district_id=plan.district_id, school_id=plan.school_id,
                                     version_id=version.id, anchor=anchor, text=text, author_id=actor.user_id)
                       for anchor, text in cleaned)
    plan.status = RETURNED
    record("plan_returned", target=plan, details={"year": plan.year, "version": version.number,
                                                  "comments": len(cleaned)})
    return version


@event.listens_for(PlanVersion, "before_update")
def _versions_are_immutable(mapper, connection, target):
    """A submitted version never changes; only the review decision on it is written."""
    for name in ("content", "number", "plan_id", "submitted_at", "submitted_by", "school_id"):
        if attributes.get_history(target, name).has_changes():
            raise PlanError(gettext("已提交的计划版本不可修改"))


# --------------------------------------------------------------------------- diff

def content_lines(content: dict) -> list[str]:
    """The snapshot as readable lines, each prefixed by its part (for a line diff)."""
    lines = []
    if content.get("title"):
        lines.append(f"【标题】{content['title']}")
    for key, label in (("guiding_ideology", "指导思想"), ("goals", "工作目标")):
        for text in (content.get(key) or "").splitlines():
            if text.strip():
                lines.append(f"【{label}】{text.strip()}")
    for n, section in enumerate(content.get("sections") or [], 1):
        lines.append(f"【主要工作】{n}. {section.get('title', '')}")
        for item in section.get("items") or []:
            label = CATEGORIES.get(item.get("category"), "其他")
            lines.append(f"【主要工作】{n}. {section.get('title', '')} · [{label}] {item.get('text', '')}")
    for text in content.get("measures") or []:
        lines.append(f"【落实措施】{text}")
    for slot in content.get("schedule") or []:
        months = months_label(slot.get("months") or [])
        for activity in slot.get("activities") or []:
            label = CATEGORIES.get(activity.get("category"), "其他")
            lines.append(f"【活动安排】{months}：{activity.get('title', '')} [{label}]")
    for text in content.get("unclassified") or []:
        lines.append(f"【未归类】{text}")
    return lines


def diff_lines(old: dict, new: dict) -> list[tuple[str, str]]:
    """(op, line) with op ' ' unchanged, '-' removed, '+' added."""
    a, b = content_lines(old), content_lines(new)
    out: list[tuple[str, str]] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag == "equal":
            out.extend((" ", line) for line in a[i1:i2])
            continue
        out.extend(("-", line) for line in a[i1:i2])
        out.extend(("+", line) for line in b[j1:j2])
    return out


def collapse_diff(diff: list[tuple[str, str]], context: int = 1) -> list[tuple[str, str]]:
    """Keep changed lines and ``context`` unchanged lines around them; longer unchanged runs
    become one ("…", "N 行未改动") entry."""
    keep = [False] * len(diff)
    for index, (op, _) in enumerate(diff):
        if op != " ":
            for near in range(max(0, index - context), min(len(diff), index + context + 1)):
                keep[near] = True
    out: list[tuple[str, str]] = []
    skipped = 0
    for flag, entry in zip(keep, diff):
        if flag:
            if skipped:
                out.append(("…", gettext("%(n)s 行未改动", n=skipped)))
                skipped = 0
            out.append(entry)
        else:
            skipped += 1
    if skipped and out:
        out.append(("…", gettext("%(n)s 行未改动", n=skipped)))
    return out


def diff_base(plan: WorkPlan, version: PlanVersion) -> PlanVersion | None:
    """The version to compare with: the latest earlier one that was returned (or approved)."""
    return db.session.scalar(
        select(PlanVersion).where(PlanVersion.plan_id == plan.id, PlanVersion.number < version.number,
                                  PlanVersion.decision.in_([RETURNED, APPROVED]))
        .order_by(PlanVersion.number.desc()).limit(1))


_CN_MONTHS = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二"]


def months_label(months: list[int]) -> str:
    """[7, 8] → 七、八月."""
    return "、".join(_CN_MONTHS[m] for m in months if 1 <= m <= 12) + "月" if months else "（未定月份）"


# --------------------------------------------------------------------------- the dossier job

@jobs.handler("plan_dossier")
def compile_dossier(run, progress) -> dict:
    """The submission dossier (材料汇编) of one plan version: a PDF compiled by
    app.compilation, keyed by the version (a re-run replaces the same artifact)."""
    from app.compilation.dossiers import plan_dossier_job

    return plan_dossier_job(run, progress)


# --------------------------------------------------------------------------- deadline & tracking

def set_deadline(year: int, due_on: date, actor: Actor) -> PlanDeadline:
    _require(actor, "plans.deadline", gettext("只有区教育工会管理员可以设置截止日期"))
    if not isinstance(due_on, date):
        raise PlanError(gettext("请填写有效的截止日期"), "due_on")
    deadline = deadline_for(year)
    if deadline is None:
        deadline = PlanDeadline(year=year, due_on=due_on)
        db.session.add(deadline)
    deadline.due_on = due_on
    db.session.flush()
    record("plan_deadline_set", target=deadline, details={"year": year, "due_on": due_on.isoformat()})
    return deadline


def deadline_cutoff(due_on: date) -> datetime:
    """The first instant after the deadline day (China time), in UTC."""
    return datetime.combine(due_on + timedelta(days=1), time(0), CHINA).astimezone(timezone.utc)


def _plan_join(year: int):
    return and_(WorkPlan.district_id == School.district_id, WorkPlan.school_id == School.id, WorkPlan.year == year)


def tracking_status_expr():
    return case(
        (WorkPlan.id.is_(None), NOT_SUBMITTED),
        (WorkPlan.status == SUBMITTED, SUBMITTED),
        (WorkPlan.status == RETURNED, RETURNED),
        (WorkPlan.status == APPROVED, APPROVED),
        (WorkPlan.approved_version_id.is_not(None), APPROVED),
        else_=NOT_SUBMITTED,
    )


def _late_expr(due_on: date | None, today: date):
    if due_on is None:
        return None
    submitted_late = and_(WorkPlan.first_submitted_at.is_not(None),
                          WorkPlan.first_submitted_at >= deadline_cutoff(due_on))
    if today > due_on:
        return or_(submitted_late, WorkPlan.first_submitted_at.is_(None))
    return submitted_late


@dataclass
class TrackingRow:
    school: School
    plan: WorkPlan | None
    status: str
    late: bool
    chairs: list[str]

    @property
    def status_label(self) -> str:
        return TRACKING_LABELS[self.status]


def tracking_query(year: int, *, status: str = "", q: str = "", late_only: bool = False,
                   due_on: date | None = None, today: date | None = None):
    """Every active school of the district with its plan for ``year`` (one SELECT)."""
    today = today or today_china()
    status_expr = tracking_status_expr()
    stmt = (select(School, WorkPlan, status_expr.label("tracking_status"))
            .outerjoin(WorkPlan, _plan_join(year)).where(School.active.is_(True)))
    if q:
        like = f"%{q.strip()}%"
        stmt = stmt.where(or_(School.name.like(like), School.code.like(like)))
    if status in TRACKING_LABELS:
        stmt = stmt.where(status_expr == status)
    if late_only:
        late = _late_expr(due_on, today)
        stmt = stmt.where(late if late is not None else false())
    return stmt.order_by(School.name, School.id)


def tracking_rows(rows, due_on: date | None, today: date | None = None) -> list[TrackingRow]:
    """Rows of ``tracking_query`` with late flags and chairs (one more query for the chairs)."""
    today = today or today_china()
    chairs = chairs_by_school([school.id for school, _, _ in rows])
    out = []
    for school, plan, status in rows:
        first = plan.first_submitted_at if plan is not None else None
        late = False
        if due_on is not None:
            late = first >= deadline_cutoff(due_on) if first is not None else today > due_on
        out.append(TrackingRow(school, plan, status, late, chairs.get(school.id, [])))
    return out


def tracking_counts(year: int) -> dict[str, int]:
    """Schools per tracking status (grouped on plain columns: PostgreSQL does not match a
    CASE with bound parameters in SELECT against the same CASE in GROUP BY)."""
    has_approval = WorkPlan.approved_version_id.is_not(None)
    rows = db.session.execute(select(WorkPlan.status, has_approval, func.count()).select_from(School)
                              .outerjoin(WorkPlan, _plan_join(year)).where(School.active.is_(True))
                              .group_by(WorkPlan.status, has_approval)).all()
    counts = {key: 0 for key in TRACKING_LABELS}
    for status, approved_before, n in rows:
        if status in (SUBMITTED, RETURNED, APPROVED):
            key = status
        else:  # no plan, or a draft (after an approval it still counts as approved)
            key = APPROVED if status == DRAFT and approved_before else NOT_SUBMITTED
        counts[key] += n
    counts["total"] = sum(n for _, _, n in rows)
    return counts


def chairs_by_school(school_ids) -> dict[int, list[str]]:
    from app.accounts.models import User
    from tenants.models import Membership

    if not school_ids:
        return {}
    out: dict[int, list[str]] = {}
    for school_id, name in db.session.execute(
            select(Membership.school_id, User.display_name).join(User, User.id == Membership.user_id)
            .where(Membership.school_id.in_(list(school_ids)), Membership.role == "school_chair")
            .order_by(User.display_name)):
        out.setdefault(school_id, []).append(name)
    return out


def review_queue(year: int | None = None, status: str = SUBMITTED, q: str = ""):
    """Plans of the district for the review list (default: waiting for review)."""
    stmt = select(WorkPlan, School).join(School, and_(School.district_id == WorkPlan.district_id,
                                                      School.id == WorkPlan.school_id))
    if year:
        stmt = stmt.where(WorkPlan.year == year)
    if status in (SUBMITTED, RETURNED, APPROVED, DRAFT):
        stmt = stmt.where(WorkPlan.status == status)
    if q:
        stmt = stmt.where(School.name.like(f"%{q.strip()}%"))
    return stmt.order_by(WorkPlan.last_submitted_at.asc(), School.name)


# --------------------------------------------------------------------------- export




def tracking_workbook(year: int, rows: list[TrackingRow], due_on: date | None) -> bytes:
    import io

    from openpyxl import Workbook

    from app.templating import local_time

    wb = Workbook()
    ws = wb.active
    ws.title = f"{year}年计划报送"
    ws.append(["学校名称", "学校代码", "工会主席", "状态", "首次提交", "最近提交", "通过时间", "是否逾期",
               "版本数", "截止日期"])
    for row in rows:
        plan = row.plan
        ws.append([excel_safe(v) for v in (
            row.school.name, row.school.code or "", "、".join(row.chairs), row.status_label,
            local_time(plan.first_submitted_at) if plan else "", local_time(plan.last_submitted_at) if plan else "",
            local_time(plan.approved_at) if plan else "", "逾期" if row.late else "",
            plan.latest_version_no if plan else 0, due_on.isoformat() if due_on else "")])
    for column, width in zip("ABCDEFGHIJ", (28, 12, 14, 8, 18, 18, 18, 8, 8, 12)):
        ws.column_dimensions[column].width = width
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()
