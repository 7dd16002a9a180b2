"""Conversion of result tables and numbers to plain JSON-ready Python values (NaN -> None)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd


def number(value):
    """A JSON-ready scalar: numpy types to Python, NaN and infinities to None."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return None if math.isnan(value) or math.isinf(value) else value
    return value


def records(table: pd.DataFrame) -> dict:
    """``{row label: {column: value}}`` for a table indexed by item (or factor, or type)."""
    return {
        str(index): {str(k): number(v) for k, v in row.items()} for index, row in table.iterrows()
    }


def matrix(frame: pd.DataFrame) -> dict:
    """A labelled matrix as ``{row: {column: value}}``."""
    return records(frame)


def series(values: pd.Series) -> dict:
    return {str(k): number(v) for k, v in values.items()}
