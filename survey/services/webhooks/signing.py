"""Signing webhook deliveries, and checking a signature as a receiver does.

The scheme follows the Standard Webhooks specification (https://www.standardwebhooks.com),
with the endpoint's secret used as it is shown (``whsec_...``, its UTF-8 bytes including
the prefix) as the HMAC key. Every attempt of a delivery is a ``POST`` with the JSON body
``{"id", "type", "created_at", "study", "data"}`` and three headers:

``Webhook-Id: <event id>``
    the delivery's id (``evt_...``), the same on every attempt: receivers deduplicate by it;
``Webhook-Timestamp: <unix seconds>``
    when this attempt was signed (each attempt is signed anew);
``Webhook-Signature: v1=<hex>``
    ``<hex>`` is the lowercase hexadecimal HMAC-SHA256 of the signed content
    ``f"{id}.{timestamp}.{body}"`` under the secret, ``body`` being the exact bytes sent.
    Several space-separated ``v1=`` signatures may appear; one matching suffices.

Replay protection is the receiver's: reject a timestamp more than five minutes from its
own clock (either way) and an id it has seen before; :func:`verify` does both (pass it the
set of ids seen). A receiver in Python::

    from survey.services.webhooks.signing import verify
    payload = verify(secret, request.headers, request.get_data(), seen=seen_ids)

The secret has to be stored in clear (unlike API keys, which are stored hashed): the
server needs it to compute each signature.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Mapping, MutableSet
from typing import Any

__all__ = [
    "DEFAULT_TOLERANCE",
    "ID_HEADER",
    "SIGNATURE_HEADER",
    "SIGNATURE_VERSION",
    "TIMESTAMP_HEADER",
    "InvalidSignature",
    "encode_body",
    "sign",
    "signed_headers",
    "verify",
]

ID_HEADER = "Webhook-Id"
TIMESTAMP_HEADER = "Webhook-Timestamp"
SIGNATURE_HEADER = "Webhook-Signature"
SIGNATURE_VERSION = "v1"
# Seconds a receiver accepts between a delivery's timestamp and its own clock.
DEFAULT_TOLERANCE = 300


class InvalidSignature(ValueError):
    """A delivery that must be rejected; the message says why."""


def encode_body(payload: Mapping[str, Any]) -> bytes:
    """The body sent for ``payload``: compact JSON, keys sorted, UTF-8."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode(
        "utf-8"
    )


def _as_bytes(body: bytes | str) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def sign(secret: str, event_id: str, timestamp: int, body: bytes | str) -> str:
    """The hex HMAC-SHA256 of ``f"{event_id}.{timestamp}.{body}"`` under ``secret``.

    >>> sign("whsec_test", "evt_1", 1700000000, b'{"a":1}')[:16]
    '8b7abda022d1032b'
    """
    content = f"{event_id}.{int(timestamp)}.".encode() + _as_bytes(body)
    return hmac.new(secret.encode("utf-8"), content, hashlib.sha256).hexdigest()


def signed_headers(
    secret: str, event_id: str, body: bytes | str, *, timestamp: int | None = None
) -> dict[str, str]:
    """The three signature headers of one attempt (``timestamp``: now, by default)."""
    timestamp = int(time.time()) if timestamp is None else int(timestamp)
    return {
        ID_HEADER: event_id,
        TIMESTAMP_HEADER: str(timestamp),
        SIGNATURE_HEADER: f"{SIGNATURE_VERSION}={sign(secret, event_id, timestamp, body)}",
    }


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    raise InvalidSignature(f"the {name} header is missing")


def verify(
    secret: str,
    headers: Mapping[str, str],
    body: bytes | str,
    now: float | None = None,
    tolerance: int = DEFAULT_TOLERANCE,
    *,
    seen: MutableSet[str] | None = None,
) -> dict[str, Any]:
    """Check a delivery as a receiver must; return its JSON payload.

    Raises :class:`InvalidSignature` when a header is missing or malformed, the timestamp
    is more than ``tolerance`` seconds away from ``now`` (unix seconds; default: the clock),
    no ``v1`` signature matches (compared in constant time), the id was seen before (when
    ``seen`` is given; a valid delivery's id is added to it), or the payload's ``id`` is not
    the header's.
    """
    event_id = _header(headers, ID_HEADER).strip()
    timestamp_text = _header(headers, TIMESTAMP_HEADER).strip()
    if not timestamp_text.isascii() or not timestamp_text.isdigit():
        raise InvalidSignature(f"{TIMESTAMP_HEADER} is not a number of seconds")
    timestamp = int(timestamp_text)
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(
            f"{TIMESTAMP_HEADER} is {int(now - timestamp)} s from now (more than {tolerance} s)"
        )
    expected = sign(secret, event_id, timestamp, body)
    offered = [
        part.partition("=")[2]
        for part in _header(headers, SIGNATURE_HEADER).split()
        if part.startswith(f"{SIGNATURE_VERSION}=")
    ]
    if not any(hmac.compare_digest(expected, candidate) for candidate in offered):
        raise InvalidSignature("no signature matches")
    if seen is not None and event_id in seen:
        raise InvalidSignature(f"delivery {event_id} was received before (a replay)")
    try:
        payload = json.loads(_as_bytes(body))
    except ValueError as error:
        raise InvalidSignature(f"the body is not JSON: {error}") from None
    if not isinstance(payload, dict) or payload.get("id") != event_id:
        raise InvalidSignature(f"the body's id is not the {ID_HEADER} header's")
    if seen is not None:
        seen.add(event_id)
    return payload
