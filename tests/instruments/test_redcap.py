"""Tests for instruments.redcap: lossless export/import, and every rejection on its own."""

from __future__ import annotations

import csv
import doctest
import io
from collections.abc import Callable
from typing import Any

import pytest

from instruments import redcap
from instruments.definition import InstrumentDefinition
from instruments.loader import InstrumentValidationError, Problem, instrument_path, load_instrument
from instruments.redcap import (
    MAX_CSV_BYTES,
    REDCAP_COLUMNS,
    from_redcap_csv,
    to_redcap_csv,
)

NAME, FORM, SECTION, TYPE, LABEL, CHOICES = REDCAP_COLUMNS[:6]
BRANCHING, REQUIRED, ANNOTATION = REDCAP_COLUMNS[11], REDCAP_COLUMNS[12], REDCAP_COLUMNS[17]


def rows_of(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))


def csv_of(
    rows: list[dict[str, str]], columns: tuple[str, ...] | list[str] = REDCAP_COLUMNS
) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def row_number(rows: list[dict[str, str]], name: str) -> int:
    """Spreadsheet row number of field ``name`` (the header is row 1)."""
    return next(i for i, row in enumerate(rows, start=2) if row[NAME] == name)


def problems_of(text: str | bytes, **kwargs: Any) -> list[Problem]:
    with pytest.raises(InstrumentValidationError) as caught:
        from_redcap_csv(text, source_name="up.csv", **kwargs)
    return list(caught.value.problems)


def keys_of(text: str | bytes, **kwargs: Any) -> list[str]:
    return [problem.key for problem in problems_of(text, **kwargs)]


@pytest.fixture
def rows(small: InstrumentDefinition) -> list[dict[str, str]]:
    return rows_of(to_redcap_csv(small))


@pytest.fixture
def edit(rows: list[dict[str, str]]) -> Callable[..., str]:
    """Change cells of the named field and return the CSV text."""

    def change(field_name: str, /, **cells: str) -> str:
        columns = {"name": NAME, "section": SECTION, "type": TYPE, "label": LABEL}
        columns |= {"choices": CHOICES, "required": REQUIRED, "annotation": ANNOTATION}
        columns |= {"form": FORM, "branching": BRANCHING}
        row = rows[row_number(rows, field_name) - 2]
        for short, value in cells.items():
            row[columns[short]] = value
        return csv_of(rows)

    return change


