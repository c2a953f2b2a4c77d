"""Login hardening: throttling, safe redirects, CSRF, cookie flags, security headers,
password storage and policy, forced password change, and no user enumeration."""
import re
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import select, update

from app.accounts.models import LoginAttempt, User, UserSession
from app.accounts.passwords import hash_password, verify_password
from app.extensions import db
from tests.conftest import PASSWORD, csrf_token, login, post

THROTTLED = "登录失败次数过多"
BAD_CREDENTIALS = "用户名或密码不正确"


# --- helpers ------------------------------------------------------------------------------

def client_from(app, ip: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = ip
    return client


def is_logged_in(client) -> bool:
    response = client.get("/account/password")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and urlsplit(response.location).path == "/login"
    return False


def fail(app, username: str, ip: str = "127.0.0.1"):
    response = login(client_from(app, ip), username, "Wrong-pass-0000")
    assert response.status_code == 200
    return response


def text_of(response) -> str:
    return response.get_data(as_text=True)


# --- throttling -----------------------------------------------------------------------------

def test_five_failures_lock_the_account_even_with_the_right_password(app, world):
    limit = app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]
    assert limit == 5
    for i in range(limit - 1):
        assert BAD_CREDENTIALS in text_of(fail(app, "chair1a", ip=f"10.1.0.{i}"))
    # Four failures: the right password still works (no lockout below the limit).
    client = client_from(app, "10.1.0.99")
    assert login(client, "chair1a").status_code == 302
    assert is_logged_in(client)

    assert BAD_CREDENTIALS in text_of(fail(app, "chair1a", ip="10.1.0.50"))  # fifth failure
    for ip in ("10.1.0.99", "10.9.9.9"):  # per account: any IP is refused
        client = client_from(app, ip)
        response = login(client, "chair1a")
        assert response.status_code == 200
        assert THROTTLED in text_of(response)
        assert not is_logged_in(client)
    # The username is normalised: case and spaces do not dodge the count.
    client = client_from(app, "10.9.9.10")
    response = login(client, "  CHAIR1A ")
    assert THROTTLED in text_of(response)
    assert not is_logged_in(client)
    # Another account from the same IP is unaffected.
    other = client_from(app, "10.1.0.99")
    assert login(other, "chair1b").status_code == 302


def test_throttle_expires_after_the_window(app, world):
    for i in range(5):
        fail(app, "chair1a", ip=f"10.2.0.{i}")
    assert THROTTLED in text_of(login(client_from(app, "10.2.1.1"), "chair1a"))
    window = app.config["LOGIN_THROTTLE_WINDOW"]
    with app.app_context():
        rows = db.session.scalars(select(LoginAttempt).where(LoginAttempt.username == "chair1a")).all()
        for row in rows:
            row.at = row.at - window - timedelta(minutes=1)
        db.session.commit()
    client = client_from(app, "10.2.1.1")
    assert login(client, "chair1a").status_code == 302
    assert is_logged_in(client)


def test_twenty_failures_from_one_ip_block_that_ip(app, world):
    limit = app.config["LOGIN_MAX_FAILURES_PER_IP"]
    assert limit == 20
    ip = "192.0.2.7"
    for i in range(limit - 1):
        fail(app, f"nobody{i}", ip=ip)  # different usernames: no account reaches its limit
    # 19 failures: this IP can still log in.
    client = client_from(app, ip)
    assert login(client, "d1staff").status_code == 302

    fail(app, "nobody-last", ip=ip)  # the twentieth
    blocked = client_from(app, ip)
    response = login(blocked, "d1admin")
    assert response.status_code == 200
    assert THROTTLED in text_of(response)
    assert not is_logged_in(blocked)
    # The same account from another IP is fine: the block is per IP.
    elsewhere = client_from(app, "192.0.2.8")
    assert login(elsewhere, "d1admin").status_code == 302
    assert is_logged_in(elsewhere)


def test_throttled_attempts_do_not_even_check_the_password(app, world):
    for i in range(5):
        fail(app, "chair1a", ip=f"10.3.0.{i}")
    with app.app_context():
        before = db.session.scalars(select(UserSession)).all()
    login(client_from(app, "10.3.0.9"), "chair1a")
    with app.app_context():
        assert db.session.scalars(select(UserSession)).all() == before == []


