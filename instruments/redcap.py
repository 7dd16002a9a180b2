"""Export an instrument as a REDCap data dictionary, and import one back, losslessly.

REDCap describes a project's fields in a *data dictionary*: a CSV file with 18 standard
columns (:data:`REDCAP_COLUMNS`), one row per field. :func:`to_redcap_csv` writes an
instrument as such a file, usable in REDCap as is (one form, one ``radio`` field per item),
and :func:`from_redcap_csv` reads it back into an equal
:class:`~instruments.definition.InstrumentDefinition` with the same content hash, so a
collaborator can build a REDCap project from an instrument, and an admin can review an
edited dictionary as a new draft version.

Rows
----
Rows come in this order; row numbers in problems count like a spreadsheet (the header is
row 1).

1. *Record id* (optional on import): REDCap wants the first field of a project to be the
   record identifier, so the export starts with a ``text`` field ``record_id``. On import,
   a first row of type ``text`` without ``@IEMDP`` tags is taken as the record id and
   skipped.
2. *Instrument row*: a ``descriptive`` field ``instrument_info`` whose label is the
   instrument's intro (REDCap shows it to respondents). Its annotation carries the
   instrument's metadata.
3. *Entry rows*: one ``radio`` field per item and attention check, in page order
   (:meth:`InstrumentDefinition.pages`). Field name: the id in lower case (REDCap names
   are lower case); label: the text; choices: ``1, Strongly disagree | 2, Disagree |
   ...``; *Required Field?* ``y`` unless the entry is optional. The first row of each
   page has the construct's name as *Section Header*. The form name is the instrument
   key (``-`` becomes ``_``).

Annotation tags
---------------
What the instrument format needs and REDCap has no column for is written in *Field
Annotation* as tags ``@IEMDP-NAME=value``, separated by spaces. REDCap ignores action tags
it does not know, and other text in an annotation (e.g. REDCap's own ``@HIDDEN``) is left
alone on import. A value is either *bare* (no spaces or double quotes: ``OE_BEN``,
``1``, ``agree5``) or a JSON string or object (``"Outcome expectancy"``, which may hold
spaces, quotes, newlines and any unicode). Flags are ``0`` or ``1``.

=================  =====================  ============================================
row                tag                    meaning
=================  =====================  ============================================
instrument         ``FORMAT``             instrument file format (1)
instrument         ``KEY``, ``VERSION``   what was exported (import arguments win)
instrument         ``TITLE``              title (JSON string)
instrument         ``CITATION``           citation (JSON string)
instrument         ``SHUFFLE``            ``shuffle_items``, 0 or 1
instrument         ``SCALES``             every response scale in order, as a JSON
                                          object ``{"agree5": "1, Strongly disagree |
                                          ..."}`` (so unused scales survive too)
instrument         ``CHECK-ORDER``        order of the attention checks when it is not
                                          their row order (comma-separated ids)
first of a page    ``CONSTRUCT``          construct code (the section header is its
                                          name)
first of a page    ``DOMAIN``,            construct domain and description
                   ``CONSTRUCT-DESC``
first of a page    ``PAGE-TITLE``         the construct's participant-facing page
                                          title, when it has one (JSON string)
item               ``SUB``                subconstruct code
item               ``REVERSE``            reverse-keyed, 0 or 1 (always written)
item               ``SAFETY``             safety threshold (a scale value) of a safety
                                          item; only then written
first item of a    ``SUB-NAME``,          subconstruct name, description, and
subconstruct       ``SUB-DESC``,          orientation within its construct (0 or 1)
                   ``SUB-REVERSE``
attention check    ``CHECK``              the expected answer (a scale value); marks
                                          the row as an attention check
attention check    ``POSITION``           0-based position on its page, when it is not
                                          the row's position (only then written)
item or check      ``SCALE``              response scale key; the row's choices must be
                                          that scale's options
item or check      ``ID``                 the id, when it is not the field name in upper
                                          case (only then written)
item or check      ``TYPE``               item type, when not ``likert``
=================  =====================  ============================================

Example row (an item starting page *OE* and subconstruct *OE_BEN*)::

    oe_ben_1,iemdp,Outcome expectancy,radio,I expect messaging ...,"1, Strongly disagree
    | ...",,,,,,,y,,,,,"'@IEMDP-CONSTRUCT=OE @IEMDP-DOMAIN=intrapsychic
    @IEMDP-CONSTRUCT-DESC=""What the ..."" @IEMDP-SUB=OE_BEN @IEMDP-SUB-NAME=""Treatment
    benefit"" ... @IEMDP-REVERSE=0 @IEMDP-SCALE=agree5"

Items of one subconstruct must be in consecutive rows of one page, since the instrument
format nests items under their subconstruct.

Formula cells
-------------
The file is written by :func:`instruments.csv_cells.csv_text`, the writer of every CSV
export: a cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a
leading apostrophe so that a spreadsheet shows it as text instead of running it (hence
the ``'`` before each annotation, which starts with ``@``, and before a choices cell such
as ``-1, Never``). The import removes that apostrophe again
(:func:`~instruments.csv_cells.unescape_cell`) and accepts the cell without it too, as a
spreadsheet saves it, so an item text starting with ``-`` or ``=`` comes back unchanged.
REDCap itself reads action tags anywhere in an annotation; in a label it would show the
apostrophe.

What is rejected
----------------
An upload is accepted whole or not at all: :func:`from_redcap_csv` raises one
:class:`~instruments.loader.InstrumentValidationError` listing every problem, each keyed
``row N: <column or tag>`` (``line N`` for CSV syntax errors, ``""`` for the file):
larger than :data:`MAX_CSV_BYTES`; not UTF-8 (a UTF-8 byte-order mark is fine); CSV
syntax errors; missing required columns, unknown or repeated columns; unknown field types
or types the format cannot hold (``dropdown``, ``checkbox``, ...); malformed choices;
invalid or duplicate field names; several forms; content in columns the format cannot
hold (branching logic, field notes, validation, matrix groups, ...); unknown, repeated,
misplaced or malformed ``@IEMDP`` tags and missing required ones; and, once the rows make
an instrument, everything :func:`instruments.loader.parse_definition` rejects, located
at the row it came from.

>>> from instruments.loader import instrument_path, load_instrument
>>> definition = load_instrument(instrument_path("iemdp", "1.0.0"))
>>> text = to_redcap_csv(definition)
>>> again = from_redcap_csv(text, source_name="iemdp.csv")
>>> again == definition and again.content_hash == definition.content_hash
True
>>> try:
...     from_redcap_csv(text.replace(",radio,", ",dropdown,", 1), source_name="up.csv")
... except InstrumentValidationError as error:
...     print(*error.problems, sep="\\n")  # doctest: +ELLIPSIS
up.csv: row 4: Field Type: field type 'dropdown' is not supported: items and attention ...
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from instruments.csv_cells import csv_text, unescape_cell
from instruments.definition import AttentionCheck, InstrumentDefinition, Item, ResponseScale
from instruments.item_types import DEFAULT_ITEM_TYPE
from instruments.loader import (
    SUPPORTED_FORMATS,
    InstrumentValidationError,
    Problem,
    parse_definition,
)
from instruments.text_encoding import UndecodableText, decode_text

__all__ = [
    "INSTRUMENT_FIELD",
    "MAX_CSV_BYTES",
    "RECORD_ID_FIELD",
    "REDCAP_COLUMNS",
    "REDCAP_FIELD_TYPES",
    "from_redcap_csv",
    "to_redcap_csv",
]

REDCAP_COLUMNS: tuple[str, ...] = (
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
)
"""The 18 columns of a REDCap data dictionary, in REDCap's order."""

