"""Criterion (predictive) validity of a validation run: baseline scores against outcomes.

The question the IEM-DP was built to answer: which determinants, measured at the start,
predict who stays in therapy and how much they engage. Baseline is the analysed wave
(:func:`.items.analysed_wave`: the selected wave, else the first). The outcomes are the
study's current outcome version (:attr:`StudyData.outcomes`).

**One value per participant.** A per-participant outcome (a row without a wave) is taken as
it is. A per-wave outcome is aggregated over the participant's rows at the analysed waves
(:attr:`StudyData.waves`, which begin at baseline; the baseline row counts, because a
per-wave outcome describes the period after its wave, as the simulation's engagement in the
four weeks after each wave and ``dropped_out`` = no session at the next wave):

- a **binary** outcome (every value 0 or 1): 1 if it is 1 at any analysed wave, else 0
  (``dropped_out``: dropped out at some point);
- any other numeric outcome: the **sum** over the waves with a value (``messages_sent``,
  ``active_weeks``: totals over the study).

When a column has both, the per-participant value is used where given. Categorical columns
(covariates such as ``age_group``, ``delivery_mode``) are not outcomes here; they define
groups for measurement invariance.

**Analyses**, over the participants with the baseline score (rounded to 10 decimals, so that
equal means of answers tie exactly) and the outcome:

- every numeric outcome (binary ones too, as the point-biserial r) against every construct
  and subconstruct score: Pearson's r with its Fisher-z 95 % interval, p and n
  (:func:`psychometrics.regression.pearson_ci`);
- every binary outcome: logistic regression on the **standardised** baseline construct
  scores (z over the model's rows, so odds ratios are per SD), all constructs in one model
  (``"predictors": "all"``) and each construct alone, with Wald intervals
  (:func:`psychometrics.regression.logistic_regression`) and the AUC of the model's
  predicted probabilities with DeLong's interval (:func:`~psychometrics.regression.roc_auc_ci`);
- ``predictors``: per binary outcome, the constructs whose odds-ratio interval in the
  all-construct model excludes 1, by decreasing :math:`|\\ln OR|`; ``predictors_alone``
  the same from the one-construct models.

References: Peduzzi et al. (1996), *J Clin Epidemiol* 49, 1373-1379,
doi:10.1016/S0895-4356(96)00236-3 (ten events per predictor); Prinsen et al. (2018),
doi:10.1007/s11136-018-1798-3 (COSMIN: criterion validity, AUC or r >= 0.70).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from instruments.definition import InstrumentDefinition
from psychometrics.regression import (
    SeparationError,
    logistic_regression,
    pearson_ci,
    roc_auc_ci,
)
from survey.services.validation.data import InstrumentData, StudyData
from survey.services.validation.items import analysed_wave, json_number, rows_at_wave

__all__ = ["EVENTS_PER_PREDICTOR", "criterion_validity", "participant_outcomes"]

CI_LEVEL = 0.95
EVENTS_PER_PREDICTOR = 10
"""Fewer events (or non-events) per predictor than this make a logistic model's estimates
unreliable (Peduzzi et al. 1996)."""

MISSING_OUTCOME_WARNING = 0.20
SCORE_DECIMALS = 10


def participant_outcomes(
    outcomes: pd.DataFrame, columns: list[str], waves: tuple[str, ...] | list[str]
) -> tuple[pd.DataFrame, dict[str, dict[str, Any]]]:
    """One value per participant (code) and outcome column, by the module's rule; and per
    column whether it is binary and the rule used."""
    per_participant = outcomes[outcomes["wave"].isna()].set_index("participant")
    per_wave = outcomes[outcomes["wave"].isin(list(waves)).fillna(False).astype(bool)]
    values: dict[str, pd.Series] = {}
    rules: dict[str, dict[str, Any]] = {}
    for name in columns:
        given = per_participant[name].dropna()
        waved = per_wave[["participant", name]].dropna()
        seen = np.concatenate([given.to_numpy(dtype=float), waved[name].to_numpy(dtype=float)])
        binary = bool(seen.size) and bool(np.isin(seen, (0.0, 1.0)).all())
        grouped = waved.groupby("participant", sort=False)[name]
        aggregated = grouped.max() if binary else grouped.sum()
        values[name] = given.combine_first(aggregated) if len(given) else aggregated
        rules[name] = {
            "binary": binary,
            "rule": _rule(bool(len(given)), bool(len(waved)), binary),
        }
    return pd.DataFrame(values), rules


def _rule(per_participant: bool, per_wave: bool, binary: bool) -> str:
    waved = "1 if 1 at any analysed wave, else 0" if binary else "summed over the analysed waves"
    if per_participant and per_wave:
        return f"the per-participant value where given, else {waved}"
    if per_participant:
        return "per participant, as uploaded"
    if per_wave:
        return waved
    return "no values"


def criterion_validity(data: StudyData, instrument: InstrumentData) -> dict[str, Any]:
    """Baseline scores against the study's outcomes (see the module docstring)."""
    baseline = analysed_wave(data)
    numeric = [name for name, kind in data.outcome_columns if kind == "numeric"]
    categorical = [name for name, kind in data.outcome_columns if kind != "numeric"]
    reason = None
    if data.outcomes is None:
        reason = "the study has no outcomes uploaded"
    elif not numeric:
        reason = "the study's outcomes have no numeric column"
    elif baseline is None:
        reason = "the study has no waves"
    if reason is not None:
        return {
            "available": False,
            "reason": reason,
            "notes": [f"Criterion validity not computed: {reason}."],
            "warnings": [],
        }
    waves = _analysed_waves(data, baseline)
    per_participant, rules = participant_outcomes(data.outcomes, numeric, waves)
    # Means of integer answers that are equal can differ in the last bit (a mean of means):
    # rounded, equal scores tie exactly, which the AUC's tie rule needs.
    scores = rows_at_wave(instrument.scores, baseline).round(SCORE_DECIMALS)
    joined = scores.join(per_participant, how="left")
    definition = instrument.definition
    binary = [name for name in numeric if rules[name]["binary"]]

    outcomes = [_outcome_summary(name, rules[name], joined[name], len(scores)) for name in numeric]
    correlations = [
        _correlation(name, level, code, label, joined[code], joined[name])
        for name in numeric
        for level, code, label in _levels(definition)
    ]
    logistic: list[dict[str, Any]] = []
    predictors: dict[str, list[dict[str, Any]]] = {}
    predictors_alone: dict[str, list[dict[str, Any]]] = {}
    constructs = [c.code for c in definition.constructs]
    names = {c.code: c.name for c in definition.constructs}
    for name in binary:
        joint = _logistic(name, "all", joined, constructs, names)
        alone = [_logistic(name, code, joined, [code], names) for code in constructs]
        logistic += [joint, *alone]
        predictors[name] = _predictors([joint])
        predictors_alone[name] = _predictors(alone)

    return {
        "available": True,
        "baseline_wave": baseline,
        "waves": list(waves),
        "participants": len(scores),
        "ci_level": CI_LEVEL,
        "outcomes": outcomes,
        "correlations": correlations,
        "logistic": logistic,
        "predictors": predictors,
        "predictors_alone": predictors_alone,
        "notes": _notes(data, baseline, waves, categorical, binary),
        "warnings": _warnings(outcomes, logistic),
    }


