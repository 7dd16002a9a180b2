"""Tests for instruments.loader: the real file, and every rejection on its own."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from instruments.definition import AttentionCheck, InstrumentDefinition
from instruments.loader import (
    INSTRUMENTS_DIR,
    MAX_FILE_BYTES,
    InstrumentValidationError,
    Problem,
    discover,
    instrument_path,
    load_instrument,
    load_instrument_text,
    parse_definition,
    to_mapping,
    validate_file,
)

REAL_FILE = instrument_path("iemdp", "1.0.0")
ITEM = "constructs[0].subconstructs[0].items[0]"  # OE_BEN_1
CHECK = "attention_checks[0]"  # ATTN_1 on page SE


@pytest.fixture(scope="module")
def real_text() -> str:
    return REAL_FILE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def real_mapping(real_text: str) -> dict[str, Any]:
    return yaml.safe_load(real_text)


@pytest.fixture
def mapping(real_mapping: dict[str, Any]) -> dict[str, Any]:
    """A fresh, mutable copy of the real file's content for each test to break."""
    return copy.deepcopy(real_mapping)


def problems_of(mapping: Any) -> tuple[Problem, ...]:
    with pytest.raises(InstrumentValidationError) as caught:
        parse_definition(mapping, "test.yaml")
    return caught.value.problems


def only_problem(mapping: Any) -> Problem:
    problems = problems_of(mapping)
    assert len(problems) == 1, [str(p) for p in problems]
    return problems[0]


def write(root: Path, relative: str, content: str | bytes) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------
# the real file
# --------------------------------------------------------------------------------------
def test_real_file_loads_with_the_construct_map_counts():
    definition = load_instrument(REAL_FILE)
    assert isinstance(definition, InstrumentDefinition)
    assert (definition.key, definition.version) == ("iemdp", "1.0.0")
    assert len(definition.constructs) == 10
    assert len(definition.subconstructs) == 24
    assert len(definition.items) == 72
    assert [len(c.subconstructs) for c in definition.constructs] == [2, 3, 2, 3, 3, 3, 2, 2, 2, 2]
    assert all(len(sub.items) == 3 for sub in definition.subconstructs)


def test_real_file_codes_match_the_construct_map():
    definition = load_instrument(REAL_FILE)
    assert [c.code for c in definition.constructs] == [
        "OE", "SE", "RP", "IP", "UT", "TA", "RR", "TR", "TC", "SS",
    ]  # fmt: skip
    assert [s.code for s in definition.subconstructs] == [
        "OE_BEN", "OE_MOD", "SE_ACT", "SE_MAIN", "SE_REC", "RP_SYM", "RP_NEED", "IP_INT",
        "IP_ACT", "IP_COP", "UT_SEL", "UT_LAP", "UT_RES", "TA_BOND", "TA_GOAL", "TA_TASK",
        "RR_RUP", "RR_REP", "TR_RESP", "TR_MATCH", "TC_FIN", "TC_TIME", "SS_ENC", "SS_STIG",
    ]  # fmt: skip
    domains = {c.code: c.domain for c in definition.constructs}
    assert {code for code, domain in domains.items() if domain == "external"} == {"TC", "SS"}
    assert {code for code, domain in domains.items() if domain == "interpersonal"} == {
        "TA", "RR", "TR",
    }  # fmt: skip


def test_real_file_item_ids_follow_their_subconstruct():
    definition = load_instrument(REAL_FILE)
    for sub in definition.subconstructs:
        assert [item.id for item in sub.items] == [f"{sub.code}_{n}" for n in (1, 2, 3)]
        assert all(item.subconstruct == sub.code for item in sub.items)
    for construct in definition.constructs:
        assert all(item.construct == construct.code for item in construct.items)


def test_real_file_states_reverse_explicitly_on_every_item(real_text: str):
    raw = yaml.safe_load(real_text)
    raw_items = [
        item
        for construct in raw["constructs"]
        for sub in construct["subconstructs"]
        for item in sub["items"]
    ]
    assert len(raw_items) == 72
    assert all(type(item["reverse"]) is bool for item in raw_items)
    assert all(item["scale"] == "agree5" for item in raw_items)


def test_real_file_has_a_reverse_item_in_every_construct():
    definition = load_instrument(REAL_FILE)
    for construct in definition.constructs:
        assert any(item.reverse for item in construct.items), construct.code
    # and, by design, exactly one per subconstruct
    assert all(sum(i.reverse for i in sub.items) == 1 for sub in definition.subconstructs)


def test_real_file_scale_is_the_five_point_agreement_scale():
    definition = load_instrument(REAL_FILE)
    (scale,) = definition.response_scales
    assert scale.values == (1, 2, 3, 4, 5)
    assert [o.label for o in scale.options] == [
        "Strongly disagree",
        "Disagree",
        "Neither agree nor disagree",
        "Agree",
        "Strongly agree",
    ]
    assert scale.reverse(1) == 5 and scale.reverse(4) == 2


