"""Tests for instruments.diff: each kind of change detected, and nothing else."""

from __future__ import annotations

import copy
import doctest
import json
from typing import Any

import pytest

from instruments import diff as diff_module
from instruments.definition import InstrumentDefinition
from instruments.diff import (
    Change,
    InstrumentDiff,
    Move,
    Reordering,
    ScaleChange,
    StructureChange,
    diff_versions,
    identical_items,
    word_diff,
)
from instruments.loader import instrument_path, load_instrument


def sub_of(mapping: dict[str, Any], code: str) -> dict[str, Any]:
    for construct in mapping["constructs"]:
        for sub in construct["subconstructs"]:
            if sub["code"] == code:
                return sub
    raise KeyError(code)


def item_of(mapping: dict[str, Any], item_id: str) -> dict[str, Any]:
    for construct in mapping["constructs"]:
        for sub in construct["subconstructs"]:
            for item in sub["items"]:
                if item["id"] == item_id:
                    return item
    raise KeyError(item_id)


def nonempty_groups(diff: InstrumentDiff) -> set[str]:
    return {group for group in InstrumentDiff._GROUPS if getattr(diff, group)}


@pytest.fixture
def new(small_mapping: dict[str, Any]) -> dict[str, Any]:
    """The next version's mapping, to modify."""
    return small_mapping | {"version": "0.4.0"}


def test_docstring_examples():
    result = doctest.testmod(diff_module, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0


# --------------------------------------------------------------------------------------
# no change
# --------------------------------------------------------------------------------------
def test_same_content_is_an_empty_diff(small: InstrumentDefinition, new, make):
    diff = diff_versions(small, make(new))
    assert diff.is_empty and diff.change_count == 0
    assert (diff.key, diff.old_version, diff.new_version) == ("mini-test", "0.3.0", "0.4.0")
    assert diff.summary() == "mini-test 0.3.0 -> 0.4.0: no changes"
    assert diff.to_dict()["is_empty"] is True


def test_real_instrument_against_itself(real: InstrumentDefinition):
    assert diff_versions(real, real).is_empty
    assert identical_items(real, real) == [item.id for item in real.items]


# --------------------------------------------------------------------------------------
# one change each
# --------------------------------------------------------------------------------------
def test_reworded_item(small: InstrumentDefinition, new, make):
    item_of(new, "AA_X_1")["text"] = "I feel relaxed when I write."
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"reworded"}
    (rewording,) = diff.reworded
    assert rewording.id == "AA_X_1"
    assert rewording.old_text == "I feel calm when I write."
    assert rewording.new_text == "I feel relaxed when I write."
    assert rewording.ops == (
        ("equal", "I feel"),
        ("delete", "calm"),
        ("insert", "relaxed"),
        ("equal", "when I write."),
    )
    assert rewording.words.changed_words == 1
    assert rewording.words.similarity == pytest.approx(2 * 5 / 12)
    assert "AA_X_1" not in identical_items(small, make(new))


def test_added_item(small: InstrumentDefinition, new, make):
    sub_of(new, "AA_Y")["items"].append(
        {"id": "AA_Y_5", "text": "A new item.", "reverse": False, "scale": "agree5"}
    )
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"items_added"}
    assert [item.id for item in diff.items_added] == ["AA_Y_5"]
    assert diff.items_added[0].subconstruct == "AA_Y"


def test_removed_item(small: InstrumentDefinition, new, make):
    del sub_of(new, "AA_X")["items"][1]
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"items_removed"}
    assert [item.id for item in diff.items_removed] == ["AA_X_2"]


def test_rekeyed_item(small: InstrumentDefinition, new, make):
    item_of(new, "AA_Y_2")["reverse"] = True
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"rekeyed"}
    assert diff.rekeyed == (Change("AA_Y_2", "reverse", False, True),)
    assert "AA_Y_2" not in identical_items(small, make(new))


def test_item_moved_to_another_subconstruct(small: InstrumentDefinition, new, make):
    # Ids are tied to their subconstruct, so a moved item has a new id.
    moved = sub_of(new, "AA_X")["items"].pop(2)  # AA_X_3
    sub_of(new, "AA_Y")["items"].append(moved | {"id": "AA_Y_4"})
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"moved"}
    assert diff.moved == (Move("AA_X_3", "AA_Y_4", "AA_X", "AA_Y", "AA", "AA"),)
    assert "AA_Y_4" not in identical_items(small, make(new))


