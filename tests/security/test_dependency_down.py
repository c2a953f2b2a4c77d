"""PostgreSQL going away mid-request (found by tests/faults/run.py): loading the logged-in user
fails in the view AND again in the after-request header hook. The answer must stay the Chinese 503
page or JSON — before the fix the hook raised after the error handlers and gunicorn sent a bare 500."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from app.errors import DEPENDENCY_DOWN


@pytest.mark.parametrize("path,accept", [("/d/d1/", "text/html"), ("/d/d1/users", "text/html"),
                                         ("/api/v1/me", "application/json")])
def test_database_gone_while_loading_the_user_is_a_chinese_503(app, world, login_as, monkeypatch, path, accept):
    from app.accounts import services as accounts

    client = login_as("d1admin")
    app.config["PROPAGATE_EXCEPTIONS"] = False

    def gone(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception("the database system is shutting down"))

    monkeypatch.setattr(accounts, "session_user", gone)
    response = client.get(path, headers={"Accept": accept})
    body = response.get_data(as_text=True)
    assert response.status_code == 503, body[:500]
    assert "Traceback" not in body and "OperationalError" not in body
    if accept == "application/json":
        assert response.get_json()["message"] == DEPENDENCY_DOWN
    else:
        assert DEPENDENCY_DOWN in body
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_a_dead_connection_at_the_end_of_the_request_is_not_a_bare_500(app, world, login_as, monkeypatch):
    """PostgreSQL restarted while the request ran: the ROLLBACK of the request's teardown fails too.
    The teardown must not raise (it runs after the error handlers)."""
    from sqlalchemy.orm import Session

    client = login_as("d1admin")
    real_close = Session.close
    calls = []

    def dead_close(self):
        calls.append(1)
        real_close(self)  # give the connection back first: a leaked open transaction would block other tests
        if len(calls) == 1:
            raise OperationalError("ROLLBACK", {}, Exception("terminating connection due to administrator command"))

    monkeypatch.setattr(Session, "close", dead_close)
    response = client.get("/d/d1/")
    assert response.status_code == 200 and calls  # the page was answered, the teardown swallowed the error
    monkeypatch.undo()
    assert client.get("/d/d1/").status_code == 200  # and the next request gets a working session
