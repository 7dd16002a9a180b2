"""The one CSV writer of every export, with cells a spreadsheet will not run as formulas.

Every CSV file the platform hands out (the answers and audit exports, the REDCap data
dictionary) is written by :func:`csv_text`. A spreadsheet program runs a cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, so text starting
with one of them gets a leading apostrophe, the OWASP convention (a spreadsheet shows
such a cell as text and hides the apostrophe). Numbers are left alone: ``-3`` is a number,
not a formula.

The escape is reversible, so a file read back (the REDCap import) gets the text that was
written: :func:`unescape_cell` removes the apostrophe again. To keep that exact, text that
already starts with an apostrophe followed by one of those characters or by another
apostrophe is escaped too; any other leading apostrophe (``'Tis``) is text and stays.

>>> escape_cell("=HYPERLINK(1)"), escape_cell(-3), escape_cell("ok")
("'=HYPERLINK(1)", -3, 'ok')
>>> escape_cell("'=x"), escape_cell("'Tis")
("''=x", "'Tis")
>>> all(unescape_cell(escape_cell(t)) == t for t in ["=1", "'=1", "''", "'Tis", "-", "'"])
True
>>> csv_text(["a", "b"], [["@SUM(A1)", None], [1, "x"]])
"a,b\\r\\n'@SUM(A1),\\r\\n1,x\\r\\n"
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

__all__ = ["ESCAPE", "FORMULA_START", "csv_text", "escape_cell", "unescape_cell"]

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
"""A text cell starting with one of these is run as a formula by spreadsheet programs."""

ESCAPE = "'"
"""Put before such a cell (OWASP's convention for CSV injection)."""

_ESCAPED_START = (*FORMULA_START, ESCAPE)


def _needs_escape(text: str) -> bool:
    return text.startswith(FORMULA_START) or (
        text.startswith(ESCAPE) and text[1:].startswith(_ESCAPED_START)
    )


def escape_cell(value: object) -> object:
    """``value``, with a leading apostrophe when it is text a spreadsheet would run."""
    if isinstance(value, str) and _needs_escape(value):
        return ESCAPE + value
    return value


def unescape_cell(text: str) -> str:
    """The text :func:`escape_cell` was given: ``unescape_cell(escape_cell(t)) == t``.

    A cell that a spreadsheet saved without the apostrophe (``=x``) is returned as is.
    """
    if text.startswith(ESCAPE) and text[1:].startswith(_ESCAPED_START):
        return text[1:]
    return text


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV text (CRLF line ends) with every cell escaped; ``None`` is an empty
    cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([escape_cell(name) for name in header])
    for row in rows:
        writer.writerow(["" if value is None else escape_cell(value) for value in row])
    return buffer.getvalue()
