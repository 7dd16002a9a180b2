"""Score answers to an instrument: reverse keying, subconstruct and construct scores.

The rules (construct map, "Measurement conventions", made general):

1. **Reverse keying.** An item with ``reverse: true`` is worded toward the low pole of its
   subconstruct and is scored ``min + max - x`` on its response scale (``6 - x`` on 1..5).
2. **Subconstruct score** = mean of its keyed items, *prorated*: it is computed from the
   items answered when at least two thirds of the items are answered, rounded up
   (:func:`min_answered`), else it is missing. With three items per subconstruct, as in
   ``iemdp`` 1.0.0, that is **at least 2 answered of 3, i.e. at most one missing**. The
   mean of the answered items is the prorated sum divided by the number of items.
3. **Construct score** = mean of its subconstruct scores, where a subconstruct marked
   ``reverse: true`` (its high pole is the construct's low pole, e.g. *Lapsing* in *Use
   trajectory*) enters reflected, ``min + max - s``. Subconstruct scores themselves keep
   their own direction.
4. **A construct score needs all its subconstruct scores**; if any is missing, so is the
   construct score. This is the conservative rule, chosen because the subconstructs are
   distinct facets, not interchangeable items: the mean of the available ones would change
   what the score means from one respondent to the next (*Treatment cost and access*
   without *Financial burden* is only *Time and convenience*), and missing answers have
   already been allowed for once, inside each subconstruct. A missing subconstruct means
   at least two of its three items are missing.
5. **Attention checks are never scored**; :func:`attention_check_results` says whether
   each was answered as expected.

Answers must be values of the item's response scale; anything else raises ``ValueError``
naming the item. ``None`` or ``NaN`` means not answered. Keys or columns that are not item
ids (attention checks, metadata) are ignored.

>>> from instruments.loader import instrument_path, load_instrument
>>> iemdp = load_instrument(instrument_path("iemdp", "1.0.0"))
>>> answers = {"OE_BEN_1": 3, "OE_BEN_2": 5, "OE_BEN_3": 2}  # OE_BEN_3: 6 - 2 = 4
>>> score_responses(iemdp, answers).subconstructs["OE_BEN"]
4.0
>>> score_responses(iemdp, {"OE_BEN_1": 4}).subconstructs["OE_BEN"] is None  # 1 of 3
True
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd

from instruments.definition import (
    AttentionCheck,
    Construct,
    InstrumentDefinition,
    Item,
    ResponseScale,
    Subconstruct,
)

__all__ = [
    "Scores",
    "attention_check_frame",
    "attention_check_results",
    "min_answered",
    "reverse_keyed",
    "score_frame",
    "score_responses",
]


def min_answered(n_items: int) -> int:
    """Answered items a subconstruct score needs: two thirds of ``n_items``, rounded up.

    >>> [min_answered(n) for n in (1, 2, 3, 4, 5, 6)]
    [1, 2, 2, 3, 4, 4]
    """
    if n_items < 1:
        raise ValueError(f"a subconstruct needs at least one item, got {n_items}")
    return -(-2 * n_items // 3)  # integer ceil(2n / 3), free of float rounding


@dataclass(frozen=True)
class Scores:
    """One respondent's scores; ``None`` where a score is missing (rules 2 and 4)."""

    subconstructs: dict[str, float | None]
    constructs: dict[str, float | None]

    def to_dict(self) -> dict[str, dict[str, float | None]]:
        return {"subconstructs": dict(self.subconstructs), "constructs": dict(self.constructs)}


