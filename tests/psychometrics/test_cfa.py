"""Golden tests of psychometrics.cfa against R's lavaan 0.6-14 and semTools 0.5-6.

Reference values: tests/psychometrics/expected/ (holzinger_swineford_lavaan.json copied from the
shared oracles; cfa_hs_*.json, cfa_second_order.json, cfa_heywood.json, cfa_equality_labels.json
from r/generate_cfa_oracles.R; cfa_core_hs.json from r/generate_cfa_core.R).
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import (
    CFAResult,
    DataError,
    ModelIdentificationError,
    NonPositiveDefiniteError,
    cfa,
)
from psychometrics.syntax import ModelSyntaxError

HERE = Path(__file__).parent
EXPECTED = HERE / "expected"
DATA = HERE / "data"
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"
ABS = 1e-3
RELATIVE_KEYS = {"chisq", "logl", "unrestricted_logl", "aic", "bic", "bic2", "baseline_chisq"}


def load(name):
    with open(EXPECTED / name, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def hs():
    return pd.read_csv(DATA / "holzinger_swineford_1939.csv")


@pytest.fixture(scope="module")
def hs_fit(hs):
    return cfa(HS_MODEL, hs)


def key(frame):
    group = frame["group"] if "group" in frame else 1
    return (
        frame["lhs"]
        + " "
        + frame["op"]
        + " "
        + frame["rhs"]
        + " "
        + pd.Series(group, index=frame.index).astype(str)
    )


def check_fit(result, reference):
    """Compare fit measures with lavaan's (names with '.', 'ntotal' for nobs)."""
    fm = result.fit_measures()
    checked = 0
    for name, value in reference.items():
        ours = {"ntotal": "nobs"}.get(name, name.replace(".", "_"))
        if ours not in fm or value is None:
            continue
        if ours in RELATIVE_KEYS:
            assert fm[ours] == pytest.approx(value, rel=1e-4), ours
        elif ours.endswith("pvalue"):
            assert fm[ours] == pytest.approx(value, rel=1e-3, abs=1e-8), ours
        else:
            assert fm[ours] == pytest.approx(value, abs=ABS), ours
        checked += 1
    assert checked >= 10


def check_table(result, reference, columns, std=None):
    """Compare parameter rows (lavaan parameterEstimates / standardizedSolution records)."""
    ref = pd.DataFrame(reference)
    ref.index = key(ref)
    ours = result.estimates.copy()
    ours.index = key(ours)
    assert set(ref.index) <= set(ours.index)
    for theirs, mine in columns.items():
        r = ref[theirs].astype(float)
        o = ours.loc[ref.index, mine].astype(float)
        ok = r.notna()
        np.testing.assert_allclose(o[ok], r[ok], atol=ABS, err_msg=mine)


def check_mi(result, reference, sepc=True):
    ref = pd.DataFrame(reference)
    ref.index = key(ref)
    ours = result.modification_indices()
    ours.index = key(ours)
    assert set(ref.index) == set(ours.index)
    ours = ours.loc[ref.index]
    np.testing.assert_allclose(ours["mi"], ref["mi"], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours["epc"], ref["epc"], atol=ABS)
    if sepc:
        lv = "sepc.lv" if "sepc.lv" in ref else "sepc_lv"
        al = "sepc.all" if "sepc.all" in ref else "sepc_all"
        np.testing.assert_allclose(ours["sepc_lv"], ref[lv], atol=ABS)
        np.testing.assert_allclose(ours["sepc_all"], ref[al], atol=ABS)


# --- Holzinger-Swineford three-factor model (the shared oracle) ------------------------------


def test_hs_fit_measures_match_shared_oracle(hs_fit):
    ref = load("holzinger_swineford_lavaan.json")["holzinger_swineford"]["fit"]
    assert hs_fit.converged
    assert hs_fit.nobs == 301
    check_fit(hs_fit, ref)


def test_hs_all_fit_measures_match_lavaan(hs_fit):
    check_fit(hs_fit, load("cfa_hs_full.json")["fit"]["fit_measures"])
    fm = hs_fit.fit_measures()
    assert set(fm) >= {
        "npar",
        "nobs",
        "logl",
        "unrestricted_logl",
        "aic",
        "bic",
        "bic2",
        "chisq",
        "df",
        "pvalue",
        "baseline_chisq",
        "baseline_df",
        "baseline_pvalue",
        "cfi",
        "tli",
        "rmsea",
        "rmsea_ci_lower",
        "rmsea_ci_upper",
        "rmsea_pvalue",
        "srmr",
    }


