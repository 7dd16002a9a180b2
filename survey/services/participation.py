"""A participant's way through a wave: link → consent → pages → completion.

A wave asks the study's battery: the pages of each instrument version in turn, numbered
1..n across the battery. Every function takes plain values and models, flushes and never
commits: the request that calls one commits once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, select

from instruments.definition import InstrumentDefinition, Page
from survey.extensions import db
from survey.models import (
    Answer,
    AuditAction,
    ConsentDecision,
    ConsentRecord,
    DeliveryMode,
    InstrumentVersion,
    PageVisit,
    Participant,
    ResponseSession,
    SafetyAlert,
    Study,
    StudyStatus,
    Wave,
    WaveStatus,
    WithdrawalPolicy,
    utcnow,
)
from survey.services import audit, tokens
from survey.services.errors import (
    BetweenWaves,
    ConsentRequired,
    InvalidAnswers,
    PageNotReached,
    ParticipantWithdrawn,
    SessionCompleted,
    StudyClosed,
    UnknownPage,
    UnknownToken,
)
from survey.services.instruments import definition_of
from survey.services.item_order import Entry, ordered_entries
from survey.services.upsert import upsert
from survey.services.webhooks import events as webhook_events


@dataclass(frozen=True)
class Invitation:
    """What a valid link leads to now: the participant, their study and the current wave."""

    participant: Participant
    study: Study
    wave: Wave


@dataclass(frozen=True)
class BatteryPage:
    """One page of a study's battery: an instrument version's page."""

    version: InstrumentVersion
    definition: InstrumentDefinition
    page: Page

    @property
    def ref(self) -> tuple[int, str]:
        return (self.version.id, self.page.key)


@dataclass(frozen=True)
class PageView:
    """A page as one participant sees it."""

    number: int  # 1-based, across the battery
    total: int
    page: Page
    entries: tuple[Entry, ...]  # in display order
    definition: InstrumentDefinition
    version: InstrumentVersion
    finished: int = 0  # pages of the battery submitted so far


@dataclass(frozen=True)
class SavedPage:
    """What submitting a page did: whether the wave is now complete, and the safety alerts
    its answers raised (new ones only)."""

    completed: bool
    safety_alerts: tuple[SafetyAlert, ...] = ()


def battery_pages(study: Study) -> tuple[BatteryPage, ...]:
    """Every page of the study's battery, in the order participants answer them."""
    return tuple(
        BatteryPage(version, definition_of(version), page)
        for version in study.instrument_versions
        for page in definition_of(version).pages()
    )


# -- link ------------------------------------------------------------------------------------
def participant_for(token: str) -> Participant:
    """The participant holding ``token`` whatever the state of their study; raises
    :class:`UnknownToken`."""
    participant = tokens.find_participant(token)
    if participant is None:
        raise UnknownToken("no participant has this link")
    return participant


def resolve(token: str, *, now: datetime | None = None) -> Invitation:
    """The invitation behind ``token``: the wave open for this participant now.

    Raises :class:`UnknownToken` (no such link, or malformed), :class:`StudyClosed` (a
    draft or closed study), :class:`ParticipantWithdrawn` and :class:`BetweenWaves` (no
    wave open for them now; it says when the next one opens).
    """
    participant = participant_for(token)
    study = participant.study
    if study.status != StudyStatus.OPEN:
        raise StudyClosed(f"study {study.slug} is {study.status}", study=study)
    if participant.withdrawn_at is not None:
        raise ParticipantWithdrawn("this participant stopped taking part", study=study)
    return Invitation(participant, study, current_wave(participant, now or utcnow()))


def completed_wave_ids(participant: Participant) -> set[int]:
    return set(
        db.session.scalars(
            select(ResponseSession.wave_id).where(
                ResponseSession.participant_id == participant.id,
                ResponseSession.completed_at.is_not(None),
            )
        )
    )


def current_wave(participant: Participant, now: datetime) -> Wave:
    """The first wave open for the participant now that they have not completed; when
    they have completed every wave open now, the last of those (its thank-you page).

    A participant not yet enrolled (no consent yet) is taken as enrolling now. Raises
    :class:`BetweenWaves` when no wave is open for them.
    """
    study = participant.study
    enrolled = participant.enrolled_at
    answerable = [wave for wave in study.waves if wave.is_answerable(now, enrolled)]
    completed = completed_wave_ids(participant)
    pending = [wave for wave in answerable if wave.id not in completed]
    if pending:
        return pending[0]
    if answerable:
        return answerable[-1]
    opens_at = next_opening(participant, now, completed=completed)
    raise BetweenWaves(
        f"no wave of study {study.slug} is open for this participant",
        study=study,
        opens_at=opens_at,
        completed_any=bool(completed),
    )


