"""Fixtures for the serialize, diff, versioning and REDCap tests.

``small_mapping`` is a constructed instrument that exercises what the real file does not:
two response scales (one of them unused), an optional item, a subconstruct with four
items, a reverse-oriented subconstruct, attention checks listed out of page order (one
first on its page, one with a lower-case id), unicode, quotes and a multi-line intro.
``make`` turns a (modified) mapping into a definition.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from instruments.definition import InstrumentDefinition
from instruments.loader import (
    instrument_path,
    load_instrument,
    load_instrument_text,
    parse_definition,
)

_SMALL: dict[str, Any] = {
    "format": 1,
    "key": "mini-test",
    "version": "0.3.0",
    "title": "Mini instrument – für Tests “quoted”",
    "citation": "Doe J. A: B # not a comment. 2024.",
    "intro": "First line: with a colon.\n\n  Indented second paragraph — ünïcode 😀.\nLast.",
    "shuffle_items": True,
    "response_scales": {
        "agree5": [
            {"value": 1, "label": "Strongly disagree"},
            {"value": 2, "label": "Disagree"},
            {"value": 3, "label": "Neither agree nor disagree"},
            {"value": 4, "label": "Agree"},
            {"value": 5, "label": "Strongly agree"},
        ],
        "often3": [
            {"value": 0, "label": "Never"},
            {"value": 1, "label": "Sometimes, or often"},
            {"value": 2, "label": "Always"},
        ],
        "unused": [
            {"value": -1, "label": "No"},
            {"value": 1, "label": "Yes"},
        ],
    },
    "constructs": [
        {
            "code": "AA",
            "name": "Alpha",
            "domain": "intrapsychic",
            "description": "The first construct.",
            "subconstructs": [
                {
                    "code": "AA_X",
                    "name": "Ex",
                    "description": "X facet.",
                    "reverse": False,
                    "items": [
                        {"id": "AA_X_1", "text": "I feel calm when I write.", "reverse": False,
                         "scale": "agree5"},
                        {"id": "AA_X_2", "text": 'I say "yes" to: messages # often.',
                         "reverse": False, "scale": "agree5"},
                        {"id": "AA_X_3", "text": "I rarely feel understood by anyone.",
                         "reverse": True, "scale": "agree5"},
                        {"id": "AA_X_4", "text": "Ich schreibe gern – täglich.", "reverse": False,
                         "scale": "agree5", "optional": True},
                    ],
                },
                {
                    "code": "AA_Y",
                    "name": "Why",
                    "description": "Y facet.",
                    "reverse": True,
                    "items": [
                        {"id": "AA_Y_1", "text": "yes", "reverse": False, "scale": "agree5"},
                        {"id": "AA_Y_2", "text": "I skip replies when I am busy.",
                         "reverse": False, "scale": "agree5"},
                        {"id": "AA_Y_3", "text": "I reply to every message I get.",
                         "reverse": True, "scale": "agree5"},
                    ],
                },
            ],
        },
        {
            "code": "BB",
            "name": "Beta",
            "domain": "external",
            "description": "The second construct.",
            "subconstructs": [
                {
                    "code": "BB_Z",
                    "name": "Zed",
                    "description": "Z facet.",
                    "reverse": False,
                    "items": [
                        {"id": "BB_Z_1", "text": "Friends encourage my therapy.",
                         "reverse": False, "scale": "often3"},
                        {"id": "BB_Z_2", "text": "My family asks how therapy is going.",
                         "reverse": False, "scale": "often3"},
                        {"id": "BB_Z_3", "text": "People around me dislike my therapy.",
                         "reverse": True, "scale": "often3"},
                    ],
                },
            ],
        },
    ],
    "attention_checks": [
        {"id": "attn_b", "text": "Choose 'Always'.", "scale": "often3", "expected": 2,
         "page": "BB", "position": 0},
        {"id": "ATTN_A", "text": "To show you are reading, choose 'Disagree'.",
         "scale": "agree5", "expected": 2, "page": "AA", "position": 2},
    ],
}  # fmt: skip


@pytest.fixture
def small_mapping() -> dict[str, Any]:
    """A fresh, mutable copy of the constructed small instrument."""
    return copy.deepcopy(_SMALL)


@pytest.fixture
def make() -> Callable[[dict[str, Any]], InstrumentDefinition]:
    """Parse a mapping into a definition (raises on any problem)."""

    def parse(mapping: dict[str, Any]) -> InstrumentDefinition:
        return parse_definition(mapping, "test")

    return parse


@pytest.fixture
def small(small_mapping: dict[str, Any]) -> InstrumentDefinition:
    return parse_definition(small_mapping, "test")


@pytest.fixture(scope="session")
def real() -> InstrumentDefinition:
    return load_instrument(instrument_path("iemdp", "1.0.0"))


MOOD_SCREENER = (
    Path(__file__).resolve().parents[1] / "fixtures" / "instruments" / "mood_screener.yaml"
)


@pytest.fixture(scope="session")
def mood_screener() -> InstrumentDefinition:
    """The fixture instrument with a safety item (``tests/fixtures/instruments``)."""
    return load_instrument_text(MOOD_SCREENER.read_text(encoding="utf-8"), MOOD_SCREENER.name)


@pytest.fixture
def mood_mapping(mood_screener: InstrumentDefinition) -> dict[str, Any]:
    """A fresh, mutable copy of the mood screener's normalised mapping."""
    return copy.deepcopy(mood_screener.source)