# --------------------------------------------------------------------------------------
# one respondent
# --------------------------------------------------------------------------------------
def score_responses(
    definition: InstrumentDefinition, responses: Mapping[str, int | None]
) -> Scores:
    """Score one respondent's answers (item id -> value, ``None`` or absent if unanswered).

    >>> from instruments.loader import instrument_path, load_instrument
    >>> iemdp = load_instrument(instrument_path("iemdp", "1.0.0"))
    >>> all_fours = {item.id: 4 for item in iemdp.items}
    >>> scores = score_responses(iemdp, all_fours)
    >>> round(scores.subconstructs["TC_FIN"], 4)  # (4 + 4 + (6 - 4)) / 3
    3.3333
    >>> round(scores.constructs["TC"], 4)  # mean of (6 - TC_FIN) and TC_TIME
    3.0
    """
    subconstructs: dict[str, float | None] = {}
    constructs: dict[str, float | None] = {}
    for construct in definition.constructs:
        for sub in construct.subconstructs:
            keyed = []
            for item in sub.items:
                value = _checked_answer(definition, item, responses.get(item.id))
                if value is not None:
                    scale = definition.scale(item.scale)
                    keyed.append(scale.reverse(value) if item.reverse else value)
            if sub.items and len(keyed) >= min_answered(len(sub.items)):
                subconstructs[sub.code] = sum(keyed) / len(keyed)
            else:
                subconstructs[sub.code] = None
        constructs[construct.code] = _construct_score(definition, construct, subconstructs)
    return Scores(subconstructs=subconstructs, constructs=constructs)


def _construct_score(
    definition: InstrumentDefinition,
    construct: Construct,
    subconstructs: Mapping[str, float | None],
) -> float | None:
    values = []
    for sub in construct.subconstructs:
        score = subconstructs[sub.code]
        if score is None:
            return None  # rule 4: all subconstruct scores or none
        values.append(_sub_scale(definition, sub).reverse(score) if sub.reverse else score)
    return sum(values) / len(values) if values else None


def _sub_scale(definition: InstrumentDefinition, sub: Subconstruct) -> ResponseScale:
    # The loader guarantees one response scale per construct.
    return definition.scale(sub.items[0].scale)


def _checked_answer(
    definition: InstrumentDefinition, entry: Item | AttentionCheck, value: object
) -> float | None:
    """``None`` for no answer, else the value as a number; ValueError if not on the scale."""
    if value is None:
        return None
    scale = definition.scale(entry.scale)
    if isinstance(value, Real) and not isinstance(value, bool | np.bool_):
        number = float(value)
        if math.isnan(number):
            return None
        if number in scale.values:
            return number
    raise ValueError(
        f"item {entry.id}: {value!r} is not a value of response scale {scale.key!r} "
        f"({', '.join(map(str, scale.values))})"
    )


def attention_check_results(
    definition: InstrumentDefinition, responses: Mapping[str, int | None]
) -> dict[str, bool | None]:
    """For each attention check: ``True`` if answered as expected, ``False`` if answered
    otherwise, ``None`` if not answered.

    >>> from instruments.loader import instrument_path, load_instrument
    >>> iemdp = load_instrument(instrument_path("iemdp", "1.0.0"))
    >>> attention_check_results(iemdp, {"ATTN_1": 2, "ATTN_2": 5})
    {'ATTN_1': True, 'ATTN_2': False}
    """
    results: dict[str, bool | None] = {}
    for check in definition.attention_checks:
        value = _checked_answer(definition, check, responses.get(check.id))
        results[check.id] = None if value is None else value == check.expected
    return results


