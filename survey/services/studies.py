"""Studies, their battery, their waves and their participants.

Functions flush, never commit; creating a study is audited as ``study_created``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    AuditAction,
    InstrumentVersion,
    Participant,
    Study,
    StudyInstrument,
    StudyStatus,
    User,
    Wave,
    WaveStatus,
    WithdrawalPolicy,
    utcnow,
)
from survey.services import audit, tokens, versions
from survey.services.errors import InvalidSlug, InvalidStudyChange, SlugTaken, UnknownStudy

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
    instrument_version: InstrumentVersion | None = None,
    instrument_versions: Sequence[InstrumentVersion] = (),
    consent_text: str,
    consent_version: str,
    urgent_help_note: str,
    team_contact: str = "",
    withdrawal_policy: str = WithdrawalPolicy.KEEP,
    owner: User | None = None,
    status: str = StudyStatus.OPEN,
    first_wave_label: str | None = None,
    now: datetime | None = None,
) -> Study:
    """A new study run by ``owner`` asking a battery of versions a new study may use
    (:func:`survey.services.versions.usable_for_new_study`): ``instrument_versions`` in
    order, or the one ``instrument_version``. Recorded in the audit log as
    ``study_created``.

    ``first_wave_label`` adds an open first wave with that label ("Baseline" when blank);
    None adds none (the caller adds its waves). Raises :class:`VersionNotPublished` (or its
    subclass :class:`VersionRetired`), :class:`InvalidSlug`, :class:`SlugTaken`,
    :class:`InvalidStudyChange` (no instrument, or one twice).
    """
    battery = list(instrument_versions) or ([instrument_version] if instrument_version else [])
    check_battery(battery)
    if withdrawal_policy not in (WithdrawalPolicy.KEEP, WithdrawalPolicy.EXCLUDE):
        raise InvalidStudyChange(
            f"unknown withdrawal policy {withdrawal_policy!r}", field="withdrawal_policy"
        )
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
        consent_text=consent_text.strip(),
        consent_version=consent_version.strip(),
        urgent_help_note=urgent_help_note.strip(),
        team_contact=team_contact.strip(),
        withdrawal_policy=withdrawal_policy,
        status=status,
        owner=owner,
        created_at=now or utcnow(),
    )
    db.session.add(study)
    db.session.flush()
    db.session.add_all(
        StudyInstrument(study=study, instrument_version=version, position=position)
        for position, version in enumerate(battery)
    )
    db.session.flush()
    db.session.refresh(study, ["battery"])
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
            "instrument": battery[0].instrument.key,
            "instrument_version": battery[0].version,
            "instrument_content_hash": battery[0].content_hash,
            "battery": [f"{version.instrument.key} {version.version}" for version in battery],
        },
        now=now,
    )
    return study


def check_battery(battery: Sequence[InstrumentVersion]) -> None:
    """A battery has at least one version, each usable for a new study, none twice."""
    if not battery:
        raise InvalidStudyChange("choose at least one instrument version", field="instruments")
    seen: set[int] = set()
    for version in battery:
        versions.require_usable_for_new_study(version)
        if version.id in seen:
            raise InvalidStudyChange(
                f"{version.instrument.key} {version.version} is in the battery twice",
                field="instruments",
            )
        seen.add(version.id)


def study_settings(study: Study) -> dict[str, object]:
    """What defines a study, as hashed into its audit events."""
    return {
        "name": study.name,
        "slug": study.slug,
        "battery": [
            {"instrument_version_id": version.id, "content_hash": version.content_hash}
            for version in study.instrument_versions
        ],
        "consent_text": study.consent_text,
        "consent_version": study.consent_version,
        "urgent_help_note": study.urgent_help_note,
        "team_contact": study.team_contact,
        "withdrawal_policy": study.withdrawal_policy,
        "status": study.status,
        "owner_id": study.owner_id,
        "waves": [
            {
                "key": wave.key,
                "label": wave.label,
                "status": wave.status,
                "offset_days": wave.offset_days,
                "window_days": wave.window_days,
                "opens_at": wave.opens_at.isoformat() if wave.opens_at else None,
                "closes_at": wave.closes_at.isoformat() if wave.closes_at else None,
            }
            for wave in study.waves
        ],
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
    offset_days: int | None = None,
    window_days: int | None = None,
) -> Wave:
    """A new wave after the study's existing ones.

    Its schedule is relative (``offset_days`` after each participant's enrolment, open for
    ``window_days`` or open-ended) or fixed (``opens_at``/``closes_at``), not both. Raises
    :class:`InvalidStudyChange` for a schedule that cannot hold.
    """
    check_schedule(
        opens_at=opens_at, closes_at=closes_at, offset_days=offset_days, window_days=window_days
    )
    last = db.session.scalar(select(func.max(Wave.position)).where(Wave.study_id == study.id))
    wave = Wave(
        study=study,
        key=key,
        label=label,
        position=0 if last is None else last + 1,
        status=status,
        opens_at=opens_at,
        closes_at=closes_at,
        offset_days=offset_days,
        window_days=window_days,
    )
    db.session.add(wave)
    db.session.flush()
    return wave


def check_schedule(
    *,
    opens_at: datetime | None,
    closes_at: datetime | None,
    offset_days: int | None,
    window_days: int | None,
) -> None:
    """Raise :class:`InvalidStudyChange` (naming the field) unless the schedule holds."""
    if offset_days is not None and (opens_at is not None or closes_at is not None):
        raise InvalidStudyChange(
            "a wave opens either relative to enrolment or on fixed dates, not both",
            field="offset_days",
        )
    if window_days is not None and offset_days is None:
        raise InvalidStudyChange(
            "a window in days needs an opening offset from enrolment", field="window_days"
        )
    if offset_days is not None and offset_days < 0:
        raise InvalidStudyChange("the offset cannot be negative", field="offset_days")
    if window_days is not None and window_days < 1:
        raise InvalidStudyChange("the window is at least 1 day", field="window_days")
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise InvalidStudyChange("the wave must close after it opens", field="closes_at")


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
