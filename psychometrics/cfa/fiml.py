"""Full-information maximum likelihood (FIML) for incomplete data.

Cases are grouped by missing-data pattern; pattern r with n_r cases observing variables o_r
contributes, with its observed-variable means m_r and covariance C_r (divisor n_r),

    -2 log L_r = n_r [p_r log(2 pi) + log|Sigma_oo| + tr(Sigma_oo^-1 (C_r + d_r d_r'))],
    d_r = m_r - mu_o

(Arbuckle, 1996, in *Advanced Structural Equation Modeling*; Enders & Bandalos, 2001,
https://doi.org/10.1207/S15328007SEM0803_5). The unrestricted (H1) model is estimated by the EM
algorithm (Dempster, Laird & Rubin, 1977, https://doi.org/10.1111/j.2517-6161.1977.tb01600.x), as
lavaan's h1 for ``missing = "ml"``; the chi-square is 2 (log L_H1 - log L_H0).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg

from .estimation import LOG_2PI
from .information import Vectors, rank2_information, rank2_information_diag
from .model import derivative_vectors

__all__ = ["MissingData"]


@dataclass
class _Pattern:
    observed: np.ndarray
    n: int
    mean: np.ndarray
    cov: np.ndarray


def _inv_logdet(sigma: np.ndarray):
    try:
        chol = linalg.cholesky(sigma, lower=True, check_finite=False)
    except (linalg.LinAlgError, ValueError):
        return None
    inv = linalg.cho_solve((chol, True), np.eye(sigma.shape[0]), check_finite=False)
    return inv, 2.0 * float(np.sum(np.log(np.diag(chol))))


@dataclass
class MissingData:
    """Missing-data patterns of one group, with EM estimates of the unrestricted moments."""

    n: int
    p: int
    patterns: list[_Pattern]
    h1_cov: np.ndarray = field(init=False)
    h1_mean: np.ndarray = field(init=False)
    h1_iterations: int = field(init=False)

    @classmethod
    def from_array(cls, x: np.ndarray) -> MissingData:
        observed = ~np.isnan(x)
        keys, inverse = np.unique(observed, axis=0, return_inverse=True)
        patterns = []
        for k, key in enumerate(keys):
            rows = x[inverse.ravel() == k][:, key]
            mean = rows.mean(axis=0)
            centred = rows - mean
            patterns.append(
                _Pattern(
                    np.flatnonzero(key), rows.shape[0], mean, centred.T @ centred / rows.shape[0]
                )
            )
        out = cls(x.shape[0], x.shape[1], patterns)
        out._em(x)
        return out

    # -- unrestricted model by EM ----------------------------------------------------------
    def _em(self, x: np.ndarray, max_iter: int = 10000, tol: float = 1e-11) -> None:
        mean = np.nanmean(x, axis=0)
        cov = np.diag(np.nanvar(x, axis=0))
        previous = -np.inf
        it = 0
        for it in range(1, max_iter + 1):  # noqa: B007 - kept as h1_iterations
            t1 = np.zeros(self.p)
            t2 = np.zeros((self.p, self.p))
            for pat in self.patterns:
                o = pat.observed
                mis = np.setdiff1d(np.arange(self.p), o)
                second = pat.cov + np.outer(pat.mean, pat.mean)  # mean of x_o x_o'
                if mis.size == 0:
                    t1 += pat.n * pat.mean
                    t2 += pat.n * second
                    continue
                b = linalg.solve(cov[np.ix_(o, o)], cov[np.ix_(o, mis)], assume_a="pos").T
                c = mean[mis] - b @ mean[o]
                xm = c + b @ pat.mean
                t1[o] += pat.n * pat.mean
                t1[mis] += pat.n * xm
                t2[np.ix_(o, o)] += pat.n * second
                cross = pat.n * (np.outer(c, pat.mean) + b @ second)
                t2[np.ix_(mis, o)] += cross
                t2[np.ix_(o, mis)] += cross.T
                t2[np.ix_(mis, mis)] += pat.n * (
                    np.outer(c, c)
                    + np.outer(c, b @ pat.mean)
                    + np.outer(b @ pat.mean, c)
                    + b @ second @ b.T
                    + cov[np.ix_(mis, mis)]
                    - b @ cov[np.ix_(o, mis)]
                )
            mean = t1 / self.n
            cov = t2 / self.n - np.outer(mean, mean)
            cov = 0.5 * (cov + cov.T)
            ll = self.loglik(cov, mean)
            if abs(ll - previous) < tol * max(1.0, abs(ll)):
                break
            previous = ll
        self.h1_cov, self.h1_mean, self.h1_iterations = cov, mean, it

    # -- interface shared with CompleteData ------------------------------------------------
    def terms(self, sigma: np.ndarray, mu: np.ndarray | None, gradient: bool = True):
        f = 0.0
        grad_sigma = np.zeros((self.p, self.p)) if gradient else None
        grad_mu = np.zeros(self.p) if gradient else None
        inverses = []
        for pat in self.patterns:
            o = pat.observed
            il = _inv_logdet(sigma[np.ix_(o, o)])
            if il is None:
                return None
            inv, logdet = il
            d = pat.mean - mu[o]
            target = pat.cov + np.outer(d, d)
            f += pat.n * 0.5 * (logdet + float(np.sum(target * inv)))
            inverses.append(inv)
            if gradient:
                grad_sigma[np.ix_(o, o)] += pat.n * 0.5 * (inv - inv @ target @ inv)
                grad_mu[o] -= pat.n * (inv @ d)
        if gradient:
            grad_sigma /= self.n
            grad_mu /= self.n
        return f / self.n, grad_sigma, grad_mu, inverses

    def loglik(self, sigma: np.ndarray, mu: np.ndarray | None) -> float:
        out = self.terms(sigma, mu, gradient=False)
        if out is None:
            return -np.inf
        n_obs = sum(pat.n * pat.observed.size for pat in self.patterns)
        return -self.n * out[0] - 0.5 * n_obs * LOG_2PI

    def h1_loglik(self) -> float:
        return self.loglik(self.h1_cov, self.h1_mean)

    def baseline_loglik(self) -> float:
        # Independence model: each variable's ML mean and variance from its observed values.
        total = 0.0
        for j in range(self.p):
            n_j, s1, s2 = 0, 0.0, 0.0
            for pat in self.patterns:
                k = np.flatnonzero(pat.observed == j)
                if k.size:
                    k = int(k[0])
                    n_j += pat.n
                    s1 += pat.n * pat.mean[k]
                    s2 += pat.n * (pat.cov[k, k] + pat.mean[k] ** 2)
            mean = s1 / n_j
            var = s2 / n_j - mean**2
            total += -0.5 * n_j * (LOG_2PI + np.log(var) + 1.0)
        return total

    def h1_moments(self) -> tuple[np.ndarray, np.ndarray]:
        return self.h1_cov, self.h1_mean

    @staticmethod
    def derivatives(mats, matrix, row, col, means: bool) -> Vectors:
        return derivative_vectors(mats, matrix, row, col, means=means)

    def information(
        self, inverses, a: Vectors, b: Vectors | None = None, diag: bool = False
    ) -> np.ndarray:
        """Expected information summed over patterns (each on its observed rows)."""
        a = _dense(a)
        b = None if b is None else _dense(b)
        out = None
        for pat, inv in zip(self.patterns, inverses, strict=True):
            o = pat.observed
            sub_a = _rows(a, o)
            if diag:
                block = rank2_information_diag(inv, sub_a)
            else:
                block = rank2_information(inv, sub_a, sub_a if b is None else _rows(b, o))
            block *= pat.n / self.n
            out = block if out is None else out + block
        return out


def _dense(vectors: Vectors) -> Vectors:
    u, v, s, w = vectors
    return (u.toarray(), v.toarray(), s, None if w is None else w.toarray())


def _rows(vectors: Vectors, rows: np.ndarray) -> Vectors:
    u, v, s, w = vectors
    return u[rows], v[rows], s, None if w is None else w[rows]
