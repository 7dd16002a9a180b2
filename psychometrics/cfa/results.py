"""The result object of :func:`psychometrics.cfa.cfa`."""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd
from scipy import stats

from .._json import jsonable as _clean  # the package's one JSON converter
from . import reliability
from .blas import single_threaded_blas
from .defined import definition_jacobian, evaluate_definitions
from .estimation import Estimate, Objective
from .fit import fit_measures, srmr
from .model import BETA, LAMBDA, PSI, THETA, ModelSpec
from .modification import modification_indices
from .standardized import standardize, std_all_jacobian, std_all_se
from .structural import baseline_loglik, covariate_indices, covariate_loglik, fixed_moments
from .summary import summary as summary_text

__all__ = ["CFAResult"]

ESTIMATE_COLUMNS = [
    "lhs",
    "op",
    "rhs",
    "group",
    "label",
    "free",
    "est",
    "se",
    "z",
    "pvalue",
    "std_lv",
    "std_all",
    "se_std_all",
]


class CFAResult:
    """A fitted CFA: estimates, fit measures, modification indices, reliability.

    Attributes
    ----------
    converged, iterations, message : bool, int, str
        Optimizer outcome.
    nobs : int
        Observations used (all groups).
    group_labels : list
        Group labels in order of appearance in the data (``[None]`` for one group).
    warnings : list of str
        Plain-language warnings (non-convergence, Heywood cases, singular information).
    estimates : DataFrame
        One row per parameter: lhs, op, rhs, group, label, free, est, se, z, pvalue, std_lv,
        std_all, se_std_all.
    information : str
        "expected" or "observed": the information matrix behind the standard errors (the bread
        of the sandwich for MLR and MLM).
    estimator : str
        "ML", "MLR" or "MLM" (see :func:`psychometrics.cfa.cfa`).
    robust : RobustFit or None
        Robust SEs and scaled tests (MLR, MLM; :mod:`psychometrics.cfa.robust`).
    constraints : LinearConstraints or None
        The model's ``==``, ``<``, ``>`` constraints, with the inequalities active at the
        solution (:mod:`psychometrics.cfa.constraints`); ``npar`` and ``df`` count the equalities.
    """

    constraints = None

    def __init__(
        self,
        *,
        model: str,
        spec: ModelSpec,
        objective: Objective,
        estimate: Estimate,
        vcov: np.ndarray,
        expected_information: np.ndarray,
        information: str,
        group_labels: list,
        group_var: str | None,
        std_lv: bool,
        missing: str,
        warnings: list[str],
        estimator: str = "ML",
        robust=None,
        definitions: tuple = (),
    ):
        self.model = model
        self.spec = spec
        self.objective = objective
        self.theta = estimate.theta
        self.converged = estimate.converged
        self.iterations = estimate.iterations
        self.message = estimate.message
        self.vcov = vcov
        self.information = information
        self.group_labels = list(group_labels)
        self.group_var = group_var
        self.std_lv = std_lv
        self.missing = missing
        self.estimator = estimator
        self.robust = robust
        self.definitions = tuple(definitions)
        self.nobs = int(objective.n)
        self.group_nobs = [int(g.n) for g in objective.groups]
        self.warnings = list(warnings)
        self._expected = expected_information
        self._implied = spec.implied(self.theta)
        self.estimates = self._estimate_table()
        self.warnings.extend(self._heywood_warnings())

    # -- tables ----------------------------------------------------------------------------
    def implied_covariance(self, group: int = 1) -> pd.DataFrame:
        """The model-implied covariance matrix of the observed variables, Sigma(theta) =
        Lambda Psi Lambda' + Theta, of ``group`` (1-based, as in :attr:`estimates`)."""
        if not 1 <= group <= len(self._implied):
            raise ValueError(f"group must be between 1 and {len(self._implied)}, not {group}")
        names = list(self.spec.observed)
        return pd.DataFrame(np.array(self._implied[group - 1].sigma), index=names, columns=names)

    def _estimate_table(self) -> pd.DataFrame:
        spec, t = self.spec, self.spec.table
        x = spec.row_values(self.theta)
        free = t.free >= 0
        se = np.zeros(len(t))
        if spec.n_free:
            se[free] = np.sqrt(np.maximum(np.diag(self.vcov), 0.0))[t.free[free]]
            se[free & ~np.isfinite(np.diag(self.vcov))[np.maximum(t.free, 0)]] = np.nan
        with np.errstate(divide="ignore", invalid="ignore"):
            z = np.where(free, x / se, np.nan)
        pvalue = 2.0 * stats.norm.sf(np.abs(z))
        std_lv, std_all = standardize(spec, x)
        table = pd.DataFrame(
            {
                "lhs": list(t.lhs),
                "op": list(t.op),
                "rhs": list(t.rhs),
                "group": t.group + 1,
                "label": list(t.label),
                "free": free,
                "est": x,
                "se": se,
                "z": z,
                "pvalue": pvalue,
                "std_lv": std_lv,
                "std_all": std_all,
                "se_std_all": std_all_se(spec, self.theta, self.vcov),
            },
            columns=ESTIMATE_COLUMNS,
        )
        if not self.definitions:
            return table
        return pd.concat([table, self._defined_table(x, std_lv, std_all)], ignore_index=True)

    def _defined_table(self, x, std_lv, std_all) -> pd.DataFrame:
        """The ``:=`` rows (lavaan's ``parameterEstimates``): see :mod:`.defined`."""
        spec, defs = self.spec, self.definitions
        est = evaluate_definitions(defs, spec, x)
        se = np.full(len(defs), np.nan)
        se_std = np.full(len(defs), np.nan)
        if spec.n_free and np.all(np.isfinite(self.vcov)):
            jac = definition_jacobian(defs, spec, self.theta)
            se = np.sqrt(np.maximum(np.sum((jac @ self.vcov) * jac, axis=1), 0.0))
            h = 1e-30
            std_c = std_all[None, :] + 1j * h * std_all_jacobian(spec, self.theta).T
            jac_std = (evaluate_definitions(defs, spec, std_c).imag / h).T
            var = np.sum((jac_std @ self.vcov) * jac_std, axis=1)
            se_std = np.sqrt(np.maximum(var, 0.0))
        with np.errstate(divide="ignore", invalid="ignore"):
            z = est / se
        return pd.DataFrame(
            {
                "lhs": [d.name for d in defs],
                "op": ":=",
                "rhs": [d.expression for d in defs],
                "group": 0 if spec.n_groups > 1 else 1,
                "label": [d.name for d in defs],
                "free": False,
                "est": est,
                "se": se,
                "z": z,
                "pvalue": 2.0 * stats.norm.sf(np.abs(z)),
                "std_lv": evaluate_definitions(defs, spec, std_lv),
                "std_all": evaluate_definitions(defs, spec, std_all),
                "se_std_all": se_std,
            },
            columns=ESTIMATE_COLUMNS,
        )

    def _group_name(self, g: int) -> str:
        label = self.group_labels[g]
        return "" if label is None else f" in group {label!r}"

    def _heywood_warnings(self) -> list[str]:
        out = []
        t, est = self.spec.table, self.estimates
        for i in range(len(t)):
            where = self._group_name(int(t.group[i]))
            if t.matrix[i] in (THETA, PSI) and t.row[i] == t.col[i] and est["est"].iat[i] < 0:
                kind = "residual variance" if t.matrix[i] == THETA else "variance"
                out.append(
                    f"Heywood case: the {kind} of {t.lhs[i]!r} is negative "
                    f"({est['est'].iat[i]:.4g}){where}"
                )
            if t.matrix[i] in (LAMBDA, BETA) and t.op[i] == "=~" and abs(est["std_all"].iat[i]) > 1:
                out.append(
                    f"Heywood case: the standardised loading of {t.rhs[i]!r} on "
                    f"{t.lhs[i]!r} exceeds 1 ({est['std_all'].iat[i]:.4g}){where}"
                )
        for g, mats in enumerate(self._implied):
            if self.spec.m > 1 and np.linalg.eigvalsh(mats.phi)[0] < 0:
                out.append(
                    "Heywood case: the covariance matrix of the factors is not positive "
                    f"definite{self._group_name(g)}"
                )
        return out

    # -- fit -------------------------------------------------------------------------------
    @cached_property
    def _fit(self) -> dict:
        spec = self.spec
        ms = spec.meanstructure
        logl = h1 = base = 0.0
        srmr_total = 0.0
        for g, (grp, mats) in enumerate(zip(self.objective.groups, self._implied, strict=True)):
            logl += grp.loglik(mats.sigma, mats.mu if ms else None)
            h1 += grp.h1_loglik()
            base += (
                baseline_loglik(grp, covariate_indices(spec))
                if spec.fixed_x
                else grp.baseline_loglik()
            )
            if spec.fixed_x:  # lavaan reports the likelihood conditional on the covariates
                x_logl = covariate_loglik(grp, covariate_indices(spec))
                logl, h1, base = logl - x_logl, h1 - x_logl, base - x_logl
            cov, mean = grp.h1_moments()
            srmr_total += self.objective.weights[g] * srmr(
                cov, mean if ms else None, mats.sigma, mats.mu if ms else None
            )
        p, n_groups = spec.p, spec.n_groups
        moments = n_groups * (p * (p + 1) // 2 + (p if ms else 0)) - fixed_moments(spec)
        k = len(spec.fixed_x)
        out = fit_measures(
            logl=logl,
            h1_logl=h1,
            baseline_logl=base,
            npar=spec.n_free - (self.constraints.n_equal if self.constraints is not None else 0),
            n=self.nobs,
            n_groups=n_groups,
            moments=moments,
            baseline_df=n_groups * (p * (p - 1) // 2 - k * (k - 1) // 2),
            srmr_value=srmr_total,
        )
        if self.robust is not None:
            out.update(self.robust.fit_measures(out, n=self.nobs, n_groups=n_groups))
        return out

    def fit_measures(self) -> dict:
        """Fit measures with lavaan's names ('.' replaced by '_'); see :mod:`.fit`, and for MLR
        and MLM the scaled and robust ones (``chisq_scaled``, ``cfi_robust``, ...) of
        :mod:`.robust`."""
        return dict(self._fit)

    # -- modification indices ----------------------------------------------------------------
    @cached_property
    def _mi(self) -> pd.DataFrame:
        with single_threaded_blas():
            return modification_indices(
                self.objective,
                self.theta,
                self._expected,
                self.group_labels,
                basis=None if self.constraints is None else self.constraints.basis,
            )

    def score_test(self, epc: bool = False, release=None):
        """Score tests for releasing the model's equality constraints (lavaan's
        ``lavTestScore``); see :func:`psychometrics.cfa.score_test.score_test`."""
        from .score_test import score_test

        with single_threaded_blas():
            return score_test(self, epc=epc, release=release)

    def modification_indices(self, sort: bool = True, minimum: float = 0.0) -> pd.DataFrame:
        """Score tests for fixed parameters (lavaan's ``modindices``); see :mod:`.modification`."""
        out = self._mi[self._mi["mi"] >= minimum]
        if sort:
            out = out.sort_values("mi", ascending=False, kind="stable")
        return out.reset_index(drop=True)

    # -- reliability and validity ------------------------------------------------------------
    def _factor_items(self) -> dict[str, list[int]]:
        t = self.spec.table
        out: dict[str, list[int]] = {}
        for j, name in enumerate(self.spec.latent):
            items = [
                int(t.row[i])
                for i in range(len(t))
                if t.group[i] == 0 and t.matrix[i] == LAMBDA and t.col[i] == j
            ]
            if items:
                out[name] = items
        return out

    def composite_reliability(self) -> pd.DataFrame:
        """Omega and AVE of every first-order factor (semTools ``compRelSEM`` / ``AVE``)."""
        frames = []
        for g, mats in enumerate(self._implied):
            cov = self.objective.groups[g].h1_moments()[0]
            frame = reliability.composite_reliability(
                self._factor_items(), mats.lam, mats.phi, cov, self.spec.latent
            )
            if self.spec.n_groups > 1:
                frame.insert(0, "group", g + 1)
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)

    def htmt(self, data: pd.DataFrame | None = None, htmt2: bool = True) -> pd.DataFrame:
        """Heterotrait-monotrait ratio of correlations (semTools ``htmt``; default HTMT2).

        ``data`` gives the item correlations (complete rows); without it the (first group's)
        sample covariance matrix used in the fit is converted to correlations.
        """
        observed = list(self.spec.observed)
        if data is not None:
            x = data[observed].dropna().to_numpy(dtype=float)
            cor = np.corrcoef(x, rowvar=False)
        else:
            cov = self.objective.groups[0].h1_moments()[0]
            sd = np.sqrt(np.diag(cov))
            cor = cov / np.outer(sd, sd)
        return reliability.htmt(self._factor_items(), cor, htmt2=htmt2)

    def fornell_larcker(self) -> pd.DataFrame:
        """sqrt(AVE) on the diagonal and factor correlations off it (first group)."""
        rel = self.composite_reliability()
        if "group" in rel:
            rel = rel[rel["group"] == 1]
        ave = pd.Series(rel["ave"].to_numpy(), index=rel["factor"])
        return reliability.fornell_larcker(ave, self._implied[0].phi, self.spec.latent)

    # -- export ----------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """Everything above as JSON-serialisable values (NaN -> None)."""
        fl = self.fornell_larcker()
        ht = self.htmt()
        return _clean(
            {
                "model": self.model,
                "converged": self.converged,
                "iterations": self.iterations,
                "message": self.message,
                "nobs": self.nobs,
                "group_nobs": self.group_nobs,
                "group_labels": [None if g is None else str(g) for g in self.group_labels],
                "information": self.information,
                "estimator": self.estimator,
                "robust": None if self.robust is None else self.robust.to_dict(),
                "warnings": self.warnings,
                "estimates": self.estimates,
                "fit_measures": self.fit_measures(),
                "modification_indices": self.modification_indices(),
                "composite_reliability": self.composite_reliability(),
                "htmt": {"factors": list(ht.index), "values": ht.to_numpy().tolist()},
                "fornell_larcker": {"factors": list(fl.index), "values": fl.to_numpy().tolist()},
            }
        )

    def summary(self) -> str:
        """The fit as lavaan 0.6-14's ``summary(fit, fit.measures = TRUE, standardized = TRUE)``
        prints it: header, model tests, CFI/TLI, information criteria, RMSEA, SRMR and the
        parameter estimates with standardised solutions (see :mod:`.summary`)."""
        return summary_text(self)

    def __repr__(self) -> str:
        fm = self.fit_measures()
        return (
            f"CFAResult(nobs={self.nobs}, npar={fm['npar']}, chisq={fm['chisq']:.3f}, "
            f"df={fm['df']}, cfi={fm['cfi']:.3f}, rmsea={fm['rmsea']:.3f}, "
            f"converged={self.converged})"
        )
