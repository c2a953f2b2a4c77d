"""Server-side sessions: logout, password change and disabling a user revoke existing
sessions; login rotates the session; idle and absolute timeouts are enforced."""
from datetime import datetime, timedelta, timezone
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from app.accounts import services
from app.accounts.models import User, UserSession
from app.extensions import db
from tests.conftest import PASSWORD, csrf_token, login, post

NEW_PASSWORD = "Brand-new-pass-2026"


# --- helpers ------------------------------------------------------------------------------

def cookie_name(app) -> str:
    return app.config["SESSION_COOKIE_NAME"]


def session_cookie(app, client) -> str | None:
    cookie = client.get_cookie(cookie_name(app))
    return cookie.value if cookie is not None else None


def replay(app, value: str):
    """A brand-new client (another browser) carrying only a copied session cookie."""
    other = app.test_client()
    other.set_cookie(cookie_name(app), value)
    return other


def assert_logged_in(client):
    response = client.get("/account/password")
    assert response.status_code == 200, response.status_code
    assert 'id="logout"' in response.get_data(as_text=True)


def assert_logged_out(client):
    response = client.get("/account/password")
    assert response.status_code == 302, response.status_code
    assert urlsplit(response.location).path == "/login"
    # The JSON API agrees: no session, no access.
    api = client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.get_json()["code"] == 401


def sessions_of(app, user_id: int) -> list[UserSession]:
    with app.app_context():
        rows = db.session.scalars(select(UserSession).where(UserSession.user_id == user_id)).all()
        db.session.expunge_all()
        return rows


def set_session_times(app, user_id: int, **values):
    with app.app_context():
        db.session.execute(update(UserSession).where(UserSession.user_id == user_id).values(**values))
        db.session.commit()


def now() -> datetime:
    return datetime.now(timezone.utc)


# --- logout -------------------------------------------------------------------------------

def test_copied_cookie_is_refused_after_logout(app, world, login_as):
    client = login_as("chair1a")
    copied = session_cookie(app, client)
    assert copied
    # The copy works while the login is live (the replay test is meaningful).
    assert_logged_in(replay(app, copied))

    response = post(client, "/logout")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    assert_logged_out(client)

    assert_logged_out(replay(app, copied))
    assert sessions_of(app, world.users["chair1a"]) == []


def test_logout_needs_post_with_csrf(app, world, login_as):
    client = login_as("chair1a")
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 400  # no CSRF token
    assert_logged_in(client)


def test_logout_ends_only_that_session(app, world, login_as):
    laptop = login_as("chair1a")
    phone = login_as("chair1a")
    assert len(sessions_of(app, world.users["chair1a"])) == 2
    post(laptop, "/logout")
    assert_logged_out(laptop)
    assert_logged_in(phone)
    assert len(sessions_of(app, world.users["chair1a"])) == 1


# --- password change ----------------------------------------------------------------------

def change_password(client, current=PASSWORD, new=NEW_PASSWORD, confirm=None):
    return post(client, "/account/password",
                {"current": current, "new": new, "confirm": new if confirm is None else confirm})


def test_password_change_revokes_other_sessions_but_keeps_the_changing_client(app, world, login_as):
    client = login_as("editor1a")
    other_device = login_as("editor1a")
    copied = session_cookie(app, client)
    assert_logged_in(replay(app, copied))

    response = change_password(client)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]

    assert_logged_in(client)  # the client that changed the password stays logged in
    assert_logged_out(replay(app, copied))  # its own pre-change cookie is dead
    assert_logged_out(other_device)  # and every other login ended
    assert len(sessions_of(app, world.users["editor1a"])) == 1
    # The new session id is not the old one.
    assert session_cookie(app, client) != copied

    fresh = app.test_client()
    assert login(fresh, "editor1a", PASSWORD).status_code == 200  # old password: refused
    assert_logged_out(fresh)
    assert login(fresh, "editor1a", NEW_PASSWORD).status_code == 302
    assert_logged_in(fresh)


def test_failed_password_change_revokes_nothing(app, world, login_as):
    client = login_as("editor1a")
    other_device = login_as("editor1a")
    response = change_password(client, current="wrong-password-1")
    assert response.status_code == 200
    assert "当前密码不正确" in response.get_data(as_text=True)
    assert_logged_in(client)
    assert_logged_in(other_device)
    assert len(sessions_of(app, world.users["editor1a"])) == 2


# --- disabling a user ---------------------------------------------------------------------

def test_disabled_user_is_logged_out_everywhere_and_cannot_log_in(app, world, login_as):
    victim = login_as("chair1a")
    copied = session_cookie(app, victim)
    admin = login_as("d1admin")

    response = post(admin, f"/d/d1/users/{world.users['chair1a']}/active", {"active": "0"})
    assert response.status_code == 302
    with app.app_context():
        assert db.session.get(User, world.users["chair1a"]).active is False

    assert_logged_out(victim)
    assert_logged_out(replay(app, copied))
    assert sessions_of(app, world.users["chair1a"]) == []

    again = app.test_client()
    response = login(again, "chair1a")
    assert response.status_code == 200
    assert "该账号已停用" in response.get_data(as_text=True)
    assert_logged_out(again)
    assert sessions_of(app, world.users["chair1a"]) == []


