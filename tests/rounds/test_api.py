"""Rounds and applications in the JSON API: strict schemas, permissions, tenancy."""
from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.rounds.models import Application
from tests.conftest import csrf_token
from tests.rounds.conftest import WIDE_OPEN, in_district, open_round


def _headers(client):
    return {"X-CSRFToken": csrf_token(client, "/account/password"), "Accept": "application/json"}


def _application_id(app, world, school_id):
    with in_district(app, world.d1):
        return db.session.scalar(select(Application.id).where(Application.school_id == school_id))


def _scores(rubric):
    return [{"indicator_id": rubric.ind["org"], "points": "4", "passed": True, "note": "健全"},
            {"indicator_id": rubric.ind["meetings"], "units": 1},
            {"indicator_id": rubric.ind["discipline"], "points": 2, "passed": True}]


def test_district_lists_rounds_and_applications(app, world, login_as, rubric):
    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    client = login_as("d1staff")
    rounds = client.get("/api/v1/d/d1/rounds").get_json()["items"]
    assert [r["id"] for r in rounds] == [round_id] and rounds[0]["status"] == "open"
    assert rounds[0]["weights"] == {"self": 20, "assessor": 80, "peer": 0}
    detail = client.get(f"/api/v1/d/d1/rounds/{round_id}").get_json()
    assert detail["kind_label"] == "年度考评" and detail["last_day"] == "2100-01-03"
    apps = client.get(f"/api/v1/d/d1/rounds/{round_id}/applications").get_json()["items"]
    assert {a["school_id"] for a in apps} == {world.s1a, world.s1b}
    assert all(a["indicators_total"] == 6 and a["indicators_filled"] == 3 for a in apps)
    assert client.get("/api/v1/d/d1/rounds/999999").status_code == 404
    assert login_as("chair1a").get("/api/v1/d/d1/rounds").status_code == 403


def test_school_fills_and_submits_through_the_api(app, world, login_as, rubric):
    round_id = open_round(app, world, rubric, **WIDE_OPEN)
    application_id = _application_id(app, world, world.s1a)
    base = f"/api/v1/d/d1/s/{world.s1a}/applications"
    chair = login_as("chair1a")
    listed = chair.get(base).get_json()["items"]
    assert [a["id"] for a in listed] == [application_id]
    assert [r["id"] for r in chair.get(f"/api/v1/d/d1/s/{world.s1a}/rounds").get_json()["items"]] == [round_id]

    # strict schemas: unknown fields and mass assignment are refused
    for body in ({"scores": _scores(rubric), "status": "submitted"},
                 {"scores": [{"indicator_id": rubric.ind["org"], "points": 1, "school_id": world.s1b}]},
                 {"scores": _scores(rubric), "district_id": world.d2}):
        response = chair.put(f"{base}/{application_id}/scores", json=body, headers=_headers(chair))
        assert response.status_code == 422, body
    out_of_bounds = chair.put(f"{base}/{application_id}/scores", headers=_headers(chair), json={
        "scores": [{"indicator_id": rubric.ind["org"], "points": 7, "passed": True}]})
    assert out_of_bounds.status_code == 422
    assert "0 到 4.00" in out_of_bounds.get_json()["errors"]["json"][str(rubric.ind["org"])][0]
    provided = chair.put(f"{base}/{application_id}/scores", headers=_headers(chair), json={
        "scores": [{"indicator_id": rubric.ind["membership"], "rate": 100}]})
    assert provided.status_code == 422 and "上级提供" in str(provided.get_json())

    early = chair.post(f"{base}/{application_id}/submit", headers=_headers(chair))
    assert early.status_code == 422 and "尚未填写完整" in str(early.get_json())

    saved = chair.put(f"{base}/{application_id}/scores", json={"scores": _scores(rubric), "summary": "汇报"},
                      headers=_headers(chair))
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["summary"] == "汇报" and body["missing"] == [] and body["indicators_filled"] == 6
    org = next(s for s in body["scores"] if s["indicator_id"] == rubric.ind["org"])
    assert org["points"] == "4.00" and org["computed_points"] == "4.00"

    editor = login_as("editor1a")
    assert editor.put(f"{base}/{application_id}/scores", json={"scores": _scores(rubric)},
                      headers=_headers(editor)).status_code == 200
    assert editor.post(f"{base}/{application_id}/submit", headers=_headers(editor)).status_code == 403

    submitted = chair.post(f"{base}/{application_id}/submit", headers=_headers(chair))
    assert submitted.status_code == 200, submitted.get_json()
    result = submitted.get_json()
    assert result["snapshot_number"] == 1 and result["dossier_run_id"]
    assert result["application"]["status"] == "submitted" and result["application"]["self_total"] == "13.00"
    again = chair.post(f"{base}/{application_id}/submit", headers=_headers(chair))
    assert again.status_code == 409


def test_api_isolation(app, world, login_as, rubric):
    open_round(app, world, rubric, **WIDE_OPEN)
    application_id = _application_id(app, world, world.s1a)
    url = f"/api/v1/d/d1/s/{world.s1a}/applications/{application_id}"
    assert login_as("chair1b").get(url).status_code == 404
    assert login_as("chair1b").get(f"/api/v1/d/d1/s/{world.s1b}/applications/{application_id}").status_code == 404
    assert login_as("d2admin").get(url).status_code == 404
    assert app.test_client().get(url).status_code == 401
    assert login_as("d1admin").get(url).status_code == 200


def test_openapi_documents_the_endpoints(app, world):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    paths = spec["paths"]
    assert "/api/v1/d/{district}/s/{school}/applications/{application_id}/scores" in paths
    assert "/api/v1/d/{district}/rounds/{round_id}/applications" in paths