# --- open redirect ----------------------------------------------------------------------------

def login_with_next(client, next_value, username="d1admin"):
    query = "?" + urlencode({"next": next_value})
    token = csrf_token(client, "/login" + query)
    return client.post("/login" + query, data={"username": username, "password": PASSWORD, "csrf_token": token})


@pytest.mark.parametrize("target", [
    "//evil.example",
    "//evil.example/d/d1/users",
    "https://evil.example",
    "https://evil.example/d/d1/users",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    " //evil.example",
    "///evil.example",
    "javascript:alert(1)",
    "JavaScript:alert(document.cookie)",
    "data:text/html,<script>alert(1)</script>",
    "evil.example",
])
def test_next_cannot_redirect_off_site(app, world, target):
    client = app.test_client()
    response = login_with_next(client, target)
    assert response.status_code == 302
    location = response.location
    parts = urlsplit(location)
    assert parts.scheme in ("", "http", "https")
    assert parts.netloc in ("", "localhost"), location
    assert parts.path.startswith("/") and not parts.path.startswith("//"), location
    assert "\\" not in location and "evil" not in location.lower()
    assert is_logged_in(client)  # the login itself still succeeded


def test_local_next_is_honoured(app, world):
    client = app.test_client()
    response = login_with_next(client, "/d/d1/users")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/d/d1/users"
    assert client.get(response.location).status_code == 200


def test_anonymous_visit_returns_to_the_page_after_login(app, world):
    client = app.test_client()
    response = client.get("/d/d1/users?q=chair")
    assert response.status_code == 302
    login_page = response.location
    assert urlsplit(login_page).path == "/login"
    token = csrf_token(client, login_page)
    response = client.post(login_page, data={"username": "d1admin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 302
    target = urlsplit(response.location)
    assert (target.path, target.query) == ("/d/d1/users", "q=chair")


# --- CSRF -------------------------------------------------------------------------------------

def test_login_without_csrf_token_is_rejected(app, world):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "d1admin", "password": PASSWORD})
    assert response.status_code == 400
    assert not is_logged_in(client)
    with app.app_context():
        assert db.session.scalars(select(UserSession)).all() == []