def test_real_file_attention_checks_are_on_different_pages():
    definition = load_instrument(REAL_FILE)
    checks = definition.attention_checks
    assert len(checks) == 2
    assert len({check.page for check in checks}) == 2
    construct_codes = {c.code for c in definition.constructs}
    for check in checks:
        assert check.text == "To show you are reading, choose 'Disagree'."
        assert check.expected == 2
        assert definition.scale(check.scale).options[check.expected - 1].label == "Disagree"
        assert check.page in construct_codes
    item_ids = {item.id for item in definition.items}
    assert not item_ids & {check.id for check in checks}


def test_real_file_places_attention_checks_at_their_positions():
    definition = load_instrument(REAL_FILE)
    pages = {page.key: page for page in definition.pages()}
    for check in definition.attention_checks:
        assert pages[check.page].entries[check.position] == check
    assert sum(isinstance(e, AttentionCheck) for p in pages.values() for e in p.entries) == 2


def test_real_file_metadata():
    definition = load_instrument(REAL_FILE)
    assert definition.shuffle_items is False
    assert "doi:10.2196/41428" in definition.citation
    assert "Zech" in definition.citation and "2023;7:e41428" in definition.citation
    assert "15 minutes" in definition.intro
    assert "no right or wrong answers" in definition.intro
    assert "same link" in definition.intro


def test_discover_finds_the_real_file_and_every_discovered_file_is_valid():
    paths = discover()
    assert REAL_FILE in paths
    for path in paths:
        assert validate_file(path) == [], path


def test_discover_sorts_by_key_then_semantic_version(tmp_path: Path):
    for name in ("b/1.0.0", "a/1.10.0", "a/1.2.0", "a/1.2.0-rc.1", "_drafts/1.0.0"):
        write(tmp_path, f"{name}.yaml", "")
    write(tmp_path, "a/notes.txt", "")
    found = [str(p.relative_to(tmp_path)) for p in discover(tmp_path)]
    assert found == ["a/1.2.0-rc.1.yaml", "a/1.2.0.yaml", "a/1.10.0.yaml", "b/1.0.0.yaml"]


def test_instrument_path_is_key_folder_and_version_file():
    assert instrument_path("iemdp", "1.0.0") == INSTRUMENTS_DIR / "iemdp" / "1.0.0.yaml"


def test_the_unchanged_mapping_is_valid(mapping: dict[str, Any]):
    assert parse_definition(mapping, "test.yaml") == load_instrument(REAL_FILE)


# --------------------------------------------------------------------------------------
# identity: source, canonical JSON, content hash
# --------------------------------------------------------------------------------------
def test_source_is_the_normalised_mapping_and_round_trips(mapping: dict[str, Any]):
    definition = parse_definition(mapping, "test.yaml")
    assert definition.source == to_mapping(definition)
    assert definition.source["constructs"][0]["subconstructs"][0]["items"][0] == {
        "id": "OE_BEN_1",
        "text": "I expect messaging with my therapist to help me feel better.",
        "reverse": False,
        "scale": "agree5",
        "type": "likert",  # default spelled out
        "optional": False,  # default spelled out
    }
    json.loads(definition.canonical_json())
    again = parse_definition(json.loads(json.dumps(definition.source)), "copy")
    assert again == definition and again.content_hash == definition.content_hash


def test_content_hash_is_stable_across_loads_and_layout(mapping: dict[str, Any]):
    first = load_instrument(REAL_FILE)
    assert load_instrument(REAL_FILE).content_hash == first.content_hash
    assert re.fullmatch(r"[0-9a-f]{64}", first.content_hash)
    # Same content, different layout, key order, no comments, defaults spelled out:
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["type"] = "likert"
    reordered = dict(reversed(list(mapping.items())))
    text = yaml.safe_dump(reordered, sort_keys=False, default_flow_style=False)
    assert load_instrument_text(text, "other.yaml").content_hash == first.content_hash


def test_content_hash_changes_when_an_item_text_changes(mapping: dict[str, Any]):
    before = parse_definition(mapping, "test.yaml").content_hash
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["text"] = "I expect it to help."
    after = parse_definition(mapping, "test.yaml").content_hash
    assert after != before


def test_content_hash_changes_when_a_reverse_flag_changes(mapping: dict[str, Any]):
    before = parse_definition(mapping, "test.yaml").content_hash
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["reverse"] = True
    assert parse_definition(mapping, "test.yaml").content_hash != before


# --------------------------------------------------------------------------------------
# file-level problems
# --------------------------------------------------------------------------------------
def test_missing_file(tmp_path: Path):
    path = tmp_path / "iemdp" / "1.0.0.yaml"
    (problem,) = validate_file(path)
    assert (problem.file, problem.key, problem.message) == (str(path), "", "file not found")
    with pytest.raises(InstrumentValidationError, match="file not found"):
        load_instrument(path)


def test_file_that_is_not_utf8(tmp_path: Path, real_text: str):
    path = write(tmp_path, "iemdp/1.0.0.yaml", real_text.encode("utf-8") + "é".encode("latin-1"))
    (problem,) = validate_file(path)
    assert problem.key == ""
    assert problem.message.startswith("not valid UTF-8 (byte 0xe9 at offset")


