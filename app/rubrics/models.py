"""Rubrics are data, never code (DESIGN §8). A rubric row is one version; versions of the
same rubric share ``family``. A published version used by an open round is locked; a
change is made on a copy (a new draft version)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Boolean, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from tenants.models import TenantMixin, UTCDateTime, tenant_fk, utcnow

DRAFT = "draft"
PUBLISHED = "published"
RUBRIC_STATUS_LABELS = {DRAFT: N_("草稿"), PUBLISHED: N_("已发布")}

EVIDENCE_METHODS = {
    "records": N_("查台账"),
    "interview": N_("座谈"),
    "site_visit": N_("实地查看"),
    "survey": N_("问卷"),
    "provided": N_("上级提供"),
}

# How an indicator turns inputs into points.
POINTS = "points"          # a score between 0 and max_points
DEDUCTION = "deduction"    # max_points minus per_unit × count, not below floor
BONUS = "bonus"            # extra points up to bonus_max; may exceed the category cap
RATE_BAND = "rate_band"    # a rate (%) looked up in bands [[min_rate, points], …]
INDICATOR_KINDS = {POINTS: N_("直接评分"), DEDUCTION: N_("扣分制"), BONUS: N_("加分项"), RATE_BAND: N_("按比率分档")}

# Data the system already holds, for 上级提供 indicators (filled automatically, read-only).
PROVIDED_SOURCES = {
    "plan_on_time": N_("年度计划按时报送"),
    "plan_approved": N_("年度计划已通过审核"),
    "plan_completion_rate": N_("年度计划完成率"),
    "membership_rate": N_("入会率（会员数/教职工数）"),
}

Score = Numeric(7, 2)


class Rubric(TenantMixin, db.Model):
    __tablename__ = "rubric"
    __table_args__ = (UniqueConstraint("district_id", "family", "version"),)

    family: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[str] = mapped_column(Text, default="")  # e.g. where a transcribed source is cut off
    total_points: Mapped[Decimal] = mapped_column(Score, default=0)  # the declared total (e.g. 100)
    status: Mapped[str] = mapped_column(String(12), default=DRAFT)
    copied_from_id: Mapped[int | None] = mapped_column(BigInteger)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RubricCategory(TenantMixin, db.Model):
    """考核类别 with a cap (e.g. 组织建设 17 分); bonus indicators may exceed it."""

    __tablename__ = "rubric_category"
    __table_args__ = (tenant_fk(["rubric_id"], "rubric", ondelete="CASCADE"),)

    rubric_id: Mapped[int] = mapped_column(BigInteger, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    name: Mapped[str] = mapped_column(String(100))
    cap: Mapped[Decimal] = mapped_column(Score)


class Indicator(TenantMixin, db.Model):
    """考核指标: one scored line."""

    __tablename__ = "indicator"
    __table_args__ = (
        tenant_fk(["rubric_id"], "rubric", ondelete="CASCADE"),
        tenant_fk(["category_id"], "rubric_category", ondelete="CASCADE"),
    )

    rubric_id: Mapped[int] = mapped_column(BigInteger, index=True)
    category_id: Mapped[int] = mapped_column(BigInteger, index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    code: Mapped[str] = mapped_column(String(20), default="")  # 序号, e.g. "1" or "2.3"
    title: Mapped[str] = mapped_column(Text)
    guidance: Mapped[str] = mapped_column(Text, default="")  # 评分标准 / 注
    kind: Mapped[str] = mapped_column(String(12), default=POINTS)
    max_points: Mapped[Decimal] = mapped_column(Score, default=0)
    evidence_method: Mapped[str] = mapped_column(String(12), default="records")
    must_pass: Mapped[bool] = mapped_column(Boolean, default=False)   # 必备
    veto: Mapped[bool] = mapped_column(Boolean, default=False)        # 一票否决
    deduction_per_unit: Mapped[Decimal | None] = mapped_column(Score)
    deduction_floor: Mapped[Decimal | None] = mapped_column(Score)
    bonus_max: Mapped[Decimal | None] = mapped_column(Score)
    bands: Mapped[list] = mapped_column(JSON, default=list)  # [[min_rate_percent, points], …] high to low
    provided_source: Mapped[str | None] = mapped_column(String(30))  # PROVIDED_SOURCES key
