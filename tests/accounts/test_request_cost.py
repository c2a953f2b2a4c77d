"""The fixed cost of every request: who the user is and where they are, in as few statements as
possible (issue 7: at 500 schools these run before every page and every save)."""
from flask_babel import gettext as _
from sqlalchemy import select

from app.accounts.models import User
from app.extensions import db
from tests.querycount import count_queries


def _users_statements(statements):
    """Statements loading the signed-in user (their session, account row or platform roles)."""
    return [s for s in statements if "FROM user_session" in s or "FROM platform_role" in s
            or ("FROM user_account" in s and "user_account.id = " in s)]


def test_a_district_page_reads_the_login_and_the_district_once(app, world, login_as):
    client = login_as("d1admin")
    with app.app_context():
        engine = db.engine
    with count_queries(engine) as statements:
        assert client.get("/d/d1/").status_code == 200
    # The session row, its user and the user's platform roles: one statement.
    assert len(_users_statements(statements)) == 1, _users_statements(statements)
    memberships = [s for s in statements if "FROM membership" in s and "membership.user_id = " in s]
    assert len(memberships) == 1, memberships
    assert not [s for s in memberships if "JOIN user_account" in s]


def test_translating_after_a_commit_does_not_reload_the_user_and_keeps_their_language(app, world, login_as):
    @app.route("/_test/commit-then-translate", methods=["POST", "GET"])
    def commit_then_translate():
        db.session.commit()  # expires the loaded user
        return _("已保存")

    with app.app_context():
        db.session.scalar(select(User).where(User.username == "d1staff")).locale = "en"
        db.session.commit()
        engine = db.engine
    client = login_as("d1staff")
    with count_queries(engine) as statements:
        response = client.get("/_test/commit-then-translate")
    assert response.get_data(as_text=True) == "Saved"
    assert len(_users_statements(statements)) == 1, _users_statements(statements)
