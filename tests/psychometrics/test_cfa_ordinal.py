"""Ordinal CFA (WLSMV, WLSM, ULSMV; delta parameterisation) against lavaan 0.6-14.

Reference values: tests/psychometrics/expected/ordinal/ordinal_oracles.json, written by
generate_ordinal.R in the same folder: cfa(model, data, ordered = TRUE, estimator = ...) on
5-point items with a sparse category (N = 300), psych::bfi (25 six-point items, listwise), binary
items (tetrachorics) and the 5-point items with 8 % MCAR cells (missing = "pairwise"); delta
(lavaan's default) and theta parameterisations.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import OrdinalCFAResult, cfa

HERE = Path(__file__).parent / "expected" / "ordinal"
ORACLES = json.loads((HERE / "ordinal_oracles.json").read_text())

CASES = {
    "sparse5-WLSMV": ("sparse5", "WLSMV", {}),
    "sparse5-WLSM": ("sparse5", "WLSM", {}),
    "sparse5-ULSMV": ("sparse5", "ULSMV", {}),
    "sparse5-WLSMV-stdlv": ("sparse5", "WLSMV_stdlv", {"std_lv": True}),
    "sparse5-WLSMV-theta": ("sparse5", "WLSMV_theta", {"parameterization": "theta"}),
    "sparse5-ULSMV-theta": ("sparse5", "ULSMV_theta", {"parameterization": "theta"}),
    "binary-WLSMV-theta": ("binary", "WLSMV_theta", {"parameterization": "theta"}),
    "binary-WLSMV": ("binary", "WLSMV", {}),
    "binary-ULSMV": ("binary", "ULSMV", {}),
    "missing5-WLSMV-pairwise": ("missing5", "WLSMV", {"missing": "pairwise"}),
    "bfi-WLSMV": ("bfi", "WLSMV", {}),
}

# fitMeasures() names compared (lavaan's name -> ours: '.' -> '_')
MEASURES = [
    "npar",
    "fmin",
    "chisq",
    "df",
    "pvalue",
    "chisq.scaled",
    "df.scaled",
    "pvalue.scaled",
    "chisq.scaling.factor",
    "baseline.chisq",
    "baseline.df",
    "baseline.pvalue",
    "baseline.chisq.scaled",
    "baseline.df.scaled",
    "baseline.pvalue.scaled",
    "baseline.chisq.scaling.factor",
    "cfi",
    "tli",
    "cfi.scaled",
    "tli.scaled",
    "rmsea",
    "rmsea.ci.lower",
    "rmsea.ci.upper",
    "rmsea.pvalue",
    "rmsea.scaled",
    "rmsea.ci.lower.scaled",
    "rmsea.ci.upper.scaled",
    "rmsea.pvalue.scaled",
    "srmr",
    # lavaan 0.6-14's robust measures for categorical data (lav_fit_catml_dwls), not NA
    "cfi.robust",
    "tli.robust",
    "rmsea.robust",
    "rmsea.ci.lower.robust",
    "rmsea.ci.upper.robust",
    "rmsea.pvalue.robust",
]


@pytest.fixture(scope="module", params=list(CASES), ids=list(CASES))
def fitted(request):
    name, key, kwargs = CASES[request.param]
    ref = ORACLES[name]
    data = pd.read_csv(HERE / f"{name}.csv")
    estimator = key.split("_")[0]
    res = cfa(ref["model"], data, ordered=True, estimator=estimator, **kwargs)
    return res, ref[key]


def test_converges_as_lavaan(fitted):
    res, ref = fitted
    assert isinstance(res, OrdinalCFAResult)
    assert res.converged and ref["converged"]
    assert res.nobs == ref["nobs"]
    assert not res.warnings


def test_estimates_and_robust_ses(fitted):
    res, ref = fitted
    pe = pd.DataFrame(ref["estimates"])
    ours = res.estimates
    merged = pe.merge(ours, on=["lhs", "op", "rhs"], suffixes=("_lavaan", ""))
    # every loading, factor (co)variance, residual variance and threshold of lavaan's table;
    # lavaan also lists the fixed intercepts (~1) and scaling factors (~*~), which we do not
    compared = pe[pe["op"].isin(["=~", "~~", "|"])]
    assert len(merged) == len(compared)
    np.testing.assert_allclose(merged["est"], merged["est_lavaan"], atol=1e-3, rtol=0)
    np.testing.assert_allclose(merged["se"], merged["se_lavaan"], atol=1e-3, rtol=0)
    # tighter than the brief's tolerance where lavaan's own optimiser allows it
    assert np.max(np.abs(merged["est"] - merged["est_lavaan"])) < 2e-5
    assert np.max(np.abs(merged["se"] - merged["se_lavaan"])) < 2e-6


@pytest.mark.parametrize("measure", MEASURES)
def test_fit_measures(fitted, measure):
    res, ref = fitted
    expected = ref["fit_measures"][measure]
    got = res.fit_measures()[measure.replace(".", "_")]
    if expected is None:
        assert got is None or not np.isfinite(got)
    elif "chisq" in measure and "factor" not in measure:
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-8)
    else:
        assert got == pytest.approx(expected, abs=1e-3)


def test_scaled_shifted_test_statistic(fitted):
    res, ref = fitted
    kind = "satorra.bentler" if res.estimator == "WLSM" else "scaled.shifted"
    lav = ref["test"][kind]
    ours = res.test[kind]
    assert ours["stat"] == pytest.approx(lav["stat"], rel=1e-6)
    assert ours["scaling_factor"] == pytest.approx(lav["scaling.factor"], rel=1e-6)
    if kind == "scaled.shifted":
        assert ours["shift_parameter"] == pytest.approx(lav["shift.parameter"], rel=1e-5)
        shift = res.fit_measures()["chisq_shift_parameter"]
        assert shift == pytest.approx(lav["shift.parameter"], rel=1e-5)
    assert res.test["standard"]["stat"] == pytest.approx(ref["test"]["standard"]["stat"], rel=1e-6)


def test_to_dict_is_json(fitted):
    res, _ = fitted
    out = json.loads(json.dumps(res.to_dict()))
    assert out["estimator"] == res.estimator
    assert out["fit_measures"]["chisq_scaled"] == pytest.approx(res.fit_measures()["chisq_scaled"])
    assert {"polychoric", "estimates", "test"} <= set(out)


def _sparse():
    return ORACLES["sparse5"]["model"], pd.read_csv(HERE / "sparse5.csv")


def test_ordered_defaults_to_wlsmv():
    model, data = _sparse()
    res = cfa(model, data, ordered=["y1", "y2", "y3", "y4", "y5", "y6", "y7", "y8"])
    assert res.estimator == "WLSMV"
    ref = ORACLES["sparse5"]["WLSMV"]["fit_measures"]
    assert res.fit_measures()["chisq_scaled"] == pytest.approx(ref["chisq.scaled"], rel=1e-6)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"estimator": "WLSMV"}, "for ordered items: pass ordered=True"),
        ({"ordered": True, "estimator": "MLR"}, "not supported with ordered items"),
        ({"ordered": True, "missing": "ml"}, "missing='ml' is not supported with WLSMV"),
        ({"ordered": True, "parameterization": "gamma"}, "parameterization='gamma'"),
        ({"ordered": True, "group": "nope"}, "group variable 'nope' is not in the data"),
        ({"ordered": ["y1", "y2"]}, "mixed continuous and ordered"),
    ],
)
def test_unsupported_combinations_say_what_is_supported(kwargs, message):
    model, data = _sparse()
    with pytest.raises(ValueError, match=message):
        cfa(model, data, **kwargs)


def test_sample_cov_is_refused_for_ordered_items():
    model, data = _sparse()
    with pytest.raises(ValueError, match="needs raw data"):
        cfa(model, sample_cov=data.cov(), nobs=300, ordered=True)


# -- command line ------------------------------------------------------------------------------


def _cli(tmp_path, capsys, *extra, data="sparse5"):
    from psychometrics.cli import main

    model = tmp_path / "model.lav"
    model.write_text(ORACLES[data]["model"] + "\n", encoding="utf-8")
    status = main(["cfa", "--data", str(HERE / f"{data}.csv"), "--model", str(model), *extra])
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_ordered_json_has_lavaan_fit_measures(tmp_path, capsys):
    status, out, err = _cli(tmp_path, capsys, "--ordered", "all", "--json")
    assert status == 0, err
    result = json.loads(out)["result"]
    assert result["estimator"] == "WLSMV" and result["parameterization"] == "delta"
    assert result["fit_measures"]["cfi.robust"] is not None  # the CLI's JSON: lavaan's names
    lav = ORACLES["sparse5"]["WLSMV"]["fit_measures"]
    for name in ("chisq", "chisq.scaled", "df.scaled", "cfi.scaled", "rmsea.scaled", "srmr"):
        got = result["fit_measures"][name]
        assert got == pytest.approx(lav[name], rel=1e-6, abs=1e-9)


def test_cli_theta_parameterization(tmp_path, capsys):
    status, out, err = _cli(tmp_path, capsys, "--ordered", "all", "--parameterization", "theta")
    assert status == 0, err
    assert "parameterization theta" in out
    assert "Categorical omega" in out


def test_cli_estimator_and_item_list(tmp_path, capsys):
    items = ",".join(f"y{i}" for i in range(1, 9))
    status, out, err = _cli(
        tmp_path,
        capsys,
        "--ordered",
        items,
        "--estimator",
        "wlsm",
        "--missing",
        "pairwise",
        data="missing5",
    )
    assert status == 0, err
    assert "Estimator WLSM (ordered items" in out and "satorra.bentler" in out
    # the text is the lavaan-style summary (test_summary_ordinal.py)
    assert "    Satorra-Bentler correction" in out and "Number of missing patterns" in out
    assert "y1 | t1" not in out  # a table row, not a formula


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--estimator", "ULSMV"], "add --ordered all"),
        (["--ordered", "all", "--estimator", "MLR"], "supported: WLSMV, WLSM, ULSMV"),
        (["--ordered", "all", "--missing", "ml"], "missing='ml' is not supported with WLSMV"),
        (["--ordered", "y1,nope"], "not in the data: nope"),
        (["--ordered", "y1,y2"], "mixed continuous and ordered"),
        (["--parameterization", "theta"], "only with --ordered"),
    ],
)
def test_cli_errors_are_one_line(tmp_path, capsys, extra, fragment):
    status, out, err = _cli(tmp_path, capsys, *extra)
    assert status == 2 and out == ""
    assert fragment in err and len(err.strip().splitlines()) == 1


# -- thresholds in the syntax --------------------------------------------------------------------


def test_thresholds_in_the_syntax_declare_ordered_items():
    model, data = _sparse()
    thresholds = "".join(f"y{i} | t1 + t2 + t3 + t4\n" for i in range(1, 9))
    res = cfa(model + "\n" + thresholds, data)
    assert isinstance(res, OrdinalCFAResult) and res.estimator == "WLSMV"
    ref = ORACLES["sparse5"]["WLSMV"]["fit_measures"]
    assert res.fit_measures()["chisq_scaled"] == pytest.approx(ref["chisq.scaled"], rel=1e-6)
    # with ordered=, a subset of items may carry thresholds; ';' and comments are fine
    res = cfa(
        model + "\ny1 | t1 + t2 + t3 + t4; y2 | t1+t2+t3+t4  # two items\n", data, ordered=True
    )
    assert res.fit_measures()["chisq_scaled"] == pytest.approx(ref["chisq.scaled"], rel=1e-6)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ("y1 | t1 + t2", "has 5 observed categories and so 4 thresholds"),
        ("y1 | 0.5*t1 + t2 + t3 + t4", "line 3, column 5: threshold term '0.5\\*t1'"),
        ("y1 | a*t1 + t2 + t3 + t4", "no fixed values or labels"),
        ("zz | t1", "not an indicator of the model"),
    ],
)
def test_bad_threshold_statements(extra, message):
    model, data = _sparse()
    with pytest.raises(ValueError, match=message):
        cfa(model + "\n" + extra + "\n", data, ordered=True)


def test_thresholds_on_some_items_only_is_a_mixed_model():
    model, data = _sparse()
    with pytest.raises(ValueError, match="mixed continuous and ordered indicators"):
        cfa(model + "\ny1 | t1 + t2 + t3 + t4\n", data)


# -- categorical omega ---------------------------------------------------------------------------

OMEGA = json.loads((HERE / "omega_oracles.json").read_text())


@pytest.mark.parametrize("name", ["sparse5", "binary", "bfi"])
@pytest.mark.parametrize("parameterization", ["delta", "theta"])
def test_categorical_omega_matches_semtools(name, parameterization):
    data = pd.read_csv(HERE / f"{name}.csv")
    res = cfa(ORACLES[name]["model"], data, ordered=True, parameterization=parameterization)
    for obs_var, key in ((True, "obs_var"), (False, "model_var")):
        rel = res.composite_reliability(obs_var=obs_var)
        expected = OMEGA[name][key]
        assert list(rel["factor"]) == list(expected)
        np.testing.assert_allclose(rel["omega"], list(expected.values()), atol=1e-5)


# -- several groups: the configural model ------------------------------------------------------

MULTIGROUP = json.loads((HERE / "multigroup_oracles.json").read_text())
MG_CASES = {
    "binary-WLSMV": ("binary", "binary_groups.csv", "g", "WLSMV"),
    "binary-WLSM": ("binary", "binary_groups.csv", "g", "WLSM"),
    "bfi-gender-WLSMV": ("bfi", "bfi_gender.csv", "gender", "WLSMV"),
}


@pytest.fixture(scope="module", params=list(MG_CASES), ids=list(MG_CASES))
def configural(request):
    name, csv, group, estimator = MG_CASES[request.param]
    data = pd.read_csv(HERE / csv)
    items = [c for c in data.columns if c != group]
    ref = MULTIGROUP[name]
    res = cfa(ref["model"], data, ordered=items, estimator=estimator, group=group)
    return res, ref[estimator]


def test_configural_estimates_and_ses(configural):
    res, ref = configural
    assert res.converged and not res.warnings
    assert [str(g) for g in res.group_labels] == ref["group_labels"]
    assert res.group_nobs == ref["nobs"]
    pe = pd.DataFrame(ref["estimates"])
    merged = pe.merge(res.estimates, on=["lhs", "op", "rhs", "group"], suffixes=("_lavaan", ""))
    assert len(merged) == len(pe[pe["op"].isin(["=~", "~~", "|"])])
    assert np.max(np.abs(merged["est"] - merged["est_lavaan"])) < 1e-4
    assert np.max(np.abs(merged["se"] - merged["se_lavaan"])) < 1e-5


@pytest.mark.parametrize("measure", MEASURES)
def test_configural_fit_measures(configural, measure):
    res, ref = configural
    expected = ref["fit_measures"][measure]
    got = res.fit_measures()[measure.replace(".", "_")]
    if expected is None:
        assert got is None or not np.isfinite(got)
    elif "chisq" in measure and "factor" not in measure:
        assert got == pytest.approx(expected, rel=1e-4, abs=1e-8)
    else:
        assert got == pytest.approx(expected, abs=1e-3)


def test_configural_result_exports():
    data = pd.read_csv(HERE / "binary_groups.csv")
    res = cfa(ORACLES["binary"]["model"], data, ordered=True, group="g")
    out = json.loads(json.dumps(res.to_dict()))
    assert out["group_labels"] == ["A", "B"] and len(out["polychoric"]) == 2
    rel = res.composite_reliability()
    assert list(rel["group"]) == [1, 2] and rel["omega"].between(0, 1).all()


def test_ordinal_invariance_constraints_are_refused():
    data = pd.read_csv(HERE / "binary_groups.csv")
    with pytest.raises(ValueError, match="group_equal .ordinal invariance. is not supported"):
        cfa(ORACLES["binary"]["model"], data, ordered=True, group="g", group_equal="loadings")
