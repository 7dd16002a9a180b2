"""Signing and verifying deliveries (survey.services.webhooks.signing)."""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest

from survey.services.webhooks import signing

SECRET = "whsec_" + "k" * 43
BODY = signing.encode_body({"id": "evt_1", "type": "session.completed", "data": {"a": 1}})
NOW = 1_800_000_000


def test_the_signature_is_hex_hmac_sha256_of_id_timestamp_body():
    headers = signing.signed_headers(SECRET, "evt_1", BODY, timestamp=NOW)
    expected = hmac.new(
        SECRET.encode(), b"evt_1." + str(NOW).encode() + b"." + BODY, hashlib.sha256
    ).hexdigest()
    assert headers == {
        "Webhook-Id": "evt_1",
        "Webhook-Timestamp": str(NOW),
        "Webhook-Signature": f"v1={expected}",
    }
    assert json.loads(BODY)["id"] == "evt_1"


def test_verify_accepts_a_fresh_delivery_and_returns_its_payload():
    headers = signing.signed_headers(SECRET, "evt_1", BODY, timestamp=NOW)
    lowercase = {name.lower(): value for name, value in headers.items()}
    assert signing.verify(SECRET, lowercase, BODY, NOW + 299)["type"] == "session.completed"
    several = {**headers, "Webhook-Signature": "v1=00ff " + headers["Webhook-Signature"]}
    assert signing.verify(SECRET, several, BODY.decode(), NOW - 299)["id"] == "evt_1"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        (lambda h, b: (h, b.replace(b'"a":1', b'"a":2')), "no signature matches"),
        (lambda h, b: ({**h, "Webhook-Id": "evt_2"}, b), "no signature matches"),
        (lambda h, b: ({**h, "Webhook-Timestamp": str(NOW - 301)}, b), "more than 300 s"),
        (lambda h, b: ({**h, "Webhook-Timestamp": str(NOW + 301)}, b), "more than 300 s"),
        (lambda h, b: ({**h, "Webhook-Timestamp": "soon"}, b), "not a number"),
        (lambda h, b: ({**h, "Webhook-Signature": "v2=" + "0" * 64}, b), "no signature"),
        (lambda h, b: ({k: v for k, v in h.items() if k != "Webhook-Id"}, b), "missing"),
    ],
    ids=["tampered-body", "other-id", "old", "future", "bad-timestamp", "no-v1", "no-id"],
)
def test_verify_rejects(change, reason):
    headers, body = change(signing.signed_headers(SECRET, "evt_1", BODY, timestamp=NOW), BODY)
    with pytest.raises(signing.InvalidSignature, match=reason):
        signing.verify(SECRET, headers, body, NOW)


def test_verify_rejects_another_secret_and_a_replayed_id():
    headers = signing.signed_headers(SECRET, "evt_1", BODY, timestamp=NOW)
    with pytest.raises(signing.InvalidSignature, match="no signature matches"):
        signing.verify("whsec_other", headers, BODY, NOW)
    seen: set[str] = set()
    signing.verify(SECRET, headers, BODY, NOW, seen=seen)
    assert seen == {"evt_1"}
    again = signing.signed_headers(SECRET, "evt_1", BODY, timestamp=NOW + 10)
    with pytest.raises(signing.InvalidSignature, match="replay"):
        signing.verify(SECRET, again, BODY, NOW + 10, seen=seen)


def test_verify_rejects_a_body_whose_id_is_not_the_header_id():
    body = signing.encode_body({"id": "evt_9"})
    headers = signing.signed_headers(SECRET, "evt_1", body, timestamp=NOW)
    with pytest.raises(signing.InvalidSignature, match="id"):
        signing.verify(SECRET, headers, body, NOW)
