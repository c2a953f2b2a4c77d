"""Assessors, conflicts of interest, panels, assignments, score sheets and veto/must-pass
findings (issue 5).

District-level rows (``TenantMixin``): the assessor pool and panels. Rows about one
application (``SchoolScopedMixin``, the application's school): assignments (= score sheets),
assessor scores, findings, the panel's applications; a conflict row belongs to the school the
assessor is conflicted with.

Sheet states: assigned → submitted → (district reopens) assigned.
Finding states: raised → confirmed | dismissed (by a second person, never the raiser).
Conflict states: suggested (blocks until decided) → confirmed | dismissed; declared conflicts
are confirmed from the start. Only ``dismissed`` stops blocking.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, ForeignKey, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from tenants.models import SchoolScopedMixin, TenantMixin, UTCDateTime, tenant_fk, utcnow

Score = Numeric(7, 2)

# Conflicts
CONFLICT_SUGGESTED = "suggested"
CONFLICT_CONFIRMED = "confirmed"
CONFLICT_DISMISSED = "dismissed"
CONFLICT_STATUS_LABELS = {CONFLICT_SUGGESTED: N_("待确认（系统提示）"), CONFLICT_CONFIRMED: N_("回避"),
                          CONFLICT_DISMISSED: N_("已排除")}
CONFLICT_SOURCES = {"declared": N_("申报回避"), "former_membership": N_("曾任职该校")}

# Sheets
SHEET_ASSIGNED = "assigned"
SHEET_SUBMITTED = "submitted"
SHEET_STATUS_LABELS = {SHEET_ASSIGNED: N_("评分中"), SHEET_SUBMITTED: N_("已提交")}
ASSIGNMENT_SOURCES = {"manual": N_("手工指派"), "excel": N_("Excel导入"), "panel": N_("按评审组"),
                      "auto": N_("随机均衡分配"), "api": N_("接口")}

# Findings
FINDING_VETO = "veto"
FINDING_MUST_PASS = "must_pass"
FINDING_KINDS = {FINDING_VETO: N_("一票否决"), FINDING_MUST_PASS: N_("必备条件未达到")}
FINDING_RAISED = "raised"
FINDING_CONFIRMED = "confirmed"
FINDING_DISMISSED = "dismissed"
FINDING_STATUS_LABELS = {FINDING_RAISED: N_("待确认"), FINDING_CONFIRMED: N_("已确认"),
                         FINDING_DISMISSED: N_("未采纳")}


class Assessor(TenantMixin, db.Model):
    """评审专家库: a user of this district (district staff or a chair of a school)."""

    __tablename__ = "assessor"
    __table_args__ = (UniqueConstraint("district_id", "user_id"),)

    user_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    active: Mapped[bool] = mapped_column(default=True)
    # True when adding to the pool granted the assessor role (removal then revokes it).
    granted_role: Mapped[bool] = mapped_column(default=False)
    note: Mapped[str] = mapped_column(String(200), default="")
    added_by: Mapped[int | None] = mapped_column(BigInteger)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AssessorConflict(SchoolScopedMixin, db.Model):
    """利益冲突/回避: the assessor must not assess ``school_id``'s applications (own school is
    automatic and not stored)."""

    __tablename__ = "assessor_conflict"
    __extra_table_args__ = (
        tenant_fk(["assessor_id"], "assessor", ondelete="CASCADE"),
        UniqueConstraint("district_id", "assessor_id", "school_id"),
    )

    assessor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    source: Mapped[str] = mapped_column(String(20), default="declared")
    status: Mapped[str] = mapped_column(String(12), default=CONFLICT_CONFIRMED)
    reason: Mapped[str] = mapped_column(Text, default="")
    declared_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_reason: Mapped[str] = mapped_column(Text, default="")

    @property
    def blocks(self) -> bool:
        return self.status != CONFLICT_DISMISSED


class AssessmentPanel(TenantMixin, db.Model):
    """评审组: every member scores every application of the panel."""

    __tablename__ = "assessment_panel"
    __table_args__ = (
        tenant_fk(["round_id"], "round", ondelete="CASCADE"),
        UniqueConstraint("district_id", "round_id", "name"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    name: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PanelMember(TenantMixin, db.Model):
    __tablename__ = "panel_member"
    __table_args__ = (
        tenant_fk(["panel_id"], "assessment_panel", ondelete="CASCADE"),
        tenant_fk(["assessor_id"], "assessor", ondelete="CASCADE"),
        UniqueConstraint("district_id", "panel_id", "assessor_id"),
    )

    panel_id: Mapped[int] = mapped_column(BigInteger, index=True)
    assessor_id: Mapped[int] = mapped_column(BigInteger, index=True)


class PanelApplication(SchoolScopedMixin, db.Model):
    __tablename__ = "panel_application"
    __extra_table_args__ = (
        tenant_fk(["panel_id"], "assessment_panel", ondelete="CASCADE"),
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        UniqueConstraint("district_id", "application_id"),
    )

    panel_id: Mapped[int] = mapped_column(BigInteger, index=True)
    application_id: Mapped[int] = mapped_column(BigInteger, index=True)


class Assignment(SchoolScopedMixin, db.Model):
    """One assessor on one application; also that assessor's score sheet (评分表)."""

    __tablename__ = "assignment"
    __extra_table_args__ = (
        tenant_fk(["round_id"], "round", ondelete="CASCADE"),
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        tenant_fk(["assessor_id"], "assessor", ondelete="CASCADE"),
        UniqueConstraint("district_id", "application_id", "assessor_id"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    assessor_id: Mapped[int] = mapped_column(BigInteger, index=True)
    panel_id: Mapped[int | None] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(12), default="manual")
    status: Mapped[str] = mapped_column(String(12), default=SHEET_ASSIGNED, index=True)
    comment: Mapped[str] = mapped_column(Text, default="")  # overall comment (总体评价)
    assigned_by: Mapped[int | None] = mapped_column(BigInteger)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reopened_count: Mapped[int] = mapped_column(Integer, default=0)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Counted by the database (triggers on assessor_score, migration 0011, and on assignment, 0013): +1
    # on every insert, update or delete of this sheet's score rows and on every update of the sheet
    # itself, whoever writes them. Never written by the app (the loaded value may lag behind). Every
    # write of a sheet counts on its application too (application.sheets_revision, 0015).
    score_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def status_label(self) -> str:
        return SHEET_STATUS_LABELS.get(self.status, self.status)


class AssessorScore(SchoolScopedMixin, db.Model):
    """An assessor's inputs for one indicator (points / units / rate as the indicator's kind
    needs) and a comment. Gate answers (veto / must-pass) are findings, not stored here."""

    __tablename__ = "assessor_score"
    __extra_table_args__ = (
        tenant_fk(["assignment_id"], "assignment", ondelete="CASCADE"),
        tenant_fk(["indicator_id"], "indicator", ondelete="CASCADE"),
        UniqueConstraint("district_id", "assignment_id", "indicator_id"),
    )

    assignment_id: Mapped[int] = mapped_column(BigInteger, index=True)
    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    indicator_id: Mapped[int] = mapped_column(BigInteger)
    points: Mapped[Decimal | None] = mapped_column(Score)
    units: Mapped[int | None] = mapped_column(Integer)
    rate: Mapped[Decimal | None] = mapped_column(Score)
    comment: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Finding(SchoolScopedMixin, db.Model):
    """A veto (一票否决) or failed must-pass (必备) finding on an application's indicator.
    Counts only once a second person (not the raiser) confirms it."""

    __tablename__ = "finding"
    __extra_table_args__ = (
        tenant_fk(["round_id"], "round", ondelete="CASCADE"),
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        tenant_fk(["indicator_id"], "indicator", ondelete="CASCADE"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    indicator_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))
    status: Mapped[str] = mapped_column(String(12), default=FINDING_RAISED)
    note: Mapped[str] = mapped_column(Text)
    evidence_id: Mapped[int | None] = mapped_column(BigInteger)
    raised_by: Mapped[int] = mapped_column(BigInteger)  # user id
    raised_by_assessor_id: Mapped[int | None] = mapped_column(BigInteger)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(BigInteger)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    decision_note: Mapped[str] = mapped_column(Text, default="")

    @property
    def kind_label(self) -> str:
        return FINDING_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return FINDING_STATUS_LABELS.get(self.status, self.status)
