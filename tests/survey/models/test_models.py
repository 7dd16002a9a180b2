"""The models: UTC times, naming convention, and no personal data in the schema."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import Answer, PageVisit, Participant, ResponseSession
from survey.services import participation

# Parts of a column name that would mean personal or identifying data.
PERSONAL = {"ip", "addr", "address", "agent", "ua", "useragent", "email", "phone", "token"}
# Staff log in with their e-mail address and the audit log names who acted: the only
# identifying columns, and none of them is about a participant. (users.session_token is the
# random value a staff session cookie names, rotated at logout: a secret, not a person.)
STAFF_IDENTITY = {
    "participants.token_hash",
    "users.email",
    "users.session_token",
    "audit_events.actor_email",
}


def test_schema_has_no_ip_user_agent_or_personal_data_columns(app):
    with app.app_context():
        inspector = inspect(db.engine)
        columns = {
            f"{table}.{column['name']}"
            for table in inspector.get_table_names()
            for column in inspector.get_columns(table)
        }
    suspicious = {
        column
        for column in columns
        if PERSONAL & set(column.split(".")[1].split("_")) and column not in STAFF_IDENTITY
    }
    assert suspicious == set()
    # What is stored about a participant, completely.
    assert {c.split(".")[1] for c in columns if c.startswith("participants.")} == {
        "id",
        "study_id",
        "token_hash",
        "created_at",
        "enrolled_at",
        "enrolled_via",
        # HMAC-SHA256 of the therapy platform's user id under a server secret, never the id.
        "external_id_hash",
        "withdrawn_at",
        "excluded",
        "exclusion_reason",
        "item_order_seed",
        # Made by `flask demo simulate`: not a person.
        "simulated",
    }


def test_times_are_stored_and_loaded_as_utc(db_session, make_study, small):
    info = make_study(small)
    participant = db_session.scalar(select(Participant))
    plus_two = timezone(timedelta(hours=2))
    participant.created_at = datetime(2025, 3, 1, 12, 0, tzinfo=plus_two)
    db_session.commit()
    db_session.expire_all()
    loaded = db_session.get(Participant, participant.id).created_at
    assert loaded == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert loaded.tzinfo == UTC
    assert info.token


def test_naive_times_are_refused(db_session, make_study, small):
    make_study(small)
    participant = db_session.scalar(select(Participant))
    participant.created_at = datetime(2025, 3, 1, 12, 0)
    with pytest.raises(Exception, match="naive datetime"):
        db_session.flush()
    db_session.rollback()


def test_one_answer_per_session_and_item(db_session, make_study, small):
    info = make_study(small)
    invitation = participation.resolve(info.token)
    participation.record_consent(invitation, "given")
    session = participation.start_session(invitation)
    version_id = invitation.study.instrument_version.id
    one = {"session_id": session.id, "instrument_version_id": version_id, "item_id": "AA_S_1"}
    db_session.add(Answer(**one, page_key="AA", value=1))
    db_session.flush()
    db_session.add(Answer(**one, page_key="AA", value=2))
    with pytest.raises(IntegrityError):
        db_session.flush()
    db_session.rollback()


def test_defaults_are_callables(app):
    for model, column in [
        (ResponseSession, "started_at"),
        (PageVisit, "first_shown_at"),
        (Participant, "item_order_seed"),
    ]:
        default = model.__table__.c[column].default
        assert default.is_callable