def test_move_with_rewording_and_rekeying_reports_all_three(small, new, make):
    moved = sub_of(new, "AA_X")["items"].pop(2)
    sub_of(new, "AA_Y")["items"].append(moved | {"id": "AA_Y_4", "reverse": False})
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"moved", "rekeyed"}
    assert diff.rekeyed == (Change("AA_Y_4", "reverse", True, False),)


def test_same_text_removed_and_added_in_one_subconstruct_is_not_a_move(small, new, make):
    sub_of(new, "AA_X")["items"][0]["id"] = "AA_X_9"  # renumbered
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"items_added", "items_removed"}


def test_changed_scale_of_items(small: InstrumentDefinition, new, make):
    for item in sub_of(new, "BB_Z")["items"]:
        item["scale"] = "agree5"
    new["attention_checks"][0]["scale"] = "agree5"
    new["attention_checks"][0]["expected"] = 5
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"item_scale_changed", "checks_changed"}
    assert [c.subject for c in diff.item_scale_changed] == ["BB_Z_1", "BB_Z_2", "BB_Z_3"]
    assert diff.item_scale_changed[0] == Change("BB_Z_1", "scale", "often3", "agree5")
    assert {c.field for c in diff.checks_changed} == {"scale", "expected"}
    assert not {"BB_Z_1", "BB_Z_2", "BB_Z_3"} & set(identical_items(small, make(new)))


def test_response_scale_options_relabelled_added_removed(small: InstrumentDefinition, new, make):
    options = new["response_scales"]["agree5"]
    options[2]["label"] = "Unsure"
    options.insert(0, {"value": 0, "label": "Totally disagree"})
    options.append({"value": 6, "label": "Totally agree"})
    new["response_scales"]["often3"].reverse()
    del new["response_scales"]["unused"]
    new["response_scales"]["yesno"] = [{"value": 0, "label": "n"}, {"value": 1, "label": "y"}]
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"scale_changes"}
    assert diff.scale_changes == (
        ScaleChange("unused", "removed"),
        ScaleChange("agree5", "option_added", 0, new="Totally disagree"),
        ScaleChange(
            "agree5", "option_relabelled", 3, old="Neither agree nor disagree", new="Unsure"
        ),
        ScaleChange("agree5", "option_added", 6, new="Totally agree"),
        ScaleChange("often3", "options_reordered", old=(0, 1, 2), new=(2, 1, 0)),
        ScaleChange("yesno", "added"),
    )
    # Items on a changed scale are no longer the same measurement.
    assert identical_items(small, make(new)) == []


def test_renaming_a_scale_key_keeps_items_identical(small, new, make):
    new["response_scales"] = {
        ("agree_5" if key == "agree5" else key): value
        for key, value in new["response_scales"].items()
    }
    for construct in new["constructs"][:1]:
        for sub in construct["subconstructs"]:
            for item in sub["items"]:
                item["scale"] = "agree_5"
    new["attention_checks"][1]["scale"] = "agree_5"
    diff = diff_versions(small, make(new))
    assert {"item_scale_changed", "scale_changes"} <= nonempty_groups(diff)
    assert identical_items(small, make(new)) == [item.id for item in small.items]


def test_optional_flag(small: InstrumentDefinition, new, make):
    item_of(new, "AA_X_4")["optional"] = False
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"optional_changed"}
    assert diff.optional_changed == (Change("AA_X_4", "optional", True, False),)
    assert "AA_X_4" in identical_items(small, make(new))


def test_order_within_a_page(small: InstrumentDefinition, new, make):
    items = sub_of(new, "AA_Y")["items"]
    items[0], items[2] = items[2], items[0]
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"reordered"}
    (reordering,) = diff.reordered
    assert reordering.scope == "AA"
    assert reordering.old[-3:] == ("AA_Y_1", "AA_Y_2", "AA_Y_3")
    assert reordering.new[-3:] == ("AA_Y_3", "AA_Y_2", "AA_Y_1")
    assert set(identical_items(small, make(new))) == {item.id for item in small.items}


