"""Tests for instruments.serialize: lossless YAML round trips and the file layout."""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import pytest
import yaml

from instruments import serialize
from instruments.definition import InstrumentDefinition
from instruments.loader import instrument_path, load_instrument, load_instrument_text, to_mapping
from instruments.serialize import to_yaml


def round_trip(definition: InstrumentDefinition) -> InstrumentDefinition:
    return load_instrument_text(to_yaml(definition), "written.yaml")


def test_docstring_examples():
    result = doctest.testmod(serialize, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------
# lossless
# --------------------------------------------------------------------------------------
def test_real_instrument_round_trips_losslessly(real: InstrumentDefinition):
    again = round_trip(real)
    assert again == real
    assert again.content_hash == real.content_hash
    assert again.source == real.source


def test_small_instrument_round_trips_losslessly(small: InstrumentDefinition):
    again = round_trip(small)
    assert again == small
    assert again.content_hash == small.content_hash


def test_writing_is_stable(small: InstrumentDefinition):
    assert to_yaml(round_trip(small)) == to_yaml(small)


@pytest.mark.parametrize(
    "text",
    [
        "yes",
        "No",
        "null",
        "123",
        "1.0",
        "- starts like a list",
        "# starts like a comment",
        "key: value",
        "ends with a colon:",
        "'single' and \"double\" quotes",
        "back\\slash",
        "tab\there",
        "emoji 😀 and ünïcödé and ‘curly’",
        "line one\n\nline three",
        "trailing spaces  \nnext line",
        "  \u00a0non-breaking",
        "%percent and @at and `backtick`",
        "{braces} [brackets], commas",
        "line\u2028separator",
    ],
)
def test_tricky_texts_survive(small_mapping: dict[str, Any], make, text: str):
    construct = small_mapping["constructs"][0]
    construct["subconstructs"][0]["items"][0]["text"] = text
    construct["name"] = text
    construct["description"] = text
    small_mapping["title"] = text
    small_mapping["response_scales"]["often3"][1]["label"] = text
    definition = make(small_mapping)
    again = round_trip(definition)
    assert again == definition
    assert again.content_hash == definition.content_hash


def test_written_file_passes_the_path_checks(tmp_path: Path, small: InstrumentDefinition):
    path = tmp_path / small.key / f"{small.version}.yaml"
    path.parent.mkdir()
    path.write_text(to_yaml(small), encoding="utf-8")
    assert load_instrument(path).content_hash == small.content_hash


# --------------------------------------------------------------------------------------
# layout
# --------------------------------------------------------------------------------------
def test_top_level_keys_are_in_file_order(real: InstrumentDefinition):
    top = [line.split(":")[0] for line in to_yaml(real).splitlines() if line[:1].isalpha()]
    assert top == [
        "format",
        "key",
        "version",
        "title",
        "citation",
        "intro",
        "shuffle_items",
        "response_scales",
        "constructs",
        "attention_checks",
    ]


def test_items_are_one_flow_mapping_per_line_with_quoted_text(real: InstrumentDefinition):
    lines = to_yaml(real).splitlines()
    item_lines = [line for line in lines if line.lstrip().startswith("- {id: ")]
    assert len(item_lines) == len(real.items) + len(real.attention_checks)
    assert (
        "          - {id: OE_BEN_1, text: "
        '"I expect messaging with my therapist to help me feel better.", '
        "reverse: false, scale: agree5}"
    ) in lines
    assert "    - {value: 1, label: Strongly disagree}" in lines


def test_block_structure_and_blank_lines_between_constructs(real: InstrumentDefinition):
    text = to_yaml(real)
    assert "\nconstructs:\n  - code: OE\n    name: Outcome expectancy\n" in text
    assert "\n\n  - code: SE\n" in text
    assert "\n\nresponse_scales:\n" in text and "\n\nattention_checks:\n" in text
    assert "\nintro: |" in text


def test_unicode_is_kept_not_escaped(small: InstrumentDefinition, real: InstrumentDefinition):
    assert "Areán" in to_yaml(real)
    text = to_yaml(small)
    assert "😀" in text and "täglich" in text and "\\u" not in text


def test_defaults_are_left_out_and_set_values_kept(small: InstrumentDefinition):
    text = to_yaml(small)
    assert "type: likert" not in text
    assert "optional: false" not in text
    assert "optional: true" in text  # AA_X_4
    assert text.count("reverse: ") == len(small.items) + len(small.subconstructs)


def test_no_attention_checks_means_no_section(small_mapping: dict[str, Any], make):
    del small_mapping["attention_checks"]
    definition = make(small_mapping)
    text = to_yaml(definition)
    assert "attention_checks" not in text
    assert round_trip(definition) == definition


def test_header_comment(small: InstrumentDefinition):
    assert to_yaml(small).startswith(
        "# Mini instrument – für Tests “quoted”, version 0.3.0.\n# Published versions"
    )
    assert to_yaml(small, header="one\ntwo").startswith("# one\n# two\nformat: 1\n")
    assert to_yaml(small, header="").startswith("format: 1\n")


def test_output_is_what_safe_load_reads_as_the_mapping(small: InstrumentDefinition):
    assert yaml.safe_load(to_yaml(small)) == serialize.to_mapping(small)


# --------------------------------------------------------------------------------------
# to_mapping
# --------------------------------------------------------------------------------------
def test_explicit_mapping_is_the_loaders_normalised_mapping(small: InstrumentDefinition):
    assert serialize.to_mapping(small, explicit=True) == to_mapping(small)
    assert serialize.to_mapping(small, explicit=True) == small.source


def test_mapping_parses_back_to_the_definition(small: InstrumentDefinition, make):
    assert make(serialize.to_mapping(small)) == small


def test_mapping_keeps_a_non_default_type(small: InstrumentDefinition):
    from dataclasses import replace

    item = small.constructs[0].subconstructs[0].items[0]
    sub = replace(
        small.constructs[0].subconstructs[0],
        items=(replace(item, type="other"), *small.constructs[0].subconstructs[0].items[1:]),
    )
    construct = replace(
        small.constructs[0], subconstructs=(sub, *small.constructs[0].subconstructs[1:])
    )
    changed = replace(small, constructs=(construct, *small.constructs[1:]))
    first = serialize.to_mapping(changed)["constructs"][0]["subconstructs"][0]["items"][0]
    assert first["type"] == "other"


# --------------------------------------------------------------------------------------
# page titles and safety items
# --------------------------------------------------------------------------------------
def test_page_titles_and_safety_thresholds_round_trip(mood_screener: InstrumentDefinition):
    again = round_trip(mood_screener)
    assert again == mood_screener
    assert again.content_hash == mood_screener.content_hash
    assert again.entry("MD_LOW_4").safety_threshold == 1
    assert [c.page_title for c in again.constructs] == [
        "How you have been feeling",
        "Your energy and interest in things",
    ]


def test_the_titled_iemdp_round_trips():
    titled = load_instrument(instrument_path("iemdp", "1.1.0"))
    again = round_trip(titled)
    assert again == titled and again.content_hash == titled.content_hash


def test_optional_fields_are_written_where_set_and_only_there(
    mood_screener: InstrumentDefinition, real: InstrumentDefinition
):
    lines = to_yaml(mood_screener).splitlines()
    name = lines.index("    name: Mood")
    assert lines[name + 1] == "    page_title: How you have been feeling"
    safety = [line for line in lines if "safety_threshold" in line]
    assert safety == [
        '          - {id: MD_LOW_4, text: "I have had thoughts of harming myself.", '
        "reverse: false, scale: often4, safety_threshold: 1}"
    ]
    text = to_yaml(real)
    assert "page_title" not in text and "safety_threshold" not in text


def test_explicit_mapping_leaves_unset_optional_fields_out(real: InstrumentDefinition):
    explicit = serialize.to_mapping(real, explicit=True)
    assert explicit == to_mapping(real)
    assert all("page_title" not in construct for construct in explicit["constructs"])
