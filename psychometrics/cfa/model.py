"""Parameter table and model matrices of a (multi-group) CFA in LISREL "all-y" notation.

For group g, with factors eta = B eta + zeta (B holds loadings of factors on higher-order factors):

    Sigma = Lambda (I - B)^-1 Psi (I - B)^-T Lambda' + Theta
    mu    = nu + Lambda (I - B)^-1 alpha

The parameter table follows lavaan's defaults for ``cfa()`` (Rosseel, 2012,
https://doi.org/10.18637/jss.v048.i02): the first loading of each factor fixed to 1 (or, with
``std_lv``, all factor variances fixed to 1), free residual variances, free variances and
covariances of the exogenous factors, disturbance variances for factors that are indicators of
higher-order factors, and with a mean structure free intercepts and factor means fixed to 0.
Equality constraints (shared labels, ``group_equal``) are imposed by mapping the constrained rows
to one free parameter, so ``n_free`` is lavaan's ``npar``.

Regressions (``f3 ~ f1 + x``) are free entries of B, as in lavaan's ``sem()`` (which its
``cfa()`` follows): a regressed factor gets a disturbance variance, and only exogenous factors
covary by default. An observed variable in a regression that is not an indicator is a "phantom"
factor of its own (loading 1, residual variance 0; ``ModelSpec.phantoms``), so ``y ~ f`` and
``f ~ x`` are entries of B as well. The exogenous covariates among them (``fixed_x``; lavaan's
``fixed.x = TRUE``) have their variances, covariances (and means) fixed to the sample values by
:func:`psychometrics.cfa.structural.fix_covariates`; they are not free parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import sparse

from ..syntax import Modifier, ParsedModel
from .errors import ModelIdentificationError

__all__ = [
    "ALPHA",
    "BETA",
    "LAMBDA",
    "NU",
    "PSI",
    "THETA",
    "GROUP_EQUAL_TYPES",
    "Matrices",
    "ModelSpec",
    "build_model",
    "derivative_index",
    "derivative_vectors",
]

LAMBDA, BETA, THETA, PSI, NU, ALPHA = range(6)
GROUP_EQUAL_TYPES = (
    "loadings",
    "regressions",
    "intercepts",
    "means",
    "residuals",
    "residual.covariances",
    "lv.variances",
    "lv.covariances",
)


@dataclass(frozen=True)
class Matrices:
    """Model matrices of one group, and the implied moments derived from them."""

    lam: np.ndarray
    beta: np.ndarray | None
    theta: np.ndarray
    psi: np.ndarray
    nu: np.ndarray
    alpha: np.ndarray
    ib: np.ndarray  # (I - B)^-1
    phi: np.ndarray  # total factor covariance (I-B)^-1 Psi (I-B)^-T
    loadings: np.ndarray  # Lambda (I-B)^-1: total effects of factors on indicators
    sigma: np.ndarray
    mu: np.ndarray


@dataclass(frozen=True)
class ParameterTable:
    """One row per model parameter (per group); ``free`` is the parameter index or -1."""

    lhs: tuple[str, ...]
    op: tuple[str, ...]
    rhs: tuple[str, ...]
    group: np.ndarray
    label: tuple[str, ...]
    free: np.ndarray
    value: np.ndarray
    matrix: np.ndarray
    row: np.ndarray
    col: np.ndarray
    auto_fixed: np.ndarray  # identification constraints added automatically (markers, std_lv)
    user: np.ndarray

    def __len__(self) -> int:
        return len(self.lhs)


@dataclass(frozen=True)
class ModelSpec:
    observed: tuple[str, ...]
    latent: tuple[str, ...]
    exogenous: tuple[bool, ...]
    n_groups: int
    meanstructure: bool
    has_beta: bool
    table: ParameterTable
    n_free: int
    group_rows: tuple[tuple[np.ndarray, ...], ...]  # per group, the row indices of each matrix
    phantoms: tuple[tuple[int, int], ...] = ()  # (observed, latent) index of observed regressors
    fixed_x: tuple[int, ...] = ()  # latent indices of the exogenous covariates (fixed.x)

    def free_rows(self, group: int) -> np.ndarray:
        return np.flatnonzero((self.table.group == group) & (self.table.free >= 0))

    @property
    def p(self) -> int:
        return len(self.observed)

    @property
    def m(self) -> int:
        return len(self.latent)

    def row_values(self, theta: np.ndarray) -> np.ndarray:
        """Value of every table row for parameter vector(s) ``theta`` (shape (..., n_free))."""
        theta = np.asarray(theta)
        shape = theta.shape[:-1] + (len(self.table),)
        x = np.empty(shape, dtype=np.result_type(theta.dtype, float))
        x[...] = self.table.value
        free = self.table.free >= 0
        x[..., free] = theta[..., self.table.free[free]]
        return x

    def matrices(self, x: np.ndarray, group: int) -> Matrices:
        """Fill the matrices of ``group`` from row values ``x`` (leading batch axes allowed)."""
        t = self.table
        batch = x.shape[:-1]
        p, m = self.p, self.m
        dtype = x.dtype
        lam = np.zeros(batch + (p, m), dtype)
        theta = np.zeros(batch + (p, p), dtype)
        psi = np.zeros(batch + (m, m), dtype)
        nu = np.zeros(batch + (p,), dtype)
        alpha = np.zeros(batch + (m,), dtype)
        beta = np.zeros(batch + (m, m), dtype) if self.has_beta else None
        idx = self.group_rows[group]
        for code, target, sym in (
            (LAMBDA, lam, False),
            (BETA, beta, False),
            (THETA, theta, True),
            (PSI, psi, True),
        ):
            rows = idx[code]
            if rows.size == 0 or target is None:
                continue
            target[..., t.row[rows], t.col[rows]] = x[..., rows]
            if sym:
                target[..., t.col[rows], t.row[rows]] = x[..., rows]
        for code, target in ((NU, nu), (ALPHA, alpha)):
            rows = idx[code]
            if rows.size:
                target[..., t.row[rows]] = x[..., rows]
        for ov, lv in self.phantoms:
            lam[..., ov, lv] = 1.0
        if beta is not None:
            ib = np.linalg.inv(np.eye(m) - beta)
            loadings = lam @ ib
            phi = ib @ psi @ np.swapaxes(ib, -1, -2)
        else:
            ib = np.broadcast_to(np.eye(m), batch + (m, m))
            loadings = lam
            phi = psi
        sigma = loadings @ psi @ np.swapaxes(loadings, -1, -2) + theta
        mu = nu + (loadings @ alpha[..., None])[..., 0]
        return Matrices(lam, beta, theta, psi, nu, alpha, ib, phi, loadings, sigma, mu)

    def implied(self, theta: np.ndarray) -> list[Matrices]:
        x = self.row_values(theta)
        return [self.matrices(x, g) for g in range(self.n_groups)]


def derivative_vectors(
    mats: Matrices, matrix: np.ndarray, row: np.ndarray, col: np.ndarray, means: bool = True
) -> tuple:
    """Structure of the derivatives of (Sigma, mu) with respect to single matrix entries.

    For every entry k, dSigma/dk = s_k (u_k v_k' + v_k u_k') and dmu/dk = w_k. Returns the columns
    ``U``, ``V`` (p x K), ``s`` (K) and ``W`` (p x K). This rank-two structure makes the expected
    information cheap (see :mod:`psychometrics.cfa.information`).
    The columns are returned as sparse CSC matrices (most are unit vectors or columns of a
    simple-structure loading matrix), ``W`` is ``None`` without a mean structure.
    """
    p = mats.lam.shape[0]
    k = len(matrix)
    U = np.zeros((p, k))
    V = np.zeros((p, k))
    W = np.zeros((p, k))
    s = np.ones(k)
    lam_phi = mats.lam @ mats.phi
    eta_mean = mats.ib @ mats.alpha
    L = mats.loadings
    ar = np.arange(k)
    sel = matrix == LAMBDA
    if sel.any():
        i, j = row[sel], col[sel]
        U[i, ar[sel]] = 1.0
        V[:, sel] = lam_phi[:, j]
        W[i, ar[sel]] = eta_mean[j]
    sel = matrix == BETA
    if sel.any():
        r, c = row[sel], col[sel]
        U[:, sel] = L[:, r]
        V[:, sel] = lam_phi[:, c]
        W[:, sel] = L[:, r] * eta_mean[c]
    sel = matrix == THETA
    if sel.any():
        r, c = row[sel], col[sel]
        U[r, ar[sel]] = 1.0
        V[c, ar[sel]] = 1.0
        s[sel] = np.where(r == c, 0.5, 1.0)
    sel = matrix == PSI
    if sel.any():
        r, c = row[sel], col[sel]
        U[:, sel] = L[:, r]
        V[:, sel] = L[:, c]
        s[sel] = np.where(r == c, 0.5, 1.0)
    sel = matrix == NU
    if sel.any():
        W[row[sel], ar[sel]] = 1.0
    sel = matrix == ALPHA
    if sel.any():
        W[:, sel] = L[:, row[sel]]
    w_out = sparse.csc_matrix(W) if means else None
    return sparse.csc_matrix(U), sparse.csc_matrix(V), s, w_out


# --------------------------------------------------------------------------------------------
# Building the parameter table
# --------------------------------------------------------------------------------------------


def _pick(values: tuple | None, group: int, n_groups: int, what: str) -> Any:
    """The value of a modifier for ``group``: one value for all groups, or one per group
    (``c(...)``); ``_UNSET`` without the modifier."""
    if values is None:
        return _UNSET
    if len(values) == 1:
        return values[0]
    if len(values) != n_groups:
        raise ValueError(
            f"a c(...) modifier of {what} has {len(values)} values "
            f"but the data have {n_groups} groups"
        )
    return values[group]


_UNSET = object()


def _equal_type(matrix: int, row: int, col: int) -> str:
    """lavaan's ``group.equal`` type of a measurement-part entry of ``matrix``."""
    if matrix in (LAMBDA, BETA):
        return "loadings"
    if matrix == NU:
        return "intercepts"
    if matrix == ALPHA:
        return "means"
    if matrix == THETA:
        return "residuals" if row == col else "residual.covariances"
    return "lv.variances" if row == col else "lv.covariances"


