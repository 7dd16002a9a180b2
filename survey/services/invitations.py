"""Getting participants into a study: links made by the team, a lost link replaced, the
open enrolment link, and external ids kept only as a keyed hash.

Functions take plain values (keys and secrets are passed in: the request or CLI boundary
reads them from the configuration), flush and never commit.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from instruments.csv_cells import csv_text
from survey.extensions import db
from survey.models import (
    AuditAction,
    EnrolledVia,
    Participant,
    Study,
    StudyStatus,
    User,
    utcnow,
)
from survey.services import audit, studies, tokens
from survey.services.errors import SurveyError

MAX_LINKS = 1000  # per request: one page shows them all
MAX_ENROLMENT_CAP = 100_000
MAX_EXTERNAL_ID_LENGTH = 200
ENROLMENT_KEY_BYTES = 24
LINKS_CSV_SALT = "links-csv"
LINKS_CSV_MAX_AGE = 3600  # seconds a page of new links may be downloaded as CSV
ENROLMENT_FORM_CONTEXT = b"enrolment-form:"


class InvitationError(SurveyError):
    """Input the invitation rules refuse; ``field`` names the form field it concerns."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


class DuplicateExternalId(InvitationError):
    """An external id given twice, or already in the study; ``line`` is its line (from 1)."""

    def __init__(self, message: str, *, line: int):
        self.line = line
        super().__init__(message, field="external_ids")


class LinksExpired(SurveyError):
    """A signed list of links that is too old, tampered with, or not of this study."""


class EnrolmentClosed(SurveyError):
    """The open enrolment link creates nobody now; ``reason`` is ``unknown`` (no such or a
    disabled link), ``closed`` (the study is not open) or ``full`` (the cap is reached)."""

    def __init__(self, reason: str, *, study: Study | None = None):
        self.reason = reason
        self.study = study
        super().__init__(f"enrolment is {reason}")


@dataclass(frozen=True)
class NewLink:
    """A participant and their secret token: the only time the token is available."""

    participant: Participant
    token: str

    @property
    def code(self) -> str:
        return self.participant.code


def link_for(token: str, base_url: str) -> str:
    """The participant's link under ``base_url`` (the public base URL or the request's
    host: the caller chooses, see survey.config ``PARTICIPANT_BASE_URL``)."""
    return f"{base_url.rstrip('/')}/p/{token}"