def test_yaml_syntax_error_reports_line_and_column():
    with pytest.raises(InstrumentValidationError) as caught:
        load_instrument_text("format: 1\nkey: [iemdp\nversion: 1.0.0\n", "broken.yaml")
    (problem,) = caught.value.problems
    assert problem.key == ""
    assert re.match(r"YAML syntax error at line \d+, column \d+: ", problem.message)


def test_yaml_syntax_error_points_at_the_offending_line():
    with pytest.raises(InstrumentValidationError) as caught:
        load_instrument_text("format: 1\nkey: iemdp\n  version: 1.0.0\n", "broken.yaml")
    (problem,) = caught.value.problems
    assert problem.message.startswith("YAML syntax error at line 3, column 10:")


@pytest.mark.parametrize(
    ("text", "kind"),
    [("- a\n- b\n", "a list"), ("just text\n", "a string"), ("42\n", "an integer")],
)
def test_top_level_must_be_a_mapping(text: str, kind: str):
    with pytest.raises(InstrumentValidationError) as caught:
        load_instrument_text(text, "x.yaml")
    (problem,) = caught.value.problems
    assert (problem.key, problem.message) == ("", f"the top level must be a mapping, got {kind}")


def test_empty_file(tmp_path: Path):
    path = write(tmp_path, "iemdp/1.0.0.yaml", "# nothing but a comment\n")
    (problem,) = validate_file(path)
    assert (problem.key, problem.message) == ("", "file is empty: the top level must be a mapping")


def test_file_larger_than_one_megabyte(tmp_path: Path, real_text: str):
    padding = "# " + "x" * 98 + "\n"
    text = real_text + padding * (MAX_FILE_BYTES // len(padding) + 1)
    path = write(tmp_path, "iemdp/1.0.0.yaml", text)
    (problem,) = validate_file(path)
    assert problem.key == ""
    assert problem.message.startswith("file is larger than 1 MB")
    with pytest.raises(InstrumentValidationError, match="larger than 1 MB"):
        load_instrument_text(text, "upload.yaml")


def test_duplicate_yaml_key_is_reported_not_silently_overwritten(real_text: str):
    text = real_text.replace(
        "shuffle_items: false\n", "shuffle_items: false\nshuffle_items: true\n"
    )
    with pytest.raises(InstrumentValidationError) as caught:
        load_instrument_text(text, "dup.yaml")
    (problem,) = caught.value.problems
    assert problem.key == "shuffle_items"
    assert re.fullmatch(r"duplicate key at line (\d+) \(first at line \d+\); .*", problem.message)


def test_yaml_yes_is_not_accepted_for_a_boolean(real_text: str):
    text = real_text.replace(
        'help me feel better.", reverse: false', 'help me feel better.", reverse: yes', 1
    )
    assert text != real_text
    with pytest.raises(InstrumentValidationError) as caught:
        load_instrument_text(text, "yes.yaml")
    (problem,) = caught.value.problems
    assert problem.key == f"{ITEM}.reverse"
    assert problem.message.startswith("write true or false, not 'yes'")


def test_nothing_in_a_file_is_executed():
    text = "!!python/object/apply:os.system ['echo pwned']\n"
    with pytest.raises(InstrumentValidationError) as caught:
        load_instrument_text(text, "evil.yaml")
    (problem,) = caught.value.problems
    assert problem.message.startswith("YAML tag not allowed at line 1, column 1: ")
    assert "python/object/apply" in problem.message


# --------------------------------------------------------------------------------------
# path checks
# --------------------------------------------------------------------------------------
def test_file_name_must_match_version(tmp_path: Path, real_text: str):
    path = write(tmp_path, "iemdp/1.0.1.yaml", real_text)
    (problem,) = validate_file(path)
    assert (problem.key, problem.message) == (
        "version",
        "'1.0.0' does not match the file name '1.0.1.yaml'",
    )


def test_folder_must_match_key(tmp_path: Path, real_text: str):
    path = write(tmp_path, "other/1.0.0.yaml", real_text)
    (problem,) = validate_file(path)
    assert (problem.key, problem.message) == (
        "key",
        "'iemdp' does not match the folder name 'other'",
    )


def test_file_must_end_in_yaml(tmp_path: Path, real_text: str):
    path = write(tmp_path, "iemdp/1.0.0.yml", real_text)
    problems = validate_file(path)
    assert Problem(str(path), "", "file name must end in .yaml, got '1.0.0.yml'") in problems


def test_a_correctly_placed_copy_loads(tmp_path: Path, real_text: str):
    path = write(tmp_path, "iemdp/1.0.0.yaml", real_text)
    assert validate_file(path) == []
    assert load_instrument(str(path)).content_hash == load_instrument(REAL_FILE).content_hash


# --------------------------------------------------------------------------------------
# content problems, one at a time
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("where", "key"),
    [
        ((), "titel"),
        (("constructs", 0), "constructs[0].label"),
        (("constructs", 0, "subconstructs", 0), "constructs[0].subconstructs[0].weight"),
        (("constructs", 0, "subconstructs", 0, "items", 0), f"{ITEM}.reversed"),
        (("attention_checks", 0), f"{CHECK}.score"),
        (("response_scales", "agree5", 0), "response_scales.agree5[0].code"),
    ],
)
def test_unknown_keys_are_rejected_at_every_level(mapping, where, key):
    target = mapping
    for step in where:
        target = target[step]
    target[key.rsplit(".", 1)[-1]] = "x"
    problem = only_problem(mapping)
    assert problem.key == key
    assert problem.message.startswith("unknown key (allowed here: ")


