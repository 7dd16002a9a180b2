"""Safety alerts for the study team: the open ones, the acknowledged ones, acknowledging.

Alerts are raised by :func:`survey.services.participation.save_page` (an answer at or
above a safety item's threshold); the team acknowledges each one once it has acted on it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from survey.extensions import db
from survey.models import (
    AuditAction,
    Instrument,
    InstrumentVersion,
    ResponseSession,
    SafetyAlert,
    Study,
    User,
    Wave,
    utcnow,
)
from survey.services import audit
from survey.services.errors import SurveyError
from survey.services.instruments import definition_of


class UnknownAlert(SurveyError):
    """No safety alert with this id in this study."""


@dataclass(frozen=True)
class AlertView:
    """One alert as the dashboard shows it (no personal data: the participant's code)."""

    id: int
    participant_code: str
    wave_label: str
    instrument: str  # "key version"
    item_id: str
    item_text: str
    value: int
    threshold: int
    raised_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None  # the e-mail address of who acknowledged it


@dataclass(frozen=True)
class StudyAlerts:
    open: tuple[AlertView, ...]  # oldest first: the longest waiting on top
    acknowledged: tuple[AlertView, ...]  # latest acknowledged first


def _item_text(version: InstrumentVersion, item_id: str) -> str:
    try:
        return definition_of(version).entry(item_id).text
    except KeyError:
        return ""  # an item the version no longer names: its id says enough


def study_alerts(study: Study) -> StudyAlerts:
    """Every safety alert of ``study`` (one query, plus each version's cached definition)."""
    rows = db.session.execute(
        select(SafetyAlert, Wave.label, InstrumentVersion, Instrument.key, User.email)
        .join(ResponseSession, ResponseSession.id == SafetyAlert.session_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .join(InstrumentVersion, InstrumentVersion.id == SafetyAlert.instrument_version_id)
        .join(Instrument, Instrument.id == InstrumentVersion.instrument_id)
        .outerjoin(User, User.id == SafetyAlert.acknowledged_by_id)
        .where(SafetyAlert.study_id == study.id)
        .order_by(SafetyAlert.raised_at, SafetyAlert.id)
    )
    views = [
        AlertView(
            id=alert.id,
            participant_code=f"P{alert.participant_id:06d}",
            wave_label=wave_label,
            instrument=f"{key} {version.version}",
            item_id=alert.item_id,
            item_text=_item_text(version, alert.item_id),
            value=alert.value,
            threshold=alert.threshold,
            raised_at=alert.raised_at,
            acknowledged_at=alert.acknowledged_at,
            acknowledged_by=email,
        )
        for alert, wave_label, version, key, email in rows
    ]
    acknowledged = sorted(
        (view for view in views if view.acknowledged_at is not None),
        key=lambda view: (view.acknowledged_at, view.id),
        reverse=True,
    )
    return StudyAlerts(
        open=tuple(view for view in views if view.acknowledged_at is None),
        acknowledged=tuple(acknowledged),
    )


def acknowledge(study: Study, alert_id: int, *, actor: User, now: datetime | None = None) -> bool:
    """Record that ``actor`` acknowledged the alert (audited as ``alert_acknowledged``);
    False when it was acknowledged already (nothing changes). Raises :class:`UnknownAlert`
    for an alert of another study or none."""
    alert = db.session.get(SafetyAlert, alert_id)
    if alert is None or alert.study_id != study.id:
        raise UnknownAlert(f"study {study.slug} has no safety alert {alert_id}")
    if alert.acknowledged_at is not None:
        return False
    now = now or utcnow()
    alert.acknowledged_at = now
    alert.acknowledged_by_id = actor.id
    audit.record(
        AuditAction.ALERT_ACKNOWLEDGED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        details={
            "alert": alert.id,
            "participant": f"P{alert.participant_id:06d}",
            "item": alert.item_id,
            "value": alert.value,
            "threshold": alert.threshold,
        },
        now=now,
    )
    db.session.flush()
    return True