def test_docstring_examples():
    result = doctest.testmod(redcap, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------
# lossless round trips
# --------------------------------------------------------------------------------------
def test_real_instrument_round_trips(real: InstrumentDefinition):
    again = from_redcap_csv(to_redcap_csv(real), source_name="iemdp.csv")
    assert again == real
    assert again.content_hash == real.content_hash


def test_small_instrument_round_trips(small: InstrumentDefinition):
    # unused scale, optional item, lower-case check id, a check first on its page,
    # checks listed out of page order, unicode, quotes, a multi-line intro
    again = from_redcap_csv(to_redcap_csv(small), source_name="mini.csv")
    assert again == small
    assert again.content_hash == small.content_hash


def test_round_trip_as_utf8_bytes_with_and_without_bom(small: InstrumentDefinition):
    for bom in (False, True):
        data = to_redcap_csv(small, bom=bom).encode("utf-8")
        assert data.startswith(b"\xef\xbb\xbf") is bom
        assert from_redcap_csv(data).content_hash == small.content_hash
    assert from_redcap_csv(to_redcap_csv(small, bom=True)) == small  # BOM in a str


def test_round_trip_without_record_id(small: InstrumentDefinition):
    text = to_redcap_csv(small, record_id=None)
    assert rows_of(text)[0][NAME] == "instrument_info"
    assert from_redcap_csv(text) == small


def test_checks_with_equal_positions_round_trip(small_mapping, make):
    small_mapping["attention_checks"][0] |= {"page": "AA", "position": 2}
    definition = make(small_mapping)
    assert from_redcap_csv(to_redcap_csv(definition)).content_hash == definition.content_hash


def test_other_annotation_text_is_left_alone(small: InstrumentDefinition, rows):
    rows[3][ANNOTATION] = "@HIDDEN-SURVEY " + rows[3][ANNOTATION] + " note for staff"
    assert from_redcap_csv(csv_of(rows)) == small


def test_key_and_version_arguments(small: InstrumentDefinition):
    text = to_redcap_csv(small)
    assert from_redcap_csv(text, version="0.4.0-rc.1").version == "0.4.0-rc.1"
    assert from_redcap_csv(text, key="mini-test", version="1.0.0").key == "mini-test"
    (problem,) = problems_of(text, key="other")
    assert problem.key == f"row 3: {ANNOTATION}: @IEMDP-KEY"
    assert "this file is instrument 'mini-test', not 'other'" in problem.message


def test_key_and_version_from_arguments_when_tags_are_missing(small, rows):
    rows[1][ANNOTATION] = rows[1][ANNOTATION].replace("@IEMDP-KEY=mini-test ", "")
    rows[1][ANNOTATION] = rows[1][ANNOTATION].replace("@IEMDP-VERSION=0.3.0 ", "")
    text = csv_of(rows)
    assert from_redcap_csv(text, key="mini-test", version="0.3.0") == small
    assert sorted(keys_of(text)) == [
        f"row 3: {ANNOTATION}: @IEMDP-KEY",
        f"row 3: {ANNOTATION}: @IEMDP-VERSION",
    ]


# --------------------------------------------------------------------------------------
# the exported dictionary
# --------------------------------------------------------------------------------------
def test_columns_are_redcaps_eighteen(real: InstrumentDefinition):
    header = next(csv.reader(io.StringIO(to_redcap_csv(real))))
    assert tuple(header) == REDCAP_COLUMNS
    assert len(REDCAP_COLUMNS) == 18


def test_one_radio_row_per_item_and_check(real: InstrumentDefinition):
    rows = rows_of(to_redcap_csv(real))
    assert [row[NAME] for row in rows[:2]] == ["record_id", "instrument_info"]
    assert [row[TYPE] for row in rows[:2]] == ["text", "descriptive"]
    entries = rows[2:]
    assert len(entries) == 72 + 2
    assert {row[TYPE] for row in entries} == {"radio"}
    assert {row[FORM] for row in rows} == {"iemdp"}
    expected = [e.id.lower() for page in real.pages() for e in page.entries]
    assert [row[NAME] for row in entries] == expected


def test_choices_required_and_section_headers(real: InstrumentDefinition):
    rows = rows_of(to_redcap_csv(real))
    first = rows[2]
    assert first[CHOICES] == (
        "1, Strongly disagree | 2, Disagree | 3, Neither agree nor disagree | "
        "4, Agree | 5, Strongly agree"
    )
    assert first[LABEL] == "I expect messaging with my therapist to help me feel better."
    assert {row[REQUIRED] for row in rows[2:]} == {"y"}
    headers = [row[SECTION] for row in rows if row[SECTION]]
    assert headers == [construct.name for construct in real.constructs]
    assert rows[1][LABEL] == real.intro


def test_optional_items_are_not_required(rows):
    assert rows[row_number(rows, "aa_x_4") - 2][REQUIRED] == ""
    assert rows[row_number(rows, "aa_x_3") - 2][REQUIRED] == "y"


def test_annotations(rows):
    first = rows[row_number(rows, "aa_x_1") - 2][ANNOTATION]
    # Annotations start with "@", so the CSV writer escapes them (instruments.csv_cells).
    assert first == (
        "'@IEMDP-CONSTRUCT=AA @IEMDP-DOMAIN=intrapsychic @IEMDP-CONSTRUCT-DESC=\"The first "
        'construct." @IEMDP-SUB=AA_X @IEMDP-SUB-NAME=Ex @IEMDP-SUB-DESC="X facet." '
        "@IEMDP-SUB-REVERSE=0 @IEMDP-REVERSE=0 @IEMDP-SCALE=agree5"
    )
    assert rows[row_number(rows, "aa_x_3") - 2][ANNOTATION] == (
        "'@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=agree5"
    )
    check = rows[row_number(rows, "attn_b") - 2][ANNOTATION]
    assert "@IEMDP-CHECK=2 @IEMDP-SCALE=often3 @IEMDP-ID=attn_b" in check
    info = rows[1][ANNOTATION]
    assert '@IEMDP-TITLE="Mini instrument – für Tests “quoted”"' in info
    assert "@IEMDP-SHUFFLE=1" in info and "@IEMDP-CHECK-ORDER=attn_b,ATTN_A" in info


def test_export_refuses_what_redcap_cannot_hold(small_mapping, make):
    small_mapping["response_scales"]["unused"][0]["label"] = "No | never"
    with pytest.raises(ValueError, match="contains '|'"):
        to_redcap_csv(make(small_mapping))
    small_mapping["response_scales"]["unused"][0]["label"] = "No"
    small_mapping["attention_checks"][1]["id"] = "Attn_b"
    with pytest.raises(ValueError, match="'attn_b' would name two fields"):
        to_redcap_csv(make(small_mapping))


# --------------------------------------------------------------------------------------
# rejections: the file
# --------------------------------------------------------------------------------------
def test_too_large_is_one_problem_before_parsing():
    data = b"x" * (MAX_CSV_BYTES + 1)
    (problem,) = problems_of(data)
    assert problem.key == ""
    assert "larger than 2 MB" in problem.message
    assert problems_of(data.decode())[0].message == problem.message


def test_not_utf8(small: InstrumentDefinition):
    data = to_redcap_csv(small).replace("für", "fxr").encode("utf-8").replace(b"fxr", b"f\xfcr")
    (problem,) = problems_of(data)
    assert problem.key == ""
    assert "not valid UTF-8 (byte 0xfc at offset" in problem.message
    assert "CSV UTF-8" in problem.message


def test_empty_and_header_only():
    assert problems_of("")[0].message.startswith("file is empty")
    assert problems_of(csv_of([]))[0].message.startswith("no fields")


def test_csv_syntax_error(small: InstrumentDefinition):
    text = to_redcap_csv(small).replace("aa_x_1,", '"aa_x_1"x,', 1)
    (problem,) = problems_of(text)
    assert problem.key.startswith("line ")
    assert "CSV syntax error" in problem.message


def test_missing_and_unknown_columns(rows):
    columns = [c for c in REDCAP_COLUMNS if c not in (TYPE, CHOICES)] + ["Colour"]
    text = csv_of([{c: row.get(c, "") for c in columns} for row in rows], columns)
    assert keys_of(text) == ["row 1: Colour", f"row 1: {TYPE}", f"row 1: {CHOICES}"]
    problems = problems_of(text)
    assert problems[0].message.startswith("unknown column")
    assert problems[1].message == "required column missing"


def test_repeated_column(rows):
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([*REDCAP_COLUMNS, NAME])
    writer.writerows([*row.values(), row[NAME]] for row in rows)
    text = out.getvalue()
    (problem,) = problems_of(text)
    assert (problem.key, problem.message) == (f"row 1: {NAME}", "column given twice")


def test_optional_standard_columns_may_be_left_out(small: InstrumentDefinition, rows):
    columns = ["Variable / Field Name", "Form Name", "Section Header", "Field Type"]
    columns += ["Field Label", "Choices, Calculations, OR Slider Labels", "Required Field?"]
    columns += ["Field Annotation"]
    text = csv_of([{c: row[c] for c in columns} for row in rows], columns)
    assert from_redcap_csv(text) == small


# --------------------------------------------------------------------------------------
# rejections: rows
# --------------------------------------------------------------------------------------
def test_unknown_field_type(edit, rows):
    text = edit("aa_x_2", type="radiobutton")
    (problem,) = problems_of(text)
    assert problem.key == f"row {row_number(rows, 'aa_x_2')}: {TYPE}"
    assert "unknown field type 'radiobutton'" in problem.message


@pytest.mark.parametrize("field_type", ["dropdown", "checkbox", "text", "notes", "slider"])
def test_unsupported_field_type(edit, rows, field_type: str):
    (problem,) = problems_of(edit("aa_x_2", type=field_type))
    assert problem.key == f"row {row_number(rows, 'aa_x_2')}: {TYPE}"
    assert f"field type {field_type!r} is not supported" in problem.message


@pytest.mark.parametrize(
    ("choices", "message"),
    [
        ("", "a radio field needs choices"),
        ("1 Strongly disagree | 2, Disagree", "has no comma"),
        ("one, Strongly disagree | 2, Disagree", "'one' is not a whole number"),
        ("1.5, Half | 2, Disagree", "'1.5' is not a whole number"),
        ("1, | 2, Disagree", "choice 1 has no label"),
        ("1, Strongly disagree | 2, Disagree", "differ from response scale 'agree5'"),
    ],
)
def test_malformed_choices(edit, rows, choices: str, message: str):
    (problem,) = problems_of(edit("aa_x_2", choices=choices))
    assert problem.key == f"row {row_number(rows, 'aa_x_2')}: {CHOICES}"
    assert message in problem.message


def test_duplicate_field_names(edit, rows):
    line = row_number(rows, "aa_x_2")
    (problem,) = problems_of(edit("aa_x_2", name="aa_x_1"))
    assert problem.key == f"row {line}: {NAME}"
    assert "duplicate field 'aa_x_1' (first at row 4)" in problem.message


def test_invalid_field_names(edit, rows):
    line = row_number(rows, "aa_x_2")
    problems = problems_of(edit("aa_x_2", name="AA X 2"))
    assert [p.key for p in problems] == [f"row {line}: {NAME}"]
    assert "is not a REDCap field name" in problems[0].message


def test_several_forms(edit, rows):
    (problem,) = problems_of(edit("bb_z_1", form="other_form"))
    assert problem.key == f"row {row_number(rows, 'bb_z_1')}: {FORM}"
    assert "an instrument is one form" in problem.message


def test_content_in_unsupported_columns(edit, rows):
    (problem,) = problems_of(edit("aa_x_2", branching="[aa_x_1] = '1'"))
    assert problem.key == f"row {row_number(rows, 'aa_x_2')}: {BRANCHING}"
    assert "it would be lost" in problem.message


def test_required_field_values(edit, rows):
    (problem,) = problems_of(edit("aa_x_2", required="maybe"))
    assert problem.key == f"row {row_number(rows, 'aa_x_2')}: {REQUIRED}"


def test_no_instrument_row(rows):
    del rows[1]
    problems = problems_of(csv_of(rows))
    assert [p.key for p in problems] == [""]
    assert "no instrument row" in problems[0].message


def test_second_descriptive_row(edit, rows):
    (problem,) = problems_of(edit("aa_x_2", type="descriptive"))
    assert problem.key == f"row {row_number(rows, 'aa_x_2')}: {TYPE}"
    assert "a second descriptive field" in problem.message


def test_items_of_a_subconstruct_must_be_consecutive(rows):
    # aa_x_1 aa_x_2 attn_a aa_y_1 aa_x_4 aa_x_3 aa_y_2 aa_y_3: AA_X resumes at row 8,
    # AA_Y at row 10
    rows[5], rows[7] = rows[7], rows[5]
    problems = problems_of(csv_of(rows))
    assert [p.key for p in problems] == [
        f"row 8: {ANNOTATION}: @IEMDP-SUB",
        f"row 10: {ANNOTATION}: @IEMDP-SUB",
    ], [str(p) for p in problems]
    assert (
        "items of subconstruct AA_X must be in consecutive rows of one page (it starts at row 4)"
    ) in problems[0].message


def test_first_item_needs_a_page(rows):
    for column in (SECTION, ANNOTATION):
        rows[2][column] = rows[2][column] if column == ANNOTATION else ""
    rows[2][ANNOTATION] = rows[2][ANNOTATION].split(" @IEMDP-SUB=")[1]
    rows[2][ANNOTATION] = "@IEMDP-SUB=" + rows[2][ANNOTATION]
    keys = keys_of(csv_of(rows))
    assert f"row 4: {SECTION}" in keys


# --------------------------------------------------------------------------------------
# rejections: annotation tags
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("annotation", "tag", "message"),
    [
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=agree5 @IEMDP-COLOUR=red", "COLOUR",
         "unknown tag"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=yes @IEMDP-SCALE=agree5", "REVERSE", "must be 0 or 1"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE @IEMDP-SCALE=agree5", "REVERSE", "needs a value"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=\"agree5", "SCALE",
         "malformed quoted value"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=\"agree5\"x", "SCALE",
         "put a space after"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-REVERSE=0 @IEMDP-SCALE=agree5", "REVERSE",
         "tag given twice"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=agree5 @IEMDP-TITLE=x", "TITLE",
         "belongs on the instrument row"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=agree5 @IEMDP-SUB-NAME=X", "SUB-NAME",
         "only on the first row of subconstruct AA_X"),
        ("@IEMDP-SUB=AA_X @IEMDP-SCALE=agree5", "REVERSE", "required on every item row"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1", "SCALE", "required on every item"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=agree5 @IEMDP-POSITION=3", "POSITION",
         "belongs on attention-check rows"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=agree5 @IEMDP-DOMAIN=x", "DOMAIN",
         "belongs on the first row of a page"),
        ("@IEMDP-SUB=AA_X @IEMDP-REVERSE=1 @IEMDP-SCALE=[1]", "SCALE", "must be a text"),
    ],
)  # fmt: skip
def test_bad_tags(edit, rows, annotation: str, tag: str, message: str):
    problems = problems_of(edit("aa_x_3", annotation=annotation))
    key = f"row {row_number(rows, 'aa_x_3')}: {ANNOTATION}: @IEMDP-{tag}"
    assert [p.key for p in problems] == [key], [str(p) for p in problems]
    assert message in problems[0].message


