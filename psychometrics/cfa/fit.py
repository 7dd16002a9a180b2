"""Global fit measures, computed as lavaan 0.6 reports them for ML.

- chi-square: T = max(2 (log L_H1 - log L_H0), 0) (= 2 N F_min for complete data), df = moments -
  npar; a negative T is round-off and is set to 0, as lavaan's ``lav_model_test`` does (it clamps
  each group's T; we clamp the total, which differs only by round-off); with df < 0 T is NaN;
  p = NaN when df = 0;
- baseline: the independence model (free variances, and free means with a mean structure), its
  T_b clamped at 0 in the same way;
- CFI = 1 - t1 / t2 with t1 = max(T - df, 0), t2 = max(T - df, T_b - df_b, 0), and CFI = 1 when
  both t1 and t2 are 0 within 1.5e-8 (lavaan's ``all.equal``) (Bentler, 1990,
  https://doi.org/10.1037/0033-2909.107.2.238);
  TLI = 1 - ((T - df) df_b) / ((T_b - df_b) df) when df > 0 and the denominator is non-zero, else 1
  (so 1 for df = 0) (Tucker & Lewis, 1973, https://doi.org/10.1007/BF02291170);
  CFI and TLI are NaN when T, df, T_b or df_b is not finite (lavaan's ``lav_fit_cfi``,
  ``lav_fit_tli``);
- RMSEA = sqrt(max(T - df, 0) / (N df)) * sqrt(G) when df > 0 and 0 when df = 0, with the 90%
  interval from inverting the noncentral chi-square distribution ([0, 0] when df = 0) and
  p(RMSEA <= .05) (NaN when df = 0) (Browne & Cudeck, 1992,
  https://doi.org/10.1177/0049124192021002005; lavaan's ``lav_fit_rmsea``, ``lav_fit_rmsea_ci``,
  ``lav_fit_rmsea_closefit``);
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
    """Lower and upper RMSEA confidence limits and p(RMSEA <= 0.05) as in lavaan.

    With df < 1 (a just-identified model) lavaan reports the interval [0, 0] and no p-value.
    """
    if not (np.isfinite(chisq) and np.isfinite(df)):
        return np.nan, np.nan, np.nan
    if df < 1:
        return 0.0, 0.0, np.nan
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


_ALL_EQUAL_TOLERANCE = 1.5e-8  # R's all.equal default, sqrt(.Machine$double.eps)


def _cfi(chisq: float, df: float, b_chisq: float, b_df: float) -> float:
    """CFI as lavaan's ``lav_fit_cfi``: 1 when the model and the baseline both have t = 0."""
    if not np.all(np.isfinite([chisq, df, b_chisq, b_df])):
        return np.nan
    t1 = max(chisq - df, 0.0)
    t2 = max(chisq - df, b_chisq - b_df, 0.0)
    if t1 <= _ALL_EQUAL_TOLERANCE and t2 <= _ALL_EQUAL_TOLERANCE:
        return 1.0
    return 1.0 - t1 / t2


def _tli(chisq: float, df: float, b_chisq: float, b_df: float) -> float:
    """TLI as lavaan's ``lav_fit_tli``: 1 when df = 0 or the baseline has T_b = df_b."""
    if not np.all(np.isfinite([chisq, df, b_chisq, b_df])):
        return np.nan
    t1 = (chisq - df) * b_df
    t2 = (b_chisq - b_df) * df
    return 1.0 - t1 / t2 if df > 0 and abs(t2) > 0 else 1.0


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
    df = moments - npar
    chisq = max(2.0 * (h1_logl - logl), 0.0) if df >= 0 else np.nan
    pvalue = float(stats.chi2.sf(chisq, df)) if df > 0 else np.nan
    b_chisq = max(2.0 * (h1_logl - baseline_logl), 0.0)
    b_p = float(stats.chi2.sf(b_chisq, baseline_df)) if baseline_df > 0 else np.nan
    cfi, tli = _cfi(chisq, df, b_chisq, baseline_df), _tli(chisq, df, b_chisq, baseline_df)
    if not np.isfinite(chisq):
        rmsea = np.nan
    elif df > 0:
        rmsea = float(np.sqrt(max(chisq - df, 0.0) / (n * df)) * np.sqrt(n_groups))
    else:
        rmsea = 0.0
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
