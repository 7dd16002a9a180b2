"""Measurement invariance of ordered items by WLSMV: the Wu & Estabrook (2016) ladder.

The latent responses y* of group g follow y* = nu + Lambda eta + eps with E(eta) = alpha,
Var(eta) = Psi. In lavaan's delta parameterisation the scaling factors Delta_j = 1 /
sd(y*_j) are parameters (``y ~*~ y``), the residual variances are derived,
theta_jj = Delta_j^-2 - (Lambda Psi Lambda')_jj, and the model-implied statistics are

    tau*_jk = Delta_j (tau_jk - nu_j - (Lambda alpha)_j),
    rho_ij = Delta_i Delta_j (Lambda Psi Lambda' + Theta)_ij   (i != j),

In the theta parameterisation the residual variances theta_jj are the parameters and the
scaling factors are derived, Delta_j = ((Lambda Psi Lambda')_jj + theta_jj)^-1/2, in the
same formulas. Either is fitted to the sample thresholds and polychoric correlations s_g of
each group (or, longitudinally, of the one group of all waves' items) by minimising
sum_g (N_g - 1) (s_g - sigma_g)' W_g (s_g - sigma_g), W_g = diag(Gamma_g)^-1 (DWLS), with
Gauss-Newton. The Jacobian Delta_g = d sigma_g / d x' is exact (complex step).

Standard errors (lavaan's ``robust.sem``): with f_g = N_g / N, E = sum_g f_g Delta_g' W_g
Delta_g, acov = E^-1 (sum_g f_g Delta_g' W_g Gamma_g W_g Delta_g) E^-1 / (N - G).
Test (``scaled.shifted``, Asparouhov & Muthen 2010): T = sum_g (N_g - 1) F_g; with V =
bdiag(f_g W_g), Gamma_all = bdiag(Gamma_g / f_g), U = V - V Delta E^-1 Delta' V:
a = sqrt(df / tr((U Gamma_all)^2)), T_ss = a T + df - a tr(U Gamma_all) (lavaan 0.6-14's
global traces). The baseline is the independence model with free thresholds per group.

Levels, as ``semTools::measEq.syntax(ID.fac = "std.lv", ID.cat = "Wu.Estabrook.2016",
parameterization = ...)`` writes them (Wu & Estabrook, 2016); across waves
(``longFacNames``, ``long.equal``) the first wave plays the part of the first group, and each
item's residuals are correlated across every pair of waves (``auto = "all"``):

- ``configural``: every loading, threshold and factor covariance free per group; factor
  variances 1, factor means 0, intercepts 0, scaling factors (delta) or residual variances
  (theta) 1 in every group;
- ``thresholds``: thresholds equal across groups; intercepts and scaling factors (delta) or
  residual variances (theta) free in the groups after the first;
- ``metric``: also loadings equal; factor variances free after the first group;
- ``scalar``: also intercepts equal (0); factor means free after the first group;
- ``strict`` (theta only): also residual variances equal (1, as in the first group).

Strict invariance is not a model of the delta parameterisation (semTools refuses it too).

Difference tests (lavaan's ``lavTestLRT`` default for ``scaled.shifted``: ``satorra.2000``,
Satorra, 2000): with Delta_1 and Delta_0 the stacked Jacobians of the less and the more
restricted model at their own estimates, H = Delta_1^+ Delta_0, A' an orthonormal basis of the
orthogonal complement of H, P = E_1, M = P^-1 A' (A P^-1 A')^+ A P^-1; tr_1 = sum_g f_g
tr(W_g Gamma_g W_g Delta_1g M Delta_1g'), tr_2 = tr((U_M Gamma_f)^2) with U_M = W Delta_1 M
Delta_1' W, W = bdiag(W_g), Gamma_f = bdiag(f_g Gamma_g); m = df_0 - df_1, a = sqrt(m / tr_2),
b = m - a tr_1, T_d = a (T_0 - T_1) + b ~ chi2(m).

References
----------
Wu, H., & Estabrook, R. (2016). Identification of confirmatory factor analysis models of
different levels of invariance for ordered categorical outcomes. *Psychometrika, 81*(4),
1014-1045. https://doi.org/10.1007/s11336-016-9506-0

Satorra, A. (2000). Scaled and adjusted restricted tests in multi-sample analysis of moment
structures. In R. D. H. Heijmans, D. S. G. Pollock, & A. Satorra (Eds.), *Innovations in
multivariate statistical analysis* (pp. 233-247). Kluwer.
https://doi.org/10.1007/978-1-4615-4603-0_17
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import linalg, stats

from ..polychoric import PolychoricResult, polychoric, two_step_gamma
from ..syntax import ModelSyntaxError, parse_model
from .blas import single_threaded_blas
from .errors import DataError
from .ordinal import _clean, _measures, gauss_newton, split_thresholds

__all__ = [
    "ORDINAL_LEVELS",
    "OrdinalInvarianceFit",
    "ScaledDifference",
    "ordinal_invariance",
    "satorra2000",
]

ORDINAL_LEVELS = ("configural", "thresholds", "metric", "scalar")
THETA_LEVELS = (*ORDINAL_LEVELS, "strict")  # strict: theta parameterisation only
_STEPS = {
    "configural": frozenset(),
    "thresholds": frozenset({"thresholds"}),
    "metric": frozenset({"thresholds", "loadings"}),
    "scalar": frozenset({"thresholds", "loadings", "intercepts"}),
    "strict": frozenset({"thresholds", "loadings", "intercepts", "residuals"}),
}
ESTIMATORS = ("WLSMV",)


@dataclass
class _Structure:
    """The measurement model shared by all groups (plain syntax only)."""

    items: list[str]
    factors: list[str]
    loadings: list[tuple[int, int]]  # (item, factor)
    resid_cov: list[tuple[int, int]]  # (item i, item j), i > j
    n_thresholds: list[int]

    @classmethod
    def from_syntax(cls, model: str, n_thresholds: dict[str, int]):
        stripped, _declared = split_thresholds(model)
        parsed = parse_model(stripped)
        items = list(parsed.observed)
        factors = list(parsed.latent)
        index = {v: k for k, v in enumerate(items)}
        fidx = {v: k for k, v in enumerate(factors)}
        loadings, resid = [], []
        for s in parsed.statements:
            mod = s.modifier
            if mod.fixed is not None or mod.label is not None:
                raise ModelSyntaxError(
                    "ordinal invariance takes plain syntax ('f =~ y1 + y2', 'y1 ~~ y2'): the "
                    "ladder writes the constraints itself; remove fixed values and labels",
                    s.line,
                    s.column,
                )
            if s.op == "=~":
                if s.rhs in fidx:
                    raise ModelSyntaxError(
                        "ordinal invariance supports first-order factors only", s.line, s.column
                    )
                loadings.append((index[s.rhs], fidx[s.lhs]))
            elif s.op == "~~":
                if s.lhs in index and s.rhs in index and s.lhs != s.rhs:
                    i, j = index[s.lhs], index[s.rhs]
                    resid.append((max(i, j), min(i, j)))
                elif s.lhs in fidx and s.rhs in fidx:
                    continue  # factor (co)variances: always free or fixed by the ladder
                else:
                    raise ModelSyntaxError(
                        "ordinal invariance supports residual covariances between items and "
                        "factor covariances only (residual variances are derived)",
                        s.line,
                        s.column,
                    )
            else:
                raise ModelSyntaxError(
                    f"operator {s.op!r} is not supported by ordinal invariance", s.line, s.column
                )
        nth = [n_thresholds[v] for v in items]
        return cls(items, factors, loadings, resid, nth)


# A slot is (kind, key); kinds: lam (j, f), tau (j, k), nu j, delta j, alpha f, psi (f1, f2),
# rcov (i, j). A level maps (slot, group) -> float (fixed) or str (free parameter name).


def multigroup_slots(
    st: _Structure, n_groups: int, level: str, parameterization: str = "delta"
) -> list[dict]:
    """The Wu & Estabrook (2016) specification of each group: in the delta parameterisation
    the scaling factors (``delta``) are the free scale parameters, in the theta
    parameterisation the residual variances (``theta``)."""
    eq = _STEPS[level]
    scale = "theta" if parameterization == "theta" else "delta"
    groups = []
    for g in range(n_groups):
        spec: dict = {}

        def name(kind, key, shared, g=g):
            return f"{kind}{key}" if shared else f"{kind}{key}.g{g + 1}"

        for j, f in st.loadings:
            spec[("lam", (j, f))] = name("lam", (j, f), "loadings" in eq)
        for j, k in enumerate(st.n_thresholds):
            for c in range(k):
                spec[("tau", (j, c))] = name("tau", (j, c), "thresholds" in eq)
        for j in range(len(st.items)):
            if g == 0 or "thresholds" not in eq:
                spec[("nu", j)] = 0.0
                spec[(scale, j)] = 1.0
            else:
                spec[("nu", j)] = 0.0 if "intercepts" in eq else name("nu", j, False)
                fixed = "residuals" in eq  # strict (theta only): 1 as in the first group
                spec[(scale, j)] = 1.0 if fixed else name(scale, j, False)
        m = len(st.factors)
        for f in range(m):
            free_var = g > 0 and "loadings" in eq
            spec[("psi", (f, f))] = name("psi", (f, f), False) if free_var else 1.0
            free_mean = g > 0 and "intercepts" in eq
            spec[("alpha", f)] = name("alpha", f, False) if free_mean else 0.0
            for f2 in range(f):
                spec[("psi", (f, f2))] = name("psi", (f, f2), False)
        for i, j in st.resid_cov:
            spec[("rcov", (i, j))] = name("rcov", (i, j), False)
        groups.append(spec)
    return groups


class _Model:
    """Implied statistics and their Jacobian for a list of group specifications."""

    def __init__(self, st: _Structure, specs: list[dict], pairs: list[tuple[np.ndarray, ...]]):
        self.st, self.specs = st, specs
        names: list[str] = []
        seen = {}
        for spec in specs:
            for value in spec.values():
                if isinstance(value, str) and value not in seen:
                    seen[value] = len(names)
                    names.append(value)
        self.names, self.index = names, seen
        self.theta = ("theta", 0) in specs[0]
        self.pairs = pairs  # per group (ii, jj) of the correlations in lavaan's order
        nth = st.n_thresholds
        self.th_item = np.repeat(np.arange(len(nth)), nth)
        self.th_k = np.concatenate([np.arange(k) for k in nth])

    @property
    def npar(self) -> int:
        return len(self.names)

    def _plan(self, g):
        """Per group: for each kind, the target positions, which come from x (index) and the
        fixed values of the others; built once."""
        if not hasattr(self, "_plans"):
            self._plans = {}
        if g in self._plans:
            return self._plans[g]
        st, spec = self.st, self.specs[g]
        scale = "theta" if self.theta else "delta"
        keys = {
            "lam": list(st.loadings),
            "psi": [(f, f2) for f in range(len(st.factors)) for f2 in range(f + 1)],
            "rcov": list(st.resid_cov),
            "nu": list(range(len(st.items))),
            scale: list(range(len(st.items))),
            "alpha": list(range(len(st.factors))),
            "tau": [(int(j), int(c)) for j, c in zip(self.th_item, self.th_k, strict=True)],
        }
        plan = {}
        for kind, ks in keys.items():
            vals = [spec[(kind, key)] for key in ks]
            free = np.array([isinstance(v, str) for v in vals], dtype=bool)
            idx = np.array([self.index[v] if isinstance(v, str) else 0 for v in vals], dtype=int)
            const = np.array([0.0 if isinstance(v, str) else float(v) for v in vals])
            plan[kind] = (ks, free, idx, const)
        self._plans[g] = plan
        return plan

    def matrices(self, x, g):
        st = self.st
        plan = self._plan(g)
        p, m = len(st.items), len(st.factors)
        dt = np.result_type(x, float)

        def values(kind):
            _, free, idx, const = plan[kind]
            return np.where(free, x[idx], const).astype(dt)

        lam = np.zeros((p, m), dtype=dt)
        if st.loadings:
            jj, ff = np.array(st.loadings).T
            lam[jj, ff] = values("lam")
        psi = np.zeros((m, m), dtype=dt)
        a, b = np.array(plan["psi"][0]).T
        psi[a, b] = values("psi")
        psi[b, a] = psi[a, b]
        rc = np.zeros((p, p), dtype=dt)
        if st.resid_cov:
            i, j = np.array(st.resid_cov).T
            rc[i, j] = values("rcov")
            rc[j, i] = rc[i, j]
        scale = values("theta" if self.theta else "delta")
        return lam, psi, rc, values("nu"), scale, values("alpha"), values("tau")

    def implied(self, x, g):
        lam, psi, rc, nu, scale, alpha, tau = self.matrices(x, g)
        common = lam @ psi @ lam.T + rc
        # theta: Delta_j = 1 / sqrt(sigma*_jj) with sigma*_jj = (L Psi L')_jj + theta_jj
        delta = 1.0 / np.sqrt(np.diagonal(common) + scale) if self.theta else scale
        mu = nu + lam @ alpha
        j = self.th_item
        th = delta[j] * (tau - mu[j])
        ii, jj = self.pairs[g]
        rho = delta[ii] * delta[jj] * common[ii, jj]
        return np.concatenate([th, rho])

    def derived(self, x, g):
        """The derived scale of each item: residual variances (delta parameterisation,
        theta_jj = Delta_j^-2 - (L Psi L')_jj) or scaling factors (theta parameterisation,
        Delta_j = ((L Psi L')_jj + theta_jj)^-1/2)."""
        lam, psi, _, _, scale, _, _ = self.matrices(x, g)
        common = np.einsum("ij,jk,ik->i", lam, psi, lam)
        if self.theta:
            return 1.0 / np.sqrt(common + scale)
        return 1.0 / scale**2 - common

    def jacobian(self, x, g):
        h = 1e-30
        k = self.npar
        out = np.empty((self.implied(x, g).size, k))
        for c in range(k):
            xc = x.astype(complex)
            xc[c] += 1j * h
            out[:, c] = self.implied(xc, g).imag / h
        return out


@dataclass
class _GroupData:
    label: object
    poly: PolychoricResult
    s: np.ndarray
    w: np.ndarray
    gamma: np.ndarray
    n: int


def _group_data(data, items, group, missing) -> list[_GroupData]:
    out = []
    labels = list(pd.unique(data[group])) if group is not None else [None]
    for label in labels:
        sub = data if group is None else data.loc[data[group] == label]
        try:
            poly = polychoric(sub, items, missing=missing)
        except ValueError as exc:
            where = "" if group is None else f"in group {label!r}: "
            raise DataError(f"{where}{exc}") from None
        gamma = two_step_gamma(poly)
        dg = np.diag(gamma)
        if not np.all(np.isfinite(dg)) or np.any(dg <= 0):
            raise DataError("the asymptotic variances of the polychoric statistics are not finite")
        s = np.concatenate([poly.threshold_vector(), poly.correlation_vector()])
        out.append(_GroupData(label, poly, s, 1.0 / dg, gamma, poly.nobs))
    return out


@dataclass
class OrdinalInvarianceFit:
    """One level fitted by WLSMV (delta or theta parameterisation)."""

    level: str
    converged: bool
    iterations: int
    x: np.ndarray
    names: list[str]
    vcov: np.ndarray
    estimates: pd.DataFrame
    fit: dict
    test: dict
    warnings: list[str] = field(default_factory=list)
    parameterization: str = "delta"
    # for difference tests
    _jac: list = field(default=None, repr=False)
    _info: np.ndarray = field(default=None, repr=False)
    _groups: list = field(default=None, repr=False)
    _model: object = field(default=None, repr=False)

    estimator = "WLSMV"
    information = "expected"

    @property
    def nobs(self) -> int:
        return int(sum(gd.n for gd in self._groups))

    def fit_measures(self) -> dict:
        return dict(self.fit)

    def to_dict(self) -> dict:
        return _clean(
            {
                "level": self.level,
                "estimator": self.estimator,
                "parameterization": self.parameterization,
                "converged": self.converged,
                "iterations": self.iterations,
                "nobs": int(sum(gd.n for gd in self._groups)),
                "group_nobs": [int(gd.n) for gd in self._groups],
                "test": self.test,
                "warnings": self.warnings,
                "estimates": self.estimates,
                "fit_measures": self.fit,
            }
        )


def _start(model: _Model, groups: list[_GroupData], previous: dict | None) -> np.ndarray:
    """Loadings 0.7, factor covariances 0, thresholds the sample ones (averaged over groups
    when shared), scaling factors 1, the rest 0; or a previous level's values by name."""
    x = np.zeros(model.npar)
    count = np.zeros(model.npar)
    for g, spec in enumerate(model.specs):
        tau_obs = groups[g].poly.threshold_vector()
        tau_pos = {
            (int(j), int(c)): n
            for n, (j, c) in enumerate(zip(model.th_item, model.th_k, strict=True))
        }
        for slot, v in spec.items():
            if not isinstance(v, str):
                continue
            k = model.index[v]
            kind, key = slot
            base = {
                "lam": 0.7,
                "delta": 1.0,
                "theta": 1.0,
                "psi": 1.0 if kind == "psi" and key[0] == key[1] else 0.0,
            }.get(kind, 0.0)
            if kind == "tau":
                base = tau_obs[tau_pos[key]]
            if previous is not None and (slot, g) in previous:
                base = previous[(slot, g)]
            x[k] += base
            count[k] += 1
    return x / np.maximum(count, 1)


def _check_categories(counts: dict[str, set], where: str) -> None:
    """Each item's numbers of thresholds over the groups or waves: one number, at least 2."""
    uneven = [v for v, c in counts.items() if len(c) > 1]
    if uneven:
        raise DataError(
            f"every item needs the same categories {where} for threshold invariance; "
            f"not so for {', '.join(uneven)}"
        )
    few = [v for v, c in counts.items() if min(c) < 2]
    if few:
        raise DataError(
            "the Wu & Estabrook ladder here needs items with at least three categories "
            f"(binary: {', '.join(few)})"
        )


def _gauss_newton(model: _Model, groups: list[_GroupData], x: np.ndarray):
    c = [gd.n - 1.0 for gd in groups]

    def value(xx):
        return sum(
            c[g] * float(np.sum(gd.w * (gd.s - model.implied(xx, g)) ** 2))
            for g, gd in enumerate(groups)
        )

    def normal_equations(xx):
        info = np.zeros((model.npar, model.npar))
        grad = np.zeros(model.npar)
        for g, gd in enumerate(groups):
            d = model.jacobian(xx, g)
            dw = d * (c[g] * gd.w)[:, None]
            info += d.T @ dw
            grad += dw.T @ (gd.s - model.implied(xx, g))
        return info, grad

    return gauss_newton(value, normal_equations, x, max_iter=300)


def _fit_level(st, specs, groups, level, previous=None) -> OrdinalInvarianceFit:
    pairs = [(gd.poly._pairs.i, gd.poly._pairs.j) for gd in groups]
    model = _Model(st, specs, pairs)
    x0 = _start(model, groups, previous)
    x, _, converged, iterations, message = _gauss_newton(model, groups, x0)
    warnings = [] if converged else [f"the {level} model did not converge: {message}"]
    n = sum(gd.n for gd in groups)
    n_groups = len(groups)
    fg = [gd.n / n for gd in groups]
    jac = [model.jacobian(x, g) for g in range(n_groups)]
    info = sum(f * (d.T * gd.w) @ d for f, d, gd in zip(fg, jac, groups, strict=True))
    meat = sum(
        f * (d.T * gd.w) @ gd.gamma @ (gd.w[:, None] * d)
        for f, d, gd in zip(fg, jac, groups, strict=True)
    )
    vcov = np.full((model.npar, model.npar), np.nan)
    traces = None
    try:
        e_inv = np.linalg.inv(info)
        vcov = e_inv @ meat @ e_inv / (n - n_groups)
        vcov = 0.5 * (vcov + vcov.T)
        v_diag = np.concatenate([f * gd.w for f, gd in zip(fg, groups, strict=True)])
        g_all = linalg.block_diag(*[gd.gamma / f for f, gd in zip(fg, groups, strict=True)])
        d_all = np.vstack(jac)
        vd = v_diag[:, None] * d_all
        u_all = np.diag(v_diag) - vd @ e_inv @ vd.T
        ug = u_all @ g_all
        traces = (float(np.trace(ug)), float(np.sum(ug * ug.T)))
    except np.linalg.LinAlgError:
        warnings.append(
            "the information matrix is singular: the model may be empirically "
            "under-identified, and standard errors could not be computed"
        )
    # pieces for ordinal._measures: the joint df, npar and traces go to the first group
    pieces = []
    total_stats = 0
    for g, gd in enumerate(groups):
        resid = gd.s - model.implied(x, g)
        nth = gd.poly.threshold_vector().size
        r = gd.s[nth:]
        p = len(st.items)
        total_stats += gd.s.size
        pieces.append(
            {
                "n": gd.n,
                "npar": 0,
                "df": 0,
                "pstar": r.size,
                "f": float(np.sum(gd.w * resid**2)),
                "t": max((gd.n - 1) * float(np.sum(gd.w * resid**2)), 0.0),
                "traces": (0.0, 0.0),
                "b_t": (gd.n - 1) * float(np.sum(gd.w[nth:] * r * r)),
                "b_traces": _baseline_traces(gd.w[nth:], gd.gamma[nth:, nth:]),
                "robust": None,
                "srmr2": float(np.sum(resid[nth:] ** 2) / (p * (p + 1) / 2)),
            }
        )
    df = total_stats - model.npar
    pieces[0]["npar"], pieces[0]["df"] = model.npar, df
    pieces[0]["traces"] = traces
    fm, test = _measures(pieces, "WLSMV")
    estimates = _estimate_table(model, groups, x, vcov)
    resid = estimates[(estimates["op"] == "~~") & (estimates["lhs"] == estimates["rhs"])]
    resid = resid[resid["lhs"].isin(st.items) & (resid["est"] < 0)]
    for r in resid.itertuples():
        where = f" (group {r.group})" if n_groups > 1 else ""
        warnings.append(
            f"Heywood case: the residual variance of {r.lhs!r} is negative ({r.est:.4g}){where}"
        )
    return OrdinalInvarianceFit(
        level=level,
        converged=converged,
        iterations=iterations,
        x=x,
        names=model.names,
        vcov=vcov,
        estimates=estimates,
        fit=fm,
        test=test,
        warnings=warnings,
        _jac=jac,
        _info=info,
        _groups=groups,
        _model=model,
        parameterization="theta" if model.theta else "delta",
    )


def _baseline_traces(w_r, gamma_r):
    m = w_r[:, None] * gamma_r
    return float(np.trace(m)), float(np.sum(m * m.T))


_OPS = {"lam": "=~", "tau": "|", "nu": "~1", "delta": "~*~", "alpha": "~1", "psi": "~~"}


def _estimate_table(model: _Model, groups, x, vcov) -> pd.DataFrame:
    st = model.st
    se_all = np.sqrt(np.maximum(np.diag(vcov), 0.0))
    se_all[~np.isfinite(np.diag(vcov))] = np.nan
    rows = []
    for g, spec in enumerate(model.specs):
        for (kind, key), v in spec.items():
            if kind == "lam":
                lhs, op, rhs = st.factors[key[1]], "=~", st.items[key[0]]
            elif kind == "tau":
                lhs, op, rhs = st.items[key[0]], "|", f"t{key[1] + 1}"
            elif kind in ("nu", "delta"):
                lhs, op = st.items[key], _OPS[kind]
                rhs = st.items[key] if kind == "delta" else ""
            elif kind == "alpha":
                lhs, op, rhs = st.factors[key], "~1", ""
            elif kind == "psi":
                lhs, op, rhs = st.factors[key[1]], "~~", st.factors[key[0]]
            elif kind == "theta":
                lhs, op, rhs = st.items[key], "~~", st.items[key]
            else:  # rcov
                lhs, op, rhs = st.items[key[1]], "~~", st.items[key[0]]
            free = isinstance(v, str)
            est = x[model.index[v]] if free else float(v)
            se = se_all[model.index[v]] if free else 0.0
            label = v if free and not v.endswith(f".g{g + 1}") else ""
            rows.append((lhs, op, rhs, g + 1, label, free, est, se))
        derived = model.derived(x, g)
        op = "~*~" if model.theta else "~~"
        for j, item in enumerate(st.items):
            rows.append((item, op, item, g + 1, "", False, float(derived[j]), 0.0))
    table = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "group", "label", "free", "est", "se"])
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(table["free"], table["est"] / table["se"], np.nan)
    table["z"] = z
    table["pvalue"] = 2.0 * stats.norm.sf(np.abs(z))
    return table


@dataclass(frozen=True)
class ScaledDifference:
    """A scaled-shifted difference test (``method``: lavaan's name)."""

    method: str
    chisq_diff: float
    df_diff: int
    pvalue: float
    a: float
    b: float
    trace_ugamma: float
    trace_ugamma2: float

    def to_dict(self) -> dict:
        return _clean(dict(self.__dict__))


def satorra2000(restricted: OrdinalInvarianceFit, free: OrdinalInvarianceFit) -> ScaledDifference:
    """Satorra's (2000) scaled-shifted difference test of two nested fits (module docstring),
    as lavaan 0.6-14's ``lav_test_diff_Satorra2000(scaled.shifted = TRUE)`` with
    ``A.method = "delta"``."""
    t1, r1 = free.fit["chisq"], free.fit["df"]
    t0, r0 = restricted.fit["chisq"], restricted.fit["df"]
    m = int(r0 - r1)
    if m <= 0:
        raise ValueError("the restricted model must have more degrees of freedom")
    groups = free._groups
    n = sum(gd.n for gd in groups)
    fg = [gd.n / n for gd in groups]
    d1 = np.vstack(free._jac)
    d0 = np.vstack(restricted._jac)
    h = np.linalg.pinv(d1) @ d0
    a_mat = linalg.null_space(h.T).T
    p_inv = np.linalg.inv(free._info)
    apa = a_mat @ p_inv @ a_mat.T
    tol = np.finfo(float).eps ** 0.5
    empty = (np.abs(apa.sum(axis=0)) < tol) & (np.abs(apa.sum(axis=1)) < tol)
    a_mat = a_mat[~empty]
    if a_mat.shape[0] == 0:
        return ScaledDifference("satorra.2000", np.nan, m, np.nan, np.nan, np.nan, np.nan, np.nan)
    mm = p_inv @ a_mat.T @ np.linalg.pinv(a_mat @ p_inv @ a_mat.T) @ a_mat @ p_inv
    tr1 = 0.0
    for f, d, gd in zip(fg, free._jac, groups, strict=True):
        wd = gd.w[:, None] * d
        tr1 += f * float(np.sum(mm * (wd.T @ gd.gamma @ wd)))
    w_all = np.concatenate([gd.w for gd in groups])
    g_all = linalg.block_diag(*[f * gd.gamma for f, gd in zip(fg, groups, strict=True)])
    wd_all = w_all[:, None] * d1
    ug = wd_all @ mm @ wd_all.T @ g_all
    tr2 = float(np.sum(ug * ug.T))
    a = math.sqrt(m / tr2)
    b = m - a * tr1
    t_d = (t0 - t1) * a + b
    return ScaledDifference(
        "satorra.2000", float(t_d), m, float(stats.chi2.sf(t_d, m)), a, b, tr1, tr2
    )


def ordinal_invariance(
    model: str,
    data: pd.DataFrame,
    group: str,
    levels: Sequence[str] | None = None,
    *,
    ordered=True,
    estimator: str = "WLSMV",
    missing: str = "listwise",
    parameterization: str = "delta",
):
    """Fit the Wu & Estabrook (2016) ladder over groups and compare each level with the
    previous one (see the module docstring). Returns ``(table_rows, fits, tests)``."""
    if estimator.upper() not in ESTIMATORS:
        raise ValueError(f"ordinal invariance supports estimator='WLSMV' (got {estimator!r})")
    if parameterization not in ("delta", "theta"):
        raise ValueError(
            f"parameterization={parameterization!r}: ordinal invariance supports 'delta' "
            "and 'theta'"
        )
    if missing not in ("listwise", "pairwise"):
        raise ValueError(
            f"missing={missing!r} is not supported with ordered items; use 'listwise' or 'pairwise'"
        )
    levels = check_levels(levels, parameterization)
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if group not in data.columns:
        raise DataError(f"group variable {group!r} is not in the data")
    data = data.loc[data[group].notna()]
    stripped, _ = split_thresholds(model)
    observed = list(parse_model(stripped).observed)
    if ordered is not True:
        names = [ordered] if isinstance(ordered, str) else list(ordered)
        not_ordered = [v for v in observed if v not in names]
        if not_ordered:
            raise ValueError(
                "ordinal invariance needs every indicator ordered (mixed continuous and "
                f"ordered indicators are not supported; not ordered: {', '.join(not_ordered)})"
            )
    absent = [v for v in observed if v not in data.columns]
    if absent:
        raise DataError(f"variables named in the model are not in the data: {', '.join(absent)}")
    groups = _group_data(data, observed, group, missing)
    if len(groups) < 2:
        raise DataError(f"group variable {group!r} has fewer than two groups")
    counts = {v: {gd.poly.thresholds[v].size for gd in groups} for v in observed}
    _check_categories(counts, "in every group")
    st = _Structure.from_syntax(model, {v: counts[v].pop() for v in observed})
    fits, tests = _ladder(
        st, groups, levels, lambda lv: multigroup_slots(st, len(groups), lv, parameterization)
    )
    if "configural" in fits:
        from .ordinal import ordinal_cfa

        same = ordinal_cfa(
            model,
            data,
            ordered=True,
            missing=missing,
            group=group,
            parameterization=parameterization,
        )
        _copy_robust(fits["configural"], same.fit_measures())
    return fits, tests


ROBUST_KEYS = (
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "rmsea_ci_lower_robust",
    "rmsea_ci_upper_robust",
    "rmsea_pvalue_robust",
)


def _copy_robust(fit: OrdinalInvarianceFit, measures: dict) -> None:
    """The configural model is lavaan's default ordinal CFA: its robust CFI/TLI/RMSEA
    (lavaan's catML-based ``lav_fit_catml_dwls``) come from :func:`.ordinal.ordinal_cfa`.
    For the constrained levels lavaan 0.6-14 reports NA for them (seen on the reference data
    of the tests); they are NaN here, not computed."""
    for key in ROBUST_KEYS:
        fit.fit[key] = measures[key]


def check_levels(levels, parameterization: str) -> list[str]:
    """The levels asked for, in ladder order; plain errors for unknown ones and for strict
    invariance in the delta parameterisation."""
    ladder = THETA_LEVELS if parameterization == "theta" else ORDINAL_LEVELS
    if levels is None:
        return list(ladder)
    levels = list(levels)
    if "strict" in levels and parameterization != "theta":
        raise ValueError(
            "strict invariance (equal residual variances) is not a model of the delta "
            "parameterisation (semTools refuses it too): use parameterization='theta', or "
            "the ladder " + ", ".join(ORDINAL_LEVELS)
        )
    bad = [lv for lv in levels if lv not in ladder]
    if bad or not levels:
        raise ValueError(f"unknown ordinal invariance level(s) {bad}; choose from {list(ladder)}")
    return [lv for lv in ladder if lv in levels]


def _ladder(st, groups, levels, slots_of):
    with single_threaded_blas():
        return _ladder_fits(st, groups, levels, slots_of)


def _ladder_fits(st, groups, levels, slots_of):
    fits: dict[str, OrdinalInvarianceFit] = {}
    tests: dict[str, ScaledDifference] = {}
    previous = None
    prev_fit = None
    for level in levels:
        specs = slots_of(level)
        fit = _fit_level(st, specs, groups, level, previous)
        fits[level] = fit
        if prev_fit is not None:
            tests[level] = satorra2000(fit, prev_fit)
        previous = {}
        for g, spec in enumerate(specs):
            for slot, v in spec.items():
                if isinstance(v, str):
                    previous[(slot, g)] = fit.x[fit.names.index(v)]
        prev_fit = fit
    return fits, tests


# --------------------------------------------------------------------------------------
# longitudinal: one group, the waves' copies of each item
# --------------------------------------------------------------------------------------
def longitudinal_structure(design, n_thresholds: dict[str, int]) -> tuple[_Structure, dict]:
    """The wide model of a :class:`~psychometrics.cfa.longitudinal.LongitudinalDesign`: a
    factor per construct per wave, all factors correlated, each item's residuals correlated
    across every pair of waves (semTools' ``auto = "all"``). Also returns, for each wide item
    and factor, its (base name, wave) for the equality constraints."""
    items, factors, where = [], [], {}
    waves = range(1, design.n_waves + 1)
    for k in waves:
        for f in design.factors:
            factors.append(design.at(f, k))
            where[design.at(f, k)] = (f, k)
        for item in design.items:
            items.append(design.at(item, k))
            where[design.at(item, k)] = (item, k)
    index = {v: n for n, v in enumerate(items)}
    fidx = {v: n for n, v in enumerate(factors)}
    loadings = [
        (index[design.at(item, k)], fidx[design.at(f, k)])
        for k in waves
        for f, members in design.factors.items()
        for item in members
    ]
    resid = []
    for item in design.items:
        for a in waves:
            for b in waves:
                if a < b:
                    i, j = index[design.at(item, b)], index[design.at(item, a)]
                    resid.append((i, j))
    nth = [n_thresholds[v] for v in items]
    return _Structure(items, factors, loadings, resid, nth), where


def longitudinal_slots(
    st: _Structure, where: dict, level: str, parameterization: str = "delta"
) -> list[dict]:
    """The Wu & Estabrook (2016) ladder across waves (as ``measEq.syntax(longFacNames, ...,
    ID.cat = "Wu.Estabrook.2016", long.equal = ...)``): the first wave plays the part of the
    first group."""
    eq = _STEPS[level]
    scale = "theta" if parameterization == "theta" else "delta"
    spec: dict = {}
    for j, f in st.loadings:
        item, _ = where[st.items[j]]
        fac, k = where[st.factors[f]]
        shared = "loadings" in eq
        spec[("lam", (j, f))] = f"lam.{fac}.{item}" if shared else f"lam.{j}.{f}"
    for j, kk in enumerate(st.n_thresholds):
        item, k = where[st.items[j]]
        for c in range(kk):
            shared = "thresholds" in eq
            spec[("tau", (j, c))] = f"tau.{item}.{c}" if shared else f"tau.{j}.{c}"
        if k == 1 or "thresholds" not in eq:
            spec[("nu", j)] = 0.0
            spec[(scale, j)] = 1.0
        else:
            spec[("nu", j)] = 0.0 if "intercepts" in eq else f"nu.{j}"
            spec[(scale, j)] = 1.0 if "residuals" in eq else f"{scale}.{j}"
    for f, name in enumerate(st.factors):
        _, k = where[name]
        later = k > 1
        spec[("psi", (f, f))] = f"psi.{f}.{f}" if later and "loadings" in eq else 1.0
        spec[("alpha", f)] = f"alpha.{f}" if later and "intercepts" in eq else 0.0
        for f2 in range(f):
            spec[("psi", (f, f2))] = f"psi.{f}.{f2}"
    for i, j in st.resid_cov:
        spec[("rcov", (i, j))] = f"rcov.{i}.{j}"
    return [spec]


def longitudinal_ordinal(
    design,
    wide: pd.DataFrame,
    levels: Sequence[str] | None,
    missing: str,
    parameterization: str = "delta",
):
    """Fit the ordinal ladder to wide data (columns ``design.at(item, k)``); ``missing``:
    'listwise' (participants with every item at every wave) or 'pairwise' (lavaan's
    ``missing = "pairwise"``: each polychoric correlation from the participants with both
    items)."""
    if parameterization not in ("delta", "theta"):
        raise ValueError(
            f"parameterization={parameterization!r}: ordinal invariance supports 'delta' "
            "and 'theta'"
        )
    levels = check_levels(levels, parameterization)
    if missing not in ("listwise", "pairwise"):
        raise ValueError(
            f"missing={missing!r} is not supported with ordered items (WLSMV); use "
            "'listwise' or 'pairwise'"
        )
    cols = [design.at(item, k) for k in range(1, design.n_waves + 1) for item in design.items]
    frame = wide[cols]
    if missing == "listwise":
        frame = frame.dropna()
    groups = _group_data(frame, cols, None, missing)
    th = {v: groups[0].poly.thresholds[v].size for v in cols}
    by_item: dict[str, set] = {}
    for item in design.items:
        by_item[item] = {th[design.at(item, k)] for k in range(1, design.n_waves + 1)}
    _check_categories(by_item, "at every wave")
    st, where = longitudinal_structure(design, th)
    fits, tests = _ladder(
        st, groups, levels, lambda lv: longitudinal_slots(st, where, lv, parameterization)
    )
    if "configural" in fits:
        from .ordinal import ordinal_cfa

        lines = [
            f"{st.factors[f]} =~ " + " + ".join(st.items[j] for j, g in st.loadings if g == f)
            for f in range(len(st.factors))
        ]
        lines += [f"{st.items[j]} ~~ {st.items[i]}" for i, j in st.resid_cov]
        same = ordinal_cfa(
            "\n".join(lines),
            frame,
            std_lv=True,
            missing=missing,
            parameterization=parameterization,
        )
        _copy_robust(fits["configural"], same.fit_measures())
    return fits, tests


def lavaan_syntax(fit: OrdinalInvarianceFit) -> str:
    """lavaan syntax of a one-group level (the longitudinal ladder), to be fitted with
    ``cfa(syntax, data, ordered = TRUE, estimator = "WLSMV", parameterization = ...)`` (the
    fit's parameterisation):
    ``NA*`` marks a free parameter, a label one shared with the other parameters of that
    label, a number a fixed value."""
    model = fit._model
    if len(model.specs) != 1:
        raise ValueError("lavaan_syntax writes one-group models only")
    st, spec = model.st, model.specs[0]
    uses: dict[str, int] = {}
    for v in spec.values():
        if isinstance(v, str):
            uses[v] = uses.get(v, 0) + 1

    def mod(v) -> str:
        if isinstance(v, str):
            return v.replace("(", "").replace(")", "") if uses[v] > 1 else "NA"
        return f"{v:g}"

    lines = []
    for (kind, key), v in spec.items():
        if kind == "lam":
            lines.append(f"{st.factors[key[1]]} =~ {mod(v)}*{st.items[key[0]]}")
        elif kind == "tau":
            lines.append(f"{st.items[key[0]]} | {mod(v)}*t{key[1] + 1}")
        elif kind == "nu":
            lines.append(f"{st.items[key]} ~ {mod(v)}*1")
        elif kind == "delta":
            lines.append(f"{st.items[key]} ~*~ {mod(v)}*{st.items[key]}")
        elif kind == "theta":
            lines.append(f"{st.items[key]} ~~ {mod(v)}*{st.items[key]}")
        elif kind == "alpha":
            lines.append(f"{st.factors[key]} ~ {mod(v)}*1")
        elif kind == "psi":
            lines.append(f"{st.factors[key[1]]} ~~ {mod(v)}*{st.factors[key[0]]}")
        else:
            lines.append(f"{st.items[key[1]]} ~~ {mod(v)}*{st.items[key[0]]}")
    return "\n".join(lines) + "\n"
