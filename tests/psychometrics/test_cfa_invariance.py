"""Multi-group CFA and measurement invariance across school in Holzinger-Swineford, against
lavaan 0.6-14 (expected/cfa_hs_invariance.json from r/generate_cfa_oracles.R, the shared
oracle holzinger_swineford_lavaan.json, and expected/cfa_core_hs.json from r/generate_cfa_core.R).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import InvarianceResult, cfa, invariance

HERE = Path(__file__).parent
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
LEVELS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}


def load(name):
    with open(HERE / "expected" / name, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(HERE / "data" / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def inv(hs):
    return invariance(HS_MODEL, hs, group="school")


def key(frame):
    return frame["lhs"] + frame["op"] + frame["rhs"] + frame["group"].astype(str)


@pytest.mark.parametrize("level", ["configural", "metric", "scalar"])
def test_shared_oracle_levels(inv, level):
    ref = load("holzinger_swineford_lavaan.json")["holzinger_swineford"]["invariance_school"]
    row = inv.table.set_index("level").loc[level]
    assert row["chisq"] == pytest.approx(ref[level]["chisq"], rel=1e-4)
    assert row["df"] == ref[level]["df"]
    for name in ("cfi", "rmsea", "srmr"):
        assert row[name] == pytest.approx(ref[level][name], abs=1e-3)


@pytest.mark.parametrize("level", list(LEVELS))
def test_levels_fit_measures_and_estimates(inv, level):
    ref = load("cfa_hs_invariance.json")["levels"][level]
    res = inv.fits[level]
    assert res.converged
    assert res.group_labels == ["Pasteur", "Grant-White"]
    assert res.group_nobs == ref["nobs"]
    fm = res.fit_measures()
    for name, value in ref["fit_measures"].items():
        ours = {"ntotal": "nobs"}.get(name, name.replace(".", "_"))
        if ours not in fm or value is None:
            continue
        if ours in {"chisq", "logl", "unrestricted_logl", "aic", "bic", "bic2", "baseline_chisq"}:
            assert fm[ours] == pytest.approx(value, rel=1e-4), ours
        else:
            assert fm[ours] == pytest.approx(value, abs=1e-3), ours
    est = pd.DataFrame(ref["estimates"])
    est.index = key(est)
    ours = res.estimates.set_index(key(res.estimates))
    np.testing.assert_allclose(ours.loc[est.index, "est"], est["est"], atol=1e-3)
    np.testing.assert_allclose(ours.loc[est.index, "se"], est["se"], atol=1e-3)
    std = pd.DataFrame(ref["std_all"])
    std.index = key(std)
    np.testing.assert_allclose(ours.loc[std.index, "std_all"], std["est.std"], atol=1e-3)
    np.testing.assert_allclose(ours.loc[std.index, "se_std_all"], std["se"], atol=1e-3)


def test_difference_tests_match_lavtestlrt(inv):
    lrt = {r["model"]: r for r in load("cfa_hs_invariance.json")["lrt"]}
    table = inv.table.set_index("level")
    for level in ("metric", "scalar", "strict"):
        assert table.loc[level, "delta_chisq"] == pytest.approx(lrt[level]["chisq_diff"], rel=1e-4)
        assert table.loc[level, "delta_df"] == lrt[level]["df_diff"]
        assert table.loc[level, "delta_pvalue"] == pytest.approx(lrt[level]["pvalue"], rel=1e-3)
    assert np.isnan(table.loc["configural", "delta_chisq"])
    assert table.loc["scalar", "delta_cfi"] == pytest.approx(
        table.loc["scalar", "cfi"] - table.loc["metric", "cfi"]
    )
    assert list(inv.table.columns) == [
        "level",
        "npar",
        "chisq",
        "df",
        "pvalue",
        "cfi",
        "tli",
        "rmsea",
        "srmr",
        "aic",
        "bic",
        "delta_chisq",
        "delta_df",
        "delta_pvalue",
        "delta_cfi",
        "delta_rmsea",
    ]


def test_scalar_model_frees_latent_means_in_second_group(inv):
    est = inv.fits["scalar"].estimates
    means = est[(est["op"] == "~1") & est["lhs"].isin(["visual", "textual", "speed"])]
    assert not means[means["group"] == 1]["free"].any()
    assert means[means["group"] == 2]["free"].all()
    metric = inv.fits["metric"].estimates
    loads = metric[(metric["op"] == "=~") & (metric["rhs"] == "x2")]
    assert loads["est"].nunique() == 1


def test_metric_modification_indices(hs):
    ref = load("cfa_core_hs.json")["invariance_school"]["metric"]["modindices"]
    res = cfa(HS_MODEL, hs, group="school", group_equal=["loadings"])
    ours = res.modification_indices()
    ref = pd.DataFrame(ref)
    assert set(key(ours)) == set(key(ref))
    ours = ours.set_index(key(ours)).loc[key(ref)]
    np.testing.assert_allclose(ours["mi"], ref["mi"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours["epc"], ref["epc"], atol=1e-3)
    np.testing.assert_allclose(ours["sepc_all"], ref["sepc_all"], atol=1e-3)


def test_std_lv_scalar_frees_second_group_variances(hs):
    ref = load("cfa_core_hs.json")["invariance_school_std_lv_scalar"]
    res = cfa(HS_MODEL, hs, group="school", group_equal=("loadings", "intercepts"), std_lv=True)
    assert res.fit_measures()["npar"] == ref["fit"]["npar"]
    assert res.fit_measures()["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-4)
    est = pd.DataFrame(ref["estimates"])
    ours = res.estimates.set_index(key(res.estimates))
    np.testing.assert_allclose(ours.loc[key(est), "se"], est["se"], atol=1e-3)


def test_invariance_result_to_dict_and_errors(inv, hs):
    assert isinstance(inv, InvarianceResult)
    out = json.loads(json.dumps(inv.to_dict(), allow_nan=False))
    assert [r["level"] for r in out["table"]] == list(LEVELS)
    assert out["table"][0]["delta_chisq"] is None
    with pytest.raises(ValueError, match="unknown invariance level"):
        invariance(HS_MODEL, hs, group="school", levels=("configural", "partial"))
