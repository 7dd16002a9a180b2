"""The R ``.rds`` export: the wide table as one R data frame, written by pyreadr.

Items and attention checks are **factors** whose levels are the response labels in scale
order (``as.integer(x)`` is the position on the scale, which is the stored value when the
scale runs 1, 2, ...; the codebook lists each scale's values); a missing answer is ``NA``.
Scores and data-quality indices are numeric, ``excluded``, ``simulated`` and the flags
integer 0/1, text columns character, and ``started_at``/``completed_at`` character
timestamps in ISO 8601 UTC (pyreadr writes no POSIXct). Column names are the CSV names
(``iemdp.OE_BEN_1`` in a battery is a valid R name).

**Memory:** pyreadr writes a whole data frame at once, so unlike the CSV, .sav and .dta
exports this one holds the entire table in memory (about 8 bytes per cell: some 90 MB for
100,000 sessions x 110 columns). For larger studies use the wide CSV with ``read.csv``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyreadr

from survey.services.exports.layout import DATETIME, STRING, Layout
from survey.services.exports.readstat_frames import empty_chunk
from survey.services.exports.table import WideChunk

__all__ = ["RdsSink", "r_frame"]

_INTEGER = ("excluded", "simulated")


def _iso(values: pd.Series) -> pd.Series:
    return pd.Series([None if pd.isna(v) else v.isoformat() for v in values.tolist()], dtype=object)


def r_frame(layout: Layout, chunk: WideChunk) -> pd.DataFrame:
    """The chunk as the data frame pyreadr writes (factors, nullable integers and floats, so
    that R reads ``NA``, not ``NaN``)."""
    columns: dict[str, pd.Series] = {}
    for variable in layout.variables:
        values = chunk.frame[variable.name]
        if variable.storage == STRING:
            columns[variable.name] = pd.Series(
                [None if pd.isna(v) else str(v) for v in values.tolist()], dtype=object
            )
        elif variable.storage == DATETIME:
            columns[variable.name] = _iso(values)
        elif variable.kind in ("item", "attention_check") and variable.scale is not None:
            scale_values = list(variable.scale.values)
            numbers = values.to_numpy(dtype="float64")
            codes = np.full(len(numbers), -1, dtype="int64")
            for position, value in enumerate(scale_values):
                codes[numbers == value] = position
            labels = [option.label for option in variable.scale.options]
            columns[variable.name] = pd.Series(pd.Categorical.from_codes(codes, labels))
        elif variable.kind == "quality_flag" or variable.name in _INTEGER:
            numbers = values.to_numpy(dtype="float64")
            column = pd.array(np.nan_to_num(numbers).astype("int32"), dtype="Int32")
            column[np.isnan(numbers)] = pd.NA
            columns[variable.name] = pd.Series(column)
        else:
            numbers = values.to_numpy(dtype="float64")
            column = pd.array(numbers, dtype="Float64")
            column[np.isnan(numbers)] = pd.NA
            columns[variable.name] = pd.Series(column)
    return pd.DataFrame(columns)


class RdsSink:
    """Collects the chunks and writes the .rds file at ``path`` when finished."""

    def __init__(self, layout: Layout, path: Path):
        self.layout = layout
        self.path = path
        self.frames: list[pd.DataFrame] = []

    def add(self, chunk: WideChunk) -> None:
        if len(chunk.frame):
            self.frames.append(r_frame(self.layout, chunk))

    def finish(self) -> None:
        frames = self.frames or [r_frame(self.layout, empty_chunk(self.layout))]
        frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        self.frames = []
        pyreadr.write_rds(self.path, frame, compress="gzip")
