"""Robust maximum likelihood: MLR and MLM standard errors, scaled tests and robust fit measures.

The estimates are the normal-theory ML estimates; what changes is how their sampling variance
and the model test are computed when the data are not multivariate normal. Everything is
computed per group on the saturated ("h1") parameters h = (mu, vech Sigma) with the model's
Jacobian Delta = dh/dtheta, as lavaan 0.6-14 does (``lav_model_vcov``,
``lav_test_yuan_bentler``, ``lav_test_satorra_bentler``, ``lav_fit_fiml_corrected``).
Weights f_g = N_g / N; z_i is case i's score d log L_i / dh (with missing values, on its
observed variables only, Arbuckle 1996); information matrices are per observation.

**MLR** (lavaan ``se = "robust.huber.white"``, ``test = "yuan.bentler.mplus"``, complete data or
``missing = "ml"``). Bread: the observed information A (Hessian of the fitting function);
meat: the first-order information B_0 = sum_g f_g Delta_g' J_g Delta_g, J_g = mean_i z_i z_i' at
the fitted moments (the sample means where there is no mean structure), so

    acov(theta) = A^-1 B_0 A^-1 / N                                         (Huber-White)

The Yuan-Bentler (Mplus variant) scaling factor c = tr(U Gamma) / df is approximated by

    tr(U Gamma) = sum_g [ tr(B_1g A_1g^-1) - f_g tr(J_0g A^-1) ]

with A_1g and B_1g the observed and first-order information of the saturated model at the
saturated estimates (the EM estimates under FIML) and J_0g = Delta_g' J_g Delta_g (Yuan &
Bentler, 2000, https://doi.org/10.1111/0081-1750.00078; Asparouhov & Muthen, Mplus technical
appendix). T_scaled = T / c.

**MLM** (lavaan ``se = "robust.sem"``, ``test = "satorra.bentler"``, complete data only). With the
expected information E = sum_g f_g Delta_g' W_g Delta_g (W_g the normal-theory weight at the
fitted moments) and Gamma_g the asymptotic covariance of (y, vech(y y')) with divisor N (Browne,
1984, https://doi.org/10.1111/j.2044-8317.1984.tb00789.x),

    acov(theta) = E^-1 [sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g] E^-1 / N
    tr(U Gamma) = sum_g [ tr(W_g Gamma_g) - f_g tr(E^-1 Delta_g' W_g Gamma_g W_g Delta_g) ]

(Satorra & Bentler, 1994, in *Latent Variables Analysis*, Sage; Satorra, 1989,
https://doi.org/10.1007/BF02294623).

**Fit measures** (lavaan 0.6-14 ``fitMeasures``; names with "." replaced by "_"): the baseline
(independence) model gets its own scaling factor c_b by the same formulas; ``cfi_scaled`` and
``tli_scaled`` use T/c and T_b/c_b; ``rmsea_scaled`` is sqrt(max(T / (N tr(U Gamma)) - 1/N, 0)
* G) with its interval from the noncentral chi-square with df = tr(U Gamma); the *robust*
versions are Brosseau-Liard, Savalei & Li (2012, https://doi.org/10.1080/00273171.2012.715252)
for RMSEA, sqrt(max(T / (N df) - c / N, 0) * G) and its interval from T/c scaled by sqrt(c),
and Brosseau-Liard & Savalei (2014, https://doi.org/10.1080/00273171.2014.933697) for CFI/TLI,
with T - c df in place of T - df. Under FIML the robust CFI/TLI/RMSEA follow Zhang & Savalei
(2022, *Psychological Methods*, https://doi.org/10.1037/met0000445), lavaan's "FIML-C (V3)":
T and c are recomputed as if the EM moments were complete-data moments.

**Exogenous covariates** (``fixed.x``, :mod:`.structural`; MLR with complete data): the
saturated model's tr(B_1 A_1^-1) is taken over the moments other than the covariates' (lavaan
masks those rows and columns of A_1 and B_1), the number of moments behind the h1 scaling factor
leaves them out, and the baseline keeps the covariates' covariance block fixed (its free
parameters are the other variables' variances and means). MLM and FIML-MLR with covariates are
refused by :func:`psychometrics.cfa.cfa`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import linalg, stats

from .fit import _cfi, _tli, rmsea_interval
from .model import derivative_vectors
from .structural import covariate_indices, fixed_moments, moment_indices

__all__ = [
    "ESTIMATORS",
    "RobustFit",
    "ScaledTest",
    "check_estimator",
    "robust_fit",
]

ESTIMATORS = ("ML", "MLR", "MLM")
_TEST_NAME = {"MLR": "yuan.bentler.mplus", "MLM": "satorra.bentler"}
_SE_NAME = {"MLR": "robust.huber.white", "MLM": "robust.sem"}


def check_estimator(estimator: str, *, missing: str, raw_data: bool) -> str:
    """The estimator's canonical name; a clear ``ValueError`` for what is not supported."""
    if not isinstance(estimator, str) or estimator.upper() not in ESTIMATORS:
        raise ValueError(
            f"estimator must be one of {', '.join(ESTIMATORS)} (continuous indicators), "
            f"not {estimator!r}"
        )
    estimator = estimator.upper()
    if estimator == "ML":
        return estimator
    if not raw_data:
        raise ValueError(
            f"estimator {estimator!r} needs raw data (case-wise scores): give data, not sample_cov"
        )
    if estimator == "MLM" and missing == "ml":
        raise ValueError(
            "estimator 'MLM' needs complete data (missing='listwise'); with missing='ml' use "
            "estimator 'MLR' (robust FIML)"
        )
    return estimator


