"""Ordinal measurement invariance (WLSMV, delta and theta; Wu & Estabrook 2016) across groups
and waves, and longitudinal invariance with MLM, against lavaan 0.6-14 / semTools 0.5-6.

References: tests/psychometrics/expected/ordinal_invariance/generate_ordinal_invariance.R
(two groups, N = 520 + 480; delta and theta; complete, and 6 % MCAR cells with pairwise) and
generate_longitudinal_ordinal.R (three waves, N = 400 with dropout: complete cases and
pairwise, theta on complete cases; MLM on ../longitudinal/long.csv).
"""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import invariance
from psychometrics.cfa.errors import DataError
from psychometrics.cfa.longitudinal import longitudinal_invariance
from psychometrics.cli import main
from psychometrics.syntax import ModelSyntaxError

HERE = Path(__file__).parent / "expected" / "ordinal_invariance"
GROUPS = pd.read_csv(HERE / "groups.csv")
LONG = pd.read_csv(HERE / "long_ordinal.csv")
CONT_LONG = Path(__file__).parent / "expected" / "longitudinal" / "long.csv"
MG = json.loads((HERE / "ordinal_invariance_oracles.json").read_text())
LG = json.loads((HERE / "longitudinal_oracles.json").read_text())
MODEL = MG["meta"]["model"]
LONG_MODEL = "F1 =~ y1 + y2 + y3\nF2 =~ y4 + y5 + y6\n"
CONT_MODEL = "F1 =~ x1 + x2 + x3\nF2 =~ x4 + x5 + x6\n"

CHISQ = ("chisq", "chisq.scaled", "baseline.chisq", "baseline.chisq.scaled")
MEASURES = (
    "chisq.scaling.factor",
    "cfi",
    "tli",
    "cfi.scaled",
    "tli.scaled",
    "rmsea",
    "rmsea.scaled",
    "rmsea.ci.lower.scaled",
    "rmsea.ci.upper.scaled",
    "srmr",
    "pvalue.scaled",
    "cfi.robust",
    "tli.robust",
    "rmsea.robust",
)


def run_in_process(capsys, *argv):
    try:
        status = main(list(map(str, argv)))
    except SystemExit as exc:  # argparse's own errors
        status = exc.code
    out, err = capsys.readouterr()
    return subprocess.CompletedProcess(argv, status, out, err)


def check_measures(mine: dict, ref: dict, *, chisq_rel=1e-6, tol=1e-6):
    for key in ("npar", "df", "df.scaled", "baseline.df"):
        assert mine[key.replace(".", "_")] == ref[key], key
    for key in CHISQ:
        assert mine[key.replace(".", "_")] == pytest.approx(ref[key], rel=chisq_rel), key
    for key in MEASURES:
        value = mine[key.replace(".", "_")]
        if ref[key] is None:  # lavaan: NA (robust measures of the constrained levels)
            assert math.isnan(value), key
        else:
            assert value == pytest.approx(ref[key], abs=tol), key


def check_estimates(table: pd.DataFrame, ref: dict, keys, *, est_tol=1e-5, se_tol=1e-6):
    r = pd.DataFrame(ref)
    merged = r.merge(table, on=keys, suffixes=("_r", "_m"), how="left")
    assert not merged["est_m"].isna().any(), "a lavaan parameter has no counterpart"
    assert len(merged) == len(r)
    np.testing.assert_allclose(merged["est_m"], merged["est_r"], atol=est_tol, rtol=0)
    np.testing.assert_allclose(merged["se_m"], merged["se_r"], atol=se_tol, rtol=0)


# ------------------------------------------------------------------------------ groups
@pytest.fixture(scope="module")
def groups():
    return invariance(MODEL, GROUPS, "grp", estimator="WLSMV", ordered=True)


@pytest.mark.parametrize("level", ["configural", "thresholds", "metric", "scalar"])
def test_each_level_matches_lavaan(groups, level):
    ref = MG["levels"][level]
    fit = groups.fits[level]
    assert fit.converged and ref["converged"]
    check_measures(fit.fit_measures(), ref["fit_measures"])
    table = groups.fits[level].estimates.assign(rhs=lambda t: t["rhs"].fillna(""))
    check_estimates(table, ref["estimates"], ["lhs", "op", "rhs", "group"])


