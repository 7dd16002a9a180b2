"""The audit log: who changed what, when, with content hashes before and after.

Append-only: the application only inserts, and database triggers (migration 0002) refuse
UPDATE and DELETE on every database.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from survey.extensions import db
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import User


class AuditAction:
    """The actions recorded (plain strings, as stored); other modules may add their own."""

    LOGIN = "login"
    LOGIN_FAILED = "login_failed"
    LOGOUT = "logout"
    USER_CREATED = "user_created"
    USER_ACTIVATED = "user_activated"
    USER_DEACTIVATED = "user_deactivated"
    PASSWORD_CHANGED = "password_changed"
    DRAFT_CREATED = "draft_created"
    DRAFT_EDITED = "draft_edited"
    VERSION_PUBLISHED = "version_published"
    VERSION_RETIRED = "version_retired"
    VERSION_IMPORTED = "version_imported"
    STUDY_CREATED = "study_created"
    STUDY_EDITED = "study_edited"
    STUDY_STATUS_CHANGED = "study_status_changed"
    WAVE_ADDED = "wave_added"
    WAVE_CHANGED = "wave_changed"
    PARTICIPANTS_ADDED = "participants_added"
    LINK_REGENERATED = "link_regenerated"
    ENROLMENT_LINK_CHANGED = "enrolment_link_changed"
    MEMBER_GRANTED = "member_granted"
    MEMBER_REVOKED = "member_revoked"
    ALERT_ACKNOWLEDGED = "alert_acknowledged"
    PARTICIPANT_WITHDREW = "participant_withdrew"
    EXPORT_DOWNLOADED = "export_downloaded"
    SESSION_EXCLUDED = "session_excluded"
    SESSION_INCLUDED = "session_included"
    QUALITY_RULES_CHANGED = "quality_rules_changed"
    OUTCOMES_UPLOADED = "outcomes_uploaded"
    STUDY_SIMULATED = "study_simulated"
    VALIDATION_REQUESTED = "validation_requested"
    HYPOTHESIS_STATED = "hypothesis_stated"
    HYPOTHESIS_RETIRED = "hypothesis_retired"
    API_KEY_CREATED = "api_key_created"
    API_KEY_REVOKED = "api_key_revoked"
    WEBHOOK_ADDED = "webhook_added"
    WEBHOOK_DISABLED = "webhook_disabled"
    API_PARTICIPANT_ENROLLED = "api_participant_enrolled"
    API_CONSENT_RECORDED = "api_consent_recorded"
    API_ANSWERS_SAVED = "api_answers_saved"
    API_OUTCOMES_POSTED = "api_outcomes_posted"


class AuditEvent(db.Model):
    """One recorded action. ``actor_email`` is a snapshot taken when it happened (for a
    failed login: the e-mail address that was tried)."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    actor_email: Mapped[str | None] = mapped_column(String(254))
    # The API key a machine used (its id, never the key), for what was done through the API.
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target_type: Mapped[str] = mapped_column(String(64))
    target_id: Mapped[str | None] = mapped_column(String(64))
    # SHA-256 (hex) of the target's content before and after the action, when it has one.
    hash_before: Mapped[str | None] = mapped_column(String(64))
    hash_after: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    def __repr__(self) -> str:
        return f"<AuditEvent {self.id} {self.action} {self.target_type}:{self.target_id}>"
