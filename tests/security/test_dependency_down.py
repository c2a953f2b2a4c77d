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
