"""The validation report: validation runs and a study's hypotheses.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01

Written by hand.

New tables: ``validation_runs`` (a study's validation as a job: its inputs, progress,
error or report with its SHA-256; a partial unique index allows one queued or running run
per set of inputs) and ``study_hypotheses`` (hypotheses for construct validity, stated and
time-stamped before a run; retired, never deleted).

Downgrade is lossless or refused: it refuses while a validation run or a hypothesis is
stored.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

NOT_IN_0007 = (
    ("validation run(s)", "SELECT count(*) FROM validation_runs"),
    ("study hypothesis (hypotheses)", "SELECT count(*) FROM study_hypotheses"),
)


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "validation_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("inputs_key", sa.String(64), nullable=False),
        sa.Column("wave", sa.String(64), nullable=True),
        sa.Column("include_excluded", sa.Boolean(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("group_variable", sa.String(64), nullable=True),
        sa.Column("backend", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(64), nullable=True),
        sa.Column("progress_done", sa.Integer(), nullable=False),
        sa.Column("progress_total", sa.Integer(), nullable=False),
        sa.Column("progress_label", sa.String(200), nullable=False),
        _timestamp("requested_at"),
        sa.Column("requested_by_id", sa.Integer(), nullable=True),
        _timestamp("started_at", nullable=True),
        _timestamp("finished_at", nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("row_count", sa.Integer(), nullable=True),
        sa.Column("rows_sha256", sa.String(64), nullable=True),
        sa.Column("instrument_versions", sa.JSON(), nullable=True),
        sa.Column("report", sa.JSON(), nullable=True),
        sa.Column("report_sha256", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')",
            name=op.f("ck_validation_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_validation_runs_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by_id"],
            ["users.id"],
            name=op.f("fk_validation_runs_requested_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_validation_runs")),
    )
    op.create_index(op.f("ix_validation_runs_study_id"), "validation_runs", ["study_id"])
    op.create_index(
        "uq_validation_runs_active_inputs",
        "validation_runs",
        ["inputs_key"],
        unique=True,
        sqlite_where=sa.text("status IN ('queued', 'running')"),
        postgresql_where=sa.text("status IN ('queued', 'running')"),
    )

    op.create_table(
        "study_hypotheses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        _timestamp("created_at"),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        _timestamp("retired_at", nullable=True),
        sa.Column("retired_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_study_hypotheses_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_study_hypotheses_created_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["retired_by_id"], ["users.id"], name=op.f("fk_study_hypotheses_retired_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_hypotheses")),
    )
    op.create_index(op.f("ix_study_hypotheses_study_id"), "study_hypotheses", ["study_id"])


def downgrade():
    bind = op.get_bind()
    in_the_way = [
        f"{bind.execute(sa.text(query)).scalar()} x {what}"
        for what, query in NOT_IN_0007
        if bind.execute(sa.text(query)).scalar()
    ]
    if in_the_way:
        raise RuntimeError(
            "downgrade to 0007 refused, it would lose data: " + "; ".join(in_the_way)
        )
    op.drop_index(op.f("ix_study_hypotheses_study_id"), "study_hypotheses")
    op.drop_table("study_hypotheses")
    op.drop_index("uq_validation_runs_active_inputs", "validation_runs")
    op.drop_index(op.f("ix_validation_runs_study_id"), "validation_runs")
    op.drop_table("validation_runs")
