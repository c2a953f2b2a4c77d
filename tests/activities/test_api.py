"""The activities API: marshmallow schemas with unknown=RAISE, the same rules and tenancy as
the pages."""
from __future__ import annotations

from datetime import date

from tests.activities.helpers import add_record, make_plan
from tests.conftest import csrf_token

SLOTS = [([3], "三八节女教职工活动", "women"), ([7, 8], "暑期走访慰问", "care")]


def _api(client):
    token = csrf_token(client, "/account/password")
    headers = {"X-CSRFToken": token, "Accept": "application/json"}

    def call(method, url, json=None):
        return client.open(url, method=method, json=json, headers=headers)

    return call


def test_create_list_get_update_delete(app, world, login_as):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    other = make_plan(app, world.d1, world.s1b, 2026, [([3], "乙中学的活动")])
    call = _api(login_as("chair1a"))
    base = f"/api/v1/d/d1/s/{world.s1a}/activities"
    created = call("POST", base, {"held_on": "2026-03-08", "title": "三八节趣味运动会", "category": "women",
                                  "participants": 45, "scheduled_activity_id": ids[0]})
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["school_id"] == world.s1a and body["district_id"] == world.d1 and body["year"] == 2026
    assert body["category_label"] == "女工工作" and body["files"] == []
    record_id = body["id"]

    # mass assignment and unknown fields are refused
    for extra in ({"school_id": world.s1b}, {"district_id": world.d2}, {"year": 2020}, {"colour": "red"}):
        response = call("POST", base, {"held_on": "2026-03-09", "title": "x", "category": "other", **extra})
        assert response.status_code == 422, extra
    # another school's planned activity: the service refuses it, with the field named
    response = call("POST", base, {"held_on": "2026-03-09", "title": "x", "category": "other",
                                   "scheduled_activity_id": other[0]})
    assert response.status_code == 422
    assert "不属于本校" in response.get_json()["errors"]["json"]["scheduled_activity_id"][0]
    assert call("POST", base, {"held_on": "2026-03-09", "title": "x", "category": "party"}).status_code == 422

    add_record(app, world.d1, world.s1a, date(2026, 7, 1), "七月活动", category="care")
    listing = call("GET", base + "?year=2026").get_json()
    assert listing["total"] == 2 and [i["title"] for i in listing["items"]] == ["七月活动", "三八节趣味运动会"]
    assert call("GET", base + "?year=2026&month=3").get_json()["total"] == 1
    assert call("GET", base + "?category=care").get_json()["total"] == 1
    assert call("GET", base + "?month=13").status_code == 422

    patched = call("PATCH", f"{base}/{record_id}", {"participants": 50, "scheduled_activity_id": None})
    assert patched.status_code == 200
    assert (patched.get_json()["participants"], patched.get_json()["scheduled_activity_id"],
            patched.get_json()["title"]) == (50, None, "三八节趣味运动会")
    assert call("PATCH", f"{base}/{record_id}", {"participants": -1}).status_code == 422
    assert call("PATCH", f"{base}/{record_id}", {"school_id": world.s1b}).status_code == 422
    assert call("GET", f"{base}/{record_id}").get_json()["participants"] == 50
    assert call("DELETE", f"{base}/{record_id}").status_code == 204
    assert call("GET", f"{base}/{record_id}").status_code == 404


def test_files_are_listed_with_their_download_urls(app, world, login_as):
    import io

    from tests.activities.helpers import png_bytes

    record_id = add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节")
    client = login_as("chair1a")
    client.post(f"/d/d1/s/{world.s1a}/activities/{record_id}/files", content_type="multipart/form-data",
                data={"csrf_token": csrf_token(client, "/account/password"),
                      "files": [(io.BytesIO(png_bytes()), "合影.png")]})
    body = _api(client)("GET", f"/api/v1/d/d1/s/{world.s1a}/activities/{record_id}").get_json()
    assert [(f["original_name"], f["content_type"]) for f in body["files"]] == [("合影.png", "image/png")]
    assert client.get(body["files"][0]["url"]).status_code == 200


def test_roles_and_completion(app, world, login_as):
    ids = make_plan(app, world.d1, world.s1a, 2026, SLOTS)
    add_record(app, world.d1, world.s1a, date(2026, 3, 8), "三八节", ids[0])
    staff = _api(login_as("d1staff"))
    base = f"/api/v1/d/d1/s/{world.s1a}/activities"
    assert staff("GET", base).status_code == 200
    assert staff("POST", base, {"held_on": "2026-03-09", "title": "x", "category": "other"}).status_code == 403
    payload = staff("GET", "/api/v1/d/d1/activities/2026/completion").get_json()
    rows = {r["school_name"]: r for r in payload["items"]}
    assert rows["一区甲小学"]["rate"] == 0.5 and rows["一区甲小学"]["planned"] == 2
    assert rows["一区乙中学"]["rate"] is None and rows["一区乙中学"]["plan_status"] == "none"
    assert payload["totals"]["done"] == 1 and payload["year"] == 2026
    assert _api(login_as("chair1a"))("GET", "/api/v1/d/d1/activities/2026/completion").status_code == 403
    assert _api(login_as("d2admin"))("GET", "/api/v1/d/d1/activities/2026/completion").status_code == 404


def test_api_token_without_csrf(app, world, login_as):
    from app.accounts import services as accounts
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        user = db.session.get(User, world.users["chair1a"])
        _, secret = accounts.create_api_token(user, "脚本")
        db.session.commit()
    client = app.test_client()
    response = client.post(f"/api/v1/d/d1/s/{world.s1a}/activities", headers={"Authorization": f"Bearer {secret}"},
                           json={"held_on": "2026-05-01", "title": "劳动节", "category": "other"})
    assert response.status_code == 201, response.get_json()
