"""Importing a simple single-choice FHIR Questionnaire into a draft version: the round trip
of our own export, foreign questionnaires (fixtures), and every rejection by linkId."""

from __future__ import annotations

import copy
import dataclasses
import json

import pytest
from fhir.resources.R4B.questionnaire import Questionnaire

from instruments.loader import InstrumentValidationError
from survey.services.fhir import extensions as ext
from survey.services.fhir.importer import questionnaire_definition
from survey.services.fhir.questionnaire import definition_questionnaire
from tests.survey.fhir.conftest import FIXTURES, fixture_json

BASE = "https://survey.example.org"


def problems_of(data, **options) -> list[str]:
    with pytest.raises(InstrumentValidationError) as raised:
        questionnaire_definition(data, source_name="q.json", **options)
    return [str(problem) for problem in raised.value.problems]


# -- round trip ----------------------------------------------------------------------------
def test_the_small_instrument_round_trips_into_an_equal_draft(app, db_session, small):
    from survey.models import VersionStatus
    from survey.services.fhir import import_questionnaire, to_questionnaire
    from survey.services.instruments import definition_of, import_definition

    published, _ = import_definition(small)
    exported = json.dumps(to_questionnaire(published, base_url=BASE))
    draft, created = import_questionnaire(exported, key="small-copy", source_name="small.json")
    assert created and draft.status == VersionStatus.DRAFT
    again = definition_of(draft)
    # items (ids, wording, reverse keys, scales, optional), pages, checks, scales: all equal
    assert again == dataclasses.replace(small, key="small-copy")
    assert [(i.id, i.text, i.reverse, i.scale) for i in again.items] == [
        (i.id, i.text, i.reverse, i.scale) for i in small.items
    ]
    assert again.response_scales == small.response_scales
    assert again.attention_checks == small.attention_checks

    # the same key: the same content is the published version itself, nothing new
    same, created = import_questionnaire(exported, source_name="small.json")
    assert (same.id, created) == (published.id, False)


def test_other_content_under_a_stored_version_is_refused(app, db_session, small):
    from survey.services.errors import VersionConflict
    from survey.services.fhir import import_questionnaire, to_questionnaire
    from survey.services.instruments import import_definition

    published, _ = import_definition(small)
    resource = to_questionnaire(published, base_url=BASE)
    resource["item"][0]["item"][0]["text"] = "Changed wording."
    with pytest.raises(VersionConflict, match="exists already"):
        import_questionnaire(resource)


def test_iemdp_round_trips_to_the_same_content_hash(iemdp):
    resource = definition_questionnaire(iemdp, base_url=BASE)
    again = questionnaire_definition(json.dumps(resource))
    assert again == iemdp
    assert again.content_hash == iemdp.content_hash


def test_without_our_extensions_items_are_not_reverse_keyed(small):
    resource = definition_questionnaire(small, base_url=BASE)
    for group in resource["item"]:
        group.pop("extension")
        for item in group["item"]:
            item["extension"] = ext.find(item, ext.ATTENTION_CHECK)
    again = questionnaire_definition(resource)
    assert [item.reverse for item in again.items] == [False] * len(small.items)
    assert [(i.id, i.text) for i in again.items] == [(i.id, i.text) for i in small.items]
    assert [c.code for c in again.constructs] == ["AA", "BB"]  # the groups' linkIds
    assert [s.key for s in again.response_scales] == ["options1"]
    assert again.response_scales[0].options == small.response_scales[0].options
    assert again.attention_checks == tuple(
        dataclasses.replace(check, scale="options1") for check in small.attention_checks
    )
    assert again.constructs[0].domain == "imported"


