"""The ORM filter (DESIGN §3.2): fail-closed, scoped SELECT/UPDATE/DELETE, checked writes,
no identity-map carry-over between scopes."""
import pytest
from sqlalchemy import delete, func, select, update

from app.extensions import db
from app.jobs.models import JobRun
from tenants.models import Membership, School
from tenants.scope import Scope, TenantScopeError, current_scope, system_scope, tenant_scope


def names(stmt=None):
    return sorted(db.session.scalars(stmt if stmt is not None else select(School.name)))


def test_query_without_scope_raises(app, world):
    with app.app_context():
        assert current_scope() is None
        with pytest.raises(TenantScopeError):
            db.session.scalars(select(School)).all()
        with pytest.raises(TenantScopeError):
            db.session.get(School, (world.d1, world.s1a))
        with pytest.raises(TenantScopeError):
            db.session.execute(update(School).values(staff_count=0))


def test_write_without_scope_raises(app, world):
    with app.app_context():
        db.session.add(School(district_id=world.d1, name="无范围学校", kind="primary"))
        with pytest.raises(TenantScopeError):
            db.session.flush()
        db.session.rollback()


def test_two_tenants_in_turn_see_only_their_rows(app, world):
    """The criteria are rebound per execution: no statement-cache leak between tenants."""
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            assert names() == ["一区乙中学", "一区甲小学"]
        with tenant_scope(Scope.district(world.d2)):
            assert names() == ["二区甲小学"]
        with tenant_scope(Scope.school(world.d1, {world.s1b})):
            assert names() == ["一区乙中学"]
        with tenant_scope(Scope.school(world.d1, {world.s1a})):
            assert names() == ["一区甲小学"]
        with tenant_scope(Scope.district(world.d1)):
            assert names() == ["一区乙中学", "一区甲小学"]


def test_school_scope_filters_partitioned_tables(app, world):
    with app.app_context():
        with tenant_scope(Scope.school(world.d1, {world.s1a})):
            schools = set(db.session.scalars(select(Membership.school_id)))
            assert schools == {world.s1a}  # district-level memberships are hidden too
        with tenant_scope(Scope.district(world.d1)):
            assert None in set(db.session.scalars(select(Membership.school_id)))


def test_get_by_primary_key_of_another_tenant_returns_none(app, world):
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            assert db.session.get(School, (world.d2, world.s2a)) is None
        with tenant_scope(Scope.school(world.d1, {world.s1a})):
            assert db.session.get(School, (world.d1, world.s1b)) is None


def test_bulk_update_and_delete_are_scoped(app, world):
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            result = db.session.execute(update(School).values(staff_count=999)
                                        .execution_options(synchronize_session=False))
            assert result.rowcount == 2
            db.session.commit()
        with tenant_scope(Scope.district(world.d2)):
            assert db.session.scalar(select(School.staff_count)) == 30
            db.session.execute(delete(Membership).execution_options(synchronize_session=False))
            db.session.commit()
        with tenant_scope(Scope.district(world.d1)):
            assert db.session.scalar(select(func.count()).select_from(Membership)) == 6


def test_insert_into_another_district_raises(app, world):
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            db.session.add(School(district_id=world.d2, name="越界学校", kind="primary"))
            with pytest.raises(TenantScopeError):
                db.session.flush()
            db.session.rollback()
        with tenant_scope(Scope.school(world.d1, {world.s1a})):
            db.session.add(JobRun(kind="x", dedupe_key="x", school_id=world.s1b))
            with pytest.raises(TenantScopeError):
                db.session.flush()
            db.session.rollback()


def test_insert_takes_district_from_scope_and_allocates_ids(app, world):
    with app.app_context():
        with tenant_scope(Scope.district(world.d2)):
            school = School(name="新学校", kind="junior")
            db.session.add(school)
            db.session.flush()
            assert school.district_id == world.d2 and school.id > world.s2a
            db.session.commit()


def test_moving_a_row_to_another_district_raises(app, world):
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            school = db.session.get(School, (world.d1, world.s1a))
            school.district_id = world.d2
            with pytest.raises(TenantScopeError):
                db.session.flush()
            db.session.rollback()


