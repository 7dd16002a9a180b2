"""The rows a validation run analyses, read once per run.

A row is one response session: one participant at one wave. Rows are read through
:func:`survey.services.study_data.iter_sessions` (a chunk of participants at a time),
excluded sessions left out unless ``include_excluded``; only wave ``wave`` when given.
Attention checks are not items: they are left out of the item frames.

Per instrument version of the battery, :class:`InstrumentData` holds

- ``raw``: answers as stored (float, ``NaN`` when missing), columns the item ids in the
  instrument's order;
- ``keyed``: the same with reverse-keyed items reversed
  (:func:`instruments.scoring.reverse_keyed`), what the CFA and reliability analyses fit;
- ``scores``: subconstruct then construct scores (:func:`instruments.scoring.score_frame`).

All frames share one index: a :class:`pandas.MultiIndex` of (participant code, wave key),
in participant and wave order; :attr:`StudyData.rows` holds per row the participant id, wave
position, whether the session is complete, whether it is simulated and its delivery mode (that
of most of its answers: "web" or "chat"; None without answers).

:attr:`StudyData.rows_hash` is the SHA-256 of the analysed rows (index and raw answers in a
canonical text form), so a stored run can say exactly which data it saw.

:attr:`StudyData.outcomes` is the study's current outcome version as
:meth:`survey.services.outcomes.OutcomeTable.frame` gives it (``participant``,
``wave`` — ``<NA>`` for a per-participant row — then the columns), or None when the study
has none; :attr:`StudyData.outcome_columns` names each column's kind.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from instruments.definition import InstrumentDefinition
from instruments.scoring import reverse_keyed, score_frame
from survey.models import InstrumentVersion, Study
from survey.services import outcomes, study_data
from survey.services.instruments import definition_of

__all__ = ["InstrumentData", "StudyData", "VersionInfo", "load_study_data"]

INDEX_NAMES = ("participant", "wave")


@dataclass(frozen=True)
class VersionInfo:
    """Which instrument version the frames hold (plain values: a StudyData outlives the
    database session it was read in)."""

    id: int
    key: str
    version: str
    content_hash: str

    @classmethod
    def of(cls, version: InstrumentVersion) -> VersionInfo:
        return cls(
            id=version.id,
            key=version.instrument.key,
            version=version.version,
            content_hash=version.content_hash,
        )


@dataclass(frozen=True)
class InstrumentData:
    """One instrument version's frames (see the module docstring)."""

    version: VersionInfo
    definition: InstrumentDefinition
    raw: pd.DataFrame
    keyed: pd.DataFrame
    scores: pd.DataFrame

    @property
    def label(self) -> str:
        return f"{self.version.key} {self.version.version}"

    @property
    def items(self) -> list[str]:
        return list(self.raw.columns)

    def complete(self, frame: pd.DataFrame | None = None) -> pd.DataFrame:
        """Rows of ``frame`` (default ``keyed``) with every item answered."""
        frame = self.keyed if frame is None else frame
        return frame.dropna(axis=0, how="any")

    def at_wave(self, frame: pd.DataFrame, wave: str) -> pd.DataFrame:
        """Rows of ``frame`` at wave ``wave``, indexed by participant code alone."""
        if frame.empty:
            return frame.droplevel("wave")
        return frame.xs(wave, level="wave")


@dataclass(frozen=True)
class StudyData:
    """What a run analyses: the selection, its counts, the rows and the frames."""

    study_id: int
    slug: str
    wave: str | None
    include_excluded: bool
    waves: tuple[str, ...]
    sessions_total: int
    sessions_excluded: int
    rows: pd.DataFrame
    instruments: tuple[InstrumentData, ...]
    rows_hash: str
    outcomes: pd.DataFrame | None = None
    outcome_version: int | None = None
    outcome_columns: tuple[tuple[str, str], ...] = ()

    @property
    def n_rows(self) -> int:
        return len(self.rows)

    @property
    def excluded_left_out(self) -> int:
        """Excluded sessions that are not analysed (0 with ``include_excluded``)."""
        return 0 if self.include_excluded else self.sessions_excluded

    @property
    def simulated_rows(self) -> int:
        return int(self.rows["simulated"].sum()) if len(self.rows) else 0

    def selection(self) -> dict[str, object]:
        return {
            "wave": self.wave,
            "include_excluded": self.include_excluded,
            "waves": list(self.waves),
            "sessions_total": self.sessions_total,
            "sessions_excluded": self.sessions_excluded,
            "excluded_left_out": self.excluded_left_out,
            "rows": self.n_rows,
            "simulated_rows": self.simulated_rows,
            "rows_sha256": self.rows_hash,
            "outcome_version": self.outcome_version,
        }


