"""Studies, their battery, their waves and their participants.

Functions flush, never commit. Every change a researcher makes is audited: creating a study
(``study_created``), editing it (``study_edited``), moving it through its lifecycle
(``study_status_changed``), adding a wave (``wave_added``) and changing one
(``wave_changed``), each with the hash of :func:`study_settings` before and after.

The lifecycle: a study made in the browser starts as a *draft* (everything may change,
participants' links answer with a polite page); *open* (needs a wave; consent, withdrawal
policy, short name and battery are frozen from then on: answers were given under them);
*closed* (links answer politely again); a closed study may be reopened.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    AuditAction,
    EnrolledVia,
    InstrumentVersion,
    Participant,
    ResponseSession,
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

# Longest offset or window of a wave: ten years (and no date arithmetic overflows).
MAX_SCHEDULE_DAYS = 3660
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
    first_wave_offset_days: int | None = None,
    now: datetime | None = None,
) -> Study:
    """A new study run by ``owner`` asking a battery of versions a new study may use
    (:func:`survey.services.versions.usable_for_new_study`): ``instrument_versions`` in
    order, or the one ``instrument_version``. Recorded in the audit log as
    ``study_created``.

    ``first_wave_label`` adds an open first wave with that label ("Baseline" when blank),
    opening ``first_wave_offset_days`` after enrolment (0: at enrolment; None: no
    schedule); None adds none (the caller adds its waves). ``status`` is ``open`` for the
    command line and the demo, ``draft`` for the browser (:func:`set_status` opens it).
    Raises :class:`VersionNotPublished` (or its subclass :class:`VersionRetired`),
    :class:`InvalidSlug`, :class:`SlugTaken`, :class:`InvalidStudyChange` (no instrument,
    one twice, an unknown status or withdrawal policy).
    """
    battery = list(instrument_versions) or ([instrument_version] if instrument_version else [])
    check_battery(battery)
    _check_withdrawal_policy(withdrawal_policy)
    if status not in STATUSES:
        raise InvalidStudyChange(f"unknown study status {status!r}", field="status")
    slug = _checked_slug(slug)
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
        _insert_wave(
            study,
            key=_wave_key(label),
            label=label,
            status=WaveStatus.OPEN,
            offset_days=first_wave_offset_days,
        )
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
    """A battery has at least one version, each usable for a new study, none twice.

    Raises :class:`InvalidStudyChange` (field ``instruments``) or the version's own error
    (:class:`VersionNotPublished`, :class:`VersionRetired`)."""
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


def _record_change(
    study: Study,
    action: str,
    *,
    before: str,
    actor: User | None,
    details: dict[str, object],
    now: datetime | None,
) -> None:
    """Audit a change of the study's settings, with their hash before and after."""
    audit.record(
        action,
        actor=actor,
        target_type="study",
        target_id=study.id,
        hash_before=before,
        hash_after=audit.content_hash(study_settings(study)),
        details=details,
        now=now,
    )


def _wave_key(label: str) -> str:
    key = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
    return key[:64] or "wave-1"


def add_wave(
    study: Study,
    *,
    key: str | None = None,
    label: str,
    status: str = WaveStatus.OPEN,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    offset_days: int | None = None,
    window_days: int | None = None,
    actor: User | None = None,
    now: datetime | None = None,
) -> Wave:
    """A new wave after the study's existing ones, audited as ``wave_added``.

    Its schedule is relative (``offset_days`` after each participant's enrolment, open for
    ``window_days`` or open-ended) or fixed (``opens_at``/``closes_at``), not both; or none
    (answerable while the wave is open). ``key`` defaults to one made from the label.
    Any study takes new waves (a closed one answers nothing until it is reopened). Raises
    :class:`InvalidStudyChange` naming the field for a schedule that cannot hold, a blank
    label, a key the study has already.
    """
    label = label.strip()
    if not label:
        raise InvalidStudyChange("enter a label", field="label")
    if len(label) > 200:
        raise InvalidStudyChange("use at most 200 characters", field="label")
    _check_label_free(study, label)
    key = (key or "").strip() or unused_wave_key(study, label)
    if any(wave.key == key for wave in _waves_of(study)):
        raise InvalidStudyChange(f"the study has a wave {key!r} already", field="label")
    before = audit.content_hash(study_settings(study))
    wave = _insert_wave(
        study,
        key=key,
        label=label,
        status=status,
        opens_at=opens_at,
        closes_at=closes_at,
        offset_days=offset_days,
        window_days=window_days,
    )
    db.session.refresh(study, ["waves"])
    _record_change(
        study,
        AuditAction.WAVE_ADDED,
        before=before,
        actor=actor,
        details={"wave": wave.key, "label": wave.label, "schedule": describe_schedule(wave)},
        now=now,
    )
    return wave


