"""Residual correlations of a fitted CFA, as lavaan 0.6-14's ``lavResiduals(fit)``.

lavaan's default type "cor.bentler" rescales the sample covariance matrix S (divisor N) and the
implied Sigma by the *observed* standard deviations, D = diag(S)^-1/2:

    R_res = D (S - Sigma) D,        with a mean structure also  r_mean = D (ybar - mu)

Standard errors come from the asymptotic covariance of the residuals (ML, complete data,
normal theory, lavaan's ``h1.acov = "unstructured"``):

    ACOV(res) = G Q (Gamma(S) / N) Q' G,      Q = I - Delta (Delta' W Delta)^+ Delta' W

with Delta the Jacobian of (mu, vech Sigma) in the free parameters, Gamma(M) the normal-theory
covariance of (ybar, vech S) (blocks M and 2 D+ (M x M) D+'), W = Gamma(Sigma)^-1 and G the
rescaling by D. The standardised residual is res / se (lavaan divides by 1 where |res| < 1e-4).

The summary statistics follow ``lav_residuals_summary_rms`` for the residual vector e (vech of
R_res with its diagonal; pstar its length) and its ACOV V (Maydeu-Olivares, 2017,
https://doi.org/10.1080/10705511.2016.1269606; Maydeu-Olivares, Shi & Rosseel, 2018,
https://doi.org/10.1080/10705511.2017.1389611):

    srmr    = sqrt(e'e / pstar)
    srmr.se = sqrt(tr(V^2) / (2 pstar tr V))
    E(srmr) = sqrt(tr V / pstar) (4 (tr V)^2 - tr(V^2)) / (4 (tr V)^2)
    srmr.exactfit.z = max(srmr - E(srmr), 0) / srmr.se,   p = 1 - Phi(z)
    k       = 1 - (tr(V^2) + 2 e'Ve) / (4 (e'e)^2)
    usrmr   = sqrt(max(e'e - tr V, 0) / pstar) / k
    usrmr.se = sqrt((tr(V^2) + 2 e'Ve) / (2 pstar e'e)) / k
    usrmr 90% CI = usrmr -/+ 1.645 usrmr.se;  usrmr.closefit.z = (usrmr - 0.05) / usrmr.se

Names are lavaan's with "." replaced by "_"; values lavaan reports as NA are NaN.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["ResidualCorrelations", "residual_correlations"]

SUMMARY_NAMES = (
    "srmr",
    "srmr_se",
    "srmr_exactfit_z",
    "srmr_exactfit_pvalue",
    "usrmr",
    "usrmr_se",
    "usrmr_ci_lower",
    "usrmr_ci_upper",
    "usrmr_closefit_h0_value",
    "usrmr_closefit_z",
    "usrmr_closefit_pvalue",
)


@dataclass(frozen=True)
class ResidualCorrelations:
    """``matrix``: residual correlations (variables x variables); ``z``: standardised residuals;
    ``mean``/``mean_z``: mean residuals (None without a mean structure); ``summary``:
    {"cov": {...}} and with a mean structure also "mean" and "total" (lavaan's columns)."""

    matrix: pd.DataFrame
    z: pd.DataFrame
    mean: pd.Series | None
    mean_z: pd.Series | None
    summary: dict

    def to_dict(self) -> dict:
        from .._json import jsonable

        return jsonable(
            {
                "type": "cor.bentler",
                "variables": list(self.matrix.index),
                "matrix": self.matrix.to_numpy().tolist(),
                "z": self.z.to_numpy().tolist(),
                "mean": None if self.mean is None else self.mean.tolist(),
                "mean_z": None if self.mean_z is None else self.mean_z.tolist(),
                "summary": self.summary,
            }
        )


def _vech_index(p: int) -> tuple[np.ndarray, np.ndarray]:
    # lavaan's lav_matrix_vech: column by column, the lower triangle with the diagonal
    cols, rows = np.triu_indices(p)
    return rows, cols


def _gamma(m: np.ndarray, rows: np.ndarray, cols: np.ndarray, means: bool) -> np.ndarray:
    """Normal-theory N * ACOV of (ybar, vech S) when the population covariance is m."""
    i, j = rows[:, None], cols[:, None]
    k, l_ = rows[None, :], cols[None, :]
    cov = m[i, k] * m[j, l_] + m[i, l_] * m[j, k]
    if not means:
        return cov
    p = m.shape[0]
    out = np.zeros((p + len(rows),) * 2)
    out[:p, :p] = m
    out[p:, p:] = cov
    return out


def _moments(spec, theta: np.ndarray, rows, cols, means: bool) -> np.ndarray:
    mats = spec.implied(theta)[0]
    sigma = np.asarray(mats.sigma)[rows, cols]
    return np.concatenate([np.asarray(mats.mu), sigma]) if means else sigma


def _jacobian(spec, theta: np.ndarray, rows, cols, means: bool) -> np.ndarray:
    theta = np.asarray(theta, dtype=float)
    k = theta.size
    base = _moments(spec, theta, rows, cols, means)
    out = np.empty((base.size, k))
    for a in range(k):
        h = 1e-6 * max(1.0, abs(theta[a]))
        up, down = theta.copy(), theta.copy()
        up[a] += h
        down[a] -= h
        out[:, a] = (
            _moments(spec, up, rows, cols, means) - _moments(spec, down, rows, cols, means)
        ) / (2 * h)
    return out


def _rms(e: np.ndarray, acov: np.ndarray | None, pstar: int, level: float = 0.90) -> dict:
    from scipy import stats

    out = dict.fromkeys(SUMMARY_NAMES, np.nan)
    out["usrmr_closefit_h0_value"] = 0.05
    if e.size == 0:
        out["srmr"] = out["usrmr"] = 0.0
        return out
    ee = np.float64(e @ e)
    srmr = np.sqrt(ee / pstar)
    out["srmr"] = srmr
    if acov is None or not np.all(np.isfinite(acov)):
        return out
    tr1 = np.float64(np.trace(acov))
    tr2 = np.float64(np.sum(acov * acov.T))
    eps = np.finfo(float).eps
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        avar = tr2 / (tr1 * 2 * pstar)
        if np.isfinite(avar) and avar >= eps:
            se = np.sqrt(avar)
            out["srmr_se"] = se
            expected = np.sqrt(tr1 / pstar) * (4 * tr1 * tr1 - tr2) / (4 * tr1 * tr1)
            z = max(srmr - expected, 0.0) / se
            out["srmr_exactfit_z"] = z
            out["srmr_exactfit_pvalue"] = float(stats.norm.sf(z))
        eve = np.float64(e @ acov @ e)
        k = 1.0 - (tr2 + 2 * eve) / (4 * ee * ee)
        numerator = np.sqrt(max(ee - tr1, 0.0) / pstar)
        # lavaan: (1 / k) * numerator, which is 0 for a zero numerator whenever k is not NaN
        out["usrmr"] = 0.0 if numerator == 0 and not np.isnan(k) else numerator / k
        uavar = (tr2 + 2 * eve) / (2 * pstar * ee) / (k * k)
        if np.isfinite(uavar) and uavar >= eps:
            use = np.sqrt(uavar)
            fac = stats.norm.ppf((1 - level) / 2)
            usrmr = out["usrmr"]
            out["usrmr_se"] = use
            out["usrmr_ci_lower"] = usrmr + use * fac
            out["usrmr_ci_upper"] = usrmr - use * fac
            out["usrmr_closefit_z"] = (usrmr - 0.05) / use
            out["usrmr_closefit_pvalue"] = float(stats.norm.sf(out["usrmr_closefit_z"]))
    return {key: float(v) for key, v in out.items()}


def residual_correlations(result) -> ResidualCorrelations:
    """Residual correlations and their summary (lavaan ``lavResiduals(fit)``, "cor.bentler").

    Parameters
    ----------
    result : CFAResult
        A single-group ML fit of continuous indicators with complete data
        (``missing="listwise"``, estimator "ML").

    Returns
    -------
    ResidualCorrelations
        ``matrix`` (DataFrame, observed x observed), ``z`` (standardised residuals), ``mean`` and
        ``mean_z`` (Series, or None without a mean structure) and ``summary``: a dict with key
        "cov" (and with a mean structure "mean" and "total") mapping to srmr, srmr_se,
        srmr_exactfit_z, srmr_exactfit_pvalue, usrmr, usrmr_se, usrmr_ci_lower, usrmr_ci_upper,
        usrmr_closefit_h0_value, usrmr_closefit_z, usrmr_closefit_pvalue.

    Raises
    ------
    ValueError
        For several groups, FIML (missing="ml") or a non-ML estimator.
    """
    spec = result.spec
    if spec.n_groups != 1:
        raise ValueError("residual correlations are available for single-group models only")
    if getattr(result, "missing", "listwise") != "listwise":
        raise ValueError("residual correlations need complete data (missing='listwise')")
    if getattr(result, "estimator", "ML") != "ML":
        raise ValueError("residual correlations follow lavaan's ML (normal-theory) formulas only")
    names = list(spec.observed)
    p = len(names)
    means = bool(spec.meanstructure)
    s, ybar = (np.asarray(a, dtype=float) for a in result.objective.groups[0].h1_moments())
    mats = spec.implied(result.theta)[0]
    sigma, mu = np.asarray(mats.sigma), np.asarray(mats.mu)
    d = 1.0 / np.sqrt(np.diag(s))
    res = (s - sigma) * np.outer(d, d)
    res_mean = (ybar - mu) * d if means else None

    rows, cols = _vech_index(p)
    n = float(result.nobs)
    acov = None
    if spec.n_free:
        delta = _jacobian(spec, result.theta, rows, cols, means)
        lin = getattr(result, "constraints", None)
        if lin is not None and lin.basis is not None:
            delta = delta @ lin.basis  # on the surface of the explicit constraints
        w = np.linalg.inv(_gamma(sigma, rows, cols, means))
        a0_inv = np.linalg.pinv(delta.T @ w @ delta)
        q = np.eye(delta.shape[0]) - delta @ a0_inv @ delta.T @ w
        acov = q @ (_gamma(s, rows, cols, means) / n) @ q.T
        g = np.outer(d, d)[rows, cols]
        if means:
            g = np.concatenate([d, g])
        acov = acov * np.outer(g, g)
    se = np.sqrt(np.maximum(np.diag(acov), 0.0)) if acov is not None else None

    e_cov = res[rows, cols]
    k_cov = len(e_cov)

    def z_of(values: np.ndarray, errors: np.ndarray | None) -> np.ndarray:
        if errors is None:
            return np.full_like(values, np.nan)
        errors = np.where(np.abs(values) < 1e-4, 1.0, errors)
        with np.errstate(divide="ignore", invalid="ignore"):
            return values / errors

    z = np.full((p, p), np.nan)
    z_cov = z_of(e_cov, None if se is None else se[p:] if means else se)
    z[rows, cols] = z_cov
    z[cols, rows] = z_cov
    summary = {}
    if means:
        summary["cov"] = _rms(e_cov, None if acov is None else acov[p:, p:], k_cov)
        summary["mean"] = _rms(res_mean, None if acov is None else acov[:p, :p], p)
        summary["total"] = _rms(np.concatenate([res_mean, e_cov]), acov, p + k_cov)
    else:
        summary["cov"] = _rms(e_cov, acov, k_cov)
    return ResidualCorrelations(
        matrix=pd.DataFrame(res, index=names, columns=names),
        z=pd.DataFrame(z, index=names, columns=names),
        mean=None if res_mean is None else pd.Series(res_mean, index=names),
        mean_z=None
        if res_mean is None
        else pd.Series(z_of(res_mean, None if se is None else se[:p]), index=names),
        summary=summary,
    )