# -- foreign questionnaires ----------------------------------------------------------------
def test_a_grouped_questionnaire_with_coded_options():
    data = fixture_json("worry-sleep.json")
    Questionnaire.model_validate(data)
    definition = questionnaire_definition(json.dumps(data), source_name="worry-sleep.json")
    assert (definition.key, definition.version) == ("worry-sleep", "2.1.0")
    assert definition.title == "Worry and sleep"
    assert definition.intro == "Some questions about worry and about sleep."
    assert definition.citation == "Example Clinic"
    # "page-1" is no construct code; SLEEP is (and names no subconstruct)
    assert [c.code for c in definition.constructs] == ["PAGE1", "SLEEP"]
    assert [p.title for p in definition.pages()] == [group["text"] for group in data["item"]]
    assert [s.code for s in definition.subconstructs] == ["WOR", "SLP"]
    assert [i.id for i in definition.items] == [
        item["linkId"] for group in data["item"] for item in group["item"]
    ]
    # one scale per distinct option set
    assert [(s.key, s.values) for s in definition.response_scales] == [
        ("options1", (0, 1, 2, 3)),
        ("options2", (1, 2, 3, 4, 5)),
    ]
    assert definition.scale("options1").options[1].label == "Several days"
    assert [i.optional for i in definition.items] == [False] * 6 + [True]
    assert not any(item.reverse for item in definition.items)


def test_a_flat_questionnaire_with_integer_options_is_one_page():
    data = fixture_json("mood-flat-integer.json")
    Questionnaire.model_validate(data)
    definition = questionnaire_definition(json.dumps(data), source_name="mood.json")
    assert (definition.key, definition.version, definition.title) == ("mood", "1.0.0", "Mood")
    assert len(definition.pages()) == 1
    assert definition.pages()[0].title == "Mood"
    assert [(o.value, o.label) for o in definition.response_scales[0].options] == [
        (1, "1"),
        (2, "2"),
        (3, "3"),
        (4, "4"),
    ]
    assert all(item.optional for item in definition.items)  # required is false by default


def test_the_key_argument_wins(small):
    resource = definition_questionnaire(small, base_url=BASE)
    assert questionnaire_definition(resource, key="renamed").key == "renamed"


# -- rejections ----------------------------------------------------------------------------
def test_every_problem_of_the_rejected_fixture_by_linkid():
    problems = problems_of((FIXTURES / "rejected.json").read_bytes())
    expected = [
        "q.json: linkId 'NEST': a group inside a group is not supported: one level of groups only",
        "q.json: linkId 'FREE_1': type 'string' is not supported: only single-choice items "
        "(type 'choice') with answerOption",
        "q.json: item[0].item[2]: has no linkId",
        "q.json: linkId 'DUP_1': duplicate linkId (also at item[0].item[3]); every item needs "
        "its own",
        "q.json: linkId 'CODE_1': answerOption[0]: code 'a' is not an integer: the codes are "
        "the values stored and scored",
        "q.json: linkId 'CODE_1': answerOption[1]: code 'b' is not an integer: the codes are "
        "the values stored and scored",
        "q.json: linkId 'VS_1': answerValueSet is not supported: list the options as answerOption",
        "q.json: linkId 'MULTI_1': repeats (several answers) is not supported: single choice only",
        "q.json: linkId 'COND_1': enableWhen (conditional display) is not supported",
        "q.json: linkId 'STR_1': answerOption[0]: valueString is not supported: use "
        "valueCoding with an integer code, or valueInteger",
        "q.json: linkId 'STR_1': answerOption[1]: valueString is not supported: use "
        "valueCoding with an integer code, or valueInteger",
        "q.json: linkId 'q7': is not an item id of the form <SUBCONSTRUCT>_<n> (an upper-case "
        "code and a number from 1, e.g. GAD_1): items are grouped into subconstructs by it",
    ]
    assert problems == expected


@pytest.fixture
def worry():
    return fixture_json("worry-sleep.json")


def test_not_json_not_a_questionnaire_no_items():
    assert problems_of(b"{nope") == [
        "q.json: not valid JSON: line 1 column 2: Expecting property name enclosed in double quotes"
    ]
    assert problems_of(b"\xff\xfe")[0].startswith("q.json: not valid UTF-8")
    assert problems_of('{"resourceType": "Patient"}') == [
        "q.json: resourceType: must be 'Questionnaire', got 'Patient'"
    ]
    assert problems_of("[1]") == [
        "q.json: resourceType: the file must hold one FHIR resource (a JSON object)"
    ]
    assert problems_of({"resourceType": "Questionnaire", "status": "draft"}) == [
        "q.json: item: the Questionnaire has no items"
    ]


