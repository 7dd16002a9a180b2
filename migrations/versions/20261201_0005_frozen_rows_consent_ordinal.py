"""Frozen rows cannot be replaced; consent decisions are numbered, one per number.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

Written by hand.

Replacing rows. SQLite's ``INSERT OR REPLACE`` / ``REPLACE INTO`` (and ``UPDATE OR
REPLACE``) delete a row that stands in the way of a unique key without firing its DELETE
triggers (unless ``PRAGMA recursive_triggers`` is on, which the app sets on every
connection), so they rewrote a published instrument version or an audit event past the
triggers of 0002 and 0003. Here, on SQLite, BEFORE triggers that need no pragma:

- an INSERT whose id or (instrument_id, version) belongs to a published or retired
  instrument version is refused, and so is an UPDATE that gives a row such a key; drafts
  are replaced as before. Every conflict clause is refused alike, ``OR IGNORE`` and
  ``ON CONFLICT DO NOTHING`` included (before, those left the row alone silently);
- an INSERT whose id belongs to an audit event is refused (an UPDATE is refused already).

On both databases a published or retired version also keeps its id (0003 froze every
column but the key): otherwise a frozen row could be moved aside and its id given to other
content. PostgreSQL has no REPLACE; its ``ON CONFLICT DO UPDATE`` fires the UPDATE triggers
of 0002 and 0003. SQLite raises ABORT (sqlite3.IntegrityError); PostgreSQL raises SQLSTATE
23000 from ``instrument_versions_id_immutable``.

Consent. ``consent_records.ordinal`` numbers a participant's decisions on one consent
version from 1, unique together with them: of two simultaneous identical decisions only
one is stored (the service inserts with ON CONFLICT DO NOTHING). Rows already stored are
numbered in the order the service reads them (decided_at, then id), duplicates included:
nothing is deleted, an earlier double submit stays visible as two rows in a row with the
same decision. On SQLite adding the NOT NULL column and the unique constraint is a batch
rebuild of consent_records, which has no triggers.

Note for later revisions: a SQLite batch operation on instrument_versions or audit_events
recreates the table and drops its triggers, these included; such a revision must create
them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

REPLACE_MESSAGE = (
    "instrument version is published or retired: no other row may take its id or its version"
)
ID_MESSAGE = "instrument version is published or retired: its id never changes"
AUDIT_REPLACE_MESSAGE = "audit_events is append-only: an event id is never reused"

FROZEN_KEY_MATCH = (
    "status <> 'draft' AND (id = NEW.id OR (instrument_id = NEW.instrument_id "
    "AND version = NEW.version))"
)
SQLITE_TRIGGERS = {
    "instrument_versions_no_replace": (
        "CREATE TRIGGER instrument_versions_no_replace BEFORE INSERT ON instrument_versions "
        f"WHEN EXISTS (SELECT 1 FROM instrument_versions WHERE {FROZEN_KEY_MATCH}) "
        f"BEGIN SELECT RAISE(ABORT, '{REPLACE_MESSAGE}'); END"
    ),
    "instrument_versions_no_replace_update": (
        "CREATE TRIGGER instrument_versions_no_replace_update "
        "BEFORE UPDATE ON instrument_versions "
        "WHEN (NEW.id IS NOT OLD.id OR NEW.instrument_id IS NOT OLD.instrument_id "
        "OR NEW.version IS NOT OLD.version) "
        "AND EXISTS (SELECT 1 FROM instrument_versions "
        f"WHERE id <> OLD.id AND {FROZEN_KEY_MATCH}) "
        f"BEGIN SELECT RAISE(ABORT, '{REPLACE_MESSAGE}'); END"
    ),
    "instrument_versions_keep_id": (
        "CREATE TRIGGER instrument_versions_keep_id BEFORE UPDATE ON instrument_versions "
        "WHEN OLD.status <> 'draft' AND NEW.id IS NOT OLD.id "
        f"BEGIN SELECT RAISE(ABORT, '{ID_MESSAGE}'); END"
    ),
    "audit_events_no_replace": (
        "CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
        "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
        f"BEGIN SELECT RAISE(ABORT, '{AUDIT_REPLACE_MESSAGE}'); END"
    ),
}
POSTGRESQL_FUNCTION = f"""
CREATE OR REPLACE FUNCTION instrument_versions_id_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '{ID_MESSAGE} (id %)', OLD.id USING ERRCODE = '23000';
END;
$$
"""
POSTGRESQL_TRIGGER = (
    "CREATE TRIGGER instrument_versions_id_immutable BEFORE UPDATE OF id ON instrument_versions "
    "FOR EACH ROW WHEN (OLD.status <> 'draft' AND NEW.id IS DISTINCT FROM OLD.id) "
    "EXECUTE FUNCTION instrument_versions_id_immutable()"
)

# The n-th decision of a participant on a consent version, in the service's order.
NUMBER_EXISTING_CONSENT = """
UPDATE consent_records SET ordinal = (
    SELECT count(*) FROM consent_records AS earlier
    WHERE earlier.participant_id = consent_records.participant_id
      AND earlier.consent_version = consent_records.consent_version
      AND (earlier.decided_at < consent_records.decided_at
           OR (earlier.decided_at = consent_records.decided_at
               AND earlier.id <= consent_records.id))
)
"""


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        for statement in SQLITE_TRIGGERS.values():
            op.execute(statement)
    else:
        op.execute(POSTGRESQL_FUNCTION)
        op.execute(POSTGRESQL_TRIGGER)

    op.add_column("consent_records", sa.Column("ordinal", sa.Integer(), nullable=True))
    op.execute(NUMBER_EXISTING_CONSENT)
    with op.batch_alter_table("consent_records") as batch:
        batch.alter_column("ordinal", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint(
            op.f("uq_consent_records_participant_id_consent_version_ordinal"),
            ["participant_id", "consent_version", "ordinal"],
        )


def downgrade():
    with op.batch_alter_table("consent_records") as batch:
        batch.drop_constraint(
            op.f("uq_consent_records_participant_id_consent_version_ordinal"), type_="unique"
        )
        batch.drop_column("ordinal")

    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    else:
        op.execute("DROP TRIGGER IF EXISTS instrument_versions_id_immutable ON instrument_versions")
        op.execute("DROP FUNCTION IF EXISTS instrument_versions_id_immutable()")
