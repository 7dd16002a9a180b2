"""Migration 0009: API keys, idempotency records, webhooks, audit_events.api_key_id.

The audit log stays append-only across the upgrade and a downgrade (on SQLite a rebuilt
table would lose its triggers); downgrade is lossless or refused."""

from __future__ import annotations

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import DatabaseError

from survey.extensions import db
from survey.services import api_keys, studies


def rows(query: str) -> list[tuple]:
    result = [tuple(row) for row in db.session.execute(text(query))]
    db.session.commit()
    return result


def assert_append_only() -> None:
    # raw SQL: the models have the 0009 column, the schema may not
    db.session.execute(
        text(
            "INSERT INTO audit_events (occurred_at, action, target_type, details) "
            "VALUES (CURRENT_TIMESTAMP, 'login', 'user', '{}')"
        )
    )
    db.session.commit()
    (event_id,) = rows("SELECT max(id) FROM audit_events")[0]
    for statement in (
        f"UPDATE audit_events SET action = 'changed' WHERE id = {event_id}",
        f"DELETE FROM audit_events WHERE id = {event_id}",
    ):
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
    assert rows(f"SELECT action FROM audit_events WHERE id = {event_id}") == [("login",)]


def test_the_audit_log_stays_append_only_up_and_down(app):
    with app.app_context():
        assert_append_only()
        downgrade(revision="0008")
        assert "api_keys" not in db.inspect(db.engine).get_table_names()
        columns = {c["name"] for c in db.inspect(db.engine).get_columns("audit_events")}
        assert "api_key_id" not in columns
        assert_append_only()
        upgrade()
        assert_append_only()


def test_downgrade_is_refused_while_a_key_is_stored(app, make_study, small, caplog):
    info = make_study(small, participants=1)
    with app.app_context():
        study = studies.get_study(info.slug)
        api_keys.create_key(study, name="platform", scopes="read", actor=None)
        db.session.commit()
        caplog.clear()
        with pytest.raises(SystemExit) as exited:
            downgrade(revision="0008")
        assert exited.value.code == 1
        db.session.rollback()
        assert rows("SELECT version_num FROM alembic_version") == [("0009",)]
        assert "1 x API key(s)" in caplog.text
        assert rows("SELECT count(*) FROM api_keys") == [(1,)]
