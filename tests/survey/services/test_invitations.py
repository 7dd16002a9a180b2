"""Links, regenerated links, open enrolment and external ids (survey.services.invitations)."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import String, Text, func, inspect, select, text

from survey.extensions import db
from survey.models import AuditEvent, EnrolledVia, Participant, Study
from survey.services import instruments, invitations, participation, studies, tokens
from survey.services.errors import UnknownToken
from survey.services.invitations import (
    DuplicateExternalId,
    EnrolmentClosed,
    InvitationError,
    LinksExpired,
)

KEY = b"test-external-id-key"
SECRET = "test-secret-key"


def _new_study(app, definition, slug) -> int:
    with app.app_context():
        version, _ = instruments.import_definition(definition)
        study = studies.create_study(
            name="Invitation study",
            slug=slug,
            instrument_version=version,
            consent_text="Agree?",
            consent_version="v1",
            urgent_help_note="Call 112.",
            first_wave_label="Baseline",
        )
        db.session.commit()
        return study.id


@pytest.fixture
def study(app, small):
    return _new_study(app, small, "invitation-study")


def _study(study_id) -> Study:
    return db.session.get(Study, study_id)


def _count(model=Participant, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


# -- links -----------------------------------------------------------------------------------
def test_create_links_stores_only_hashes_and_audits_the_count(app, study):
    with app.app_context():
        links = invitations.create_links(_study(study), count=5, actor=None)
        db.session.commit()
        assert len({link.token for link in links}) == 5
        for link in links:
            assert tokens.find_participant(link.token).id == link.participant.id
            assert link.participant.token_hash == tokens.hash_token(link.token)
            assert link.participant.enrolled_via == EnrolledVia.INVITATION
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "participants_added")
        )
        assert event.details == {"study": _study(study).slug, "count": 5, "external_ids": 0}
        assert not any(link.token in str(event.details) for link in links)


@pytest.mark.parametrize("count", [0, 1001, None])
def test_create_links_refuses_a_count_out_of_range(app, study, count):
    with app.app_context():
        with pytest.raises(InvitationError) as error:
            invitations.create_links(_study(study), count=count, actor=None)
        assert error.value.field == "count"
        assert _count() == 0


def test_signed_links_round_trip_and_refusals(app, study, small):
    other = _new_study(app, small, "other-study")
    with app.app_context():
        links = invitations.create_links(_study(study), count=3, actor=None)
        db.session.commit()
        signed = invitations.sign_links(_study(study), links, SECRET)
        back = invitations.signed_links(_study(study), signed, SECRET)
        assert [(link.code, link.token) for link in back] == [(x.code, x.token) for x in links]
        csv = invitations.links_csv(back, "https://survey.example.org/")
        lines = csv.splitlines()
        assert lines[0] == "code,link"
        assert lines[1] == f"{links[0].code},https://survey.example.org/p/{links[0].token}"
        with pytest.raises(LinksExpired):  # another study
            invitations.signed_links(_study(other), signed, SECRET)
        with pytest.raises(LinksExpired):  # another key
            invitations.signed_links(_study(study), signed, "another-secret")
        with pytest.raises(LinksExpired):  # tampered
            invitations.signed_links(_study(study), signed[:-2] + "xx", SECRET)
        time.sleep(1.1)
        with pytest.raises(LinksExpired, match="more than an hour"):
            invitations.signed_links(_study(study), signed, SECRET, max_age=0)
        # A link replaced since: the list no longer downloads.
        invitations.regenerate_link(links[1].participant, actor=None)
        db.session.commit()
        with pytest.raises(LinksExpired, match="replaced"):
            invitations.signed_links(_study(study), signed, SECRET)


# -- regenerate ------------------------------------------------------------------------------
def test_regenerated_link_replaces_the_old_one_at_once(app, study):
    with app.app_context():
        old = invitations.create_links(_study(study), count=1, actor=None)[0]
        db.session.commit()
        invitation = participation.resolve(old.token)
        participation.record_consent(invitation, "given")
        db.session.commit()
        new = invitations.regenerate_link(old.participant, actor=None)
        db.session.commit()
        assert new != old.token
        with pytest.raises(UnknownToken):
            participation.resolve(old.token)
        again = participation.resolve(new)
        assert again.participant.id == old.participant.id
        assert participation.consent_decision(again) == "given"
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "link_regenerated"))
        assert event.target_id == str(old.participant.id)
        assert new not in str(event.details) and old.token not in str(event.details)


# -- external ids ----------------------------------------------------------------------------
def test_external_id_hash_is_hmac_sha256():
    import hashlib
    import hmac

    expected = hmac.new(KEY, b"user-42", hashlib.sha256).hexdigest()
    assert invitations.hash_external_id(" user-42 ", KEY) == expected
    assert invitations.hash_external_id("user-42", b"other") != expected


def test_external_ids_one_link_each_and_duplicates_name_the_line(app, study):
    with app.app_context():
        links = invitations.create_links(
            _study(study), external_ids="alpha\n\n beta \n", external_id_key=KEY, actor=None
        )
        db.session.commit()
        assert [link.participant.external_id_hash for link in links] == [
            invitations.hash_external_id("alpha", KEY),
            invitations.hash_external_id("beta", KEY),
        ]
        with pytest.raises(DuplicateExternalId, match=r"line 3: the same external id as line 1"):
            invitations.create_links(
                _study(study), external_ids="x\ny\nx", external_id_key=KEY, actor=None
            )
        with pytest.raises(DuplicateExternalId, match="line 2: this external id is in the study"):
            invitations.create_links(
                _study(study), external_ids="gamma\nbeta", external_id_key=KEY, actor=None
            )
        db.session.rollback()
        assert _count() == 2


CLEAR_ID = "therapy-user-8f3a2c91"


def test_the_clear_external_id_is_nowhere_in_the_database(app, study):
    with app.app_context():
        invitations.create_links(
            _study(study), external_ids=f"{CLEAR_ID}\nsecond-id", external_id_key=KEY, actor=None
        )
        db.session.commit()
        hits = []
        engine = db.engine
        for table_name in inspect(engine).get_table_names():
            for column in inspect(engine).get_columns(table_name):
                column_type = column["type"]
                if not isinstance(column_type, (String, Text)) and "JSON" not in str(column_type):
                    continue
                name = column["name"]
                query = text(
                    f'SELECT count(*) FROM "{table_name}" WHERE CAST("{name}" AS TEXT) LIKE :needle'
                )
                if db.session.scalar(query, {"needle": f"%{CLEAR_ID}%"}):
                    hits.append(f"{table_name}.{name}")
        assert hits == []
        # ...but its hash is, and finds the participant.
        found = db.session.scalar(
            select(Participant).where(
                Participant.external_id_hash == invitations.hash_external_id(CLEAR_ID, KEY)
            )
        )
        assert found is not None


# -- open enrolment --------------------------------------------------------------------------
def test_enrolment_cap_is_enforced_and_audited(app, study):
    with app.app_context():
        invitations.set_enrolment(_study(study), cap=2, actor=None)
        db.session.commit()
        key = _study(study).enrolment_key
        assert key and len(key) == 32
        first = invitations.enrol(key)
        second = invitations.enrol(key)
        db.session.commit()
        assert first.participant.enrolled_via == second.participant.enrolled_via == "open_link"
        assert participation.resolve(first.token).study.id == study
        with pytest.raises(EnrolmentClosed) as error:
            invitations.enrol(key)
        assert error.value.reason == "full"
        db.session.rollback()
        assert _study(study).enrolled_by_link == 2
        assert _count() == 2
        with pytest.raises(InvitationError, match="set a cap above 2"):
            invitations.set_enrolment(_study(study), cap=2, actor=None)
        invitations.set_enrolment(_study(study), cap=3, actor=None)  # same key
        assert _study(study).enrolment_key == key
        invitations.set_enrolment(_study(study), cap=None, actor=None)
        db.session.commit()
        with pytest.raises(EnrolmentClosed) as error:
            invitations.enrol(key)
        assert error.value.reason == "unknown"
        invitations.set_enrolment(_study(study), cap=3, actor=None)  # reopened: a new key
        assert _study(study).enrolment_key not in (None, key)
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action == "enrolment_link_changed")
        ).all()
        assert len(actions) == 4


@pytest.mark.parametrize("cap", [0, 100_001, -1])
def test_enrolment_cap_out_of_range(app, study, cap):
    with app.app_context():
        with pytest.raises(InvitationError):
            invitations.set_enrolment(_study(study), cap=cap, actor=None)
        assert _study(study).enrolment_key is None


def test_enrolment_of_a_closed_study(app, study):
    with app.app_context():
        invitations.set_enrolment(_study(study), cap=5, actor=None)
        _study(study).status = "closed"
        db.session.commit()
        with pytest.raises(EnrolmentClosed) as error:
            invitations.enrol(_study(study).enrolment_key)
        assert error.value.reason == "closed"
        assert _count() == 0


def test_enrolment_form_token():
    token = invitations.enrolment_form_token("abc", SECRET)
    assert invitations.enrolment_form_token_ok("abc", token, SECRET)
    assert not invitations.enrolment_form_token_ok("abd", token, SECRET)
    assert not invitations.enrolment_form_token_ok("abc", token, "other")
    assert not invitations.enrolment_form_token_ok("abc", None, SECRET)


def test_two_simultaneous_enrolments_never_overshoot_the_cap(app, study):
    """The first request's UPDATE holds the row while the second one runs its own: the
    second must wait and then see the cap reached (on PostgreSQL, two real connections;
    on SQLite the second writer waits for the file lock)."""
    with app.app_context():
        invitations.set_enrolment(_study(study), cap=1, actor=None)
        db.session.commit()
        key = _study(study).enrolment_key
    first_updated = threading.Event()
    results: dict[str, object] = {}

    def first() -> None:
        with app.app_context():
            results["first"] = invitations.enrol(key).token
            first_updated.set()
            time.sleep(0.5)  # the second request runs now, against the held row
            db.session.commit()
            db.session.remove()

    def second() -> None:
        first_updated.wait(10)
        with app.app_context():
            try:
                results["second"] = invitations.enrol(key).token
                db.session.commit()
            except EnrolmentClosed as error:
                results["second"] = error.reason
                db.session.rollback()
            except Exception as error:  # SQLite: "database is locked" would be a failure too
                results["second"] = repr(error)
                db.session.rollback()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results["second"] == "full", results
    with app.app_context():
        assert _count() == 1
        assert _study(study).enrolled_by_link == 1
