"""structural_validity: on the simulated study against direct WLSMV (ordered items) fits and
independent EFA statistics, the truth of the simulation, and hand-made data for the verdict,
the warnings, empty response options, single-valued items and the MLR fallback."""

from __future__ import annotations

import json

import numpy as np
import pytest
from factor_analyzer.factor_analyzer import calculate_bartlett_sphericity, calculate_kmo

from instruments.measurement_model import measurement_model
from psychometrics.cfa import cfa
from psychometrics.cfa.lrt import lrt
from psychometrics.efa import parallel_analysis
from survey.services.validation.items import analysed_rows
from survey.services.validation.structural import (
    MI_MINIMUM,
    MI_SHOWN,
    PARALLEL_ITERATIONS,
    ROBUST,
    delta_check,
    judge_fit,
    structural_validity,
)
from tests.survey.validation.small_study import simulated_answers, study_data

TOL = 1e-8
REQUIRED_MEASURES = (
    "npar chisq df pvalue chisq.scaled cfi tli rmsea cfi.scaled tli.scaled rmsea.scaled "
    "cfi.robust tli.robust rmsea.robust srmr ntotal"
).split()


def lavaan_named(result) -> dict:
    return {
        {"nobs": "ntotal"}.get(name, name.replace("_", ".")): value
        for name, value in result.fit_measures().items()
    }


def expected_estimator(syntax: str, rows) -> tuple[str, object]:
    """What the section should use for ``syntax``, decided here from direct fits: WLSMV on
    ordered items unless it raises, does not converge or breaks the delta
    parameterisation; then MLR."""
    try:
        fit = cfa(syntax, rows, ordered=True, estimator="WLSMV")
    except ValueError:
        return "MLR", cfa(syntax, rows, estimator="MLR")
    if not fit.converged or delta_check(fit) is not None:
        return "MLR", cfa(syntax, rows, estimator="MLR")
    return "WLSMV", fit


@pytest.fixture(scope="module")
def section(simulated_data):
    return structural_validity(simulated_data, simulated_data.instruments[0], seed=3)


@pytest.fixture(scope="module")
def rows(simulated_data):
    return analysed_rows(simulated_data, simulated_data.instruments[0])[1]


@pytest.fixture(scope="module")
def direct(simulated_data, rows):
    definition = simulated_data.instruments[0].definition
    return {
        key: expected_estimator(measurement_model(definition, second_order=second).syntax, rows)
        for key, second in (("first_order", False), ("second_order", True))
    }


def test_shape_on_the_simulated_study(simulated_data, section, rows, direct):
    definition = simulated_data.instruments[0].definition
    assert section["wave"] == "baseline" and section["n"] == len(rows) > 0
    # the first-order model is fitted by WLSMV on ordered items
    assert direct["first_order"][0] == "WLSMV"
    for key, second in (("first_order", False), ("second_order", True)):
        model = section[key]
        assert model["estimator"] == direct[key][0]
        if model["estimator"] == "WLSMV":
            assert model["ordered"] is True and "ordered" in model["estimator_reason"]
            assert model["judged"] == ROBUST
            assert model["modification_indices"] == []
            assert model["modification_indices_available"] is False
            assert "WLSMV" in model["modification_indices_reason"]
        else:  # the fallback says why
            assert model["estimator_reason"].startswith("MLR (robust ML, the items as continuous)")
            assert any("fitted by MLR instead" in w for w in model["warnings"])
        assert model["syntax"] == measurement_model(definition, second_order=second).syntax
        assert model["converged"] is True and model["nobs"] == len(rows)
        assert set(REQUIRED_MEASURES) <= set(model["fit_measures"])
        assert set(model["cutoffs"]) == {"cfi", "tli", "rmsea", "srmr"}
        assert model["fit"] in ("good", "acceptable", "poor") and model["verdict"]
        for warning in model["warnings"]:
            assert any(warning in w for w in section["warnings"])
    first = section["first_order"]
    factors = {row["factor"] for row in first["loadings"]}
    assert factors == {sub.code for sub in definition.subconstructs}
    assert first["factor_correlations"]["factors"] == [s.code for s in definition.subconstructs]
    second = section["second_order"]
    assert {row["factor"] for row in second["loadings"] if row["level"] == 2} == {
        c.code for c in definition.constructs
    }
    assert second["factor_correlations"]["factors"] == [c.code for c in definition.constructs]
    assert any("cfi.robust" in note and "derived for ML" in note for note in section["notes"])
    json.dumps(section, allow_nan=False)


