"""psychometrics.regression against independent implementations: statsmodels' Logit,
scikit-learn's roc_auc_score, scipy's pearsonr, and DeLong's variance written out over all
positive-negative pairs."""

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score

from psychometrics.regression import (
    SeparationError,
    logistic_regression,
    pearson_ci,
    roc_auc,
    roc_auc_ci,
)

TOL = 1e-6


def _logit_data(n: int, seed: int) -> tuple[pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    X = pd.DataFrame(
        {
            "a": rng.standard_normal(n),
            "b": rng.standard_normal(n) * 2 + 1,
            "c": rng.integers(0, 2, n).astype(float),
        },
        index=[f"r{i}" for i in range(n)],
    )
    eta = -0.4 + 0.8 * X["a"] - 0.3 * X["b"] + 0.5 * X["c"]
    y = pd.Series((rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float), index=X.index)
    return X, y


@pytest.mark.parametrize("level", [0.95, 0.90])
def test_logistic_regression_equals_statsmodels(level):
    X, y = _logit_data(300, seed=1)
    res = logistic_regression(X, y, level=level)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0, method="newton", tol=1e-12)
    names = ["const", "a", "b", "c"]
    table = res.table
    assert list(table.index) == ["intercept", "a", "b", "c"]
    np.testing.assert_allclose(table["coef"], ref.params[names], atol=TOL, rtol=0)
    np.testing.assert_allclose(table["se"], ref.bse[names], atol=TOL, rtol=0)
    np.testing.assert_allclose(table["z"], ref.tvalues[names], atol=TOL, rtol=0)
    np.testing.assert_allclose(table["p"], ref.pvalues[names], atol=TOL, rtol=0)
    ci = ref.conf_int(alpha=1 - level).loc[names]
    np.testing.assert_allclose(table["ci_lower"], ci[0], atol=TOL, rtol=0)
    np.testing.assert_allclose(table["ci_upper"], ci[1], atol=TOL, rtol=0)
    np.testing.assert_allclose(table["odds_ratio"], np.exp(ref.params[names]), rtol=TOL)
    np.testing.assert_allclose(table["or_ci_lower"], np.exp(ci[0]), rtol=TOL)
    np.testing.assert_allclose(table["or_ci_upper"], np.exp(ci[1]), rtol=TOL)
    np.testing.assert_allclose(res.covariance.to_numpy(), ref.cov_params().to_numpy(), atol=TOL)
    assert res.loglik == pytest.approx(ref.llf, abs=TOL)
    assert res.llnull == pytest.approx(ref.llnull, abs=TOL)
    assert res.aic == pytest.approx(ref.aic, abs=TOL)
    assert res.bic == pytest.approx(ref.bic, abs=TOL)
    assert res.pseudo_r2 == pytest.approx(ref.prsquared, abs=TOL)
    assert res.llr == pytest.approx(ref.llr, abs=TOL)
    assert res.llr_p == pytest.approx(ref.llr_pvalue, abs=TOL)
    assert res.llr_df == 3
    np.testing.assert_allclose(res.fitted, ref.predict(), atol=TOL)
    assert res.fitted.index.equals(X.index)
    np.testing.assert_allclose(res.predict(X), ref.predict(), atol=TOL)
    assert res.converged and res.n == 300 and res.n_events == int(y.sum())


def test_logistic_regression_drops_incomplete_rows_and_converts_booleans():
    X, y = _logit_data(120, seed=2)
    X.iloc[3, 0] = np.nan
    y.iloc[7] = np.nan
    res = logistic_regression(X, y)
    keep = X.notna().all(axis=1) & y.notna()
    ref = sm.Logit(y[keep], sm.add_constant(X[keep])).fit(disp=0)
    assert res.n == 118
    np.testing.assert_allclose(res.table["coef"], ref.params, atol=TOL)
    as_bool = logistic_regression(X[keep], y[keep].astype(bool))
    np.testing.assert_allclose(as_bool.table["coef"], res.table["coef"], atol=1e-12)


