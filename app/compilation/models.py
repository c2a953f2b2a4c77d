from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import db
from tenants.models import TenantMixin, UTCDateTime, utcnow

# kinds of artifact
PLAN_DOSSIER = "plan_dossier"                # one submitted plan version
APPLICATION_DOSSIER = "application_dossier"  # one application snapshot
SUMMARY_DOSSIER = "summary_dossier"          # one submitted year summary (工作总结) version
DOSSIER_BUNDLE = "dossier_bundle"            # all dossiers of a year or a round, merged
ROLLUP_XLSX = "rollup_xlsx"                  # the district 汇总表
ROLLUP_PDF = "rollup_pdf"                    # the district report with charts
ROLLUP_JSON = "rollup_json"                  # the figures behind both (the dashboard reads them)


class Artifact(TenantMixin, db.Model):
    """A finished compiled file, keyed by what it compiles: kind + subject + fingerprint of
    the inputs. Written after the file is complete and in place (never half a file)."""

    __tablename__ = "artifact"
    __school_column__ = "school_id"
    __table_args__ = (UniqueConstraint("district_id", "kind", "subject", "fingerprint"),)

    kind: Mapped[str] = mapped_column(String(30))
    subject: Mapped[str] = mapped_column(String(80), index=True)  # e.g. plan-version-12, year-2026
    fingerprint: Mapped[str] = mapped_column(String(64))
    school_id: Mapped[int | None] = mapped_column(BigInteger)  # the school it concerns, if any
    path: Mapped[str] = mapped_column(String(300))  # relative to the artifact folder
    filename: Mapped[str] = mapped_column(String(200))  # the download name (Chinese kept)
    size: Mapped[int] = mapped_column(Integer, default=0)
    sha256: Mapped[str] = mapped_column(String(64), default="")
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    meta: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def scope_school_id(self):
        return self.school_id
