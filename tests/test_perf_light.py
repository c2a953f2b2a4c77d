"""The benchmark's light version (issue 7), in every CI run: the measured pages answer for
generated districts of two sizes with the same number of SQL statements, and stay fast enough in
process that a regression to per-school queries would show. The real figures come from
``make bench`` (tests/perf/RESULTS.md)."""
import re
import time

import pytest
from sqlalchemy import select

from app import synthetic
from app.extensions import db
from app.rounds.models import Round
from tests.perf.pages import page_urls
from tests.querycount import count_queries
from tenants.scope import Scope, tenant_scope


@pytest.fixture
def generated(app):
    with app.app_context():
        out = {}
        for size, prefix in ((4, "lt"), (24, "lu")):
            result = synthetic.generate(synthetic.Scale(districts=1, schools=size, prefix=prefix, indicators=12))
            with tenant_scope(Scope.district(result.district_ids[0])):
                round_ = db.session.scalar(select(Round))
                out[size] = (f"{prefix}001", {"year": round_.year, "annual_round": round_.id})
        db.session.remove()
    return out


def _login(app, username):
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": synthetic.PASSWORD})
    assert response.status_code == 302
    return client


def test_measured_pages_run_the_same_queries_at_two_sizes(app, generated):
    counts = {}
    for size, (slug, info) in generated.items():
        client = _login(app, f"{slug}_admin")
        for name, url in page_urls(slug, info).items():
            assert client.get(url).status_code == 200, url  # warm up
            with app.app_context():
                engine = db.engine
            with count_queries(engine) as statements:
                response = client.get(url)
            assert response.status_code == 200, url
            counts.setdefault(name, {})[size] = len(statements)
    assert all(len(set(by_size.values())) == 1 for by_size in counts.values()), counts


def test_measured_pages_answer_repeatedly_without_errors(app, generated):
    slug, info = generated[24]
    client = _login(app, f"{slug}_admin")
    for name, url in page_urls(slug, info).items():
        started = time.perf_counter()
        statuses = {client.get(url).status_code for _ in range(5)}
        assert statuses == {200}, (name, statuses)
        assert time.perf_counter() - started < 30  # a guard against pathologies, not a speed target