def test_logistic_regression_single_predictor_hand_example():
    # The docstring example; statsmodels gives the same numbers.
    X = pd.DataFrame({"x": [1, 2, 3, 4, 5, 6, 7, 8]})
    y = pd.Series([0, 0, 1, 0, 1, 0, 1, 1])
    res = logistic_regression(X, y)
    ref = sm.Logit(y, sm.add_constant(X)).fit(disp=0)
    assert res.table.loc["x", "coef"] == pytest.approx(ref.params["x"], abs=TOL)
    assert res.table.loc["x", "coef"] == pytest.approx(0.5941, abs=5e-5)


def test_logistic_regression_to_dict_is_json_ready():
    X, y = _logit_data(80, seed=3)
    out = logistic_regression(X, y).to_dict()
    text = json.dumps(out, allow_nan=False)
    back = json.loads(text)
    assert set(back) == {
        "n",
        "n_events",
        "ci_level",
        "converged",
        "iterations",
        "loglik",
        "llnull",
        "aic",
        "bic",
        "pseudo_r2",
        "lr_test",
        "coefficients",
    }
    assert set(back["coefficients"]) == {"intercept", "a", "b", "c"}
    assert set(back["coefficients"]["a"]) == {
        "coef",
        "se",
        "z",
        "p",
        "ci_lower",
        "ci_upper",
        "odds_ratio",
        "or_ci_lower",
        "or_ci_upper",
    }
    assert type(back["coefficients"]["a"]["coef"]) is float


def test_logistic_regression_perfect_separation_is_an_error():
    X = pd.DataFrame({"x": [1.0, 2, 3, 4, 5, 6]})
    with pytest.raises(SeparationError, match="separation"):
        logistic_regression(X, pd.Series([0, 0, 0, 1, 1, 1]))


def test_logistic_regression_quasi_complete_separation_is_an_error():
    # x > 3 always 1; at x == 3 both outcomes: quasi-complete separation.
    X = pd.DataFrame({"x": [1.0, 2, 3, 3, 4, 5, 6], "w": [0.3, -1, 2, 0.5, 1, -0.2, 0.1]})
    with pytest.raises(SeparationError):
        logistic_regression(X, pd.Series([0, 0, 0, 1, 1, 1, 1]))


@pytest.mark.parametrize(
    ("X", "y", "message"),
    [
        (pd.DataFrame({"x": [1.0, 2, 3, 4]}), [1, 1, 1, 1], "constant"),
        (pd.DataFrame({"x": [1.0, 2, 3, 4]}), [0, 1, 2, 1], "0/1"),
        (pd.DataFrame({"x": [1.0, 1, 1, 1, 1]}), [0, 1, 0, 1, 1], "without variance"),
        (
            pd.DataFrame({"x": [1.0, 2, 3, 4, 5], "z": [2.0, 4, 6, 8, 10]}),
            [0, 1, 0, 1, 1],
            "collin",
        ),
        (pd.DataFrame({"x": [1.0, 2]}), [0, 1], "more rows"),
        (pd.DataFrame({"x": ["a", "b", "c"]}), [0, 1, 1], "not numeric"),
        (pd.DataFrame({"intercept": [1.0, 2, 3]}), [0, 1, 1], "intercept"),
    ],
)
def test_logistic_regression_bad_input(X, y, message):
    with pytest.raises(ValueError, match=message):
        logistic_regression(X, pd.Series(y))


def test_roc_auc_equals_sklearn_with_ties():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 200)
    score = np.round(rng.standard_normal(200) + 0.6 * y, 1)  # rounded: many ties
    assert roc_auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)
    assert roc_auc_ci(y, score).auc == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_roc_auc_hand_examples():
    assert roc_auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]) == 0.75
    assert roc_auc([1, 1, 0, 0], [0.1, 0.4, 0.35, 0.8]) == 0.25
    assert roc_auc([0, 1], [0.5, 0.5]) == 0.5
    assert roc_auc(pd.Series([0, 1, np.nan, 1]), [0.2, 0.3, 0.9, np.nan]) == 1.0


