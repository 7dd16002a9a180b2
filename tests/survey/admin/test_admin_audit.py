"""The audit log: append-only in the database, filters and CSV export for admins only."""

from __future__ import annotations

import csv
import hashlib
import io
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from survey.extensions import db
from survey.models import AuditEvent
from survey.services import audit


def count_events(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.fixture
def logged_events(app):
    """Four events on three days by two actors (committed)."""
    with app.app_context():
        for when, email, action, target in [
            (datetime(2025, 1, 1, 9, tzinfo=UTC), "alice@example.org", "draft_edited", "7"),
            (
                datetime(2025, 1, 2, 23, 59, tzinfo=UTC),
                "alice@example.org",
                "version_published",
                "7",
            ),
            (datetime(2025, 1, 3, 0, 0, tzinfo=UTC), "bob@example.org", "study_created", "3"),
            (datetime(2025, 1, 3, 12, tzinfo=UTC), "=cmd|' /C calc'!A0", "login_failed", None),
        ]:
            target_type = {"study_created": "study", "login_failed": "user"}.get(
                action, "instrument_version"
            )
            audit.record(
                action,
                actor=None,
                actor_email=email,
                target_type=target_type,
                target_id=target,
                hash_before="a" * 64 if action == "version_published" else None,
                hash_after="b" * 64,
                details={"note": "ünïcode"},
                now=when,
            )
        db.session.commit()


# -- append-only in the database -------------------------------------------------------------
@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_events SET action = 'nothing_happened'",
        "UPDATE audit_events SET details = '{}' WHERE id = 1",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE id = 1",
    ],
)
def test_raw_sql_cannot_change_or_delete_events(app, logged_events, statement):
    with app.app_context():
        with pytest.raises(DatabaseError, match="audit_events is append-only"):
            db.session.execute(text(statement))
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 4
        actions = set(db.session.scalars(select(AuditEvent.action)))
        assert "nothing_happened" not in actions


def test_truncate_is_refused_on_postgresql(app, logged_events):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite has no TRUNCATE")
        with pytest.raises(DatabaseError, match="audit_events is append-only"):
            db.session.execute(text("TRUNCATE audit_events"))
        db.session.rollback()
    assert count_events(app) == 4


def test_the_orm_cannot_change_an_event_either(app, logged_events):
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).limit(1))
        event.action = "edited"
        with pytest.raises(DatabaseError):
            db.session.flush()
        db.session.rollback()


# -- service ---------------------------------------------------------------------------------
def test_query_events_filters(app, logged_events):
    with app.app_context():

        def actions(**fields):
            return [event.action for event in audit.query_events(**fields)]

        assert actions() == ["login_failed", "study_created", "version_published", "draft_edited"]
        assert actions(actor="ALICE") == ["version_published", "draft_edited"]
        assert actions(action="study_created") == ["study_created"]
        assert actions(target_type="instrument_version", target_id="7") == [
            "version_published",
            "draft_edited",
        ]
        assert actions(date_from=datetime(2025, 1, 2).date()) == [
            "login_failed",
            "study_created",
            "version_published",
        ]
        assert actions(date_to=datetime(2025, 1, 2).date()) == ["version_published", "draft_edited"]
        assert actions(actor="%") == []  # LIKE wildcards are matched literally
        assert len(audit.query_events(limit=1)) == 1


def test_events_csv_quotes_formulas_and_keeps_hashes(app, logged_events):
    with app.app_context():
        text_ = audit.events_csv(audit.query_events())
    rows = list(csv.DictReader(io.StringIO(text_)))
    assert list(rows[0]) == list(audit.CSV_COLUMNS)
    assert rows[0]["actor_email"] == "'=cmd|' /C calc'!A0"
    published = rows[2]
    assert published["hash_before"] == "a" * 64 and published["hash_after"] == "b" * 64
    assert published["occurred_at"] == "2025-01-02T23:59:00+00:00"
    assert published["details"] == '{"note": "ünïcode"}'


# -- views -----------------------------------------------------------------------------------
def test_audit_page_filters(app, admin_client, logged_events):
    response = admin_client.get("/admin/audit?actor=alice&date_from=2025-01-02")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    assert "version_published" in body
    assert "draft_edited</td>" not in body
    assert "study_created</td>" not in body
    assert 'href="/admin/audit.csv?actor=alice&amp;date_from=2025-01-02"' in body


def test_audit_page_reports_bad_filters(admin_client):
    response = admin_client.get("/admin/audit?date_from=2025-13-45")
    assert response.status_code == 400
    assert "Not a valid date value" in response.get_data(as_text=True)
    response = admin_client.get("/admin/audit?date_from=2025-02-01&date_to=2025-01-01")
    assert response.status_code == 400
    assert "The end date is before the start date." in response.get_data(as_text=True)


def test_audit_csv_export_is_filtered_and_itself_audited(app, admin_client, logged_events):
    response = admin_client.get("/admin/audit.csv?action=study_created")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-log-')
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [row["action"] for row in rows] == ["study_created"]
    with app.app_context():
        (export,) = audit.query_events(action="export_downloaded")
        # (admin_client may come from this folder's conftest: any admin will do)
        assert export.actor.role == "admin"
        assert export.actor_email == export.actor.email
        assert export.target_type == "audit_log"
        assert export.hash_after == hashlib.sha256(response.get_data()).hexdigest()
        assert export.details["filters"] == {"action": "study_created"}


def test_audit_event_detail(app, admin_client, logged_events):
    with app.app_context():
        event_id = audit.query_events(action="version_published")[0].id
    response = admin_client.get(f"/admin/audit/{event_id}")
    assert response.status_code == 200
    assert "a" * 64 in response.get_data(as_text=True)
    assert admin_client.get("/admin/audit/999999").status_code == 404


@pytest.mark.parametrize("path", ["/admin/audit", "/admin/audit.csv", "/admin/audit/1"])
def test_audit_is_for_admins_only(app, researcher_client, client, logged_events, path):
    before = count_events(app)
    assert researcher_client.get(path).status_code == 403
    response = client.get(path)
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/admin/audit")
    assert count_events(app) == before


def test_no_route_edits_the_audit_log(app):
    audit_rules = [rule for rule in app.url_map.iter_rules() if "audit" in rule.rule]
    assert audit_rules
    for rule in audit_rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
