"""A study's participants as its team sees them: a status per wave, a filtered and paginated
list, counts, and who is due (a wave open for them now and not complete).

The status rule lives in one SQL expression (:func:`status_rows`); the list, the counts and
the filters all use it, so a page of 50 participants costs the same few queries whether the
study has 50 participants or 10,000. Nothing here writes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import aliased

from instruments.csv_cells import csv_text
from survey.extensions import db
from survey.models import (
    ConsentDecision,
    ConsentRecord,
    EnrolledVia,
    PageVisit,
    Participant,
    ResponseSession,
    Study,
    StudyStatus,
    Wave,
)
from survey.services.invitations import hash_external_id
from survey.services.participation import battery_pages

PAGE_SIZE = 50


class State:
    """A participant's status at one wave, most telling first: a withdrawal or an
    exclusion is shown whatever they had answered; a declined consent (the latest decision
    on the study's current consent version) is shown unless the wave was completed."""

    WITHDRAWN = "withdrawn"
    EXCLUDED = "excluded"
    COMPLETE = "complete"
    DECLINED = "declined"
    IN_PROGRESS = "in_progress"
    NOT_STARTED = "not_started"

    ALL = (NOT_STARTED, IN_PROGRESS, COMPLETE, DECLINED, WITHDRAWN, EXCLUDED)
    LABELS = {
        NOT_STARTED: "Not started",
        IN_PROGRESS: "In progress",
        COMPLETE: "Complete",
        DECLINED: "Declined",
        WITHDRAWN: "Withdrawn",
        EXCLUDED: "Excluded",
    }


ENROLLED_VIA_LABELS = {
    EnrolledVia.INVITATION: "Invitation link",
    EnrolledVia.OPEN_LINK: "Open link",
}
_CODE_RE = re.compile(r"\s*[Pp]?0*(\d{1,12})\s*")


@dataclass(frozen=True)
class WaveProgress:
    """One participant at one wave: the state, and pages submitted of the battery's pages."""

    wave_id: int
    state: str
    pages_done: int
    pages_total: int

    @property
    def label(self) -> str:
        return State.LABELS[self.state]


@dataclass(frozen=True)
class ParticipantRow:
    id: int
    code: str
    created_at: datetime
    enrolled_at: datetime | None
    enrolled_via: str
    has_external_id: bool
    waves: tuple[WaveProgress, ...]

    @property
    def enrolled_via_label(self) -> str:
        return ENROLLED_VIA_LABELS.get(self.enrolled_via, self.enrolled_via)


@dataclass(frozen=True)
class ParticipantFilter:
    """What to show: ``state`` at wave ``wave_id`` (at any wave when None), how they came,
    a code ("P000123" or 123), an external id in clear (matched by its keyed hash)."""

    wave_id: int | None = None
    state: str | None = None
    enrolled_via: str | None = None
    code: str | None = None
    external_id: str | None = None


@dataclass(frozen=True)
class ParticipantPage:
    rows: tuple[ParticipantRow, ...]
    total: int  # participants matching the filter
    page: int
    pages: int
    per_page: int
    waves: tuple[Wave, ...]
    pages_total: int  # pages of the battery
    # wave id → state → participants (the whole study, unfiltered)
    counts: dict[int, dict[str, int]] = field(default_factory=dict)
    participants: int = 0  # in the whole study

    @property
    def first(self) -> int:
        return 0 if not self.rows else (self.page - 1) * self.per_page + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1 if self.rows else 0


def parse_code(text: str | None) -> int | None:
    """The participant id of a code as staff type it ("P000123", "p123", "123"), or None."""
    match = _CODE_RE.fullmatch(text or "")
    return int(match.group(1)) if match else None


# -- the status rule -------------------------------------------------------------------------
def declined_ids(study: Study) -> Select:
    """Ids of the study's participants whose latest decision on its current consent
    version is a decline."""
    record, later = aliased(ConsentRecord), aliased(ConsentRecord)
    latest = (
        select(func.max(later.ordinal))
        .where(
            later.participant_id == record.participant_id,
            later.consent_version == study.consent_version,
        )
        .scalar_subquery()
    )
    return (
        select(record.participant_id)
        .join(Participant, Participant.id == record.participant_id)
        .where(
            Participant.study_id == study.id,
            record.consent_version == study.consent_version,
            record.decision == ConsentDecision.DECLINED,
            record.ordinal == latest,
        )
    )


def status_rows(study: Study) -> Select:
    """(participant_id, wave_id, state) for every participant × wave of the study."""
    session = aliased(ResponseSession)
    declined = declined_ids(study).subquery()
    state = case(
        (Participant.withdrawn_at.is_not(None), State.WITHDRAWN),
        (Participant.excluded.is_(True), State.EXCLUDED),
        (session.completed_at.is_not(None), State.COMPLETE),
        (declined.c.participant_id.is_not(None), State.DECLINED),
        (session.id.is_not(None), State.IN_PROGRESS),
        else_=State.NOT_STARTED,
    )
    return (
        select(
            Participant.id.label("participant_id"),
            Wave.id.label("wave_id"),
            state.label("state"),
        )
        .select_from(Participant)
        .join(Wave, Wave.study_id == Participant.study_id)
        .outerjoin(
            session, and_(session.participant_id == Participant.id, session.wave_id == Wave.id)
        )
        .outerjoin(declined, declined.c.participant_id == Participant.id)
        .where(Participant.study_id == study.id)
    )


def status_of(participant: Participant, wave: Wave) -> str:
    """One participant's state at one wave (the rule of :func:`status_rows`)."""
    rows = status_rows(participant.study).subquery()
    return db.session.scalar(
        select(rows.c.state).where(
            rows.c.participant_id == participant.id, rows.c.wave_id == wave.id
        )
    )


def state_counts(study: Study) -> dict[int, dict[str, int]]:
    """wave id → state → how many participants (every state present, zeros included)."""
    rows = status_rows(study).subquery()
    counts = {wave.id: dict.fromkeys(State.ALL, 0) for wave in study.waves}
    for wave_id, state, number in db.session.execute(
        select(rows.c.wave_id, rows.c.state, func.count()).group_by(rows.c.wave_id, rows.c.state)
    ):
        counts.setdefault(wave_id, dict.fromkeys(State.ALL, 0))[state] = number
    return counts


# -- the list --------------------------------------------------------------------------------
def _filtered(study: Study, chosen: ParticipantFilter, external_id_key: bytes | None) -> Select:
    query = select(Participant).where(Participant.study_id == study.id)
    if chosen.enrolled_via:
        query = query.where(Participant.enrolled_via == chosen.enrolled_via)
    if chosen.code:
        participant_id = parse_code(chosen.code)
        query = query.where(Participant.id == (participant_id if participant_id else -1))
    if chosen.external_id and chosen.external_id.strip():
        if external_id_key is None:
            query = query.where(False)
        else:
            query = query.where(
                Participant.external_id_hash
                == hash_external_id(chosen.external_id, external_id_key)
            )
    if chosen.state:
        rows = status_rows(study).subquery()
        matching = select(rows.c.participant_id).where(rows.c.state == chosen.state)
        if chosen.wave_id is not None:
            matching = matching.where(rows.c.wave_id == chosen.wave_id)
        query = query.where(Participant.id.in_(matching))
    return query


def list_participants(
    study: Study,
    chosen: ParticipantFilter | None = None,
    *,
    page: int = 1,
    per_page: int = PAGE_SIZE,
    external_id_key: bytes | None = None,
    with_counts: bool = True,
) -> ParticipantPage:
    """One page of the study's participants (by code) matching ``chosen``, with their
    status at each wave (only at ``chosen.wave_id`` when one is chosen).

    Six queries whatever the size of the study: the count, the page, the states and the
    page counts of the page's participants, the counts of the whole study and its size.
    A page past the last shows the last.
    """
    chosen = chosen or ParticipantFilter()
    waves = tuple(
        wave for wave in study.waves if chosen.wave_id is None or wave.id == chosen.wave_id
    )
    query = _filtered(study, chosen, external_id_key)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, math.ceil(total / per_page))
    page = min(max(1, page), pages)
    participants = list(
        db.session.scalars(
            query.order_by(Participant.id).limit(per_page).offset((page - 1) * per_page)
        )
    )
    pages_total = len(battery_pages(study))
    rows = _rows(study, participants, waves, pages_total)
    counts = state_counts(study) if with_counts else {}
    size = (
        db.session.scalar(
            select(func.count()).select_from(Participant).where(Participant.study_id == study.id)
        )
        or 0
    )
    return ParticipantPage(
        rows=rows,
        total=total,
        page=page,
        pages=pages,
        per_page=per_page,
        waves=waves,
        pages_total=pages_total,
        counts=counts,
        participants=size,
    )


