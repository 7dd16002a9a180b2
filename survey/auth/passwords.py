"""Password hashing with argon2id (argon2-cffi); plaintext passwords are never stored.

Nothing here puts a password into a message, a log record or an exception.
"""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher, profiles
from argon2.exceptions import InvalidHashError, VerificationError
from flask import current_app, has_app_context

from survey.auth import weak_passwords

MIN_LENGTH = 12
# Far above any passphrase; keeps a huge form field from costing a hashing run.
MAX_LENGTH = 1000

# PASSWORD_HASH_PROFILE names a profile of argon2.profiles; the default is RFC 9106's
# second recommendation (argon2id, 64 MiB, 3 passes). The test suite uses CHEAPEST.
DEFAULT_PROFILE = "RFC_9106_LOW_MEMORY"


@cache
def _hasher_for(profile: str) -> PasswordHasher:
    parameters = getattr(profiles, profile, None)
    if parameters is None:
        raise ValueError(f"PASSWORD_HASH_PROFILE={profile!r} is not in argon2.profiles")
    return PasswordHasher.from_parameters(parameters)


def _profile() -> str:
    if has_app_context():
        return current_app.config.get("PASSWORD_HASH_PROFILE") or DEFAULT_PROFILE
    return DEFAULT_PROFILE


def _hasher() -> PasswordHasher:
    return _hasher_for(_profile())


class WeakPassword(ValueError):
    """A password that does not meet the policy (the message never contains it)."""


def check_policy(password: str, *, email: str | None = None) -> None:
    """Raise :class:`WeakPassword` unless the password is 12 to 1000 characters long, not
    one of the commonest passwords and not the account's ``email`` or its local part
    (digits or symbols around them and the case do not count: see
    :mod:`survey.auth.weak_passwords`)."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"a password needs at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"a password has at most {MAX_LENGTH} characters")
    if not password.strip():
        raise WeakPassword("a password cannot be only spaces")
    if email is not None and weak_passwords.resembles_email(password, email):
        raise WeakPassword("a password cannot be the e-mail address or the part before the @")
    if weak_passwords.is_common(password):
        raise WeakPassword(
            "this password is one of the most common ones, which are guessed first; "
            "choose another (a few unrelated words make a good one)"
        )


def hash_password(password: str, *, email: str | None = None) -> str:
    """The argon2id hash (``$argon2id$...``) of a password that meets the policy."""
    check_policy(password, email=email)
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """Whether the hash was made with weaker parameters than the current ones."""
    return _hasher().check_needs_rehash(password_hash)


@cache
def _dummy_hash(profile: str) -> str:
    return _hasher_for(profile).hash(secrets.token_urlsafe(16))


def burn_verification_time(password: str) -> None:
    """Spend as long as a real verification, so an unknown e-mail address answers as slowly
    as a known one with a wrong password."""
    verify_password(_dummy_hash(_profile()), password)


def generate_password() -> str:
    """A random password of 20 URL-safe characters (120 bits)."""
    return secrets.token_urlsafe(15)
