"""The saturated model's observed information under FIML (``robust._observed_h1``).

It is computed as one product over missing-data patterns; here it is checked against the
numerical Hessian of the observed-data log-likelihood in h = (mu, vech Sigma) and against the
per-pattern sum of D'(A_k kron Q_k)D blocks (``robust._kron_vech``), on random data with several
patterns, at moments that are not the ML estimates (so that the mean terms do not vanish).
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import linalg

from psychometrics.cfa import robust


def _data(p: int, n: int, rate: float, seed: int):
    rng = np.random.default_rng(seed)
    load = rng.normal(size=(p, 2))
    sigma = load @ load.T + np.eye(p)
    x = rng.multivariate_normal(np.zeros(p), sigma, size=n)
    x[rng.random((n, p)) < rate] = np.nan
    x[np.all(np.isnan(x), axis=1), 0] = 0.3  # no empty rows
    mu = np.nanmean(x, axis=0) + 0.2
    return x, mu, 1.1 * sigma + 0.05


def _loglik(x: np.ndarray, h: np.ndarray) -> float:
    """Mean observed-data log-likelihood (without the constant) at h = (mu, vech Sigma)."""
    p = x.shape[1]
    r, c = robust._vech_index(p)
    mu = h[:p]
    sigma = np.zeros((p, p))
    sigma[r, c] = sigma[c, r] = h[p:]
    total = 0.0
    for row in x:
        o = np.flatnonzero(~np.isnan(row))
        s = sigma[np.ix_(o, o)]
        d = row[o] - mu[o]
        total -= 0.5 * (np.linalg.slogdet(s)[1] + d @ linalg.solve(s, d))
    return total / x.shape[0]


def test_observed_h1_is_the_negative_hessian():
    x, mu, sigma = _data(4, 40, 0.25, 1)
    r, c = robust._vech_index(4)
    h = np.concatenate([mu, sigma[r, c]])
    step = 1e-4
    k = h.size
    hess = np.zeros((k, k))
    for a in range(k):
        for b in range(a, k):
            e_a, e_b = np.eye(k)[a] * step, np.eye(k)[b] * step
            hess[a, b] = hess[b, a] = (
                _loglik(x, h + e_a + e_b)
                - _loglik(x, h + e_a - e_b)
                - _loglik(x, h - e_a + e_b)
                + _loglik(x, h - e_a - e_b)
            ) / (4 * step**2)
    info = robust._observed_h1(x, mu, sigma)
    np.testing.assert_allclose(info, -hess, atol=1e-5 * np.abs(info).max())


@pytest.mark.parametrize(("p", "n", "rate"), [(6, 80, 0.2), (43, 30, 0.08)])
def test_observed_h1_matches_the_per_pattern_blocks(p, n, rate):
    x, mu, sigma = _data(p, n, rate, 2)
    r, c = robust._vech_index(p)
    f = np.where(r == c, 0.5, 1.0)
    position = np.zeros((p, p), dtype=int)
    position[r, c] = position[c, r] = np.arange(r.size)
    h11, h21, h22 = np.zeros((p, p)), np.zeros((r.size, p)), np.zeros((r.size, r.size))
    patterns = robust._patterns(x)
    assert len(patterns) > 3
    for o, sel in patterns:
        y = x[np.ix_(sel, o)]
        n_r = y.shape[0]
        inv = robust._embedded_inverse(sigma, o)
        d = np.zeros(p)
        d[o] = y.mean(axis=0) - mu[o]
        target = np.zeros((p, p))
        target[np.ix_(o, o)] = np.cov(y.T, bias=True).reshape(o.size, o.size)
        target += np.outer(d, d)
        b = inv @ d
        h11 += n_r * inv
        h21 += n_r * f[:, None] * (b[c][:, None] * inv[r] + b[r][:, None] * inv[c])
        q = inv @ (2.0 * target - sigma) @ inv
        lr, lc = robust._vech_index(o.size)
        keep = position[o[lr], o[lc]]
        block = robust._kron_vech(inv[np.ix_(o, o)], q[np.ix_(o, o)])
        h22[np.ix_(keep, keep)] += n_r * 0.5 * block
    expected = np.block([[h11, h21.T], [h21, h22]]) / n
    got = robust._observed_h1(x, mu, sigma)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-12 * np.abs(expected).max())
