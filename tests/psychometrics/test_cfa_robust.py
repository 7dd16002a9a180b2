"""Robust ML (MLR, MLM) against lavaan 0.6-14: standard errors, scaled tests, robust fit
measures and the Satorra-Bentler (2001) scaled difference test.

Reference values: expected/robust/robust_oracles.json, written by
expected/robust/generate_robust.R from Holzinger-Swineford (data/holzinger_swineford_1939.csv)
and simulated 6-point items (expected/robust/bfi_like.csv; bfi_like_mar.csv with ~7 % of the
cells missing at random, fitted by FIML). Tolerances as issue 11: fit measures 1e-3 absolute
(chi-squares 1e-4 relative), estimates and standard errors 1e-3.
"""

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa, invariance
from psychometrics.cfa.lrt import lrt
from psychometrics.cli import main

HERE = Path(__file__).parent
ROBUST = HERE / "expected" / "robust"
ORACLE = json.loads((ROBUST / "robust_oracles.json").read_text(encoding="utf-8"))
DATA = {
    "hs": HERE / "data" / "holzinger_swineford_1939.csv",
    "bfi": ROBUST / "bfi_like.csv",
    "bfi_mar": ROBUST / "bfi_like_mar.csv",
    "hs_missing": HERE / "data" / "hs_missing.csv",
}
CASES = {
    # name: (data, estimator, missing)
    "hs_mlr": ("hs", "MLR", "listwise"),
    "hs_mlm": ("hs", "MLM", "listwise"),
    "hs_mlr_equal": ("hs", "MLR", "listwise"),
    "hs_mlm_equal": ("hs", "MLM", "listwise"),
    "bfi_mlr": ("bfi", "MLR", "listwise"),
    "bfi_mlm": ("bfi", "MLM", "listwise"),
    "bfi_mlr_fiml": ("bfi_mar", "MLR", "ml"),
    "bfi_mlr_fiml_orth": ("bfi_mar", "MLR", "ml"),
    "hs_mlr_df0": ("hs", "MLR", "listwise"),
    "hs_mlm_df0": ("hs", "MLM", "listwise"),
    "hs_mlr_ml_complete": ("hs", "MLR", "ml"),
    "hs_missing_mlr_groups": ("hs_missing", "MLR", "ml"),
}
GROUPS = {"hs_missing_mlr_groups": "school"}
RELATIVE = {"chisq", "chisq_scaled", "baseline_chisq", "baseline_chisq_scaled", "logl"}
RELATIVE |= {"unrestricted_logl", "aic", "bic", "bic2"}
# every scaled/robust measure the engine reports, by lavaan's name
ROBUST_NAMES = [
    "chisq.scaled",
    "df.scaled",
    "pvalue.scaled",
    "chisq.scaling.factor",
    "baseline.chisq.scaled",
    "baseline.df.scaled",
    "baseline.pvalue.scaled",
    "baseline.chisq.scaling.factor",
    "cfi.scaled",
    "tli.scaled",
    "cfi.robust",
    "tli.robust",
    "rmsea.scaled",
    "rmsea.ci.lower.scaled",
    "rmsea.ci.upper.scaled",
    "rmsea.pvalue.scaled",
    "rmsea.robust",
    "rmsea.ci.lower.robust",
    "rmsea.ci.upper.robust",
    "rmsea.pvalue.robust",
]


@pytest.fixture(scope="module")
def frames():
    return {name: pd.read_csv(path) for name, path in DATA.items()}


@pytest.fixture(scope="module")
def fits(frames):
    cache = {}

    def get(name):
        if name not in cache:
            data, estimator, missing = CASES[name]
            model = ORACLE["cases"][name]["model"]
            cache[name] = cfa(
                model, frames[data], estimator=estimator, missing=missing, group=GROUPS.get(name)
            )
        return cache[name]

    return get


def _key(frame):
    group = frame["group"].astype(int).astype(str) if "group" in frame else "1"
    return frame["lhs"] + frame["op"] + frame["rhs"] + "|" + group


def assert_fit_measures(ours: dict, lavaan: dict):
    compared = 0
    for name, value in lavaan.items():
        key = {"ntotal": "nobs"}.get(name, name.replace(".", "_"))
        if key not in ours:
            continue
        compared += 1
        if value is None:
            assert math.isnan(ours[key]), key
        elif key in RELATIVE:
            assert ours[key] == pytest.approx(value, rel=1e-4), key
        else:
            assert ours[key] == pytest.approx(value, abs=1e-3), key
    return compared


