"""活动记录 (ActivityRecord): what a school union did, its photos and files, and the plan's
completion rate (计划完成率 = planned activities done / planned activities).

Everything runs in the caller's scope (request or job): the ORM filter keeps queries to the
district and, for school users, to their school; the checks below still name the school and
year explicitly, so a wrong id is refused even in a wider scope.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask_babel import gettext
from sqlalchemy import Integer, bindparam, extract, func, select, true, tuple_

from app.activities.models import ActivityFile, ActivityRecord
from app.audit.services import record as audit
from app.extensions import db
from app.i18n import N_, months_text, translate
from app.spreadsheets import safe_cell
from app.plans.models import CATEGORIES, STATUS_LABELS, ScheduledActivity, WorkPlan
from app.uploads import DOCUMENT_KINDS, IMAGE_KINDS, KINDS, UploadError, check_file, normalise_name, store
from tenants.models import School

CHINA = ZoneInfo("Asia/Shanghai")
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_RECORD = 30
MAX_PARTICIPANTS = 100000
MAX_DESCRIPTION = 10000
ALLOWED_KINDS = IMAGE_KINDS | DOCUMENT_KINDS
ACCEPT = ",".join(sorted({e for k in ALLOWED_KINDS for e in KINDS[k].extensions}))

CN_MONTHS = ("一", "二", "三", "四", "五", "六", "七", "八", "九", "十", "十一", "十二")
NO_PLAN = "none"
PLAN_STATUS_LABELS = {**STATUS_LABELS, NO_PLAN: N_("未填写")}


class ActivityError(ValueError):
    """A rule refused the input; ``field`` names the form field (message in Chinese)."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def today() -> date:
    return datetime.now(CHINA).date()


def current_year() -> int:
    return today().year


def month_label(month: int) -> str:
    return months_text([month], f"{CN_MONTHS[month - 1]}月" if 1 <= month <= 12 else f"{month}月")


def slot_label(months) -> str:
    """A month slot as written in plans: [3] → 三月, [7, 8] → 七、八月."""
    months = [m for m in (months or []) if isinstance(m, int) and 1 <= m <= 12]
    if not months:
        return months_text([], "未定月份")
    return months_text(months, "、".join(CN_MONTHS[m - 1] for m in sorted(set(months))) + "月")


def slot_months(activity: ScheduledActivity) -> list[int]:
    months = sorted({m for m in (activity.months or []) if isinstance(m, int) and 1 <= m <= 12})
    return months or ([activity.first_month] if activity.first_month and 1 <= activity.first_month <= 12 else [])


def category_label(code: str) -> str:
    return translate(CATEGORIES.get(code, code or "其他"))


# --- planned activities of a school's plan ---------------------------------------------------

def _scheduled_of(school_id: int, year: int):
    return (select(ScheduledActivity)
            .join(WorkPlan, (WorkPlan.district_id == ScheduledActivity.district_id)
                  & (WorkPlan.id == ScheduledActivity.plan_id))
            .where(WorkPlan.school_id == school_id, WorkPlan.year == year,
                   ScheduledActivity.school_id == school_id))


def scheduled_activities(school_id: int, year: int) -> list[ScheduledActivity]:
    """The planned activities of the school's plan for ``year``, in month order."""
    stmt = _scheduled_of(school_id, year).order_by(ScheduledActivity.first_month, ScheduledActivity.position,
                                                   ScheduledActivity.id)
    return list(db.session.scalars(stmt))


def scheduled_activity_for(school_id: int, year: int, scheduled_id: int) -> ScheduledActivity | None:
    """A planned activity of this school's plan of this year, or None."""
    return db.session.scalar(_scheduled_of(school_id, year).where(ScheduledActivity.id == scheduled_id))


def scheduled_choices(school_id: int, year: int) -> list[tuple[int, str]]:
    return [(a.id, f"【{slot_label(slot_months(a))}】{a.title}") for a in scheduled_activities(school_id, year)]


def scheduled_by_ids(ids) -> dict[int, ScheduledActivity]:
    ids = {i for i in ids if i}
    if not ids:
        return {}
    return {a.id: a for a in db.session.scalars(select(ScheduledActivity).where(ScheduledActivity.id.in_(ids)))}


def detach_from_scheduled(scheduled_ids) -> int:
    """Unlink records from planned activities about to be deleted (the records stay).

    The composite foreign key's ON DELETE SET NULL would also null ``district_id``, so code
    that deletes ScheduledActivity rows calls this first."""
    ids = [i for i in scheduled_ids if i]
    if not ids:
        return 0
    records = db.session.scalars(select(ActivityRecord).where(ActivityRecord.scheduled_activity_id.in_(ids))).all()
    for rec in records:
        rec.scheduled_activity_id = None
    return len(records)


