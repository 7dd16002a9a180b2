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

from .errors import DataError
from .estimation import CompleteData
from .model import ALPHA, PSI, ModelSpec

__all__ = [
    "baseline_loglik",
    "covariate_indices",
    "covariate_loglik",
    "fix_covariates",
    "fixed_moments",
    "moment_indices",
]


def covariate_indices(spec: ModelSpec) -> np.ndarray:
    """Observed-variable indices of the exogenous covariates."""
    to_ov = {lv: ov for ov, lv in spec.phantoms}
    return np.array([to_ov[lv] for lv in spec.fixed_x], dtype=int)


def _moments(group, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sample covariance matrix (divisor N) and means of the covariates ``x`` of one group.

    With missing data (FIML) the covariates must be complete; their moments are then the
    sample moments of all rows (which are also the EM estimates of that block)."""
    if isinstance(group, CompleteData):
        return group.cov[np.ix_(x, x)], group.mean[x]
    if not group._mask[:, x].all():
        raise DataError(
            "observed covariates of regressions (fixed.x) must have no missing values with "
            "missing='ml'; drop the incomplete rows or model the covariate as an outcome"
        )
    rows = group._x[:, x]
    mean = rows.mean(axis=0)
    centred = rows - mean
    return centred.T @ centred / rows.shape[0], mean


def fix_covariates(spec: ModelSpec, groups: list) -> None:
    """Set the fixed rows of the covariates to each group's sample moments (in place)."""
    if not spec.fixed_x:
        return
    x = covariate_indices(spec)
    moments = [_moments(g, x) for g in groups]
    t = spec.table
    position = {lv: k for k, lv in enumerate(spec.fixed_x)}
    for i in range(len(t)):
        if t.free[i] >= 0:
            continue
        cov, mean = moments[t.group[i]]
        if t.matrix[i] == PSI and t.row[i] in position and t.col[i] in position:
            t.value[i] = cov[position[t.row[i]], position[t.col[i]]]
        elif t.matrix[i] == ALPHA and t.row[i] in position:
            t.value[i] = mean[position[t.row[i]]]


def moment_indices(spec: ModelSpec) -> np.ndarray:
    """Positions of the covariates' moments in (mu, vech Sigma) (column-major vech, mu first
    with a mean structure)."""
    p = spec.p
    x = covariate_indices(spec)
    rows, cols = np.tril_indices(p)
    order = np.lexsort((rows, cols))
    rows, cols = rows[order], cols[order]
    offset = p if spec.meanstructure else 0
    cov = offset + np.flatnonzero(np.isin(rows, x) & np.isin(cols, x))
    return np.concatenate([x, cov]) if spec.meanstructure else cov


def fixed_moments(spec: ModelSpec) -> int:
    """Sample moments of the covariates (all groups), fitted exactly and not counted."""
    k = len(spec.fixed_x)
    return spec.n_groups * (k * (k + 1) // 2 + (k if spec.meanstructure else 0))


def baseline_loglik(group, x: np.ndarray) -> float:
    """Log-likelihood of the independence model that keeps the covariates' covariances.

    With FIML (complete covariates) the independence model's log-likelihood is a sum over
    variables; the covariates' univariate terms are replaced by their joint one."""
    if isinstance(group, CompleteData):
        sigma0 = np.diag(np.diag(group.cov))
        sigma0[np.ix_(x, x)] = group.cov[np.ix_(x, x)]
        return group.loglik(sigma0, group.mean)
    cov, _ = _moments(group, x)
    univariate = -0.5 * group.n * (np.log(2.0 * np.pi) + np.log(np.diag(cov)) + 1.0)
    return group.baseline_loglik() - float(univariate.sum()) + covariate_loglik(group, x)


def covariate_loglik(group, x: np.ndarray) -> float:
    """The covariates' marginal log-likelihood at their sample moments."""
    k = x.size
    logdet = float(np.linalg.slogdet(_moments(group, x)[0])[1])
    return -0.5 * group.n * (k * np.log(2.0 * np.pi) + logdet + k)