@pytest.mark.parametrize(
    ("where", "name", "key"),
    [
        ((), "title", "title"),
        ((), "constructs", "constructs"),
        ((), "response_scales", "response_scales"),
        (("constructs", 1), "domain", "constructs[1].domain"),
        (
            ("constructs", 1, "subconstructs", 2),
            "description",
            "constructs[1].subconstructs[2].description",
        ),  # noqa: E501
        (("constructs", 0, "subconstructs", 0, "items", 0), "text", f"{ITEM}.text"),
        (("constructs", 0, "subconstructs", 0, "items", 0), "scale", f"{ITEM}.scale"),
        (("attention_checks", 0), "expected", f"{CHECK}.expected"),
        (("attention_checks", 0), "page", f"{CHECK}.page"),
        (("response_scales", "agree5", 2), "label", "response_scales.agree5[2].label"),
    ],
)
def test_missing_required_keys(mapping, where, name, key):
    target = mapping
    for step in where:
        target = target[step]
    del target[name]
    problems = problems_of(mapping)
    assert Problem("test.yaml", key, "is required") in problems


def test_missing_reverse_flag(mapping):
    del mapping["constructs"][2]["subconstructs"][1]["items"][2]["reverse"]
    problem = only_problem(mapping)
    assert problem.key == "constructs[2].subconstructs[1].items[2].reverse"
    assert problem.message == "is required: every item states reverse: true or reverse: false"


@pytest.mark.parametrize(
    ("value", "kind"),
    [("true", "a string"), (1, "an integer"), (0, "an integer"), (None, "null")],
)
def test_reverse_must_be_a_real_boolean(mapping, value, kind):
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["reverse"] = value
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        f"{ITEM}.reverse",
        f"must be true or false, got {kind}",
    )


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (("format",), "1", "must be an integer, got a string"),
        (("shuffle_items",), "no", "must be true or false, got a string"),
        (("title",), ["a", "b"], "must be a string, got a list"),
        (("constructs",), {"OE": {}}, "must be a list, got a mapping"),
        (("response_scales",), ["agree5"], "must be a mapping, got a list"),
        (
            ("constructs", 0, "subconstructs", 0, "items", 0, "optional"),
            "no",
            "must be true or false, got a string",
        ),  # noqa: E501
        (("attention_checks", 0, "position"), "4", "must be an integer, got a string"),
        (
            ("attention_checks", 0, "expected"),
            2.0,
            "must be an integer, got a number with a fraction",
        ),  # noqa: E501
        (("version",), 1.0, "must be a string, got a number with a fraction"),
    ],
)
def test_wrong_types(mapping, path, value, message):
    target = mapping
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    key = ".".join(f"[{step}]" if isinstance(step, int) else step for step in path).replace(
        ".[", "["
    )
    problem = problems_of(mapping)[0]
    assert (problem.key, problem.message) == (key, message)


def test_an_entry_that_is_not_a_mapping(mapping):
    mapping["constructs"][0]["subconstructs"][0]["items"][1] = "OE_BEN_2"
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        "constructs[0].subconstructs[0].items[1]",
        "must be a mapping, got a string",
    )


def test_unsupported_format(mapping):
    mapping["format"] = 2
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == ("format", "unsupported format 2 (supported: 1)")


def test_duplicate_item_ids(mapping):
    mapping["constructs"][0]["subconstructs"][0]["items"][2]["id"] = "OE_BEN_1"
    problem = only_problem(mapping)
    assert problem.key == "constructs[0].subconstructs[0].items[2].id"
    assert problem.message == (
        f"duplicate id 'OE_BEN_1' (first at {ITEM}.id); "
        "items and attention checks share one id space"
    )


def test_attention_check_ids_share_the_item_id_space(mapping):
    mapping["attention_checks"][1]["id"] = "TA_BOND_2"
    problem = only_problem(mapping)
    assert problem.key == "attention_checks[1].id"
    assert problem.message.startswith("duplicate id 'TA_BOND_2' (first at constructs[5]")


def test_duplicate_attention_check_ids(mapping):
    mapping["attention_checks"][1]["id"] = "ATTN_1"
    problem = only_problem(mapping)
    assert problem.key == "attention_checks[1].id"
    assert problem.message.startswith("duplicate id 'ATTN_1' (first at attention_checks[0].id)")


def test_duplicate_construct_codes(mapping):
    mapping["constructs"][9]["code"] = "OE"
    problems = problems_of(mapping)
    assert problems[0].key == "constructs[9].code"
    assert problems[0].message.startswith("duplicate code 'OE' (first at constructs[0].code)")


