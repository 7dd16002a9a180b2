"""The chat API: API keys, idempotent request records, webhook endpoints and deliveries.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01

Written by hand.

New tables: ``api_keys`` (a study's keys, stored as SHA-256 with a display prefix, scopes,
a per-key rate limit; revoked, never deleted), ``api_idempotency`` (requests sent with an
``Idempotency-Key`` and their answers, unique per study and key), ``webhook_endpoints``
and ``webhook_deliveries`` (one row per event and endpoint with its attempts; unique per
endpoint and event key). ``audit_events`` gets ``api_key_id`` (which key did it);
``participants.enrolled_via`` may be ``api``.

Downgrade is lossless or refused: it refuses while an API key, a webhook endpoint or a
participant enrolled through the API is stored.
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

NOT_IN_0008 = (
    ("API key(s)", "SELECT count(*) FROM api_keys"),
    ("webhook endpoint(s)", "SELECT count(*) FROM webhook_endpoints"),
    (
        "participant(s) enrolled through the API",
        "SELECT count(*) FROM participants WHERE enrolled_via = 'api'",
    ),
)


# audit_events' append-only triggers on SQLite, as migrations 0002 and 0005 made them.
SQLITE_AUDIT_TRIGGERS = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only'); END",
    "CREATE TRIGGER audit_events_no_replace BEFORE INSERT ON audit_events "
    "WHEN EXISTS (SELECT 1 FROM audit_events WHERE id = NEW.id) "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: an event id is never reused'); END",
)


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def _user_fk(table, column):
    return sa.ForeignKeyConstraint([column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"))


def upgrade():
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("scopes", sa.String(100), nullable=False),
        sa.Column("rate_limit_per_minute", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.Column("revoked_by_id", sa.Integer(), nullable=True),
        _timestamp("last_used_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_api_keys_study_id_studies")
        ),
        _user_fk("api_keys", "created_by_id"),
        _user_fk("api_keys", "revoked_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("key_hash", name=op.f("uq_api_keys_key_hash")),
    )
    op.create_index(op.f("ix_api_keys_study_id"), "api_keys", ["study_id"])

    op.create_table(
        "api_idempotency",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("idempotency_key", sa.String(255), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("request_sha256", sa.String(64), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=False),
        sa.Column("response_body", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_api_idempotency_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_api_idempotency_api_key_id_api_keys")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_idempotency")),
        sa.UniqueConstraint(
            "study_id", "idempotency_key", name=op.f("uq_api_idempotency_study_id_idempotency_key")
        ),
    )

    op.create_table(
        "webhook_endpoints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", sa.String(200), nullable=False),
        _timestamp("created_at"),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        _timestamp("disabled_at", nullable=True),
        sa.Column("disabled_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_webhook_endpoints_study_id_studies")
        ),
        _user_fk("webhook_endpoints", "created_by_id"),
        _user_fk("webhook_endpoints", "disabled_by_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_endpoints")),
    )
    op.create_index(op.f("ix_webhook_endpoints_study_id"), "webhook_endpoints", ["study_id"])

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("endpoint_id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("event_type", sa.String(64), nullable=False),
        sa.Column("event_key", sa.String(200), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _timestamp("created_at"),
        _timestamp("next_attempt_at", nullable=True),
        _timestamp("last_attempt_at", nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        _timestamp("delivered_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'delivered', 'failed')",
            name=op.f("ck_webhook_deliveries_status"),
        ),
        sa.ForeignKeyConstraint(
            ["endpoint_id"],
            ["webhook_endpoints.id"],
            name=op.f("fk_webhook_deliveries_endpoint_id_webhook_endpoints"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint("event_id", name=op.f("uq_webhook_deliveries_event_id")),
        sa.UniqueConstraint(
            "endpoint_id", "event_key", name=op.f("uq_webhook_deliveries_endpoint_id_event_key")
        ),
    )
    op.create_index(
        op.f("ix_webhook_deliveries_endpoint_id"), "webhook_deliveries", ["endpoint_id"]
    )
    op.create_index(
        "ix_webhook_deliveries_due", "webhook_deliveries", ["status", "next_attempt_at"]
    )

    # audit_events is append-only by triggers (0002, 0005): on SQLite the column is added in
    # place, since rebuilding the table (batch mode) would drop them.
    if op.get_bind().dialect.name == "sqlite":
        op.execute(
            "ALTER TABLE audit_events ADD COLUMN api_key_id INTEGER "
            "CONSTRAINT fk_audit_events_api_key_id_api_keys REFERENCES api_keys (id)"
        )
    else:
        op.add_column("audit_events", sa.Column("api_key_id", sa.Integer(), nullable=True))
        op.create_foreign_key(
            op.f("fk_audit_events_api_key_id_api_keys"),
            "audit_events",
            "api_keys",
            ["api_key_id"],
            ["id"],
        )
    op.create_index(op.f("ix_audit_events_api_key_id"), "audit_events", ["api_key_id"])

    with op.batch_alter_table("participants") as batch:
        batch.drop_constraint(op.f("ck_participants_enrolled_via"), type_="check")
        batch.create_check_constraint(
            op.f("ck_participants_enrolled_via"),
            "enrolled_via IN ('invitation', 'open_link', 'api')",
        )


def downgrade():
    bind = op.get_bind()
    in_the_way = [
        f"{bind.execute(sa.text(query)).scalar()} x {what}"
        for what, query in NOT_IN_0008
        if bind.execute(sa.text(query)).scalar()
    ]
    if in_the_way:
        raise RuntimeError(
            "downgrade to 0008 refused, it would lose data: " + "; ".join(in_the_way)
        )
    with op.batch_alter_table("participants") as batch:
        batch.drop_constraint(op.f("ck_participants_enrolled_via"), type_="check")
        batch.create_check_constraint(
            op.f("ck_participants_enrolled_via"), "enrolled_via IN ('invitation', 'open_link')"
        )
    op.drop_index(op.f("ix_audit_events_api_key_id"), "audit_events")
    if bind.dialect.name == "sqlite":
        # Rebuilding the table drops its append-only triggers: made again after it.
        with op.batch_alter_table("audit_events") as batch:
            batch.drop_column("api_key_id")
        for statement in SQLITE_AUDIT_TRIGGERS:
            op.execute(statement)
    else:
        op.drop_constraint(
            op.f("fk_audit_events_api_key_id_api_keys"), "audit_events", type_="foreignkey"
        )
        op.drop_column("audit_events", "api_key_id")
    op.drop_index("ix_webhook_deliveries_due", "webhook_deliveries")
    op.drop_index(op.f("ix_webhook_deliveries_endpoint_id"), "webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index(op.f("ix_webhook_endpoints_study_id"), "webhook_endpoints")
    op.drop_table("webhook_endpoints")
    op.drop_table("api_idempotency")
    op.drop_index(op.f("ix_api_keys_study_id"), "api_keys")
    op.drop_table("api_keys")
