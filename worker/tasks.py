"""RQ entry points. Arguments are ids; the DB row is the record of truth."""
from __future__ import annotations

_app = None


def _get_app():
    global _app
    if _app is None:
        from app import create_app

        _app = create_app()
    return _app


def execute_run(district_id: int, run_id: int) -> str:
    app = _get_app()
    from app.extensions import db
    from app.jobs import services

    with app.app_context():
        # RQ forks a work horse per job: never reuse the parent's pooled connections.
        db.engine.dispose(close=False)
        try:
            return services.execute(district_id, run_id)
        finally:
            db.session.remove()
