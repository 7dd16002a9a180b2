"""The COSMIN summary: one rating per measurement property from one instrument's sections.

Ratings follow the COSMIN criteria for good measurement properties (Prinsen et al. 2018,
*Quality of Life Research* 27:1147, table 1; after Terwee et al. 2007): ``sufficient``,
``insufficient`` or ``indeterminate`` (not enough information to judge). Each row says what
was found (``result``) and the criterion it was judged against (``criterion``).

- Structural validity: sufficient when the first-order CFA has CFI or TLI > 0.95, or
  RMSEA < 0.06, or SRMR < 0.08 (COSMIN's criterion; the structural section's own verdict
  applies the stricter Hu & Bentler reading, all four at once), on the measures the
  section judges (its ``judged``: the robust CFI/TLI/RMSEA of a WLSMV or MLR fit).
- Internal consistency: indeterminate unless structural validity is sufficient; then
  sufficient when every subconstruct's alpha is at least 0.70, else insufficient.
- Reliability: sufficient when every test-retest ICC is at least 0.70, else insufficient;
  indeterminate with fewer than two waves.
- Measurement error: sufficient when the SDC is below the minimal important change; the
  platform knows no MIC yet, so indeterminate (the SDCs are in the section).
- Hypotheses testing for construct validity: sufficient when at least 75 % of the
  hypotheses stated before the run are met; indeterminate without hypotheses.
- Cross-cultural validity / measurement invariance: sufficient when scalar (or strict)
  invariance holds across the run's groups (delivery mode or a covariate), insufficient when
  only configural or metric does; indeterminate without a group comparison. Invariance
  across waves (the repeated-measures model) is reported in the section, not rated here.
- Criterion validity: sufficient when the AUC of the baseline scores for dropout is at
  least 0.70 (or a correlation with a criterion at least 0.70), else insufficient.
- Responsiveness: judged by hypotheses about change or an AUC against an anchor;
  indeterminate without them (effect sizes are in the section).
"""

from __future__ import annotations

from typing import Any

__all__ = ["RATINGS", "summary"]

SUFFICIENT, INSUFFICIENT, INDETERMINATE = "sufficient", "insufficient", "indeterminate"
RATINGS = (SUFFICIENT, INSUFFICIENT, INDETERMINATE)


def _row(property_: str, section: str, result: str, criterion: str, rating: str) -> dict:
    return {
        "property": property_,
        "section": section,
        "result": result,
        "criterion": criterion,
        "rating": rating,
    }


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def structural_row(structural: dict[str, Any]) -> dict[str, Any]:
    criterion = "CFI or TLI > 0.95, or RMSEA < 0.06, or SRMR < 0.08 (first-order model)"
    model = structural.get("first_order") or {}
    measures = model.get("fit_measures") or {}
    if not model.get("converged") or not measures:
        result = model.get("reason") or "the first-order model was not fitted or did not converge"
        return _row("Structural validity", "structural_validity", result, criterion, INDETERMINATE)
    judged = model.get("judged") or {}
    cfi, tli, rmsea, srmr = (
        measures.get(judged.get(k, k)) for k in ("cfi", "tli", "rmsea", "srmr")
    )
    met = (
        (cfi is not None and cfi > 0.95)
        or (tli is not None and tli > 0.95)
        or (rmsea is not None and rmsea < 0.06)
        or (srmr is not None and srmr < 0.08)
    )
    result = f"CFI {_fmt(cfi)}, TLI {_fmt(tli)}, RMSEA {_fmt(rmsea)}, SRMR {_fmt(srmr)}"
    if judged and judged.get("cfi") != "cfi":
        result += f" ({model.get('estimator')}: {', '.join(judged.values())})"
    rating = SUFFICIENT if met else INSUFFICIENT
    return _row("Structural validity", "structural_validity", result, criterion, rating)


def consistency_row(consistency: dict[str, Any], structural_rating: str) -> dict[str, Any]:
    criterion = "structural validity sufficient and alpha >= 0.70 for every subconstruct"
    alphas = {
        entry["code"]: (entry.get("alpha") or {}).get("alpha")
        for entry in consistency.get("subconstructs", [])
    }
    known = {code: value for code, value in alphas.items() if value is not None}
    if not known:
        return _row(
            "Internal consistency",
            "internal_consistency",
            "no alpha could be computed",
            criterion,
            INDETERMINATE,
        )
    low = sorted(code for code, value in known.items() if value < 0.70)
    result = (
        f"alpha {min(known.values()):.2f} to {max(known.values()):.2f} over "
        f"{len(known)} subconstructs" + (f"; below 0.70: {', '.join(low)}" if low else "")
    )
    if structural_rating != SUFFICIENT:
        result += " (structural validity not sufficient)"
        rating = INDETERMINATE
    else:
        rating = INSUFFICIENT if low else SUFFICIENT
    return _row("Internal consistency", "internal_consistency", result, criterion, rating)


