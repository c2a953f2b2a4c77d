"""Rubrics in the JSON API: list, get with computed totals, create a draft, copy, publish;
strict payloads and the same tenancy and permissions as the web."""
import pytest
from sqlalchemy import func, select

from app.extensions import db
from app.rubrics import services
from app.rubrics.models import Rubric
from tests.conftest import csrf_token
from tests.rubrics.helpers import create, district, small_doc


def headers(client):
    return {"X-CSRFToken": csrf_token(client, "/account/password")}


def api_doc(**over):
    doc = small_doc()
    doc["categories"][1]["indicators"][0]["bands"] = [[90, 5], [80, 3], [70, 1]]
    doc.update(over)
    return doc


@pytest.fixture
def rubric_id(app, world):
    with district(app, world.d1):
        rubric = create()
        db.session.commit()
        return rubric.id


def test_list_and_get_with_computed_totals(app, world, login_as, rubric_id):
    client = login_as("d1staff")
    payload = client.get("/api/v1/d/d1/rubrics").get_json()
    assert payload["total"] == 1
    item = payload["items"][0]
    assert (item["name"], item["version"], item["status"], item["total_points"], item["caps_total"],
            item["points_total"], item["bonus_total"], item["problems"], item["locked"]) == (
        "测试细则", 1, "draft", 15.0, 15.0, 15.0, 3.0, [], False)
    detail = client.get(f"/api/v1/d/d1/rubrics/{rubric_id}").get_json()
    assert [(c["name"], c["cap"], c["points_total"], c["bonus_total"], c["adds_up"]) for c in detail["categories"]] == [
        ("组织建设", 10.0, 10.0, 3.0, True), ("会员发展", 5.0, 5.0, 0.0, True)]
    rate = detail["categories"][1]["indicators"][0]
    assert (rate["kind"], rate["bands"], rate["provided_source"], rate["veto"]) == (
        "rate_band", [[90, 5], [80, 3], [70, 1]], "membership_rate", True)
    deduction = detail["categories"][0]["indicators"][1]
    assert (deduction["deduction_per_unit"], deduction["deduction_floor"], deduction["kind_label"]) == (1.0, 0.0, "扣分制")
    assert client.get("/api/v1/d/d1/rubrics/999999").status_code == 404


def test_create_a_draft_then_publish(app, world, login_as):
    client = login_as("d1admin")
    response = client.post("/api/v1/d/d1/rubrics", json=api_doc(), headers=headers(client))
    assert response.status_code == 201, response.get_json()
    created = response.get_json()
    assert created["status"] == "draft" and created["problems"] == [] and created["version"] == 1
    response = client.post(f"/api/v1/d/d1/rubrics/{created['id']}/publish", headers=headers(client))
    assert response.status_code == 200 and response.get_json()["status"] == "published"
    again = client.post(f"/api/v1/d/d1/rubrics/{created['id']}/publish", headers=headers(client))
    assert again.status_code == 409
    response = client.post(f"/api/v1/d/d1/rubrics/{created['id']}/copy", headers=headers(client))
    assert response.status_code == 201
    copy = response.get_json()
    assert (copy["family"], copy["version"], copy["status"], copy["copied_from_id"]) == (
        created["family"], 2, "draft", created["id"])
    def strip(categories):
        return [(c["name"], [(i["title"], i["kind"], i["max_points"]) for i in c["indicators"]]) for c in categories]

    assert strip(copy["categories"]) == strip(created["categories"])
    response = client.post("/api/v1/d/d1/rubrics", json=api_doc(name="新版本", new_version_of=created["id"]),
                           headers=headers(client))
    assert response.status_code == 201 and response.get_json()["version"] == 3


def test_publish_refused_with_the_problems(app, world, login_as):
    client = login_as("d1admin")
    created = client.post("/api/v1/d/d1/rubrics", json=api_doc(total_points=20), headers=headers(client)).get_json()
    assert created["problems"] == ["各类别分值合计 15.00，与总分 20.00 不符"]
    response = client.post(f"/api/v1/d/d1/rubrics/{created['id']}/publish", headers=headers(client))
    assert response.status_code == 422
    assert response.get_json()["errors"] == {"problems": ["各类别分值合计 15.00，与总分 20.00 不符"]}


def test_strict_payloads_and_field_errors(app, world, login_as):
    client = login_as("d1admin")
    for extra in ({"district_id": 2}, {"status": "published"}, {"version": 9}, {"family": "x"}, {"id": 5}):
        response = client.post("/api/v1/d/d1/rubrics", json=api_doc(**extra), headers=headers(client))
        assert response.status_code == 422, extra
    doc = api_doc()
    doc["categories"][0]["indicators"][1]["deduction_per_unit"] = None
    doc["categories"][0]["indicators"][0]["max_points"] = "0.125"
    response = client.post("/api/v1/d/d1/rubrics", json=doc, headers=headers(client))
    assert response.status_code == 422
    errors = response.get_json()["errors"]["json"]
    assert errors == {"categories.0.indicators.0.max_points": ["最多保留两位小数"],
                      "categories.0.indicators.1.deduction_per_unit": ["请填写每次扣分"]}
    response = client.post("/api/v1/d/d1/rubrics", json=api_doc(new_version_of=999999), headers=headers(client))
    assert response.status_code == 422
    with district(app, world.d1):
        assert db.session.scalar(select(func.count()).select_from(Rubric)) == 0


def test_permissions_and_isolation(app, world, login_as, rubric_id):
    assert login_as("d1assessor").get(f"/api/v1/d/d1/rubrics/{rubric_id}").status_code == 200
    for who in ("d1staff", "d1assessor"):
        client = login_as(who)
        assert client.post(f"/api/v1/d/d1/rubrics/{rubric_id}/publish", headers=headers(client)).status_code == 403
        assert client.post("/api/v1/d/d1/rubrics", json=api_doc(), headers=headers(client)).status_code == 403
    chair = login_as("chair1a")
    assert chair.get("/api/v1/d/d1/rubrics").status_code == 403
    other = login_as("d2admin")
    assert other.get(f"/api/v1/d/d1/rubrics/{rubric_id}").status_code == 404
    assert other.get(f"/api/v1/d/d2/rubrics/{rubric_id}").status_code == 404
    assert other.post(f"/api/v1/d/d2/rubrics/{rubric_id}/copy", headers=headers(other)).status_code == 404
    assert other.get("/api/v1/d/d2/rubrics").get_json()["total"] == 0
    assert login_as("d1admin").post(f"/api/v1/d/d1/rubrics/{rubric_id}/copy").status_code in (400, 403)  # no CSRF
    assert "/api/v1/d/{district}/rubrics" in app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    with district(app, world.d1):
        assert db.session.scalar(select(func.count()).select_from(Rubric)) == 1
        assert services.get_rubric(rubric_id).status == "draft"