def test_disabled_user_with_surviving_session_row_is_refused(app, world, login_as):
    """Even if a session row outlived the disable (e.g. a race), an inactive user is refused."""
    client = login_as("chair1a")
    with client.session_transaction() as s:
        sid = s["sid"]
    with app.app_context():
        assert services.session_user(sid).id == world.users["chair1a"]
        db.session.execute(update(User).where(User.id == world.users["chair1a"]).values(active=False))
        db.session.commit()
        # The session loader itself refuses (not only Flask-Login's is_active fallback).
        assert services.session_user(sid) is None
    assert len(sessions_of(app, world.users["chair1a"])) == 1
    assert_logged_out(client)


def test_re_enabled_user_can_log_in_again(app, world, login_as):
    admin = login_as("d1admin")
    uid = world.users["chair1a"]
    post(admin, f"/d/d1/users/{uid}/active", {"active": "0"})
    assert login(app.test_client(), "chair1a").status_code == 200
    post(admin, f"/d/d1/users/{uid}/active", {"active": "1"})
    client = app.test_client()
    assert login(client, "chair1a").status_code == 302
    assert_logged_in(client)


# --- rotation at login ----------------------------------------------------------------------

def test_login_rotates_the_session_and_drops_pre_login_values(app, world):
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        s["planted"] = 1
        s["sid"] = "attacker-chosen-sid"
        pre_csrf = s.get("csrf_token")
    assert pre_csrf  # the login page put a CSRF secret in the pre-login session
    before = session_cookie(app, client)
    attacker_copy = before

    response = login(client, "chair1a")
    assert response.status_code == 302

    after = session_cookie(app, client)
    assert after and after != before
    with client.session_transaction() as s:
        assert "planted" not in s
        assert s.get("sid") and s["sid"] != "attacker-chosen-sid"
        assert s.get("csrf_token") != pre_csrf  # no pre-login CSRF secret carried over
    # The cookie an attacker may have planted/copied before the login stays anonymous.
    assert_logged_out(replay(app, attacker_copy))
    assert_logged_in(client)


def test_each_login_gets_a_new_random_session_id(app, world):
    client = app.test_client()
    login(client, "chair1a")
    with client.session_transaction() as s:
        first = s["sid"]
    post(client, "/logout")
    login(client, "chair1a")
    with client.session_transaction() as s:
        second = s["sid"]
    assert first != second
    assert len(first) >= 32  # >= 128 bits of randomness, url-safe encoded
    # Only the hash of the cookie token is stored server-side.
    with app.app_context():
        ids = set(db.session.scalars(select(UserSession.id)))
    assert second not in ids and first not in ids
    assert len(ids) == 1


def test_forged_cookie_with_user_id_but_no_session_is_refused(app, world):
    """Flask-Login's _user_id alone is not trusted: the server-side session must exist."""
    client = app.test_client()
    client.get("/login")
    with client.session_transaction() as s:
        s["_user_id"] = str(world.users["d1admin"])
        s["_fresh"] = True
    assert_logged_out(client)


# --- idle and absolute timeouts ---------------------------------------------------------------

def test_idle_session_is_refused_and_deleted(app, world, login_as):
    client = login_as("chair1a")
    uid = world.users["chair1a"]
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    set_session_times(app, uid, last_seen_at=now() - idle - timedelta(minutes=1))
    assert_logged_out(client)
    assert sessions_of(app, uid) == []


def test_recent_activity_keeps_the_session_alive_and_is_recorded(app, world, login_as):
    client = login_as("chair1a")
    uid = world.users["chair1a"]
    idle = app.config["SESSION_IDLE_TIMEOUT"]
    stale = now() - idle + timedelta(minutes=10)
    set_session_times(app, uid, last_seen_at=stale)
    assert_logged_in(client)
    (row,) = sessions_of(app, uid)
    assert row.last_seen_at > stale + timedelta(minutes=5)  # activity pushed the idle deadline


def test_expired_session_is_refused_even_when_active(app, world, login_as):
    client = login_as("chair1a")
    uid = world.users["chair1a"]
    set_session_times(app, uid, expires_at=now() - timedelta(seconds=1), last_seen_at=now())
    assert_logged_out(client)
    assert sessions_of(app, uid) == []


def test_absolute_lifetime_is_set_at_login(app, world, login_as):
    login_as("chair1a")
    (row,) = sessions_of(app, world.users["chair1a"])
    lifetime = app.config["PERMANENT_SESSION_LIFETIME"]
    assert lifetime <= timedelta(hours=12)
    assert abs((row.expires_at - row.created_at) - lifetime) < timedelta(seconds=5)


def test_logout_of_one_user_does_not_touch_others(app, world, login_as):
    a = login_as("chair1a")
    b = login_as("chair1b")
    post(a, "/logout")
    assert_logged_in(b)
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(UserSession)) == 1


def test_csrf_token_from_login_page_still_needed_after_login(app, world, login_as):
    """The session's CSRF secret is new after login: a token minted before login is refused."""
    client = app.test_client()
    old_token = csrf_token(client)
    login(client, "chair1a")
    response = client.post("/account/tokens", data={"name": "x", "csrf_token": old_token})
    assert response.status_code == 400
