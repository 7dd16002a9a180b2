"""The research area: which studies a user sees, their progress, the versions a new
study may use. Creating a study is :func:`survey.services.studies.create_study`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    Instrument,
    InstrumentVersion,
    Participant,
    ResponseSession,
    Study,
    User,
    Wave,
)
from survey.services import study_access, versions


def studies_for(user: User) -> list[Study]:
    """The studies ``user`` may see (:func:`survey.services.study_access.studies_for`)."""
    return study_access.studies_for(user)


def versions_for_new_study() -> list[InstrumentVersion]:
    """The instrument versions a new study can be pinned to
    (:func:`survey.services.versions.usable_for_new_study`)."""
    candidates = db.session.scalars(
        select(InstrumentVersion)
        .join(InstrumentVersion.instrument)
        .order_by(Instrument.key, InstrumentVersion.id)
    )
    return [version for version in candidates if versions.usable_for_new_study(version)]


@dataclass(frozen=True)
class WaveProgress:
    wave: Wave
    started: int
    completed: int


@dataclass(frozen=True)
class StudyProgress:
    study: Study
    participants: int
    excluded: int
    waves: list[WaveProgress]


def study_progress(study: Study) -> StudyProgress:
    """Participants (and how many are excluded), and per wave the sessions started and
    completed."""
    participants, excluded = db.session.execute(
        select(
            func.count(Participant.id),
            func.count(Participant.id).filter(Participant.excluded.is_(True)),
        ).where(Participant.study_id == study.id)
    ).one()
    rows = db.session.execute(
        select(
            ResponseSession.wave_id,
            func.count(ResponseSession.id),
            func.count(ResponseSession.completed_at),
        )
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id)
        .group_by(ResponseSession.wave_id)
    )
    by_wave = {wave_id: (started, completed) for wave_id, started, completed in rows}
    return StudyProgress(
        study=study,
        participants=participants,
        excluded=excluded,
        waves=[WaveProgress(wave, *by_wave.get(wave.id, (0, 0))) for wave in study.waves],
    )