def _analysed_waves(data: StudyData, baseline: str) -> tuple[str, ...]:
    """The analysed waves from baseline on (``data.waves`` is in study order)."""
    waves = tuple(data.waves)
    return waves[waves.index(baseline) :] if baseline in waves else (baseline,)


def _levels(definition: InstrumentDefinition) -> list[tuple[str, str, str]]:
    return [("construct", c.code, c.name) for c in definition.constructs] + [
        ("subconstruct", s.code, s.name) for s in definition.subconstructs
    ]


def _outcome_summary(
    name: str, rule: dict[str, Any], values: pd.Series, participants: int
) -> dict[str, Any]:
    present = values.dropna()
    summary: dict[str, Any] = {
        "name": name,
        "binary": rule["binary"],
        "rule": rule["rule"],
        "n": int(present.size),
        "missing": participants - int(present.size),
        "mean": json_number(present.mean()) if present.size else None,
        "sd": json_number(present.std(ddof=1)) if present.size > 1 else None,
    }
    if rule["binary"]:
        summary["events"] = int(present.sum())
    return summary


def _correlation(
    outcome: str, level: str, code: str, name: str, score: pd.Series, values: pd.Series
) -> dict[str, Any]:
    entry: dict[str, Any] = {"outcome": outcome, "level": level, "code": code, "name": name}
    try:
        result = pearson_ci(score, values, CI_LEVEL)
    except ValueError as error:
        n = int((score.notna() & values.notna()).sum())
        return {
            **entry,
            "r": None,
            "n": n,
            "ci": {"lower": None, "upper": None, "level": CI_LEVEL},
            "p": None,
            "error": str(error),
        }
    return {
        **entry,
        "r": json_number(result.r),
        "n": result.n,
        "ci": {
            "lower": json_number(result.ci_lower),
            "upper": json_number(result.ci_upper),
            "level": CI_LEVEL,
        },
        "p": json_number(result.p),
    }