def test_hs_unstandardised_estimates_and_se(hs_fit):
    ref = load("holzinger_swineford_lavaan.json")["holzinger_swineford"]["unstd"]
    check_table(hs_fit, ref, {"est": "est", "se": "se"})
    full = load("cfa_hs_full.json")["fit"]
    check_table(hs_fit, full["estimates"], {"est": "est", "se": "se", "z": "z", "pvalue": "pvalue"})


def test_hs_fixed_marker_has_zero_se_and_no_z(hs_fit):
    row = hs_fit.estimates.iloc[0]
    assert (row.lhs, row.op, row.rhs, row.free, row.est, row.se) == (
        "visual",
        "=~",
        "x1",
        False,
        1.0,
        0.0,
    )
    assert np.isnan(row.z)


def test_hs_standardised_loadings_with_se(hs_fit):
    ref = load("holzinger_swineford_lavaan.json")["holzinger_swineford"]["loadings"]
    ref = [dict(r, op="=~") for r in ref]
    check_table(hs_fit, ref, {"est.std": "std_all", "se": "se_std_all"})


def test_hs_full_standardised_solutions(hs_fit):
    full = load("cfa_hs_full.json")["fit"]
    check_table(hs_fit, full["std_all"], {"est.std": "std_all", "se": "se_std_all"})
    check_table(hs_fit, full["std_lv"], {"est.std": "std_lv"})


def test_hs_top5_modification_indices(hs_fit):
    ref = load("holzinger_swineford_lavaan.json")["holzinger_swineford"]["modindices_top5"]
    top = hs_fit.modification_indices().head(5)
    assert list(top["lhs"] + top["op"] + top["rhs"]) == [r["lhs"] + r["op"] + r["rhs"] for r in ref]
    np.testing.assert_allclose(top["mi"], [r["mi"] for r in ref], rtol=1e-4)
    np.testing.assert_allclose(top["epc"], [r["epc"] for r in ref], atol=ABS)


def test_hs_all_modification_indices(hs_fit):
    check_mi(hs_fit, load("cfa_hs_full.json")["fit"]["modindices"])
    assert (hs_fit.modification_indices(minimum=10)["mi"] >= 10).all()
    unsorted = hs_fit.modification_indices(sort=False)
    assert not unsorted["mi"].is_monotonic_decreasing


def test_hs_omega_ave(hs_fit):
    ref = load("holzinger_swineford_lavaan.json")["holzinger_swineford"]
    rel = hs_fit.composite_reliability().set_index("factor")
    for factor in ("visual", "textual", "speed"):
        assert rel.loc[factor, "omega"] == pytest.approx(ref["reliability_omega"][factor], abs=ABS)
        assert rel.loc[factor, "ave"] == pytest.approx(ref["ave"][factor], abs=ABS)


def test_hs_htmt_and_fornell_larcker(hs_fit, hs):
    ref = load("cfa_hs_full.json")["htmt"]
    np.testing.assert_allclose(hs_fit.htmt(hs).to_numpy(), ref["htmt2"]["values"], atol=ABS)
    np.testing.assert_allclose(
        hs_fit.htmt(hs, htmt2=False).to_numpy(), ref["htmt"]["values"], atol=ABS
    )
    np.testing.assert_allclose(hs_fit.htmt().to_numpy(), ref["htmt2"]["values"], atol=ABS)
    fl = hs_fit.fornell_larcker()
    ave = load("holzinger_swineford_lavaan.json")["holzinger_swineford"]["ave"]
    np.testing.assert_allclose(np.diag(fl), np.sqrt([ave[f] for f in fl.index]), atol=ABS)
    cor = load("cfa_core_hs.json")["three_factor"]["cov_lv"]
    cor = np.array(cor) / np.sqrt(np.outer(np.diag(cor), np.diag(cor)))
    off = ~np.eye(3, dtype=bool)
    np.testing.assert_allclose(fl.to_numpy()[off], cor[off], atol=ABS)


