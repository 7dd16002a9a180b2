"""Initial schema: instruments, studies, participants, consent, sessions, page visits, answers.

Revision ID: 0001
Revises:
Create Date: 2025-11-23

Written by hand. Times are ``timestamp with time zone`` (UTC; SQLite stores naive UTC, see
survey.models.types.UTCDateTime). No table holds an IP address, a user agent or a token:
participants are known only by the SHA-256 of their secret link.
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        _timestamp("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instruments")),
        sa.UniqueConstraint("key", name=op.f("uq_instruments_key")),
    )

    op.create_table(
        "instrument_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("instrument_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        _timestamp("published_at", nullable=True),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'retired')",
            name=op.f("ck_instrument_versions_status"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_id"],
            ["instruments.id"],
            name=op.f("fk_instrument_versions_instrument_id_instruments"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instrument_versions")),
        sa.UniqueConstraint(
            "instrument_id", "version", name=op.f("uq_instrument_versions_instrument_id_version")
        ),
    )
    op.create_index(
        op.f("ix_instrument_versions_instrument_id"), "instrument_versions", ["instrument_id"]
    )
    op.create_index(
        op.f("ix_instrument_versions_content_hash"), "instrument_versions", ["content_hash"]
    )

    op.create_table(
        "studies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("instrument_version_id", sa.Integer(), nullable=False),
        sa.Column("consent_text", sa.Text(), nullable=False),
        sa.Column("consent_version", sa.String(length=32), nullable=False),
        sa.Column("urgent_help_note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _timestamp("created_at"),
        sa.CheckConstraint(
            "status IN ('draft', 'open', 'closed')", name=op.f("ck_studies_status")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_version_id"],
            ["instrument_versions.id"],
            name=op.f("fk_studies_instrument_version_id_instrument_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
        sa.UniqueConstraint("slug", name=op.f("uq_studies_slug")),
    )
    op.create_index(
        op.f("ix_studies_instrument_version_id"), "studies", ["instrument_version_id"]
    )

    op.create_table(
        "waves",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        _timestamp("opens_at", nullable=True),
        _timestamp("closes_at", nullable=True),
        sa.CheckConstraint("status IN ('open', 'closed')", name=op.f("ck_waves_status")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_waves_study_id_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waves")),
        sa.UniqueConstraint("study_id", "key", name=op.f("uq_waves_study_id_key")),
        sa.UniqueConstraint("study_id", "position", name=op.f("uq_waves_study_id_position")),
    )

    op.create_table(
        "participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        _timestamp("created_at"),
        sa.Column("excluded", sa.Boolean(), nullable=False),
        sa.Column("exclusion_reason", sa.Text(), nullable=True),
        sa.Column("item_order_seed", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_participants_study_id_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_participants")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_participants_token_hash")),
    )
    op.create_index(op.f("ix_participants_study_id"), "participants", ["study_id"])

    op.create_table(
        "consent_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("consent_version", sa.String(length=32), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=False),
        _timestamp("decided_at"),
        sa.CheckConstraint(
            "decision IN ('given', 'declined')", name=op.f("ck_consent_records_decision")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_consent_records_participant_id_participants"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consent_records")),
    )
    op.create_index(
        op.f("ix_consent_records_participant_id"), "consent_records", ["participant_id"]
    )

    op.create_table(
        "response_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=False),
        sa.Column("instrument_version_id", sa.Integer(), nullable=False),
        _timestamp("started_at"),
        _timestamp("completed_at", nullable=True),
        sa.Column("current_page", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_response_sessions_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name=op.f("fk_response_sessions_wave_id_waves")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_version_id"],
            ["instrument_versions.id"],
            name=op.f("fk_response_sessions_instrument_version_id_instrument_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_response_sessions")),
        sa.UniqueConstraint(
            "participant_id", "wave_id", name=op.f("uq_response_sessions_participant_id_wave_id")
        ),
    )
    op.create_index(op.f("ix_response_sessions_wave_id"), "response_sessions", ["wave_id"])
    op.create_index(
        op.f("ix_response_sessions_instrument_version_id"),
        "response_sessions",
        ["instrument_version_id"],
    )

    op.create_table(
        "page_visits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("page_key", sa.String(length=64), nullable=False),
        _timestamp("first_shown_at"),
        _timestamp("last_shown_at"),
        _timestamp("submitted_at", nullable=True),
        sa.Column("submit_count", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["response_sessions.id"],
            name=op.f("fk_page_visits_session_id_response_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_page_visits")),
        sa.UniqueConstraint(
            "session_id", "page_key", name=op.f("uq_page_visits_session_id_page_key")
        ),
    )

    op.create_table(
        "answers",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("page_key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=True),
        _timestamp("answered_at"),
        _timestamp("updated_at"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["response_sessions.id"],
            name=op.f("fk_answers_session_id_response_sessions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_answers")),
        sa.UniqueConstraint("session_id", "item_id", name=op.f("uq_answers_session_id_item_id")),
    )


def downgrade():
    op.drop_table("answers")
    op.drop_table("page_visits")
    op.drop_index(op.f("ix_response_sessions_instrument_version_id"), "response_sessions")
    op.drop_index(op.f("ix_response_sessions_wave_id"), "response_sessions")
    op.drop_table("response_sessions")
    op.drop_index(op.f("ix_consent_records_participant_id"), "consent_records")
    op.drop_table("consent_records")
    op.drop_index(op.f("ix_participants_study_id"), "participants")
    op.drop_table("participants")
    op.drop_table("waves")
    op.drop_index(op.f("ix_studies_instrument_version_id"), "studies")
    op.drop_table("studies")
    op.drop_index(op.f("ix_instrument_versions_content_hash"), "instrument_versions")
    op.drop_index(op.f("ix_instrument_versions_instrument_id"), "instrument_versions")
    op.drop_table("instrument_versions")
    op.drop_table("instruments")