def test_page_order(small: InstrumentDefinition, new, make):
    new["constructs"].reverse()
    diff = diff_versions(small, make(new))
    assert diff.reordered == (Reordering("pages", ("AA", "BB"), ("BB", "AA")),)
    assert nonempty_groups(diff) == {"reordered"}


def test_attention_checks(small: InstrumentDefinition, new, make):
    new["attention_checks"][1]["position"] = 3
    new["attention_checks"][1]["text"] = "Please choose 'Disagree'."
    del new["attention_checks"][0]
    new["attention_checks"].append(
        {"id": "ATTN_C", "text": "Choose 'Never'.", "scale": "often3", "expected": 0,
         "page": "BB", "position": 3}
    )  # fmt: skip
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"checks_added", "checks_removed", "checks_changed"}
    assert [c.id for c in diff.checks_added] == ["ATTN_C"]
    assert [c.id for c in diff.checks_removed] == ["attn_b"]
    assert [(c.subject, c.field) for c in diff.checks_changed] == [
        ("ATTN_A", "text"),
        ("ATTN_A", "position"),
    ]


def test_metadata(small: InstrumentDefinition, new, make):
    new |= {"title": "T", "intro": "I", "citation": "C", "shuffle_items": False}
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"metadata"}
    assert [c.field for c in diff.metadata] == ["title", "intro", "citation", "shuffle_items"]
    assert diff.metadata[-1] == Change("instrument", "shuffle_items", True, False)


def test_construct_and_subconstruct_renamed_redescribed(small, new, make):
    new["constructs"][0] |= {"name": "Alpha two", "domain": "interpersonal"}
    sub_of(new, "AA_Y").update(description="Y facet, better.", name="Wye")
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"structure"}
    assert diff.structure == (
        StructureChange("construct", "AA", "renamed", "Alpha", "Alpha two"),
        StructureChange("construct", "AA", "domain", "intrapsychic", "interpersonal"),
        StructureChange("subconstruct", "AA_Y", "renamed", "Why", "Wye"),
        StructureChange("subconstruct", "AA_Y", "redescribed", "Y facet.", "Y facet, better."),
    )


def test_subconstruct_orientation(small, new, make):
    sub_of(new, "AA_Y")["reverse"] = False
    diff = diff_versions(small, make(new))
    assert diff.structure == (StructureChange("subconstruct", "AA_Y", "reverse", True, False),)
    assert nonempty_groups(diff) == {"structure"}


def test_construct_and_subconstruct_added_and_removed(small, new, make):
    added = copy.deepcopy(new["constructs"][1])
    added |= {"code": "CC", "name": "Gamma"}
    added["subconstructs"][0] |= {"code": "CC_W", "name": "Double-u"}
    for n, item in enumerate(added["subconstructs"][0]["items"], start=1):
        item["id"] = f"CC_W_{n}"
        item["text"] += " (again)"
    new["constructs"].append(added)
    new["constructs"][0]["subconstructs"].pop()  # AA_Y removed
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"structure", "items_added", "items_removed"}
    assert diff.structure == (
        StructureChange("construct", "CC", "added", new="Gamma"),
        StructureChange("subconstruct", "AA_Y", "removed", old="Why"),
        StructureChange("subconstruct", "CC_W", "added", new="Double-u"),
    )
    assert [i.id for i in diff.items_added] == ["CC_W_1", "CC_W_2", "CC_W_3"]
    assert [i.id for i in diff.items_removed] == ["AA_Y_1", "AA_Y_2", "AA_Y_3"]


def test_recoded_subconstruct_moves_its_items(small, new, make):
    sub = sub_of(new, "BB_Z")
    sub["code"] = "BB_Q"
    for item in sub["items"]:
        item["id"] = item["id"].replace("BB_Z", "BB_Q")
    diff = diff_versions(small, make(new))
    assert nonempty_groups(diff) == {"structure", "moved"}
    assert diff.structure == (StructureChange("subconstruct", "BB_Q", "recoded", "BB_Z", "BB_Q"),)
    assert [(m.old_id, m.new_id) for m in diff.moved] == [
        ("BB_Z_1", "BB_Q_1"),
        ("BB_Z_2", "BB_Q_2"),
        ("BB_Z_3", "BB_Q_3"),
    ]


