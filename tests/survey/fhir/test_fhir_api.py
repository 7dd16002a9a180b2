"""``/api/v1/fhir/...``: Questionnaire and QuestionnaireResponse reads over real HTTP
requests, validated with the fhir.resources R4B models; scope, study and 404 rejections."""

from __future__ import annotations

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.questionnaire import Questionnaire
from fhir.resources.R4B.questionnaireresponse import QuestionnaireResponse

FHIR_JSON = "application/fhir+json"
PROBLEM_JSON = "application/problem+json"


def fhir_get(client, path: str, headers, status: int = 200):
    response = client.get(f"/api/v1/fhir/{path}", headers=headers)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == (FHIR_JSON if status == 200 else PROBLEM_JSON)
    return response.get_json(force=True)


def test_the_battery_as_a_bundle_of_questionnaires(client, make_fhir_study):
    info = make_fhir_study()
    body = fhir_get(client, "Questionnaire", info.headers)
    bundle = Bundle.model_validate(body)
    assert bundle.type == "searchset" and bundle.total == 2
    resources = [entry["resource"] for entry in body["entry"]]
    for resource in resources:
        Questionnaire.model_validate(resource)
    assert [r["id"] for r in resources] == [str(v) for v in info.version_ids]
    assert [r["url"] for r in resources] == [
        "http://localhost/fhir/Questionnaire/small",
        "http://localhost/fhir/Questionnaire/other",
    ]
    assert [e["fullUrl"] for e in body["entry"]] == [
        f"http://localhost/api/v1/fhir/Questionnaire/{v}" for v in info.version_ids
    ]

    one = fhir_get(client, f"Questionnaire/{info.version_ids[1]}", info.headers)
    assert Questionnaire.model_validate(one).title == "Other instrument"
    assert one == resources[1]


def test_a_participants_responses(client, make_fhir_study, answer_pages):
    info = make_fhir_study(participants=2)
    session_id = answer_pages(info.tokens[0], value=1, mode="chat")
    code = f"P{info.participant_ids[0]:06d}"
    body = fhir_get(client, f"QuestionnaireResponse?subject={code}", info.headers)
    Bundle.model_validate(body)
    resources = [entry["resource"] for entry in body["entry"]]
    assert [r["id"] for r in resources] == [f"{session_id}-{v}" for v in info.version_ids]
    for resource in resources:
        QuestionnaireResponse.model_validate(resource)
        assert resource["status"] == "completed"
        assert resource["subject"]["identifier"]["value"] == code
    assert resources[1]["questionnaire"] == "http://localhost/fhir/Questionnaire/other|1.0.0"

    path = f"QuestionnaireResponse/{session_id}-{info.version_ids[0]}"
    one = fhir_get(client, path, info.headers)
    assert one == resources[0]
    assert body["entry"][0]["fullUrl"].endswith(
        f"/api/v1/fhir/QuestionnaireResponse/{session_id}-{info.version_ids[0]}"
    )

    # the other participant has no session yet: an empty searchset
    other = fhir_get(
        client, f"QuestionnaireResponse?subject=P{info.participant_ids[1]:06d}", info.headers
    )
    assert Bundle.model_validate(other).total == 0


def test_keys_without_read_or_without_a_key(client, make_fhir_study):
    info = make_fhir_study(scopes=("deliver",))
    for path in (
        "Questionnaire",
        f"Questionnaire/{info.version_ids[0]}",
        f"QuestionnaireResponse?subject=P{info.participant_ids[0]:06d}",
        "QuestionnaireResponse/1-1",
    ):
        problem = fhir_get(client, path, info.headers, 403)
        assert problem["required_scope"] == "read"
        assert fhir_get(client, path, {}, 401)["status"] == 401
        assert fhir_get(client, path, {"Authorization": "Bearer nope"}, 401)["status"] == 401


def test_another_studys_resources_are_not_found(client, make_fhir_study, answer_pages):
    mine, theirs = make_fhir_study(), make_fhir_study(keys=("third", "fourth"))
    their_session = answer_pages(theirs.tokens[0], pages=1)
    assert (
        fhir_get(client, f"Questionnaire/{theirs.version_ids[0]}", mine.headers, 404)["detail"]
        == f"this study's battery has no instrument version {theirs.version_ids[0]}"
    )
    fhir_get(
        client, f"QuestionnaireResponse/{their_session}-{theirs.version_ids[0]}", mine.headers, 404
    )
    fhir_get(
        client, f"QuestionnaireResponse/{their_session}-{mine.version_ids[0]}", mine.headers, 404
    )
    fhir_get(
        client, f"QuestionnaireResponse?subject=P{theirs.participant_ids[0]:06d}", mine.headers, 404
    )
    # theirs can read their own
    fhir_get(
        client, f"QuestionnaireResponse/{their_session}-{theirs.version_ids[0]}", theirs.headers
    )
    # a session of mine with a version outside my battery
    my_session = answer_pages(mine.tokens[0], pages=1)
    fhir_get(
        client, f"QuestionnaireResponse/{my_session}-{theirs.version_ids[0]}", mine.headers, 404
    )


def test_unknown_ids_and_bad_searches(client, make_fhir_study):
    info = make_fhir_study()
    fhir_get(client, "Questionnaire/999999", info.headers, 404)
    fhir_get(client, "Questionnaire/99999999999", info.headers, 404)  # beyond any id
    fhir_get(client, "QuestionnaireResponse/999999-1", info.headers, 404)
    fhir_get(client, "QuestionnaireResponse/x-1", info.headers, 404)
    fhir_get(client, "QuestionnaireResponse?subject=P999999", info.headers, 404)
    fhir_get(client, "QuestionnaireResponse?subject=not-a-code", info.headers, 404)
    problem = fhir_get(client, "QuestionnaireResponse", info.headers, 422)
    assert problem["errors"][0]["field"] == "/subject"


def test_the_openapi_document_describes_the_fhir_endpoints(client):
    document = client.get("/api/v1/openapi.json").get_json()
    paths = document["paths"]
    common = {"200", "400", "401", "403", "413", "422", "429", "503"}
    expected = {
        "/api/v1/fhir/Questionnaire": common,
        "/api/v1/fhir/Questionnaire/{version_id}": common | {"404"},
        "/api/v1/fhir/QuestionnaireResponse": common | {"404"},
        "/api/v1/fhir/QuestionnaireResponse/{session_id}-{version_id}": common | {"404"},
    }
    for path, codes in expected.items():
        responses = paths[path]["get"]["responses"]
        assert set(responses) == codes, (path, set(responses))
        assert set(responses["200"]["content"]) == {FHIR_JSON}
        for code in codes - {"200"}:
            assert set(responses[code]["content"]) == {PROBLEM_JSON}
    subject = paths["/api/v1/fhir/QuestionnaireResponse"]["get"]["parameters"][0]
    assert (subject["name"], subject["in"], subject["required"]) == ("subject", "query", True)
