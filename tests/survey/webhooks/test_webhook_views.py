"""The study's webhooks pages: the list, adding (the secret shown once), the owner's view
of the secret, disabling with a confirmation, the delivery log and "Retry now"."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from survey import jobs
from survey.extensions import db
from survey.models import Study, WebhookDelivery, WebhookEndpoint
from survey.services import team
from tests.survey.webhooks.conftest import complete_wave

OWNER = "researcher@example.org"


def _own(app, study_id: int, email: str = OWNER) -> None:
    from survey.services import accounts

    with app.app_context():
        db.session.get(Study, study_id).owner = accounts.find_user(email)
        db.session.commit()


def _endpoints(app) -> list[WebhookEndpoint]:
    with app.app_context():
        return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def test_add_an_endpoint_with_the_form_as_rendered(
    hook_app, researcher_client, make_study, small, receiver
):
    info = make_study(small)
    _own(hook_app, info.study_id)
    url = f"/research/studies/{info.study_id}/webhooks"
    page = researcher_client.get(url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "No endpoint yet." in html and "Nothing sent yet." in html
    assert 'aria-current="page">Webhooks</a>' in html
    boxes = re.findall(r'<input[^>]*name="events"[^>]*>', html)
    assert len(boxes) == 4 and all("checked" in box for box in boxes)
    assert "Webhook-Signature: v1=" in html and "&lt;id&gt;.&lt;timestamp&gt;.&lt;body&gt;" in html

    events = [re.search(r'value="([^"]+)"', box).group(1) for box in boxes]
    added = researcher_client.post(url, data={"url": receiver.url, "events": events})
    html = added.get_data(as_text=True)
    assert added.status_code == 200
    [endpoint] = _endpoints(hook_app)
    assert endpoint.secret in html and "shown here this once" in html
    assert endpoint.event_set == {
        "wave.opened",
        "session.completed",
        "safety.alert",
        "participant.withdrew",
    }
    listing = researcher_client.get(url).get_data(as_text=True)
    assert receiver.url in listing and endpoint.secret not in listing
    assert "Show secret" in listing  # the owner may see it again
    secret_page = researcher_client.get(f"{url}/{endpoint.id}/secret")
    assert secret_page.status_code == 200 and endpoint.secret in secret_page.get_data(as_text=True)

    # A participant completes the wave: the delivery shows in the log.
    receiver.secret = endpoint.secret
    with hook_app.app_context():
        complete_wave(info.token)
        assert jobs.wait_idle(hook_app)
    log = researcher_client.get(url).get_data(as_text=True)
    assert "session.completed" in log and "delivered" in log and "HTTP 200" in log
    assert len(receiver.of_type("session.completed")) == 1


def test_bad_input_is_shown_next_to_the_field(hook_app, researcher_client, make_study, small):
    info = make_study(small)
    _own(hook_app, info.study_id)
    url = f"/research/studies/{info.study_id}/webhooks"
    for data, message in (
        ({"url": "", "events": ["wave.opened"]}, "Enter the endpoint&#39;s URL"),
        ({"url": "http://chat.example.org/hook", "events": ["wave.opened"]}, "Use an https:// URL"),
        ({"url": "https://chat.example.org/hook"}, "Choose at least one event."),
        ({"url": "https://chat.example.org/hook", "events": ["nope"]}, "Unknown event nope"),
    ):
        response = researcher_client.post(url, data=data)
        assert response.status_code == 422, data
        html = response.get_data(as_text=True)
        assert 'class="field-error"' in html and message in html, (data, html[-3000:])
    assert _endpoints(hook_app) == []


def test_disable_asks_first(hook_app, researcher_client, make_study, small):
    info = make_study(small)
    _own(hook_app, info.study_id)
    url = f"/research/studies/{info.study_id}/webhooks"
    researcher_client.post(
        url, data={"url": "https://chat.example.org/hook", "events": ["wave.opened"]}
    )
    [endpoint] = _endpoints(hook_app)
    confirm = researcher_client.get(f"{url}/{endpoint.id}/disable")
    assert confirm.status_code == 200
    assert "Disable the endpoint" in confirm.get_data(as_text=True)
    assert _endpoints(hook_app)[0].active
    done = researcher_client.post(f"{url}/{endpoint.id}/disable")
    assert done.status_code == 303
    assert not _endpoints(hook_app)[0].active
    listing = researcher_client.get(url).get_data(as_text=True)
    assert "disabled" in listing and "receives nothing more" in listing
    again = researcher_client.post(f"{url}/{endpoint.id}/disable", follow_redirects=True)
    assert "was disabled already" in again.get_data(as_text=True)


def test_editors_manage_endpoints_but_only_the_owner_sees_a_secret(
    hook_app, make_user, login, make_study, small
):
    from survey.services import accounts

    info = make_study(small)
    make_user("owner@example.org")
    make_user("editor@example.org")
    make_user("viewer@example.org")
    _own(hook_app, info.study_id, "owner@example.org")
    with hook_app.app_context():
        study = db.session.get(Study, info.study_id)
        owner = accounts.find_user("owner@example.org")
        team.grant(study, "editor@example.org", "editor", actor=owner)
        team.grant(study, "viewer@example.org", "viewer", actor=owner)
        db.session.commit()
    url = f"/research/studies/{info.study_id}/webhooks"
    editor = hook_app.test_client()
    login(editor, "editor@example.org")
    assert (
        editor.post(
            url, data={"url": "https://chat.example.org/h", "events": ["wave.opened"]}
        ).status_code
        == 200
    )
    [endpoint] = _endpoints(hook_app)
    listing = editor.get(url).get_data(as_text=True)
    assert "Show secret" not in listing
    assert editor.get(f"{url}/{endpoint.id}/secret").status_code == 403
    viewer = hook_app.test_client()
    login(viewer, "viewer@example.org")
    assert viewer.get(url).status_code == 403


def test_retry_refuses_what_is_not_failed(hook_app, researcher_client, make_study, small, receiver):
    info = make_study(small)
    other = make_study(small)
    _own(hook_app, info.study_id)
    url = f"/research/studies/{info.study_id}/webhooks"
    researcher_client.post(url, data={"url": receiver.url, "events": ["participant.withdrew"]})
    [endpoint] = _endpoints(hook_app)
    receiver.secret = endpoint.secret
    assert researcher_client.post(f"/p/{info.token}/withdraw").status_code == 302
    with hook_app.app_context():
        assert jobs.wait_idle(hook_app)
        delivery_id = db.session.scalar(select(func.max(WebhookDelivery.id)))
    response = researcher_client.post(
        f"{url}/deliveries/{delivery_id}/retry", follow_redirects=True
    )
    assert "is not a failed delivery" in response.get_data(as_text=True)
    assert len(receiver.requests) == 1
    # Another study's URL does not reach this delivery.
    _own(hook_app, other.study_id)
    foreign = f"/research/studies/{other.study_id}/webhooks/deliveries/{delivery_id}/retry"
    assert researcher_client.post(foreign).status_code == 404
