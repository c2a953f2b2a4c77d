"""Checklist rows that had no test of their own (see README 安全 section): random id tampering,
cookie prefix, open redirect property, debug off and generic errors, dependency down in Chinese,
defused XML, jobs refusing another tenant's run, field classification, bandit."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.security import safe_next
from tests.conftest import login

ROOT = Path(__file__).resolve().parents[2]
TRACE = re.compile(r"Traceback|File \"/|\.py\", line|sqlalchemy\.exc|psycopg|Werkzeug Debugger")


# --- row 4: random id tampering never succeeds ----------------------------------------------

def _int_rules(app):
    rules = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or not rule.rule.startswith(("/d/<district>", "/api/v1/d/<district>")):
            continue
        ints = [name for name, conv in rule._converters.items() if type(conv).__name__.endswith("IntegerConverter")]
        if ints and set(rule.arguments) <= set(ints) | {"district", "code", "year", "number", "month"}:
            rules.append((rule, ints))
    return sorted(rules, key=lambda r: r[0].rule)


def test_random_ids_in_another_district_are_404(app, world, login_as):
    """Property: a district admin of d2 asking d1's URLs with any id gets 403/404, never data."""
    client = login_as("d2admin")
    rules = _int_rules(app)
    assert len(rules) > 20
    seen = []

    @settings(max_examples=60, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    @given(index=st.integers(0, len(rules) - 1), ident=st.integers(1, 2**63 - 1) | st.integers(1, 50))
    def probe(index, ident):
        rule, ints = rules[index]
        values = {name: ident for name in ints}
        values.update({"district": "d1", "code": "en", "year": 2026, "number": 1, "month": 3})
        with app.test_request_context():
            from flask import url_for

            url = url_for(rule.endpoint, **{k: v for k, v in values.items() if k in rule.arguments})
        status = client.get(url).status_code
        seen.append(status)
        assert status in (403, 404), (url, status)

    probe()
    assert len(seen) >= 30


# --- row 14: cookie prefix -----------------------------------------------------------------

def test_production_session_cookie_is_host_prefixed():
    from app.config import ProductionConfig

    if ProductionConfig.SESSION_COOKIE_SECURE:
        assert ProductionConfig.SESSION_COOKIE_NAME.startswith("__Host-")
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY and ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"
    assert ProductionConfig.REMEMBER_COOKIE_DURATION.days <= 30


# --- row 18: no open redirect (property) ---------------------------------------------------

@settings(max_examples=300, deadline=None, database=None)
@given(st.one_of(st.text(max_size=40),
                 st.sampled_from(["https://evil", "//evil", "/\\evil", "javascript:alert(1)", "\\\\evil",
                                  "/\t/evil", "http:evil", " //evil", "/%2F%2Fevil", "\x00//evil"]).flatmap(
                     lambda base: st.text(max_size=5).map(lambda tail: base + tail))))
def test_safe_next_never_leaves_the_site(target):
    result = safe_next(target)
    if result is not None:
        assert result.startswith("/") and not result.startswith("//") and "\\" not in result
        from urllib.parse import urlsplit

        parts = urlsplit(result)
        assert not parts.scheme and not parts.netloc


# --- row 23: debug off, generic errors; dependency down in Chinese --------------------------

def _production_app(app, tmp_path):
    from app import create_app
    from app.access import public

    prod = create_app("production", {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"],
                                     "SECRET_KEY": "p" * 48, "UPLOAD_FOLDER": str(tmp_path / "up"),
                                     "SESSION_COOKIE_SECURE": False, "PASSWORD_HASH_FAST": True})

    @public
    def boom():
        raise RuntimeError("secret internals /etc/passwd")

    @public
    def db_down():
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, Exception("connection refused: password=hunter2"))

    @public
    def redis_down():
        from redis.exceptions import ConnectionError as RedisConnectionError

        raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6390")

    prod.add_url_rule("/boom", "boom", boom)
    prod.add_url_rule("/db-down", "db_down", db_down)
    prod.add_url_rule("/api/v1/redis-down", "redis_down", redis_down)
    return prod


def test_production_has_debug_off_and_errors_show_no_internals(app, world, tmp_path):
    prod = _production_app(app, tmp_path)
    assert prod.debug is False and prod.config["TESTING"] is False and not prod.config.get("PROPAGATE_EXCEPTIONS")
    client = prod.test_client()
    response = client.get("/boom")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "服务器内部错误" in body and not TRACE.search(body) and "/etc/passwd" not in body
    assert response.headers.get("X-Content-Type-Options") == "nosniff"


def test_a_dependency_down_is_a_chinese_503_never_a_traceback(app, world, tmp_path):
    prod = _production_app(app, tmp_path)
    client = prod.test_client()
    for path in ("/db-down", "/api/v1/redis-down"):
        response = client.get(path)
        body = response.get_data(as_text=True)
        assert response.status_code == 503, (path, response.status_code)
        text = response.get_json()["message"] if path.startswith("/api/") else body
        assert "暂时无法连接" in text, body[:300]
        assert not TRACE.search(body) and "hunter2" not in body and "6390" not in body


# --- row 26: XML parsers are defused --------------------------------------------------------

def test_openpyxl_and_docx_parsing_use_defusedxml():
    import openpyxl

    assert openpyxl.DEFUSEDXML is True


# --- row 32: a job never runs on another tenant's run -----------------------------------------

def test_job_payload_naming_another_districts_run_is_refused(app, world):
    from app.extensions import db
    from app.jobs import services as jobs
    from app.jobs.models import JobRun
    from tenants.scope import Scope, tenant_scope

    with app.app_context():
        with tenant_scope(Scope.district(world.d2)):
            run = jobs.submit("no_such_kind", "foreign-run")
            db.session.commit()
            foreign_id = run.id
        with tenant_scope(Scope.district(world.d1)):
            assert db.session.get(JobRun, (world.d1, foreign_id)) is None
        # The RQ payload is only (district, run id): a forged pair for d1 finds no run and does nothing.
        assert jobs.execute(world.d1, foreign_id) == "skipped"
        with tenant_scope(Scope.district(world.d2)):
            assert db.session.get(JobRun, (world.d2, foreign_id)).status in ("pending", "queued")


# --- row 42: every personal-data column is classified ----------------------------------------

def test_every_personal_data_column_is_classified(app):
    from app import privacy
    from app.extensions import db

    unlisted = []
    for table in db.metadata.sorted_tables:
        for column in table.columns:
            if privacy.PERSONAL_NAME.search(column.name) and (table.name, column.name) not in privacy.COLUMNS \
                    and (table.name, column.name) not in privacy.NOT_PERSONAL:
                unlisted.append(f"{table.name}.{column.name}")
    assert not unlisted, f"classify these in app/privacy.py COLUMNS: {unlisted}"
    for (table, column), kind in privacy.COLUMNS.items():
        assert kind in (privacy.PERSONAL, privacy.SENSITIVE, privacy.SECRET)
        assert column in db.metadata.tables[table].columns, (table, column)


# --- row 44: static analysis ---------------------------------------------------------------

def test_bandit_finds_nothing_of_medium_severity_or_more():
    bandit = shutil.which("bandit") or str(Path(sys.executable).parent / "bandit")
    if not Path(bandit).exists():
        pytest.skip("bandit is not installed (pip install -e '.[test]')")
    result = subprocess.run([bandit, "-q", "-r", "app", "tenants", "worker", "-ll", "-f", "txt"],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-1000:]
