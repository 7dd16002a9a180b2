"""Structural validity of a validation run: CFA of the instrument's models, EFA diagnostics.

At the analysed wave (:func:`.items.analysed_rows`: the selected wave, else baseline; the
reverse-keyed rows with every item answered), three analyses:

- **first_order**: the CFA with one factor per subconstruct on its items, the factors
  covarying freely; **second_order**: the same with one second-order factor per construct
  on its subconstruct factors. Both from
  :func:`instruments.measurement_model.measurement_model`, fitted with
  :func:`psychometrics.cfa.cfa` with ``ordered=True, estimator="WLSMV"`` on the complete
  rows (listwise deletion): the items have at most five response options, and for so few
  categories lavaan's and Mplus' practice is to treat them as ordered, diagonally weighted
  least squares on the polychoric correlations with the mean- and variance-adjusted
  (scaled-shifted) test (Rhemtulla, Brosseau-Liard & Savalei 2012,
  doi:10.1037/a0029315). Each item's thresholds are those of its *observed* categories: a
  response option nobody chose is collapsed away, as lavaan does (:mod:`psychometrics.
  polychoric`), and the report names such items. An item with a single observed value has
  no threshold and no polychoric correlation: neither model is fitted and the report says
  which item. When WLSMV fails (an error or no convergence) the model is fitted by robust
  ML (``MLR``: Huber-White SEs, Yuan-Bentler scaled test) with the items as continuous,
  and ``estimator_reason`` says why.
- Each model's fit measures carry lavaan's ``fitMeasures()`` names and are judged against
  Hu & Bentler's (1999, doi:10.1080/10705519909540118) cut-offs: CFI >= .95, TLI >= .95,
  RMSEA <= .06, SRMR <= .08, on the *robust* CFI, TLI and RMSEA (``cfi.robust``,
  ``tli.robust``, ``rmsea.robust``, as lavaan 0.6-14 computes them for WLSMV and MLR; the
  ``.scaled`` ones when the robust ones cannot be computed) and SRMR; ``judged`` names the
  measures used. The cut-offs were derived for ML with continuous data; with WLSMV they
  are conventions, not calibrated criteria (Xia & Yang 2019, doi:10.3758/s13428-018-1055-2).
  The verdict is *good* when all four are met, *acceptable* when each is at least within
  the conventional acceptable range (CFI and TLI >= .90, RMSEA <= .08, SRMR <= .10; Marsh,
  Hau & Wen 2004, doi:10.1207/s15328007sem1103_2; Browne & Cudeck 1993), else *poor*.
- **comparison**: the second-order model is nested in the first-order one (it constrains
  the factor correlations). With MLR the Satorra-Bentler (2001) scaled chi-square
  difference (:func:`psychometrics.cfa.lrt.lrt`) beside AIC and BIC. With WLSMV there is
  no likelihood (no AIC/BIC) and the engine has no DWLS difference test (lavaan's
  ``satorra.2000`` / Mplus DIFFTEST), so the comparison is descriptive: the change in
  the robust CFI and RMSEA, judged as an invariance step (Chen 2007: the more
  parsimonious model is preferred when CFI drops by at most .010 and RMSEA rises by at
  most .015).
- Modification indices: the engine computes them for ML-family fits only; for a WLSMV
  fit the section says they are not available instead of showing an empty table.
- **efa**: KMO (Kaiser 1970, labels of Kaiser 1974), Bartlett's test of sphericity and
  Horn's parallel analysis with :data:`PARALLEL_ITERATIONS` random data sets drawn from
  the run's seed (:mod:`psychometrics.efa`), a check on dimensionality beside the models.

Warnings a reviewer would raise: non-convergence, Heywood cases (from the engine),
fewer than :data:`CASES_PER_PARAMETER` cases per free parameter (Bentler & Chou 1987,
doi:10.1177/0049124187016001004) and N below :data:`MIN_N`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from instruments.definition import InstrumentDefinition
from instruments.measurement_model import measurement_model
from psychometrics import efa
from psychometrics.cfa import CFAResult, cfa
from psychometrics.cfa.fit_names import lavaan_names
from psychometrics.cfa.lrt import lrt
from survey.services.validation.data import InstrumentData, StudyData
from survey.services.validation.items import analysed_rows, json_number

__all__ = [
    "CASES_PER_PARAMETER",
    "CUTOFFS",
    "MIN_N",
    "MI_MINIMUM",
    "MI_SHOWN",
    "PARALLEL_ITERATIONS",
    "judge_fit",
    "lavaan_fit_measures",
    "structural_validity",
]

ESTIMATOR = "WLSMV"
FALLBACK_ESTIMATOR = "MLR"
MISSING = "listwise"

ROBUST = {"cfi": "cfi.robust", "tli": "tli.robust", "rmsea": "rmsea.robust", "srmr": "srmr"}
"""The measures a WLSMV or MLR fit is judged on (lavaan 0.6-14's robust CFI/TLI/RMSEA)."""
SCALED = {"cfi": "cfi.scaled", "tli": "tli.scaled", "rmsea": "rmsea.scaled", "srmr": "srmr"}
"""... when the robust ones cannot be computed (lavaan then leaves them NA)."""
PLAIN = {"cfi": "cfi", "tli": "tli", "rmsea": "rmsea", "srmr": "srmr"}
"""... the normal-theory ones, for ML fits."""

DELTA_CFI = -0.010
DELTA_RMSEA = 0.015
"""Descriptive first- vs second-order comparison under WLSMV (Chen 2007's step criteria)."""

RHEMTULLA = "Rhemtulla, Brosseau-Liard & Savalei 2012, doi:10.1037/a0029315"

CUTOFFS: tuple[tuple[str, str, float, float], ...] = (
    ("cfi", ">=", 0.95, 0.90),
    ("tli", ">=", 0.95, 0.90),
    ("rmsea", "<=", 0.06, 0.08),
    ("srmr", "<=", 0.08, 0.10),
)
"""(fit measure, direction, Hu & Bentler 1999 cut-off, conventional acceptable bound)."""

CASES_PER_PARAMETER = 5
"""Fewest cases per free parameter before a warning (Bentler & Chou 1987)."""

MIN_N = 200
"""Smallest N for a CFA before a warning (a common rule of thumb, e.g. Kline)."""

MI_MINIMUM = 10.0
MI_SHOWN = 10
"""Modification indices worth a look: at least :data:`MI_MINIMUM`, the largest
:data:`MI_SHOWN`."""

PARALLEL_ITERATIONS = 100
"""Random data sets of the parallel analysis (``psych::fa.parallel`` draws 20; 100 keep the
95th percentile steadier and cost about 0.6 s for 72 items and 400 rows, some 6 ms each)."""

PARALLEL_PERCENTILE = 95.0

ALPHA_LEVEL = 0.05

HU_BENTLER = "Hu & Bentler 1999, doi:10.1080/10705519909540118"

_KMO_LABELS = (
    (0.9, "marvelous"),
    (0.8, "meritorious"),
    (0.7, "middling"),
    (0.6, "mediocre"),
    (0.5, "miserable"),
)


def lavaan_fit_measures(result: CFAResult) -> dict[str, Any]:
    """:meth:`CFAResult.fit_measures` under lavaan's ``fitMeasures()`` names (``rmsea.ci.lower``,
    ``ntotal``, ...), JSON-ready."""
    # the package's one name table (psychometrics.cfa.fit_names)
    return {name: json_number(value) for name, value in lavaan_names(result.fit_measures()).items()}


def structural_validity(
    data: StudyData, instrument: InstrumentData, *, seed: int = 1
) -> dict[str, Any]:
    """CFA of the first- and second-order models, their comparison and EFA diagnostics at the
    analysed wave (see the module docstring). ``seed`` drives the parallel analysis."""
    definition = instrument.definition
    wave, rows = analysed_rows(data, instrument)
    categories = observed_categories(definition, rows)
    first, first_fit = _model(definition, rows, categories, second_order=False)
    second, second_fit = _model(definition, rows, categories, second_order=True)
    comparison = _compare(definition, rows, first, second, first_fit, second_fit)
    exploratory = _efa(definition, rows, seed=seed)

    warnings = []
    if len(rows) < MIN_N:
        warnings.append(
            f"N = {len(rows)} complete rows at wave {wave!r}: below {MIN_N}, small for a CFA; "
            "estimates and fit measures may be unstable."
        )
    for label, model in (("first-order model", first), ("second-order model", second)):
        warnings += [f"{label}: {warning}" for warning in model["warnings"]]
    warnings += [f"EFA: {warning}" for warning in exploratory["warnings"]]
    notes = [
        f"Wave {wave!r}: one wave only, as the rows of a participant at several waves are "
        "not independent.",
        f"{len(rows)} rows with every item answered (listwise deletion), reverse-keyed items "
        "reversed (instruments.scoring.reverse_keyed).",
        first["estimator_reason"],
    ]
    if categories["collapsed"]:
        shown = ", ".join(
            f"{c['item']} ({'/'.join(_code(v) for v in c['observed'])} of {c['options']} options)"
            for c in categories["collapsed"]
        )
        notes.append(
            "Response options nobody chose are collapsed away for the ordinal fit, as lavaan "
            f"does (one threshold fewer per empty option): {shown}."
        )
    notes += [
        f"Cut-offs: {HU_BENTLER}; acceptable: CFI and TLI >= .90, RMSEA <= .08, SRMR <= .10 "
        "(Marsh, Hau & Wen 2004). Judged on "
        + _judged_text(first.get("judged") or ROBUST)
        + "; the cut-offs were derived for ML on continuous data and are conventions for "
        "WLSMV (Xia & Yang 2019).",
        f"Modification indices shown: at least {MI_MINIMUM:g}, the {MI_SHOWN} largest "
        "(ML-family fits only; not available for WLSMV).",
        f"Parallel analysis: {PARALLEL_ITERATIONS} random normal data sets of the same "
        f"size, seed {seed}, {PARALLEL_PERCENTILE:g}th percentile of their eigenvalues.",
    ]
    return {
        "wave": wave,
        "n": len(rows),
        "missing": MISSING,
        "categories": categories,
        "first_order": first,
        "second_order": second,
        "comparison": comparison,
        "efa": exploratory,
        "notes": notes,
        "warnings": warnings,
    }


def _code(value: float) -> str:
    return f"{value:g}"


def _judged_text(judged: dict[str, str]) -> str:
    return ", ".join(f"{name.upper()} as {measure}" for name, measure in judged.items())


def observed_categories(definition: InstrumentDefinition, rows: pd.DataFrame) -> dict[str, Any]:
    """Each item's observed values among ``rows`` against its response scale's options:
    ``single`` lists the items with one observed value (no ordinal fit possible),
    ``collapsed`` those with fewer observed values than options (lavaan and the engine use
    the observed categories: an empty option loses its threshold)."""
    options = {scale.key: len(scale.options) for scale in definition.response_scales}
    single, collapsed = [], []
    for item in definition.items:
        if item.id not in rows.columns:
            continue
        values = sorted(float(v) for v in pd.unique(rows[item.id].dropna()))
        entry = {"item": item.id, "observed": values, "options": options.get(item.scale)}
        if len(values) == 1:
            single.append(entry)
        elif entry["options"] is not None and len(values) < entry["options"]:
            collapsed.append(entry)
    return {"single": single, "collapsed": collapsed}


# --------------------------------------------------------------------------------------
# one CFA model
# --------------------------------------------------------------------------------------
def _estimator_reason(definition: InstrumentDefinition) -> str:
    options = sorted({len(scale.options) for scale in definition.response_scales})
    points = "/".join(str(n) for n in options)
    return (
        f"WLSMV on ordered items: the {points}-point items are treated as ordered "
        "categories (polychoric correlations and thresholds, diagonally weighted least "
        "squares, robust standard errors and the mean- and variance-adjusted test), lavaan's "
        "and Mplus' practice for five or fewer response options; ML on such items tends to "
        f"underestimate loadings and to inflate the chi-square ({RHEMTULLA}). Complete rows "
        "(listwise deletion)."
    )


def _single_value_reason(single: list[dict[str, Any]]) -> str:
    shown = ", ".join(f"{c['item']} (everyone answered {_code(c['observed'][0])})" for c in single)
    return (
        f"not fitted: {len(single)} item(s) with a single observed value among the complete "
        f"rows: {shown}. An ordinal (WLSMV) CFA needs at least two observed categories per "
        "item (a threshold and polychoric correlations), and a constant item has no variance "
        "for ML either; collect more data or leave the item out of the analysis."
    )


def _model(
    definition: InstrumentDefinition,
    rows: pd.DataFrame,
    categories: dict[str, Any],
    *,
    second_order: bool,
) -> tuple[dict[str, Any], Any]:
    spec = measurement_model(definition, second_order=second_order)
    out: dict[str, Any] = {
        "estimator": ESTIMATOR,
        "estimator_reason": _estimator_reason(definition),
        "ordered": True,
        "missing": MISSING,
        "syntax": spec.syntax,
        "factors": {
            "first_order": {code: list(items) for code, items in spec.first_order.items()},
            "second_order": {code: list(subs) for code, subs in spec.second_order.items()},
        },
        "nobs": len(rows),
        "converged": False,
        "iterations": None,
        "reason": None,
        "fit_measures": {},
        "judged": dict(ROBUST),
        "cutoffs": {},
        "cutoffs_reference": HU_BENTLER,
        "fit": None,
        "verdict": None,
        "loadings": [],
        "factor_correlations": {"factors": [], "values": [], "se": []},
        "modification_indices_available": False,
        "modification_indices_reason": None,
        "modification_indices": [],
        "modification_indices_total": 0,
        "warnings": [],
        "notes": list(spec.notes),
    }
    items = len(definition.items)
    if categories["single"] or len(rows) <= items:
        reason = (
            _single_value_reason(categories["single"])
            if categories["single"]
            else f"not fitted: {len(rows)} complete rows for {items} items: a CFA needs more "
            f"rows than items (at least {items + 1}) for positive definite correlations"
        )
        out.update(reason=reason, verdict="No verdict: the model could not be fitted.")
        out["modification_indices_reason"] = "the model was not fitted"
        out["warnings"].append(reason)
        return out, None
    result, failure = None, None
    try:
        result = cfa(spec.syntax, rows, ordered=True, estimator=ESTIMATOR, missing=MISSING)
    except ValueError as error:  # too few rows, singular polychorics: the engine says why
        failure = f"WLSMV could not be fitted ({error})"
    if result is not None and not result.converged:
        failure = f"WLSMV did not converge ({result.message})"
    elif result is not None:
        failure = delta_check(result)
    if failure is not None:
        try:
            result = cfa(spec.syntax, rows, estimator=FALLBACK_ESTIMATOR, missing=MISSING)
        except ValueError as error:
            reason = f"not fitted: {failure}; MLR could not be fitted either: {error}"
            out.update(reason=reason, verdict="No verdict: the model could not be fitted.")
            out["modification_indices_reason"] = "the model was not fitted"
            out["warnings"].append(reason)
            return out, None
        out.update(
            estimator=FALLBACK_ESTIMATOR,
            ordered=False,
            estimator_reason=(
                f"MLR (robust ML, the items as continuous) instead of WLSMV: {failure}. "
                "Huber-White standard errors and the Yuan-Bentler scaled test; ML on 5-point "
                f"items tends to underestimate loadings ({RHEMTULLA}). Complete rows "
                "(listwise deletion)."
            ),
        )
        out["warnings"].append(f"{failure}; fitted by MLR instead.")

    measures = lavaan_fit_measures(result)
    judged = judged_measures(measures)
    cutoffs, level, verdict = judge_fit(measures, converged=bool(result.converged), names=judged)
    ordinal = out["estimator"] == ESTIMATOR
    mi = None if ordinal else result.modification_indices(minimum=MI_MINIMUM)
    out.update(
        {
            "nobs": result.nobs,
            "converged": bool(result.converged),
            "iterations": int(result.iterations),
            "reason": None if result.converged else f"did not converge: {result.message}",
            "fit_measures": measures,
            "judged": judged,
            "cutoffs": cutoffs,
            "fit": level,
            "verdict": verdict,
            "loadings": _loadings(result, set(spec.second_order)),
            "factor_correlations": _factor_correlations(result),
            "modification_indices_available": not ordinal,
            "modification_indices_reason": (
                "the engine computes modification indices for ML-family fits only, not for "
                "WLSMV (ordinal) fits"
                if ordinal
                else None
            ),
            "modification_indices": [] if mi is None else _modification_indices(mi),
            "modification_indices_total": 0 if mi is None else len(mi),
            "warnings": out["warnings"] + _warnings(result, measures),
        }
    )
    return out, result


def delta_check(result: Any, tolerance: float = 1e-6) -> str | None:
    """None when a WLSMV fit keeps the delta parameterisation's defining constraint, else
    why not. There the latent responses have unit variance, so each item's residual
    variance equals its standardised value (theta_ii = 1 - diag(Lambda Phi Lambda')_ii
    makes diag(Sigma) = 1). The engine's chi-square does not depend on these derived
    variances (only the correlations are fitted), but its standardised loadings and robust
    CFI/TLI/RMSEA do; a fit that breaks the constraint is not reported."""
    est = result.estimates
    items = set(result.ordered)
    residual = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].isin(items)]
    gap = (residual["est"] - residual["std_all"]).abs()
    if gap.empty or not (gap.max() > tolerance) and gap.notna().all():
        return None
    worst = residual.loc[gap.fillna(np.inf).idxmax()]
    return (
        "WLSMV's estimates break the delta parameterisation (latent responses of unit "
        f"variance): the residual variance of {worst['lhs']!r} is {worst['est']:.4g} but "
        f"{worst['std_all']:.4g} standardised, so its standardised loadings and robust fit "
        "measures are not to be trusted"
    )


