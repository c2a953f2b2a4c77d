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
    last_sweep = 0.0
    while True:
        with app.app_context():
            try:
                if time.monotonic() - last_sweep > 30:
                    services.reset_stale_runs()
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
