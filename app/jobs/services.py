"""Submitting and running background jobs (DESIGN §5).

submit() writes a JobRun in the caller's transaction (the outbox); after the commit the run
is handed to RQ when ``REDIS_URL`` is set, or left for the embedded worker otherwise. If
Redis is down the user loses nothing: the run stays ``pending`` and the sweeper hands it
over later under the same job id. execute() claims a run with a conditional update, so a
run handed over twice is done once.
"""
from __future__ import annotations

import logging
import traceback
from datetime import datetime, timezone
from typing import Callable

from flask import current_app
from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from app.extensions import db
from app.jobs.models import DONE, FAILED, PENDING, QUEUED, RUNNING, JobRun
from tenants.scope import Scope, system_scope, tenant_scope

log = logging.getLogger("jianjia.jobs")

Progress = Callable[[int, str], None]
HANDLERS: dict[str, Callable] = {}
MAX_ATTEMPTS = 3


class JobFailed(Exception):
    """A handler's expected failure: the message is shown to the user, no traceback kept."""

    def __init__(self, message: str, result: dict | None = None):
        super().__init__(message)
        self.result = result or {}


def handler(kind: str):
    """Register ``fn(run, progress) -> dict`` as the handler of job runs of ``kind``."""

    def decorator(fn):
        HANDLERS[kind] = fn
        return fn

    return decorator


def _now() -> datetime:
    return datetime.now(timezone.utc)


# --- submitting ---------------------------------------------------------------

def submit(kind: str, dedupe_key: str, args: dict | None = None, *, school_id: int | None = None,
           queue: str = "default", actor_user_id: int | None = None) -> JobRun:
    """Record a job run in the current transaction; it is handed over after commit.

    The same ``dedupe_key`` in a district gives the same run (artifacts are keyed by what
    they compile), so submitting twice does the work once.
    """
    existing = db.session.scalar(select(JobRun).where(JobRun.dedupe_key == dedupe_key))
    if existing is not None:
        return existing
    run = JobRun(kind=kind, dedupe_key=dedupe_key, args=args or {}, school_id=school_id, queue=queue,
                 actor_user_id=actor_user_id, status=PENDING)
    db.session.add(run)
    db.session.flush()
    _after_commit(db.session(), run.district_id, run.id)
    return run


def requeue(run: JobRun) -> JobRun:
    """Run a finished (failed, or done whose artifact went missing) run again, under the
    same id and key: it goes back to the outbox and is handed over after commit."""
    if not run.finished:
        return run
    run.status, run.progress, run.error, run.message = PENDING, 0, "", "重新排队"
    run.attempts, run.started_at, run.finished_at, run.enqueued_at = 0, None, None, None
    db.session.flush()
    _after_commit(db.session(), run.district_id, run.id)
    return run


def _after_commit(session: Session, district_id: int, run_id: int) -> None:
    session.info.setdefault("jobs_to_dispatch", []).append((district_id, run_id))
    if not session.info.get("jobs_hooked"):
        event.listen(session, "after_commit", _dispatch_after_commit)
        event.listen(session, "after_rollback", _forget_after_rollback)
        session.info["jobs_hooked"] = True


def _forget_after_rollback(session):
    session.info.pop("jobs_to_dispatch", None)


def _dispatch_after_commit(session):
    runs = session.info.pop("jobs_to_dispatch", [])
    if runs and current_app.config.get("REDIS_URL"):
        hand_over_runs(runs)
    # Embedded queue: nothing to do, the worker process polls pending runs.


def hand_over_runs(runs) -> None:
    """Hand committed runs to RQ on a fresh session (the committing one is mid-event)."""
    session = Session(bind=db.engine)
    try:
        for district_id, run_id in runs:
            with tenant_scope(Scope.district(district_id), session):
                run = session.get(JobRun, (district_id, run_id))
                if run is not None:
                    hand_over(session, run)
                session.commit()
    finally:
        session.close()


