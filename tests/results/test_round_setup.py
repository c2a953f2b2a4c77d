"""The round set-up pieces the results need: tier thresholds (title and 复查 rounds) and the
tie-break codes shared with the engine (assessor_min, and the aliases veto_free / self_score)."""
import pytest

from app.extensions import db
from app.results import tiers
from app.rounds import services
from app.rounds.services import RoundError
from tests.rounds.conftest import in_district, make_rubric, round_data


def test_tie_break_codes_are_the_engines_and_aliases_are_stored_canonically(app, world):
    assert services.TIE_BREAKS == tiers.TIE_BREAK_LABELS
    with in_district(app, world.d1):
        ids = make_rubric(world.d1)
        round_ = services.create_round(round_data("title", ids.rubric,
                                                  tie_break=["veto_free", "assessor_min", "self_score"]))
        assert round_.tie_break == ["gates_passed", "assessor_min", "self_total"]
        with pytest.raises(RoundError, match="重复"):
            services.create_round(round_data("title", ids.rubric, tie_break=["veto_free", "gates_passed"]))


def test_thresholds_are_validated_and_kept(app, world):
    with in_district(app, world.d1):
        ids = make_rubric(world.d1)
        round_ = services.create_round(round_data("title", ids.rubric, thresholds={"advanced": 16, "qualified": 12}))
        db.session.flush()
        assert round_.thresholds == {"advanced": 16, "qualified": 12}
        assert services.setup_of(round_)["thresholds"] == {"advanced": 16, "qualified": 12}
        for bad, text in (({"advanced": 10, "qualified": 12}, "模范 ≥ 先进 ≥ 合格"), ({"gold": 10}, "合格、先进、模范"),
                          ({"model": 30}, "之间")):
            with pytest.raises(RoundError, match=text):
                services.create_round(round_data("title", ids.rubric, thresholds=bad))
        with pytest.raises(RoundError, match="年度考评请设等次分数线"):
            services.create_round(round_data("annual_review", ids.rubric, thresholds={"qualified": 12}))


def test_the_round_form_takes_thresholds(app, world, login_as):
    from tests.conftest import post

    with in_district(app, world.d1):
        ids = make_rubric(world.d1)
        db.session.commit()
    client = login_as("d1admin")
    response = post(client, "/d/d1/rounds/new", {
        "name": "先进职工之家评选", "kind": "title", "year": "2026", "rubric_id": str(ids.rubric),
        "home_kind": "staff_home", "target_tier": "advanced", "publicity_working_days": "5",
        "weight_self": "20", "weight_assessor": "80", "weight_peer": "0", "aggregation": "mean",
        "threshold_advanced": "12", "threshold_qualified": "15", "requires_tier": "", "requires_plan_approved": ""})
    assert response.status_code == 400
    assert "称号分数线应为模范 ≥ 先进 ≥ 合格" in response.get_data(as_text=True)
