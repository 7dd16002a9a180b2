"""Residual correlations (psychometrics.cfa.residuals) against lavaan 0.6-14's lavResiduals().

Reference values: tests/psychometrics/expected/residuals/residuals.json, written by
tests/psychometrics/expected/residuals/generate_residuals.R: type "cor.bentler" (the default),
the residual matrix, standardised residuals (cov.z), mean residuals with a mean structure and the
summary table (srmr, its SE and exact-fit test, usrmr with SE, 90% CI and close-fit test) for the
Holzinger-Swineford three-factor model (with and without a mean structure) and the second-order
model on second_order_sim.csv.

Each case is checked for our own fit (estimates a few 1e-6 from lavaan's: optimizer tolerance)
and at lavaan's own estimates (the residual formulas alone).
"""

import copy
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import ResidualCorrelations, cfa, residual_correlations

HERE = Path(__file__).parent
DATA = HERE / "data"
CASES = {
    "hs": ("hs_model", "holzinger_swineford_1939.csv", {}),
    "hs_meanstructure": ("hs_model", "holzinger_swineford_1939.csv", {"meanstructure": True}),
    "second_order": ("so_model", "second_order_sim.csv", {}),
}


@pytest.fixture(scope="module")
def oracle():
    with open(HERE / "expected" / "residuals" / "residuals.json", encoding="utf-8") as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def fits(oracle):
    out = {}
    for case, (model_key, csv, kwargs) in CASES.items():
        out[case] = cfa(oracle[model_key], pd.read_csv(DATA / csv), **kwargs)
    return out


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


def check(ours: ResidualCorrelations, ref: dict, atol: float, atol_z: float) -> None:
    assert list(ours.matrix.index) == list(ours.matrix.columns) == ref["variables"]
    np.testing.assert_allclose(ours.matrix.to_numpy(), np.array(ref["cov"]), rtol=0, atol=atol)
    np.testing.assert_allclose(ours.z.to_numpy(), np.array(ref["cov_z"]), rtol=0, atol=atol_z)
    if "mean" in ref:
        np.testing.assert_allclose(ours.mean.to_numpy(), ref["mean"], rtol=0, atol=atol)
        np.testing.assert_allclose(ours.mean_z.to_numpy(), ref["mean_z"], rtol=0, atol=atol_z)
    else:
        assert ours.mean is None and ours.mean_z is None
    assert set(ours.summary) == set(ref["summary"])
    for column, values in ref["summary"].items():
        assert len(ours.summary[column]) == len(values) == 11
        for name, value in values.items():
            got = ours.summary[column][name.replace(".", "_")]
            if value is None:
                assert math.isnan(got), (column, name, got)
            else:
                # z statistics scale residual differences by 1/se: a looser bound for our fit
                tol = atol_z if name.endswith(("_z", ".z")) else atol
                assert got == pytest.approx(value, abs=tol), (column, name)


def test_oracle_provenance(oracle):
    assert oracle["meta"]["lavaan"] == "0.6.14"
    assert oracle["meta"]["r"].startswith("R version 4.2.2")
    assert all(oracle[case]["type"] == "cor.bentler" for case in CASES)


@pytest.mark.parametrize("case", list(CASES))
def test_residuals_match_lavaan_at_lavaan_estimates(fits, oracle, case):
    ref = oracle[case]
    check(residual_correlations(at_lavaan_estimates(fits[case], ref["estimates"])), ref, 1e-9, 1e-6)


@pytest.mark.parametrize("case", list(CASES))
def test_residuals_of_our_fit_match_lavaan(fits, oracle, case):
    # measured: residuals within 1.7e-6, standardised residuals within 1e-4 (second-order model)
    check(residual_correlations(fits[case]), oracle[case], 5e-6, 5e-4)


@pytest.mark.parametrize("case", list(CASES))
def test_srmr_equals_the_fit_measure(fits, oracle, case):
    # lavaan's fitMeasures srmr is the "total" column with a mean structure, else "cov"
    res = fits[case]
    summary = residual_correlations(res).summary
    srmr = summary["total" if "total" in summary else "cov"]["srmr"]
    assert srmr == pytest.approx(res.fit_measures()["srmr"], abs=1e-12)
    assert srmr == pytest.approx(oracle[case]["fit_srmr"], abs=1e-7)


def test_to_dict_is_json(fits):
    out = residual_correlations(fits["hs_meanstructure"]).to_dict()
    text = json.dumps(out, allow_nan=False)
    assert '"srmr_se": null' in text  # the mean part's NA
    assert out["variables"] == [f"x{i}" for i in range(1, 10)]


def test_multiple_groups_are_refused(oracle):
    data = pd.read_csv(DATA / "holzinger_swineford_1939.csv")
    res = cfa(oracle["hs_model"], data, group="school")
    with pytest.raises(ValueError, match="single-group"):
        residual_correlations(res)
