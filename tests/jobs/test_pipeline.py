"""The job pipeline (app/jobs/services.py, worker/): outbox, claim, idempotency, failures,
stale runs, the sweeper, RQ hand-over with the JSON serializer (fakeredis and real Redis).
"""
from __future__ import annotations

import io
import json
import os
import re
import zlib
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.extensions import db
from app.jobs import services
from app.jobs.models import DONE, FAILED, PENDING, QUEUED, RUNNING, JobRun
from tests.conftest import build_world, login, post
from tenants.scope import Scope, tenant_scope

ROOT = Path(__file__).resolve().parents[2]
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- helpers ------------------------------------------------------------------------

@pytest.fixture
def effects(monkeypatch):
    """Test handlers registered for the duration of one test. Each writes a School row
    named by the run's args (a real write in the job's transaction) and counts calls."""
    from tenants.models import School

    calls = []

    def insert_school(run, progress):
        calls.append(run.id)
        progress(50, "写入中")
        db.session.add(School(name=run.args["name"], kind="primary"))
        db.session.flush()
        return {"inserted": run.args["name"]}

    def crash_midway(run, progress):
        calls.append(run.id)
        db.session.add(School(name=run.args["name"], kind="primary"))
        db.session.flush()
        progress(60, "写了一半")
        raise RuntimeError("boom: secret internals /etc/passwd")

    def refuse(run, progress):
        calls.append(run.id)
        db.session.add(School(name=run.args["name"], kind="primary"))
        db.session.flush()
        raise services.JobFailed("数据不完整，任务已停止", result={"why": "test"})

    monkeypatch.setitem(services.HANDLERS, "test_insert", insert_school)
    monkeypatch.setitem(services.HANDLERS, "test_crash", crash_midway)
    monkeypatch.setitem(services.HANDLERS, "test_refuse", refuse)
    return calls


def submit(app, district_id, kind, key, args=None) -> int:
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            run = services.submit(kind, key, args or {})
            run_id = run.id
            db.session.commit()
        db.session.remove()
    return run_id


def get_run(app, district_id, run_id) -> dict:
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            run = db.session.get(JobRun, (district_id, run_id))
            out = {c.name: getattr(run, c.name) for c in JobRun.__table__.columns}
        db.session.remove()
    return out


def schools_named(app, district_id, name) -> int:
    from tenants.models import School

    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            n = db.session.scalar(select(func.count()).select_from(School).where(School.name == name))
        db.session.remove()
    return n


def run_count(app, district_id) -> int:
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            n = db.session.scalar(select(func.count()).select_from(JobRun))
        db.session.remove()
    return n


def execute(app, district_id, run_id) -> str:
    with app.app_context():
        try:
            return services.execute(district_id, run_id)
        finally:
            db.session.remove()


def age(app, district_id, run_id, by: timedelta):
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            db.session.execute(update(JobRun).where(JobRun.district_id == district_id, JobRun.id == run_id)
                               .values(started_at=services._now() - by)
                               .execution_options(synchronize_session=False))
            db.session.commit()
        db.session.remove()


def claim(app, district_id, run_id) -> bool:
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            ok = services.claim(district_id, run_id)
        db.session.remove()
    return ok


# --- idempotency ----------------------------------------------------------------------

def test_run_executed_twice_has_its_effect_once(app, world, effects):
    run_id = submit(app, world.d1, "test_insert", "once-1", {"name": "幂等小学"})
    assert get_run(app, world.d1, run_id)["status"] == PENDING

    assert execute(app, world.d1, run_id) == DONE
    assert execute(app, world.d1, run_id) == "skipped"
    assert effects == [run_id]
    assert schools_named(app, world.d1, "幂等小学") == 1
    run = get_run(app, world.d1, run_id)
    assert run["status"] == DONE and run["progress"] == 100 and run["attempts"] == 1
    assert run["result"] == {"inserted": "幂等小学"}
    assert run["finished_at"] is not None and run["started_at"] is not None


