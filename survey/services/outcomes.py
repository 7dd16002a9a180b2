"""A study's outcomes and covariates: a researcher's CSV (or the simulation's records)
validated all at once, stored as a new version, read back as a table to join by
participant (and wave).

The file
--------
UTF-8 (a byte-order mark is fine), comma-separated, one header row, at most
:data:`MAX_UPLOAD_BYTES`. Columns:

* ``participant`` (the code staff pages show, ``P000042``) **or** ``external_id`` (the
  therapy platform's id, matched through its keyed hash, see
  :func:`survey.services.invitations.hash_external_id`): exactly one of the two;
* ``wave`` (optional): a wave key of the study; empty or absent = a value for the
  participant as a whole, not for one wave;
* every other column is a named outcome or covariate. It is **numeric** when every
  non-empty cell is a number with a decimal point (``12``, ``-0.5``, ``1e3``), else
  **categorical**, with its levels the distinct values in sorted order (so the same data
  give the same levels, and the same value codes in SPSS/Stata, whatever the row order).
  An empty cell and ``NA`` are missing in both kinds.

Rows are counted as a spreadsheet shows them: the header is row 1. Rows with every cell
empty are skipped. Names must be usable in R, SPSS and Stata (:func:`name_problems`).

Every problem of a file is collected before anything is refused (up to
:data:`MAX_PROBLEMS` lines, then a count of the rest): :class:`OutcomeFileInvalid`.
Nothing is stored unless the whole file is valid.

Both ways in go through one check
---------------------------------
:func:`parse_outcomes_csv` reads a file into :class:`OutcomeRecords` (plain
``(participant_id, wave_id, {name: value})`` rows and the columns' meta);
the simulation builds :class:`OutcomeRecords` itself. :func:`check_records` validates
either (names, kinds, levels, cell lengths, participants and waves of the study,
duplicate rows) and returns :class:`ParsedOutcomes`, which :func:`store_outcomes` writes
as version ``previous + 1`` (older versions are kept), audited ``outcomes_uploaded``.

Reading
-------
:func:`current_outcomes` (the study's highest version) and :func:`outcomes_of` return an
:class:`OutcomeTable`: ``columns`` (:class:`OutcomeColumn`), ``rows`` keyed by
``(participant_id, wave_id or None)``, :meth:`OutcomeTable.values_for` (what joins to a
participant × wave row of an export) and :meth:`OutcomeTable.frame` (a pandas DataFrame
with ``participant`` code and ``wave`` key). :func:`outcomes_csv_lines` streams a version
back as CSV: a round trip (download, upload) gives the same values.

Functions flush and never commit.
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select, update

from instruments.csv_cells import escape_cell, unescape_cell
from instruments.text_encoding import UndecodableText, decode_text
from survey.extensions import db
from survey.models import (
    AuditAction,
    OutcomeSource,
    OutcomeUpload,
    OutcomeValue,
    Participant,
    Study,
    User,
    Wave,
    utcnow,
)
from survey.models.participant import participant_code
from survey.services import audit, instruments
from survey.services.errors import ConsentRequired, ParticipantWithdrawn, SurveyError
from survey.services.invitations import hash_external_id

__all__ = [
    "CATEGORICAL",
    "MAX_CELL_CHARACTERS",
    "MAX_LEVELS",
    "MAX_NAME_LENGTH",
    "MAX_PROBLEMS",
    "MAX_UPLOAD_BYTES",
    "NUMERIC",
    "RESERVED_NAMES",
    "ColumnSummary",
    "OutcomeColumn",
    "OutcomeFileInvalid",
    "OutcomePostInvalid",
    "OutcomeRecords",
    "OutcomeTable",
    "OutcomeSummary",
    "OutcomesDownload",
    "ParsedOutcomes",
    "check_records",
    "current_outcomes",
    "current_upload",
    "download_outcomes",
    "has_participants",
    "name_problems",
    "outcomes_csv_lines",
    "outcomes_of",
    "post_outcomes",
    "parse_outcomes_csv",
    "RECORDED_ON",
    "plain_number",
    "preview_rows",
    "store_outcomes",
    "summarise",
    "template_csv_lines",
    "upload_of",
    "upload_outcomes",
    "uploads_of",
]

MAX_UPLOAD_BYTES = 10_000_000
"""The largest file accepted (10 MB: about 300,000 rows of a few columns)."""
MAX_CELL_CHARACTERS = 200
"""The longest cell (outcome_values.text is 200 characters)."""
MAX_LEVELS = 50
"""The most levels a categorical column may have: more is probably an id or free text."""
MAX_NAME_LENGTH = 32
"""Stata's limit on variable names (SPSS allows 64, R more)."""
MAX_PROBLEMS = 1000
"""Problems listed in full; the rest are counted in one last line."""

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)

PARTICIPANT = "participant"
EXTERNAL_ID = "external_id"
WAVE = "wave"
MISSING = frozenset({"", "NA"})

# The fixed columns of the wide export, and words R, SPSS or Stata reserve (compared without
# case): an outcome with one of these names would break a file or a script that loads it.
RESERVED_NAMES = frozenset(
    name.lower()
    for name in (
        # the fixed columns of the wide export (which outcomes join) and of this file
        *("participant", "wave", "excluded", "simulated", "external_id"),
        # R
        *("if", "else", "repeat", "while", "function", "for", "next", "break", "in"),
        *("TRUE", "FALSE", "NULL", "Inf", "NaN", "NA"),
        *("NA_integer_", "NA_real_", "NA_character_", "NA_complex_"),
        # SPSS
        *("ALL", "AND", "BY", "EQ", "GE", "GT", "LE", "LT", "NE", "NOT", "OR", "TO", "WITH"),
        # Stata
        *("byte", "double", "float", "int", "long", "strL", "using"),
    )
)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")
_STATA_STR = re.compile(r"str[0-9]+\Z", re.IGNORECASE)  # str1 ... str2045: Stata types
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\Z")
_CODE = re.compile(r"[Pp]([0-9]{1,12})\Z")

Value = float | str | None


class OutcomeFileInvalid(SurveyError):
    """An outcome file (or records) refused; ``problems`` lists every problem, one line
    each naming the row and column (``row 7: participant P000099 is not in this study``)."""

    def __init__(self, problems: Sequence[str]):
        self.problems = list(problems)
        count = len(self.problems)
        super().__init__(
            f"{count} problem{'' if count == 1 else 's'} in the outcomes; nothing was stored:\n"
            + "\n".join(self.problems)
        )