def _check_label_free(study: Study, label: str, *, wave: Wave | None = None) -> None:
    if any(
        other.label.casefold() == label.casefold() and other is not wave
        for other in _waves_of(study)
    ):
        raise InvalidStudyChange(f"the study has a wave {label!r} already", field="label")


def _waves_of(study: Study) -> list[Wave]:
    return list(db.session.scalars(select(Wave).where(Wave.study_id == study.id)))


def unused_wave_key(study: Study, label: str) -> str:
    """A key made from ``label`` ("Week 4" → ``week-4``) that the study has no wave with
    (``-2``, ``-3``, ... added when needed)."""
    base = _wave_key(label)
    taken = {wave.key for wave in _waves_of(study)}
    key, number = base, 2
    while key in taken:
        suffix = f"-{number}"
        key, number = base[: 64 - len(suffix)] + suffix, number + 1
    return key


def _insert_wave(
    study: Study,
    *,
    key: str,
    label: str,
    status: str,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    offset_days: int | None = None,
    window_days: int | None = None,
) -> Wave:
    if status not in (WaveStatus.OPEN, WaveStatus.CLOSED):
        raise InvalidStudyChange(f"unknown wave status {status!r}", field="status")
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
    if offset_days is not None and offset_days > MAX_SCHEDULE_DAYS:
        raise InvalidStudyChange(
            f"use at most {MAX_SCHEDULE_DAYS} days (10 years)", field="offset_days"
        )
    if window_days is not None and window_days < 1:
        raise InvalidStudyChange("the window is at least 1 day", field="window_days")
    if window_days is not None and window_days > MAX_SCHEDULE_DAYS:
        raise InvalidStudyChange(
            f"use at most {MAX_SCHEDULE_DAYS} days (10 years)", field="window_days"
        )
    if opens_at is not None and closes_at is not None and closes_at <= opens_at:
        raise InvalidStudyChange("the wave must close after it opens", field="closes_at")


def add_participant(study: Study, *, now: datetime | None = None) -> tuple[Participant, str]:
    """A new participant and their secret token: the only time the token is available."""
    return add_participants(study, 1, now=now)[0]


def add_participants(
    study: Study,
    count: int,
    *,
    external_id_hashes: Sequence[str | None] = (),
    via: str = EnrolledVia.INVITATION,
    now: datetime | None = None,
) -> list[tuple[Participant, str]]:
    """``count`` new participants and their tokens (one per ``external_id_hashes`` entry
    when given), written in one flush (one multi-row INSERT), so a caller's transaction
    holds the write lock briefly."""
    hashes = list(external_id_hashes) or [None] * count
    if len(hashes) < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    now = now or utcnow()
    created = []
    for external_id_hash in hashes:
        token = tokens.generate_token()
        participant = Participant(
            study=study,
            token_hash=tokens.hash_token(token),
            created_at=now,
            enrolled_via=via,
            external_id_hash=external_id_hash,
        )
        created.append((participant, token))
    db.session.add_all(participant for participant, _token in created)
    db.session.flush()
    return created


