"""Security headers and safe redirects."""
from urllib.parse import urlsplit

from flask import request
from flask_login import current_user

CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def add_headers(response):
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Referrer-Policy"] = "same-origin"
    response.headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if not request.path.startswith("/static/") and (response.status_code >= 400 or _authenticated()):
        response.headers["Cache-Control"] = "no-store"
    return response


def _authenticated() -> bool:
    """Whether the request has a logged-in user. Loading the user needs the database: when it is
    down (the 503 page is being sent) the answer is "yes" — no-store is the safe side — instead of
    an error raised here, after the error handlers, which would turn the Chinese 503 into a bare 500."""
    from sqlalchemy.exc import InterfaceError, OperationalError

    try:
        user = current_user._get_current_object() if current_user else None
        # is_anonymous is a constant of the user classes: after a commit has expired the user,
        # is_authenticated (its ``active`` column) would cost a statement on every response.
        return user is not None and not user.is_anonymous
    except (OperationalError, InterfaceError):
        return True


def safe_next(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None (no open redirect through ``next``)."""
    if not target:
        return None
    target = "".join(ch for ch in target if ch.isprintable()).strip()
    if "\\" in target or target.startswith("//") or not target.startswith("/"):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target


# Largest id a URL may carry: a bigger number cannot name a row (BIGINT) and used to reach the
# database driver as an overflow (a 500); now the route simply does not match (404).
MAX_ID = 2**63 - 1


def bounded_int_converter():
    from werkzeug.routing import IntegerConverter

    class BoundedIntegerConverter(IntegerConverter):
        def __init__(self, map, fixed_digits=0, min=None, max=MAX_ID, signed=False):  # noqa: A002
            super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    return BoundedIntegerConverter