# --- records -----------------------------------------------------------------------------

def _clean(school: School, data: dict) -> dict:
    held_on = data.get("held_on")
    if not isinstance(held_on, date):
        raise ActivityError(gettext("请填写活动日期（如 2026-03-08）"), "held_on")
    if not 2000 <= held_on.year <= 2100:
        raise ActivityError(gettext("活动日期的年份不正确"), "held_on")
    title = " ".join((data.get("title") or "").split())
    if not title:
        raise ActivityError(gettext("请填写活动名称"), "title")
    if len(title) > 200:
        raise ActivityError(gettext("活动名称不能超过 200 个字"), "title")
    category = data.get("category") or ""
    if category not in CATEGORIES:
        raise ActivityError(gettext("请选择活动类别"), "category")
    participants = data.get("participants")
    participants = 0 if participants in (None, "") else participants
    if not isinstance(participants, int) or isinstance(participants, bool) or not 0 <= participants <= MAX_PARTICIPANTS:
        raise ActivityError(gettext("参与人数应为 0 到 %(n)s 之间的整数", n=MAX_PARTICIPANTS), "participants")
    description = (data.get("description") or "").strip()
    if len(description) > MAX_DESCRIPTION:
        raise ActivityError(gettext("活动内容不能超过 %(n)s 个字", n=MAX_DESCRIPTION), "description")
    scheduled_id = data.get("scheduled_activity_id") or None
    if scheduled_id is not None:
        activity = scheduled_activity_for(school.id, held_on.year, scheduled_id)
        if activity is None or activity.school_id != school.id or activity.district_id != school.district_id:
            raise ActivityError(gettext("所选计划活动不属于本校 %(y)s 年的工作计划（请核对活动日期的年份）", y=held_on.year),
                                "scheduled_activity_id")
    return {"held_on": held_on, "year": held_on.year, "title": title, "category": category,
            "participants": participants, "description": description, "scheduled_activity_id": scheduled_id}


def check_uploads(files) -> list[tuple[str, bytes, object]]:
    """Check every (filename, bytes) before anything is written; raises on the first bad one."""
    checked = []
    for filename, data in files:
        try:
            kind = check_file(data, filename, ALLOWED_KINDS, MAX_FILE_BYTES)
        except UploadError as exc:
            raise ActivityError(str(exc), "files")
        checked.append((normalise_name(filename), data, kind))
    if len(checked) > MAX_FILES_PER_RECORD:
        raise ActivityError(gettext("每条活动记录最多 %(n)s 个文件", n=MAX_FILES_PER_RECORD), "files")
    return checked


def save_record(school: School, data: dict, *, record: ActivityRecord | None = None, files=(),
                user_id: int | None = None) -> tuple[ActivityRecord, list[str]]:
    """Create (``record`` None) or update a record of ``school`` and attach ``files``
    ((name, bytes) pairs). Returns the record and the stored paths (to remove if the commit
    fails). Nothing is written when any field or file is refused."""
    if record is not None and (record.school_id != school.id or record.district_id != school.district_id):
        raise ActivityError(gettext("活动记录不属于本校"))
    cleaned = _clean(school, data)
    checked = check_uploads(files)
    if record is None:
        record = ActivityRecord(district_id=school.district_id, school_id=school.id, created_by=user_id, **cleaned)
        db.session.add(record)
        db.session.flush()
        audit("activity_created", target=record, details={"title": record.title})
    else:
        if checked and file_count(record) + len(checked) > MAX_FILES_PER_RECORD:
            raise ActivityError(gettext("每条活动记录最多 %(n)s 个文件", n=MAX_FILES_PER_RECORD), "files")
        for key, value in cleaned.items():
            setattr(record, key, value)
        audit("activity_updated", target=record, details={"title": record.title})
    stored = _attach(record, checked)
    return record, stored


def record_refused_upload(school: School, message: str) -> None:
    """Audit a refused upload; commits on its own (the refused change was rolled back)."""
    audit("upload_rejected", target_type="School", target_id=school.id, district_id=school.district_id,
          school_id=school.id, details={"area": "activities", "reason": message}, commit=True)


def add_files(record: ActivityRecord, files) -> list[str]:
    """Attach more files to an existing record; returns the stored paths."""
    checked = check_uploads(files)
    if not checked:
        raise ActivityError(gettext("请选择要上传的文件"), "files")
    if file_count(record) + len(checked) > MAX_FILES_PER_RECORD:
        raise ActivityError(gettext("每条活动记录最多 %(n)s 个文件", n=MAX_FILES_PER_RECORD), "files")
    return _attach(record, checked)