# --------------------------------------------------------------------------------------
# many respondents
# --------------------------------------------------------------------------------------
def reverse_keyed(definition: InstrumentDefinition, frame: pd.DataFrame) -> pd.DataFrame:
    """The scored items of ``frame``, reverse-keyed: columns are the item ids in instrument
    order (other columns dropped), values float with ``NaN`` for no answer, index kept.

    This is the data the measurement model and reliability analyses are fitted to.
    Raises ``ValueError`` if an item column is missing or holds a value off its scale.

    >>> import pandas as pd
    >>> from instruments.loader import instrument_path, load_instrument
    >>> iemdp = load_instrument(instrument_path("iemdp", "1.0.0"))
    >>> raw = pd.DataFrame([{item.id: 5 for item in iemdp.items}])
    >>> keyed = reverse_keyed(iemdp, raw)
    >>> keyed.loc[0, ["OE_BEN_1", "OE_BEN_3"]].tolist()
    [5.0, 1.0]
    """
    missing = [item.id for item in definition.items if item.id not in frame.columns]
    if missing:
        shown = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise ValueError(f"frame has no column for {len(missing)} item(s): {shown}")
    columns = {}
    for item in definition.items:
        values = _checked_column(definition, item, frame[item.id])
        if item.reverse:
            scale = definition.scale(item.scale)
            values = scale.minimum + scale.maximum - values
        columns[item.id] = values
    return pd.DataFrame(columns, index=frame.index)


def score_frame(definition: InstrumentDefinition, frame: pd.DataFrame) -> pd.DataFrame:
    """Score many respondents: rows of ``frame`` are respondents, columns item ids.

    Returns one column per subconstruct code, then one per construct code (instrument
    order), float with ``NaN`` for a missing score, the index of ``frame`` kept. Each row
    equals :func:`score_responses` of that row.
    """
    keyed = reverse_keyed(definition, frame)
    scores: dict[str, pd.Series] = {}
    for sub in definition.subconstructs:
        items = keyed[[item.id for item in sub.items]]
        enough = items.notna().sum(axis=1) >= min_answered(len(sub.items))
        scores[sub.code] = items.mean(axis=1).where(enough)
    for construct in definition.constructs:
        parts = []
        for sub in construct.subconstructs:
            score = scores[sub.code]
            if sub.reverse:
                scale = _sub_scale(definition, sub)
                score = scale.minimum + scale.maximum - score
            parts.append(score)
        # skipna=False: rule 4, a construct needs all its subconstruct scores.
        scores[construct.code] = pd.concat(parts, axis=1).mean(axis=1, skipna=False)
    return pd.DataFrame(scores, index=frame.index, dtype="float64")


def attention_check_frame(definition: InstrumentDefinition, frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`attention_check_results` for many respondents: one nullable-boolean column
    per attention check (``<NA>`` when not answered, or when the column is absent)."""
    columns = {}
    for check in definition.attention_checks:
        if check.id in frame.columns:
            values = _checked_column(definition, check, frame[check.id])
        else:
            values = pd.Series(np.nan, index=frame.index)
        passed = pd.array(values == check.expected, dtype="boolean")
        passed[values.isna().to_numpy()] = pd.NA
        columns[check.id] = passed
    return pd.DataFrame(columns, index=frame.index)


def _checked_column(
    definition: InstrumentDefinition, entry: Item | AttentionCheck, column: pd.Series
) -> pd.Series:
    """The column as float64 (``NaN`` for no answer); ValueError naming the item if a value
    is not a number on its response scale."""
    entry_id = entry.id
    scale = definition.scale(entry.scale)
    numeric = None
    if not pd.api.types.is_bool_dtype(column):
        if pd.api.types.is_numeric_dtype(column):
            numeric = column.to_numpy(dtype="float64", na_value=np.nan)
        elif column.dtype == object:
            present = column.dropna()
            if all(isinstance(v, Real) and not isinstance(v, bool | np.bool_) for v in present):
                numeric = column.to_numpy(dtype="float64", na_value=np.nan)
    if numeric is None:
        raise ValueError(f"item {entry_id}: answers must be numbers, got dtype {column.dtype}")
    values = pd.Series(numeric, index=column.index)
    off_scale = values.notna() & ~values.isin(scale.values)
    if off_scale.any():
        bad = values[off_scale]
        shown = ", ".join(f"{value:g} (row {row!r})" for row, value in bad.head(3).items())
        raise ValueError(
            f"item {entry_id}: {int(off_scale.sum())} answer(s) not on response scale "
            f"{scale.key!r} ({', '.join(map(str, scale.values))}): {shown}"
        )
    return values
