"""Idempotent API requests: a request sent with an ``Idempotency-Key`` is done once.

The first request under a key *claims* it (:func:`claim`: a row of ``api_idempotency``
inserted before the request's work, unique per study and key) and, once its work is done,
stores its answer in the same row (:func:`complete`), all in the request's one
transaction: either the effect and its recorded answer are both stored, or neither is. A
retry with the same key and the same request (method, path and body, compared by
:func:`request_sha256`) is answered with the stored answer and does nothing; the same key
with another request is a conflict.

Two simultaneous requests with one key: both try to insert the claim; the unique
constraint keeps one. On PostgreSQL the second insert waits for the first transaction and
then fails (the caller rolls back and replays the winner's answer); on SQLite the second
waits for the write lock. A request that fails (a 4xx) stores nothing, its claim included:
retrying it with the same key runs it again.

Functions flush and never commit.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from instruments.canonical_json import canonical_json
from survey.extensions import db
from survey.models import IdempotencyRecord, utcnow

__all__ = [
    "MAX_KEY_LENGTH",
    "claim",
    "complete",
    "find_record",
    "key_problem",
    "request_sha256",
]

MAX_KEY_LENGTH = 255
"""The longest Idempotency-Key (the column's length)."""


def key_problem(key: str) -> str | None:
    """Why ``key`` cannot be an Idempotency-Key (None: it can): 1 to 255 visible ASCII
    characters (a UUID is the usual choice).

    >>> key_problem("3f2b6c1e-5a4d-4c8e-9b1a-0d2e3f4a5b6c") is None
    True
    >>> key_problem("")
    'is empty'
    """
    if not key:
        return "is empty"
    if len(key) > MAX_KEY_LENGTH:
        return f"is {len(key)} characters long; at most {MAX_KEY_LENGTH}"
    if not all("!" <= character <= "~" for character in key):
        return "may hold only visible ASCII characters (no spaces), e.g. a UUID"
    return None


def request_sha256(method: str, path: str, body: Any) -> str:
    """SHA-256 (hex) of the request: method, path (with its query string) and the body as
    canonical JSON (:mod:`instruments.canonical_json`: key order and spacing do not count).

    >>> first = request_sha256("POST", "/a", {"x": 1, "y": 2})
    >>> first == request_sha256("post", "/a", {"y": 2, "x": 1})
    True
    """
    text = f"{method.upper()} {path}\n{canonical_json(body)}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def find_record(study_id: int, key: str) -> IdempotencyRecord | None:
    return db.session.scalar(
        select(IdempotencyRecord).where(
            IdempotencyRecord.study_id == study_id, IdempotencyRecord.idempotency_key == key
        )
    )


def claim(
    study_id: int, api_key_id: int, key: str, *, method: str, path: str, request_sha: str
) -> IdempotencyRecord:
    """Insert the key's record before the request's work (flushed; its answer is filled in
    by :func:`complete`). Raises :class:`sqlalchemy.exc.IntegrityError` when another
    request holds the key (the caller rolls back and reads that request's record)."""
    record = IdempotencyRecord(
        study_id=study_id,
        api_key_id=api_key_id,
        idempotency_key=key,
        method=method.upper(),
        path=path[:500],
        request_sha256=request_sha,
        response_status=0,  # not answered yet; never committed so
        response_body={},
        created_at=utcnow(),
    )
    db.session.add(record)
    db.session.flush()
    return record


def complete(record: IdempotencyRecord, status: int, body: dict[str, Any]) -> None:
    """Keep the answer of the request that claimed ``record`` (flushed)."""
    record.response_status = status
    record.response_body = body
    db.session.flush()
