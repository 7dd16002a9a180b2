"""Text summary of an ordinal CFA (WLSMV, WLSM, ULSMV) laid out as lavaan 0.6-14's
``summary(fit, fit.measures = TRUE, standardized = TRUE)`` of a categorical fit.

Built from the blocks of :mod:`.summary` (same row layout, same 3-decimal numbers). What a
categorical fit prints differently from a continuous one:

- header: the estimator is ``DWLS`` (WLSMV, WLSM) or ``ULS`` (ULSMV);
- "Model Test User Model": Standard and Scaled columns, the scaling correction factor and,
  for ``scaled.shifted`` (WLSMV, ULSMV), the shift parameter and "simple second-order
  correction" (WLSM: "Satorra-Bentler correction"); with ULS the standard statistic has no
  p-value ("P-value (Unknown)", NA);
- no loglikelihood block; the standard errors are ``Robust.sem`` with the information of the
  ``Unstructured`` saturated model;
- the parameter blocks add Intercepts (the fixed zeros of the latent responses and of the
  factors, as lavaan lists them), Thresholds and "Scales y*" (Delta = 1 / sqrt(diag Sigma*):
  1 in the delta parameterisation, the implied scale in the theta one, Std.all 1).

The not-close-fit p-values (H_0: RMSEA >= 0.08) are lavaan 0.6-14's
``lav_fit_rmsea_notclosefit`` with N' = N - G: standard P(chi2_df(ncp) <= T), ncp = N' df
0.08^2 / G; scaled with T_ss and df (scaled.shifted) or with T and tr(U Gamma) as df (WLSM);
robust with T3 / c3, df and ncp = N' df 0.08^2 / (c3 G), T3 and c3 of the categorical ML
discrepancy (``lav_fit_catml_dwls``; see :func:`.ordinal._robust_measures`).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .summary import (
    CLOSE_H0,
    LABEL_WIDTH,
    NOTCLOSE_H0,
    PARAM_COLUMNS,
    PARAM_LABEL_WIDTH,
    PARAM_WIDTH,
    VALUE_WIDTH,
    _blank,
    _blocks,
    _cells,
    _endogenous,
    _name,
    _notclose,
    _row,
)

__all__ = ["ordinal_summary"]

_Row = namedtuple("_Row", "Index lhs op rhs free est se z pvalue std_lv std_all")
_CORRECTION = {
    "scaled.shifted": "simple second-order correction",
    "satorra.bentler": "Satorra-Bentler correction",
}


def _header(res, fm) -> list[str]:
    state = "ended normally" if res.converged else "did NOT end normally"
    est = res.estimates
    free_rows = int(np.sum(est["free"].astype(bool)))
    lines = [
        f"psychometrics ordinal CFA {state} after {res.iterations} iterations",
        "",
        _row("Estimator", "ULS" if res.estimator == "ULSMV" else "DWLS"),
        _row("Optimization method", "GAUSS-NEWTON"),
        _row("Number of model parameters", free_rows),
    ]
    if free_rows > fm["npar"]:  # labels shared by several rows
        lines.append(_row("Number of equality constraints", free_rows - fm["npar"]))
    lines.append("")
    total = getattr(res, "nobs_total", res.nobs)
    if res.missing == "listwise" and total != res.nobs:
        lines.append(_row("", "Used", "Total"))
        return lines + [_row("Number of observations", res.nobs, total)]
    lines.append(_row("Number of observations", res.nobs))
    if res.missing == "pairwise":
        lines.append(_row("Number of missing patterns", res.missing_patterns))
    return lines


def _test_block(res, fm) -> list[str]:
    kind = "satorra.bentler" if res.estimator == "WLSM" else "scaled.shifted"
    p_label = "P-value (Unknown)" if res.estimator == "ULSMV" else "P-value (Chi-square)"
    lines = [
        "",
        "Model Test User Model:",
        _row("", "Standard", "Scaled"),
        _row("Test Statistic", fm["chisq"], fm["chisq_scaled"]),
        _row("Degrees of freedom", fm["df"], fm["df_scaled"]),
        _row(p_label, fm["pvalue"], fm["pvalue_scaled"]),
        _row("Scaling correction factor", "", fm["chisq_scaling_factor"]),
    ]
    if kind == "scaled.shifted":
        lines.append(_row("Shift parameter", "", fm["chisq_shift_parameter"]))
    lines.append(_row(_CORRECTION[kind], indent=4).ljust(LABEL_WIDTH + 2 * VALUE_WIDTH))
    lines += ["", "Model Test Baseline Model:", ""]
    for label, key in (
        ("Test statistic", "baseline_chisq"),
        ("Degrees of freedom", "baseline_df"),
        ("P-value", "baseline_pvalue"),
    ):
        lines.append(_row(label, fm[key], fm[f"{key}_scaled"]))
    lines.append(_row("Scaling correction factor", "", fm["baseline_chisq_scaling_factor"]))
    lines += [
        "",
        "User Model versus Baseline Model:",
        "",
        _row("Comparative Fit Index (CFI)", fm["cfi"], fm["cfi_scaled"]),
        _row("Tucker-Lewis Index (TLI)", fm["tli"], fm["tli_scaled"]),
        _blank(2),
        _row("Robust Comparative Fit Index (CFI)", "", fm["cfi_robust"]),
        _row("Robust Tucker-Lewis Index (TLI)", "", fm["tli_robust"]),
    ]
    return lines


def _robust_notclose(res, fm, n1: int) -> float:
    """P(chi2_df(ncp) <= T3 / c3), ncp = N' df 0.08^2 / c3 (one group)."""
    part = res._pieces["robust"]
    df = fm["df"]
    if part is None or df <= 0:
        return np.nan
    c3 = part["ks"] / df
    return _notclose(part["t3"] / c3, df, n1, 1, c3)