def test_bad_instrument_row_tags(rows):
    info = rows[1][ANNOTATION]
    rows[1][ANNOTATION] = (
        info.replace("@IEMDP-SHUFFLE=1", "@IEMDP-SHUFFLE=2")
        .replace('"unused": "-1, No | 1, Yes"', '"unused": "-1 No"')
        .replace("@IEMDP-CHECK-ORDER=attn_b,ATTN_A", "@IEMDP-CHECK-ORDER=attn_b")
    )
    rows[1][ANNOTATION] = rows[1][ANNOTATION].replace("@IEMDP-TITLE=", "@IEMDP-TITEL=")
    problems = problems_of(csv_of(rows))
    where = f"row 3: {ANNOTATION}: @IEMDP-"
    assert sorted(p.key for p in problems) == sorted(
        [
            where + "TITEL",
            where + "SHUFFLE",
            where + "SCALES",
            where + "TITLE",
            where + "CHECK-ORDER",
        ]
    ), [str(p) for p in problems]


def test_every_problem_is_reported_at_once(edit, rows):
    edit("aa_x_2", type="dropdown")
    edit("aa_y_2", choices="1 Strongly disagree")
    text = edit("bb_z_3", annotation="@IEMDP-SUB=BB_Z @IEMDP-REVERSE=2 @IEMDP-SCALE=often3")
    assert keys_of(text) == [
        f"row {row_number(rows, 'aa_x_2')}: {TYPE}",
        f"row {row_number(rows, 'aa_y_2')}: {CHOICES}",
        f"row {row_number(rows, 'bb_z_3')}: {ANNOTATION}: @IEMDP-REVERSE",
    ]