def _logistic(
    outcome: str,
    label: str,
    joined: pd.DataFrame,
    codes: list[str],
    names: dict[str, str],
) -> dict[str, Any]:
    rows = joined[[*codes, outcome]].dropna()
    entry: dict[str, Any] = {
        "outcome": outcome,
        "predictors": label,
        "n": len(rows),
        "n_events": int(rows[outcome].sum()),
    }
    sd = rows[codes].std(ddof=1)
    z = (rows[codes] - rows[codes].mean()) / sd
    try:
        if len(rows) > 1 and not (sd > 0).all():
            constant = ", ".join(sd.index[~(sd > 0)])
            raise ValueError(f"baseline score(s) without variance: {constant}")
        model = logistic_regression(z, rows[outcome], level=CI_LEVEL)
        auc = roc_auc_ci(rows[outcome], model.fitted, level=CI_LEVEL)
    except ValueError as error:  # SeparationError, constant outcome or score, too few rows
        kind = "separation" if isinstance(error, SeparationError) else "not estimable"
        return {
            **entry,
            "auc": None,
            "auc_ci": {"lower": None, "upper": None, "level": CI_LEVEL},
            "auc_se": None,
            "odds_ratios": [],
            "fit": None,
            "error": f"{kind}: {error}",
        }
    table = model.table
    odds_ratios = [
        {
            "code": code,
            "name": names[code],
            "odds_ratio": json_number(table.loc[code, "odds_ratio"]),
            "ci": {
                "lower": json_number(table.loc[code, "or_ci_lower"]),
                "upper": json_number(table.loc[code, "or_ci_upper"]),
                "level": CI_LEVEL,
            },
            "coef": json_number(table.loc[code, "coef"]),
            "se": json_number(table.loc[code, "se"]),
            "z": json_number(table.loc[code, "z"]),
            "p": json_number(table.loc[code, "p"]),
        }
        for code in codes
    ]
    fit = model.to_dict()
    return {
        **entry,
        "auc": json_number(auc.auc),
        "auc_ci": {
            "lower": json_number(auc.ci_lower),
            "upper": json_number(auc.ci_upper),
            "level": CI_LEVEL,
        },
        "auc_se": json_number(auc.se),
        "odds_ratios": odds_ratios,
        "fit": {key: fit[key] for key in _FIT_KEYS},
        "intercept": fit["coefficients"]["intercept"],
    }


_FIT_KEYS = ("converged", "iterations", "loglik", "llnull", "aic", "bic", "pseudo_r2", "lr_test")


def _predictors(models: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Constructs whose odds-ratio interval excludes 1, by decreasing |log OR|."""
    found = [
        {
            "code": ratio["code"],
            "name": ratio["name"],
            "odds_ratio": ratio["odds_ratio"],
            "log_odds_ratio": ratio["coef"],
            "ci": ratio["ci"],
            "p": ratio["p"],
        }
        for model in models
        for ratio in model["odds_ratios"]
        if ratio["ci"]["lower"] is not None
        and ratio["ci"]["upper"] is not None
        and (ratio["ci"]["lower"] > 1 or ratio["ci"]["upper"] < 1)
    ]
    return sorted(found, key=lambda entry: -abs(entry["log_odds_ratio"]))


def _notes(
    data: StudyData,
    baseline: str,
    waves: tuple[str, ...],
    categorical: list[str],
    binary: list[str],
) -> list[str]:
    excluded = (
        "excluded sessions included (as asked)"
        if data.include_excluded
        else f"{data.excluded_left_out} excluded sessions left out"
    )
    notes = [
        f"Baseline scores are those at wave {baseline!r} ({excluded}); outcomes are "
        f"version {data.outcome_version} of the study's outcomes.",
        "One value per participant: a per-participant outcome as uploaded; a per-wave "
        f"outcome over the rows at {', '.join(waves)} (a per-wave value describes the period "
        "after its wave, so the baseline row counts): 1 if 1 at any of them for a 0/1 "
        "outcome, else their sum; the per-participant value wins where a column has both. "
        "Each outcome's rule is in outcomes[].rule.",
        "Correlations: Pearson's r (point-biserial for a 0/1 outcome) over the participants "
        "with both values, Fisher-z 95 % interval.",
    ]
    if binary:
        notes += [
            "Logistic regression of each 0/1 outcome on the baseline construct scores, "
            "standardised over the model's rows (odds ratios per SD): all constructs in one "
            "model (adjusted for each other) and each construct alone; Newton-Raphson, Wald "
            "intervals. predictors lists the constructs whose interval excludes 1 in the "
            "all-construct model, predictors_alone in the one-construct models, by "
            "decreasing |log OR|.",
            "The AUC is that of the model's predicted probabilities on the rows it was "
            "fitted to (DeLong interval): optimistic for new participants, more so for the "
            "all-construct model.",
        ]
    else:
        notes.append("No outcome is 0/1 only, so no logistic regression was fitted.")
    if categorical:
        notes.append(
            f"Categorical columns ({', '.join(categorical)}) are covariates, not criteria: "
            "they define groups for measurement invariance."
        )
    return notes


def _warnings(outcomes: list[dict[str, Any]], logistic: list[dict[str, Any]]) -> list[str]:
    warnings = []
    for outcome in outcomes:
        total = outcome["n"] + outcome["missing"]
        if total and outcome["missing"] / total > MISSING_OUTCOME_WARNING:
            warnings.append(
                f"Outcome {outcome['name']}: missing for {outcome['missing']} of {total} "
                "participants with a baseline session; the analyses use the others."
            )
    for model in logistic:
        k = len(model["odds_ratios"]) or (1 if model["predictors"] != "all" else 0)
        fewer = min(model["n_events"], model["n"] - model["n_events"])
        if model.get("error"):
            warnings.append(
                f"Logistic model of {model['outcome']} on {model['predictors']}: {model['error']}"
            )
        elif model["predictors"] == "all" and k and fewer / k < EVENTS_PER_PREDICTOR:
            warnings.append(
                f"Logistic model of {model['outcome']} on all constructs: {fewer} of the rarer "
                f"outcome for {k} predictors, fewer than {EVENTS_PER_PREDICTOR} per predictor "
                "(Peduzzi et al. 1996); its estimates are unstable."
            )
        elif model["fit"] is not None and not model["fit"]["converged"]:
            warnings.append(
                f"Logistic model of {model['outcome']} on {model['predictors']} did not converge."
            )
    return warnings
