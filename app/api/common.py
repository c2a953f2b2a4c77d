"""Small helpers shared by the resource APIs (plans, summaries)."""
from flask import abort

from app.extensions import db

FIRST_YEAR, LAST_YEAR = 2000, 2100  # a year outside is not a resource, it is a typo: 404


def year_or_404(year: int) -> int:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        abort(404)
    return year


def conflict(exc: Exception):
    """A workflow refusal (the service's Chinese message) as 409; nothing of the request is kept."""
    db.session.rollback()
    abort(409, description=str(exc))
