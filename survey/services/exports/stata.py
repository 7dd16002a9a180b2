"""The Stata ``.dta`` export (format 119, Stata 15+), written by pyreadstat a chunk at a time.

As with :mod:`survey.services.exports.spss`, each chunk is written as a file of its own and
the files joined: a .dta file of format 117 or later is a sequence of tagged sections
(``<header>`` with the observation count N, ``<map>`` with the byte offsets of the 14
sections, the variable definitions, ``<data>`` with fixed-width rows, ``<strls>``,
``<value_labels>``). The joined file is the first chunk's sections up to ``<data>``, every
chunk's rows, then the first chunk's closing sections; N (8 bytes after ``<N>``) and the
map's offsets of ``<strls>``, ``<value_labels>``, ``</stata_dta>`` and the end of file are
patched (Stata, "dta file format 117/118/119", help dta). Each chunk's sections other than
the rows are compared with the first one's (N, the time stamp and those offsets blanked),
and a difference stops the export with an error. No strL is ever written: every text column
has a fixed width of at most 2,045 bytes.

What the file holds: variable labels (cut to Stata's 80 characters; the codebook has the
whole wording), value labels (the response scale; No/Yes for 0/1 columns), "not answered"
as the extended missing value ``.a`` labelled "not answered" on every item (an item never
reached is ``.``), display formats, and the file label naming the instrument version(s)
and content hash(es) as far as 80 characters allow; the full hashes are in the ``battery``
variable on every row.
"""

from __future__ import annotations

import struct
import tempfile
from pathlib import Path

import pyreadstat

from survey.services.exports.layout import STATA_NOT_ANSWERED, STRING, Layout
from survey.services.exports.readstat_frames import (
    empty_chunk,
    readstat_frame,
    value_labels,
)
from survey.services.exports.spss import ChunkMismatch
from survey.services.exports.table import WideChunk

__all__ = ["DtaSink"]

LABEL_CHARACTERS = 80
MAP_ENTRIES = 14
DATA, STRLS = 9, 10  # map entries: offset of <data>, of <strls>; 11-13 follow them


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def dta_metadata(layout: Layout, label: str) -> dict:
    """The keyword arguments of ``pyreadstat.write_dta`` for the layout."""
    labels, missing, formats = {}, {}, {}
    for variable in layout.variables:
        labelled = value_labels(variable, STATA_NOT_ANSWERED)
        if labelled:
            labels[variable.safe_name] = labelled
        if variable.not_answered:
            missing[variable.safe_name] = [STATA_NOT_ANSWERED]
        if variable.storage == "number":
            formats[variable.safe_name] = (
                f"%10.{variable.decimals}f" if variable.decimals else "%8.0g"
            )
        elif variable.storage == STRING:
            formats[variable.safe_name] = f"%-{min(variable.width, 40)}s"
    return {
        "file_label": _cut(label, LABEL_CHARACTERS),
        "column_labels": {v.safe_name: _cut(v.label, LABEL_CHARACTERS) for v in layout.variables},
        "variable_value_labels": labels,
        "missing_user_values": missing,
        "variable_format": formats,
        "version": 15,
    }


def _between(raw: bytes, start: bytes, end: bytes) -> tuple[int, int]:
    first = raw.index(start) + len(start)
    return first, raw.index(end, first)


class _Parts:
    """A chunk file cut into the part before its rows, its rows and the part after them."""

    def __init__(self, raw: bytes, rows: int):
        if not raw.startswith(b"<stata_dta><header><release>119</release><byteorder>LSF"):
            raise ChunkMismatch("pyreadstat wrote no little-endian .dta file of format 119")
        map_at, _ = _between(raw, b"<map>", b"</map>")
        self.map_at = map_at
        offsets = struct.unpack(f"<{MAP_ENTRIES}q", raw[map_at : map_at + 8 * MAP_ENTRIES])
        data_start = offsets[DATA] + len(b"<data>")
        data_end = offsets[STRLS] - len(b"</data>")
        if raw[offsets[DATA] : data_start] != b"<data>" or raw[data_end : offsets[STRLS]] != (
            b"</data>"
        ):
            raise ChunkMismatch("the .dta chunk's map does not point at its <data> section")
        if raw[offsets[STRLS] : offsets[STRLS] + 15] != b"<strls></strls>":
            raise ChunkMismatch("the .dta chunk holds strLs; only fixed-width text can be joined")
        if rows and (data_end - data_start) % rows:
            raise ChunkMismatch("the .dta chunk's rows are not of one width")
        self.offsets = offsets
        self.head = raw[:data_start]
        self.rows = raw[data_start:data_end]
        self.tail = raw[data_end:]

    def blanked_head(self) -> bytes:
        head = bytearray(self.head)
        n_at, _ = _between(self.head, b"<N>", b"</N>")
        head[n_at : n_at + 8] = bytes(8)
        stamp_at, stamp_end = _between(self.head, b"<timestamp>", b"</timestamp>")
        head[stamp_at:stamp_end] = bytes(stamp_end - stamp_at)
        head[self.map_at + 8 * STRLS : self.map_at + 8 * MAP_ENTRIES] = bytes(8 * 4)
        return bytes(head)


class DtaSink:
    """Writes the .dta file at ``path`` chunk by chunk (``scratch``: a directory for the
    chunk files)."""

    def __init__(self, layout: Layout, path: Path, scratch: Path, *, label: str):
        self.layout = layout
        self.scratch = scratch
        self.metadata = dta_metadata(layout, label)
        self.out = open(path, "wb")  # noqa: SIM115 (closed by finish)
        self.first: _Parts | None = None
        self.observations = 0
        self.row_bytes = 0

    def _parts(self, chunk: WideChunk) -> _Parts:
        frame = readstat_frame(self.layout, chunk, STATA_NOT_ANSWERED)
        with tempfile.NamedTemporaryFile(dir=self.scratch, suffix=".dta") as part:
            pyreadstat.write_dta(frame, part.name, **self.metadata)
            return _Parts(Path(part.name).read_bytes(), len(frame))

    def add(self, chunk: WideChunk) -> None:
        rows = len(chunk.frame)
        if rows == 0:
            return
        parts = self._parts(chunk)
        if self.first is None:
            self.first = parts
            self.out.write(parts.head)
        elif parts.blanked_head() != self.first.blanked_head() or parts.tail != self.first.tail:
            self.out.close()
            raise ChunkMismatch(
                f"the variable definitions of the .dta chunk at observation "
                f"{self.observations + 1} differ from the first chunk's"
            )
        self.out.write(parts.rows)
        self.observations += rows
        self.row_bytes += len(parts.rows)

    def finish(self) -> None:
        first = self.first
        if first is None:  # no rows at all: the file of the empty frame
            parts = self._parts(empty_chunk(self.layout))
            self.out.write(parts.head + parts.rows + parts.tail)
            self.out.close()
            return
        self.out.write(first.tail)
        shift = self.row_bytes - len(first.rows)
        n_at, _ = _between(first.head, b"<N>", b"</N>")
        self.out.seek(n_at)
        self.out.write(struct.pack("<q", self.observations))
        self.out.seek(first.map_at + 8 * STRLS)
        self.out.write(struct.pack("<4q", *(o + shift for o in first.offsets[STRLS:])))
        self.out.close()
