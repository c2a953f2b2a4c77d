"""Personal data: which columns hold it, how it is masked, and how long it is kept (PIPL Art. 19/47).

Classification (checklist row 42): every column whose name says it may hold personal data is listed
here as ``personal``, ``sensitive`` (PIPL sensitive: ID numbers, hardship) or ``secret`` (credentials,
stored only as hashes). tests/security/test_hardening.py fails when a new such column is unlisted.

Retention (checklist row 40), days, overridable in the config:
- ``RETENTION_LOGIN_ATTEMPT_DAYS`` (90): login attempts (username + IP) — only the 15-minute throttle
  window needs them; 90 days leaves room to investigate an attack.
- expired login sessions (IP, browser) are deleted as soon as they expire;
- ``RETENTION_REVOKED_TOKEN_DAYS`` (90): revoked API tokens.
The audit log is NOT purged by the application: it is append-only (the database refuses UPDATE/DELETE)
and must be kept at least 6 months (Cybersecurity Law Art. 21) and 3 years for sensitive access
(PIPL Art. 56); it holds no phone number, ID number or password. Offboarding a district deletes its rows.
Run ``flask privacy purge`` daily (cron, or the clock process).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

PERSONAL = "personal"
SENSITIVE = "sensitive"
SECRET = "secret"

COLUMNS: dict[tuple[str, str], str] = {
    ("user_account", "username"): PERSONAL,
    ("user_account", "display_name"): PERSONAL,
    ("user_account", "phone"): PERSONAL,  # masked on the server everywhere (masked_phone)
    ("user_account", "email"): PERSONAL,
    ("user_account", "password_hash"): SECRET,
    ("api_token", "token_hash"): SECRET,
    ("user_session", "id"): SECRET,  # sha256 of the cookie
    ("user_session", "ip"): PERSONAL,
    ("user_session", "user_agent"): PERSONAL,
    ("login_attempt", "username"): PERSONAL,
    ("login_attempt", "ip"): PERSONAL,
    ("audit_event", "actor_name"): PERSONAL,
    ("audit_event", "ip"): PERSONAL,
}

# Columns whose names match below but hold no personal data (flags and dates about a credential).
NOT_PERSONAL: set[tuple[str, str]] = {
    ("user_account", "must_change_password"),
    ("user_account", "password_changed_at"),
}

# Column names that may hold personal data: such a column must be classified above.
PERSONAL_NAME = re.compile(
    r"phone|mobile|email|id_?number|id_?card|identity|passport|birth|hardship|salary|bank|"
    r"(^|_)ip$|user_agent|password|token|secret|display_name|username|actor_name|person",
    re.I,
)

PHONE_RE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")
ID_NUMBER_RE = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def mask_phone(value: str | None) -> str:
    """``138****1234``: at most the first 3 and last 4 digits are shown."""
    p = (value or "").strip()
    if len(p) >= 11:
        return p[:3] + "****" + p[-4:]
    return "****" if p else ""


def mask_id_number(value: str | None) -> str:
    """First 6 (region) + ``********`` + last 4 of an 18-character ID number."""
    v = (value or "").strip()
    if len(v) >= 15:
        return v[:6] + "********" + v[-4:]
    return "****" if v else ""


def redact(text: str) -> str:
    """``text`` with every phone and ID number masked."""
    text = ID_NUMBER_RE.sub(lambda m: mask_id_number(m.group()), text)
    return PHONE_RE.sub(lambda m: mask_phone(m.group()), text)


def install_log_redaction() -> None:
    """Mask phone and ID numbers in every log record of the process, message and traceback alike
    (checklist row 35). SQL parameters are hidden by the engine (hide_parameters), but PostgreSQL
    itself puts the failing row into its error text ("DETAIL: Failing row contains (…)"), which a
    logged traceback would carry. Installed once per process; idempotent."""
    import logging

    previous = logging.getLogRecordFactory()
    if getattr(previous, "jianjia_redacts", False):
        return

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot format is left to the handler
            return record
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[0] is not None and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
        return record

    factory.jianjia_redacts = True
    logging.setLogRecordFactory(factory)


def purge(now: datetime | None = None, config: dict | None = None) -> dict[str, int]:
    """Delete what is past its retention period. Returns counts per kind. Commits."""
    from flask import current_app
    from sqlalchemy import delete

    from app.accounts.models import ApiToken, LoginAttempt, UserSession
    from app.audit.services import record
    from app.extensions import db

    cfg = config or current_app.config
    now = now or datetime.now(timezone.utc)
    attempts_before = now - timedelta(days=int(cfg.get("RETENTION_LOGIN_ATTEMPT_DAYS", 90)))
    tokens_before = now - timedelta(days=int(cfg.get("RETENTION_REVOKED_TOKEN_DAYS", 90)))
    counts = {
        "login_attempt": db.session.execute(
            delete(LoginAttempt).where(LoginAttempt.at < attempts_before)).rowcount,
        "user_session": db.session.execute(
            delete(UserSession).where(UserSession.expires_at < now)).rowcount,
        "api_token": db.session.execute(
            delete(ApiToken).where(ApiToken.revoked_at.is_not(None), ApiToken.revoked_at < tokens_before)).rowcount,
    }
    if any(counts.values()):
        record("retention_purge", target_type="system", details=counts)
    db.session.commit()
    return counts


def _cli():
    import click
    from flask.cli import AppGroup

    group = AppGroup("privacy", help="个人信息：按保存期限清理")

    @group.command("purge")
    def purge_command():
        """删除超过保存期限的登录记录、过期会话和已撤销的令牌。"""
        counts = purge()
        click.echo("已清理：" + "，".join(f"{k} {v}" for k, v in counts.items()))

    return group
