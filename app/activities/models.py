from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import SchoolScopedMixin, TenantMixin, UTCDateTime, tenant_fk, utcnow


class ActivityRecord(SchoolScopedMixin, db.Model):
    """What was done: date, title, category, participants, description; optionally the
    planned activity (ScheduledActivity) it carries out."""

    __tablename__ = "activity_record"
    __extra_table_args__ = (tenant_fk(["scheduled_activity_id"], "scheduled_activity", ondelete="SET NULL"),)

    year: Mapped[int] = mapped_column(Integer, index=True)
    held_on: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(30), default="other")
    participants: Mapped[int] = mapped_column(Integer, default=0)
    description: Mapped[str] = mapped_column(Text, default="")
    scheduled_activity_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # +1 on every UPDATE of the row, by a database trigger (migration 0014): the roll-up's
    # fingerprint sums it, so an edit that moves a record (year, planned activity) is seen.
    revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class ActivityFile(SchoolScopedMixin, db.Model):
    """A photo or file attached to an activity record; stored under a random name."""

    __tablename__ = "activity_file"
    __extra_table_args__ = (tenant_fk(["record_id"], "activity_record", ondelete="CASCADE"),)

    record_id: Mapped[int] = mapped_column(BigInteger, index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_path: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Notification(TenantMixin, db.Model):
    """An in-app message to one user (e.g. a deadline reminder); e-mailed too when SMTP is set."""

    __tablename__ = "notification"
    __school_column__ = "school_id"

    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    school_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def scope_school_id(self):
        return self.school_id