def next_opening(
    participant: Participant, now: datetime, *, completed: set[int] | None = None
) -> datetime | None:
    """When the next wave the participant has not completed opens for them (after
    ``now``), or None when no such wave is scheduled."""
    if completed is None:
        completed = completed_wave_ids(participant)
    enrolled = participant.enrolled_at or now
    openings = []
    for wave in participant.study.waves:
        if wave.id in completed or wave.status != WaveStatus.OPEN:
            continue
        opens, _closes = wave.window(enrolled)
        if opens is not None and opens > now:
            openings.append(opens)
    return min(openings, default=None)


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
    that is stored for a participant who declines. A participant's first consent is their
    enrolment (``enrolled_at``). Two simultaneous requests with the same
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
            participant = invitation.participant
            if decision == ConsentDecision.GIVEN and participant.enrolled_at is None:
                participant.enrolled_at = record.decided_at  # enrolment is the first consent
                db.session.flush()
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
                    "started_at": now or utcnow(),
                }
            ],
            conflict=["participant_id", "wave_id"],
        )
        session = find_session(invitation)
        assert session is not None
    return session


def pages(session: ResponseSession) -> tuple[BatteryPage, ...]:
    return battery_pages(session.wave.study)


def submitted_pages(session: ResponseSession) -> set[tuple[int, str]]:
    """(instrument version id, page key) of every page submitted in this session."""
    return {
        (version_id, page_key)
        for version_id, page_key in db.session.execute(
            select(PageVisit.instrument_version_id, PageVisit.page_key).where(
                PageVisit.session_id == session.id, PageVisit.submitted_at.is_not(None)
            )
        )
    }


def resume_number(session: ResponseSession | None) -> int:
    """The number of the first page not yet submitted (the last page when all are)."""
    if session is None:
        return 1
    submitted = submitted_pages(session)
    all_pages = pages(session)
    for number, battery_page in enumerate(all_pages, start=1):
        if battery_page.ref not in submitted:
            return number
    return len(all_pages)


def page_view(session: ResponseSession, number: int) -> PageView:
    """Page ``number`` (1-based) for this session's participant.

    Raises :class:`SessionCompleted` once the wave is done, :class:`UnknownPage` for a number
    out of range and :class:`PageNotReached` for a page after the first unsubmitted one.
    """
    if session.completed_at is not None:
        raise SessionCompleted("this questionnaire is complete")
    all_pages = pages(session)
    if not 1 <= number <= len(all_pages):
        raise UnknownPage(f"no page {number}")
    submitted = submitted_pages(session)
    allowed = next(
        (n for n, bp in enumerate(all_pages, start=1) if bp.ref not in submitted), len(all_pages)
    )
    if number > allowed:
        raise PageNotReached(allowed)
    return _view(all_pages, number, session.participant.item_order_seed, len(submitted))


def preview_view(study: Study, number: int, *, seed: int = 0) -> PageView:
    """Page ``number`` of the study's battery as a participant would see it; nothing is
    read from or written to any session. Raises :class:`UnknownPage`."""
    all_pages = battery_pages(study)
    if not 1 <= number <= len(all_pages):
        raise UnknownPage(f"no page {number}")
    return _view(all_pages, number, seed, number - 1)


def _view(all_pages: tuple[BatteryPage, ...], number: int, seed: int, finished: int) -> PageView:
    battery_page = all_pages[number - 1]
    entries = ordered_entries(battery_page.definition, battery_page.page, seed)
    return PageView(
        number=number,
        total=len(all_pages),
        page=battery_page.page,
        entries=entries,
        definition=battery_page.definition,
        version=battery_page.version,
        finished=finished,
    )


def _battery_page(session: ResponseSession, page: int | str) -> tuple[int, BatteryPage]:
    """The page by number, or by key (which must then name one page of the battery)."""
    all_pages = pages(session)
    if isinstance(page, int):
        if not 1 <= page <= len(all_pages):
            raise UnknownPage(f"no page {page}")
        return page, all_pages[page - 1]
    matches = [(n, bp) for n, bp in enumerate(all_pages, start=1) if bp.page.key == page]
    if len(matches) != 1:
        raise UnknownPage(f"no page {page!r}" if not matches else f"page key {page!r} is ambiguous")
    return matches[0]


