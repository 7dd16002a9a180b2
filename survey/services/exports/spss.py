"""The SPSS ``.sav`` export, written by pyreadstat a chunk of rows at a time.

pyreadstat writes a whole data frame at once; to keep memory bounded the sink writes each
chunk as an uncompressed .sav file of its own and joins them: the first chunk's header and
dictionary, then every chunk's data records, with the case count patched in the header
(offset 80, int32) and in the dictionary's number-of-cases record (record type 7, subtype
16, its int64 case count). An uncompressed data record is a fixed number of 8-byte slots
per case (the header's nominal case size), so a chunk's data are its last
``rows x slots x 8`` bytes, right after the dictionary termination record (type 999). Each
chunk's dictionary is compared with the first one's, with the fields that may differ (case
counts, creation date and time) blanked, and a difference stops the export with an error
(file format: IBM SPSS Statistics, "SPSS system file format", and the PSPP manual, "System
File Format").

What the file holds: variable labels (item wording, "Mean of ..." for scores, the rule for
a flag), value labels (the response scale; No/Yes for 0/1 columns), the code -9 "not
answered" declared user-missing on every item, measurement levels (items ordinal, 0/1
columns nominal, scores and indices scale), the file label
(``<instrument> <version> sha256:<first 12 hex digits>`` of the first instrument) and
notes naming every instrument version with its full content hash, the selection and the
simulated marker. Variable names are the safe names of :mod:`survey.services.exports.naming`.
"""

from __future__ import annotations

import struct
import tempfile
import textwrap
from pathlib import Path

import pyreadstat

from survey.services.exports.layout import NOT_ANSWERED, STRING, Layout
from survey.services.exports.readstat_frames import (
    empty_chunk,
    readstat_frame,
    truncated,
    value_labels,
)
from survey.services.exports.table import WideChunk

__all__ = ["ChunkMismatch", "SavSink"]

HEADER_SIZE = 176
LAYOUT_CODE = slice(64, 68)
NOMINAL_CASE_SIZE = slice(68, 72)
COMPRESSION = slice(72, 76)
CASE_COUNT = slice(80, 84)
CREATED = slice(92, 109)  # creation date (9 bytes) and time (8 bytes)
TERMINATION = struct.pack("<ii", 999, 0)
CASES_RECORD = struct.pack("<iiii", 7, 16, 8, 2)  # then int64 1 (byte order), int64 cases
CASES_RECORD_SIZE = len(CASES_RECORD) + 16

NOTE_LINE = 80  # a document record line holds 80 bytes (ASCII here)
LABEL_BYTES = 255
FILE_LABEL_BYTES = 64


class ChunkMismatch(RuntimeError):
    """A chunk's dictionary differs from the first chunk's: the file cannot be joined."""


def _formats(layout: Layout) -> tuple[dict, dict]:
    formats, measures = {}, {}
    for variable in layout.variables:
        if variable.storage == STRING:
            formats[variable.safe_name] = f"A{variable.width}"
            measures[variable.safe_name] = "nominal"
        elif variable.storage == "number":
            formats[variable.safe_name] = (
                f"F10.{variable.decimals}" if variable.decimals else "F8.0"
            )
            measures[variable.safe_name] = (
                "scale"
                if variable.kind in ("subconstruct", "construct", "quality_index")
                else "ordinal"
                if variable.kind in ("item", "attention_check")
                else "nominal"
            )
        else:
            measures[variable.safe_name] = "scale"
    return formats, measures


def sav_metadata(layout: Layout, notes: list[str], file_label: str) -> dict:
    """The keyword arguments of ``pyreadstat.write_sav`` for the layout."""
    formats, measures = _formats(layout)
    labels = {}
    missing = {}
    for variable in layout.variables:
        labelled = value_labels(variable, float(NOT_ANSWERED))
        if labelled:
            labels[variable.safe_name] = labelled
        if variable.not_answered:
            missing[variable.safe_name] = [float(NOT_ANSWERED)]
    return {
        "file_label": truncated(file_label, FILE_LABEL_BYTES),
        "column_labels": {v.safe_name: truncated(v.label, LABEL_BYTES) for v in layout.variables},
        "note": [line for note in notes for line in textwrap.wrap(note, NOTE_LINE)],
        "variable_value_labels": labels,
        "missing_ranges": missing,
        "variable_format": formats,
        "variable_measure": measures,
    }


