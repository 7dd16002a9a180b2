"""Staff accounts (admins and researchers). Participants have no account."""

from __future__ import annotations

import secrets
from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, String
from sqlalchemy.orm import Mapped, mapped_column, validates

from survey.extensions import db
from survey.models.types import UTCDateTime, utcnow


def new_session_token() -> str:
    """A random 256-bit token, hex-encoded."""
    return secrets.token_hex(32)


class Role:
    """Allowed values of the role column (plain strings, as stored)."""

    ADMIN = "admin"
    RESEARCHER = "researcher"

    ALL = (ADMIN, RESEARCHER)


class User(db.Model, UserMixin):
    """A staff member who logs in with e-mail and password (argon2id hash only)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'researcher')", name="role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Stored lower-cased, so the unique constraint is case-insensitive on every database.
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    # Accounts are deactivated, never deleted: the audit log refers to them.
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # What the session cookie names (with the id): rotated by logout, a new password and
    # deactivation, so no cookie issued before still opens a page (survey.auth.access).
    session_token: Mapped[str] = mapped_column(String(64), unique=True, default=new_session_token)

    @validates("email")
    def _lower_email(self, _key: str, email: str) -> str:
        return email.strip().lower()

    @property
    def is_active(self) -> bool:  # Flask-Login refuses inactive users
        return self.active

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    def has_role(self, *roles: str) -> bool:
        """Whether the user holds one of ``roles``; an admin holds every researcher right."""
        return self.role in roles or (self.role == Role.ADMIN and Role.RESEARCHER in roles)

    def get_id(self) -> str:
        # Flask-Login's alternative id: the session names the user *and* their current
        # session token, so rotating the token ends every session (survey.auth.access).
        return f"{self.id}:{self.session_token}"

    def rotate_session_token(self) -> None:
        """End every session of this user: cookies naming the old token open nothing."""
        self.session_token = new_session_token()

    def __repr__(self) -> str:
        return f"<User {self.id} {self.role}>"
