"""FHIR R4: instrument versions as ``Questionnaire`` resources, response sessions as
``QuestionnaireResponse`` resources, and the import of a simple single-choice
``Questionnaire`` into a draft version.

Resources are plain JSON-ready dicts (no FHIR library at run time; the tests validate them
with the ``fhir.resources`` models). One module per job: :mod:`.questionnaire` (export),
:mod:`.response` (answers), :mod:`.bundle` (search results), :mod:`.importer` (import);
:mod:`.extensions` names what FHIR has no element for.
"""

from __future__ import annotations

from survey.services.fhir.bundle import searchset
from survey.services.fhir.importer import (
    MEDIA_TYPE,
    import_questionnaire,
    questionnaire_definition,
)
from survey.services.fhir.questionnaire import (
    canonical_url,
    questionnaire_url,
    to_questionnaire,
)
from survey.services.fhir.response import (
    response_id,
    session_responses,
    to_questionnaire_response,
)

__all__ = [
    "MEDIA_TYPE",
    "canonical_url",
    "import_questionnaire",
    "questionnaire_definition",
    "questionnaire_url",
    "response_id",
    "searchset",
    "session_responses",
    "to_questionnaire",
    "to_questionnaire_response",
]