def test_fit_measures_equal_a_direct_fit_of_the_same_rows(section, direct):
    for key in ("first_order", "second_order"):
        estimator, fit = direct[key]
        expected = lavaan_named(fit)
        assert section[key]["estimator"] == estimator
        assert section[key]["fit_measures"] == expected
        est = fit.estimates.query("op == '=~'")
        got = section[key]["loadings"]
        assert [r["indicator"] for r in got] == est["rhs"].tolist()
        np.testing.assert_allclose([r["std_all"] for r in got], est["std_all"], atol=TOL)
        np.testing.assert_allclose([r["est"] for r in got], est["est"], atol=TOL)
        cut = section[key]["cutoffs"]
        assert cut["cfi"]["measure"] == "cfi.robust" == section[key]["judged"]["cfi"]
        assert cut["cfi"]["value"] == expected["cfi.robust"]
        assert cut["cfi"]["met"] == (expected["cfi.robust"] >= 0.95)
        assert cut["rmsea"]["met"] == (expected["rmsea.robust"] <= 0.06)
        assert cut["srmr"]["acceptable_met"] == (expected["srmr"] <= 0.10)


def test_the_wlsmv_numbers_equal_a_direct_ordinal_call(section, rows, simulated_data):
    # the first-order model, by name: cfa(..., ordered=True, estimator="WLSMV")
    definition = simulated_data.instruments[0].definition
    fit = cfa(
        measurement_model(definition, second_order=False).syntax,
        rows,
        ordered=True,
        estimator="WLSMV",
    )
    measures = fit.fit_measures()
    model = section["first_order"]
    for name in ("chisq_scaled", "cfi_robust", "tli_robust", "rmsea_robust", "srmr", "npar"):
        assert model["fit_measures"][name.replace("_", ".")] == measures[name]
    loadings = fit.estimates.query("op == '=~'")["std_all"].to_numpy()
    np.testing.assert_allclose([r["std_all"] for r in model["loadings"]], loadings, atol=TOL)
    # WLSMV has no standardised SEs in the engine: None, not a made-up number
    assert all(r["se_std_all"] is None for r in model["loadings"])


def test_first_order_loadings_are_close_to_the_simulated_truth(section, simulated_truth):
    # The truth is the loading of the continuous response behind each 5-point item; the
    # data hold the simulation's 5 % careless respondents. Measured (WLSMV, polychoric):
    # mean |difference| 0.059 on these 378 rows (ML on the same rows gave 0.069).
    truth = simulated_truth["loadings"]
    got = {r["indicator"]: r["std_all"] for r in section["first_order"]["loadings"]}
    assert set(got) == set(truth)
    difference = np.mean([abs(got[item] - truth[item]) for item in truth])
    assert difference < 0.10


def test_modification_indices_and_comparison(section, direct, rows, simulated_data):
    for key in ("first_order", "second_order"):
        model = section[key]
        mi = [row["mi"] for row in model["modification_indices"]]
        assert len(mi) == min(MI_SHOWN, model["modification_indices_total"])
        assert all(value >= MI_MINIMUM for value in mi) and mi == sorted(mi, reverse=True)
        assert all({"epc", "sepc.all"} <= set(row) for row in model["modification_indices"])
        if model["estimator"] == "MLR":
            assert model["modification_indices_available"] is True
    comparison = section["comparison"]
    f1, f2 = section["first_order"]["fit_measures"], section["second_order"]["fit_measures"]
    assert comparison["available"] is True
    assert comparison["df_diff"] == f2["df"] - f1["df"] > 0
    estimators = (direct["first_order"][0], direct["second_order"][0])
    if estimators == ("WLSMV", "WLSMV"):  # descriptive: robust CFI and RMSEA
        assert comparison["chisq_diff"] is None and comparison["aic"]["first_order"] is None
        assert comparison["delta_cfi"] == pytest.approx(f2["cfi.robust"] - f1["cfi.robust"])
        assert "descriptive" in comparison["sentence"]
    else:  # both as MLR fits: the Satorra-Bentler (2001) scaled difference
        definition = simulated_data.instruments[0].definition
        fits = [
            cfa(measurement_model(definition, second_order=so).syntax, rows, estimator="MLR")
            for so in (False, True)
        ]
        test = lrt(fits[1], fits[0])
        assert comparison["chisq_diff"] == pytest.approx(test.chisq_diff, abs=TOL)
        assert comparison["pvalue"] == pytest.approx(test.pvalue, abs=TOL)
        assert comparison["df_diff"] == test.df_diff
        aic = [f.fit_measures()["aic"] for f in fits]
        assert comparison["aic"] == {"first_order": aic[0], "second_order": aic[1]}
        assert "Δχ²" in comparison["sentence"]
        if estimators[0] != estimators[1]:
            assert comparison["sentence"].startswith("Compared as MLR fits of both models")
    assert comparison["preferred"] in ("first_order", "second_order", None)


