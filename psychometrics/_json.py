"""Conversion of result tables and numbers to plain JSON-ready Python values (NaN -> None).

The package's one converter: the result objects' ``to_dict()`` methods and the command line's
``--json`` use :func:`number`, :func:`records`, :func:`matrix`, :func:`series` for their own
shapes and :func:`jsonable` for anything nested.
"""

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


def jsonable(value):
    """``value`` with every container and number made JSON-ready, recursively: dict keys to
    str, tuples to lists, a DataFrame to a list of row records, a Series to ``{label: value}``,
    an array to nested lists, numpy scalars to Python, NaN and infinities to None."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, pd.DataFrame):
        return jsonable(value.to_dict(orient="records"))
    if isinstance(value, pd.Series):
        return jsonable(value.to_dict())
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.generic) and not isinstance(value, (np.bool_, np.number)):
        return value.item()
    return number(value)
