"""One audited import path: the CLI, the demo and the web import all leave audit events."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from instruments.loader import instrument_path
from survey.extensions import db
from survey.models import AuditEvent, InstrumentVersion
from survey.services import instruments

IEMDP = instrument_path("iemdp", "1.0.0")


def instrument_events(app) -> list[tuple[str, str | None, str | None, str]]:
    """(action, actor e-mail, via, target id) of every instrument-version event, in order."""
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.target_type == "instrument_version")
            .order_by(AuditEvent.id)
        )
        return [
            (event.action, event.actor_email, event.details.get("via"), event.target_id)
            for event in events
        ]


def stored_version_id(app, key: str = "iemdp", number: str = "1.0.0") -> str:
    with app.app_context():
        version = instruments.find_version(key, number)
        assert version is not None
        return str(version.id)


def test_demo_setup_on_a_fresh_database_audits_the_import(make_app):
    app = make_app()  # no schema: the command migrates
    result = app.test_cli_runner().invoke(args=["demo", "setup"])
    assert result.exit_code == 0, result.output
    target = stored_version_id(app, number="1.1.0")  # the demo's IEM-DP
    assert instrument_events(app) == [
        ("version_imported", None, "demo setup", target),
        ("version_published", None, "demo setup", target),
    ]
    with app.app_context():
        imported = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "version_imported")
        )
        version = db.session.get(InstrumentVersion, int(target))
        assert imported.hash_after == version.content_hash
        assert imported.details["status"] == "published"

    # Run again: the same content is reused and nothing new is recorded.
    assert app.test_cli_runner().invoke(args=["demo", "setup"]).exit_code == 0
    assert len(instrument_events(app)) == 2


def test_instruments_load_audits_the_import_once(app, runner):
    result = runner.invoke(args=["instruments", "load", str(IEMDP)])
    assert result.exit_code == 0, result.output
    target = stored_version_id(app)
    assert instrument_events(app) == [
        ("version_imported", None, "cli", target),
        ("version_published", None, "cli", target),
    ]
    with app.app_context():
        imported = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "version_imported")
        )
        assert imported.actor_id is None
        assert imported.details["file"] == str(IEMDP)

    again = runner.invoke(args=["instruments", "load", str(IEMDP)])
    assert again.exit_code == 0, again.output
    assert "Already loaded (same content)" in again.output
    assert len(instrument_events(app)) == 2


def _upload(client, data: bytes, filename: str, **fields):
    file = FileStorage(io.BytesIO(data), filename=filename, content_type="application/yaml")
    boundary, body = encode_multipart({"file": file, "format": "auto", **fields})
    return client.post(
        "/admin/instruments/import",
        data=body,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


@pytest.mark.parametrize(
    ("publish", "actions"),
    [
        ({"publish": "y"}, ["version_imported", "version_published"]),
        ({}, ["version_imported"]),
    ],
)
def test_the_web_import_records_the_logged_in_admin(app, admin_client, publish, actions):
    response = _upload(admin_client, IEMDP.read_bytes(), "iemdp.yaml", **publish)
    assert response.status_code == 302, response.get_data(as_text=True)
    target = stored_version_id(app)
    expected = [(action, "admin@example.org", "web", target) for action in actions]
    assert instrument_events(app) == expected

    again = _upload(admin_client, IEMDP.read_bytes(), "iemdp.yaml", **publish)
    assert again.status_code == 302
    assert instrument_events(app) == expected


def test_the_service_records_who_imported(db_session, small):
    version, created = instruments.import_definition(small, actor=None, via="test")
    db_session.commit()
    assert created
    events = db_session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
    assert [(e.action, e.target_id, e.details["via"]) for e in events] == [
        ("version_imported", str(version.id), "test"),
        ("version_published", str(version.id), "test"),
    ]
    same, created = instruments.import_definition(small, actor=None, via="test")
    assert (same.id, created) == (version.id, False)
    assert len(db_session.scalars(select(AuditEvent)).all()) == 2
