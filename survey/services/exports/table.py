"""A study's wide table, one chunk of sessions at a time: what every wide export writes.

A row is one participant at one wave (one response session), in participant and wave
order, with the columns of :mod:`survey.services.exports.layout`. The sessions come from
:func:`survey.services.study_data.iter_sessions` a chunk of participants at a time, so the
memory a wide export needs depends on the chunk size and the number of columns, not on the
number of participants. Scores are computed per chunk with
:func:`instruments.scoring.score_frame`; the data-quality columns come from
:meth:`survey.services.data_quality.QualityAssessor.assess` after its one streaming pass for
the sample statistics (:meth:`~survey.services.data_quality.QualityAssessor.for_study`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import select

from instruments.scoring import score_frame
from survey.extensions import db
from survey.models import Participant, ResponseSession, Study, Wave
from survey.services import study_data
from survey.services.data_quality import QualityAssessor, rules_of
from survey.services.exports.layout import Layout, build_layout
from survey.services.study_data import SessionRecord

__all__ = ["Selection", "SelectionCounts", "WideChunk", "WideTable", "selection_counts"]

CHUNK_SIZE = 2000
"""Participants per chunk (study_data's keyset pages): about 2 MB of wide rows per chunk at
110 columns, and few enough chunks that pandas' per-column costs do not dominate."""


@dataclass(frozen=True)
class Selection:
    """Which sessions an export holds: one wave (its key) or all, and whether excluded
    sessions are in (with ``excluded`` = 1 and their reason) or left out (the default)."""

    wave: str | None = None
    include_excluded: bool = False

    def describe(self) -> str:
        waves = f"wave {self.wave}" if self.wave else "all waves"
        excluded = (
            "excluded sessions included"
            if self.include_excluded
            else ("excluded sessions left out")
        )
        return f"{waves}, {excluded}"


@dataclass(frozen=True)
class SelectionCounts:
    """How many sessions the selection's waves have, how many are excluded, how many of
    those the export leaves out, and how many rows it holds and how many are simulated."""

    sessions: int
    excluded: int
    excluded_left_out: int
    rows: int
    simulated_rows: int


def _simulated_rows(study: Study, selection: Selection) -> int:
    """Sessions of simulated participants in the selection (excluded ones counted only when
    the selection holds them)."""
    query = (
        select(ResponseSession.id)
        .join(Participant, Participant.id == ResponseSession.participant_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id, Participant.simulated.is_(True))
    )
    if selection.wave is not None:
        query = query.where(Wave.key == selection.wave)
    excluded = set() if selection.include_excluded else study_data.excluded_session_ids(study)
    return sum(
        1
        for session_id in db.session.scalars(query.execution_options(yield_per=10_000))
        if session_id not in excluded
    )


def selection_counts(study: Study, selection: Selection) -> SelectionCounts:
    """The counts of :class:`SelectionCounts` from the database (no pass over the answers).

    Raises :class:`~survey.services.study_data.UnknownWave` for a wave the study lacks.
    """
    counts = study_data.session_counts(study, wave=selection.wave)
    left_out = 0 if selection.include_excluded else counts.excluded
    return SelectionCounts(
        sessions=counts.total,
        excluded=counts.excluded,
        excluded_left_out=left_out,
        rows=counts.total - left_out,
        simulated_rows=_simulated_rows(study, selection),
    )


@dataclass(frozen=True)
class WideChunk:
    """Rows of the wide table: ``frame`` has the layout's columns (numbers float64 with
    ``NaN`` for missing, strings and datetimes as Python objects or ``None``);
    ``not_answered`` holds, per item column with any, the rows where the item was left
    empty on a submitted page (``NaN`` in ``frame``, -9 in SPSS, ``.a`` in Stata)."""

    records: list[SessionRecord]
    frame: pd.DataFrame
    not_answered: dict[str, np.ndarray]


def _number(value: object) -> float:
    """A quality cell as a number: True/False as 1/0, None as NaN."""
    if value is None:
        return math.nan
    if isinstance(value, bool | np.bool_):
        return 1.0 if value else 0.0
    return float(value)  # type: ignore[arg-type]


class WideTable:
    """The wide table of ``study`` for ``selection``; iterate :meth:`chunks` once.

    Raises :class:`~survey.services.study_data.UnknownWave` at once for a wave the study
    lacks. After the iteration :attr:`rows` and :attr:`simulated_rows` hold the counts.
    """

    def __init__(self, study: Study, selection: Selection, *, chunk_size: int = CHUNK_SIZE):
        study_data.wave_of(study, selection.wave)
        self.study = study
        self.selection = selection
        self.chunk_size = chunk_size
        self.columns = study_data.battery_columns(study)
        self.assessor = QualityAssessor.for_study(study, chunk_size=chunk_size)
        self.layout: Layout = build_layout(
            study, self.columns, tuple(self.assessor.columns), rules_of(study)
        )
        self.rows = 0
        self.simulated_rows = 0

    def counts(self) -> SelectionCounts:
        """The selection's counts, with the rows and simulated rows of the pass just made."""
        counts = selection_counts(self.study, self.selection)
        return SelectionCounts(
            sessions=counts.sessions,
            excluded=counts.excluded,
            excluded_left_out=counts.excluded_left_out,
            rows=self.rows,
            simulated_rows=self.simulated_rows,
        )

    def chunks(self) -> Iterator[WideChunk]:
        for records in study_data.iter_sessions(
            self.study,
            wave=self.selection.wave,
            include_excluded=self.selection.include_excluded,
            chunk_size=self.chunk_size,
        ):
            chunk = self.chunk(records)
            self.rows += len(records)
            self.simulated_rows += sum(1 for record in records if record.simulated)
            yield chunk

    def chunk(self, records: list[SessionRecord]) -> WideChunk:
        """The wide rows of ``records``."""
        layout = self.layout
        data: dict[str, object] = {
            "participant": [r.participant for r in records],
            "wave": [r.wave for r in records],
            "excluded": np.array([float(r.excluded) for r in records]),
            "exclusion_reason": [r.exclusion_reason for r in records],
            "simulated": np.array([float(r.simulated) for r in records]),
            "started_at": [r.started_at for r in records],
            "completed_at": [r.completed_at for r in records],
            "battery": [layout.battery] * len(records),
        }
        not_answered: dict[str, np.ndarray] = {}
        by_key: dict[tuple[int, str], str] = {}
        for variable in layout.of_kind("item", "attention_check"):
            column = variable.column
            assert column is not None
            key = (column.version_id, column.item_id)
            by_key[key] = variable.name
            values = np.full(len(records), np.nan)
            empty = np.zeros(len(records), dtype=bool)
            for row, record in enumerate(records):
                if key in record.values:
                    value = record.values[key]
                    if value is None:
                        empty[row] = True
                    else:
                        values[row] = value
            data[variable.name] = values
            if empty.any():
                not_answered[variable.name] = empty
        for version, definition in zip(layout.versions, layout.definitions, strict=True):
            items = pd.DataFrame(
                {item.id: data[by_key[(version.id, item.id)]] for item in definition.items}
            )
            scores = score_frame(definition, items)
            for variable in layout.of_kind("subconstruct", "construct"):
                if variable.version_id == version.id:
                    data[variable.name] = scores[variable.source].to_numpy(dtype="float64")
        quality = layout.of_kind("quality_index", "quality_flag")
        if quality:
            assessed = self.assessor.assess(records)
            for variable in quality:
                data[variable.name] = np.array([_number(row[variable.source]) for row in assessed])
        frame = pd.DataFrame({name: data[name] for name in layout.names}, index=None)
        return WideChunk(records=records, frame=frame, not_answered=not_answered)
