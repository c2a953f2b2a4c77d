"""A round under assessment: the shared rubric of tests/rounds, applications of s1a and s1b
submitted, the round assessing; helpers to build the assessor pool."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pytest
from sqlalchemy import select

from app.extensions import db
from tests.rounds.conftest import full_entries, in_district, in_school, open_round, rubric  # noqa: F401

IN_TIME = date(2026, 5, 10)
AFTER = date(2026, 7, 10)


@dataclass
class Setup:
    round_id: int
    apps: dict        # school key ("s1a", "s1b") -> application id
    rubric: object


def submit_application(app, world, rubric_ids, round_id, school_id):
    from app.rounds import services
    from app.rounds.models import Application

    with in_school(app, world.d1, school_id):
        application = db.session.scalar(select(Application).where(Application.round_id == round_id,
                                                                  Application.school_id == school_id))
        services.save_self_scores(application, full_entries(rubric_ids), today=IN_TIME)
        services.submit(application, user_id=world.users["chair1a"], roles=("school_chair",), today=IN_TIME)
        db.session.commit()
        return application.id


def make_assessing(app, world, rubric_ids, *, start=True) -> Setup:
    from app.rounds import services
    from app.rounds.models import Round

    round_id = open_round(app, world, rubric_ids)
    apps = {key: submit_application(app, world, rubric_ids, round_id, getattr(world, key)) for key in ("s1a", "s1b")}
    if start:
        with in_district(app, world.d1):
            services.start_assessing(db.session.get(Round, (world.d1, round_id)), today=AFTER)
            db.session.commit()
    return Setup(round_id, apps, rubric_ids)


def add_to_pool(app, world, *usernames) -> dict:
    from app.assessments import services

    ids = {}
    with in_district(app, world.d1):
        for name in usernames:
            ids[name] = services.add_assessor(world.users[name], actor_id=world.users["d1admin"]).id
        db.session.commit()
    return ids


@pytest.fixture
def assessing(app, world, rubric):  # noqa: F811
    return make_assessing(app, world, rubric)