def test_duplicate_subconstruct_codes(mapping):
    subs = mapping["constructs"][0]["subconstructs"]
    subs[1]["code"] = "OE_BEN"
    for n, item in enumerate(subs[1]["items"], start=4):
        item["id"] = f"OE_BEN_{n}"  # keep ids valid and unique: only the code is wrong
    problem = only_problem(mapping)
    assert problem.key == "constructs[0].subconstructs[1].code"
    assert problem.message == (
        "duplicate code 'OE_BEN' (first at constructs[0].subconstructs[0].code); "
        "construct and subconstruct codes must all be different"
    )


@pytest.mark.parametrize("code", ["oe_ben", "OE-BEN", "OE_BEN_1", "1OE", ""])
def test_malformed_codes(mapping, code):
    mapping["constructs"][0]["subconstructs"][0]["code"] = code
    problems = problems_of(mapping)
    assert problems[0].key == "constructs[0].subconstructs[0].code"
    assert problems[0].message.startswith("must match upper-case letters and digits")


@pytest.mark.parametrize("bad_id", ["OE_MOD_1", "OE_BEN1", "OE_BEN_0", "OE_BEN_01", "OE_BEN_x"])
def test_item_id_must_be_subcode_underscore_number(mapping, bad_id):
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["id"] = bad_id
    problem = only_problem(mapping)
    assert problem.key == f"{ITEM}.id"
    assert problem.message == (
        f"must be OE_BEN_<n> (n = 1, 2, ...) for an item of subconstruct OE_BEN, got {bad_id!r}"
    )


def test_item_numbers_need_not_be_consecutive(mapping):
    # Ids are stable across versions: a later version may drop OE_BEN_2 and add OE_BEN_4.
    mapping["constructs"][0]["subconstructs"][0]["items"][1]["id"] = "OE_BEN_4"
    assert parse_definition(mapping, "test.yaml").items[1].id == "OE_BEN_4"


def test_subconstruct_with_fewer_than_three_items(mapping):
    del mapping["constructs"][3]["subconstructs"][2]["items"][1]
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        "constructs[3].subconstructs[2].items",
        "has 2 items; a subconstruct needs at least 3",
    )


def test_construct_without_subconstructs(mapping):
    mapping["constructs"][0]["subconstructs"] = []
    problem = only_problem(mapping)
    assert problem.key == "constructs[0].subconstructs"
    assert problem.message == "must have at least one subconstruct"


def test_no_constructs(mapping):
    mapping["constructs"] = []
    mapping["attention_checks"] = []
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == ("constructs", "must have at least one construct")


def test_item_naming_an_unknown_scale(mapping):
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["scale"] = "agree7"
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        f"{ITEM}.scale",
        "names no response scale: 'agree7' (defined: agree5)",
    )


def test_attention_check_naming_an_unknown_scale(mapping):
    mapping["attention_checks"][0]["scale"] = "yesno"
    problem = only_problem(mapping)
    assert problem.key == f"{CHECK}.scale"
    assert problem.message.startswith("names no response scale: 'yesno'")


def test_attention_check_page_must_be_a_construct(mapping):
    mapping["attention_checks"][0]["page"] = "SE_ACT"
    problem = only_problem(mapping)
    assert problem.key == f"{CHECK}.page"
    assert problem.message.startswith("names no construct: 'SE_ACT' (pages are construct codes: OE")


@pytest.mark.parametrize("expected", [0, 6, -1])
def test_attention_check_expected_value_must_be_on_its_scale(mapping, expected):
    mapping["attention_checks"][0]["expected"] = expected
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        f"{CHECK}.expected",
        f"{expected} is not a value of scale 'agree5' (1, 2, 3, 4, 5)",
    )


def test_attention_check_position_past_the_end_of_its_page(mapping):
    mapping["attention_checks"][0]["position"] = 10  # SE: 9 items + 1 check, last index 9
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        f"{CHECK}.position",
        "10 is past the end of page 'SE' (last position: 9)",
    )
    mapping["attention_checks"][0]["position"] = 9
    assert parse_definition(mapping, "test.yaml").pages()[1].entries[9].id == "ATTN_1"


def test_attention_check_position_must_not_be_negative(mapping):
    mapping["attention_checks"][0]["position"] = -1
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (f"{CHECK}.position", "must be 0 or more, got -1")


def test_attention_checks_are_optional(mapping):
    del mapping["attention_checks"]
    assert parse_definition(mapping, "test.yaml").attention_checks == ()


def test_response_scale_values_must_be_unique(mapping):
    mapping["response_scales"]["agree5"][3]["value"] = 2
    problems = problems_of(mapping)
    assert problems[0].key == "response_scales.agree5[3].value"
    assert problems[0].message == (
        "duplicate value 2 (also at response_scales.agree5[1]); values must be unique integers"
    )


@pytest.mark.parametrize(
    ("value", "kind"),
    [(1.5, "a number with a fraction"), ("1", "a string"), (True, "a boolean")],
)
def test_response_scale_values_must_be_integers(mapping, value, kind):
    mapping["response_scales"]["agree5"][0]["value"] = value
    problems = problems_of(mapping)
    assert problems[0].key == "response_scales.agree5[0].value"
    assert problems[0].message == f"must be an integer, got {kind}"


