"""Rounds (DESIGN §7): draft → open → assessing → calibrating → publicised → final, and the
school's applications: draft → submitted → returned → (resubmitted) submitted →
under_assessment → scored → final. Everything a round uses is configuration stored here."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, BigInteger, Date, Integer, Numeric, String, Text, UniqueConstraint, event, inspect
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from app.i18n import N_
from app.rubrics.models import BONUS
from tenants.models import SchoolScopedMixin, TenantMixin, UTCDateTime, tenant_fk, utcnow

TITLE_ROUND = "title"
RE_REVIEW = "re_review"
ANNUAL_REVIEW = "annual_review"
ROUND_KINDS = {TITLE_ROUND: N_("建家评选"), RE_REVIEW: N_("复查"), ANNUAL_REVIEW: N_("年度考评")}

ROUND_STATES = ["draft", "open", "assessing", "calibrating", "publicised", "final"]
ROUND_STATE_LABELS = {"draft": N_("筹备中"), "open": N_("申报中"), "assessing": N_("评审中"), "calibrating": N_("核分中"),
                      "publicised": N_("公示中"), "final": N_("已命名")}

APPLICATION_STATES = ["draft", "submitted", "returned", "under_assessment", "scored", "final"]
APPLICATION_STATE_LABELS = {"draft": N_("草稿"), "submitted": N_("已提交"), "returned": N_("已退回"),
                            "under_assessment": N_("评审中"), "scored": N_("已评分"), "final": N_("已定档")}

AGGREGATIONS = {"mean": N_("平均分"), "median": N_("中位数"), "trimmed_mean": N_("去掉最高最低后平均（≥5 位评审）")}

Score = Numeric(7, 2)


class Round(TenantMixin, db.Model):
    __tablename__ = "round"
    __table_args__ = (tenant_fk(["rubric_id"], "rubric"),)

    kind: Mapped[str] = mapped_column(String(20))
    year: Mapped[int] = mapped_column(Integer, index=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="draft", index=True)
    rubric_id: Mapped[int | None] = mapped_column(BigInteger)
    home_kind: Mapped[str] = mapped_column(String(20), default="staff_home")  # 职工之家 / 职工小家
    target_tier: Mapped[str | None] = mapped_column(String(12))  # the tier applied for (title rounds)
    # Timeline
    opens_on: Mapped[date | None] = mapped_column(Date)
    closes_on: Mapped[date | None] = mapped_column(Date)
    grace_days: Mapped[int] = mapped_column(Integer, default=0)
    assessment_due_on: Mapped[date | None] = mapped_column(Date)
    publicity_working_days: Mapped[int] = mapped_column(Integer, default=5)
    # Rules (all configurable, none hard-coded)
    eligibility: Mapped[dict] = mapped_column(JSON, default=dict)  # {"requires_tier": "advanced", "min_membership_rate": 90}
    weights: Mapped[dict] = mapped_column(JSON, default=lambda: {"self": 20, "assessor": 80, "peer": 0})
    aggregation: Mapped[str] = mapped_column(String(20), default="mean")
    # Assessors planned per application (评审组人数); trimmed_mean needs at least 5 (migration 0004).
    panel_size: Mapped[int | None] = mapped_column(Integer)
    disagreement_threshold: Mapped[Decimal | None] = mapped_column(Score)
    quotas: Mapped[dict] = mapped_column(JSON, default=dict)  # {"model": 3, "advanced": 8}
    # Minimum combined total per tier (title rounds), e.g. {"model": 90, "advanced": 80} (migration 0007).
    thresholds: Mapped[dict] = mapped_column(JSON, default=dict)
    tie_break: Mapped[list] = mapped_column(JSON, default=list)  # e.g. ["veto_free", "category:履行职能", "self_score"]
    grade_bands: Mapped[list] = mapped_column(JSON, default=list)  # [["excellent", 90], ["good", 80], ["pass", 60]]
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def kind_label(self) -> str:
        return ROUND_KINDS.get(self.kind, self.kind)

    @property
    def status_label(self) -> str:
        return ROUND_STATE_LABELS.get(self.status, self.status)


class Application(SchoolScopedMixin, db.Model):
    """A school's entry in a round with its self-assessment."""

    __tablename__ = "application"
    __extra_table_args__ = (
        tenant_fk(["round_id"], "round", ondelete="CASCADE"),
        UniqueConstraint("district_id", "round_id", "school_id"),
    )

    round_id: Mapped[int] = mapped_column(BigInteger, index=True)
    status: Mapped[str] = mapped_column(String(20), default="draft", index=True)
    entered_automatically: Mapped[bool] = mapped_column(default=False)
    title_id: Mapped[int | None] = mapped_column(BigInteger)  # the title under 复查
    summary: Mapped[str] = mapped_column(Text, default="")  # 申报材料 summary / 建家工作汇报
    latest_snapshot_no: Mapped[int] = mapped_column(Integer, default=0)
    first_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    late: Mapped[bool] = mapped_column(default=False)  # submitted in the grace period
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Counted by the database (triggers on self_score, migration 0011): +1 on every insert, update or
    # delete of this application's self scores, whoever writes them. Never written by the app.
    self_score_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Counted by the database (triggers on assignment, migration 0015): +1 on every insert, update or
    # delete of one of this application's SUBMITTED score sheets (submitted before or after the write),
    # a write of their score rows included (it updates its sheet), whoever makes it. Never written by
    # the app. (The calibration's fingerprint reads it.)
    sheets_revision: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def status_label(self) -> str:
        return APPLICATION_STATE_LABELS.get(self.status, self.status)


