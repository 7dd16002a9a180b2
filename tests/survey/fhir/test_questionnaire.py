"""Instrument versions as FHIR R4 Questionnaires, validated with the fhir.resources models
(R4B: fhir.resources 8 ships R5, R4B and STU3, no R4; R4B's Questionnaire is R4's)."""

from __future__ import annotations

from fhir.resources.R4B.questionnaire import Questionnaire

from survey.services.fhir import extensions as ext
from survey.services.fhir.questionnaire import definition_questionnaire, to_questionnaire

BASE = "https://survey.example.org"


def entries(resource: dict) -> list[dict]:
    return [item for group in resource["item"] for item in group["item"]]


def test_iemdp_as_a_questionnaire(iemdp):
    resource = definition_questionnaire(iemdp, base_url=BASE, resource_id="7", status="active")
    model = Questionnaire.model_validate(resource)  # a validation error fails the test

    assert model.url == f"{BASE}/fhir/Questionnaire/iemdp"
    assert model.version == "1.0.0"
    assert model.status == "active"
    assert model.title == iemdp.title
    assert [(i.system, i.value) for i in model.identifier] == [
        (ext.CONTENT_HASH_SYSTEM, iemdp.content_hash)
    ]
    # one group per page, in page order
    assert [group.linkId for group in model.item] == [page.key for page in iemdp.pages()]
    assert {group.type for group in model.item} == {"group"}
    assert [group.text for group in model.item] == [page.title for page in iemdp.pages()]

    items = [item for item in entries(resource) if not ext.find(item, ext.ATTENTION_CHECK)]
    assert len(items) == 72 == len(iemdp.items)
    assert sorted(item["linkId"] for item in items) == sorted(item.id for item in iemdp.items)
    page_order = [entry.id for page in iemdp.pages() for entry in page.entries]
    assert [item["linkId"] for item in entries(resource)] == page_order
    scale = iemdp.scale("agree5")
    for item in entries(resource):
        entry = iemdp.entry(item["linkId"])
        assert item["type"] == "choice"
        assert item["text"] == entry.text
        assert item["required"] is not entry.optional
        codings = [option["valueCoding"] for option in item["answerOption"]]
        options = [(coding["code"], coding["display"]) for coding in codings]
        assert options == [(str(o.value), o.label) for o in scale.options]
    reversed_ids = {
        item["linkId"]
        for item in entries(resource)
        if any(ext.value_of(e) is True for e in ext.find(item, ext.REVERSE_KEYED))
    }
    assert reversed_ids == {item.id for item in iemdp.items if item.reverse}
    checks = {
        item["linkId"]: ext.value_of(ext.find(item, ext.ATTENTION_CHECK)[0])
        for item in entries(resource)
        if ext.find(item, ext.ATTENTION_CHECK)
    }
    assert checks == {check.id: check.expected for check in iemdp.attention_checks}


def test_an_optional_item_is_not_required_and_a_safety_item_says_its_threshold(
    make_definition,
):
    definition = make_definition(optional=["AA_S_2"])
    resource = definition_questionnaire(definition, base_url=BASE)
    Questionnaire.model_validate(resource)
    by_id = {item["linkId"]: item for item in entries(resource)}
    assert by_id["AA_S_2"]["required"] is False
    assert by_id["AA_S_1"]["required"] is True
    assert not ext.find(by_id["AA_S_1"], ext.SAFETY_THRESHOLD)


def test_stored_versions_carry_id_status_and_date(app, db_session, small):
    from survey.models import utcnow
    from survey.services import instruments, versions

    published, _ = instruments.import_definition(small)
    resource = to_questionnaire(published, base_url=BASE + "/")
    Questionnaire.model_validate(resource)
    assert resource["id"] == str(published.id)
    assert resource["status"] == "active"
    assert resource["url"] == f"{BASE}/fhir/Questionnaire/small"  # no double slash
    assert resource["date"].endswith("Z")

    draft, _proposal = versions.create_draft_from(published, actor=None)
    assert to_questionnaire(draft, base_url=BASE)["status"] == "draft"
    versions.retire(published, actor=None, now=utcnow())
    assert to_questionnaire(published, base_url=BASE)["status"] == "retired"