def reliability_rows(retest: dict[str, Any]) -> list[dict[str, Any]]:
    criterion = "ICC(A,1) >= 0.70 for every construct score between adjacent waves"
    error_criterion = "SDC below the minimal important change (MIC)"
    if not retest.get("available", False):
        reason = retest.get("reason", "fewer than two waves")
        return [
            _row("Reliability", "test_retest", reason, criterion, INDETERMINATE),
            _row("Measurement error", "test_retest", reason, error_criterion, INDETERMINATE),
        ]
    iccs = [
        entry["icc"]
        for pair in retest.get("pairs", [])
        for entry in pair.get("constructs", [])
        if entry.get("icc") is not None
    ]
    if not iccs:
        reliability = _row(
            "Reliability", "test_retest", "no ICC could be computed", criterion, INDETERMINATE
        )
    else:
        low = sum(1 for icc in iccs if icc < 0.70)
        result = f"ICC {min(iccs):.2f} to {max(iccs):.2f} ({len(iccs)} estimates, {low} below 0.70)"
        reliability = _row(
            "Reliability", "test_retest", result, criterion, INSUFFICIENT if low else SUFFICIENT
        )
    error = _row(
        "Measurement error",
        "test_retest",
        "SDC computed per construct; no MIC is defined for the IEM-DP yet",
        error_criterion,
        INDETERMINATE,
    )
    return [reliability, error]


def hypotheses_row(hypotheses: dict[str, Any] | None) -> dict[str, Any]:
    criterion = "at least 75 % of the hypotheses stated before the run are met"
    tested = [e for e in (hypotheses or {}).get("results", []) if e.get("met") is not None]
    if not tested:
        return _row(
            "Hypotheses testing for construct validity",
            "hypotheses",
            "no hypotheses were stated before the run, or none could be tested",
            criterion,
            INDETERMINATE,
        )
    met = sum(1 for entry in tested if entry.get("met"))
    share = met / len(tested)
    return _row(
        "Hypotheses testing for construct validity",
        "hypotheses",
        f"{met} of {len(tested)} met ({share:.0%})",
        criterion,
        SUFFICIENT if share >= 0.75 else INSUFFICIENT,
    )


def criterion_row(criterion_section: dict[str, Any]) -> dict[str, Any]:
    criterion = "AUC >= 0.70 for dropout (or r >= 0.70 with a criterion)"
    if not criterion_section.get("available", False):
        return _row(
            "Criterion validity",
            "criterion_validity",
            criterion_section.get("reason", "no outcomes uploaded"),
            criterion,
            INDETERMINATE,
        )
    aucs = [
        (model["outcome"], model["auc"])
        for model in criterion_section.get("logistic", [])
        if model.get("auc") is not None and model.get("predictors") == "all"
    ]
    if not aucs:
        return _row(
            "Criterion validity",
            "criterion_validity",
            "no binary outcome to predict",
            criterion,
            INDETERMINATE,
        )
    best = max(aucs, key=lambda pair: pair[1])
    return _row(
        "Criterion validity",
        "criterion_validity",
        f"AUC {best[1]:.2f} for {best[0]} from the baseline construct scores",
        criterion,
        SUFFICIENT if best[1] >= 0.70 else INSUFFICIENT,
    )


def invariance_row(section: dict[str, Any]) -> dict[str, Any]:
    criterion = (
        "scalar invariance across groups (no important differences: Chen 2007, "
        "ΔCFI ≥ −0.010 and ΔRMSEA ≤ 0.015 per step)"
    )
    groups = section.get("groups") or {}
    name = "Cross-cultural validity / measurement invariance"
    if not groups.get("available") or groups.get("highest_level") is None:
        reason = groups.get("reason") or section.get("reason") or "no group comparison was run"
        return _row(name, "invariance", reason, criterion, INDETERMINATE)
    highest = groups["highest_level"]
    result = f"{groups.get('label', 'groups')}: {highest} invariance holds"
    rating = SUFFICIENT if highest in ("scalar", "strict") else INSUFFICIENT
    return _row(name, "invariance", result, criterion, rating)


def summary(sections: dict[str, Any]) -> dict[str, Any]:
    """The COSMIN table of one instrument's sections."""
    structural = structural_row(sections.get("structural_validity", {}))
    rows = [
        structural,
        consistency_row(sections.get("internal_consistency", {}), structural["rating"]),
        *reliability_rows(sections.get("test_retest", {})),
        hypotheses_row(sections.get("hypotheses")),
        invariance_row(sections.get("invariance", {})),
        criterion_row(sections.get("criterion_validity", {})),
        _row(
            "Responsiveness",
            "responsiveness",
            "effect sizes reported; no hypotheses about change or anchor were given",
            "at least 75 % of hypotheses about change met, or AUC >= 0.70 against an anchor",
            INDETERMINATE,
        ),
    ]
    return {"rows": rows, "reference": "Prinsen et al. 2018, Qual Life Res 27:1147, table 1"}