def test_subconstruct_moved_to_another_construct(small, new, make):
    moved = new["constructs"][0]["subconstructs"].pop()  # AA_Y
    new["constructs"][1]["subconstructs"].append(moved)
    for item in moved["items"]:
        item["scale"] = "often3"  # one scale per construct
    new["attention_checks"][0]["position"] = 0
    diff = diff_versions(small, make(new))
    assert StructureChange("subconstruct", "AA_Y", "moved", "AA", "BB") in diff.structure
    assert [m.new_id for m in diff.moved] == ["AA_Y_1", "AA_Y_2", "AA_Y_3"]
    assert diff.moved[0] == Move("AA_Y_1", "AA_Y_1", "AA_Y", "AA_Y", "AA", "BB")


# --------------------------------------------------------------------------------------
# identical_items
# --------------------------------------------------------------------------------------
def test_identical_items_lists_unchanged_items_in_new_order(small, new, make):
    item_of(new, "AA_X_2")["text"] = "Changed."
    item_of(new, "AA_Y_1")["reverse"] = True
    sub_of(new, "BB_Z")["items"].reverse()
    assert identical_items(small, make(new)) == [
        "AA_X_1", "AA_X_3", "AA_X_4", "AA_Y_2", "AA_Y_3", "BB_Z_3", "BB_Z_2", "BB_Z_1",
    ]  # fmt: skip


# --------------------------------------------------------------------------------------
# word_diff, to_dict, summary
# --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("old", "new", "changed", "cosmetic"),
    [
        ("a b c", "a b c", 0, True),
        ("a b c", "a x c", 1, False),
        ("a b c", "a c", 1, False),
        ("a b c d", "a x y z d", 3, False),
        ("Hello, world", "hello world!", 2, True),
        ("a  b", "a b", 0, True),
    ],
)
def test_word_diff_counts(old: str, new: str, changed: int, cosmetic: bool):
    result = word_diff(old, new)
    assert result.changed_words == changed
    assert result.cosmetic is cosmetic
    rebuilt_old = " ".join(w for op, w in result.ops if op in ("equal", "delete"))
    rebuilt_new = " ".join(w for op, w in result.ops if op in ("equal", "insert"))
    assert rebuilt_old.split() == old.split() and rebuilt_new.split() == new.split()


def test_replacements():
    assert word_diff("a b c d", "a x c y").replacements() == (("b", "x"), ("d", "y"))
    assert word_diff("a b", "a b c").replacements() is None
    assert word_diff("a b c", "a x y c").replacements() is None
    assert word_diff("a b c d", "x y c d").replacements() == (("a", "x"), ("b", "y"))


def test_to_dict_is_json_ready(small: InstrumentDefinition, new, make):
    item_of(new, "AA_X_1")["text"] = "I feel relaxed when I write."
    del sub_of(new, "AA_X")["items"][1]
    new["response_scales"]["agree5"][2]["label"] = "Unsure"
    data = json.loads(json.dumps(diff_versions(small, make(new)).to_dict()))
    assert data["is_empty"] is False
    assert data["reworded"][0]["ops"][1] == ["delete", "calm"]
    assert data["reworded"][0]["words"]["changed_words"] == 1
    assert data["items_removed"][0]["id"] == "AA_X_2"
    assert data["scale_changes"][0]["change"] == "option_relabelled"
    assert data["moved"] == []


def test_summary_has_one_line_per_change(small: InstrumentDefinition, new, make):
    item_of(new, "AA_X_1")["text"] = "I feel relaxed when I write."
    item_of(new, "AA_Y_2")["reverse"] = True
    new["title"] = "New title"
    diff = diff_versions(small, make(new))
    lines = diff.summary().splitlines()
    assert lines[0] == "mini-test 0.3.0 -> 0.4.0: 3 changes"
    assert lines[1:] == [
        "  reworded AA_X_1: I feel [-calm-] {+relaxed+} when I write.",
        "  re-keyed AA_Y_2: reverse false -> true",
        "  title: 'Mini instrument – für Tests “quoted”' -> 'New title'",
    ]


