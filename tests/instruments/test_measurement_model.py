"""Tests for instruments.measurement_model."""

from __future__ import annotations

import copy
import re
from collections import Counter

import pytest
import yaml

from instruments.definition import InstrumentDefinition
from instruments.loader import instrument_path, load_instrument, parse_definition
from instruments.measurement_model import MeasurementModel, measurement_model

# A line of the generated syntax: `lhs =~ term + term`, each term `[number*]name`.
LINE = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*) =~ (.+)$")
TERM = re.compile(r"^(?:(-?\d+)\*)?([A-Za-z_][A-Za-z0-9_]*)$")


@pytest.fixture(scope="module")
def iemdp() -> InstrumentDefinition:
    return load_instrument(instrument_path("iemdp", "1.0.0"))


@pytest.fixture(scope="module")
def model(iemdp) -> MeasurementModel:
    return measurement_model(iemdp)


def parse(syntax: str) -> dict[str, list[tuple[int | None, str]]]:
    """factor -> [(fixed value or None, indicator)], refusing anything but =~ and comments."""
    factors: dict[str, list[tuple[int | None, str]]] = {}
    for line in syntax.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = LINE.match(line)
        assert match, f"unexpected line: {line!r}"
        terms = []
        for term in match.group(2).split(" + "):
            parts = TERM.match(term)
            assert parts, f"unexpected term {term!r} in {line!r}"
            fixed = parts.group(1)
            terms.append((None if fixed is None else int(fixed), parts.group(2)))
        assert match.group(1) not in factors, f"factor defined twice: {match.group(1)}"
        factors[match.group(1)] = terms
    return factors


def test_first_order_lines_one_per_subconstruct(iemdp, model):
    factors = parse(model.syntax)
    subcodes = [sub.code for sub in iemdp.subconstructs]
    assert len(subcodes) == 24
    for sub in iemdp.subconstructs:
        assert factors[sub.code] == [(None, item.id) for item in sub.items]
    assert "OE_BEN =~ OE_BEN_1 + OE_BEN_2 + OE_BEN_3" in model.syntax.splitlines()


def test_second_order_lines_one_per_construct(iemdp, model):
    factors = parse(model.syntax)
    assert len(factors) == 24 + 10
    for construct in iemdp.constructs:
        indicators = [name for _, name in factors[construct.code]]
        assert indicators == [sub.code for sub in construct.subconstructs]
    assert model.second_order["UT"] == ("UT_SEL", "UT_LAP", "UT_RES")
    assert model.first_order["SS_STIG"] == ("SS_STIG_1", "SS_STIG_2", "SS_STIG_3")


def test_every_item_appears_exactly_once(iemdp, model):
    factors = parse(model.syntax)
    indicators = Counter(name for terms in factors.values() for _, name in terms)
    item_ids = {item.id for item in iemdp.items}
    assert {name: n for name, n in indicators.items() if name in item_ids} == dict.fromkeys(
        item_ids, 1
    )
    # and every subconstruct factor is an indicator exactly once (of its construct)
    assert all(indicators[sub.code] == 1 for sub in iemdp.subconstructs)
    assert not any(check.id in indicators for check in iemdp.attention_checks)


def test_two_indicator_constructs_have_their_loadings_constrained(iemdp, model):
    factors = parse(model.syntax)
    two = [c for c in iemdp.constructs if len(c.subconstructs) == 2]
    assert {c.code for c in two} == {"OE", "RP", "RR", "TR", "TC", "SS"}
    for construct in two:
        terms = factors[construct.code]
        # both fixed, equal in size, the sign saying whether the subconstruct is reversed
        assert [abs(fixed) for fixed, _ in terms] == [1, 1]
        for (fixed, name), sub in zip(terms, construct.subconstructs, strict=True):
            assert fixed == (-1 if sub.reverse else 1), name
    assert "OE =~ 1*OE_BEN + 1*OE_MOD" in model.syntax.splitlines()
    assert "TC =~ -1*TC_FIN + 1*TC_TIME" in model.syntax.splitlines()
    assert "SS =~ 1*SS_ENC + -1*SS_STIG" in model.syntax.splitlines()


