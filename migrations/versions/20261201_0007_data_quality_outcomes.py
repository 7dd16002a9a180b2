"""Data a reviewer trusts: simulated participants, delivery modes, exclusions, outcomes.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01

Written by hand.

Participants get ``simulated`` (made by ``flask demo simulate``; every export says so),
answers ``delivery_mode`` (``web`` for every answer so far, ``chat`` for the API), studies
``quality_rules`` (the data-quality thresholds; empty means the defaults). New tables:
``session_exclusions`` (a session left out of analyses, with who, when and why, and its
lifting; at most one in force per session) and ``outcome_uploads`` / ``outcome_values``
(versioned per-participant outcomes and covariates).

Downgrade is lossless or refused: it refuses while a simulated participant, a chat answer,
changed quality rules, an exclusion or an outcome version is stored.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

NOT_IN_0006 = (
    ("simulated participant(s)", "SELECT count(*) FROM participants WHERE simulated"),
    ("chat answer(s)", "SELECT count(*) FROM answers WHERE delivery_mode <> 'web'"),
    (
        "study (studies) with their own data-quality rules",
        "SELECT count(*) FROM studies WHERE quality_rules IS NOT NULL",
    ),
    ("session exclusion(s)", "SELECT count(*) FROM session_exclusions"),
    ("outcome version(s)", "SELECT count(*) FROM outcome_uploads"),
)


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    with op.batch_alter_table("participants") as batch:
        batch.add_column(
            sa.Column("simulated", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("participants") as batch:
        batch.alter_column("simulated", existing_type=sa.Boolean(), server_default=None)

    with op.batch_alter_table("answers") as batch:
        batch.add_column(
            sa.Column("delivery_mode", sa.String(8), nullable=False, server_default="web")
        )
    with op.batch_alter_table("answers") as batch:
        batch.alter_column("delivery_mode", existing_type=sa.String(8), server_default=None)
        batch.create_check_constraint(
            op.f("ck_answers_delivery_mode"), "delivery_mode IN ('web', 'chat')"
        )

    with op.batch_alter_table("studies") as batch:
        batch.add_column(sa.Column("quality_rules", sa.JSON(), nullable=True))

    op.create_table(
        "session_exclusions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rule", sa.Text(), nullable=True),
        _timestamp("excluded_at"),
        sa.Column("excluded_by_id", sa.Integer(), nullable=True),
        _timestamp("lifted_at", nullable=True),
        sa.Column("lifted_by_id", sa.Integer(), nullable=True),
        sa.Column("lift_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["response_sessions.id"],
            name=op.f("fk_session_exclusions_session_id_response_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["excluded_by_id"],
            ["users.id"],
            name=op.f("fk_session_exclusions_excluded_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["lifted_by_id"], ["users.id"], name=op.f("fk_session_exclusions_lifted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_exclusions")),
    )
    op.create_index(op.f("ix_session_exclusions_session_id"), "session_exclusions", ["session_id"])
    op.create_index(
        "uq_session_exclusions_in_force",
        "session_exclusions",
        ["session_id"],
        unique=True,
        sqlite_where=sa.text("lifted_at IS NULL"),
        postgresql_where=sa.text("lifted_at IS NULL"),
    )

    op.create_table(
        "outcome_uploads",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("simulated", sa.Boolean(), nullable=False),
        _timestamp("uploaded_at"),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "source IN ('upload', 'simulation', 'api')", name=op.f("ck_outcome_uploads_source")
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_outcome_uploads_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["uploaded_by_id"], ["users.id"], name=op.f("fk_outcome_uploads_uploaded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_uploads")),
        sa.UniqueConstraint(
            "study_id", "version", name=op.f("uq_outcome_uploads_study_id_version")
        ),
    )
    op.create_index(op.f("ix_outcome_uploads_study_id"), "outcome_uploads", ["study_id"])

    op.create_table(
        "outcome_values",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("upload_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("wave_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("number", sa.Float(), nullable=True),
        sa.Column("text", sa.String(200), nullable=True),
        sa.ForeignKeyConstraint(
            ["upload_id"],
            ["outcome_uploads.id"],
            name=op.f("fk_outcome_values_upload_id_outcome_uploads"),
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_outcome_values_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["wave_id"], ["waves.id"], name=op.f("fk_outcome_values_wave_id_waves")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcome_values")),
        sa.UniqueConstraint(
            "upload_id",
            "participant_id",
            "wave_id",
            "name",
            name=op.f("uq_outcome_values_upload_id_participant_id_wave_id_name"),
        ),
    )
    op.create_index(op.f("ix_outcome_values_upload_id"), "outcome_values", ["upload_id"])
    op.create_index(op.f("ix_outcome_values_participant_id"), "outcome_values", ["participant_id"])


def downgrade():
    bind = op.get_bind()
    in_the_way = [
        f"{bind.execute(sa.text(query)).scalar()} x {what}"
        for what, query in NOT_IN_0006
        if bind.execute(sa.text(query)).scalar()
    ]
    if in_the_way:
        raise RuntimeError(
            "downgrade to 0006 refused, it would lose data: " + "; ".join(in_the_way)
        )

    op.drop_index(op.f("ix_outcome_values_participant_id"), "outcome_values")
    op.drop_index(op.f("ix_outcome_values_upload_id"), "outcome_values")
    op.drop_table("outcome_values")
    op.drop_index(op.f("ix_outcome_uploads_study_id"), "outcome_uploads")
    op.drop_table("outcome_uploads")
    op.drop_index("uq_session_exclusions_in_force", "session_exclusions")
    op.drop_index(op.f("ix_session_exclusions_session_id"), "session_exclusions")
    op.drop_table("session_exclusions")

    with op.batch_alter_table("studies") as batch:
        batch.drop_column("quality_rules")
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint(op.f("ck_answers_delivery_mode"), type_="check")
        batch.drop_column("delivery_mode")
    with op.batch_alter_table("participants") as batch:
        batch.drop_column("simulated")
