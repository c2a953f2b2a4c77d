"""The benchmark's light version (issue 7), in every CI run: the measured pages — plan tracking,
completion, round progress, the district dashboard (roll-up compiled once through its job), the
calibration view and the assessor's scoring save — answer for generated districts of two sizes with
the same number of SQL statements, and stay fast enough in process that a regression to per-school
queries would show. The real figures come from ``make bench`` (tests/perf/RESULTS.md)."""
import re
import time

import pytest
from sqlalchemy import select

from app import synthetic
from app.extensions import db
from app.rounds.models import Round
from tests.perf.pages import calibration_url, compile_rollup, open_sheets, page_urls, score_save
from tests.querycount import count_queries
from tenants.scope import Scope, tenant_scope

SIZES = (4, 24)


@pytest.fixture
def generated(app):
    """Per size: an assessing district (open sheets, compiled roll-up) and a calibrating one."""
    with app.app_context():
        out = {}
        for size in SIZES:
            for stage, prefix in (("assessing", f"la{size}x"), ("calibrating", f"lc{size}x")):
                result = synthetic.generate(synthetic.Scale(districts=1, schools=size, prefix=prefix, indicators=12,
                                                            stage=stage))
                district_id = result.district_ids[0]
                with tenant_scope(Scope.district(district_id)):
                    round_ = db.session.scalar(select(Round))
                    info = {"id": district_id, "year": round_.year, "annual_round": round_.id,
                            "status": round_.status,
                            "open_sheets": open_sheets(round_, limit=1) if stage == "assessing" else []}
                if stage == "assessing":
                    assert compile_rollup(district_id, info["year"]) == "done"
                out.setdefault(size, {})[stage] = (f"{prefix}001", info)
        db.session.remove()
    return out


def _login(app, username):
    client = app.test_client()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": synthetic.PASSWORD})
    assert response.status_code == 302
    return client


def _csrf(client, url) -> str:
    page = client.get(url)
    assert page.status_code == 200, url
    html = page.get_data(as_text=True)
    match = re.search(r'name="csrf_token"[^>]*value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"', html)
    return match.group(1) or match.group(2)


def _requests(app, slug_info: dict):
    """(name, client, method, url, data) of every measured request of one size."""
    slug, info = slug_info["assessing"]
    admin = _login(app, f"{slug}_admin")
    for name, url in page_urls(slug, info).items():
        yield name, admin, "get", url, None
    cal_slug, cal_info = slug_info["calibrating"]
    assert cal_info["status"] == "calibrating"
    yield "calibration", _login(app, f"{cal_slug}_admin"), "get", calibration_url(cal_slug, cal_info), None
    assert info["open_sheets"], "the assessing district has open sheets"
    save = score_save(slug, info["open_sheets"][0])
    assessor = _login(app, save["login"])
    token = _csrf(assessor, save["page"])
    yield "score_save", assessor, "post", save["url"], {**save["data"], "csrf_token": token}


def test_measured_pages_run_the_same_queries_at_two_sizes(app, generated):
    with app.app_context():
        engine = db.engine
    counts = {}
    for size in SIZES:
        for name, client, method, url, form in _requests(app, generated[size]):
            call = (lambda: client.get(url)) if method == "get" else (
                lambda: client.post(url, data=form, headers={"HX-Request": "true"}))
            assert call().status_code == 200, url  # warm up
            with count_queries(engine) as statements:
                response = call()
            assert response.status_code == 200, url
            if name == "score_save":
                assert "已保存" in response.get_data(as_text=True)
            if name == "district_dashboard":
                assert "S0001" in response.get_data(as_text=True) or "区" in response.get_data(as_text=True)
            counts.setdefault(name, {})[size] = len(statements)
    assert set(counts) == {"plan_tracking", "completion", "round_progress", "district_dashboard", "calibration",
                           "score_save"}
    assert all(len(set(by_size.values())) == 1 for by_size in counts.values()), counts


def test_measured_pages_answer_repeatedly_without_errors(app, generated):
    for name, client, method, url, form in _requests(app, generated[SIZES[-1]]):
        started = time.perf_counter()
        call = (lambda: client.get(url)) if method == "get" else (
            lambda: client.post(url, data=form, headers={"HX-Request": "true"}))
        statuses = {call().status_code for _ in range(5)}
        assert statuses == {200}, (name, statuses)
        assert time.perf_counter() - started < 30  # a guard against pathologies, not a speed target
