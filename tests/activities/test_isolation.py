"""A school never sees another school's records or files; another district sees nothing."""
from __future__ import annotations

import io
from datetime import date

import pytest
from sqlalchemy import select

from app.activities.models import ActivityFile
from app.extensions import db
from tenants.scope import Scope, tenant_scope
from tests.activities.helpers import add_record, make_plan, png_bytes
from tests.conftest import csrf_token

SECRET = "甲小学绝密活动"


@pytest.fixture
def s1a_data(app, world, login_as):
    ids = make_plan(app, world.d1, world.s1a, 2026, [([3], SECRET + "（计划）")])
    record_id = add_record(app, world.d1, world.s1a, date(2026, 3, 8), SECRET, ids[0])
    client = login_as("chair1a")
    client.post(f"/d/d1/s/{world.s1a}/activities/{record_id}/files", content_type="multipart/form-data",
                data={"csrf_token": csrf_token(client, "/account/password"),
                      "files": [(io.BytesIO(png_bytes()), SECRET + ".png")]})
    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        file_id = db.session.scalar(select(ActivityFile.id))
    return {"scheduled_id": ids[0], "record_id": record_id, "file_id": file_id}


def _urls(world, school, v):
    base = f"/d/d1/s/{school}/activities"
    api = f"/api/v1/d/d1/s/{school}/activities"
    return [
        ("GET", base), ("GET", f"{base}/{v['record_id']}"), ("GET", f"{base}/{v['record_id']}/edit"),
        ("GET", f"{base}/{v['record_id']}/files/{v['file_id']}"),
        ("GET", f"{base}/{v['record_id']}/files/{v['file_id']}?inline=1"),
        ("GET", f"{base}/2026/calendar"), ("GET", f"{base}/new?scheduled_id={v['scheduled_id']}"),
        ("POST", f"{base}/{v['record_id']}/delete"), ("POST", f"{base}/{v['record_id']}/files/{v['file_id']}/delete"),
        ("GET", api), ("GET", f"{api}/{v['record_id']}"), ("DELETE", f"{api}/{v['record_id']}"),
    ]


def _call(client, method, url):
    token = csrf_token(client, "/account/password")
    if url.startswith("/api/"):
        return client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
    return client.open(url, method=method, data={"csrf_token": token})


def _still_there(app, world, v):
    from app.activities.models import ActivityRecord

    with app.app_context(), tenant_scope(Scope.district(world.d1)):
        return (db.session.get(ActivityRecord, (world.d1, v["record_id"])) is not None
                and db.session.get(ActivityFile, (world.d1, v["file_id"])) is not None)


def test_another_school_never_sees_the_records_or_files(app, world, s1a_data, login_as):
    client = login_as("chair1b")
    for method, url in _urls(world, world.s1a, s1a_data):
        response = _call(client, method, url)
        assert response.status_code == 404, (method, url, response.status_code)
        assert SECRET not in response.get_data().decode("utf-8", "replace")
    # Its own school's URLs with s1a's ids: still 404 (the record belongs to another school)
    for method, url in _urls(world, world.s1b, s1a_data):
        response = _call(client, method, url)
        if "/activities/" + str(s1a_data["record_id"]) in url:
            assert response.status_code == 404, (method, url, response.status_code)
        assert SECRET not in response.get_data().decode("utf-8", "replace"), url
    # nor is s1a's planned activity offered or accepted on s1b's form
    url = f"/d/d1/s/{world.s1b}/activities/new"
    response = client.post(url, data={"csrf_token": csrf_token(client, url), "held_on": "2026-03-08",
                                      "title": "借用", "category": "other", "scheduled_activity_id": str(s1a_data["scheduled_id"])})
    assert response.status_code == 200 and "不属于本校" in response.get_data(as_text=True)
    assert SECRET not in response.get_data(as_text=True)
    assert _still_there(app, world, s1a_data)


@pytest.mark.parametrize("actor", ["d2admin", "chair2a"])
def test_another_district_gets_404(app, world, s1a_data, login_as, actor):
    client = login_as(actor)
    urls = _urls(world, world.s1a, s1a_data) + [("GET", "/d/d1/activities/2026/completion"),
                                               ("GET", "/d/d1/activities/2026/completion.xlsx"),
                                               ("GET", "/api/v1/d/d1/activities/2026/completion")]
    for method, url in urls:
        response = _call(client, method, url)
        assert response.status_code == 404, (actor, method, url, response.status_code)
        assert SECRET not in response.get_data().decode("utf-8", "replace")
    assert _still_there(app, world, s1a_data)


def test_d2_completion_never_counts_d1(app, world, s1a_data, login_as):
    payload = login_as("d2admin").get("/api/v1/d/d2/activities/2026/completion").get_json()
    assert [r["school_name"] for r in payload["items"]] == ["二区甲小学"]
    assert payload["totals"]["planned"] == 0 and payload["totals"]["records"] == 0
