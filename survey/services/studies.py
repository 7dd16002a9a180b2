"""Studies, their waves and their participants."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    InstrumentVersion,
    Participant,
    Study,
    StudyStatus,
    User,
    VersionStatus,
    Wave,
    WaveStatus,
    utcnow,
)
from survey.services import tokens
from survey.services.errors import UnknownStudy, VersionNotPublished, VersionRetired


def find_study(slug: str) -> Study | None:
    return db.session.scalar(select(Study).where(Study.slug == slug))


def get_study(slug: str) -> Study:
    study = find_study(slug)
    if study is None:
        raise UnknownStudy(f"no study with the slug {slug!r}")
    return study


def create_study(
    *,
    name: str,
    slug: str,
    instrument_version: InstrumentVersion,
    consent_text: str,
    consent_version: str,
    urgent_help_note: str,
    status: str = StudyStatus.OPEN,
    owner: User | None = None,
    now: datetime | None = None,
) -> Study:
    """A study pinned to a published instrument version, run by ``owner``."""
    if instrument_version.status == VersionStatus.RETIRED:
        raise VersionRetired(
            f"instrument version {instrument_version.version} is retired: studies already "
            "using it continue, but a new study needs a version that is published",
            version=instrument_version,
        )
    if instrument_version.status != VersionStatus.PUBLISHED:
        raise VersionNotPublished(
            f"instrument version {instrument_version.version} is {instrument_version.status}; "
            "a study needs a published version"
        )
    study = Study(
        name=name,
        slug=slug,
        instrument_version=instrument_version,
        consent_text=consent_text,
        consent_version=consent_version,
        urgent_help_note=urgent_help_note,
        status=status,
        owner=owner,
        created_at=now or utcnow(),
    )
    db.session.add(study)
    db.session.flush()
    return study


def add_wave(
    study: Study,
    *,
    key: str,
    label: str,
    status: str = WaveStatus.OPEN,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
) -> Wave:
    """A new wave after the study's existing ones."""
    last = db.session.scalar(select(func.max(Wave.position)).where(Wave.study_id == study.id))
    wave = Wave(
        study=study,
        key=key,
        label=label,
        position=0 if last is None else last + 1,
        status=status,
        opens_at=opens_at,
        closes_at=closes_at,
    )
    db.session.add(wave)
    db.session.flush()
    return wave


def add_participant(study: Study, *, now: datetime | None = None) -> tuple[Participant, str]:
    """A new participant and their secret token: the only time the token is available."""
    token = tokens.generate_token()
    participant = Participant(
        study=study, token_hash=tokens.hash_token(token), created_at=now or utcnow()
    )
    db.session.add(participant)
    db.session.flush()
    return participant, token


def add_participants(
    study: Study, count: int, *, now: datetime | None = None
) -> list[tuple[Participant, str]]:
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    now = now or utcnow()
    return [add_participant(study, now=now) for _ in range(count)]
