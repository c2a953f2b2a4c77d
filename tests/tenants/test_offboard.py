"""flask tenants offboard removes every row and file of one district, and only that."""
import os

from sqlalchemy import func, select

from app.audit.models import AuditEvent
from app.extensions import db
from tenants.models import District, Membership, School
from tenants.scope import Scope, system_scope, tenant_scope


def test_cli_create_district_and_add_school(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "create-district", "xq", "新区教育工会"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["tenants", "add-school", "xq", "新区第一小学", "--kind", "primary", "--staff", "40"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(args=["users", "create", "xqadmin", "--name", "新区管理员", "--password", "Strong-pass-1",
                                 "--district", "xq", "--role", "district_admin"])
    assert result.exit_code == 0, result.output
    bad = runner.invoke(args=["tenants", "create-district", "Bad Slug!", "x"])
    assert bad.exit_code != 0 and "区县代码" in bad.output
    client = app.test_client()
    from tests.conftest import login

    assert login(client, "xqadmin", "Strong-pass-1").status_code == 302
    assert "新区第一小学" in client.get("/d/xq/").get_data(as_text=True)


def test_offboard_removes_one_district_completely(app, world, login_as):
    folder = os.path.join(app.config["UPLOAD_FOLDER"], str(world.d1), "imports")
    os.makedirs(folder)
    with open(os.path.join(folder, "a.xlsx"), "wb") as fh:
        fh.write(b"x")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["tenants", "offboard", "d1", "--yes"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        with system_scope("test: check offboarding"):
            assert db.session.scalar(select(func.count()).select_from(School).where(School.district_id == world.d1)) == 0
            assert db.session.scalar(select(func.count()).select_from(Membership)
                                     .where(Membership.district_id == world.d1)) == 0
            assert db.session.scalar(select(District).where(District.slug == "d1")) is None
            assert db.session.scalar(select(func.count()).select_from(School)) == 1  # d2 untouched
        from app.accounts.models import User

        usernames = set(db.session.scalars(select(User.username)))
        assert "chair1a" not in usernames and "d2admin" in usernames and "platform" in usernames
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "district_offboarded"))
        assert event is not None and event.details["removed"]["school"] == 2
    assert not os.path.exists(os.path.join(app.config["UPLOAD_FOLDER"], str(world.d1)))
    with app.app_context():
        with tenant_scope(Scope.district(world.d2)):
            assert db.session.scalar(select(func.count()).select_from(School)) == 1
