"""The audit log names its targets (an instrument version "IEM-DP 1.0.0 (iemdp)", a study
its name, a user the e-mail address) with the raw ``type:id`` beside it, looked up in one
query per target type whatever the number of events (survey.services.audit.target_names)."""

from __future__ import annotations

import pytest
from sqlalchemy import event

from survey.extensions import db
from survey.services import audit, participation, studies, versions


@pytest.fixture
def named_events(db_session, version_admin, published):
    """A draft made, edited and discarded; a study; the admin's login (committed)."""
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    study = studies.create_study(
        name="Engagement pilot, spring",
        slug="engagement-pilot",
        instrument_version=published,
        consent_text="Please agree.",
        consent_version="v1",
        urgent_help_note="Call 112.",
    )
    db_session.commit()
    return {"published": published, "draft": draft, "study": study}


class StatementCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, *_args) -> None:
        self.count += 1

    def __enter__(self):
        event.listen(db.engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc) -> None:
        event.remove(db.engine, "before_cursor_execute", self)


def test_short_title_is_the_trailing_abbreviation():
    assert audit.short_title("Engagement in Messaging Therapy Questionnaire (IEM-DP)") == "IEM-DP"
    assert audit.short_title("Small test instrument") == "Small test instrument"


def test_targets_are_named_by_type(db_session, version_admin, named_events):
    events = audit.query_events()
    names = audit.target_names(events)
    published, draft, study = (named_events[k] for k in ("published", "draft", "study"))
    assert names[f"instrument_version:{published.id}"] == "Small test instrument 1.0.0 (small)"
    assert names[f"instrument_version:{draft.id}"] == "Small test instrument 1.0.1 (small)"
    assert names[f"study:{study.id}"] == "Engagement pilot, spring"
    assert names[f"user:{version_admin.id}"] == "versions-admin@test.local"
    assert all(audit.target_ref(e) in names for e in events if e.target_id is not None)


def test_a_participant_is_named_by_code_and_study(db_session, named_events):
    study = named_events["study"]
    studies.add_wave(study, key="baseline", label="Baseline")
    ((participant, _token),) = studies.add_participants(study, 1)
    participation.withdraw(participant)
    db_session.commit()
    names = audit.target_names(audit.query_events(action="participant_withdrew"))
    assert names == {
        f"participant:{participant.id}": f"{participant.code} of Engagement pilot, spring"
    }


def test_a_discarded_draft_is_named_from_the_event_details(db_session, version_admin, named_events):
    draft = named_events["draft"]
    ref = f"instrument_version:{draft.id}"
    versions.discard_draft(draft, actor=version_admin)
    db_session.commit()
    assert audit.target_names(audit.query_events())[ref] == "small 1.0.1"


def test_unknown_types_and_missing_ids_keep_the_raw_reference(db_session):
    audit.record("something_else", actor=None, target_type="api_key", target_id="7")
    audit.record("login_failed", actor=None, actor_email="x@y.org", target_type="user")
    audit.record("study_created", actor=None, target_type="study", target_id="999")
    db_session.commit()
    events = audit.query_events()
    assert audit.target_names(events) == {}
    assert [audit.target_ref(e) for e in events] == ["study:999", "user", "api_key:7"]


def test_one_query_per_target_type_not_per_event(db_session, version_admin, named_events):
    draft = named_events["draft"]
    for n in range(40):
        versions.edit_metadata(
            draft,
            title=f"Title {n}",
            citation="C.",
            intro="I.",
            shuffle_items=False,
            actor=version_admin,
        )
    db_session.commit()
    events = audit.query_events()
    assert len(events) >= 45
    with StatementCounter() as few:
        audit.target_names(events[:3])
    with StatementCounter() as many:
        audit.target_names(events)
    assert many.count == 3  # instrument versions, studies, users
    assert few.count <= many.count


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/"])
def test_the_log_pages_show_names_and_references(console, named_events, path):
    draft = named_events["draft"]
    html = console.get(path).get_data(as_text=True)
    assert (
        '<span class="target-name">Small test instrument 1.0.1 (small)</span><br>'
        f'<small class="meta target-ref">instrument_version:{draft.id}</small>'
    ) in html
    assert f"<td>instrument_version:{draft.id}</td>" not in html


def test_the_event_page_names_its_target(db_session, console, named_events):
    study = named_events["study"]
    created = audit.query_events(target_type="study", target_id=str(study.id))[0]
    html = console.get(f"/admin/audit/{created.id}").get_data(as_text=True)
    assert '<span class="target-name">Engagement pilot, spring</span>' in html
    assert f'<small class="meta target-ref">study:{study.id}</small>' in html


def test_the_log_page_costs_the_same_number_of_queries_for_3_or_60_events(
    db_session, version_admin, console, named_events
):
    def statements_for_page() -> int:
        with StatementCounter() as counter:
            assert console.get("/admin/audit").status_code == 200
        return counter.count

    before = statements_for_page()
    draft = named_events["draft"]
    for n in range(60):
        versions.edit_metadata(
            draft,
            title=f"Title {n}",
            citation="C.",
            intro="I.",
            shuffle_items=False,
            actor=version_admin,
        )
    db_session.commit()
    assert statements_for_page() == before
