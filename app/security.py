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
    if current_user and current_user.is_authenticated and not request.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"
    return response


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
