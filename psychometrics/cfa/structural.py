"""Exogenous observed covariates of regressions (lavaan's ``fixed.x = TRUE``).

An observed variable that appears in a regression only as a predictor (``f ~ age``) is an
exogenous covariate. As lavaan does by default, its variance, its covariances with the other
covariates and, with a mean structure, its mean are fixed to the sample values (divisor N), so
they are not free parameters, and the model reproduces that block of the moments exactly. The
counts follow (lavaan's ``lav_partable_ndat``, ``lav_partable_npar``):

- sample moments per group: p(p+1)/2 - k(k+1)/2 (minus k more with a mean structure), with k
  covariates, so df = moments - npar is unchanged by the fixed block;
- the baseline (independence) model keeps the covariates' covariance block: Sigma_0 =
  diag(S_yy) (+) S_xx, mu_0 = the sample means, with df_b = p(p-1)/2 - k(k-1)/2 per group;
- the log-likelihood (and so AIC and BIC) is the one of the other variables conditional on the
  covariates, as lavaan reports it: the joint one minus the covariates' own (saturated) one,
  -N/2 (k log 2 pi + log|S_xx| + k).

Reference: Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
Statistical Software, 48*(2). https://doi.org/10.18637/jss.v048.i02
"""

from __future__ import annotations

import numpy as np

from .estimation import CompleteData
from .model import ALPHA, PSI, ModelSpec

__all__ = [
    "baseline_loglik",
    "covariate_indices",
    "covariate_loglik",
    "fix_covariates",
    "fixed_moments",
]


def covariate_indices(spec: ModelSpec) -> np.ndarray:
    """Observed-variable indices of the exogenous covariates."""
    to_ov = {lv: ov for ov, lv in spec.phantoms}
    return np.array([to_ov[lv] for lv in spec.fixed_x], dtype=int)


def fix_covariates(spec: ModelSpec, groups: list) -> None:
    """Set the fixed rows of the covariates to each group's sample moments (in place)."""
    if not spec.fixed_x:
        return
    for g in groups:
        if not isinstance(g, CompleteData):
            raise ValueError(
                "observed covariates of regressions (fixed.x) are supported with complete data "
                "(missing='listwise'); with missing='ml' the covariates must have no missing "
                "values"
            )
    t = spec.table
    to_ov = {lv: ov for ov, lv in spec.phantoms}
    xs = set(spec.fixed_x)
    for i in range(len(t)):
        if t.free[i] >= 0:
            continue
        cov, mean = groups[t.group[i]].h1_moments()
        if t.matrix[i] == PSI and t.row[i] in xs and t.col[i] in xs:
            t.value[i] = cov[to_ov[t.row[i]], to_ov[t.col[i]]]
        elif t.matrix[i] == ALPHA and t.row[i] in xs:
            t.value[i] = mean[to_ov[t.row[i]]]


def fixed_moments(spec: ModelSpec) -> int:
    """Sample moments of the covariates (all groups), fitted exactly and not counted."""
    k = len(spec.fixed_x)
    return spec.n_groups * (k * (k + 1) // 2 + (k if spec.meanstructure else 0))


def baseline_loglik(group: CompleteData, x: np.ndarray) -> float:
    """Log-likelihood of the independence model that keeps the covariates' covariances."""
    sigma0 = np.diag(np.diag(group.cov))
    sigma0[np.ix_(x, x)] = group.cov[np.ix_(x, x)]
    return group.loglik(sigma0, group.mean)


def covariate_loglik(group: CompleteData, x: np.ndarray) -> float:
    """The covariates' marginal log-likelihood at their sample moments."""
    k = x.size
    logdet = float(np.linalg.slogdet(group.cov[np.ix_(x, x)])[1])
    return -0.5 * group.n * (k * np.log(2.0 * np.pi) + logdet + k)
