"""The questionnaire inside a chat: a participant's open wave item by item.

The chat asks the same battery as the web pages, in the same order (pages in battery
order, each page's entries in the participant's stable order,
:func:`survey.services.item_order.ordered_entries`), and stores into the same session
through the same services (:func:`participation.save_page` / ``save_draft``), stamped
``delivery_mode = chat``. A participant may answer part of a wave in the chat and the
rest on the web: both read what the other stored.

An entry is *settled* when its page was submitted, or when it has an answer (an optional
entry: an answer or a deliberate skip, ``value = null``, stored empty). A page is
submitted as soon as every entry of it is settled, which raises the page's safety alerts
and completes the session at the last page, exactly as the web's Next does; until then
the answers are kept as a draft (the web shows them checked), and an endorsed safety item
raises its alert at once, not when its page is finished.

Functions take plain values and models, flush and never commit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from instruments.definition import InstrumentDefinition, ResponseOption
from survey.extensions import db
from survey.models import (
    Answer,
    DeliveryMode,
    InstrumentVersion,
    PageVisit,
    Participant,
    ResponseSession,
    SafetyAlert,
    Wave,
    utcnow,
)
from survey.services import api_enrolment, participation
from survey.services.errors import SessionCompleted, SurveyError
from survey.services.item_order import Entry, ordered_entries
from survey.services.participation import BatteryPage, Invitation

__all__ = [
    "MAX_ITEMS",
    "AnswerProblem",
    "ChatAnswer",
    "ChatItem",
    "Delivery",
    "InvalidChatAnswers",
    "SavedAnswers",
    "invitation_for",
    "next_items",
    "save_answers",
    "wave_closes_at",
]

MAX_ITEMS = 50
"""The most items one delivery hands out."""


# -- what the chat is given ------------------------------------------------------------------
@dataclass(frozen=True)
class ChatItem:
    """One entry of the battery (an item or an attention check) as the chat asks it."""

    entry: Entry
    definition: InstrumentDefinition
    version: InstrumentVersion
    page_number: int  # 1-based, across the battery
    page_key: str

    @property
    def options(self) -> tuple[ResponseOption, ...]:
        return self.definition.scale(self.entry.scale).options


@dataclass(frozen=True)
class Delivery:
    """The next items of a participant's open wave and where they are in it: ``answered``
    of ``total`` entries settled, ``page`` (of ``pages``) the page of the first item (the
    last page once complete)."""

    invitation: Invitation
    session: ResponseSession
    items: tuple[ChatItem, ...]
    answered: int
    total: int
    page: int
    pages: int

    @property
    def wave(self) -> Wave:
        return self.invitation.wave

    @property
    def complete(self) -> bool:
        return self.session.completed_at is not None


@dataclass(frozen=True)
class ChatAnswer:
    """An answer sent by the chat: ``value`` a value of the item's scale, or None to skip
    an optional item; ``instrument`` (an instrument key) only where two instruments of the
    battery share an item id."""

    item_id: str
    value: int | None
    instrument: str | None = None


@dataclass(frozen=True)
class AnswerProblem:
    """What is wrong with answer number ``index`` (0-based) of a request: ``field`` is
    ``item_id``, ``value`` or ``instrument``."""

    index: int
    field: str
    message: str


class InvalidChatAnswers(SurveyError):
    """Answers refused (nothing was stored): every problem, in the request's order."""

    def __init__(self, problems: Sequence[AnswerProblem]):
        self.problems = tuple(problems)
        super().__init__(
            "; ".join(f"answer {p.index + 1} {p.field}: {p.message}" for p in self.problems)
        )


@dataclass(frozen=True)
class SavedAnswers:
    """What one request's answers did: ``stored`` answers written, the page keys it
    submitted, whether the session is now complete, the new safety alerts."""

    stored: int
    submitted_pages: tuple[str, ...]
    completed: bool
    safety_alerts: tuple[SafetyAlert, ...] = ()


# -- the invitation, from a participant ------------------------------------------------------
# What the participant's link would lead to now, by participant (the rule has one owner).
invitation_for = api_enrolment.invitation_for


def wave_closes_at(invitation: Invitation) -> datetime | None:
    """When the invitation's wave closes for its participant (None: no end date)."""
    enrolled = invitation.participant.enrolled_at or utcnow()
    return invitation.wave.window(enrolled)[1]


