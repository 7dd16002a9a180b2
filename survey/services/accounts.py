"""Staff accounts: create, find, authenticate, change password, (de)activate.

Every change is recorded in the audit log in the same transaction. Functions flush, never
commit; no password ever reaches a message, a log record or the audit log.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import select

from survey.auth import passwords
from survey.auth.passwords import WeakPassword
from survey.extensions import db
from survey.models import AuditAction, Role, User, utcnow
from survey.services import audit
from survey.services.errors import SurveyError

# Deliberately loose: one @, something on both sides, a dot in the domain part.
_EMAIL_RE = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
EMAIL_MAX_LENGTH = 254

__all__ = [
    "AccountError",
    "DuplicateEmail",
    "InvalidEmail",
    "UnknownRole",
    "UnknownUser",
    "WeakPassword",
    "authenticate",
    "create_user",
    "find_user",
    "get_user",
    "list_users",
    "log_out",
    "normalise_email",
    "set_active",
    "set_password",
]


class AccountError(SurveyError):
    """Base class of the account errors."""


class InvalidEmail(AccountError):
    """Not an e-mail address."""


class DuplicateEmail(AccountError):
    """A user with this e-mail address exists."""


class UnknownRole(AccountError):
    """A role other than admin and researcher."""


class UnknownUser(AccountError):
    """No user with this e-mail address or id."""


def normalise_email(email: str) -> str:
    """Trimmed and lower-cased, the form in which addresses are stored and compared."""
    return email.strip().lower()


def check_email(email: str) -> str:
    email = normalise_email(email)
    if len(email) > EMAIL_MAX_LENGTH or not _EMAIL_RE.fullmatch(email):
        raise InvalidEmail(f"{email[:EMAIL_MAX_LENGTH]!r} is not an e-mail address")
    return email


def find_user(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def get_user(email: str) -> User:
    user = find_user(email)
    if user is None:
        raise UnknownUser(f"no user with the e-mail address {normalise_email(email)!r}")
    return user


def list_users() -> list[User]:
    return list(db.session.scalars(select(User).order_by(User.email)))


def create_user(
    email: str,
    password: str,
    role: str,
    *,
    actor: User | None = None,
    via: str = "web",
    now: datetime | None = None,
) -> User:
    """A new active user; raises :class:`InvalidEmail`, :class:`DuplicateEmail`,
    :class:`UnknownRole` or :class:`WeakPassword`. Audited as ``user_created``."""
    email = check_email(email)
    if role not in Role.ALL:
        raise UnknownRole(f"unknown role {role!r}: use {' or '.join(Role.ALL)}")
    if find_user(email) is not None:
        raise DuplicateEmail(f"a user with the e-mail address {email!r} exists")
    now = now or utcnow()
    user = User(
        email=email,
        password_hash=passwords.hash_password(password, email=email),
        role=role,
        active=True,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    audit.record(
        AuditAction.USER_CREATED,
        actor=actor,
        target_type="user",
        target_id=user.id,
        details={"email": email, "role": role, "via": via},
        now=now,
    )
    return user


def set_password(user: User, password: str, *, actor: User | None = None, via: str = "web") -> None:
    """Replace the user's password and end every session of theirs; audited."""
    user.password_hash = passwords.hash_password(password, email=user.email)
    user.rotate_session_token()
    db.session.flush()
    audit.record(
        AuditAction.PASSWORD_CHANGED,
        actor=actor,
        target_type="user",
        target_id=user.id,
        details={"email": user.email, "via": via},
    )


def set_active(user: User, active: bool, *, actor: User) -> None:
    """Activate or deactivate an account (never deleted); an admin cannot lock themself out.

    Deactivation ends every session of the user: reactivating does not revive them.
    """
    if user.id == actor.id and not active:
        raise AccountError("you cannot deactivate your own account")
    if user.active == active:
        return
    user.active = active
    if not active:
        user.rotate_session_token()
    db.session.flush()
    audit.record(
        AuditAction.USER_ACTIVATED if active else AuditAction.USER_DEACTIVATED,
        actor=actor,
        target_type="user",
        target_id=user.id,
        details={"email": user.email},
    )


def authenticate(
    email: str, password: str, *, now: datetime | None = None, audit_failure: bool = True
) -> User | None:
    """The active user with this e-mail address and password, or ``None``.

    Both outcomes are audited: ``login`` (and ``last_login_at`` is set; a hash made with
    older parameters is replaced) or ``login_failed`` with the address that was tried and
    why, never the password (nor the remote address: no IP is stored anywhere). An unknown
    address takes as long as a wrong password. ``audit_failure=False`` records no failure:
    for an attempt refused as rate-limited unless the password is right (no audit flood).
    """
    now = now or utcnow()
    email = normalise_email(email)[:EMAIL_MAX_LENGTH]
    user = find_user(email)
    if user is None:
        passwords.burn_verification_time(password)
        reason = "unknown_email"
    elif not passwords.verify_password(user.password_hash, password):
        reason = "wrong_password"
    elif not user.active:
        reason = "inactive"
    else:
        if passwords.needs_rehash(user.password_hash):
            try:
                user.password_hash = passwords.hash_password(password, email=user.email)
            except WeakPassword:  # set under an older policy: keep the hash until changed
                pass
        user.last_login_at = now
        db.session.flush()
        audit.record(
            AuditAction.LOGIN,
            actor=user,
            target_type="user",
            target_id=user.id,
            details={},
            now=now,
        )
        return user
    if not audit_failure:
        return None
    audit.record(
        AuditAction.LOGIN_FAILED,
        actor=None,
        actor_email=email,
        target_type="user",
        target_id=user.id if user is not None else None,
        details={"email": email, "reason": reason},
        now=now,
    )
    return None


def log_out(user: User) -> None:
    """End every session of the user (all browsers and devices, not only the one asking:
    the session token is one per user) and record the logout."""
    user.rotate_session_token()
    db.session.flush()
    audit.record(AuditAction.LOGOUT, actor=user, target_type="user", target_id=user.id)
