"""Accounts and audit log: users, audit_events (append-only by trigger), studies.owner_id.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-23

Written by hand. audit_events refuses UPDATE and DELETE in the database itself, not only in
the application: on SQLite with two BEFORE triggers, on PostgreSQL with one plpgsql trigger
function (TRUNCATE is refused too). studies.owner_id is added with a plain ALTER TABLE on
SQLite (a nullable column with a named inline REFERENCES clause), so upgrading a database
that already holds studies never recreates the studies table.

Note for later revisions: a SQLite batch operation on audit_events recreates the table and
drops its triggers; such a revision must create them again.
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

APPEND_ONLY_MESSAGE = "audit_events is append-only"


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        _timestamp("created_at"),
        _timestamp("last_login_at", nullable=True),
        sa.CheckConstraint("role IN ('admin', 'researcher')", name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )

    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        _timestamp("occurred_at"),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_email", sa.String(length=254), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target_type", sa.String(length=64), nullable=False),
        sa.Column("target_id", sa.String(length=64), nullable=True),
        sa.Column("hash_before", sa.String(length=64), nullable=True),
        sa.Column("hash_after", sa.String(length=64), nullable=True),
        sa.Column("details", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_audit_events_actor_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_occurred_at"), "audit_events", ["occurred_at"])
    op.create_index(op.f("ix_audit_events_actor_id"), "audit_events", ["actor_id"])
    op.create_index(op.f("ix_audit_events_action"), "audit_events", ["action"])

    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE studies ADD COLUMN owner_id INTEGER "
            "CONSTRAINT fk_studies_owner_id_users REFERENCES users (id)"
        )
        for event in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER audit_events_no_{event.lower()} BEFORE {event} "
                f"ON audit_events BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
            )
    else:
        op.add_column("studies", sa.Column("owner_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_studies_owner_id_users"), "studies", "users", ["owner_id"], ["id"]
        )
        op.execute(
            "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger "
            "LANGUAGE plpgsql AS $$ BEGIN "
            f"RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}'; "
            "END; $$"
        )
        op.execute(
            "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
            "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()"
        )
    op.create_index(op.f("ix_studies_owner_id"), "studies", ["owner_id"])


def downgrade():
    op.drop_index(op.f("ix_studies_owner_id"), "studies")
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_update")
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_delete")
        # SQLite cannot drop a column that has a foreign key: the table is recreated.
        with op.batch_alter_table("studies", recreate="always") as batch:
            batch.drop_column("owner_id")
    else:
        op.execute("DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events")
        op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
        op.execute("DROP FUNCTION IF EXISTS audit_events_append_only()")
        op.drop_constraint(op.f("fk_studies_owner_id_users"), "studies", type_="foreignkey")
        op.drop_column("studies", "owner_id")
    op.drop_index(op.f("ix_audit_events_action"), "audit_events")
    op.drop_index(op.f("ix_audit_events_actor_id"), "audit_events")
    op.drop_index(op.f("ix_audit_events_occurred_at"), "audit_events")
    op.drop_table("audit_events")
    op.drop_table("users")