def show_page(session: ResponseSession, page: int | str, *, now: datetime | None = None) -> None:
    """Record that the page (number or key) was shown (first and latest time)."""
    now = now or utcnow()
    _number, battery_page = _battery_page(session, page)
    upsert(
        PageVisit.__table__,
        [
            {
                "session_id": session.id,
                "instrument_version_id": battery_page.version.id,
                "page_key": battery_page.page.key,
                "first_shown_at": now,
                "last_shown_at": now,
                "submit_count": 0,
            }
        ],
        conflict=["session_id", "instrument_version_id", "page_key"],
        update=lambda excluded: {"last_shown_at": excluded.last_shown_at},
    )
    session.current_page = battery_page.page.key
    db.session.flush()


def saved_answers(session: ResponseSession, page: int | str) -> dict[str, int | None]:
    _number, battery_page = _battery_page(session, page)
    rows = db.session.execute(
        select(Answer.item_id, Answer.value).where(
            Answer.session_id == session.id,
            Answer.instrument_version_id == battery_page.version.id,
            Answer.page_key == battery_page.page.key,
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


def _upsert_answers(
    session: ResponseSession,
    battery_page: BatteryPage,
    values: Mapping[str, int | None],
    now,
    delivery_mode: str = DeliveryMode.WEB,
) -> None:
    """Store answers; an answer given again with another value takes the time and the
    delivery mode of this request, the same value keeps both."""
    answers_table = Answer.__table__
    changed = answers_table.c.value.is_distinct_from
    upsert(
        answers_table,
        [
            {
                "session_id": session.id,
                "instrument_version_id": battery_page.version.id,
                "item_id": item_id,
                "page_key": battery_page.page.key,
                "value": value,
                "answered_at": now,
                "updated_at": now,
                "delivery_mode": delivery_mode,
            }
            for item_id, value in values.items()
        ],
        conflict=["session_id", "instrument_version_id", "item_id"],
        update=lambda excluded: {
            "value": excluded.value,
            "updated_at": case(
                (changed(excluded.value), excluded.updated_at),
                else_=answers_table.c.updated_at,
            ),
            "delivery_mode": case(
                (changed(excluded.value), excluded.delivery_mode),
                else_=answers_table.c.delivery_mode,
            ),
        },
    )


def save_page(
    session: ResponseSession,
    page: int | str,
    answers: Mapping[str, int | None],
    *,
    shown_at: datetime | None = None,
    now: datetime | None = None,
    delivery_mode: str = DeliveryMode.WEB,
) -> SavedPage:
    """Store the answers of a whole page (by number, or by key when unambiguous).

    The answers are checked against the definition again. Answers stored before are
    updated in place (``updated_at`` moves only when the value changes). ``shown_at`` is
    used when the page's showing was not recorded (a client that never called
    :func:`show_page`). An answer at or above a safety item's threshold raises a safety
    alert (one per item and session). ``delivery_mode`` stamps the answers (``web`` for the
    participant pages, ``chat`` for the API). Raises :class:`InvalidAnswers`,
    :class:`SessionCompleted`, :class:`UnknownPage`.
    """
    if session.completed_at is not None:
        raise SessionCompleted("this questionnaire is complete")
    now = now or utcnow()
    _number, battery_page = _battery_page(session, page)
    definition, the_page = battery_page.definition, battery_page.page
    problems = check_answers(definition, the_page, answers)
    if problems:
        raise InvalidAnswers(problems)

    _upsert_answers(
        session,
        battery_page,
        {entry.id: answers.get(entry.id) for entry in the_page.entries},
        now,
        delivery_mode,
    )
    visits_table = PageVisit.__table__
    upsert(
        visits_table,
        [
            {
                "session_id": session.id,
                "instrument_version_id": battery_page.version.id,
                "page_key": the_page.key,
                "first_shown_at": shown_at or now,
                "last_shown_at": shown_at or now,
                "submitted_at": now,
                "submit_count": 1,
            }
        ],
        conflict=["session_id", "instrument_version_id", "page_key"],
        update=lambda excluded: {
            "submitted_at": excluded.submitted_at,
            "submit_count": visits_table.c.submit_count + 1,
        },
    )
    alerts = _raise_safety_alerts(session, battery_page, answers, now)
    session.current_page = the_page.key
    if {bp.ref for bp in pages(session)} <= submitted_pages(session):
        session.completed_at = now
    db.session.flush()
    if session.completed_at is not None:  # completed by this page (a done session raised above)
        webhook_events.session_completed(session)
    return SavedPage(session.completed_at is not None, alerts)


def save_draft(
    session: ResponseSession,
    page: int | str,
    answers: Mapping[str, object],
    *,
    now: datetime | None = None,
    delivery_mode: str = DeliveryMode.WEB,
    skipped: Collection[str] = (),
) -> int:
    """Keep what was typed on a page left with Back: every answer that is a value of its
    item's scale is stored, the page stays unsubmitted and nothing is checked for
    completeness. ``skipped`` names optional entries deliberately left empty (the chat
    skips them one by one): they are stored empty, as a submitted page stores them.
    Returns how many answers were kept."""
    if session.completed_at is not None:
        raise SessionCompleted("this questionnaire is complete")
    _number, battery_page = _battery_page(session, page)
    definition = battery_page.definition
    kept: dict[str, int | None] = {}
    for entry in battery_page.page.entries:
        value = answers.get(entry.id)
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and value in definition.scale(entry.scale).values
        ):
            kept[entry.id] = value
        elif entry.optional and entry.id in skipped:
            kept[entry.id] = None
    if kept:
        _upsert_answers(session, battery_page, kept, now or utcnow(), delivery_mode)
        db.session.flush()
    return len(kept)


def raise_safety_alerts(
    session: ResponseSession,
    page: int | str,
    answers: Mapping[str, object],
    *,
    now: datetime | None = None,
) -> tuple[SafetyAlert, ...]:
    """The safety alerts ``answers`` of a page not yet submitted raise (new ones only;
    flushed): the chat delivers item by item, and an endorsed safety item must not wait
    for the rest of its page."""
    _number, battery_page = _battery_page(session, page)
    values = {key: value for key, value in answers.items() if isinstance(value, int)}
    alerts = _raise_safety_alerts(session, battery_page, values, now or utcnow())
    db.session.flush()
    return alerts


def _raise_safety_alerts(
    session: ResponseSession,
    battery_page: BatteryPage,
    answers: Mapping[str, int | None],
    now: datetime,
) -> tuple[SafetyAlert, ...]:
    signals = []
    for entry in battery_page.page.entries:
        threshold = getattr(entry, "safety_threshold", None)
        value = answers.get(entry.id)
        if threshold is not None and isinstance(value, int) and value >= threshold:
            signals.append((entry.id, value, threshold))
    if not signals:
        return ()
    existing = set(
        db.session.scalars(
            select(SafetyAlert.item_id).where(
                SafetyAlert.session_id == session.id,
                SafetyAlert.instrument_version_id == battery_page.version.id,
            )
        )
    )
    alerts = tuple(
        SafetyAlert(
            study_id=session.wave.study_id,
            participant_id=session.participant_id,
            session_id=session.id,
            instrument_version_id=battery_page.version.id,
            item_id=item_id,
            value=value,
            threshold=threshold,
            raised_at=now,
        )
        for item_id, value, threshold in signals
        if item_id not in existing
    )
    db.session.add_all(alerts)
    db.session.flush()  # the alerts' ids, for their webhook events
    for alert in alerts:
        webhook_events.safety_alert(session, alert)
    return alerts


# -- withdrawal ------------------------------------------------------------------------------
def withdraw(participant: Participant, *, now: datetime | None = None) -> bool:
    """Record that the participant stops taking part; False when they had already.

    Nothing is deleted. Under the study's "exclude" withdrawal policy the participant's
    answers are flagged excluded from analyses (the flag, with its reason); under "keep"
    they stay in. Audited as ``participant_withdrew`` (no staff actor).
    """
    if participant.withdrawn_at is not None:
        return False
    now = now or utcnow()
    participant.withdrawn_at = now
    study = participant.study
    if study.withdrawal_policy == WithdrawalPolicy.EXCLUDE and not participant.excluded:
        participant.excluded = True
        participant.exclusion_reason = "withdrew; the consent text excludes their answers"
    audit.record(
        AuditAction.PARTICIPANT_WITHDREW,
        actor=None,
        target_type="participant",
        target_id=participant.id,
        details={"study": study.slug, "policy": study.withdrawal_policy},
        now=now,
    )
    webhook_events.participant_withdrew(participant)
    db.session.flush()
    return True