def test_response_scale_values_must_allow_reverse_keying(mapping):
    mapping["response_scales"]["agree5"][4]["value"] = 7  # 1, 2, 3, 4, 7
    problem = only_problem(mapping)
    assert problem.key == "response_scales.agree5"
    assert problem.message.startswith("values [1, 2, 3, 4, 7] are not symmetric")


def test_response_scale_needs_two_options(mapping):
    mapping["response_scales"]["agree5"] = [{"value": 1, "label": "Yes"}]
    mapping["attention_checks"][0]["expected"] = 1
    mapping["attention_checks"][1]["expected"] = 1
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        "response_scales.agree5",
        "must have at least 2 options",
    )


def test_response_scale_labels_must_be_unique(mapping):
    mapping["response_scales"]["agree5"][1]["label"] = "Strongly disagree"
    problem = only_problem(mapping)
    assert problem.key == "response_scales.agree5[1].label"
    assert problem.message.startswith("duplicate label 'Strongly disagree'")


def test_response_scale_must_be_a_list_of_options(mapping):
    mapping["response_scales"]["agree5"] = "1-5"
    problems = problems_of(mapping)
    assert problems[0] == Problem(
        "test.yaml", "response_scales.agree5", "must be a list of options, got a string"
    )


@pytest.mark.parametrize("version", ["1.0", "v1.0.0", "01.0.0", "1.0.0.0", "1.0.0+build.5", ""])
def test_version_must_be_semver(mapping, version):
    mapping["version"] = version
    problem = only_problem(mapping)
    assert problem.key == "version"
    assert problem.message == f"must match a semantic version MAJOR.MINOR.PATCH, got {version!r}"


@pytest.mark.parametrize("version", ["0.1.0", "2.10.3", "1.1.0-rc.1"])
def test_valid_versions(mapping, version):
    mapping["version"] = version
    assert parse_definition(mapping, "test.yaml").version == version


@pytest.mark.parametrize("key", ["IEMDP", "iem dp", "1iemdp", "iemdp/2"])
def test_key_must_be_a_lowercase_name(mapping, key):
    mapping["key"] = key
    problem = only_problem(mapping)
    assert problem.key == "key"
    assert problem.message.startswith("must match [a-z][a-z0-9_-]*")


@pytest.mark.parametrize(
    "path",
    [
        ("title",),
        ("intro",),
        ("citation",),
        ("constructs", 0, "name"),
        ("constructs", 0, "subconstructs", 0, "description"),
        ("constructs", 0, "subconstructs", 0, "items", 0, "text"),
        ("attention_checks", 0, "text"),
        ("response_scales", "agree5", 0, "label"),
    ],
)
def test_empty_text_is_rejected(mapping, path):
    target = mapping
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = "   \n"
    problem = only_problem(mapping)
    assert problem.message == "must not be empty"
    assert problem.key.endswith(path[-1])


def test_unknown_item_type(mapping):
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["type"] = "slider"
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        f"{ITEM}.type",
        "unknown item type 'slider' (registered: likert)",
    )


def test_unknown_attention_check_type(mapping):
    mapping["attention_checks"][0]["type"] = "free_text"
    problem = only_problem(mapping)
    assert problem.key == f"{CHECK}.type"
    assert problem.message.startswith("unknown item type 'free_text'")


def test_registered_type_and_optional_flag_are_accepted(mapping):
    item = mapping["constructs"][0]["subconstructs"][0]["items"][0]
    item["type"] = "likert"
    item["optional"] = True
    loaded = parse_definition(mapping, "test.yaml").items[0]
    assert (loaded.type, loaded.optional) == ("likert", True)


def test_strings_are_stripped(mapping):
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["text"] = "  Spaced out.\n"
    assert parse_definition(mapping, "test.yaml").items[0].text == "Spaced out."


# --------------------------------------------------------------------------------------
# every problem at once
# --------------------------------------------------------------------------------------
def test_every_problem_is_reported_at_once(mapping):
    mapping["titel"] = "typo"
    mapping["version"] = "1.0"
    del mapping["constructs"][0]["subconstructs"][0]["items"][0]["reverse"]
    mapping["constructs"][4]["subconstructs"][1]["items"][2]["id"] = "UT_LAP_1"
    mapping["constructs"][9]["subconstructs"][1]["items"][0]["scale"] = "agree7"
    mapping["attention_checks"][1]["page"] = "XX"
    with pytest.raises(InstrumentValidationError) as caught:
        parse_definition(mapping, "test.yaml")
    keys = [problem.key for problem in caught.value.problems]
    assert sorted(keys) == sorted(
        [
            "titel",
            "version",
            f"{ITEM}.reverse",
            "constructs[4].subconstructs[1].items[2].id",
            "constructs[9].subconstructs[1].items[0].scale",
            "attention_checks[1].page",
        ]
    )
    message = str(caught.value)
    assert message.startswith("6 problems in test.yaml:")
    for problem in caught.value.problems:
        assert f"test.yaml: {problem.key}: {problem.message}" in message