def build_model(
    parsed: ParsedModel,
    *,
    n_groups: int = 1,
    std_lv: bool = False,
    meanstructure: bool = False,
    group_equal: tuple[str, ...] = (),
    group_partial: tuple[str, ...] = (),
    orthogonal: bool = False,
) -> ModelSpec:
    """Parameter table of a parsed model with lavaan's ``cfa()`` defaults.

    ``orthogonal`` (lavaan's ``orthogonal = TRUE``) fixes the default covariances between the
    exogenous factors to 0 instead of freeing them (covariances the model states stay as
    stated).

    ``group_partial`` (lavaan's ``group.partial``) names parameters, e.g. ``"visual =~ x3"`` or
    ``"x7 ~ 1"``, that are released from the ``group_equal`` constraints.

    The steps, in the order of lavaan's ``lav_partable_*`` functions: the model's variables
    (:func:`_variables`) and statement checks; per group the rows of the measurement part, the
    regressions, the user's (co)variances and intercepts, then the default rows: residual
    variances, factor variances (markers or ``std_lv``), covariances of the covariates and of
    the exogenous factors, and the mean structure; then the ``group.equal`` types, the
    ``group_partial`` check, the free parameter indices (equality constraints) and the
    single-indicator check. The row order is the table's order.
    """
    _check_group_equal(group_equal)
    v = _variables(parsed)
    _check_statements(parsed, v)
    rows = _Rows(n_groups)
    for g in range(n_groups):
        _measurement_rows(rows, v, g, std_lv)
        _regression_rows(rows, v, g)
        _user_covariance_rows(rows, parsed, v, g)
        _user_intercept_rows(rows, parsed, v, g)
        _residual_variance_rows(rows, v, g)
        _factor_variance_rows(rows, v, g, std_lv, group_equal)
        _covariate_covariance_rows(rows, v, g)
        _factor_covariance_rows(rows, v, g, orthogonal)
        if meanstructure:
            _mean_rows(rows, v, g, group_equal)
        elif v.user_mean:
            raise ValueError("'~ 1' statements need a mean structure (meanstructure=True)")
    _structural_equal_types(rows.rows, set(v.phantom_names))
    partial = parse_group_partial(group_partial)
    _check_group_partial(rows.rows, partial)
    free_index = _assign_free(rows.rows, n_groups, group_equal, partial)
    table = _parameter_table(rows.rows, free_index)
    spec = ModelSpec(
        tuple(v.observed),
        tuple(v.latent),
        tuple(v.exogenous),
        n_groups,
        meanstructure,
        bool(v.endogenous),
        table,
        int(free_index.max(initial=-1) + 1),
        _group_rows(table, n_groups),
        tuple((v.ov_index[name], v.lv_index[name]) for name in v.phantom_names),
        tuple(v.lv_index[name] for name in v.covariates),
    )
    _check_single_indicators(spec, parsed)
    return spec