# --------------------------------------------------------------------------------------------
# saturated-model (h1) building blocks: h = (mu, vech Sigma), vech column-wise lower triangle
# --------------------------------------------------------------------------------------------


def _vech_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    rows, cols = np.tril_indices(p)
    order = np.lexsort((rows, cols))  # column-major, as lavaan's vech
    return rows[order], cols[order]


def _patterns(rows: np.ndarray):
    """(observed columns, row selector) per missing-data pattern."""
    observed = ~np.isnan(rows)
    keys, inverse = np.unique(observed, axis=0, return_inverse=True)
    inverse = inverse.ravel()
    return [(np.flatnonzero(key), inverse == k) for k, key in enumerate(keys)]


def _embedded_inverse(sigma: np.ndarray, o: np.ndarray) -> np.ndarray:
    p = sigma.shape[0]
    out = np.zeros((p, p))
    out[np.ix_(o, o)] = linalg.inv(sigma[np.ix_(o, o)])
    return 0.5 * (out + out.T)


def _h1_scores(rows: np.ndarray, mu: np.ndarray, sigma: np.ndarray, means: bool) -> np.ndarray:
    """Case-wise d log L_i / d(mu, vech Sigma) (lavaan ``lav_mvnorm_missing_scores_mu_vech_sigma``).

    Off-diagonal entries of Sigma count twice (vech, not vec), so Delta' z_i is the score of
    the model parameters.
    """
    n, p = rows.shape
    r, c = _vech_index(p)
    diag = r == c
    out = np.zeros((n, (p if means else 0) + r.size))
    for o, sel in _patterns(rows):
        inv = _embedded_inverse(sigma, o)
        a = np.zeros((int(sel.sum()), p))
        a[:, o] = (rows[np.ix_(sel, o)] - mu[o]) @ inv[np.ix_(o, o)]
        cov = a[:, r] * a[:, c] - inv[r, c]
        cov[:, diag] *= 0.5
        out[sel] = np.hstack([a, cov]) if means else cov
    return out