def test_login_with_forged_csrf_token_is_rejected(app, world):
    client = app.test_client()
    client.get("/login")
    response = client.post("/login", data={"username": "d1admin", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400
    assert not is_logged_in(client)


def test_csrf_token_of_another_session_is_rejected(app, world):
    attacker = app.test_client()
    token = csrf_token(attacker)
    victim = app.test_client()
    victim.get("/login")
    response = victim.post("/login", data={"username": "d1admin", "password": PASSWORD, "csrf_token": token})
    assert response.status_code == 400
    assert not is_logged_in(victim)


def test_state_changing_form_without_csrf_is_rejected(app, world, login_as):
    client = login_as("chair1a")
    response = client.post("/account/password", data={"current": PASSWORD, "new": "Another-pass-2026",
                                                       "confirm": "Another-pass-2026"})
    assert response.status_code == 400
    with app.app_context():
        user = db.session.get(User, world.users["chair1a"])
        assert verify_password(user.password_hash, PASSWORD)


# --- cookies and headers ----------------------------------------------------------------------

def session_set_cookie(app, response) -> str:
    name = app.config["SESSION_COOKIE_NAME"]
    headers = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]
    assert headers, response.headers.getlist("Set-Cookie")
    return headers[-1]


def test_session_cookie_flags(app, world):
    client = app.test_client()
    response = login(client, "d1admin")
    assert response.status_code == 302
    header = session_set_cookie(app, response)
    attrs = {part.strip().split("=")[0].lower(): part.strip() for part in header.split(";")[1:]}
    assert "httponly" in attrs
    assert attrs.get("samesite", "").lower() == "samesite=lax"
    assert "domain" not in attrs or attrs["domain"].lower() in ("domain=localhost", "domain=.localhost")


def test_production_config_sets_secure_cookie(app):
    from app.config import ProductionConfig

    assert ProductionConfig.SESSION_COOKIE_SECURE is True
    assert ProductionConfig.SESSION_COOKIE_HTTPONLY is True
    assert ProductionConfig.SESSION_COOKIE_SAMESITE == "Lax"


def csp(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response):
    policy = csp(response)
    assert policy.get("default-src") == ["'self'"], policy
    assert policy.get("frame-ancestors") == ["'none'"], policy
    assert policy.get("object-src") == ["'none'"], policy
    assert "'unsafe-inline'" not in policy.get("script-src", []) and "*" not in policy.get("script-src", [])
    assert response.headers.get("X-Content-Type-Options") == "nosniff"
    assert response.headers.get("X-Frame-Options") in ("DENY", "SAMEORIGIN")


def test_security_headers_on_public_pages(app, world):
    client = app.test_client()
    for path in ("/login", "/no-such-page"):
        response = client.get(path)
        assert_security_headers(response)


def test_security_headers_and_no_store_on_authenticated_pages(app, world, login_as):
    client = login_as("d1admin")
    for path in ("/", "/account/password", "/d/d1/", "/d/d1/users", f"/d/d1/s/{world.s1a}/",
                 "/api/v1/me", "/api/v1/d/d1/users", "/d/d2/"):
        response = client.get(path)
        assert response.status_code in (200, 302, 404), (path, response.status_code)
        assert_security_headers(response)
        assert "no-store" in response.headers.get("Cache-Control", ""), path


def test_forbidden_page_has_headers_too(app, world, login_as):
    client = login_as("chair1a")
    response = client.get("/d/d1/users")
    assert response.status_code == 403
    assert_security_headers(response)
    assert "no-store" in response.headers.get("Cache-Control", "")


# --- password storage and policy ------------------------------------------------------------

def test_passwords_are_stored_as_argon2id(app, world, login_as):
    with app.app_context():
        hashes = db.session.scalars(select(User.password_hash)).all()
    assert len(hashes) == 9
    for value in hashes:
        assert value.startswith("$argon2id$"), value
        assert PASSWORD not in value
    assert len(set(hashes)) == len(hashes)  # salted: same password, different hashes

    client = login_as("chair1a")
    assert post(client, "/account/password", {"current": PASSWORD, "new": "Changed-pass-2026",
                                               "confirm": "Changed-pass-2026"}).status_code == 302
    with app.app_context():
        assert db.session.get(User, world.users["chair1a"]).password_hash.startswith("$argon2id$")


def test_production_hasher_is_argon2id_with_real_costs():
    value = hash_password("Some-password-1")  # no app context: the production hasher
    assert value.startswith("$argon2id$")
    match = re.search(r"\$m=(\d+),t=(\d+),p=(\d+)\$", value)
    assert match
    memory, time_cost, _ = map(int, match.groups())
    assert memory >= 19456 and time_cost >= 2  # OWASP minimum for argon2id
    assert verify_password(value, "Some-password-1")
    assert not verify_password(value, "some-password-1")


@pytest.mark.parametrize("new, message", [
    ("11111111", "密码过于简单"),
    ("short", "密码长度应为 8 到 128 个字符"),
    ("x" * 129, "密码长度应为 8 到 128 个字符"),
    ("D1Assessor", "密码不能与用户名相同"),
])
def test_weak_new_passwords_are_refused_in_chinese(app, world, login_as, new, message):
    client = login_as("d1assessor")
    response = post(client, "/account/password", {"current": PASSWORD, "new": new, "confirm": new})
    assert response.status_code == 200
    assert message in text_of(response)
    with app.app_context():
        assert verify_password(db.session.get(User, world.users["d1assessor"]).password_hash, PASSWORD)
    assert is_logged_in(client)


def test_password_confirmation_must_match(app, world, login_as):
    client = login_as("d1assessor")
    response = post(client, "/account/password", {"current": PASSWORD, "new": "Good-pass-2026",
                                                   "confirm": "Good-pass-2027"})
    assert response.status_code == 200
    assert "两次填写的新密码不一致" in text_of(response)


def test_new_password_must_differ_from_current(app, world, login_as):
    client = login_as("d1assessor")
    response = post(client, "/account/password", {"current": PASSWORD, "new": PASSWORD, "confirm": PASSWORD})
    assert response.status_code == 200
    assert "新密码不能与当前密码相同" in text_of(response)


def test_weak_password_in_new_user_form_keeps_the_other_values(app, world, login_as):
    client = login_as("d1admin")
    data = {"username": "newbie", "display_name": "新来的老师", "phone": "13800001111",
            "email": "newbie@example.cn", "password": "11111111", "role": "district_staff", "school_id": ""}
    response = post(client, "/d/d1/users/new", data)
    assert response.status_code == 200
    page = text_of(response)
    assert "密码过于简单" in page
    assert 'value="newbie"' in page
    assert 'value="新来的老师"' in page
    assert 'value="13800001111"' in page
    assert 'value="newbie@example.cn"' in page
    assert re.search(r'<option selected value="district_staff">', page)
    assert 'value="11111111"' not in page  # the password itself is not echoed back
    with app.app_context():
        assert db.session.scalar(select(User).where(User.username == "newbie")) is None


def test_new_user_with_a_good_password_is_created_hashed(app, world, login_as):
    client = login_as("d1admin")
    data = {"username": "newbie", "display_name": "新来的老师", "phone": "13800001111",
            "email": "", "password": "Initial-pass-2026", "role": "district_staff", "school_id": ""}
    response = post(client, "/d/d1/users/new", data)
    assert response.status_code == 302, text_of(response)[-1500:]
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "newbie"))
        assert user.password_hash.startswith("$argon2id$")
        assert user.must_change_password is True