# factor_analyzer switches to a pseudo-inverse, with a warning, when the determinant of the
# covariance matrix is below float32 epsilon, as it is for these 72 items (about 8e-14); the
# correlation matrix is well conditioned (condition number about 34), so the pseudo-inverse
# is the inverse.
@pytest.mark.filterwarnings("ignore:The inverse of the variance-covariance matrix:UserWarning")
def test_efa_equals_factor_analyzer_and_a_direct_parallel_analysis(section, rows):
    efa = section["efa"]
    assert efa["available"] is True and efa["n"] == len(rows)
    per_item, overall = calculate_kmo(rows.to_numpy())
    assert efa["kmo"]["overall"] == pytest.approx(overall, abs=TOL)
    assert efa["kmo"]["per_item_min"] == pytest.approx(per_item.min(), abs=TOL)
    assert efa["kmo"]["per_item_min_item"] == rows.columns[int(np.argmin(per_item))]
    np.testing.assert_allclose(list(efa["kmo"]["per_item"].values()), per_item, atol=TOL)
    chi2, p = calculate_bartlett_sphericity(rows.to_numpy())
    assert efa["bartlett"]["chisq"] == pytest.approx(chi2, abs=TOL)
    assert efa["bartlett"]["pvalue"] == pytest.approx(p, abs=TOL)
    assert efa["bartlett"]["df"] == 72 * 71 // 2
    pa = efa["parallel_analysis"]
    direct = parallel_analysis(rows, n_iter=PARALLEL_ITERATIONS, rng=3)
    assert (pa["n_iter"], pa["seed"]) == (PARALLEL_ITERATIONS, 3)
    assert pa["n_factors"] == direct.n_factors and pa["n_components"] == direct.n_components
    np.testing.assert_allclose(pa["simulated_fa"], direct.table["random_fa"], atol=TOL)
    np.testing.assert_allclose(pa["observed_pc"], direct.table["observed_pc"], atol=TOL)


def test_judge_fit():
    good = {"cfi": 0.97, "tli": 0.96, "rmsea": 0.04, "srmr": 0.05}
    cutoffs, level, verdict = judge_fit(good)
    assert level == "good" and verdict.startswith("Good fit")
    assert all(cut["met"] for cut in cutoffs.values())
    assert cutoffs["rmsea"]["criterion"] == "<= 0.06"

    _, level, verdict = judge_fit(good | {"cfi": 0.93, "rmsea": 0.07})
    assert level == "acceptable" and "CFI 0.930" in verdict and "RMSEA 0.070" in verdict
    assert "TLI 0." not in verdict

    cutoffs, level, verdict = judge_fit(good | {"tli": 0.85, "srmr": 0.12})
    assert level == "poor" and "TLI 0.850" in verdict and "SRMR 0.120" in verdict
    assert "CFI 0." not in verdict and cutoffs["tli"]["acceptable_met"] is False

    # Exactly on the cut-off meets it.
    assert judge_fit({"cfi": 0.95, "tli": 0.95, "rmsea": 0.06, "srmr": 0.08})[1] == "good"

    cutoffs, level, verdict = judge_fit(good | {"tli": None})
    assert level is None and cutoffs["tli"]["met"] is None and "TLI" in verdict
    assert judge_fit(good, converged=False)[1:] == (None, "No verdict: the model did not converge.")