def test_three_indicator_constructs_have_a_marker_and_free_loadings(iemdp, model):
    factors = parse(model.syntax)
    for construct in (c for c in iemdp.constructs if len(c.subconstructs) == 3):
        terms = factors[construct.code]
        assert terms[0][0] == (-1 if construct.subconstructs[0].reverse else 1)
        assert [fixed for fixed, _ in terms[1:]] == [None, None]


def test_notes_explain_identification(iemdp, model):
    assert isinstance(model.notes, list) and all(isinstance(n, str) for n in model.notes)
    text = " ".join(model.notes)
    assert "reverse-keyed" in text
    for code in ("OE", "RP", "RR", "TR", "TC", "SS"):
        (note,) = [n for n in model.notes if n.startswith(f"{code} has two subconstructs")]
        assert "not identified on its own" in note
    (tc,) = [n for n in model.notes if n.startswith("TC has")]
    assert "TC_FIN is fixed to -1" in tc
    (ut,) = [n for n in model.notes if n.startswith("UT has")]
    assert "UT_LAP is reverse-oriented" in ut


def test_reverse_keyed_items(iemdp, model):
    assert model.reverse_keyed_items == tuple(i.id for i in iemdp.items if i.reverse)
    assert len(model.reverse_keyed_items) == 24
    assert "OE_BEN_3" in model.reverse_keyed_items and "OE_BEN_1" not in model.reverse_keyed_items


def test_first_order_only(iemdp):
    model = measurement_model(iemdp, second_order=False)
    factors = parse(model.syntax)
    assert list(factors) == [sub.code for sub in iemdp.subconstructs]
    assert model.second_order == {}
    assert "first-order factors covary freely" in " ".join(model.notes)


def test_syntax_uses_only_supported_operators(model):
    body = "\n".join(line for line in model.syntax.splitlines() if not line.startswith("#"))
    assert body.count("=~") == 34
    rest = body.replace("=~", "")
    for operator in ("~", ":=", "==", "<", ">", "|", "NA*", ";"):
        assert operator not in rest
    assert model.syntax.endswith("\n")


def test_syntax_header_names_the_instrument_version_and_hash(iemdp, model):
    first = model.syntax.splitlines()[0]
    assert first.startswith("# Measurement model of instrument iemdp 1.0.0")
    assert iemdp.content_hash[:12] in first


def test_to_dict(model):
    as_dict = model.to_dict()
    assert as_dict["syntax"] == model.syntax
    assert as_dict["second_order"]["OE"] == ["OE_BEN", "OE_MOD"]
    assert len(as_dict["reverse_keyed_items"]) == 24


def test_single_subconstruct_construct_gets_no_second_order_factor():
    raw = yaml.safe_load(instrument_path("iemdp", "1.0.0").read_text(encoding="utf-8"))
    mapping = copy.deepcopy(raw)
    del mapping["constructs"][1]["subconstructs"][1:]  # SE keeps only SE_ACT
    mapping["attention_checks"][0]["position"] = 1  # SE's page is shorter now
    model = measurement_model(parse_definition(mapping, "one.yaml"))
    factors = parse(model.syntax)
    assert "SE" not in factors and "SE_ACT" in factors
    assert any(n.startswith("SE has a single subconstruct") for n in model.notes)


def test_reverse_oriented_marker_of_a_three_indicator_construct_is_fixed_negative():
    raw = yaml.safe_load(instrument_path("iemdp", "1.0.0").read_text(encoding="utf-8"))
    mapping = copy.deepcopy(raw)
    ut = mapping["constructs"][4]["subconstructs"]
    ut.insert(0, ut.pop(1))  # UT_LAP first
    factors = parse(measurement_model(parse_definition(mapping, "lap.yaml")).syntax)
    assert factors["UT"] == [(-1, "UT_LAP"), (None, "UT_SEL"), (None, "UT_RES")]


def test_the_psychometrics_parser_reads_the_syntax(model):
    syntax = pytest.importorskip("psychometrics.syntax")
    parsed = syntax.parse_model(model.syntax)
    assert len(parsed.observed) == 72
    assert set(parsed.latent) == set(model.first_order) | set(model.second_order)
