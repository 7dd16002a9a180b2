"""Item statistics of a validation run: distributions, floor and ceiling, missingness.

At the analysed wave (:func:`analysed_wave`: the selected wave, else the first, i.e.
baseline), every session of that wave is described, complete or not, so that missing
answers show:

- per item, on the **raw answers** as the participant gave them (before reverse keying):
  n answered, missing count and share (of the sessions at the wave), mean, SD (n - 1),
  median, skewness and excess kurtosis (type 3, as ``psych::describe``; from
  :func:`psychometrics.items.describe_items`), the count and share of every option of the
  item's response scale (options nobody chose listed with 0), and the floor and ceiling
  shares: answers at the lowest and at the highest option, over the answers given;
- per subconstruct and construct score (:func:`instruments.scoring.score_frame`): n
  scored, mean, SD and the floor and ceiling shares, scores equal to the scale's minimum
  and maximum.

A floor or ceiling share above 15 % is a floor or ceiling effect (Terwee et al. 2007,
*J Clin Epidemiol* 60:34, doi:10.1016/j.jclinepi.2006.03.012) and gives a warning.

The module also owns the selection the one-wave sections share (:func:`analysed_wave`,
:func:`rows_at_wave`, :func:`analysed_rows`) and :func:`json_number`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from instruments.definition import InstrumentDefinition, ResponseScale
from psychometrics.items import describe_items
from survey.services.validation.data import InstrumentData, StudyData

__all__ = [
    "FLOOR_CEILING_LIMIT",
    "analysed_rows",
    "analysed_wave",
    "item_statistics",
    "json_number",
    "rows_at_wave",
]

FLOOR_CEILING_LIMIT = 0.15
"""Share of answers (or scores) at the lowest or highest option above which there is a floor or
ceiling effect (Terwee et al. 2007)."""

TERWEE = "Terwee et al. 2007, J Clin Epidemiol 60:34, doi:10.1016/j.jclinepi.2006.03.012"

# Scores are means of integers: equal to the scale's end exactly, up to float rounding.
_SCORE_TOLERANCE = 1e-9


# --------------------------------------------------------------------------------------
# the selection shared by the one-wave sections
# --------------------------------------------------------------------------------------
def json_number(value: Any) -> Any:
    """A JSON-ready scalar: numpy types to Python, NaN and infinities to None."""
    if value is None:
        return None
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        value = float(value)
        return value if math.isfinite(value) else None
    return value


def analysed_wave(data: StudyData) -> str | None:
    """The wave one-wave analyses use: ``data.wave`` when one was selected, else the first of
    ``data.waves`` (baseline); ``None`` when the study has no waves. Rows of one participant
    at several waves are not independent, so structure and consistency use one wave."""
    if data.wave is not None:
        return data.wave
    return data.waves[0] if data.waves else None


def rows_at_wave(frame: pd.DataFrame, wave: str | None) -> pd.DataFrame:
    """Rows of ``frame`` (indexed by participant and wave) at ``wave``, indexed by participant
    alone; empty when no row is at that wave."""
    if wave is None or frame.empty:
        return frame.iloc[0:0].droplevel("wave")
    at = frame.index.get_level_values("wave") == wave
    return frame.loc[at].droplevel("wave")


def analysed_rows(data: StudyData, instrument: InstrumentData) -> tuple[str | None, pd.DataFrame]:
    """The analysed wave and the reverse-keyed rows at it with every item answered (listwise
    deletion), indexed by participant: what the CFA, EFA and reliability analyses fit."""
    wave = analysed_wave(data)
    return wave, rows_at_wave(instrument.complete(), wave)


# --------------------------------------------------------------------------------------
# the section
# --------------------------------------------------------------------------------------
def item_statistics(data: StudyData, instrument: InstrumentData) -> dict[str, Any]:
    """Item and score distributions at the analysed wave (see the module docstring)."""
    definition = instrument.definition
    wave = analysed_wave(data)
    raw = rows_at_wave(instrument.raw, wave)
    scores = rows_at_wave(instrument.scores, wave)
    items = _item_rows(definition, raw)
    score_rows = _score_rows(definition, scores)
    warnings = [w for row in items for w in _item_warnings(row)]
    warnings += [w for row in score_rows for w in _score_warnings(row)]
    notes = [
        f"Wave {wave!r}: all {len(raw)} sessions at this wave are described, complete or "
        "not; missing shares are of these sessions, every other share is of the answers "
        "(or scores) given."
        if wave is not None
        else "The study has no waves: there is nothing to describe.",
        "Item statistics are on the raw answers, before reverse keying: for a reverse-keyed "
        "item (reverse: true) the lowest option is the high pole of its subconstruct.",
        "Skewness and excess kurtosis are type 3 (psych::describe; Joanes & Gill 1998); SD "
        "with the n - 1 denominator.",
        "Floor and ceiling: the share at the lowest and at the highest option of the "
        "response scale (items), or at the scale's minimum and maximum (subconstruct and "
        f"construct scores); above {FLOOR_CEILING_LIMIT:.0%} is a floor or ceiling effect "
        f"({TERWEE}).",
    ]
    if len(raw) == 0 and wave is not None:
        warnings.append(f"No sessions at wave {wave!r}: item statistics are empty.")
    return {
        "wave": wave,
        "sessions": len(raw),
        "limit": FLOOR_CEILING_LIMIT,
        "criterion": f"floor or ceiling share > {FLOOR_CEILING_LIMIT:.0%} ({TERWEE})",
        "items": items,
        "scores": score_rows,
        "notes": notes,
        "warnings": warnings,
    }


def _item_rows(definition: InstrumentDefinition, raw: pd.DataFrame) -> list[dict[str, Any]]:
    described = _described(definition, raw)
    rows = []
    for item in definition.items:
        scale = definition.scale(item.scale)
        values = raw[item.id].to_numpy(dtype="float64") if len(raw) else np.array([])
        answered = values[~np.isnan(values)]
        n = int(answered.size)
        counts = [int(np.sum(answered == option.value)) for option in scale.options]
        stats = described.get(item.id, {})
        floor = _share(int(np.sum(answered == scale.minimum)), n)
        ceiling = _share(int(np.sum(answered == scale.maximum)), n)
        rows.append(
            {
                "id": item.id,
                "subconstruct": item.subconstruct,
                "construct": item.construct,
                "reverse": item.reverse,
                "scale": scale.key,
                "n": n,
                "missing": len(raw) - n,
                "missing_share": _share(len(raw) - n, len(raw)),
                "mean": json_number(stats.get("mean")),
                "sd": json_number(stats.get("sd")),
                "median": json_number(stats.get("median")),
                "skew": json_number(stats.get("skew")),
                "kurtosis": json_number(stats.get("kurtosis")),
                "distribution": [
                    {
                        "value": option.value,
                        "label": option.label,
                        "count": count,
                        "share": _share(count, n),
                    }
                    for option, count in zip(scale.options, counts, strict=True)
                ],
                "floor_share": floor,
                "ceiling_share": ceiling,
                "floor_effect": _above(floor),
                "ceiling_effect": _above(ceiling),
            }
        )
    return rows


def _described(definition: InstrumentDefinition, raw: pd.DataFrame) -> dict[str, dict]:
    """describe_items per response scale (it takes one response range), for the items with
    at least one answer; {item id: its row}."""
    out: dict[str, dict] = {}
    by_scale: dict[str, list[str]] = {}
    for item in definition.items:
        if len(raw) and raw[item.id].notna().any():
            by_scale.setdefault(item.scale, []).append(item.id)
    for key, ids in by_scale.items():
        scale = definition.scale(key)
        result = describe_items(raw, ids, response_range=(scale.minimum, scale.maximum))
        out.update({str(item): dict(row) for item, row in result.table.iterrows()})
    return out


def _score_rows(definition: InstrumentDefinition, scores: pd.DataFrame) -> list[dict[str, Any]]:
    rows = []
    levels: list[tuple[str, str, str, ResponseScale]] = [
        ("subconstruct", sub.code, sub.name, definition.scale(sub.items[0].scale))
        for sub in definition.subconstructs
    ] + [
        (
            "construct",
            construct.code,
            construct.name,
            definition.scale(construct.subconstructs[0].items[0].scale),
        )
        for construct in definition.constructs
        if construct.subconstructs
    ]
    for level, code, name, scale in levels:
        values = scores[code].to_numpy(dtype="float64") if len(scores) else np.array([])
        scored = values[~np.isnan(values)]
        n = int(scored.size)
        floor = _share(int(np.sum(np.abs(scored - scale.minimum) <= _SCORE_TOLERANCE)), n)
        ceiling = _share(int(np.sum(np.abs(scored - scale.maximum) <= _SCORE_TOLERANCE)), n)
        rows.append(
            {
                "level": level,
                "code": code,
                "name": name,
                "minimum": scale.minimum,
                "maximum": scale.maximum,
                "n": n,
                "missing": len(values) - n,
                "mean": json_number(scored.mean()) if n else None,
                "sd": json_number(scored.std(ddof=1)) if n > 1 else None,
                "floor_share": floor,
                "ceiling_share": ceiling,
                "floor_effect": _above(floor),
                "ceiling_effect": _above(ceiling),
            }
        )
    return rows


def _share(count: int, total: int) -> float | None:
    return count / total if total else None


def _above(share: float | None) -> bool | None:
    return None if share is None else share > FLOOR_CEILING_LIMIT


def _item_warnings(row: dict[str, Any]) -> list[str]:
    out = []
    options = row["distribution"]
    for kind, share, option in (
        ("floor", row["floor_share"], options[0]),
        ("ceiling", row["ceiling_share"], options[-1]),
    ):
        if share is not None and share > FLOOR_CEILING_LIMIT:
            out.append(
                f"item {row['id']}: {share:.1%} of {row['n']} answers at the "
                f"{'lowest' if kind == 'floor' else 'highest'} option "
                f"({option['value']} {option['label']!r}), above "
                f"{FLOOR_CEILING_LIMIT:.0%}: {kind} effect (Terwee et al. 2007)."
            )
    return out


def _score_warnings(row: dict[str, Any]) -> list[str]:
    out = []
    for kind, share, end in (
        ("floor", row["floor_share"], row["minimum"]),
        ("ceiling", row["ceiling_share"], row["maximum"]),
    ):
        if share is not None and share > FLOOR_CEILING_LIMIT:
            out.append(
                f"{row['level']} score {row['code']}: {share:.1%} of {row['n']} scores at the "
                f"scale's {'minimum' if kind == 'floor' else 'maximum'} {end}, above "
                f"{FLOOR_CEILING_LIMIT:.0%}: {kind} effect (Terwee et al. 2007)."
            )
    return out
