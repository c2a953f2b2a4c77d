"""Results of a round (issue 5 "Results"): the district's decision per application, the
publication that starts the 公示, objections (异议) with their files, the frozen results
snapshot written when the round is finalised, and the district's working-day overrides.

Visibility: decisions, objections and their files are tied to a school (a school scope sees its
own rows only; an objection filed by district staff has no school). What schools of the district
see of each other is only what was published: ``ResultPublication.content`` (district-level).
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, Date, Integer, Numeric, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from tenants.models import SchoolScopedMixin, TenantMixin, UTCDateTime, tenant_fk, utcnow

Score = Numeric(7, 2)

OBJECTION_OPEN = "open"
OBJECTION_UPHELD = "upheld"
OBJECTION_REJECTED = "rejected"
OBJECTION_STATES = {OBJECTION_OPEN: N_("待处理"), OBJECTION_UPHELD: N_("异议成立"), OBJECTION_REJECTED: N_("异议不成立")}


class ResultDecision(SchoolScopedMixin, db.Model):
    """The district's decision on one application: the system's proposal (tier for title
    rounds, grade for the 年度考评, kept/revoked for 复查) and what a person confirmed."""

    __tablename__ = "result_decision"
    __extra_table_args__ = (
        tenant_fk(["round_id"], "round", ondelete="CASCADE"),
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        UniqueConstraint("district_id", "application_id"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    proposed: Mapped[str | None] = mapped_column(String(20))   # the proposal when decided
    level: Mapped[str | None] = mapped_column(String(20))      # the decision (None: no tier)
    total: Mapped[Decimal | None] = mapped_column(Score)       # the combined total when decided
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ResultPublication(TenantMixin, db.Model):
    """One release of a round's results and its 公示 window. A round sent back to calibrating
    withdraws the current publication; publishing again writes the next number."""

    __tablename__ = "result_publication"
    __table_args__ = (
        tenant_fk(["round_id"], "round", ondelete="CASCADE"),
        UniqueConstraint("district_id", "round_id", "number"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    number: Mapped[int] = mapped_column(Integer, default=1)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)         # the last day of the 公示 (inclusive)
    working_days: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON, default=dict)  # the results as released
    published_by: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    withdrawn_by: Mapped[int | None] = mapped_column(BigInteger)
    withdrawn_reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def active(self) -> bool:
        return self.withdrawn_at is None


class ResultSnapshot(TenantMixin, db.Model):
    """The frozen results of a finalised round: never changed, never deleted."""

    __tablename__ = "result_snapshot"
    __table_args__ = (
        tenant_fk(["round_id"], "round"),
        UniqueConstraint("district_id", "round_id"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    year: Mapped[int] = mapped_column(Integer, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    round_name: Mapped[str] = mapped_column(String(200))
    content: Mapped[dict] = mapped_column(JSON)
    finalised_by: Mapped[int | None] = mapped_column(BigInteger)
    finalised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Objection(TenantMixin, db.Model):
    """异议 filed during the 公示: open → upheld / rejected (with the district's reasons).
    ``school_id`` is the filer's school (None when district staff filed it)."""

    __tablename__ = "objection"
    __school_column__ = "school_id"
    __table_args__ = (
        tenant_fk(["round_id"], "round", ondelete="CASCADE"),
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        tenant_fk(["school_id"], "school", ondelete="CASCADE"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    publication_no: Mapped[int] = mapped_column(Integer, default=1)
    application_id: Mapped[int | None] = mapped_column(BigInteger)  # the result objected to (optional)
    school_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    filed_by: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(12), default=OBJECTION_OPEN, index=True)
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    filed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def scope_school_id(self):
        return self.school_id

    @property
    def status_label(self) -> str:
        return OBJECTION_STATES.get(self.status, self.status)


class ObjectionFile(TenantMixin, db.Model):
    """A file attached to an objection (content-checked, stored under a random name)."""

    __tablename__ = "objection_file"
    __school_column__ = "school_id"
    __table_args__ = (
        tenant_fk(["objection_id"], "objection", ondelete="CASCADE"),
        tenant_fk(["school_id"], "school", ondelete="CASCADE"),
    )

    objection_id: Mapped[int] = mapped_column(BigInteger, index=True)
    school_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_path: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def scope_school_id(self):
        return self.school_id


class WorkdayOverride(TenantMixin, db.Model):
    """A district's exception to the national calendar: an extra working day or a day off."""

    __tablename__ = "workday_override"
    __table_args__ = (UniqueConstraint("district_id", "day"),)

    day: Mapped[date] = mapped_column(Date)
    working: Mapped[bool] = mapped_column(Boolean)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SnapshotFrozen(RuntimeError):
    """A finalised results snapshot was about to change."""


@event.listens_for(ResultSnapshot, "before_update")
def _snapshot_is_frozen(mapper, connection, target):
    raise SnapshotFrozen("结果快照已冻结，不可修改")


@event.listens_for(ResultSnapshot, "before_delete")
def _snapshot_is_kept(mapper, connection, target):
    raise SnapshotFrozen("结果快照不可删除")