def _rows(
    study: Study, participants: list[Participant], waves: tuple[Wave, ...], pages_total: int
) -> tuple[ParticipantRow, ...]:
    if not participants:
        return ()
    ids = [participant.id for participant in participants]
    statuses = status_rows(study).subquery()
    states = {
        (participant_id, wave_id): state
        for participant_id, wave_id, state in db.session.execute(
            select(statuses.c.participant_id, statuses.c.wave_id, statuses.c.state).where(
                statuses.c.participant_id.in_(ids)
            )
        )
    }
    done = {
        (participant_id, wave_id): number
        for participant_id, wave_id, number in db.session.execute(
            select(
                ResponseSession.participant_id, ResponseSession.wave_id, func.count(PageVisit.id)
            )
            .outerjoin(
                PageVisit,
                and_(
                    PageVisit.session_id == ResponseSession.id, PageVisit.submitted_at.is_not(None)
                ),
            )
            .where(ResponseSession.participant_id.in_(ids))
            .group_by(ResponseSession.participant_id, ResponseSession.wave_id)
        )
    }
    return tuple(
        ParticipantRow(
            id=participant.id,
            code=participant.code,
            created_at=participant.created_at,
            enrolled_at=participant.enrolled_at,
            enrolled_via=participant.enrolled_via,
            has_external_id=participant.external_id_hash is not None,
            waves=tuple(
                WaveProgress(
                    wave_id=wave.id,
                    state=states.get((participant.id, wave.id), State.NOT_STARTED),
                    pages_done=done.get((participant.id, wave.id), 0),
                    pages_total=pages_total,
                )
                for wave in waves
            ),
        )
        for participant in participants
    )