def test_the_thresholds_level_frees_intercepts_and_scales_in_the_second_group(groups):
    est = groups.fits["thresholds"].estimates
    second = est[est["group"] == 2]
    assert second.loc[second["op"] == "~*~", "free"].all()
    assert second.loc[(second["op"] == "~1") & second["lhs"].str.startswith("y"), "free"].all()
    first = est[est["group"] == 1]
    assert not first.loc[first["op"] == "~*~", "free"].any()
    th = est[est["op"] == "|"].pivot_table(index=["lhs", "rhs"], columns="group", values="est")
    np.testing.assert_array_equal(th[1], th[2])


@pytest.mark.parametrize("level", ["thresholds", "metric", "scalar"])
def test_difference_tests_match_lavtestlrt(groups, level):
    ref = MG["lrt"][level]
    assert "satorra.2000" in ref["method"]
    test = groups.tests[level]
    assert test.method == "satorra.2000"
    assert test.df_diff == ref["df_diff"]
    assert test.chisq_diff == pytest.approx(ref["chisq_diff"], rel=1e-6)
    assert test.pvalue == pytest.approx(ref["pvalue"], abs=1e-6)
    row = groups.table.set_index("level").loc[level]
    assert row["delta_chisq"] == test.chisq_diff
    prev = list(MG["levels"])[list(MG["levels"]).index(level) - 1]
    for key in ("cfi.scaled", "rmsea.scaled"):
        expected = (
            MG["levels"][level]["fit_measures"][key] - MG["levels"][prev]["fit_measures"][key]
        )
        assert row[f"delta_{key.replace('.', '_')}"] == pytest.approx(expected, abs=1e-6)


def test_the_table_and_json(groups):
    assert list(groups.table["level"]) == ["configural", "thresholds", "metric", "scalar"]
    out = groups.to_dict()
    assert set(out["tests"]) == {"thresholds", "metric", "scalar"}
    assert out["fits"]["scalar"]["parameterization"] == "delta"
    json.dumps(out)  # plain JSON (no NaN objects)


@pytest.mark.parametrize(
    ("kwargs", "error", "fragment"),
    [
        ({"levels": ["configural", "strict"]}, ValueError, "not a model of the delta"),
        ({"missing": "ml"}, ValueError, "'listwise' or 'pairwise'"),
        ({"parameterization": "probit"}, ValueError, "supports 'delta' and 'theta'"),
        ({"estimator": "WLSM"}, ValueError, "estimator='WLSMV' only"),
        ({"ordered": ["y1", "y2"]}, ValueError, "not ordered: y3"),
    ],
)
def test_unsupported_combinations_are_clear_errors(kwargs, error, fragment):
    args = {"estimator": "WLSMV", "ordered": True, **kwargs}
    with pytest.raises(error, match=fragment):
        invariance(MODEL, GROUPS, "grp", **args)


def test_labels_in_the_model_are_refused():
    with pytest.raises(ModelSyntaxError, match="plain syntax"):
        invariance(
            "f1 =~ y1 + a*y2 + y3\nf2 =~ y4 + y5 + y6",
            GROUPS,
            "grp",
            ordered=True,
            estimator="WLSMV",
        )


def test_an_empty_category_in_one_group_is_a_data_error():
    data = GROUPS.copy()
    data.loc[(data["grp"] == "b") & (data["y6"] == 5), "y6"] = 4
    with pytest.raises(DataError, match="same categories in every group.*y6"):
        invariance(MODEL, data, "grp", estimator="WLSMV", ordered=True)


@pytest.mark.parametrize("level", ["configural", "thresholds", "metric", "scalar"])
def test_pairwise_missing_across_groups_matches_lavaan(groups_pairwise, level):
    ref = MG["pairwise"]["levels"][level]
    fit = groups_pairwise.fits[level]
    check_measures(fit.fit_measures(), ref["fit_measures"])
    table = fit.estimates.assign(rhs=lambda t: t["rhs"].fillna(""))
    check_estimates(table, ref["estimates"], ["lhs", "op", "rhs", "group"])
    if level != "configural":
        test, r = groups_pairwise.tests[level], MG["pairwise"]["lrt"][level]
        assert test.chisq_diff == pytest.approx(r["chisq_diff"], rel=1e-6)
        assert test.pvalue == pytest.approx(r["pvalue"], abs=1e-6)


