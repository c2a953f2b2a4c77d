"""Helpers for the titles tests: run code in a district scope, make titles in a given state."""
from __future__ import annotations

from datetime import date

from app.extensions import db
from app.rounds.models import Application, Round
from app.titles.models import Title, TitleEvent
from tests.rounds.conftest import in_district, in_school  # noqa: F401  (re-exported for the tests)

TODAY = date(2026, 3, 10)


def make_title(world, school_id=None, *, tier="advanced", status="awarded", level="district",
               home_kind="staff_home", awarded_on=date(2025, 3, 1), review_due_on=date(2026, 3, 1), note="",
               round_id=None, district_id=None) -> Title:
    """A title in ``status`` with its first history entry (as registered), written directly."""
    title = Title(district_id=district_id or world.d1, school_id=school_id or world.s1a, tier=tier, level=level,
                  home_kind=home_kind, awarded_on=awarded_on, status=status, review_due_on=review_due_on,
                  note=note, round_id=round_id)
    db.session.add(title)
    db.session.flush()
    db.session.add(TitleEvent(district_id=title.district_id, school_id=title.school_id, title_id=title.id,
                              event="awarded", to_status=status, reason="测试登记", effective_on=awarded_on))
    db.session.flush()
    return title


def make_round(world, *, kind="title", status="final", year=2026, home_kind="staff_home", name=None) -> Round:
    round_ = Round(district_id=world.d1, kind=kind, year=year, status=status, home_kind=home_kind,
                   name=name or f"{year}年度测试轮次", target_tier="advanced" if kind == "title" else None)
    db.session.add(round_)
    db.session.flush()
    return round_


def make_application(world, round_: Round, school_id: int, title_id: int | None = None) -> Application:
    application = Application(district_id=world.d1, school_id=school_id, round_id=round_.id, status="final",
                              title_id=title_id)
    db.session.add(application)
    db.session.flush()
    return application