# -- settings, lifecycle, waves (the research area's set-up pages) ----------------------------
STATUSES = (StudyStatus.DRAFT, StudyStatus.OPEN, StudyStatus.CLOSED)
# Which status a study may move to from each status.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    StudyStatus.DRAFT: (StudyStatus.OPEN,),
    StudyStatus.OPEN: (StudyStatus.CLOSED,),
    StudyStatus.CLOSED: (StudyStatus.OPEN,),
}
# What a participant reads about each withdrawal policy: the consent text says the same.
WITHDRAWAL_WORDS: dict[str, str] = {
    WithdrawalPolicy.KEEP: (
        "If you stop taking part, the answers you have already given are kept and used in "
        "the study's analyses."
    ),
    WithdrawalPolicy.EXCLUDE: (
        "If you stop taking part, the answers you have already given are kept on record but "
        "left out of the study's analyses."
    ),
}
# Settings that stay editable once a study has opened (participants answered under the
# others: consent text and version, withdrawal policy, short name, battery).
EDITABLE_WHEN_OPEN = ("name", "team_contact", "urgent_help_note")
_TEXT_LIMITS = {"name": 200, "consent_version": 32}
_REQUIRED_TEXT = {
    "name": "enter a name",
    "consent_text": "enter the consent text",
    "consent_version": "enter a version",
    "urgent_help_note": "enter where participants find urgent help",
    "team_contact": "enter how participants reach the study team",
}


def _check_withdrawal_policy(policy: str) -> None:
    if policy not in WITHDRAWAL_WORDS:
        raise InvalidStudyChange(f"unknown withdrawal policy {policy!r}", field="withdrawal_policy")


def _checked_slug(slug: str, *, study: Study | None = None) -> str:
    slug = slug.strip().lower()
    if not SLUG_RE.fullmatch(slug):
        raise InvalidSlug(
            "use 3 to 100 lower-case letters, digits and '-', starting and ending with a "
            "letter or digit"
        )
    other = find_study(slug)
    if other is not None and other is not study:
        raise SlugTaken(f"a study with the slug {slug!r} exists")
    return slug


def suggest_slug(name: str) -> str:
    """A free short name made from a study's name ("IEM-DP validation 2027" →
    ``iemdp-validation-2027``; ``-2``, ``-3``, ... when taken)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:90].strip("-")
    if len(base) < 3:
        base = f"study-{base}".strip("-") if base else "study"
    slug, number = base, 2
    while find_study(slug) is not None:
        slug, number = f"{base}-{number}", number + 1
    return slug


def update_study(
    study: Study,
    *,
    actor: User | None,
    name: str | None = None,
    slug: str | None = None,
    consent_text: str | None = None,
    consent_version: str | None = None,
    urgent_help_note: str | None = None,
    team_contact: str | None = None,
    withdrawal_policy: str | None = None,
    battery: Sequence[InstrumentVersion] | None = None,
    now: datetime | None = None,
) -> bool:
    """Change the study's settings (None leaves one as it is); return whether anything
    changed. Audited as ``study_edited`` with the settings' hash before and after and the
    names of the changed fields; nothing is recorded when nothing changed.

    A draft may change everything. Once a study has opened, only
    :data:`EDITABLE_WHEN_OPEN` may change. Raises :class:`InvalidStudyChange` naming the
    field (blank, too long, frozen), :class:`InvalidSlug`, :class:`SlugTaken`, or a
    battery's errors (:func:`check_battery`).
    """
    texts = {
        "name": name,
        "consent_text": consent_text,
        "consent_version": consent_version,
        "urgent_help_note": urgent_help_note,
        "team_contact": team_contact,
    }
    wanted: dict[str, str] = {}
    for field, value in texts.items():
        if value is None:
            continue
        value = value.strip()
        if not value:
            raise InvalidStudyChange(_REQUIRED_TEXT[field], field=field)
        limit = _TEXT_LIMITS.get(field)
        if limit is not None and len(value) > limit:
            raise InvalidStudyChange(f"use at most {limit} characters", field=field)
        wanted[field] = value
    if slug is not None:
        wanted["slug"] = _checked_slug(slug, study=study)
    if withdrawal_policy is not None:
        _check_withdrawal_policy(withdrawal_policy)
        wanted["withdrawal_policy"] = withdrawal_policy
    changed = [field for field, value in wanted.items() if getattr(study, field) != value]
    new_battery = None
    if battery is not None:
        check_battery(battery)
        if [version.id for version in battery] != [v.id for v in study.instrument_versions]:
            new_battery = list(battery)
            changed.append("battery")
    if not changed:
        return False
    if study.status != StudyStatus.DRAFT:
        frozen = [field for field in changed if field not in EDITABLE_WHEN_OPEN]
        if frozen:
            raise InvalidStudyChange(
                f"the study has been open: its {frozen[0].replace('_', ' ')} can no longer change",
                field=frozen[0],
            )
    before = audit.content_hash(study_settings(study))
    for field, value in wanted.items():
        setattr(study, field, value)
    if new_battery is not None:
        _replace_battery(study, new_battery)
    db.session.flush()
    _record_change(
        study,
        AuditAction.STUDY_EDITED,
        before=before,
        actor=actor,
        details={"changed": changed, "status": study.status}
        | (
            {"battery": [f"{v.instrument.key} {v.version}" for v in new_battery]}
            if new_battery is not None
            else {}
        ),
        now=now,
    )
    return True


def set_battery(
    study: Study,
    battery: Sequence[InstrumentVersion],
    *,
    actor: User | None,
    now: datetime | None = None,
) -> bool:
    """Replace a draft's battery (audited as ``study_edited``); see :func:`update_study`."""
    return update_study(study, actor=actor, battery=battery, now=now)