def test_claim_is_conditional(app, world, effects):
    run_id = submit(app, world.d1, "test_insert", "claim-1", {"name": "抢占小学"})
    assert claim(app, world.d1, run_id) is True
    assert claim(app, world.d1, run_id) is False  # already running elsewhere
    assert execute(app, world.d1, run_id) == "skipped"
    assert effects == []
    run = get_run(app, world.d1, run_id)
    assert run["status"] == RUNNING and run["attempts"] == 1


def test_submit_twice_with_same_dedupe_key_gives_one_run(app, world, effects):
    first = submit(app, world.d1, "test_insert", "same-key", {"name": "一所"})
    second = submit(app, world.d1, "test_insert", "same-key", {"name": "另一所"})
    assert first == second
    assert run_count(app, world.d1) == 1
    assert get_run(app, world.d1, first)["args"] == {"name": "一所"}
    # Within one transaction too.
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            a = services.submit("test_insert", "same-tx", {"name": "甲"})
            b = services.submit("test_insert", "same-tx", {"name": "乙"})
            assert a is b
            db.session.commit()
        db.session.remove()
    assert run_count(app, world.d1) == 2
    # The same key in another district is another run: keys are per district.
    other = submit(app, world.d2, "test_insert", "same-key", {"name": "二区"})
    assert run_count(app, world.d2) == 1
    assert get_run(app, world.d2, other)["district_id"] == world.d2
    assert run_count(app, world.d1) == 2


def test_submit_rolled_back_leaves_no_run(app, world):
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            services.submit("test_insert", "rolled-back", {"name": "x"})
            db.session.rollback()
        db.session.remove()
    assert run_count(app, world.d1) == 0


# --- failures -------------------------------------------------------------------------

def test_handler_raising_midway_rolls_back_and_fails_in_chinese(app, world, effects):
    run_id = submit(app, world.d1, "test_crash", "crash-1", {"name": "半途小学"})
    assert execute(app, world.d1, run_id) == FAILED
    run = get_run(app, world.d1, run_id)
    assert run["status"] == FAILED
    assert run["error"] == "任务出错：RuntimeError"
    assert CJK.search(run["error"])
    assert "secret" not in run["error"] and "/etc/passwd" not in run["error"]  # no internals shown
    assert run["finished_at"] is not None
    assert run["result"] == {}
    assert schools_named(app, world.d1, "半途小学") == 0  # the partial write was rolled back
    # A failed run is not run again.
    assert execute(app, world.d1, run_id) == "skipped"
    assert effects == [run_id]


def test_job_failed_shows_its_message(app, world, effects):
    run_id = submit(app, world.d1, "test_refuse", "refuse-1", {"name": "拒绝小学"})
    assert execute(app, world.d1, run_id) == FAILED
    run = get_run(app, world.d1, run_id)
    assert run["error"] == "数据不完整，任务已停止"
    assert run["result"] == {"why": "test"}
    assert schools_named(app, world.d1, "拒绝小学") == 0


def test_unknown_kind_fails_in_chinese(app, world):
    run_id = submit(app, world.d1, "no_such_kind", "unknown-1")
    assert execute(app, world.d1, run_id) == FAILED
    assert get_run(app, world.d1, run_id)["error"] == "未知的任务类型：no_such_kind"


def test_failed_run_page_and_json_show_the_error(app, world, effects, login_as):
    run_id = submit(app, world.d1, "test_refuse", "refuse-page", {"name": "页面小学"})
    execute(app, world.d1, run_id)
    client = login_as("d1admin")
    data = client.get(f"/d/d1/jobs/{run_id}/progress").get_json()
    assert data["status"] == FAILED and data["error"] == "数据不完整，任务已停止"
    assert data["status_label"] == "失败"
    html = client.get(f"/d/d1/jobs/{run_id}").get_data(as_text=True)
    assert "数据不完整，任务已停止" in html


# --- stale runs -----------------------------------------------------------------------

