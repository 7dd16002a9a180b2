"""Participant link tokens: random, shown once, stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from sqlalchemy import select

from survey.extensions import db
from survey.models import Participant

TOKEN_BYTES = 32
# secrets.token_urlsafe(32): 43 characters of the URL-safe base64 alphabet, no padding.
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def generate_token() -> str:
    """A new secret token (256 random bits)."""
    return secrets.token_urlsafe(TOKEN_BYTES)


def hash_token(token: str) -> str:
    """The hex SHA-256 stored in place of the token."""
    return hashlib.sha256(token.encode("ascii")).hexdigest()


def is_well_formed(token: str) -> bool:
    return TOKEN_RE.fullmatch(token) is not None


def find_participant(token: str) -> Participant | None:
    """The participant holding ``token``, or ``None`` (also for a malformed token).

    The database is searched by the token's hash, never by the token, so the time a lookup
    takes tells nothing about how much of a guessed token was right; the final comparison
    is constant-time as well.
    """
    if not is_well_formed(token):
        return None
    token_hash = hash_token(token)
    participant = db.session.scalar(select(Participant).where(Participant.token_hash == token_hash))
    if participant is None or not hmac.compare_digest(participant.token_hash, token_hash):
        return None
    return participant


def replace_token(participant: Participant) -> str:
    """Give ``participant`` a new secret token and return it (shown once); the old token
    stops working as soon as the change is committed. Flushes."""
    token = generate_token()
    participant.token_hash = hash_token(token)
    db.session.flush()
    return token
