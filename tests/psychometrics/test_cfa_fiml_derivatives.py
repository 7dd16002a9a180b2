"""FIML derivatives (psychometrics.cfa.fiml): the batched low-rank likelihood, gradient, expected
and observed information against direct per-pattern computations and finite differences, and
the observed-information standard errors against lavaan 0.6-14 (expected/cfa_fiml_hs.json, from
r/generate_cfa_oracles.R: lavaan's default for missing = "ml" is information = "observed",
observed.information = "hessian").
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import linalg

from psychometrics.cfa import cfa
from psychometrics.cfa.fiml import MissingData, observed_information
from psychometrics.cfa.fitting import _observed_information
from psychometrics.cfa.information import rank2_information, rank2_information_diag

HERE = Path(__file__).parent
HS_MODEL = "visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9"


def incomplete(n=300, p=6, seed=3, rate=0.25):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(p, p))
    sigma = a @ a.T / p + np.eye(p)
    x = rng.multivariate_normal(np.arange(p, dtype=float), sigma, size=n)
    drop = rng.random((n, p)) < rate
    drop[np.arange(n), rng.integers(0, p, n)] = False  # every row keeps a value
    drop[:5] = False  # a pattern with several complete cases
    x[drop] = np.nan
    return x, sigma, np.arange(p, dtype=float) + 0.3


def direct(x, sigma, mu):
    """-2 log L / N up to constants, dF/dSigma and dF/dmu, pattern by pattern (no batching)."""
    n, p = x.shape
    f, g_sigma, g_mu = 0.0, np.zeros((p, p)), np.zeros(p)
    for row in x:
        o = np.flatnonzero(~np.isnan(row))
        inv = linalg.inv(sigma[np.ix_(o, o)])
        d = row[o] - mu[o]
        f += 0.5 * (np.linalg.slogdet(sigma[np.ix_(o, o)])[1] + d @ inv @ d)
        g_sigma[np.ix_(o, o)] += 0.5 * (inv - inv @ np.outer(d, d) @ inv)
        g_mu[o] -= inv @ d
    return f / n, g_sigma / n, g_mu / n


def test_likelihood_and_gradient_match_the_per_pattern_formulas():
    x, sigma, mu = incomplete()
    data = MissingData.from_array(x)
    f, g_sigma, g_mu, _ = data.terms(sigma, mu)
    f0, g_sigma0, g_mu0 = direct(x, sigma, mu)
    assert f == pytest.approx(f0, rel=1e-12)
    np.testing.assert_allclose(g_sigma, g_sigma0, atol=1e-12)
    np.testing.assert_allclose(g_mu, g_mu0, atol=1e-12)
    n_obs = int((~np.isnan(x)).sum())
    assert data.loglik(sigma, mu) == pytest.approx(
        -x.shape[0] * f0 - 0.5 * n_obs * np.log(2 * np.pi), rel=1e-12
    )


def test_gradient_is_the_derivative_of_the_likelihood():
    x, sigma, mu = incomplete(seed=5)
    data = MissingData.from_array(x)
    _, g_sigma, g_mu, _ = data.terms(sigma, mu)
    h = 1e-6
    for i, j in [(0, 0), (1, 3), (5, 2)]:
        step = np.zeros_like(sigma)
        step[i, j] = step[j, i] = h
        up = data.terms(sigma + step, mu, gradient=False)[0]
        down = data.terms(sigma - step, mu, gradient=False)[0]
        # the symmetric form: dF/dsigma_ij = 2 G_ij off the diagonal, G_ii on it
        assert (up - down) / (2 * h) == pytest.approx(
            g_sigma[i, j] * (1 if i == j else 2), abs=1e-8
        )
    for j in range(x.shape[1]):
        step = np.zeros_like(mu)
        step[j] = h
        up = data.terms(sigma, mu + step, gradient=False)[0]
        down = data.terms(sigma, mu - step, gradient=False)[0]
        assert (up - down) / (2 * h) == pytest.approx(g_mu[j], abs=1e-8)


def random_vectors(p, k, seed):
    rng = np.random.default_rng(seed)
    return (
        rng.normal(size=(p, k)),
        rng.normal(size=(p, k)),
        rng.uniform(0.5, 1, k),
        rng.normal(size=(p, k)),
    )


def test_expected_information_matches_the_per_pattern_sum():
    x, sigma, mu = incomplete(seed=7)
    data = MissingData.from_array(x)
    context = data.terms(sigma, mu)[3]
    a, b = random_vectors(x.shape[1], 5, 1), random_vectors(x.shape[1], 4, 2)
    full, diag = np.zeros((5, 4)), np.zeros(5)
    for pat in data.patterns:
        o = pat.observed
        inv = linalg.inv(sigma[np.ix_(o, o)])
        sub_a = tuple(m[o] if m.ndim == 2 else m for m in a)
        sub_b = tuple(m[o] if m.ndim == 2 else m for m in b)
        full += pat.n * rank2_information(inv, sub_a, sub_b)
        diag += pat.n * rank2_information_diag(inv, sub_a)
    np.testing.assert_allclose(data.information(context, a, b), full / data.n, atol=1e-12)
    np.testing.assert_allclose(data.information(context, a, diag=True), diag / data.n, atol=1e-12)


def test_observed_hessian_is_the_derivative_of_the_gradient():
    """With fixed derivative vectors Delta, d(Delta' grad)/d t = Delta' H Delta."""
    x, sigma, mu = incomplete(seed=11)
    data = MissingData.from_array(x)
    u, v, s, w = random_vectors(x.shape[1], 4, 3)
    hess = data.observed_hessian(data.terms(sigma, mu)[3], (u, v, s, w))

    def gradient(t):
        d_sigma = sum(
            t[k] * s[k] * (np.outer(u[:, k], v[:, k]) + np.outer(v[:, k], u[:, k]))
            for k in range(4)
        )
        _, g_sigma, g_mu, _ = data.terms(sigma + d_sigma, mu + w @ t)
        return np.array([2 * s[k] * u[:, k] @ g_sigma @ v[:, k] + w[:, k] @ g_mu for k in range(4)])

    h = 1e-6
    numeric = np.column_stack([(gradient(h * e) - gradient(-h * e)) / (2 * h) for e in np.eye(4)])
    np.testing.assert_allclose(hess, 0.5 * (numeric + numeric.T), atol=1e-7)


@pytest.mark.parametrize(
    "model, kwargs",
    [
        (HS_MODEL, {}),
        (HS_MODEL, {"std_lv": True}),
        # a complete group next to an incomplete one, with equal loadings
        (HS_MODEL, {"group": "school", "group_equal": ["loadings"]}),
        # second order: Sigma is not quadratic in the parameters
        (HS_MODEL + "\ng =~ visual + textual + speed", {}),
    ],
)
def test_analytic_observed_information_equals_differences_of_the_gradient(model, kwargs):
    data = pd.read_csv(HERE / "data" / "hs_missing.csv")
    if "group" in kwargs:
        school = data["school"] == data["school"].iloc[0]
        data.loc[school] = data.loc[school].fillna(data.loc[school].mean(numeric_only=True))
    res = cfa(model, data, missing="ml", **kwargs)
    assert res.converged
    analytic = observed_information(res.objective, res.theta)
    numeric = _observed_information(res.objective, res.theta)
    np.testing.assert_allclose(analytic, numeric, atol=1e-6 * np.abs(numeric).max())


def test_standard_errors_equal_lavaan():
    with open(HERE / "expected" / "cfa_fiml_hs.json", encoding="utf-8") as fh:
        oracle = json.load(fh)
    assert oracle["information_used"] == ["observed", "observed"]
    res = cfa(oracle["model"], pd.read_csv(HERE / "data" / "hs_missing.csv"), missing="ml")
    ours = res.estimates.set_index(
        res.estimates["lhs"] + res.estimates["op"] + res.estimates["rhs"]
    )
    est = pd.DataFrame(oracle["fit"]["estimates"])
    keys = est["lhs"] + est["op"] + est["rhs"]
    np.testing.assert_allclose(ours.loc[keys, "se"], est["se"], atol=1e-5)
    np.testing.assert_allclose(ours.loc[keys, "est"], est["est"], atol=1e-5)
