"""Per-user session token: logout, a new password and deactivation end every session.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Written by hand. ``users.session_token`` is the value Flask-Login keeps in the session
cookie (with the user id); rotating it makes every cookie issued before unusable, even a
copy taken before logout. Existing users get a fresh random token each. The column is
added nullable with a plain ALTER TABLE and then made NOT NULL; on SQLite that last step
is a batch rebuild of ``users``, which has no triggers.
"""

import secrets

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("users", sa.Column("session_token", sa.String(length=64), nullable=True))
    connection = op.get_bind()
    users = sa.table("users", sa.column("id", sa.Integer), sa.column("session_token"))
    for (user_id,) in connection.execute(sa.select(users.c.id)).all():
        connection.execute(
            users.update().where(users.c.id == user_id).values(session_token=secrets.token_hex(32))
        )
    with op.batch_alter_table("users") as batch:
        batch.alter_column("session_token", existing_type=sa.String(length=64), nullable=False)
        batch.create_unique_constraint(op.f("uq_users_session_token"), ["session_token"])


def downgrade():
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("uq_users_session_token"), type_="unique")
        batch.drop_column("session_token")
