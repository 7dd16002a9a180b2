"""Studies ask a battery of instruments at scheduled waves, with a team and safety alerts.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01

Written by hand.

Battery. ``study_instruments`` lists a study's instrument versions in order; each study of
0005 gets one row, its ``instrument_version_id`` at position 0, and that column goes.
Answers and page visits name their instrument version (item ids need only be unique
within an instrument): existing rows take their session's version, and the session's
column goes. The unique keys become (session, version, item) and (session, version, page).
Nothing is deleted: every answer stays in place with the version it was given to.

Waves get ``offset_days`` / ``window_days`` (a window relative to each participant's
enrolment). Participants get ``enrolled_at`` (their first consent; filled from the consent
records), ``enrolled_via``, ``external_id_hash`` and ``withdrawn_at``. Studies get the
team contact shown to participants, the withdrawal policy of their consent text and the
open enrolment link. New tables: ``study_members`` (collaborators) and ``safety_alerts``.

Downgrade is lossless or refused: it refuses while any study has more than one
instrument, or anything 0005 cannot hold is stored (a relative schedule, a withdrawal, an
external id, an open enrolment link, a team contact, a collaborator, a safety alert, an
"exclude" withdrawal policy); the message names what is in the way.
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def _timestamp(name, nullable=False):
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade():
    op.create_table(
        "study_instruments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("instrument_version_id", sa.Integer(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_study_instruments_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["instrument_version_id"],
            ["instrument_versions.id"],
            name=op.f("fk_study_instruments_instrument_version_id_instrument_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_instruments")),
        sa.UniqueConstraint(
            "study_id", "position", name=op.f("uq_study_instruments_study_id_position")
        ),
        sa.UniqueConstraint(
            "study_id",
            "instrument_version_id",
            name=op.f("uq_study_instruments_study_id_instrument_version_id"),
        ),
    )
    op.create_index(op.f("ix_study_instruments_study_id"), "study_instruments", ["study_id"])
    op.create_index(
        op.f("ix_study_instruments_instrument_version_id"),
        "study_instruments",
        ["instrument_version_id"],
    )
    op.execute(
        "INSERT INTO study_instruments (study_id, instrument_version_id, position) "
        "SELECT id, instrument_version_id, 0 FROM studies"
    )

    # Answers and page visits take their session's version.
    for table in ("answers", "page_visits"):
        op.add_column(table, sa.Column("instrument_version_id", sa.Integer(), nullable=True))
        op.execute(
            f"UPDATE {table} SET instrument_version_id = (SELECT instrument_version_id "
            f"FROM response_sessions WHERE response_sessions.id = {table}.session_id)"
        )
    with op.batch_alter_table("answers") as batch:
        batch.alter_column("instrument_version_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint(op.f("uq_answers_session_id_item_id"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_answers_session_id_instrument_version_id_item_id"),
            ["session_id", "instrument_version_id", "item_id"],
        )
        batch.create_foreign_key(
            op.f("fk_answers_instrument_version_id_instrument_versions"),
            "instrument_versions",
            ["instrument_version_id"],
            ["id"],
        )
    with op.batch_alter_table("page_visits") as batch:
        batch.alter_column("instrument_version_id", existing_type=sa.Integer(), nullable=False)
        batch.drop_constraint(op.f("uq_page_visits_session_id_page_key"), type_="unique")
        batch.create_unique_constraint(
            op.f("uq_page_visits_session_id_instrument_version_id_page_key"),
            ["session_id", "instrument_version_id", "page_key"],
        )
        batch.create_foreign_key(
            op.f("fk_page_visits_instrument_version_id_instrument_versions"),
            "instrument_versions",
            ["instrument_version_id"],
            ["id"],
        )
    op.drop_index(op.f("ix_response_sessions_instrument_version_id"), "response_sessions")
    with op.batch_alter_table("response_sessions") as batch:
        batch.drop_constraint(
            op.f("fk_response_sessions_instrument_version_id_instrument_versions"),
            type_="foreignkey",
        )
        batch.drop_column("instrument_version_id")

    op.drop_index(op.f("ix_studies_instrument_version_id"), "studies")
    with op.batch_alter_table("studies") as batch:
        batch.drop_constraint(
            op.f("fk_studies_instrument_version_id_instrument_versions"), type_="foreignkey"
        )
        batch.drop_column("instrument_version_id")
        batch.add_column(sa.Column("team_contact", sa.Text(), nullable=False, server_default=""))
        batch.add_column(
            sa.Column(
                "withdrawal_policy", sa.String(length=16), nullable=False, server_default="keep"
            )
        )
        batch.add_column(sa.Column("enrolment_key", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("enrolment_cap", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("enrolled_by_link", sa.Integer(), nullable=False, server_default="0")
        )
        batch.create_unique_constraint(op.f("uq_studies_enrolment_key"), ["enrolment_key"])
        batch.create_check_constraint(
            op.f("ck_studies_withdrawal_policy"), "withdrawal_policy IN ('keep', 'exclude')"
        )

    with op.batch_alter_table("waves") as batch:
        batch.add_column(sa.Column("offset_days", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("window_days", sa.Integer(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_waves_offset_days"), "offset_days IS NULL OR offset_days >= 0"
        )
        batch.create_check_constraint(
            op.f("ck_waves_window_days"), "window_days IS NULL OR window_days >= 1"
        )

    with op.batch_alter_table("participants") as batch:
        batch.add_column(_timestamp("enrolled_at", nullable=True))
        batch.add_column(
            sa.Column(
                "enrolled_via", sa.String(length=16), nullable=False, server_default="invitation"
            )
        )
        batch.add_column(sa.Column("external_id_hash", sa.String(length=64), nullable=True))
        batch.add_column(_timestamp("withdrawn_at", nullable=True))
        batch.create_unique_constraint(
            op.f("uq_participants_study_id_external_id_hash"), ["study_id", "external_id_hash"]
        )
        batch.create_check_constraint(
            op.f("ck_participants_enrolled_via"), "enrolled_via IN ('invitation', 'open_link')"
        )
    op.execute(
        "UPDATE participants SET enrolled_at = (SELECT min(decided_at) FROM consent_records "
        "WHERE consent_records.participant_id = participants.id "
        "AND consent_records.decision = 'given')"
    )

    op.create_table(
        "study_members",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        _timestamp("granted_at"),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        _timestamp("revoked_at", nullable=True),
        sa.CheckConstraint("role IN ('viewer', 'editor')", name=op.f("ck_study_members_role")),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_study_members_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_study_members_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["granted_by_id"], ["users.id"], name=op.f("fk_study_members_granted_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_members")),
        sa.UniqueConstraint("study_id", "user_id", name=op.f("uq_study_members_study_id_user_id")),
    )
    op.create_index(op.f("ix_study_members_study_id"), "study_members", ["study_id"])
    op.create_index(op.f("ix_study_members_user_id"), "study_members", ["user_id"])

    op.create_table(
        "safety_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("study_id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("instrument_version_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Integer(), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        _timestamp("raised_at"),
        _timestamp("acknowledged_at", nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_id"], ["studies.id"], name=op.f("fk_safety_alerts_study_id_studies")
        ),
        sa.ForeignKeyConstraint(
            ["participant_id"],
            ["participants.id"],
            name=op.f("fk_safety_alerts_participant_id_participants"),
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["response_sessions.id"],
            name=op.f("fk_safety_alerts_session_id_response_sessions"),
        ),
        sa.ForeignKeyConstraint(
            ["instrument_version_id"],
            ["instrument_versions.id"],
            name=op.f("fk_safety_alerts_instrument_version_id_instrument_versions"),
        ),
        sa.ForeignKeyConstraint(
            ["acknowledged_by_id"],
            ["users.id"],
            name=op.f("fk_safety_alerts_acknowledged_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_safety_alerts")),
        sa.UniqueConstraint(
            "session_id",
            "instrument_version_id",
            "item_id",
            name=op.f("uq_safety_alerts_session_id_instrument_version_id_item_id"),
        ),
    )
    op.create_index(op.f("ix_safety_alerts_study_id"), "safety_alerts", ["study_id"])
    op.create_index(op.f("ix_safety_alerts_participant_id"), "safety_alerts", ["participant_id"])


# What 0005 cannot hold, as (description, query counting such rows).
NOT_IN_0005 = (
    (
        "a study with more than one instrument",
        "SELECT count(*) FROM (SELECT study_id FROM study_instruments GROUP BY study_id "
        "HAVING count(*) > 1) AS batteries",
    ),
    (
        "a wave scheduled relative to enrolment",
        "SELECT count(*) FROM waves WHERE offset_days IS NOT NULL",
    ),
    (
        "a participant who withdrew or has an external id",
        "SELECT count(*) FROM participants WHERE withdrawn_at IS NOT NULL "
        "OR external_id_hash IS NOT NULL OR enrolled_via <> 'invitation'",
    ),
    (
        "a study with a team contact, an open enrolment link or an 'exclude' withdrawal policy",
        "SELECT count(*) FROM studies WHERE team_contact <> '' OR enrolment_key IS NOT NULL "
        "OR enrolled_by_link <> 0 OR withdrawal_policy <> 'keep'",
    ),
    ("a collaborator", "SELECT count(*) FROM study_members"),
    ("a safety alert", "SELECT count(*) FROM safety_alerts"),
    (
        "a study without an instrument",
        "SELECT count(*) FROM studies WHERE id NOT IN (SELECT study_id FROM study_instruments)",
    ),
)


def downgrade():
    bind = op.get_bind()
    in_the_way = [
        f"{bind.execute(sa.text(query)).scalar()} x {what}"
        for what, query in NOT_IN_0005
        if bind.execute(sa.text(query)).scalar()
    ]
    if in_the_way:
        raise RuntimeError(
            "downgrade to 0005 refused, it would lose data: " + "; ".join(in_the_way)
        )

    op.drop_index(op.f("ix_safety_alerts_participant_id"), "safety_alerts")
    op.drop_index(op.f("ix_safety_alerts_study_id"), "safety_alerts")
    op.drop_table("safety_alerts")
    op.drop_index(op.f("ix_study_members_user_id"), "study_members")
    op.drop_index(op.f("ix_study_members_study_id"), "study_members")
    op.drop_table("study_members")

    with op.batch_alter_table("participants") as batch:
        batch.drop_constraint(op.f("ck_participants_enrolled_via"), type_="check")
        batch.drop_constraint(op.f("uq_participants_study_id_external_id_hash"), type_="unique")
        batch.drop_column("withdrawn_at")
        batch.drop_column("external_id_hash")
        batch.drop_column("enrolled_via")
        batch.drop_column("enrolled_at")

    with op.batch_alter_table("waves") as batch:
        batch.drop_constraint(op.f("ck_waves_window_days"), type_="check")
        batch.drop_constraint(op.f("ck_waves_offset_days"), type_="check")
        batch.drop_column("window_days")
        batch.drop_column("offset_days")

    with op.batch_alter_table("studies") as batch:
        batch.drop_constraint(op.f("ck_studies_withdrawal_policy"), type_="check")
        batch.drop_constraint(op.f("uq_studies_enrolment_key"), type_="unique")
        batch.drop_column("enrolled_by_link")
        batch.drop_column("enrolment_cap")
        batch.drop_column("enrolment_key")
        batch.drop_column("withdrawal_policy")
        batch.drop_column("team_contact")
        batch.add_column(sa.Column("instrument_version_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE studies SET instrument_version_id = (SELECT instrument_version_id "
        "FROM study_instruments WHERE study_instruments.study_id = studies.id)"
    )
    with op.batch_alter_table("studies") as batch:
        batch.alter_column("instrument_version_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_studies_instrument_version_id_instrument_versions"),
            "instrument_versions",
            ["instrument_version_id"],
            ["id"],
        )
    op.create_index(op.f("ix_studies_instrument_version_id"), "studies", ["instrument_version_id"])

    with op.batch_alter_table("response_sessions") as batch:
        batch.add_column(sa.Column("instrument_version_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE response_sessions SET instrument_version_id = (SELECT "
        "study_instruments.instrument_version_id FROM study_instruments "
        "JOIN waves ON waves.study_id = study_instruments.study_id "
        "WHERE waves.id = response_sessions.wave_id)"
    )
    with op.batch_alter_table("response_sessions") as batch:
        batch.alter_column("instrument_version_id", existing_type=sa.Integer(), nullable=False)
        batch.create_foreign_key(
            op.f("fk_response_sessions_instrument_version_id_instrument_versions"),
            "instrument_versions",
            ["instrument_version_id"],
            ["id"],
        )
    op.create_index(
        op.f("ix_response_sessions_instrument_version_id"),
        "response_sessions",
        ["instrument_version_id"],
    )

    with op.batch_alter_table("page_visits") as batch:
        batch.drop_constraint(
            op.f("fk_page_visits_instrument_version_id_instrument_versions"), type_="foreignkey"
        )
        batch.drop_constraint(
            op.f("uq_page_visits_session_id_instrument_version_id_page_key"), type_="unique"
        )
        batch.create_unique_constraint(
            op.f("uq_page_visits_session_id_page_key"), ["session_id", "page_key"]
        )
        batch.drop_column("instrument_version_id")
    with op.batch_alter_table("answers") as batch:
        batch.drop_constraint(
            op.f("fk_answers_instrument_version_id_instrument_versions"), type_="foreignkey"
        )
        batch.drop_constraint(
            op.f("uq_answers_session_id_instrument_version_id_item_id"), type_="unique"
        )
        batch.create_unique_constraint(
            op.f("uq_answers_session_id_item_id"), ["session_id", "item_id"]
        )
        batch.drop_column("instrument_version_id")

    op.drop_index(op.f("ix_study_instruments_instrument_version_id"), "study_instruments")
    op.drop_index(op.f("ix_study_instruments_study_id"), "study_instruments")
    op.drop_table("study_instruments")
