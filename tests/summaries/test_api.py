"""工作总结 over the JSON API: draft, submit, district list, return with a comment, resubmit,
accept; strict payloads (unknown fields and ids refused); schools and districts isolated."""
from __future__ import annotations

import json

from tests.conftest import csrf_token
from tests.summaries.helpers import YEAR, sections


def headers(client):
    return {"X-CSRFToken": csrf_token(client, "/account/password"), "Accept": "application/json"}


def url(world, school="s1a", tail=""):
    return f"/api/v1/d/d1/s/{getattr(world, school)}/summaries/{YEAR}{tail}"


def test_openapi_lists_the_summary_endpoints(app):
    paths = json.loads(app.test_client().get("/api/v1/openapi.json").get_data(as_text=True))["paths"]
    for path in ("/api/v1/d/{district}/s/{school}/summaries/{year}",
                 "/api/v1/d/{district}/s/{school}/summaries/{year}/submit", "/api/v1/d/{district}/summaries/{year}",
                 "/api/v1/d/{district}/summaries/review/{summary_id}/accept",
                 "/api/v1/d/{district}/summaries/review/{summary_id}/return"):
        assert path in paths, path


def test_full_workflow_over_the_api(app, world, login_as):
    chair = login_as("chair1a")
    assert chair.get(url(world)).status_code == 404  # nothing written yet
    response = chair.put(url(world), json=sections(), headers=headers(chair))
    assert response.status_code == 200, response.get_json()
    summary = response.get_json()
    assert summary["status"] == "draft" and summary["school_id"] == world.s1a
    assert summary["sections"]["highlights"].startswith("“教工书屋”")
    assert summary["figures"]["planned"] == 0 and summary["figures"]["completion_rate"] is None
    response = chair.post(url(world, tail="/submit"), json={}, headers=headers(chair))
    assert response.status_code == 201 and response.get_json()["number"] == 1
    assert response.get_json()["content"]["figures"]["plan_status"] == "none"
    response = chair.post(url(world, tail="/submit"), json={}, headers=headers(chair))
    assert response.status_code == 409 and "不能重复提交" in response.get_json()["message"]

    staff = login_as("d1staff")
    rows = staff.get(f"/api/v1/d/d1/summaries/{YEAR}?status=submitted").get_json()
    assert [(r["school_id"], r["status"], r["status_label"]) for r in rows] == [(world.s1a, "submitted", "已提交")]
    summary_id = rows[0]["summary_id"]
    response = staff.post(f"/api/v1/d/d1/summaries/review/{summary_id}/return", json={"version": 1},
                          headers=headers(staff))
    assert response.status_code == 409 and "修改意见" in response.get_json()["message"]
    response = staff.post(f"/api/v1/d/d1/summaries/review/{summary_id}/return",
                          json={"version": 1, "note": "请补充数据"}, headers=headers(staff))
    assert response.status_code == 200 and response.get_json()["decision"] == "returned"
    response = chair.put(url(world), json=sections(problems="台账整理不及时。"), headers=headers(chair))
    assert response.get_json()["status"] == "returned"
    assert chair.post(url(world, tail="/submit"), json={}, headers=headers(chair)).status_code == 201
    response = staff.post(f"/api/v1/d/d1/summaries/review/{summary_id}/accept", json={"version": 2, "note": "已阅"},
                          headers=headers(staff))
    assert response.status_code == 200 and response.get_json()["decision"] == "accepted"
    detail = chair.get(url(world)).get_json()
    assert detail["status"] == "accepted" and [v["number"] for v in detail["versions"]] == [2, 1]
    assert detail["versions"][1]["decision_note"] == "请补充数据"


def test_strict_payloads_and_permissions(app, world, login_as):
    chair = login_as("chair1a")
    response = chair.put(url(world), json={**sections(), "status": "accepted"}, headers=headers(chair))
    assert response.status_code == 422
    response = chair.put(url(world), json={**sections(), "school_id": world.s1b}, headers=headers(chair))
    assert response.status_code == 422
    assert chair.put(url(world), json=sections(), headers=headers(chair)).status_code == 200
    editor = login_as("editor1a")
    assert editor.post(url(world, tail="/submit"), json={}, headers=headers(editor)).status_code == 403
    assert chair.get(f"/api/v1/d/d1/summaries/{YEAR}").status_code == 403
    # another school, another district
    other = login_as("chair1b")
    assert other.get(url(world)).status_code == 404
    assert other.put(url(world), json=sections(), headers=headers(other)).status_code == 404
    d2 = login_as("d2admin")
    assert d2.get(f"/api/v1/d/d1/summaries/{YEAR}").status_code == 404
    rows = d2.get(f"/api/v1/d/d2/summaries/{YEAR}").get_json()
    assert [r["school_name"] for r in rows] == ["二区甲小学"]
    # the district reads what was submitted, not the school's draft
    staff = login_as("d1staff")
    detail = staff.get(url(world)).get_json()
    assert detail["status"] == "draft" and detail["sections"]["achievements"] == ""
