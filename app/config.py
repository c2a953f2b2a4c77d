"""Configuration from environment variables: one class per mode.

Unset ``DATABASE_URL`` means the embedded default (a SQLite file in ``instance/``);
unset ``REDIS_URL`` means the embedded job queue (jobs wait in the database and the
``flask jobs work`` process runs them).
"""
import os
import secrets
from datetime import timedelta
from pathlib import Path

_WEAK_KEYS = {"dev", "changeme", "secret", "development", "test"}


def _bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _instance_secret(instance_path: str) -> str:
    """A per-installation random key kept in instance/ for the embedded default."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


class Config:
    SQLALCHEMY_DATABASE_URI = os.environ.get("DATABASE_URL") or "sqlite:///jianjia.sqlite"
    # Alembic runs as the table owner; the app as a role that owns nothing (RLS applies).
    MIGRATION_DATABASE_URL = os.environ.get("MIGRATION_DATABASE_URL")
    # hide_parameters: a database error logged with its traceback must not carry the values (phones, names)
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "hide_parameters": True}
    REDIS_URL = os.environ.get("REDIS_URL") or None
    SECRET_KEY = os.environ.get("SECRET_KEY")

    # Sessions: a server-side record per login (accounts.UserSession); the cookie
    # only carries its random id, so logout/password change/disable revoke it.
    SESSION_COOKIE_NAME = "jianjia_session"
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", False)
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)
    SESSION_IDLE_TIMEOUT = timedelta(hours=2)
    REMEMBER_COOKIE_DURATION = timedelta(days=0)  # remember-me is not offered

    WTF_CSRF_TIME_LIMIT = None  # the token lives as long as the session (long scoring sessions)
    MAX_CONTENT_LENGTH = 25 * 1024 * 1024
    IMPORT_MAX_BYTES = 5 * 1024 * 1024
    IMPORT_MAX_ROWS = 5000
    IMPORT_BACKGROUND_ROWS = 200  # larger imports run as a background job

    RETENTION_LOGIN_ATTEMPT_DAYS = int(os.environ.get("RETENTION_LOGIN_ATTEMPT_DAYS") or 90)  # app/privacy.py
    RETENTION_REVOKED_TOKEN_DAYS = int(os.environ.get("RETENTION_REVOKED_TOKEN_DAYS") or 90)

    LOGIN_MAX_FAILURES_PER_ACCOUNT = 5
    LOGIN_MAX_FAILURES_PER_IP = 20
    LOGIN_THROTTLE_WINDOW = timedelta(minutes=15)

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ["zh_CN", "en"]

    BOOTSTRAP_SERVE_LOCAL = True  # no CDN: district offices run on intranets

    API_TITLE = "Jianjia API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"

    # E-mail (plan reminders): sent only when MAIL_SERVER is set; in-app notifications always.
    MAIL_SERVER = os.environ.get("MAIL_SERVER") or None
    MAIL_PORT = int(os.environ.get("MAIL_PORT") or 25)
    MAIL_USE_TLS = _bool("MAIL_USE_TLS", False)
    MAIL_USE_SSL = _bool("MAIL_USE_SSL", False)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME") or None
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD") or None
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER") or None

    UPLOAD_FOLDER = None  # defaults to instance/uploads
    PAGE_SIZE = 20
    JOB_POLL_INTERVAL = 1.0
    JOB_STALE_AFTER = timedelta(minutes=15)
    TESTING = False
    DEBUG = False

    @classmethod
    def finalise(cls, app) -> None:
        """Fill values that depend on the instance path and refuse weak secrets."""
        cfg = app.config
        if not cfg.get("SECRET_KEY"):
            cfg["SECRET_KEY"] = _instance_secret(app.instance_path)
        key = cfg["SECRET_KEY"]
        if len(key) < 32 or key.lower() in _WEAK_KEYS:
            raise RuntimeError("SECRET_KEY 太短或是已知的弱值 (SECRET_KEY too short or a known weak value)")
        if not cfg.get("UPLOAD_FOLDER"):
            cfg["UPLOAD_FOLDER"] = os.path.join(app.instance_path, "uploads")
        uri = cfg["SQLALCHEMY_DATABASE_URI"]
        if uri.startswith("postgres://"):
            uri = "postgresql://" + uri[len("postgres://"):]
        if uri.startswith("postgresql://"):
            uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
        cfg["SQLALCHEMY_DATABASE_URI"] = uri
        mig = cfg.get("MIGRATION_DATABASE_URL")
        if mig and mig.startswith("postgresql://"):
            cfg["MIGRATION_DATABASE_URL"] = "postgresql+psycopg://" + mig[len("postgresql://"):]


class DevelopmentConfig(Config):
    DEBUG = False


class ProductionConfig(Config):
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE", True)
    # __Host-: only over HTTPS, no Domain, Path=/ — a sibling subdomain cannot plant or read it.
    SESSION_COOKIE_NAME = "__Host-jianjia_session" if SESSION_COOKIE_SECURE else "jianjia_session"


class TestingConfig(Config):
    TESTING = True
    SECRET_KEY = "t" * 48
    SERVER_NAME = "localhost"
    IMPORT_BACKGROUND_ROWS = 50


CONFIGS = {
    "development": DevelopmentConfig,
    "production": ProductionConfig,
    "testing": TestingConfig,
}