def test_content_and_path_problems_are_reported_together(tmp_path: Path, mapping):
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["text"] = ""
    path = write(tmp_path, "iemdp/2.0.0.yaml", yaml.safe_dump(mapping, sort_keys=False))
    assert [p.key for p in validate_file(path)] == [f"{ITEM}.text", "version"]


def test_validation_error_is_a_value_error():
    error = InstrumentValidationError([Problem("f.yaml", "", "file not found")])
    assert isinstance(error, ValueError)
    assert str(error) == "1 problem in f.yaml:\n  f.yaml: file not found"
    assert error.problems == (Problem("f.yaml", "", "file not found"),)


# --------------------------------------------------------------------------------------
# subconstruct orientation and one scale per construct
# --------------------------------------------------------------------------------------
def test_subconstruct_reverse_defaults_to_false_and_must_be_boolean(mapping):
    sub = mapping["constructs"][0]["subconstructs"][0]
    del sub["reverse"]
    assert parse_definition(mapping, "test.yaml").subconstructs[0].reverse is False
    sub["reverse"] = "no"
    problem = only_problem(mapping)
    assert (problem.key, problem.message) == (
        "constructs[0].subconstructs[0].reverse",
        "must be true or false, got a string",
    )


def test_real_file_marks_the_reverse_of_engagement_subconstructs():
    definition = load_instrument(REAL_FILE)
    assert [s.code for s in definition.subconstructs if s.reverse] == [
        "UT_LAP", "RR_RUP", "TC_FIN", "SS_STIG",
    ]  # fmt: skip
    assert definition.construct("TC").subconstructs[0] is definition.subconstruct("TC_FIN")
    with pytest.raises(KeyError):
        definition.subconstruct("TC")


def test_items_of_a_construct_share_one_response_scale(mapping):
    mapping["response_scales"]["agree5b"] = copy.deepcopy(mapping["response_scales"]["agree5"])
    mapping["constructs"][1]["subconstructs"][2]["items"][0]["scale"] = "agree5b"
    problem = only_problem(mapping)
    assert problem.key == "constructs[1].subconstructs[2].items[0].scale"
    assert problem.message == (
        "'agree5b' differs from 'agree5' at constructs[1].subconstructs[0].items[0].scale; "
        "all items of a construct use one response scale"
    )
    # a different construct may use another scale
    for sub in mapping["constructs"][1]["subconstructs"]:
        for item in sub["items"]:
            item["scale"] = "agree5b"
    assert parse_definition(mapping, "test.yaml").construct("SE").items[0].scale == "agree5b"


def test_deeply_nested_yaml_is_a_problem_not_a_crash():
    text = "titel: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(InstrumentValidationError) as caught:
        load_instrument_text(text, "deep.yaml")
    assert caught.value.problems == (Problem("deep.yaml", "", "YAML nested too deeply to read"),)


def test_parse_definition_does_not_change_its_argument(mapping):
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["text"] = "  padded  "
    mapping["constructs"][0]["subconstructs"][0]["items"][1]["id"] = "wrong"
    before = copy.deepcopy(mapping)
    problems_of(mapping)
    assert mapping == before


# --------------------------------------------------------------------------------------
# optional fields added after 1.0.0 was published: page_title, safety_threshold
# --------------------------------------------------------------------------------------
# The content hash of iemdp 1.0.0 as published. Published versions are immutable: a change
# to the loader that changes this hash would change the identity of stored versions.
IEMDP_1_0_0_HASH = "b1403d7b2cdcef12c577750b1e27aacc03e2d03b75cfc5945c16f6bca112708f"
TITLED_FILE = instrument_path("iemdp", "1.1.0")
MOOD_ITEM = "constructs[0].subconstructs[0].items[3]"  # MD_LOW_4, the safety item


def test_the_published_hash_of_iemdp_1_0_0_is_unchanged():
    definition = load_instrument(REAL_FILE)
    assert definition.content_hash == IEMDP_1_0_0_HASH
    assert "page_title" not in definition.canonical_json()
    assert "safety_threshold" not in definition.canonical_json()


def test_unset_optional_fields_are_left_out_of_the_normalised_mapping(mapping):
    source = parse_definition(mapping, "test.yaml").source
    assert all("page_title" not in construct for construct in source["constructs"])
    items = [i for c in source["constructs"] for s in c["subconstructs"] for i in s["items"]]
    assert all("safety_threshold" not in item for item in items)


def test_1_1_0_is_1_0_0_with_a_page_title_per_construct():
    old, new = load_instrument(REAL_FILE), load_instrument(TITLED_FILE)
    assert new.version == "1.1.0"
    assert new.content_hash != old.content_hash
    titles = [construct.page_title for construct in new.constructs]
    assert all(title and len(title) <= 60 for title in titles), titles
    assert len(set(titles)) == len(titles)
    assert new.construct("TA").page_title == "You and your therapist"
    stripped = copy.deepcopy(new.source) | {"version": "1.0.0"}
    for construct in stripped["constructs"]:
        del construct["page_title"]
    assert stripped == old.source


