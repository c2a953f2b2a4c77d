from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from tenants.models import SchoolScopedMixin, TenantMixin, UTCDateTime, utcnow  # noqa: F401

PENDING = "pending"    # committed, not yet handed to a queue (the outbox)
QUEUED = "queued"      # handed to Redis/RQ
RUNNING = "running"
DONE = "done"
FAILED = "failed"

STATUS_LABELS = {PENDING: N_("等待中"), QUEUED: N_("排队中"), RUNNING: N_("进行中"), DONE: N_("已完成"), FAILED: N_("失败")}


class JobRun(TenantMixin, db.Model):
    """One run of a background job: status, progress, error, timings, result.

    Written in the same transaction as the data it works on; that row is the outbox the
    sweeper re-enqueues from when Redis lost the job.
    """

    __tablename__ = "job_run"
    __school_column__ = "school_id"
    __table_args__ = (UniqueConstraint("district_id", "dedupe_key"),)

    kind: Mapped[str] = mapped_column(String(40))
    queue: Mapped[str] = mapped_column(String(20), default="default")
    dedupe_key: Mapped[str] = mapped_column(String(120))
    school_id: Mapped[int | None] = mapped_column(BigInteger)  # the school it concerns, if any
    args: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(12), default=PENDING, index=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(String(200), default="")
    error: Mapped[str] = mapped_column(Text, default="")
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def scope_school_id(self):
        return self.school_id

    @property
    def status_label(self) -> str:
        return STATUS_LABELS.get(self.status, self.status)

    @property
    def finished(self) -> bool:
        return self.status in (DONE, FAILED)

    @property
    def rq_job_id(self) -> str:
        # RQ job ids: letters, digits, '_' and '-' only.
        return f"run-{self.district_id}-{self.id}"
