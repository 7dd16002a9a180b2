"""The research area: which studies a user sees, their progress, and creating a study.

Functions flush, never commit; study creation is audited as ``study_created``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    AuditAction,
    Instrument,
    InstrumentVersion,
    Participant,
    ResponseSession,
    Study,
    User,
    VersionStatus,
    Wave,
    WaveStatus,
)
from survey.services import audit, studies
from survey.services.errors import SurveyError, VersionNotPublished

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,98})[a-z0-9]")


class SlugTaken(SurveyError):
    """Another study has this slug."""


class InvalidSlug(SurveyError):
    """Not a slug: 3 to 100 of a-z, 0-9 and '-', starting and ending with a letter or digit."""


def usable_for_new_study(version: InstrumentVersion) -> bool:
    """Whether a new study may be pinned to ``version`` (published, not draft or retired).

    The version lifecycle (survey.services.versions) has the final word once it exists.
    """
    try:
        from survey.services import versions
    except ImportError:  # the lifecycle module is not there yet
        versions = None
    check = getattr(versions, "usable_for_new_study", None)
    if check is None:
        return version.status == VersionStatus.PUBLISHED
    return bool(check(version))


def studies_for(user: User) -> list[Study]:
    """The studies ``user`` may see: their own, or every study for an admin; newest first."""
    query = select(Study).order_by(Study.created_at.desc(), Study.id.desc())
    if not user.is_admin:
        query = query.where(Study.owner_id == user.id)
    return list(db.session.scalars(query))


def versions_for_new_study() -> list[InstrumentVersion]:
    """The instrument versions a new study can be pinned to."""
    candidates = db.session.scalars(
        select(InstrumentVersion)
        .join(InstrumentVersion.instrument)
        .where(InstrumentVersion.status == VersionStatus.PUBLISHED)
        .order_by(Instrument.key, InstrumentVersion.id)
    )
    return [version for version in candidates if usable_for_new_study(version)]


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


def study_settings(study: Study) -> dict[str, object]:
    """What defines a study, as hashed into its audit events."""
    version = study.instrument_version
    return {
        "name": study.name,
        "slug": study.slug,
        "instrument_version_id": version.id,
        "instrument_content_hash": version.content_hash,
        "consent_text": study.consent_text,
        "consent_version": study.consent_version,
        "urgent_help_note": study.urgent_help_note,
        "status": study.status,
        "owner_id": study.owner_id,
        "waves": [{"key": wave.key, "label": wave.label} for wave in study.waves],
    }


def create_study(
    *,
    owner: User,
    name: str,
    slug: str,
    instrument_version: InstrumentVersion,
    consent_text: str,
    consent_version: str,
    urgent_help_note: str,
    first_wave_label: str = "Baseline",
) -> Study:
    """A new open study owned by ``owner``, pinned to a published instrument version, with
    one open wave. Raises :class:`VersionNotPublished`, :class:`InvalidSlug`,
    :class:`SlugTaken`."""
    if not usable_for_new_study(instrument_version):
        raise VersionNotPublished(
            f"instrument version {instrument_version.version} is {instrument_version.status}; "
            "a new study needs a published version"
        )
    slug = slug.strip().lower()
    if not SLUG_RE.fullmatch(slug):
        raise InvalidSlug(
            "use 3 to 100 lower-case letters, digits and '-', starting and ending with a "
            "letter or digit"
        )
    if studies.find_study(slug) is not None:
        raise SlugTaken(f"a study with the slug {slug!r} exists")
    study = studies.create_study(
        name=name.strip(),
        slug=slug,
        instrument_version=instrument_version,
        consent_text=consent_text.strip(),
        consent_version=consent_version.strip(),
        urgent_help_note=urgent_help_note.strip(),
        owner=owner,
    )
    label = first_wave_label.strip() or "Baseline"
    studies.add_wave(study, key=_wave_key(label), label=label, status=WaveStatus.OPEN)
    db.session.refresh(study, ["waves"])
    version = study.instrument_version
    audit.record(
        AuditAction.STUDY_CREATED,
        actor=owner,
        target_type="study",
        target_id=study.id,
        hash_after=audit.content_hash(study_settings(study)),
        details={
            "slug": study.slug,
            "instrument": version.instrument.key,
            "instrument_version": version.version,
            "instrument_content_hash": version.content_hash,
        },
    )
    return study


def _wave_key(label: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return key[:64] or "wave-1"