# -- the records both callers hand over --------------------------------------------------
@dataclass(frozen=True)
class OutcomeColumn:
    """A named outcome or covariate: ``kind`` numeric or categorical; ``levels`` (for a
    categorical column) its values in order."""

    name: str
    kind: str
    levels: tuple[str, ...] = ()

    def meta(self) -> dict[str, Any]:
        """The JSON kept in ``outcome_uploads.columns``."""
        if self.kind == CATEGORICAL:
            return {"name": self.name, "kind": self.kind, "levels": list(self.levels)}
        return {"name": self.name, "kind": self.kind}

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> OutcomeColumn:
        return cls(str(meta["name"]), str(meta["kind"]), tuple(meta.get("levels") or ()))


@dataclass
class OutcomeRecords:
    """Outcomes as plain data, before they are checked: what the simulation (and the API)
    hand to :func:`store_outcomes`, and what :func:`parse_outcomes_csv` reads a file into.

    ``columns``: one mapping per column, ``{"name": "messages_sent", "kind": "numeric"}``
    or ``{"name": "age_group", "kind": "categorical", "levels": ["18-25", ...]}``
    (``levels`` optional: by default the distinct values, sorted).
    ``rows``: ``(participant_id, wave_id or None, {name: value})``; a numeric value is an
    int or float (``True``/``False`` count as 1/0), a categorical value a str, ``None`` is
    missing and so is a name left out of the mapping.
    ``labels`` (optional, one per row) names each row in problems, e.g. ``"row 7"``.
    """

    columns: Sequence[Mapping[str, Any]]
    rows: Sequence[tuple[int, int | None, Mapping[str, Any]]]
    labels: Sequence[str] | None = None


@dataclass(frozen=True)
class ParsedOutcomes:
    """Checked outcomes, ready to store: ``columns`` in file order, ``rows`` as
    ``(participant_id, wave_id or None, values in column order)``; ``data`` the uploaded
    bytes (None for records), whose SHA-256 is kept."""

    columns: tuple[OutcomeColumn, ...]
    rows: tuple[tuple[int, int | None, tuple[Value, ...]], ...]
    data: bytes | None = None

    @property
    def row_count(self) -> int:
        return len(self.rows)