def _check_group_equal(group_equal: tuple[str, ...]) -> None:
    """Refuse ``group_equal`` values that are not lavaan ``group.equal`` types we support."""
    unknown = sorted(set(group_equal) - set(GROUP_EQUAL_TYPES))
    if unknown:
        raise ValueError(
            f"unknown group_equal value(s) {unknown}; choose from {', '.join(GROUP_EQUAL_TYPES)}"
        )


@dataclass(frozen=True)
class _Variables:
    """The variables of a model and their roles, shared by the row-building steps.

    ``latent`` holds the factors followed by the phantom factors of the observed variables of
    regressions; ``exogenous[i]`` says whether ``latent[i]`` is neither an indicator of a
    higher-order factor nor regressed on anything; ``user_var`` and ``user_mean`` are the
    (sorted) pairs of the user's ``~~`` statements and the names of the user's ``~ 1``.
    """

    latent: list[str]
    observed: list[str]
    measured: list[Any]
    regressions: list[Any]
    phantom_names: list[str]
    covariates: list[str]
    lv_index: dict[str, int]
    ov_index: dict[str, int]
    endogenous: set[str]
    exogenous: list[bool]
    first_indicator: dict[str, str]
    user_var: set[tuple[str, str]]
    user_mean: set[str]


def _variables(parsed: ParsedModel) -> _Variables:
    """Factors (with phantoms), observed variables, their indices and roles in ``parsed``."""
    latent = list(parsed.latent)
    observed = list(parsed.observed)
    measured = [s for s in parsed.statements if s.op == "=~"]
    regressions = [s for s in parsed.statements if s.op == "~"]
    phantom_names, covariates = _regression_variables(parsed)
    latent += phantom_names
    lv_index = {name: i for i, name in enumerate(latent)}
    ov_index = {name: i for i, name in enumerate(observed)}
    endogenous = {s.rhs for s in measured if s.rhs in lv_index} | {s.lhs for s in regressions}
    first_indicator: dict[str, str] = {}
    for s in measured:
        first_indicator.setdefault(s.lhs, s.rhs)
    return _Variables(
        latent=latent,
        observed=observed,
        measured=measured,
        regressions=regressions,
        phantom_names=phantom_names,
        covariates=covariates,
        lv_index=lv_index,
        ov_index=ov_index,
        endogenous=endogenous,
        exogenous=[name not in endogenous for name in latent],
        first_indicator=first_indicator,
        user_var={
            (min(s.lhs, s.rhs), max(s.lhs, s.rhs)) for s in parsed.statements if s.op == "~~"
        },
        user_mean={s.lhs for s in parsed.statements if s.op == "~1"},
    )