def test_stale_running_run_is_reset_and_completes(app, world, effects):
    run_id = submit(app, world.d1, "test_insert", "stale-1", {"name": "复活小学"})
    fresh_id = submit(app, world.d1, "test_insert", "stale-fresh", {"name": "正在跑小学"})
    assert claim(app, world.d1, run_id) and claim(app, world.d1, fresh_id)
    stale_after = app.config["JOB_STALE_AFTER"]
    age(app, world.d1, run_id, stale_after + timedelta(minutes=1))
    age(app, world.d1, fresh_id, stale_after - timedelta(minutes=1))

    with app.app_context():
        assert services.reset_stale_runs() == 1
        db.session.remove()
    run = get_run(app, world.d1, run_id)
    assert run["status"] == PENDING and run["enqueued_at"] is None
    assert get_run(app, world.d1, fresh_id)["status"] == RUNNING  # not stale yet: left alone

    assert execute(app, world.d1, run_id) == DONE
    run = get_run(app, world.d1, run_id)
    assert run["attempts"] == 2
    assert schools_named(app, world.d1, "复活小学") == 1


def test_stale_run_fails_after_max_attempts(app, world, effects):
    run_id = submit(app, world.d1, "test_insert", "stale-max", {"name": "反复中断小学"})
    stale = app.config["JOB_STALE_AFTER"] + timedelta(seconds=5)
    for attempt in range(1, services.MAX_ATTEMPTS + 1):
        assert claim(app, world.d1, run_id), attempt
        age(app, world.d1, run_id, stale)
        with app.app_context():
            assert services.reset_stale_runs() == 1
            db.session.remove()
        run = get_run(app, world.d1, run_id)
        assert run["attempts"] == attempt
        assert run["status"] == (FAILED if attempt == services.MAX_ATTEMPTS else PENDING)
    assert run["error"] == "任务多次中断，已停止重试"
    assert run["finished_at"] is not None
    assert execute(app, world.d1, run_id) == "skipped"
    assert effects == []
    assert schools_named(app, world.d1, "反复中断小学") == 0


def test_embedded_worker_resets_stale_runs_and_runs_pending(app, world, effects):
    from worker.embedded import work

    stale_id = submit(app, world.d1, "test_insert", "emb-stale", {"name": "嵌入一小"})
    pending_id = submit(app, world.d2, "test_insert", "emb-pending", {"name": "嵌入二小"})
    claim(app, world.d1, stale_id)
    age(app, world.d1, stale_id, app.config["JOB_STALE_AFTER"] + timedelta(minutes=1))
    assert work(app, burst=True) == 2
    assert get_run(app, world.d1, stale_id)["status"] == DONE
    assert get_run(app, world.d2, pending_id)["status"] == DONE
    assert schools_named(app, world.d1, "嵌入一小") == 1
    assert schools_named(app, world.d2, "嵌入二小") == 1
    assert schools_named(app, world.d1, "嵌入二小") == 0  # each run wrote in its own district
    assert work(app, burst=True) == 0


def test_sweep_without_redis_only_resets_stale_runs(app, world, effects):
    run_id = submit(app, world.d1, "test_insert", "sweep-no-redis", {"name": "无队列小学"})
    claim(app, world.d1, run_id)
    age(app, world.d1, run_id, app.config["JOB_STALE_AFTER"] + timedelta(minutes=1))
    with app.app_context():
        assert services.sweep() == 1
        db.session.remove()
    assert get_run(app, world.d1, run_id)["status"] == PENDING


# --- RQ via fakeredis -------------------------------------------------------------------

@pytest.fixture
def fake_redis(monkeypatch):
    import fakeredis

    import worker.queues

    server = fakeredis.FakeServer()
    connections = []

    def connect(url):
        conn = fakeredis.FakeRedis(server=server)
        connections.append(url)
        return conn

    monkeypatch.setattr(worker.queues, "redis_connection", connect)
    server.urls = connections
    server.conn = lambda: fakeredis.FakeRedis(server=server)
    return server


@pytest.fixture
def rq_app(app_factory, monkeypatch):
    import worker.tasks

    application = app_factory(REDIS_URL="redis://fake")
    monkeypatch.setattr(worker.tasks, "_app", application)
    return application


@pytest.fixture
def rq_world(rq_app):
    return build_world(rq_app)


def rq_job_ids(conn, name="default"):
    from worker.queues import get_queue

    return get_queue(name, conn).job_ids


