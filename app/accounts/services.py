"""Login, logout, sessions, passwords and API tokens: the rules, testable without HTTP."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta, timezone

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, func, select
from sqlalchemy.orm import joinedload

from app.accounts.models import ApiToken, LoginAttempt, User, UserSession
from app.accounts.passwords import burn_time, hash_password, password_problem, verify_password
from app.audit.services import record
from app.extensions import db


class AccountError(ValueError):
    """A rule was broken; the message is for the user (Chinese); ``field`` names the input."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


def _now() -> datetime:
    return datetime.now(timezone.utc)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


# --- login throttling -------------------------------------------------------

def is_throttled(username: str, ip: str) -> bool:
    cfg = current_app.config
    since = _now() - cfg["LOGIN_THROTTLE_WINDOW"]
    per_account = db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.username == username, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    )
    per_ip = db.session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
    )
    return per_account >= cfg["LOGIN_MAX_FAILURES_PER_ACCOUNT"] or per_ip >= cfg["LOGIN_MAX_FAILURES_PER_IP"]


def authenticate(username: str, password: str, ip: str) -> User:
    """The user for these credentials, or AccountError. Failures are counted and audited."""
    username = normalise_username(username)
    if is_throttled(username, ip):
        record("login_throttled", details={"username": username}, commit=True)
        raise AccountError(_("登录失败次数过多，请 15 分钟后再试"))
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        burn_time(password)
    ok = user is not None and verify_password(user.password_hash, password)
    if not ok or not user.active:
        db.session.add(LoginAttempt(username=username, ip=ip, success=False))
        record("login_failed", details={"username": username,
                                        "reason": "disabled" if ok else "bad_credentials"}, commit=True)
        if ok and not user.active:
            raise AccountError(_("该账号已停用，请联系区教育工会管理员"))
        raise AccountError(_("用户名或密码不正确"))
    db.session.add(LoginAttempt(username=username, ip=ip, success=True))
    return user


# --- server-side sessions ---------------------------------------------------

def open_session(user: User, ip: str = "", user_agent: str = "") -> str:
    """Create a login session; returns the token for the cookie (only its hash is stored)."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(
        id=_digest(token), user_id=user.id, ip=ip[:64], user_agent=(user_agent or "")[:255],
        expires_at=_now() + current_app.config["PERMANENT_SESSION_LIFETIME"],
    ))
    return token


def session_user(token: str | None) -> User | None:
    """The user of a live session, or None (expired, idle, revoked, or user disabled)."""
    if not token:
        return None
    # One statement for the session row, its user and the user's platform roles (every request).
    found = db.session.execute(
        select(UserSession, User).join(User, User.id == UserSession.user_id)
        .where(UserSession.id == _digest(token)).options(joinedload(User.platform_roles))).unique().first()
    if found is None:
        return None
    row, user = found
    now = _now()
    idle = current_app.config["SESSION_IDLE_TIMEOUT"]
    if row.expires_at <= now or row.last_seen_at + idle <= now:
        db.session.delete(row)
        db.session.commit()
        return None
    if not user.active:
        return None
    if now - row.last_seen_at > timedelta(minutes=1):
        row.last_seen_at = now
        db.session.commit()
    return user


def close_session(token: str | None) -> None:
    if token:
        db.session.execute(delete(UserSession).where(UserSession.id == _digest(token)))


def revoke_sessions(user: User) -> int:
    result = db.session.execute(delete(UserSession).where(UserSession.user_id == user.id))
    return result.rowcount or 0


# --- passwords --------------------------------------------------------------

def set_password(user: User, password: str) -> None:
    problem = password_problem(password, user.username)
    if problem:
        raise AccountError(problem, field="new")
    user.password_hash = hash_password(password)
    user.password_changed_at = _now()


def change_password(user: User, current: str, new: str) -> None:
    if not verify_password(user.password_hash, current):
        raise AccountError(_("当前密码不正确"), field="current")
    if current == new:
        raise AccountError(_("新密码不能与当前密码相同"), field="new")
    set_password(user, new)
    user.must_change_password = False
    revoke_sessions(user)  # every other login ends; the caller opens a fresh one
    record("password_changed", target=user)


def create_user(username: str, display_name: str, password: str, *, phone: str = "", email: str = "",
                must_change_password: bool = True) -> User:
    username = normalise_username(username)
    if not username or len(username) > 64:
        raise AccountError(_("用户名不能为空，且不超过 64 个字符"))
    if not all(c.isalnum() or c in "._-@" for c in username):
        raise AccountError(_("用户名只能包含字母、数字和 . _ - @"))
    if db.session.scalar(select(User.id).where(User.username == username)):
        raise AccountError(_("用户名 %(name)s 已被使用", name=username))
    user = User(username=username, display_name=display_name.strip() or username, phone=phone.strip(),
                email=email.strip(), must_change_password=must_change_password, password_hash="")
    set_password(user, password)
    db.session.add(user)
    db.session.flush()
    return user


def set_active(user: User, active: bool) -> None:
    user.active = active
    if not active:
        revoke_sessions(user)
        for token in db.session.scalars(select(ApiToken).where(ApiToken.user_id == user.id,
                                                               ApiToken.revoked_at.is_(None))):
            token.revoked_at = _now()
    record("user_enabled" if active else "user_disabled", target=user)


# --- API tokens -------------------------------------------------------------

TOKEN_PREFIX = "jj_"


def create_api_token(user: User, name: str) -> tuple[ApiToken, str]:
    name = (name or "").strip()
    if not name:
        raise AccountError(_("请填写令牌名称"))
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name[:64], token_hash=_digest(secret), prefix=secret[:10])
    db.session.add(token)
    record("api_token_created", target=user, details={"name": name})
    return token, secret


def token_user(secret: str) -> User | None:
    if not secret or not secret.startswith(TOKEN_PREFIX):
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is None or token.revoked_at is not None:
        return None
    user = db.session.get(User, token.user_id)
    if user is None or not user.active:
        return None
    token.last_used_at = _now()
    db.session.commit()
    return user


def revoke_api_token(user: User, token_id: int) -> None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.id == token_id, ApiToken.user_id == user.id))
    if token is None:
        raise AccountError(_("找不到该令牌"))
    token.revoked_at = _now()
    record("api_token_revoked", target=user, details={"name": token.name})
