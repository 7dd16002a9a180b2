"""Full-information maximum likelihood (FIML) for incomplete data.

Cases are grouped by missing-data pattern; pattern r with n_r cases observing variables o_r
contributes, with its observed-variable means m_r and covariance C_r (divisor n_r),

    -2 log L_r = n_r [p_r log(2 pi) + log|Sigma_oo| + tr(Sigma_oo^-1 (C_r + d_r d_r'))],
    d_r = m_r - mu_o

(Arbuckle, 1996, in *Advanced Structural Equation Modeling*; Enders & Bandalos, 2001,
https://doi.org/10.1207/S15328007SEM0803_5). The unrestricted (H1) model is estimated by the EM
algorithm (Dempster, Laird & Rubin, 1977, https://doi.org/10.1111/j.2517-6161.1977.tb01600.x), as
lavaan's h1 for ``missing = "ml"``; the chi-square is 2 (log L_H1 - log L_H0).

Computation. With P = Sigma^-1 and m the k_r missing variables of pattern r, the inverse of the
observed block, embedded in p x p with zeros on the missing rows and columns, is the low-rank
downdate (the Schur complement of the partitioned inverse)

    S_r = P - P[:, m] P_mm^-1 P[m, :] = P - L_r L_r',   L_r = P[:, m] chol(P_mm)^-T  (p x k_r),
    log|Sigma_oo| = log|Sigma| + log|P_mm|,

so one p x p inverse serves all patterns and each pattern costs a k_r x k_r factorisation
(patterns with the same k_r are processed as one batch). The per-case quantities are the residual
e_i = x_i - mu (zero where missing) and z_i = S_r e_i; then

    F = 1/(2N) [sum_r n_r log|Sigma_oo,r| + sum_i e_i' z_i]
    dF/dSigma = 1/(2N) [N P - Q - Z'Z],  Q = sum_r n_r L_r L_r',   dF/dmu = -1/N sum_i z_i.

The EM step uses the same algebra: E[x_m | x_o] = mu_m - P_mm^-1 P[m, :] e and
Cov[x_m | x_o] = P_mm^-1.

Information. Every model entry k changes Sigma by dSigma_k = s_k (u_k v_k' + v_k u_k') and mu by
w_k (:func:`psychometrics.cfa.model.derivative_vectors`). The expected information
(lavaan's h1 "structured", per observation)

    I_kl = 1/(2N) sum_r n_r tr(S_r dSigma_k S_r dSigma_l) + 1/N sum_r n_r w_k' S_r w_l

expands with S_r = P - R_r, R_r = L_r L_r', into terms in P and Q (a few p x K products) and
1/(2N) sum_r n_r tr(R_r dSigma_k R_r dSigma_l) = 1/(2N) sum_r n_r s_k s_l <Y_rk, Y_rl>,
Y_rk = a b' + b a' (a = L_r' u_k, b = L_r' v_k, k_r x k_r), one matrix product over the stacked
Y's. The observed information (the Hessian of F, lavaan's default for ``missing = "ml"``:
``information = "observed"``, ``observed.information = "hessian"``) of the saturated moments
(mu, Sigma) is, per observation,

    H_kl = 1/N sum_i (dSigma_k z_i)' S_r (dSigma_l z_i) - I^Sigma_kl + I^mu_kl
           + 1/N sum_i [w_k' S_r dSigma_l z_i + w_l' S_r dSigma_k z_i]

(lavaan's ``lav_mvnorm_missing_information_observed_samplestats`` in the parameterisation of
the model entries), and the Hessian of F(theta) is Delta' H Delta plus the curvature of the model,
sum tr(dF/dSigma d2Sigma/dtheta_k dtheta_l) + dF/dmu' d2mu/dtheta_k dtheta_l: see
:func:`observed_information`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import linalg, sparse

from .estimation import LOG_2PI, CompleteData, derivative
from .information import Vectors, rank2_information, rank2_information_diag
from .model import NU, THETA, derivative_vectors

__all__ = ["MissingData", "observed_information"]

# Upper bound on the number of stacked (pattern x k x k) rows processed at once.
_CHUNK_ROWS = 20000


@dataclass
class _Pattern:
    observed: np.ndarray
    n: int
    mean: np.ndarray
    cov: np.ndarray


@dataclass
class _Batch:
    """Patterns with the same number k of missing variables (k > 0), and their cases."""

    k: int
    patterns: np.ndarray  # indices into MissingData.patterns
    missing: np.ndarray  # (R, k) missing variables per pattern
    counts: np.ndarray  # (R,) cases per pattern
    cases: np.ndarray  # indices of the cases (rows of the data) of these patterns
    case_pattern: np.ndarray  # (n_cases,) position of each case's pattern within the batch


@dataclass
class _Context:
    """Everything the gradient and information need at one (Sigma, mu)."""

    p_inv: np.ndarray
    q: np.ndarray  # sum_r n_r L_r L_r'
    z: np.ndarray  # (N, p): z_i = S_r e_i
    factors: list  # per batch: L (R, p, k)
    n: int


@dataclass
class MissingData:
    """Missing-data patterns of one group, with EM estimates of the unrestricted moments."""

    n: int
    p: int
    patterns: list[_Pattern]
    h1_cov: np.ndarray = field(init=False)
    h1_mean: np.ndarray = field(init=False)
    h1_iterations: int = field(init=False)
    _x: np.ndarray = field(init=False, repr=False)  # data with 0 for missing values
    _mask: np.ndarray = field(init=False, repr=False)  # observed
    _batches: list[_Batch] = field(init=False, repr=False)
    _n_obs: int = field(init=False, repr=False)

    @classmethod
    def from_array(cls, x: np.ndarray) -> MissingData:
        observed = ~np.isnan(x)
        keys, inverse = np.unique(observed, axis=0, return_inverse=True)
        inverse = inverse.ravel()
        patterns = []
        for k, key in enumerate(keys):
            rows = x[inverse == k][:, key]
            mean = rows.mean(axis=0)
            centred = rows - mean
            patterns.append(
                _Pattern(
                    np.flatnonzero(key), rows.shape[0], mean, centred.T @ centred / rows.shape[0]
                )
            )
        out = cls(x.shape[0], x.shape[1], patterns)
        out._x = np.where(observed, x, 0.0)
        out._mask = observed
        out._n_obs = int(observed.sum())
        n_missing = x.shape[1] - keys.sum(axis=1)
        counts = np.array([pat.n for pat in patterns])
        out._batches = []
        for k in np.unique(n_missing):
            if k == 0:
                continue
            members = np.flatnonzero(n_missing == k)
            position = np.full(len(patterns), -1)
            position[members] = np.arange(members.size)
            cases = np.flatnonzero(position[inverse] >= 0)
            out._batches.append(
                _Batch(
                    int(k),
                    members,
                    np.array([np.flatnonzero(~keys[r]) for r in members]),
                    counts[members],
                    cases,
                    position[inverse[cases]],
                )
            )
        out._em()
        return out

    # -- unrestricted model by EM ----------------------------------------------------------
    def _em(self, max_iter: int = 10000, tol: float = 1e-11) -> None:
        with np.errstate(invalid="ignore"):
            x = np.where(self._mask, self._x, np.nan)
            mean = np.nanmean(x, axis=0)
            cov = np.diag(np.nanvar(x, axis=0))
        previous = -np.inf
        it = 0
        for it in range(1, max_iter + 1):  # noqa: B007 - kept as h1_iterations
            p_inv = linalg.cho_solve(
                (linalg.cholesky(cov, lower=True, check_finite=False), True),
                np.eye(self.p),
                check_finite=False,
            )
            e = np.where(self._mask, self._x - mean, 0.0)
            filled = np.where(self._mask, self._x, 0.0)
            extra = np.zeros((self.p, self.p))
            for batch in self._batches:
                miss = batch.missing
                p_mm = p_inv[miss[:, :, None], miss[:, None, :]]  # (R, k, k)
                p_mm_inv = np.linalg.inv(p_mm)
                case_miss = miss[batch.case_pattern]
                rhs = np.einsum("rkp,rp->rk", p_inv[case_miss], e[batch.cases])  # P[m, :] e
                cond = mean[case_miss] - np.einsum("rkl,rl->rk", p_mm_inv[batch.case_pattern], rhs)
                filled[batch.cases[:, None], case_miss] = cond
                np.add.at(
                    extra,
                    (miss[:, :, None], miss[:, None, :]),
                    batch.counts[:, None, None] * p_mm_inv,
                )
            mean = filled.mean(axis=0)
            centred = filled - mean
            cov = (centred.T @ centred + extra) / self.n
            cov = 0.5 * (cov + cov.T)
            ll = self.loglik(cov, mean)
            if abs(ll - previous) < tol * max(1.0, abs(ll)):
                break
            previous = ll
        self.h1_cov, self.h1_mean, self.h1_iterations = cov, mean, it

    # -- interface shared with CompleteData ------------------------------------------------
    def _context(self, sigma: np.ndarray, mu: np.ndarray):
        """(sum_r n_r log|Sigma_oo|, sum_i e_i' z_i, context) or None if Sigma is not PD."""
        try:
            chol = linalg.cholesky(sigma, lower=True, check_finite=False)
        except (linalg.LinAlgError, ValueError):
            return None
        logdet = 2.0 * float(np.sum(np.log(np.diag(chol))))
        p_inv = linalg.cho_solve((chol, True), np.eye(self.p), check_finite=False)
        e = np.where(self._mask, self._x - mu, 0.0)
        z = e @ p_inv
        logdets = self.n * logdet
        q = np.zeros((self.p, self.p))
        factors = []
        for batch in self._batches:
            miss = batch.missing
            p_mm = p_inv[miss[:, :, None], miss[:, None, :]]
            try:
                c = np.linalg.cholesky(p_mm)
            except np.linalg.LinAlgError:
                return None
            diag = np.diagonal(c, axis1=1, axis2=2)
            if not np.all(diag > 0):
                return None
            logdets += float(np.sum(batch.counts * 2.0 * np.sum(np.log(diag), axis=1)))
            # L' = C^-1 P[m, :]  (R, k, p)
            lt = np.linalg.solve(c, p_inv[miss])
            factors.append(lt)
            scaled = (lt * np.sqrt(batch.counts.astype(float))[:, None, None]).reshape(-1, self.p)
            q += scaled.T @ scaled
            le = np.einsum("ikp,ip->ik", lt[batch.case_pattern], e[batch.cases])
            z[batch.cases] -= np.einsum("ikp,ik->ip", lt[batch.case_pattern], le)
        quad = float(np.sum(e * z))
        return logdets, quad, _Context(p_inv, q, z, factors, self.n)

    def terms(self, sigma: np.ndarray, mu: np.ndarray | None, gradient: bool = True):
        out = self._context(sigma, mu)
        if out is None:
            return None
        logdets, quad, ctx = out
        f = 0.5 * (logdets + quad) / self.n
        if not gradient:
            return f, None, None, ctx
        grad_sigma = (self.n * ctx.p_inv - ctx.q - ctx.z.T @ ctx.z) / (2.0 * self.n)
        grad_sigma = 0.5 * (grad_sigma + grad_sigma.T)
        grad_mu = -ctx.z.sum(axis=0) / self.n
        return f, grad_sigma, grad_mu, ctx

    def loglik(self, sigma: np.ndarray, mu: np.ndarray | None) -> float:
        out = self._context(sigma, mu)
        if out is None:
            return -np.inf
        logdets, quad, _ = out
        return -0.5 * (logdets + quad) - 0.5 * self._n_obs * LOG_2PI

    def h1_loglik(self) -> float:
        return self.loglik(self.h1_cov, self.h1_mean)

    def baseline_loglik(self) -> float:
        # Independence model: each variable's ML mean and variance from its observed values.
        n_j = self._mask.sum(axis=0)
        mean = self._x.sum(axis=0) / n_j
        var = np.where(self._mask, self._x - mean, 0.0)
        var = np.einsum("ij,ij->j", var, var) / n_j
        return float(np.sum(-0.5 * n_j * (LOG_2PI + np.log(var) + 1.0)))

    def h1_moments(self) -> tuple[np.ndarray, np.ndarray]:
        return self.h1_cov, self.h1_mean

    @staticmethod
    def derivatives(mats, matrix, row, col, means: bool) -> Vectors:
        return derivative_vectors(mats, matrix, row, col, means=means)

    # -- information ------------------------------------------------------------------------
    def information(
        self, context: _Context, a: Vectors, b: Vectors | None = None, diag: bool = False
    ) -> np.ndarray:
        """Expected information (h1 "structured") per observation, summed over patterns."""
        a = _dense(a)
        b = a if b is None else _dense(b)
        ctx, n = context, self.n
        if diag:
            out = rank2_information_diag(ctx.p_inv, a)
            out -= _trace_pair_diag(ctx.p_inv, ctx.q, a) / n
            if a[3] is not None:
                out -= np.einsum("pk,pk->k", a[3], ctx.q @ a[3]) / n
        else:
            out = rank2_information(ctx.p_inv, a, b)
            out -= (_trace_pair(ctx.p_inv, ctx.q, a, b) + _trace_pair(ctx.q, ctx.p_inv, a, b)) / (
                2.0 * n
            )
            if a[3] is not None and b[3] is not None:
                out -= a[3].T @ ctx.q @ b[3] / n
        out += _lowrank_trace(self._batches, ctx.factors, a, b, diag) / (2.0 * n)
        return out

    def observed_hessian(self, context: _Context, a: Vectors) -> np.ndarray:
        """Hessian of F (per observation) with respect to the model entries described by ``a``,
        holding their derivative vectors fixed (Delta' H Delta; no curvature of the model)."""
        a = _dense(a)
        ctx, n = context, self.n
        u, v, s, w = a
        zz = ctx.z.T @ ctx.z
        zs = ctx.z.sum(axis=0)
        out = _case_term(ctx.p_inv, zz, a)
        if w is not None:
            pw = ctx.p_inv @ w
            cross = (pw.T @ u) * (zs @ v) + (pw.T @ v) * (zs @ u)
            cross *= s[None, :]
        else:
            cross = None
        au, av = ctx.z @ u, ctx.z @ v  # alpha_i = u' z_i, beta_i = v' z_i
        for batch, lt in zip(self._batches, ctx.factors, strict=True):
            for sel in _chunks(batch.cases.size, batch.k):
                cases = batch.cases[sel]
                lt_c = lt[batch.case_pattern[sel]]  # (c, k, p)
                y = (lt_c @ u) * av[cases][:, None, :]
                y += (lt_c @ v) * au[cases][:, None, :]
                y *= s
                y = y.reshape(-1, y.shape[2])
                out -= y.T @ y
                if cross is not None:
                    m = (lt_c @ w).reshape(-1, w.shape[1])
                    cross -= m.T @ y
        out /= n
        out -= self.information(context, (u, v, s, None))
        if w is not None:
            out += (w.T @ ctx.p_inv @ w) - (w.T @ ctx.q @ w) / n
            out += (cross + cross.T) / n
        return 0.5 * (out + out.T)


def _complete_hessian(group: CompleteData, sigma, mu, a: Vectors) -> np.ndarray:
    """The same Hessian for a group without missing values (S_r = P for every case)."""
    a = _dense(a)
    u, v, s, w = a
    p_inv = linalg.cho_solve(
        (linalg.cholesky(sigma, lower=True, check_finite=False), True),
        np.eye(sigma.shape[0]),
        check_finite=False,
    )
    target = group.cov
    if mu is not None:
        d = group.mean - mu
        target = group.cov + np.outer(d, d)
    zz = p_inv @ target @ p_inv  # 1/N sum_i z_i z_i'
    out = _case_term(p_inv, zz, a)
    out -= rank2_information(p_inv, (u, v, s, None), (u, v, s, None))
    if w is not None and mu is not None:
        zs = p_inv @ (group.mean - mu)
        pw = p_inv @ w
        cross = ((pw.T @ u) * (zs @ v) + (pw.T @ v) * (zs @ u)) * s[None, :]
        out += w.T @ pw + cross + cross.T
    return 0.5 * (out + out.T)


def _case_term(p_inv: np.ndarray, zz: np.ndarray, a: Vectors) -> np.ndarray:
    """sum_i (dSigma_k z_i)' P (dSigma_l z_i) from zz = sum_i z_i z_i'."""
    u, v, s, _ = a
    pu, pv = p_inv @ u, p_inv @ v
    zu, zv = zz @ u, zz @ v
    out = (v.T @ zv) * (u.T @ pu)
    out += (v.T @ zu) * (u.T @ pv)
    out += (u.T @ zv) * (v.T @ pu)
    out += (u.T @ zu) * (v.T @ pv)
    out *= np.outer(s, s)
    return out


def _trace_pair(x: np.ndarray, y: np.ndarray, a: Vectors, b: Vectors) -> np.ndarray:
    """tr(dSigma_k X dSigma_l Y) for k in ``a``, l in ``b`` (X, Y symmetric)."""
    u1, v1, s1, _ = a
    u2, v2, s2, _ = b
    xu, xv = x @ u2, x @ v2
    yu, yv = y @ u2, y @ v2
    out = (v1.T @ xu) * (u1.T @ yv)
    out += (v1.T @ xv) * (u1.T @ yu)
    out += (u1.T @ xu) * (v1.T @ yv)
    out += (u1.T @ xv) * (v1.T @ yu)
    out *= np.outer(s1, s2)
    return out


def _trace_pair_diag(x: np.ndarray, y: np.ndarray, a: Vectors) -> np.ndarray:
    """Half the diagonal of tr(dSigma_k X dSigma_k Y) + tr(dSigma_k Y dSigma_k X)."""
    u, v, s, _ = a

    def quad(m, left, right):
        return np.einsum("pk,pk->k", left, m @ right)

    out = 2.0 * quad(x, u, v) * quad(y, u, v)
    out += quad(x, v, v) * quad(y, u, u) + quad(x, u, u) * quad(y, v, v)
    return s * s * out


def _chunks(count: int, k: int):
    step = max(1, _CHUNK_ROWS // max(1, k * k))
    for start in range(0, count, step):
        yield slice(start, min(count, start + step))


def _stacked(lt: np.ndarray, vec: Vectors, tri) -> np.ndarray:
    """Rows vech(Y_rk) (off-diagonal entries times sqrt 2, pattern r times sqrt n_r)."""
    iu, ju, root = tri
    left = lt @ vec[0]  # (R, k, K)
    right = lt @ vec[1]
    out = np.empty((iu.size, left.shape[0], left.shape[2]))
    for row, (i, j) in enumerate(zip(iu, ju, strict=True)):
        y = out[row]
        np.multiply(left[:, i], right[:, j], out=y)
        if i == j:
            y *= 2.0
        else:
            y += left[:, j] * right[:, i]
            y *= np.sqrt(2.0)
    out *= root[None, :, None] * vec[2]
    return out.reshape(-1, out.shape[2])


def _lowrank_trace(batches, factors, a: Vectors, b: Vectors, diag: bool) -> np.ndarray:
    """sum_r n_r tr(dSigma_k R_r dSigma_l R_r), R_r = L_r L_r', as one stacked product."""
    ka = a[0].shape[1]
    out = np.zeros(ka) if diag else np.zeros((ka, b[0].shape[1]))
    for batch, lt in zip(batches, factors, strict=True):
        k = batch.k
        iu, ju = np.triu_indices(k)
        for sel in _chunks(batch.patterns.size, k):
            tri = (iu, ju, np.sqrt(batch.counts[sel].astype(float)))
            ya = _stacked(lt[sel], a, tri)
            if diag:
                out += np.einsum("ik,ik->k", ya, ya)
            else:
                out += ya.T @ _stacked(lt[sel], b, tri)
    return out


def observed_information(objective, theta: np.ndarray, h: float = 1e-5) -> np.ndarray:
    """Observed information (the Hessian of F per observation) at ``theta``, analytically.

    Delta' H Delta from :meth:`MissingData.observed_hessian` (and its complete-data analogue)
    for every group, plus the curvature of the model, sum tr(dF/dSigma d2Sigma) +
    dF/dmu' d2mu: the derivative of theta -> Delta(theta)' vec(dF/dSigma, dF/dmu) with
    dF/dSigma and dF/dmu held at ``theta``, by central differences. That map involves the model
    matrices only (no data), is quadratic in the loadings for a first-order CFA (so the
    differences are exact up to rounding) and costs no pass over the data.
    """
    from .estimation import _accumulate

    spec = objective.spec
    q = spec.n_free
    t = spec.table
    hess = np.zeros((q, q))
    fixed = []
    rows_by_group = [spec.free_rows(g) for g in range(spec.n_groups)]

    def vectors(mats, g):
        rows = rows_by_group[g]
        vec = derivative_vectors(
            mats, t.matrix[rows], t.row[rows], t.col[rows], means=spec.meanstructure
        )
        return vec, t.free[rows]

    for g, mats in enumerate(spec.implied(theta)):
        group = objective.groups[g]
        mu = mats.mu if spec.meanstructure else None
        _, grad_sigma, grad_mu, context = group.terms(mats.sigma, mu)
        vec, idx = vectors(mats, g)
        if isinstance(group, MissingData):
            block = group.observed_hessian(context, vec)
        else:
            block = _complete_hessian(group, mats.sigma, mu, vec)
        _accumulate(hess, idx, objective.weights[g] * block)
        fixed.append((grad_sigma, grad_mu))

    def first(th: np.ndarray) -> np.ndarray:
        out = np.zeros(q)
        for g, mats in enumerate(spec.implied(th)):
            vec, idx = vectors(mats, g)
            ge = derivative(vec, *fixed[g])
            out += objective.weights[g] * np.bincount(idx, weights=ge, minlength=q)
        return out

    # Sigma is linear in the residual (co)variances and mu in the intercepts: their columns of
    # the curvature are zero (no derivative vector depends on them).
    linear = np.ones(q, dtype=bool)
    for g in range(spec.n_groups):
        rows = rows_by_group[g]
        linear[t.free[rows][~np.isin(t.matrix[rows], (THETA, NU))]] = False
    curvature = np.zeros((q, q))
    for k in np.flatnonzero(~linear):
        step = h * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += step
        down[k] -= step
        curvature[:, k] = (first(up) - first(down)) / (2.0 * step)
    hess += 0.5 * (curvature + curvature.T)
    return 0.5 * (hess + hess.T)


def _dense(vectors: Vectors) -> Vectors:
    u, v, s, w = vectors
    if sparse.issparse(u):
        u = u.toarray()
    if sparse.issparse(v):
        v = v.toarray()
    if w is not None and sparse.issparse(w):
        w = w.toarray()
    return (np.asarray(u), np.asarray(v), np.asarray(s), None if w is None else np.asarray(w))
