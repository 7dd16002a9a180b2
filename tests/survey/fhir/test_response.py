"""Response sessions as FHIR R4 QuestionnaireResponses (validated with fhir.resources R4B)."""

from __future__ import annotations

from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

from survey.services.fhir import extensions as ext

BASE = "https://survey.example.org"


def answered(resource: dict) -> dict[str, tuple[str, str | None, str]]:
    """linkId -> (code, display, delivery mode)."""
    found = {}
    for group in resource.get("item", []):
        for item in group["item"]:
            (answer,) = item["answer"]
            mode = ext.value_of(ext.find(answer, ext.DELIVERY_MODE)[0])
            coding = answer["valueCoding"]
            found[item["linkId"]] = (coding["code"], coding.get("display"), mode)
    return found


def test_a_completed_session(app, make_fhir_study, answer_pages, small):
    from survey.extensions import db
    from survey.models import InstrumentVersion, ResponseSession
    from survey.services.fhir import response_id, session_responses

    info = make_fhir_study(participants=1)
    session_id = answer_pages(info.tokens[0], value=3, mode="chat")
    with app.app_context():
        session = db.session.get(ResponseSession, session_id)
        resources = session_responses(session, base_url=BASE)
        assert len(resources) == 2  # one per battery version
        for resource, version_id in zip(resources, info.version_ids, strict=True):
            QuestionnaireResponse.model_validate(resource)
            version = db.session.get(InstrumentVersion, version_id)
            assert resource["id"] == response_id(session, version) == f"{session_id}-{version_id}"
            assert resource["status"] == "completed"
            key = version.instrument.key
            assert resource["questionnaire"] == f"{BASE}/fhir/Questionnaire/{key}|1.0.0"
            assert resource["subject"] == {
                "identifier": {
                    "system": f"{BASE}/fhir/sid/participant",
                    "value": session.participant.code,
                }
            }
            assert ext.value_of(ext.find(resource, ext.WAVE)[0]) == "baseline"
            assert resource["authored"].endswith("Z")
            every = [entry.id for page in small.pages() for entry in page.entries]
            assert answered(resource) == {entry: ("3", "Agree", "chat") for entry in every}
            assert [group["linkId"] for group in resource["item"]] == ["AA", "BB"]


def test_an_in_progress_session_has_only_its_answers(app, make_fhir_study, answer_pages):
    from survey.extensions import db
    from survey.models import Answer, ResponseSession
    from survey.services.fhir import session_responses

    info = make_fhir_study(participants=1)
    session_id = answer_pages(info.tokens[0], pages=1, value=1)
    with app.app_context():
        # one answer of the page changed through the chat
        answer = db.session.scalar(
            db.select(Answer).where(Answer.session_id == session_id, Answer.item_id == "AA_S_2")
        )
        answer.value, answer.delivery_mode = 2, "chat"
        db.session.flush()
        session = db.session.get(ResponseSession, session_id)
        first, second = session_responses(session, base_url=BASE)
        for resource in (first, second):
            QuestionnaireResponse.model_validate(resource)
            assert resource["status"] == "in-progress"
        assert answered(first) == {
            "AA_S_1": ("1", "Disagree", "web"),
            "AA_S_2": ("2", "Neutral", "chat"),
            "AA_S_3": ("1", "Disagree", "web"),
            "AA_S_4": ("1", "Disagree", "web"),
        }
        assert "item" not in second  # nothing answered yet


def test_the_subject_is_the_code_never_the_external_id(app, make_fhir_study, answer_pages):
    from survey.extensions import db
    from survey.models import Participant, ResponseSession
    from survey.services.fhir import session_responses

    info = make_fhir_study(participants=1)
    session_id = answer_pages(info.tokens[0], pages=1)
    with app.app_context():
        participant = db.session.get(Participant, info.participant_ids[0])
        participant.external_id_hash = "f" * 64
        db.session.flush()
        session = db.session.get(ResponseSession, session_id)
        text = repr(session_responses(session, base_url=BASE))
        assert participant.code in text
        assert "f" * 64 not in text


def test_a_session_left_by_a_withdrawn_participant_is_stopped(app, make_fhir_study, answer_pages):
    from survey.extensions import db
    from survey.models import Participant, ResponseSession
    from survey.services import participation
    from survey.services.fhir import session_responses

    info = make_fhir_study(participants=1)
    session_id = answer_pages(info.tokens[0], pages=1)
    with app.app_context():
        participation.withdraw(db.session.get(Participant, info.participant_ids[0]))
        db.session.flush()
        session = db.session.get(ResponseSession, session_id)
        for resource in session_responses(session, base_url=BASE):
            QuestionnaireResponse.model_validate(resource)
            assert resource["status"] == "stopped"
