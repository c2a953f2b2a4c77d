"""Reliability with REAL worker processes (``rq worker``) against the local Redis
(REDIS_URL; skipped without it, failing under JIANJIA_REQUIRE_SERVICES=1):

* a worker SIGKILLed half way through writing a dossier leaves no artifact visible (no row,
  nothing at the final path); the sweeper re-enqueues it and a new worker completes it once;
* a Redis FLUSHDB after a surge of committed submissions loses nothing: the sweeper
  re-enqueues every run and the worker completes each once.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.compilation.models import PLAN_DOSSIER
from app.extensions import db
from app.jobs import services
from app.jobs.models import DONE, QUEUED, RUNNING
from tests.compilation.helpers import artifact_bytes, artifacts, pdf_text, run_row, submit_plan
from tests.conftest import build_world

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.redis


@pytest.fixture
def redis_url():
    from worker.queues import redis_connection

    url = os.environ["REDIS_URL"]
    conn = redis_connection(url)
    conn.flushdb()  # only the db of that URL
    yield url
    conn.flushdb()


@pytest.fixture
def real_app(app_factory, redis_url, tmp_path, monkeypatch):
    import worker.tasks

    application = app_factory(REDIS_URL=redis_url, ARTIFACT_FOLDER=str(tmp_path / "artifacts"),
                              JOB_STALE_AFTER=timedelta(0))
    monkeypatch.setattr(worker.tasks, "_app", application)
    return application


def _worker(app, tmp_path, *, burst: bool, hold: Path | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"], REDIS_URL=app.config["REDIS_URL"],
               ARTIFACT_FOLDER=app.config["ARTIFACT_FOLDER"], INSTANCE_PATH=str(tmp_path / "worker-instance"),
               APP_ENV="development")
    if hold is not None:
        env["JIANJIA_TEST_HOLD_FILE"] = str(hold)
    else:
        env.pop("JIANJIA_TEST_HOLD_FILE", None)
    args = [str(Path(sys.executable).parent / "rq"), "worker", "--url", app.config["REDIS_URL"], "--serializer", "json",
            "default", "reports"]
    if burst:
        args.append("--burst")
    return subprocess.Popen(args, cwd=ROOT, env=env, start_new_session=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _wait(predicate, timeout=60.0, what=""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (dead, not yet reaped by its dead parent) counts as dead
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split(")")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _sweep(app) -> int:
    with app.app_context():
        try:
            return services.sweep()
        finally:
            db.session.remove()


def _final_files(app) -> list[str]:
    folder = Path(app.config["ARTIFACT_FOLDER"])
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".part"))


def _run_burst(app, tmp_path):
    proc = _worker(app, tmp_path, burst=True)
    out, _ = proc.communicate(timeout=180)
    assert proc.returncode == 0, out.decode(errors="replace")[-3000:]


def test_worker_killed_mid_compile_leaves_nothing_visible_and_the_sweeper_completes_it(real_app, tmp_path):
    app = real_app
    world = build_world(app)
    hold = tmp_path / "hold"
    hold.write_text("wait")
    version_id, run_id = submit_plan(app, world)
    assert run_row(app, world.d1, run_id)["status"] == QUEUED  # handed to Redis after commit

    proc = _worker(app, tmp_path, burst=False, hold=hold)
    try:
        reached = Path(str(hold) + ".reached")
        _wait(reached.exists, 90, "the worker to be half way through writing the dossier")
        horse_pid, part = reached.read_text().split("\n", 1)
        part = Path(part)
        assert part.exists() and part.name.endswith(".part")
        assert run_row(app, world.d1, run_id)["status"] == RUNNING
        assert int(horse_pid) != proc.pid  # RQ forks a work horse (in a process group of its own)
        os.kill(int(horse_pid), signal.SIGKILL)  # killed mid-write
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # and the worker itself
        proc.wait(timeout=10)
    _wait(lambda: not _alive(int(horse_pid)), 10, "the work horse to die")

    # nothing half-written is visible: no artifact row, nothing at a final path
    assert artifacts(app, world.d1) == []
    assert _final_files(app) == []
    client = app.test_client()
    from tests.conftest import login

    login(client, "chair1a")
    response = client.get(f"/d/d1/s/{world.s1a}/dossiers/plan-versions/{version_id}")
    assert response.status_code == 302  # "not ready yet", never a broken file

    # the sweeper resets the abandoned run and hands it over again; a new worker completes it once
    hold.unlink()
    assert _sweep(app) >= 1
    _run_burst(app, tmp_path)
    run = run_row(app, world.d1, run_id)
    assert run["status"] == DONE, run["error"]
    assert run["attempts"] == 2
    [row] = artifacts(app, world.d1, PLAN_DOSSIER)
    assert "一区甲小学" in pdf_text(artifact_bytes(app, row))
    assert len(_final_files(app)) == 1
    assert _sweep(app) == 0  # nothing left to hand over
    response = client.get(f"/d/d1/s/{world.s1a}/dossiers/plan-versions/{version_id}")
    assert response.status_code == 200 and response.mimetype == "application/pdf"


def test_redis_flush_after_a_surge_loses_no_committed_job(real_app, tmp_path):
    from worker.queues import get_queue, redis_connection

    app = real_app
    world = build_world(app)
    runs = []
    for school_name, year in (("s1a", 2026), ("s1b", 2026), ("s1a", 2025), ("s1b", 2025), ("s2a", 2026)):
        _, run_id = submit_plan(app, world, school_name, year=year)
        runs.append((world.d2 if school_name == "s2a" else world.d1, run_id))
    conn = redis_connection(app.config["REDIS_URL"])
    assert len(get_queue("default", conn).job_ids) == 5
    conn.flushdb()  # Redis keeps nothing: every queued job is gone
    assert get_queue("default", conn).job_ids == []
    assert all(run_row(app, d, r)["status"] == QUEUED for d, r in runs)

    assert _sweep(app) == 5
    assert _sweep(app) == 0  # held by Redis again: not handed over twice
    _run_burst(app, tmp_path)
    for district_id, run_id in runs:
        run = run_row(app, district_id, run_id)
        assert run["status"] == DONE and run["attempts"] == 1, run["error"]
    assert len(artifacts(app, world.d1, PLAN_DOSSIER)) == 4
    assert len(artifacts(app, world.d2, PLAN_DOSSIER)) == 1
    assert len(_final_files(app)) == 5
