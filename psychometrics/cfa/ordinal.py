"""CFA of ordinal items by (diagonally) weighted least squares, as lavaan 0.6-14's WLSMV.

The data are summarised by the two-step thresholds tau and polychoric correlations r
(:mod:`psychometrics.polychoric`) with s = (tau, r) and Gamma = N acov(s) (lavaan's ``NACOV``,
from the casewise scores as lavaan's ``muthen1984``). With lavaan's defaults for ordered
indicators (``parameterization = "delta"``): the latent responses have unit variance, the
residual variances are not free but theta_ii = 1 - diag(Lambda Phi Lambda')_ii, intercepts are 0
and the thresholds are free; the implied moments are sigma(theta) = (tau, offdiag(Lambda Phi
Lambda' + Theta)).

- Estimation: F(theta) = (s - sigma)' W (s - sigma) with W = diag(Gamma)^-1 (DWLS: ``WLSMV``,
  ``WLSM``) or W = I (ULS: ``ULSMV``), minimised by Gauss-Newton. With W diagonal and the
  thresholds free, the threshold estimates equal the sample thresholds.
- Standard errors (lavaan's ``se = "robust.sem"``): Delta = d sigma / d theta', E = Delta' W
  Delta, acov = E^-1 Delta' W Gamma W Delta E^-1 / (N - 1) (lavaan divides by N - G for
  estimators other than ML).
- Test: T = (N - 1) F (lavaan's F carries the factor 1/2 (N - 1)/N and T = 2 N F); with U = W -
  W Delta E^-1 Delta' W, ``scaled.shifted`` (WLSMV, ULSMV: Asparouhov & Muthen, 2010) a =
  sqrt(df / tr((U Gamma)^2)), T_ss = a T + (df - a tr(U Gamma)), ``chisq.scaling.factor`` =
  1/a, ``chisq.shift.parameter`` = df - a tr(U Gamma); ``satorra.bentler`` (WLSM) c = tr(U
  Gamma)/df, T/c (Satorra & Bentler, 1994). For ULS the unscaled T has no p-value (lavaan).
- Baseline: the independence model (thresholds free, correlations 0), T_b = (N - 1) sum w r^2,
  df_b = p(p - 1)/2, scaled by the same method with its own U.
- CFI/TLI (and ``.scaled`` from the scaled statistics) and RMSEA as in :mod:`.fit`;
  ``rmsea.scaled`` uses T_ss with df (scaled.shifted) or T with tr(U Gamma) as df (WLSM), as
  lavaan's ``lav_fit_rmsea_lavobject``; SRMR is the root mean square of the correlation
  residuals, summed over the p(p - 1)/2 off-diagonal elements and divided by p(p + 1)/2 (the
  zero diagonal residuals counted, as lavaan's ``srmr`` for categorical data).
- ``cfi.robust``, ``tli.robust``, ``rmsea.robust`` (with interval and p-value): lavaan 0.6-14
  computes them for categorical data from the ML discrepancy of the fitted correlation matrix
  (its ``lav_fit_catml_dwls``); see :func:`_robust_measures`.

Thresholds may be written in the syntax (``y1 | t1 + t2 + t3``, free and unlabelled only; see
:func:`split_thresholds`); an item with thresholds counts as ordered.

Several groups (``group=``): the configural model only (lavaan's default without
``group.equal``), fitted group by group and combined as lavaan does (T and the traces of
U Gamma summed, acov scaled by N / (N_g (N - G)) instead of 1 / (N_g - 1), N - G and sqrt(G) in
the RMSEA, SRMR weighted by N_g / N); :class:`MultiGroupOrdinalCFAResult`.

Not done: mixed continuous and ordinal indicators, ``group_equal`` here (ordinal invariance,
the Wu & Estabrook 2016 ladder, is :mod:`.ordinal_invariance`, reached through
``invariance(..., estimator="WLSMV", ordered=True)``), modification indices for ordinal fits.
Each raises a plain error or is absent.

References
----------
Muthen, B. (1984). A general structural equation model with dichotomous, ordered categorical,
and continuous latent variable indicators. *Psychometrika, 49*, 115-132.
https://doi.org/10.1007/BF02294210

Asparouhov, T., & Muthen, B. (2010). Simple second order chi-square correction. Mplus technical
appendix.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ..polychoric import PolychoricResult, polychoric, two_step_gamma
from ..syntax import ModelSyntaxError, parse_model
from .errors import DataError, ModelIdentificationError
from .estimation import start_values
from .fit import _cfi, _tli, rmsea_interval
from .model import LAMBDA, PSI, THETA, build_model, derivative_vectors
from .standardized import standardize

__all__ = [
    "ORDINAL_ESTIMATORS",
    "MultiGroupOrdinalCFAResult",
    "OrdinalCFAResult",
    "ordinal_cfa",
]

ORDINAL_ESTIMATORS = ("WLSMV", "WLSM", "ULSMV")
_TEST = {"WLSMV": "scaled.shifted", "ULSMV": "scaled.shifted", "WLSM": "satorra.bentler"}

COLUMNS = ["lhs", "op", "rhs", "group", "label", "free", "est", "se", "z", "pvalue"]


def _clean(value):
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return [_clean(r) for r in value.to_dict(orient="records")]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def check_ordinal_options(
    estimator: str,
    *,
    missing: str,
    group,
    group_equal,
    parameterization: str,
    sample_cov,
    data,
) -> None:
    """Plain errors for what ordinal CFA does not support (yet)."""
    supported = (
        "supported: one group or the configural model over groups (no group_equal), "
        "missing='listwise' or 'pairwise', parameterization='delta' or 'theta'"
    )
    if estimator not in ORDINAL_ESTIMATORS:
        raise ValueError(
            f"estimator {estimator!r} is not an estimator for ordered items; use one of "
            f"{', '.join(ORDINAL_ESTIMATORS)}"
        )
    if data is None or sample_cov is not None:
        raise ValueError(f"{estimator} needs raw data (ordered items), not sample_cov")
    if missing not in ("listwise", "pairwise"):
        raise ValueError(
            f"missing={missing!r} is not supported with {estimator} (ordered items); {supported}"
        )
    if parameterization not in ("delta", "theta"):
        raise ValueError(
            f"parameterization={parameterization!r} is not a parameterization for ordered "
            f"items; {supported}"
        )
    if group_equal:
        raise ValueError(
            f"group_equal (ordinal invariance) is not supported in cfa() with {estimator}; "
            f"{supported}; for the Wu & Estabrook ladder use invariance(model, data, group, "
            "estimator='WLSMV', ordered=True)"
        )


class _Structure:
    """Structural parameters of the delta parameterisation and their derivatives."""

    def __init__(self, spec):
        self.spec = spec
        t = spec.table
        p = spec.p
        self.pairs = np.lexsort((np.tril_indices(p, -1)[0], np.tril_indices(p, -1)[1]))
        ii, jj = np.tril_indices(p, -1)
        self.ii, self.jj = ii[self.pairs], jj[self.pairs]
        derived = (t.matrix == THETA) & (t.row == t.col) & (t.free >= 0)
        self.derived_rows = np.flatnonzero((t.matrix == THETA) & (t.row == t.col))
        derived_free = set(int(f) for f in t.free[derived])
        other_uses = set(int(f) for f in t.free[~derived & (t.free >= 0)])
        if derived_free & other_uses:
            raise ValueError(
                "equality constraints between residual variances of ordered items and other "
                "parameters are not supported (delta parameterisation)"
            )
        keep = [k for k in range(spec.n_free) if k not in derived_free]
        self.keep = np.array(keep, dtype=np.intp)  # full free index of each structural param
        self.q = len(keep)
        self.rows = np.flatnonzero((t.free >= 0) & ~derived)
        remap = -np.ones(spec.n_free, dtype=np.intp)
        remap[self.keep] = np.arange(self.q)
        self.col_of_row = remap[t.free[self.rows]]

    def full(self, theta: np.ndarray) -> np.ndarray:
        """Row values with theta_ii = 1 - diag(L Phi L')_ii."""
        spec, t = self.spec, self.spec.table
        x = np.array(t.value, dtype=float)
        x[self.rows] = theta[self.col_of_row]
        mats = spec.matrices(x, 0)
        common = np.einsum("ij,jk,ik->i", mats.lam, mats.phi, mats.lam)
        x[self.derived_rows] = 1.0 - common[t.row[self.derived_rows]]
        return x

    def implied(self, theta: np.ndarray):
        x = self.full(theta)
        mats = self.spec.matrices(x, 0)
        return mats.sigma[self.ii, self.jj], mats, x

    def jacobian(self, mats) -> np.ndarray:
        t = self.spec.table
        rows = self.rows
        u, v, s, _ = derivative_vectors(mats, t.matrix[rows], t.row[rows], t.col[rows], False)
        u, v = u.toarray(), v.toarray()
        d_rows = s * (u[self.ii] * v[self.jj] + v[self.ii] * u[self.jj])  # (pstar, rows)
        out = np.zeros((self.ii.size, self.q))
        np.add.at(out.T, self.col_of_row, d_rows.T)
        return out


def _gauss_newton(struct: _Structure, r: np.ndarray, w: np.ndarray, theta: np.ndarray):
    def value(th):
        sig = struct.implied(th)[0]
        return float(np.sum(w * (r - sig) ** 2))

    def normal_equations(th):
        sig, mats, _ = struct.implied(th)
        d = struct.jacobian(mats)
        dw = d * w[:, None]
        return d.T @ dw, dw.T @ (r - sig)

    return gauss_newton(value, normal_equations, theta, max_iter=500, stall_converges=True)


class OrdinalCFAResult:
    """A CFA of ordered items fitted by WLSMV, WLSM or ULSMV.

    Attributes
    ----------
    estimator : str
    converged, iterations, message : bool, int, str
    nobs : int
    estimates : DataFrame
        lhs, op, rhs, group, label, free, est, se, z, pvalue, std_lv, std_all; the thresholds as
        ``item | t1`` rows; the residual variances of the items are derived (free = False).
    polychoric : PolychoricResult
        The sample thresholds and correlations the model was fitted to.
    gamma : ndarray
        N times the asymptotic covariance of (thresholds, correlations).
    warnings : list of str
    """

    robust = None  # the ML-based robust block of CFAResult does not apply
    information = "expected"

    def __init__(self, **kw):
        self.__dict__.update(kw)

    def fit_measures(self) -> dict:
        """Fit measures with lavaan's names ('.' replaced by '_', as :class:`CFAResult`)."""
        return dict(self._fit)

    def summary(self) -> str:
        """The text of lavaan's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``
        (:mod:`.summary_ordinal`; one group)."""
        from .summary_ordinal import ordinal_summary

        return ordinal_summary(self)

    def composite_reliability(self, obs_var: bool = True) -> pd.DataFrame:
        """Categorical omega of every first-order factor (Green & Yang, 2009), as
        ``semTools::compRelSEM`` reports it for ordered indicators.

        For the items j, j' of a factor with thresholds tau_jc (model thresholds):

            omega = sum_jj' sum_cc' [Phi2(tau_jc, tau_j'c'; l_j l_j' phi) - Phi(tau_jc)
            Phi(tau_j'c')] / sum_jj' sum_cc' [Phi2(tau_jc, tau_j'c'; r_jj') - Phi(tau_jc)
            Phi(tau_j'c')]

        with r the sample polychoric correlations (``obs_var=True``, semTools' default) or the
        model-implied ones, r_jj = 1. Green, S. B., & Yang, Y. (2009). Reliability of summed
        item scores using structural equation modeling: An alternative to coefficient alpha.
        *Psychometrika, 74*, 155-167. https://doi.org/10.1007/s11336-008-9099-3
        """
        from scipy.special import ndtr

        from ..polychoric import bivariate_normal_cdf

        spec = self.spec
        mats = spec.matrices(self._rows, 0)
        observed = list(spec.observed)
        total = self.polychoric.correlation.loc[observed, observed].to_numpy()
        if not obs_var:
            total = mats.sigma / np.sqrt(np.outer(np.diag(mats.sigma), np.diag(mats.sigma)))
        est = self.estimates
        th = est[est["op"] == "|"]
        taus = {item: th.loc[th["lhs"] == item, "est"].to_numpy() for item in observed}
        scale = 1.0 / np.sqrt(np.diag(mats.sigma))  # 1 in the delta parameterisation
        rows = []
        for f, name in enumerate(spec.latent):
            items = np.flatnonzero(mats.lam[:, f] != 0)
            if items.size == 0:
                continue
            lam = mats.lam[items, f] * scale[items]
            common = np.outer(lam, lam) * mats.phi[f, f]
            num = den = 0.0
            for a, j in enumerate(items):
                t1 = taus[observed[j]] * scale[j]
                for b, jp in enumerate(items):
                    t2 = taus[observed[jp]] * scale[jp]
                    h, k = np.meshgrid(t1, t2, indexing="ij")
                    marg = float(np.sum(ndtr(t1)) * np.sum(ndtr(t2)))
                    r_tot = 1.0 if j == jp else total[j, jp]
                    num += float(np.sum(bivariate_normal_cdf(h, k, common[a, b]))) - marg
                    den += float(np.sum(bivariate_normal_cdf(h, k, r_tot))) - marg
            rows.append({"factor": name, "omega": num / den})
        return pd.DataFrame(rows, columns=["factor", "omega"])

    def modification_indices(self, sort: bool = True, minimum: float = 0.0) -> pd.DataFrame:
        """Not available for ordinal fits: an empty table."""
        return pd.DataFrame(columns=["lhs", "op", "rhs", "group", "mi", "epc"])

    def to_dict(self) -> dict:
        return _clean(
            {
                "model": self.model,
                "converged": self.converged,
                "iterations": self.iterations,
                "message": self.message,
                "nobs": self.nobs,
                "group_nobs": [self.nobs],
                "group_labels": [None],
                "estimator": self.estimator,
                "parameterization": self.parameterization,
                "missing": self.missing,
                "ordered": list(self.ordered),
                "test": self.test,
                "warnings": self.warnings,
                "estimates": self.estimates,
                "fit_measures": self.fit_measures(),
                "polychoric": self.polychoric.to_dict(),
                "composite_reliability": self.composite_reliability(),
            }
        )

    def __repr__(self) -> str:
        fm = self._fit
        return (
            f"OrdinalCFAResult(estimator={self.estimator!r}, nobs={self.nobs}, "
            f"npar={fm['npar']}, chisq={fm['chisq']:.3f}, df={fm['df']}, "
            f"chisq_scaled={fm['chisq_scaled']:.3f}, converged={self.converged})"
        )


def _ugamma_traces(wd, wdg, e_inv, gamma) -> tuple[float, float]:
    """tr(U Gamma) and tr((U Gamma)^2) for U = W - W Delta E^-1 Delta' W without forming U.

    With M = W Gamma, K = Delta' W Gamma and L = E^-1 K: U Gamma = M - W Delta L, so
    tr = tr(M) - tr(L W Delta) and tr2 = tr(M M) - 2 tr(M W Delta L) + tr((L W Delta)^2):
    O(k^2 q) instead of O(k^3) for k statistics and q parameters. ``wdg`` is W Delta;
    ``e_inv`` None gives the baseline (U = W over the correlations: pass their weights only).
    """
    m = wd[:, None] * gamma
    tr_mm = float(np.sum(m * m.T))
    if e_inv is None:
        return float(np.trace(m)), tr_mm
    k = wdg.T @ gamma
    l_mat = e_inv @ k
    lw = l_mat @ wdg
    tr = float(np.trace(m)) - float(np.trace(lw))
    tr2 = tr_mm - 2.0 * float(np.sum((m @ wdg) * l_mat.T)) + float(np.sum(lw * lw.T))
    return tr, tr2


def _scaled_test(kind: str, t_stat: float, df: int, traces: tuple[float, float]) -> dict:
    tr, tr2 = traces
    if df <= 0:
        return {
            "stat": t_stat,
            "df": df,
            "scaling_factor": np.nan,
            "shift_parameter": np.nan,
            "trace_ugamma": tr,
        }
    if kind == "satorra.bentler":
        c = tr / df
        return {
            "stat": t_stat / c,
            "df": df,
            "scaling_factor": c,
            "shift_parameter": np.nan,
            "trace_ugamma": tr,
        }
    a = math.sqrt(df / tr2)
    shift = df - a * tr
    return {
        "stat": t_stat * a + shift,
        "df": df,
        "scaling_factor": 1.0 / a,
        "shift_parameter": shift,
        "trace_ugamma": tr,
    }


_NAME = r"[A-Za-z_.][A-Za-z0-9_.]*"
_THRESHOLD = re.compile(rf"^(\s*)({_NAME})\s*\|(.*)$", re.DOTALL)
_TERM = re.compile(r"t([1-9][0-9]*)")


def _comment_start(line: str) -> int:
    quote = None
    for pos, ch in enumerate(line):
        if quote:
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch in "#!":
            return pos
    return len(line)


def split_thresholds(model: str) -> tuple[str, dict[str, list[int]]]:
    """Take threshold statements (``y1 | t1 + t2 + t3``) out of a model.

    Returns the model with those statements blanked (so that line and column numbers of other
    statements are kept) and ``{item: [threshold numbers]}``. Only free, unlabelled thresholds
    named ``t1``, ``t2``, ... are accepted (as lavaan's default, every threshold is free anyway);
    fixed values, labels and equality constraints on thresholds raise ``ModelSyntaxError``.
    """
    found: dict[str, list[int]] = {}
    lines = []
    for lineno, line in enumerate(model.split("\n"), start=1):
        cut = _comment_start(line)
        code, rest = line[:cut], line[cut:]
        parts = code.split(";")
        offset = 0
        for k, part in enumerate(parts):
            m = _THRESHOLD.match(part)
            if m and not any(op in part for op in ("=~", "~~", "~")):
                item = m.group(2)
                for term in m.group(3).split("+"):
                    text = term.strip()
                    if not _TERM.fullmatch(text):
                        column = offset + part.index("|") + 2
                        raise ModelSyntaxError(
                            f"threshold term {text!r} of {item!r} is not supported: only free "
                            "thresholds 't1 + t2 + ...' (no fixed values or labels)",
                            lineno,
                            column,
                        )
                    found.setdefault(item, []).append(int(text[1:]))
                parts[k] = " " * len(part)
            offset += len(part) + 1
        lines.append(";".join(parts) + rest)
    return "\n".join(lines), found


def _check_thresholds(declared: dict[str, list[int]], poly: PolychoricResult) -> None:
    for item, numbers in declared.items():
        if item not in poly.thresholds:
            raise ModelSyntaxError(
                f"thresholds are given for {item!r}, which is not an indicator of the model", 1, 1
            )
        k = poly.thresholds[item].size
        if sorted(numbers) != list(range(1, k + 1)):
            raise DataError(
                f"{item!r} has {k + 1} observed categories and so {k} thresholds "
                f"(t1 ... t{k}); the model names " + " + ".join(f"t{n}" for n in numbers)
            )


def _ordered_items(observed: Sequence[str], ordered) -> list[str]:
    if ordered is True:
        return list(observed)
    if isinstance(ordered, str):
        ordered = [ordered]
    names = list(ordered)
    missing = [v for v in observed if v not in names]
    if missing:
        raise ValueError(
            "mixed continuous and ordered indicators are not supported yet: declare every "
            f"observed variable of the model as ordered (not ordered: {', '.join(missing)})"
        )
    return list(observed)


def ordinal_cfa(
    model: str,
    data: pd.DataFrame,
    *,
    ordered=True,
    estimator: str = "WLSMV",
    std_lv: bool = False,
    missing: str = "listwise",
    parameterization: str = "delta",
    group: str | None = None,
    orthogonal: bool = False,
) -> OrdinalCFAResult:
    """Fit a CFA with ordered indicators (see the module docstring for the formulas).

    With ``group``, the configural model (lavaan's default without ``group.equal``: every
    parameter free in every group, thresholds per group, scaling factors 1, intercepts and
    latent means 0): the groups are fitted separately and combined as lavaan combines them.
    """
    if parameterization not in ("delta", "theta"):
        raise ValueError("parameterization must be 'delta' or 'theta'")
    if parse_model(split_thresholds(model)[0]).constraints:
        raise ValueError(
            "constraints ('==', '<', '>') are supported with continuous indicators (ML) only"
        )
    if group is not None:
        return _configural(
            model, data, ordered, estimator, std_lv, missing, parameterization, group, orthogonal
        )

    estimator = estimator.upper()
    stripped, declared = split_thresholds(model)
    parsed = parse_model(stripped)
    _check_measurement_only(parsed)
    observed = list(parsed.observed)
    items = _ordered_items(observed, ordered)
    poly = _polychoric_of(data, items, missing)
    _check_thresholds(declared, poly)
    gamma = two_step_gamma(poly)
    spec = build_model(
        parsed, n_groups=1, std_lv=std_lv, meanstructure=False, orthogonal=orthogonal
    )
    struct = _Structure(spec)
    nth = poly.threshold_vector().size
    r = poly.correlation_vector()
    pstar = r.size
    df = pstar - struct.q
    if df < 0:
        raise ModelIdentificationError(
            f"the model is not identified: {struct.q + nth} free parameters but only "
            f"{pstar + nth} sample statistics (df = {df})"
        )
    wd = _diagonal_weights(estimator, gamma)
    w_r = wd[nth:]
    start_full = start_values(spec, [poly.correlation.to_numpy()], [np.zeros(spec.p)])
    theta0 = start_full[struct.keep]
    theta, f_min, converged, iterations, message = _gauss_newton(struct, r, w_r, theta0)
    warnings = []
    if not converged:
        warnings.append(f"the model did not converge: {message}; the estimates are not trustworthy")
    if not poly.converged:
        warnings.append("some polychoric correlations did not converge")
    sig, mats, x = struct.implied(theta)
    n = poly.nobs
    npar = nth + struct.q
    if parameterization == "theta":
        tfit = _ThetaFit(struct, poly)
        params, f_min, conv2, it2, msg2 = tfit.fit(tfit.from_delta(x), r, wd)
        if converged and not conv2:
            warnings.append(f"the model did not converge (theta): {msg2}")
        converged = converged and conv2
        iterations += it2
        sig_full, delta, x, corr = tfit.evaluate(params)
        sig = sig_full[nth:]
    else:
        # full Delta over (thresholds, correlations) x (thresholds, structural)
        delta = np.zeros((nth + pstar, npar))
        delta[:nth, :nth] = np.eye(nth)
        delta[nth:, nth:] = struct.jacobian(mats)
        params = np.concatenate([poly.threshold_vector(), theta])
        corr = mats.sigma
    vcov, e_inv, traces = _sandwich(delta, wd, gamma, n, npar, warnings)
    p = spec.p
    pieces = {
        "n": n,
        "npar": npar,
        "df": df,
        "pstar": pstar,
        "f": f_min,
        "t": max((n - 1) * f_min, 0.0),
        "traces": traces,
        "b_t": (n - 1) * float(np.sum(w_r * r * r)),
        # the baseline's Delta covers the thresholds only: U_b = W on the correlations
        "b_traces": _ugamma_traces(w_r, None, None, gamma[nth:, nth:]),
        "robust": _robust_pieces(n, r, corr, struct, delta[nth:], w_r, gamma[nth:, nth:], e_inv),
        "srmr2": float(np.sum((r - sig) ** 2) / (p * (p + 1) / 2)),
    }
    fm, test = _measures([pieces], estimator)
    estimates = _estimate_table(spec, struct, poly, params, x, vcov, nth, parameterization)
    return OrdinalCFAResult(
        model=model,
        spec=spec,
        estimator=estimator,
        converged=converged,
        iterations=iterations,
        message=message,
        nobs=n,
        nobs_total=len(data),
        missing=missing,
        missing_patterns=_missing_patterns(data, items),
        ordered=items,
        polychoric=poly,
        gamma=gamma,
        vcov=vcov,
        theta=params,
        parameterization=parameterization,
        test=test,
        warnings=warnings + _heywood(spec, x, estimates),
        estimates=estimates,
        _rows=x,
        _fit=fm,
        _pieces=pieces,
    )


def _missing_patterns(data: pd.DataFrame, items: list[str]) -> int:
    """The number of distinct patterns of missing items among the rows with any item observed
    (lavaan's "Number of missing patterns" with ``missing = "pairwise"``)."""
    seen = data[items].isna()
    return int(seen[~seen.all(axis=1)].drop_duplicates().shape[0])


def _check_measurement_only(parsed) -> None:
    """Refuse regressions and defined parameters, not supported with ordered items."""
    structural = sorted({s.op for s in parsed.statements if s.op in ("~", ":=")})
    if structural:
        raise ValueError(
            f"{' and '.join(repr(op) for op in structural)} statements (regressions, defined "
            "parameters) are supported with continuous indicators (estimator ML, MLR, MLM), "
            "not with ordered items; ordered items support '=~', '~~' and thresholds"
        )


def _polychoric_of(data, items: list[str], missing: str) -> PolychoricResult:
    """Thresholds and polychoric correlations of ``items`` in ``data`` (at least two items)."""
    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    absent = [v for v in items if v not in data.columns]
    if absent:
        raise DataError(f"variables named in the model are not in the data: {', '.join(absent)}")
    if len(items) < 2:
        raise DataError("ordinal CFA needs at least two ordered items")
    try:
        return polychoric(data, items, missing=missing)
    except ValueError as exc:
        raise DataError(str(exc)) from None


def _diagonal_weights(estimator: str, gamma: np.ndarray) -> np.ndarray:
    """The diagonal weights over (thresholds, correlations): 1 for ULS, else the inverse
    asymptotic variances 1 / diag(Gamma) (DWLS)."""
    if estimator == "ULSMV":
        return np.ones(gamma.shape[0])
    dg = np.diag(gamma)
    if not np.all(np.isfinite(dg)) or np.any(dg <= 0):
        raise DataError("the asymptotic variances of the polychoric correlations are not finite")
    return 1.0 / dg


def _sandwich(
    delta: np.ndarray, wd: np.ndarray, gamma: np.ndarray, n: int, npar: int, warnings: list
):
    """Robust covariance of the estimates, E^-1 Delta' W Gamma W Delta E^-1 / (N - 1) with
    E = Delta' W Delta, with E^-1 and the U Gamma traces of the scaled tests; NaN, ``None``
    and ``None`` (and a warning) when E is singular."""
    e = delta.T @ (wd[:, None] * delta)
    vcov = np.full((npar, npar), np.nan)
    try:
        e_inv = np.linalg.inv(e)
        wdg = wd[:, None] * delta
        nv = e_inv @ (wdg.T @ gamma @ wdg) @ e_inv
        vcov = 0.5 * (nv + nv.T) / (n - 1)
        traces = _ugamma_traces(wd, wdg, e_inv, gamma)
    except np.linalg.LinAlgError:
        e_inv = None
        traces = None
        warnings.append(
            "the information matrix is singular: the model may be empirically "
            "under-identified, and standard errors could not be computed"
        )
    return vcov, e_inv, traces


def _configural(
    model, data, ordered, estimator, std_lv, missing, parameterization, group, orthogonal=False
):
    from scipy import stats

    if not isinstance(data, pd.DataFrame):
        raise TypeError("data must be a pandas DataFrame")
    if group not in data.columns:
        raise DataError(f"group variable {group!r} is not in the data")
    data = data.loc[data[group].notna()]
    labels = list(pd.unique(data[group]))
    if len(labels) < 2:
        raise DataError(f"group variable {group!r} has fewer than two groups")
    fits = []
    for label in labels:
        sub = data.loc[data[group] == label]
        try:
            fits.append(
                ordinal_cfa(
                    model,
                    sub,
                    ordered=ordered,
                    estimator=estimator,
                    std_lv=std_lv,
                    missing=missing,
                    parameterization=parameterization,
                    orthogonal=orthogonal,
                )
            )
        except ValueError as exc:
            raise type(exc)(f"in group {label!r}: {exc}") from None
    n = sum(f.nobs for f in fits)
    n_groups = len(fits)
    tables, warnings = [], []
    for g, (label, f) in enumerate(zip(labels, fits, strict=True)):
        # lavaan: acov = E^-1 (sum_g f_g B_g) E^-1 / (N - G) with E = sum_g f_g E_g, f_g = N_g/N
        factor = math.sqrt((f.nobs - 1) * n / (f.nobs * (n - n_groups)))
        table = f.estimates.copy()
        table["group"] = g + 1
        table["se"] = table["se"] * factor
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(table["free"], table["est"] / table["se"], np.nan)
        table["z"] = z
        table["pvalue"] = 2.0 * stats.norm.sf(np.abs(z))
        tables.append(table)
        warnings.extend(f"{w} (group {label!r})" for w in f.warnings)
    fm, test = _measures([f._pieces for f in fits], fits[0].estimator)
    return MultiGroupOrdinalCFAResult(
        model=model,
        estimator=fits[0].estimator,
        parameterization=parameterization,
        converged=all(f.converged for f in fits),
        iterations=sum(f.iterations for f in fits),
        message="; ".join(sorted({f.message for f in fits})),
        nobs=n,
        group_nobs=[f.nobs for f in fits],
        group_labels=labels,
        group_var=group,
        missing=missing,
        ordered=fits[0].ordered,
        groups=fits,
        test=test,
        warnings=warnings,
        estimates=pd.concat(tables, ignore_index=True),
        _fit=fm,
    )


class MultiGroupOrdinalCFAResult(OrdinalCFAResult):
    """The configural model over groups: ``groups`` holds each group's
    :class:`OrdinalCFAResult` (SEs there are the single-group ones; :attr:`estimates` has
    lavaan's multi-group SEs)."""

    def composite_reliability(self, obs_var: bool = True) -> pd.DataFrame:
        frames = []
        for g, fit in enumerate(self.groups):
            frame = fit.composite_reliability(obs_var=obs_var)
            frame.insert(0, "group", g + 1)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict:
        return _clean(
            {
                "model": self.model,
                "converged": self.converged,
                "iterations": self.iterations,
                "message": self.message,
                "nobs": self.nobs,
                "group_nobs": self.group_nobs,
                "group_labels": [str(g) for g in self.group_labels],
                "group_var": self.group_var,
                "estimator": self.estimator,
                "parameterization": self.parameterization,
                "missing": self.missing,
                "ordered": list(self.ordered),
                "test": self.test,
                "warnings": self.warnings,
                "estimates": self.estimates,
                "fit_measures": self.fit_measures(),
                "polychoric": [f.polychoric.to_dict() for f in self.groups],
                "composite_reliability": self.composite_reliability(),
            }
        )


def _robust_pieces(n, r, sigma, struct, delta_r, w_r, gamma_r, e_inv) -> dict | None:
    """One group's parts of lavaan 0.6-14's robust CFI/TLI/RMSEA for categorical data
    (``lav_fit_catml_dwls``): T3 = N [log|Sigma| - log|R| + tr(R Sigma^-1) - p] (the ML
    discrepancy of the fitted correlation matrix: catML at the DWLS estimates), T3_0 = -N log|R|
    (independence), ks = tr(A' V A Gamma_r) with A = I - Delta_r E^-1 Delta_r' W and V the
    normal-theory weight of correlations at Sigma (V_(ab)(cd) = s^ac s^bd + s^ad s^bc), and
    tr(Gamma_r). None when R is not positive definite (lavaan's check) or E is singular.
    """
    p = sigma.shape[0]
    rmat = np.eye(p)
    rmat[struct.ii, struct.jj] = r
    rmat[struct.jj, struct.ii] = r
    if e_inv is None or np.linalg.eigvalsh(rmat)[0] < np.sqrt(np.finfo(float).eps):
        return None
    s_inv = np.linalg.inv(sigma)
    _, logdet_s = np.linalg.slogdet(sigma)
    _, logdet_r = np.linalg.slogdet(rmat)
    a, b = struct.ii, struct.jj
    v = s_inv[np.ix_(a, a)] * s_inv[np.ix_(b, b)] + s_inv[np.ix_(a, b)] * s_inv[np.ix_(b, a)]
    # ks with A = I - P, P = Delta_r Q, Q = E^-1 Delta_r' W (rank q):
    # tr(V Gamma) - 2 tr(V P Gamma) + tr((Delta_r' V Delta_r)(Q Gamma Q')), without k x k x k
    q_mat = e_inv @ (delta_r.T * w_r[None, :])
    q_gamma = q_mat @ gamma_r
    v_delta = v @ delta_r
    ks = (
        float(np.sum(v * gamma_r))
        - 2.0 * float(np.sum(v_delta * q_gamma.T))
        + float(np.sum((delta_r.T @ v_delta) * (q_gamma @ q_mat.T)))
    )
    return {
        "t3": n * (logdet_s - logdet_r + float(np.sum(rmat * s_inv)) - p),
        "t3_null": -n * logdet_r,
        "ks": ks,
        "tr_gamma": float(np.trace(gamma_r)),
    }


def _robust_measures(pieces: list[dict], df: int, n1: int, n_groups: int) -> dict:
    """cfi.robust = 1 - max(T3 - c3 df, 0) / max(T3 - c3 df, T3_0 - c3_0 df_0, 0) (TLI
    likewise) with c3 = ks / df and c3_0 = sum_g tr(Gamma_r,g) N / N_g / df_0;
    rmsea.robust = sqrt(max(T3 / (N' df) - c3 / N', 0)) sqrt(G) with N' = N - G, and the
    interval and p-value from T3 / c3 with the limits multiplied by sqrt(c3)."""
    from scipy import stats

    keys = (
        "cfi_robust",
        "tli_robust",
        "rmsea_robust",
        "rmsea_ci_lower_robust",
        "rmsea_ci_upper_robust",
        "rmsea_pvalue_robust",
    )
    parts = [pc["robust"] for pc in pieces]
    if df <= 0 or any(pt is None for pt in parts):
        return dict.fromkeys(keys, np.nan)
    t3 = sum(pt["t3"] for pt in parts)
    t3_null = sum(pt["t3_null"] for pt in parts)
    df0 = sum(pc["pstar"] for pc in pieces)
    c3 = sum(pt["ks"] for pt in parts) / df
    n = sum(pc["n"] for pc in pieces)
    # lavaan: tr of bdiag(Gamma_g / f_g), f_g = N_g / N
    c3_null = sum(pt["tr_gamma"] * n / pc["n"] for pt, pc in zip(parts, pieces, strict=True)) / df0
    t1 = max(t3 - c3 * df, 0.0)
    t2 = max(t3 - c3 * df, t3_null - c3_null * df0, 0.0)
    cfi = 1.0 if (t1 <= 1.5e-8 and t2 <= 1.5e-8) else 1.0 - t1 / t2
    u1 = (t3 - c3 * df) * df0
    u2 = (t3_null - c3_null * df0) * df
    tli = 1.0 - u1 / u2 if abs(u2) > 0 else 1.0
    rmsea = math.sqrt(max(t3 / n1 / df - c3 / n1, 0.0)) * math.sqrt(n_groups)
    scaled = t3 / c3
    lo, hi, _ = rmsea_interval(scaled, df, n1, n_groups)
    ncp = n1 * df / c3 * 0.05**2 / n_groups
    pvalue = 1.0 - float(stats.ncx2.cdf(scaled, df, ncp))
    values = (cfi, tli, rmsea, math.sqrt(c3) * lo, math.sqrt(c3) * hi, pvalue)
    return dict(zip(keys, values, strict=True))


def _measures(pieces: list[dict], estimator: str) -> tuple[dict, dict]:
    """Fit measures and tests from each group's pieces (sums over groups, as lavaan:
    T = sum_g (N_g - 1) F_g, traces of U Gamma summed, N' = N - G and sqrt(G) in RMSEA, SRMR
    averaged with weights N_g / N)."""
    from scipy import stats

    g_count = len(pieces)
    n = sum(pc["n"] for pc in pieces)
    npar = sum(pc["npar"] for pc in pieces)
    df = sum(pc["df"] for pc in pieces)
    pstar = sum(pc["pstar"] for pc in pieces)
    t_stat = sum(pc["t"] for pc in pieces)
    kind = _TEST[estimator]
    if all(pc["traces"] is not None for pc in pieces):
        traces = tuple(sum(pc["traces"][k] for pc in pieces) for k in (0, 1))
        scaled = _scaled_test(kind, t_stat, df, traces)
    else:
        scaled = {"stat": np.nan, "df": df, "scaling_factor": np.nan, "shift_parameter": np.nan}
    b_stat = sum(pc["b_t"] for pc in pieces)
    b_traces = tuple(sum(pc["b_traces"][k] for pc in pieces) for k in (0, 1))
    b_scaled = _scaled_test(kind, b_stat, pstar, b_traces)
    test = {"standard": {"stat": t_stat, "df": df}, kind: scaled}
    uls = estimator == "ULSMV"
    fmin = sum(0.5 * (pc["n"] - 1) / pc["n"] * pc["f"] * pc["n"] for pc in pieces) / n
    fm = {
        "npar": npar,
        "nobs": n,
        "fmin": fmin,
        "chisq": t_stat,
        "df": df,
        "pvalue": np.nan if uls or df == 0 else float(stats.chi2.sf(t_stat, df)),
        "chisq_scaled": scaled["stat"],
        "df_scaled": df,
        "pvalue_scaled": float(stats.chi2.sf(scaled["stat"], df)) if df > 0 else np.nan,
        "chisq_scaling_factor": scaled["scaling_factor"],
    }
    if kind == "scaled.shifted":
        fm["chisq_shift_parameter"] = scaled["shift_parameter"]
    fm.update(
        {
            "baseline_chisq": b_stat,
            "baseline_df": pstar,
            "baseline_pvalue": np.nan if uls else float(stats.chi2.sf(b_stat, pstar)),
            "baseline_chisq_scaled": b_scaled["stat"],
            "baseline_df_scaled": pstar,
            "baseline_pvalue_scaled": float(stats.chi2.sf(b_scaled["stat"], pstar)),
            "baseline_chisq_scaling_factor": b_scaled["scaling_factor"],
            "cfi": _cfi(t_stat, df, b_stat, pstar),
            "tli": _tli(t_stat, df, b_stat, pstar),
            "cfi_scaled": _cfi(scaled["stat"], df, b_scaled["stat"], pstar),
            "tli_scaled": _tli(scaled["stat"], df, b_scaled["stat"], pstar),
        }
    )
    n1 = n - g_count  # lavaan's lav_utils_get_ntotal: N - G for estimators other than ML

    def rmsea(x2, dfx):
        if not (np.isfinite(x2) and np.isfinite(dfx)):
            return np.nan
        if dfx <= 0:
            return 0.0
        return float(math.sqrt(max(x2 / n1 / dfx - 1.0 / n1, 0.0)) * math.sqrt(g_count))

    lo, hi, pc_ = rmsea_interval(t_stat, df, n1, g_count)
    fm.update(
        {
            "rmsea": rmsea(t_stat, df),
            "rmsea_ci_lower": lo,
            "rmsea_ci_upper": hi,
            "rmsea_pvalue": pc_,
        }
    )
    if kind == "scaled.shifted":
        x2s, df2 = scaled["stat"], df
    else:
        x2s, df2 = t_stat, scaled.get("trace_ugamma", np.nan)
    lo, hi, pc_ = rmsea_interval(x2s, df2, n1, g_count)
    fm.update(
        {
            "rmsea_scaled": rmsea(x2s, df2),
            "rmsea_ci_lower_scaled": lo,
            "rmsea_ci_upper_scaled": hi,
            "rmsea_pvalue_scaled": pc_,
        }
    )
    fm.update(_robust_measures(pieces, df, n1, g_count))
    fm["srmr"] = sum(pc["n"] / n * math.sqrt(pc["srmr2"]) for pc in pieces)
    counts = ("npar", "nobs", "df", "df_scaled", "baseline_df", "baseline_df_scaled")
    return {k: int(v) if k in counts else float(v) for k, v in fm.items()}, test


class _ThetaFit:
    """The theta parameterisation: residual variances of the items fixed at 1, thresholds and
    correlations implied through the scaling 1 / sqrt(diag Sigma):
    tau*_k = tau_k / sqrt(sigma_ii), rho_ij = sigma_ij / sqrt(sigma_ii sigma_jj)."""

    def __init__(self, struct: _Structure, poly: PolychoricResult):
        self.struct = struct
        self.spec = struct.spec
        names = poly.threshold_names()
        index = {v: k for k, v in enumerate(self.spec.observed)}
        self.item_of = np.array([index[nm.split("|")[0]] for nm in names], dtype=np.intp)
        self.nth = len(names)
        self._obs_tau = poly.threshold_vector()

    def rows(self, params):
        st, t = self.struct, self.spec.table
        x = np.array(t.value, dtype=float)
        x[st.rows] = params[self.nth :][st.col_of_row]
        x[st.derived_rows] = 1.0
        return x

    def from_delta(self, x_delta: np.ndarray) -> np.ndarray:
        """The theta-parameterised equivalent of a delta solution (start values)."""
        st, t = self.struct, self.spec.table
        p = self.spec.p
        resid = np.ones(p)
        resid[t.row[st.derived_rows]] = x_delta[st.derived_rows]
        scale = 1.0 / np.sqrt(np.maximum(resid, 1e-6))
        vals = x_delta.copy()
        for i in st.rows:
            if t.matrix[i] == LAMBDA:
                vals[i] *= scale[t.row[i]]
            elif t.matrix[i] == THETA:
                vals[i] *= scale[t.row[i]] * scale[t.col[i]]
        structural = np.zeros(st.q)
        structural[st.col_of_row[::-1]] = vals[st.rows][::-1]  # first row of each parameter
        return np.concatenate([self._obs_tau * scale[self.item_of], structural])

    def evaluate(self, params):
        """(implied statistics, Delta, row values, implied correlation matrix)."""
        st, nth = self.struct, self.nth
        x = self.rows(params)
        mats = self.spec.matrices(x, 0)
        sigma = mats.sigma
        var = np.diag(sigma)
        sd = np.sqrt(var)
        ii, jj = st.ii, st.jj
        tau = params[:nth]
        implied_tau = tau / sd[self.item_of]
        rho = sigma[ii, jj] / (sd[ii] * sd[jj])
        t = self.spec.table
        rows = st.rows
        u, v, s, _ = derivative_vectors(mats, t.matrix[rows], t.row[rows], t.col[rows], False)
        u, v = u.toarray(), v.toarray()
        d_pair = s * (u[ii] * v[jj] + v[ii] * u[jj])
        diag_idx = np.arange(self.spec.p)
        d_diag = s * 2.0 * u[diag_idx] * v[diag_idx]
        d_rho_rows = d_pair / (sd[ii] * sd[jj])[:, None] - 0.5 * rho[:, None] * (
            d_diag[ii] / var[ii][:, None] + d_diag[jj] / var[jj][:, None]
        )
        d_tau_rows = (
            -0.5 * (tau / var[self.item_of] / sd[self.item_of])[:, None] * d_diag[self.item_of]
        )
        q = st.q
        delta = np.zeros((nth + ii.size, nth + q))
        delta[:nth, :nth] = np.diag(1.0 / sd[self.item_of])
        block = np.zeros((nth + ii.size, q))
        np.add.at(block.T, st.col_of_row, np.concatenate([d_tau_rows, d_rho_rows]).T)
        delta[:, nth:] = block
        corr = sigma / np.outer(sd, sd)
        return np.concatenate([implied_tau, rho]), delta, x, corr

    def fit(self, params, r, wd):
        obs = np.concatenate([self._obs_tau, r])

        def value(pr):
            sig = self.evaluate(pr)[0]
            return float(np.sum(wd * (obs - sig) ** 2))

        def normal_equations(pr):
            sig, d, _, _ = self.evaluate(pr)
            dw = d * wd[:, None]
            return d.T @ dw, dw.T @ (obs - sig)

        return gauss_newton(value, normal_equations, params, max_iter=500)


def _heywood(spec, x, estimates) -> list[str]:
    out = []
    t = spec.table
    for i in range(len(t)):
        if t.matrix[i] in (THETA, PSI) and t.row[i] == t.col[i] and x[i] < 0:
            kind = "residual variance" if t.matrix[i] == THETA else "variance"
            out.append(f"Heywood case: the {kind} of {t.lhs[i]!r} is negative ({x[i]:.4g})")
    return out


def _estimate_table(spec, struct, poly, params, x, vcov, nth, parameterization) -> pd.DataFrame:
    from scipy import stats

    t = spec.table
    se_all = np.sqrt(np.maximum(np.diag(vcov), 0.0))
    se_all[~np.isfinite(np.diag(vcov))] = np.nan
    se = np.zeros(len(t))
    free = np.zeros(len(t), dtype=bool)
    free[struct.rows] = True
    se[struct.rows] = se_all[nth + struct.col_of_row]
    std_lv, std_all = standardize(spec, x)
    rows = {
        "lhs": list(t.lhs),
        "op": list(t.op),
        "rhs": list(t.rhs),
        "group": np.ones(len(t), dtype=int),
        "label": list(t.label),
        "free": free,
        "est": x,
        "se": se,
        "std_lv": std_lv,
        "std_all": std_all,
    }
    table = pd.DataFrame(rows)
    names = poly.threshold_names()
    th = params[:nth]
    # std.all of a threshold is tau / sd(y*): 1 in the delta parameterisation, the implied
    # variance of the latent response in the theta parameterisation
    implied_var = np.diag(spec.matrices(x, 0).sigma)
    position = {name: j for j, name in enumerate(spec.observed)}
    sd = np.sqrt([implied_var[position[nm.split("|")[0]]] for nm in names])
    thr = pd.DataFrame(
        {
            "lhs": [nm.split("|")[0] for nm in names],
            "op": "|",
            "rhs": [nm.split("|")[1] for nm in names],
            "group": 1,
            "label": "",
            "free": True,
            "est": th,
            "se": se_all[:nth],
            "std_lv": th,
            "std_all": th / sd,
        }
    )
    table = pd.concat([table, thr], ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(table["free"], table["est"] / table["se"], np.nan)
    table["z"] = z
    table["pvalue"] = 2.0 * stats.norm.sf(np.abs(z))
    return table[COLUMNS + ["std_lv", "std_all"]]


_ = LAMBDA  # re-exported matrix codes are used by the table above through spec


def gauss_newton(
    value, normal_equations, x: np.ndarray, *, max_iter: int, stall_converges: bool = False
):
    """Minimise the weighted least-squares discrepancy ``value`` by Gauss-Newton steps
    step = (Delta' W Delta)^-1 Delta' W (s - sigma(x)), ``normal_equations(x)`` returning the
    two factors, each step halved until the discrepancy does not increase; converged when the
    step is below 1e-10 or, with ``stall_converges``, when a halved step changes the
    discrepancy by less than 1e-15. Returns (x, f, converged, iterations, message)."""
    f = value(x)
    converged, message, it = False, "", 0
    for it in range(1, max_iter + 1):  # noqa: B007 (it is the iteration count afterwards)
        info, grad = normal_equations(x)
        try:
            step = np.linalg.solve(info, grad)
        except np.linalg.LinAlgError:
            message = "singular information matrix during estimation"
            break
        moved = halving_line_search(value, x, f, step)
        if moved is None:
            message = "the line search failed"
            break
        f_old = f
        x, f, scale = moved
        stalled = stall_converges and abs(f_old - f) < 1e-15 and scale < 1
        if np.max(np.abs(scale * step)) < 1e-10 or stalled:
            converged = True
            break
    else:
        message = f"the iteration limit ({max_iter}) was reached"
    return x, f, converged, it, "converged" if converged else message


def halving_line_search(value, x: np.ndarray, f: float, step: np.ndarray):
    """The Gauss-Newton step ``step`` from ``x``, halved until the discrepancy ``value`` does
    not increase (relative slack 1e-14): ``(x_new, f_new, scale)``, or None below 1e-8."""
    scale = 1.0
    while scale > 1e-8:
        new = x + scale * step
        f_new = value(new)
        if np.isfinite(f_new) and f_new <= f + 1e-14 * max(abs(f), 1.0):
            return new, f_new, scale
        scale *= 0.5
    return None
