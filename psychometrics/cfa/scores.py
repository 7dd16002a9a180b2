"""Factor scores of a fitted CFA, as lavaan 0.6-14's ``lavPredict(fit, method = ...)``.

With the matrices of the (single) group — loadings Lambda of the items on all latent variables
eta (first- and higher-order), eta = alpha + B eta + zeta, the factors' total covariance
Phi = (I - B)^-1 Psi (I - B)^-T and means kappa = (I - B)^-1 alpha, residual covariance Theta,
the implied Sigma and item means mu — the scores of observation y are

    regression (Thurstone, 1935; lavaan "regression"):
        eta = kappa + Phi Lambda' Sigma^-1 (y - mu)
    Bartlett (1937; lavaan "Bartlett"):
        eta = kappa + (Lambda' Theta^-1 Lambda)^-1 Lambda' Theta^-1 (y - mu)

Without a mean structure, mu is the sample mean of the data the model was fitted to and kappa = 0
(lavaan does the same), except that the sample means of exogenous covariates of regressions
(fixed.x) enter kappa = (I - B)^-1 alpha as their fixed means; observed variables of regressions
get no score column. References: Bartlett, M. S. (1937), The statistical conception of mental
factors, British Journal of Psychology, 28, 97-104, https://doi.org/10.1111/j.2044-8295.1937.tb00863.x;
Thurstone, L. L. (1935), The vectors of mind, University of Chicago Press.

>>> from psychometrics.cfa import cfa, factor_scores
>>> scores = factor_scores(cfa(model, data), data, method="bartlett")  # doctest: +SKIP
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["METHODS", "factor_scores"]

METHODS = ("regression", "bartlett")


def factor_scores(result, data: pd.DataFrame, method: str = "regression") -> pd.DataFrame:
    """Factor scores for every row of ``data`` (lavaan ``lavPredict(fit, method = ...)``).

    Parameters
    ----------
    result : CFAResult
        A fitted single-group, continuous-indicator CFA (:func:`psychometrics.cfa.cfa`).
    data : DataFrame
        Observations holding every observed variable of the model, without missing values
        (usually the data the model was fitted to; other data are scored with the fitted
        parameters and, without a mean structure, the fitted sample means).
    method : {"regression", "bartlett"}
        Regression (Thurstone) or Bartlett scores; case-insensitive.

    Returns
    -------
    DataFrame
        One column per latent variable (model order), indexed as ``data``.

    Raises
    ------
    ValueError
        Unknown method, multiple groups, missing variables or values, or a singular
        Theta / L' Theta^-1 L (e.g. Bartlett scores of a second-order model).
    """
    key = str(method).lower()
    if key not in METHODS:
        raise ValueError(f"method must be 'regression' or 'bartlett', not {method!r}")
    spec = result.spec
    if spec.n_groups != 1:
        raise ValueError("factor scores are available for single-group models only")
    if not isinstance(data, pd.DataFrame):
        raise ValueError("data must be a pandas DataFrame")
    observed = list(spec.observed)
    absent = [v for v in observed if v not in data.columns]
    if absent:
        raise ValueError(f"data lack the observed variable(s) {', '.join(map(repr, absent))}")
    try:
        y = data[observed].to_numpy(dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"the observed variables must be numeric: {exc}") from None
    if np.isnan(y).any():
        raise ValueError(
            "data have missing values in the observed variables; factor scores need complete rows"
        )
    mats = spec.implied(result.theta)[0]
    L = np.asarray(mats.lam)
    if spec.meanstructure:
        mu = np.asarray(mats.mu)
        kappa = np.asarray(mats.ib) @ np.asarray(mats.alpha)
    else:
        mu = np.asarray(result.objective.groups[0].h1_moments()[1])
        kappa = np.zeros(spec.m)
        if spec.fixed_x:  # as lavaan: the covariates' sample means carry through (I - B)^-1
            to_ov = {lv: ov for ov, lv in spec.phantoms}
            alpha = np.zeros(spec.m)
            alpha[list(spec.fixed_x)] = mu[[to_ov[lv] for lv in spec.fixed_x]]
            kappa = np.asarray(mats.ib) @ alpha
    centred = y - mu
    try:
        if key == "regression":
            weights = np.asarray(mats.phi) @ L.T @ np.linalg.inv(np.asarray(mats.sigma))
        else:
            theta_inv = np.linalg.inv(np.asarray(mats.theta))
            lt = L.T @ theta_inv
            weights = np.linalg.solve(lt @ L, lt)
    except np.linalg.LinAlgError:
        what = "Sigma" if key == "regression" else "Theta or L' Theta^-1 L"
        raise ValueError(
            f"{key} factor scores are not defined: {what} is singular"
            + (" (Bartlett scores need a first-order model)" if spec.has_beta else "")
        ) from None
    scores = kappa + centred @ weights.T
    # observed variables of regressions (phantom factors, see .model) are not scored
    keep = [j for j in range(spec.m) if j not in {lv for _, lv in spec.phantoms}]
    return pd.DataFrame(scores[:, keep], index=data.index, columns=[spec.latent[j] for j in keep])
