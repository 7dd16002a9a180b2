"""The database models, one module per aggregate; importing this package registers them all."""

from survey.models.instrument import Instrument, InstrumentVersion, VersionStatus
from survey.models.participant import ConsentDecision, ConsentRecord, Participant
from survey.models.response import Answer, PageVisit, ResponseSession
from survey.models.study import Study, StudyStatus, Wave, WaveStatus
from survey.models.types import UTCDateTime, utcnow

__all__ = [
    "Answer",
    "ConsentDecision",
    "ConsentRecord",
    "Instrument",
    "InstrumentVersion",
    "PageVisit",
    "Participant",
    "ResponseSession",
    "Study",
    "StudyStatus",
    "UTCDateTime",
    "VersionStatus",
    "Wave",
    "WaveStatus",
    "utcnow",
]
