"""Studies, their waves and their participants.

Functions flush, never commit; creating a study is audited as ``study_created``.
"""

from __future__ import annotations

import re
from datetime import datetime

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    AuditAction,
    InstrumentVersion,
    Participant,
    Study,
    StudyStatus,
    User,
    Wave,
    WaveStatus,
    utcnow,
)
from survey.services import audit, tokens, versions
from survey.services.errors import InvalidSlug, SlugTaken, UnknownStudy

SLUG_RE = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,98})[a-z0-9]")


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
    owner: User | None = None,
    status: str = StudyStatus.OPEN,
    first_wave_label: str | None = None,
    now: datetime | None = None,
) -> Study:
    """A new study run by ``owner``, pinned to a version a new study may use
    (:func:`survey.services.versions.usable_for_new_study`), recorded in the audit log as
    ``study_created``.

    ``first_wave_label`` adds an open first wave with that label ("Baseline" when blank);
    None adds none (the caller adds its waves). Raises :class:`VersionNotPublished` (or its
    subclass :class:`VersionRetired`), :class:`InvalidSlug`, :class:`SlugTaken`.
    """
    versions.require_usable_for_new_study(instrument_version)
    slug = slug.strip().lower()
    if not SLUG_RE.fullmatch(slug):
        raise InvalidSlug(
            "use 3 to 100 lower-case letters, digits and '-', starting and ending with a "
            "letter or digit"
        )
    if find_study(slug) is not None:
        raise SlugTaken(f"a study with the slug {slug!r} exists")
    study = Study(
        name=name.strip(),
        slug=slug,
        instrument_version=instrument_version,
        consent_text=consent_text.strip(),
        consent_version=consent_version.strip(),
        urgent_help_note=urgent_help_note.strip(),
        status=status,
        owner=owner,
        created_at=now or utcnow(),
    )
    db.session.add(study)
    db.session.flush()
    if first_wave_label is not None:
        label = first_wave_label.strip() or "Baseline"
        add_wave(study, key=_wave_key(label), label=label, status=WaveStatus.OPEN)
        db.session.refresh(study, ["waves"])
    audit.record(
        AuditAction.STUDY_CREATED,
        actor=owner,
        target_type="study",
        target_id=study.id,
        hash_after=audit.content_hash(study_settings(study)),
        details={
            "slug": study.slug,
            "instrument": instrument_version.instrument.key,
            "instrument_version": instrument_version.version,
            "instrument_content_hash": instrument_version.content_hash,
        },
        now=now,
    )
    return study


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


def _wave_key(label: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return key[:64] or "wave-1"


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
    return add_participants(study, 1, now=now)[0]


def add_participants(
    study: Study, count: int, *, now: datetime | None = None
) -> list[tuple[Participant, str]]:
    """``count`` new participants and their tokens, written in one flush (one multi-row
    INSERT), so a caller's transaction holds the write lock briefly."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    now = now or utcnow()
    created = []
    for _ in range(count):
        token = tokens.generate_token()
        participant = Participant(study=study, token_hash=tokens.hash_token(token), created_at=now)
        created.append((participant, token))
    db.session.add_all(participant for participant, _token in created)
    db.session.flush()
    return created
