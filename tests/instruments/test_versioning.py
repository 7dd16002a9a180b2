"""Tests for instruments.versioning: semver parsing and bumping, and version proposals."""

from __future__ import annotations

import doctest
from typing import Any

import pytest

from instruments import versioning
from instruments.definition import InstrumentDefinition
from instruments.diff import word_diff
from instruments.loader import instrument_path, load_instrument
from instruments.versioning import (
    Proposal,
    Version,
    bump,
    is_typo_level,
    parse_version,
    propose_next_version,
)


def item_of(mapping: dict[str, Any], item_id: str) -> dict[str, Any]:
    for construct in mapping["constructs"]:
        for sub in construct["subconstructs"]:
            for item in sub["items"]:
                if item["id"] == item_id:
                    return item
    raise KeyError(item_id)


def sub_of(mapping: dict[str, Any], code: str) -> dict[str, Any]:
    for construct in mapping["constructs"]:
        for sub in construct["subconstructs"]:
            if sub["code"] == code:
                return sub
    raise KeyError(code)


def test_docstring_examples():
    result = doctest.testmod(versioning, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------
# semantic versions
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0.0.0", Version(0, 0, 0)),
        ("1.2.3", Version(1, 2, 3)),
        ("10.20.30", Version(10, 20, 30)),
        ("1.0.0-rc.1", Version(1, 0, 0, "rc.1")),
        ("1.0.0-alpha-2.x", Version(1, 0, 0, "alpha-2.x")),
    ],
)
def test_parse_valid(text: str, expected: Version):
    assert parse_version(text) == expected
    assert str(parse_version(text)) == text


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "it is empty"),
        (" 1.0.0", "surrounding spaces"),
        ("1.0", "got 2 parts"),
        ("1.0.0.0", "got 4 parts"),
        ("v1.0.0", "MAJOR must be a non-negative whole number, got 'v1'"),
        ("1.x.0", "MINOR must be a non-negative whole number"),
        ("1.0.-1", "PATCH must be a non-negative whole number"),
        ("01.0.0", "MAJOR must not have leading zeros"),
        ("1.00.0", "MINOR must not have leading zeros"),
        ("1.0.0+build.5", "build metadata"),
        ("1.0.0-", "the pre-release ''"),
        ("1.0.0-rc..1", "the pre-release 'rc..1'"),
        ("1.0.0-ünï", "the pre-release"),
        ("١.0.0", "MAJOR must be a non-negative whole number"),
    ],
)
def test_parse_invalid_says_why(text: str, message: str):
    with pytest.raises(ValueError, match="is not a semantic version") as caught:
        parse_version(text)
    assert message in str(caught.value)


def test_parse_rejects_non_strings():
    with pytest.raises(ValueError, match="must be a string"):
        parse_version(1.0)  # type: ignore[arg-type]


def test_precedence_follows_semver():
    ordered = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.0.1",
        "1.1.0",
        "1.10.0",
        "2.0.0",
    ]
    versions = [parse_version(v) for v in ordered]
    assert sorted(reversed(versions)) == versions
    assert all(
        a < b and b > a and a <= b and b >= a
        for a, b in zip(versions[:-1], versions[1:], strict=True)
    )


@pytest.mark.parametrize(
    ("version", "level", "expected"),
    [
        ("1.2.3", "patch", "1.2.4"),
        ("1.2.3", "minor", "1.3.0"),
        ("1.2.3", "major", "2.0.0"),
        ("0.1.0", "major", "1.0.0"),
        ("1.2.3-rc.1", "patch", "1.2.3"),
        ("1.2.0-rc.1", "minor", "1.2.0"),
        ("1.2.3-rc.1", "minor", "1.3.0"),
        ("2.0.0-rc.1", "major", "2.0.0"),
        ("2.1.0-rc.1", "major", "3.0.0"),
    ],
)
def test_bump(version: str, level: str, expected: str):
    assert bump(version, level) == expected


def test_bump_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown level 'huge'"):
        bump("1.0.0", "huge")
    with pytest.raises(ValueError, match="'1.0' is not a semantic version"):
        bump("1.0", "patch")