def _attach(record: ActivityRecord, checked) -> list[str]:
    stored = []
    try:
        for name, data, kind in checked:
            path = store(record.district_id, f"activities/{record.school_id}", data, kind.suffix)
            stored.append(path)
            db.session.add(ActivityFile(district_id=record.district_id, school_id=record.school_id,
                                        record_id=record.id, original_name=name, stored_path=path,
                                        content_type=kind.mimetype, size=len(data)))
            audit("activity_file_added", target=record, details={"file": name, "size": len(data)})
        db.session.flush()
    except Exception:
        discard(stored)
        raise
    return stored


def discard(paths) -> None:
    """Remove stored files (after a failed commit, or after the commit that deleted their rows)."""
    from app.uploads import remove

    for path in paths:
        remove(path)


def record_for(school: School, record_id: int) -> ActivityRecord | None:
    """The record with this id if it belongs to ``school`` (else None: the view answers 404)."""
    rec = db.session.get(ActivityRecord, (school.district_id, record_id))
    if rec is None or rec.school_id != school.id:
        return None
    return rec


def file_for(record: ActivityRecord, file_id: int) -> ActivityFile | None:
    upload = db.session.get(ActivityFile, (record.district_id, file_id))
    if upload is None or upload.record_id != record.id or upload.school_id != record.school_id:
        return None
    return upload


def files_of(record: ActivityRecord) -> list[ActivityFile]:
    return list(db.session.scalars(select(ActivityFile).where(ActivityFile.record_id == record.id,
                                                              ActivityFile.school_id == record.school_id)
                                   .order_by(ActivityFile.uploaded_at, ActivityFile.id)))


def file_count(record: ActivityRecord) -> int:
    return db.session.scalar(select(func.count(ActivityFile.id)).where(ActivityFile.record_id == record.id)) or 0


def file_counts(record_ids) -> dict[int, int]:
    ids = list(record_ids)
    if not ids:
        return {}
    rows = db.session.execute(select(ActivityFile.record_id, func.count(ActivityFile.id))
                              .where(ActivityFile.record_id.in_(ids)).group_by(ActivityFile.record_id))
    return dict(rows.all())


def delete_file(upload: ActivityFile) -> str:
    """Delete the row; returns the stored path to remove after the commit."""
    audit("activity_file_deleted", target_type="ActivityFile", target_id=upload.id, school_id=upload.school_id,
          details={"file": upload.original_name, "record_id": upload.record_id})
    path = upload.stored_path
    db.session.delete(upload)
    return path


def delete_record(record: ActivityRecord) -> list[str]:
    """Delete a record and its files' rows; returns the stored paths to remove after the commit."""
    paths = []
    for upload in files_of(record):
        paths.append(upload.stored_path)
        db.session.delete(upload)
    audit("activity_deleted", target=record, details={"title": record.title})
    db.session.delete(record)
    db.session.flush()
    return paths


def records_query(school_id: int, year: int | None = None, month: int | None = None, category: str | None = None):
    stmt = select(ActivityRecord).where(ActivityRecord.school_id == school_id)
    if year:
        stmt = stmt.where(ActivityRecord.year == year)
    if month and 1 <= month <= 12:
        stmt = stmt.where(extract("month", ActivityRecord.held_on) == month)
    if category in CATEGORIES:
        stmt = stmt.where(ActivityRecord.category == category)
    return stmt.order_by(ActivityRecord.held_on.desc(), ActivityRecord.id.desc())


def record_years(school_id: int) -> list[int]:
    years = set(db.session.scalars(select(ActivityRecord.year).where(ActivityRecord.school_id == school_id).distinct()))
    years.add(current_year())
    return sorted(years, reverse=True)


# --- completion (计划完成率) ---------------------------------------------------------------

@dataclass
class Completion:
    school_id: int
    school_name: str = ""
    plan_status: str = NO_PLAN
    planned: int = 0
    done: int = 0
    records: int = 0

    @property
    def rate(self) -> float | None:
        """Planned activities done / planned activities; None when nothing is planned."""
        return None if not self.planned else self.done / self.planned

    @property
    def plan_status_label(self) -> str:
        return PLAN_STATUS_LABELS.get(self.plan_status, self.plan_status)

    def as_dict(self) -> dict:
        return {"school_id": self.school_id, "school_name": self.school_name, "plan_status": self.plan_status,
                "plan_status_label": self.plan_status_label, "planned": self.planned, "done": self.done,
                "rate": self.rate, "records": self.records}


