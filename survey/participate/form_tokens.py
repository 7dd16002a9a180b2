"""The participant form token: proof that a POST comes from a page the link showed.

Participant pages are reached through a secret link and may stay open for hours, longer
than any session cookie lives; the link's secret already says who the participant is. So
their forms carry a token derived from the participant's link, not from the Flask session:
HMAC-SHA256 of the link's stored hash, keyed with the app's secret key. It changes when the
link is regenerated (a new token hash) or the secret key changes, and needs no cookie.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping

from flask import current_app

from survey.models import Participant

FIELD = "form_token"
_PURPOSE = b"participant-form:"


def form_token(participant: Participant) -> str:
    """The token the participant's forms carry in the hidden field :data:`FIELD`."""
    key = current_app.config["SECRET_KEY"]
    key_bytes = key.encode("utf-8") if isinstance(key, str) else bytes(key)
    message = _PURPOSE + participant.token_hash.encode("ascii")
    return hmac.new(key_bytes, message, hashlib.sha256).hexdigest()


def is_valid(participant: Participant, submitted: object) -> bool:
    """Whether ``submitted`` is the participant's form token (compared in constant time)."""
    if not isinstance(submitted, str) or not submitted.isascii():
        return False
    return hmac.compare_digest(submitted, form_token(participant))


def required(app_config: Mapping[str, object]) -> bool:
    """Whether POSTs must carry the token: with the app's CSRF protection (tests switch
    both off together with ``WTF_CSRF_ENABLED``)."""
    return bool(app_config.get("WTF_CSRF_ENABLED", True))