@pytest.mark.parametrize("name", sorted(CASES))
def test_fit_measures_match_lavaan(fits, name):
    ref = ORACLE["cases"][name]
    fit = fits(name)
    assert fit.converged
    fm = fit.fit_measures()
    names = ROBUST_NAMES + ["scaling.factor.h1", "scaling.factor.h0"] * ("mlr" in name)
    for lavaan_name in names:
        assert lavaan_name.replace(".", "_") in fm, lavaan_name
    assert assert_fit_measures(fm, ref["fit_measures"]) >= 40
    assert fit.robust.test.test == ref["test"]["test"]
    if ref["test"]["df"] == 0:  # no scaled test: lavaan's NA scaling factor, T_scaled = T
        assert math.isnan(fit.robust.test.trace_ugamma)
        assert fm["chisq_scaled"] == pytest.approx(ref["test"]["stat"], abs=1e-9)
        return
    assert fit.robust.test.trace_ugamma == pytest.approx(ref["test"]["trace.UGamma"], rel=1e-4)
    assert fm["chisq_scaled"] == pytest.approx(ref["test"]["stat"], rel=1e-4)


@pytest.mark.parametrize("name", sorted(CASES))
def test_estimates_and_robust_standard_errors_match_lavaan(fits, name):
    ref = pd.DataFrame(ORACLE["cases"][name]["estimates"])
    fit = fits(name)
    ours = fit.estimates.set_index(_key(fit.estimates))
    np.testing.assert_allclose(ours.loc[_key(ref), "est"], ref["est"], atol=1e-3)
    np.testing.assert_allclose(ours.loc[_key(ref), "se"], ref["se"], atol=1e-3)
    # standardised solution: delta method on the robust covariance matrix, as lavaan
    std = pd.DataFrame(ORACLE["cases"][name]["std_all"])
    np.testing.assert_allclose(ours.loc[_key(std), "std_all"], std["est.std"], atol=1e-3)
    np.testing.assert_allclose(ours.loc[_key(std), "se_std_all"], std["se"], atol=1e-3)
    expected_info = "expected" if CASES[name][1] == "MLM" else "observed"
    assert fit.information == expected_info == ORACLE["cases"][name]["options"]["information"][0]


def test_robust_and_normal_theory_standard_errors_differ(fits, frames):
    """The sandwich is not the ML covariance matrix (lavaan: 0.1321 vs 0.1000 for x2)."""
    robust = fits("hs_mlr").estimates
    plain = cfa(ORACLE["cases"]["hs_mlr"]["model"], frames["hs"]).estimates
    np.testing.assert_allclose(robust["est"], plain["est"], atol=1e-9)
    free = robust["free"].to_numpy()
    assert np.max(np.abs(robust["se"][free] - plain["se"][free])) > 0.02


@pytest.mark.parametrize("name", sorted(ORACLE["lrt"]))
def test_scaled_difference_test_matches_lavtestlrt(fits, name):
    ref = ORACLE["lrt"][name]
    h0, h1 = fits(ref["h0"]), fits(ref["h1"])
    row = ref["table"][1]
    for res in (lrt(h0, h1), lrt(h1, h0)):  # either order
        assert res.method == "satorra.bentler.2001"
        assert res.df_diff == row["df_diff"]
        assert res.chisq == pytest.approx((ref["table"][1]["chisq"], ref["table"][0]["chisq"]))
        assert res.chisq_diff == pytest.approx(row["chisq_diff"], rel=1e-4)
        assert res.pvalue == pytest.approx(row["pvalue"], abs=1e-3, rel=1e-3)
    assert res.to_dict()["df"] == [row["df"], ref["table"][0]["df"]]


def test_plain_ml_difference_test(frames):
    data = frames["hs"]
    free = cfa(ORACLE["cases"]["hs_mlr"]["model"], data)
    equal = cfa(ORACLE["cases"]["hs_mlr_equal"]["model"], data)
    res = lrt(free, equal)
    assert res.method == "standard" and math.isnan(res.scaling_factor)
    assert res.chisq_diff == pytest.approx(97.2493992140396 - 85.3055217699727, rel=1e-6)


def test_lrt_rejects_mixed_estimators_and_equal_df(fits, frames):
    plain = cfa(ORACLE["cases"]["hs_mlr"]["model"], frames["hs"])
    with pytest.raises(ValueError, match="different estimators"):
        lrt(plain, fits("hs_mlr_equal"))
    with pytest.raises(ValueError, match="degrees of freedom"):
        lrt(fits("hs_mlr"), fits("hs_mlr"))
    with pytest.raises(ValueError, match="same data"):
        lrt(fits("hs_mlr"), fits("bfi_mlr"))


