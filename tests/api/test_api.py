"""The JSON API: OpenAPI document, authentication (session + CSRF, or API token), strict
payloads (no mass assignment), tenant isolation, validation errors and masking."""
import json
import re

import pytest
from sqlalchemy import func, select

from app.accounts.models import ApiToken
from app.extensions import db
from tenants.models import School
from tenants.scope import Scope, tenant_scope
from tests.conftest import csrf_token, post

PHONE = "13912345678"
TOKEN_RE = re.compile(r'<code id="new-token">([^<]+)</code>')


# --- helpers ------------------------------------------------------------------------------

def create_token(client, name="ci") -> str:
    response = post(client, "/account/tokens", {"name": name})
    assert response.status_code == 200
    match = TOKEN_RE.search(response.get_data(as_text=True))
    assert match, "token not shown"
    return match.group(1)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def csrf_header(client) -> dict:
    return {"X-CSRFToken": csrf_token(client, "/account/password")}


def school_names(app, district_id: int) -> list[str]:
    with app.app_context():
        with tenant_scope(Scope.district(district_id)):
            return sorted(db.session.scalars(select(School.name)))


def school_count(app) -> int:
    with app.app_context():
        with tenant_scope(Scope.system("test: count every school")):
            return db.session.scalar(select(func.count()).select_from(School))


NEW_SCHOOL = {"name": "一区丙小学", "kind": "primary", "code": "C1", "staff_count": 40, "member_count": 30}


# --- OpenAPI --------------------------------------------------------------------------------

def test_openapi_document_lists_the_api(app, world):
    response = app.test_client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = json.loads(response.get_data(as_text=True))
    assert spec["openapi"].startswith("3.")
    assert spec["info"]["title"] and spec["info"]["version"] == "v1"
    paths = spec["paths"]
    for path in ("/api/v1/me", "/api/v1/d/{district}/schools", "/api/v1/d/{district}/s/{school}",
                 "/api/v1/d/{district}/users", "/api/v1/d/{district}/memberships"):
        assert path in paths, sorted(paths)
    assert {"get", "post"} <= set(paths["/api/v1/d/{district}/schools"])
    assert {"get", "patch"} <= set(paths["/api/v1/d/{district}/s/{school}"])
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    # The school schema does not offer ids or tenants as writable input.
    school = spec["components"]["schemas"]["School"]["properties"]
    assert school["id"].get("readOnly") is True
    assert school["district_id"].get("readOnly") is True


# --- authentication -------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/api/v1/me", "/api/v1/d/d1/schools", "/api/v1/d/d1/users",
                                  "/api/v1/d/d1/memberships", "/api/v1/d/d1/s/1", "/api/v1/d/nowhere/schools"])
def test_anonymous_gets_401_json(app, world, path):
    response = app.test_client().get(path)
    assert response.status_code == 401
    assert response.is_json
    assert response.get_json()["code"] == 401
    assert "Location" not in response.headers


def test_anonymous_post_is_refused_and_creates_nothing(app, world):
    before = school_count(app)
    client = app.test_client()
    headers = {"X-CSRFToken": csrf_token(client, "/login")}
    response = client.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=headers)
    assert response.status_code == 401
    assert school_count(app) == before


def test_me_with_session(app, world, login_as):
    client = login_as("chair1a")
    response = client.get("/api/v1/me")
    assert response.status_code == 200
    data = response.get_json()
    assert data["username"] == "chair1a"
    assert data["id"] == world.users["chair1a"]
    assert data["is_platform_admin"] is False
    assert [m["url"] for m in data["memberships"]] == [f"/d/d1/s/{world.s1a}/"]
    assert "password_hash" not in data


def test_token_auth_for_me_and_schools_without_csrf(app, world, login_as):
    token = create_token(login_as("d1admin"))
    assert token.startswith("jj_")
    api = app.test_client()  # no cookie at all

    me = api.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.get_json()["username"] == "d1admin"

    schools = api.get("/api/v1/d/d1/schools", headers=bearer(token))
    assert schools.status_code == 200
    assert sorted(s["id"] for s in schools.get_json()["items"]) == sorted([world.s1a, world.s1b])

    created = api.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=bearer(token))  # no X-CSRFToken
    assert created.status_code == 201, created.get_data(as_text=True)
    body = created.get_json()
    assert body["name"] == NEW_SCHOOL["name"] and body["district_id"] == world.d1
    assert NEW_SCHOOL["name"] in school_names(app, world.d1)
    # The token authenticates only the request: no session cookie is handed out.
    assert api.get_cookie(app.config["SESSION_COOKIE_NAME"]) is None or \
        api.get("/api/v1/me").status_code == 401


