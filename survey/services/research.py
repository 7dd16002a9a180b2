"""The research area: which studies a user sees, their progress, the versions a new
study may use. Creating a study is :func:`survey.services.studies.create_study`."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from instruments.versioning import parse_version
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


# The platform's own instrument: a new study's battery starts with its newest version.
MAIN_INSTRUMENT_KEY = "iemdp"


def versions_for_new_study() -> list[InstrumentVersion]:
    """The instrument versions a new study's battery may ask
    (:func:`survey.services.versions.usable_for_new_study`), by instrument key, newest
    version first within an instrument."""
    candidates = db.session.scalars(
        select(InstrumentVersion)
        .join(InstrumentVersion.instrument)
        .order_by(Instrument.key, InstrumentVersion.id)
    )
    usable = [version for version in candidates if versions.usable_for_new_study(version)]
    usable.sort(key=lambda version: parse_version(version.version).precedence, reverse=True)
    usable.sort(key=lambda version: version.instrument.key)  # stable: newest first per key
    return usable


def first_instrument_choice(choices: list[InstrumentVersion]) -> InstrumentVersion | None:
    """What a new study's "first instrument" offers first: the newest IEM-DP version among
    ``choices`` (:func:`versions_for_new_study`), else the first of them."""
    main = [version for version in choices if version.instrument.key == MAIN_INSTRUMENT_KEY]
    newest = max(main, key=lambda v: parse_version(v.version).precedence, default=None)
    return newest or (choices[0] if choices else None)


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
