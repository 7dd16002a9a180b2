"""A study's dashboard: who was invited, consented, declined, started, completed and
withdrew, per wave how long completing took and where participants stopped (a funnel).

Every figure comes from a fixed number of grouped queries, whatever the number of
participants, waves or pages (the page of a study with 10,000 participants × 3 waves
renders in well under 300 ms). Also the rows of the studies list (battery, access, open
alerts) in three queries for any number of studies.
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import and_, func, select
from sqlalchemy.orm import selectinload

from survey.extensions import db
from survey.models import (
    ConsentDecision,
    ConsentRecord,
    InstrumentVersion,
    PageVisit,
    Participant,
    ResponseSession,
    SafetyAlert,
    Study,
    StudyInstrument,
    StudyMember,
    User,
    Wave,
)
from survey.services.participation import battery_pages


@dataclass(frozen=True)
class FunnelStep:
    """One page of the battery and how many sessions of the wave submitted it."""

    number: int  # 1-based, across the battery
    title: str  # the participant page title
    instrument: str  # "key version" of the page's instrument version
    submitted: int


@dataclass(frozen=True)
class WaveFigures:
    """A wave's figures. ``withdrawn`` counts sessions started at this wave and left
    unfinished by a participant who then withdrew; ``excluded`` the sessions of excluded
    participants (both included in ``started``)."""

    wave: Wave
    started: int
    completed: int
    withdrawn: int
    excluded: int
    # completed / consented participants (None without any consent)
    completion_rate: float | None
    # median of completed_at - started_at over the completed sessions
    median_duration: timedelta | None
    funnel: tuple[FunnelStep, ...]

    @property
    def in_progress(self) -> int:
        """Started, not completed, not withdrawn."""
        return self.started - self.completed - self.withdrawn


@dataclass(frozen=True)
class StudyFigures:
    """A study's figures. ``invited`` is every participant (a link made, or an open
    enrolment); ``consented`` / ``declined`` count each participant's latest decision on
    the study's current consent version (withdrawn participants keep theirs)."""

    study: Study
    invited: int
    consented: int
    declined: int
    withdrawn: int
    excluded: int
    open_alerts: int
    waves: tuple[WaveFigures, ...]

    @property
    def undecided(self) -> int:
        return self.invited - self.consented - self.declined


def _seconds_between(start, end):
    """``end - start`` in seconds as an SQL expression of the bound database."""
    if db.session.get_bind().dialect.name == "sqlite":
        # UTCDateTime stores naive UTC text on SQLite.
        return (func.julianday(end) - func.julianday(start)) * 86400.0
    return func.extract("epoch", end - start)


def _participant_counts(study: Study) -> tuple[int, int, int]:
    invited, withdrawn, excluded = db.session.execute(
        select(
            func.count(Participant.id),
            func.count(Participant.withdrawn_at),
            func.count(Participant.id).filter(Participant.excluded.is_(True)),
        ).where(Participant.study_id == study.id)
    ).one()
    return invited, withdrawn, excluded


def _consent_counts(study: Study) -> dict[str, int]:
    """Participants by their latest decision on the current consent version."""
    on_version = and_(
        ConsentRecord.consent_version == study.consent_version,
        Participant.study_id == study.id,
    )
    latest = (
        select(ConsentRecord.participant_id, func.max(ConsentRecord.ordinal).label("ordinal"))
        .join(Participant, Participant.id == ConsentRecord.participant_id)
        .where(on_version)
        .group_by(ConsentRecord.participant_id)
        .subquery()
    )
    rows = db.session.execute(
        select(ConsentRecord.decision, func.count())
        .join(
            latest,
            and_(
                ConsentRecord.participant_id == latest.c.participant_id,
                ConsentRecord.ordinal == latest.c.ordinal,
            ),
        )
        .where(ConsentRecord.consent_version == study.consent_version)
        .group_by(ConsentRecord.decision)
    )
    return {decision: count for decision, count in rows}


def _session_counts(wave_ids: list[int]) -> dict[int, tuple[int, int, int, int]]:
    """wave id → (started, completed, withdrawn while unfinished, excluded)."""
    rows = db.session.execute(
        select(
            ResponseSession.wave_id,
            func.count(ResponseSession.id),
            func.count(ResponseSession.completed_at),
            func.count(ResponseSession.id).filter(
                ResponseSession.completed_at.is_(None), Participant.withdrawn_at.is_not(None)
            ),
            func.count(ResponseSession.id).filter(Participant.excluded.is_(True)),
        )
        .join(Participant, Participant.id == ResponseSession.participant_id)
        .where(ResponseSession.wave_id.in_(wave_ids))
        .group_by(ResponseSession.wave_id)
    )
    return {wave_id: tuple(counts) for wave_id, *counts in rows}


def _median_durations(wave_ids: list[int]) -> dict[int, timedelta]:
    """wave id → median duration of its completed sessions (one float column read)."""
    seconds = _seconds_between(ResponseSession.started_at, ResponseSession.completed_at)
    rows = db.session.execute(
        select(ResponseSession.wave_id, seconds).where(
            ResponseSession.wave_id.in_(wave_ids), ResponseSession.completed_at.is_not(None)
        )
    )
    by_wave: dict[int, list[float]] = defaultdict(list)
    for wave_id, duration in rows:
        by_wave[wave_id].append(float(duration))
    return {
        wave_id: timedelta(seconds=round(statistics.median(values), 3))
        for wave_id, values in by_wave.items()
    }


