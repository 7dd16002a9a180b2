"""Canonical JSON and its SHA-256: the one form content is hashed in.

Sorted keys, no whitespace, UTF-8 without escapes: equal data, equal text, equal hash.
Instrument versions (:attr:`instruments.definition.InstrumentDefinition.content_hash`) and
the audit log's settings hashes (``survey.services.audit.content_hash``) use it.

>>> canonical_json({"b": 1, "a": ["ü", None]})
'{"a":["ü",null],"b":1}'
>>> content_hash({"b": 1, "a": 2}) == content_hash({"a": 2, "b": 1})
True
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["canonical_json", "content_hash"]


def canonical_json(data: Any) -> str:
    """``data`` as canonical JSON (sorted keys, no spaces, non-ASCII kept)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(data: Any) -> str:
    """SHA-256 (hex) of :func:`canonical_json` as UTF-8."""
    return hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()