def test_summary_covers_every_kind(small: InstrumentDefinition, new, make):
    moved = sub_of(new, "AA_X")["items"].pop(2)
    sub_of(new, "AA_Y")["items"].append(moved | {"id": "AA_Y_4"})
    item_of(new, "AA_X_4")["optional"] = False
    new["constructs"].reverse()
    new["response_scales"]["agree5"][2]["label"] = "Unsure"
    new["attention_checks"][0]["expected"] = 1
    new["constructs"][0]["name"] = "Beta two"
    text = diff_versions(small, make(new)).summary()
    for expected in (
        "moved AA_X_3 -> AA_Y_4: AA_X -> AA_Y",
        "optional of AA_X_4: True -> False",
        "page order: AA, BB -> BB, AA",
        "response scale agree5: option 3 relabelled 'Neither agree nor disagree' -> 'Unsure'",
        "attention check attn_b: expected 2 -> 1",
        "construct BB renamed: 'Beta' -> 'Beta two'",
    ):
        assert expected in text


# --------------------------------------------------------------------------------------
# page titles and safety thresholds
# --------------------------------------------------------------------------------------
def test_a_changed_safety_threshold_is_reported(mood_screener, mood_mapping, make):
    item_of(mood_mapping, "MD_LOW_4")["safety_threshold"] = 2
    item_of(mood_mapping, "EN_INT_2")["safety_threshold"] = 3
    diff = diff_versions(mood_screener, make(mood_mapping | {"version": "1.1.0"}))
    assert nonempty_groups(diff) == {"safety_changed"}
    assert diff.safety_changed == (
        Change("MD_LOW_4", "safety_threshold", 1, 2),
        Change("EN_INT_2", "safety_threshold", None, 3),
    )
    assert diff.summary().splitlines()[1:] == [
        "  safety threshold of MD_LOW_4: 1 -> 2",
        "  safety threshold of EN_INT_2: none -> 3",
    ]
    assert diff.to_dict()["safety_changed"][0] == {
        "subject": "MD_LOW_4",
        "field": "safety_threshold",
        "old": 1,
        "new": 2,
    }


def test_a_removed_safety_threshold_is_reported(mood_screener, mood_mapping, make):
    del item_of(mood_mapping, "MD_LOW_4")["safety_threshold"]
    diff = diff_versions(mood_screener, make(mood_mapping))
    assert diff.safety_changed == (Change("MD_LOW_4", "safety_threshold", 1, None),)
    assert "safety threshold of MD_LOW_4: 1 -> none" in diff.summary()


def test_a_safety_threshold_does_not_change_the_measurement(mood_screener, mood_mapping, make):
    item_of(mood_mapping, "MD_LOW_4")["safety_threshold"] = 3
    new = make(mood_mapping)
    assert identical_items(mood_screener, new) == [item.id for item in new.items]


def test_page_title_changes_are_structure_changes(mood_screener, mood_mapping, make):
    mood_mapping["constructs"][0]["page_title"] = "Your mood"
    del mood_mapping["constructs"][1]["page_title"]
    diff = diff_versions(mood_screener, make(mood_mapping))
    assert nonempty_groups(diff) == {"structure"}
    assert diff.structure == (
        StructureChange("construct", "MD", "page_title", "How you have been feeling", "Your mood"),
        StructureChange("construct", "EN", "page_title", "Your energy and interest in things"),
    )
    assert "construct MD page_title: 'How you have been feeling' -> 'Your mood'" in diff.summary()


def test_iemdp_1_1_0_differs_from_1_0_0_only_in_page_titles(real: InstrumentDefinition):
    titled = load_instrument(instrument_path("iemdp", "1.1.0"))
    diff = diff_versions(real, titled)
    assert nonempty_groups(diff) == {"structure"}
    assert {s.change for s in diff.structure} == {"page_title"}
    assert [s.code for s in diff.structure] == [c.code for c in real.constructs]
    assert all(s.old is None and s.new for s in diff.structure)
    assert identical_items(real, titled) == [item.id for item in real.items]