def test_hs_to_dict_is_json_serialisable(hs_fit):
    out = hs_fit.to_dict()
    text = json.dumps(out, allow_nan=False)
    assert json.loads(text)["fit_measures"]["df"] == 24
    assert out["estimates"][0]["z"] is None
    assert {"modification_indices", "composite_reliability", "htmt", "fornell_larcker"} <= set(out)


def test_result_type_and_repr(hs_fit):
    assert isinstance(hs_fit, CFAResult)
    assert hs_fit.warnings == []
    assert "chisq=85.306" in repr(hs_fit)


# --- other identifications and models ---------------------------------------------------------


def test_std_lv(hs):
    ref = load("cfa_hs_stdlv.json")["fit"]
    res = cfa(HS_MODEL, hs, std_lv=True)
    check_fit(res, ref["fit_measures"])
    check_table(res, ref["estimates"], {"est": "est", "se": "se"})
    check_table(res, ref["std_all"], {"est.std": "std_all", "se": "se_std_all"})
    check_mi(res, ref["modindices"])
    lv_var = res.estimates.query("lhs == rhs and op == '~~' and lhs == 'visual'")
    assert not lv_var["free"].iloc[0]


def test_meanstructure(hs):
    ref = load("cfa_core_hs.json")["three_factor_meanstructure"]
    res = cfa(HS_MODEL, hs, meanstructure=True)
    check_fit(res, ref["fit"])
    check_table(
        res,
        ref["estimates"],
        {"est": "est", "se": "se", "std_all": "std_all", "se_std_all": "se_std_all"},
    )


def test_labels_impose_equality_and_reduce_npar(hs):
    ref = load("cfa_equality_labels.json")
    res = cfa(ref["model"], hs)
    assert res.fit_measures()["npar"] == 20
    check_fit(res, ref["fit"]["fit_measures"])
    check_table(res, ref["fit"]["estimates"], {"est": "est", "se": "se"})
    check_mi(res, ref["fit"]["modindices"])
    est = res.estimates.set_index(["lhs", "op", "rhs"])["est"]
    assert est[("visual", "=~", "x2")] == est[("visual", "=~", "x3")]


def test_na_marker_fixed_variance_and_residual_covariance(hs):
    ref = load("cfa_core_hs.json")["labelled"]
    res = cfa(ref["syntax"], hs)
    check_fit(res, ref["fit"])
    check_table(
        res,
        ref["estimates"],
        {"est": "est", "se": "se", "std_all": "std_all", "se_std_all": "se_std_all"},
    )
    check_mi(res, ref["modindices"])


def test_user_fixed_covariance_is_a_modification_candidate(hs):
    ref = load("cfa_core_hs.json")["orthogonal_pair"]
    res = cfa(ref["syntax"], hs)
    check_fit(res, ref["fit"])
    check_table(res, ref["estimates"], {"est": "est", "se": "se"})
    check_mi(res, ref["modindices"])
    assert (
        (res.modification_indices()["lhs"] == "visual")
        & (res.modification_indices()["rhs"] == "speed")
    ).any()


def test_second_order_hs(hs):
    ref = load("cfa_core_hs.json")["second_order"]
    res = cfa(ref["syntax"], hs)
    check_fit(res, ref["fit"])
    check_table(
        res,
        ref["estimates"],
        {
            "est": "est",
            "se": "se",
            "std_lv": "std_lv",
            "std_all": "std_all",
            "se_std_all": "se_std_all",
        },
    )
    check_mi(res, ref["modindices"])
    rel = res.composite_reliability()
    assert list(rel["factor"]) == ["visual", "textual", "speed"]


@pytest.mark.parametrize("variant", ["as_written", "equal_free"])
def test_second_order_simulated(variant):
    ref = load("cfa_second_order.json")[variant]
    data = pd.read_csv(DATA / "second_order_sim.csv")
    res = cfa(ref["model"], data)
    assert res.converged
    check_fit(res, ref["fit_measures"])
    check_table(res, ref["estimates"], {"est": "est", "se": "se"})
    check_table(res, ref["std_all"], {"est.std": "std_all", "se": "se_std_all"})
    assert res.fit_measures()["npar"] == 35