def test_token_is_shown_once_and_stored_hashed(app, world, login_as):
    client = login_as("d1admin")
    token = create_token(client)
    listing = client.get("/account/tokens").get_data(as_text=True)
    assert token not in listing
    assert 'id="new-token"' not in listing
    with app.app_context():
        row = db.session.scalar(select(ApiToken))
        assert row.token_hash != token and token not in row.token_hash
        assert len(row.token_hash) == 64
        assert token.startswith(row.prefix) and len(row.prefix) < len(token) // 3


def test_revoked_token_is_refused(app, world, login_as):
    client = login_as("d1admin")
    token = create_token(client)
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    assert post(client, f"/account/tokens/{token_id}/revoke").status_code == 302
    response = api.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert response.get_json()["code"] == 401
    assert api.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=bearer(token)).status_code == 401


def test_token_of_a_disabled_user_is_refused(app, world, login_as):
    token = create_token(login_as("chair1a"))
    api = app.test_client()
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    post(login_as("d1admin"), f"/d/d1/users/{world.users['chair1a']}/active", {"active": "0"})
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_another_users_token_cannot_be_revoked(app, world, login_as):
    token = create_token(login_as("d1admin"))
    with app.app_context():
        token_id = db.session.scalar(select(ApiToken.id))
    other = login_as("chair1a")
    assert post(other, f"/account/tokens/{token_id}/revoke").status_code == 404
    assert app.test_client().get("/api/v1/me", headers=bearer(token)).status_code == 200


@pytest.mark.parametrize("value", ["nonsense", "jj_nonsense", "", "jj_" + "A" * 43])
def test_bad_tokens_are_refused(app, world, value):
    response = app.test_client().get("/api/v1/me", headers=bearer(value))
    assert response.status_code == 401


def test_bearer_header_does_not_let_a_session_skip_csrf(app, world, login_as):
    """CSRF is skipped for token requests; a bogus token next to a live session cookie must not
    turn into a session-authenticated request without CSRF."""
    client = login_as("d1admin")
    before = school_count(app)
    response = client.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=bearer("nonsense"))
    assert response.status_code in (400, 401)
    assert school_count(app) == before


def test_session_api_post_needs_the_csrf_header(app, world, login_as):
    client = login_as("d1admin")
    before = school_count(app)
    response = client.post("/api/v1/d/d1/schools", json=NEW_SCHOOL)
    assert response.status_code == 400
    assert response.is_json and response.get_json()["code"] == 400
    response = client.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers={"X-CSRFToken": "forged"})
    assert response.status_code == 400
    assert school_count(app) == before

    response = client.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=csrf_header(client))
    assert response.status_code == 201, response.get_data(as_text=True)
    assert school_count(app) == before + 1


def test_session_api_patch_needs_the_csrf_header(app, world, login_as):
    client = login_as("d1admin")
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", json={"address": "解放路 1 号"})
    assert response.status_code == 400
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", json={"address": "解放路 1 号"},
                            headers=csrf_header(client))
    assert response.status_code == 200
    assert response.get_json()["address"] == "解放路 1 号"


# --- strict payloads: no mass assignment ------------------------------------------------------

@pytest.mark.parametrize("extra", [
    {"unexpected": 1},
    {"district_id": 2},
    {"id": 999},
    {"kind_label": "x"},
    {"district_id": 1},
])
def test_unknown_or_read_only_fields_in_post_are_rejected(app, world, login_as, extra):
    client = login_as("d1admin")
    before = school_count(app)
    response = client.post("/api/v1/d/d1/schools", json={**NEW_SCHOOL, **extra}, headers=csrf_header(client))
    assert response.status_code == 422, response.get_data(as_text=True)
    errors = response.get_json()["errors"]["json"]
    assert set(errors) == set(extra)
    assert school_count(app) == before
    assert NEW_SCHOOL["name"] not in school_names(app, world.d2)


@pytest.mark.parametrize("payload", [{"district_id": 2}, {"id": 999}, {"name": "x", "owner": "y"}])
def test_read_only_fields_in_patch_are_rejected(app, world, login_as, payload):
    client = login_as("d1admin")
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", json=payload, headers=csrf_header(client))
    assert response.status_code == 422
    assert school_names(app, world.d1) == ["一区乙中学", "一区甲小学"]
    assert school_names(app, world.d2) == ["二区甲小学"]