def load_study_data(
    study: Study, *, wave: str | None = None, include_excluded: bool = False
) -> StudyData:
    """Read the analysed rows of ``study`` (raises :class:`study_data.UnknownWave`)."""
    study_data.wave_of(study, wave)  # an unknown wave is an error before anything is read
    versions = list(study.instrument_versions)
    definitions = [definition_of(version) for version in versions]
    item_ids = [[item.id for item in definition.items] for definition in definitions]

    index: list[tuple[str, str]] = []
    meta: list[tuple[int, int, bool, bool, str | None]] = []
    values: list[list[list[float]]] = [[] for _ in versions]
    for chunk in study_data.iter_sessions(
        study, wave=wave, include_excluded=include_excluded, chunk_size=2000
    ):
        for record in chunk:
            index.append((record.participant, record.wave))
            meta.append(
                (
                    record.participant_id,
                    record.wave_position,
                    record.completed_at is not None,
                    record.simulated,
                    record.delivery_mode,
                )
            )
            for position, version in enumerate(versions):
                answers = record.values
                values[position].append(
                    [_number(answers.get((version.id, item))) for item in item_ids[position]]
                )

    multi = pd.MultiIndex.from_tuples(index, names=INDEX_NAMES)
    rows = pd.DataFrame(
        meta,
        index=multi,
        columns=["participant_id", "wave_position", "complete", "simulated", "delivery_mode"],
    )
    instruments = []
    for position, (version, definition) in enumerate(zip(versions, definitions, strict=True)):
        raw = pd.DataFrame(
            np.array(values[position], dtype="float64").reshape(
                len(index), len(item_ids[position])
            ),
            index=multi,
            columns=item_ids[position],
        )
        instruments.append(
            InstrumentData(
                version=VersionInfo.of(version),
                definition=definition,
                raw=raw,
                keyed=reverse_keyed(definition, raw).astype("float64"),
                scores=score_frame(definition, raw),
            )
        )
    table = outcomes.current_outcomes(study)
    counts = study_data.session_counts(study, wave=wave)
    waves = tuple(w.key for w in study.waves if wave is None or w.key == wave)
    return StudyData(
        study_id=study.id,
        slug=study.slug,
        wave=wave,
        include_excluded=include_excluded,
        waves=waves,
        sessions_total=counts.total,
        sessions_excluded=counts.excluded,
        rows=rows,
        instruments=tuple(instruments),
        rows_hash=_rows_hash(rows, instruments),
        outcomes=None if table is None else table.frame(),
        outcome_version=None if table is None else table.upload.version,
        outcome_columns=()
        if table is None
        else tuple((column.name, column.kind) for column in table.columns),
    )


def _number(value: object) -> float:
    return math.nan if value is None else float(value)  # type: ignore[arg-type]


def _rows_hash(rows: pd.DataFrame, instruments: list[InstrumentData]) -> str:
    """SHA-256 over each row's participant, wave and answers (``NA`` for missing)."""
    digest = hashlib.sha256()
    for data in instruments:
        digest.update(f"{data.version.content_hash}\n{','.join(data.items)}\n".encode())
    matrices = [data.raw.to_numpy() for data in instruments]
    for position, (participant, wave) in enumerate(rows.index):
        cells = [participant, wave]
        for matrix in matrices:
            cells.extend("NA" if math.isnan(v) else format(v, "g") for v in matrix[position])
        digest.update((",".join(cells) + "\n").encode())
    return digest.hexdigest()
