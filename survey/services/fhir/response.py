"""A response session as FHIR R4 ``QuestionnaireResponse`` resources: one per battery
instrument version the session asks (a session answers the whole battery at one wave).

- ``id``: ``<session id>-<version id>`` (:func:`response_id`);
- ``questionnaire``: the version's canonical ``url|version``
  (:func:`~survey.services.fhir.questionnaire.canonical_url`);
- ``status``: ``completed`` once the session is complete, ``in-progress`` before, and
  ``stopped`` (abandoned) when the participant withdrew before completing it;
- ``subject``: an identifier holding the participant code only (``P000042``, system
  ``<base>/fhir/sid/participant``), never the external id;
- ``authored``: when this version's answers last changed (the session's start while none
  is stored);
- ``item``: the pages as groups (``linkId`` = construct code) holding the answered items
  (``linkId`` = item id, one ``answer`` whose ``valueCoding`` is the answer option of
  the stored value, with the ``delivery-mode`` extension: ``web`` or ``chat``). Items left
  unanswered and pages without answers are left out;
- extension ``wave``: the wave's key.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from survey.extensions import db
from survey.models import Answer, InstrumentVersion, ResponseSession
from survey.services.fhir import extensions as ext
from survey.services.fhir.questionnaire import canonical_url, coding, fhir_datetime
from survey.services.instruments import definition_of


def response_id(session: ResponseSession, version: InstrumentVersion) -> str:
    """The resource id of ``session``'s answers to ``version``: ``<session>-<version>``."""
    return f"{session.id}-{version.id}"


def participant_system(base_url: str) -> str:
    return f"{base_url.rstrip('/')}/fhir/sid/participant"


def session_responses(session: ResponseSession, *, base_url: str) -> list[dict[str, Any]]:
    """One ``QuestionnaireResponse`` per instrument version of the session's battery."""
    return [
        to_questionnaire_response(session, version, base_url=base_url)
        for version in session.wave.study.instrument_versions
    ]


def to_questionnaire_response(
    session: ResponseSession, version: InstrumentVersion, *, base_url: str
) -> dict[str, Any]:
    """``session``'s answers to ``version`` as a ``QuestionnaireResponse`` dict."""
    definition = definition_of(version)
    answers = {
        answer.item_id: answer
        for answer in db.session.scalars(
            select(Answer).where(
                Answer.session_id == session.id, Answer.instrument_version_id == version.id
            )
        )
    }
    groups = []
    for page in definition.pages():
        items = []
        for entry in page.entries:
            answer = answers.get(entry.id)
            if answer is None or answer.value is None:
                continue
            value = coding(definition.key, definition.scale(entry.scale), answer.value, base_url)
            items.append(
                {
                    "linkId": entry.id,
                    "text": entry.text,
                    "answer": [
                        {
                            "extension": [
                                ext.extension(ext.DELIVERY_MODE, "valueCode", answer.delivery_mode)
                            ],
                            "valueCoding": value,
                        }
                    ],
                }
            )
        if items:
            groups.append({"linkId": page.key, "text": page.title, "item": items})
    changed = [answer.updated_at for answer in answers.values()]
    resource: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "id": response_id(session, version),
        "extension": [ext.extension(ext.WAVE, "valueCode", session.wave.key)],
        "questionnaire": canonical_url(base_url, definition.key, definition.version),
        "status": _status(session),
        "subject": {
            "identifier": {
                "system": participant_system(base_url),
                "value": session.participant.code,
            }
        },
        "authored": fhir_datetime(max(changed) if changed else session.started_at),
    }
    if groups:
        resource["item"] = groups
    return resource


def _status(session: ResponseSession) -> str:
    if session.completed_at is not None:
        return "completed"
    return "stopped" if session.participant.withdrawn_at is not None else "in-progress"


def participant_sessions(participant_id: int) -> list[ResponseSession]:
    """A participant's sessions, oldest first."""
    return list(
        db.session.scalars(
            select(ResponseSession)
            .where(ResponseSession.participant_id == participant_id)
            .order_by(ResponseSession.started_at, ResponseSession.id)
        )
    )
