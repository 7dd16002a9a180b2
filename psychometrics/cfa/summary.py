"""Text summary of a fitted CFA laid out as lavaan 0.6-14's
``summary(fit, fit.measures = TRUE, standardized = TRUE)``.

Blocks, rows and labels are lavaan's, numbers rounded to 3 decimals as lavaan prints them:
the header (estimator, optimisation method, number of parameters and of observations, per
group), the user model's test (with MLR / MLM a ``Scaled`` column, the scaling factor and the
correction's name; per group with several groups), the baseline model's test, CFI/TLI (and the
robust ones), log-likelihoods and information criteria (with MLR the H0/H1 scaling factors),
RMSEA with its 90 % interval and the close-fit (<= .05) and not-close-fit (>= .08) p-values
(scaled and robust with MLR / MLM), SRMR, and the parameter estimates per group (Latent
Variables, Regressions, Covariances, Intercepts, Variances, and after them Defined Parameters)
with Estimate, Std.Err, z-value, P(>|z|), Std.lv and Std.all. A leading ``.`` marks the residual
(co)variance or intercept of an endogenous variable, as in lavaan; the fixed moments of
exogenous covariates (fixed.x) are left out, as lavaan leaves them out. What differs from
lavaan: the first line names this engine and its own iteration count, and the optimisation
method is the engine's (Fisher scoring).

The not-close-fit p-values are lavaan's ``lav_fit_rmsea_notclosefit``: P(chi2_df(ncp) <= T) with
ncp = N df 0.08^2 / (c G) (MacCallum, Browne & Sugawara, 1996,
https://doi.org/10.1037/1082-989X.1.2.130).
"""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

__all__ = ["summary"]

LABEL_WIDTH = 42  # two spaces of indent and a 40-character label
VALUE_WIDTH = 12
PARAM_LABEL_WIDTH = 18
PARAM_WIDTH = 9
PARAM_COLUMNS = ("Estimate", "Std.Err", "z-value", "P(>|z|)", "Std.lv", "Std.all")
NOTCLOSE_H0 = 0.08
CLOSE_H0 = 0.05

_CORRECTION = {
    "yuan.bentler.mplus": "Yuan-Bentler correction (Mplus variant)",
    "yuan.bentler": "Yuan-Bentler correction",
    "satorra.bentler": "Satorra-Bentler correction",
}


