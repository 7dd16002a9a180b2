"""Instrument-version lifecycle: lineage, retirement, and frozen published versions.

Revision ID: 0003
Revises: 0002
Create Date: 2025-11-23

Written by hand. Adds ``instrument_versions.parent_id`` (the version a draft was copied
from) and ``retired_at``, and makes published and retired versions immutable in the
database itself, so that no raw SQL can change what "key 1.0.0" means:

- the content, its hash, the version number, the instrument, the parent and the
  creation and publication times of a non-draft row never change;
- the status only moves draft -> published -> retired; ``retired_at`` is set only by that
  last step and then never changes;
- a non-draft row is never deleted (drafts may be discarded).

SQLite: three BEFORE triggers raising ABORT (sqlite3.IntegrityError). PostgreSQL: one
plpgsql function ``instrument_versions_immutable`` raising SQLSTATE 23000
(integrity_constraint_violation, psycopg's IntegrityError) from a row trigger. ``json``
has no equality operator on PostgreSQL, so content is compared as text. The columns are
added with a plain ALTER TABLE on SQLite (nullable, named inline REFERENCES), so
upgrading a database that holds studies never recreates instrument_versions.

Note for later revisions: a SQLite batch operation on instrument_versions recreates the
table and drops its triggers; such a revision must create them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

FROZEN_MESSAGE = "instrument version is published or retired: its content never changes"
STATUS_MESSAGE = "instrument version status may only go draft -> published -> retired"
DELETE_MESSAGE = "instrument version is published or retired: it cannot be deleted"

# Columns a published or retired row keeps forever.
FROZEN_COLUMNS = (
    "content",
    "content_hash",
    "version",
    "instrument_id",
    "parent_id",
    "created_at",
    "published_at",
)
ALLOWED_STEPS = (
    "(OLD.status = 'draft' AND NEW.status = 'published') OR "
    "(OLD.status = 'published' AND NEW.status = 'retired')"
)


def _sqlite_triggers():
    frozen = " OR ".join(f"NEW.{name} IS NOT OLD.{name}" for name in FROZEN_COLUMNS)
    return {
        "instrument_versions_frozen": (
            "CREATE TRIGGER instrument_versions_frozen BEFORE UPDATE ON instrument_versions "
            f"WHEN OLD.status <> 'draft' AND ({frozen}) "
            f"BEGIN SELECT RAISE(ABORT, '{FROZEN_MESSAGE}'); END"
        ),
        "instrument_versions_status": (
            "CREATE TRIGGER instrument_versions_status BEFORE UPDATE ON instrument_versions "
            f"WHEN (NEW.status IS NOT OLD.status AND NOT ({ALLOWED_STEPS})) "
            "OR (NEW.retired_at IS NOT OLD.retired_at "
            "AND NOT (OLD.status = 'published' AND NEW.status = 'retired')) "
            f"BEGIN SELECT RAISE(ABORT, '{STATUS_MESSAGE}'); END"
        ),
        "instrument_versions_no_delete": (
            "CREATE TRIGGER instrument_versions_no_delete BEFORE DELETE ON instrument_versions "
            "WHEN OLD.status <> 'draft' "
            f"BEGIN SELECT RAISE(ABORT, '{DELETE_MESSAGE}'); END"
        ),
    }


def _postgresql_function():
    frozen = " OR ".join(
        f"NEW.{name}::text IS DISTINCT FROM OLD.{name}::text"
        if name == "content"
        else f"NEW.{name} IS DISTINCT FROM OLD.{name}"
        for name in FROZEN_COLUMNS
    )
    return f"""
CREATE OR REPLACE FUNCTION instrument_versions_immutable() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION '{DELETE_MESSAGE} (id %)', OLD.id USING ERRCODE = '23000';
        END IF;
        RETURN OLD;
    END IF;
    IF OLD.status <> 'draft' AND ({frozen}) THEN
        RAISE EXCEPTION '{FROZEN_MESSAGE} (id %)', OLD.id USING ERRCODE = '23000';
    END IF;
    IF (NEW.status IS DISTINCT FROM OLD.status AND NOT ({ALLOWED_STEPS}))
       OR (NEW.retired_at IS DISTINCT FROM OLD.retired_at
           AND NOT (OLD.status = 'published' AND NEW.status = 'retired')) THEN
        RAISE EXCEPTION '{STATUS_MESSAGE} (id %)', OLD.id USING ERRCODE = '23000';
    END IF;
    RETURN NEW;
END;
$$
"""


def upgrade():
    if op.get_bind().dialect.name == "sqlite":
        op.execute("ALTER TABLE instrument_versions ADD COLUMN retired_at DATETIME")
        op.execute(
            "ALTER TABLE instrument_versions ADD COLUMN parent_id INTEGER "
            "CONSTRAINT fk_instrument_versions_parent_id_instrument_versions "
            "REFERENCES instrument_versions (id)"
        )
        for statement in _sqlite_triggers().values():
            op.execute(statement)
    else:
        op.add_column(
            "instrument_versions",
            sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        )
        op.add_column("instrument_versions", sa.Column("parent_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_instrument_versions_parent_id_instrument_versions"),
            "instrument_versions",
            "instrument_versions",
            ["parent_id"],
            ["id"],
        )
        op.execute(_postgresql_function())
        op.execute(
            "CREATE TRIGGER instrument_versions_immutable "
            "BEFORE UPDATE OR DELETE ON instrument_versions "
            "FOR EACH ROW EXECUTE FUNCTION instrument_versions_immutable()"
        )


def downgrade():
    if op.get_bind().dialect.name == "sqlite":
        for name in _sqlite_triggers():
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        # SQLite cannot drop a column that has a foreign key: the table is recreated.
        with op.batch_alter_table("instrument_versions", recreate="always") as batch:
            batch.drop_column("parent_id")
            batch.drop_column("retired_at")
    else:
        op.execute("DROP TRIGGER IF EXISTS instrument_versions_immutable ON instrument_versions")
        op.execute("DROP FUNCTION IF EXISTS instrument_versions_immutable()")
        op.drop_constraint(
            op.f("fk_instrument_versions_parent_id_instrument_versions"),
            "instrument_versions",
            type_="foreignkey",
        )
        op.drop_column("instrument_versions", "parent_id")
        op.drop_column("instrument_versions", "retired_at")