def test_1_1_0_header_says_what_changed():
    text = TITLED_FILE.read_text(encoding="utf-8")
    header = text[: text.index("format: 1")]
    assert "Changes from 1.0.0" in header and "page_title" in header


def test_discover_lists_both_iemdp_versions_in_order():
    paths = discover()
    assert paths.index(REAL_FILE) + 1 == paths.index(TITLED_FILE)


def test_page_title_is_optional_and_part_of_the_content(mapping):
    before = parse_definition(mapping, "test.yaml")
    mapping["constructs"][0]["page_title"] = "  What you expect from therapy  "
    after = parse_definition(mapping, "test.yaml")
    assert before.construct("OE").page_title is None
    assert after.construct("OE").page_title == "What you expect from therapy"
    assert after.source["constructs"][0]["page_title"] == "What you expect from therapy"
    assert after.content_hash != before.content_hash
    assert parse_definition(after.source, "again") == after


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "must not be empty"),
        ("   ", "must not be empty"),
        (7, "must be a string, got an integer"),
        (None, "must be a string, got null"),
        ("Two\nlines", "must be one line"),
    ],
)
def test_bad_page_titles(mapping, value, message: str):
    mapping["constructs"][2]["page_title"] = value
    problem = only_problem(mapping)
    assert problem.key == "constructs[2].page_title"
    assert message in problem.message


def test_page_title_is_not_a_subconstruct_key(mapping):
    mapping["constructs"][0]["subconstructs"][0]["page_title"] = "x"
    problem = only_problem(mapping)
    assert problem.key == "constructs[0].subconstructs[0].page_title"
    assert "unknown key" in problem.message


def test_the_mood_screener_fixture_is_a_valid_instrument(mood_screener):
    assert mood_screener.key == "mood_screener"
    assert [c.code for c in mood_screener.constructs] == ["MD", "EN"]
    assert all(len(sub.items) >= 3 for sub in mood_screener.subconstructs)
    assert all(c.page_title for c in mood_screener.constructs)


def test_a_correctly_placed_mood_screener_loads(tmp_path: Path, mood_screener):
    fixture = Path(__file__).resolve().parents[1] / "fixtures/instruments/mood_screener.yaml"
    placed = write(tmp_path, "mood_screener/1.0.0.yaml", fixture.read_text(encoding="utf-8"))
    assert load_instrument(placed) == mood_screener


def test_safety_threshold_is_kept_and_part_of_the_content(mood_mapping):
    screener = parse_definition(mood_mapping, "test.yaml")
    assert screener.entry("MD_LOW_4").safety_threshold == 1
    item = mood_mapping["constructs"][0]["subconstructs"][0]["items"][3]
    assert item["safety_threshold"] == 1
    del item["safety_threshold"]
    plain = parse_definition(mood_mapping, "test.yaml")
    assert plain.entry("MD_LOW_4").safety_threshold is None
    assert plain.content_hash != screener.content_hash


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (4, "4 is not a value of scale 'often4' (0, 1, 2, 3) of item MD_LOW_4"),
        (-1, "-1 is not a value of scale 'often4' (0, 1, 2, 3) of item MD_LOW_4"),
        (0, "0 is the lowest value of scale 'often4': every answer to item MD_LOW_4"),
        (True, "must be an integer, got a boolean"),
        ("2", "must be an integer, got a string"),
        (2.0, "must be an integer, got a number with a fraction"),
        (None, "must be an integer, got null"),
    ],
)
def test_bad_safety_thresholds(mood_mapping, value, message: str):
    mood_mapping["constructs"][0]["subconstructs"][0]["items"][3]["safety_threshold"] = value
    problem = only_problem(mood_mapping)
    assert problem.key == f"{MOOD_ITEM}.safety_threshold"
    assert message in problem.message


def test_a_threshold_on_an_unknown_scale_is_one_problem(mood_mapping):
    mood_mapping["constructs"][0]["subconstructs"][0]["items"][3]["scale"] = "agree5"
    problem = only_problem(mood_mapping)
    assert problem.key == f"{MOOD_ITEM}.scale"


def test_attention_checks_cannot_be_safety_items(mood_mapping):
    mood_mapping["attention_checks"][0]["safety_threshold"] = 2
    problem = only_problem(mood_mapping)
    assert problem.key == "attention_checks[0].safety_threshold"
    assert problem.message.startswith("attention check ATTN_1 cannot be a safety item")


def test_safety_threshold_is_reported_with_other_problems(mood_mapping):
    mood_mapping["constructs"][0]["subconstructs"][0]["items"][3]["safety_threshold"] = 9
    mood_mapping["constructs"][1]["page_title"] = ""
    mood_mapping["attention_checks"][0]["safety_threshold"] = 2
    keys = [problem.key for problem in problems_of(mood_mapping)]
    assert keys == [
        f"{MOOD_ITEM}.safety_threshold",
        "constructs[1].page_title",
        "attention_checks[0].safety_threshold",
    ]