def run_rq_worker(conn) -> None:
    from rq import SimpleWorker
    from rq.serializers import JSONSerializer

    from worker.queues import QUEUES, get_queue

    worker = SimpleWorker([get_queue(q, conn) for q in QUEUES], connection=conn, serializer=JSONSerializer)
    worker.work(burst=True)


def test_redis_down_at_submit_keeps_run_pending_then_sweep_and_worker(rq_app, rq_world, fake_redis, effects):
    w = rq_world
    fake_redis.connected = False
    run_id = submit(rq_app, w.d1, "test_insert", "rq-1", {"name": "队列小学"})
    assert fake_redis.urls == ["redis://fake"]  # the hand-over was tried after commit
    run = get_run(rq_app, w.d1, run_id)
    assert run["status"] == PENDING and run["enqueued_at"] is None

    # Still down: the sweeper changes nothing and does not raise.
    with rq_app.app_context():
        assert services.sweep() == 0
        db.session.remove()
    assert get_run(rq_app, w.d1, run_id)["status"] == PENDING

    fake_redis.connected = True
    conn = fake_redis.conn()
    with rq_app.app_context():
        assert services.sweep() == 1
        db.session.remove()
    run = get_run(rq_app, w.d1, run_id)
    assert run["status"] == QUEUED and run["enqueued_at"] is not None
    job_id = f"run-{w.d1}-{run_id}"
    assert rq_job_ids(conn) == [job_id]

    # Sweeping again does not enqueue twice.
    with rq_app.app_context():
        assert services.sweep() == 0
        assert services.sweep() == 0
        db.session.remove()
    assert rq_job_ids(conn) == [job_id]

    run_rq_worker(conn)
    run = get_run(rq_app, w.d1, run_id)
    assert run["status"] == DONE, run["error"]
    assert schools_named(rq_app, w.d1, "队列小学") == 1
    assert effects == [run_id]
    assert rq_job_ids(conn) == []

    # Nothing left for the sweeper; a second worker pass does nothing.
    with rq_app.app_context():
        assert services.sweep() == 0
        db.session.remove()
    run_rq_worker(conn)
    assert schools_named(rq_app, w.d1, "队列小学") == 1


def test_redis_up_at_submit_hands_over_after_commit(rq_app, rq_world, fake_redis, effects):
    w = rq_world
    conn = fake_redis.conn()
    run_id = submit(rq_app, w.d2, "test_insert", "rq-up", {"name": "直达小学"})
    run = get_run(rq_app, w.d2, run_id)
    assert run["status"] == QUEUED and run["enqueued_at"] is not None
    assert rq_job_ids(conn) == [f"run-{w.d2}-{run_id}"]
    # A duplicate hand-over (e.g. a sweep racing the request) does not duplicate the job.
    with rq_app.app_context():
        with tenant_scope(Scope.district(w.d2)):
            run_obj = db.session.get(JobRun, (w.d2, run_id))
            assert services.hand_over(db.session, run_obj) is True
            db.session.commit()
        db.session.remove()
    assert rq_job_ids(conn) == [f"run-{w.d2}-{run_id}"]
    run_rq_worker(conn)
    assert get_run(rq_app, w.d2, run_id)["status"] == DONE
    assert effects == [run_id]


def test_nothing_is_enqueued_before_commit_or_after_rollback(rq_app, rq_world, fake_redis):
    w = rq_world
    conn = fake_redis.conn()
    with rq_app.app_context():
        with tenant_scope(Scope.district(w.d1)):
            services.submit("test_insert", "rq-rollback", {"name": "x"})
            assert rq_job_ids(conn) == []  # not before the commit
            db.session.rollback()
            db.session.commit()  # a later commit must not hand over the forgotten run
        db.session.remove()
    assert rq_job_ids(conn) == []
    assert fake_redis.urls == []
    assert run_count(rq_app, w.d1) == 0