@pytest.fixture(scope="module")
def groups_pairwise():
    data = pd.read_csv(HERE / "groups_missing.csv")
    assert data.isna().any().any()
    return invariance(MODEL, data, "grp", estimator="WLSMV", ordered=True, missing="pairwise")


# ------------------------------------------------------------------------------ theta
# lavaan stops the theta fits a little earlier than the delta ones (its estimates differ from
# ours by up to 2.5e-5 while our chi-squares are lower by ~5e-7): estimates and SEs to 1e-4.
@pytest.fixture(scope="module")
def theta_groups():
    return invariance(
        MODEL, GROUPS, "grp", estimator="WLSMV", ordered=True, parameterization="theta"
    )


def test_theta_ladder_ends_with_strict(theta_groups):
    assert list(theta_groups.fits) == ["configural", "thresholds", "metric", "scalar", "strict"]
    est = theta_groups.fits["strict"].estimates
    resid = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].str.startswith("y")]
    assert not resid["free"].any() and np.allclose(resid["est"], 1.0)
    scales = est[est["op"] == "~*~"]
    assert not scales["free"].any()  # derived: 1 / sd(y*)


@pytest.mark.parametrize("level", ["configural", "thresholds", "metric", "scalar", "strict"])
def test_theta_levels_match_lavaan(theta_groups, level):
    ref = MG["theta"]["levels"][level]
    fit = theta_groups.fits[level]
    assert fit.converged and fit.parameterization == "theta"
    check_measures(fit.fit_measures(), ref["fit_measures"])
    table = fit.estimates.assign(rhs=lambda t: t["rhs"].fillna(""))
    check_estimates(
        table, ref["estimates"], ["lhs", "op", "rhs", "group"], est_tol=1e-4, se_tol=1e-4
    )
    if level != "configural":
        test, r = theta_groups.tests[level], MG["theta"]["lrt"][level]
        assert test.df_diff == r["df_diff"]
        assert test.chisq_diff == pytest.approx(r["chisq_diff"], rel=1e-6)
        assert test.pvalue == pytest.approx(r["pvalue"], abs=1e-6)


def test_theta_longitudinal_matches_lavaan():
    res = longitudinal_invariance(
        LONG_MODEL,
        LONG,
        id="participant",
        time="wave",
        estimator="WLSMV",
        ordered=True,
        parameterization="theta",
    )
    ref = LG["theta_listwise"]
    assert list(res.fits) == list(ref["levels"])
    for level, fit in res.fits.items():
        check_measures(fit.fit_measures(), ref["levels"][level]["fit_measures"])
        check_estimates(
            fit.estimates,
            ref["levels"][level]["estimates"],
            ["lhs", "op", "rhs"],
            est_tol=1e-4,
            se_tol=1e-4,
        )
    for step in res.steps:
        r = ref["lrt"][step["level"]]
        assert step["delta_df"] == r["df_diff"]
        assert step["delta_chisq"] == pytest.approx(r["chisq_diff"], rel=1e-6)
        assert step["delta_pvalue"] == pytest.approx(r["pvalue"], abs=1e-6)
    assert "y1_w2 ~~ y1_w2" not in res.syntax["strict"]  # no free residual variance
    assert "y1_w2 ~~ 1*y1_w2" in res.syntax["strict"]


# ------------------------------------------------------------------------------ waves
@pytest.fixture(scope="module", params=["listwise", "pairwise"])
def waves(request):
    res = longitudinal_invariance(
        LONG_MODEL,
        LONG,
        id="participant",
        time="wave",
        estimator="WLSMV",
        ordered=True,
        missing=request.param,
    )
    return request.param, res