def judged_measures(measures: dict[str, Any]) -> dict[str, str]:
    """Which lavaan measure each cut-off is judged on: the robust CFI/TLI/RMSEA when the fit
    has them (WLSMV, MLR), else the scaled ones, else the normal-theory ones (ML)."""
    for names in (ROBUST, SCALED):
        if all(measures.get(name) is not None for name in names.values()):
            return dict(names)
    return dict(PLAIN)


def judge_fit(
    measures: dict[str, Any],
    *,
    converged: bool = True,
    names: dict[str, str] | None = None,
) -> tuple[dict[str, dict[str, Any]], str | None, str]:
    """The cut-offs beside the values, the level (``"good"``, ``"acceptable"``, ``"poor"`` or
    None when it cannot be judged) and the verdict sentence, from lavaan-named measures.
    ``names`` maps ``cfi``, ``tli``, ``rmsea``, ``srmr`` to the lavaan measure judged
    (default: the measure of that name; :data:`ROBUST` for WLSMV and MLR fits)."""
    cutoffs = _cutoffs(measures, names or PLAIN)
    level, verdict = _verdict(converged, cutoffs)
    return cutoffs, level, verdict


def _cutoffs(measures: dict[str, Any], names: dict[str, str]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, direction, good, acceptable in CUTOFFS:
        value = measures.get(names.get(name, name))
        out[name] = {
            "measure": names.get(name, name),
            "value": value,
            "criterion": f"{direction} {good:.2f}",
            "threshold": good,
            "met": None if value is None else _meets(value, direction, good),
            "acceptable_criterion": f"{direction} {acceptable:.2f}",
            "acceptable_met": None if value is None else _meets(value, direction, acceptable),
        }
    return out


def _meets(value: float, direction: str, bound: float) -> bool:
    return value >= bound if direction == ">=" else value <= bound


def _verdict(converged: bool, cutoffs: dict[str, dict[str, Any]]) -> tuple[str | None, str]:
    """(``"good"`` | ``"acceptable"`` | ``"poor"`` | None, a plain sentence)."""
    if not converged:
        return None, "No verdict: the model did not converge."
    unknown = [name.upper() for name, cut in cutoffs.items() if cut["met"] is None]
    if unknown:
        return None, f"No verdict: {', '.join(unknown)} could not be computed."
    names = {"cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA", "srmr": "SRMR"}

    def said(name: str, key: str) -> str:
        cut = cutoffs[name]
        return f"{names[name]} {cut['value']:.3f} (criterion {cut[key]})"

    missed = [name for name, cut in cutoffs.items() if not cut["met"]]
    if not missed:
        shown = ", ".join(said(name, "criterion") for name in cutoffs)
        return "good", f"Good fit: all four cut-offs of Hu & Bentler (1999) are met: {shown}."
    poor = [name for name, cut in cutoffs.items() if not cut["acceptable_met"]]
    if not poor:
        shown = "; ".join(said(name, "criterion") for name in missed)
        return "acceptable", (
            f"Acceptable fit: not every Hu & Bentler (1999) cut-off is met ({shown}), but all "
            "four measures are within the conventional acceptable range (CFI and TLI >= .90, "
            "RMSEA <= .08, SRMR <= .10)."
        )
    shown = "; ".join(said(name, "acceptable_criterion") for name in poor)
    return "poor", f"Poor fit: outside the acceptable range: {shown}."


def _loadings(result: Any, second_order: set[str]) -> list[dict[str, Any]]:
    """Loadings with their standardised values; ``se_std_all`` is None for WLSMV fits (the
    engine has no delta-method SEs of standardised ordinal estimates)."""
    est = _with_std_se(result.estimates)
    rows = est[est["op"] == "=~"]
    return [
        {
            "factor": str(row.lhs),
            "indicator": str(row.rhs),
            "level": 2 if row.lhs in second_order else 1,
            "free": bool(row.free),
            "est": json_number(row.est),
            "se": json_number(row.se) if row.free else None,
            "std_all": json_number(row.std_all),
            "se_std_all": json_number(row.se_std_all),
        }
        for row in rows.itertuples(index=False)
    ]


def _with_std_se(est: pd.DataFrame) -> pd.DataFrame:
    return est if "se_std_all" in est.columns else est.assign(se_std_all=np.nan)


def _factor_correlations(result: Any) -> dict[str, Any]:
    """Standardised covariances (correlations) among the factors that covary freely: the
    subconstruct factors in the first-order model, the construct factors in the second."""
    est = _with_std_se(result.estimates)
    latent = list(result.spec.latent)
    pairs = est[
        (est["op"] == "~~")
        & (est["lhs"] != est["rhs"])
        & est["lhs"].isin(latent)
        & est["rhs"].isin(latent)
    ]
    involved = set(pairs["lhs"]) | set(pairs["rhs"])
    factors = [name for name in latent if name in involved]
    position = {name: i for i, name in enumerate(factors)}
    values = np.eye(len(factors))
    se = np.full((len(factors), len(factors)), np.nan)
    for row in pairs.itertuples(index=False):
        i, j = position[row.lhs], position[row.rhs]
        values[i, j] = values[j, i] = row.std_all
        se[i, j] = se[j, i] = row.se_std_all
    return {
        "factors": factors,
        "values": [[json_number(v) for v in line] for line in values],
        "se": [[json_number(v) for v in line] for line in se],
    }


def _modification_indices(mi: pd.DataFrame) -> list[dict[str, Any]]:
    top = mi.head(MI_SHOWN)
    return [
        {
            "lhs": str(row.lhs),
            "op": str(row.op),
            "rhs": str(row.rhs),
            "mi": json_number(row.mi),
            "epc": json_number(row.epc),
            "sepc.lv": json_number(row.sepc_lv),
            "sepc.all": json_number(row.sepc_all),
        }
        for row in top.itertuples(index=False)
    ]


def _warnings(result: Any, measures: dict[str, Any]) -> list[str]:
    out = []
    if not result.converged:
        out.append(
            f"did not converge after {result.iterations} iterations ({result.message}); its "
            "estimates and fit measures are not to be interpreted."
        )
    out += list(result.warnings)
    npar, n = measures.get("npar"), result.nobs
    if npar and n / npar < CASES_PER_PARAMETER:
        out.append(
            f"N = {n} for {npar} free parameters ({n / npar:.2f} cases per parameter): fewer "
            f"than {CASES_PER_PARAMETER} per free parameter (Bentler & Chou 1987); "
            f"{CASES_PER_PARAMETER * npar} cases would meet it."
        )
    return out


# --------------------------------------------------------------------------------------
# first vs second order
# --------------------------------------------------------------------------------------
def _compare(
    definition: InstrumentDefinition,
    rows: pd.DataFrame,
    first: dict[str, Any],
    second: dict[str, Any],
    first_fit: Any,
    second_fit: Any,
) -> dict[str, Any]:
    """:func:`_comparison`; when one model fell back to MLR and the other is WLSMV, both are
    compared as MLR fits (the WLSMV one refitted by MLR for the test), and the sentence says
    so."""
    if (
        first_fit is None
        or second_fit is None
        or first["estimator"] == second["estimator"]
        or not (first["converged"] and second["converged"])
    ):
        return _comparison(first, second, first_fit, second_fit)
    models, fits = [first, second], [first_fit, second_fit]
    for k, (model, second_order) in enumerate(((first, False), (second, True))):
        if model["estimator"] == FALLBACK_ESTIMATOR:
            continue
        spec = measurement_model(definition, second_order=second_order)
        try:
            refit = cfa(spec.syntax, rows, estimator=FALLBACK_ESTIMATOR, missing=MISSING)
        except ValueError as error:
            return _comparison(first, second, first_fit, second_fit) | {
                "reason": f"the MLR refit for the comparison failed: {error}"
            }
        measures = lavaan_fit_measures(refit)
        models[k] = {
            "estimator": FALLBACK_ESTIMATOR,
            "converged": bool(refit.converged),
            "fit_measures": measures,
            "judged": judged_measures(measures),
        }
        fits[k] = refit
    out = _comparison(models[0], models[1], fits[0], fits[1])
    if out["sentence"]:
        out["sentence"] = (
            f"Compared as MLR fits of both models (the {first['estimator']} first-order and "
            f"{second['estimator']} second-order fits cannot be compared with each other): "
            + out["sentence"]
        )
    return out


def _comparison(
    first: dict[str, Any],
    second: dict[str, Any],
    first_fit: Any,
    second_fit: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "available": False,
        "reason": None,
        "estimator": first["estimator"],
        "test": "the second-order model constrains the first-order factor covariances: "
        + (
            "descriptive comparison of the robust CFI and RMSEA (WLSMV has no likelihood "
            "and the engine no DWLS difference test)"
            if first["estimator"] == ESTIMATOR
            else "Satorra-Bentler (2001) scaled chi-square difference test of nested MLR models"
        ),
        "chisq_diff": None,
        "df_diff": None,
        "pvalue": None,
        "delta_cfi": None,
        "delta_rmsea": None,
        "aic": {"first_order": None, "second_order": None},
        "bic": {"first_order": None, "second_order": None},
        "preferred": None,
        "sentence": None,
    }
    if first_fit is None or second_fit is None or not (first["converged"] and second["converged"]):
        out["reason"] = "both models must be fitted and converge to be compared"
        out["sentence"] = "The models cannot be compared: " + out["reason"] + "."
        return out
    if first["estimator"] != second["estimator"]:
        out["reason"] = (
            f"the models were fitted by different estimators ({first['estimator']} and "
            f"{second['estimator']})"
        )
        out["sentence"] = "The models cannot be compared: " + out["reason"] + "."
        return out
    f1, f2 = first["fit_measures"], second["fit_measures"]
    df_diff = f2["df"] - f1["df"]
    if df_diff <= 0:
        out["reason"] = (
            f"the second-order model has no more degrees of freedom ({f2['df']}) than the "
            f"first-order one ({f1['df']}): it is not more restrictive, nothing to test"
        )
        out["sentence"] = "No difference test: " + out["reason"] + "."
        return out
    cfi, rmsea = first["judged"]["cfi"], first["judged"]["rmsea"]
    delta_cfi = _delta(f2.get(cfi), f1.get(cfi))
    delta_rmsea = _delta(f2.get(rmsea), f1.get(rmsea))
    out.update(df_diff=int(df_diff), delta_cfi=delta_cfi, delta_rmsea=delta_rmsea)
    if first["estimator"] == ESTIMATOR:
        return _descriptive_comparison(out, cfi, rmsea)
    return _tested_comparison(out, first_fit, second_fit, f1, f2)


def _delta(value: float | None, before: float | None) -> float | None:
    return None if value is None or before is None else json_number(value - before)


def _descriptive_comparison(out: dict[str, Any], cfi: str, rmsea: str) -> dict[str, Any]:
    delta_cfi, delta_rmsea = out["delta_cfi"], out["delta_rmsea"]
    if delta_cfi is None or delta_rmsea is None:
        out["reason"] = f"{cfi} or {rmsea} could not be computed for both models"
        out["sentence"] = "The models cannot be compared: " + out["reason"] + "."
        return out
    holds = delta_cfi >= DELTA_CFI and delta_rmsea <= DELTA_RMSEA
    out.update(available=True, preferred="second_order" if holds else "first_order")
    out["sentence"] = (
        f"WLSMV: no likelihood (no AIC or BIC) and no DWLS difference test in the engine, so "
        f"the comparison is descriptive: the second-order constraints ({out['df_diff']} df) "
        f"change {cfi} by {delta_cfi:+.3f} and {rmsea} by {delta_rmsea:+.3f}; "
        + (
            "within ΔCFI >= -0.010 and ΔRMSEA <= 0.015 (Chen 2007), so the more parsimonious "
            "second-order model is preferred."
            if holds
            else "beyond ΔCFI >= -0.010 or ΔRMSEA <= 0.015 (Chen 2007), so the first-order "
            "model is preferred."
        )
    )
    return out


def _tested_comparison(
    out: dict[str, Any], first_fit: Any, second_fit: Any, f1: dict, f2: dict
) -> dict[str, Any]:
    out["aic"] = {"first_order": f1.get("aic"), "second_order": f2.get("aic")}
    out["bic"] = {"first_order": f1.get("bic"), "second_order": f2.get("bic")}
    test = lrt(second_fit, first_fit)
    chisq_diff, pvalue = float(test.chisq_diff), float(test.pvalue)
    if not np.isfinite(chisq_diff) or not np.isfinite(pvalue):
        out["reason"] = "the scaled difference test is not defined here (negative scaling)"
        out["sentence"] = "No difference test: " + out["reason"] + "."
        return out
    df_diff = out["df_diff"]
    aic_second = f2["aic"] < f1["aic"]
    bic_second = f2["bic"] < f1["bic"]
    rejected = pvalue < ALPHA_LEVEL
    said = (
        f"The {test.method} chi-square difference test gives Δχ² = {chisq_diff:.2f} on "
        f"{df_diff} df, p = {pvalue:.3g}: the second-order constraints "
        f"{'significantly worsen' if rejected else 'do not significantly worsen'} the fit"
    )
    ic = (
        f"AIC {'favours the second-order' if aic_second else 'favours the first-order'} model "
        f"({f2['aic']:.1f} vs {f1['aic']:.1f}), BIC "
        f"{'the second-order' if bic_second else 'the first-order'} "
        f"({f2['bic']:.1f} vs {f1['bic']:.1f})"
    )
    if not rejected:
        preferred = "second_order"
        verdict = "the more parsimonious second-order model is preferred"
    elif not aic_second and not bic_second:
        preferred = "first_order"
        verdict = "the first-order model is preferred"
    elif aic_second and bic_second:
        preferred = "second_order"
        verdict = (
            "the information criteria, which weigh parsimony, favour the second-order model "
            "although the test rejects its constraints (the test is sensitive to large N)"
        )
    else:
        preferred = None
        verdict = "the evidence is mixed; neither model is clearly preferred"
    out.update(
        {
            "available": True,
            "chisq_diff": json_number(chisq_diff),
            "pvalue": json_number(pvalue),
            "preferred": preferred,
            "sentence": f"{said}; {ic}; {verdict}.",
        }
    )
    return out


# --------------------------------------------------------------------------------------
# EFA diagnostics
# --------------------------------------------------------------------------------------
def _kmo_label(value: float) -> str:
    for bound, label in _KMO_LABELS:
        if value >= bound:
            return label
    return "unacceptable"


def _efa(definition: InstrumentDefinition, rows: pd.DataFrame, *, seed: int) -> dict[str, Any]:
    items = [item.id for item in definition.items]
    out: dict[str, Any] = {
        "n": len(rows),
        "items": len(items),
        "missing": MISSING,
        "available": False,
        "reason": None,
        "model_factors": {
            "first_order": len(definition.subconstructs),
            "second_order": len(definition.constructs),
        },
        "kmo": None,
        "bartlett": None,
        "parallel_analysis": None,
        "notes": [],
        "warnings": [],
    }
    try:
        kmo = efa.kmo(rows, items)
        bartlett = efa.bartlett_sphericity(rows, items)
        parallel = efa.parallel_analysis(
            rows,
            items,
            n_iter=PARALLEL_ITERATIONS,
            percentile=PARALLEL_PERCENTILE,
            rng=seed,
        )
    except ValueError as error:  # singular correlations, fewer rows than items
        out["reason"] = f"not computed: {error}"
        out["warnings"].append(f"diagnostics not computed: {error}")
        return out
    weakest = kmo.per_item.idxmin()
    table = parallel.table
    out.update(
        {
            "available": True,
            "kmo": {
                "overall": json_number(kmo.overall),
                "label": _kmo_label(kmo.overall),
                "per_item_min": json_number(kmo.per_item[weakest]),
                "per_item_min_item": str(weakest),
                "per_item": {str(k): json_number(v) for k, v in kmo.per_item.items()},
                "reference": "Kaiser 1970, doi:10.1007/BF02291817; labels Kaiser 1974",
            },
            "bartlett": {
                "chisq": json_number(bartlett.chi2),
                "df": int(bartlett.df),
                "pvalue": json_number(bartlett.p_value),
            },
            "parallel_analysis": {
                "n_iter": parallel.n_iter,
                "percentile": parallel.percentile,
                "seed": seed,
                "n_factors": parallel.n_factors,
                "n_components": parallel.n_components,
                "observed_fa": [json_number(v) for v in table["observed_fa"]],
                "simulated_fa": [json_number(v) for v in table["random_fa"]],
                "observed_pc": [json_number(v) for v in table["observed_pc"]],
                "simulated_pc": [json_number(v) for v in table["random_pc"]],
            },
        }
    )
    out["notes"].append(
        f"Parallel analysis suggests {parallel.n_factors} common factors "
        f"({parallel.n_components} components); the model has "
        f"{len(definition.subconstructs)} first-order and {len(definition.constructs)} "
        "second-order factors. Parallel analysis tends to suggest fewer factors than there "
        "are when factors correlate or have few items each."
    )
    if kmo.overall < 0.6:
        out["warnings"].append(
            f"KMO {kmo.overall:.2f} ({_kmo_label(kmo.overall)}): below 0.60, the items share "
            "little common variance for a factor analysis (Kaiser 1974)."
        )
    low = kmo.per_item[kmo.per_item < 0.5]
    if len(low):
        out["warnings"].append(
            f"KMO below 0.50 (unacceptable) for {len(low)} item(s): "
            + ", ".join(f"{k} {v:.2f}" for k, v in low.items())
            + "."
        )
    if not bartlett.p_value < ALPHA_LEVEL:
        out["warnings"].append(
            f"Bartlett's test does not reject uncorrelated items (p = {bartlett.p_value:.3g})."
        )
    return out
