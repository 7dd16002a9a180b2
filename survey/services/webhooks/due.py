"""Noticing that a wave has opened for a participant (``wave.opened``, the cue for a
reminder in the chat).

:func:`emit_opened_waves` looks at every open study with an active endpoint subscribed
to ``wave.opened`` and, for each participant who has consented (is enrolled), has not
withdrawn and has not declined the study's current consent version since, and each wave
whose window is open for them now (:meth:`Wave.is_answerable` with their enrolment) and
that they have not completed, emits ``wave.opened`` once (the event key
``wave.opened:<participant id>:<wave id>``; a second run finds it sent and emits nothing).
An endpoint added while a window is open hears of it too. ``flask webhooks deliver`` runs
it on every round.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from survey.extensions import db
from survey.models import (
    ConsentDecision,
    ConsentRecord,
    Participant,
    ResponseSession,
    Study,
    StudyStatus,
    Wave,
    WaveStatus,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
    utcnow,
)
from survey.services.webhooks import events

__all__ = ["emit_opened_waves"]


def _studies_listening() -> dict[int, list[int]]:
    """Open studies → ids of their active endpoints subscribed to ``wave.opened``."""
    rows = db.session.execute(
        select(WebhookEndpoint.study_id, WebhookEndpoint.id, WebhookEndpoint.events)
        .join(Study, Study.id == WebhookEndpoint.study_id)
        .where(Study.status == StudyStatus.OPEN, WebhookEndpoint.disabled_at.is_(None))
        .order_by(WebhookEndpoint.study_id, WebhookEndpoint.id)
    )
    listening: dict[int, list[int]] = {}
    for study_id, endpoint_id, subscribed in rows:
        if WebhookEvent.WAVE_OPENED in subscribed.split(","):
            listening.setdefault(study_id, []).append(endpoint_id)
    return listening


def _declined(study: Study, participant_ids: list[int]) -> set[int]:
    """Participants whose latest decision on the study's consent version is a decline."""
    latest: dict[int, tuple[int, str]] = {}
    rows = db.session.execute(
        select(ConsentRecord.participant_id, ConsentRecord.ordinal, ConsentRecord.decision)
        .join(Participant, Participant.id == ConsentRecord.participant_id)
        .where(
            Participant.study_id == study.id,
            ConsentRecord.consent_version == study.consent_version,
        )
    )
    for participant_id, ordinal, decision in rows:
        if participant_id not in latest or ordinal > latest[participant_id][0]:
            latest[participant_id] = (ordinal, decision)
    wanted = set(participant_ids)
    return {
        pid
        for pid, (_ordinal, decision) in latest.items()
        if pid in wanted and decision == ConsentDecision.DECLINED
    }


def _completed(study: Study) -> set[tuple[int, int]]:
    rows = db.session.execute(
        select(ResponseSession.participant_id, ResponseSession.wave_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id, ResponseSession.completed_at.is_not(None))
    )
    return {(participant_id, wave_id) for participant_id, wave_id in rows}


def _sent(endpoint_ids: list[int]) -> dict[str, int]:
    """``wave.opened`` event key → how many of the endpoints have a delivery of it."""
    counts: dict[str, int] = {}
    for key in db.session.scalars(
        select(WebhookDelivery.event_key).where(
            WebhookDelivery.endpoint_id.in_(endpoint_ids),
            WebhookDelivery.event_type == WebhookEvent.WAVE_OPENED,
        )
    ):
        counts[key] = counts.get(key, 0) + 1
    return counts


def emit_opened_waves(now: datetime | None = None, *, schedule: bool = False) -> int:
    """Emit ``wave.opened`` for every window open now not yet announced (flushed, not
    committed); returns how many deliveries were created. ``schedule``: attempt them
    after the commit (the command attempts them itself, so by default no)."""
    now = now or utcnow()
    created = 0
    for study_id, endpoint_ids in _studies_listening().items():
        study = db.session.get(Study, study_id)
        if study is None:
            continue
        waves = [wave for wave in study.waves if wave.status == WaveStatus.OPEN]
        if not waves:
            continue
        participants = list(
            db.session.scalars(
                select(Participant)
                .where(
                    Participant.study_id == study.id,
                    Participant.withdrawn_at.is_(None),
                    Participant.enrolled_at.is_not(None),
                )
                .order_by(Participant.id)
            )
        )
        declined = _declined(study, [p.id for p in participants])
        completed = _completed(study)
        sent = _sent(endpoint_ids)
        for participant in participants:
            if participant.id in declined:
                continue
            for wave in waves:
                if (participant.id, wave.id) in completed:
                    continue
                if not wave.is_answerable(now, participant.enrolled_at):
                    continue
                key = events.event_key(WebhookEvent.WAVE_OPENED, participant.id, wave.id)
                if sent.get(key, 0) >= len(endpoint_ids):
                    continue
                created += len(events.wave_opened(participant, wave, now=now, schedule=schedule))
    db.session.flush()
    return created
