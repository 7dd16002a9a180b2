"""The database models, one module per aggregate; importing this package registers them all."""

from survey.models.alert import SafetyAlert
from survey.models.api import (
    ApiKey,
    ApiScope,
    DeliveryStatus,
    IdempotencyRecord,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from survey.models.audit import AuditAction, AuditEvent
from survey.models.instrument import Instrument, InstrumentVersion, VersionStatus
from survey.models.outcome import OutcomeSource, OutcomeUpload, OutcomeValue
from survey.models.participant import ConsentDecision, ConsentRecord, EnrolledVia, Participant
from survey.models.quality import SessionExclusion
from survey.models.response import Answer, DeliveryMode, PageVisit, ResponseSession
from survey.models.study import (
    MemberRole,
    Study,
    StudyInstrument,
    StudyMember,
    StudyStatus,
    Wave,
    WaveStatus,
    WithdrawalPolicy,
)
from survey.models.types import UTCDateTime, utcnow
from survey.models.user import Role, User
from survey.models.validation import RunStatus, StudyHypothesis, ValidationRun

__all__ = [
    "ApiKey",
    "ApiScope",
    "DeliveryStatus",
    "IdempotencyRecord",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "RunStatus",
    "StudyHypothesis",
    "ValidationRun",
    "DeliveryMode",
    "OutcomeSource",
    "OutcomeUpload",
    "OutcomeValue",
    "SessionExclusion",
    "WithdrawalPolicy",
    "StudyMember",
    "StudyInstrument",
    "MemberRole",
    "EnrolledVia",
    "SafetyAlert",
    "Answer",
    "AuditAction",
    "AuditEvent",
    "ConsentDecision",
    "ConsentRecord",
    "Instrument",
    "InstrumentVersion",
    "PageVisit",
    "Participant",
    "ResponseSession",
    "Role",
    "Study",
    "StudyStatus",
    "UTCDateTime",
    "User",
    "VersionStatus",
    "Wave",
    "WaveStatus",
    "utcnow",
]