class _Problems:
    """Every problem found, in order; only the first MAX_PROBLEMS are kept as text."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.count = 0

    def add(self, message: str) -> None:
        self.count += 1
        if len(self.lines) < MAX_PROBLEMS:
            self.lines.append(message)

    def __bool__(self) -> bool:
        return self.count > 0

    def raise_if_any(self) -> None:
        if not self.count:
            return
        lines = list(self.lines)
        if self.count > len(lines):
            rest = self.count - len(lines)
            lines.append(f"... and {rest:,} more problem{'' if rest == 1 else 's'} not listed.")
        raise OutcomeFileInvalid(lines)


# -- names --------------------------------------------------------------------------------
def battery_names(study: Study) -> dict[str, str]:
    """Lower-cased item ids, attention-check ids and construct/subconstruct codes of the
    study's battery → what they are: an outcome may not take the name of a column the
    wide export already has."""
    taken: dict[str, str] = {}
    for version in study.instrument_versions:
        definition = instruments.definition_of(version)
        for construct in definition.constructs:
            taken[construct.code.lower()] = f"a construct of {definition.key}"
            for sub in construct.subconstructs:
                taken[sub.code.lower()] = f"a subconstruct of {definition.key}"
                for item in sub.items:
                    taken[item.id.lower()] = f"an item of {definition.key}"
        for check in definition.attention_checks:
            taken[check.id.lower()] = f"an attention check of {definition.key}"
    return taken


def name_problems(name: str, *, taken: Mapping[str, str] | None = None) -> list[str]:
    """Why ``name`` cannot name an outcome column (empty list: it can).

    A letter first, then letters, digits and underscores, at most :data:`MAX_NAME_LENGTH`
    characters (Stata's limit), not one of :data:`RESERVED_NAMES` or a Stata type, and not
    a name in ``taken`` (:func:`battery_names`), all compared without case.

    >>> name_problems("messages_sent")
    []
    >>> name_problems("2nd")
    ["'2nd' must start with a letter, then letters, digits or _ (R, SPSS, Stata)"]
    """
    if not _NAME.match(name):
        return [f"{name!r} must start with a letter, then letters, digits or _ (R, SPSS, Stata)"]
    problems = []
    if len(name) > MAX_NAME_LENGTH:
        problems.append(
            f"{name!r} is {len(name)} characters long; at most {MAX_NAME_LENGTH} (Stata's limit)"
        )
    lowered = name.lower()
    if lowered in RESERVED_NAMES or _STATA_STR.match(name):
        problems.append(f"{name!r} is a reserved name (of the exports, R, SPSS or Stata)")
    elif taken and lowered in taken:
        problems.append(f"{name!r} is already {taken[lowered]} of this study's battery")
    return problems


def _number(value: Any) -> float | None:
    """A finite float, or None when ``value`` is not a number."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else None
    return None


# -- the one check -----------------------------------------------------------------------
def check_records(
    study: Study, records: OutcomeRecords, *, data: bytes | None = None
) -> ParsedOutcomes:
    """``records`` checked against ``study``: :class:`ParsedOutcomes`, or
    :class:`OutcomeFileInvalid` listing every problem.

    Checked: at least one column; every name (:func:`name_problems`) and names unique
    without case; kinds; a categorical column's values among its levels and at most
    :data:`MAX_LEVELS` of them; numbers finite; cells at most
    :data:`MAX_CELL_CHARACTERS`; no column left empty in every row; every participant of
    the study, every wave of the study; no (participant, wave) twice.
    """
    problems = _Problems()
    parsed = _checked(study, records, problems, data=data)
    problems.raise_if_any()
    return parsed


def _checked(
    study: Study,
    records: OutcomeRecords,
    problems: _Problems,
    *,
    data: bytes | None = None,
    rows_expected: bool = True,
) -> ParsedOutcomes:
    """check_records, adding to ``problems``; ``rows_expected`` False when no rows is
    already explained (a file whose rows were all refused, or had none)."""
    columns = _check_columns(study, records, problems)
    rows = _check_rows(study, records, columns, problems, rows_expected=rows_expected)
    return ParsedOutcomes(columns=tuple(columns), rows=tuple(rows), data=data)


def _check_columns(
    study: Study, records: OutcomeRecords, problems: _Problems
) -> list[OutcomeColumn]:
    if not records.columns:
        problems.add(
            "no outcome column: add at least one named column besides participant "
            "(or external_id) and wave"
        )
    taken = battery_names(study)
    seen: dict[str, str] = {}
    columns: list[OutcomeColumn] = []
    for meta in records.columns:
        name, kind = str(meta.get("name", "")), meta.get("kind")
        for problem in name_problems(name, taken=taken):
            problems.add(f"column {problem}")
        if name.lower() in seen:
            problems.add(
                f"column {name!r}: the same name as column {seen[name.lower()]!r} "
                "(names are compared without case)"
            )
        seen.setdefault(name.lower(), name)
        if kind not in KINDS:
            problems.add(f"column {name!r}: kind {kind!r} is not numeric or categorical")
        levels = tuple(str(level) for level in (meta.get("levels") or ()))
        columns.append(OutcomeColumn(name, str(kind), levels if kind == CATEGORICAL else ()))
    return _with_levels(columns, records, problems)


def _with_levels(
    columns: list[OutcomeColumn], records: OutcomeRecords, problems: _Problems
) -> list[OutcomeColumn]:
    """Categorical columns without levels get the distinct values, sorted; every
    categorical column is checked against MAX_LEVELS."""
    result = []
    for column in columns:
        if column.kind == CATEGORICAL:
            levels = column.levels
            if not levels:
                found = {row[2].get(column.name) for row in records.rows}
                levels = tuple(sorted(str(v) for v in found if v is not None and v != ""))
            if len(set(levels)) != len(levels):
                problems.add(f"column {column.name!r}: a level is listed twice")
            if len(levels) > MAX_LEVELS:
                problems.add(
                    f"column {column.name!r} has {len(levels)} different values, more than "
                    f"{MAX_LEVELS} for a category: is it an id or free text? Outcomes are "
                    "numbers or categories."
                )
            column = OutcomeColumn(column.name, column.kind, levels)
        result.append(column)
    return result


def _study_ids(study: Study) -> tuple[set[int], dict[int, Wave]]:
    participant_ids = set(
        db.session.scalars(select(Participant.id).where(Participant.study_id == study.id))
    )
    return participant_ids, {wave.id: wave for wave in study.waves}


def _check_rows(
    study: Study,
    records: OutcomeRecords,
    columns: list[OutcomeColumn],
    problems: _Problems,
    *,
    rows_expected: bool,
) -> list[tuple[int, int | None, tuple[Value, ...]]]:
    participant_ids, waves = _study_ids(study)
    labels = records.labels or [f"record {n}" for n in range(1, len(records.rows) + 1)]
    known = {column.name for column in columns}
    level_sets = {column.name: frozenset(column.levels) for column in columns}
    filled = dict.fromkeys(known, False)
    first_row: dict[tuple[int, int | None], str] = {}
    rows = []
    for label, (participant_id, wave_id, values) in zip(labels, records.rows, strict=True):
        if participant_id not in participant_ids:
            problems.add(
                f"{label}: participant {participant_code(participant_id)} is not in this study"
            )
        if wave_id is not None and wave_id not in waves:
            problems.add(f"{label}: wave {wave_id} is not a wave of this study")
        key = (participant_id, wave_id)
        if key in first_row:
            where = f"wave {waves[wave_id].key!r}" if wave_id in waves else "the participant"
            problems.add(
                f"{label}: participant {participant_code(participant_id)} and {where} "
                f"again (first in {first_row[key]})"
            )
        first_row.setdefault(key, label)
        for name in values:
            if name not in known:
                problems.add(f"{label}: {name!r} is not one of the columns")
        cells: list[Value] = []
        for column in columns:
            cell = _checked_cell(label, column, values.get(column.name), level_sets, problems)
            filled[column.name] = filled[column.name] or cell is not None
            cells.append(cell)
        rows.append((participant_id, wave_id, tuple(cells)))
    if not records.rows and rows_expected:
        problems.add("no data rows: add one row per participant (or participant and wave)")
    for column in columns:
        if records.rows and not filled[column.name]:
            problems.add(f"column {column.name!r} is empty in every row")
    return rows


def _checked_cell(
    label: str,
    column: OutcomeColumn,
    value: Any,
    level_sets: Mapping[str, frozenset[str]],
    problems: _Problems,
) -> Value:
    if value is None or value == "":
        return None
    if column.kind == NUMERIC:
        number = _number(value)
        if number is None:
            problems.add(f"{label}, column {column.name!r}: {value!r} is not a finite number")
        return number
    text = value if isinstance(value, str) else None
    if text is None:
        problems.add(f"{label}, column {column.name!r}: {value!r} is not text")
    elif len(text) > MAX_CELL_CHARACTERS:
        problems.add(
            f"{label}, column {column.name!r}: the cell has {len(text)} characters "
            f"(at most {MAX_CELL_CHARACTERS})"
        )
    elif text not in level_sets[column.name] and column.kind == CATEGORICAL:
        problems.add(f"{label}, column {column.name!r}: {text!r} is not one of its levels")
    return text


# -- reading a file ----------------------------------------------------------------------
def parse_outcomes_csv(
    study: Study, data: bytes, filename: str, *, external_id_key: bytes | None = None
) -> ParsedOutcomes:
    """The outcome file ``data`` (named ``filename``) read and checked against ``study``
    (see the module docstring for the format). ``external_id_key`` (the server's
    ``EXTERNAL_ID_KEY``) is needed only when the file identifies participants by
    ``external_id``.

    Raises :class:`OutcomeFileInvalid` with every problem; nothing is stored here.
    """
    problems = _Problems()
    text = _text_of(data, filename, problems)
    if text is None:
        problems.raise_if_any()
    table = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    if not table:
        problems.add(f"{filename}: the file is empty (no header row, no data)")
        problems.raise_if_any()
    header, body = table[0], table[1:]
    layout = _Layout.of(header, filename, problems)
    if not body:
        problems.add(
            f"{filename}: only a header row, no data rows: add one row per participant "
            "(or per participant and wave)"
        )
    records = _FileReader(study, layout, external_id_key, problems).read(table)
    # The names and cells are checked even when the rows had problems: every problem at once.
    parsed = _checked(study, records, problems, data=data, rows_expected=False)
    problems.raise_if_any()
    return parsed


def _text_of(data: bytes, filename: str, problems: _Problems) -> str | None:
    if len(data) > MAX_UPLOAD_BYTES:
        problems.add(
            f"{filename}: the file is {len(data) / 1_000_000:.1f} MB ({len(data):,} bytes); "
            f"the limit is {MAX_UPLOAD_BYTES / 1_000_000:g} MB"
        )
        return None
    if not data.strip():
        problems.add(f"{filename}: the file is empty (no header row, no data)")
        return None
    if data.startswith(b"PK\x03\x04") or b"\x00" in data[:8192]:
        kind = "an Excel workbook or a zip" if data.startswith(b"PK") else "a binary file"
        problems.add(
            f"{filename}: this is {kind}, not a CSV text file: save the table as "
            "'CSV UTF-8 (comma delimited)'"
        )
        return None
    try:
        return decode_text(data, limit=MAX_UPLOAD_BYTES, advice="save it as 'CSV UTF-8'")
    except UndecodableText as error:
        problems.add(f"{filename}: {error}")
        return None


@dataclass
class _Layout:
    """Where the identification, wave and outcome columns are in the header."""

    id_index: int | None
    id_kind: str | None
    wave_index: int | None
    outcomes: list[tuple[int, str]] = field(default_factory=list)
    width: int = 0

    @classmethod
    def of(cls, header: list[str], filename: str, problems: _Problems) -> _Layout:
        names = [unescape_cell(cell.strip()) for cell in header]
        lowered = [name.lower() for name in names]
        layout = cls(None, None, None, width=len(names))
        ids = [i for i, name in enumerate(lowered) if name in (PARTICIPANT, EXTERNAL_ID)]
        if not ids:
            hint = ""
            if len(names) == 1 and (";" in names[0] or "\t" in names[0]):
                hint = " (the header is one column: is the file separated by ; or tabs?)"
            problems.add(
                f"{filename}: no identification column: name one column 'participant' "
                f"(codes like P000042) or 'external_id'{hint}"
            )
        elif len(ids) > 1:
            problems.add(
                f"{filename}: both or twice {' and '.join(repr(names[i]) for i in ids)}: "
                "identify participants by one column, 'participant' or 'external_id'"
            )
        else:
            layout.id_index, layout.id_kind = ids[0], lowered[ids[0]]
        waves = [i for i, name in enumerate(lowered) if name == WAVE]
        if len(waves) > 1:
            problems.add(f"{filename}: more than one 'wave' column")
        layout.wave_index = waves[0] if waves else None
        for index, name in enumerate(names):
            if index in ids or index in waves:
                continue
            if not name:
                problems.add(f"column {index + 1} has no name in the header")
            layout.outcomes.append((index, name))
        return layout


class _FileReader:
    """Turns the CSV table into OutcomeRecords, collecting the file's own problems
    (ragged rows, unknown participants and waves, cells that are neither)."""

    def __init__(
        self,
        study: Study,
        layout: _Layout,
        external_id_key: bytes | None,
        problems: _Problems,
    ):
        self.study, self.layout, self.problems = study, layout, problems
        self.key = external_id_key
        self.participants, _ = _study_ids(study)
        self.waves = {wave.key: wave.id for wave in study.waves}
        self.by_hash: dict[str, int] = {}
        if layout.id_kind == EXTERNAL_ID:
            if external_id_key is None:
                problems.add("external ids cannot be matched: the server has no external-id key")
            self.by_hash = dict(
                db.session.execute(
                    select(Participant.external_id_hash, Participant.id).where(
                        Participant.study_id == study.id,
                        Participant.external_id_hash.is_not(None),
                    )
                ).all()
            )

    def read(self, table: list[list[str]]) -> OutcomeRecords:
        layout = self.layout
        cells: dict[str, list[str | None]] = {name: [] for _, name in layout.outcomes}
        rows: list[tuple[int, int | None, dict[str, Any]]] = []
        labels: list[str] = []
        for number, row in enumerate(table[1:], start=2):
            label = f"row {number}"
            if len(row) != layout.width:
                self.problems.add(
                    f"{label}: {len(row)} cells, but the header has {layout.width} columns"
                )
                continue
            participant_id = self._participant(label, row)
            wave_known, wave_id = self._wave(label, row)
            values = {name: _cell(row[index]) for index, name in layout.outcomes}
            if participant_id is None or not wave_known:
                continue
            for name, value in values.items():
                cells[name].append(value)
            rows.append((participant_id, wave_id, values))
            labels.append(label)
        columns = [_inferred(name, cells[name]) for _, name in layout.outcomes]
        numeric = {column["name"] for column in columns if column["kind"] == NUMERIC}
        for _, _, values in rows:
            for name in numeric:
                if values[name] is not None:
                    values[name] = float(values[name])
        return OutcomeRecords(columns=columns, rows=rows, labels=labels)

    def _participant(self, label: str, row: list[str]) -> int | None:
        layout = self.layout
        if layout.id_index is None:
            return None
        given = row[layout.id_index].strip()
        if layout.id_kind == EXTERNAL_ID:
            if not given:
                self.problems.add(f"{label}: no external_id")
                return None
            found = self.by_hash.get(hash_external_id(given, self.key)) if self.key else None
            if found is None and self.key:
                self.problems.add(f"{label}: external id {given!r} is not in this study")
            return found
        if not given:
            self.problems.add(f"{label}: no participant code")
            return None
        match = _CODE.match(given)
        if match is None:
            self.problems.add(f"{label}: {given!r} is not a participant code (like P000042)")
            return None
        participant_id = int(match.group(1))
        if participant_id not in self.participants:
            self.problems.add(f"{label}: participant {given} is not in this study")
            return None
        return participant_id

    def _wave(self, label: str, row: list[str]) -> tuple[bool, int | None]:
        """(whether the cell is valid, the wave id or None for a per-participant row)."""
        if self.layout.wave_index is None:
            return True, None
        key = row[self.layout.wave_index].strip()
        if not key:
            return True, None
        if key not in self.waves:
            known = ", ".join(self.waves) or "none"
            self.problems.add(
                f"{label}: wave {key!r} is not a wave of this study (its waves: {known})"
            )
            return False, None
        return True, self.waves[key]


def _cell(raw: str) -> str | None:
    text = raw.strip()
    return None if text in MISSING else unescape_cell(text)


def _inferred(name: str, values: Iterable[str | None]) -> dict[str, Any]:
    """The column's meta: numeric when every non-missing cell is a number."""
    present = [value for value in values if value is not None]
    if all(_NUMBER.match(value) for value in present):
        return {"name": name, "kind": NUMERIC}
    return {"name": name, "kind": CATEGORICAL}


# -- storing -----------------------------------------------------------------------------
def store_outcomes(
    study: Study,
    outcomes: ParsedOutcomes | OutcomeRecords,
    *,
    filename: str,
    source: str = OutcomeSource.UPLOAD,
    actor: User | None,
    simulated: bool = False,
) -> OutcomeUpload:
    """Store ``outcomes`` (a parsed file, or records, which are checked here first) as the
    study's next version; earlier versions are kept. Audited ``outcomes_uploaded`` with
    the SHA-256 (of the uploaded bytes, or for records of the version's CSV download).

    Raises :class:`OutcomeFileInvalid` (records that fail :func:`check_records`).
    """
    parsed = outcomes if isinstance(outcomes, ParsedOutcomes) else check_records(study, outcomes)
    if source not in (OutcomeSource.UPLOAD, OutcomeSource.SIMULATION, OutcomeSource.API):
        raise ValueError(f"unknown outcome source {source!r}")
    previous = db.session.scalar(
        select(func.max(OutcomeUpload.version)).where(OutcomeUpload.study_id == study.id)
    )
    upload = OutcomeUpload(
        study_id=study.id,
        version=(previous or 0) + 1,
        source=source,
        filename=filename[:255],
        sha256=_sha256(parsed, study),
        row_count=parsed.row_count,
        columns=[column.meta() for column in parsed.columns],
        simulated=simulated,
        uploaded_by_id=actor.id if actor is not None else None,
    )
    db.session.add(upload)
    db.session.flush()
    _insert_values(upload, parsed)
    audit.record(
        AuditAction.OUTCOMES_UPLOADED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        hash_after=upload.sha256,
        details={
            "outcome_version": upload.version,
            "filename": upload.filename,
            "source": source,
            "rows": upload.row_count,
            "columns": [column.name for column in parsed.columns],
            "simulated": simulated,
        },
    )
    return upload


def _sha256(parsed: ParsedOutcomes, study: Study) -> str:
    if parsed.data is not None:
        return hashlib.sha256(parsed.data).hexdigest()
    digest = hashlib.sha256()
    waves = {wave.id: wave.key for wave in study.waves}
    for line in _csv_lines(parsed.columns, _keyed_rows(parsed.rows, waves)):
        digest.update(line.encode("utf-8"))
    return digest.hexdigest()


def _keyed_rows(rows, waves: Mapping[int, str]) -> Iterator[tuple[str, str | None, Sequence]]:
    for participant_id, wave_id, cells in sorted(
        rows, key=lambda row: (row[0], -1 if row[1] is None else row[1])
    ):
        yield participant_code(participant_id), waves.get(wave_id), cells


INSERT_CHUNK = 10_000


_VALUE_COLUMNS = ("upload_id", "participant_id", "wave_id", "name", "number", "text")


def _insert_values(upload: OutcomeUpload, parsed: ParsedOutcomes) -> None:
    """Every cell of ``parsed`` as an outcome_values row, INSERT_CHUNK rows at a time,
    past the ORM (its bulk insert splits the rows by which cells are empty): ``COPY ...
    FROM STDIN`` on PostgreSQL, where an executemany costs a round trip per row, and an
    executemany elsewhere (SQLite is in-process). Both run on the session's connection,
    inside its transaction."""
    kinds = [column.kind for column in parsed.columns]
    names = [column.name for column in parsed.columns]
    chunk: list[tuple[object, ...]] = []
    for participant_id, wave_id, cells in parsed.rows:
        for name, kind, cell in zip(names, kinds, cells, strict=True):
            number, text = (cell, None) if kind == NUMERIC else (None, cell)
            chunk.append((upload.id, participant_id, wave_id, name, number, text))
        if len(chunk) >= INSERT_CHUNK:
            _write_values(chunk)
            chunk = []
    _write_values(chunk)


def _write_values(rows: list[tuple[object, ...]]) -> None:
    if not rows:
        return
    connection = db.session.connection()
    table, columns = OutcomeValue.__tablename__, ", ".join(_VALUE_COLUMNS)
    if connection.dialect.name == "postgresql":
        raw = connection.connection.dbapi_connection
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # type: ignore[union-attr]
            for row in rows:
                copy.write_row(row)
        return
    marker = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    placeholders = ", ".join([marker] * len(_VALUE_COLUMNS))
    connection.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({placeholders})", rows)


# -- reading back ------------------------------------------------------------------------
@dataclass(frozen=True)
class OutcomeTable:
    """One stored version of a study's outcomes.

    ``columns`` in file order; ``rows`` maps ``(participant_id, wave_id or None)`` to
    ``{name: value}`` (a float for numeric columns, a str for categorical ones, None
    missing); ``wave_keys`` maps the study's wave ids to their keys.
    """

    upload: OutcomeUpload
    columns: tuple[OutcomeColumn, ...]
    rows: Mapping[tuple[int, int | None], Mapping[str, Value]]
    wave_keys: Mapping[int, str]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def simulated(self) -> bool:
        return self.upload.simulated

    def values_for(self, participant_id: int, wave_id: int | None) -> dict[str, Value]:
        """What joins to a participant × wave row: the participant's per-wave values, and
        for the cells missing there, their per-participant values (every name present,
        None where neither has one)."""
        merged: dict[str, Value] = dict.fromkeys(self.names)
        for key in ((participant_id, None), (participant_id, wave_id)):
            for name, value in self.rows.get(key, {}).items():
                if value is not None:
                    merged[name] = value
        return merged

    def frame(self):
        """A pandas DataFrame, one row per stored row, sorted by participant and wave
        position: ``participant_id``, ``participant`` (code), ``wave_id`` (<NA> for a
        per-participant row), ``wave`` (key, <NA> likewise), then the columns (float; a
        categorical column as a pandas Categorical with its levels)."""
        import pandas as pd

        order = {wave_id: n for n, wave_id in enumerate(self.wave_keys)}
        keys = sorted(self.rows, key=lambda k: (k[0], -1 if k[1] is None else order[k[1]]))
        data: dict[str, Any] = {
            "participant_id": [k[0] for k in keys],
            "participant": [participant_code(k[0]) for k in keys],
            "wave_id": pd.array([k[1] for k in keys], dtype="Int64"),
            "wave": pd.array([self.wave_keys.get(k[1]) for k in keys], dtype="string"),
        }
        for column in self.columns:
            values = [self.rows[k].get(column.name) for k in keys]
            if column.kind == CATEGORICAL:
                data[column.name] = pd.Categorical(values, categories=list(column.levels))
            else:
                data[column.name] = pd.array(
                    [math.nan if v is None else v for v in values], dtype="float64"
                )
        return pd.DataFrame(data)


def uploads_of(study: Study) -> list[OutcomeUpload]:
    """Every version of the study's outcomes, newest first."""
    return list(
        db.session.scalars(
            select(OutcomeUpload)
            .where(OutcomeUpload.study_id == study.id)
            .order_by(OutcomeUpload.version.desc())
        )
    )


def upload_of(study: Study, version: int) -> OutcomeUpload | None:
    return db.session.scalar(
        select(OutcomeUpload).where(
            OutcomeUpload.study_id == study.id, OutcomeUpload.version == version
        )
    )


def current_upload(study: Study) -> OutcomeUpload | None:
    """The study's current outcomes version (the highest), or None."""
    return db.session.scalar(
        select(OutcomeUpload)
        .where(OutcomeUpload.study_id == study.id)
        .order_by(OutcomeUpload.version.desc())
        .limit(1)
    )


def current_outcomes(study: Study) -> OutcomeTable | None:
    """The study's current outcomes (its highest version), or None when none were stored."""
    upload = current_upload(study)
    return outcomes_of(upload) if upload is not None else None


def outcomes_of(upload: OutcomeUpload) -> OutcomeTable:
    """The stored values of ``upload`` as an :class:`OutcomeTable`."""
    columns = tuple(OutcomeColumn.from_meta(meta) for meta in upload.columns)
    kinds = {column.name: column.kind for column in columns}
    rows: dict[tuple[int, int | None], dict[str, Value]] = {}
    for participant_id, wave_id, name, number, text in _value_rows(upload.id):
        value = number if kinds.get(name) == NUMERIC else text
        rows.setdefault((participant_id, wave_id), {})[name] = value
    waves = {wave.id: wave.key for wave in upload.study.waves}
    return OutcomeTable(upload=upload, columns=columns, rows=rows, wave_keys=waves)


def _value_rows(upload_id: int):
    """(participant_id, wave_id, name, number, text) of an upload, by participant, then
    wave (per-participant rows first), then column order; read in chunks through Core
    columns (no ORM row loading: a version can hold a million cells)."""
    table = OutcomeValue.__table__.c
    return db.session.execute(
        select(table.participant_id, table.wave_id, table.name, table.number, table.text)
        .where(table.upload_id == upload_id)
        # per-participant rows first on every database (wave ids start at 1)
        .order_by(table.participant_id, func.coalesce(table.wave_id, 0), table.id)
        .execution_options(yield_per=INSERT_CHUNK)
    )


# -- CSV out -----------------------------------------------------------------------------
def plain_number(number: float) -> int | float:
    """A number as the CSV writes it: a whole number as an int (no ``.0``), any other
    float as it is (the csv module writes its shortest form that reads back the same).

    >>> plain_number(12.0), plain_number(-0.5), plain_number(1e-07)
    (12, -0.5, 1e-07)
    """
    if number.is_integer() and abs(number) < 1e15:
        return int(number)
    return number


class _LineWriter:
    """CSV lines (CRLF ends), cells escaped as :func:`instruments.csv_cells.csv_text` does, one
    writer for all the lines of a file (csv_text per line would build one per line)."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def line(self, cells: Iterable[object]) -> str:
        self.writer.writerow(["" if cell is None else escape_cell(cell) for cell in cells])
        text = self.buffer.getvalue()
        self.buffer.seek(0)
        self.buffer.truncate()
        return text


def _csv_lines(
    columns: Sequence[OutcomeColumn], rows: Iterable[tuple[str, str | None, Sequence[Value]]]
) -> Iterator[str]:
    names = [column.name for column in columns]
    writer = _LineWriter()
    yield writer.line((PARTICIPANT, WAVE, *names))
    for code, wave, cells in rows:
        # Numbers stay numbers (never escaped); text a spreadsheet would run is escaped,
        # and the upload unescapes it again.
        yield writer.line(
            [code, wave, *(plain_number(c) if isinstance(c, float) else c for c in cells)]
        )


def outcomes_csv_lines(upload: OutcomeUpload) -> Iterator[str]:
    """``upload`` as CSV text, line by line (streamed): ``participant`` (code), ``wave``
    (key, empty for a per-participant row), then the columns in file order, rows by
    participant and wave position. Read back with :func:`parse_outcomes_csv` it gives the
    same values (numbers as :func:`plain_number` writes them).

    What the lines need is read now, so they can be streamed after the request's commit.
    """
    columns = tuple(OutcomeColumn.from_meta(meta) for meta in upload.columns)
    names = [column.name for column in columns]
    waves = {wave.id: wave.key for wave in upload.study.waves}
    upload_id = upload.id

    def grouped() -> Iterator[tuple[str, str | None, list[Value]]]:
        current: tuple[int, int | None] | None = None
        values: dict[str, Value] = {}
        for participant_id, wave_id, name, number, text in _value_rows(upload_id):
            if (participant_id, wave_id) != current:
                if current is not None:
                    yield _line_of(current, waves, names, values)
                current, values = (participant_id, wave_id), {}
            values[name] = number if number is not None else text
        if current is not None:
            yield _line_of(current, waves, names, values)

    return _csv_lines(columns, grouped())


def _line_of(key, waves, names, values) -> tuple[str, str | None, list[Value]]:
    participant_id, wave_id = key
    return participant_code(participant_id), waves.get(wave_id), [values.get(n) for n in names]


def template_csv_lines(study: Study, *, per_wave: bool) -> Iterator[str]:
    """A CSV to fill in: ``participant`` codes of the study (and with ``per_wave`` one row
    per participant and wave, ``wave`` keys in wave order), no outcome columns yet.
    Streamed: the study's waves are read now, the participants while the lines are read."""
    writer = _LineWriter()
    header = writer.line((PARTICIPANT, WAVE) if per_wave else (PARTICIPANT,))
    wave_keys = [wave.key for wave in study.waves] if per_wave else [None]
    query = (
        select(Participant.id)
        .where(Participant.study_id == study.id)
        .order_by(Participant.id)
        .execution_options(yield_per=INSERT_CHUNK)
    )

    def lines() -> Iterator[str]:
        yield header
        for participant_id in db.session.scalars(query):
            code = participant_code(participant_id)
            yield "".join(writer.line([code] if key is None else [code, key]) for key in wave_keys)

    return lines()


# -- the outcomes page -------------------------------------------------------------------
def has_participants(study: Study) -> bool:
    """Whether the study has a participant to give outcomes to."""
    return (
        db.session.scalar(select(Participant.id).where(Participant.study_id == study.id).limit(1))
        is not None
    )


def upload_outcomes(
    study: Study,
    data: bytes,
    filename: str,
    *,
    actor: User,
    external_id_key: bytes | None,
) -> OutcomeUpload:
    """A researcher's file parsed and stored as the study's next version (the upload
    page's one call). Raises :class:`OutcomeFileInvalid` with every problem."""
    parsed = parse_outcomes_csv(study, data, filename, external_id_key=external_id_key)
    return store_outcomes(
        study, parsed, filename=filename, source=OutcomeSource.UPLOAD, actor=actor
    )


@dataclass(frozen=True)
class ColumnSummary:
    """A column of a stored version at a glance: ``present`` non-missing cells,
    ``missing`` empty ones; numeric: ``minimum``/``maximum``/``mean``; categorical:
    ``counts`` per level (in level order)."""

    column: OutcomeColumn
    present: int
    missing: int
    minimum: float | None = None
    maximum: float | None = None
    mean: float | None = None
    counts: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True)
