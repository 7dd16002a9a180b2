"""Factor scores (psychometrics.cfa.scores) against lavaan 0.6-14's lavPredict().

Reference values: tests/psychometrics/expected/factor_scores/factor_scores_hs.json, written by
tests/psychometrics/expected/factor_scores/generate_factor_scores.R (regression and Bartlett
scores of the Holzinger-Swineford three-factor model with and without a mean structure and with
std.lv = TRUE; regression scores of the second-order model on second_order_sim.csv).

Two checks per case: the scores of our own fit (whose estimates differ from lavaan's by the two
optimizers' convergence tolerances, a few 1e-6), and the scores at lavaan's own estimates, which
isolate the scoring formulas.
"""

import copy
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from psychometrics.cfa import cfa, factor_scores

HERE = Path(__file__).parent
DATA = HERE / "data"
CASES = {
    "hs": ("hs_model", "holzinger_swineford_1939.csv", {}),
    "hs_meanstructure": ("hs_model", "holzinger_swineford_1939.csv", {"meanstructure": True}),
    "hs_std_lv": ("hs_model", "holzinger_swineford_1939.csv", {"std_lv": True}),
    "second_order": ("so_model", "second_order_sim.csv", {}),
}
PARAMS = [
    (case, method)
    for case in CASES
    for method in ("regression", "bartlett")
    if not (case == "second_order" and method == "bartlett")
]


@pytest.fixture(scope="module")
def oracle():
    with open(
        HERE / "expected" / "factor_scores" / "factor_scores_hs.json", encoding="utf-8"
    ) as fh:
        return json.load(fh)


@pytest.fixture(scope="module")
def fits(oracle):
    out = {}
    for case, (model_key, csv, kwargs) in CASES.items():
        data = pd.read_csv(DATA / csv)
        out[case] = (cfa(oracle[model_key], data, **kwargs), data)
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


def test_oracle_provenance(oracle):
    assert oracle["meta"]["lavaan"] == "0.6.14"
    assert oracle["meta"]["r"].startswith("R version 4.2.2")


@pytest.mark.parametrize(("case", "method"), PARAMS)
def test_scores_match_lavaan(fits, oracle, case, method):
    res, data = fits[case]
    ref = oracle[case][method]
    expected = np.array(ref["values"])
    ours = factor_scores(res, data, method=method)
    assert list(ours.columns) == ref["columns"]
    assert ours.shape == expected.shape == (len(data), len(ref["columns"]))
    assert list(ours.index) == list(data.index)
    # our estimates vs lavaan's: optimizer tolerance (measured max 8e-6, second-order model)
    np.testing.assert_allclose(ours.to_numpy(), expected, rtol=0, atol=2e-5)
    # the formulas at lavaan's estimates
    exact = factor_scores(at_lavaan_estimates(res, oracle[case]["estimates"]), data, method)
    np.testing.assert_allclose(exact.to_numpy(), expected, rtol=0, atol=1e-9)


def test_method_is_case_insensitive(fits):
    res, data = fits["hs"]
    pd.testing.assert_frame_equal(
        factor_scores(res, data, "Bartlett"), factor_scores(res, data, "bartlett")
    )


def test_new_data_are_scored_with_the_fitted_parameters(fits):
    res, data = fits["hs"]
    full = factor_scores(res, data)
    part = factor_scores(res, data.iloc[10:20])
    pd.testing.assert_frame_equal(part, full.iloc[10:20])


def test_bartlett_scores_of_second_order_model_are_refused(fits):
    res, data = fits["second_order"]
    with pytest.raises(ValueError, match="first-order model"):
        factor_scores(res, data, method="bartlett")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ("method", "method must be"),
        ("drop", "lack the observed variable"),
        ("nan", "missing values"),
        ("text", "must be numeric"),
    ],
)
def test_bad_input_is_a_clear_value_error(fits, change, message):
    res, data = fits["hs"]
    data = data.copy()
    method = "regression"
    if change == "method":
        method = "anderson-rubin"
    elif change == "drop":
        data = data.drop(columns="x5")
    elif change == "nan":
        data.loc[3, "x2"] = np.nan
    else:
        data["x1"] = data["x1"].astype(str) + "a"
    with pytest.raises(ValueError, match=message):
        factor_scores(res, data, method=method)


def test_multiple_groups_are_refused(oracle):
    data = pd.read_csv(DATA / "holzinger_swineford_1939.csv")
    res = cfa(oracle["hs_model"], data, group="school")
    with pytest.raises(ValueError, match="single-group"):
        factor_scores(res, data)
