"""Structural validity of a validation run: CFA of the instrument's models, EFA diagnostics.

At the analysed wave (:func:`.items.analysed_rows`: the selected wave, else baseline; the
reverse-keyed rows with every item answered), three analyses:

- **first_order**: the CFA with one factor per subconstruct on its items, the factors
  covarying freely; **second_order**: the same with one second-order factor per construct
  on its subconstruct factors. Both from
  :func:`instruments.measurement_model.measurement_model`, fitted with
  :func:`psychometrics.cfa.cfa` by maximum likelihood on the complete rows (listwise
  deletion, lavaan's default). The engine has no ordinal estimator yet (WLSMV on
  polychoric correlations comes with the psychometrics II issue), so the Likert items are
  treated as continuous; every model says so in ``estimator_reason``.
- Each model's fit measures carry lavaan's ``fitMeasures()`` names and are judged against
  Hu & Bentler's (1999, doi:10.1080/10705519909540118) cut-offs: CFI >= .95, TLI >= .95,
  RMSEA <= .06, SRMR <= .08. The verdict is *good* when all four are met, *acceptable* when
  each is at least within the conventional acceptable range (CFI and TLI >= .90, RMSEA <=
  .08, SRMR <= .10; Marsh, Hau & Wen 2004, doi:10.1207/s15328007sem1103_2; Browne &
  Cudeck 1993), else *poor*.
- **comparison**: the second-order model is nested in the first-order one (it constrains
  the factor correlations), so the chi-square difference (likelihood-ratio) test applies,
  beside AIC and BIC of both.
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
from scipy import stats

from instruments.definition import InstrumentDefinition
from instruments.measurement_model import measurement_model
from psychometrics import efa
from psychometrics.cfa import CFAResult, cfa
from psychometrics.cfa.fit_names import lavaan_names
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

ESTIMATOR = "ML"
MISSING = "listwise"

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
    first, first_fit = _model(definition, rows, second_order=False)
    second, second_fit = _model(definition, rows, second_order=True)
    comparison = _comparison(first, second, first_fit, second_fit)
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
    return {
        "wave": wave,
        "n": len(rows),
        "missing": MISSING,
        "first_order": first,
        "second_order": second,
        "comparison": comparison,
        "efa": exploratory,
        "notes": [
            f"Wave {wave!r}: one wave only, as the rows of a participant at several waves are "
            "not independent.",
            f"{len(rows)} rows with every item answered (listwise deletion, lavaan's "
            "default), reverse-keyed items reversed (instruments.scoring.reverse_keyed).",
            first["estimator_reason"],
            f"Cut-offs: {HU_BENTLER}; acceptable: CFI and TLI >= .90, RMSEA <= .08, SRMR <= .10 "
            "(Marsh, Hau & Wen 2004).",
            f"Modification indices shown: at least {MI_MINIMUM:g}, the {MI_SHOWN} largest.",
            f"Parallel analysis: {PARALLEL_ITERATIONS} random normal data sets of the same "
            f"size, seed {seed}, {PARALLEL_PERCENTILE:g}th percentile of their eigenvalues.",
        ],
        "warnings": warnings,
    }


# --------------------------------------------------------------------------------------
# one CFA model
# --------------------------------------------------------------------------------------
def _estimator_reason(definition: InstrumentDefinition) -> str:
    options = sorted({len(scale.options) for scale in definition.response_scales})
    points = "/".join(str(n) for n in options)
    return (
        "Maximum likelihood (ML): the CFA engine has no ordinal estimator yet (WLSMV on "
        "polychoric correlations comes with the psychometrics II issue), so the "
        f"{points}-point items are fitted as continuous, on the complete rows (listwise "
        "deletion, lavaan's default). With few response options ML tends to underestimate "
        "loadings and to inflate the chi-square."
    )


def _model(
    definition: InstrumentDefinition, rows: pd.DataFrame, *, second_order: bool
) -> tuple[dict[str, Any], CFAResult | None]:
    spec = measurement_model(definition, second_order=second_order)
    out: dict[str, Any] = {
        "estimator": ESTIMATOR,
        "estimator_reason": _estimator_reason(definition),
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
        "cutoffs": {},
        "cutoffs_reference": HU_BENTLER,
        "fit": None,
        "verdict": None,
        "loadings": [],
        "factor_correlations": {"factors": [], "values": [], "se": []},
        "modification_indices": [],
        "modification_indices_total": 0,
        "warnings": [],
        "notes": list(spec.notes),
    }
    try:
        result = cfa(spec.syntax, rows, missing=MISSING)
    except ValueError as error:  # too few rows, singular data: the engine says why
        out["reason"] = f"not fitted: {error}"
        out["verdict"] = "No verdict: the model could not be fitted."
        out["warnings"].append(f"not fitted: {error}")
        return out, None

    measures = lavaan_fit_measures(result)
    cutoffs, level, verdict = judge_fit(measures, converged=bool(result.converged))
    mi = result.modification_indices(minimum=MI_MINIMUM)
    out.update(
        {
            "nobs": result.nobs,
            "converged": bool(result.converged),
            "iterations": int(result.iterations),
            "reason": None if result.converged else f"did not converge: {result.message}",
            "fit_measures": measures,
            "cutoffs": cutoffs,
            "fit": level,
            "verdict": verdict,
            "loadings": _loadings(result, set(spec.second_order)),
            "factor_correlations": _factor_correlations(result),
            "modification_indices": _modification_indices(mi),
            "modification_indices_total": len(mi),
            "warnings": _warnings(result, measures),
        }
    )
    return out, result


def judge_fit(
    measures: dict[str, Any], *, converged: bool = True
) -> tuple[dict[str, dict[str, Any]], str | None, str]:
    """The cut-offs beside the values, the level (``"good"``, ``"acceptable"``, ``"poor"`` or
    None when it cannot be judged) and the verdict sentence, from lavaan-named measures."""
    cutoffs = _cutoffs(measures)
    level, verdict = _verdict(converged, cutoffs)
    return cutoffs, level, verdict


def _cutoffs(measures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    out = {}
    for name, direction, good, acceptable in CUTOFFS:
        value = measures.get(name)
        out[name] = {
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


def _loadings(result: CFAResult, second_order: set[str]) -> list[dict[str, Any]]:
    est = result.estimates
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


def _factor_correlations(result: CFAResult) -> dict[str, Any]:
    """Standardised covariances (correlations) among the factors that covary freely: the
    subconstruct factors in the first-order model, the construct factors in the second."""
    est = result.estimates
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


def _warnings(result: CFAResult, measures: dict[str, Any]) -> list[str]:
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
def _comparison(
    first: dict[str, Any],
    second: dict[str, Any],
    first_fit: CFAResult | None,
    second_fit: CFAResult | None,
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "available": False,
        "reason": None,
        "test": "chi-square difference (likelihood-ratio) test of nested ML models: the "
        "second-order model constrains the first-order factor covariances",
        "chisq_diff": None,
        "df_diff": None,
        "pvalue": None,
        "aic": {"first_order": None, "second_order": None},
        "bic": {"first_order": None, "second_order": None},
        "preferred": None,
        "sentence": None,
    }
    if first_fit is None or second_fit is None or not (first["converged"] and second["converged"]):
        out["reason"] = "both models must be fitted and converge to be compared"
        out["sentence"] = "The models cannot be compared: " + out["reason"] + "."
        return out
    f1, f2 = first["fit_measures"], second["fit_measures"]
    out["aic"] = {"first_order": f1["aic"], "second_order": f2["aic"]}
    out["bic"] = {"first_order": f1["bic"], "second_order": f2["bic"]}
    df_diff = f2["df"] - f1["df"]
    if df_diff <= 0:
        out["reason"] = (
            f"the second-order model has no more degrees of freedom ({f2['df']}) than the "
            f"first-order one ({f1['df']}): it is not more restrictive, nothing to test"
        )
        out["sentence"] = "No difference test: " + out["reason"] + "."
        return out
    chisq_diff = f2["chisq"] - f1["chisq"]
    pvalue = float(stats.chi2.sf(max(chisq_diff, 0.0), df_diff))
    aic_second = f2["aic"] < f1["aic"]
    bic_second = f2["bic"] < f1["bic"]
    rejected = pvalue < ALPHA_LEVEL
    test = (
        f"The chi-square difference test gives Δχ² = {chisq_diff:.2f} on {df_diff} df, "
        f"p = {pvalue:.3g}: the second-order constraints "
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
            "df_diff": int(df_diff),
            "pvalue": json_number(pvalue),
            "preferred": preferred,
            "sentence": f"{test}; {ic}; {verdict}.",
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