# --------------------------------------------------------------------------------------
# rejections: what the loader finds, located at its row
# --------------------------------------------------------------------------------------
def test_loader_problems_point_at_rows_and_columns(edit, rows):
    edit("aa_x_2", label="  ")
    edit("aa_y_1", name="aa_x_9")  # id not of its subconstruct
    text = edit("attn_b", annotation=rows[row_number(rows, "attn_b") - 2][ANNOTATION].replace(
        "@IEMDP-CHECK=2", "@IEMDP-CHECK=7"))  # fmt: skip
    problems = problems_of(text)
    assert [p.key for p in problems] == [
        f"row {row_number(rows, 'aa_x_2')}: {LABEL}",
        f"row {row_number(rows, 'aa_x_9')}: {NAME}",
        f"row {row_number(rows, 'attn_b')}: {ANNOTATION}: @IEMDP-CHECK",
    ], [str(p) for p in problems]
    assert problems[0].message == "must not be empty"
    assert "must be AA_Y_<n>" in problems[1].message
    assert "7 is not a value of scale 'often3'" in problems[2].message
    assert all(p.file == "up.csv" for p in problems)


def test_too_few_items_in_a_subconstruct(rows):
    del rows[row_number(rows, "bb_z_2") - 2]
    (problem,) = problems_of(csv_of(rows))
    assert problem.key == f"row {row_number(rows, 'bb_z_1')}: {ANNOTATION}: @IEMDP-SUB"
    assert "a subconstruct needs at least 3" in problem.message