def _replace_battery(study: Study, battery: Sequence[InstrumentVersion]) -> None:
    # A draft has no answers (its links answer nothing), but say so rather than trust it:
    # an answer names its instrument version, and that must stay in the battery.
    answered = db.session.scalar(
        select(func.count(ResponseSession.id))
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id)
    )
    if answered:
        raise InvalidStudyChange(
            "participants have answered this study: its battery can no longer change",
            field="instruments",
        )
    for entry in list(study.battery):
        db.session.delete(entry)
    db.session.flush()  # the old positions are free before the new rows take them
    db.session.add_all(
        StudyInstrument(study=study, instrument_version=version, position=position)
        for position, version in enumerate(battery)
    )
    db.session.flush()
    db.session.refresh(study, ["battery"])


def set_status(
    study: Study, status: str, *, actor: User | None, now: datetime | None = None
) -> None:
    """Move the study along its lifecycle (:data:`TRANSITIONS`): draft → open (it needs a
    wave), open → closed, closed → open. Audited as ``study_status_changed``. Raises
    :class:`InvalidStudyChange` (field ``status``) for any other move."""
    if status not in STATUSES:
        raise InvalidStudyChange(f"unknown study status {status!r}", field="status")
    if status == study.status:
        raise InvalidStudyChange(f"the study is {status} already", field="status")
    if status not in TRANSITIONS[study.status]:
        raise InvalidStudyChange(
            f"the study is {study.status}: it cannot become {status}", field="status"
        )
    if status == StudyStatus.OPEN and not _waves_of(study):
        raise InvalidStudyChange("add a wave before opening the study", field="status")
    before = audit.content_hash(study_settings(study))
    previous = study.status
    study.status = status
    db.session.flush()
    _record_change(
        study,
        AuditAction.STUDY_STATUS_CHANGED,
        before=before,
        actor=actor,
        details={"from": previous, "to": status},
        now=now,
    )


def update_wave(
    wave: Wave,
    *,
    actor: User | None,
    label: str,
    offset_days: int | None = None,
    window_days: int | None = None,
    opens_at: datetime | None = None,
    closes_at: datetime | None = None,
    now: datetime | None = None,
) -> bool:
    """Give the wave this label and schedule (the four schedule values replace the old
    ones; all None: no schedule); return whether anything changed. Its key stays (exports
    name it). Audited as ``wave_changed``. Raises :class:`InvalidStudyChange` naming the
    field (see :func:`check_schedule`)."""
    label = label.strip()
    if not label:
        raise InvalidStudyChange("enter a label", field="label")
    if len(label) > 200:
        raise InvalidStudyChange("use at most 200 characters", field="label")
    _check_label_free(wave.study, label, wave=wave)
    check_schedule(
        opens_at=opens_at, closes_at=closes_at, offset_days=offset_days, window_days=window_days
    )
    wanted = {
        "label": label,
        "offset_days": offset_days,
        "window_days": window_days,
        "opens_at": opens_at,
        "closes_at": closes_at,
    }
    changed = [field for field, value in wanted.items() if getattr(wave, field) != value]
    if not changed:
        return False
    before = audit.content_hash(study_settings(wave.study))
    for field in changed:
        setattr(wave, field, wanted[field])
    db.session.flush()
    _record_change(
        wave.study,
        AuditAction.WAVE_CHANGED,
        before=before,
        actor=actor,
        details={"wave": wave.key, "changed": changed, "schedule": describe_schedule(wave)},
        now=now,
    )
    return True