def _check_statements(parsed: ParsedModel, v: _Variables) -> None:
    """Refuse ``~~`` between a factor and an observed variable, and ``~~``/``~ 1`` of an
    observed variable that is neither an indicator nor in a regression."""
    indicators = {m.rhs for m in v.measured}

    def check_indicator(name: str) -> None:
        if name in v.ov_index and name not in indicators:
            raise ModelIdentificationError(
                f"observed variable {name!r} is not an indicator of any factor"
            )

    for s in parsed.statements:
        if s.op == "~~" and (s.lhs in v.lv_index) != (s.rhs in v.lv_index):
            raise ModelIdentificationError(
                f"'{s.lhs} ~~ {s.rhs}' mixes a factor and an observed variable; "
                "covariances must be between two factors or two observed variables"
            )
        if s.op == "~~" and not (s.lhs in v.ov_index and s.lhs in v.lv_index):
            check_indicator(s.lhs)
            check_indicator(s.rhs)
        if s.op == "~1" and s.lhs not in v.lv_index:
            check_indicator(s.lhs)


class _Rows:
    """The parameter-table rows under construction (dicts, in table order)."""

    def __init__(self, n_groups: int) -> None:
        self.n_groups = n_groups
        self.rows: list[dict[str, Any]] = []

    def add(
        self,
        lhs: str,
        op: str,
        rhs: str,
        g: int,
        matrix: int,
        r: int,
        c: int,
        mod: Modifier | None,
        default_fixed: float | None,
        auto_fixed: bool,
        user: bool,
        start: float = np.nan,
    ) -> None:
        """Append one row of group ``g``.

        A fixed value of the modifier ``mod`` (``0.5*x1``, ``c(1, NA)*x1`` per group) overrides
        ``default_fixed`` (``None``: free by default) and is then not an automatic
        identification constraint; a free row starts at the modifier's ``start(...)`` value, or
        at ``start`` (NaN: computed by :func:`~psychometrics.cfa.estimation.start_values`).
        """
        what = f"{lhs} {op} {rhs}"
        fixed = _pick(mod.fixed, g, self.n_groups, what) if mod else _UNSET
        label = _pick(mod.label, g, self.n_groups, what) if mod else _UNSET
        ustart = _pick(mod.start, g, self.n_groups, what) if mod else _UNSET
        if fixed is _UNSET:
            is_fixed, value = default_fixed is not None, default_fixed
        else:
            is_fixed, value, auto_fixed = fixed is not None, fixed, False
        if not is_fixed:
            value = start if ustart is _UNSET or ustart is None else ustart
        self.rows.append(
            dict(
                lhs=lhs,
                op=op,
                rhs=rhs,
                group=g,
                label="" if label is _UNSET or label is None else label,
                fixed=is_fixed,
                value=np.nan if value is None else float(value),
                matrix=matrix,
                row=r,
                col=c,
                auto_fixed=auto_fixed and is_fixed,
                user=user,
            )
        )