def test_extra_cells_past_the_header(rows):
    text = csv_of(rows).replace("\r\naa_x_2,", "\r\naa_x_2,", 1)
    lines = text.split("\r\n")
    index = next(i for i, line in enumerate(lines) if line.startswith("aa_x_2,"))
    lines[index] += ",surprise"
    (problem,) = problems_of("\r\n".join(lines))
    assert problem.key == f"row {row_number(rows, 'aa_x_2')}"
    assert "more than the header's 18" in problem.message


def test_instrument_row_problems_found_by_the_loader(rows):
    rows[1][ANNOTATION] = rows[1][ANNOTATION].replace("@IEMDP-FORMAT=1", "@IEMDP-FORMAT=2")
    rows[1][LABEL] = " "
    problems = problems_of(csv_of(rows))
    assert [p.key for p in problems] == [
        f"row 3: {LABEL}",
        f"row 3: {ANNOTATION}: @IEMDP-FORMAT",
    ], [str(p) for p in problems]
    assert problems[1].message.startswith("unsupported format 2")


def test_instrument_row_cells_must_be_empty(edit, rows):
    (problem,) = problems_of(edit("instrument_info", section="Intro"))
    assert problem.key == f"row 3: {SECTION}"


# --------------------------------------------------------------------------------------
# page titles and safety items
# --------------------------------------------------------------------------------------
@pytest.fixture
def mood_rows(mood_screener: InstrumentDefinition) -> list[dict[str, str]]:
    return rows_of(to_redcap_csv(mood_screener))


