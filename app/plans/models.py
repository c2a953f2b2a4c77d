"""年度工会工作计划: the plan a school files each year, its immutable submitted versions and
the district's review. The editable draft lives in the structured rows (sections, items,
scheduled activities); each submission freezes a JSON snapshot in a PlanVersion."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from app.plans.parser import CATEGORY_LABELS
from tenants.models import SchoolScopedMixin, TenantMixin, UTCDateTime, tenant_fk, utcnow

DRAFT = "draft"
SUBMITTED = "submitted"
RETURNED = "returned"
APPROVED = "approved"
STATUS_LABELS = {DRAFT: N_("草稿"), SUBMITTED: N_("已提交"), RETURNED: N_("已退回"), APPROVED: N_("已通过")}

# Plan item categories: one list, shared with the parser that suggests them.
CATEGORIES = CATEGORY_LABELS


class WorkPlan(SchoolScopedMixin, db.Model):
    """One school's plan for one union year. ``status`` is the workflow state; the draft
    content is the rows below; ``approved_version_id`` names the approved snapshot."""

    __tablename__ = "work_plan"
    __extra_table_args__ = (UniqueConstraint("district_id", "school_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    title: Mapped[str] = mapped_column(String(200), default="")
    guiding_ideology: Mapped[str] = mapped_column(Text, default="")
    goals: Mapped[str] = mapped_column(Text, default="")
    measures: Mapped[list] = mapped_column(JSON, default=list)
    unclassified: Mapped[list] = mapped_column(JSON, default=list)
    # Set when a draft differs from the last submitted version (editing after approval).
    has_unsubmitted_changes: Mapped[bool] = mapped_column(default=False)
    latest_version_no: Mapped[int] = mapped_column(Integer, default=0)
    approved_version_id: Mapped[int | None] = mapped_column(BigInteger)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)


class PlanSection(SchoolScopedMixin, db.Model):
    """主要工作: a numbered section of the plan."""

    __tablename__ = "plan_section"
    __extra_table_args__ = (tenant_fk(["plan_id"], "work_plan", ondelete="CASCADE"),)

    plan_id: Mapped[int] = mapped_column(BigInteger, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(300))


class PlanItem(SchoolScopedMixin, db.Model):
    """One planned line of work inside a section, tagged by category."""

    __tablename__ = "plan_item"
    __extra_table_args__ = (
        tenant_fk(["plan_id"], "work_plan", ondelete="CASCADE"),
        tenant_fk(["section_id"], "plan_section", ondelete="CASCADE"),
    )

    plan_id: Mapped[int] = mapped_column(BigInteger, index=True)
    section_id: Mapped[int] = mapped_column(BigInteger, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    text: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(30), default="other")


class ScheduledActivity(SchoolScopedMixin, db.Model):
    """活动安排: a planned activity in a month slot (七、八月 = months [7, 8])."""

    __tablename__ = "scheduled_activity"
    __extra_table_args__ = (tenant_fk(["plan_id"], "work_plan", ondelete="CASCADE"),)

    plan_id: Mapped[int] = mapped_column(BigInteger, index=True)
    months: Mapped[list] = mapped_column(JSON, default=list)
    first_month: Mapped[int] = mapped_column(Integer, index=True)  # for ordering and month views
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(30), default="other")


class PlanVersion(SchoolScopedMixin, db.Model):
    """An immutable snapshot frozen at each submission, and the review decision on it."""

    __tablename__ = "plan_version"
    __extra_table_args__ = (
        tenant_fk(["plan_id"], "work_plan", ondelete="CASCADE"),
        UniqueConstraint("district_id", "plan_id", "number"),
    )

    plan_id: Mapped[int] = mapped_column(BigInteger, index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(12), default=SUBMITTED)  # submitted/returned/approved
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decision_note: Mapped[str] = mapped_column(Text, default="")
    dossier_run_id: Mapped[int | None] = mapped_column(BigInteger)  # the compile JobRun


class ReviewComment(SchoolScopedMixin, db.Model):
    """A reviewer's comment on a part of a returned version (``anchor``: guiding_ideology,
    goals, section:<position>, measures, schedule)."""

    __tablename__ = "review_comment"
    __extra_table_args__ = (tenant_fk(["version_id"], "plan_version", ondelete="CASCADE"),)

    version_id: Mapped[int] = mapped_column(BigInteger, index=True)
    anchor: Mapped[str] = mapped_column(String(40))
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PlanDeadline(TenantMixin, db.Model):
    """The district's filing deadline for one year's plans."""

    __tablename__ = "plan_deadline"
    __table_args__ = (UniqueConstraint("district_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    due_on: Mapped[date] = mapped_column(Date)
