"""A study's stored responses, session by session, in chunks of bounded size.

The one way the data-quality checks and the exports read a study's answers: sessions come
ordered by participant and wave, a chunk of participants at a time (keyset pagination on the
participant id, so memory depends on ``chunk_size``, not on the study's size), each with its
answers, page timings and whether it is excluded from analyses.

A session is *excluded* when it has an exclusion in force (:class:`SessionExclusion` with no
``lifted_at``) or its participant is excluded (a withdrawal under the "exclude" policy).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, func, or_, select

from instruments.definition import AttentionCheck, Item
from survey.extensions import db
from survey.models import (
    Answer,
    PageVisit,
    Participant,
    ResponseSession,
    SessionExclusion,
    Study,
    Wave,
)
from survey.models.participant import participant_code
from survey.services.errors import SurveyError
from survey.services.instruments import definition_of

__all__ = [
    "Column",
    "Counts",
    "SessionRecord",
    "UnknownWave",
    "battery_columns",
    "excluded_session_ids",
    "iter_sessions",
    "session_counts",
    "wave_of",
]


class UnknownWave(SurveyError):
    """The study has no wave with this key."""


@dataclass(frozen=True)
class Column:
    """One answer column of a study's data: an item or attention check of a battery version.

    ``name`` is the item id, or ``<instrument key>.<item id>`` when the battery has more than
    one instrument (item ids are unique only within an instrument).
    """

    name: str
    version_id: int
    item_id: str
    entry: Item | AttentionCheck


@dataclass(frozen=True)
class SessionRecord:
    """One response session with what the checks and exports need.

    ``values`` maps (instrument version id, item id) to the stored answer (``None``: a
    page was submitted with the item left empty; absent: never answered).
    ``page_seconds`` maps (version id, page key) to the seconds from the page's first
    showing to its last submission (``None`` when it was not submitted);
    ``page_submitted`` says whether each visited page was submitted.
    """

    session_id: int
    participant_id: int
    participant: str
    simulated: bool
    wave_id: int
    wave: str
    wave_position: int
    started_at: datetime
    completed_at: datetime | None
    excluded: bool
    exclusion_reason: str | None
    item_order_seed: int
    values: dict[tuple[int, str], int | None] = field(default_factory=dict)
    # The delivery mode of most of the session's answers ("web" | "chat"; None: no answers).
    delivery_mode: str | None = None
    page_seconds: dict[tuple[int, str], float | None] = field(default_factory=dict)
    page_submitted: dict[tuple[int, str], bool] = field(default_factory=dict)


@dataclass(frozen=True)
class Counts:
    """How many sessions a study (or one wave) has, and how many of them are excluded."""

    total: int
    excluded: int

    @property
    def included(self) -> int:
        return self.total - self.excluded


def battery_columns(study: Study) -> list[Column]:
    """Every item and attention check of the study's battery, in battery and page order
    (the instrument's order, not a participant's shuffled order)."""
    versions = study.instrument_versions
    prefixed = len(versions) > 1
    return [
        Column(
            name=f"{version.instrument.key}.{entry.id}" if prefixed else entry.id,
            version_id=version.id,
            item_id=entry.id,
            entry=entry,
        )
        for version in versions
        for page in definition_of(version).pages()
        for entry in page.entries
    ]


def wave_of(study: Study, key: str | None) -> Wave | None:
    """The study's wave ``key`` (``None`` for all waves); :class:`UnknownWave` if none."""
    if key is None:
        return None
    for wave in study.waves:
        if wave.key == key:
            return wave
    known = ", ".join(w.key for w in study.waves) or "none"
    raise UnknownWave(f"study {study.slug!r} has no wave {key!r} (its waves: {known})")


def _exclusion_in_force():
    return exists().where(
        SessionExclusion.session_id == ResponseSession.id, SessionExclusion.lifted_at.is_(None)
    )


def _excluded_condition():
    return or_(Participant.excluded.is_(True), _exclusion_in_force())


def _sessions_of(study: Study, wave: Wave | None):
    query = (
        select(ResponseSession.id)
        .join(Participant, Participant.id == ResponseSession.participant_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id)
    )
    if wave is not None:
        query = query.where(Wave.id == wave.id)
    return query


def session_counts(study: Study, *, wave: str | None = None) -> Counts:
    """Sessions of ``study`` (at wave ``wave`` if given) and how many are excluded."""
    query = _sessions_of(study, wave_of(study, wave)).subquery()
    total = db.session.scalar(select(func.count()).select_from(query)) or 0
    excluded_query = (
        _sessions_of(study, wave_of(study, wave)).where(_excluded_condition()).subquery()
    )
    excluded = db.session.scalar(select(func.count()).select_from(excluded_query)) or 0
    return Counts(total=total, excluded=excluded)