# -- who is due ------------------------------------------------------------------------------
@dataclass(frozen=True)
class DueRow:
    """A participant with a wave open for them now that they have not completed."""

    participant_id: int
    code: str
    wave: Wave
    since: datetime | None  # when the wave opened for them (or they were added, if later)
    until: datetime | None  # when it closes for them (None: open-ended, or not yet fixed)
    external_id_hash: str | None


def due(study: Study, now: datetime) -> list[DueRow]:
    """Who has a wave open for them at ``now`` (:meth:`Wave.is_answerable`, as their link
    would open it) and has not completed it, has not withdrawn and has not declined the
    current consent version; by code, then wave. Nobody while the study is not open.

    A participant not yet enrolled (no consent yet) is taken as enrolling now, as their
    link does: a wave relative to enrolment has then been open for them since they were
    added, and its end is not fixed until they consent.
    """
    if study.status != StudyStatus.OPEN:
        return []
    completed = set(
        db.session.execute(
            select(ResponseSession.participant_id, ResponseSession.wave_id)
            .join(Participant, Participant.id == ResponseSession.participant_id)
            .where(Participant.study_id == study.id, ResponseSession.completed_at.is_not(None))
        )
    )
    people = db.session.execute(
        select(
            Participant.id,
            Participant.created_at,
            Participant.enrolled_at,
            Participant.external_id_hash,
        )
        .where(
            Participant.study_id == study.id,
            Participant.withdrawn_at.is_(None),
            Participant.id.not_in(declined_ids(study)),
        )
        .order_by(Participant.id)
    )
    waves = list(study.waves)
    rows = []
    for participant_id, created_at, enrolled_at, external_id_hash in people:
        for wave in waves:
            if (participant_id, wave.id) in completed or not wave.is_answerable(now, enrolled_at):
                continue
            opens, closes = wave.window(enrolled_at or now)
            if enrolled_at is None and wave.is_relative:
                opens, closes = created_at, None
            since = max(filter(None, (opens, created_at)), default=None)
            rows.append(
                DueRow(
                    participant_id=participant_id,
                    code=f"P{participant_id:06d}",
                    wave=wave,
                    since=since,
                    until=closes,
                    external_id_hash=external_id_hash,
                )
            )
    return rows


def due_csv(rows: list[DueRow], *, with_external_id_hash: bool) -> str:
    """The due list as CSV for reminders sent through the therapy platform: code, wave key
    and label, open since and until (ISO 8601 UTC), and ``external_id_hash`` (the keyed
    hash the platform can match) when the study has external ids."""
    header = ["code", "wave", "wave_label", "open_since", "open_until"]
    if with_external_id_hash:
        header.append("external_id_hash")
    lines = []
    for row in rows:
        values = [
            row.code,
            row.wave.key,
            row.wave.label,
            row.since.isoformat() if row.since else "",
            row.until.isoformat() if row.until else "",
        ]
        if with_external_id_hash:
            values.append(row.external_id_hash or "")
        lines.append(values)
    return csv_text(header, lines)


def has_external_ids(study: Study) -> bool:
    return (
        db.session.scalar(
            select(Participant.id)
            .where(Participant.study_id == study.id, Participant.external_id_hash.is_not(None))
            .limit(1)
        )
        is not None
    )
