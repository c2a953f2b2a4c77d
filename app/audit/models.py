from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.extensions import db
from tenants.models import UTCDateTime, utcnow


class AuditEvent(db.Model):
    """Never updated or deleted: the ORM refuses it and database triggers refuse it too."""

    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    # Plain numbers, not foreign keys: the record outlives what it names (offboarding).
    district_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    school_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_user_id: Mapped[int | None] = mapped_column(BigInteger)
    actor_name: Mapped[str] = mapped_column(String(64), default="")
    action: Mapped[str] = mapped_column(String(60), index=True)
    target_type: Mapped[str] = mapped_column(String(40), default="")
    target_id: Mapped[str] = mapped_column(String(40), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[dict] = mapped_column(JSON, default=dict)


@event.listens_for(Session, "before_flush")
def _append_only(session, flush_context, instances):
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEvent) and (obj in session.deleted or session.is_modified(obj)):
            raise PermissionError("审计日志只能追加，不能修改或删除 (audit log is append-only)")