def _blanked(dictionary: bytes) -> bytes:
    """The dictionary with the fields that differ between chunks set to zero."""
    blank = bytearray(dictionary)
    blank[CASE_COUNT] = bytes(4)
    blank[CREATED] = bytes(CREATED.stop - CREATED.start)
    at = len(blank) - len(TERMINATION) - CASES_RECORD_SIZE
    blank[at + len(CASES_RECORD) + 8 : at + CASES_RECORD_SIZE] = bytes(8)
    return bytes(blank)


def split_sav(raw: bytes, rows: int) -> tuple[bytes, bytes]:
    """(header and dictionary, data records) of an uncompressed .sav of ``rows`` cases."""
    if raw[:4] != b"$FL2" or struct.unpack("<i", raw[LAYOUT_CODE])[0] != 2:
        raise ChunkMismatch("pyreadstat wrote no little-endian .sav file")
    if struct.unpack("<i", raw[COMPRESSION])[0] != 0:
        raise ChunkMismatch("the .sav chunk is compressed; only uncompressed chunks can be joined")
    slots = struct.unpack("<i", raw[NOMINAL_CASE_SIZE])[0]
    start = len(raw) - rows * slots * 8
    if raw[start - len(TERMINATION) : start] != TERMINATION:
        raise ChunkMismatch("no dictionary termination record before the data of a .sav chunk")
    cases_at = start - len(TERMINATION) - CASES_RECORD_SIZE
    if raw[cases_at : cases_at + len(CASES_RECORD)] != CASES_RECORD:
        raise ChunkMismatch("no number-of-cases record where the .sav chunk should have it")
    return raw[:start], raw[start:]


class SavSink:
    """Writes the .sav file at ``path`` chunk by chunk (``scratch``: a directory for the
    chunk files)."""

    def __init__(self, layout: Layout, path: Path, scratch: Path, *, notes: list[str], label: str):
        self.layout = layout
        self.path = path
        self.scratch = scratch
        self.metadata = sav_metadata(layout, notes, label)
        self.out = open(path, "wb")  # noqa: SIM115 (closed by finish)
        self.first: bytes | None = None
        self.cases = 0

    def _write_chunk_file(self, chunk: WideChunk) -> bytes:
        frame = readstat_frame(self.layout, chunk, float(NOT_ANSWERED))
        with tempfile.NamedTemporaryFile(dir=self.scratch, suffix=".sav") as part:
            pyreadstat.write_sav(frame, part.name, **self.metadata)
            return Path(part.name).read_bytes()

    def add(self, chunk: WideChunk) -> None:
        rows = len(chunk.frame)
        if rows == 0:
            return
        dictionary, data = split_sav(self._write_chunk_file(chunk), rows)
        if self.first is None:
            self.first = dictionary
            self.out.write(dictionary)
        elif _blanked(dictionary) != _blanked(self.first):
            self.out.close()
            raise ChunkMismatch(
                f"the dictionary of the .sav chunk at case {self.cases + 1} differs from the "
                "first chunk's"
            )
        self.out.write(data)
        self.cases += rows

    def finish(self) -> None:
        if self.first is None:  # no rows at all: one file of the empty frame
            raw = self._write_chunk_file(empty_chunk(self.layout))
            self.out.write(raw)
            self.out.close()
            return
        self.out.seek(CASE_COUNT.start)
        self.out.write(struct.pack("<i", self.cases if self.cases < 2**31 else -1))
        at = len(self.first) - len(TERMINATION) - CASES_RECORD_SIZE + len(CASES_RECORD) + 8
        self.out.seek(at)
        self.out.write(struct.pack("<q", self.cases))
        self.out.close()