def test_lost_rq_job_is_reenqueued_by_sweep(rq_app, rq_world, fake_redis, effects):
    w = rq_world
    conn = fake_redis.conn()
    run_id = submit(rq_app, w.d1, "test_insert", "rq-lost", {"name": "丢失小学"})
    assert get_run(rq_app, w.d1, run_id)["status"] == QUEUED
    job_id = f"run-{w.d1}-{run_id}"
    assert rq_job_ids(conn) == [job_id]

    conn.flushall()  # Redis lost everything
    assert rq_job_ids(conn) == []
    with rq_app.app_context():
        assert services.sweep() == 1
        assert services.sweep() == 0
        db.session.remove()
    assert rq_job_ids(conn) == [job_id]
    assert get_run(rq_app, w.d1, run_id)["status"] == QUEUED

    run_rq_worker(conn)
    assert get_run(rq_app, w.d1, run_id)["status"] == DONE
    assert schools_named(rq_app, w.d1, "丢失小学") == 1


def test_rq_job_delivered_twice_runs_once(rq_app, rq_world, fake_redis, effects):
    """At-least-once delivery: the RQ job id is reused once the first job finished; the
    second delivery finds the run done and skips it."""
    from worker.queues import enqueue_run

    w = rq_world
    conn = fake_redis.conn()
    run_id = submit(rq_app, w.d1, "test_insert", "rq-twice", {"name": "两次小学"})
    run_rq_worker(conn)
    enqueue_run(conn, "default", f"run-{w.d1}-{run_id}-again", w.d1, run_id)
    run_rq_worker(conn)
    assert effects == [run_id]
    assert schools_named(rq_app, w.d1, "两次小学") == 1
    assert get_run(rq_app, w.d1, run_id)["status"] == DONE


def test_redis_down_during_a_request_loses_nothing(rq_app, rq_world, fake_redis):
    """A large import uploaded while Redis is down: the user is redirected to the run, which
    waits as pending; the sweeper and a worker finish it later."""
    from openpyxl import Workbook

    w = rq_world
    fake_redis.connected = False
    wb = Workbook()
    wb.active.title = "用户"
    wb.active.append(["用户名", "姓名", "手机", "邮箱", "角色", "所属学校", "初始密码"])
    for i in range(rq_app.config["IMPORT_BACKGROUND_ROWS"] + 5):
        wb.active.append([f"redisdown{i}", f"用户{i}", "", "", "工会委员", "一区甲小学", "Imported-pass-2026"])
    buf = io.BytesIO()
    wb.save(buf)

    client = rq_app.test_client()
    assert login(client, "d1admin").status_code == 302
    response = post(client, "/d/d1/import", data={"file": (io.BytesIO(buf.getvalue()), "名单.xlsx")},
                    content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:1000]
    run_id = int(response.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    assert get_run(rq_app, w.d1, run_id)["status"] == PENDING

    fake_redis.connected = True
    conn = fake_redis.conn()
    with rq_app.app_context():
        assert services.sweep() == 1
        db.session.remove()
    run_rq_worker(conn)
    run = get_run(rq_app, w.d1, run_id)
    assert run["status"] == DONE, run["error"]
    assert run["result"]["users"] == rq_app.config["IMPORT_BACKGROUND_ROWS"] + 5
    data = client.get(f"/d/d1/jobs/{run_id}/progress").get_json()
    assert data["status"] == DONE and data["progress"] == 100


# --- serializer and queue factory -----------------------------------------------------

def test_every_queue_uses_the_json_serializer():
    import fakeredis
    from rq.serializers import JSONSerializer

    from worker.queues import QUEUES, get_queue

    conn = fakeredis.FakeRedis()
    for name in QUEUES:
        assert get_queue(name, conn).serializer is JSONSerializer, name
    assert get_queue("default", conn).serializer is JSONSerializer
    with pytest.raises(ValueError):
        get_queue("pickle-me", conn)


def test_enqueued_job_data_is_json_not_pickle():
    import fakeredis

    from worker.queues import FAILURE_TTL, enqueue_run

    conn = fakeredis.FakeRedis()
    job = enqueue_run(conn, "default", "run-7-42", 7, 42)
    assert job.id == "run-7-42"
    assert job.failure_ttl == FAILURE_TTL < 365 * 24 * 3600
    raw = conn.hget("rq:job:run-7-42", "data")
    payload = json.loads(zlib.decompress(raw))
    # (func_name, instance, args, kwargs) as plain JSON: ids only, nothing pickled.
    assert payload == ["worker.tasks.execute_run", None, [7, 42], {}]

    from rq.exceptions import DuplicateJobError

    with pytest.raises(DuplicateJobError):
        enqueue_run(conn, "default", "run-7-42", 7, 42)


def test_queue_is_constructed_only_in_worker_queues():
    offenders = []
    pattern = re.compile(r"\bQueue\(")
    for top in ("app", "worker"):
        for path in (ROOT / top).rglob("*.py"):
            if path == ROOT / "worker" / "queues.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
                if pattern.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
    # The factory itself does construct it (the grep would otherwise prove nothing).
    assert pattern.search((ROOT / "worker" / "queues.py").read_text(encoding="utf-8"))


def test_redis_connection_fails_fast():
    from worker.queues import redis_connection

    conn = redis_connection("redis://127.0.0.1:1/0")
    kwargs = conn.connection_pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] <= 1
    assert kwargs["socket_timeout"] <= 2
    assert conn.get_retry()._retries == 0


