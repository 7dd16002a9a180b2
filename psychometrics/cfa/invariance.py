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
    std_lv, missing
        As in :func:`psychometrics.cfa.cfa`.

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
    previous = None
    for level in levels:
        fit = cfa(
            model, data, group=group, group_equal=LEVELS[level], std_lv=std_lv, missing=missing
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
        rows.append(row)
        previous = fm
    return InvarianceResult(pd.DataFrame(rows, columns=TABLE_COLUMNS), fits)
