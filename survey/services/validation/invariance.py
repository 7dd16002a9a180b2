"""Measurement invariance of a validation run: across groups, and across all the study's waves.

Two kinds of comparison, each a ladder of nested models (the Likert items treated as
continuous: the engine has no ordinal invariance yet), configural → metric (equal
loadings) → scalar (+ equal intercepts, latent means then free) → strict (+ equal residual
variances) (Meredith 1993,
doi:10.1007/BF02294825):

- **groups**: a multi-group CFA of the first-order measurement model
  (:func:`instruments.measurement_model.measurement_model` with ``second_order=False``) at
  the analysed wave (:func:`.items.analysed_rows`: the selected wave, else baseline; the
  reverse-keyed rows with every item answered), fitted with
  :func:`psychometrics.cfa.invariance` (lavaan's ``group.equal``). The group variable is
  ``group`` when given: ``"delivery_mode"`` (each session's mode, "web" or "chat", from
  :attr:`StudyData.rows`) or a categorical column of the study's outcomes (its value at the
  analysed wave, else the participant's per-participant value). Without ``group`` the
  delivery mode is used when both modes have at least :data:`MIN_N` complete rows at the
  analysed wave; otherwise no group comparison is run, and the section says why. Groups
  with fewer than :data:`MIN_N` rows (or no more rows than items, when their covariance
  matrix cannot be positive definite) are left out with a note; with fewer than two groups
  left nothing is fitted. The first group (web; a categorical column's first level) is the
  reference: its latent means are fixed at 0.
- **waves**: repeated waves are not independent groups, so multi-group invariance is never
  run on them (Liu et al. 2017, *Psychological Methods* 22:486, doi:10.1037/met0000075).
  Instead, per construct, one repeated-measures model over **every wave of the study** in
  wide form (one row per participant who answered at least one item of the construct at
  some wave): one factor per subconstruct per wave on its items, all factors covarying,
  each item's residuals correlated across every pair of waves; equality across waves by
  shared labels (loadings; + intercepts, the later waves' latent means then free; +
  residual variances), the longitudinal ladder of ``semTools::measEq.syntax(longFacNames=
  ...)`` (:func:`psychometrics.cfa.longitudinal.longitudinal_syntax`, marker
  identification). Fitted by full-information ML (``missing="ml"``) with robust SEs and
  the Yuan-Bentler scaled test (``estimator="MLR"``), so that a participant who dropped
  out keeps the waves they answered instead of being dropped listwise; the steps use the
  Satorra-Bentler (2001) scaled chi-square difference and the changes in the robust CFI and
  RMSEA, as :func:`psychometrics.cfa.longitudinal.longitudinal_invariance` (checked against
  lavaan 0.6-14, ``tests/survey/validation/invariance_reference/``).
- The group ladder stays ML on complete rows (listwise deletion, lavaan's default).

Each step is compared with the previous level by the chi-square difference
(likelihood-ratio) test, ΔCFI and ΔRMSEA, and judged by Chen's (2007,
doi:10.1080/10705510701301834) criteria: the step is supported when ΔCFI >= -0.010
(:data:`DELTA_CFI`) and ΔRMSEA <= 0.015 (:data:`DELTA_RMSEA`). The configural level needs
an acceptable fit itself (:func:`.structural.judge_fit`). The conclusion names the highest
level whose every step is supported and what it allows to compare.

The ``comparisons`` list holds every ladder actually fitted (the group comparison, then one
per construct across waves), each with ``label`` and ``levels`` as the report's template
shows them; the same dictionaries sit under ``groups`` and ``waves["constructs"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from instruments.measurement_model import measurement_model
from psychometrics.cfa import CFAResult, cfa, invariance
from psychometrics.cfa.longitudinal import LongitudinalDesign
from psychometrics.cfa.longitudinal import longitudinal_syntax as repeated_measures_syntax
from psychometrics.cfa.lrt import lrt
from survey.services.validation.data import InstrumentData, StudyData
from survey.services.validation.items import analysed_rows, json_number, rows_at_wave
from survey.services.validation.structural import (
    CASES_PER_PARAMETER,
    PLAIN,
    ROBUST,
    judge_fit,
    lavaan_fit_measures,
)

__all__ = [
    "CHEN",
    "DELIVERY_MODE",
    "DELTA_CFI",
    "DELTA_RMSEA",
    "LEVELS",
    "MIN_N",
    "chen_step",
    "conclude",
    "group_choices",
    "longitudinal_syntax",
    "measurement_invariance",
    "wide_rows",
]

LEVELS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("configural", ()),
    ("metric", ("loadings",)),
    ("scalar", ("loadings", "intercepts")),
    ("strict", ("loadings", "intercepts", "residuals")),
)
"""(level, what is held equal across groups or waves), least to most constrained."""

DELTA_CFI = -0.010
"""A step is supported when CFI drops by no more than this (ΔCFI >= -0.010; Chen 2007)."""

DELTA_RMSEA = 0.015
"""... and RMSEA rises by no more than this (ΔRMSEA <= 0.015; Chen 2007)."""

CHEN = "Chen 2007, Structural Equation Modeling 14:464, doi:10.1080/10705510701301834"

MIN_N = 100
"""Fewest complete rows a group needs (and participants a wave comparison needs). A simple
floor, not a power calculation: below it a multi-group ML fit is unstable; the warning on
cases per free parameter says more."""

DELIVERY_MODE = "delivery_mode"
DELIVERY_MODES = ("web", "chat")

ESTIMATOR = "ML"
MISSING = "listwise"
WAVE_ESTIMATOR = "MLR"
WAVE_MISSING = "ml"
ALPHA_LEVEL = 0.05

LIU = "Liu et al. 2017, Psychological Methods 22:486, doi:10.1037/met0000075"

_MEASURES = (
    "npar",
    "chisq",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "rmsea.ci.lower",
    "rmsea.ci.upper",
    "srmr",
    "aic",
    "bic",
    "ntotal",
    "cfi.robust",
    "tli.robust",
    "rmsea.robust",
    "chisq.scaled",
)

_ALLOWS = {
    "configural": "the same factors are measured, but not in the same units: neither "
    "correlations nor means of the factors can be compared",
    "metric": "the loadings are equal, so variances, correlations and regressions of the "
    "factors can be compared, but not latent or observed means (the intercepts differ)",
    "scalar": "latent means can be compared",
    "strict": "latent means can be compared, and so can observed scores (means and "
    "variances of the subconstruct and construct scores)",
}


# --------------------------------------------------------------------------------------
# the section
# --------------------------------------------------------------------------------------
def measurement_invariance(
    data: StudyData,
    instrument: InstrumentData,
    *,
    group: str | None = None,
    min_n: int = MIN_N,
) -> dict[str, Any]:
    """Invariance across ``group`` (or the delivery mode) and across all the waves (see
    the module docstring). Never raises for data that cannot be fitted: a level that cannot
    be fitted says why."""
    groups = _across_groups(data, instrument, group=group, min_n=min_n)
    waves = _across_waves(data, instrument, min_n=min_n)
    comparisons = ([groups] if groups["available"] else []) + list(waves["constructs_fitted"])
    waves = {key: value for key, value in waves.items() if key != "constructs_fitted"}
    reason = None
    if not comparisons:
        reason = f"groups: {groups['reason']}; waves: {waves['reason']}"
    notes = [
        "Levels configural → metric (equal loadings) → scalar (+ equal intercepts; latent "
        "means then free but in the reference group or first wave) → strict (+ equal "
        "residual variances), each compared with the previous level (Meredith 1993).",
        f"A step is supported when ΔCFI >= {DELTA_CFI:.3f} and ΔRMSEA <= {DELTA_RMSEA:.3f} "
        f"({CHEN}); the chi-square difference test is reported beside them but not used for "
        "the decision, as it rejects trivial differences at large N. For groups under 300 "
        "cases Chen suggests stricter bounds (ΔCFI >= -0.005, ΔRMSEA <= 0.010).",
        "The configural model must fit acceptably itself (CFI and TLI >= .90, RMSEA <= .08, "
        "SRMR <= .10) before the steps are interpreted.",
        "Across groups: ML on complete rows (listwise deletion). Across waves: MLR with "
        "full-information ML (missing = 'ml'), every wave, so that dropout does not remove "
        "participants; ΔCFI and ΔRMSEA are then those of the robust CFI and RMSEA and Δχ² "
        "is the Satorra-Bentler (2001) scaled difference. The Likert items are fitted as "
        "continuous: the engine has no ordinal (WLSMV) invariance yet.",
        *groups["notes"],
        *waves["notes"],
    ]
    return {
        "available": bool(comparisons),
        "reason": reason,
        "estimator": ESTIMATOR,
        "missing": MISSING,
        "wave_estimator": WAVE_ESTIMATOR,
        "wave_missing": WAVE_MISSING,
        "criteria": {
            "delta_cfi": DELTA_CFI,
            "delta_rmsea": DELTA_RMSEA,
            "reference": CHEN,
        },
        "min_n": min_n,
        "groups": groups,
        "waves": waves,
        "comparisons": comparisons,
        "notes": notes,
        "warnings": [*groups["warnings"], *waves["warnings"]],
    }


def group_choices(data: StudyData) -> list[str]:
    """The group variables a run can compare: the delivery mode, then the study's categorical
    outcome columns (covariates such as ``age_group``)."""
    choices = [DELIVERY_MODE] if DELIVERY_MODE in data.rows.columns else []
    choices += [
        name for name, kind in data.outcome_columns if kind == "categorical" and name not in choices
    ]
    return choices


# --------------------------------------------------------------------------------------
# the steps: Chen's criteria and the conclusion
# --------------------------------------------------------------------------------------
def chen_step(delta_cfi: float | None, delta_rmsea: float | None) -> tuple[bool | None, str]:
    """Whether a step is supported by Chen's (2007) criteria (ΔCFI >= :data:`DELTA_CFI` and
    ΔRMSEA <= :data:`DELTA_RMSEA`), None when a change is unknown, and a sentence."""
    if delta_cfi is None or delta_rmsea is None:
        return None, "not judged: the change in CFI or RMSEA is unknown"
    cfi_ok = delta_cfi >= DELTA_CFI
    rmsea_ok = delta_rmsea <= DELTA_RMSEA
    said = (
        f"ΔCFI {delta_cfi:+.3f} ({'within' if cfi_ok else 'beyond'} {DELTA_CFI:.3f}), "
        f"ΔRMSEA {delta_rmsea:+.3f} ({'within' if rmsea_ok else 'beyond'} "
        f"{DELTA_RMSEA:+.3f})"
    )
    if cfi_ok and rmsea_ok:
        return True, f"supported: {said}"
    return False, f"not supported: {said}"


def conclude(levels: Sequence[dict[str, Any]], between: str) -> tuple[str | None, str]:
    """The highest level whose every step is supported (None when not even the configural
    level holds) and a plain sentence, from the level rows of a ladder."""
    by_level = {row["level"]: row for row in levels}
    configural = by_level.get("configural")
    if configural is None or not configural.get("fitted"):
        why = configural.get("reason") if configural else None
        return (
            None,
            f"No conclusion across {between}: the configural model was {why or 'not fitted'}.",
        )
    if not configural.get("converged"):
        return None, (
            f"No conclusion across {between}: the configural model did not converge, so no "
            "level can be judged."
        )
    if configural.get("supported") is False:
        return None, (
            f"Configural invariance does not hold across {between}: the configural model "
            f"fits poorly ({configural['decision']}), so the factor structure itself is in "
            "doubt and the constrained levels are not interpreted."
        )
    highest = "configural"
    failed: dict[str, Any] | None = None
    for name, _constraints in LEVELS[1:]:
        row = by_level.get(name)
        if row is None:
            break
        if row.get("supported") is not True:
            failed = row
            break
        highest = name
    sentence = f"{highest.capitalize()} invariance holds across {between}: {_ALLOWS[highest]}."
    if failed is not None:
        if failed.get("supported") is False:
            sentence = (
                f"{highest.capitalize()} invariance holds across {between}, "
                f"{failed['level']} does not ({failed['decision']}): {_ALLOWS[highest]}."
            )
        else:
            sentence = (
                f"{highest.capitalize()} invariance holds across {between}; {failed['level']} "
                f"could not be judged ({failed['decision']}): {_ALLOWS[highest]}."
            )
    return highest, sentence


# --------------------------------------------------------------------------------------
# one ladder
# --------------------------------------------------------------------------------------
def _ladder(
    fit_level: Callable[[str], CFAResult],
    *,
    latent_means: Callable[[CFAResult], list[dict[str, Any]]],
    estimator: str = ESTIMATOR,
) -> list[dict[str, Any]]:
    """The level rows of a ladder: fit measures (lavaan's names), the changes from the
    previous level and the decision on each step. ``fit_level(level)`` fits one level. With
    ``estimator`` "MLR" the fit is judged on the robust CFI/TLI/RMSEA, Δχ² is the
    Satorra-Bentler (2001) scaled difference (:func:`psychometrics.cfa.lrt.lrt`) and ΔCFI,
    ΔRMSEA are those of the robust measures, as
    :func:`psychometrics.cfa.longitudinal.longitudinal_invariance`."""
    names = PLAIN if estimator == ESTIMATOR else ROBUST
    rows: list[dict[str, Any]] = []
    previous: dict[str, Any] | None = None
    previous_fit: CFAResult | None = None
    for level, constraints in LEVELS:
        row: dict[str, Any] = {
            "level": level,
            "estimator": estimator,
            "judged": dict(names),
            "constraints": list(constraints),
            "fitted": False,
            "converged": False,
            "iterations": None,
            "reason": None,
            **{name: None for name in _MEASURES},
            "delta_chisq": None,
            "delta_df": None,
            "delta_pvalue": None,
            "delta_cfi": None,
            "delta_rmsea": None,
            "fit": None,
            "supported": None,
            "decision": None,
            "latent_means": [],
            "warnings": [],
        }
        try:
            result = fit_level(level)
        except (ValueError, np.linalg.LinAlgError) as error:
            row["reason"] = f"not fitted: {error}"
            row["decision"] = "not judged: the model could not be fitted"
            rows.append(row)
            previous, previous_fit = None, None
            continue
        measures = lavaan_fit_measures(result)
        row.update({name: measures.get(name) for name in _MEASURES})
        row.update(
            fitted=True,
            converged=bool(result.converged),
            iterations=int(result.iterations),
            reason=None if result.converged else f"did not converge: {result.message}",
            warnings=list(result.warnings),
        )
        _cutoffs, row["fit"], verdict = judge_fit(measures, converged=row["converged"], names=names)
        if level == "configural":
            row["supported"] = None if row["fit"] is None else row["fit"] != "poor"
            row["decision"] = verdict
        else:
            _judge_step(row, previous, result, previous_fit, names)
        if "intercepts" in constraints and result.converged:
            row["latent_means"] = latent_means(result)
        rows.append(row)
        previous, previous_fit = row, result
    return rows


def _judge_step(
    row: dict[str, Any],
    previous: dict[str, Any] | None,
    result: CFAResult,
    previous_fit: CFAResult | None,
    names: dict[str, str],
) -> None:
    """Changes from the previous level as :func:`psychometrics.cfa.invariance` (ML) or
    :func:`psychometrics.cfa.longitudinal.longitudinal_invariance` (MLR) computes them, and
    Chen's decision when both levels converged."""
    if previous is None or previous_fit is None:
        row["decision"] = "not judged: the previous level could not be fitted"
        return
    if names is PLAIN:
        d_chi = _difference(row["chisq"], previous["chisq"])
        d_df = _difference(row["df"], previous["df"])
        d_p = (
            None
            if d_chi is None or d_df is None or d_df <= 0
            else json_number(float(stats.chi2.sf(d_chi, d_df)))
        )
    else:
        test = lrt(result, previous_fit)
        d_chi, d_df, d_p = (
            json_number(test.chisq_diff),
            int(test.df_diff),
            json_number(test.pvalue),
        )
    cfi, rmsea = names["cfi"], names["rmsea"]
    row.update(
        delta_chisq=d_chi,
        delta_df=d_df,
        delta_pvalue=d_p,
        delta_cfi=_difference(row[cfi], previous[cfi]),
        delta_rmsea=_difference(row[rmsea], previous[rmsea]),
    )
    if not (row["converged"] and previous["converged"]):
        which = "this level" if not row["converged"] else f"the {previous['level']} level"
        row["decision"] = f"not judged: {which} did not converge"
        return
    row["supported"], row["decision"] = chen_step(row["delta_cfi"], row["delta_rmsea"])


def _difference(value: float | None, before: float | None) -> float | None:
    return None if value is None or before is None else json_number(value - before)


def _ladder_warnings(label: str, levels: list[dict[str, Any]], highest: str | None) -> list[str]:
    """A ladder's warnings, each said once with the levels it concerns."""
    said: dict[str, list[str]] = {}
    for row in levels:
        texts = [row["reason"]] if not row["fitted"] else list(row["warnings"])
        if row["fitted"] and not row["converged"]:
            if not any("converge" in text for text in texts):
                texts.append(f"{row['reason']}; its estimates are not to be interpreted")
        for text in texts:
            said.setdefault(text.rstrip("."), []).append(row["level"])
    out = [f"{label}, {', '.join(names)}: {text}." for text, names in said.items()]
    configural = levels[0]
    if configural["converged"] and configural["supported"] is False:
        out.append(f"{label}: the configural model fits poorly. {configural['decision']}")
    failed = [row for row in levels[1:] if row["supported"] is False]
    if highest is not None and failed:
        out.append(
            f"{label}: {failed[0]['level']} invariance is not supported "
            f"({failed[0]['decision']}); only {highest} invariance holds."
        )
    return out


def _per_parameter_warning(label: str, configural: dict[str, Any], sizes: list[int]) -> list[str]:
    """Cases per free parameter of the configural model, per group (npar / groups each)."""
    npar = configural.get("npar")
    if not npar:
        return []
    per_group = npar / len(sizes)
    smallest = min(sizes)
    if smallest / per_group >= CASES_PER_PARAMETER:
        return []
    return [
        f"{label}: the configural model has {per_group:g} free parameters per group and the "
        f"smallest group {smallest} cases ({smallest / per_group:.2f} per parameter): fewer "
        f"than {CASES_PER_PARAMETER} per free parameter (Bentler & Chou 1987); estimates, "
        "fit measures and their changes may be unstable."
    ]


# --------------------------------------------------------------------------------------
# across groups
# --------------------------------------------------------------------------------------
def _across_groups(
    data: StudyData, instrument: InstrumentData, *, group: str | None, min_n: int
) -> dict[str, Any]:
    wave, rows = analysed_rows(data, instrument)
    spec = measurement_model(instrument.definition, second_order=False)
    out: dict[str, Any] = {
        "available": False,
        "reason": None,
        "kind": "groups",
        "label": None,
        "requested": group,
        "variable": None,
        "source": None,
        "wave": wave,
        "model": "first_order",
        "syntax": spec.syntax,
        "rows": len(rows),
        "n": 0,
        "counts": {},
        "groups": [],
        "reference_group": None,
        "dropped": [],
        "without_group": 0,
        "levels": [],
        "highest_level": None,
        "conclusion": None,
        "notes": [],
        "warnings": [],
    }
    choices = group_choices(data)
    variable = group
    if len(rows) == 0:
        out["reason"] = (
            "the study has no waves"
            if wave is None
            else f"no rows with every item answered at wave {wave!r}"
        )
        out["notes"].append(f"Across groups: not run: {out['reason']}.")
        return out
    if variable is None:
        variable, why = _default_group(data, wave, rows, min_n, len(instrument.items))
        if variable is None:
            out["reason"] = why
            out["notes"].append(f"Across groups: not run: {why}.{_choices_note(choices)}")
            return out
    elif variable not in choices:
        numeric = [name for name, kind in data.outcome_columns if kind == "numeric"]
        out["reason"] = (
            f"{variable!r} is a numeric outcome; a group variable must be categorical"
            if variable in numeric
            else f"{variable!r} is not a group variable of this study"
        )
        out["notes"].append(f"Across groups: not run: {out['reason']}.{_choices_note(choices)}")
        out["warnings"].append(f"The requested group variable was not used: {out['reason']}.")
        return out

    values, levels, source = _group_values(data, wave, rows.index, variable)
    counts = {level: int((values == level).sum()) for level in levels}
    counts = {level: n for level, n in counts.items() if n}
    items = len(instrument.items)
    kept = [level for level, n in counts.items() if _enough(n, min_n, items)]
    dropped = [{"group": level, "n": n} for level, n in counts.items() if level not in kept]
    out.update(
        variable=variable,
        source=source,
        counts=counts,
        groups=kept,
        reference_group=kept[0] if kept else None,
        dropped=dropped,
        without_group=int(values.isna().sum()),
    )
    name = "delivery mode" if variable == DELIVERY_MODE else variable
    out["notes"].append(
        f"Across groups: {name} ({source}) at wave {wave!r}, on the {len(rows)} rows with every "
        f"item answered; groups need at least {min_n} of them (and more than the {items} "
        "items, for a positive definite covariance matrix)."
    )
    if out["without_group"]:
        out["notes"].append(f"{out['without_group']} rows have no {name} and are left out.")
    if dropped:
        shown = ", ".join(f"{d['group']} ({d['n']})" for d in dropped)
        out["notes"].append(f"Groups left out, too few rows: {shown}.")
        out["warnings"].append(
            f"Across {name}: groups left out with fewer than {min_n} complete rows: {shown}."
        )
    if len(kept) < 2:
        present = ", ".join(f"{level} {n}" for level, n in counts.items()) or "none"
        out["reason"] = (
            f"fewer than two groups of {name} with at least {min_n} complete rows at wave "
            f"{wave!r} (rows per group: {present})"
        )
        out["notes"].append(f"Across groups: not run: {out['reason']}.")
        return out

    frame = _group_frame(rows, values, kept, variable)
    between = (
        " and ".join([", ".join(kept[:-1]), kept[-1]]) if len(kept) > 2 else " and ".join(kept)
    )
    label = f"{name}: {' vs '.join(kept)}"
    levels_fitted = _ladder(
        lambda level: invariance(spec.syntax, frame, variable, levels=(level,)).fits[level],
        latent_means=lambda result: _latent_means(result, by="group"),
    )
    highest, sentence = conclude(levels_fitted, between)
    out.update(
        available=True,
        label=label,
        n=len(frame),
        levels=levels_fitted,
        highest_level=highest,
        conclusion=sentence,
    )
    out["notes"].append(
        f"Multi-group CFA of the first-order model ({len(spec.first_order)} factors) across "
        f"{' and '.join(kept)} (psychometrics.cfa.invariance, lavaan's group.equal); the "
        f"reference group, whose latent means are fixed at 0, is {kept[0]}."
    )
    out["warnings"] += _per_parameter_warning(
        label, levels_fitted[0], list(counts[k] for k in kept)
    )
    out["warnings"] += _ladder_warnings(label, levels_fitted, highest)
    return out


def _choices_note(choices: list[str]) -> str:
    if not choices:
        return " The study has no group variable (delivery mode or categorical outcome column)."
    return f" Group variables of this study: {', '.join(choices)} (the run's group input)."


def _enough(n: int, min_n: int, items: int) -> bool:
    """Whether a group of ``n`` complete rows is kept: at least ``min_n``, and more than the
    items (else its covariance matrix cannot be positive definite)."""
    return n >= min_n and n > items


def _default_group(
    data: StudyData, wave: str | None, rows: pd.DataFrame, min_n: int, items: int
) -> tuple[str | None, str]:
    """The delivery mode when both modes have enough complete rows, else (None, why)."""
    if DELIVERY_MODE not in data.rows.columns:
        return None, "no group variable was chosen and the sessions carry no delivery mode"
    values, _levels, _source = _group_values(data, wave, rows.index, DELIVERY_MODE)
    counts = {mode: int((values == mode).sum()) for mode in DELIVERY_MODES}
    if all(_enough(n, min_n, items) for n in counts.values()):
        return DELIVERY_MODE, ""
    shown = ", ".join(f"{mode} {n}" for mode, n in counts.items())
    return None, (
        "no group variable was chosen and the delivery mode does not give two groups of at "
        f"least {min_n} complete rows at wave {wave!r} ({shown})"
    )


def _group_values(
    data: StudyData, wave: str | None, participants: pd.Index, variable: str
) -> tuple[pd.Series, list[str], str]:
    """Each analysed participant's group (str, NaN when unknown), the levels in order (the
    first is the reference) and where the values come from."""
    if variable == DELIVERY_MODE and DELIVERY_MODE in data.rows.columns:
        at_wave = rows_at_wave(data.rows[[DELIVERY_MODE]], wave)[DELIVERY_MODE]
        values = at_wave.reindex(participants).astype(object)
        values = values.where(values.notna(), np.nan)
        found = sorted({str(v) for v in values.dropna()} - set(DELIVERY_MODES))
        return values, [*DELIVERY_MODES, *found], "each session's delivery mode"
    outcomes = data.outcomes
    column = outcomes[variable]
    per_participant = outcomes["wave"].isna().to_numpy(dtype=bool)
    at_wave = outcomes["wave"].isin([wave]).fillna(False).to_numpy(dtype=bool)
    first = _by_participant(outcomes.loc[at_wave, "participant"], column[at_wave])
    second = _by_participant(outcomes.loc[per_participant, "participant"], column[per_participant])
    values = first.reindex(participants).combine_first(second.reindex(participants))
    if isinstance(column.dtype, pd.CategoricalDtype):
        levels = [str(level) for level in column.cat.categories]
    else:
        levels = sorted({str(v) for v in column.dropna()})
    return (
        values,
        levels,
        f"outcome column, its value at wave {wave!r}, else the participant's own",
    )


def _by_participant(participants: pd.Series, values: pd.Series) -> pd.Series:
    series = pd.Series(
        [np.nan if pd.isna(v) else str(v) for v in values],
        index=pd.Index(participants.to_numpy(), name="participant"),
        dtype=object,
    )
    return series[series.notna()]


def _group_frame(
    rows: pd.DataFrame, values: pd.Series, kept: list[str], variable: str
) -> pd.DataFrame:
    """The rows of the kept groups, group by group in the order of ``kept`` (the engine takes
    groups in order of appearance: the first is the reference), with the group column."""
    parts = [rows[(values == level).to_numpy()].assign(**{variable: level}) for level in kept]
    return pd.concat(parts)


def _latent_means(result: CFAResult, *, by: str) -> list[dict[str, Any]]:
    """The free latent means (differences from the reference group or first wave, which is
    fixed at 0), with SE, p and the mean in SDs of the factor (``std_lv``)."""
    est = result.estimates
    latent = set(result.spec.latent)
    means = est[(est["op"] == "~1") & est["lhs"].isin(latent) & est["free"]]
    labels = list(getattr(result, "group_labels", []) or [])
    out = []
    for row in means.itertuples(index=False):
        entry: dict[str, Any] = {"factor": str(row.lhs)}
        if by == "group":
            position = int(row.group) - 1
            entry["group"] = labels[position] if position < len(labels) else int(row.group)
        entry.update(
            est=json_number(row.est),
            se=json_number(row.se),
            pvalue=json_number(row.pvalue),
            std_lv=json_number(row.std_lv),
        )
        out.append(entry)
    return out


# --------------------------------------------------------------------------------------
# across waves
# --------------------------------------------------------------------------------------
def _across_waves(data: StudyData, instrument: InstrumentData, *, min_n: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "available": False,
        "reason": None,
        "waves": [],
        "from": None,
        "to": None,
        "estimator": WAVE_ESTIMATOR,
        "missing": WAVE_MISSING,
        "model": "per construct, first-order factors at every wave, each item's residuals "
        "correlated across every pair of waves",
        "constructs": [],
        "constructs_fitted": [],
        "notes": [],
        "warnings": [],
    }
    if data.wave is not None:
        out["reason"] = (
            f"the run is restricted to wave {data.wave!r}; invariance across waves needs two"
        )
    elif len(data.waves) < 2:
        out["reason"] = "the study has fewer than two waves"
    if out["reason"]:
        out["notes"].append(f"Across waves: not run: {out['reason']}.")
        return out
    waves = tuple(data.waves)
    out.update({"waves": list(waves), "from": waves[0], "to": waves[-1]})
    suffixes = ", ".join(f"{wave!r} (__t{k})" for k, wave in enumerate(waves, 1))
    out["notes"] += [
        f"Across waves: never as independent groups, since the same participants answer at "
        f"every wave ({LIU}). Per construct, one model over all {len(waves)} waves, "
        f"{suffixes}, in wide form: one factor per subconstruct per wave, all factors "
        "covarying, each item's residual correlated with its own at every other wave; "
        "equality by shared labels, the later waves' latent means free from the scalar level "
        "on (semTools::measEq.syntax with longFacNames and auto = 'all').",
        f"Every participant who answered at least one item of the construct at some wave, "
        f"by full-information ML (missing = 'ml', estimator MLR): a participant who dropped "
        f"out keeps the waves answered; at least {min_n} participants needed.",
    ]
    spec = measurement_model(instrument.definition, second_order=False)
    for construct in instrument.definition.constructs:
        factors = {sub.code: spec.first_order[sub.code] for sub in construct.subconstructs}
        entry = _construct_ladder(instrument, construct.code, construct.name, factors, waves, min_n)
        out["constructs"].append(entry)
        if entry["available"]:
            out["constructs_fitted"].append(entry)
        else:
            out["notes"].append(f"Construct {construct.code} across waves: {entry['reason']}.")
        out["warnings"] += entry["warnings"]
    if out["constructs_fitted"]:
        out["available"] = True
    else:
        out["reason"] = (
            f"no construct has {min_n} participants with an answer at some wave of "
            f"{', '.join(map(repr, waves))}"
        )
    return out


def wide_rows(
    instrument: InstrumentData, items: Sequence[str], waves: Sequence[str]
) -> pd.DataFrame:
    """The reverse-keyed answers to ``items`` at each of ``waves``, one row per participant
    who answered at least one of them at some wave (in participant order), columns
    ``<item>__t1``, ``<item>__t2``, ... (wave by wave); unanswered items and waves a
    participant missed are NaN (for full-information ML)."""
    keyed = instrument.keyed[list(items)]
    blocks = [rows_at_wave(keyed, wave).add_suffix(f"__t{k}") for k, wave in enumerate(waves, 1)]
    wide = pd.concat(blocks, axis=1)
    wide = wide[wide.notna().any(axis=1)]
    return wide.sort_index()


def longitudinal_syntax(factors: dict[str, Sequence[str]], level: str, n_waves: int = 2) -> str:
    """lavaan syntax of the ``n_waves``-wave model of ``factors`` (factor -> its items, the
    first the marker) at ``level``: factor ``F__t<k>`` on ``x__t<k>``, all factors covarying
    (cfa's default), ``x__t<a> ~~ x__t<b>`` for every item and pair of waves; from
    ``metric`` on the loadings share labels across waves, from ``scalar`` the intercepts
    (and the later waves' latent means are freed: wave 1's stay at 0), at ``strict`` the
    residual variances. Built by :func:`psychometrics.cfa.longitudinal.longitudinal_syntax`
    with marker identification (the latent means then in the marker item's units)."""
    design = LongitudinalDesign(
        {factor: tuple(items) for factor, items in factors.items()}, n_waves, "{name}__t{wave}"
    )
    return repeated_measures_syntax(design, level, identification="marker")


def _construct_ladder(
    instrument: InstrumentData,
    code: str,
    name: str,
    factors: dict[str, tuple[str, ...]],
    waves: tuple[str, ...],
    min_n: int,
) -> dict[str, Any]:
    items = [item for members in factors.values() for item in members]
    wide = wide_rows(instrument, items, waves)
    label = f"waves {' → '.join(waves)} (construct {code})"
    per_wave = {
        wave: int(wide[[f"{item}__t{k}" for item in items]].notna().any(axis=1).sum())
        for k, wave in enumerate(waves, 1)
    }
    complete = int(wide.notna().all(axis=1).sum())
    entry: dict[str, Any] = {
        "available": False,
        "reason": None,
        "kind": "waves",
        "label": label,
        "construct": code,
        "construct_name": name,
        "waves": list(waves),
        "from": waves[0],
        "to": waves[-1],
        "estimator": WAVE_ESTIMATOR,
        "missing": WAVE_MISSING,
        "factors": {factor: list(members) for factor, members in factors.items()},
        "n": len(wide),
        "participants_per_wave": per_wave,
        "complete": complete,
        "syntax": {level: longitudinal_syntax(factors, level, len(waves)) for level, _ in LEVELS},
        "levels": [],
        "highest_level": None,
        "conclusion": None,
        "warnings": [],
    }
    if len(wide) < min_n:
        entry["reason"] = (
            f"{len(wide)} participants with an answer at some wave, fewer than {min_n}"
        )
        return entry
    levels = _ladder(
        lambda level: cfa(
            entry["syntax"][level],
            wide,
            meanstructure=True,
            missing=WAVE_MISSING,
            estimator=WAVE_ESTIMATOR,
        ),
        latent_means=lambda result: _latent_means(result, by="wave"),
        estimator=WAVE_ESTIMATOR,
    )
    highest, sentence = conclude(levels, f"{', '.join(waves)} for {code}")
    entry.update(available=True, levels=levels, highest_level=highest, conclusion=sentence)
    entry["warnings"] = _ladder_warnings(label, levels, highest)
    return entry