# --- forced password change -------------------------------------------------------------------

def test_must_change_password_user_is_sent_to_the_password_page(app, world):
    with app.app_context():
        db.session.execute(update(User).where(User.id == world.users["chair1a"]).values(must_change_password=True))
        db.session.commit()
    client = app.test_client()
    response = login_with_next(client, "/d/d1/users", username="chair1a")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/account/password"
    page = client.get(response.location)
    assert page.status_code == 200
    assert "首次登录请先修改密码" in text_of(page)

    response = post(client, "/account/password", {"current": PASSWORD, "new": "Own-pass-2026",
                                                   "confirm": "Own-pass-2026"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, world.users["chair1a"]).must_change_password is False
    # Next login goes straight through.
    again = app.test_client()
    response = login(again, "chair1a", "Own-pass-2026")
    assert urlsplit(response.location).path == "/"


# --- no user enumeration ----------------------------------------------------------------------

def normalised(response) -> str:
    page = text_of(response)
    page = re.sub(r'(name="csrf-token" content|name="csrf_token" type="hidden" value)="[^"]*"', r'\1=""', page)
    page = re.sub(r'(id="username"[^>]*value)="[^"]*"', r'\1=""', page)
    return page


def test_unknown_user_and_wrong_password_look_the_same(app, world):
    unknown = login(app.test_client(), "no-such-user", "Wrong-pass-0000")
    wrong = login(app.test_client(), "chair1a", "Wrong-pass-0000")
    assert unknown.status_code == wrong.status_code == 200
    assert BAD_CREDENTIALS in text_of(unknown)
    assert BAD_CREDENTIALS in text_of(wrong)
    assert normalised(unknown) == normalised(wrong)


def test_failed_login_does_not_open_a_session(app, world):
    client = app.test_client()
    login(client, "chair1a", "Wrong-pass-0000")
    assert not is_logged_in(client)
    with client.session_transaction() as s:
        assert "sid" not in s and "_user_id" not in s


def test_temporary_password_must_be_changed_before_anything_else(app, world):
    from app.accounts.models import User
    from app.extensions import db
    from tests.conftest import login

    with app.app_context():
        user = db.session.get(User, world.users["chair1a"])
        user.must_change_password = True
        db.session.commit()
    client = app.test_client()
    assert "/account/password" in login(client, "chair1a").location
    response = client.get(f"/d/d1/s/{world.s1a}/")
    assert response.status_code == 302 and "/account/password" in response.location
    assert client.get("/api/v1/me").status_code == 403
    assert client.get("/account/password").status_code == 200