def annotation_of(rows: list[dict[str, str]], name: str) -> str:
    return rows[row_number(rows, name) - 2][ANNOTATION]


def test_page_titles_and_safety_thresholds_round_trip(mood_screener: InstrumentDefinition):
    again = from_redcap_csv(to_redcap_csv(mood_screener))
    assert again == mood_screener
    assert again.content_hash == mood_screener.content_hash


def test_the_titled_iemdp_round_trips():
    titled = load_instrument(instrument_path("iemdp", "1.1.0"))
    again = from_redcap_csv(to_redcap_csv(titled))
    assert again == titled and again.content_hash == titled.content_hash


def test_safety_and_page_title_tags(mood_rows, real: InstrumentDefinition):
    assert "@IEMDP-SAFETY=1 " in annotation_of(mood_rows, "md_low_4")
    assert '@IEMDP-PAGE-TITLE="How you have been feeling" ' in annotation_of(mood_rows, "md_low_1")
    # the section header stays the construct's name, as before page titles existed
    assert mood_rows[row_number(mood_rows, "md_low_1") - 2][SECTION] == "Mood"
    tagged = [row[NAME] for row in mood_rows if "@IEMDP-SAFETY" in row[ANNOTATION]]
    assert tagged == ["md_low_4"]
    untitled = to_redcap_csv(real)
    assert "@IEMDP-SAFETY" not in untitled and "@IEMDP-PAGE-TITLE" not in untitled


