"""工作总结: the year-end summary a school hands in, its immutable submitted versions and the
district's decision on each (退回 with a comment / 已阅收). The draft lives on ``YearSummary``;
each submission freezes the sections and the computed figures in a ``YearSummaryVersion``."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from tenants.models import SchoolScopedMixin, UTCDateTime, tenant_fk, utcnow

DRAFT = "draft"
SUBMITTED = "submitted"
RETURNED = "returned"
ACCEPTED = "accepted"
STATUS_LABELS = {DRAFT: N_("草稿"), SUBMITTED: N_("已提交"), RETURNED: N_("已退回"), ACCEPTED: N_("已阅收")}

# The four parts of a 工作总结, in order: (field, label).
SECTIONS = (
    ("achievements", N_("主要工作与成效")),
    ("highlights", N_("特色亮点")),
    ("problems", N_("存在问题与不足")),
    ("next_year", N_("下一年度工作思路")),
)
SECTION_KEYS = tuple(key for key, _ in SECTIONS)


class YearSummary(SchoolScopedMixin, db.Model):
    """One school's summary of one union year (at most one per school and year)."""

    __tablename__ = "year_summary"
    __extra_table_args__ = (UniqueConstraint("district_id", "school_id", "year"),)

    year: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT, index=True)
    achievements: Mapped[str] = mapped_column(Text, default="")
    highlights: Mapped[str] = mapped_column(Text, default="")
    problems: Mapped[str] = mapped_column(Text, default="")
    next_year: Mapped[str] = mapped_column(Text, default="")
    latest_version_no: Mapped[int] = mapped_column(Integer, default=0)
    accepted_version_id: Mapped[int | None] = mapped_column(BigInteger)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    def sections(self) -> dict[str, str]:
        return {key: getattr(self, key) or "" for key in SECTION_KEYS}


class YearSummaryVersion(SchoolScopedMixin, db.Model):
    """An immutable snapshot frozen at each submission (sections + figures), and the
    district's decision on it."""

    __tablename__ = "year_summary_version"
    __extra_table_args__ = (
        tenant_fk(["summary_id"], "year_summary", ondelete="CASCADE"),
        UniqueConstraint("district_id", "summary_id", "number"),
    )

    summary_id: Mapped[int] = mapped_column(BigInteger, index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    decision: Mapped[str] = mapped_column(String(12), default=SUBMITTED)  # submitted/returned/accepted
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decision_note: Mapped[str] = mapped_column(Text, default="")  # the district's comment
    dossier_run_id: Mapped[int | None] = mapped_column(BigInteger)  # the compile JobRun
