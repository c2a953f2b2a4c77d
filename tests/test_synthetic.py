"""``flask demo generate``: synthetic data that the services accept, deterministic by seed,
each district in its own tenant."""
from sqlalchemy import func, select

from app import synthetic
from app.activities import services as activities
from app.extensions import db
from app.plans import services as plans
from app.plans.models import PlanVersion, WorkPlan
from app.rounds import services as rounds
from app.rounds.models import Application, ApplicationSnapshot, Round, SelfScore
from tenants.models import District, School
from tenants.scope import Scope, tenant_scope


def _fingerprint(district_id):
    with tenant_scope(Scope.district(district_id)):
        names = list(db.session.scalars(select(School.name).order_by(School.code)))
        statuses = list(db.session.scalars(select(WorkPlan.status).order_by(WorkPlan.school_id)))
        totals = [s.content["total"] for s in db.session.scalars(
            select(ApplicationSnapshot).order_by(ApplicationSnapshot.school_id))]
    return names, statuses, totals


def test_generate_is_deterministic_valid_and_tenant_scoped(app):
    with app.app_context():
        first = synthetic.generate(synthetic.Scale(districts=2, schools=8, seed=7, prefix="ga", indicators=12))
        again = synthetic.generate(synthetic.Scale(districts=1, schools=8, seed=7, prefix="gb", indicators=12))
        other = synthetic.generate(synthetic.Scale(districts=1, schools=8, seed=8, prefix="gc", indicators=12))
        assert first.counts["schools"] == 16 and first.counts["applications"] == 16
        assert first.counts["users"] == 2 * (3 + 7 + 2 * 8)
        # same seed and district number → the same data; another seed → other data
        assert _fingerprint(first.district_ids[0]) == _fingerprint(again.district_ids[0])
        assert _fingerprint(first.district_ids[0]) != _fingerprint(other.district_ids[0])

        d1, d2 = first.district_ids
        with tenant_scope(Scope.district(d1)):
            year = plans.today_china().year
            assert db.session.scalar(select(func.count()).select_from(School)) == 8  # not d2's schools
            round_ = db.session.scalar(select(Round))
            assert round_.status == "assessing" and round_.kind == "annual_review"
            parts = rounds.rubric_parts(round_.rubric_id)
            assert len(parts.indicators) == 13  # 12 + the bonus item
            apps = list(db.session.scalars(select(Application)))
            assert {a.status for a in apps} == {"under_assessment"}
            for application in apps:  # every self-assessment is complete and within bounds
                rows = rounds.scores_of(application)
                assert not rounds.missing_inputs(parts, rows)
                result = rounds.evaluate(parts, rows)
                snapshot = db.session.scalar(select(ApplicationSnapshot).where(
                    ApplicationSnapshot.application_id == application.id))
                assert snapshot.content["total"] == f"{result.total:.2f}"
            # plans: approved ones name their version; the tracking and completion services work
            for plan in db.session.scalars(select(WorkPlan)):
                version = db.session.scalar(select(PlanVersion).where(PlanVersion.plan_id == plan.id))
                assert (version is None) == (plan.status == "draft")
                assert (plan.approved_version_id is not None) == (plan.status == "approved")
            counts = plans.tracking_counts(year)
            assert counts["total"] == 8 and sum(v for k, v in counts.items() if k != "total") == 8
            rates = [r.rate for r in activities.district_completion(year) if r.planned]
            assert rates and all(0 <= r <= 1 for r in rates)
            assert db.session.scalar(select(func.count()).select_from(SelfScore).where(
                SelfScore.district_id == d2)) == 0
            # assessors: 3–7 per application, sheets the assessment services read
            from app.assessments import services as assessments
            from app.assessments.models import Assignment

            per_app = dict(db.session.execute(select(Assignment.application_id, func.count())
                                              .group_by(Assignment.application_id)).all())
            assert len(per_app) == 8 and all(3 <= n <= 7 for n in per_app.values())
            open_by_assessor = dict(db.session.execute(
                select(Assignment.assessor_id, func.count()).where(Assignment.status == "assigned")
                .group_by(Assignment.assessor_id)).all())
            all_assessors = set(db.session.scalars(select(Assignment.assessor_id).distinct()))
            assert set(open_by_assessor) == all_assessors  # assessing: every assessor has an open sheet
            sheets = assessments.submitted_sheets(round_)
            assert sheets and all(sheet for by_assessor in sheets.values() for sheet in by_assessor.values())
            for application in apps:  # a submitted sheet has an input for every scored indicator
                for assignment in db.session.scalars(select(Assignment).where(
                        Assignment.application_id == application.id, Assignment.status == "submitted")):
                    assert not assessments.missing_scores(parts, assessments.scores_of(assignment))
        with tenant_scope(Scope.system("test: list generated districts")):
            slugs = set(db.session.scalars(select(District.slug)))
        assert {"ga001", "ga002", "gb001", "gc001"} <= slugs
        db.session.remove()


def test_generate_refuses_an_existing_prefix(app):
    import pytest

    with app.app_context():
        synthetic.generate(synthetic.Scale(districts=1, schools=2, prefix="gd", with_round=False))
        with pytest.raises(ValueError, match="已存在"):
            synthetic.generate(synthetic.Scale(districts=1, schools=2, prefix="gd", with_round=False))
        db.session.remove()


def test_open_title_round_has_filled_unsubmitted_applications_that_submit(app):
    with app.app_context():
        result = synthetic.generate(synthetic.Scale(districts=1, schools=5, prefix="gf", indicators=12, applicants=3))
        assert result.counts["open_round_applications"] == 3
        with tenant_scope(Scope.district(result.district_ids[0])):
            round_ = db.session.scalar(select(Round).where(Round.kind == "title"))
            assert round_.status == "open"
            apps = list(db.session.scalars(select(Application).where(Application.round_id == round_.id)))
            assert len(apps) == 3 and {a.status for a in apps} == {"draft"}
            snapshot = rounds.submit(apps[0], user_id=None, roles={"school_chair"})  # complete: it submits
            assert snapshot.number == 1 and apps[0].status == "submitted"
            db.session.rollback()
        db.session.remove()


def test_calibrating_stage_gives_a_calibration_of_every_school(app):
    from app.results import services as results

    with app.app_context():
        generated = synthetic.generate(synthetic.Scale(districts=1, schools=6, prefix="gg", indicators=12,
                                                       stage="calibrating"))
        with tenant_scope(Scope.district(generated.district_ids[0])):
            round_ = db.session.scalar(select(Round).where(Round.kind == "annual_review"))
            assert round_.status == "calibrating"
            calibration = results.calibrate(round_)
            assert len(calibration.rows) == 6
        db.session.remove()


def test_cli_reports_counts(app):
    result = app.test_cli_runner().invoke(args=["demo", "generate", "--schools", "3", "--prefix", "ge",
                                                "--indicators", "6"])
    assert result.exit_code == 0, result.output
    assert "schools 3" in result.output and "applications 3" in result.output