class OutcomeSummary:
    """A stored version at a glance: its columns and its rows per wave key (None: rows
    for the participant as a whole), in the study's wave order."""

    upload: OutcomeUpload
    columns: tuple[ColumnSummary, ...]
    rows_by_wave: tuple[tuple[str | None, int], ...]


def summarise(upload: OutcomeUpload) -> OutcomeSummary:
    """Counts, ranges and level counts of ``upload``, computed in the database."""
    columns = [OutcomeColumn.from_meta(meta) for meta in upload.columns]
    of_upload = OutcomeValue.upload_id == upload.id
    numbers = {
        name: (present, total, low, high, mean)
        for name, present, total, low, high, mean in db.session.execute(
            select(
                OutcomeValue.name,
                func.count(OutcomeValue.number),
                func.count(),
                func.min(OutcomeValue.number),
                func.max(OutcomeValue.number),
                func.avg(OutcomeValue.number),
            )
            .where(of_upload)
            .group_by(OutcomeValue.name)
        )
    }
    level_counts: dict[str, dict[str, int]] = {}
    for name, text, count in db.session.execute(
        select(OutcomeValue.name, OutcomeValue.text, func.count())
        .where(of_upload, OutcomeValue.text.is_not(None))
        .group_by(OutcomeValue.name, OutcomeValue.text)
    ):
        level_counts.setdefault(name, {})[text] = count
    summaries = []
    for column in columns:
        present, total, low, high, mean = numbers.get(column.name, (0, 0, None, None, None))
        if column.kind == CATEGORICAL:
            counts = level_counts.get(column.name, {})
            present = sum(counts.values())
            summaries.append(
                ColumnSummary(
                    column,
                    present,
                    total - present,
                    counts=tuple((level, counts.get(level, 0)) for level in column.levels),
                )
            )
        else:
            summaries.append(
                ColumnSummary(
                    column,
                    present,
                    total - present,
                    low,
                    high,
                    float(mean) if mean is not None else None,
                )
            )
    return OutcomeSummary(upload, tuple(summaries), _rows_by_wave(upload, columns))