# --------------------------------------------------------------------------------------
# typo-level rewording
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "typo"),
    [
        # spelling fixes, even in short texts
        ("I trust my therpist.", "I trust my therapist.", True),
        ("I recieve replies quickly.", "I receive replies quickly.", True),
        # case, punctuation, spacing only
        ("i trust my therapist", "I trust my therapist.", True),
        ("I skip replys when I am busy.", "I skip replies when I am busy.", True),
        ("I send an message.", "I send a message.", True),
        ("Two typos: teh recieve.", "Two typos: the receive.", True),
        # three spelling fixes are more than a typo
        ("teh recieve therpist", "the receive therapist", False),
        # another word, even a synonym in a long text
        (
            "I think this therapy will help me deal with my problems.",
            "I think this therapy will help me cope with my problems.",
            False,
        ),
        (
            "I like that I can send a message when it suits me and get a reply later.",
            "I like that I can send a message whenever it suits me and get an answer later.",
            False,
        ),
        ("I think this will help.", "I think that this will help.", False),
        # meaning changes
        ("I trust my therapist.", "I distrust my therapist.", False),
        ("I feel calm when I write.", "I feel relaxed when I write.", False),
        ("It is likely to help.", "It is unlikely to help.", False),
        ("I agree with my therapist on goals.", "I disagree with my therapist on goals.", False),
        (
            "I think this therapy will help me deal with my problems.",
            "I think this therapy will not help me deal with my problems.",
            False,
        ),
        (
            "I can keep writing to my therapist regularly, even in a busy week.",
            "I can't keep writing to my therapist regularly, even in a busy week.",
            False,
        ),
        (
            "I think this therapy will help me deal with my problems.",
            "I think this approach could help me handle my problems.",
            False,
        ),
    ],
)
def test_is_typo_level(old: str, new: str, typo: bool):
    assert is_typo_level(word_diff(old, new)) is typo


# --------------------------------------------------------------------------------------
# proposals
# --------------------------------------------------------------------------------------
@pytest.fixture
def new(small_mapping: dict[str, Any]) -> dict[str, Any]:
    return small_mapping | {"version": "draft"}


def propose(small: InstrumentDefinition, make, mapping: dict[str, Any]) -> Proposal:
    return propose_next_version(small, make(mapping | {"version": "9.9.9"}))


def test_patch_for_a_typo(small, make, new):
    item_of(new, "AA_Y_2")["text"] = "I skip replys when I am busy."
    proposal = propose(small, make, new)
    assert (proposal.version, proposal.level) == ("0.3.1", "patch")
    assert proposal.reasons == [
        "patch: item AA_Y_2 reworded, typo-level (1 word(s) changed, similarity 0.86)",
    ]


def test_patch_for_metadata_text(small, make, new):
    new |= {"title": "Better title", "intro": "New intro.", "citation": "Doe J. 2025."}
    new["constructs"][0]["description"] = "Reworded description."
    sub_of(new, "AA_X")["name"] = "Ecks"
    proposal = propose(small, make, new)
    assert proposal.level == "patch"
    assert proposal.version == "0.3.1"
    assert len(proposal.reasons) == 5


def test_minor_for_an_added_item(small, make, new):
    sub_of(new, "BB_Z")["items"].append(
        {"id": "BB_Z_4", "text": "New.", "reverse": False, "scale": "often3"}
    )
    item_of(new, "AA_Y_2")["text"] = "I skip replys when I am busy."
    proposal = propose(small, make, new)
    assert (proposal.version, proposal.level) == ("0.4.0", "minor")
    assert proposal.reasons[0] == "minor: item BB_Z_4 added"
    assert proposal.reasons[1].startswith("patch: item AA_Y_2 reworded")


def test_minor_for_substantive_rewording(small, make, new):
    item_of(new, "AA_X_1")["text"] = "I feel anxious when I write."
    proposal = propose(small, make, new)
    assert proposal.level == "minor"
    assert "reworded substantively" in proposal.reasons[0]


@pytest.mark.parametrize(
    "change",
    ["optional", "order", "check", "shuffle", "scale_added", "unused_scale", "check_text"],
)
def test_other_minor_changes(small, make, new, change: str):
    if change == "optional":
        item_of(new, "AA_X_4")["optional"] = False
    elif change == "order":
        sub_of(new, "BB_Z")["items"].reverse()
    elif change == "check":
        new["attention_checks"][0]["position"] = 3
    elif change == "shuffle":
        new["shuffle_items"] = False
    elif change == "scale_added":
        new["response_scales"]["yesno"] = [{"value": 0, "label": "n"}, {"value": 1, "label": "y"}]
    elif change == "unused_scale":
        new["response_scales"]["unused"][0]["label"] = "Nope"
    elif change == "check_text":
        new["attention_checks"][0]["text"] = "Select the answer 'Always' here."
    assert propose(small, make, new).level == "minor"