def test_heywood_case_is_a_warning_not_an_error():
    ref = load("cfa_heywood.json")
    data = pd.read_csv(DATA / "heywood_sim.csv")
    res = cfa(ref["model"], data)
    assert res.converged
    check_fit(res, ref["fit"]["fit_measures"])
    check_table(res, ref["fit"]["estimates"], {"est": "est", "se": "se"})
    assert any("Heywood" in w and "'h1'" in w and "negative" in w for w in res.warnings)
    assert any("exceeds 1" in w for w in res.warnings)


def test_sample_covariance_input_equals_raw_data(hs, hs_fit):
    items = [f"x{i}" for i in range(1, 10)]
    res = cfa(HS_MODEL, sample_cov=hs[items].cov(), nobs=len(hs))
    assert res.fit_measures()["chisq"] == pytest.approx(hs_fit.fit_measures()["chisq"], rel=1e-8)
    np.testing.assert_allclose(res.estimates["se"], hs_fit.estimates["se"], atol=1e-7)


# --- errors -------------------------------------------------------------------------------------


def test_absent_variables_are_named(hs):
    with pytest.raises(DataError, match="not in the data: x10, x11"):
        cfa("f =~ x1 + x10 + x11", hs)


def test_syntax_errors_surface(hs):
    with pytest.raises(ModelSyntaxError) as info:
        cfa("f =~ x1 + x2\nf <~ x3", hs)
    assert info.value.line == 2


def test_single_indicator_factor_is_not_identified(hs):
    with pytest.raises(ModelIdentificationError, match="single indicator"):
        cfa("f =~ x1 + x2 + x3\ng =~ x4", hs)
    res = cfa("f =~ x1 + x2 + x3\ng =~ x4\nx4 ~~ 0*x4", hs)
    assert res.converged


def test_negative_df_is_not_identified(hs):
    with pytest.raises(ModelIdentificationError, match="df = -1"):
        cfa("f =~ x1 + x2", hs)


def test_empirical_underidentification_warns(hs):
    res = cfa("f =~ x1 + x2\ng =~ x4 + x5 + x6\nf ~~ 0*g", hs)
    assert any("singular" in w for w in res.warnings)
    assert res.estimates.loc[res.estimates["free"], "se"].isna().all()


def test_non_positive_definite_sample_covariance(hs):
    data = hs.assign(x10=hs["x1"] + hs["x2"])
    with pytest.raises(NonPositiveDefiniteError, match="not positive definite"):
        cfa("f =~ x1 + x2 + x10", data)
    with pytest.raises(NonPositiveDefiniteError, match="zero variance: c"):
        cfa("f =~ x1 + x2 + c", hs.assign(c=1.0))


def test_too_few_rows(hs):
    with pytest.raises(DataError, match="too few rows"):
        cfa(HS_MODEL, hs.head(8))


def test_non_numeric_column(hs):
    with pytest.raises(DataError, match="numeric: school"):
        cfa("f =~ x1 + x2 + school", hs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"missing": "pairwise"}, "missing must be"),
        ({"group_equal": ("loadings",)}, "group_equal needs"),
        ({"group": "school", "group_equal": ("slopes",)}, "unknown group_equal"),
        ({"group": "nowhere"}, "not in the data"),
    ],
)
def test_invalid_options(hs, kwargs, message):
    with pytest.raises(ValueError, match=message):
        cfa(HS_MODEL, hs, **kwargs)


def test_all_errors_are_value_errors():
    for error in (DataError, ModelIdentificationError, NonPositiveDefiniteError, ModelSyntaxError):
        assert issubclass(error, ValueError)


def test_non_convergence_is_reported_not_raised(hs, monkeypatch):
    import functools

    from psychometrics.cfa import fitting

    monkeypatch.setattr(
        fitting, "fisher_scoring", functools.partial(fitting.fisher_scoring, max_iter=2)
    )
    res = cfa(HS_MODEL, hs)
    assert not res.converged
    assert res.iterations == 2
    assert any("did not converge" in w for w in res.warnings)


def test_hs_implied_covariance_matches_lavaan(hs_fit):
    reference = load("cfa_hs_full.json")["fit"]["implied_cov"]
    names = reference["names"]
    expected = np.array(reference["values"], dtype=float).reshape(len(names), len(names))
    ours = hs_fit.implied_covariance().loc[names, names].to_numpy()
    np.testing.assert_allclose(ours, expected, atol=1e-5)
    with pytest.raises(ValueError, match="group must be between 1 and 1"):
        hs_fit.implied_covariance(group=2)
