"""Helpers for the 工作总结 tests: sections, and a submitted summary through the services."""
from __future__ import annotations

from app.extensions import db
from tests.plans.helpers import actor, district_session, school

YEAR = 2026

SECTIONS = {
    "achievements": "全年召开教代会一次，提案办结率100%；开展三八节、教师节等活动十余次。",
    "highlights": "“教工书屋”建成并开放，借阅两千余人次。",
    "problems": "青年教师参与度不高。",
    "next_year": "深化民主管理，办好职工小家。",
}


def sections(**changes) -> dict:
    return {**SECTIONS, **changes}


def save_summary(app, world, school_name="s1a", year=YEAR, who="chair1a", **changes) -> int:
    from app.summaries import services

    district = world.d2 if school_name == "s2a" else world.d1
    with district_session(app, district):
        summary = services.save_draft(school(world, school_name), year, sections(**changes), actor(world, who))
        summary_id = summary.id
        db.session.commit()
    return summary_id


def submit_summary(app, world, school_name="s1a", year=YEAR, **changes) -> tuple[int, int]:
    """Save and submit as the school's chair: (version id, dossier run id)."""
    from app.plans.services import Actor
    from app.summaries import services

    district = world.d2 if school_name == "s2a" else world.d1
    who = {"s1a": "chair1a", "s1b": "chair1b", "s2a": "chair2a"}[school_name]
    chair = Actor(world.users[who], frozenset({"school_chair"}))
    with district_session(app, district):
        sch = school(world, school_name)
        summary = services.save_draft(sch, year, sections(**changes), chair)
        version = services.submit(summary, chair)
        ids = version.id, version.dossier_run_id
        db.session.commit()
    return ids
