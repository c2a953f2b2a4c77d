"""Results from real score sheets (app.assessments, no stand-in): two assessors score both
applications and submit; a veto finding raised by one and confirmed by a second person withholds
the tier; the calibration, publication and snapshot read the sheets through the contract."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select

from app.assessments import services as assessments
from app.extensions import db
from app.results import services
from app.rounds.models import Application, Round
from tests.results.helpers import make_round
from tests.rounds.conftest import in_district

D = Decimal


def _score(round_, application_id, assessor, points, comment=""):
    assignment = assessments.assign(round_, application_id, assessor.id)
    entries = {iid: {"points": str(p), "comment": comment if n == 0 else ""}
               for n, (iid, p) in enumerate(points.items())}
    assessments.save_scores(assignment, round_, entries, comment="总体良好")
    assessments.submit_sheet(assignment, round_)
    return assignment


def test_results_from_submitted_sheets_and_a_confirmed_veto(app, world):
    with in_district(app, world.d1):
        setup = make_round(world, status="assessing", quotas={"advanced": 1},
                           thresholds={"advanced": 15, "qualified": 12})
        round_ = db.session.get(Round, (world.d1, setup.round_id))
        wang = assessments.add_assessor(world.users["d1staff"])
        li = assessments.add_assessor(world.users["d1admin"])
        i1, i2, i3 = setup.indicators
        a, b = setup.apps["s1a"], setup.apps["s1b"]
        _score(round_, a, wang, {i1: 8, i2: 5, i3: 4}, comment="台账齐全")
        _score(round_, a, li, {i1: 10, i2: 6, i3: 4})
        _score(round_, b, wang, {i1: 7, i2: 4, i3: 3})
        _score(round_, b, li, {i1: 7, i2: 4, i3: 3})
        services.start_calibrating(round_)
        cal = services.calibrate(round_)
        assert cal.by_id[a].combined.total == D("18.40") and cal.by_id[b].combined.total == D("14.40")
        assert set(cal.by_id[a].combined.assessor_totals) == {"D1STAFF", "D1ADMIN"}
        assert {c["comment"] for c in cal.by_id[a].comments} >= {"台账齐全", "总体良好"}
        assert (cal.by_id[a].proposed, cal.by_id[b].proposed) == ("advanced", "qualified")

        # a veto raised by one person waits for a second person's confirmation before publication
        application = db.session.get(Application, (world.d1, a))
        finding = assessments.raise_finding(application, round_, i3, "veto", "发现违纪情况",
                                            user_id=world.users["d1staff"], assessor=wang)
        cal = services.calibrate(round_)
        assert cal.by_id[a].unconfirmed and "第二人确认" in " ".join(cal.problems())
        assessments.decide_finding(finding, round_, "confirm", "核实属实", user_id=world.users["d1admin"],
                                    as_district=True)
        cal = services.calibrate(round_)
        assert cal.by_id[a].combined.vetoed == (i3,) and cal.by_id[a].proposed is None
        assert cal.by_id[b].proposed == "qualified"  # a vetoed school never uses up a place
        services.confirm_proposals(round_)
        publication = services.publish(round_, today=date(2026, 9, 30))
        assert [r["level_label"] for r in publication.content["rows"]] == ["合格", "不推荐"]
        snapshot = services.finalise(round_, today=date(2026, 10, 13))
        row = next(r for r in snapshot.content["rows"] if r["application_id"] == a)
        assert row["vetoed"] == [i3] and row["assessor_totals"] == {"D1STAFF": "17.00", "D1ADMIN": "20.00"}
        statuses = set(db.session.scalars(select(Application.status).where(Application.round_id == round_.id)))
        assert statuses == {"final"}