def enrolment_link_for(key: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/e/{key}"


# -- external ids ----------------------------------------------------------------------------
def hash_external_id(external_id: str, key: bytes) -> str:
    """HMAC-SHA256 (hex) of an external id (surrounding blanks removed) under the server's
    ``EXTERNAL_ID_KEY``: what is stored instead of the id. A system holding the same key
    computes the same hash from its own ids, so imports and the API can match them."""
    return hmac.new(key, external_id.strip().encode("utf-8"), hashlib.sha256).hexdigest()


def parse_external_ids(text: str) -> list[tuple[int, str]]:
    """(line number, id) for every non-blank line of ``text``; raises
    :class:`InvitationError` / :class:`DuplicateExternalId` naming the line."""
    found: list[tuple[int, str]] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        external_id = line.strip()
        if not external_id:
            continue
        if len(external_id) > MAX_EXTERNAL_ID_LENGTH:
            raise InvitationError(
                f"line {number}: an external id has at most {MAX_EXTERNAL_ID_LENGTH} characters",
                field="external_ids",
            )
        if external_id in first_line:
            raise DuplicateExternalId(
                f"line {number}: the same external id as line {first_line[external_id]}",
                line=number,
            )
        first_line[external_id] = number
        found.append((number, external_id))
    if len(found) > MAX_LINKS:
        raise InvitationError(
            f"{len(found)} external ids: at most {MAX_LINKS} at a time", field="external_ids"
        )
    return found


# -- links made by the team ------------------------------------------------------------------
def _new_participants(
    study: Study,
    count: int,
    *,
    external_id_hashes: Sequence[str | None] = (),
    via: str = EnrolledVia.INVITATION,
    now: datetime,
) -> list[NewLink]:
    created = studies.add_participants(
        study, count, external_id_hashes=external_id_hashes, via=via, now=now
    )
    return [NewLink(participant, token) for participant, token in created]


def create_links(
    study: Study,
    *,
    count: int | None = None,
    external_ids: str = "",
    external_id_key: bytes | None = None,
    actor: User | None,
    now: datetime | None = None,
) -> list[NewLink]:
    """New participants with their links: ``count`` of them (1..1000), or one per
    non-blank line of ``external_ids`` (each stored only as its keyed hash). Audited as
    ``participants_added`` (how many; no token, no id).

    Raises :class:`InvitationError` (naming the field) and :class:`DuplicateExternalId`
    (naming the line) before anything is written.
    """
    now = now or utcnow()
    lines = parse_external_ids(external_ids) if external_ids.strip() else []
    hashes: list[str] = []
    if lines:
        if external_id_key is None:
            raise InvitationError("no EXTERNAL_ID_KEY is configured", field="external_ids")
        hashes = [hash_external_id(external_id, external_id_key) for _line, external_id in lines]
        taken = set(
            db.session.scalars(
                select(Participant.external_id_hash).where(
                    Participant.study_id == study.id, Participant.external_id_hash.in_(hashes)
                )
            )
        )
        for (line, _external_id), external_id_hash in zip(lines, hashes, strict=True):
            if external_id_hash in taken:
                raise DuplicateExternalId(
                    f"line {line}: this external id is in the study already", line=line
                )
        count = len(hashes)
    elif count is None or not 1 <= count <= MAX_LINKS:
        raise InvitationError(f"make 1 to {MAX_LINKS} links at a time", field="count")
    links = _new_participants(study, count, external_id_hashes=hashes, now=now)
    audit.record(
        AuditAction.PARTICIPANTS_ADDED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        details={"study": study.slug, "count": len(links), "external_ids": len(hashes)},
        now=now,
    )
    return links


def regenerate_link(participant: Participant, *, actor: User | None) -> str:
    """A new link for a participant who lost theirs; the old one stops working at once
    (when committed). Audited as ``link_regenerated`` (no token)."""
    token = tokens.replace_token(participant)
    audit.record(
        AuditAction.LINK_REGENERATED,
        actor=actor,
        target_type="participant",
        target_id=participant.id,
        details={"study": participant.study.slug, "code": participant.code},
    )
    return token


def participant_of(study: Study, participant_id: int) -> Participant | None:
    """The participant with that id if it belongs to ``study``."""
    participant = db.session.get(Participant, participant_id)
    return participant if participant is not None and participant.study_id == study.id else None


# -- the CSV of new links: the tokens go back to the browser signed, never to the database ---
def _links_serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt=LINKS_CSV_SALT)


def sign_links(study: Study, links: Sequence[NewLink], secret_key: str) -> str:
    """The tokens of ``links`` signed for :func:`signed_links` (valid one hour)."""
    return str(
        _links_serializer(secret_key).dumps(
            {"study": study.id, "tokens": [link.token for link in links]}
        )
    )


def signed_links(
    study: Study, signed: str, secret_key: str, *, max_age: int = LINKS_CSV_MAX_AGE
) -> list[NewLink]:
    """The links behind a value of :func:`sign_links`, checked: a good signature, at most
    ``max_age`` seconds old, of this study, and every token still the link of a participant
    of this study (a regenerated link is not). Raises :class:`LinksExpired`."""
    try:
        payload = _links_serializer(secret_key).loads(signed, max_age=max_age)
    except SignatureExpired:
        raise LinksExpired(
            "these links were made more than an hour ago: the list can no longer be downloaded"
        ) from None
    except BadSignature:
        raise LinksExpired("this list of links is not one this server made") from None
    if not isinstance(payload, dict):
        raise LinksExpired("this list of links is not one this server made")
    found = payload.get("tokens")
    if payload.get("study") != study.id or not isinstance(found, list) or not found:
        raise LinksExpired("this list of links is not of this study")
    if not all(isinstance(token, str) and tokens.is_well_formed(token) for token in found):
        raise LinksExpired("this list of links is not one this server made")
    by_hash = {tokens.hash_token(token): token for token in found}
    participants = {
        participant.token_hash: participant
        for participant in db.session.scalars(
            select(Participant).where(
                Participant.study_id == study.id, Participant.token_hash.in_(list(by_hash))
            )
        )
    }
    if len(participants) != len(by_hash):
        raise LinksExpired(
            "some of these links were replaced or are not of this study: nothing to download"
        )
    return [NewLink(participants[tokens.hash_token(token)], token) for token in found]