def test_membership_grant_cannot_pick_a_district(app, world, login_as):
    client = login_as("d1admin")
    response = client.post("/api/v1/d/d1/memberships", headers=csrf_header(client),
                           json={"user_id": world.users["chair1a"], "role": "district_staff", "district_id": world.d2})
    assert response.status_code == 422
    assert "district_id" in response.get_json()["errors"]["json"]


def test_query_arguments_are_validated_and_cannot_pick_a_tenant(app, world, login_as):
    client = login_as("d1admin")
    # Unknown query arguments are ignored (webargs' default for the query string), never used.
    response = client.get(f"/api/v1/d/d1/schools?district_id={world.d2}")
    assert response.status_code == 200
    assert sorted(s["id"] for s in response.get_json()["items"]) == sorted([world.s1a, world.s1b])
    assert client.get("/api/v1/d/d1/schools?per_page=1000").status_code == 422
    assert client.get("/api/v1/d/d1/schools?page=0").status_code == 422
    assert "per_page" in client.get("/api/v1/d/d1/schools?per_page=x").get_json()["errors"]["query"]


# --- tenant isolation -----------------------------------------------------------------------

def test_school_chair_lists_only_own_school(app, world, login_as):
    client = login_as("chair1a")
    response = client.get("/api/v1/d/d1/schools")
    assert response.status_code == 200
    data = response.get_json()
    assert [s["id"] for s in data["items"]] == [world.s1a]
    assert data["total"] == 1
    # Searching for the other school finds nothing.
    assert client.get("/api/v1/d/d1/schools?q=乙").get_json()["items"] == []


def test_school_chair_cannot_read_another_school(app, world, login_as):
    client = login_as("chair1a")
    assert client.get(f"/api/v1/d/d1/s/{world.s1a}").status_code == 200
    for path in (f"/api/v1/d/d1/s/{world.s1b}", f"/api/v1/d/d1/s/{world.s2a}", f"/api/v1/d/d2/s/{world.s2a}",
                 "/api/v1/d/d1/s/99999"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.get_json()["code"] == 404


def test_school_chair_cannot_manage(app, world, login_as):
    client = login_as("chair1a")
    before = school_count(app)
    assert client.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=csrf_header(client)).status_code == 403
    assert client.patch(f"/api/v1/d/d1/s/{world.s1a}", json={"name": "改名"},
                        headers=csrf_header(client)).status_code == 403
    assert client.get("/api/v1/d/d1/users").status_code == 403
    assert client.get("/api/v1/d/d1/memberships").status_code == 403
    assert school_count(app) == before
    assert "改名" not in school_names(app, world.d1)


def test_other_district_admin_gets_404(app, world, login_as):
    client = login_as("d2admin")
    for path in ("/api/v1/d/d1/schools", f"/api/v1/d/d1/s/{world.s1a}", "/api/v1/d/d1/users",
                 "/api/v1/d/d1/memberships", f"/api/v1/d/d1/users/{world.users['chair1a']}"):
        response = client.get(path)
        assert response.status_code == 404, path
    before = school_count(app)
    assert client.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=csrf_header(client)).status_code == 404
    assert client.patch(f"/api/v1/d/d1/s/{world.s1a}", json={"name": "改名"},
                        headers=csrf_header(client)).status_code == 404
    assert school_count(app) == before
    # Its own district works, and shows only its own school.
    own = client.get("/api/v1/d/d2/schools").get_json()
    assert [s["id"] for s in own["items"]] == [world.s2a]


def test_token_follows_the_same_tenant_rules(app, world, login_as):
    token = create_token(login_as("chair1a"))
    api = app.test_client()
    assert [s["id"] for s in api.get("/api/v1/d/d1/schools", headers=bearer(token)).get_json()["items"]] \
        == [world.s1a]
    assert api.get(f"/api/v1/d/d1/s/{world.s1b}", headers=bearer(token)).status_code == 404
    assert api.get("/api/v1/d/d2/schools", headers=bearer(token)).status_code == 404
    assert api.post("/api/v1/d/d1/schools", json=NEW_SCHOOL, headers=bearer(token)).status_code == 403