def _measurement_rows(rows: _Rows, v: _Variables, g: int, std_lv: bool) -> None:
    """``f =~ x`` loadings (Lambda; B for a factor of a higher-order factor); without
    ``std_lv`` the first indicator of each factor is its marker, fixed to 1."""
    for s in v.measured:
        marker = not std_lv and v.first_indicator[s.lhs] == s.rhs
        if s.rhs in v.lv_index:
            matrix, r = BETA, v.lv_index[s.rhs]
        else:
            matrix, r = LAMBDA, v.ov_index[s.rhs]
        rows.add(
            s.lhs,
            "=~",
            s.rhs,
            g,
            matrix,
            r,
            v.lv_index[s.lhs],
            s.modifier,
            1.0 if marker else None,
            marker,
            True,
        )


def _regression_rows(rows: _Rows, v: _Variables, g: int) -> None:
    """``y ~ x`` regression coefficients, free entries B[y, x]."""
    for s in v.regressions:
        rows.add(
            s.lhs,
            "~",
            s.rhs,
            g,
            BETA,
            v.lv_index[s.lhs],
            v.lv_index[s.rhs],
            s.modifier,
            None,
            False,
            True,
        )


def _user_covariance_rows(rows: _Rows, parsed: ParsedModel, v: _Variables, g: int) -> None:
    """The user's ``~~`` statements: Psi between factors, Theta between observed variables
    (lower triangle)."""
    for s in parsed.statements:
        if s.op != "~~":
            continue
        if s.lhs in v.lv_index:
            r, c = sorted((v.lv_index[s.lhs], v.lv_index[s.rhs]), reverse=True)
            rows.add(s.lhs, "~~", s.rhs, g, PSI, r, c, s.modifier, None, False, True)
        else:
            r, c = sorted((v.ov_index[s.lhs], v.ov_index[s.rhs]), reverse=True)
            rows.add(s.lhs, "~~", s.rhs, g, THETA, r, c, s.modifier, None, False, True)


def _user_intercept_rows(rows: _Rows, parsed: ParsedModel, v: _Variables, g: int) -> None:
    """The user's ``~ 1`` statements: alpha for factors (and phantoms), nu for indicators."""
    for s in parsed.statements:
        if s.op != "~1":
            continue
        if s.lhs in v.lv_index:
            rows.add(s.lhs, "~1", "", g, ALPHA, v.lv_index[s.lhs], 0, s.modifier, None, False, True)
        else:
            rows.add(s.lhs, "~1", "", g, NU, v.ov_index[s.lhs], 0, s.modifier, None, False, True)