def test_small_sample_warnings_and_a_comparison_without_degrees_of_freedom():
    data = study_data(simulated_answers(60, seed=5))
    section = structural_validity(data, data.instruments[0], seed=1)
    first = section["first_order"]
    rows = analysed_rows(data, data.instruments[0])[1]
    direct = cfa(first["syntax"], rows, ordered=True, estimator="WLSMV")
    npar = direct.fit_measures()["npar"]  # thresholds count as free parameters
    assert first["converged"] and first["estimator"] == "WLSMV"
    assert first["fit_measures"]["npar"] == npar > 60 / 5
    assert any("below 200" in w for w in section["warnings"])
    assert any(
        f"{npar} free parameters ({60 / npar:.2f} cases per parameter)" in w
        for w in first["warnings"]
    )
    # One construct of two subconstructs: the second-order model is the first-order one
    # re-parametrised (same df), so there is nothing to test.
    comparison = section["comparison"]
    assert comparison["available"] is False and comparison["chisq_diff"] is None
    assert "no more degrees of freedom" in comparison["reason"]
    assert section["first_order"]["fit_measures"]["df"] == 8
    # Reverse keyed, the two factors correlate negatively (B is reverse-oriented within AB).
    (row,) = [r for r in section["second_order"]["loadings"] if r["indicator"] == "B"]
    assert row["est"] == -1.0 and row["std_all"] < 0
    assert section["first_order"]["factor_correlations"]["values"][0][1] < 0
    json.dumps(section, allow_nan=False)


def test_an_empty_response_option_is_collapsed_as_lavaan_does():
    raw = simulated_answers(300, seed=4)
    raw.loc[raw["A_1"] == 2, "A_1"] = 1.0  # nobody chose 2
    raw.loc[raw["B_1"] == 5, "B_1"] = 4.0  # nobody chose 5
    data = study_data(raw)
    section = structural_validity(data, data.instruments[0], seed=1)
    rows = analysed_rows(data, data.instruments[0])[1]
    collapsed = {c["item"]: c for c in section["categories"]["collapsed"]}
    assert collapsed["A_1"]["observed"] == [1.0, 3.0, 4.0, 5.0]
    assert collapsed["B_1"]["observed"] == [1.0, 2.0, 3.0, 4.0]
    assert section["categories"]["single"] == []
    assert any(
        "collapsed away" in note and "A_1 (1/3/4/5 of 5" in note for note in section["notes"]
    )
    first = section["first_order"]
    assert first["estimator"] == "WLSMV" and first["converged"]
    fit = cfa(first["syntax"], rows, ordered=True, estimator="WLSMV")
    assert first["fit_measures"] == lavaan_named(fit)
    thresholds = fit.estimates.query("op == '|'")
    # three thresholds for the four observed categories, four for the five
    assert (thresholds["lhs"] == "A_1").sum() == 3 and (thresholds["lhs"] == "B_1").sum() == 3
    assert (thresholds["lhs"] == "A_2").sum() == 4


def test_an_item_with_a_single_observed_value_is_said_and_the_report_renders():
    raw = simulated_answers(150, seed=2)
    raw["B_3"] = 3.0  # everyone answered 3
    data = study_data(raw)
    section = structural_validity(data, data.instruments[0], seed=1)
    assert [c["item"] for c in section["categories"]["single"]] == ["B_3"]
    for key in ("first_order", "second_order"):
        model = section[key]
        assert model["converged"] is False and model["fit_measures"] == {}
        assert model["reason"].startswith("not fitted: 1 item(s) with a single observed value")
        assert "B_3 (everyone answered 3)" in model["reason"]
        assert "at least two observed categories" in model["reason"]
        assert model["verdict"] == "No verdict: the model could not be fitted."
    assert section["comparison"]["available"] is False
    json.dumps(section, allow_nan=False)
    # the report renders it: test_report_html.test_a_structural_section_that_could_not_be_fitted


