from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, BigInteger, Date, Integer, String, Text, UniqueConstraint, event
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from tenants.models import SchoolScopedMixin, TenantMixin, UTCDateTime, tenant_fk, utcnow

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

    @property
    def tier_label(self) -> str:
        return TIERS.get(self.tier, self.tier)

    @property
    def level_label(self) -> str:
        return LEVELS.get(self.level, self.level)

    @property
    def status_label(self) -> str:
        return TITLE_STATUSES.get(self.status, self.status)

    @property
    def home_kind_label(self) -> str:
        return HOME_KINDS.get(self.home_kind, self.home_kind)

    @property
    def year(self) -> int:
        return self.awarded_on.year

    @property
    def name(self) -> str:
        """e.g. 区级先进职工之家."""
        return f"{self.level_label}{self.tier_label}{self.home_kind_label}"


EVENTS = {"awarded": N_("授予/登记"), "marked_due": N_("到期待复查"), "kept": N_("复查保留"),
          "conditional": N_("限期整改"), "revoked": N_("摘牌"), "restored": N_("整改合格恢复"), "edited": N_("修改信息")}


class TitleEvent(SchoolScopedMixin, db.Model):
    """One change of a title (its history). Written with every change, never changed or deleted."""

    __tablename__ = "title_event"
    __extra_table_args__ = (tenant_fk(["title_id"], "title"),)

    title_id: Mapped[int] = mapped_column(BigInteger, index=True)
    event: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(12))
    to_status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text, default="")
    effective_on: Mapped[date] = mapped_column(Date)  # the day the change takes effect (China time)
    deadline: Mapped[date | None] = mapped_column(Date)  # 限期整改: the rectification deadline
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # edited: {field: [old, new]}
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    round_id: Mapped[int | None] = mapped_column(BigInteger)  # the (复查) round it came from, if any
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def event_label(self) -> str:
        return EVENTS.get(self.event, self.event)


class DistrictSetting(TenantMixin, db.Model):
    """District-level settings (one row per district; absent: the defaults)."""

    __tablename__ = "district_setting"
    __table_args__ = (UniqueConstraint("district_id"),)

    review_cycle_years: Mapped[int] = mapped_column(Integer, default=1)  # 复查周期（年）
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class HistoryIsKept(RuntimeError):
    """A title's history (or the title itself) was about to be changed or deleted."""


@event.listens_for(TitleEvent, "before_update")
def _event_is_frozen(mapper, connection, target):
    raise HistoryIsKept("荣誉称号的历史记录不可修改")


@event.listens_for(TitleEvent, "before_delete")
def _event_is_kept(mapper, connection, target):
    raise HistoryIsKept("荣誉称号的历史记录不可删除")


@event.listens_for(Title, "before_delete")
def _title_is_kept(mapper, connection, target):
    raise HistoryIsKept("荣誉称号不可删除：摘牌请使用「摘牌」，历史记录保留")
