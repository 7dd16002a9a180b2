"""The COSMIN summary's ratings from section results (Prinsen et al. 2018, table 1)."""

from __future__ import annotations

import pytest

from survey.services.validation import cosmin


def fitted(**measures):
    return {"first_order": {"converged": True, "fit_measures": measures}}


def ratings(sections):
    return {row["property"]: row["rating"] for row in cosmin.summary(sections)["rows"]}


@pytest.mark.parametrize(
    ("measures", "rating"),
    [
        ({"cfi": 0.96, "tli": 0.90, "rmsea": 0.09, "srmr": 0.10}, "sufficient"),
        ({"cfi": 0.90, "tli": 0.90, "rmsea": 0.059, "srmr": 0.10}, "sufficient"),
        ({"cfi": 0.90, "tli": 0.90, "rmsea": 0.09, "srmr": 0.079}, "sufficient"),
        ({"cfi": 0.95, "tli": 0.95, "rmsea": 0.06, "srmr": 0.08}, "insufficient"),
        ({"cfi": None, "tli": None, "rmsea": None, "srmr": None}, "insufficient"),
    ],
)
def test_structural_validity_follows_cosmins_or_criterion(measures, rating):
    assert cosmin.structural_row(fitted(**measures))["rating"] == rating


def test_an_unfitted_model_is_indeterminate_and_so_is_internal_consistency():
    sections = {
        "structural_validity": {"first_order": {"converged": False, "fit_measures": {}}},
        "internal_consistency": {"subconstructs": [{"code": "A", "alpha": {"alpha": 0.9}}]},
    }
    got = ratings(sections)
    assert got["Structural validity"] == "indeterminate"
    assert got["Internal consistency"] == "indeterminate"


def test_internal_consistency_needs_every_alpha_at_point_seven():
    good = fitted(cfi=0.97, tli=0.97, rmsea=0.03, srmr=0.04)
    alphas = [{"code": "A", "alpha": {"alpha": 0.85}}, {"code": "B", "alpha": {"alpha": 0.69}}]
    row = cosmin.consistency_row({"subconstructs": alphas}, "sufficient")
    assert row["rating"] == "insufficient" and "B" in row["result"]
    alphas[1]["alpha"]["alpha"] = 0.70
    assert cosmin.consistency_row({"subconstructs": alphas}, "sufficient")["rating"] == "sufficient"
    assert ratings({"structural_validity": good})["Internal consistency"] == "indeterminate"


def test_reliability_and_measurement_error():
    one_wave = cosmin.reliability_rows({"available": False, "reason": "one wave"})
    assert [row["rating"] for row in one_wave] == ["indeterminate", "indeterminate"]
    pairs = [{"constructs": [{"icc": 0.72}, {"icc": 0.81}]}, {"constructs": [{"icc": 0.70}]}]
    reliability, error = cosmin.reliability_rows({"available": True, "pairs": pairs})
    assert reliability["rating"] == "sufficient" and error["rating"] == "indeterminate"
    pairs[1]["constructs"].append({"icc": 0.55})
    reliability, _ = cosmin.reliability_rows({"available": True, "pairs": pairs})
    assert reliability["rating"] == "insufficient" and "1 below" in reliability["result"]


def test_hypotheses_need_three_quarters_met():
    assert cosmin.hypotheses_row(None)["rating"] == "indeterminate"
    three_of_four = {"results": [{"met": True}] * 3 + [{"met": False}]}
    assert cosmin.hypotheses_row(three_of_four)["rating"] == "sufficient"
    two_of_four = {"results": [{"met": True}] * 2 + [{"met": False}] * 2}
    assert cosmin.hypotheses_row(two_of_four)["rating"] == "insufficient"
    # Hypotheses that could not be tested (met None) are not counted either way.
    untested = {"results": [{"met": None}] * 3}
    assert cosmin.hypotheses_row(untested)["rating"] == "indeterminate"
    with_untested = {"results": [{"met": True}] * 3 + [{"met": None}] * 5}
    assert cosmin.hypotheses_row(with_untested)["rating"] == "sufficient"


def test_criterion_validity_takes_the_all_construct_model_auc():
    assert cosmin.criterion_row({"available": False})["rating"] == "indeterminate"
    section = {
        "available": True,
        "logistic": [
            {"outcome": "dropped_out", "predictors": "all", "auc": 0.71},
            {"outcome": "dropped_out", "predictors": "TA", "auc": 0.80},
        ],
    }
    row = cosmin.criterion_row(section)
    assert row["rating"] == "sufficient" and "0.71" in row["result"]
    section["logistic"][0]["auc"] = 0.65
    assert cosmin.criterion_row(section)["rating"] == "insufficient"


def test_every_property_has_one_row_with_a_known_rating():
    rows = cosmin.summary({})["rows"]
    assert len({row["property"] for row in rows}) == len(rows) == 8
    assert {row["rating"] for row in rows} <= set(cosmin.RATINGS)


def test_invariance_is_sufficient_from_scalar_across_groups():
    assert cosmin.invariance_row({})["rating"] == "indeterminate"
    unavailable = {"groups": {"available": False, "reason": "only web answers"}}
    row = cosmin.invariance_row(unavailable)
    assert row["rating"] == "indeterminate" and row["result"] == "only web answers"
    for level, rating in [
        ("configural", "insufficient"),
        ("metric", "insufficient"),
        ("scalar", "sufficient"),
        ("strict", "sufficient"),
    ]:
        section = {"groups": {"available": True, "highest_level": level, "label": "web vs chat"}}
        row = cosmin.invariance_row(section)
        assert row["rating"] == rating and f"{level} invariance holds" in row["result"]