def test_adding_a_safety_tag_makes_a_safety_item(mood_rows):
    row = mood_rows[row_number(mood_rows, "en_low_1") - 2]
    row[ANNOTATION] = row[ANNOTATION].replace(
        "@IEMDP-REVERSE=0", "@IEMDP-REVERSE=0 @IEMDP-SAFETY=2"
    )
    row = mood_rows[row_number(mood_rows, "md_low_4") - 2]
    row[ANNOTATION] = row[ANNOTATION].replace(" @IEMDP-SAFETY=1", "")
    again = from_redcap_csv(csv_of(mood_rows))
    assert [(item.id, item.safety_threshold) for item in again.safety_items] == [("EN_LOW_1", 2)]


def test_removing_the_page_title_tag_falls_back_to_the_construct_name(mood_rows):
    row = mood_rows[row_number(mood_rows, "md_low_1") - 2]
    row[ANNOTATION] = row[ANNOTATION].replace('@IEMDP-PAGE-TITLE="How you have been feeling" ', "")
    again = from_redcap_csv(csv_of(mood_rows))
    assert again.construct("MD").page_title is None
    assert again.pages()[0].title == "Mood"


@pytest.mark.parametrize(
    ("field_name", "old", "new", "tag", "message"),
    [
        ("md_low_4", "@IEMDP-SAFETY=1", "@IEMDP-SAFETY=7", "SAFETY",
         "7 is not a value of scale 'often4' (0, 1, 2, 3) of item MD_LOW_4"),
        ("md_low_4", "@IEMDP-SAFETY=1", "@IEMDP-SAFETY=0", "SAFETY",
         "0 is the lowest value of scale 'often4'"),
        ("md_low_4", "@IEMDP-SAFETY=1", "@IEMDP-SAFETY=high", "SAFETY",
         "must be a whole number, got 'high'"),
        ("attn_1", "@IEMDP-CHECK=2", "@IEMDP-CHECK=2 @IEMDP-SAFETY=2", "SAFETY",
         "belongs on item rows, not on this row"),
        ("md_low_2", "@IEMDP-SUB=MD_LOW", '@IEMDP-PAGE-TITLE="x" @IEMDP-SUB=MD_LOW', "PAGE-TITLE",
         "belongs on the first row of a page"),
        ("md_low_1", '@IEMDP-PAGE-TITLE="How you have been feeling"', '@IEMDP-PAGE-TITLE=""',
         "PAGE-TITLE", "must be a text"),
    ],
)  # fmt: skip
def test_bad_safety_and_page_title_tags(mood_rows, field_name, old, new, tag, message):
    row = mood_rows[row_number(mood_rows, field_name) - 2]
    assert old in row[ANNOTATION]
    row[ANNOTATION] = row[ANNOTATION].replace(old, new)
    problems = problems_of(csv_of(mood_rows))
    key = f"row {row_number(mood_rows, field_name)}: {ANNOTATION}: @IEMDP-{tag}"
    assert [p.key for p in problems] == [key], [str(p) for p in problems]
    assert message in problems[0].message
