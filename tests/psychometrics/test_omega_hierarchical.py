"""Reliability of second-order factors (omega_hierarchical) against semTools 0.5-6.

Reference values: tests/psychometrics/expected/omega_h/omega_h.json, written by
tests/psychometrics/expected/omega_h/generate_omega_h.R: reliabilityL2(fit, f) (omegaL1,
omegaL2, partialOmegaL1) and compRelSEM(fit, higher = f) for g1 and g2 of the second-order model
on data/second_order_sim.csv (the model of tests/psychometrics/test_cfa.py's second-order test),
as written and with std.lv = TRUE.
"""

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa, omega_ci, omega_hierarchical

HERE = Path(__file__).parent
DATA = HERE / "data"
CASES = {"as_written": {}, "std_lv": {"std_lv": True}}
NAMES = {"omegaL1": "omega_l1", "omegaL2": "omega_l2", "partialOmegaL1": "partial_omega_l1"}


@pytest.fixture(scope="module")
def oracle():
    with open(HERE / "expected" / "omega_h" / "omega_h.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def data():
    return pd.read_csv(DATA / "second_order_sim.csv")


@pytest.fixture(scope="module")
def fits(oracle, data):
    return {case: cfa(oracle["model"], data, **kwargs) for case, kwargs in CASES.items()}


def at_lavaan_estimates(result, estimates):
    """A copy of ``result`` whose free parameters are lavaan's estimates."""
    lookup = {
        (lhs, op, rhs): est
        for lhs, op, rhs, est in zip(
            estimates["lhs"], estimates["op"], estimates["rhs"], estimates["est"], strict=True
        )
    }
    t = result.spec.table
    theta = np.array(result.theta, dtype=float)
    for i in range(len(t)):
        if t.free[i] >= 0:
            theta[t.free[i]] = lookup[(t.lhs[i], t.op[i], t.rhs[i])]
    out = copy.copy(result)
    out.theta = theta
    return out


def test_oracle_provenance(oracle):
    assert oracle["meta"]["semTools"] == "0.5.6"
    assert oracle["meta"]["lavaan"] == "0.6.14"
    assert oracle["meta"]["r"].startswith("R version 4.2.2")


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("factor", ["g1", "g2"])
def test_matches_semtools(fits, oracle, case, factor):
    ref = oracle[case]
    at_lavaan = at_lavaan_estimates(fits[case], ref["estimates"])
    for result, tol in ((fits[case], 1e-6), (at_lavaan, 1e-10)):
        ours = omega_hierarchical(result, factor)
        for r_name, name in NAMES.items():
            assert ours[name] == pytest.approx(ref["reliabilityL2"][factor][r_name], abs=tol)
        assert ours["omega_observed"] == pytest.approx(ref["compRelSEM"][factor], abs=tol)


def test_first_order_omegas_agree_with_composite_reliability(fits, oracle):
    rel = fits["as_written"].composite_reliability().set_index("factor")["omega"]
    for name in ("f1", "f2", "f3", "f4", "f5"):
        assert rel[name] == pytest.approx(oracle["as_written"]["compRelSEM"][name], abs=1e-6)


def test_omega_ordering(fits):
    # the first-order factors' unique variance only lowers the items' omega for g
    out = omega_hierarchical(fits["as_written"], "g1")
    assert 0 < out["omega_l1"] < out["partial_omega_l1"] < 1


@pytest.mark.parametrize(("factor", "message"), [("f1", "no factor loads"), ("h", "not a latent")])
def test_not_a_second_order_factor(fits, factor, message):
    with pytest.raises(ValueError, match=message):
        omega_hierarchical(fits["as_written"], factor)


def test_first_order_model_is_refused():
    data = pd.read_csv(DATA / "holzinger_swineford_1939.csv")
    res = cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6", data)
    with pytest.raises(ValueError, match="has none"):
        omega_hierarchical(res, "visual")


# --- standard errors and intervals of omega (no R reference: semTools has none) -----------------


@pytest.fixture(scope="module")
def hs_fit():
    with open(HERE / "expected" / "cfa_hs_full.json", encoding="utf-8") as fh:
        ref = json.load(fh)
    return cfa(ref["model"], pd.read_csv(DATA / "holzinger_swineford_1939.csv")), ref


@pytest.mark.parametrize("factor", ["visual", "textual", "speed"])
def test_first_order_omega_estimate_is_compRelSEM_implied(hs_fit, factor):
    res, ref = hs_fit
    out = omega_ci(res, factor)
    assert out["statistic"] == "omega"
    assert out["estimate"] == pytest.approx(
        ref["reliability"]["compRelSEM_implied"][factor], abs=1e-6
    )


@pytest.mark.parametrize("factor", ["visual", "textual", "speed"])
def test_delta_method_se_equals_the_hand_derived_gradient(hs_fit, factor):
    # omega = A^2 phi / T with A = sum(lambda), E = sum(theta_ii), T = A^2 phi + E (simple
    # structure, no residual covariances); the gradient in the free parameters is
    #   d/d lambda_i = 2 A phi E / T^2,  d/d phi = A^2 E / T^2,  d/d theta_ii = -A^2 phi / T^2
    res, _ = hs_fit
    est = res.estimates
    t = res.spec.table
    loads = est[(est["op"] == "=~") & (est["lhs"] == factor)]
    items = list(loads["rhs"])
    a = loads["est"].sum()
    phi = est[(est["op"] == "~~") & (est["lhs"] == factor) & (est["rhs"] == factor)]["est"].item()
    resid = est[(est["op"] == "~~") & est["lhs"].isin(items) & (est["lhs"] == est["rhs"])]
    e = resid["est"].sum()
    total = a * a * phi + e
    grad = np.zeros(res.spec.n_free)
    for i in range(len(t)):
        if t.free[i] < 0:
            continue
        if t.op[i] == "=~" and t.lhs[i] == factor:
            grad[t.free[i]] = 2 * a * phi * e / total**2
        elif t.op[i] == "~~" and t.lhs[i] == t.rhs[i] == factor:
            grad[t.free[i]] = a * a * e / total**2
        elif t.op[i] == "~~" and t.lhs[i] == t.rhs[i] and t.lhs[i] in items:
            grad[t.free[i]] = -a * a * phi / total**2
    hand = float(np.sqrt(grad @ res.vcov @ grad))
    out = omega_ci(res, factor, level=0.90)
    assert out["se"] == pytest.approx(hand, rel=1e-6)
    assert out["ci_lower"] == pytest.approx(out["estimate"] - 1.6448536269514722 * hand, rel=1e-6)
    assert out["ci_upper"] == pytest.approx(out["estimate"] + 1.6448536269514722 * hand, rel=1e-6)


@pytest.mark.parametrize(
    ("case", "factor", "statistic"),
    [("hs", "textual", None), ("so", "g2", "omega_l1"), ("so", "g1", "partial_omega_l1")],
)
def test_monte_carlo_agrees_with_the_delta_method(hs_fit, fits, case, factor, statistic):
    # the Monte Carlo distribution of omega(theta), theta ~ N(theta-hat, V), measured 3-11 %
    # wider than the linearisation for these factors (omega is not linear in theta)
    res = hs_fit[0] if case == "hs" else fits["as_written"]
    delta = omega_ci(res, factor, statistic)
    mc = omega_ci(res, factor, statistic, method="monte_carlo", n_draws=1000, seed=11)
    assert mc == omega_ci(res, factor, statistic, method="monte_carlo", n_draws=1000, seed=11)
    assert mc["estimate"] == delta["estimate"]
    assert mc["se"] == pytest.approx(delta["se"], rel=0.2)
    assert mc["ci_lower"] < delta["estimate"] < mc["ci_upper"]
    assert mc["ci_lower"] == pytest.approx(delta["ci_lower"], abs=delta["se"] / 2)
    assert mc["ci_upper"] == pytest.approx(delta["ci_upper"], abs=delta["se"] / 2)


def test_second_order_estimates_are_omega_hierarchical(fits):
    res = fits["as_written"]
    ref = omega_hierarchical(res, "g1")
    for statistic in ("omega_l1", "omega_l2", "partial_omega_l1"):
        out = omega_ci(res, "g1", statistic)
        assert out["estimate"] == ref[statistic]
        assert out["ci_lower"] < out["estimate"] < out["ci_upper"]
        assert 0 < out["se"] < 0.1


@pytest.mark.parametrize(
    ("factor", "kwargs", "message"),
    [
        ("g1", {"statistic": "omega"}, "does not apply"),
        ("f1", {"statistic": "omega_l2"}, "does not apply"),
        ("f1", {"statistic": "alpha"}, "statistic must be"),
        ("f1", {"level": 1.0}, "level must be"),
        ("f1", {"method": "bootstrap"}, "method must be"),
        ("f1", {"method": "monte_carlo", "n_draws": 10}, "at least 100"),
        ("zz", {}, "not a latent"),
    ],
)
def test_omega_ci_bad_arguments(fits, factor, kwargs, message):
    with pytest.raises(ValueError, match=message):
        omega_ci(fits["as_written"], factor, **kwargs)
