"""The embedded queue: with no REDIS_URL, job runs wait in the database (status pending)
and this loop claims and runs them in its own process, so the web stays responsive and a
restart loses nothing. Started by ``flask jobs work``."""
from __future__ import annotations

import logging
import time

log = logging.getLogger("jianjia.worker")


def work(app, *, burst: bool = False, poll: float | None = None, max_runs: int | None = None) -> int:
    from app.extensions import db
    from app.jobs import services

    poll = poll if poll is not None else app.config["JOB_POLL_INTERVAL"]
    done = 0
    last_sweep: float | None = None  # sweep on the first pass, whatever the clock reads
    while True:
        with app.app_context():
            try:
                if last_sweep is None or time.monotonic() - last_sweep > 30:
                    services.reset_stale_runs()
                    _daily()
                    last_sweep = time.monotonic()
                claimed = services.next_pending_run()
                if claimed is not None:
                    log.info("running job %s/%s", *claimed)
                    services.execute(*claimed)
                    done += 1
            finally:
                db.session.remove()
        if max_runs is not None and done >= max_runs:
            return done
        if claimed is None:
            if burst:
                return done
            time.sleep(poll)


def _daily() -> None:
    """The scheduled work of the day (no clock process in embedded mode): 复查 due dates."""
    from app.titles.services import run_daily_if_new_day

    try:
        run_daily_if_new_day()
    except Exception:  # noqa: BLE001 - a failed daily run must not stop the job loop; retried in 30 s
        log.exception("daily run (titles mark-due) failed")
        from app.extensions import db

        db.session.rollback()