def test_extreme_items_get_the_estimator_direct_fits_choose():
    # B_2 a step function of B_1 (polychoric correlation 1): the section's estimator and fit
    # for each model are those that direct fits choose (WLSMV unless it raises, does not
    # converge or breaks the delta parameterisation; then MLR with its reason said).
    raw = simulated_answers(300, seed=5)
    raw["B_2"] = np.where(raw["B_1"] >= 3, 5.0, 1.0)
    data = study_data(raw)
    section = structural_validity(data, data.instruments[0], seed=1)
    rows = analysed_rows(data, data.instruments[0])[1]
    for key in ("first_order", "second_order"):
        model = section[key]
        estimator, fit = expected_estimator(model["syntax"], rows)
        assert model["estimator"] == estimator
        assert model["fit_measures"] == lavaan_named(fit)
        if estimator == "MLR":
            assert model["ordered"] is False
            assert model["estimator_reason"].startswith("MLR (robust ML, the items as continuous)")
            assert "instead of WLSMV: WLSMV" in model["estimator_reason"]
            assert model["judged"] == ROBUST and model["modification_indices_available"] is True
        else:
            assert model["ordered"] is True and model["judged"] == ROBUST


def test_same_seed_same_result_and_the_seed_reaches_parallel_analysis():
    data = study_data(simulated_answers(150, seed=8))
    one = structural_validity(data, data.instruments[0], seed=4)
    assert json.dumps(one) == json.dumps(structural_validity(data, data.instruments[0], seed=4))
    other = structural_validity(data, data.instruments[0], seed=5)
    assert other["first_order"] == one["first_order"]
    assert other["efa"]["parallel_analysis"]["seed"] == 5
    assert (
        other["efa"]["parallel_analysis"]["simulated_fa"]
        != (one["efa"]["parallel_analysis"]["simulated_fa"])
    )


def test_too_few_rows_are_reported_not_raised():
    data = study_data(simulated_answers(5, seed=6))
    section = structural_validity(data, data.instruments[0])
    for key in ("first_order", "second_order"):
        model = section[key]
        assert model["converged"] is False and model["reason"].startswith("not fitted")
        assert model["fit_measures"] == {} and model["fit"] is None
    assert section["comparison"]["available"] is False
    assert "5 complete rows for 6 items" in section["first_order"]["reason"]
    # 5 rows for 6 items: the correlation matrix is singular.
    assert section["efa"]["available"] is False and "singular" in section["efa"]["reason"]
    assert section["efa"]["kmo"] is None and section["efa"]["parallel_analysis"] is None
    assert any(w.startswith("first-order model: not fitted") for w in section["warnings"])
    json.dumps(section, allow_nan=False)


def test_heywood_cases_and_weak_kmo_reach_the_warnings():
    # A_1 measures what A_2 and A_3 measure apart, and A_2 and A_3 hardly correlate: a
    # one-factor A needs a loading of A_1 above 1 (a negative residual variance).
    rng = np.random.default_rng(1)
    n = 200
    raw = simulated_answers(n, seed=9)
    u, v = rng.normal(size=n), rng.normal(size=n)

    def cut(z):
        return 1.0 + np.searchsorted([-1.5, -0.5, 0.5, 1.5], z)

    raw["A_1"] = cut(0.7 * u + 0.7 * v + 0.2 * rng.normal(size=n))
    raw["A_2"] = cut(0.9 * u + 0.3 * rng.normal(size=n))
    raw["A_3"] = 6 - cut(0.9 * v + 0.1 * u + 0.3 * rng.normal(size=n))
    data = study_data(raw)
    section = structural_validity(data, data.instruments[0])
    first = section["first_order"]
    assert first["converged"] is True
    heywood = [w for w in first["warnings"] if w.startswith("Heywood case")]
    assert any("'A_1'" in w and "negative" in w for w in heywood)
    assert all(f"first-order model: {w}" in section["warnings"] for w in heywood)
    (loading,) = [r for r in first["loadings"] if r["indicator"] == "A_1"]
    assert loading["std_all"] > 1
    efa = section["efa"]
    assert efa["kmo"]["overall"] < 0.6 and efa["kmo"]["label"] in ("miserable", "unacceptable")
    assert any(w.startswith("EFA: KMO") for w in section["warnings"])