REDCAP_FIELD_TYPES = frozenset(
    {
        "text",
        "notes",
        "dropdown",
        "radio",
        "checkbox",
        "yesno",
        "truefalse",
        "file",
        "slider",
        "calc",
        "descriptive",
        "sql",
    }
)
"""Field types REDCap knows; only ``radio``, ``descriptive`` and a leading ``text`` record
id are used here."""

MAX_CSV_BYTES = 2_000_000
"""Uploads larger than this (2 MB) are rejected before parsing."""

RECORD_ID_FIELD = "record_id"
INSTRUMENT_FIELD = "instrument_info"

(
    NAME,
    FORM,
    SECTION,
    TYPE,
    LABEL,
    CHOICES,
    NOTE,
    VALIDATION,
    VALIDATION_MIN,
    VALIDATION_MAX,
    IDENTIFIER,
    BRANCHING,
    REQUIRED,
    ALIGNMENT,
    QUESTION_NUMBER,
    MATRIX_GROUP,
    MATRIX_RANKING,
    ANNOTATION,
) = REDCAP_COLUMNS

_REQUIRED_COLUMNS = (NAME, FORM, SECTION, TYPE, LABEL, CHOICES, REQUIRED, ANNOTATION)
# Standard columns the instrument format has nothing for: they must stay empty, or the
# import would silently drop what someone wrote there.
_UNSUPPORTED_COLUMNS = (
    NOTE,
    VALIDATION,
    VALIDATION_MIN,
    VALIDATION_MAX,
    IDENTIFIER,
    BRANCHING,
    ALIGNMENT,
    QUESTION_NUMBER,
    MATRIX_GROUP,
    MATRIX_RANKING,
)
_FIELD_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_BARE_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:,+-]+$")
_TAG_RE = re.compile(r"@IEMDP-", re.IGNORECASE)
_TAG_NAME_RE = re.compile(r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*")

# tag -> (kind of value, rows it may appear on)
_TAGS: dict[str, tuple[str, str]] = {
    "FORMAT": ("int", "instrument"),
    "KEY": ("text", "instrument"),
    "VERSION": ("text", "instrument"),
    "TITLE": ("text", "instrument"),
    "CITATION": ("text", "instrument"),
    "SHUFFLE": ("flag", "instrument"),
    "SCALES": ("object", "instrument"),
    "CHECK-ORDER": ("list", "instrument"),
    "CONSTRUCT": ("text", "entry"),
    "DOMAIN": ("text", "entry"),
    "CONSTRUCT-DESC": ("text", "entry"),
    "PAGE-TITLE": ("text", "entry"),
    "SCALE": ("text", "entry"),
    "ID": ("text", "entry"),
    "TYPE": ("text", "entry"),
    "SUB": ("text", "item"),
    "REVERSE": ("flag", "item"),
    "SUB-NAME": ("text", "item"),
    "SUB-DESC": ("text", "item"),
    "SUB-REVERSE": ("flag", "item"),
    "SAFETY": ("int", "item"),
    "CHECK": ("int", "check"),
    "POSITION": ("int", "check"),
}
_ROW_KINDS = {
    "instrument": "the instrument row",
    "entry": "item and attention-check rows",
    "item": "item rows",
    "check": "attention-check rows",
}


# --------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------
def to_redcap_csv(
    definition: InstrumentDefinition,
    *,
    record_id: str | None = RECORD_ID_FIELD,
    bom: bool = False,
) -> str:
    """Write ``definition`` as a REDCap data dictionary (layout in the module docstring).

    Parameters
    ----------
    definition : InstrumentDefinition
    record_id : str or None, default "record_id"
        Name of the leading record-id field REDCap needs as a project's first field;
        ``None`` leaves it out (e.g. to add the form to an existing project).
    bom : bool, default False
        Start with a UTF-8 byte-order mark, which Excel needs to read UTF-8.

    Returns
    -------
    str
        CSV text (``\\r\\n`` line ends, as RFC 4180); encode it as UTF-8.

    Raises
    ------
    ValueError
        When REDCap cannot hold the definition: an option label containing ``|`` (the
        choices separator), or two ids equal up to case (REDCap names are lower case).
    """
    form = definition.key.replace("-", "_")
    rows: list[dict[str, str]] = []

    def row(name: str, field_type: str, label: str, **cells: str) -> None:
        rows.append({NAME: name, FORM: form, TYPE: field_type, LABEL: label, **cells})

    if record_id is not None:
        row(record_id, "text", "Record ID")

    choices = {scale.key: _choices_text(scale) for scale in definition.response_scales}
    order = [check.id for check in definition.attention_checks]
    info = [
        ("FORMAT", SUPPORTED_FORMATS[-1]),
        ("KEY", definition.key),
        ("VERSION", definition.version),
        ("TITLE", definition.title),
        ("CITATION", definition.citation),
        ("SHUFFLE", definition.shuffle_items),
        ("SCALES", choices),
    ]
    row_order = [e.id for page in definition.pages() for e in page.entries if _is_check(e)]
    if order != row_order:
        info.append(("CHECK-ORDER", ",".join(order)))
    row(INSTRUMENT_FIELD, "descriptive", definition.intro, **{ANNOTATION: _tags(info)})

    seen_subs: set[str] = set()
    for page in definition.pages():
        construct = definition.construct(page.key)
        for index, entry in enumerate(page.entries):
            tags: list[tuple[str, Any]] = []
            cells = {CHOICES: choices[entry.scale], REQUIRED: "" if entry.optional else "y"}
            if index == 0:
                cells[SECTION] = construct.name
                tags += [
                    ("CONSTRUCT", construct.code),
                    ("DOMAIN", construct.domain),
                    ("CONSTRUCT-DESC", construct.description),
                ]
                if construct.page_title is not None:
                    tags.append(("PAGE-TITLE", construct.page_title))
            if isinstance(entry, Item):
                tags.append(("SUB", entry.subconstruct))
                if entry.subconstruct not in seen_subs:
                    seen_subs.add(entry.subconstruct)
                    sub = definition.subconstruct(entry.subconstruct)
                    tags += [
                        ("SUB-NAME", sub.name),
                        ("SUB-DESC", sub.description),
                        ("SUB-REVERSE", sub.reverse),
                    ]
                tags.append(("REVERSE", entry.reverse))
                if entry.safety_threshold is not None:
                    tags.append(("SAFETY", entry.safety_threshold))
            else:
                tags.append(("CHECK", entry.expected))
                if entry.position != index:
                    tags.append(("POSITION", entry.position))
            tags.append(("SCALE", entry.scale))
            if entry.id != entry.id.upper():  # the import upper-cases the field name
                tags.append(("ID", entry.id))
            if entry.type != DEFAULT_ITEM_TYPE:
                tags.append(("TYPE", entry.type))
            row(entry.id.lower(), "radio", entry.text, **cells, **{ANNOTATION: _tags(tags)})

    names: set[str] = set()
    for cells in rows:
        if cells[NAME] in names:
            raise ValueError(
                f"REDCap field names are lower case, and {cells[NAME]!r} would name two "
                "fields; rename one of the ids"
            )
        names.add(cells[NAME])

    table = ([cells.get(column, "") for column in REDCAP_COLUMNS] for cells in rows)
    return ("\ufeff" if bom else "") + csv_text(REDCAP_COLUMNS, table)


def _is_check(entry: Item | AttentionCheck) -> bool:
    return isinstance(entry, AttentionCheck)


def _choices_text(scale: ResponseScale) -> str:
    for option in scale.options:
        if "|" in option.label:
            raise ValueError(
                f"response scale {scale.key!r}: label {option.label!r} contains '|', which "
                "separates REDCap choices"
            )
    return " | ".join(f"{option.value}, {option.label}" for option in scale.options)


def _tag_value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and _BARE_VALUE_RE.fullmatch(value):
        return value
    return json.dumps(value, ensure_ascii=False)


def _tags(tags: Iterable[tuple[str, Any]]) -> str:
    return " ".join(f"@IEMDP-{name}={_tag_value(value)}" for name, value in tags)


# --------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------
def from_redcap_csv(
    data: str | bytes,
    *,
    key: str | None = None,
    version: str | None = None,
    source_name: str = "upload.csv",
) -> InstrumentDefinition:
    """Read a REDCap data dictionary written by :func:`to_redcap_csv` (possibly edited).

    Parameters
    ----------
    data : str or bytes
        The CSV. Bytes must be UTF-8 (a byte-order mark is allowed).
    key : str, optional
        The instrument key; by default the ``@IEMDP-KEY`` of the instrument row. When
        both are given they must agree.
    version : str, optional
        The version to give the definition (e.g. the next draft version); by default the
        ``@IEMDP-VERSION`` of the instrument row.
    source_name : str
        Names the upload in problems.

    Returns
    -------
    InstrumentDefinition
        ``from_redcap_csv(to_redcap_csv(d)) == d``, with the same content hash.

    Raises
    ------
    InstrumentValidationError
        Listing every problem (see the module docstring); nothing is returned in part.
    """
    text, problems = _decode(data, source_name)
    if text is None:
        raise InstrumentValidationError(problems)
    reader = _Reader(source_name)
    mapping = reader.read(text, key=key, version=version)
    if reader.problems or mapping is None:
        raise InstrumentValidationError(sorted(reader.problems, key=_row_order))
    try:
        return parse_definition(mapping, source_name)
    except InstrumentValidationError as error:
        located = [Problem(source_name, reader.locate(p.key), p.message) for p in error.problems]
        raise InstrumentValidationError(sorted(located, key=_row_order)) from None


def _decode(data: str | bytes, name: str) -> tuple[str | None, list[Problem]]:
    try:
        return decode_text(data, limit=MAX_CSV_BYTES, advice="save the file as 'CSV UTF-8'"), []
    except UndecodableText as error:
        return None, [Problem(name, "", str(error))]


@dataclass
class _Entry:
    """An item or attention-check row on its way to the mapping."""

    row: int
    values: dict[str, Any]


@dataclass
class _Sub:
    row: int
    values: dict[str, Any]
    items: list[_Entry] = field(default_factory=list)


@dataclass
class _Page:
    row: int
    values: dict[str, Any]
    subs: list[_Sub] = field(default_factory=list)
    size: int = 0  # entries so far, attention checks included


class _Reader:
    """Turns CSV rows into an instrument-file mapping, collecting every problem."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[Problem] = []
        # mapping key (dotted path) -> (row, {field: column or tag}) for locating
        # the loader's problems
        self.where: dict[str, tuple[int, dict[str, str]]] = {}
        # (instrument row, ids) of an @IEMDP-CHECK-ORDER tag
        self.check_order: tuple[int | None, list[str] | None] = (None, None)
        # (row, tag) of tags present but malformed: already reported, so not "missing"
        self.bad_tags: set[tuple[int, str]] = set()

    def add(self, row: int | None, where: str, message: str) -> None:
        key = where if row is None else f"row {row}: {where}" if where else f"row {row}"
        self.problems.append(Problem(self.name, key, message))

    # -- locating the loader's problems ---------------------------------------------------
    def locate(self, key: str) -> str:
        """Translate a loader key (``constructs[0].subconstructs[1].items[2].reverse``)
        into ``row N: <column or tag>``."""
        best = ""
        for path in self.where:
            if (key == path or key.startswith((path + ".", path + "["))) and len(path) > len(best):
                best = path
        if not best:
            return key
        row, columns = self.where[best]
        rest = key[len(best) :].lstrip(".")
        leaf = re.match(r"[A-Za-z_]+", rest)
        column = columns.get(leaf.group(0) if leaf else "", columns.get("", rest or key))
        return f"row {row}: {column}"

    # -- reading -------------------------------------------------------------------------
    def read(self, text: str, *, key: str | None, version: str | None) -> dict[str, Any] | None:
        records = self._records(text)
        if records is None:
            return None
        if not records:
            self.add(None, "", "file is empty: expected a REDCap data dictionary")
            return None
        columns = self._header(records[0])
        if columns is None:
            return None
        width = len(records[0])
        rows = [
            (number, self._cells(number, record, columns, width))
            for number, record in enumerate(records[1:], start=2)
            if any(cell.strip() for cell in record)
        ]
        if not rows:
            self.add(None, "", "no fields: the file has a header but no rows")
            return None
        return self._instrument(rows, key=key, version=version)

    def _records(self, text: str) -> list[list[str]] | None:
        reader = csv.reader(io.StringIO(text, newline=""), strict=True)
        records: list[list[str]] = []
        try:
            for record in reader:
                records.append([unescape_cell(cell) for cell in record])
        except csv.Error as error:
            self.problems.append(
                Problem(self.name, f"line {reader.line_num}", f"CSV syntax error: {error}")
            )
            return None
        return records

    def _header(self, record: list[str]) -> dict[str, int] | None:
        columns: dict[str, int] = {}
        for index, raw in enumerate(record):
            name = raw.strip()
            if name in columns:
                self.add(1, name, "column given twice")
            elif name in REDCAP_COLUMNS:
                columns[name] = index
            elif name:
                self.add(1, name, "unknown column (REDCap data dictionary columns only)")
        for name in _REQUIRED_COLUMNS:
            if name not in columns:
                self.add(1, name, "required column missing")
        if any(name not in columns for name in _REQUIRED_COLUMNS):
            return None
        return columns

    def _cells(
        self, number: int, record: list[str], columns: dict[str, int], width: int
    ) -> dict[str, str]:
        if len(record) > width and any(cell.strip() for cell in record[width:]):
            self.add(number, "", f"has {len(record)} cells, more than the header's {width}")
        return {name: (record[i] if i < len(record) else "") for name, i in columns.items()}

    def _instrument(
        self, rows: list[tuple[int, dict[str, str]]], *, key: str | None, version: str | None
    ) -> dict[str, Any] | None:
        seen_names: dict[str, int] = {}
        form: tuple[str, int] | None = None
        info: tuple[int, dict[str, str], dict[str, Any]] | None = None
        entries: list[tuple[int, dict[str, str], dict[str, Any]]] = []
        for position, (number, cells) in enumerate(rows):
            name = cells[NAME].strip()
            if not _FIELD_NAME_RE.fullmatch(name):
                self.add(
                    number,
                    NAME,
                    f"{name!r} is not a REDCap field name (lower-case letters, digits and "
                    "'_', starting with a letter)",
                )
            elif name in seen_names:
                self.add(
                    number, NAME, f"duplicate field {name!r} (first at row {seen_names[name]})"
                )
            else:
                seen_names[name] = number
            form_name = cells[FORM].strip()
            if form is None:
                form = (form_name, number)
                if not _FIELD_NAME_RE.fullmatch(form_name):
                    self.add(number, FORM, f"{form_name!r} is not a REDCap form name")
            elif form_name != form[0]:
                self.add(
                    number,
                    FORM,
                    f"{form_name!r} differs from {form[0]!r} (row {form[1]}): "
                    "an instrument is one form",
                )
            for column in _UNSUPPORTED_COLUMNS:
                if cells.get(column, "").strip():
                    self.add(
                        number,
                        column,
                        "must be empty: the instrument format has nothing for it, and "
                        "it would be lost",
                    )
            field_type = cells[TYPE].strip()
            tags = self._tags(number, cells[ANNOTATION])
            if field_type == "text" and position == 0 and not tags:
                continue  # the record id
            if field_type == "descriptive":
                if info is not None:
                    self.add(
                        number,
                        TYPE,
                        f"a second descriptive field (the instrument row is row {info[0]}); "
                        "descriptive fields other than the instrument row are not supported",
                    )
                elif entries:
                    self.add(number, TYPE, "the instrument row must come before the items")
                else:
                    info = (number, cells, tags)
                continue
            if field_type == "radio":
                entries.append((number, cells, tags))
                continue
            if field_type not in REDCAP_FIELD_TYPES:
                known = ", ".join(sorted(REDCAP_FIELD_TYPES))
                self.add(number, TYPE, f"unknown field type {field_type!r} (REDCap's: {known})")
            else:
                self.add(
                    number,
                    TYPE,
                    f"field type {field_type!r} is not supported: items and attention "
                    "checks are 'radio', the instrument row is 'descriptive'",
                )
        if info is None:
            self.add(
                None,
                "",
                f"no instrument row: a 'descriptive' field (e.g. {INSTRUMENT_FIELD}) with the "
                "@IEMDP instrument tags must come before the items",
            )
            return None
        top, scales = self._info(*info, key=key, version=version)
        constructs, checks = self._entries(entries, scales)
        return {**top, "constructs": constructs, "attention_checks": checks}

    # -- annotation tags -----------------------------------------------------------------
    def _tags(self, number: int, annotation: str) -> dict[str, Any]:
        """The ``@IEMDP`` tags of one annotation, values parsed by kind."""
        tags: dict[str, Any] = {}
        position = 0
        decoder = json.JSONDecoder()
        while match := _TAG_RE.search(annotation, position):
            start = match.end()
            name_match = _TAG_NAME_RE.match(annotation, start)
            name = name_match.group(0).upper() if name_match else ""
            position = name_match.end() if name_match else start
            where = f"{ANNOTATION}: @IEMDP-{name}"
            if name not in _TAGS:
                self.add(number, where, f"unknown tag (known: {', '.join(_TAGS)})")
                position = _skip_value(annotation, position)
                continue
            if annotation[position : position + 1] != "=":
                self.add(number, where, "needs a value: @IEMDP-NAME=value")
                self.bad_tags.add((number, name))
                continue
            position += 1
            value: Any
            if annotation[position : position + 1] in ('"', "{", "["):
                try:
                    value, position = decoder.raw_decode(annotation, position)
                except json.JSONDecodeError as error:
                    self.add(number, where, f"malformed quoted value: {error.msg}")
                    self.bad_tags.add((number, name))
                    position = _skip_value(annotation, position)
                    continue
            else:
                end = _skip_value(annotation, position)
                value, position = annotation[position:end], end
            if position < len(annotation) and not annotation[position].isspace():
                self.add(number, where, "put a space after a tag's value")
                self.bad_tags.add((number, name))
                position = _skip_value(annotation, position)
                continue
            parsed = self._tag_value(number, where, name, value)
            if parsed is None:
                self.bad_tags.add((number, name))
                continue
            if name in tags:
                self.add(number, where, "tag given twice")
                continue
            tags[name] = parsed
        return tags

    def _tag_value(self, number: int, where: str, name: str, value: Any) -> Any:
        kind = _TAGS[name][0]
        if kind == "flag":
            if value in ("0", "1"):
                return value == "1"
            self.add(number, where, f"must be 0 or 1, got {value!r}")
        elif kind == "int":
            if isinstance(value, str) and re.fullmatch(r"-?[0-9]+", value):
                return int(value)
            self.add(number, where, f"must be a whole number, got {value!r}")
        elif kind == "text":
            if isinstance(value, str) and value:
                return value
            self.add(number, where, f"must be a text, got {value!r}")
        elif kind == "list":
            if isinstance(value, str) and value:
                return value.split(",")
            self.add(number, where, f"must be comma-separated ids, got {value!r}")
        elif kind == "object":
            if isinstance(value, dict):
                return value
            self.add(number, where, 'must be a JSON object such as {"agree5": "1, ... | ..."}')
        return None

    def _allowed(self, number: int, tags: dict[str, Any], kinds: tuple[str, ...]) -> None:
        for name in tags:
            if _TAGS[name][1] not in kinds:
                self.add(
                    number,
                    f"{ANNOTATION}: @IEMDP-{name}",
                    f"belongs on {_ROW_KINDS[_TAGS[name][1]]}, not on this row",
                )

    def _need(self, number: int, tags: dict[str, Any], name: str, why: str) -> Any:
        if name not in tags and (number, name) not in self.bad_tags:
            self.add(number, f"{ANNOTATION}: @IEMDP-{name}", f"required {why}")
        return tags.get(name)

    # -- the instrument row -------------------------------------------------------------
    def _info(
        self,
        number: int,
        cells: dict[str, str],
        tags: dict[str, Any],
        *,
        key: str | None,
        version: str | None,
    ) -> tuple[dict[str, Any], dict[str, list[dict[str, Any]]]]:
        self._allowed(number, tags, ("instrument",))
        for column in (SECTION, CHOICES, REQUIRED):
            if cells[column].strip():
                self.add(number, column, "must be empty on the instrument row")
        why = "on the instrument row"
        for name in ("TITLE", "CITATION", "SHUFFLE", "SCALES"):
            self._need(number, tags, name, why)
        if key is not None and "KEY" in tags and tags["KEY"] != key:
            self.add(
                number,
                f"{ANNOTATION}: @IEMDP-KEY",
                f"this file is instrument {tags['KEY']!r}, not {key!r}",
            )
        key = key if key is not None else tags.get("KEY")
        version = version if version is not None else tags.get("VERSION")
        if key is None:
            self._need(number, tags, "KEY", "on the instrument row unless a key is given")
        if version is None:
            self._need(number, tags, "VERSION", "on the instrument row unless a version is given")

        scales: dict[str, list[dict[str, Any]]] = {}
        for scale_key, choices in (tags.get("SCALES") or {}).items():
            where = f"{ANNOTATION}: @IEMDP-SCALES"
            if not isinstance(choices, str):
                self.add(number, where, f"scale {scale_key!r}: choices must be a text")
                continue
            options, error = _parse_choices(choices)
            if error:
                self.add(number, where, f"scale {scale_key!r}: {error}")
            scales[scale_key] = options
        self.where["response_scales"] = (number, {"": f"{ANNOTATION}: @IEMDP-SCALES"})
        columns = {
            "format": f"{ANNOTATION}: @IEMDP-FORMAT",
            "key": f"{ANNOTATION}: @IEMDP-KEY",
            "version": f"{ANNOTATION}: @IEMDP-VERSION",
            "title": f"{ANNOTATION}: @IEMDP-TITLE",
            "citation": f"{ANNOTATION}: @IEMDP-CITATION",
            "intro": LABEL,
            "shuffle_items": f"{ANNOTATION}: @IEMDP-SHUFFLE",
        }
        for name, column in columns.items():
            self.where[name] = (number, {"": column})
        self.check_order = (number, tags.get("CHECK-ORDER"))
        top = {
            "format": tags.get("FORMAT", SUPPORTED_FORMATS[-1]),
            "key": key,
            "version": version,
            "title": tags.get("TITLE"),
            "citation": tags.get("CITATION"),
            "intro": cells[LABEL],
            "shuffle_items": tags.get("SHUFFLE"),
            "response_scales": scales,
        }
        return top, scales

    # -- item and attention-check rows ---------------------------------------------------
    def _entries(
        self,
        rows: list[tuple[int, dict[str, str], dict[str, Any]]],
        scales: dict[str, list[dict[str, Any]]],
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        pages: list[_Page] = []
        checks: list[_Entry] = []
        sub_rows: dict[str, int] = {}
        for number, cells, tags in rows:
            is_check = "CHECK" in tags
            self._allowed(number, tags, ("entry", "check" if is_check else "item"))
            section = cells[SECTION].strip()
            if section or "CONSTRUCT" in tags:
                why = "on the first row of a page (the row with the section header)"
                if not section:
                    self.add(
                        number,
                        SECTION,
                        "a row with @IEMDP-CONSTRUCT starts a page: "
                        "give the construct's name as section header",
                    )
                for name in ("CONSTRUCT", "DOMAIN", "CONSTRUCT-DESC"):
                    self._need(number, tags, name, why)
                values = {
                    "code": tags.get("CONSTRUCT"),
                    "name": cells[SECTION],
                    "domain": tags.get("DOMAIN"),
                    "description": tags.get("CONSTRUCT-DESC"),
                }
                if "PAGE-TITLE" in tags:  # optional: absent means the construct's name
                    values["page_title"] = tags["PAGE-TITLE"]
                pages.append(_Page(number, values))
            else:
                for name in ("DOMAIN", "CONSTRUCT-DESC", "PAGE-TITLE"):
                    if name in tags:
                        self.add(
                            number,
                            f"{ANNOTATION}: @IEMDP-{name}",
                            "belongs on the first row of a page, with @IEMDP-CONSTRUCT",
                        )
            if not pages:
                self.add(
                    number,
                    SECTION,
                    "the first item needs a section header (its construct's name) and "
                    "@IEMDP-CONSTRUCT",
                )
                continue
            page = pages[-1]
            entry = self._entry(number, cells, tags, scales)
            if is_check:
                expected = tags["CHECK"]
                entry.values |= {
                    "expected": expected,
                    "page": page.values["code"],
                    "position": tags.get("POSITION", page.size),
                }
                checks.append(entry)
            else:
                self._item(number, tags, page, entry, sub_rows)
            page.size += 1
        return self._construct_mappings(pages), self._check_mappings(checks)

    def _entry(
        self,
        number: int,
        cells: dict[str, str],
        tags: dict[str, Any],
        scales: dict[str, list[dict[str, Any]]],
    ) -> _Entry:
        name = cells[NAME].strip()
        scale = self._need(number, tags, "SCALE", "on every item and attention check")
        required = cells[REQUIRED].strip().lower()
        if required not in ("y", "n", ""):
            self.add(number, REQUIRED, f"must be 'y' or empty, got {cells[REQUIRED]!r}")
        choices = cells[CHOICES]
        options, error = _parse_choices(choices)
        if error:
            self.add(number, CHOICES, error)
        elif scale is not None and scale in scales and options != scales[scale]:
            self.add(
                number,
                CHOICES,
                f"differ from response scale {scale!r} of the instrument row "
                "(@IEMDP-SCALES); change both or neither",
            )
        return _Entry(
            number,
            {
                "id": tags.get("ID", name.upper()),
                "text": cells[LABEL],
                "scale": scale,
                "type": tags.get("TYPE", DEFAULT_ITEM_TYPE),
                "optional": required != "y",
            },
        )

    def _item(
        self,
        number: int,
        tags: dict[str, Any],
        page: _Page,
        entry: _Entry,
        sub_rows: dict[str, int],
    ) -> None:
        code = self._need(number, tags, "SUB", "on every item row")
        reverse = self._need(number, tags, "REVERSE", "on every item row (0 or 1)")
        entry.values["reverse"] = reverse
        if "SAFETY" in tags:  # optional: absent means not a safety item
            entry.values["safety_threshold"] = tags["SAFETY"]
        current = page.subs[-1] if page.subs else None
        starts = current is None or current.values["code"] != code
        sub_tags = ("SUB-NAME", "SUB-DESC", "SUB-REVERSE")
        if starts and code is not None and code in sub_rows:
            self.add(
                number,
                f"{ANNOTATION}: @IEMDP-SUB",
                f"items of subconstruct {code} must be in consecutive rows of one page "
                f"(it starts at row {sub_rows[code]})",
            )
        if starts:
            resumed = code is not None and code in sub_rows
            if code is not None:
                sub_rows.setdefault(code, number)
            why = "on the first row of a subconstruct"
            for name in sub_tags if not resumed else ():
                self._need(number, tags, name, why)
            page.subs.append(
                _Sub(
                    number,
                    {
                        "code": code,
                        "name": tags.get("SUB-NAME"),
                        "description": tags.get("SUB-DESC"),
                        "reverse": tags.get("SUB-REVERSE"),
                    },
                )
            )
        else:
            for name in sub_tags:
                if name in tags:
                    self.add(
                        number,
                        f"{ANNOTATION}: @IEMDP-{name}",
                        f"only on the first row of subconstruct {code} (row {page.subs[-1].row})",
                    )
        page.subs[-1].items.append(entry)

    def _construct_mappings(self, pages: list[_Page]) -> list[dict[str, Any]]:
        entry_columns = {
            "id": NAME,
            "text": LABEL,
            "reverse": f"{ANNOTATION}: @IEMDP-REVERSE",
            "scale": f"{ANNOTATION}: @IEMDP-SCALE",
            "type": f"{ANNOTATION}: @IEMDP-TYPE",
            "optional": REQUIRED,
            "expected": f"{ANNOTATION}: @IEMDP-CHECK",
            "page": SECTION,
            "position": f"{ANNOTATION}: @IEMDP-POSITION",
            "safety_threshold": f"{ANNOTATION}: @IEMDP-SAFETY",
        }
        out = []
        for c_index, page in enumerate(pages):
            c_key = f"constructs[{c_index}]"
            self.where[c_key] = (
                page.row,
                {
                    "code": f"{ANNOTATION}: @IEMDP-CONSTRUCT",
                    "name": SECTION,
                    "domain": f"{ANNOTATION}: @IEMDP-DOMAIN",
                    "description": f"{ANNOTATION}: @IEMDP-CONSTRUCT-DESC",
                    "page_title": f"{ANNOTATION}: @IEMDP-PAGE-TITLE",
                    "": SECTION,
                },
            )
            subs = []
            for s_index, sub in enumerate(page.subs):
                s_key = f"{c_key}.subconstructs[{s_index}]"
                self.where[s_key] = (
                    sub.row,
                    {
                        "code": f"{ANNOTATION}: @IEMDP-SUB",
                        "name": f"{ANNOTATION}: @IEMDP-SUB-NAME",
                        "description": f"{ANNOTATION}: @IEMDP-SUB-DESC",
                        "reverse": f"{ANNOTATION}: @IEMDP-SUB-REVERSE",
                        "": f"{ANNOTATION}: @IEMDP-SUB",
                    },
                )
                for i_index, item in enumerate(sub.items):
                    self.where[f"{s_key}.items[{i_index}]"] = (item.row, entry_columns)
                subs.append({**sub.values, "items": [item.values for item in sub.items]})
            out.append({**page.values, "subconstructs": subs})
        return out

    def _check_mappings(self, checks: list[_Entry]) -> list[dict[str, Any]]:
        number, order = self.check_order
        if order is not None:
            ids = [check.values["id"] for check in checks]
            if sorted(order) != sorted(ids):
                self.add(
                    number,
                    f"{ANNOTATION}: @IEMDP-CHECK-ORDER",
                    f"must list each attention check once ({', '.join(ids) or 'none'}), "
                    f"got {','.join(order)}",
                )
            else:
                checks = sorted(checks, key=lambda check: order.index(check.values["id"]))
        for index, check in enumerate(checks):
            self.where[f"attention_checks[{index}]"] = (
                check.row,
                {
                    "id": NAME,
                    "text": LABEL,
                    "scale": f"{ANNOTATION}: @IEMDP-SCALE",
                    "expected": f"{ANNOTATION}: @IEMDP-CHECK",
                    "page": SECTION,
                    "position": f"{ANNOTATION}: @IEMDP-POSITION",
                    "type": f"{ANNOTATION}: @IEMDP-TYPE",
                    "optional": REQUIRED,
                },
            )
        return [check.values for check in checks]


def _row_order(problem: Problem) -> int:
    """Problems in row order (file-wide ones first; the sort is stable within a row)."""
    match = re.match(r"(?:row|line) ([0-9]+)", problem.key)
    return int(match.group(1)) if match else 0


def _skip_value(text: str, position: int) -> int:
    """Index of the next whitespace at or after ``position`` (or the end)."""
    match = re.compile(r"\s").search(text, position)
    return match.start() if match else len(text)


def _parse_choices(text: str) -> tuple[list[dict[str, Any]], str | None]:
    """``"1, Strongly disagree | 2, Disagree"`` -> options; or an error message."""
    if not text.strip():
        return [], "a radio field needs choices such as '1, Strongly disagree | 2, Disagree'"
    options = []
    for part in text.split("|"):
        value, comma, label = part.partition(",")
        if not comma:
            return [], f"choice {part.strip()!r} has no comma: write 'value, label'"
        if not re.fullmatch(r"-?[0-9]+", value.strip()):
            return [], f"choice value {value.strip()!r} is not a whole number"
        if not label.strip():
            return [], f"choice {value.strip()} has no label"
        options.append({"value": int(value.strip()), "label": label.strip()})
    return options, None
