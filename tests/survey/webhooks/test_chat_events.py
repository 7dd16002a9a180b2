"""Events of what happens through the chat API (/api/v1) are delivered as those of the web:
a safety item endorsed in the chat (an alert raised before its page is complete), the
wave completed item by item, the participant withdrawn by the platform."""

from __future__ import annotations

from survey import jobs
from survey.extensions import db
from survey.models import ApiScope, ConsentDecision, Study
from survey.services import api_keys, participation
from tests.survey.webhooks.conftest import add_endpoint, deliveries, safety_definition


def test_chat_answers_and_an_api_withdrawal_send_their_events(hook_app, make_study, receiver):
    definition = safety_definition()
    info = make_study(definition)
    with hook_app.app_context():
        study = db.session.get(Study, info.study_id)
        _key_row, key = api_keys.create_key(study, name="chat", scopes=ApiScope.ALL, actor=None)
        invitation = participation.resolve(info.token)
        participation.record_consent(invitation, ConsentDecision.GIVEN)
        code = invitation.participant.code
        db.session.commit()
        add_endpoint(info.study_id, receiver)
    headers = {"Authorization": f"Bearer {key}"}
    client = hook_app.test_client()
    for page in definition.pages():
        for entry in page.entries:
            value = getattr(entry, "expected", None) or 3  # AA_S_1 = 3: the safety item
            response = client.post(
                f"/api/v1/participants/{code}/answers",
                json={"answers": [{"item_id": entry.id, "value": value}]},
                headers=headers,
            )
            assert response.status_code == 200, response.get_data(as_text=True)
            if entry.id == "AA_S_1":  # the alert's delivery does not wait for the page
                assert jobs.wait_idle(hook_app)
                assert [r.verified["type"] for r in receiver.requests] == ["safety.alert"]
    withdrawn = client.post(f"/api/v1/participants/{code}/withdraw", headers=headers)
    assert withdrawn.status_code == 200, withdrawn.get_data(as_text=True)
    with hook_app.app_context():
        assert jobs.wait_idle(hook_app)
        rows = deliveries()
    assert [(row.event_type, row.status) for row in rows] == [
        ("safety.alert", "delivered"),
        ("session.completed", "delivered"),
        ("participant.withdrew", "delivered"),
    ]
    assert [r.verified["type"] for r in receiver.requests] == [
        "safety.alert",
        "session.completed",
        "participant.withdrew",
    ]
    assert all(r.verified["data"]["participant"] == code for r in receiver.requests)
    assert receiver.requests[0].verified["data"]["item"] == "AA_S_1"