class SelfScore(SchoolScopedMixin, db.Model):
    """自评分 for one indicator: the inputs (points, count of misses, rate) and a note."""

    __tablename__ = "self_score"
    __extra_table_args__ = (
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        tenant_fk(["indicator_id"], "indicator", ondelete="CASCADE"),
        UniqueConstraint("district_id", "application_id", "indicator_id"),
    )

    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    indicator_id: Mapped[int] = mapped_column(BigInteger, index=True)
    points: Mapped[Decimal | None] = mapped_column(Score)  # POINTS / BONUS
    units: Mapped[int | None] = mapped_column(Integer)      # DEDUCTION: count of misses
    rate: Mapped[Decimal | None] = mapped_column(Score)     # RATE_BAND: percent
    passed: Mapped[bool | None] = mapped_column()           # must_pass / veto answers
    note: Mapped[str] = mapped_column(Text, default="")
    provided: Mapped[bool] = mapped_column(default=False)   # filled from system data (上级提供)


class ApplicationSnapshot(SchoolScopedMixin, db.Model):
    """The immutable content frozen at each submit (and the dossier compile it queued)."""

    __tablename__ = "application_snapshot"
    __extra_table_args__ = (
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        UniqueConstraint("district_id", "application_id", "number"),
    )

    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    number: Mapped[int] = mapped_column(Integer)
    content: Mapped[dict] = mapped_column(JSON)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_by: Mapped[int | None] = mapped_column(BigInteger)
    dossier_run_id: Mapped[int | None] = mapped_column(BigInteger)
    # Figures of ``content`` kept in columns, so the round's progress page reads them without the
    # JSON (migration 0010): written once with the snapshot (``snapshot_figures``), never changed.
    total: Mapped[Decimal | None] = mapped_column(Score)          # content["total"], the self-assessment total
    filled: Mapped[int | None] = mapped_column(Integer)           # counted indicators with an input
    with_evidence: Mapped[int | None] = mapped_column(Integer)    # counted indicators with ≥1 evidence file


def snapshot_figures(content: dict | None) -> dict:
    """The column figures of a snapshot's content: its total, and — when the content lists its
    scores and evidence — the indicators other than bonus ones that have an input (points, units
    or rate) and that have evidence, as the live progress counts them from the rows. None where
    the content does not say."""
    content = content or {}
    total = content.get("total")
    figures = {"total": Decimal(str(total)) if total not in (None, "") else None, "filled": None,
               "with_evidence": None}
    scores, evidence = content.get("scores"), content.get("evidence")
    if isinstance(scores, list) and isinstance(evidence, list):
        counted = {s.get("indicator_id") for s in scores if s.get("kind") != BONUS}
        figures["filled"] = sum(1 for s in scores if s.get("kind") != BONUS
                                and any(s.get(k) is not None for k in ("points", "units", "rate")))
        figures["with_evidence"] = len({e.get("indicator_id") for e in evidence} & counted)
    return figures


@event.listens_for(ApplicationSnapshot, "before_insert")
def _snapshot_figures(mapper, connection, target):
    """Fill the figure columns from the content when the snapshot is written (bulk inserts of
    plain rows, as the synthetic data does, call ``snapshot_figures`` themselves)."""
    for key, value in snapshot_figures(target.content).items():
        if getattr(target, key) is None:
            setattr(target, key, value)


class ApplicationComment(SchoolScopedMixin, db.Model):
    """The district's comment when returning an application (optionally on an indicator)."""

    __tablename__ = "application_comment"
    __extra_table_args__ = (tenant_fk(["application_id"], "application", ondelete="CASCADE"),)

    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    indicator_id: Mapped[int | None] = mapped_column(BigInteger)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(BigInteger)
    snapshot_no: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evidence(SchoolScopedMixin, db.Model):
    """佐证材料 attached to one indicator of an application; stored under a random name."""

    __tablename__ = "evidence"
    __extra_table_args__ = (
        tenant_fk(["application_id"], "application", ondelete="CASCADE"),
        tenant_fk(["indicator_id"], "indicator", ondelete="CASCADE"),
    )

    application_id: Mapped[int] = mapped_column(BigInteger, index=True)
    indicator_id: Mapped[int] = mapped_column(BigInteger, index=True)
    original_name: Mapped[str] = mapped_column(String(200))
    stored_path: Mapped[str] = mapped_column(String(300))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SnapshotFrozen(RuntimeError):
    """A frozen application snapshot was about to change."""


@event.listens_for(ApplicationSnapshot, "before_update")
def _snapshot_is_frozen(mapper, connection, target):
    """A snapshot is immutable once written; only the dossier run that compiles it may be
    named once, after the fact."""
    state = inspect(target)
    for attr in state.attrs:
        history = attr.history
        if not history.has_changes():
            continue
        if attr.key == "dossier_run_id" and not [v for v in history.deleted if v is not None]:
            continue
        raise SnapshotFrozen(f"申报快照不可修改（{attr.key}）")


@event.listens_for(ApplicationSnapshot, "before_delete")
def _snapshot_is_kept(mapper, connection, target):
    raise SnapshotFrozen("申报快照不可删除")