def test_longitudinal_levels_match_lavaan(waves):
    missing, res = waves
    ref = LG[missing]
    assert list(res.fits) == ["configural", "thresholds", "metric", "scalar"]
    for level, fit in res.fits.items():
        assert fit.converged and ref["levels"][level]["converged"]
        assert fit.nobs == ref["levels"][level]["nobs"]
        check_measures(fit.fit_measures(), ref["levels"][level]["fit_measures"])
        check_estimates(fit.estimates, ref["levels"][level]["estimates"], ["lhs", "op", "rhs"])


def test_longitudinal_difference_tests_match_lavaan(waves):
    missing, res = waves
    for step in res.steps:
        ref = LG[missing]["lrt"][step["level"]]
        assert step["from"] == ref["versus"]
        assert step["method"] == "satorra.2000"
        assert step["delta_df"] == ref["df_diff"]
        assert step["delta_chisq"] == pytest.approx(ref["chisq_diff"], rel=1e-6)
        assert step["delta_pvalue"] == pytest.approx(ref["pvalue"], abs=1e-6)


def test_the_written_syntax_shares_threshold_labels_across_waves(waves):
    _, res = waves
    text = res.syntax["thresholds"]
    labels = {
        line.split("|")[1].split("*")[0].strip()
        for line in text.splitlines()
        if line.startswith("y1_w") and "| " in line and line.endswith("*t1")
    }
    assert len(labels) == 1 and labels != {"NA"}
    assert "y1_w2 ~*~ NA*y1_w2" in text and "y1_w1 ~*~ 1*y1_w1" in text
    assert "y1_w1 ~~ NA*y1_w3" in text  # each item's residuals across waves
    assert res.to_dict()["levels"]["metric"]["constraints"] == ["thresholds", "loadings"]


def test_longitudinal_ordinal_errors():
    kw = {"id": "participant", "time": "wave", "estimator": "WLSMV", "ordered": True}
    with pytest.raises(ValueError, match="supported: listwise, pairwise"):
        longitudinal_invariance(LONG_MODEL, LONG, missing="ml", **kw)
    with pytest.raises(ValueError, match="not a model of the delta"):
        longitudinal_invariance(LONG_MODEL, LONG, levels=["configural", "strict"], **kw)
    with pytest.raises(ValueError, match="pass ordered=True"):
        longitudinal_invariance(LONG_MODEL, LONG, id="participant", time="wave", estimator="WLSMV")
    with pytest.raises(ValueError, match="identification 'std.lv' only"):
        longitudinal_invariance(LONG_MODEL, LONG, identification="marker", **kw)


# ------------------------------------------------------------------------------ MLM
@pytest.fixture(scope="module")
def mlm():
    data = pd.read_csv(CONT_LONG)
    return longitudinal_invariance(CONT_MODEL, data, id="participant", time="wave", estimator="MLM")


def test_longitudinal_mlm_matches_lavaan(mlm):
    ref = LG["mlm"]
    for level, fit in mlm.fits.items():
        rf = ref["levels"][level]["fit_measures"]
        fm = fit.fit_measures()
        assert fit.nobs == ref["nobs"]
        assert fm["df"] == rf["df"]
        for key in ("chisq", "chisq.scaled", "baseline.chisq.scaled"):
            assert fm[key.replace(".", "_")] == pytest.approx(rf[key], rel=1e-5), key
        for key in ("chisq.scaling.factor", "cfi.scaled", "cfi.robust", "rmsea.robust", "srmr"):
            assert fm[key.replace(".", "_")] == pytest.approx(rf[key], abs=1e-5), key
        r = pd.DataFrame(ref["levels"][level]["estimates"])
        merged = r.merge(fit.estimates, on=["lhs", "op", "rhs"], suffixes=("_r", "_m"))
        assert len(merged) == len(r)
        np.testing.assert_allclose(merged["est_m"], merged["est_r"], atol=5e-5)
        np.testing.assert_allclose(merged["se_m"], merged["se_r"], atol=1e-5)
    for step, r in zip(mlm.steps, ref["lrt"], strict=True):
        assert step["level"] == r["level"]
        assert step["method"] == "satorra.bentler.2001"
        assert step["delta_df"] == r["df_diff"]
        assert step["delta_chisq"] == pytest.approx(r["chisq_diff"], rel=1e-4)
        assert step["delta_pvalue"] == pytest.approx(r["pvalue"], abs=1e-5)


