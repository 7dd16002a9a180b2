"""The validation run recovers what the demo's simulation put in (issue 10, "Done when").

The README's demo study is simulated from the instrument's own population model (600
participants x 3 waves, seed 1) and its flagged sessions are excluded, as ``make run``
does (``flask demo simulate ... --exclude-flagged``). The run on it must find: a good fit of
the correctly specified first-order model; standardised loadings near the generating ones
(WLSMV on the ordered 5-point items, measured: mean absolute difference 0.036, largest
0.113; held to 0.05 and 0.15); test-retest ICCs near the simulated stability once corrected
for the scores' unreliability (the raw ICC of an error-laden score is lower by design);
the simulated predictors of dropout as the strongest predictors; and hypotheses written
to match the simulation met, one written against it not.
"""

from __future__ import annotations

import statistics
from datetime import UTC, datetime

import pytest
from flask_migrate import upgrade

from survey import create_app
from survey.extensions import db
from survey.services import exclusions, hypotheses
from survey.services.validation.run import validate
from tests.survey.validation.conftest import make_simulated_study

MATCHING = [
    "TA correlates >= .10 with active_weeks",
    "SE correlates negatively with dropped_out",
    "TA correlates positively with messages_sent",
]
AGAINST = "TA correlates <= -.30 with active_weeks"


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    directory = tmp_path_factory.mktemp("demo-truth")
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'demo.sqlite3'}"},
        instance_path=str(directory / "i"),
    )
    with app.app_context():
        upgrade()
        study, result = make_simulated_study(participants=600, waves=3, seed=1, slug="demo")
        exclusions.exclude_flagged(study, actor=None)
        stated = datetime(2027, 6, 1, 13, 0, tzinfo=UTC)
        for text in [*MATCHING, AGAINST]:
            hypotheses.state_hypothesis(study, text, actor=None, now=stated)
        db.session.commit()
        report = validate(study)
        db.session.remove()
        db.engine.dispose()
    return report["instruments"][0], result.truth


def test_the_correct_model_fits_well_with_loadings_near_the_truth(demo):
    sections, truth = demo
    model = sections["structural_validity"]["first_order"]
    assert model["fit"] == "good", model["verdict"]
    differences = [
        abs(row["std_all"] - truth["loadings"][row["indicator"]])
        for row in model["loadings"]
        if row["level"] == 1
    ]
    assert len(differences) == len(truth["loadings"]) == 72
    assert statistics.mean(differences) < 0.05
    assert max(differences) < 0.15


def test_retest_icc_corrected_for_unreliability_is_near_the_simulated_stability(demo):
    sections, truth = demo
    (first_pair, *_rest) = sections["test_retest"]["pairs"]
    corrected = {e["code"]: e["icc_disattenuated"] for e in first_pair["constructs"]}
    assert set(corrected) == set(truth["stabilities"])
    errors = [corrected[code] - truth["stabilities"][code] for code in corrected]
    assert abs(statistics.mean(errors)) < 0.05
    assert max(abs(e) for e in errors) < 0.15


def test_the_simulated_predictors_of_dropout_come_out(demo):
    sections, truth = demo
    simulated = set(truth["dropout_model"]["coefficients"])
    # Sorted by |log OR|: the simulated ones come first (another construct may pass p < .05
    # by chance among ten).
    found = [p["code"] for p in sections["criterion_validity"]["predictors"]["dropped_out"]]
    assert set(found[: len(simulated)]) == simulated, found


def test_hypotheses_matching_the_simulation_are_met(demo):
    sections, _truth = demo
    met = {r["text"]: r["met"] for r in sections["hypotheses"]["results"]}
    assert all(met[text] is True for text in MATCHING), met
    assert met[AGAINST] is False
    assert sections["hypotheses"]["tested"] == 4