def _delong_by_pairs(y, score):
    """DeLong et al. (1988) as written: psi over every positive-negative pair."""
    pos, neg = score[y == 1], score[y == 0]
    psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = psi.mean(axis=1), psi.mean(axis=0)
    return psi.mean(), np.var(v10, ddof=1) / pos.size + np.var(v01, ddof=1) / neg.size


def test_roc_auc_ci_delong_variance_by_pairs():
    rng = np.random.default_rng(5)
    y = rng.integers(0, 2, 150)
    score = np.round(rng.standard_normal(150) + 0.8 * y, 1)
    auc, var = _delong_by_pairs(y, score)
    res = roc_auc_ci(y, score, level=0.9)
    assert res.auc == pytest.approx(auc, abs=1e-12)
    assert res.se == pytest.approx(math.sqrt(var), abs=1e-12)
    crit = stats.norm.ppf(0.95)
    assert res.ci_lower == pytest.approx(auc - crit * res.se, abs=1e-12)
    assert res.ci_upper == pytest.approx(auc + crit * res.se, abs=1e-12)
    assert res.n_positive == int(y.sum()) and res.n_negative == int((1 - y).sum())
    json.dumps(res.to_dict(), allow_nan=False)


def test_roc_auc_ci_is_cut_at_one():
    res = roc_auc_ci([0, 0, 0, 1, 1, 1], [1, 2, 3, 4, 5, 6])
    assert res.auc == 1.0 and res.ci_upper == 1.0 and res.se == 0.0


def test_roc_auc_needs_both_classes_and_binary_y():
    with pytest.raises(ValueError, match="both outcomes"):
        roc_auc([1, 1, 1], [0.1, 0.2, 0.3])
    with pytest.raises(ValueError, match="0/1"):
        roc_auc([0, 2, 1], [0.1, 0.2, 0.3])


@pytest.mark.parametrize("level", [0.95, 0.8])
def test_pearson_ci_equals_scipy(level):
    rng = np.random.default_rng(6)
    x = rng.standard_normal(60)
    y = 0.4 * x + rng.standard_normal(60)
    res = pearson_ci(x, y, level)
    ref = stats.pearsonr(x, y)
    ci = ref.confidence_interval(confidence_level=level)
    assert res.r == pytest.approx(ref.statistic, abs=1e-12)
    assert res.p == pytest.approx(ref.pvalue, abs=1e-12)
    assert res.ci_lower == pytest.approx(ci.low, abs=1e-12)
    assert res.ci_upper == pytest.approx(ci.high, abs=1e-12)
    assert res.n == 60


def test_pearson_ci_complete_pairs_and_edges():
    x = pd.Series([1.0, 2, 3, np.nan, 5, 6, 7])
    y = pd.Series([2.0, 1, 4, 3, np.nan, 5, 8])
    res = pearson_ci(x, y)
    ref = stats.pearsonr([1, 2, 3, 6, 7], [2, 1, 4, 5, 8])
    assert res.n == 5 and res.r == pytest.approx(ref.statistic, abs=1e-12)
    small = pearson_ci([1, 2, 3], [1, 3, 2])
    assert small.ci_lower != small.ci_lower  # NaN: no Fisher interval at n = 3
    assert small.to_dict()["ci"]["lower"] is None
    perfect = pearson_ci([1, 2, 3, 4], [2, 4, 6, 8])
    assert perfect.r == 1.0 and perfect.p == 0.0 and perfect.ci_lower == 1.0
    with pytest.raises(ValueError, match="constant"):
        pearson_ci([1, 1, 1, 1], [1, 2, 3, 4])
    with pytest.raises(ValueError, match="at least 3"):
        pearson_ci([1, 2], [1, 2])
