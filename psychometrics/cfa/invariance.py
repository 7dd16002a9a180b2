"""Measurement invariance across groups: configural, metric, scalar and strict models.

Each level adds equality constraints across groups (Meredith, 1993,
https://doi.org/10.1007/BF02294825): metric = equal loadings, scalar = also equal intercepts
(factor means then free in all groups but the first), strict = also equal residual variances.
Nested models are compared by the chi-square difference test, Delta CFI and Delta RMSEA
(Cheung & Rensvold, 2002, https://doi.org/10.1207/S15328007SEM0902_5).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
    tests: dict = field(default_factory=dict)  # ordinal: level -> ScaledDifference

    def to_dict(self) -> dict:
        out = {
            "table": self.table,
            "fits": {level: fit.to_dict() for level, fit in self.fits.items()},
        }
        if self.tests:
            out["tests"] = {level: t.to_dict() for level, t in self.tests.items()}
        return _clean(out)


def invariance(
    model: str,
    data: pd.DataFrame,
    group: str,
    levels: Sequence[str] | None = None,
    *,
    std_lv: bool = False,
    missing: str = "listwise",
    estimator: str = "ML",
    group_partial: Sequence[str] = (),
    ordered=None,
    parameterization: str = "delta",
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
    levels : sequence of str, optional
        Any of "configural", "metric", "scalar", "strict", from least to most constrained
        (default: all four). For ordered items: any of "configural", "thresholds", "metric",
        "scalar", and with ``parameterization="theta"`` "strict" (default: all of them).
    std_lv, missing, estimator
        As in :func:`psychometrics.cfa.cfa`. With "MLR" or "MLM" ``delta_chisq`` is the
        Satorra-Bentler (2001) scaled difference (:func:`psychometrics.cfa.lrt.lrt`, lavaan's
        ``lavTestLRT``), and the table gains ``ROBUST_COLUMNS``.
    ordered, parameterization
        ``ordered=True`` (or the list of every indicator) with ``estimator="WLSMV"``: ordered
        items, the Wu & Estabrook (2016) ladder of semTools' ``measEq.syntax`` in the delta
        (default) or theta parameterisation, with lavaan's ``satorra.2000`` scaled-shifted
        difference tests
        (:mod:`psychometrics.cfa.ordinal_invariance`); the table then has ``ORDINAL_COLUMNS``.
        ``missing`` is "listwise" or "pairwise" there; ``std_lv`` is implied (semTools'
        ``ID.fac = "std.lv"``).

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
    if ordered not in (None, False) or estimator.upper() in ("WLSMV", "WLSM", "ULSMV"):
        if group_partial:
            raise ValueError(
                "group_partial is supported for continuous items (ML, MLR, MLM), not yet for "
                "the ordinal ladder (WLSMV)"
            )
        return _ordinal(model, data, group, levels, estimator, ordered, missing, parameterization)
    if levels is None:
        levels = tuple(LEVELS)
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


# the ordinal table: scaled statistics, and the difference tests of lavaan's lavTestLRT
ORDINAL_COLUMNS = [
    "level",
    "npar",
    "chisq",
    "df",
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "chisq_scaling_factor",
    "chisq_shift_parameter",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
    "srmr",
    "cfi_robust",
    "rmsea_robust",
    "delta_chisq",
    "delta_df",
    "delta_pvalue",
    "delta_cfi_scaled",
    "delta_rmsea_scaled",
    "delta_cfi",
    "delta_rmsea",
]


def ordinal_table(fits: dict, tests: dict) -> pd.DataFrame:
    """One row per ordinal level; ``delta_chisq`` is Satorra's (2000) scaled-shifted
    difference (lavaan's ``lavTestLRT`` for WLSMV), the other deltas are k - (k-1)."""
    rows, prev = [], None
    for level, fit in fits.items():
        fm = fit.fit_measures()
        row = {k: fm.get(k, np.nan) for k in ORDINAL_COLUMNS[1:15]}
        row["level"] = level
        test = tests.get(level)
        row.update(
            delta_chisq=test.chisq_diff if test else np.nan,
            delta_df=test.df_diff if test else np.nan,
            delta_pvalue=test.pvalue if test else np.nan,
        )
        for key in ("cfi_scaled", "rmsea_scaled", "cfi", "rmsea"):
            row[f"delta_{key}"] = fm[key] - prev[key] if prev is not None else np.nan
        rows.append(row)
        prev = fm
    return pd.DataFrame(rows, columns=ORDINAL_COLUMNS)


def _ordinal(model, data, group, levels, estimator, ordered, missing, parameterization):
    from .ordinal_invariance import ordinal_invariance

    if estimator.upper() != "WLSMV":
        raise ValueError(f"ordinal invariance supports estimator='WLSMV' only (got {estimator!r})")
    if ordered is None or ordered is False:
        raise ValueError(
            "estimator='WLSMV' is for ordered items: pass ordered=True (or the list of items)"
        )
    fits, tests = ordinal_invariance(
        model,
        data,
        group,
        levels,
        ordered=ordered,
        estimator=estimator,
        missing=missing,
        parameterization=parameterization,
    )
    return InvarianceResult(ordinal_table(fits, tests), fits, tests)