def test_district_users_listing_excludes_other_districts(app, world, login_as):
    data = login_as("d1admin").get("/api/v1/d/d1/users?per_page=100").get_json()
    names = {u["username"] for u in data["items"]}
    assert names == {"d1admin", "d1staff", "d1assessor", "chair1a", "editor1a", "chair1b"}
    assert login_as("d1admin").get(f"/api/v1/d/d1/users/{world.users['chair2a']}").status_code == 404


# --- update and validation ------------------------------------------------------------------

def test_district_admin_patches_a_school(app, world, login_as):
    client = login_as("d1admin")
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", headers=csrf_header(client),
                            json={"name": "一区甲小学（新校区）", "staff_count": 60})
    assert response.status_code == 200, response.get_data(as_text=True)
    data = response.get_json()
    assert data["name"] == "一区甲小学（新校区）"
    assert data["staff_count"] == 60
    assert data["member_count"] == 48  # untouched fields keep their values
    assert data["kind"] == "primary" and data["code"] == "A1"
    assert "一区甲小学（新校区）" in school_names(app, world.d1)
    got = client.get(f"/api/v1/d/d1/s/{world.s1a}").get_json()
    assert got["name"] == "一区甲小学（新校区）"


@pytest.mark.parametrize("payload, field", [
    ({"staff_count": -1}, "staff_count"),
    ({"staff_count": "many"}, "staff_count"),
    ({"kind": "university"}, "kind"),
    ({"name": ""}, "name"),
    ({"name": "x" * 101}, "name"),
    ({"active": "perhaps"}, "active"),
])
def test_patch_validation_errors_are_reported(app, world, login_as, payload, field):
    client = login_as("d1admin")
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", json=payload, headers=csrf_header(client))
    assert response.status_code == 422
    body = response.get_json()
    assert body["code"] == 422
    assert field in body["errors"]["json"]
    assert isinstance(body["errors"]["json"][field], list) and body["errors"]["json"][field]
    assert school_names(app, world.d1) == ["一区乙中学", "一区甲小学"]


def test_patch_to_a_clashing_name_is_a_reported_422(app, world, login_as):
    """Names are unique per district; the clash is reported, not a server error."""
    client = login_as("d1admin")
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", json={"name": "一区乙中学"},
                            headers=csrf_header(client))
    assert response.status_code == 422, response.get_data(as_text=True)[:300]
    assert response.get_json()["errors"]["json"]["name"] == ["学校 一区乙中学 已存在"]
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", json={"code": "B1"}, headers=csrf_header(client))
    assert response.status_code == 422
    assert "B1" in response.get_json()["errors"]["json"]["code"][0]
    assert school_names(app, world.d1) == ["一区乙中学", "一区甲小学"]
    # The same name in another district is fine.
    response = client.patch(f"/api/v1/d/d1/s/{world.s1a}", json={"name": "二区甲小学"},
                            headers=csrf_header(client))
    assert response.status_code == 200


def test_post_validation_errors_are_reported(app, world, login_as):
    client = login_as("d1admin")
    response = client.post("/api/v1/d/d1/schools", json={"kind": "primary"}, headers=csrf_header(client))
    assert response.status_code == 422
    assert "name" in response.get_json()["errors"]["json"]
    response = client.post("/api/v1/d/d1/schools", json={**NEW_SCHOOL, "name": "一区甲小学"},
                           headers=csrf_header(client))
    assert response.status_code == 422
    assert "一区甲小学" in response.get_json()["errors"]["json"]["name"][0]


# --- masking ----------------------------------------------------------------------------------

def test_phone_is_masked_in_user_payloads(app, world, login_as):
    client = login_as("d1admin")
    for path in ("/api/v1/d/d1/users", f"/api/v1/d/d1/users/{world.users['chair1a']}", "/api/v1/me"):
        response = client.get(path)
        assert response.status_code == 200, path
        raw = response.get_data(as_text=True)
        assert PHONE not in raw, path
        data = response.get_json()
        users = data["items"] if "items" in data else [data]
        assert users
        for user in users:
            assert user["phone"] == "139****5678", (path, user)
            assert "****" in user["phone"]


def test_no_unmasked_phone_anywhere_in_the_api(app, world, login_as):
    client = login_as("d1admin")
    phone_re = re.compile(r"1[3-9]\d{9}")
    for path in ("/api/v1/me", "/api/v1/d/d1/users?per_page=100", "/api/v1/d/d1/memberships?per_page=100",
                 "/api/v1/d/d1/schools"):
        raw = client.get(path).get_data(as_text=True)
        assert not phone_re.search(raw), path