def _rmsea_block(res, fm) -> list[str]:
    n1 = res.nobs - 1  # lavaan's N - G for estimators other than ML
    if res.estimator == "WLSM":
        scaled = (fm["chisq"], res.test["satorra.bentler"].get("trace_ugamma", np.nan))
    else:
        scaled = (fm["chisq_scaled"], fm["df"])
    notclose = (_notclose(fm["chisq"], fm["df"], n1, 1), _notclose(*scaled, n1, 1))
    lines = ["", "Root Mean Square Error of Approximation:", ""]
    for label, key in (
        ("RMSEA", "rmsea"),
        ("90 Percent confidence interval - lower", "rmsea_ci_lower"),
        ("90 Percent confidence interval - upper", "rmsea_ci_upper"),
        (f"P-value H_0: RMSEA <= {CLOSE_H0:.3f}", "rmsea_pvalue"),
    ):
        lines.append(_row(label, fm[key], fm[f"{key}_scaled"]))
    lines.append(_row(f"P-value H_0: RMSEA >= {NOTCLOSE_H0:.3f}", *notclose))
    lines.append(_blank(2))
    for label, value in (
        ("Robust RMSEA", fm["rmsea_robust"]),
        ("90 Percent confidence interval - lower", fm["rmsea_ci_lower_robust"]),
        ("90 Percent confidence interval - upper", fm["rmsea_ci_upper_robust"]),
        (f"P-value H_0: Robust RMSEA <= {CLOSE_H0:.3f}", fm["rmsea_pvalue_robust"]),
        (f"P-value H_0: Robust RMSEA >= {NOTCLOSE_H0:.3f}", _robust_notclose(res, fm, n1)),
    ):
        lines.append(_row(label, "", value))
    lines += ["", "Standardized Root Mean Square Residual:", ""]
    return lines + [_row("SRMR", fm["srmr"], fm["srmr"])]


def _rows(res) -> tuple[list[_Row], list[str]]:
    """The estimates' rows, then the fixed zero intercepts (items, then factors), then the
    scales y* (op ``~*~``), with their labels."""
    est = res.estimates
    rows, labels = [], []
    for r in est.itertuples(index=False):
        values = (r.est, r.se, r.z, r.pvalue, r.std_lv, r.std_all)
        rows.append(_Row(len(rows), r.lhs, r.op, r.rhs, bool(r.free), *values))
        labels.append(r.label if isinstance(r.label, str) else "")
    spec = res.spec
    for name in [*spec.observed, *spec.latent]:
        rows.append(_Row(len(rows), name, "~1", "", False, 0.0, None, None, None, 0.0, 0.0))
        labels.append("")
    if res.parameterization == "theta":
        sigma = spec.matrices(res._rows, 0).sigma
        scales = 1.0 / np.sqrt(np.diag(sigma))
    else:
        scales = np.ones(spec.p)
    for name, s in zip(spec.observed, scales, strict=True):
        rows.append(_Row(len(rows), name, "~*~", name, False, s, None, None, None, s, 1.0))
        labels.append("")
    return rows, labels


def _estimates(res) -> list[str]:
    lines = [
        "",
        "Parameter Estimates:",
        "",
        _row("Standard errors", "Robust.sem"),
        _row("Information", "Expected"),
        _row("Information saturated (h1) model", "Unstructured"),
        "",
    ]
    rows, labels = _rows(res)
    lines += _blocks(rows, _endogenous(res), labels)
    head = " " * PARAM_LABEL_WIDTH + "".join(c.rjust(PARAM_WIDTH) for c in PARAM_COLUMNS)
    lines += ["Scales y*:", head]
    lines += [_name(r.lhs, "", 4) + _cells(r) for r in rows if r.op == "~*~"]
    return lines


def ordinal_summary(res) -> str:
    """The lavaan-style text of a one-group
    :class:`~psychometrics.cfa.ordinal.OrdinalCFAResult` (see the module docstring)."""
    if not isinstance(getattr(res, "_pieces", None), dict):
        raise ValueError(
            "summary() of a multi-group ordinal fit is not supported; supported: one group "
            "(use fit_measures() and estimates)"
        )
    fm = res.fit_measures()
    lines = _header(res, fm) + _test_block(res, fm) + _rmsea_block(res, fm) + _estimates(res)
    return "\n".join([*lines, ""]) + "\n"  # lavaan ends with an empty line
