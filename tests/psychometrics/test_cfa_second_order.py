"""Second-order CFAs shaped like the IEM-DP measurement model, against lavaan 0.6-14.

Reference values: tests/psychometrics/expected/cfa_second_order_iemdp.json, written by
tests/psychometrics/r/generate_cfa_second_order_oracles.R on data/second_order_iemdp_sim.csv
(5 constructs over 12 subconstructs x 3 items, N = 500; three constructs have two subconstructs,
and RR and TC have a negatively loading second indicator under marker identification).
"""

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instruments.loader import load_instrument
from instruments.measurement_model import measurement_model
from psychometrics.cfa import cfa
from psychometrics.cfa.estimation import start_values
from psychometrics.cfa.model import build_model
from psychometrics.syntax import parse_model

HERE = Path(__file__).parent
ROOT = HERE.parent.parent
RELATIVE = {"chisq", "logl", "unrestricted_logl", "aic", "bic", "bic2", "baseline_chisq"}
ABSOLUTE = {
    "cfi",
    "tli",
    "nnfi",
    "rmsea",
    "rmsea_ci_lower",
    "rmsea_ci_upper",
    "srmr",
    "rfi",
    "nfi",
    "ifi",
    "rni",
    "npar",
    "df",
    "baseline_df",
    "fmin",
}