def _kron_vech(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """D' (A kron B) D for symmetric A, B (D the duplication matrix), on vech indices.

    Entry (ij, kl) is f_ij f_kl (a_jl b_ik + a_jk b_il + a_il b_jk + a_ik b_jl), f = 1/2 on the
    diagonal: the sum over the one or two vec positions of each vech entry.
    """
    p = a.shape[0]
    r, c = _vech_index(p)
    f = np.where(r == c, 0.5, 1.0)
    if p <= 40:  # one p^4 array (<= 20 MB), gathered once
        t = np.multiply.outer(b, a).transpose(0, 2, 1, 3)  # t[i, j, k, l] = b_ik a_jl
        t = t + t.transpose(0, 1, 3, 2)
        t = t + t.transpose(1, 0, 2, 3)
        v = r * p + c
        out = t.reshape(p * p, p * p)[np.ix_(v, v)]
    else:
        i, j = r[:, None], c[:, None]
        k, l_ = r[None, :], c[None, :]
        out = a[j, l_] * b[i, k] + a[j, k] * b[i, l_] + a[i, l_] * b[j, k] + a[i, k] * b[j, l_]
    return out * np.outer(f, f)


def _expected_h1(sigma: np.ndarray, means: bool) -> np.ndarray:
    """Normal-theory (expected) information of (mu, vech Sigma) per observation."""
    inv = linalg.inv(sigma)
    inv = 0.5 * (inv + inv.T)
    cov = 0.5 * _kron_vech(inv, inv)
    return linalg.block_diag(inv, cov) if means else cov


def _observed_h1(rows: np.ndarray, mu: np.ndarray, sigma: np.ndarray) -> np.ndarray:
    """Observed information of (mu, vech Sigma) per observation with missing values
    (lavaan ``lav_mvnorm_missing_information_observed_samplestats``).

    Pattern k (n_k rows, observed block o) contributes, with A_k = Sigma_oo^-1 and
    Q_k = A_k (2 T_k - Sigma_oo) A_k embedded in p x p (zeros elsewhere; T_k the pattern's
    moments about mu), b_k = A_k (m_k - mu) and f = 1/2 on the diagonal of vech:

        H_11 = sum_k n_k A_k
        H_21[ij, y] = f_ij sum_k n_k (b_k[j] A_k[i, y] + b_k[i] A_k[j, y])
        H_22 = 1/2 sum_k n_k D'(A_k kron Q_k)D

    all divided by N. The sums over patterns are matrix products: with
    G[xy, zw] = sum_k n_k A_k[x, y] Q_k[z, w] (one (vech x patterns)(patterns x vech)
    product), entry (ij, kl) of sum_k n_k D'(A_k kron Q_k)D is
    f_ij f_kl (G[jl, ik] + G[jk, il] + G[il, jk] + G[ik, jl]) (see :func:`_kron_vech`), so no
    per-pattern (vech x vech) block is formed.
    """
    n, p = rows.shape
    r, c = _vech_index(p)
    m = r.size
    f = np.where(r == c, 0.5, 1.0)
    position = np.zeros((p, p), dtype=np.intp)
    position[r, c] = position[c, r] = np.arange(m)
    patterns = _patterns(rows)
    counts = np.zeros(len(patterns))
    a_vech = np.zeros((len(patterns), m))  # A_k on vech positions
    q_vech = np.zeros((len(patterns), m))  # Q_k on vech positions
    b_all = np.zeros((len(patterns), p))
    for k, (o, sel) in enumerate(patterns):
        n_r = int(sel.sum())
        x = rows[np.ix_(sel, o)]
        inv = _embedded_inverse(sigma, o)
        d = np.zeros(p)
        d[o] = x.mean(axis=0) - mu[o]
        centred = x - x.mean(axis=0)
        target = np.zeros((p, p))
        target[np.ix_(o, o)] = centred.T @ centred / n_r
        target += np.outer(d, d)
        q = inv @ (2.0 * target - sigma) @ inv
        counts[k] = n_r
        a_vech[k] = inv[r, c]
        q_vech[k] = q[r, c]
        b_all[k] = inv @ d
    weighted = counts[:, None] * a_vech
    h11 = np.sum(weighted, axis=0)[position]
    # t[z, xy] = sum_k n_k b_k[z] A_k[x, y]
    t = b_all.T @ weighted
    i, j, y = r[:, None], c[:, None], np.arange(p)[None, :]
    h21 = f[:, None] * (t[j, position[i, y]] + t[i, position[j, y]])
    g = weighted.T @ q_vech
    h22 = np.empty((m, m))
    chunk = max(1, 2**20 // max(m, 1))  # rows per gather: ~8 MB per index array
    for start in range(0, m, chunk):
        i, j = r[start : start + chunk, None], c[start : start + chunk, None]
        k_, l_ = r[None, :], c[None, :]
        h22[start : start + chunk] = (
            g[position[j, l_], position[i, k_]]
            + g[position[j, k_], position[i, l_]]
            + g[position[i, l_], position[j, k_]]
            + g[position[i, k_], position[j, l_]]
        )
    h22 *= 0.5 * np.outer(f, f)
    out = np.block([[h11, h21.T], [h21, h22]]) / n
    return 0.5 * (out + out.T)


def _delta(spec, mats, group: int) -> np.ndarray:
    """Jacobian d(mu, vech Sigma)/dtheta of one group (mu rows only with a mean structure)."""
    t = spec.table
    rows = spec.free_rows(group)
    u, v, s, w = derivative_vectors(
        mats, t.matrix[rows], t.row[rows], t.col[rows], means=spec.meanstructure
    )
    u, v = u.toarray(), v.toarray()
    r, c = _vech_index(spec.p)
    per_row = s * (u[r] * v[c] + v[r] * u[c])
    if spec.meanstructure:
        per_row = np.vstack([w.toarray(), per_row])
    agg = np.zeros((rows.size, spec.n_free))
    agg[np.arange(rows.size), t.free[rows]] = 1.0
    return per_row @ agg


def _baseline_delta(p: int, means: bool) -> np.ndarray:
    """Jacobian of the independence model: free variances (and means)."""
    r, c = _vech_index(p)
    diag = np.flatnonzero(r == c)
    cov = np.zeros((r.size, p))
    cov[diag, np.arange(p)] = 1.0
    if not means:
        return cov
    return linalg.block_diag(np.eye(p), cov)


def _complete_h1_trace(rows: np.ndarray, sigma: np.ndarray, means: bool) -> float:
    """tr(W Gamma) for complete rows: W the normal-theory weight at ``sigma``, Gamma the ADF
    covariance of (y, vech(y y')) (divisor N). With sigma = S this is tr(B_1 A_1^-1)."""
    centred = rows - rows.mean(axis=0)
    cov = centred.T @ centred / rows.shape[0]
    inv = linalg.inv(sigma)
    a = centred @ inv
    m = np.einsum("ij,ij->i", a, centred)
    asa = np.einsum("ij,ij->i", a @ cov, a)
    ws = inv @ cov
    out = 0.5 * float(np.mean(m * m - 2.0 * asa) + np.trace(ws @ ws))
    if means:
        out += float(np.mean(m))
    return out


def _tilde_scores(rows: np.ndarray, sigma: np.ndarray, means: bool) -> np.ndarray:
    """W (d_i - mean d), d_i = (y_i, vech(y_i y_i')): the MLM meat is Delta' of these."""
    centred = rows - rows.mean(axis=0)
    cov = centred.T @ centred / rows.shape[0]
    inv = linalg.inv(sigma)
    r, c = _vech_index(rows.shape[1])
    a = centred @ inv
    sis = inv @ cov @ inv
    out = a[:, r] * a[:, c] - sis[r, c]
    out[:, r == c] *= 0.5
    return np.hstack([a, out]) if means else out


def _mean_outer(x: np.ndarray) -> np.ndarray:
    return x.T @ x / x.shape[0]


# --------------------------------------------------------------------------------------------
# results
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaledTest:
    """A scaled test (lavaan's ``fit@test[[2]]``): T_scaled = T / scaling_factor."""

    test: str
    trace_ugamma: float
    df: int
    scaling_factor_h1: float
    scaling_factor_h0: float

    @property
    def scaling_factor(self) -> float:
        if self.df <= 0 or not np.isfinite(self.trace_ugamma):
            return np.nan
        c = self.trace_ugamma / self.df
        return c if c >= 0 else np.nan


@dataclass(frozen=True)
class _FimlCorrected:
    chisq: float
    scaling_factor: float
    baseline_chisq: float
    baseline_scaling_factor: float


@dataclass(frozen=True)
class RobustFit:
    """Robust standard errors and scaled tests of one fitted model (see the module docstring)."""

    estimator: str
    se: str
    vcov: np.ndarray
    test: ScaledTest
    baseline: ScaledTest
    fiml: _FimlCorrected | None

    def fit_measures(self, fm: dict, *, n: int, n_groups: int) -> dict:
        """The scaled and robust fit measures, given the standard ones ``fm``."""
        chisq, df = fm["chisq"], fm["df"]
        b_chisq, b_df = fm["baseline_chisq"], fm["baseline_df"]
        c, c_b = self.test.scaling_factor, self.baseline.scaling_factor
        scaled = chisq / c if df > 0 else chisq
        b_scaled = b_chisq / c_b
        out = {
            "chisq_scaled": scaled,
            "df_scaled": df,
            "pvalue_scaled": float(stats.chi2.sf(scaled, df)) if df > 0 else np.nan,
            "chisq_scaling_factor": c,
            "baseline_chisq_scaled": b_scaled,
            "baseline_df_scaled": b_df,
            "baseline_pvalue_scaled": float(stats.chi2.sf(b_scaled, b_df)),
            "baseline_chisq_scaling_factor": c_b,
            "cfi_scaled": _cfi(scaled, df, b_scaled, b_df),
            "tli_scaled": _tli(scaled, df, b_scaled, b_df),
        }
        if self.estimator == "MLR":
            out["scaling_factor_h1"] = self.test.scaling_factor_h1
            out["scaling_factor_h0"] = self.test.scaling_factor_h0
        # robust CFI/TLI/RMSEA ingredients: (T, c, T_b, c_b); FIML-corrected under FIML
        if self.fiml is not None:
            x3, c3 = self.fiml.chisq, self.fiml.scaling_factor
            x3_b, c3_b = self.fiml.baseline_chisq, self.fiml.baseline_scaling_factor
        else:
            x3, c3, x3_b, c3_b = chisq, c, b_chisq, c_b
        out["cfi_robust"] = _cfi_robust(x3, df, x3_b, b_df, c3, c3_b)
        out["tli_robust"] = _tli_robust(x3, df, x3_b, b_df, c3, c3_b)
        # scaled RMSEA: T against df2 = tr(U Gamma) (lavaan's lav_fit_rmsea_lavobject)
        df2 = self.test.trace_ugamma if df > 0 else np.nan
        if not np.isfinite(df2) or df2 == 0:
            df2 = np.nan
        out["rmsea_scaled"] = _rmsea(chisq, df2, n, n_groups, 1.0)
        lo, hi, p_close = rmsea_interval(chisq, df2, n, n_groups)
        out["rmsea_ci_lower_scaled"], out["rmsea_ci_upper_scaled"] = lo, hi
        out["rmsea_pvalue_scaled"] = p_close
        out["rmsea_robust"] = _rmsea(x3, df, n, n_groups, c3)
        if self.fiml is None:
            x3_scaled = scaled
        else:
            x3_scaled = x3 / c3 if np.isfinite(c3) and c3 > 0 else np.nan
        lo, hi, _ = rmsea_interval(x3_scaled, df, n, n_groups)
        if df >= 1:  # lavaan: [0, 0] below one degree of freedom, else scaled by sqrt(c)
            root = np.sqrt(c3) if np.isfinite(c3) and c3 > 0 else np.nan
            lo, hi = lo * root, hi * root
        out["rmsea_ci_lower_robust"], out["rmsea_ci_upper_robust"] = lo, hi
        if df > 0 and np.isfinite(x3_scaled):
            ncp = n * df / c3 * 0.05**2 / n_groups
            out["rmsea_pvalue_robust"] = 1.0 - float(stats.ncx2.cdf(x3_scaled, df, ncp))
        else:
            out["rmsea_pvalue_robust"] = np.nan
        return {
            k: int(v) if k in ("df_scaled", "baseline_df_scaled") else float(v)
            for k, v in out.items()
        }

    def to_dict(self) -> dict:
        return {
            "estimator": self.estimator,
            "se": self.se,
            "test": self.test.test,
            "scaling_factor": self.test.scaling_factor,
            "trace_ugamma": self.test.trace_ugamma,
            "baseline_scaling_factor": self.baseline.scaling_factor,
        }


def _rmsea(chisq: float, df: float, n: int, n_groups: int, c_hat: float) -> float:
    """lavaan's ``lav_fit_rmsea``: sqrt(max(T / (N df) - c / N, 0)) sqrt(G); 0 when df = 0."""
    if not (np.isfinite(chisq) and np.isfinite(df)):
        return np.nan
    if df <= 0:
        return 0.0
    if not np.isfinite(c_hat):
        return np.nan
    return float(np.sqrt(max(chisq / n / df - c_hat / n, 0.0)) * np.sqrt(n_groups))


def _robust_branch(df, c, c_b) -> bool:
    return df > 0 and c != 1.0 and c_b != 1.0


def _cfi_robust(chisq, df, b_chisq, b_df, c, c_b) -> float:
    """lavaan's ``lav_fit_cfi`` with c.hat: T - c df in place of T - df."""
    if not np.all(np.isfinite([chisq, df, b_chisq, b_df, c, c_b])):
        return np.nan
    if not _robust_branch(df, c, c_b):
        return _cfi(chisq, df, b_chisq, b_df)
    t1 = max(chisq - c * df, 0.0)
    t2 = max(chisq - c * df, b_chisq - c_b * b_df, 0.0)
    if t1 <= 1.5e-8 and t2 <= 1.5e-8:
        return 1.0
    return 1.0 - t1 / t2


def _tli_robust(chisq, df, b_chisq, b_df, c, c_b) -> float:
    if not np.all(np.isfinite([chisq, df, b_chisq, b_df, c, c_b])):
        return np.nan
    if not _robust_branch(df, c, c_b):
        return _tli(chisq, df, b_chisq, b_df)
    t1 = (chisq - c * df) * b_df
    t2 = (b_chisq - c_b * b_df) * df
    return 1.0 - t1 / t2 if abs(t2) > 0 else 1.0


# --------------------------------------------------------------------------------------------
# the computation
# --------------------------------------------------------------------------------------------


def _baseline_moments(rows: np.ndarray, means: bool) -> tuple[np.ndarray, np.ndarray]:
    """ML estimates of the independence model: each variable's mean and variance from its
    observed values (the FIML estimates too, as the likelihood factorises)."""
    mu = np.nanmean(rows, axis=0)
    var = np.nanmean((rows - mu) ** 2, axis=0)
    return np.diag(var), mu


def robust_fit(
    estimator: str,
    objective,
    theta: np.ndarray,
    rows: list[np.ndarray],
    information_inverse: np.ndarray,
    *,
    missing: str,
    df: int,
) -> RobustFit:
    """Robust covariance matrix of the estimates and scaled tests (model and baseline).

    ``information_inverse`` is the inverse of the per-observation information used as the
    bread: the observed information for MLR, the expected information for MLM.
    """
    spec = objective.spec
    means = spec.meanstructure
    p = spec.p
    weights = objective.weights
    implied = spec.implied(theta)
    fiml = missing == "ml"
    e_inv = information_inverse
    q = spec.n_free
    meat = np.zeros((q, q))
    tr_h1 = np.zeros(len(rows))
    tr_h0 = np.zeros(len(rows))
    base = _BaselineParts(len(rows))
    deltas = []
    # FIML: observed information A_1 of the saturated model at the EM estimates, its inverse
    # and the first-order information B_1 there (shared by tr(B_1 A_1^-1) and the FIML-C terms)
    h1_info = []
    xs = covariate_indices(spec)
    for g, (x, mats) in enumerate(zip(rows, implied, strict=True)):
        fg = weights[g]
        delta = _delta(spec, mats, g)
        deltas.append(delta)
        mean = x.mean(axis=0) if not means else mats.mu
        b_sigma, b_mu = _baseline_moments(x, means)
        b_delta = _baseline_delta(p, means)
        if xs.size:  # fixed.x: the baseline keeps the covariates' moments, fixed
            b_sigma[np.ix_(xs, xs)] = _ml_cov(x[:, xs])
            b_delta = b_delta[:, np.flatnonzero(~np.isin(_baseline_columns(p, means), xs))]
        if estimator == "MLR":
            j0 = _mean_outer(_h1_scores(x, mean, mats.sigma, means) @ delta)
            if fiml:
                h1_info.append(_h1_information(x, objective.groups[g]))
            if xs.size:  # complete data only (checked by the caller)
                tr_h1[g] = _masked_h1_trace(x, means, moment_indices(spec))
            else:
                tr_h1[g] = _mlr_h1_trace(
                    x, objective.groups[g], means, h1_info[g] if fiml else None
                )
            base.scores.append(_h1_scores(x, b_mu, b_sigma, means) @ b_delta)
            if fiml:
                base.info.append(_baseline_observed_information(x, np.diag(b_sigma)))
            else:
                base.info.append(b_delta.T @ _expected_h1(b_sigma, means) @ b_delta)
            base.tr_h1.append(tr_h1[g])
        else:  # MLM
            j0 = _mean_outer(_tilde_scores(x, mats.sigma, means) @ delta)
            tr_h1[g] = _complete_h1_trace(x, mats.sigma, means)
            base.scores.append(_tilde_scores(x, b_sigma, means) @ b_delta)
            base.info.append(b_delta.T @ _expected_h1(b_sigma, means) @ b_delta)
            base.tr_h1.append(_complete_h1_trace(x, b_sigma, means))
        meat += fg * j0
        tr_h0[g] = fg * float(np.sum(j0 * e_inv))
    vcov = e_inv @ meat @ e_inv / objective.n
    vcov = 0.5 * (vcov + vcov.T)
    ndat = len(rows) * (p * (p + 1) // 2 + (p if means else 0)) - fixed_moments(spec)
    if df <= 0:  # lavaan: no scaled test for df = 0
        tr_h1[:] = tr_h0[:] = np.nan
    test = ScaledTest(
        _TEST_NAME[estimator],
        float(np.sum(tr_h1 - tr_h0)),
        df,
        float(np.sum(tr_h1) / ndat),
        # lavaan divides by nx.free: free entries before equality constraints
        float(np.sum(tr_h0) / np.sum(spec.table.free >= 0)) if q else np.nan,
    )
    b_df = len(rows) * (p * (p - 1) // 2 - xs.size * (xs.size - 1) // 2)
    baseline = base.test(_TEST_NAME[estimator], weights, b_df)
    corrected = None
    if fiml and estimator == "MLR":
        corrected = _fiml_corrected(objective, implied, rows, deltas, h1_info, df, b_df)
    return RobustFit(estimator, _SE_NAME[estimator], vcov, test, baseline, corrected)


def _baseline_columns(p: int, means: bool) -> np.ndarray:
    """The variable of each column of :func:`_baseline_delta`."""
    return np.concatenate([np.arange(p), np.arange(p)]) if means else np.arange(p)


def _masked_h1_trace(x: np.ndarray, means: bool, drop: np.ndarray) -> float:
    """tr(B_1 A_1^-1) of the saturated model without the covariates' moments (complete data):
    lavaan masks the fixed-x rows and columns of A_1 and B_1 (``lav_test_yuan_bentler``)."""
    cov = _ml_cov(x)
    a1 = _expected_h1(cov, means)
    keep = np.setdiff1d(np.arange(a1.shape[0]), drop)
    b1 = _mean_outer(_h1_scores(x, x.mean(axis=0), cov, means))
    return float(np.trace(linalg.solve(a1[np.ix_(keep, keep)], b1[np.ix_(keep, keep)])))


def _h1_information(x: np.ndarray, group) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A_1, A_1^-1, B_1) of the saturated model at the EM estimates (FIML)."""
    cov, mean = group.h1_moments()
    a1 = _observed_h1(x, mean, cov)
    return a1, linalg.inv(a1), _mean_outer(_h1_scores(x, mean, cov, True))


def _mlr_h1_trace(x: np.ndarray, group, means: bool, h1: tuple | None) -> float:
    """tr(B_1 A_1^-1) of the saturated model at its estimates ((A_1, A_1^-1, B_1) given under
    FIML, see :func:`_h1_information`)."""
    if not np.isnan(x).any():
        return _complete_h1_trace(x, _ml_cov(x), means)
    _, a1_inv, b1 = h1
    return float(np.sum(a1_inv * b1.T))


def _ml_cov(x: np.ndarray) -> np.ndarray:
    centred = x - x.mean(axis=0)
    return centred.T @ centred / x.shape[0]


class _BaselineParts:
    """Per-group ingredients of the independence model's scaled test."""

    def __init__(self, n_groups: int):
        self.scores: list[np.ndarray] = []
        self.info: list[np.ndarray] = []
        self.tr_h1: list[float] = []

    def test(self, name: str, weights: np.ndarray, df: int) -> ScaledTest:
        # The baseline's parameters are separate per group, so its information is block
        # diagonal: f_g tr(J_g (f_g E_g)^-1) = tr(J_g E_g^-1).
        tr_h0 = [
            float(np.sum(_mean_outer(s) * linalg.inv(e)))
            for s, e in zip(self.scores, self.info, strict=True)
        ]
        return ScaledTest(name, float(np.sum(self.tr_h1) - np.sum(tr_h0)), df, np.nan, np.nan)


def _baseline_observed_information(x: np.ndarray, var: np.ndarray) -> np.ndarray:
    """Observed information of the independence model under FIML at its estimates: diagonal,
    n_j / (N s_j^2) for the means and n_j / (2 N s_j^4) for the variances (the likelihood
    factorises over variables, and the cross terms vanish at the estimates)."""
    share = np.sum(~np.isnan(x), axis=0) / x.shape[0]
    return np.diag(np.concatenate([share / var, share / (2.0 * var**2)]))


def _fiml_corrected(objective, implied, rows, deltas, h1_info, df, b_df) -> _FimlCorrected:
    """lavaan's ``lav_fit_fiml_corrected(version = "V3")`` (Zhang & Savalei, 2022)."""
    spec = objective.spec
    weights = objective.weights
    p = spec.p
    wm, jm, wc, wmi = [], [], [], []
    x3 = x3_b = 0.0
    b_deltas = []
    for g, x in enumerate(rows):
        cov, mean = objective.groups[g].h1_moments()
        wm_g, wmi_g, jm_g = h1_info[g]
        wm.append(wm_g)
        wmi.append(wmi_g)
        jm.append(jm_g)
        wc.append(_expected_h1(cov, True))
        n_g = objective.groups[g].n
        mats = implied[g]
        x3 += 2.0 * n_g * _ml_discrepancy(cov, mean, mats.sigma, mats.mu)
        b_sigma, b_mu = _baseline_moments(x, True)
        x3_b += 2.0 * n_g * _ml_discrepancy(cov, mean, b_sigma, b_mu)
        b_deltas.append(_baseline_delta(p, True))
    wm_all = [f * w for f, w in zip(weights, wm, strict=True)]
    middle = [(wi / f) @ (f * w) @ (wi / f) for f, wi, w in zip(weights, wmi, wc, strict=True)]
    gamma_all = [wi @ j @ wi / f for f, wi, j in zip(weights, wmi, jm, strict=True)]
    # W, M and Gamma are block diagonal over groups; with X = W M and Y = W Gamma,
    # tr(W M W Gamma) = sum_g sum(X_g * Y_g') is shared by the model and the baseline
    x_all = [w @ m for w, m in zip(wm_all, middle, strict=True)]
    y_all = [w @ s for w, s in zip(wm_all, gamma_all, strict=True)]
    t0 = sum(float(np.sum(x * y.T)) for x, y in zip(x_all, y_all, strict=True))
    sizes = np.cumsum([0] + [w.shape[0] for w in wm_all])

    def k(delta_all: np.ndarray) -> float:
        # U = W - B S B' with B = W Delta and S = (Delta' W Delta)^-1 (rank q), so
        # tr(U M U Gamma) = tr(W M W Gamma) - tr(S B'M W Gamma B) - tr(S B'Gamma W M B)
        #                   + tr(S B'M B S B'Gamma B): no (moments x moments) product is formed
        q = delta_all.shape[1]
        info, c_m, c_g, c_mw, c_gw = (np.zeros((q, q)) for _ in range(5))
        for g, (w, m, s, x, y) in enumerate(
            zip(wm_all, middle, gamma_all, x_all, y_all, strict=True)
        ):
            d_g = delta_all[sizes[g] : sizes[g + 1]]
            b = w @ d_g
            mb, gb = m @ b, s @ b
            info += d_g.T @ b
            c_m += b.T @ mb
            c_g += b.T @ gb
            c_mw += mb.T @ (y @ b)
            c_gw += gb.T @ (x @ b)
        s_m = linalg.solve(info, c_m)
        s_g = linalg.solve(info, c_g)
        t1 = np.trace(linalg.solve(info, c_mw))
        t2 = np.trace(linalg.solve(info, c_gw))
        return float(t0 - t1 - t2 + np.sum(s_m * s_g.T))

    c3 = k(np.vstack(deltas)) / df if df > 0 else np.nan
    c3_b = k(linalg.block_diag(*b_deltas)) / b_df
    return _FimlCorrected(x3, c3, x3_b, c3_b)


def _ml_discrepancy(cov, mean, sigma, mu) -> float:
    """F_ML = 1/2 [log|Sigma| - log|S| + tr(S Sigma^-1) - p + (m - mu)' Sigma^-1 (m - mu)]."""
    inv = linalg.inv(sigma)
    d = mean - mu
    _, ld_sigma = np.linalg.slogdet(sigma)
    _, ld_s = np.linalg.slogdet(cov)
    return 0.5 * (ld_sigma - ld_s + float(np.sum(cov * inv)) - cov.shape[0] + float(d @ inv @ d))
