from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import BigInteger, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from tenants.models import UTCDateTime, utcnow

_PK = BigInteger().with_variant(Integer, "sqlite")


class User(UserMixin, db.Model):
    """A person. What they may do comes from memberships (tenants.models.Membership)."""

    __tablename__ = "user_account"

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), default="")
    email: Mapped[str] = mapped_column(String(120), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    platform_roles = relationship("PlatformRole", lazy="selectin", cascade="all, delete-orphan")

    @property
    def is_active(self) -> bool:  # Flask-Login
        return self.active

    @property
    def is_platform_admin(self) -> bool:
        return any(r.role == "platform_admin" for r in self.platform_roles)

    @property
    def masked_phone(self) -> str:
        p = self.phone or ""
        return p[:3] + "****" + p[-4:] if len(p) >= 11 else ("****" if p else "")

    def __repr__(self) -> str:
        return f"<User {self.username}>"


class PlatformRole(db.Model):
    """A role above every district (platform admin)."""

    __tablename__ = "platform_role"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(30), primary_key=True)


class UserSession(db.Model):
    """One login. The cookie carries only the random id; deleting the row logs out."""

    __tablename__ = "user_session"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ip: Mapped[str] = mapped_column(String(64), default="")
    user_agent: Mapped[str] = mapped_column(String(255), default="")


class ApiToken(db.Model):
    """A per-user API token; only its hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LoginAttempt(db.Model):
    """Failed and successful logins, for throttling per account and per IP."""

    __tablename__ = "login_attempt"

    id: Mapped[int] = mapped_column(_PK, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    ip: Mapped[str] = mapped_column(String(64), index=True)
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