# -- the session's state ---------------------------------------------------------------------
@dataclass
class _State:
    pages: tuple[BatteryPage, ...]
    submitted: set[tuple[int, str]]
    stored: dict[tuple[int, str], dict[str, int | None]]  # page ref -> item id -> value
    seed: int

    @classmethod
    def of(cls, session: ResponseSession) -> _State:
        stored: dict[tuple[int, str], dict[str, int | None]] = {}
        rows = db.session.execute(
            select(
                Answer.instrument_version_id, Answer.page_key, Answer.item_id, Answer.value
            ).where(Answer.session_id == session.id)
        )
        for version_id, page_key, item_id, value in rows:
            stored.setdefault((version_id, page_key), {})[item_id] = value
        return cls(
            pages=participation.pages(session),
            submitted=participation.submitted_pages(session),
            stored=stored,
            seed=session.participant.item_order_seed,
        )

    def settled(self, battery_page: BatteryPage, entry: Entry) -> bool:
        if battery_page.ref in self.submitted:
            return True
        answers = self.stored.get(battery_page.ref, {})
        if entry.id not in answers:
            return False
        return answers[entry.id] is not None or entry.optional

    def page_settled(self, battery_page: BatteryPage) -> bool:
        return all(self.settled(battery_page, entry) for entry in battery_page.page.entries)


def _settled_values(battery_page: BatteryPage, values: dict[str, int | None]) -> bool:
    return all(
        entry.id in values and (values[entry.id] is not None or entry.optional)
        for entry in battery_page.page.entries
    )


# -- next items ------------------------------------------------------------------------------
def next_items(
    participant: Participant, limit: int = 1, *, now: datetime | None = None
) -> Delivery:
    """The next ``limit`` (1..:data:`MAX_ITEMS`) unsettled entries of the participant's open
    wave, in their order. Starts the session (consent needed: :class:`ConsentRequired`) and
    records each page as shown when its first item is delivered. A page whose entries are
    all settled but which was never submitted (answers kept as a web draft) is submitted
    when nothing else is left to ask. Also raises what
    :func:`survey.services.api_enrolment.invitation_for` raises (:class:`StudyClosed`,
    :class:`ParticipantWithdrawn`, :class:`BetweenWaves`)."""
    if not 1 <= limit <= MAX_ITEMS:
        raise ValueError(f"limit must be 1..{MAX_ITEMS}, got {limit}")
    now = now or utcnow()
    invitation = invitation_for(participant, now=now)
    session = participation.start_session(invitation, now=now)
    state = _State.of(session)
    items = () if session.completed_at is not None else _unsettled(state, limit)
    if not items and session.completed_at is None:
        _submit_settled(session, state, now)
        state = _State.of(session)
        items = () if session.completed_at is not None else _unsettled(state, limit)
    if items:
        _show_pages(session, items, now)
    return _delivery(invitation, session, state, items)


def _unsettled(state: _State, limit: int) -> tuple[ChatItem, ...]:
    found: list[ChatItem] = []
    for number, battery_page in enumerate(state.pages, start=1):
        if battery_page.ref in state.submitted:
            continue
        for entry in ordered_entries(battery_page.definition, battery_page.page, state.seed):
            if not state.settled(battery_page, entry):
                found.append(
                    ChatItem(
                        entry,
                        battery_page.definition,
                        battery_page.version,
                        number,
                        battery_page.page.key,
                    )
                )
                if len(found) >= limit:
                    return tuple(found)
    return tuple(found)


def _show_pages(session: ResponseSession, items: Sequence[ChatItem], now: datetime) -> None:
    shown = {
        (version_id, page_key)
        for version_id, page_key in db.session.execute(
            select(PageVisit.instrument_version_id, PageVisit.page_key).where(
                PageVisit.session_id == session.id
            )
        )
    }
    for item in items:
        ref = (item.version.id, item.page_key)
        if ref not in shown:
            participation.show_page(session, item.page_number, now=now)
            shown.add(ref)


def _delivery(
    invitation: Invitation,
    session: ResponseSession,
    state: _State,
    items: tuple[ChatItem, ...],
) -> Delivery:
    total = sum(len(bp.page.entries) for bp in state.pages)
    if session.completed_at is not None:
        answered = total
    else:
        answered = sum(
            1 for bp in state.pages for entry in bp.page.entries if state.settled(bp, entry)
        )
    pages = len(state.pages)
    if items:
        page = items[0].page_number
    elif session.completed_at is not None:
        page = pages
    else:
        page = participation.resume_number(session)
    return Delivery(invitation, session, items, answered, total, page, pages)