def _rows_by_wave(upload: OutcomeUpload, columns: list[OutcomeColumn]):
    if not columns:
        return ()
    per_wave = dict(
        db.session.execute(
            select(OutcomeValue.wave_id, func.count())
            .where(OutcomeValue.upload_id == upload.id, OutcomeValue.name == columns[0].name)
            .group_by(OutcomeValue.wave_id)
        ).all()
    )
    shown = [(None, per_wave[None])] if None in per_wave else []
    shown += [(wave.key, per_wave[wave.id]) for wave in upload.study.waves if wave.id in per_wave]
    return tuple(shown)


def preview_rows(upload: OutcomeUpload, limit: int = 10) -> list[list[str]]:
    """The first ``limit`` rows of the version's CSV download, as cells (header first)."""
    lines = []
    for line in outcomes_csv_lines(upload):
        lines.append(line)
        if len(lines) > limit:
            break
    return list(csv.reader(io.StringIO("".join(lines))))


@dataclass(frozen=True)
class OutcomesDownload:
    """A version's CSV download: its file name, SHA-256 and its lines (streamed)."""

    upload: OutcomeUpload
    filename: str
    sha256: str

    def lines(self) -> Iterator[str]:
        return outcomes_csv_lines(self.upload)


def download_outcomes(upload: OutcomeUpload, *, actor: User) -> OutcomesDownload:
    """The CSV download of ``upload``, recorded as ``export_downloaded`` with its SHA-256
    (computed by a first pass over the lines, so memory stays bounded)."""
    digest = hashlib.sha256()
    for line in outcomes_csv_lines(upload):
        digest.update(line.encode("utf-8"))
    study = upload.study
    audit.record(
        AuditAction.EXPORT_DOWNLOADED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        hash_after=digest.hexdigest(),
        details={
            "export": "outcomes_csv",
            "outcome_version": upload.version,
            "simulated": upload.simulated,
        },
    )
    marker = "-simulated" if upload.simulated else ""
    filename = f"{study.slug}-outcomes-v{upload.version}{marker}.csv"
    return OutcomesDownload(upload, filename, digest.hexdigest())


