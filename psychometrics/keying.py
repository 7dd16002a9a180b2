"""Scale definitions and reverse keying.

A reverse-keyed item is scored against the response range: ``x' = low + high - x``, so that on a
1..5 scale 1 becomes 5 and 4 becomes 2. The range is that of the response options, never the
observed minimum and maximum, which differ between samples.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class ScaleKey:
    """A named scale: its items in order and which of them are reverse-keyed.

    Examples
    --------
    >>> key = ScaleKey.parse("anxiety=a1,-a2,a3")
    >>> key.name, key.items, key.reverse
    ('anxiety', ('a1', 'a2', 'a3'), ('a2',))
    """

    name: str
    items: tuple[str, ...]
    reverse: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("a scale needs a name")
        if not self.items:
            raise ValueError(f"scale {self.name!r} has no items")
        if len(set(self.items)) != len(self.items):
            raise ValueError(f"scale {self.name!r} names an item more than once")
        stray = [i for i in self.reverse if i not in self.items]
        if stray:
            raise ValueError(f"scale {self.name!r}: reverse-keyed items not in the scale: {stray}")

    @classmethod
    def parse(cls, text: str) -> ScaleKey:
        """Parse ``NAME=ITEM,-ITEM,...``; a leading minus marks a reverse-keyed item."""
        name, sep, rest = text.partition("=")
        name = name.strip()
        if not sep or not name:
            raise ValueError(f"scale must look like NAME=ITEM,-ITEM,...; got {text!r}")
        items: list[str] = []
        reverse: list[str] = []
        for raw in rest.split(","):
            token = raw.strip()
            if not token:
                continue
            if token.startswith("-"):
                token = token[1:].strip()
                if not token:
                    raise ValueError(f"scale {name!r}: a lone '-' is not an item")
                reverse.append(token)
            items.append(token)
        return cls(name=name, items=tuple(items), reverse=tuple(reverse))

    def to_dict(self) -> dict:
        return {"name": self.name, "items": list(self.items), "reverse": list(self.reverse)}


def reverse_key(
    data: pd.DataFrame, items: Sequence[str], *, low: float, high: float
) -> pd.DataFrame:
    """Return a copy of ``data`` with ``items`` reverse-keyed as ``low + high - x``.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses.
    items : sequence of str
        Columns to reverse.
    low, high : float
        Lowest and highest response option.

    Raises
    ------
    ValueError
        If ``low >= high``, an item is absent, not numeric, or holds a value outside the range
        (which means the range is wrong and reversing would corrupt the data).

    Examples
    --------
    >>> import pandas as pd
    >>> reverse_key(pd.DataFrame({"a": [1, 2, 5]}), ["a"], low=1, high=5)["a"].tolist()
    [5.0, 4.0, 1.0]
    """
    if not low < high:
        raise ValueError(f"response range must have low < high; got {low} and {high}")
    out = data.copy()
    for item in items:
        if item not in out.columns:
            raise ValueError(f"reverse-keyed item {item!r} is not in the data")
        column = out[item]
        if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
            raise ValueError(f"column {item!r} is not numeric")
        values = column.to_numpy(dtype=float, na_value=np.nan)
        observed = values[~np.isnan(values)]
        if observed.size and (observed.min() < low or observed.max() > high):
            raise ValueError(
                f"item {item!r} has values outside the response range {low:g}..{high:g} "
                f"(observed {observed.min():g}..{observed.max():g})"
            )
        out[item] = low + high - values
    return out
