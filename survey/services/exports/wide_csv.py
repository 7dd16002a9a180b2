"""The wide CSV: one row per participant and wave, the columns of the layout.

RFC 4180 (CRLF line ends, UTF-8), written chunk by chunk. Numbers as they are (items and
0/1 columns as integers, scores and indices with full precision), timestamps in ISO 8601
UTC, an empty cell for anything missing (see :mod:`survey.services.exports.layout`), and
text cells a spreadsheet would run as a formula escaped with a leading apostrophe
(:mod:`instruments.csv_cells`). The ``battery`` column names each instrument version and its
content hash on every row.
"""

from __future__ import annotations

import csv
from datetime import datetime
from typing import IO

import numpy as np
import pandas as pd

from instruments.csv_cells import escape_cell
from survey.services.exports.layout import DATETIME, STRING, Layout
from survey.services.exports.table import WideChunk

__all__ = ["WideCsvSink", "csv_cells"]

_INTEGER_KINDS = ("item", "attention_check", "quality_flag")
_INTEGER_FIXED = ("excluded", "simulated")


def _iso(value: datetime | None) -> str:
    return "" if value is None or pd.isna(value) else value.isoformat()


def _integer(values: np.ndarray) -> list[str]:
    # Python floats (tolist) format far faster than numpy scalars; x != x is NaN.
    return ["" if v != v else str(int(v)) for v in values.tolist()]


def _float(values: np.ndarray) -> list[str]:
    return ["" if v != v else repr(v) for v in values.tolist()]


def _text(values) -> list[str]:
    return ["" if v is None or (isinstance(v, float) and np.isnan(v)) else escape_cell(str(v))
            for v in values]  # fmt: skip


def csv_cells(layout: Layout, chunk: WideChunk) -> list[list[str]]:
    """The chunk's rows as CSV cells (columns in layout order)."""
    columns = []
    for variable in layout.variables:
        values = chunk.frame[variable.name]
        if variable.storage == STRING:
            columns.append(_text(values.tolist()))
        elif variable.storage == DATETIME:
            columns.append([_iso(v) for v in values.tolist()])
        elif variable.kind in _INTEGER_KINDS or variable.name in _INTEGER_FIXED:
            columns.append(_integer(values.to_numpy(dtype="float64")))
        else:
            columns.append(_float(values.to_numpy(dtype="float64")))
    return [list(row) for row in zip(*columns, strict=True)]


class WideCsvSink:
    """Writes the wide CSV to ``out`` (a text file opened with ``newline=""``)."""

    def __init__(self, layout: Layout, out: IO[str]):
        self.layout = layout
        self.writer = csv.writer(out, lineterminator="\r\n")
        self.writer.writerow([escape_cell(name) for name in layout.names])

    def add(self, chunk: WideChunk) -> None:
        self.writer.writerows(csv_cells(self.layout, chunk))

    def finish(self) -> None:
        """Nothing left to write (the header went out first)."""