def _submitted_pages(wave_ids: list[int]) -> dict[tuple[int, int, str], int]:
    """(wave id, instrument version id, page key) → unfinished sessions that submitted the
    page.

    Only unfinished sessions are read: a session is completed when every page of the
    battery is submitted (:func:`survey.services.participation.save_page`), so a completed
    session counts on every page, and the page visits of the many completed sessions need
    not be read at all.
    """
    rows = db.session.execute(
        select(
            ResponseSession.wave_id,
            PageVisit.instrument_version_id,
            PageVisit.page_key,
            func.count(),
        )
        .join(ResponseSession, ResponseSession.id == PageVisit.session_id)
        .where(
            ResponseSession.wave_id.in_(wave_ids),
            ResponseSession.completed_at.is_(None),
            PageVisit.submitted_at.is_not(None),
        )
        .group_by(ResponseSession.wave_id, PageVisit.instrument_version_id, PageVisit.page_key)
    )
    return {(wave_id, version_id, key): count for wave_id, version_id, key, count in rows}


def open_alert_counts(study_ids: Sequence[int]) -> dict[int, int]:
    """study id → number of safety alerts not acknowledged yet (studies without: absent)."""
    if not study_ids:
        return {}
    rows = db.session.execute(
        select(SafetyAlert.study_id, func.count())
        .where(SafetyAlert.study_id.in_(list(study_ids)), SafetyAlert.acknowledged_at.is_(None))
        .group_by(SafetyAlert.study_id)
    )
    return {study_id: count for study_id, count in rows}


def study_figures(study: Study) -> StudyFigures:
    """The dashboard of ``study``: participant counts, and per wave its figures and funnel.

    The completion rate of a wave is its completed sessions over the participants who
    consented (the current consent version), so a wave nobody has reached yet shows 0 %.
    """
    invited, withdrawn, excluded = _participant_counts(study)
    consent = _consent_counts(study)
    consented = consent.get(ConsentDecision.GIVEN, 0)
    waves = list(study.waves)
    wave_ids = [wave.id for wave in waves]
    sessions = _session_counts(wave_ids) if wave_ids else {}
    durations = _median_durations(wave_ids) if wave_ids else {}
    submitted = _submitted_pages(wave_ids) if wave_ids else {}
    pages = battery_pages(study)

    figures = []
    for wave in waves:
        started, completed, withdrew, excluded_sessions = sessions.get(wave.id, (0, 0, 0, 0))
        funnel = tuple(
            FunnelStep(
                number=number,
                title=page.page.title,
                instrument=f"{page.definition.key} {page.definition.version}",
                submitted=completed + submitted.get((wave.id, page.version.id, page.page.key), 0),
            )
            for number, page in enumerate(pages, start=1)
        )
        figures.append(
            WaveFigures(
                wave=wave,
                started=started,
                completed=completed,
                withdrawn=withdrew,
                excluded=excluded_sessions,
                completion_rate=completed / consented if consented else None,
                median_duration=durations.get(wave.id),
                funnel=funnel,
            )
        )
    return StudyFigures(
        study=study,
        invited=invited,
        consented=consented,
        declined=consent.get(ConsentDecision.DECLINED, 0),
        withdrawn=withdrawn,
        excluded=excluded,
        open_alerts=open_alert_counts([study.id]).get(study.id, 0),
        waves=tuple(figures),
    )


# -- the studies list ------------------------------------------------------------------------
@dataclass(frozen=True)
class StudyListRow:
    """A study as the studies list shows it to one user."""

    study: Study
    battery: tuple[str, ...]  # "key version" in battery order
    # "owner", "admin" (an admin's view of someone else's study), "viewer" or "editor"
    access: str
    open_alerts: int

    @property
    def shared(self) -> bool:
        return self.access in ("viewer", "editor")


def study_list(studies: Sequence[Study], user: User) -> list[StudyListRow]:
    """Rows for ``studies`` (those ``user`` may see, in their order) in three queries."""
    ids = [study.id for study in studies]
    if not ids:
        return []
    # Loads every battery with its versions and instruments into the session at once.
    list(
        db.session.scalars(
            select(Study)
            .where(Study.id.in_(ids))
            .options(
                selectinload(Study.battery)
                .selectinload(StudyInstrument.instrument_version)
                .selectinload(InstrumentVersion.instrument)
            )
        )
    )
    roles: dict[int, str] = dict(
        db.session.execute(  # type: ignore[arg-type]
            select(StudyMember.study_id, StudyMember.role).where(
                StudyMember.user_id == user.id,
                StudyMember.study_id.in_(ids),
                StudyMember.revoked_at.is_(None),
            )
        ).all()
    )
    alerts = open_alert_counts(ids)
    rows = []
    for study in studies:
        if user.is_admin:
            access = "owner" if study.owner_id == user.id else "admin"
        elif study.owner_id == user.id:
            access = "owner"
        else:
            access = roles.get(study.id, "viewer")
        rows.append(
            StudyListRow(
                study=study,
                battery=tuple(
                    f"{entry.instrument_version.instrument.key} {entry.instrument_version.version}"
                    for entry in study.battery
                ),
                access=access,
                open_alerts=alerts.get(study.id, 0),
            )
        )
    return rows
