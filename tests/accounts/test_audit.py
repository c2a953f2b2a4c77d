"""The audit trail: authentication and authorization events are recorded with who and
where; the log is append-only in the ORM and in the database (SQLite and PostgreSQL)."""
import os

import pytest
from sqlalchemy import create_engine, delete, select, text, update
from sqlalchemy.exc import DBAPIError

from app.audit.models import AuditEvent
from app.audit.services import record
from app.extensions import db
from tests.conftest import IS_PG, PASSWORD, login, post


def events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)
                                  .order_by(AuditEvent.id)).all()
        db.session.expunge_all()
        return rows


def only(app, action: str) -> AuditEvent:
    rows = events(app, action)
    assert len(rows) == 1, [(r.action, r.actor_name, r.details) for r in rows]
    return rows[0]


# --- what gets recorded -----------------------------------------------------------------------

def test_login_is_recorded_with_actor_and_ip(app, world):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.4"
    assert login(client, "chair1a").status_code == 302
    event = only(app, "login")
    assert event.actor_user_id == world.users["chair1a"]
    assert event.actor_name == "chair1a"
    assert (event.target_type, event.target_id) == ("User", str(world.users["chair1a"]))
    assert event.ip == "198.51.100.4"
    assert event.at is not None and event.at.utcoffset().total_seconds() == 0


def test_failed_logins_are_recorded_without_the_password(app, world):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = "198.51.100.5"
    login(client, "chair1a", "Wrong-pass-0000")
    login(client, "ghost", "Wrong-pass-1111")
    rows = events(app, "login_failed")
    assert [r.details["username"] for r in rows] == ["chair1a", "ghost"]
    for row in rows:
        assert row.actor_user_id is None  # nobody is authenticated
        assert row.ip == "198.51.100.5"
        assert row.details["reason"] == "bad_credentials"
        assert "Wrong-pass" not in repr(row.details)
    assert events(app, "login") == []


def test_throttled_login_is_recorded(app, world):
    for _ in range(5):
        login(app.test_client(), "chair1a", "Wrong-pass-0000")
    login(app.test_client(), "chair1a")
    event = only(app, "login_throttled")
    assert event.details["username"] == "chair1a"
    assert events(app, "login") == []


def test_logout_is_recorded(app, world, login_as):
    client = login_as("editor1a")
    post(client, "/logout")
    event = only(app, "logout")
    assert event.actor_user_id == world.users["editor1a"]
    assert event.actor_name == "editor1a"
    assert event.target_id == str(world.users["editor1a"])


def test_password_change_is_recorded(app, world, login_as):
    client = login_as("editor1a")
    response = post(client, "/account/password", {"current": PASSWORD, "new": "Changed-pass-2026",
                                                   "confirm": "Changed-pass-2026"})
    assert response.status_code == 302
    event = only(app, "password_changed")
    assert event.actor_user_id == world.users["editor1a"]
    assert event.target_id == str(world.users["editor1a"])
    assert "Changed-pass" not in repr(event.details)


def test_failed_password_change_is_not_recorded_as_a_change(app, world, login_as):
    client = login_as("editor1a")
    post(client, "/account/password", {"current": "Wrong-pass-0000", "new": "Changed-pass-2026",
                                       "confirm": "Changed-pass-2026"})
    assert events(app, "password_changed") == []


def test_disabling_a_user_is_recorded_with_district(app, world, login_as):
    admin = login_as("d1admin")
    response = post(admin, f"/d/d1/users/{world.users['chair1b']}/active", {"active": "0"})
    assert response.status_code == 302
    event = only(app, "user_disabled")
    assert event.actor_user_id == world.users["d1admin"]
    assert event.actor_name == "d1admin"
    assert event.district_id == world.d1
    assert (event.target_type, event.target_id) == ("User", str(world.users["chair1b"]))

    post(admin, f"/d/d1/users/{world.users['chair1b']}/active", {"active": "1"})
    assert only(app, "user_enabled").district_id == world.d1


def test_permission_denied_is_recorded_with_actor_and_district(app, world, login_as):
    client = login_as("chair1a")
    response = client.get(f"/d/d1/s/{world.s1a}/edit")
    assert response.status_code == 403
    event = only(app, "permission_denied")
    assert event.actor_user_id == world.users["chair1a"]
    assert event.actor_name == "chair1a"
    assert event.district_id == world.d1
    assert event.details["path"] == f"/d/d1/s/{world.s1a}/edit"
    assert event.details["method"] == "GET"
    assert event.details["permission"] == "district.manage"


def test_permission_denied_on_a_post_writes_nothing_else(app, world, login_as):
    client = login_as("chair1a")
    response = post(client, f"/d/d1/users/{world.users['chair1b']}/active", {"active": "0"})
    assert response.status_code == 403
    assert only(app, "permission_denied").details["method"] == "POST"
    assert events(app, "user_disabled") == []


def test_api_permission_denied_is_recorded(app, world, login_as):
    client = login_as("chair1a")
    response = client.get("/api/v1/d/d1/users")
    assert response.status_code == 403
    event = only(app, "permission_denied")
    assert event.district_id == world.d1
    assert event.details["path"] == "/api/v1/d/d1/users"


