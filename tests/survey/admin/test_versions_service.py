"""The version lifecycle in the service layer (survey.services.versions)."""

from __future__ import annotations

import copy

import pytest
from sqlalchemy import func, select

from instruments.loader import parse_definition
from survey.models import AuditEvent, InstrumentVersion, VersionStatus
from survey.services import studies, versions
from survey.services.errors import (
    DraftChanged,
    InvalidDefinition,
    InvalidVersionNumber,
    NoChanges,
    VersionIsDraft,
    VersionNotPublished,
    VersionPublished,
    VersionRetired,
)
from survey.services.instruments import definition_of


def events(db_session, action):
    return list(
        db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


def count(db_session, model):
    return db_session.scalar(select(func.count()).select_from(model))


# -- new version from this one ---------------------------------------------------------------
def test_new_draft_copies_the_content_with_the_next_number(db_session, version_admin, published):
    draft, proposal = versions.create_draft_from(published, actor=version_admin, level="minor")
    db_session.commit()
    assert draft.status == VersionStatus.DRAFT
    assert draft.version == proposal.version == "1.1.0"
    assert proposal.level == "minor"
    assert draft.parent is published
    assert draft.content == copy.deepcopy(published.content) | {"version": "1.1.0"}
    assert draft.content_hash == definition_of(draft).content_hash
    assert draft.published_at is None
    [event] = events(db_session, "draft_created")
    assert event.actor_id == version_admin.id
    assert event.target_id == str(draft.id)
    assert (event.hash_before, event.hash_after) == (published.content_hash, draft.content_hash)


def test_new_draft_numbers_skip_taken_ones_and_explicit_numbers_are_checked(
    db_session, version_admin, published
):
    assert versions.number_choices(published) == [
        ("patch", "1.0.1"),
        ("minor", "1.1.0"),
        ("major", "2.0.0"),
    ]
    first, _ = versions.create_draft_from(published, actor=version_admin)
    assert first.version == "1.0.1"
    second, _ = versions.create_draft_from(published, actor=version_admin)
    assert second.version == "1.0.2"
    explicit, proposal = versions.create_draft_from(
        published, actor=version_admin, new_version="3.0.0"
    )
    assert (explicit.version, proposal.level) == ("3.0.0", "major")
    for number, message in [
        ("1.0.1", "exists already"),
        ("1.0", "not a semantic version"),
        ("0.9.0", "not above 1.0.0"),
        ("1.0.0", "exists already"),
    ]:
        with pytest.raises(InvalidVersionNumber, match=message):
            versions.create_draft_from(published, actor=version_admin, new_version=number)


def test_no_new_version_from_a_draft(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    with pytest.raises(VersionIsDraft):
        versions.create_draft_from(draft, actor=version_admin)


# -- editing drafts --------------------------------------------------------------------------
def test_editing_an_item_changes_content_and_hash_and_is_audited(
    db_session, version_admin, published
):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    before = draft.content_hash
    changed = versions.edit_item(
        draft,
        "AA_S_2",
        text="A new statement.",
        reverse=True,
        optional=True,
        position=1,
        actor=version_admin,
        expected_hash=before,
    )
    db_session.commit()
    assert changed
    items = draft.content["constructs"][0]["subconstructs"][0]["items"]
    assert [item["id"] for item in items] == ["AA_S_2", "AA_S_1", "AA_S_3", "AA_S_4"]
    assert items[0] | {} == {
        "id": "AA_S_2",
        "text": "A new statement.",
        "reverse": True,
        "scale": "agree3",
        "type": "likert",
        "optional": True,
    }
    assert draft.content_hash != before
    assert published.content["constructs"][0]["subconstructs"][0]["items"][1]["text"] == (
        "Statement AA 2."
    )
    [event] = events(db_session, "draft_edited")
    assert (event.hash_before, event.hash_after) == (before, draft.content_hash)
    assert event.details["edit"] == "item AA_S_2"


def test_an_edit_without_change_is_not_recorded(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    assert not versions.edit_metadata(
        draft,
        title="Small test instrument",
        citation="Test citation.",
        intro="Intro line one\nline two.\n\nSecond paragraph.",
        shuffle_items=False,
        actor=version_admin,
    )
    assert events(db_session, "draft_edited") == []


def test_an_invalid_edit_is_refused_whole_with_every_problem(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    db_session.commit()
    before = (copy.deepcopy(draft.content), draft.content_hash)
    mapping = copy.deepcopy(draft.content)
    mapping["title"] = "  "
    mapping["constructs"][0]["subconstructs"][0]["items"][1]["id"] = "AA_S_1"
    mapping["constructs"][1]["subconstructs"][0]["items"][0]["reverse"] = "yes"
    mapping["surprise"] = 1
    with pytest.raises(InvalidDefinition) as caught:
        versions.update_draft(draft, mapping, actor=version_admin)
    keys = {problem.key for problem in caught.value.problems}
    assert keys == {
        "title",
        "surprise",
        "constructs[0].subconstructs[0].items[1].id",
        "constructs[1].subconstructs[0].items[0].reverse",
    }
    assert (draft.content, draft.content_hash) == before
    assert events(db_session, "draft_edited") == []


def test_key_and_version_of_a_draft_cannot_be_edited(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    mapping = copy.deepcopy(draft.content) | {"key": "other", "version": "9.0.0"}
    with pytest.raises(InvalidDefinition) as caught:
        versions.update_draft(draft, mapping, actor=version_admin)
    assert [problem.key for problem in caught.value.problems] == ["key", "version"]


def test_removing_below_three_items_is_refused(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    assert versions.remove_item(draft, "AA_S_4", actor=version_admin)
    with pytest.raises(InvalidDefinition, match="needs at least 3"):
        versions.remove_item(draft, "AA_S_3", actor=version_admin)
    ids = [i["id"] for i in draft.content["constructs"][0]["subconstructs"][0]["items"]]
    assert ids == ["AA_S_1", "AA_S_2", "AA_S_3"]


def test_added_items_never_reuse_an_id_of_an_earlier_version(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin, level="major")
    versions.remove_item(draft, "AA_S_4", actor=version_admin)
    versions.publish(draft, actor=version_admin)
    again, _ = versions.create_draft_from(draft, actor=version_admin, level="minor")
    new_id = versions.add_item(
        again, "AA_S", text="A brand new statement.", reverse=False, actor=version_admin
    )
    assert new_id == "AA_S_5"  # AA_S_4 meant another item in 1.0.0
    assert definition_of(again).entry("AA_S_5").scale == "agree3"


def test_a_stale_editor_does_not_overwrite_a_newer_save(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    opened = draft.content_hash
    versions.edit_metadata(
        draft,
        title="Saved first",
        citation="c",
        intro="i",
        shuffle_items=False,
        actor=version_admin,
        expected_hash=opened,
    )
    with pytest.raises(DraftChanged):
        versions.edit_metadata(
            draft,
            title="Saved second",
            citation="c",
            intro="i",
            shuffle_items=False,
            actor=version_admin,
            expected_hash=opened,
        )
    assert draft.content["title"] == "Saved first"


def test_yaml_editor_reports_what_the_loader_reports(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    text = versions.draft_yaml(draft)
    assert "\nformat: 1\n" in text
    bad = text.replace("title: Small test instrument", "title: A\ntitle: B\nshuffle: yes")
    with pytest.raises(InvalidDefinition) as caught:
        versions.replace_with_yaml(draft, bad, actor=version_admin)
    messages = [str(problem) for problem in caught.value.problems]
    assert any("duplicate key" in message for message in messages)
    assert any("shuffle: unknown key" in message for message in messages)
    assert versions.replace_with_yaml(
        draft, text.replace("Statement BB 4.", "Statement BB four."), actor=version_admin
    )
    assert definition_of(draft).entry("BB_S_4").text == "Statement BB four."


def test_attention_checks_and_scales_are_editable(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    versions.edit_attention_check(
        draft,
        "ATTN_1",
        text="Choose 'Agree'.",
        expected=3,
        page="AA",
        position=0,
        optional=False,
        actor=version_admin,
    )
    versions.edit_response_scale(
        draft, "agree3", [(1, "Disagree"), (2, "Undecided"), (3, "Agree")], actor=version_admin
    )
    definition = definition_of(draft)
    assert definition.attention_checks[0].page == "AA"
    assert definition.scale("agree3").options[1].label == "Undecided"
    with pytest.raises(InvalidDefinition, match="not symmetric"):
        versions.edit_response_scale(
            draft, "agree3", [(1, "Disagree"), (2, "Undecided"), (4, "Agree")], actor=version_admin
        )


def test_discarding_a_draft(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    versions.discard_draft(draft, actor=version_admin)
    db_session.commit()
    assert count(db_session, InstrumentVersion) == 1
    with pytest.raises(VersionPublished):
        versions.discard_draft(published, actor=version_admin)


# -- publishing ------------------------------------------------------------------------------
def reword(draft, version_admin, item_id, text):
    item = definition_of(draft).entry(item_id)
    versions.edit_item(
        draft, item_id, text=text, reverse=item.reverse, optional=item.optional, actor=version_admin
    )


@pytest.mark.parametrize(
    ("change", "level", "number"),
    [
        ("typo", "patch", "1.0.1"),
        ("reword", "minor", "1.1.0"),
        ("add", "minor", "1.1.0"),
        ("remove", "major", "2.0.0"),
        ("rekey", "major", "2.0.0"),
    ],
)
def test_publishing_proposes_the_level_the_changes_call_for(
    db_session, version_admin, published, change, level, number
):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    if change == "typo":
        reword(draft, version_admin, "AA_S_1", "Statment AA 1.")
    elif change == "reword":
        reword(draft, version_admin, "AA_S_1", "Something else entirely.")
    elif change == "add":
        versions.add_item(draft, "BB_S", text="Statement BB 5.", reverse=False, actor=version_admin)
    elif change == "remove":
        versions.remove_item(draft, "BB_S_4", actor=version_admin)
    else:
        versions.edit_item(
            draft,
            "AA_S_1",
            text="Statement AA 1.",
            reverse=True,
            optional=False,
            actor=version_admin,
        )
    proposal = versions.publication_proposal(draft)
    assert (proposal.level, proposal.version) == (level, number)
    assert proposal.reasons and proposal.reasons[0].startswith(level)


def test_publish_freezes_and_hashes_the_canonical_content(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    reword(draft, version_admin, "AA_S_1", "Something else entirely.")
    before = draft.content_hash
    with pytest.raises(InvalidVersionNumber, match="too low for these changes.*1.1.0"):
        versions.publish(draft, actor=version_admin)  # 1.0.1 is below the minor proposal
    version, proposal = versions.publish(draft, actor=version_admin, version="1.1.0")
    db_session.commit()
    assert version.status == VersionStatus.PUBLISHED
    assert version.version == "1.1.0" == version.content["version"]
    assert version.published_at is not None
    definition = parse_definition(version.content, "check")
    assert version.content_hash == definition.content_hash
    assert proposal.level == "minor"
    imported, event = events(db_session, "version_published")  # the fixture's, then ours
    assert imported.target_id == str(published.id)
    assert (event.hash_before, event.hash_after) == (before, version.content_hash)
    assert event.details["level"] == "minor"


def test_publish_accepts_a_higher_number_and_refuses_a_taken_one(
    db_session, version_admin, published
):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    reword(draft, version_admin, "AA_S_1", "Statment AA 1.")
    with pytest.raises(InvalidVersionNumber, match="exists already"):
        versions.publish(draft, actor=version_admin, version="1.0.0")
    version, _ = versions.publish(draft, actor=version_admin, version="2.0.0")
    assert version.version == "2.0.0"


def test_a_draft_without_changes_is_not_published(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    with pytest.raises(NoChanges):
        versions.publish(draft, actor=version_admin)
    assert draft.status == VersionStatus.DRAFT


def test_published_versions_refuse_every_service_change(db_session, version_admin, published):
    hash_before = published.content_hash
    with pytest.raises(VersionPublished):
        versions.edit_item(
            published, "AA_S_1", text="x", reverse=False, optional=False, actor=version_admin
        )
    with pytest.raises(VersionPublished):
        versions.update_draft(published, copy.deepcopy(published.content), actor=version_admin)
    with pytest.raises(VersionPublished):
        versions.replace_with_yaml(published, "format: 1", actor=version_admin)
    with pytest.raises(VersionPublished):
        versions.publish(published, actor=version_admin)
    assert published.content_hash == hash_before
    assert events(db_session, "draft_edited") == []


def test_the_orm_guard_refuses_flushing_a_changed_published_version(db_session, published):
    published.content = copy.deepcopy(published.content) | {"title": "Changed"}
    with pytest.raises(VersionPublished, match="content cannot change"):
        db_session.flush()
    db_session.rollback()
    db_session.delete(db_session.get(InstrumentVersion, published.id))
    with pytest.raises(VersionPublished, match="cannot be deleted"):
        db_session.flush()
    db_session.rollback()
    assert db_session.get(InstrumentVersion, published.id).content["title"] != "Changed"


# -- retiring --------------------------------------------------------------------------------
def test_retire_keeps_content_and_refuses_new_studies(db_session, version_admin, published):
    assert versions.usable_for_new_study(published)
    versions.retire(published, actor=version_admin)
    db_session.commit()
    assert published.status == VersionStatus.RETIRED
    assert published.retired_at is not None
    assert not versions.usable_for_new_study(published)
    [event] = events(db_session, "version_retired")
    assert event.hash_after == published.content_hash
    with pytest.raises(VersionRetired):
        versions.retire(published, actor=version_admin)
    with pytest.raises(VersionRetired):
        versions.edit_item(
            published, "AA_S_1", text="x", reverse=False, optional=False, actor=version_admin
        )
    with pytest.raises(VersionRetired, match="retired") as caught:
        studies.create_study(
            name="New",
            slug="new",
            instrument_version=published,
            consent_text="c",
            consent_version="v1",
            urgent_help_note="help",
        )
    assert isinstance(caught.value, VersionNotPublished)
    # A retired version may still be the base of a new version.
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    assert draft.parent is published


def test_drafts_are_not_retired_nor_used_for_studies(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    with pytest.raises(VersionIsDraft):
        versions.retire(draft, actor=version_admin)
    assert not versions.usable_for_new_study(draft)


def test_running_studies_keep_collecting_on_a_retired_version(
    app, client, make_study, small, answers_for
):
    from survey.extensions import db
    from survey.models import Answer
    from survey.services.instruments import find_version

    study = make_study(small)
    with app.app_context():
        versions.retire(find_version("small", "1.0.0"), actor=None)
        db.session.commit()
    assert client.post(f"/p/{study.token}", data={"agree": "I agree"}).status_code == 302
    page = small.pages()[0]
    response = client.post(f"/p/{study.token}/page/1", data=answers_for(page, 3))
    assert response.status_code == 302
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == len(page.entries)


# -- diffs -----------------------------------------------------------------------------------
def test_diff_between_two_versions_lists_every_kind_of_change(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin, level="major")
    mapping = copy.deepcopy(draft.content)
    aa_items = mapping["constructs"][0]["subconstructs"][0]["items"]
    bb_items = mapping["constructs"][1]["subconstructs"][0]["items"]
    aa_items[0]["text"] = "Statement AA one, reworded."  # reworded
    aa_items[1]["reverse"] = True  # re-keyed
    bb_items.pop()  # BB_S_4 removed
    bb_items.append(
        {"id": "BB_S_5", "text": "A new item.", "reverse": False, "scale": "agree3"}
    )  # added
    mapping["response_scales"]["agree3"][1]["label"] = "Neither"  # scale change
    versions.update_draft(draft, mapping, actor=version_admin)
    diff = versions.diff(published, draft)
    assert [r.id for r in diff.reworded] == ["AA_S_1"]
    assert ("delete", "1.") in diff.reworded[0].ops
    assert ("insert", "one, reworded.") in diff.reworded[0].ops
    assert [c.subject for c in diff.rekeyed] == ["AA_S_2"]
    assert [i.id for i in diff.items_removed] == ["BB_S_4"]
    assert [i.id for i in diff.items_added] == ["BB_S_5"]
    assert [(s.scale, s.change) for s in diff.scale_changes] == [("agree3", "option_relabelled")]
    # The relabelled option changes every item's response options: none is identical.
    assert versions.identical_items(published, draft) == []


def test_identical_items_and_moves(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin, level="major")
    mapping = copy.deepcopy(draft.content)
    moved = mapping["constructs"][0]["subconstructs"][0]["items"].pop(3)
    mapping["constructs"][1]["subconstructs"][0]["items"].append(moved | {"id": "BB_S_5"})
    versions.update_draft(draft, mapping, actor=version_admin)
    diff = versions.diff(published, draft)
    assert [(m.old_id, m.new_id) for m in diff.moved] == [("AA_S_4", "BB_S_5")]
    assert versions.identical_items(published, draft) == [
        "AA_S_1",
        "AA_S_2",
        "AA_S_3",
        "BB_S_1",
        "BB_S_2",
        "BB_S_3",
        "BB_S_4",
    ]
