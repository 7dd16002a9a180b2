"""The data frame and metadata pyreadstat writes for the .sav and .dta exports.

Both files are written a chunk of rows at a time and the chunks joined under the first
chunk's dictionary (:mod:`survey.services.exports.spss`, :mod:`survey.services.exports.stata`),
so every chunk must produce byte-identical variable definitions whatever its data:

* every number is a float64 column with an explicit display format, so no chunk turns a
  column into an integer type;
* every text column has the fixed width of its :class:`~survey.services.exports.layout.Variable`
  in bytes: cut there (whole UTF-8 characters, "..." at the end of a cut reason) and padded
  with NUL bytes, which readstat stops at and pads the field with again, so the value read
  back is the text itself;
* timestamps are naive UTC datetime64 columns (SPSS DATETIME, Stata %tc).

The writers compare each chunk's dictionary with the first one's and stop with an error if
they differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from survey.models import Study
from survey.services.exports.layout import (
    DATETIME,
    NOT_ANSWERED,
    NOT_ANSWERED_LABEL,
    STRING,
    Layout,
    Variable,
)
from survey.services.exports.table import WideChunk

__all__ = [
    "FileLabels",
    "empty_chunk",
    "file_labels",
    "fixed_width",
    "readstat_frame",
    "truncated",
    "value_labels",
]

_ELLIPSIS = "..."


def truncated(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes (whole characters), ending in "..."
    when cut.

    >>> truncated("abcdef", 5), truncated("abc", 5), truncated("ééé", 5)
    ('ab...', 'abc', 'é...')
    """
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[: limit - len(_ELLIPSIS)].decode("utf-8", errors="ignore") + _ELLIPSIS


def fixed_width(text: str | None, width: int) -> str:
    """``text`` (``None``: empty) as exactly ``width`` UTF-8 bytes: cut, then NUL-padded.

    >>> fixed_width("P000042", 10)
    'P000042\\x00\\x00\\x00'
    """
    cut = truncated(text or "", width)
    return cut + "\0" * (width - len(cut.encode("utf-8")))


def _naive_utc(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, utc=True).dt.tz_convert(None).astype("datetime64[us]")


def readstat_frame(layout: Layout, chunk: WideChunk, not_answered_value: object) -> pd.DataFrame:
    """The chunk's frame as pyreadstat writes it, columns renamed to the safe names; an item
    left empty on a submitted page holds ``not_answered_value`` (-9 for SPSS, ``"a"``,
    Stata's ``.a``, for Stata: those columns are then of object dtype)."""
    columns: dict[str, pd.Series] = {}
    for variable in layout.variables:
        values = chunk.frame[variable.name]
        if variable.storage == STRING:
            series = pd.Series(
                [fixed_width(None if pd.isna(v) else str(v), variable.width) for v in values],
                dtype=object,
            )
        elif variable.storage == DATETIME:
            series = _naive_utc(pd.Series(values.tolist(), dtype=object))
        else:
            series = pd.Series(values.to_numpy(dtype="float64"))
            empty = chunk.not_answered.get(variable.name)
            if empty is not None:
                if isinstance(not_answered_value, str):
                    series = series.astype(object)
                series[empty] = not_answered_value
        columns[variable.safe_name] = series
    return pd.DataFrame(columns)


def empty_chunk(layout: Layout) -> WideChunk:
    """A chunk with the layout's columns and no rows, for a selection without sessions."""
    data: dict[str, pd.Series] = {}
    for variable in layout.variables:
        if variable.storage == STRING:
            data[variable.name] = pd.Series([], dtype=object)
        elif variable.storage == DATETIME:
            data[variable.name] = pd.Series([], dtype="datetime64[us, UTC]")
        else:
            data[variable.name] = pd.Series([], dtype="float64")
    return WideChunk(records=[], frame=pd.DataFrame(data), not_answered={})


def value_labels(variable: Variable, not_answered: object | None) -> dict | None:
    """The variable's value labels with float keys (the columns are float64), plus the
    "not answered" code's label for items."""
    if not variable.value_labels:
        return None
    labels: dict[object, str] = {
        float(value): text for value, text in variable.value_labels.items()
    }
    if variable.not_answered and not_answered is not None:
        labels[not_answered] = NOT_ANSWERED_LABEL
    return labels


@dataclass(frozen=True)
class FileLabels:
    """How the .sav and .dta files name the study and its battery: the file labels (SPSS 64
    bytes: the first 12 hex digits of each content hash; Stata 80 characters) and the SPSS
    notes (every version with its full content hash)."""

    sav: str
    dta: str
    notes: list[str]


def file_labels(study: Study, layout: Layout, selection: str, generated_at: datetime) -> FileLabels:
    """The labels and notes of the study's .sav/.dta files for ``selection`` (its words)."""
    short = "; ".join(
        f"{v.instrument.key} {v.version} sha256:{v.content_hash[:12]}" for v in layout.versions
    )
    notes = [
        f"Study {study.slug}: {study.name}. {selection}. Generated {generated_at.isoformat()}.",
        *(
            f"Instrument {v.instrument.key} {v.version}, content hash (SHA-256) {v.content_hash}"
            for v in layout.versions
        ),
        "Simulated participants (flask demo simulate, not people) have simulated = 1.",
        f"{NOT_ANSWERED} = {NOT_ANSWERED_LABEL} (user-missing): an item left empty on a "
        "submitted page; system missing: not reached, or a score or index that cannot be "
        "computed.",
    ]
    return FileLabels(sav=short, dta=f"{study.slug}: {short}", notes=notes)