def test_district_audit_page_shows_only_own_district(app, world, login_as):
    d2 = login_as("d2admin")
    post(d2, f"/d/d2/users/{world.users['chair2a']}/active", {"active": "0"})
    d1 = login_as("d1admin")
    post(d1, f"/d/d1/users/{world.users['chair1b']}/active", {"active": "0"})
    page = d1.get("/d/d1/audit")
    assert page.status_code == 200
    body = page.get_data(as_text=True)
    assert "停用用户" in body and f"User {world.users['chair1b']}" in body
    assert "d2admin" not in body and f"User {world.users['chair2a']}" not in body
    assert login_as("chair1a").get("/d/d1/audit").status_code == 403
    assert d2.get("/d/d1/audit").status_code == 404


# --- append-only ------------------------------------------------------------------------------

def make_event(app) -> int:
    with app.app_context():
        event = record("test_event", details={"n": 1}, district_id=1, commit=True)
        return event.id


def test_orm_update_of_an_audit_event_raises(app, world):
    event_id = make_event(app)
    with app.app_context():
        event = db.session.get(AuditEvent, event_id)
        event.action = "tampered"
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
        event = db.session.get(AuditEvent, event_id)
        event.details = {"n": 2}
        with pytest.raises(PermissionError):
            db.session.flush()
        db.session.rollback()
    assert only(app, "test_event").details == {"n": 1}


def test_orm_delete_of_an_audit_event_raises(app, world):
    event_id = make_event(app)
    with app.app_context():
        db.session.delete(db.session.get(AuditEvent, event_id))
        with pytest.raises(PermissionError):
            db.session.commit()
        db.session.rollback()
    assert only(app, "test_event").id == event_id


def test_orm_bulk_update_and_delete_are_refused_by_the_database(app, world):
    make_event(app)
    with app.app_context():
        with pytest.raises(DBAPIError):
            db.session.execute(update(AuditEvent).values(action="tampered"))
        db.session.rollback()
        with pytest.raises(DBAPIError):
            db.session.execute(delete(AuditEvent))
        db.session.rollback()
    assert len(events(app, "test_event")) == 1


def _refusal_text(exc: DBAPIError) -> str:
    return str(exc.orig).lower()


def test_raw_sql_update_and_delete_on_audit_event_raise(app, world):
    event_id = make_event(app)
    with app.app_context():
        with pytest.raises(DBAPIError) as info:
            db.session.execute(text("UPDATE audit_event SET action = 'tampered' WHERE id = :id"), {"id": event_id})
        db.session.rollback()
        message = _refusal_text(info.value)
        # SQLite: the trigger; PostgreSQL: the app role lacks UPDATE (and the trigger backs it up).
        assert "append-only" in message or (IS_PG and "permission denied" in message), message

        with pytest.raises(DBAPIError) as info:
            db.session.execute(text("DELETE FROM audit_event WHERE id = :id"), {"id": event_id})
        db.session.rollback()
        message = _refusal_text(info.value)
        assert "append-only" in message or (IS_PG and "permission denied" in message), message
    row = only(app, "test_event")
    assert (row.id, row.details) == (event_id, {"n": 1})


def test_raw_sql_insert_still_works(app, world):
    """Append-only, not read-only: new events go in."""
    make_event(app)
    make_event(app)
    assert len(events(app, "test_event")) == 2


def test_sqlite_triggers_exist(app):
    if IS_PG:
        pytest.skip("SQLite schema")
    with app.app_context():
        names = set(db.session.scalars(text(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")))
    assert {"audit_event_no_update", "audit_event_no_delete"} <= names


@pytest.mark.postgres
def test_postgres_trigger_refuses_even_the_table_owner(app, world):
    """The trigger, not only the missing grant: the owner role (which may UPDATE) is refused."""
    event_id = make_event(app)
    url = os.environ["MIGRATION_DATABASE_URL"]
    owner = create_engine("postgresql+psycopg://" + url.split("://", 1)[1])
    try:
        with owner.connect() as conn:
            triggers = conn.execute(text(
                "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal"
            )).scalars().all()
            assert "audit_event_append_only" in triggers
            for sql in ("UPDATE audit_event SET action = 'tampered' WHERE id = :id",
                        "DELETE FROM audit_event WHERE id = :id"):
                with pytest.raises(DBAPIError) as info:
                    conn.execute(text(sql), {"id": event_id})
                conn.rollback()
                assert "append-only" in _refusal_text(info.value)
    finally:
        owner.dispose()
    assert only(app, "test_event").details == {"n": 1}


@pytest.mark.postgres
def test_postgres_app_role_has_no_update_or_delete_grant(app):
    with app.app_context():
        allowed = db.session.execute(text(
            "SELECT has_table_privilege(current_user, 'audit_event', 'UPDATE'), "
            "has_table_privilege(current_user, 'audit_event', 'DELETE'), "
            "has_table_privilege(current_user, 'audit_event', 'INSERT')")).one()
    assert tuple(allowed) == (False, False, True)
