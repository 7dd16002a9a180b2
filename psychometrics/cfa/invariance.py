"""Measurement invariance across groups: configural, metric, scalar and strict models.

Each level adds equality constraints across groups (Meredith, 1993,
https://doi.org/10.1007/BF02294825): metric = equal loadings, scalar = also equal intercepts
(factor means then free in all groups but the first), strict = also equal residual variances.
Nested models are compared by the chi-square difference test, Delta CFI and Delta RMSEA
(Cheung & Rensvold, 2002, https://doi.org/10.1207/S15328007SEM0902_5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from .fitting import cfa
from .lrt import lrt
from .results import CFAResult, _clean

__all__ = ["InvarianceResult", "invariance"]

LEVELS = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
TABLE_COLUMNS = [
    "level",
    "npar",
    "chisq",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "srmr",
    "aic",
    "bic",
    "delta_chisq",
    "delta_df",
    "delta_pvalue",
    "delta_cfi",
    "delta_rmsea",
]
# added after TABLE_COLUMNS with estimator MLR or MLM; delta_chisq is then the Satorra-Bentler
# (2001) scaled difference and delta_scaling_factor its c_d
ROBUST_COLUMNS = [
    "chisq_scaled",
    "chisq_scaling_factor",
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "delta_scaling_factor",
    "delta_cfi_robust",
    "delta_rmsea_robust",
]


@dataclass(frozen=True)
class InvarianceResult:
    """``table``: one row per level with fit and differences to the previous level;
    ``fits``: level -> :class:`CFAResult`."""

    table: pd.DataFrame
    fits: dict[str, CFAResult]

    def to_dict(self) -> dict:
        return _clean(
            {
                "table": self.table,
                "fits": {level: fit.to_dict() for level, fit in self.fits.items()},
            }
        )


def invariance(
    model: str,
    data: pd.DataFrame,
    group: str,
    levels: Sequence[str] = ("configural", "metric", "scalar", "strict"),
    *,
    std_lv: bool = False,
    missing: str = "listwise",
    estimator: str = "ML",
    group_partial: Sequence[str] = (),
) -> InvarianceResult:
    """Fit increasingly constrained multi-group CFAs and compare each with the previous one.

    Parameters
    ----------
    model : str
        lavaan-style CFA syntax.
    data : DataFrame
        Raw data with the grouping column.
    group : str
        The grouping column.
    levels : sequence of str
        Any of "configural", "metric", "scalar", "strict", from least to most constrained.
    std_lv, missing, estimator
        As in :func:`psychometrics.cfa.cfa`. With "MLR" or "MLM" ``delta_chisq`` is the
        Satorra-Bentler (2001) scaled difference (:func:`psychometrics.cfa.lrt.lrt`, lavaan's
        ``lavTestLRT``), and the table gains ``ROBUST_COLUMNS``.

    Returns
    -------
    InvarianceResult
        ``delta_chisq = chisq_k - chisq_{k-1}``, ``delta_df`` likewise, ``delta_pvalue`` its
        chi-square p value; ``delta_cfi`` and ``delta_rmsea`` are differences k - (k-1).

    References
    ----------
    Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for testing
    measurement invariance. *Structural Equation Modeling, 9*(2), 233-255.
    https://doi.org/10.1207/S15328007SEM0902_5
    """
    unknown = [lv for lv in levels if lv not in LEVELS]
    if unknown:
        raise ValueError(f"unknown invariance level(s) {unknown}; choose from {list(LEVELS)}")
    if not levels:
        raise ValueError("give at least one level")
    fits: dict[str, CFAResult] = {}
    rows = []
    previous = previous_level = None
    for level in levels:
        fit = cfa(
            model,
            data,
            group=group,
            group_equal=LEVELS[level],
            group_partial=group_partial if LEVELS[level] else (),
            std_lv=std_lv,
            missing=missing,
            estimator=estimator,
        )
        fits[level] = fit
        fm = fit.fit_measures()
        row = {
            "level": level,
            **{
                k: fm[k]
                for k in (
                    "npar",
                    "chisq",
                    "df",
                    "pvalue",
                    "cfi",
                    "tli",
                    "rmsea",
                    "srmr",
                    "aic",
                    "bic",
                )
            },
        }
        if previous is None:
            row.update(
                delta_chisq=np.nan,
                delta_df=np.nan,
                delta_pvalue=np.nan,
                delta_cfi=np.nan,
                delta_rmsea=np.nan,
            )
        else:
            d_chi = fm["chisq"] - previous["chisq"]
            d_df = fm["df"] - previous["df"]
            row.update(
                delta_chisq=d_chi,
                delta_df=d_df,
                delta_pvalue=float(stats.chi2.sf(d_chi, d_df)) if d_df > 0 else np.nan,
                delta_cfi=fm["cfi"] - previous["cfi"],
                delta_rmsea=fm["rmsea"] - previous["rmsea"],
            )
        if fit.robust is not None:
            row.update({k: fm[k] for k in ROBUST_COLUMNS[:5]})
            row.update(delta_scaling_factor=np.nan, delta_cfi_robust=np.nan)
            row.update(delta_rmsea_robust=np.nan)
            if previous is not None:
                test = lrt(fits[previous_level], fit)
                row.update(
                    delta_chisq=test.chisq_diff,
                    delta_pvalue=test.pvalue,
                    delta_scaling_factor=test.scaling_factor,
                    delta_cfi_robust=fm["cfi_robust"] - previous["cfi_robust"],
                    delta_rmsea_robust=fm["rmsea_robust"] - previous["rmsea_robust"],
                )
        rows.append(row)
        previous, previous_level = fm, level
    columns = TABLE_COLUMNS + (ROBUST_COLUMNS if estimator.upper() != "ML" else [])
    return InvarianceResult(pd.DataFrame(rows, columns=columns), fits)