@pytest.fixture(scope="module")
def invariance_mlr(frames):
    ref = ORACLE["invariance"]
    return invariance(ref["model"], frames["hs"], ref["group"], estimator="MLR")


def test_invariance_mlr_levels_match_lavaan(invariance_mlr):
    ref = ORACLE["invariance"]
    for level, lav in ref["levels"].items():
        fit = invariance_mlr.fits[level]
        assert assert_fit_measures(fit.fit_measures(), lav["fit_measures"]) >= 40, level
        est = pd.DataFrame(lav["estimates"])
        ours = fit.estimates.set_index(_key(fit.estimates))
        np.testing.assert_allclose(ours.loc[_key(est), "est"], est["est"], atol=1e-3)
        np.testing.assert_allclose(ours.loc[_key(est), "se"], est["se"], atol=1e-3)


def test_invariance_mlr_uses_the_scaled_difference_test(invariance_mlr):
    table = invariance_mlr.table
    ref = ORACLE["invariance"]["lrt"]
    np.testing.assert_allclose(table["chisq"], [r["chisq"] for r in ref], rtol=1e-6)
    np.testing.assert_allclose(
        table["delta_chisq"][1:], [r["chisq_diff"] for r in ref[1:]], rtol=1e-4
    )
    np.testing.assert_allclose(table["delta_pvalue"][1:], [r["pvalue"] for r in ref[1:]], atol=1e-4)
    assert {"chisq_scaled", "cfi_robust", "delta_scaling_factor"} <= set(table.columns)
    document = invariance_mlr.to_dict()
    assert document["fits"]["metric"]["estimator"] == "MLR"
    assert document["fits"]["metric"]["fit_measures"]["cfi_robust"] is not None


def test_unsupported_combinations_are_clear_errors(frames):
    model = ORACLE["cases"]["bfi_mlm"]["model"]
    with pytest.raises(ValueError, match="MLM' needs complete data.*use estimator 'MLR'"):
        cfa(model, frames["bfi_mar"], estimator="MLM", missing="ml")
    with pytest.raises(ValueError, match="needs raw data"):
        cov = frames["bfi"].cov()
        cfa(model, sample_cov=cov, nobs=500, estimator="MLR")
    with pytest.raises(ValueError, match="one of ML, MLR, MLM"):
        cfa(model, frames["bfi"], estimator="WLSMV")
    with pytest.raises(ValueError, match="MLM' needs complete data"):
        invariance("visual =~ x1 + x2 + x3", frames["hs"], "school", estimator="MLM", missing="ml")


def _model_file(tmp_path, text):
    path = tmp_path / "model.lav"
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_cli_cfa_estimator_mlr_json(tmp_path, capsys):
    model = _model_file(tmp_path, ORACLE["cases"]["hs_mlr_ml_complete"]["model"])
    status = main(
        ["cfa", "--data", str(DATA["hs"]), "--model", model, "--missing", "ml"]
        + ["--estimator", "mlr", "--json"]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    result = json.loads(out)["result"]
    assert result["estimator"] == "MLR"
    assert result["robust"]["test"] == "yuan.bentler.mplus"
    fm = result["fit_measures"]
    lav = ORACLE["cases"]["hs_mlr_ml_complete"]["fit_measures"]
    # the CLI's JSON carries lavaan's fitMeasures() names
    assert fm["cfi.robust"] == pytest.approx(lav["cfi.robust"], abs=1e-3)
    assert fm["rmsea.ci.upper.robust"] == pytest.approx(lav["rmsea.ci.upper.robust"], abs=1e-3)


def test_cli_rejects_mlm_with_fiml_and_unknown_estimators(tmp_path, capsys):
    model = _model_file(tmp_path, ORACLE["cases"]["bfi_mlm"]["model"])
    for extra, fragment in (
        (["--estimator", "MLM", "--missing", "ml"], "MLM needs complete data"),
        (["--estimator", "WLSMV"], "supported: ML, MLR"),
    ):
        status = main(["cfa", "--data", str(DATA["bfi"]), "--model", model, *extra])
        out, err = capsys.readouterr()
        assert status == 2 and out == ""
        assert fragment in err and len(err.strip().splitlines()) == 1


def test_cli_invariance_estimator_mlm_text(tmp_path, capsys):
    model = _model_file(tmp_path, "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\n")
    status = main(
        ["invariance", "--data", str(DATA["hs"]), "--model", model, "--group", "school"]
        + ["--estimator", "MLM"]
    )
    out, err = capsys.readouterr()
    assert status == 0, err
    assert "MLM; delta_chisq Satorra-Bentler 2001 scaled" in out
    assert "delta_scaling_factor" in out
