"""The ``cfa()`` entry point: data preparation, estimation, standard errors and checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import linalg

from ..syntax import parse_model
from .blas import single_threaded_blas
from .constraints import constrained_fit, linear_constraints
from .defined import compile_definitions
from .errors import DataError, ModelIdentificationError, NonPositiveDefiniteError
from .estimation import CompleteData, Objective, fisher_scoring, start_values
from .fiml import MissingData, observed_information
from .model import build_model
from .ordinal import ORDINAL_ESTIMATORS, check_ordinal_options, ordinal_cfa, split_thresholds
from .results import CFAResult
from .robust import check_estimator, robust_fit
from .structural import fix_covariates, fixed_moments

__all__ = ["cfa"]


def _numeric_block(frame: pd.DataFrame, observed: Sequence[str]) -> np.ndarray:
    absent = [v for v in observed if v not in frame.columns]
    if absent:
        raise DataError(f"variables named in the model are not in the data: {', '.join(absent)}")
    dtypes = frame.dtypes
    bad = [
        v
        for v in observed
        if not pd.api.types.is_numeric_dtype(dtypes[v]) or pd.api.types.is_bool_dtype(dtypes[v])
    ]
    if bad:
        raise DataError(f"variables must be numeric: {', '.join(bad)}")
    return frame.loc[:, list(observed)].to_numpy(dtype=float, na_value=np.nan)


def _complete_group(
    cov: np.ndarray, mean: np.ndarray, n: int, label: object, observed: Sequence[str]
) -> CompleteData:
    cov = 0.5 * (cov + cov.T)
    eig = np.linalg.eigvalsh(cov)
    if not np.all(np.isfinite(eig)) or eig[0] <= 1e-10 * max(eig[-1], 1e-300):
        where = "" if label is None else f" of group {label!r}"
        zero = [observed[i] for i in range(len(observed)) if cov[i, i] <= 0]
        hint = (
            f" (zero variance: {', '.join(zero)})"
            if zero
            else (" (linearly dependent items, or fewer rows than items)")
        )
        raise NonPositiveDefiniteError(
            f"the sample covariance matrix{where} is not positive definite{hint}"
        )
    sign, logdet = np.linalg.slogdet(cov)
    return CompleteData(n, cov, mean, float(logdet))


def _from_data(
    data: pd.DataFrame, observed: Sequence[str], group: str | None, missing: str
) -> tuple[list, list]:
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if group is not None:
        if group not in data.columns:
            raise DataError(f"group variable {group!r} is not in the data")
        keep = data[group].notna().to_numpy()
        data = data.loc[keep]
        labels = list(pd.unique(data[group]))
        codes = [data[group].to_numpy() == lab for lab in labels]
    else:
        labels = [None]
        codes = [np.ones(len(data), dtype=bool)]
    x_all = _numeric_block(data, observed)
    if np.isinf(x_all).any():
        raise DataError("the data contain infinite values")
    groups, rows = [], []
    p = len(observed)
    for label, sel in zip(labels, codes, strict=True):
        x = x_all[sel]
        if missing == "listwise":
            x = x[~np.isnan(x).any(axis=1)]
        else:
            x = x[~np.isnan(x).all(axis=1)]
        where = "" if label is None else f" in group {label!r}"
        if x.shape[0] < 2 or (missing == "listwise" and x.shape[0] <= p):
            raise DataError(
                f"too few rows{where}: {x.shape[0]} complete cases for {p} observed variables"
            )
        rows.append(x)
        if missing == "ml" and np.isnan(x).any():
            for j in range(p):
                if np.sum(~np.isnan(x[:, j])) < 2:
                    raise DataError(
                        f"variable {observed[j]!r} has fewer than two observed values{where}"
                    )
            groups.append(MissingData.from_array(x))
        else:
            mean = x.mean(axis=0)
            centred = x - mean
            groups.append(
                _complete_group(centred.T @ centred / x.shape[0], mean, x.shape[0], label, observed)
            )
    return groups, labels, rows


def _as_matrix(value, observed: Sequence[str], what: str) -> np.ndarray:
    if isinstance(value, pd.DataFrame):
        absent = [v for v in observed if v not in value.columns or v not in value.index]
        if absent:
            raise DataError(f"variables named in the model are not in {what}: {', '.join(absent)}")
        return value.loc[list(observed), list(observed)].to_numpy(dtype=float)
    arr = np.asarray(value, dtype=float)
    if arr.shape != (len(observed), len(observed)):
        raise DataError(
            f"{what} must be a labelled DataFrame or a {len(observed)} x "
            f"{len(observed)} array in the order of the model's variables"
        )
    return arr


def _as_vector(value, observed: Sequence[str], what: str) -> np.ndarray:
    if isinstance(value, pd.Series | Mapping):
        series = pd.Series(value)
        absent = [v for v in observed if v not in series.index]
        if absent:
            raise DataError(f"variables named in the model are not in {what}: {', '.join(absent)}")
        return series.loc[list(observed)].to_numpy(dtype=float)
    arr = np.asarray(value, dtype=float)
    if arr.shape != (len(observed),):
        raise DataError(f"{what} must have one value per observed variable")
    return arr


def _from_moments(sample_cov, sample_mean, nobs, observed: Sequence[str]) -> tuple[list, list]:
    if nobs is None:
        raise ValueError("nobs is required with sample_cov")
    if isinstance(sample_cov, Mapping):
        labels = list(sample_cov)
        covs = [sample_cov[k] for k in labels]
        ns = [nobs[k] for k in labels] if isinstance(nobs, Mapping) else list(nobs)
        means = (
            [sample_mean[k] for k in labels] if sample_mean is not None else [None] * len(labels)
        )
    else:
        labels, covs, ns, means = [None], [sample_cov], [nobs], [sample_mean]
    groups = []
    for label, cov, n, mean in zip(labels, covs, ns, means, strict=True):
        n = int(n)
        if n <= len(observed):
            raise DataError(f"too few observations: nobs = {n} for {len(observed)} variables")
        # lavaan's sample.cov.rescale: the input is taken to be unbiased (divisor N - 1).
        cov = _as_matrix(cov, observed, "sample_cov") * (n - 1) / n
        mu = (
            _as_vector(mean, observed, "sample_mean")
            if mean is not None
            else np.zeros(len(observed))
        )
        groups.append(_complete_group(cov, mu, n, label, observed))
    return groups, labels


def _inverse_or_none(info: np.ndarray) -> np.ndarray | None:
    """Inverse of an information matrix, or None when it is (numerically) singular."""
    d = np.sqrt(np.abs(np.diag(info)))
    if np.any(d == 0) or not np.all(np.isfinite(info)):
        return None
    scaled = info / np.outer(d, d)
    try:
        chol = linalg.cholesky(scaled, lower=True, check_finite=False)
    except linalg.LinAlgError:
        return None
    # The smallest pivot bounds the smallest eigenvalue of the correlation-scaled matrix.
    if float(np.min(np.diag(chol))) ** 2 < 1e-10:
        return None
    inv, status = linalg.lapack.dpotri(chol, lower=True)
    if status != 0:
        return None
    inv = np.tril(inv) + np.tril(inv, -1).T
    return inv / np.outer(d, d)


def _observed_information(objective: Objective, theta: np.ndarray) -> np.ndarray:
    """Hessian of F by central differences of the analytic gradient."""
    q = theta.size
    hess = np.empty((q, q))
    for k in range(q):
        h = 1e-5 * max(1.0, abs(theta[k]))
        up, down = theta.copy(), theta.copy()
        up[k] += h
        down[k] -= h
        g_up = objective.evaluate(up, information=False)[1]
        g_down = objective.evaluate(down, information=False)[1]
        hess[:, k] = (g_up - g_down) / (2.0 * h)
    return 0.5 * (hess + hess.T)


def cfa(
    model: str,
    data: pd.DataFrame | None = None,
    *,
    sample_cov=None,
    sample_mean=None,
    nobs=None,
    std_lv: bool = False,
    missing: str = "listwise",
    group: str | None = None,
    group_equal: Sequence[str] = (),
    group_partial: Sequence[str] = (),
    meanstructure: bool | None = None,
    estimator: str = "ML",
    ordered: bool | Sequence[str] | None = None,
    parameterization: str = "delta",
    orthogonal: bool = False,
) -> CFAResult:
    """Fit a confirmatory factor analysis by maximum likelihood, as lavaan's ``cfa()``.

    The ML discrepancy function (lavaan's ``likelihood = "normal"``, S with divisor N)

        F = 1/2 [log|Sigma(theta)| + tr(S Sigma(theta)^-1) - log|S| - p]

    is minimised by Fisher scoring (the model may hold structural regressions ``f2 ~ f1 + x``
    and defined parameters ``ind := a*b``: see :mod:`psychometrics.syntax`,
    :mod:`.structural` for observed covariates and :mod:`.defined`); standard errors come from
    the inverse of N times the expected information (with ``missing="ml"``, from the observed
    information, lavaan's default there); the chi-square is 2 N F_min. Identification follows
    lavaan's defaults: the first loading of each factor is fixed to 1, or with ``std_lv=True``
    the factor variances are fixed to 1.

    Parameters
    ----------
    model : str
        lavaan-style syntax (see :func:`psychometrics.syntax.parse_model`), including linear
        constraints between labels: ``a == 2*b``, ``a + b == 1``, ``a > 0``, ``a < b`` (with
        ``estimator="ML"``; see :mod:`psychometrics.cfa.constraints`; score tests for releasing
        equality constraints: :meth:`CFAResult.score_test`).
    data : DataFrame, optional
        One row per respondent; the model's observed variables must be numeric columns.
    sample_cov, sample_mean, nobs : optional
        Moments instead of raw data (the covariance matrix with divisor N - 1, as lavaan takes
        ``sample.cov``); a mapping group label -> matrix gives several groups.
    std_lv : bool
        Identify factors by fixing their variances to 1 instead of a marker loading.
    missing : {"listwise", "ml"}
        Drop incomplete rows, or use full-information ML (implies a mean structure).
    group : str, optional
        Column defining groups for a multi-group analysis (implies a mean structure).
    group_equal : sequence of str
        Parameters held equal across groups: "loadings", "regressions", "intercepts", "means",
        "residuals", "residual.covariances", "lv.variances", "lv.covariances".
    group_partial : sequence of str
        Parameters released from ``group_equal`` (lavaan's ``group.partial``), written as
        ``"visual =~ x3"``, ``"x7 ~ 1"`` or ``"x1 ~~ x2"``.
    meanstructure : bool, optional
        Model intercepts and factor means (default: only with groups or ``missing="ml"``).
    orthogonal : bool
        Fix the covariances between exogenous factors to 0 (lavaan's ``orthogonal = TRUE``);
        covariances written in the model stay as written.
    estimator : {"ML", "MLR", "MLM"}
        "ML" (default): normal-theory SEs and chi-square. "MLR": the same estimates with
        Huber-White (sandwich) SEs and the Yuan-Bentler (Mplus variant) scaled test, with
        complete data or ``missing="ml"``; "MLM": Satorra-Bentler SEs and scaled test, complete
        data only. Both need raw data and add lavaan's scaled and robust fit measures (see
        :mod:`psychometrics.cfa.robust`). "WLSMV", "WLSM", "ULSMV": ordered items (below).
    ordered : True or sequence of str, optional
        Treat the indicators as ordered categories (True: all; a list must name every observed
        variable of the model): the model is fitted to polychoric correlations and thresholds by
        DWLS ("WLSMV", the default with ``ordered``; "WLSM") or ULS ("ULSMV"), as lavaan with
        ``ordered=``; ``missing`` may then be "listwise" or "pairwise". Returns an
        :class:`~psychometrics.cfa.ordinal.OrdinalCFAResult` (see :mod:`.ordinal`; with
        ``group``, the configural model only: no ``group_equal``).
    parameterization : {"delta", "theta"}
        For ordered items: "delta" (lavaan's default; unit latent-response variances) or
        "theta" (unit residual variances).

    Returns
    -------
    CFAResult

    Raises
    ------
    ModelSyntaxError, ModelIdentificationError, NonPositiveDefiniteError, DataError
        All are ``ValueError`` subclasses with a plain message.

    References
    ----------
    Joreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor
    analysis. *Psychometrika, 34*, 183-202. https://doi.org/10.1007/BF02289343

    Rosseel, Y. (2012). lavaan: An R package for structural equation modeling. *Journal of
    Statistical Software, 48*(2). https://doi.org/10.18637/jss.v048.i02

    Examples
    --------
    >>> import numpy as np, pandas as pd
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(500, 1))
    >>> x = f @ np.array([[0.8, 0.7, 0.6, 0.5]]) + rng.normal(scale=0.6, size=(500, 4))
    >>> data = pd.DataFrame(x, columns=["a", "b", "c", "d"])
    >>> res = cfa("f =~ a + b + c + d", data)
    >>> res.converged, res.fit_measures()["df"]
    (True, 2)
    >>> res.estimates.query("op == '=~'")[["rhs", "est"]].round(2).to_numpy().tolist()
    [['a', 1.0], ['b', 1.0], ['c', 0.69], ['d', 0.73]]
    """
    ordinal_estimator = isinstance(estimator, str) and estimator.upper() in ORDINAL_ESTIMATORS
    if ordered or ordinal_estimator or (isinstance(model, str) and split_thresholds(model)[1]):
        if group_partial:
            raise ValueError("group_partial is supported with continuous indicators only")
        return _ordinal(
            model,
            data,
            sample_cov,
            ordered,
            estimator,
            std_lv,
            missing,
            group,
            group_equal,
            parameterization,
            orthogonal,
        )
    with single_threaded_blas():
        return _cfa(
            model,
            data,
            sample_cov=sample_cov,
            sample_mean=sample_mean,
            nobs=nobs,
            std_lv=std_lv,
            missing=missing,
            group=group,
            group_equal=group_equal,
            group_partial=group_partial,
            meanstructure=meanstructure,
            estimator=estimator,
            orthogonal=orthogonal,
        )


def _ordinal(
    model,
    data,
    sample_cov,
    ordered,
    estimator,
    std_lv,
    missing,
    group,
    group_equal,
    parameterization,
    orthogonal=False,
):
    """Ordered indicators: WLSMV (lavaan's default with ``ordered=``), WLSM or ULSMV."""
    est = estimator.upper() if isinstance(estimator, str) else estimator
    if est == "ML":  # the default: lavaan switches to WLSMV for ordered data
        est = "WLSMV"
    if est in ("MLR", "MLM") or est not in ORDINAL_ESTIMATORS:
        raise ValueError(
            f"estimator {estimator!r} is not supported with ordered items; use one of "
            f"{', '.join(ORDINAL_ESTIMATORS)}"
        )
    if not ordered and split_thresholds(model)[1]:
        ordered = list(split_thresholds(model)[1])  # the items with thresholds in the syntax
    if not ordered:
        raise ValueError(
            f"estimator {est!r} is for ordered items: pass ordered=True (all indicators) or "
            "the list of ordered items; for continuous indicators use one of ML, MLR, MLM"
        )
    check_ordinal_options(
        est,
        missing=missing,
        group=group,
        group_equal=tuple(group_equal) if not isinstance(group_equal, str) else (group_equal,),
        parameterization=parameterization,
        sample_cov=sample_cov,
        data=data,
    )
    with single_threaded_blas():
        return ordinal_cfa(
            model,
            data,
            ordered=ordered,
            estimator=est,
            std_lv=std_lv,
            missing=missing,
            parameterization=parameterization,
            group=group,
            orthogonal=orthogonal,
        )


def _cfa(
    model,
    data,
    *,
    sample_cov,
    sample_mean,
    nobs,
    std_lv,
    missing,
    group,
    group_equal,
    meanstructure,
    estimator="ML",
    group_partial=(),
    orthogonal=False,
) -> CFAResult:
    """Fit a model with continuous indicators by ML (or MLM/MLR): the steps of lavaan's
    ``lavaan()`` (lav_data -> lav_partable -> lav_model -> lav_optim -> lav_vcov -> lav_test):
    prepare the data groups, build the parameter table, compile the defined parameters and
    constraints, check identification, estimate from the start values, then the information,
    the standard errors and, for MLM/MLR, the robust corrections."""
    if missing not in ("listwise", "ml"):
        raise ValueError("missing must be 'listwise' or 'ml'")
    estimator = check_estimator(estimator, missing=missing, raw_data=data is not None)
    if isinstance(group_equal, str):
        group_equal = (group_equal,)
    group_equal = tuple(group_equal)
    parsed = parse_model(model)
    groups, labels, rows = _data_groups(
        parsed.observed, data, sample_cov, sample_mean, nobs, group, missing
    )
    meanstructure = _meanstructure(meanstructure, groups, data, sample_mean, missing)
    _check_group_options(group_equal, group_partial, len(groups))
    spec = build_model(
        parsed,
        n_groups=len(groups),
        std_lv=std_lv,
        meanstructure=meanstructure,
        group_equal=group_equal,
        group_partial=tuple([group_partial] if isinstance(group_partial, str) else group_partial),
        orthogonal=orthogonal,
    )
    fix_covariates(spec, groups)
    definitions = compile_definitions(parsed, spec)
    _check_fixed_x(spec, estimator, missing)
    lin = _linear_constraints(spec, parsed, estimator)
    moments = _identified_moments(spec, len(groups), meanstructure, lin)
    objective, estimate, null_basis, lin = _estimate(spec, groups, lin)
    warnings = _convergence_warnings(estimate)
    expected, information, info = _information(objective, estimate, groups, estimator)
    inverse = _inverse_information(spec, info, lin, null_basis, warnings)
    vcov = np.full((spec.n_free, spec.n_free), np.nan)
    if inverse is not None:
        vcov = 0.5 * (inverse + inverse.T) / objective.n
    robust = None
    if estimator != "ML" and inverse is not None:
        robust = robust_fit(
            estimator,
            objective,
            estimate.theta,
            rows,
            0.5 * (inverse + inverse.T),
            missing=missing,
            df=moments - spec.n_free,
        )
        vcov = robust.vcov
    result = CFAResult(
        model=model,
        spec=spec,
        objective=objective,
        estimate=estimate,
        vcov=vcov,
        expected_information=expected,
        information=information,
        group_labels=labels,
        group_var=group,
        std_lv=std_lv,
        missing=missing,
        warnings=warnings,
        estimator=estimator,
        robust=robust,
        definitions=definitions,
    )
    result.constraints = lin
    return result


def _data_groups(observed, data, sample_cov, sample_mean, nobs, group, missing):
    """The data groups (complete-data moments or FIML patterns), their labels and the raw rows
    (``None`` from moments), from ``data`` or from ``sample_cov``/``sample_mean``/``nobs``."""
    if data is not None:
        if sample_cov is not None:
            raise ValueError("give either data or sample_cov, not both")
        return _from_data(data, observed, group, missing)
    if sample_cov is not None:
        if missing == "ml":
            raise ValueError("missing='ml' needs raw data")
        groups, labels = _from_moments(sample_cov, sample_mean, nobs, observed)
        return groups, labels, None
    raise ValueError("give data or sample_cov (with nobs)")


def _meanstructure(meanstructure, groups, data, sample_mean, missing) -> bool:
    """Whether the model has a mean structure: by default with FIML or several groups, which
    both need one."""
    if meanstructure is False and (missing == "ml" or len(groups) > 1):
        raise ValueError("missing='ml' and multiple groups need a mean structure")
    if meanstructure is None:
        meanstructure = missing == "ml" or len(groups) > 1
    if meanstructure and data is None and sample_mean is None:
        raise ValueError("a mean structure needs sample_mean")
    return meanstructure


def _check_group_options(group_equal, group_partial, n_groups: int) -> None:
    """``group_equal`` needs two groups or more, ``group_partial`` needs ``group_equal``."""
    if group_equal and n_groups < 2:
        raise ValueError("group_equal needs a group variable with at least two groups")
    if group_partial and not group_equal:
        raise ValueError("group_partial releases group_equal constraints: give group_equal too")


def _check_fixed_x(spec, estimator: str, missing: str) -> None:
    """Refuse the robust estimators not implemented with fixed.x covariates."""
    if spec.fixed_x and (estimator == "MLM" or (estimator == "MLR" and missing == "ml")):
        raise ValueError(
            f"estimator {estimator!r}{' with missing=ml' if missing == 'ml' else ''} is not "
            "supported with observed covariates of regressions (fixed.x); use estimator='ML', "
            "MLR with complete data, or regressions among factors only"
        )


def _linear_constraints(spec, parsed, estimator: str):
    """The model's ``==``/``<``/``>`` constraints (see :mod:`.constraints`), ML only; ``None``
    without any."""
    lin = linear_constraints(spec, parsed.constraints) if parsed.constraints else None
    if lin is not None and estimator != "ML":
        raise ValueError(
            "constraints ('==', '<', '>') are supported with estimator 'ML' only, "
            f"not {estimator!r}"
        )
    return lin


def _identified_moments(spec, n_groups: int, meanstructure: bool, lin) -> int:
    """The number of free sample moments (without those of fixed.x covariates); refuses a
    model with more free parameters (net of equality constraints) than moments."""
    p = spec.p
    npar = spec.n_free - (lin.n_equal if lin is not None else 0)
    moments = n_groups * (p * (p + 1) // 2 + (p if meanstructure else 0))
    moments -= fixed_moments(spec)
    if moments - npar < 0:
        raise ModelIdentificationError(
            f"the model is not identified: {npar} free parameters but only {moments} "
            f"sample moments (df = {moments - npar})"
        )
    return moments


def _estimate(spec, groups, lin):
    """Minimise the ML discrepancy from the start values by Fisher scoring (on the constraint
    surface with constraints). Returns the objective, the estimate, the null-space basis K of
    the equality constraints (``None`` without) and the constraints at the solution."""
    covs = [g.h1_moments()[0] for g in groups]
    means = [g.h1_moments()[1] for g in groups]
    objective = Objective(spec, groups)
    start = start_values(spec, covs, means)
    null_basis = None
    if lin is not None:
        estimate, null_basis, lin = constrained_fit(objective, start, lin, fisher_scoring)
    else:
        estimate = fisher_scoring(objective, start)
    return objective, estimate, null_basis, lin


def _convergence_warnings(estimate) -> list[str]:
    """The warnings list of the result, with one for a fit that did not converge."""
    warnings: list[str] = []
    if not estimate.converged:
        warnings.append(
            f"the model did not converge: {estimate.message}; the estimates are not trustworthy"
        )
    return warnings


def _information(objective, estimate, groups, estimator: str):
    """The expected information at the estimate, which information the SEs use ("expected",
    or "observed" with FIML or MLR) and that matrix."""
    _, _, expected = objective.evaluate(estimate.theta)
    has_missing = any(isinstance(g, MissingData) for g in groups)
    # lavaan 0.6-14: MLR's bread is the observed information, also with complete data
    information = "observed" if has_missing or estimator == "MLR" else "expected"
    if information == "expected":
        return expected, information, expected
    if has_missing:  # FIML: the analytic Hessian (per pattern, see .fiml)
        return expected, information, observed_information(objective, estimate.theta)
    # complete-data MLR: differences of the analytic gradient
    return expected, information, _observed_information(objective, estimate.theta)


def _inverse_information(spec, info, lin, null_basis, warnings: list[str]):
    """The inverse of the information (per observation), on the constraint surface
    K (K' I K)^-1 K' with constraints (see :mod:`.constraints`); ``None`` without free
    parameters or when it is singular (then with a warning)."""
    if lin is not None:
        reduced = _inverse_or_none(null_basis.T @ info @ null_basis)
        inverse = None if reduced is None else null_basis @ reduced @ null_basis.T
    else:
        inverse = _inverse_or_none(info) if spec.n_free else None
    if spec.n_free and inverse is None:
        warnings.append(
            "the information matrix is singular: the model may be empirically "
            "under-identified, and standard errors could not be computed"
        )
    return inverse if spec.n_free else None