def hand_over(session: Session, run: JobRun) -> bool:
    """Enqueue on RQ; on any Redis error leave the run pending for the sweeper."""
    from redis.exceptions import RedisError
    from rq.exceptions import DuplicateJobError

    from worker.queues import enqueue_run, redis_connection

    try:
        connection = redis_connection(current_app.config["REDIS_URL"])
        try:
            enqueue_run(connection, run.queue, run.rq_job_id, run.district_id, run.id)
        except DuplicateJobError:
            # Already on the queue under its stable id — unless Redis still holds the job of a
            # worker that died (SIGKILL) half way: then the run is pending again in the DB
            # (reset as stale) and the dead job is replaced, or nothing would ever run it.
            if run.status == PENDING and _drop_dead_rq_job(connection, run.rq_job_id):
                enqueue_run(connection, run.queue, run.rq_job_id, run.district_id, run.id)
    except DuplicateJobError:
        pass
    except RedisError as exc:
        log.warning("Redis unavailable, job run %s stays pending: %s", run.rq_job_id, exc)
        return False
    if run.status == PENDING:
        run.status = QUEUED
    run.enqueued_at = _now()
    return True


def _drop_dead_rq_job(connection, job_id: str) -> bool:
    """Delete an RQ job that is not waiting to run (started by a dead worker, failed,
    finished, stopped); True when it was deleted."""
    from rq.job import Job, JobStatus
    from rq.serializers import JSONSerializer

    try:
        job = Job.fetch(job_id, connection=connection, serializer=JSONSerializer)
    except Exception:  # noqa: BLE001 - gone in the meantime
        return True
    if job.get_status(refresh=False) in (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED):
        return False
    job.delete()
    return True


# --- sweeping -----------------------------------------------------------------

def sweep() -> int:
    """Hand over runs that Redis never got or lost. Safe to run any number of times."""
    if not current_app.config.get("REDIS_URL"):
        return reset_stale_runs()
    from redis.exceptions import RedisError
    from rq.job import Job

    from worker.queues import redis_connection

    connection = redis_connection(current_app.config["REDIS_URL"])
    handed = reset_stale_runs()
    with system_scope("job sweeper: find runs Redis does not hold"):
        rows = db.session.execute(
            select(JobRun.district_id, JobRun.id, JobRun.status).where(JobRun.status.in_([PENDING, QUEUED]))
            .order_by(JobRun.created_at)
        ).all()
    for district_id, run_id, status in rows:
        with tenant_scope(Scope.district(district_id)):
            run = db.session.get(JobRun, (district_id, run_id))
            if status == QUEUED:
                try:
                    if Job.exists(run.rq_job_id, connection=connection):
                        continue
                except RedisError:
                    return handed
            if hand_over(db.session, run):
                handed += 1
            db.session.commit()
    return handed


def reset_stale_runs() -> int:
    """A run left ``running`` by a dead worker goes back to pending (or fails after 3 tries)."""
    stale_before = _now() - current_app.config["JOB_STALE_AFTER"]
    with system_scope("job sweeper: runs abandoned by a dead worker"):
        rows = db.session.scalars(
            select(JobRun).where(JobRun.status == RUNNING, JobRun.started_at < stale_before)
        ).all()
        for run in rows:
            if run.attempts >= MAX_ATTEMPTS:
                run.status, run.error, run.finished_at = FAILED, "任务多次中断，已停止重试", _now()
            else:
                run.status, run.enqueued_at = PENDING, None
        db.session.commit()
    return len(rows)


def next_pending_run() -> tuple[int, int] | None:
    """The oldest pending run (embedded queue)."""
    with system_scope("embedded worker: find the next pending run"):
        row = db.session.execute(
            select(JobRun.district_id, JobRun.id).where(JobRun.status.in_([PENDING, QUEUED]))
            .order_by(JobRun.created_at, JobRun.id).limit(1)
        ).first()
    return (row[0], row[1]) if row else None