def _residual_variance_rows(rows: _Rows, v: _Variables, g: int) -> None:
    """Free residual variances of the observed variables not given by the user (Theta; Psi for
    an observed outcome of a regression); none for the covariates (fixed.x)."""
    for name in v.observed:
        if (name, name) in v.user_var or name in v.covariates:
            continue
        if name in v.lv_index:  # an observed outcome: its residual variance, in Psi
            matrix, i = PSI, v.lv_index[name]
        else:
            matrix, i = THETA, v.ov_index[name]
        rows.add(name, "~~", name, g, matrix, i, i, None, None, False, False)


def _factor_variance_rows(
    rows: _Rows, v: _Variables, g: int, std_lv: bool, group_equal: tuple[str, ...]
) -> None:
    """(Disturbance) variances of the factors, free, or fixed to 1 with ``std_lv``, and of
    the covariates (NaN here, fixed to the sample values by ``fix_covariates``)."""
    # With std_lv and equal loadings, lavaan frees the factor variances of groups 2, 3, ...
    fix_var = std_lv and not (
        g > 0 and "loadings" in group_equal and "lv.variances" not in group_equal
    )
    for name in v.latent:
        if (name, name) in v.user_var or (name in v.ov_index and name not in v.covariates):
            continue
        phantom = name in v.ov_index
        if name in v.covariates:
            default: float | None = np.nan
        elif phantom:
            default = None
        else:
            default = 1.0 if fix_var else None
        rows.add(
            name,
            "~~",
            name,
            g,
            PSI,
            v.lv_index[name],
            v.lv_index[name],
            None,
            default,
            fix_var and not phantom,
            False,
        )


def _covariate_covariance_rows(rows: _Rows, v: _Variables, g: int) -> None:
    """fixed.x: the covariances of the exogenous covariates (fixed to the sample values)."""
    cov = v.covariates
    for a in range(len(cov)):
        for b in range(a + 1, len(cov)):
            if (min(cov[a], cov[b]), max(cov[a], cov[b])) in v.user_var:
                continue
            i, j = v.lv_index[cov[a]], v.lv_index[cov[b]]
            rows.add(cov[a], "~~", cov[b], g, PSI, max(i, j), min(i, j), None, np.nan, False, False)


def _factor_covariance_rows(rows: _Rows, v: _Variables, g: int, orthogonal: bool) -> None:
    """Covariances between the exogenous factors (lavaan's ``auto.cov.lv.x``): free, or fixed
    to 0 with ``orthogonal``."""
    exo = [
        name for name, e in zip(v.latent, v.exogenous, strict=True) if e and name not in v.ov_index
    ]
    for a in range(len(exo)):
        for b in range(a + 1, len(exo)):
            if (min(exo[a], exo[b]), max(exo[a], exo[b])) in v.user_var:
                continue
            rows.add(
                exo[a],
                "~~",
                exo[b],
                g,
                PSI,
                v.lv_index[exo[b]],
                v.lv_index[exo[a]],
                None,
                0.0 if orthogonal else None,
                False,
                False,
            )


def _mean_rows(rows: _Rows, v: _Variables, g: int, group_equal: tuple[str, ...]) -> None:
    """The mean structure: free intercepts of the observed variables (alpha for an observed
    outcome), factor means fixed to 0 (free in groups 2, 3, ... with equal intercepts), free
    means of phantom outcomes and the covariates' means (NaN, fixed to the sample means)."""
    for name in v.observed:
        if name in v.user_mean or name in v.covariates:
            continue
        if name in v.lv_index:  # an observed outcome: its intercept, in alpha
            rows.add(name, "~1", "", g, ALPHA, v.lv_index[name], 0, None, None, False, False)
        else:
            rows.add(name, "~1", "", g, NU, v.ov_index[name], 0, None, None, False, False)
    free_means = g > 0 and "intercepts" in group_equal and "means" not in group_equal
    # As lavaan: with equal intercepts every factor mean is free in groups 2, 3, ...
    # (with higher-order factors this is not identified and the SEs warn so).
    for name in v.latent:
        if name in v.user_mean or (name in v.ov_index and name not in v.covariates):
            continue
        if name in v.covariates:
            default: float | None = np.nan
        elif free_means or name in v.ov_index:
            default = None
        else:
            default = 0.0
        rows.add(name, "~1", "", g, ALPHA, v.lv_index[name], 0, None, default, False, False)