def links_csv(links: Sequence[NewLink], base_url: str) -> str:
    """``code,link`` with a header, one row per link (CRLF line ends, as RFC 4180)."""
    return csv_text(
        ["code", "link"], [[link.code, link_for(link.token, base_url)] for link in links]
    )


# -- open enrolment --------------------------------------------------------------------------
def set_enrolment(study: Study, *, cap: int | None, actor: User | None) -> None:
    """Open enrolment with ``cap`` (1..100,000; at least one more than already enrolled
    through the link), or close it with ``cap=None``. Opening makes a new key (so a link
    closed once never works again); changing the cap of an open link keeps it. Audited as
    ``enrolment_link_changed``. Raises :class:`InvitationError` (field ``cap``)."""
    if cap is not None:
        if not 1 <= cap <= MAX_ENROLMENT_CAP:
            raise InvitationError(
                f"the cap is a whole number from 1 to {MAX_ENROLMENT_CAP:,}", field="cap"
            )
        if cap <= study.enrolled_by_link:
            raise InvitationError(
                f"{study.enrolled_by_link} participants came through the link already: "
                f"set a cap above {study.enrolled_by_link}",
                field="cap",
            )
    was_open = study.enrolment_key is not None
    if cap is None:
        study.enrolment_key = None
    else:
        if not was_open:
            study.enrolment_key = secrets.token_urlsafe(ENROLMENT_KEY_BYTES)
        study.enrolment_cap = cap
    db.session.flush()
    audit.record(
        AuditAction.ENROLMENT_LINK_CHANGED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        details={
            "study": study.slug,
            "enabled": cap is not None,
            "cap": study.enrolment_cap,
            "new_key": cap is not None and not was_open,
        },
    )


def enrolment_study(key: str) -> Study:
    """The study whose open enrolment link has ``key``, if it can enrol now; raises
    :class:`EnrolmentClosed`."""
    study = db.session.scalar(select(Study).where(Study.enrolment_key == key)) if key else None
    if study is None or study.enrolment_key != key:
        raise EnrolmentClosed("unknown")
    if study.status != StudyStatus.OPEN:
        raise EnrolmentClosed("closed", study=study)
    if study.enrolment_cap is None or study.enrolled_by_link >= study.enrolment_cap:
        raise EnrolmentClosed("full", study=study)
    return study


def enrol(key: str, *, now: datetime | None = None) -> NewLink:
    """A new participant (enrolled via the open link) of the study whose link has ``key``.

    The cap holds under concurrency: one conditional UPDATE takes a place (the database
    row lock orders simultaneous requests; the second sees the first's count), and only a
    request that took one creates a participant. Raises :class:`EnrolmentClosed`.
    """
    study = enrolment_study(key)
    studies = Study.__table__
    taken = db.session.execute(
        update(studies)
        .where(
            studies.c.id == study.id,
            studies.c.enrolment_key == key,
            studies.c.status == StudyStatus.OPEN,
            studies.c.enrolled_by_link < studies.c.enrolment_cap,
        )
        .values(enrolled_by_link=studies.c.enrolled_by_link + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise EnrolmentClosed("full", study=study)
    db.session.expire(study, ["enrolled_by_link"])
    return _new_participants(study, 1, via=EnrolledVia.OPEN_LINK, now=now or utcnow())[0]


def enrolment_form_token(key: str, secret_key: str) -> str:
    """The token of the enrolment page's form: an HMAC of the link's key, so the form works
    without a session and never expires while the link is open."""
    secret = secret_key.encode("utf-8") if isinstance(secret_key, str) else secret_key
    return hmac.new(
        secret, ENROLMENT_FORM_CONTEXT + key.encode("utf-8"), hashlib.sha256
    ).hexdigest()


def enrolment_form_token_ok(key: str, token: str | None, secret_key: str) -> bool:
    return bool(token) and hmac.compare_digest(enrolment_form_token(key, secret_key), str(token))
