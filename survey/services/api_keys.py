"""A study's API keys: created with scopes (the key shown once), found by the hash of a
presented key, revoked (a status, never a delete). Functions flush and never commit."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select

from survey.extensions import db
from survey.models import ApiKey, ApiScope, AuditAction, Study, User, utcnow
from survey.services import audit
from survey.services.errors import SurveyError

# Every key starts with this, so a leaked key is recognisable (secret scanners, logs).
KEY_PREFIX = "iemdp_"
# How many characters of a key are kept in clear to tell keys apart.
SHOWN_CHARACTERS = len(KEY_PREFIX) + 6
DEFAULT_RATE_LIMIT_PER_MINUTE = 600
MAX_NAME_LENGTH = 100


class ApiKeyError(SurveyError):
    """A key cannot be made as asked; ``field`` names the input at fault."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


def hash_key(key: str) -> str:
    """SHA-256 (hex) of a presented key: what is stored and looked up."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def parse_scopes(scopes: str | Iterable[str]) -> tuple[str, ...]:
    """The scopes named (comma-separated text or an iterable), in :attr:`ApiScope.ALL`
    order; raises :class:`ApiKeyError` for none or an unknown one.

    >>> parse_scopes("read, enrol")
    ('enrol', 'read')
    """
    names = scopes.split(",") if isinstance(scopes, str) else list(scopes)
    chosen = {name.strip().lower() for name in names if name.strip()}
    unknown = sorted(chosen - set(ApiScope.ALL))
    if unknown:
        raise ApiKeyError(
            f"unknown scope {', '.join(unknown)}; the scopes are {', '.join(ApiScope.ALL)}",
            field="scopes",
        )
    if not chosen:
        raise ApiKeyError(f"choose at least one of {', '.join(ApiScope.ALL)}", field="scopes")
    return tuple(scope for scope in ApiScope.ALL if scope in chosen)


def create_key(
    study: Study,
    *,
    name: str,
    scopes: str | Iterable[str],
    actor: User | None,
    rate_limit_per_minute: int = DEFAULT_RATE_LIMIT_PER_MINUTE,
    now: datetime | None = None,
) -> tuple[ApiKey, str]:
    """A new key for ``study``: the stored row and the key itself (returned once, never
    stored). Audited as ``api_key_created`` (key id, prefix and scopes; not the key)."""
    name = name.strip()
    if not name:
        raise ApiKeyError("give the key a name (e.g. the platform that uses it)", field="name")
    if len(name) > MAX_NAME_LENGTH:
        raise ApiKeyError(f"a key's name has at most {MAX_NAME_LENGTH} characters", field="name")
    if not 1 <= rate_limit_per_minute <= 100_000:
        raise ApiKeyError("the rate limit is 1 to 100000 requests a minute", field="rate_limit")
    chosen = parse_scopes(scopes)
    now = now or utcnow()
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey(
        study_id=study.id,
        name=name,
        prefix=key[:SHOWN_CHARACTERS],
        key_hash=hash_key(key),
        scopes=",".join(chosen),
        rate_limit_per_minute=rate_limit_per_minute,
        created_at=now,
        created_by_id=actor.id if actor is not None else None,
    )
    db.session.add(api_key)
    db.session.flush()
    audit.record(
        AuditAction.API_KEY_CREATED,
        actor=actor,
        target_type="api_key",
        target_id=api_key.id,
        details={"study": study.slug, "prefix": api_key.prefix, "scopes": list(chosen)},
        now=now,
    )
    return api_key, key


def find_key(key: str) -> ApiKey | None:
    """The key row a presented key belongs to (revoked ones included), or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return db.session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))


def keys_of(study: Study) -> list[ApiKey]:
    """The study's keys, newest first (revoked ones included)."""
    return list(
        db.session.scalars(
            select(ApiKey).where(ApiKey.study_id == study.id).order_by(ApiKey.id.desc())
        )
    )


def key_of(study: Study, key_id: int) -> ApiKey | None:
    api_key = db.session.get(ApiKey, key_id)
    return api_key if api_key is not None and api_key.study_id == study.id else None


def revoke(api_key: ApiKey, *, actor: User | None, now: datetime | None = None) -> bool:
    """Stop the key working (when committed); False when it was revoked already. Audited
    as ``api_key_revoked``."""
    if api_key.revoked_at is not None:
        return False
    now = now or utcnow()
    api_key.revoked_at = now
    api_key.revoked_by_id = actor.id if actor is not None else None
    audit.record(
        AuditAction.API_KEY_REVOKED,
        actor=actor,
        target_type="api_key",
        target_id=api_key.id,
        details={"study": api_key.study.slug, "prefix": api_key.prefix},
        now=now,
    )
    db.session.flush()
    return True
