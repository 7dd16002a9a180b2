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

from psychometrics.cfa import cfa, omega_hierarchical

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