# --- real Redis (CI) ------------------------------------------------------------------------

@pytest.mark.redis
def test_round_trip_against_real_redis(app_factory, monkeypatch, effects):
    import worker.tasks
    from worker.queues import redis_connection

    url = os.environ["REDIS_URL"]
    conn = redis_connection(url)
    conn.flushdb()  # only the db of that URL
    try:
        application = app_factory(REDIS_URL=url)
        monkeypatch.setattr(worker.tasks, "_app", application)
        w = build_world(application)

        run_id = submit(application, w.d1, "test_insert", "real-redis", {"name": "真队列小学"})
        job_id = f"run-{w.d1}-{run_id}"
        assert get_run(application, w.d1, run_id)["status"] == QUEUED
        assert rq_job_ids(conn) == [job_id]
        with application.app_context():
            assert services.sweep() == 0  # already held by Redis
            db.session.remove()
        assert rq_job_ids(conn) == [job_id]

        conn.flushdb()  # lose the job
        with application.app_context():
            assert services.sweep() == 1
            assert services.sweep() == 0
            db.session.remove()
        assert rq_job_ids(conn) == [job_id]

        run_rq_worker(conn)
        run = get_run(application, w.d1, run_id)
        assert run["status"] == DONE, run["error"]
        assert schools_named(application, w.d1, "真队列小学") == 1
        assert effects == [run_id]
    finally:
        conn.flushdb()


# --- the progress page ------------------------------------------------------------------

def test_job_page_renders_the_progress_bar(app, world, login_as):
    run_id = submit(app, world.d1, "test_insert", "page-1", {"name": "进度小学"})
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            db.session.execute(update(JobRun).where(JobRun.id == run_id)
                               .values(status=RUNNING, progress=40, message="正在创建用户 3/10")
                               .execution_options(synchronize_session=False))
            db.session.commit()
        db.session.remove()
    client = login_as("d1admin")
    response = client.get(f"/d/d1/jobs/{run_id}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    bar = re.search(r'<div class="job-progress"[^>]*>', html)
    assert bar, html[:2000]
    assert f'data-progress-url="/d/d1/jobs/{run_id}/progress"' in bar.group(0)
    assert 'data-finished="false"' in bar.group(0)
    assert 'aria-valuenow="40"' in html
    assert "正在创建用户 3/10" in html
    assert "进行中" in html

    data = client.get(f"/d/d1/jobs/{run_id}/progress").get_json()
    assert data == {**data, "id": run_id, "status": RUNNING, "progress": 40, "finished": False,
                    "message": "正在创建用户 3/10", "result": {}}


def test_progress_json_of_other_district_is_404(app, world, login_as):
    run_id = submit(app, world.d1, "test_insert", "page-404", {"name": "别人的小学"})
    client = login_as("d2admin")
    assert client.get(f"/d/d2/jobs/{run_id}/progress").status_code == 404
    assert client.get(f"/d/d1/jobs/{run_id}/progress").status_code == 404
    assert client.get(f"/d/d2/jobs/{run_id}").status_code == 404