def set_wave_status(
    wave: Wave, status: str, *, actor: User | None, now: datetime | None = None
) -> None:
    """Open or close the wave by hand (an open wave follows its schedule; a closed one is
    closed for everyone). Audited as ``wave_changed``. Raises :class:`InvalidStudyChange`
    (field ``status``) for an unknown status or the one it has."""
    if status not in (WaveStatus.OPEN, WaveStatus.CLOSED):
        raise InvalidStudyChange(f"unknown wave status {status!r}", field="status")
    if status == wave.status:
        raise InvalidStudyChange(f"the wave is {status} already", field="status")
    before = audit.content_hash(study_settings(wave.study))
    previous = wave.status
    wave.status = status
    db.session.flush()
    _record_change(
        wave.study,
        AuditAction.WAVE_CHANGED,
        before=before,
        actor=actor,
        details={"wave": wave.key, "changed": ["status"], "from": previous, "to": status},
        now=now,
    )


# The days a fixed wave may start and end on.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2999, 12, 31)


def fixed_window(
    first_day: date | None, last_day: date | None
) -> tuple[datetime | None, datetime | None]:
    """A fixed wave's times from its first and last day (UTC): it opens at 00:00 of the
    first day and closes at the end of the last one (the next midnight, excluded). Raises
    :class:`InvalidStudyChange` for a day outside :data:`FIRST_DAY`..:data:`LAST_DAY`."""
    for field, day in (("opens_at", first_day), ("closes_at", last_day)):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise InvalidStudyChange(
                f"choose a day from {FIRST_DAY:%Y} to {LAST_DAY:%Y}", field=field
            )
    opens_at = None if first_day is None else datetime.combine(first_day, time(0), UTC)
    closes_at = (
        None if last_day is None else datetime.combine(last_day + timedelta(days=1), time(0), UTC)
    )
    return opens_at, closes_at


def fixed_days(wave: Wave) -> tuple[date | None, date | None]:
    """The first and last day of a fixed wave (the inverse of :func:`fixed_window`)."""
    first = None if wave.opens_at is None else wave.opens_at.astimezone(UTC).date()
    last = None
    if wave.closes_at is not None:
        closes = wave.closes_at.astimezone(UTC)
        last = closes.date() - timedelta(days=1) if closes.time() == time(0) else closes.date()
    return first, last


def _days(count: int) -> str:
    return f"{count} day{'' if count == 1 else 's'}"


def _moment(value: datetime, *, end: bool = False) -> str:
    value = value.astimezone(UTC)
    if value.time() == time(0):
        day = value.date() - timedelta(days=1) if end else value.date()
        return f"{day.day} {day:%b %Y}"
    return f"{value.day} {value:%b %Y %H:%M} UTC"


def describe_schedule(wave: Wave) -> str:
    """The wave's schedule in words: "opens 28 days after enrolment, for 14 days",
    "4 Jan 2027 – 18 Jan 2027" (first and last day), "no schedule: answerable while the
    wave is open"."""
    if wave.offset_days is not None:
        opens = (
            "opens at enrolment"
            if wave.offset_days == 0
            else f"opens {_days(wave.offset_days)} after enrolment"
        )
        if wave.window_days is None:
            return f"{opens}, with no end"
        return f"{opens}, for {_days(wave.window_days)}"
    if wave.opens_at is not None and wave.closes_at is not None:
        return f"{_moment(wave.opens_at)} – {_moment(wave.closes_at, end=True)}"
    if wave.opens_at is not None:
        return f"from {_moment(wave.opens_at)}, with no end"
    if wave.closes_at is not None:
        return f"until {_moment(wave.closes_at, end=True)}"
    return "no schedule: answerable while the wave is open"