def format_rate(rate: float | None) -> str:
    """0.6667 → "66.7%"; None → "—" (nothing planned)."""
    if rate is None:
        return "—"
    text = f"{rate * 100:.1f}".rstrip("0").rstrip(".")
    return f"{text}%"


@functools.cache
def _figures_statement(dialect: str, one_school: bool):
    """The statement of ``_figures`` (parameters ``year`` and ``school_id``), built once per
    dialect and shape: building it costs more than running it from SQLAlchemy's compiled cache.

    Every figure is looked up per school (the school's plan of the year by its unique key, the
    plan's ~20 activities, the school's records of the year), so the plan is nested loops over
    indexes whatever PostgreSQL estimates for the row-level-security filters, with a custom plan
    or a generic one. A joined aggregate was hashed or not depending on those estimates: the old
    EXISTS per planned activity probed the record index 9,000 times for 500 schools, and a join
    of grouped records compared every school with every group under a generic plan. "Has a
    record" is one probe of a hash of the district's linked (activity, school) pairs, built once
    per statement."""
    year = bindparam("year", type_=Integer)
    status = (select(WorkPlan.status)
              .where(WorkPlan.district_id == School.district_id, WorkPlan.school_id == School.id,
                     WorkPlan.year == year).scalar_subquery())
    records = (select(func.count(ActivityRecord.id))
               .where(ActivityRecord.district_id == School.district_id, ActivityRecord.school_id == School.id,
                      ActivityRecord.year == year).scalar_subquery())
    linked = tuple_(ScheduledActivity.id, ScheduledActivity.school_id).in_(
        select(ActivityRecord.scheduled_activity_id, ActivityRecord.school_id)
        .where(ActivityRecord.scheduled_activity_id.is_not(None)))
    counts = (select(func.count(ScheduledActivity.id).label("planned"),
                     func.count(ScheduledActivity.id).filter(linked).label("done"))
              .select_from(WorkPlan)
              .join(ScheduledActivity, (ScheduledActivity.district_id == WorkPlan.district_id)
                    & (ScheduledActivity.plan_id == WorkPlan.id) & (ScheduledActivity.school_id == WorkPlan.school_id))
              .where(WorkPlan.district_id == School.district_id, WorkPlan.school_id == School.id,
                     WorkPlan.year == year))
    if dialect == "postgresql":  # a lateral sub-select: both counts from one pass over the activities
        per_plan = counts.lateral()
        stmt = (select(School.id, School.name, status, per_plan.c.planned, per_plan.c.done, records)
                .select_from(School).outerjoin(per_plan, true()))
    else:  # SQLite has no LATERAL: the same sub-select, once per count
        planned = counts.with_only_columns(counts.selected_columns.planned).scalar_subquery()
        done = counts.with_only_columns(counts.selected_columns.done).scalar_subquery()
        stmt = select(School.id, School.name, status, planned, done, records)
    if one_school:
        return stmt.where(School.id == bindparam("school_id"))
    return stmt.where(School.active.is_(True)).order_by(School.name)


def _figures(year: int, school_id: int | None = None):
    """One statement: per school of the scope (active ones, or ``school_id``) its id, name, plan
    status (None: no plan for ``year``), planned activities, those done and its records of
    ``year``. A school has at most one plan a year."""
    stmt = _figures_statement(db.session.get_bind().dialect.name, school_id is not None)
    params = {"year": year} if school_id is None else {"year": year, "school_id": school_id}
    return db.session.execute(stmt, params).all()


def _completion(row, name: str | None = None) -> Completion:
    school_id, school_name, status, planned, done, records = row
    return Completion(school_id, school_name if name is None else name, status or NO_PLAN, planned, done, records)


def completion_for_school(school_id: int, year: int) -> Completion:
    for row in _figures(year, school_id):
        return _completion(row, name="")
    return Completion(school_id=school_id)


def district_completion(year: int) -> list[Completion]:
    """Completion of every active school of the scope's district for ``year``, ordered by
    school name, in one statement whatever the number of schools."""
    return [_completion(row) for row in _figures(year)]


SORT_KEYS = ("name", "plan", "planned", "done", "rate", "records")


def sort_completion(rows: list[Completion], key: str = "name", descending: bool = False) -> list[Completion]:
    """Sort for the overview; schools with nothing planned (rate "—") always come last."""
    if key == "rate":
        known = sorted((r for r in rows if r.rate is not None), key=lambda r: (r.rate, r.school_name),
                       reverse=descending)
        return known + [r for r in rows if r.rate is None]
    getters = {"name": lambda r: r.school_name, "plan": lambda r: r.plan_status_label,
               "planned": lambda r: r.planned, "done": lambda r: r.done, "records": lambda r: r.records}
    return sorted(rows, key=getters.get(key, getters["name"]), reverse=descending)


