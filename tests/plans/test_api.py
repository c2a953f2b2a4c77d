"""The work plan API: draft, submit, versions, return with comments, approve, deadline;
strict payloads (no mass assignment) and isolation between schools."""
from __future__ import annotations

import json

from app.plans import services
from tests.conftest import csrf_token, login
from tests.plans.helpers import CONTENT, district_session

YEAR = 2026


def headers(client):
    return {"X-CSRFToken": csrf_token(client, "/account/password"), "Accept": "application/json"}


def school_url(world, school="s1a"):
    return f"/api/v1/d/d1/s/{getattr(world, school)}/plans"


def put_draft(client, world, data=None):
    return client.put(f"{school_url(world)}/{YEAR}", json=data or CONTENT, headers=headers(client))


def test_openapi_lists_the_plan_endpoints(app):
    paths = json.loads(app.test_client().get("/api/v1/openapi.json").get_data(as_text=True))["paths"]
    for path in ("/api/v1/d/{district}/s/{school}/plans/{year}", "/api/v1/d/{district}/s/{school}/plans/{year}/submit",
                 "/api/v1/d/{district}/plans/{plan_id}/approve", "/api/v1/d/{district}/plans/{plan_id}/return",
                 "/api/v1/d/{district}/plans/{year}/deadline",
                 "/api/v1/d/{district}/s/{school}/plans/{year}/versions/{number}"):
        assert path in paths, path


def test_full_workflow_over_the_api(app, world, login_as):
    chair = login_as("chair1a")
    response = put_draft(chair, world)
    assert response.status_code == 200, response.get_json()
    plan = response.get_json()
    assert plan["status"] == "draft" and plan["school_id"] == world.s1a and plan["district_id"] == world.d1
    assert plan["content"]["schedule"][1]["months"] == [7, 8]
    activity_id = plan["content"]["schedule"][0]["activities"][0]["id"]

    response = chair.post(f"{school_url(world)}/{YEAR}/submit", json={}, headers=headers(chair))
    assert response.status_code == 201 and response.get_json()["number"] == 1
    response = chair.post(f"{school_url(world)}/{YEAR}/submit", json={}, headers=headers(chair))
    assert response.status_code == 409 and "不能重复提交" in response.get_json()["message"]

    staff = login_as("d1staff")
    listing = staff.get(f"/api/v1/d/d1/plans?year={YEAR}&status=submitted").get_json()
    assert [p["id"] for p in listing["items"]] == [plan["id"]] and listing["total"] == 1
    response = staff.post(f"/api/v1/d/d1/plans/{plan['id']}/return",
                          json={"version": 1, "note": "请修改", "comments": [
                              {"anchor": "section:1", "text": "慰问范围写具体"}]}, headers=headers(staff))
    assert response.status_code == 200, response.get_json()
    returned = response.get_json()
    assert returned["decision"] == "returned"
    assert [(c["anchor"], c["text"]) for c in returned["comments"]] == [("section:1", "慰问范围写具体")]
    response = staff.post(f"/api/v1/d/d1/plans/{plan['id']}/approve", json={"version": 1}, headers=headers(staff))
    assert response.status_code == 409 and "重新提交" in response.get_json()["message"]

    changed = json.loads(json.dumps(CONTENT))
    changed["sections"][1]["items"][0]["text"] = "春节走访慰问困难、退休教职工"
    changed["schedule"][0]["activities"][0]["id"] = activity_id
    response = put_draft(chair, world, changed)
    assert response.get_json()["status"] == "returned"
    assert response.get_json()["content"]["schedule"][0]["activities"][0]["id"] == activity_id
    assert chair.post(f"{school_url(world)}/{YEAR}/submit", json={}, headers=headers(chair)).status_code == 201
    response = staff.post(f"/api/v1/d/d1/plans/{plan['id']}/approve", json={"version": 2, "note": "同意"},
                          headers=headers(staff))
    assert response.status_code == 200 and response.get_json()["decision"] == "approved"

    versions = chair.get(f"{school_url(world)}/{YEAR}/versions").get_json()
    assert [(v["number"], v["decision"]) for v in versions] == [(2, "approved"), (1, "returned")]
    v1 = chair.get(f"{school_url(world)}/{YEAR}/versions/1").get_json()
    assert v1["content"]["sections"][1]["items"][0]["text"] == "春节走访慰问困难教职工"
    assert v1["comments"][0]["text"] == "慰问范围写具体"
    detail = chair.get(f"{school_url(world)}/{YEAR}").get_json()
    assert detail["status"] == "approved" and detail["approved_version_id"] is not None


