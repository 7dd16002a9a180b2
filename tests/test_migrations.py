"""The Alembic revisions build exactly the schema the models describe, both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from survey.extensions import db

TABLES = {
    "instruments",
    "instrument_versions",
    "studies",
    "waves",
    "participants",
    "consent_records",
    "response_sessions",
    "page_visits",
    "answers",
    "users",
    "audit_events",
    "study_instruments",
    "session_exclusions",
    "outcome_uploads",
    "outcome_values",
    "validation_runs",
    "study_hypotheses",
    "study_members",
    "safety_alerts",
    "api_keys",
    "api_idempotency",
    "webhook_endpoints",
    "webhook_deliveries",
}


def table_names() -> set[str]:
    return set(inspect(db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_upgrade_matches_the_models(make_app):
    app = make_app()
    with app.app_context():
        assert table_names() == set()
        upgrade()
        assert table_names() == TABLES
        downgrade(revision="base")
        assert table_names() == set()
        upgrade()
        assert table_names() == TABLES

        with db.engine.connect() as connection:
            context = MigrationContext.configure(
                connection, opts={"compare_type": True, "render_as_batch": True}
            )
            differences = compare_metadata(context, db.metadata)
        assert differences == []


def test_constraints_and_indexes_have_convention_names(app):
    with app.app_context():
        inspector = inspect(db.engine)
        uniques = {
            constraint["name"]
            for table in TABLES
            for constraint in inspector.get_unique_constraints(table)
        }
        indexes = {index["name"] for table in TABLES for index in inspector.get_indexes(table)}
    assert "uq_answers_session_id_instrument_version_id_item_id" in uniques
    assert "uq_page_visits_session_id_instrument_version_id_page_key" in uniques
    assert "uq_response_sessions_participant_id_wave_id" in uniques
    assert "uq_instrument_versions_instrument_id_version" in uniques
    assert "ix_participants_study_id" in indexes
    assert all(name and name.startswith(("uq_", "ix_")) for name in uniques | indexes)