# --- running ------------------------------------------------------------------

def claim(district_id: int, run_id: int) -> bool:
    result = db.session.execute(
        update(JobRun)
        .where(JobRun.district_id == district_id, JobRun.id == run_id,
               or_(JobRun.status == PENDING, JobRun.status == QUEUED))
        .values(status=RUNNING, started_at=_now(), attempts=JobRun.attempts + 1, progress=0, error="")
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return result.rowcount == 1


def execute(district_id: int, run_id: int) -> str:
    """Run one job run to the end. Returns its final status ('skipped' if not claimable)."""
    with tenant_scope(Scope.district(district_id)):
        if not claim(district_id, run_id):
            return "skipped"
        run = db.session.get(JobRun, (district_id, run_id))
        fn = HANDLERS.get(run.kind)
        reporter = _ProgressReporter(district_id, run_id)
        try:
            if fn is None:
                raise JobFailed(f"未知的任务类型：{run.kind}")
            result = fn(run, reporter) or {}
            run.result, run.status, run.progress, run.finished_at = result, DONE, 100, _now()
            run.message = run.message or "已完成"
            db.session.commit()
        except JobFailed as exc:
            db.session.rollback()
            _finish_failed(district_id, run_id, str(exc), exc.result)
        except Exception as exc:  # noqa: BLE001 - the run must record every failure
            db.session.rollback()
            log.exception("job run %s/%s failed", district_id, run_id)
            _finish_failed(district_id, run_id, f"任务出错：{type(exc).__name__}", {},
                           detail=traceback.format_exc(limit=5))
        reporter.close()
        return db.session.get(JobRun, (district_id, run_id)).status


def _finish_failed(district_id, run_id, message, result, detail=""):
    run = db.session.get(JobRun, (district_id, run_id))
    run.status, run.error, run.result, run.finished_at = FAILED, message, result, _now()
    if detail:
        log.error(detail)
    db.session.commit()


def _sqlite_job_holds_write_lock() -> bool:
    """True on SQLite once the job's own transaction has written (BEGIN issued): progress
    written on another connection would block for busy_timeout and raise 'database is
    locked', failing the job. Progress is best effort, so it is skipped then."""
    if db.engine.dialect.name != "sqlite":
        return False
    session = db.session()
    if not session.in_transaction():
        return False
    dbapi = session.connection().connection.dbapi_connection
    return bool(getattr(dbapi, "in_transaction", False))


class _ProgressReporter:
    """Writes progress on its own connection so it is visible while the job's transaction
    is still open, and mirrors it into RQ's job.meta when running under RQ."""

    def __init__(self, district_id: int, run_id: int):
        self.key = (district_id, run_id)
        self.session = Session(bind=db.engine)
        self.last = -1

    def __call__(self, percent: int, message: str = "") -> None:
        percent = max(0, min(99, int(percent)))
        if percent == self.last and not message:
            return
        self.last = percent
        if _sqlite_job_holds_write_lock():
            return  # SQLite has one writer: a second connection would wait, then fail the job
        with tenant_scope(Scope.district(self.key[0]), self.session):
            self.session.execute(
                update(JobRun).where(JobRun.district_id == self.key[0], JobRun.id == self.key[1])
                .values(progress=percent, message=message[:200]).execution_options(synchronize_session=False)
            )
            self.session.commit()
        try:
            from rq import get_current_job

            job = get_current_job()
            if job is not None:
                job.meta["progress"] = percent
                job.save_meta()
        except Exception:  # noqa: BLE001 - progress mirroring is best effort
            pass

    def close(self):
        self.session.close()


def run_as_dict(run: JobRun) -> dict:
    return {
        "id": run.id, "kind": run.kind, "status": run.status, "status_label": run.status_label,
        "progress": run.progress, "message": run.message, "error": run.error,
        "finished": run.finished, "result": run.result if run.finished else {},
        "created_at": run.created_at.isoformat() if run.created_at else None,
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }

