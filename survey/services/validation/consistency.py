"""Internal consistency of a validation run: alpha, omega, item-total per scale.

At the analysed wave (:func:`.items.analysed_rows`: the selected wave, else baseline; the
reverse-keyed rows with every item answered, the same rows for every scale), for each
subconstruct (its items) and each construct (the items of its subconstructs):

- Cronbach's alpha with the Feldt (1965) 95 % confidence interval, standardised alpha and the
  mean inter-item correlation (:func:`psychometrics.reliability.cronbach_alpha`);
- McDonald's omega total from a one-factor CFA of the scale's items, model-implied
  variance as ``semTools::compRelSEM(obs.var = FALSE)``
  (:func:`psychometrics.reliability.omega_total`; needs three items or more);
- per item the corrected item-total correlation (with the sum of the scale's other items,
  ``psych``'s ``r.drop``) and alpha if the item is deleted.

**Construct direction.** The items are reverse-keyed within their subconstruct
(:func:`instruments.scoring.reverse_keyed`). A subconstruct marked ``reverse: true`` has its
high pole at its construct's low pole (e.g. *Lapsing* in *Use trajectory*), and enters the
construct score reflected (:mod:`instruments.scoring`, rule 3); here its items are reflected
again (``min + max - x``) so that every item of a construct points the construct's way, as
the second-order model's negative loading for such a subconstruct says
(:mod:`instruments.measurement_model`).

Warnings: alpha below 0.70 (Terwee et al. 2007, doi:10.1016/j.jclinepi.2006.03.012) or
above 0.95 (items so alike that some are redundant), and a negative corrected item-total
correlation (an item running against its scale: miskeyed or misread).

Omega hierarchical of the second-order model is not in :mod:`psychometrics` yet; the section
says so under ``omega_hierarchical``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from instruments.definition import Construct, InstrumentDefinition, Subconstruct
from psychometrics.reliability import cronbach_alpha, omega_total
from survey.services.validation.data import InstrumentData, StudyData
from survey.services.validation.items import analysed_rows, json_number

__all__ = ["ALPHA_HIGH", "ALPHA_LOW", "construct_items", "internal_consistency"]

ALPHA_LOW = 0.70
ALPHA_HIGH = 0.95
CI_LEVEL = 0.95
MISSING = "listwise"
TERWEE = "Terwee et al. 2007, J Clin Epidemiol 60:34, doi:10.1016/j.jclinepi.2006.03.012"


def construct_items(
    definition: InstrumentDefinition, construct: Construct, keyed: pd.DataFrame
) -> pd.DataFrame:
    """The keyed items of ``construct``'s subconstructs, those of a reverse-oriented
    subconstruct reflected (``min + max - x``) so that all point the construct's way."""
    parts = []
    for sub in construct.subconstructs:
        frame = keyed[[item.id for item in sub.items]]
        if sub.reverse:
            scale = definition.scale(sub.items[0].scale)
            frame = scale.minimum + scale.maximum - frame
        parts.append(frame)
    return pd.concat(parts, axis=1)


def internal_consistency(data: StudyData, instrument: InstrumentData) -> dict[str, Any]:
    """Alpha, omega and item-total statistics per subconstruct and construct at the analysed
    wave (see the module docstring)."""
    definition = instrument.definition
    wave, rows = analysed_rows(data, instrument)
    subconstructs = [_subconstruct(sub, rows) for sub in definition.subconstructs]
    constructs = [
        _construct(definition, construct, rows)
        for construct in definition.constructs
        if construct.subconstructs
    ]
    warnings = [w for entry in subconstructs + constructs for w in _warnings(entry)]
    if len(rows) == 0:
        warnings.insert(0, f"No complete rows at wave {wave!r}: nothing to analyse.")
    return {
        "wave": wave,
        "n": len(rows),
        "missing": MISSING,
        "criteria": {
            "alpha_low": ALPHA_LOW,
            "alpha_high": ALPHA_HIGH,
            "reference": TERWEE,
        },
        "subconstructs": subconstructs,
        "constructs": constructs,
        "omega_hierarchical": {
            "available": False,
            "reason": "omega hierarchical of the second-order model is not in the "
            "psychometrics engine yet",
        },
        "notes": [
            f"Wave {wave!r}: {len(rows)} rows with every item answered (listwise deletion), "
            "the same rows for every scale; reverse-keyed items reversed.",
            "Alpha: Cronbach (1951) from the item covariances, with the Feldt (1965) "
            f"{CI_LEVEL:.0%} confidence interval; item-total is the corrected item-total "
            "correlation (with the sum of the other items of the scale).",
            "Omega total: McDonald's omega from a one-factor ML CFA of the scale's items, "
            "model-implied total variance (semTools::compRelSEM(obs.var = FALSE)); it needs "
            "three items or more. For a construct the one-factor model ignores its "
            "subconstructs (misspecified when they are distinct facets): read its omega "
            "beside alpha; it is not omega hierarchical.",
            "Construct scales: the items of a reverse-oriented subconstruct (reverse: true) "
            "are reflected again so that they point the construct's way.",
            "Omega hierarchical for the second-order model is not available yet: the "
            "psychometrics engine does not compute it.",
            f"Warnings: alpha below {ALPHA_LOW:.2f} ({TERWEE}) or above {ALPHA_HIGH:.2f} "
            "(redundant items), and negative item-total correlations.",
        ],
        "warnings": warnings,
    }


def _subconstruct(sub: Subconstruct, rows: pd.DataFrame) -> dict[str, Any]:
    items = [item.id for item in sub.items]
    entry = {
        "level": "subconstruct",
        "code": sub.code,
        "name": sub.name,
        "construct": sub.items[0].construct if sub.items else None,
        "reverse": sub.reverse,
        "items": items,
    }
    return entry | _scale(rows[items] if len(items) else rows.iloc[:, :0])


def _construct(
    definition: InstrumentDefinition, construct: Construct, rows: pd.DataFrame
) -> dict[str, Any]:
    frame = construct_items(definition, construct, rows)
    entry = {
        "level": "construct",
        "code": construct.code,
        "name": construct.name,
        "subconstructs": [sub.code for sub in construct.subconstructs],
        "reflected_subconstructs": [sub.code for sub in construct.subconstructs if sub.reverse],
        "items": list(frame.columns),
    }
    return entry | _scale(frame)


def _scale(frame: pd.DataFrame) -> dict[str, Any]:
    """alpha, omega and item-total of the items of ``frame`` (complete rows)."""
    out: dict[str, Any] = {
        "n_items": frame.shape[1],
        "n": len(frame),
        "alpha": None,
        "omega": None,
        "item_total": [],
        "alpha_low": None,
        "alpha_high": None,
        "reason": None,
        "omega_reason": None,
    }
    try:
        alpha = cronbach_alpha(frame, missing=MISSING, ci=CI_LEVEL)
    except ValueError as error:  # fewer than 2 items or 3 rows, an item without variance
        out["reason"] = f"alpha not computed: {error}"
        out["omega_reason"] = "not computed (no alpha)"
        return out
    summary = alpha.to_dict()
    out["alpha"] = {
        key: summary[key] for key in ("alpha", "std_alpha", "average_r", "ci", "n", "n_items")
    }
    out["item_total"] = [
        {
            "id": str(item),
            "mean": json_number(row["mean"]),
            "sd": json_number(row["sd"]),
            "r_drop": json_number(row["r_drop"]),
            "alpha_if_deleted": json_number(row["alpha_if_deleted"]),
        }
        for item, row in alpha.items.iterrows()
    ]
    if out["alpha"]["alpha"] is not None:
        out["alpha_low"] = out["alpha"]["alpha"] < ALPHA_LOW
        out["alpha_high"] = out["alpha"]["alpha"] > ALPHA_HIGH
    try:
        omega = omega_total(frame, missing=MISSING)
    except ValueError as error:  # fewer than 3 items, a model the engine cannot fit
        out["omega_reason"] = f"omega not computed: {error}"
        return out
    out["omega"] = {
        "omega": json_number(omega.omega),
        "omega_observed": json_number(omega.omega_observed),
        "convention": "model-implied total variance, as semTools::compRelSEM(obs.var=FALSE)",
        "std_loadings": {
            str(item): json_number(value) for item, value in omega.loadings["std_loading"].items()
        },
    }
    return out


def _warnings(entry: dict[str, Any]) -> list[str]:
    where = f"{entry['level']} {entry['code']}"
    if entry["alpha"] is None:
        return [f"{where}: {entry['reason']}"] if entry["n"] else []
    out = []
    value = entry["alpha"]["alpha"]
    if entry["alpha_low"]:
        out.append(
            f"{where}: alpha {value:.3f} below {ALPHA_LOW:.2f}, insufficient internal "
            f"consistency (Terwee et al. 2007; n = {entry['n']}, {entry['n_items']} items)."
        )
    if entry["alpha_high"]:
        out.append(
            f"{where}: alpha {value:.3f} above {ALPHA_HIGH:.2f}: the items may be redundant "
            "(Terwee et al. 2007)."
        )
    for item in entry["item_total"]:
        if item["r_drop"] is not None and item["r_drop"] < 0:
            out.append(
                f"{where}: item {item['id']} correlates negatively with the rest of the scale "
                f"(corrected item-total r = {item['r_drop']:.3f}): miskeyed or misread?"
            )
    return out
