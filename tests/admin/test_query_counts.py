"""District pages run a constant number of queries however many schools and users exist."""
from app.accounts import services as accounts
from app.extensions import db
from tenants import provisioning
from tenants.models import District, Membership
from tenants.scope import Scope, tenant_scope
from tests.querycount import count_queries


def _grow(app, world, schools: int):
    with app.app_context():
        with tenant_scope(Scope.district(world.d1)):
            district = db.session.get(District, world.d1)
            for i in range(schools):
                school = provisioning.add_school(district, f"扩充学校{i:03d}", "primary", staff_count=10)
                user = accounts.create_user(f"grow{i}", f"主席{i}", "Grow-pass-2026", must_change_password=False)
                db.session.add(Membership(district_id=world.d1, user_id=user.id, role="school_chair",
                                          school_id=school.id))
            db.session.commit()


def _counts(app, client):
    out = {}
    with app.app_context():
        engine = db.engine
    for path in ("/d/d1/", "/d/d1/users", "/api/v1/d/d1/schools?per_page=100"):
        with count_queries(engine) as statements:
            assert client.get(path).status_code == 200
        out[path] = len(statements)
    return out


def test_district_pages_run_constant_queries(app, world, login_as):
    client = login_as("d1admin")
    small = _counts(app, client)
    _grow(app, world, 40)
    large = _counts(app, client)
    assert small == large, (small, large)
    assert all(n <= 20 for n in large.values()), large