def _check_group_partial(
    rows: list[dict[str, Any]], partial: frozenset[tuple[str, str, str]]
) -> None:
    """Refuse ``group_partial`` entries that name no row of the table."""
    present = {(r["lhs"], r["op"], r["rhs"]) for r in rows}
    absent = sorted(
        f"{lhs} {op} {rhs}".replace("~1 ", "~ 1")
        for lhs, op, rhs in partial
        if (lhs, op, rhs) not in present and (rhs, op, lhs) not in present
    )
    if absent:
        raise ValueError(f"group_partial names parameters not in the model: {', '.join(absent)}")


def _parameter_table(rows: list[dict[str, Any]], free_index: np.ndarray) -> ParameterTable:
    """The rows as a :class:`ParameterTable` (columns), with their free indices."""
    return ParameterTable(
        lhs=tuple(r["lhs"] for r in rows),
        op=tuple(r["op"] for r in rows),
        rhs=tuple(r["rhs"] for r in rows),
        group=np.array([r["group"] for r in rows]),
        label=tuple(r["label"] for r in rows),
        free=free_index,
        value=np.array([r["value"] for r in rows], dtype=float),
        matrix=np.array([r["matrix"] for r in rows]),
        row=np.array([r["row"] for r in rows]),
        col=np.array([r["col"] for r in rows]),
        auto_fixed=np.array([r["auto_fixed"] for r in rows], dtype=bool),
        user=np.array([r["user"] for r in rows], dtype=bool),
    )


def _group_rows(table: ParameterTable, n_groups: int) -> tuple[tuple[np.ndarray, ...], ...]:
    """Per group, the row indices of each of the six matrices (``ModelSpec.group_rows``)."""
    return tuple(
        tuple(np.flatnonzero((table.group == g) & (table.matrix == code)) for code in range(6))
        for g in range(n_groups)
    )


def _structural_equal_types(rows: list[dict[str, Any]], phantoms: set[str]) -> None:
    """lavaan's ``group.equal`` types of the structural rows: "regressions" for '~', and for an
    observed variable of a regression (held in Psi/alpha) "residuals", "residual.covariances"
    and "intercepts" as for any observed variable."""
    for r in rows:
        if r["op"] == "~":
            r["equal_type"] = "regressions"
        elif r["lhs"] in phantoms and r["op"] == "~1":
            r["equal_type"] = "intercepts"
        elif r["lhs"] in phantoms and r["op"] == "~~" and r["rhs"] in phantoms:
            r["equal_type"] = "residuals" if r["lhs"] == r["rhs"] else "residual.covariances"


def _regression_variables(parsed: ParsedModel) -> tuple[list[str], list[str]]:
    """Observed variables of the regressions (phantom factors) and, among them, the exogenous
    covariates (never regressed on anything), in the order of the model's observed variables."""
    regressions = [s for s in parsed.statements if s.op == "~"]
    if not regressions:
        return [], []
    latent = set(parsed.latent)
    indicators = {s.rhs for s in parsed.statements if s.op == "=~"} - latent
    names = {s.lhs for s in regressions} | {s.rhs for s in regressions}
    for s in regressions:
        for name in (s.lhs, s.rhs):
            if name in indicators:
                raise ModelIdentificationError(
                    f"'{s.lhs} ~ {s.rhs}': {name!r} is an indicator of a factor; regressions "
                    "are supported between factors and observed variables that are not "
                    "indicators (write a cross-loading with '=~')"
                )
    phantoms = [name for name in parsed.observed if name in names]
    outcomes = {s.lhs for s in regressions}
    covariates = [name for name in phantoms if name not in outcomes]
    return phantoms, covariates


def parse_group_partial(items) -> frozenset[tuple[str, str, str]]:
    """``("visual =~ x3", "x7 ~ 1", "x1 ~~ x2")`` as a set of (lhs, op, rhs); ``~~`` both ways."""
    if isinstance(items, str):
        items = [items]
    out: set[tuple[str, str, str]] = set()
    for item in items:
        text = "".join(str(item).split())
        for op in ("=~", "~~", "~"):
            lhs, found, rhs = text.partition(op)
            if found:
                break
        if not found or not lhs or not rhs:
            raise ValueError(
                f"group_partial entry {item!r} is not a parameter; write e.g. 'visual=~x3', "
                "'x1~~x2', 'x7~1' or 'speed~visual'"
            )
        if op == "~" and rhs == "1":
            out.add((lhs, "~1", ""))
        elif op == "~":
            out.add((lhs, "~", rhs))
        else:
            out.add((lhs, op, rhs))
            if op == "~~":
                out.add((rhs, op, lhs))
    return frozenset(out)


