"""A participant's way through a wave: link → consent → pages → completion.

Every function takes plain values and models, flushes and never commits: the request that
calls one commits once.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select

from instruments.definition import InstrumentDefinition, Page
from survey.extensions import db
from survey.models import (
    Answer,
    ConsentDecision,
    ConsentRecord,
    PageVisit,
    Participant,
    ResponseSession,
    Study,
    StudyStatus,
    Wave,
    utcnow,
)
from survey.services import tokens
from survey.services.errors import (
    ConsentRequired,
    InvalidAnswers,
    NoOpenWave,
    PageNotReached,
    SessionCompleted,
    StudyClosed,
    UnknownPage,
    UnknownToken,
)
from survey.services.instruments import definition_of
from survey.services.item_order import Entry, ordered_entries
from survey.services.upsert import upsert


@dataclass(frozen=True)
class Invitation:
    """What a valid link leads to now: the participant, their study and the current wave."""

    participant: Participant
    study: Study
    wave: Wave


@dataclass(frozen=True)
class PageView:
    """A page as one participant sees it."""

    number: int  # 1-based
    total: int
    page: Page
    entries: tuple[Entry, ...]  # in display order
    definition: InstrumentDefinition


# -- link ------------------------------------------------------------------------------------
def resolve(token: str, *, now: datetime | None = None) -> Invitation:
    """The invitation behind ``token``.

    Raises :class:`UnknownToken` (no such link, or malformed), :class:`StudyClosed` and
    :class:`NoOpenWave`.
    """
    participant = tokens.find_participant(token)
    if participant is None:
        raise UnknownToken("no participant has this link")
    study = participant.study
    if study.status != StudyStatus.OPEN:
        raise StudyClosed(f"study {study.slug} is {study.status}", study=study)
    return Invitation(participant, study, _current_wave(participant, study, now or utcnow()))


def _current_wave(participant: Participant, study: Study, now: datetime) -> Wave:
    """The first open wave the participant has not completed; once all open waves are
    completed, the last of them (so the link shows its thank-you page)."""
    answerable = [wave for wave in study.waves if wave.is_answerable(now)]
    if not answerable:
        raise NoOpenWave(f"no wave of study {study.slug} is open", study=study)
    completed = set(
        db.session.scalars(
            select(ResponseSession.wave_id).where(
                ResponseSession.participant_id == participant.id,
                ResponseSession.completed_at.is_not(None),
            )
        )
    )
    return next((wave for wave in answerable if wave.id not in completed), answerable[-1])


# -- consent ---------------------------------------------------------------------------------
# A conflict on the ordinal means another request decided at the same moment; each retry
# starts after a decision that request stored, so two attempts suffice unless several
# opposite decisions keep arriving together.
CONSENT_ATTEMPTS = 5


def _latest_consent(invitation: Invitation) -> ConsentRecord | None:
    return db.session.scalar(
        select(ConsentRecord)
        .where(
            ConsentRecord.participant_id == invitation.participant.id,
            ConsentRecord.consent_version == invitation.study.consent_version,
        )
        .order_by(ConsentRecord.ordinal.desc())
        .limit(1)
    )


def consent_decision(invitation: Invitation) -> str | None:
    """The participant's latest decision on the study's current consent version, if any."""
    latest = _latest_consent(invitation)
    return None if latest is None else latest.decision


def record_consent(
    invitation: Invitation, decision: str, *, now: datetime | None = None
) -> ConsentRecord | None:
    """Record a decision on the current consent version (append-only).

    Repeating the latest decision records nothing and returns ``None``. A decline is all
    that is stored for a participant who declines. Two simultaneous requests with the same
    decision store one record (the unique participant, consent version and ordinal): the
    second finds the first's record and returns it.
    """
    if decision not in (ConsentDecision.GIVEN, ConsentDecision.DECLINED):
        raise ValueError(f"unknown consent decision {decision!r}")
    participant_id = invitation.participant.id
    consent_version = invitation.study.consent_version
    for _attempt in range(CONSENT_ATTEMPTS):
        latest = _latest_consent(invitation)
        if latest is not None and latest.decision == decision:
            return None
        ordinal = 1 if latest is None else latest.ordinal + 1
        upsert(
            ConsentRecord.__table__,
            [
                {
                    "participant_id": participant_id,
                    "consent_version": consent_version,
                    "ordinal": ordinal,
                    "decision": decision,
                    "decided_at": now or utcnow(),
                }
            ],
            conflict=["participant_id", "consent_version", "ordinal"],
        )
        record = db.session.scalar(
            select(ConsentRecord).where(
                ConsentRecord.participant_id == participant_id,
                ConsentRecord.consent_version == consent_version,
                ConsentRecord.ordinal == ordinal,
            )
        )
        if record is not None and record.decision == decision:
            return record
    raise RuntimeError(f"consent of participant {participant_id} kept changing; not recorded")


# -- session ---------------------------------------------------------------------------------
def find_session(invitation: Invitation) -> ResponseSession | None:
    return db.session.scalar(
        select(ResponseSession).where(
            ResponseSession.participant_id == invitation.participant.id,
            ResponseSession.wave_id == invitation.wave.id,
        )
    )


def start_session(invitation: Invitation, *, now: datetime | None = None) -> ResponseSession:
    """The participant's session at the current wave, started if need be.

    Raises :class:`ConsentRequired` without consent to the current consent version.
    """
    if consent_decision(invitation) != ConsentDecision.GIVEN:
        raise ConsentRequired("consent to the study first")
    session = find_session(invitation)
    if session is None:
        # Two first requests may race here: the unique (participant, wave) keeps one row.
        upsert(
            ResponseSession.__table__,
            [
                {
                    "participant_id": invitation.participant.id,
                    "wave_id": invitation.wave.id,
                    "instrument_version_id": invitation.study.instrument_version_id,
                    "started_at": now or utcnow(),
                }
            ],
            conflict=["participant_id", "wave_id"],
        )
        session = find_session(invitation)
        assert session is not None
    return session


def pages(session: ResponseSession) -> tuple[Page, ...]:
    return definition_of(session.instrument_version).pages()


def submitted_pages(session: ResponseSession) -> set[str]:
    return set(
        db.session.scalars(
            select(PageVisit.page_key).where(
                PageVisit.session_id == session.id, PageVisit.submitted_at.is_not(None)
            )
        )
    )


def resume_number(session: ResponseSession | None) -> int:
    """The number of the first page not yet submitted (the last page when all are)."""
    if session is None:
        return 1
    submitted = submitted_pages(session)
    all_pages = pages(session)
    for number, page in enumerate(all_pages, start=1):
        if page.key not in submitted:
            return number
    return len(all_pages)


def page_view(session: ResponseSession, number: int) -> PageView:
    """Page ``number`` (1-based) for this session's participant.

    Raises :class:`SessionCompleted` once the wave is done, :class:`UnknownPage` for a number
    out of range and :class:`PageNotReached` for a page after the first unsubmitted one.
    """
    if session.completed_at is not None:
        raise SessionCompleted("this questionnaire is complete")
    definition = definition_of(session.instrument_version)
    all_pages = definition.pages()
    if not 1 <= number <= len(all_pages):
        raise UnknownPage(f"no page {number}")
    allowed = resume_number(session)
    if number > allowed:
        raise PageNotReached(allowed)
    page = all_pages[number - 1]
    entries = ordered_entries(definition, page, session.participant.item_order_seed)
    return PageView(number, len(all_pages), page, entries, definition)


def show_page(session: ResponseSession, page_key: str, *, now: datetime | None = None) -> None:
    """Record that the page was shown (first and latest time)."""
    now = now or utcnow()
    upsert(
        PageVisit.__table__,
        [
            {
                "session_id": session.id,
                "page_key": page_key,
                "first_shown_at": now,
                "last_shown_at": now,
                "submit_count": 0,
            }
        ],
        conflict=["session_id", "page_key"],
        update=lambda excluded: {"last_shown_at": excluded.last_shown_at},
    )
    session.current_page = page_key
    db.session.flush()


def saved_answers(session: ResponseSession, page_key: str) -> dict[str, int | None]:
    rows = db.session.execute(
        select(Answer.item_id, Answer.value).where(
            Answer.session_id == session.id, Answer.page_key == page_key
        )
    )
    return {item_id: value for item_id, value in rows}


def check_answers(
    definition: InstrumentDefinition, page: Page, answers: Mapping[str, object]
) -> dict[str, str]:
    """Problems with ``answers`` for ``page``: id → message (empty when all is well).

    Every entry of the page must be answered with a value of its scale, unless it is
    optional; nothing else may be answered.
    """
    problems: dict[str, str] = {}
    on_page = {entry.id for entry in page.entries}
    for key in answers:
        if key not in on_page:
            problems[key] = f"is not an item of page {page.key}"
    for entry in page.entries:
        value = answers.get(entry.id)
        if value is None:
            if not entry.optional:
                problems[entry.id] = "needs an answer"
        elif (
            isinstance(value, bool)
            or not isinstance(value, int)
            or value not in definition.scale(entry.scale).values
        ):
            problems[entry.id] = f"{value!r} is not a value of scale {entry.scale}"
    return problems


def save_page(
    session: ResponseSession,
    page_key: str,
    answers: Mapping[str, int | None],
    *,
    shown_at: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Store the answers of a whole page; return whether the questionnaire is now complete.

    The answers are checked against the definition again. Answers stored before are
    updated in place (``updated_at`` moves only when the value changes). ``shown_at`` is
    used when the page's showing was not recorded (a client that never called
    :func:`show_page`). Raises :class:`InvalidAnswers`, :class:`SessionCompleted`,
    :class:`UnknownPage`.
    """
    if session.completed_at is not None:
        raise SessionCompleted("this questionnaire is complete")
    now = now or utcnow()
    definition = definition_of(session.instrument_version)
    all_pages = definition.pages()
    page = next((page for page in all_pages if page.key == page_key), None)
    if page is None:
        raise UnknownPage(f"no page {page_key!r}")
    problems = check_answers(definition, page, answers)
    if problems:
        raise InvalidAnswers(problems)

    answers_table = Answer.__table__
    upsert(
        answers_table,
        [
            {
                "session_id": session.id,
                "item_id": entry.id,
                "page_key": page.key,
                "value": answers.get(entry.id),
                "answered_at": now,
                "updated_at": now,
            }
            for entry in page.entries
        ],
        conflict=["session_id", "item_id"],
        update=lambda excluded: {
            "value": excluded.value,
            "updated_at": case(
                (answers_table.c.value.is_distinct_from(excluded.value), excluded.updated_at),
                else_=answers_table.c.updated_at,
            ),
        },
    )
    visits_table = PageVisit.__table__
    upsert(
        visits_table,
        [
            {
                "session_id": session.id,
                "page_key": page.key,
                "first_shown_at": shown_at or now,
                "last_shown_at": shown_at or now,
                "submitted_at": now,
                "submit_count": 1,
            }
        ],
        conflict=["session_id", "page_key"],
        update=lambda excluded: {
            "submitted_at": excluded.submitted_at,
            "submit_count": visits_table.c.submit_count + 1,
        },
    )
    session.current_page = page.key
    if {p.key for p in all_pages} <= submitted_pages(session):
        session.completed_at = now
    db.session.flush()
    return session.completed_at is not None
