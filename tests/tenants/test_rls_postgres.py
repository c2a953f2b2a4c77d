"""PostgreSQL row-level security, the third layer (DESIGN §3.3). These tests need the real
PostgreSQL: they skip on the embedded default and must pass in CI's PostgreSQL pass."""
import os

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from app.extensions import db
from tenants import rls
from tenants.models import tenant_models
from tenants.scope import Scope, set_scope

pytestmark = pytest.mark.postgres


def _pg(url):
    return "postgresql+psycopg://" + url.split("://", 1)[1]


def test_rls_enabled_and_forced_on_every_tenant_table(app, world):
    tables = {m.__tablename__ for m in tenant_models()} | {"district"}
    with app.app_context():
        rows = db.session.execute(text(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace")).all()
        state = {name: (enabled, forced) for name, enabled, forced in rows}
        policies = set(db.session.execute(text("SELECT tablename FROM pg_policies")).scalars())
    for table in tables:
        assert state[table] == (True, True), table
        assert table in policies, table


def test_policies_read_their_settings_once_per_statement(app, world):
    """Every policy reads the tenant settings in scalar sub-selects (evaluated once per statement),
    never as a per-row current_setting() call; and a scan under the policy plans them so."""
    with app.app_context():
        quals = dict(db.session.execute(text(
            "SELECT tablename, qual FROM pg_policies WHERE policyname = 'tenant_scope'")).all())
        set_scope(Scope.district(world.d1))
        plan = "\n".join(db.session.execute(text("EXPLAIN SELECT count(*) FROM school")).scalars())
        db.session.rollback()
    assert len(quals) == len(tenant_models()) + 1  # every tenant table and the district table
    for table, qual in quals.items():
        assert qual.count("current_setting(") == qual.count("SELECT current_setting(") + \
            qual.count("SELECT (NULLIF(current_setting("), table
    assert "InitPlan" in plan, plan


def test_app_role_cannot_bypass_rls(app):
    with app.app_context():
        user, superuser, bypass = db.session.execute(text(
            "SELECT current_user, rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user")).one()
        owned = db.session.execute(text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tableowner = current_user")).scalar_one()
    assert not superuser and not bypass and owned == 0, user


@pytest.mark.parametrize("env", ["MIGRATION_DATABASE_URL", "SUPERUSER"])
def test_startup_refuses_a_role_that_could_bypass_rls(template_db, env):
    from app import create_app

    if env == "SUPERUSER":
        base = os.environ["DATABASE_URL"].rsplit("@", 1)[1]
        url = f"postgresql://postgres@{base}"
    else:
        url = os.environ[env]
    with pytest.raises(rls.UnsafeDatabaseRole):
        create_app("testing", {"SQLALCHEMY_DATABASE_URI": url})


def test_raw_sql_is_still_confined_by_rls(app, world):
    """Even SQL that bypasses the ORM filter sees only the scope's rows."""
    with app.app_context():
        set_scope(Scope.district(world.d1))
        assert sorted(db.session.execute(text("SELECT name FROM school")).scalars()) == ["一区乙中学", "一区甲小学"]
        db.session.commit()
        set_scope(Scope.school(world.d1, {world.s1b}))
        assert list(db.session.execute(text("SELECT name FROM school")).scalars()) == ["一区乙中学"]
        db.session.commit()
        set_scope(None)
        assert db.session.execute(text("SELECT count(*) FROM school")).scalar_one() == 0
        db.session.commit()


def test_rls_refuses_writing_into_another_district(app, world):
    with app.app_context():
        set_scope(Scope.district(world.d1))
        with pytest.raises(DBAPIError, match="row-level security"):
            db.session.execute(text(
                "INSERT INTO school (district_id, id, name, kind, staff_count, member_count, address, active, "
                "created_at) VALUES (:d, 999, '越界', 'primary', 0, 0, '', true, now())"), {"d": world.d2})
        db.session.rollback()


def test_no_tenant_setting_leaks_through_the_pool(app, world):
    """pool_size=1: a scoped transaction, then an unscoped one on the same connection sees nothing."""
    engine = create_engine(_pg(os.environ["DATABASE_URL"]), pool_size=1, max_overflow=0)
    try:
        with Session(engine) as session:
            set_scope(Scope.district(world.d1), session)
            assert session.execute(text("SELECT count(*) FROM school")).scalar_one() == 2
            session.commit()
        with Session(engine) as session:
            assert session.execute(text("SELECT current_setting('app.district_id', true)")).scalar_one() in ("", None)
            assert session.execute(text("SELECT count(*) FROM school")).scalar_one() == 0
    finally:
        engine.dispose()


def test_requests_leave_nothing_behind_on_pooled_connections(app, world, login_as):
    client = login_as("d1admin")
    assert client.get("/d/d1/").status_code == 200
    with app.app_context():
        assert db.session.execute(text("SELECT count(*) FROM membership")).scalar_one() == 0