def _assign_free(
    rows: list[dict[str, Any]],
    n_groups: int,
    group_equal: tuple[str, ...],
    partial: frozenset[tuple[str, str, str]] = frozenset(),
) -> np.ndarray:
    """Free parameter index of every row (-1: fixed). Rows with the same label, and with
    several groups the rows of a ``group_equal`` type not released by ``partial``, share one
    index; a set with a fixed member is fixed at that member's value (the rows are updated)."""
    keys: list[Any] = []
    for i, r in enumerate(rows):
        if r["label"]:
            keys.append(("label", r["label"]))
        elif (
            n_groups > 1
            and (r.get("equal_type") or _equal_type(r["matrix"], r["row"], r["col"])) in group_equal
            and (r["lhs"], r["op"], r["rhs"]) not in partial
        ):
            keys.append(("equal", r["lhs"], r["op"], r["rhs"]))
        else:
            keys.append(("row", i))
    # A constraint set with a fixed member is fixed at that value.
    fixed_value: dict[Any, float] = {}
    for key, r in zip(keys, rows, strict=True):
        if r["fixed"] and key not in fixed_value:
            fixed_value[key] = r["value"]
    free = np.full(len(rows), -1)
    index: dict[Any, int] = {}
    for i, (key, r) in enumerate(zip(keys, rows, strict=True)):
        if key in fixed_value:
            r["fixed"] = True
            r["value"] = fixed_value[key]
            continue
        if key not in index:
            index[key] = len(index)
        free[i] = index[key]
    return free


def _check_single_indicators(spec: ModelSpec, parsed: ParsedModel) -> None:
    """Refuse a factor with a single indicator whose residual variance is free."""
    t = spec.table
    for name in spec.latent:
        indicators = parsed.indicators(name)
        if len(indicators) != 1:
            continue
        only = indicators[0]
        var_rows = [
            i for i in range(len(t)) if t.op[i] == "~~" and t.lhs[i] == only and t.rhs[i] == only
        ]
        if any(t.free[i] >= 0 for i in var_rows):
            raise ModelIdentificationError(
                f"factor {name!r} has a single indicator ({only!r}) and is not identified; fix "
                f"the indicator's residual variance (e.g. '{only} ~~ 0*{only}') or add indicators"
            )


def derivative_index(
    mats: Matrices, matrix: np.ndarray, row: np.ndarray, col: np.ndarray, means: bool = True
):
    """:func:`derivative_vectors` as column indices into the basis [I_p | Lambda Phi | L].

    L = Lambda (I - B)^-1. Returns an :class:`~psychometrics.cfa.information.Indexed`.
    """
    from .information import Indexed

    p, m = mats.lam.shape
    lam_phi, total = p, p + m  # offsets of the Lambda Phi and L blocks
    basis = np.concatenate([np.eye(p), mats.lam @ mats.phi, mats.loadings], axis=1)
    k = len(matrix)
    a = np.zeros(k, dtype=np.intp)
    b = np.zeros(k, dtype=np.intp)
    w = np.zeros(k, dtype=np.intp)
    s = np.ones(k)
    c = np.zeros(k)
    eta_mean = mats.ib @ mats.alpha
    sel = matrix == LAMBDA
    a[sel], b[sel], w[sel] = row[sel], lam_phi + col[sel], row[sel]
    c[sel] = eta_mean[col[sel]]
    sel = matrix == BETA
    a[sel], b[sel], w[sel] = total + row[sel], lam_phi + col[sel], total + row[sel]
    c[sel] = eta_mean[col[sel]]
    sel = matrix == THETA
    a[sel], b[sel] = row[sel], col[sel]
    s[sel] = np.where(row[sel] == col[sel], 0.5, 1.0)
    sel = matrix == PSI
    a[sel], b[sel] = total + row[sel], total + col[sel]
    s[sel] = np.where(row[sel] == col[sel], 0.5, 1.0)
    sel = matrix == NU
    s[sel] = 0.0
    w[sel], c[sel] = row[sel], 1.0
    sel = matrix == ALPHA
    s[sel] = 0.0
    w[sel], c[sel] = total + row[sel], 1.0
    return Indexed(basis, a, b, s, w, c if means else None)