# -- one participant's outcomes, posted through the API ------------------------------------
RECORDED_ON = "recorded_on"
"""The numeric column an API post fills with its date, as the number YYYYMMDD."""


class OutcomePostInvalid(SurveyError):
    """A posted outcome refused (nothing stored); ``problems`` lists ``(field, message)``,
    ``field`` a JSON pointer into the request (``/values/messages_sent``, ``/recorded_on``)."""

    def __init__(self, problems: Sequence[tuple[str, str]]):
        self.problems = list(problems)
        super().__init__("; ".join(f"{field}: {message}" for field, message in self.problems))


def _recorded_number(day: date) -> float:
    return float(day.year * 10_000 + day.month * 100 + day.day)


def post_outcomes(
    study: Study,
    participant: Participant,
    values: Mapping[str, Any],
    *,
    recorded_on: date,
    wave: Wave | None = None,
    today: date | None = None,
) -> OutcomeUpload:
    """Store one participant's outcomes (for ``wave``, or for the participant as a whole)
    as the study's next version: the current version's rows, with this participant's row
    added or its posted names overridden (other names of the row keep their values; None
    empties a cell). Older versions are kept. Source ``api``.

    Values: numbers, booleans (stored 1/0) or text (a categorical column; a new text
    becomes a new level, the levels kept sorted). A name must be usable in R, SPSS and
    Stata (:func:`name_problems`) and keep its column's kind.

    ``recorded_on`` is kept in the row's numeric column :data:`RECORDED_ON` as the number
    YYYYMMDD (20261201): a date per row without a categorical of one level per day (a
    column is refused beyond :data:`MAX_LEVELS` levels), sortable, and read back in R with
    ``as.Date(as.character(x), "%Y%m%d")`` or in Stata with ``daily(string(x, "%8.0f"),
    "YMD")``; it is the date of the row's latest post. The version's ``filename`` names the
    post (participant, wave, date), so every version says where it came from.

    Raises :class:`OutcomePostInvalid`, :class:`ConsentRequired` (never consented) and
    :class:`ParticipantWithdrawn`. Audited ``outcomes_uploaded`` by :func:`store_outcomes`.
    ``today`` (default: today in UTC) bounds ``recorded_on``: at most a day ahead.
    """
    if participant.withdrawn_at is not None:
        raise ParticipantWithdrawn("this participant stopped taking part", study=study)
    if participant.enrolled_at is None:
        raise ConsentRequired("the participant has not consented to the study")
    today = today or utcnow().date()
    problems: list[tuple[str, str]] = []
    if recorded_on > today + timedelta(days=1):
        problems.append(("/recorded_on", f"{recorded_on.isoformat()} is in the future"))
    # One post at a time per study: the current version is read, then the next written. A
    # no-op UPDATE of the study's row takes the lock before the read on both databases
    # (PostgreSQL: the row; SQLite: the database's write lock, which a SELECT does not take).
    studies_table = Study.__table__
    db.session.execute(
        update(studies_table).where(studies_table.c.id == study.id).values(id=studies_table.c.id)
    )
    current = current_outcomes(study)
    existing = {column.name: column for column in (current.columns if current else ())}
    by_lower = {name.lower(): name for name in existing}
    taken = battery_names(study)

    cells: dict[str, Value] = {}
    new_columns: list[OutcomeColumn] = []
    for name, value in values.items():
        field = "/values/" + name.replace("~", "~0").replace("/", "~1")
        if name.lower() == RECORDED_ON:
            problems.append((field, f"{name!r} is set from recorded_on; do not send it"))
            continue
        column = existing.get(name)
        if column is None and name.lower() in by_lower:
            problems.append(
                (field, f"the study's outcomes spell this column {by_lower[name.lower()]!r}")
            )
            continue
        if column is None:
            name_issues = name_problems(name, taken=taken)
            problems.extend((field, issue) for issue in name_issues)
            if name_issues:
                continue
        cell, kind, issue = _posted_cell(value)
        if issue:
            problems.append((field, issue))
            continue
        if column is not None and kind is not None and column.kind != kind:
            want = "a number or a boolean" if column.kind == NUMERIC else "text (one of its levels)"
            problems.append((field, f"column {name!r} is {column.kind}: send {want}"))
            continue
        if column is None:
            new_columns.append(OutcomeColumn(name, kind or NUMERIC))
        cells[name] = cell
    recorded = existing.get(RECORDED_ON)
    if recorded is not None and recorded.kind != NUMERIC:
        problems.append(
            ("/recorded_on", f"the study's outcomes have a {recorded.kind} column {RECORDED_ON!r}")
        )
    if problems:
        raise OutcomePostInvalid(problems)
    cells[RECORDED_ON] = _recorded_number(recorded_on)
    if recorded is None:
        new_columns.append(OutcomeColumn(RECORDED_ON, NUMERIC))

    columns = [
        _with_level(column, cells.get(column.name)) for column in existing.values()
    ] + new_columns
    rows: dict[tuple[int, int | None], dict[str, Value]] = {
        key: dict(row) for key, row in (current.rows.items() if current else ())
    }
    key = (participant.id, wave.id if wave is not None else None)
    rows.setdefault(key, {}).update(cells)
    wave_keys = {w.id: w.key for w in study.waves}
    records = OutcomeRecords(
        columns=[column.meta() for column in columns],
        rows=[(pid, wid, row) for (pid, wid), row in rows.items()],
        labels=[
            f"{participant_code(pid)} {wave_keys.get(wid, 'participant') if wid else ''}".strip()
            for pid, wid in rows
        ],
    )
    try:
        parsed = check_records(study, records)
    except OutcomeFileInvalid as error:
        raise OutcomePostInvalid(
            [(_field_of(problem, cells), problem) for problem in error.problems]
        ) from error
    where = wave.key if wave is not None else "participant"
    return store_outcomes(
        study,
        parsed,
        filename=f"api {participant.code} {where} {recorded_on.isoformat()}",
        source=OutcomeSource.API,
        actor=None,
    )


def _posted_cell(value: Any) -> tuple[Value, str | None, str | None]:
    """(cell, kind or None for a missing value, problem)."""
    if value is None or value == "":
        return None, None, None
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARACTERS:
            return None, None, f"{len(value)} characters; at most {MAX_CELL_CHARACTERS}"
        return value, CATEGORICAL, None
    number = _number(value)
    if number is None:
        return None, None, f"{value!r} is not a finite number, a boolean or text"
    return number, NUMERIC, None


def _with_level(column: OutcomeColumn, value: Value) -> OutcomeColumn:
    if column.kind != CATEGORICAL or not isinstance(value, str) or value in column.levels:
        return column
    return OutcomeColumn(column.name, column.kind, tuple(sorted({*column.levels, value})))


def _field_of(problem: str, cells: Mapping[str, Value]) -> str:
    for name in cells:
        if f"column {name!r}" in problem:
            return "/values/" + name.replace("~", "~0").replace("/", "~1")
    return "/values"