def test_roles_are_enforced(app, world, login_as):
    editor = login_as("editor1a")
    assert put_draft(editor, world).status_code == 200
    assert editor.post(f"{school_url(world)}/{YEAR}/submit", json={}, headers=headers(editor)).status_code == 403
    chair = login_as("chair1a")
    chair.post(f"{school_url(world)}/{YEAR}/submit", json={}, headers=headers(chair))
    plan_id = chair.get(f"{school_url(world)}/{YEAR}").get_json()["id"]
    assert chair.post(f"/api/v1/d/d1/plans/{plan_id}/approve", json={"version": 1},
                      headers=headers(chair)).status_code == 403
    staff = login_as("d1staff")
    assert put_draft(staff, world).status_code == 403
    # The district sees the submitted version, not a working draft.
    assert staff.get(f"{school_url(world)}/{YEAR}").get_json()["content"]["goals"] == CONTENT["goals"]


def test_payloads_are_strict(app, world, login_as):
    chair = login_as("chair1a")
    for extra in ({"status": "approved"}, {"school_id": world.s1b}, {"district_id": world.d2},
                  {"approved_version_id": 1}):
        response = put_draft(chair, world, {**CONTENT, **extra})
        assert response.status_code == 422, extra
    bad = {**CONTENT, "schedule": [{"months": [13], "activities": [{"title": "x"}]}]}
    assert put_draft(chair, world, bad).status_code == 422
    bad = {**CONTENT, "sections": [{"title": "x", "items": [{"text": "y", "category": "nope"}]}]}
    assert put_draft(chair, world, bad).status_code == 422
    assert chair.get(f"{school_url(world)}/{YEAR}").status_code == 404  # nothing saved
    put_draft(chair, world)
    chair.post(f"{school_url(world)}/{YEAR}/submit", json={}, headers=headers(chair))
    plan_id = chair.get(f"{school_url(world)}/{YEAR}").get_json()["id"]
    staff = login_as("d1staff")
    response = staff.post(f"/api/v1/d/d1/plans/{plan_id}/return", json={
        "version": 1, "comments": [{"anchor": "budget", "text": "x"}]}, headers=headers(staff))
    assert response.status_code == 422
    response = staff.post(f"/api/v1/d/d1/plans/{plan_id}/approve", json={"version": 1, "decision": "approved",
                                                                          "decided_by": 1}, headers=headers(staff))
    assert response.status_code == 422


def test_deadline_api(app, world, login_as):
    admin = login_as("d1admin")
    assert admin.get(f"/api/v1/d/d1/plans/{YEAR}/deadline").get_json() == {"year": YEAR, "due_on": None}
    response = admin.put(f"/api/v1/d/d1/plans/{YEAR}/deadline", json={"due_on": "2026-03-15"}, headers=headers(admin))
    assert response.status_code == 200 and response.get_json()["due_on"] == "2026-03-15"
    chair = login_as("chair1a")
    assert chair.get(f"/api/v1/d/d1/plans/{YEAR}/deadline").get_json()["due_on"] == "2026-03-15"
    staff = login_as("d1staff")
    assert staff.put(f"/api/v1/d/d1/plans/{YEAR}/deadline", json={"due_on": "2026-04-01"},
                     headers=headers(staff)).status_code == 403
    assert admin.put(f"/api/v1/d/d1/plans/{YEAR}/deadline", json={"due_on": "三月"},
                     headers=headers(admin)).status_code == 422


def test_other_school_and_other_district_see_nothing(app, world, login_as):
    chair = login_as("chair1a")
    put_draft(chair, world, {**CONTENT, "goals": "甲校的机密目标"})
    chair.post(f"{school_url(world)}/{YEAR}/submit", json={}, headers=headers(chair))
    with district_session(app, world.d1):
        plan_id = services.get_plan(world.s1a, YEAR).id
    other = login_as("chair1b")
    for url in (f"{school_url(world)}", f"{school_url(world)}/{YEAR}", f"{school_url(world)}/{YEAR}/versions",
                f"{school_url(world)}/{YEAR}/versions/1"):
        response = other.get(url)
        assert response.status_code == 404 and "甲校的机密目标" not in response.get_data(as_text=True), url
    assert other.get(f"{school_url(world, 's1b')}").get_json() == []
    assert other.get("/api/v1/d/d1/plans").status_code == 403
    client = app.test_client()
    login(client, "d2admin")
    assert client.get(f"/api/v1/d/d1/plans/{plan_id}/approve").status_code in (404, 405)
    response = client.post(f"/api/v1/d/d1/plans/{plan_id}/approve", json={"version": 1}, headers=headers(client))
    assert response.status_code == 404
    listing = client.get("/api/v1/d/d2/plans").get_json()
    assert listing["items"] == []
    with district_session(app, world.d1):
        assert services.get_plan(world.s1a, YEAR).status == "submitted"
