from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import SchoolScopedMixin, UTCDateTime, utcnow

TIERS = {"qualified": "合格", "advanced": "先进", "model": "模范"}
TIER_ORDER = ["qualified", "advanced", "model"]
LEVELS = {"district": "区级", "city": "市级", "province": "省级", "national": "全国"}
TITLE_STATUSES = {"awarded": "有效", "due": "待复查", "kept": "复查保留", "conditional": "限期整改",
                  "revoked": "已摘牌"}
HOME_KINDS = {"staff_home": "职工之家", "group_home": "职工小家"}


class Title(SchoolScopedMixin, db.Model):
    """A title held by a school union (or one of its groups, for 职工小家)."""

    __tablename__ = "title"

    home_kind: Mapped[str] = mapped_column(String(20), default="staff_home")
    level: Mapped[str] = mapped_column(String(12), default="district")
    tier: Mapped[str] = mapped_column(String(12))
    awarded_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="awarded")
    round_id: Mapped[int | None] = mapped_column(BigInteger)  # the round that conferred it, if any
    review_due_on: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
