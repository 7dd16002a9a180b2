"""Likelihood-ratio (chi-square difference) test between two nested CFA models.

With normal-theory ML the difference of the two chi-squares is referred to a chi-square with
the difference of their degrees of freedom. With a robust estimator (MLR, MLM) the difference of
two *scaled* statistics is not chi-square distributed; the Satorra-Bentler (2001) scaled
difference uses the unscaled statistics T_0, T_1 (restricted, less restricted), their degrees of
freedom r_0 > r_1 and scaling factors c_0, c_1:

    c_d = (r_0 c_0 - r_1 c_1) / (r_0 - r_1),   T_d = (T_0 - T_1) / c_d ~ chi2(r_0 - r_1)

as lavaan 0.6-14's ``lavTestLRT`` with its default ``method = "satorra.bentler.2001"`` for these
estimators (c_1 = 1 for a saturated model; c_d < 0 gives no test).

Satorra, A., & Bentler, P. M. (2001). A scaled difference chi-square test statistic for moment
structure analysis. *Psychometrika, 66*(4), 507-514. https://doi.org/10.1007/BF02296192
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import stats

from .results import CFAResult, _clean

__all__ = ["LRTResult", "lrt"]


@dataclass(frozen=True)
class LRTResult:
    """The difference test; ``chisq_diff`` is scaled (T_d) for MLR/MLM.

    ``chisq``/``df`` are the two models' (unscaled) statistics, restricted model first;
    ``scaling_factor`` is c_d (NaN for ML).
    """

    method: str
    estimator: str
    chisq: tuple[float, float]
    df: tuple[int, int]
    chisq_diff: float
    df_diff: int
    pvalue: float
    scaling_factor: float
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return _clean(
            {
                "method": self.method,
                "estimator": self.estimator,
                "chisq": list(self.chisq),
                "df": list(self.df),
                "chisq_diff": self.chisq_diff,
                "df_diff": self.df_diff,
                "pvalue": self.pvalue,
                "scaling_factor": self.scaling_factor,
                "warnings": self.warnings,
            }
        )


def lrt(fit0: CFAResult, fit1: CFAResult) -> LRTResult:
    """Chi-square difference test of two nested models fitted to the same data.

    Parameters
    ----------
    fit0, fit1 : CFAResult
        The two models, in either order: the one with more degrees of freedom is taken as the
        restricted model. Both must use the same estimator; for "MLR" and "MLM" the test is
        Satorra-Bentler (2001) scaled, for "ML" the plain difference.

    Returns
    -------
    LRTResult

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> from psychometrics.cfa import cfa
    >>> rng = np.random.default_rng(3)
    >>> f = rng.normal(size=(400, 2)) @ np.array([[1.0, 0.4], [0.0, 0.9]])
    >>> x = np.repeat(f, 3, axis=1) * 0.8 + rng.normal(scale=0.6, size=(400, 6))
    >>> data = pd.DataFrame(x, columns=["a1", "a2", "a3", "b1", "b2", "b3"])
    >>> free = cfa("f =~ a1 + a2 + a3\\ng =~ b1 + b2 + b3", data, estimator="MLR")
    >>> orth = cfa("f =~ a1 + a2 + a3\\ng =~ b1 + b2 + b3\\nf ~~ 0*g", data, estimator="MLR")
    >>> res = lrt(orth, free)
    >>> res.method, res.df_diff, bool(res.pvalue < 0.001)
    ('satorra.bentler.2001', 1, True)
    """
    for fit in (fit0, fit1):
        if not isinstance(fit, CFAResult):
            raise TypeError("lrt() compares two CFAResult objects")
    if fit0.estimator != fit1.estimator:
        raise ValueError(
            f"the models use different estimators ({fit0.estimator} and {fit1.estimator}); "
            "fit both with the same one"
        )
    if sorted(fit0.spec.observed) != sorted(fit1.spec.observed) or fit0.nobs != fit1.nobs:
        raise ValueError(
            "the models are not fitted to the same data (observed variables or number of "
            "observations differ)"
        )
    fm0, fm1 = fit0.fit_measures(), fit1.fit_measures()
    if fm0["df"] < fm1["df"]:
        fit0, fit1, fm0, fm1 = fit1, fit0, fm1, fm0
    t0, r0, t1, r1 = fm0["chisq"], fm0["df"], fm1["chisq"], fm1["df"]
    m = r0 - r1
    if m == 0:
        raise ValueError(
            f"both models have {r0} degrees of freedom: they cannot be nested in one another"
        )
    warnings = []
    if t0 - t1 < -(np.finfo(float).eps ** (1 / 3)):
        warnings.append(
            "the restricted model fits better than the less restricted one: either the models "
            f"are not nested or the less restricted model missed its optimum (difference "
            f"{t0 - t1:.6g})"
        )
    robust = fit0.estimator in ("MLR", "MLM")
    if robust:
        c0 = fm0["chisq_scaling_factor"]
        c1 = 1.0 if r1 == 0 else fm1["chisq_scaling_factor"]
        cd = (r0 * c0 - r1 * c1) / m
        if not np.isfinite(cd) or cd < 0:
            warnings.append("the scaling factor of the difference is negative: no test")
            cd = np.nan
        diff = (t0 - t1) / cd
        method = "satorra.bentler.2001"
    else:
        cd, diff, method = np.nan, t0 - t1, "standard"
    pvalue = float(stats.chi2.sf(diff, m)) if np.isfinite(diff) else np.nan
    return LRTResult(
        method,
        fit0.estimator,
        (t0, t1),
        (int(r0), int(r1)),
        float(diff),
        int(m),
        pvalue,
        float(cd),
        warnings,
    )
