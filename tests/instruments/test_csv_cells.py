"""Tests for instruments.csv_cells, the one CSV writer of every export."""

from __future__ import annotations

import csv
import io

import pytest

from instruments.csv_cells import FORMULA_START, csv_text, escape_cell, unescape_cell


@pytest.mark.parametrize("start", FORMULA_START)
def test_text_a_spreadsheet_would_run_gets_an_apostrophe(start):
    assert escape_cell(f"{start}HYPERLINK(1)") == f"'{start}HYPERLINK(1)"


@pytest.mark.parametrize("value", [-3, 2.5, "ok", "", "a=b", "'Tis", "'", " =x"])
def test_other_values_stay(value):
    assert escape_cell(value) == value


TEXTS = ["=1", "+1", "-", "@x", "\tx", "\rx", "'=1", "''", "'''=", "'Tis", "'", "", "plain"]


@pytest.mark.parametrize("text", TEXTS)
def test_unescape_gives_back_what_was_escaped(text):
    escaped = escape_cell(text)
    assert isinstance(escaped, str)
    assert unescape_cell(escaped) == text
    assert not escaped.startswith(FORMULA_START)


def test_a_cell_saved_without_the_apostrophe_reads_as_is():
    assert unescape_cell("=x") == "=x" and unescape_cell("'Tis") == "'Tis"


def test_csv_text_escapes_header_and_cells_and_writes_crlf():
    text = csv_text(["=h", "b"], [["-1, No", None], [-1, "@SUM(A1)"]])
    assert text.endswith("\r\n") and text.count("\r\n") == 3
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows == [["'=h", "b"], ["'-1, No", ""], ["-1", "'@SUM(A1)"]]
