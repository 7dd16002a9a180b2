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


def answers_csv(study: Study) -> str:
    """The CSV text: fixed columns, then every item and attention check in the
    instrument's order; an empty cell is an item not (yet) answered."""
    definition = definition_of(study.instrument_version)
    item_ids = [entry.id for page in definition.pages() for entry in page.entries]
    sessions = db.session.execute(
        select(ResponseSession, Participant, Wave)
        .join(Participant, Participant.id == ResponseSession.participant_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id)
        .order_by(Participant.id, Wave.position)
    ).all()
    values: dict[int, dict[str, int | None]] = defaultdict(dict)
    session_ids = [session.id for session, _, _ in sessions]
    if session_ids:
        for session_id, item_id, value in db.session.execute(
            select(Answer.session_id, Answer.item_id, Answer.value).where(
                Answer.session_id.in_(session_ids)
            )
        ):
            values[session_id][item_id] = value
    rows = (
        (
            participant.id,
            wave.key,
            int(participant.excluded),
            session.started_at.isoformat(),
            session.completed_at.isoformat() if session.completed_at else None,
            *(values[session.id].get(item_id) for item_id in item_ids),
        )
        for session, participant, wave in sessions
    )
    return csv_text((*FIXED_COLUMNS, *item_ids), rows)


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
        },
    )
    filename = f"{study.slug}-answers-{version.instrument.key}-{version.version}.csv"
    return Export(filename=filename, text=text, sha256=digest)