def test_typo_in_an_attention_check_is_a_patch(small, make, new):
    new["attention_checks"][1]["text"] = "To show you are reading, chose 'Disagree'."
    assert propose(small, make, new).level == "patch"


def test_major_for_a_removed_item(small, make, new):
    del sub_of(new, "AA_X")["items"][0]
    proposal = propose(small, make, new)
    assert (proposal.version, proposal.level) == ("1.0.0", "major")
    assert proposal.reasons == ["major: item AA_X_1 removed"]


def test_major_for_a_rekeyed_item(small, make, new):
    item_of(new, "AA_X_1")["reverse"] = True
    proposal = propose(small, make, new)
    assert proposal.level == "major"
    assert proposal.reasons == ["major: item AA_X_1 re-keyed (reverse false -> true)"]


def test_major_for_a_moved_item(small, make, new):
    moved = sub_of(new, "AA_X")["items"].pop(2)
    sub_of(new, "AA_Y")["items"].append(moved | {"id": "AA_Y_4"})
    proposal = propose(small, make, new)
    assert proposal.level == "major"
    assert proposal.reasons == ["major: item AA_X_3 moved from AA_X to AA_Y as AA_Y_4"]


def test_major_for_a_changed_response_scale(small, make, new):
    new["response_scales"]["agree5"][2]["label"] = "Unsure"
    proposal = propose(small, make, new)
    assert proposal.level == "major"
    assert proposal.reasons == ["major: response scale agree5: option relabelled 3"]


def test_major_for_items_on_another_scale(small, make, new):
    for item in sub_of(new, "BB_Z")["items"]:
        item["scale"] = "agree5"
    new["attention_checks"][0] |= {"scale": "agree5", "expected": 5}
    proposal = propose(small, make, new)
    assert proposal.level == "major"
    assert proposal.reasons[0] == "major: item BB_Z_1 response scale often3 -> agree5"
    assert proposal.reasons[-1].startswith("minor: attention check attn_b")


def test_major_for_a_flipped_subconstruct_orientation(small, make, new):
    sub_of(new, "AA_Y")["reverse"] = False
    assert propose(small, make, new).level == "major"


def test_reasons_are_ordered_major_first(small, make, new):
    new["title"] = "Another title"
    item_of(new, "AA_X_1")["text"] = "Something else entirely, really."
    del sub_of(new, "AA_X")["items"][3]
    proposal = propose(small, make, new)
    assert [reason.split(":")[0] for reason in proposal.reasons] == ["major", "minor", "patch"]


def test_nothing_to_version(small, make, new):
    with pytest.raises(ValueError, match="nothing to version"):
        propose(small, make, new)


def test_different_instruments(small, make, new):
    new["key"] = "other"
    with pytest.raises(ValueError, match="different instruments"):
        propose(small, make, new)


def test_pre_release_is_released(small_mapping, make):
    old = make(small_mapping | {"version": "1.0.0-rc.1"})
    changed = small_mapping | {"version": "x", "title": "Final title"}
    assert propose_next_version(old, make(changed | {"version": "1.0.0"})).version == "1.0.0"


# --------------------------------------------------------------------------------------
# page titles and safety thresholds
# --------------------------------------------------------------------------------------
def test_a_safety_threshold_change_is_minor(mood_screener, mood_mapping, make):
    item_of(mood_mapping, "MD_LOW_4")["safety_threshold"] = 2
    proposal = propose_next_version(mood_screener, make(mood_mapping))
    assert proposal.level == "minor" and proposal.version == "1.1.0"
    assert proposal.reasons == ["minor: item MD_LOW_4 safety threshold 1 -> 2"]


def test_making_an_item_a_safety_item_is_minor(mood_screener, mood_mapping, make):
    item_of(mood_mapping, "EN_LOW_3")["safety_threshold"] = 3
    proposal = propose_next_version(mood_screener, make(mood_mapping))
    assert proposal.reasons == ["minor: item EN_LOW_3 safety threshold None -> 3"]


def test_page_titles_alone_are_a_patch(real: InstrumentDefinition):
    titled = load_instrument(instrument_path("iemdp", "1.1.0"))
    proposal = propose_next_version(real, titled)
    assert proposal.level == "patch"
    assert proposal.reasons[0] == "patch: construct OE page_title"