@pytest.fixture(scope="module")
def oracle():
    with open(HERE / "expected" / "cfa_second_order_iemdp.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(HERE / "data" / "second_order_iemdp_sim.csv")


@pytest.fixture(scope="module")
def fits(oracle, data):
    return {name: cfa(oracle[name]["model"], data) for name in ("marker", "instrument")}


def _key(frame):
    return frame["lhs"] + " " + frame["op"] + " " + frame["rhs"]


def test_oracle_provenance(oracle):
    assert oracle["meta"]["lavaan"] == "0.6.14"
    assert oracle["meta"]["r_version"].startswith("R version 4.2.2")


@pytest.mark.parametrize("name", ["marker", "instrument"])
def test_fit_measures(fits, oracle, name):
    res, ref = fits[name], oracle[name]
    assert res.converged and ref["converged"]
    assert not res.warnings
    fm = res.fit_measures()
    checked = 0
    for lavaan_name, value in ref["fit_measures"].items():
        ours = lavaan_name.replace(".", "_")
        if value is None or ours not in fm:
            continue
        if ours in RELATIVE:
            assert fm[ours] == pytest.approx(value, rel=1e-4), ours
        elif ours in ABSOLUTE:
            assert fm[ours] == pytest.approx(value, abs=1e-3), ours
        else:
            continue
        checked += 1
    assert checked >= 15


@pytest.mark.parametrize("name", ["marker", "instrument"])
def test_estimates_and_standard_errors(fits, oracle, name):
    ref = pd.DataFrame(oracle[name]["estimates"])
    ref.index = _key(ref)
    ours = fits[name].estimates.copy()
    ours.index = _key(ours)
    assert set(ref.index) == set(ours.index)
    ours = ours.loc[ref.index]
    np.testing.assert_allclose(ours["est"], ref["est"], atol=1e-3)
    np.testing.assert_allclose(ours["se"], ref["se"], atol=1e-3)
    std = pd.DataFrame(oracle[name]["std_all"])
    std.index = _key(std)
    np.testing.assert_allclose(ours.loc[std.index, "std_all"], std["est.std"], atol=1e-3)


def test_negative_second_order_loadings(fits):
    est = fits["marker"].estimates.set_index(["lhs", "rhs"])["est"]
    assert est["RR", "RR_REP"] < 0 and est["TC", "TC_TIME"] < 0 and est["UT", "UT_LAP"] < 0
    variances = fits["marker"].estimates.query("op == '~~' and lhs == rhs")["est"]
    assert (variances > 0).all()


def test_modification_indices(fits, oracle):
    ref = pd.DataFrame(oracle["marker"]["modindices"])
    ref.index = _key(ref)
    ours = fits["marker"].modification_indices()
    ours.index = _key(ours)
    assert set(ref.index) == set(ours.index)
    ours = ours.loc[ref.index]
    np.testing.assert_allclose(ours["mi"], ref["mi"], rtol=1e-3, atol=1e-3)
    np.testing.assert_allclose(ours["epc"], ref["epc"], atol=1e-3)
    np.testing.assert_allclose(ours["sepc_all"], ref["sepc.all"], atol=1e-3)


def test_start_values_take_signs_from_the_data(oracle, data):
    parsed = parse_model(oracle["marker"]["model"])
    spec = build_model(parsed)
    x = data[list(parsed.observed)].to_numpy()
    cov = np.cov(x, rowvar=False, bias=True)
    theta = start_values(spec, [cov], [x.mean(axis=0)])
    t = spec.table
    start = {(t.lhs[i], t.rhs[i]): theta[t.free[i]] for i in range(len(t)) if t.free[i] >= 0}
    assert start["RR", "RR_REP"] < 0 and start["TC", "TC_TIME"] < 0
    assert start["UT", "UT_LAP"] < 0 and start["OE", "OE_MOD"] > 0
    # Disturbance variances start positive and smaller than the first-order factor variance.
    assert 0 < start["RR_REP", "RR_REP"] < start["RR_REP", "RR_REP"] + start["RR", "RR"]


def _population_sample(syntax: str, n: int, seed: int) -> pd.DataFrame:
    """Data drawn from a population that the model reproduces exactly.

    Free loadings of items 0.9/0.8 (markers 1), residual variances 0.5, free second-order
    loadings 0.9 (-0.9 for UT_LAP, reverse-oriented in UT), disturbance variances 0.3, construct
    variances 0.4 with covariances 0.12.
    """
    parsed = parse_model(syntax)
    spec = build_model(parsed)
    t = spec.table
    theta = np.zeros(spec.n_free)
    item_loading = {2: 0.9, 3: 0.8}
    for i in range(len(t)):
        if t.free[i] < 0:
            continue
        if t.op[i] == "=~" and t.rhs[i] in spec.observed:
            value = item_loading[int(t.rhs[i].rsplit("_", 1)[1])]
        elif t.op[i] == "=~":
            value = -0.9 if t.rhs[i] == "UT_LAP" else 0.9
        elif t.lhs[i] in spec.observed:
            value = 0.5
        elif t.lhs[i] != t.rhs[i]:
            value = 0.12
        elif spec.exogenous[spec.latent.index(t.lhs[i])]:
            value = 0.4
        else:
            value = 0.3
        theta[t.free[i]] = value
    sigma = spec.implied(theta)[0].sigma
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(np.full(spec.p, 3.0), sigma, size=n, method="cholesky")
    return pd.DataFrame(x, columns=list(spec.observed))


def test_instrument_measurement_model_converges_on_its_own_population():
    model = measurement_model(load_instrument(ROOT / "instruments" / "iemdp" / "1.0.0.yaml"))
    data = _population_sample(model.syntax, n=1000, seed=20261123)
    started = time.perf_counter()
    res = cfa(model.syntax, data)
    elapsed = time.perf_counter() - started
    assert res.converged, res.message
    assert not res.warnings
    fm = res.fit_measures()
    assert fm["df"] == 2421
    # The model holds in the population: the chi-square is a draw from about chi2(df).
    assert abs(fm["chisq"] - fm["df"]) < 5 * np.sqrt(2 * fm["df"])
    assert fm["rmsea"] < 0.02 and fm["cfi"] > 0.99
    est = res.estimates.set_index(["lhs", "rhs"])["est"]
    assert est["UT", "UT_LAP"] < 0
    assert elapsed < 3.0


@pytest.mark.parametrize("loading_scale", [10.0, 0.2])
def test_fisher_scoring_recovers_from_poor_starting_values(oracle, data, loading_scale):
    from psychometrics.cfa.estimation import CompleteData, Objective, fisher_scoring
    from psychometrics.cfa.model import LAMBDA, THETA

    parsed = parse_model(oracle["marker"]["model"])
    spec = build_model(parsed)
    x = data[list(parsed.observed)].to_numpy()
    cov = np.cov(x, rowvar=False, bias=True)
    objective = Objective(
        spec, [CompleteData(len(x), cov, x.mean(axis=0), float(np.linalg.slogdet(cov)[1]))]
    )
    theta = start_values(spec, [cov], [x.mean(axis=0)])
    t = spec.table
    free = t.free >= 0
    theta[t.free[free & (t.matrix == LAMBDA)]] *= loading_scale
    theta[t.free[free & (t.matrix == THETA) & (t.row == t.col)]] *= 0.2
    trace = []
    estimate = fisher_scoring(objective, theta, trace=trace)
    assert estimate.converged
    assert any(step < 1.0 for _, _, step, _ in trace)  # the line search was needed
    chisq = 2 * len(x) * estimate.fmin
    assert chisq == pytest.approx(oracle["marker"]["fit_measures"]["chisq"], rel=1e-6)