def test_identity_map_does_not_carry_objects_across_scopes(app, world):
    """session.get() answers from the identity map without SQL; switching scope expunges
    every object outside the new scope so it cannot be handed out."""
    with app.app_context():
        with tenant_scope(Scope.district(world.d2)):
            foreign = db.session.get(School, (world.d2, world.s2a))
            assert foreign is not None
        with tenant_scope(Scope.district(world.d1)):
            assert foreign not in db.session
            assert db.session.get(School, (world.d2, world.s2a)) is None
        with tenant_scope(Scope.district(world.d1)):
            mine = db.session.get(School, (world.d1, world.s1b))
        with tenant_scope(Scope.school(world.d1, {world.s1a})):
            assert db.session.get(School, (world.d1, world.s1b)) is None
            assert mine not in db.session


def test_no_scope_survives_between_requests(app, world, login_as):
    client = login_as("d1admin")
    assert client.get("/d/d1/").status_code == 200
    with app.app_context():
        assert current_scope() is None  # a new context starts with no scope
        with pytest.raises(TenantScopeError):
            db.session.scalars(select(School)).all()


def test_system_scope_is_explicit_and_sees_all(app, world):
    with app.app_context():
        with system_scope("test: count every school"):
            assert db.session.scalar(select(func.count()).select_from(School)) == 3
        assert current_scope() is None


def test_system_scope_callers_are_reviewed():
    """Every system_scope() use is in this reviewed list (file: count)."""
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    found = {}
    for path in list((root / "app").rglob("*.py")) + list((root / "tenants").rglob("*.py")) + \
            list((root / "worker").rglob("*.py")):
        count = len(re.findall(r"\bsystem_scope\(", path.read_text(encoding="utf-8")))
        if count and path.name != "scope.py":
            found[str(path.relative_to(root))] = count
    assert found == REVIEWED_SYSTEM_SCOPES, found


REVIEWED_SYSTEM_SCOPES = {
    "tenants/resolve.py": 1,        # the district named in the URL
    "tenants/provisioning.py": 3,   # create, offboard, look up by slug
    "tenants/cli.py": 1,            # list districts
    "app/main/views.py": 1,         # the signed-in user's own memberships
    "app/platform/views.py": 1,     # platform admin: every district
    "app/admin/services.py": 1,     # a user's roles elsewhere before disabling
    "app/jobs/services.py": 3,      # sweeper, stale runs, embedded worker
    "app/jobs/views.py": 1,         # platform admin: job runs across districts
    "app/titles/services.py": 1,    # the active districts for the daily 复查 due-date run
}


def test_no_raw_sql_on_tenant_tables_outside_reviewed_modules():
    import pathlib
    import re

    root = pathlib.Path(__file__).resolve().parents[2]
    allowed = {"tenants/rls.py", "tenants/ids.py"}
    offenders = []
    for path in list((root / "app").rglob("*.py")) + list((root / "tenants").rglob("*.py")) + \
            list((root / "worker").rglob("*.py")):
        rel = str(path.relative_to(root))
        if rel in allowed:
            continue
        if re.search(r"\btext\(|exec_driver_sql", path.read_text(encoding="utf-8")):
            offenders.append(rel)
    assert offenders == []


def test_school_scope_cannot_write_district_level_rows(app, world):
    with app.app_context():
        with tenant_scope(Scope.school(world.d1, {world.s1a})):
            db.session.add(JobRun(kind="x", dedupe_key="district-level", school_id=None))
            with pytest.raises(TenantScopeError):
                db.session.flush()
            db.session.rollback()


def test_scope_switch_does_not_load_expired_objects(app, world):
    """Expunging foreign objects reads identity keys only (an expired row must not be
    refreshed under the old scope's database settings)."""
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            school = db.session.get(School, (world.d1, world.s1a))
            db.session.commit()  # expires it
        with tenant_scope(Scope.district(world.d1)):
            assert db.session.get(School, (world.d1, world.s1a)) is school
            assert school.name == "一区甲小学"
