"""The long CSV: one row per stored answer.

Columns (:data:`COLUMNS`): ``participant`` (code), ``wave`` (key), ``instrument`` (key),
``version``, ``content_hash`` (SHA-256 of the instrument version's content), ``item`` (item
or attention check id), ``value`` (empty: shown on a submitted page and left empty),
``answered_at`` (ISO 8601 UTC), ``delivery_mode`` (``web`` or ``chat``), ``excluded`` (0/1),
``exclusion_reason`` and ``simulated`` (0/1). Rows come in participant, wave and battery
order; an item never reached has no row. Sessions are read a chunk of participants at a
time (:func:`survey.services.study_data.iter_sessions`), their answers with one query per
chunk, so memory does not grow with the study.
"""

from __future__ import annotations

import csv
from typing import IO

from sqlalchemy import select

from instruments.csv_cells import escape_cell
from survey.extensions import db
from survey.models import Answer, Study
from survey.services import study_data
from survey.services.exports.table import CHUNK_SIZE, Selection

__all__ = ["COLUMNS", "LongCsvWriter"]

COLUMNS = (
    "participant",
    "wave",
    "instrument",
    "version",
    "content_hash",
    "item",
    "value",
    "answered_at",
    "delivery_mode",
    "excluded",
    "exclusion_reason",
    "simulated",
)


def _text(value: str | None) -> str:
    return "" if value is None else escape_cell(value)


class LongCsvWriter:
    """Writes the long CSV of ``study`` for ``selection``; :attr:`rows` counts the sessions
    written (not the answer rows, which :attr:`answers` counts)."""

    def __init__(self, study: Study, selection: Selection, *, chunk_size: int = CHUNK_SIZE):
        study_data.wave_of(study, selection.wave)
        self.study = study
        self.selection = selection
        self.chunk_size = chunk_size
        self.rows = 0
        self.answers = 0
        self.simulated_rows = 0

    def write(self, out: IO[str]) -> None:
        columns = study_data.battery_columns(self.study)
        versions = {version.id: version for version in self.study.instrument_versions}
        writer = csv.writer(out, lineterminator="\r\n")
        writer.writerow(COLUMNS)
        for records in study_data.iter_sessions(
            self.study,
            wave=self.selection.wave,
            include_excluded=self.selection.include_excluded,
            chunk_size=self.chunk_size,
        ):
            answered = {
                (session_id, version_id, item_id): (answered_at, mode)
                for session_id, version_id, item_id, answered_at, mode in db.session.execute(
                    select(
                        Answer.session_id,
                        Answer.instrument_version_id,
                        Answer.item_id,
                        Answer.answered_at,
                        Answer.delivery_mode,
                    ).where(Answer.session_id.in_([r.session_id for r in records]))
                )
            }
            for record in records:
                fixed = (_text(record.participant), _text(record.wave))
                tail = (
                    int(record.excluded),
                    _text(record.exclusion_reason),
                    int(record.simulated),
                )
                for column in columns:
                    key = (column.version_id, column.item_id)
                    if key not in record.values:
                        continue
                    answered_at, mode = answered[(record.session_id, *key)]
                    version = versions[column.version_id]
                    value = record.values[key]
                    writer.writerow(
                        (
                            *fixed,
                            _text(version.instrument.key),
                            _text(version.version),
                            version.content_hash,
                            _text(column.item_id),
                            "" if value is None else value,
                            answered_at.isoformat(),
                            _text(mode),
                            *tail,
                        )
                    )
                    self.answers += 1
            self.rows += len(records)
            self.simulated_rows += sum(1 for record in records if record.simulated)