def search_completion(rows: list[Completion], q: str = "") -> list[Completion]:
    """The rows whose school name contains ``q`` (all rows when it is empty)."""
    return [r for r in rows if q in r.school_name] if q else rows


def completion_totals(rows: list[Completion]) -> Completion:
    total = Completion(school_id=0, school_name="合计")
    total.planned = sum(r.planned for r in rows)
    total.done = sum(r.done for r in rows)
    total.records = sum(r.records for r in rows)
    return total


def chart_data(rows: list[Completion]) -> dict:
    """What completion.js needs to draw the bar chart (schools with something planned)."""
    shown = [r for r in rows if r.rate is not None]
    return {"names": [r.school_name for r in shown], "rates": [round(r.rate * 100, 1) for r in shown],
            "done": [r.done for r in shown], "planned": [r.planned for r in shown]}


# --- calendar (planned vs done, month by month) --------------------------------------------

@dataclass
class PlannedEntry:
    activity: ScheduledActivity
    slot: str
    done: bool
    records: list = field(default_factory=list)


@dataclass
class MonthEntry:
    month: int
    label: str
    planned: list = field(default_factory=list)
    records: list = field(default_factory=list)
    past: bool = False

    @property
    def planned_done(self) -> int:
        return sum(1 for p in self.planned if p.done)


def calendar(school_id: int, year: int) -> dict:
    """Month by month (1..12): the planned activities whose slot covers the month (a 七、八月
    slot appears in both) with done/not done, and the records held in that month."""
    plan = db.session.scalar(select(WorkPlan).where(WorkPlan.school_id == school_id, WorkPlan.year == year))
    activities = scheduled_activities(school_id, year) if plan is not None else []
    records = list(db.session.scalars(records_query(school_id, year).order_by(None)
                                      .order_by(ActivityRecord.held_on, ActivityRecord.id)))
    ids = [a.id for a in activities]
    linked: dict[int, list[ActivityRecord]] = {}
    if ids:
        # Records of any year linked to these activities count (links are checked to the same year).
        for rec in db.session.scalars(select(ActivityRecord).where(ActivityRecord.scheduled_activity_id.in_(ids))
                                      .order_by(ActivityRecord.held_on, ActivityRecord.id)):
            linked.setdefault(rec.scheduled_activity_id, []).append(rec)
    now = today()
    months = [MonthEntry(m, month_label(m), past=(year, m) < (now.year, now.month)) for m in range(1, 13)]
    for activity in activities:
        entry = PlannedEntry(activity, slot_label(slot_months(activity)), bool(linked.get(activity.id)),
                             linked.get(activity.id, []))
        for m in slot_months(activity):
            months[m - 1].planned.append(entry)
    for rec in records:
        months[rec.held_on.month - 1].records.append(rec)
    planned = len(activities)
    done = sum(1 for a in activities if linked.get(a.id))
    completion = Completion(school_id=school_id, plan_status=plan.status if plan else NO_PLAN,
                            planned=planned, done=done, records=len(records))
    titles = {a.id: a.title for a in activities}
    return {"plan": plan, "months": months, "completion": completion, "titles": titles,
            "unscheduled": [a for a in activities if not slot_months(a)]}


# --- export --------------------------------------------------------------------------------




def completion_workbook(rows: list[Completion], year: int, district_name: str) -> bytes:
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    wb = Workbook()
    ws = wb.active
    ws.title = f"{year}年计划完成率"
    ws.append([safe_cell(f"{district_name} {year} 年各校工作计划完成情况")])
    ws["A1"].font = Font(bold=True, size=13)
    header = ["学校", "计划状态", "计划活动数", "已完成", "完成率", "活动记录数"]
    ws.append(header)
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in rows:
        ws.append([safe_cell(r.school_name), safe_cell(r.plan_status_label), r.planned, r.done,
                   r.rate if r.rate is not None else "—", r.records])
        if r.rate is not None:
            ws.cell(row=ws.max_row, column=5).number_format = "0.0%"
    totals = completion_totals(rows)
    ws.append(["合计", "", totals.planned, totals.done, totals.rate if totals.rate is not None else "—",
               totals.records])
    if totals.rate is not None:
        ws.cell(row=ws.max_row, column=5).number_format = "0.0%"
    for i, width in enumerate((28, 10, 12, 10, 10, 12), start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A3"
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
