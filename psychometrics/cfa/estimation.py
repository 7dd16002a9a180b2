"""Normal-theory maximum likelihood estimation by Fisher scoring.

The discrepancy minimised is lavaan's ``likelihood = "normal"`` ML function (Joreskog, 1969,
https://doi.org/10.1007/BF02289343), summed over groups with weights N_g / N:

    F_g = 1/2 [log|Sigma| + tr(S Sigma^-1) - log|S| - p + (m - mu)' Sigma^-1 (m - mu)]

with S the covariance matrix with divisor N (the mean term only with a mean structure). Each
iteration takes the Fisher-scoring step theta <- theta - I(theta)^-1 g(theta) with the analytic
gradient g and the expected information I, halving the step while F does not decrease.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .information import Vectors, quad_diag, rank2_information, rank2_information_diag
from .model import BETA, LAMBDA, NU, PSI, THETA, ModelSpec, derivative_vectors

__all__ = ["CompleteData", "Estimate", "Objective", "fisher_scoring", "start_values"]

LOG_2PI = float(np.log(2.0 * np.pi))


def _inverse_logdet(sigma: np.ndarray) -> tuple[np.ndarray, float] | None:
    try:
        chol = linalg.cholesky(sigma, lower=True, check_finite=False)
    except (linalg.LinAlgError, ValueError):
        return None
    logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
    inv = linalg.cho_solve((chol, True), np.eye(sigma.shape[0]), check_finite=False)
    return inv, logdet


@dataclass
class CompleteData:
    """Sufficient statistics of one group without missing values (S with divisor N)."""

    n: int
    cov: np.ndarray
    mean: np.ndarray
    logdet_cov: float

    @property
    def p(self) -> int:
        return self.cov.shape[0]

    def terms(self, sigma: np.ndarray, mu: np.ndarray | None, gradient: bool = True):
        """F_g, dF/dSigma (symmetric form) and dF/dmu; ``None`` when Sigma is not PD."""
        il = _inverse_logdet(sigma)
        if il is None:
            return None
        sinv, logdet = il
        target = self.cov
        grad_mu = None
        if mu is not None:
            d = self.mean - mu
            target = self.cov + np.outer(d, d)
        f = 0.5 * (logdet + float(np.sum(target * sinv)) - self.logdet_cov - self.p)
        if not gradient:
            return f, None, None, sinv
        grad_sigma = 0.5 * (sinv - sinv @ target @ sinv)
        if mu is not None:
            grad_mu = -sinv @ (self.mean - mu)
        return f, grad_sigma, grad_mu, sinv

    def loglik(self, sigma: np.ndarray, mu: np.ndarray | None) -> float:
        sinv, logdet = _inverse_logdet(sigma) or (None, np.nan)
        if sinv is None:
            return -np.inf
        target = self.cov
        if mu is not None:
            d = self.mean - mu
            target = self.cov + np.outer(d, d)
        return -0.5 * self.n * (self.p * LOG_2PI + logdet + float(np.sum(target * sinv)))

    def h1_loglik(self) -> float:
        return -0.5 * self.n * (self.p * LOG_2PI + self.logdet_cov + self.p)

    def baseline_loglik(self) -> float:
        return -0.5 * self.n * (self.p * LOG_2PI + float(np.sum(np.log(np.diag(self.cov))))
                                + self.p)

    def h1_moments(self) -> tuple[np.ndarray, np.ndarray]:
        return self.cov, self.mean

    def information(self, sigma_inv: np.ndarray, a: Vectors, b: Vectors | None = None,
                    diag: bool = False) -> np.ndarray:
        if diag:
            return rank2_information_diag(sigma_inv, a)
        return rank2_information(sigma_inv, a, a if b is None else b)


@dataclass
class Estimate:
    theta: np.ndarray
    fmin: float
    iterations: int
    converged: bool
    message: str


class Objective:
    """F(theta), its gradient and expected information for a model and its data groups."""

    def __init__(self, spec: ModelSpec, groups: list):
        self.spec = spec
        self.groups = groups
        self.n = sum(g.n for g in groups)
        self.weights = np.array([g.n / self.n for g in groups])
        self._free_rows = [spec.free_rows(g) for g in range(spec.n_groups)]

    def vectors(self, mats, group: int) -> tuple[Vectors, np.ndarray]:
        rows = self._free_rows[group]
        t = self.spec.table
        vec = derivative_vectors(mats, t.matrix[rows], t.row[rows], t.col[rows],
                                 means=self.spec.meanstructure)
        return vec, t.free[rows]

    def value(self, theta: np.ndarray) -> float:
        total = 0.0
        for g, mats in enumerate(self.spec.implied(theta)):
            out = self.groups[g].terms(mats.sigma, mats.mu if self.spec.meanstructure else None,
                                       gradient=False)
            if out is None:
                return np.inf
            total += self.weights[g] * out[0]
        return total

    def evaluate(self, theta: np.ndarray, information: bool = True):
        """Return F, gradient and (optionally) expected information at ``theta``."""
        q = self.spec.n_free
        grad = np.zeros(q)
        info = np.zeros((q, q)) if information else None
        total = 0.0
        for g, mats in enumerate(self.spec.implied(theta)):
            out = self.groups[g].terms(mats.sigma, mats.mu if self.spec.meanstructure else None)
            if out is None:
                return np.inf, None, None
            f, grad_sigma, grad_mu, context = out
            total += self.weights[g] * f
            vec, idx = self.vectors(mats, g)
            u, v, s, w = vec
            ge = 2.0 * s * quad_diag(u, grad_sigma, v)
            if w is not None and grad_mu is not None:
                ge += w.T @ grad_mu
            grad += self.weights[g] * np.bincount(idx, weights=ge, minlength=q)
            if information:
                block = self.weights[g] * self.groups[g].information(context, vec)
                _accumulate(info, idx, block)
        return total, grad, info


def _accumulate(target: np.ndarray, idx: np.ndarray, block: np.ndarray) -> None:
    if np.unique(idx).size == idx.size:
        target[np.ix_(idx, idx)] += block
    else:
        agg = np.zeros((target.shape[0], idx.size))
        agg[idx, np.arange(idx.size)] = 1.0
        target += agg @ block @ agg.T


def _scoring_step(info: np.ndarray, grad: np.ndarray) -> np.ndarray | None:
    """-info^-1 grad; near-singular information (e.g. at starting values where a factor is
    locally unidentified) gets a Levenberg-Marquardt ridge on the correlation scale."""
    d = np.sqrt(np.abs(np.diag(info)))
    d[d == 0] = 1.0
    scaled = info / np.outer(d, d)
    eye = np.eye(info.shape[0])
    for ridge in (0.0, 1e-8, 1e-6, 1e-4, 1e-2, 1.0):
        try:
            chol = linalg.cholesky(scaled + ridge * eye, lower=True, check_finite=False)
        except linalg.LinAlgError:
            continue
        if ridge == 0.0 and float(np.min(np.diag(chol))) ** 2 < 1e-12:
            continue
        return -linalg.cho_solve((chol, True), grad / d, check_finite=False) / d
    return None


def fisher_scoring(objective: Objective, start: np.ndarray, *, max_iter: int = 500,
                   tol: float = 1e-8, trace: list | None = None) -> Estimate:
    """Minimise F by Fisher scoring with step halving.

    Converged when the largest absolute gradient element of F is below ``tol`` (F is per
    observation, so N * tol bounds the score of the log-likelihood), or when F and theta stop
    changing.
    """
    theta = np.array(start, dtype=float)
    f, grad, info = objective.evaluate(theta)
    if not np.isfinite(f):
        return Estimate(theta, f, 0, False, "the starting values imply a covariance matrix "
                        "that is not positive definite")
    for it in range(1, max_iter + 1):
        step = _scoring_step(info, grad)
        if step is None or not np.all(np.isfinite(step)):
            return Estimate(theta, f, it, False, "the information matrix is singular")
        factor = 1.0
        while True:
            candidate = theta + factor * step
            f_new = objective.value(candidate)
            if np.isfinite(f_new) and f_new <= f + 1e-14 * max(1.0, abs(f)):
                break
            factor *= 0.5
            if factor < 1e-10:
                converged = float(np.max(np.abs(grad))) < 1e-6
                msg = ("converged" if converged else
                       "no step decreased the discrepancy function")
                return Estimate(theta, f, it, converged, msg)
        theta = candidate
        f_old = f
        f, grad, info = objective.evaluate(theta)
        if trace is not None:
            trace.append((f, float(np.max(np.abs(grad))), factor))
        if float(np.max(np.abs(grad))) < tol:
            return Estimate(theta, f, it, True, "converged")
        if float(np.max(np.abs(factor * step))) < tol and abs(f_old - f) < 1e-15:
            return Estimate(theta, f, it, True, "converged")
    return Estimate(theta, f, max_iter, False,
                    f"did not converge in {max_iter} iterations")


def start_values(spec: ModelSpec, covs: list[np.ndarray], means: list[np.ndarray]) -> np.ndarray:
    """Starting values: one-factor principal-axis loadings per factor, half-sized residuals."""
    t = spec.table
    value = np.where(np.isnan(t.value), 0.0, t.value)
    start = np.full(len(t), np.nan)
    for g in range(spec.n_groups):
        cov, mean = covs[g], means[g]
        rows = np.flatnonzero(t.group == g)
        phi = np.ones(spec.m)
        loading = {}
        for j in range(spec.m):
            ind = [i for i in rows if t.matrix[i] == LAMBDA and t.col[i] == j]
            if not ind:
                continue
            items = t.row[ind]
            sub = cov[np.ix_(items, items)]
            if len(items) >= 2:
                vals, vecs = np.linalg.eigh(sub)
                lvec = np.sqrt(max(vals[-1], 1e-6)) * vecs[:, -1]
                lvec *= np.sign(lvec.sum()) or 1.0
                lvec = np.where(np.abs(lvec) < 1e-3, 1e-3, lvec)
            else:
                lvec = np.sqrt(np.diag(sub))
            fixed = [k for k, i in enumerate(ind) if t.free[i] < 0 and value[i] != 0]
            if fixed:
                k = fixed[0]
                scale = value[ind[k]] / lvec[k]
            else:
                scale = 1.0
            phi[j] = 1.0 / scale**2
            for k, i in enumerate(ind):
                loading[i] = lvec[k] * scale
        lam_rows = rows[t.matrix[rows] == LAMBDA]
        explained = np.zeros(spec.p)
        np.add.at(explained, t.row[lam_rows],
                  np.array([loading.get(i, 1.0) for i in lam_rows]) ** 2 * phi[t.col[lam_rows]])
        has_items = np.zeros(spec.m, dtype=bool)
        has_items[t.col[lam_rows]] = True
        for i in rows:
            mat, r, c = t.matrix[i], t.row[i], t.col[i]
            if mat == LAMBDA:
                start[i] = loading.get(i, 1.0)
            elif mat == THETA:
                if r == c:
                    start[i] = float(np.clip(cov[r, r] - explained[r], 0.1 * cov[r, r],
                                             0.9 * cov[r, r]))
                else:
                    start[i] = 0.0
            elif mat == PSI:
                if r != c:
                    start[i] = _start_covariance(t, rows, loading, cov, r, c, phi)
                elif not has_items[r]:
                    start[i] = 0.5 * float(np.mean(phi[has_items])) if has_items.any() else 1.0
                else:
                    start[i] = phi[r] if spec.exogenous[r] else 0.5 * phi[r]
            elif mat == BETA:
                start[i] = 1.0
            elif mat == NU:
                start[i] = mean[r]
            else:
                start[i] = 0.0
    user_start = ~np.isnan(t.value) & (t.free >= 0)
    start[user_start] = t.value[user_start]
    theta = np.zeros(spec.n_free)
    counts = np.bincount(t.free[t.free >= 0], minlength=spec.n_free)
    np.add.at(theta, t.free[t.free >= 0], start[t.free >= 0])
    return theta / np.maximum(counts, 1)


def _start_covariance(t, rows, loading: dict, cov: np.ndarray, a: int, b: int,
                      phi: np.ndarray) -> float:
    """Factor covariance implied by the indicators' cross-covariances, shrunk to |r| <= .9."""
    ia = [i for i in rows if t.matrix[i] == LAMBDA and t.col[i] == a]
    ib = [i for i in rows if t.matrix[i] == LAMBDA and t.col[i] == b]
    if not ia or not ib:
        return 0.0
    la = np.array([loading.get(i, 1.0) for i in ia])
    lb = np.array([loading.get(i, 1.0) for i in ib])
    est = float(np.mean(cov[np.ix_(t.row[ia], t.row[ib])] / np.outer(la, lb)))
    bound = 0.9 * np.sqrt(phi[a] * phi[b])
    return float(np.clip(est, -bound, bound))
