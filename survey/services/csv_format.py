"""CSV text for downloads, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

# A cell starting with one of these is run as a formula by spreadsheet programs.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value: object) -> object:
    """``value``, with a leading apostrophe when it is text a spreadsheet would run.

    >>> safe_cell("=HYPERLINK(1)"), safe_cell(-3), safe_cell("ok")
    ("'=HYPERLINK(1)", -3, 'ok')
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def csv_text(header: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """RFC 4180 CSV (CRLF line ends); ``None`` becomes an empty cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow([safe_cell(name) for name in header])
    for row in rows:
        writer.writerow(["" if value is None else safe_cell(value) for value in row])
    return buffer.getvalue()
