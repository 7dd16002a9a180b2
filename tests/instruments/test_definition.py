"""Tests for instruments.definition: page titles and safety items (issue 8)."""

from __future__ import annotations

import doctest
import math
from typing import Any

import pytest

from instruments import definition as definition_module
from instruments.definition import InstrumentDefinition
from instruments.loader import instrument_path, load_instrument, parse_definition


def test_docstring_examples():
    result = doctest.testmod(definition_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------
# page titles
# --------------------------------------------------------------------------------------
def test_pages_without_page_title_are_titled_by_the_construct_name(real: InstrumentDefinition):
    pages = real.pages()
    assert [page.title for page in pages] == [c.name for c in real.constructs]
    assert [page.construct_name for page in pages] == [c.name for c in real.constructs]
    assert [page.key for page in pages] == [c.code for c in real.constructs]
    assert all(construct.page_title is None for construct in real.constructs)


def test_pages_use_the_page_title_and_keep_key_and_construct_name():
    titled = load_instrument(instrument_path("iemdp", "1.1.0"))
    rr = next(page for page in titled.pages() if page.key == "RR")
    assert rr.construct_name == "Rupture and repair"
    assert rr.title == titled.construct("RR").page_title != rr.construct_name
    ta = next(page for page in titled.pages() if page.key == "TA")
    assert ta.title == "You and your therapist"
    assert ta.construct_name == "Therapeutic alliance"


def test_a_construct_title_falls_back_to_its_name(small_mapping: dict[str, Any], make):
    small_mapping["constructs"][1]["page_title"] = "People in your life"
    small = make(small_mapping)
    assert [c.title for c in small.constructs] == ["Alpha", "People in your life"]
    assert [p.title for p in small.pages()] == ["Alpha", "People in your life"]
    assert [p.construct_name for p in small.pages()] == ["Alpha", "Beta"]


def test_pages_keep_their_entries_when_titled(real: InstrumentDefinition):
    titled = load_instrument(instrument_path("iemdp", "1.1.0"))
    assert [p.entries for p in titled.pages()] == [p.entries for p in real.pages()]


# --------------------------------------------------------------------------------------
# safety items
# --------------------------------------------------------------------------------------
def test_the_iemdp_has_no_safety_item(real: InstrumentDefinition):
    assert real.safety_items == ()
    assert real.safety_signals({item.id: 5 for item in real.items}) == ()


def test_safety_items_are_the_items_with_a_threshold(mood_screener: InstrumentDefinition):
    assert [item.id for item in mood_screener.safety_items] == ["MD_LOW_4"]
    assert mood_screener.entry("MD_LOW_4").safety_threshold == 1
    assert mood_screener.entry("MD_LOW_1").safety_threshold is None


@pytest.mark.parametrize(
    ("answer", "signal"),
    [(0, False), (1, True), (2, True), (3, True), (None, False), (math.nan, False)],
)
def test_an_answer_at_or_above_the_threshold_is_a_signal(
    mood_screener: InstrumentDefinition, answer, signal: bool
):
    item = mood_screener.entry("MD_LOW_4")
    assert item.is_safety_signal(answer) is signal
    found = mood_screener.safety_signals({"MD_LOW_4": answer})
    assert found == ((item,) if signal else ())


def test_a_missing_answer_is_not_a_signal(mood_screener: InstrumentDefinition):
    assert mood_screener.safety_signals({}) == ()
    assert mood_screener.safety_signals({"MD_LOW_1": 3, "EN_LOW_1": 3, "unknown": 3}) == ()


def test_items_without_a_threshold_never_signal(mood_screener: InstrumentDefinition):
    item = mood_screener.entry("MD_LOW_1")
    assert not item.is_safety_signal(3)


def test_signals_come_in_instrument_order(mood_mapping: dict[str, Any]):
    mood_mapping["constructs"][1]["subconstructs"][0]["items"][1]["safety_threshold"] = 3
    mood_mapping["constructs"][0]["subconstructs"][0]["items"][1]["safety_threshold"] = 2
    screener = parse_definition(mood_mapping, "test")
    assert [i.id for i in screener.safety_items] == ["MD_LOW_2", "MD_LOW_4", "EN_INT_2"]
    answers = {"EN_INT_2": 3, "MD_LOW_4": 1, "MD_LOW_2": 1}
    assert [i.id for i in screener.safety_signals(answers)] == ["MD_LOW_4", "EN_INT_2"]


def test_the_threshold_applies_to_the_raw_answer_of_a_reverse_keyed_item(
    mood_mapping: dict[str, Any],
):
    # The threshold compares the answer as given, before reverse keying (min + max - x would
    # turn the 2 below into a 1): "at or above" is on the scale the participant saw.
    mood_mapping["constructs"][0]["subconstructs"][0]["items"][2]["safety_threshold"] = 2
    screener = parse_definition(mood_mapping, "test")
    assert [i.id for i in screener.safety_signals({"MD_LOW_3": 2})] == ["MD_LOW_3"]
    assert screener.safety_signals({"MD_LOW_3": 1}) == ()
