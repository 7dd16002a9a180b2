"""Global fit measures, computed as lavaan 0.6 reports them for ML.

- chi-square: T = 2 (log L_H1 - log L_H0) (= 2 N F_min for complete data), df = moments - npar;
- baseline: the independence model (free variances, and free means with a mean structure);
- CFI = 1 - max(T - df, 0) / max(T - df, T_b - df_b, 0) (Bentler, 1990,
  https://doi.org/10.1037/0033-2909.107.2.238);
  TLI = (T_b/df_b - T/df) / (T_b/df_b - 1) (Tucker & Lewis, 1973, https://doi.org/10.1007/BF02291170);
- RMSEA = sqrt(max(T - df, 0) / (N df)) * sqrt(G), with the 90% interval from inverting the
  noncentral chi-square distribution and p(RMSEA <= .05) (Browne & Cudeck, 1992,
  https://doi.org/10.1177/0049124192021002005);
- SRMR (Bentler): root mean square of (s_ij - sigma_ij) / sqrt(s_ii s_jj) over the p(p+1)/2
  moments, plus (m_i - mu_i) / sqrt(s_ii) with a mean structure; groups weighted by N_g / N;
- AIC = -2 log L + 2 npar, BIC = -2 log L + npar log N, BIC2 = -2 log L + npar log((N + 2) / 24).
"""

from __future__ import annotations

import numpy as np
from scipy import optimize, stats

__all__ = ["fit_measures", "rmsea_interval", "srmr"]


def rmsea_interval(
    chisq: float, df: float, n: int, n_groups: int, level: float = 0.90
) -> tuple[float, float, float]:
    """Lower and upper RMSEA confidence limits and p(RMSEA <= 0.05) as in lavaan."""
    if not (df > 0 and np.isfinite(chisq)):
        return np.nan, np.nan, np.nan
    tail = (1.0 - level) / 2.0

    def cdf(ncp: float) -> float:
        if ncp <= 0:
            return float(stats.chi2.cdf(chisq, df))
        return float(stats.ncx2.cdf(chisq, df, ncp))

    def scale(ncp: float) -> float:
        return float(np.sqrt(ncp / (n * df)) * np.sqrt(n_groups))

    lower = 0.0
    if cdf(0.0) - (1.0 - tail) > 0:
        lower = scale(optimize.brentq(lambda x: cdf(x) - (1.0 - tail), 0.0, chisq, xtol=1e-12))
    upper = 0.0
    if cdf(0.0) - tail > 0:
        top = max(float(n), 4.0 * chisq)
        upper = scale(optimize.brentq(lambda x: cdf(x) - tail, 0.0, top, xtol=1e-12))
    close = n * df * 0.05**2 / n_groups
    pvalue = 1.0 - float(stats.ncx2.cdf(chisq, df, close))
    return lower, upper, pvalue


def srmr(
    cov: np.ndarray, mean: np.ndarray | None, sigma: np.ndarray, mu: np.ndarray | None
) -> float:
    """Bentler's SRMR of one group (residuals standardised by the observed SDs)."""
    sd = np.sqrt(np.diag(cov))
    resid = (cov - sigma) / np.outer(sd, sd)
    lower = resid[np.tril_indices(cov.shape[0])]
    total, count = float(np.sum(lower**2)), lower.size
    if mean is not None and mu is not None:
        total += float(np.sum(((mean - mu) / sd) ** 2))
        count += mean.size
    return float(np.sqrt(total / count))


def fit_measures(
    *,
    logl: float,
    h1_logl: float,
    baseline_logl: float,
    npar: int,
    n: int,
    n_groups: int,
    moments: int,
    baseline_df: int,
    srmr_value: float,
) -> dict:
    chisq = 2.0 * (h1_logl - logl)
    df = moments - npar
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
    b_chisq = 2.0 * (h1_logl - baseline_logl)
    b_p = float(stats.chi2.sf(b_chisq, baseline_df)) if baseline_df > 0 else np.nan
    if df > 0 or chisq > 0:
        denom = max(chisq - df, b_chisq - baseline_df, 0.0)
        cfi = 1.0 - max(chisq - df, 0.0) / denom if denom > 0 else 1.0
    else:
        cfi = np.nan
    if df > 0 and baseline_df > 0:
        tli = ((b_chisq / baseline_df) - (chisq / df)) / ((b_chisq / baseline_df) - 1.0)
        rmsea = float(np.sqrt(max(chisq - df, 0.0) / (n * df)) * np.sqrt(n_groups))
    else:
        tli = rmsea = np.nan
    lo, hi, p_close = rmsea_interval(chisq, df, n, n_groups)
    out = {
        "npar": npar,
        "nobs": n,
        "logl": logl,
        "unrestricted_logl": h1_logl,
        "aic": -2.0 * logl + 2.0 * npar,
        "bic": -2.0 * logl + npar * np.log(n),
        "bic2": -2.0 * logl + npar * np.log((n + 2.0) / 24.0),
        "chisq": chisq,
        "df": df,
        "pvalue": pvalue,
        "baseline_chisq": b_chisq,
        "baseline_df": baseline_df,
        "baseline_pvalue": b_p,
        "cfi": cfi,
        "tli": tli,
        "rmsea": rmsea,
        "rmsea_ci_lower": lo,
        "rmsea_ci_upper": hi,
        "rmsea_pvalue": p_close,
        "srmr": srmr_value,
    }
    return {
        k: int(v) if k in ("npar", "nobs", "df", "baseline_df") else float(v)
        for k, v in out.items()
    }