def _num(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return str(int(value))
    value = float(value)
    if not math.isfinite(value):
        return "NA"
    text = f"{value:.3f}"
    return "0.000" if text == "-0.000" else text


def _row(label: str, *values, indent: int = 2) -> str:
    cells = "".join(
        _num(v).rjust(VALUE_WIDTH) if not isinstance(v, str) else v.rjust(VALUE_WIDTH)
        for v in values
    )
    return (" " * indent + label).ljust(LABEL_WIDTH) + cells


def _blank(columns: int) -> str:
    return " " * (LABEL_WIDTH + VALUE_WIDTH * columns)


def _notclose(chisq: float, df: float, n: int, n_groups: int, c_hat: float = 1.0) -> float:
    if not (np.isfinite(chisq) and np.isfinite(df) and np.isfinite(c_hat)) or df <= 0:
        return np.nan
    ncp = n * df / c_hat * NOTCLOSE_H0**2 / n_groups
    return float(stats.ncx2.cdf(chisq, df, ncp))


def _group_chisq(res) -> list[float]:
    ms = res.spec.meanstructure
    out = []
    for grp, mats in zip(res.objective.groups, res._implied, strict=True):
        logl = grp.loglik(mats.sigma, mats.mu if ms else None)
        out.append(max(2.0 * (grp.h1_loglik() - logl), 0.0))
    return out


def _group_label(label) -> str:
    return str(label)


# --------------------------------------------------------------------------- header
def _header(res) -> list[str]:
    t = res.spec.table
    free_rows = int(np.sum(t.free >= 0))
    state = "ended normally" if res.converged else "did NOT end normally"
    lines = [
        f"psychometrics CFA {state} after {res.iterations} iterations",
        "",
        _row("Estimator", "ML"),
        _row("Optimization method", "FISHER"),
        _row("Number of model parameters", free_rows),
    ]
    lin = getattr(res, "constraints", None)
    n_equal = free_rows - res.spec.n_free + (lin.n_equal if lin is not None else 0)
    if n_equal:
        lines.append(_row("Number of equality constraints", n_equal))
    if lin is not None and lin.inequal:
        lines.append(_row("Number of inequality constraints", len(lin.inequal)))
    lines.append("")
    groups = res.group_labels
    if len(groups) == 1:
        lines.append(_row("Number of observations", res.nobs))
    else:
        lines.append(_row("Number of observations per group:").ljust(LABEL_WIDTH + VALUE_WIDTH))
        lines += [
            _row(_group_label(g), n, indent=4) for g, n in zip(groups, res.group_nobs, strict=True)
        ]
    if res.missing == "ml":
        counts = [len(getattr(g, "patterns", ())) for g in res.objective.groups]
        if len(groups) == 1:
            lines.append(_row("Number of missing patterns", counts[0]))
        else:
            lines.append(
                _row("Number of missing patterns per group:").ljust(LABEL_WIDTH + VALUE_WIDTH)
            )
            lines += [
                _row(_group_label(g), c, indent=4) for g, c in zip(groups, counts, strict=True)
            ]
    return lines


# --------------------------------------------------------------------------- fit blocks
def _robust_x3(res, fm) -> tuple[float, float]:
    """The robust statistic's (T scaled, c): FIML-corrected under missing='ml' (as robust.py)."""
    fiml = res.robust.fiml
    if fiml is None:
        return fm["chisq_scaled"], fm["chisq_scaling_factor"]
    x3, c3 = fiml.chisq, fiml.scaling_factor
    return (x3 / c3 if np.isfinite(c3) and c3 > 0 else np.nan), c3


def _fit_blocks(res) -> list[str]:
    """The fit sections of lavaan's ``summary()``: the user model's test, the baseline model,
    CFI/TLI, loglikelihood and information criteria, RMSEA and SRMR (with a "Scaled" column
    for MLM/MLR)."""
    fm = res.fit_measures()
    return (
        _user_test_block(res, fm)
        + _baseline_block(res, fm)
        + _comparison_block(res, fm)
        + _loglik_block(res, fm)
        + _rmsea_block(res, fm)
        + _srmr_block(res, fm)
    )


def _columns(res, fm):
    """Whether the fit has robust results, and the values of a measure in the summary's
    columns: ``pair`` (standard, scaled) and ``same`` (the standard value in both)."""
    robust = res.robust is not None

    def pair(key):
        return (fm[key], fm[f"{key}_scaled"]) if robust else (fm[key],)

    def same(key):
        return (fm[key], fm[key]) if robust else (fm[key],)

    return robust, pair, same


def _user_test_block(res, fm) -> list[str]:
    """ "Model Test User Model": chi-square, df, p-value (scaling and correction with robust
    tests) and the chi-square of each group."""
    robust, pair, _ = _columns(res, fm)
    cols = 2 if robust else 1
    lines = ["", "Model Test User Model:"]
    if robust:
        lines.append(_row("", "Standard", "Scaled"))
        lines.append(_row("Test Statistic", fm["chisq"], fm["chisq_scaled"]))
    else:
        lines.append(_blank(1))
        lines.append(_row("Test statistic", fm["chisq"]))
    lines.append(_row("Degrees of freedom", *pair("df")))
    lines.append(_row("P-value (Chi-square)", *pair("pvalue")))
    if robust:
        lines.append(_row("Scaling correction factor", "", fm["chisq_scaling_factor"]))
        name = _CORRECTION.get(res.robust.test.test, res.robust.test.test)
        lines.append(_row(name, indent=4).ljust(LABEL_WIDTH + VALUE_WIDTH * cols))
    if len(res.group_labels) > 1:
        lines.append("  Test statistic for each group:")
        c = fm["chisq_scaling_factor"] if robust else 1.0
        for label, t in zip(res.group_labels, _group_chisq(res), strict=True):
            values = (t, t / c) if robust else (t,)
            lines.append(_row(_group_label(label), *values, indent=4))
    return lines


def _baseline_block(res, fm) -> list[str]:
    """ "Model Test Baseline Model": the independence model's chi-square, df and p-value."""
    robust, pair, _ = _columns(res, fm)
    lines = ["", "Model Test Baseline Model:", ""]
    lines.append(_row("Test statistic", *pair("baseline_chisq")))
    lines.append(_row("Degrees of freedom", *pair("baseline_df")))
    lines.append(_row("P-value", *pair("baseline_pvalue")))
    if robust:
        lines.append(_row("Scaling correction factor", "", fm["baseline_chisq_scaling_factor"]))
    return lines


def _comparison_block(res, fm) -> list[str]:
    """ "User Model versus Baseline Model": CFI and TLI (and their robust versions)."""
    robust, pair, _ = _columns(res, fm)
    lines = ["", "User Model versus Baseline Model:", ""]
    lines.append(_row("Comparative Fit Index (CFI)", *pair("cfi")))
    lines.append(_row("Tucker-Lewis Index (TLI)", *pair("tli")))
    pad = ("",) if robust else ()  # robust values go in the Scaled column
    if "cfi_robust" in fm:  # MLR, MLM; lavaan also shows them for ML with missing = "ml"
        lines.append(_blank(2 if robust else 1))
        lines.append(_row("Robust Comparative Fit Index (CFI)", *pad, fm["cfi_robust"]))
        lines.append(_row("Robust Tucker-Lewis Index (TLI)", *pad, fm["tli_robust"]))
    return lines


def _loglik_block(res, fm) -> list[str]:
    """ "Loglikelihood and Information Criteria": H0 and H1 loglikelihoods (with MLR's scaling
    factors), AIC, BIC and the sample-size adjusted BIC."""
    robust, _, same = _columns(res, fm)
    mlr = robust and "scaling_factor_h0" in fm
    lines = ["", "Loglikelihood and Information Criteria:", ""]
    lines.append(_row("Loglikelihood user model (H0)", *same("logl")))
    if mlr:
        lines.append(_row("Scaling correction factor", "", fm["scaling_factor_h0"]))
        lines.append(_row("for the MLR correction", indent=6).ljust(LABEL_WIDTH + 2 * VALUE_WIDTH))
    lines.append(_row("Loglikelihood unrestricted model (H1)", *same("unrestricted_logl")))
    if mlr:
        lines.append(_row("Scaling correction factor", "", fm["scaling_factor_h1"]))
        lines.append(_row("for the MLR correction", indent=6).ljust(LABEL_WIDTH + 2 * VALUE_WIDTH))
    lines.append(_blank(2 if robust else 1))
    lines.append(_row("Akaike (AIC)", *same("aic")))
    lines.append(_row("Bayesian (BIC)", *same("bic")))
    lines.append(_row("Sample-size adjusted Bayesian (SABIC)", *same("bic2")))
    return lines


def _rmsea_block(res, fm) -> list[str]:
    """ "Root Mean Square Error of Approximation": RMSEA, its 90% interval and the close- and
    not-close-fit p-values (scaled, and the robust RMSEA, with robust tests)."""
    robust, pair, _ = _columns(res, fm)
    n, n_groups = res.nobs, len(res.group_labels)
    notclose = [_notclose(fm["chisq"], fm["df"], n, n_groups)]
    if robust:
        df2 = res.robust.test.trace_ugamma if fm["df"] > 0 else np.nan
        notclose.append(_notclose(fm["chisq"], df2, n, n_groups))
    lines = ["", "Root Mean Square Error of Approximation:", ""]
    lines.append(_row("RMSEA", *pair("rmsea")))
    if robust:
        lower = (fm["rmsea_ci_lower"], fm["rmsea_ci_lower_scaled"])
        upper = (fm["rmsea_ci_upper"], fm["rmsea_ci_upper_scaled"])
        close = (fm["rmsea_pvalue"], fm["rmsea_pvalue_scaled"])
    else:
        lower, upper, close = (
            (fm["rmsea_ci_lower"],),
            (fm["rmsea_ci_upper"],),
            (fm["rmsea_pvalue"],),
        )
    lines.append(_row("90 Percent confidence interval - lower", *lower))
    lines.append(_row("90 Percent confidence interval - upper", *upper))
    lines.append(_row(f"P-value H_0: RMSEA <= {CLOSE_H0:.3f}", *close))
    lines.append(_row(f"P-value H_0: RMSEA >= {NOTCLOSE_H0:.3f}", *notclose))
    if "rmsea_robust" in fm:
        lines += _robust_rmsea_lines(res, fm, robust, n, n_groups)
    return lines


def _robust_rmsea_lines(res, fm, robust: bool, n: int, n_groups: int) -> list[str]:
    """The robust RMSEA (in the Scaled column with robust tests), its interval and p-values."""
    if robust:
        x3_scaled, c3 = _robust_x3(res, fm)
        robust_notclose = _notclose(x3_scaled, fm["df"], n, n_groups, c3)
    else:
        robust_notclose = fm.get("rmsea_notclose_pvalue_robust", np.nan)
    pad = ("",) if robust else ()
    lines = [_blank(2 if robust else 1), _row("Robust RMSEA", *pad, fm["rmsea_robust"])]
    for label, value in (
        ("90 Percent confidence interval - lower", fm["rmsea_ci_lower_robust"]),
        ("90 Percent confidence interval - upper", fm["rmsea_ci_upper_robust"]),
        (f"P-value H_0: Robust RMSEA <= {CLOSE_H0:.3f}", fm["rmsea_pvalue_robust"]),
        (f"P-value H_0: Robust RMSEA >= {NOTCLOSE_H0:.3f}", robust_notclose),
    ):
        lines.append(_row(label, *pad, value))
    return lines


def _srmr_block(res, fm) -> list[str]:
    """ "Standardized Root Mean Square Residual"."""
    _, _, same = _columns(res, fm)
    return ["", "Standardized Root Mean Square Residual:", "", _row("SRMR", *same("srmr"))]


# --------------------------------------------------------------------------- estimates
def _se_lines(res) -> list[str]:
    if res.robust is not None and res.robust.se == "robust.huber.white":
        lines = [_row("Standard errors", "Sandwich"), _row("Information bread", "Observed")]
        if res.information == "observed":
            return lines + [_row("Observed information based on", "Hessian")]
        lines[1] = _row("Information bread", "Expected")
        return lines + [_row("Information saturated (h1) model", "Structured")]
    kind = "Robust.sem" if res.robust is not None else "Standard"
    lines = [_row("Standard errors", kind)]
    if res.information == "observed":
        return lines + [
            _row("Information", "Observed"),
            _row("Observed information based on", "Hessian"),
        ]
    return lines + [
        _row("Information", "Expected"),
        _row("Information saturated (h1) model", "Structured"),
    ]


def _endogenous(res) -> set[str]:
    """Variables shown with a leading '.': observed ones and factors that are indicators of
    another factor or regressed on something."""
    est = res.estimates
    out = set(res.spec.observed)
    out |= set(est.loc[est["op"] == "=~", "rhs"])
    out |= set(est.loc[est["op"] == "~", "lhs"])
    return out


def _cells(row) -> str:
    free = bool(row.free) or row.op == ":="
    values = [row.est]
    values += [row.se, row.z, row.pvalue] if free else [None, None, None]
    values += [row.std_lv, row.std_all]
    return "".join(_num(v).rjust(PARAM_WIDTH) for v in values)


def _name(text: str, label: str, indent: int) -> str:
    left = " " * indent + text
    if label:
        tag = f"({label})"
        left = left.ljust(PARAM_LABEL_WIDTH - len(tag) - 1) + " " + tag
    return left.ljust(PARAM_LABEL_WIDTH)


def _blocks(rows, endo: set[str], labels: list[str]) -> list[str]:
    width = PARAM_LABEL_WIDTH + PARAM_WIDTH * len(PARAM_COLUMNS)
    head = " " * PARAM_LABEL_WIDTH + "".join(c.rjust(PARAM_WIDTH) for c in PARAM_COLUMNS)
    kinds = (
        ("Latent Variables:", lambda r: r.op == "=~", True),
        ("Regressions:", lambda r: r.op == "~", True),
        ("Covariances:", lambda r: r.op == "~~" and r.lhs != r.rhs, True),
        ("Intercepts:", lambda r: r.op == "~1", False),
        ("Thresholds:", lambda r: r.op == "|", False),
        ("Variances:", lambda r: r.op == "~~" and r.lhs == r.rhs, False),
        ("Defined Parameters:", lambda r: r.op == ":=", False),
    )
    out: list[str] = []
    for title, keep, nested in kinds:
        chosen = [r for r in rows if keep(r)]
        if not chosen:
            continue
        out += [title, head]
        current = None
        for r in chosen:
            label = labels[r.Index]
            if nested:
                dot = "." if r.op == "~~" and r.lhs in endo else ""
                if r.lhs != current:
                    out.append(f"{' ' if dot else '  '}{dot}{r.lhs} {r.op}".ljust(width))
                    current = r.lhs
                rdot = "." if r.op == "~~" and r.rhs in endo else ""
                out.append(_name(f"{rdot}{r.rhs}", label, 3 if rdot else 4) + _cells(r))
            elif r.op == "|":
                out.append(_name(f"{r.lhs}|{r.rhs}", label, 4) + _cells(r))
            else:
                dot = "." if r.lhs in endo else ""
                out.append(_name(f"{dot}{r.lhs}", label, 3 if dot else 4) + _cells(r))
        out.append("")
    return out


def _labels(res) -> list[str]:
    """Each row's label: the user's, else lavaan's ``.pN.`` (N the row number of the first
    row sharing the parameter) for a parameter held equal across rows (``group_equal``)."""
    t = res.spec.table
    first: dict[int, int] = {}
    shared: dict[int, int] = {}
    for i, k in enumerate(t.free):
        if k >= 0:
            shared[k] = shared.get(k, 0) + 1
            first.setdefault(int(k), i)
    out = []
    for i, label in enumerate(t.label):
        k = int(t.free[i])
        if isinstance(label, str) and label:
            out.append(label)
        elif k >= 0 and shared[k] > 1:
            out.append(f".p{first[k] + 1}.")
        else:
            out.append("")
    out += [""] * (len(res.estimates) - len(out))  # ':=' rows: printed without a label tag
    return out


def _hidden(res) -> set[int]:
    """Rows lavaan's summary leaves out: the fixed moments of exogenous covariates."""
    spec, t = res.spec, res.spec.table
    xs = {spec.latent[j] for j in spec.fixed_x}
    return {
        i
        for i in range(len(t))
        if t.free[i] < 0 and t.lhs[i] in xs and (t.op[i] == "~1" or t.rhs[i] in xs)
    }


def _estimates(res) -> list[str]:
    lines = ["", "Parameter Estimates:", "", *_se_lines(res), ""]
    endo = _endogenous(res)
    est = res.estimates
    labels = _labels(res)
    hidden = _hidden(res)
    several = len(res.group_labels) > 1
    for g, label in enumerate(res.group_labels, start=1):
        rows = [r for r in est[est["group"] == g].itertuples(index=True) if r.Index not in hidden]
        if several:
            lines += ["", f"Group {g} [{_group_label(label)}]:", ""]
        lines += _blocks(rows, endo, labels)
    if several and (est["group"] == 0).any():  # defined parameters, after all groups
        lines += ["", *_blocks(list(est[est["group"] == 0].itertuples(index=True)), endo, labels)]
    while len(lines) > 1 and lines[-1] == lines[-2] == "":
        lines.pop()
    return lines


def summary(res) -> str:
    """The lavaan-style text of a :class:`~psychometrics.cfa.results.CFAResult` (see the
    module docstring)."""
    return "\n".join(_header(res) + _fit_blocks(res) + _estimates(res) + _constraints(res)) + "\n"


def _constraints(res) -> list[str]:
    """lavaan's "Constraints: |Slack|" block: |lhs - rhs| (for '<': |rhs - lhs|) at the
    estimates, one per explicit constraint."""
    lin = getattr(res, "constraints", None)
    if lin is None:
        return []
    theta = np.asarray(res.theta)
    lines = ["", "Constraints:", _row("", "|Slack|")]
    for k, c in enumerate(lin.equal):
        lines.append(_row(f"{c.lhs} - ({c.rhs})", abs(lin.A[k] @ theta - lin.b[k]), indent=4))
    for k, c in enumerate(lin.inequal):
        text = f"{c.lhs} - ({c.rhs})" if c.op == ">" else f"{c.rhs} - ({c.lhs})"
        lines.append(_row(text, abs(lin.C[k] @ theta - lin.d[k]), indent=4))
    return lines