def excluded_session_ids(study: Study) -> set[int]:
    """Ids of the study's excluded sessions."""
    return set(db.session.scalars(_sessions_of(study, None).where(_excluded_condition())))


def iter_sessions(
    study: Study,
    *,
    wave: str | None = None,
    include_excluded: bool = True,
    chunk_size: int = 500,
) -> Iterator[list[SessionRecord]]:
    """The study's sessions as lists of records, ``chunk_size`` participants at a time,
    ordered by participant id and wave position; only wave ``wave`` if given; excluded
    sessions left out unless ``include_excluded``."""
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    selected_wave = wave_of(study, wave)
    last_participant = 0
    while True:
        participant_query = (
            select(Participant.id)
            .where(Participant.study_id == study.id, Participant.id > last_participant)
            .order_by(Participant.id)
            .limit(chunk_size)
        )
        participant_ids = list(db.session.scalars(participant_query))
        if not participant_ids:
            return
        last_participant = participant_ids[-1]
        records = _records(study, participant_ids, selected_wave, include_excluded)
        if records:
            yield records


def _records(
    study: Study,
    participant_ids: list[int],
    wave: Wave | None,
    include_excluded: bool,
) -> list[SessionRecord]:
    reason = (
        select(SessionExclusion.reason)
        .where(
            SessionExclusion.session_id == ResponseSession.id,
            SessionExclusion.lifted_at.is_(None),
        )
        .scalar_subquery()
    )
    query = (
        select(
            ResponseSession.id,
            ResponseSession.started_at,
            ResponseSession.completed_at,
            Participant.id,
            Participant.simulated,
            Participant.excluded,
            Participant.exclusion_reason,
            Participant.item_order_seed,
            Wave.id,
            Wave.key,
            Wave.position,
            reason,
        )
        .join(Participant, Participant.id == ResponseSession.participant_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id, Participant.id.in_(participant_ids))
        .order_by(Participant.id, Wave.position)
    )
    if wave is not None:
        query = query.where(Wave.id == wave.id)
    if not include_excluded:
        query = query.where(~_excluded_condition())
    rows = db.session.execute(query).all()
    if not rows:
        return []
    session_ids = [row[0] for row in rows]

    values: dict[int, dict[tuple[int, str], int | None]] = defaultdict(dict)
    modes: dict[int, Counter[str]] = defaultdict(Counter)
    for session_id, version_id, item_id, value, mode in db.session.execute(
        select(
            Answer.session_id,
            Answer.instrument_version_id,
            Answer.item_id,
            Answer.value,
            Answer.delivery_mode,
        ).where(Answer.session_id.in_(session_ids))
    ):
        values[session_id][(version_id, item_id)] = value
        modes[session_id][mode] += 1

    seconds: dict[int, dict[tuple[int, str], float | None]] = defaultdict(dict)
    submitted: dict[int, dict[tuple[int, str], bool]] = defaultdict(dict)
    for session_id, version_id, page_key, first_shown, submitted_at in db.session.execute(
        select(
            PageVisit.session_id,
            PageVisit.instrument_version_id,
            PageVisit.page_key,
            PageVisit.first_shown_at,
            PageVisit.submitted_at,
        ).where(PageVisit.session_id.in_(session_ids))
    ):
        key = (version_id, page_key)
        submitted[session_id][key] = submitted_at is not None
        seconds[session_id][key] = (
            None if submitted_at is None else (submitted_at - first_shown).total_seconds()
        )

    records = []
    for (
        session_id,
        started_at,
        completed_at,
        participant_id,
        simulated,
        participant_excluded,
        participant_reason,
        seed,
        wave_id,
        wave_key,
        wave_position,
        session_reason,
    ) in rows:
        excluded = bool(participant_excluded) or session_reason is not None
        records.append(
            SessionRecord(
                session_id=session_id,
                participant_id=participant_id,
                participant=participant_code(participant_id),
                simulated=bool(simulated),
                wave_id=wave_id,
                wave=wave_key,
                wave_position=wave_position,
                started_at=started_at,
                completed_at=completed_at,
                excluded=excluded,
                exclusion_reason=session_reason
                if session_reason is not None
                else (participant_reason if participant_excluded else None),
                item_order_seed=seed,
                values=values.get(session_id, {}),
                delivery_mode=_most_common(modes.get(session_id)),
                page_seconds=seconds.get(session_id, {}),
                page_submitted=submitted.get(session_id, {}),
            )
        )
    return records


def _most_common(counts: Counter[str] | None) -> str | None:
    """The commonest key (ties: the first in sorted order), None for no counts."""
    if not counts:
        return None
    return min(counts.items(), key=lambda item: (-item[1], item[0]))[0]