def test_groups_and_loose_items_are_not_mixed(worry):
    worry["item"].append(copy.deepcopy(worry["item"][1]["item"][0]) | {"linkId": "SLP_9"})
    assert problems_of(worry) == [
        "q.json: linkId 'SLP_9': is not a group while other top-level items are: put every "
        "item in a group (one page each) or none"
    ]


def test_an_empty_group_and_a_missing_text_and_options(worry):
    worry["item"][1]["item"] = []
    del worry["item"][0]["item"][0]["text"]
    del worry["item"][0]["item"][1]["answerOption"]
    assert problems_of(worry) == [
        "q.json: linkId 'WOR_1': has no text (the item's wording)",
        "q.json: linkId 'WOR_2': has no answerOption (the response options)",
        "q.json: linkId 'SLEEP': the group has no items",
    ]


def test_duplicate_codes_in_one_item(worry):
    options = worry["item"][0]["item"][0]["answerOption"]
    options[1]["valueCoding"]["code"] = "0"
    assert problems_of(worry) == ["q.json: linkId 'WOR_1': answerOption[1]: duplicate code 0"]


def test_what_the_instrument_format_refuses_is_named_by_linkid(worry):
    # a subconstruct of two items; a group mixing two option sets
    del worry["item"][1]["item"][2]
    worry["item"][0]["item"][3]["answerOption"] = worry["item"][1]["item"][0]["answerOption"]
    problems = problems_of(worry)
    assert (
        "q.json: subconstruct SLP (linkId 'SLP_1') (items): has 2 items; a subconstruct "
        "needs at least 3" in problems
    )
    assert any(
        p.startswith("q.json: linkId 'WOR_4' (scale): 'options2' differs from 'options1'")
        for p in problems
    ), problems


def test_items_of_a_subconstruct_follow_each_other(worry):
    items = worry["item"][0]["item"]
    worry["item"][0]["item"] = [items[0], *worry["item"][1]["item"], *items[1:]]
    del worry["item"][1]
    assert problems_of(worry)[0] == (
        "q.json: linkId 'WOR_2': the items of subconstruct WOR must follow each other in their "
        "group (the instrument format nests items under subconstructs)"
    )


def test_a_version_that_is_no_semantic_version(worry):
    worry["version"] = "2.1"
    (problem,) = problems_of(worry)
    assert problem.startswith("q.json: version: ")


def test_no_key_to_be_found(worry):
    del worry["url"], worry["name"]
    assert problems_of(worry) == [
        "q.json: key: cannot tell the instrument's key: give one (--key), or a url ending in "
        "/Questionnaire/<key>, or a name"
    ]
    assert questionnaire_definition(worry, key="worry").key == "worry"


def test_a_scale_key_used_with_two_option_sets(small):
    resource = definition_questionnaire(small, base_url=BASE)
    resource["item"][1]["item"][0]["answerOption"].pop()
    problems = problems_of(resource)
    assert problems == [
        "q.json: linkId 'BB_S_1': response scale 'agree3' has other options here than at "
        "linkId 'AA_S_1'"
    ]


def test_characters_text_cannot_hold_and_deep_nesting(worry):
    worry["item"][0]["item"][0]["text"] = "Nervous\u0000 on edge"
    worry["title"] = "Worry \ud800"
    text = json.dumps(worry)  # escapes both: valid JSON
    assert problems_of(text) == [
        "q.json: title: holds the character U+D800, which text cannot hold (a control "
        "character or half of a surrogate pair)",
        "q.json: item[0].item[0].text: holds the character U+0000, which text cannot hold (a "
        "control character or half of a surrogate pair)",
    ]
    assert problems_of("[" * 100_000 + "]" * 100_000) == [
        "q.json: not valid JSON here: nested too deeply"
    ]
