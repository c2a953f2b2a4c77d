"""District, School and Membership, and the mixins every tenant-owned model uses.

Rule (DESIGN §3.1): every tenant table has ``district_id`` in its primary key and in every
foreign key to another tenant table. ``tests/tenants/test_schema.py`` checks it.
"""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, declared_attr, mapped_column, relationship

from app.extensions import db
from app.i18n import N_
from tenants.roles import ROLE_LABELS


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(db.TypeDecorator):
    """Timezone-aware UTC datetimes on both SQLite and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


# Tables that are deliberately not partitioned by district (reviewed list; the schema
# test fails on a table that is neither tenant-owned nor listed here).
GLOBAL_TABLES = {
    "district": "the tenant root itself; RLS limits it to the scoped district",
    "user_account": "a person may hold roles in several schools; read only through memberships",
    "platform_role": "platform operators, above every district",
    "user_session": "server-side login sessions, keyed by user",
    "api_token": "per-user API tokens (hashed)",
    "login_attempt": "login throttling counts failures per account and per IP",
    "audit_event": "append-only audit log; district rows filtered explicitly by services",
    "id_sequence": "id allocation for tenant tables on SQLite (PostgreSQL uses sequences)",
    "alembic_version": "migration bookkeeping",
}


class TenantMixin:
    """A district-owned row: primary key (district_id, id).

    ``__school_column__`` names the column that ties a row to a school; in a school scope
    only rows of the visible schools are seen (rows with NULL there are district-level).
    """

    __school_column__: str | None = None

    @declared_attr
    def district_id(cls) -> Mapped[int]:
        return mapped_column(
            BigInteger, ForeignKey("district.id", ondelete="RESTRICT"), primary_key=True, sort_order=-20
        )

    # Allocated in before_flush (tenants.ids): composite keys cannot autoincrement on SQLite.
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False, sort_order=-19)

    def scope_school_id(self):
        """The school this row belongs to for scope checks (None: district-level row)."""
        return None


class SchoolScopedMixin(TenantMixin):
    """A row owned by one school of the district (school_id NOT NULL, composite FK)."""

    __school_column__ = "school_id"

    @declared_attr
    def school_id(cls) -> Mapped[int]:
        return mapped_column(BigInteger, nullable=False, index=True, sort_order=-18)

    @declared_attr.directive
    def __table_args__(cls):
        return (
            ForeignKeyConstraint(
                ["district_id", "school_id"], ["school.district_id", "school.id"], ondelete="CASCADE"
            ),
        ) + tuple(getattr(cls, "__extra_table_args__", ()))

    def scope_school_id(self):
        return self.school_id


def tenant_fk(columns: list[str], table: str, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A composite FK (district_id, <columns>) → <table>(district_id, id)."""
    return ForeignKeyConstraint(
        ["district_id", *columns], [f"{table}.district_id", f"{table}.id"], ondelete=ondelete
    )


class District(db.Model):
    """区/县教育工会 — the tenant."""

    __tablename__ = "district"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    slug: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(100), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<District {self.slug}>"


SCHOOL_KINDS = {
    "primary": N_("小学"),
    "junior": N_("初中"),
    "senior": N_("高中"),
    "complete": N_("完中"),
    "nine_year": N_("九年一贯制"),
    "kindergarten": N_("幼儿园"),
    "vocational": N_("职校"),
    "other": N_("其他"),
}


class School(TenantMixin, db.Model):
    """学校工会 — a branch; the partition inside a district."""

    __school_column__ = "id"

    __tablename__ = "school"
    __table_args__ = (
        UniqueConstraint("district_id", "name"),
        UniqueConstraint("district_id", "code"),
    )

    name: Mapped[str] = mapped_column(String(100))
    code: Mapped[str | None] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(20), default="primary")
    staff_count: Mapped[int] = mapped_column(Integer, default=0)
    member_count: Mapped[int] = mapped_column(Integer, default=0)
    address: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def scope_school_id(self):
        return self.id

    @property
    def kind_label(self) -> str:
        return SCHOOL_KINDS.get(self.kind, self.kind)

    def __repr__(self) -> str:
        return f"<School {self.district_id}/{self.id} {self.name}>"


class Membership(TenantMixin, db.Model):
    """A role a user holds in a district, or in one school of it."""

    __school_column__ = "school_id"

    __tablename__ = "membership"
    __table_args__ = (
        tenant_fk(["school_id"], "school", ondelete="CASCADE"),
        UniqueConstraint("district_id", "user_id", "school_id", "role"),
    )

    user_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("user_account.id", ondelete="CASCADE"), index=True
    )
    school_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    role: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    user = relationship("User", lazy="joined", innerjoin=True)
    school = relationship(
        School,
        primaryjoin="and_(Membership.district_id == School.district_id, Membership.school_id == School.id)",
        foreign_keys="[Membership.district_id, Membership.school_id]",
        viewonly=True,
        lazy="joined",
    )

    def scope_school_id(self):
        return self.school_id

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


class IdSequence(db.Model):
    """Next id per tenant table on SQLite (PostgreSQL uses real sequences)."""

    __tablename__ = "id_sequence"

    name: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


def tenant_models():
    """Every mapped class that is tenant-owned."""
    return [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TenantMixin)]