def test_mlm_needs_complete_data():
    data = pd.read_csv(CONT_LONG)
    with pytest.raises(ValueError, match="supported: listwise"):
        longitudinal_invariance(
            CONT_MODEL, data, id="participant", time="wave", estimator="MLM", missing="ml"
        )


# ------------------------------------------------------------------------------ CLI
@pytest.fixture(scope="module")
def model_files(tmp_path_factory):
    d = tmp_path_factory.mktemp("models")
    (d / "groups.lav").write_text(MODEL)
    (d / "long.lav").write_text(LONG_MODEL)
    return d


def test_cli_multigroup_ordinal(capsys, model_files):
    proc = run_in_process(
        capsys,
        "invariance",
        "--data",
        str(HERE / "groups.csv"),
        "--model",
        str(model_files / "groups.lav"),
        "--group",
        "grp",
        "--estimator",
        "WLSMV",
        "--ordered",
        "all",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["result"]
    fm = out["fits"]["metric"]["fit_measures"]
    assert fm["chisq.scaled"] == pytest.approx(
        MG["levels"]["metric"]["fit_measures"]["chisq.scaled"], rel=1e-6
    )
    assert out["tests"]["scalar"]["chisq_diff"] == pytest.approx(
        MG["lrt"]["scalar"]["chisq_diff"], rel=1e-6
    )


def test_cli_longitudinal_ordinal_pairwise(capsys, model_files):
    proc = run_in_process(
        capsys,
        "invariance",
        "--data",
        str(HERE / "long_ordinal.csv"),
        "--model",
        str(model_files / "long.lav"),
        "--longitudinal",
        "--id",
        "participant",
        "--time",
        "wave",
        "--ordered",
        "all",
        "--missing",
        "pairwise",
        "--json",
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)["result"]
    assert out["design"]["estimator"] == "WLSMV"
    fm = out["levels"]["scalar"]["fit_measures"]
    ref = LG["pairwise"]["levels"]["scalar"]["fit_measures"]
    assert fm["chisq.scaled"] == pytest.approx(ref["chisq.scaled"], rel=1e-6)
    assert [t["level"] for t in out["tests"]] == ["thresholds", "metric", "scalar"]


@pytest.mark.parametrize(
    ("extra", "option", "fragment"),
    [
        (["--group", "grp", "--ordered", "all", "--missing", "ml"], "--missing", "pairwise"),
        (["--group", "grp", "--ordered", "all", "--estimator", "ULSMV"], "--estimator", "WLSMV"),
        (["--group", "grp", "--estimator", "WLSMV"], "--ordered", "add --ordered all"),
        (["--group", "grp", "--missing", "pairwise"], "--missing", "only for ordered items"),
        (["--group", "grp", "--parameterization", "theta"], "--parameterization", "--ordered"),
    ],
)
def test_cli_ordinal_usage_errors(capsys, model_files, extra, option, fragment):
    proc = run_in_process(
        capsys,
        "invariance",
        "--data",
        str(HERE / "groups.csv"),
        "--model",
        str(model_files / "groups.lav"),
        *extra,
    )
    assert proc.returncode == 2
    assert option in proc.stderr and fragment in proc.stderr


def test_a_negative_residual_variance_is_a_heywood_warning():
    # in group a the polychorics give r(y4,y3) r(y4,y6) / r(y3,y6) = 1.2: a one-factor model
    # of these three items needs a standardised loading of y4 above 1
    res = invariance(
        "f =~ y4 + y3 + y6", GROUPS, "grp", levels=["configural"], estimator="WLSMV", ordered=True
    )
    fit = res.fits["configural"]
    est = fit.estimates
    resid = est[(est["op"] == "~~") & (est["lhs"] == "y4")].set_index("group")["est"]
    assert resid[1] < 0 < resid[2]
    assert [w for w in fit.warnings if w.startswith("Heywood case")] == [
        f"Heywood case: the residual variance of 'y4' is negative ({resid[1]:.4g}) (group 1)"
    ]
