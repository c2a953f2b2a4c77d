"""Schema-level fuzzing of /api/v1 with schemathesis, in-process (WSGI), for each role
(checklist row 43).

For every operation of the OpenAPI document and every role (anonymous, school chair, assessor,
district admin of ANOTHER district) schemathesis generates valid and invalid requests and checks:
no 5xx, every response matches its documented schema, invalid data (wrong types, unknown fields)
is rejected with 4xx, and nothing answers 2xx without authentication except the public document.

Bounded in the normal suite (FUZZ_EXAMPLES per operation, default 3); the long run:
``JIANJIA_FUZZ_EXAMPLES=200 .venv/bin/python -m pytest -q tests/security/test_api_fuzz.py``
(or ``make fuzz``).
"""
from __future__ import annotations

import os
import re
from collections import Counter

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, Phase, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis import GenerationMode  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import (  # noqa: E402
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from app.accounts import services as accounts  # noqa: E402
from app.accounts.models import User  # noqa: E402
from app.extensions import db  # noqa: E402

EXAMPLES = int(os.environ.get("JIANJIA_FUZZ_EXAMPLES", "3"))
ROLES = ["anonymous", "chair1a", "d1assessor", "d2admin"]
SECRET = re.compile(r"Traceback|File \"/|sqlalchemy\.|psycopg|Werkzeug Debugger")
PUBLIC = {"/api/v1/openapi.json"}


def _token(app, username):
    with app.app_context():
        user = db.session.query(User).filter_by(username=username).one()
        _, secret = accounts.create_api_token(user, "fuzz")
        db.session.commit()
        return secret


def _path_values(world):
    return {"district": "d1", "school": world.s1a, "school_id": world.s1a}


@pytest.fixture
def schema(app, world):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)


def _operations(schema):
    return [result.ok() for result in schema.get_all_operations()]


@pytest.mark.parametrize("role", ROLES)
def test_api_fuzz_per_role(app, world, schema, role):
    headers = {} if role == "anonymous" else {"Authorization": f"Bearer {_token(app, role)}"}
    fixed = _path_values(world)
    stats: Counter = Counter()
    problems: list[str] = []
    for op in _operations(schema):
        names = {p.name for p in op.path_parameters}
        path_parameters = {k: v for k, v in fixed.items() if k in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode, path_parameters=path_parameters, headers=headers)

            @settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True,
                      phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                response = case.call(headers=headers)
                stats["requests"] += 1
                stats[f"{response.status_code // 100}xx"] += 1
                label = f"{role} {case.method} {case.formatted_path} -> {response.status_code}"
                body = response.text if hasattr(response, "text") else ""
                if response.status_code >= 500:
                    problems.append(f"{label}: server error {body[:200]}")
                    return
                if SECRET.search(body or ""):
                    problems.append(f"{label}: internals in the body")
                if role == "anonymous" and response.status_code < 400 and op.path not in PUBLIC:
                    problems.append(f"{label}: reachable without authentication")
                if role == "d2admin" and response.status_code < 400 and "{district}" in op.path:
                    problems.append(f"{label}: another district's data reachable")
                checks = [not_a_server_error, response_schema_conformance, status_code_conformance]
                if mode == GenerationMode.NEGATIVE and role != "anonymous":
                    checks.append(negative_data_rejection)
                try:
                    case.validate_response(response, checks=checks, headers=headers)
                except Exception as exc:  # a FailureGroup: keep the first line of every failure
                    problems.append(f"{label}: {str(exc).strip().splitlines()[0][:200]}")

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (every parameter fixed): nothing to send
                stats["no negative case"] += 1
            except Exception as exc:  # the app raised: a 500 in production
                problems.append(f"{role} {op.method.upper()} {op.path} ({mode.value}): raised {exc!r}"[:300])
    print(f"\nschemathesis {role}: {dict(stats)}; problems {len(problems)}")
    assert stats["requests"] > 0
    assert not problems, "\n".join(sorted(set(problems))[:40])
