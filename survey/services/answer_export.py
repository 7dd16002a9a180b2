"""A study's answers as a wide CSV: one row per participant and wave, one column per item.

Participants appear under their pseudonymous id (the participants table's id): no token,
no personal data.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select

from instruments.csv_cells import csv_text
from survey.extensions import db
from survey.models import (
    Answer,
    AuditAction,
    Participant,
    ResponseSession,
    Study,
    User,
    Wave,
)
from survey.services import audit
from survey.services.instruments import definition_of

FIXED_COLUMNS = ("participant", "wave", "excluded", "started_at", "completed_at")


@dataclass(frozen=True)
class Export:
    filename: str
    text: str
    sha256: str


def item_columns(study: Study) -> list[tuple[str, int, str]]:
    """(column, instrument version id, item id) for every item and attention check of the
    battery in order. A one-instrument study's columns are its item ids; in a battery each
    is prefixed with its instrument's key (``phq.PHQ_1``), since item ids are unique only
    within an instrument."""
    versions = study.instrument_versions
    prefixed = len(versions) > 1
    return [
        (f"{version.instrument.key}.{entry.id}" if prefixed else entry.id, version.id, entry.id)
        for version in versions
        for page in definition_of(version).pages()
        for entry in page.entries
    ]


def answers_csv(study: Study) -> str:
    """The CSV text: fixed columns, then every item and attention check in the
    battery's order; an empty cell is an item not (yet) answered."""
    columns = item_columns(study)
    sessions = db.session.execute(
        select(ResponseSession, Participant, Wave)
        .join(Participant, Participant.id == ResponseSession.participant_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id)
        .order_by(Participant.id, Wave.position)
    ).all()
    values: dict[int, dict[tuple[int, str], int | None]] = defaultdict(dict)
    session_ids = [session.id for session, _, _ in sessions]
    if session_ids:
        for session_id, version_id, item_id, value in db.session.execute(
            select(
                Answer.session_id, Answer.instrument_version_id, Answer.item_id, Answer.value
            ).where(Answer.session_id.in_(session_ids))
        ):
            values[session_id][(version_id, item_id)] = value
    rows = (
        (
            participant.id,
            wave.key,
            int(participant.excluded),
            session.started_at.isoformat(),
            session.completed_at.isoformat() if session.completed_at else None,
            *(values[session.id].get((version_id, item_id)) for _, version_id, item_id in columns),
        )
        for session, participant, wave in sessions
    )
    return csv_text((*FIXED_COLUMNS, *(column for column, _, _ in columns)), rows)


def export_answers(study: Study, *, actor: User) -> Export:
    """The answers CSV of ``study``, recorded in the audit log as ``export_downloaded``
    with the SHA-256 of the file."""
    text = answers_csv(study)
    version = study.instrument_version
    digest = audit.text_hash(text)
    audit.record(
        AuditAction.EXPORT_DOWNLOADED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        hash_after=digest,
        details={
            "export": "answers_csv",
            "instrument": version.instrument.key,
            "instrument_version": version.version,
            "instrument_content_hash": version.content_hash,
            "battery": [f"{v.instrument.key} {v.version}" for v in study.instrument_versions],
        },
    )
    filename = f"{study.slug}-answers-{version.instrument.key}-{version.version}.csv"
    return Export(filename=filename, text=text, sha256=digest)
