"""Normal-theory maximum likelihood estimation by Fisher scoring.

The discrepancy minimised is lavaan's ``likelihood = "normal"`` ML function (Joreskog, 1969,
https://doi.org/10.1007/BF02289343), summed over groups with weights N_g / N:

    F_g = 1/2 [log|Sigma| + tr(S Sigma^-1) - log|S| - p + (m - mu)' Sigma^-1 (m - mu)]

with S the covariance matrix with divisor N (the mean term only with a mean structure).

Fisher scoring (:func:`fisher_scoring`; Jennrich, R. I., & Sampson, P. F. (1976).
Newton-Raphson and related algorithms for maximum likelihood variance component estimation.
*Technometrics, 18*(1), 11-17, https://doi.org/10.1080/00401706.1976.10489395; for covariance
structures Lee, S.-Y., & Jennrich, R. I. (1979). A study of algorithms for covariance structure
analysis with specific comparisons using factor analysis. *Psychometrika, 44*, 99-113) replaces
the Hessian of Newton's method by the expected information
I(theta) = sum_g (N_g / N) Delta_g' W_g Delta_g, with Delta_g the derivatives of
(vech Sigma_g, mu_g) and W_g the normal-theory weight (1/2 D'(Sigma^-1 (x) Sigma^-1) D, and
Sigma^-1 for the means; with missing data its sum over the patterns, see :mod:`.fiml`):

    theta_{k+1} = theta_k + a_k d_k,    (I(theta_k) + lambda_k diag I(theta_k)) d_k = -g(theta_k)

with the analytic gradient g, a backtracking step length a_k in {1, 1/2, ..., 1/16} that
satisfies the Armijo condition F(theta_k + a d) <= F(theta_k) + 1e-4 a g'd (Nocedal & Wright,
2006, sec. 3.1), and a Levenberg-Marquardt damping lambda_k (Marquardt, D. W. (1963). An
algorithm for least-squares estimation of nonlinear parameters. *Journal of the SIAM,
11*(2), 431-441, https://doi.org/10.1137/0111030) that is 0 unless no step length decreases
F; it grows tenfold on such failures and shrinks tenfold after full steps. Converged when
max |g| < tol.

When scoring stalls (a nearly unidentified model whose iterates drift along a ridge), a
quasi-Newton method takes over (:func:`quasi_newton`): BFGS (Nocedal, J., & Wright, S. J.
(2006). *Numerical optimization* (2nd ed.), ch. 6. Springer.
https://doi.org/10.1007/978-0-387-40065-5), which builds an approximation H_k of the inverse
Hessian from the gradient differences y_k = g_{k+1} - g_k and steps s_k,

    H_{k+1} = (I - r s_k y_k') H_k (I - r y_k s_k') + r s_k s_k',    r = 1 / (y_k' s_k),

with the same F and analytic gradient, unbounded, as lavaan minimises F by ``nlminb``
(Rosseel, 2012, https://doi.org/10.18637/jss.v048.i02); SciPy's ``minimize(method="BFGS")``
with a Wolfe line search does the iterations.

Starting values matter more than the optimiser for higher-order models: the ML function of a
construct with two first-order indicators has an improper local minimum with a negative construct
variance, reached when its second loading starts with the wrong sign (e.g. +1 when the two
subconstructs correlate negatively). :func:`start_values` therefore takes every loading's sign
and size from the sample moments, level by level.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg

from .information import (
    Indexed,
    Vectors,
    indexed_information,
    indexed_information_diag,
    quad_diag,
    rank2_information,
    rank2_information_diag,
)
from .model import ALPHA, BETA, LAMBDA, NU, PSI, THETA, ModelSpec, derivative_index

__all__ = [
    "CompleteData",
    "Estimate",
    "Objective",
    "derivative",
    "fisher_scoring",
    "quasi_newton",
    "start_values",
]

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
        return (
            -0.5 * self.n * (self.p * LOG_2PI + float(np.sum(np.log(np.diag(self.cov)))) + self.p)
        )

    def h1_moments(self) -> tuple[np.ndarray, np.ndarray]:
        return self.cov, self.mean

    @staticmethod
    def derivatives(mats, matrix, row, col, means: bool) -> Indexed:
        return derivative_index(mats, matrix, row, col, means=means)

    def information(
        self,
        sigma_inv: np.ndarray,
        a: Indexed | Vectors,
        b: Indexed | Vectors | None = None,
        diag: bool = False,
    ) -> np.ndarray:
        if isinstance(a, Indexed):
            if diag:
                return indexed_information_diag(sigma_inv, a)
            return indexed_information(sigma_inv, a, b)
        if diag:
            return rank2_information_diag(sigma_inv, a)
        return rank2_information(sigma_inv, a, a if b is None else b)


def derivative(
    vec: Indexed | Vectors, grad_sigma: np.ndarray, grad_mu: np.ndarray | None
) -> np.ndarray:
    """dF/dk for every entry k described by ``vec`` from dF/dSigma and dF/dmu."""
    if isinstance(vec, Indexed):
        return vec.derivative(grad_sigma, grad_mu)
    u, v, s, w = vec
    out = 2.0 * s * quad_diag(u, grad_sigma, v)
    if w is not None and grad_mu is not None:
        out += w.T @ grad_mu
    return out


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
        vec = self.groups[group].derivatives(
            mats, t.matrix[rows], t.row[rows], t.col[rows], means=self.spec.meanstructure
        )
        return vec, t.free[rows]

    def value(self, theta: np.ndarray) -> float:
        total = 0.0
        for g, mats in enumerate(self.spec.implied(theta)):
            out = self.groups[g].terms(
                mats.sigma, mats.mu if self.spec.meanstructure else None, gradient=False
            )
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
            ge = derivative(vec, grad_sigma, grad_mu)
            grad += self.weights[g] * np.bincount(idx, weights=ge, minlength=q)
            if information:
                block = self.weights[g] * self.groups[g].information(context, vec)
                _accumulate(info, idx, block)
        return total, grad, info


def _accumulate(target: np.ndarray, idx: np.ndarray, block: np.ndarray) -> None:
    if idx.size == target.shape[0] and np.array_equal(idx, np.arange(idx.size)):
        target += block
    elif np.unique(idx).size == idx.size:
        target[np.ix_(idx, idx)] += block
    else:
        agg = np.zeros((target.shape[0], idx.size))
        agg[idx, np.arange(idx.size)] = 1.0
        target += agg @ block @ agg.T


class _Factor:
    """Cholesky factor of (info + damping D) on the correlation scale of the information,
    D = diag(info) (Levenberg-Marquardt). Near-singular information (e.g. at starting values
    where a factor is locally unidentified) gets the smallest ridge that makes it safely
    positive definite; ``chol`` is None when none does."""

    def __init__(self, info: np.ndarray, damping: float = 0.0):
        d = np.sqrt(np.abs(np.diag(info)))
        d[d == 0] = 1.0
        self.d = d
        self.chol = None
        scaled = info / np.outer(d, d)
        diag = np.einsum("ii->i", scaled)
        base = diag.copy()
        for ridge in (0.0, 1e-8, 1e-6, 1e-4, 1e-2, 1.0):
            diag[:] = base + ridge + damping
            try:
                chol = linalg.cholesky(scaled, lower=True, check_finite=False)
            except linalg.LinAlgError:
                continue
            if ridge == 0.0 and float(np.min(np.diag(chol))) ** 2 < 1e-12:
                continue
            self.chol = chol
            return

    def step(self, grad: np.ndarray) -> np.ndarray | None:
        """-(info + damping D)^-1 grad."""
        if self.chol is None:
            return None
        return -linalg.cho_solve((self.chol, True), grad / self.d, check_finite=False) / self.d


def fisher_scoring(
    objective: Objective,
    start: np.ndarray,
    *,
    max_iter: int = 500,
    tol: float = 1e-8,
    trace: list | None = None,
    fallback: bool = True,
) -> Estimate:
    """Minimise F by Fisher scoring with a backtracking line search and adaptive damping.

    Each iteration tries the scoring step -I^-1 g and backtracks (halving, at most four times)
    until F decreases by at least a small fraction of what the linear model predicts (Armijo).
    When no such step is found the information is damped towards its diagonal
    (Levenberg-Marquardt, which turns the step towards scaled steepest descent and shortens it),
    and the damping is relaxed again after full steps, so that near the optimum the iteration is
    plain Fisher scoring with its fast local convergence. Close to the optimum (largest
    gradient element below 1e-4) the information changes little between iterations and its
    factorisation is reused; it is recomputed whenever a full step fails.

    Converged when the largest absolute gradient element of F is below ``tol`` (F is per
    observation, so N * tol bounds the score of the log-likelihood), or when F and theta stop
    changing.

    Scoring has stalled when it stops without converging: after ``max_iter`` iterations, when no
    step decreases F or the information is singular, or early, when ``STALL_WINDOW``
    iterations in a row took no full undamped step or F did not decrease over that many
    iterations (the signature of iterates drifting along a nearly flat ridge towards infinity,
    e.g. a loading growing without bound). With ``fallback`` (default) :func:`quasi_newton` then
    minimises the same F from the starting values and from the best point scoring reached, and
    the better converged result is returned. Models where scoring converges never reach it.
    """
    estimate = _scoring(objective, start, max_iter=max_iter, tol=tol, trace=trace)
    if estimate.converged or not fallback:
        return estimate
    return quasi_newton(objective, start, estimate, max_iter=max_iter, tol=tol)


STALL_WINDOW = 25


def _stalled(history: list[tuple[float, bool]]) -> bool:
    """No full undamped step, or no decrease of F, over the last ``STALL_WINDOW`` iterations."""
    if len(history) <= STALL_WINDOW:
        return False
    recent = history[-STALL_WINDOW:]
    if not any(full for _, full in recent):
        return True
    f_then, f_now = history[-STALL_WINDOW - 1][0], history[-1][0]
    return f_then - f_now <= 1e-12 * max(1.0, abs(f_now))


def _scoring(objective, start, *, max_iter, tol, trace) -> Estimate:
    """The Fisher-scoring iterations of :func:`fisher_scoring` (without its fallback).

    Per iteration: a damped scoring step accepted by the line search (:func:`_accepted_step`),
    the move to it and the new gradient (:func:`_move`), the convergence tests
    (:func:`_converged`) and the stall test (:func:`_stalled`).
    """
    theta = np.array(start, dtype=float)
    f, grad, info = objective.evaluate(theta)
    if not np.isfinite(f):
        return Estimate(
            theta,
            f,
            0,
            False,
            "the starting values imply a covariance matrix that is not positive definite",
        )
    state = _Iterate(theta, f, grad, info)
    history: list[tuple[float, bool]] = []
    for it in range(1, max_iter + 1):
        accepted = _accepted_step(objective, state, it)
        if isinstance(accepted, Estimate):
            return accepted
        factor, step, candidate = accepted
        f_old = _move(objective, state, factor, candidate)
        if trace is not None:
            trace.append((state.f, float(np.max(np.abs(state.grad))), factor, state.damping))
        if _converged(state, f_old, factor * step, tol):
            return Estimate(state.theta, state.f, it, True, "converged")
        history.append((state.f, factor == 1.0 and state.damping == 0.0))
        if _stalled(history):
            return Estimate(
                state.theta, state.f, it, False, f"Fisher scoring stalled after {it} iterations"
            )
    return Estimate(
        state.theta, state.f, max_iter, False, f"did not converge in {max_iter} iterations"
    )


@dataclass
class _Iterate:
    """The current point of Fisher scoring: theta, F, its gradient, the information (``None``
    when only the gradient was evaluated), the Levenberg-Marquardt damping and the current
    factorisation of the damped information (``None``: to be computed)."""

    theta: np.ndarray
    f: float
    grad: np.ndarray
    info: np.ndarray | None
    damping: float = 0.0
    factorised: _Factor | None = None


def _line_search(objective, theta, f, grad, step) -> tuple[bool, float, np.ndarray]:
    """Backtracking along ``step``: factors 1, 1/2, ..., 1/16; the first with a finite F that
    decreases by the Armijo fraction 1e-4 of the linear prediction g'step (or, for the full
    step, does not increase beyond rounding) is accepted. Returns (accepted, factor, point)."""
    slope = float(grad @ step)
    factor = 1.0
    for _ in range(5):
        candidate = theta + factor * step
        f_new = objective.value(candidate)
        if np.isfinite(f_new) and (
            f_new <= f + 1e-4 * factor * min(slope, 0.0)
            or (f_new <= f + 1e-14 * max(1.0, abs(f)) and factor == 1.0)
        ):
            return True, factor, candidate
        factor *= 0.5
    return False, factor, candidate


def _accepted_step(objective, state: _Iterate, it: int):
    """A scoring step -(I + damping D)^-1 g that the line search accepts, as (factor, step,
    point), or the :class:`Estimate` that ends the iteration (singular information, or no
    step decreases F even with the strongest damping).

    A step from a reused factorisation must be a full step; otherwise the information is
    recomputed. A step that fails with the current information raises the damping tenfold
    (at least to 1e-3).
    """
    while True:
        if state.factorised is None:
            if state.info is None:
                state.f, state.grad, state.info = objective.evaluate(state.theta)
            state.factorised = _Factor(state.info, state.damping)
        step = state.factorised.step(state.grad)
        if step is None or not np.all(np.isfinite(step)):
            return Estimate(state.theta, state.f, it, False, "the information matrix is singular")
        accepted, factor, candidate = _line_search(
            objective, state.theta, state.f, state.grad, step
        )
        if accepted and (factor == 1.0 or state.info is not None):
            return factor, step, candidate
        state.factorised = None
        if not accepted and state.info is not None:
            # The information is current: damp it.
            if state.damping > 1e8 or float(np.max(np.abs(step))) < 1e-14:
                converged = float(np.max(np.abs(state.grad))) < 1e-6
                msg = "converged" if converged else "no step decreased the discrepancy function"
                return Estimate(state.theta, state.f, it, converged, msg)
            state.damping = max(1e-3, 10.0 * state.damping)
        # else: a reused factorisation did not give a full step; recompute it.


def _move(objective, state: _Iterate, factor: float, candidate: np.ndarray) -> float:
    """Move to the accepted point and evaluate F and its gradient there; returns the old F.

    A full step relaxes the damping tenfold (to 0 below 1e-6). After a full undamped step
    with the largest gradient element below 1e-4 the information is not recomputed and its
    factorisation is reused in the next iteration.
    """
    if factor == 1.0 and state.damping > 0.0:
        state.damping = 0.0 if state.damping < 1e-6 else 0.1 * state.damping
        state.factorised = None
    state.theta = candidate
    f_old = state.f
    reuse = (
        factor == 1.0
        and state.damping == 0.0
        and state.factorised is not None
        and float(np.max(np.abs(state.grad))) < 1e-4
    )
    state.f, state.grad, state.info = objective.evaluate(state.theta, information=not reuse)
    if not reuse:
        state.factorised = None
    return f_old


def _converged(state: _Iterate, f_old: float, moved: np.ndarray, tol: float) -> bool:
    """max |g| < tol, or the step taken (``moved``) below tol with F unchanged (< 1e-15)."""
    if float(np.max(np.abs(state.grad))) < tol:
        return True
    return float(np.max(np.abs(moved))) < tol and abs(f_old - state.f) < 1e-15


def quasi_newton(
    objective: Objective,
    start: np.ndarray,
    scoring: Estimate,
    *,
    max_iter: int = 500,
    tol: float = 1e-8,
    gtol: float = 1e-6,
) -> Estimate:
    """Minimise F by BFGS where Fisher scoring stalled, as lavaan minimises it by ``nlminb``.

    The same discrepancy function and analytic gradient, no bounds (lavaan 0.6-14's default for
    ML), from the starting values first (where lavaan's quasi-Newton starts) and, unless that
    converges below the best F scoring reached (``scoring``), from that point too. A run has
    converged when the largest absolute gradient element is below ``gtol``; the best converged
    run is then polished by Fisher scoring (no fallback), which near an optimum with a positive
    definite information takes the gradient below ``tol`` in a few steps. When no run
    converges, the point with the lowest F is returned, not converged, with both methods named
    in the message.

    Quasi-Newton (BFGS): Nocedal, J., & Wright, S. J. (2006). *Numerical optimization* (2nd ed.),
    ch. 6. Springer. https://doi.org/10.1007/978-0-387-40065-5
    """
    from scipy.optimize import minimize

    def value_and_gradient(theta: np.ndarray):
        f, grad, _ = objective.evaluate(theta, information=False)
        if not np.isfinite(f):
            return np.inf, np.zeros_like(theta)
        return f, grad

    runs: list[tuple[float, np.ndarray, int, bool]] = []
    for x0 in (np.asarray(start, dtype=float), scoring.theta):
        if not np.isfinite(objective.value(x0)):
            continue
        with np.errstate(all="ignore"):
            res = minimize(
                value_and_gradient,
                x0,
                jac=True,
                method="BFGS",
                options={"gtol": 0.01 * gtol, "maxiter": max_iter},
            )
        f, grad = value_and_gradient(res.x)
        ok = bool(np.isfinite(f) and np.max(np.abs(grad), initial=0.0) < gtol)
        runs.append((f, res.x, int(res.nit), ok))
        if ok and f <= scoring.fmin:
            break
    if not runs:  # neither point implies a positive definite covariance matrix
        return scoring
    converged = [r for r in runs if r[3]]
    if not converged:
        best = min(runs, key=lambda r: r[0])
        message = f"{scoring.message}; quasi-Newton (BFGS) did not converge either"
        if best[0] >= scoring.fmin:
            return Estimate(scoring.theta, scoring.fmin, scoring.iterations, False, message)
        return Estimate(best[1], best[0], best[2], False, message)
    f, theta, iterations, _ = min(converged, key=lambda r: r[0])
    polished = _scoring(objective, theta, max_iter=max_iter, tol=tol, trace=None)
    if polished.converged and polished.fmin <= f + 1e-12 * max(1.0, abs(f)):
        theta, f = polished.theta, polished.fmin
    message = f"converged (quasi-Newton BFGS; Fisher scoring: {scoring.message})"
    return Estimate(theta, f, iterations, True, message)


def start_values(spec: ModelSpec, covs: list[np.ndarray], means: list[np.ndarray]) -> np.ndarray:
    """Starting values, built from the sample moments level by level.

    First-order factors (those measured by observed variables) get one-factor principal-axis
    loadings on their indicators, scaled to the marker, and half-sized residual variances.
    Their covariances with every other variable then follow from the indicators'
    cross-covariances, cov(eta_j, x) ~ mean_i cov(y_i, x) / lambda_ij, which gives a covariance
    matrix of the first-order factors. Higher-order factors are started from that matrix the
    same way (two indicators: equal standardised loadings sqrt|r| with the sign of r), their
    disturbance variances as what the loadings leave unexplained, and so on up the levels. Signs
    therefore come from the data: a first-order factor that correlates negatively with its
    construct's marker starts with a negative loading.
    """
    t = spec.table
    value = np.where(np.isnan(t.value), 0.0, t.value)
    start = np.full(len(t), np.nan)
    for g in range(spec.n_groups):
        rows = np.flatnonzero(t.group == g)
        _group_start(spec, rows, value, covs[g], means[g], start)
    user_start = ~np.isnan(t.value) & (t.free >= 0)
    start[user_start] = t.value[user_start]
    theta = np.zeros(spec.n_free)
    counts = np.bincount(t.free[t.free >= 0], minlength=spec.n_free)
    np.add.at(theta, t.free[t.free >= 0], start[t.free >= 0])
    return theta / np.maximum(counts, 1)


def _one_factor(sub: np.ndarray, principal_component: bool) -> np.ndarray:
    """Loadings of a one-factor model with unit factor variance for covariance matrix ``sub``."""
    k = sub.shape[0]
    if k == 1:
        return np.sqrt(np.maximum(np.diag(sub), 1e-6))
    if principal_component:
        vals, vecs = np.linalg.eigh(sub)
        lvec = np.sqrt(max(vals[-1], 1e-6)) * vecs[:, -1]
        lvec *= np.sign(lvec.sum()) or 1.0
        return np.where(np.abs(lvec) < 1e-3, 1e-3, lvec)
    sd = np.sqrt(np.maximum(np.diag(sub), 1e-12))
    corr = sub / np.outer(sd, sd)
    if k == 2:
        # A two-indicator factor is not identified on its own: equal standardised loadings
        # reproduce the correlation exactly.
        r = float(np.clip(corr[0, 1], -0.95, 0.95))
        size = np.sqrt(max(abs(r), 0.05))
        return sd * size * np.array([1.0, np.sign(r) or 1.0])
    # Principal axis with squared multiple correlations as communalities.
    try:
        smc = 1.0 - 1.0 / np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        smc = np.full(k, 0.5)
    reduced = corr.copy()
    np.fill_diagonal(reduced, np.clip(smc, 0.05, 0.95))
    vals, vecs = np.linalg.eigh(reduced)
    lvec = np.sqrt(max(vals[-1], 1e-6)) * vecs[:, -1]
    lvec *= np.sign(lvec.sum()) or 1.0
    lvec = np.clip(lvec, -0.95, 0.95)
    lvec = np.where(np.abs(lvec) < 0.05, np.where(lvec < 0, -0.05, 0.05), lvec)
    return sd * lvec


def _group_start(
    spec: ModelSpec,
    rows: np.ndarray,
    value: np.ndarray,
    cov: np.ndarray,
    mean: np.ndarray,
    start: np.ndarray,
) -> None:
    """Start values of the rows of one group (into ``start``), as :func:`start_values`
    describes: factors resolved level by level, from the first-order factors upwards."""
    t = spec.table
    p, m = spec.p, spec.m
    lam_rows = rows[t.matrix[rows] == LAMBDA]
    regression = np.array([t.op[i] == "~" for i in rows], dtype=bool)
    beta_rows = rows[(t.matrix[rows] == BETA) & ~regression]
    # Indicators of each factor, as nodes: observed variable i is node i, factor j is p + j.
    indicators: list[list[tuple[int, int]]] = [[] for _ in range(m)]  # (table row, node)
    for i in lam_rows:
        indicators[t.col[i]].append((i, t.row[i]))
    for i in beta_rows:
        indicators[t.col[i]].append((i, p + t.row[i]))
    # Covariances among all nodes; NaN where not (yet) known.
    nodes = np.full((p + m, p + m), np.nan)
    nodes[:p, :p] = cov
    known = np.zeros(p + m, dtype=bool)
    known[:p] = True
    phi = np.ones(m)
    loading: dict[int, float] = {}
    resolved = np.zeros(m, dtype=bool)
    while not resolved.all():
        ready = [
            j for j in range(m) if not resolved[j] and all(known[node] for _, node in indicators[j])
        ]
        if not ready:  # a cycle among the factors: give up on the rest
            ready = [j for j in range(m) if not resolved[j]]
        for j in ready:
            resolved[j] = True
            ind = [(i, node) for i, node in indicators[j] if known[node]]
            if not ind:
                continue
            items = np.array([node for _, node in ind])
            sub = nodes[np.ix_(items, items)]
            first_order = bool(np.all(items < p))
            lvec = _one_factor(sub, principal_component=first_order)
            fixed = [k for k, (i, _) in enumerate(ind) if t.free[i] < 0 and value[i] != 0]
            scale = value[ind[fixed[0]][0]] / lvec[fixed[0]] if fixed else 1.0
            phi[j] = 1.0 / scale**2
            lvec = lvec * scale
            for k, (i, _) in enumerate(ind):
                loading[i] = lvec[k]
            # Covariances of factor j with every other known node.
            node = p + j
            nodes[node, node] = phi[j]
            others = np.flatnonzero(known)
            others = others[~np.isin(others, items)]
            if others.size:
                ratio = nodes[np.ix_(items, others)] / lvec[:, None]
                ok = np.isfinite(ratio)
                count = ok.sum(axis=0)
                est = np.where(
                    count > 0, np.where(ok, ratio, 0.0).sum(axis=0) / np.maximum(count, 1), np.nan
                )
                nodes[node, others] = est
                nodes[others, node] = est
            known[node] = True
    _fill_rows(spec, rows, value, cov, mean, start, indicators, loading, phi, nodes)


def _fill_rows(spec, rows, value, cov, mean, start, indicators, loading, phi, nodes) -> None:
    """Start values of the rows of one group from the loadings and factor covariances of
    :func:`_group_start`: regressions 0, loadings as estimated (1 when not), residual variances
    what the loadings leave of the sample variance (clipped to [0.1, 0.9] of it), covariances
    of residuals and means of factors 0, intercepts the sample means, phantom variables half
    their sample variance and their sample mean."""
    t = spec.table
    p, m = spec.p, spec.m
    lam_rows = rows[t.matrix[rows] == LAMBDA]
    explained = np.zeros(p)
    np.add.at(
        explained,
        t.row[lam_rows],
        np.array([loading.get(i, 1.0) for i in lam_rows]) ** 2 * phi[t.col[lam_rows]],
    )
    # Variance of each factor explained by the factors above it.
    explained_lv = np.zeros(m)
    for i in rows[t.matrix[rows] == BETA]:
        if t.op[i] != "~":
            explained_lv[t.row[i]] += loading.get(i, 1.0) ** 2 * phi[t.col[i]]
    phantom = {lv: ov for ov, lv in spec.phantoms}
    has_items = np.array([any(node < p for _, node in indicators[j]) for j in range(m)])
    has_ind = np.array([bool(indicators[j]) for j in range(m)])
    for i in rows:
        mat, r, c = t.matrix[i], t.row[i], t.col[i]
        if mat == BETA and t.op[i] == "~":
            start[i] = 0.0  # regressions start at 0, as in lavaan
        elif mat == PSI and r == c and r in phantom:
            start[i] = 0.5 * cov[phantom[r], phantom[r]]
        elif mat == ALPHA and r in phantom:
            start[i] = mean[phantom[r]]
        elif mat in (LAMBDA, BETA):
            start[i] = loading.get(i, 1.0)
        elif mat == THETA and r == c:
            start[i] = float(np.clip(cov[r, r] - explained[r], 0.1 * cov[r, r], 0.9 * cov[r, r]))
        elif mat == PSI and r != c:
            start[i] = _start_covariance(
                t, indicators, loading, cov, r, c, phi, has_items, nodes, p
            )
        elif mat == PSI:
            start[i] = _start_variance(spec, r, phi, has_items, has_ind, explained_lv)
        elif mat == NU:
            start[i] = mean[r]
        else:
            start[i] = 0.0


def _start_variance(
    spec: ModelSpec,
    r: int,
    phi: np.ndarray,
    has_items: np.ndarray,
    has_ind: np.ndarray,
    explained_lv: np.ndarray,
) -> float:
    """Start of the (disturbance) variance of factor r: half the mean first-order factor
    variance without indicators, the variance phi_r of an exogenous factor, otherwise what its
    regression on the factors above leaves unexplained, clipped to [0.1, 0.9] phi_r
    (0.5 phi_r when nothing is explained)."""
    if not has_ind[r]:
        return 0.5 * float(np.mean(phi[has_items])) if has_items.any() else 1.0
    if spec.exogenous[r]:
        return phi[r]
    if explained_lv[r] > 0:
        return float(np.clip(phi[r] - explained_lv[r], 0.1 * phi[r], 0.9 * phi[r]))
    return 0.5 * phi[r]


def _start_covariance(
    t,
    indicators: list,
    loading: dict,
    cov: np.ndarray,
    a: int,
    b: int,
    phi: np.ndarray,
    has_items: np.ndarray,
    nodes: np.ndarray,
    p: int,
) -> float:
    """Factor covariance implied by the indicators' cross-covariances, shrunk to |r| <= .9."""
    bound = 0.9 * np.sqrt(phi[a] * phi[b])
    items_a = {node for _, node in indicators[a] if node < p}
    shared = has_items[a] and has_items[b] and any(node in items_a for _, node in indicators[b])
    if shared:
        # An item of both factors: average over all pairs of their items.
        ia = [i for i, node in indicators[a] if node < p]
        ib = [i for i, node in indicators[b] if node < p]
        la = np.array([loading.get(i, 1.0) for i in ia])
        lb = np.array([loading.get(i, 1.0) for i in ib])
        est = float(np.mean(cov[np.ix_(t.row[ia], t.row[ib])] / np.outer(la, lb)))
    else:
        est = float(nodes[p + a, p + b])
        if not np.isfinite(est):
            return 0.0
    return float(np.clip(est, -bound, bound))