# -- answers ---------------------------------------------------------------------------------
def save_answers(
    participant: Participant, answers: Sequence[ChatAnswer], *, now: datetime | None = None
) -> SavedAnswers:
    """Store the chat's answers (one, a page, or spanning pages), stamped ``chat``.

    Each answer must name an entry of the open wave's battery and give a value of its
    scale (None only for an optional entry); any bad one refuses them all
    (:class:`InvalidChatAnswers`, nothing stored). A page whose entries are then all
    settled is submitted (:func:`participation.save_page`: safety alerts, completion at the
    last page); other answers are kept as a draft, and their safety alerts raised now.
    An answer to a page already submitted resubmits that page with the new value, as the
    web does. Raises :class:`SessionCompleted` once the wave is complete, and what
    :func:`next_items` raises.
    """
    now = now or utcnow()
    invitation = invitation_for(participant, now=now)
    session = participation.start_session(invitation, now=now)
    if session.completed_at is not None:
        raise SessionCompleted("this questionnaire is complete")
    state = _State.of(session)
    given = _checked(state, invitation.wave, answers)

    alerts: list[SafetyAlert] = []
    submitted: list[str] = []
    resubmits, drafts, submits = [], [], []
    for number, battery_page in enumerate(state.pages, start=1):
        new = given.get(number)
        merged = {**state.stored.get(battery_page.ref, {}), **(new or {})}
        if battery_page.ref in state.submitted:
            if new:
                resubmits.append((number, merged))
        elif _settled_values(battery_page, merged):
            submits.append((number, merged))
        elif new:
            drafts.append((number, new))
    for number, merged in resubmits:
        saved = participation.save_page(
            session, number, merged, now=now, delivery_mode=DeliveryMode.CHAT
        )
        alerts.extend(saved.safety_alerts)
    for number, new in drafts:
        participation.save_draft(
            session,
            number,
            new,
            now=now,
            delivery_mode=DeliveryMode.CHAT,
            skipped=[item_id for item_id, value in new.items() if value is None],
        )
        alerts.extend(participation.raise_safety_alerts(session, number, new, now=now))
    for number, merged in submits:
        saved = participation.save_page(
            session, number, merged, now=now, delivery_mode=DeliveryMode.CHAT
        )
        alerts.extend(saved.safety_alerts)
        submitted.append(state.pages[number - 1].page.key)
    db.session.flush()
    return SavedAnswers(
        stored=len(answers),
        submitted_pages=tuple(submitted),
        completed=session.completed_at is not None,
        safety_alerts=tuple(alerts),
    )


def _checked(
    state: _State, wave: Wave, answers: Sequence[ChatAnswer]
) -> dict[int, dict[str, int | None]]:
    """The answers by page number (item id -> value), or :class:`InvalidChatAnswers`."""
    where: dict[str, list[tuple[int, BatteryPage, Entry]]] = {}
    for number, battery_page in enumerate(state.pages, start=1):
        for entry in battery_page.page.entries:
            where.setdefault(entry.id, []).append((number, battery_page, entry))
    problems: list[AnswerProblem] = []
    seen: dict[tuple[int, str], int] = {}
    by_page: dict[int, dict[str, int | None]] = {}
    for index, answer in enumerate(answers):
        candidates = where.get(answer.item_id, [])
        if answer.instrument is not None:
            candidates = [c for c in candidates if c[1].definition.key == answer.instrument]
        if not candidates:
            what = f"{answer.item_id!r} is not an item of the questionnaire of wave {wave.key}"
            if answer.instrument is not None and where.get(answer.item_id):
                what += f" in instrument {answer.instrument!r}"
            problems.append(AnswerProblem(index, "item_id", what))
            continue
        if len(candidates) > 1:
            keys = ", ".join(c[1].definition.key for c in candidates)
            problems.append(
                AnswerProblem(
                    index,
                    "instrument",
                    f"{answer.item_id!r} is an item of several instruments ({keys}): "
                    "say which with 'instrument'",
                )
            )
            continue
        number, battery_page, entry = candidates[0]
        ref = (battery_page.version.id, entry.id)
        if ref in seen:
            problems.append(
                AnswerProblem(
                    index,
                    "item_id",
                    f"{entry.id!r} is answered twice (also answer {seen[ref] + 1})",
                )
            )
            continue
        seen[ref] = index
        scale = battery_page.definition.scale(entry.scale)
        value = answer.value
        if value is None:
            if not entry.optional:
                problems.append(
                    AnswerProblem(
                        index,
                        "value",
                        f"{entry.id!r} needs an answer: only optional items may be skipped (null)",
                    )
                )
                continue
        elif isinstance(value, bool) or not isinstance(value, int) or value not in scale.values:
            allowed = ", ".join(str(v) for v in scale.values)
            problems.append(
                AnswerProblem(
                    index,
                    "value",
                    f"{value!r} is not a value of scale {scale.key} of {entry.id!r} ({allowed})",
                )
            )
            continue
        by_page.setdefault(number, {})[entry.id] = value
    if problems:
        raise InvalidChatAnswers(problems)
    return by_page


def _submit_settled(session: ResponseSession, state: _State, now: datetime) -> None:
    """Submit every unsubmitted page whose entries are all settled (a web draft)."""
    for number, battery_page in enumerate(state.pages, start=1):
        if battery_page.ref in state.submitted or not state.page_settled(battery_page):
            continue
        if session.completed_at is not None:
            return
        participation.save_page(
            session,
            number,
            dict(state.stored.get(battery_page.ref, {})),
            now=now,
            delivery_mode=DeliveryMode.CHAT,
        )
