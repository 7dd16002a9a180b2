"""Events delivered to a real HTTP receiver that checks their signatures: each event once,
retries with exponential backoff after failures, failed after the maximum, nothing for a
disabled endpoint or an event nobody subscribed to, and wave.opened noticed once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from survey import jobs
from survey.extensions import db
from survey.models import Participant, ResponseSession, Study, WebhookEndpoint
from survey.services import participation, studies
from survey.services.webhooks import delivery, endpoints, events, signing
from tests.survey.webhooks.conftest import (
    T0,
    add_endpoint,
    complete_wave,
    consent,
    deliveries,
    later,
    safety_definition,
    set_clock,
)


def _deliver_once(app) -> str:
    result = app.test_cli_runner().invoke(args=["webhooks", "deliver", "--once"])
    assert result.exit_code == 0, result.output
    return result.output


def test_session_completed_is_delivered_once_signed(hook_app, make_study, small, receiver):
    info = make_study(small)
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver)
        session_id = complete_wave(info.token)
        assert jobs.wait_idle(hook_app)
        rows = deliveries()
        code = db.session.get(
            Participant, db.session.get(ResponseSession, session_id).participant_id
        ).code
        slug = db.session.get(Study, info.study_id).slug

    assert [(row.event_type, row.status, row.attempts) for row in rows] == [
        ("session.completed", "delivered", 1)
    ]
    assert rows[0].event_key == f"session.completed:{session_id}"
    assert rows[0].last_status_code == 200 and rows[0].delivered_at == T0
    [received] = receiver.requests
    assert received.rejection is None and received.answered == 200
    assert received.path == "/hooks/iemdp"
    assert received.headers["Content-Type"] == "application/json"
    assert received.headers["Webhook-Id"] == rows[0].event_id
    assert received.verified == {
        "id": rows[0].event_id,
        "type": "session.completed",
        "created_at": "2027-03-01T09:00:00Z",
        "study": slug,
        "data": {
            "participant": code,
            "wave": "baseline",
            "session": session_id,
            "completed_at": "2027-03-01T09:00:00Z",
        },
    }
    # What a receiver must refuse, with the delivery as it arrived: a tampered body, a
    # timestamp changed to look fresh, the delivery replayed after five minutes.
    headers, body, secret = received.headers, received.body, receiver.secret
    sent_at = int(headers["Webhook-Timestamp"])
    tampered = body.replace(b'"wave":"baseline"', b'"wave":"week-4"')
    assert tampered != body
    with pytest.raises(signing.InvalidSignature, match="no signature matches"):
        signing.verify(secret, headers, tampered)
    refreshed = {**headers, "Webhook-Timestamp": str(sent_at + 400)}
    with pytest.raises(signing.InvalidSignature, match="no signature matches"):
        signing.verify(secret, refreshed, body, now=sent_at + 400)
    with pytest.raises(signing.InvalidSignature, match="more than 300 s"):
        signing.verify(secret, headers, body, now=sent_at + 301)
    assert signing.verify(secret, headers, body, now=sent_at + 300)["id"] == rows[0].event_id

    # Noticed again (a second round of the command): nothing more is sent.
    with hook_app.app_context():
        assert "attempted 0" in _deliver_once(hook_app)
    assert len(receiver.requests) == 1


def test_safety_alert_and_withdrawal_are_delivered_once(hook_app, make_study, receiver):
    info = make_study(safety_definition())
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver, ["safety.alert", "participant.withdrew"])
        session_id = complete_wave(info.token, value=3)  # AA_S_1 = 3 reaches the threshold
        participant = participation.participant_for(info.token)
        assert participation.withdraw(participant)
        db.session.commit()
        assert not participation.withdraw(participant)  # withdrawn already: no second event
        db.session.commit()
        assert jobs.wait_idle(hook_app)
        rows = deliveries()
        code = participant.code

    assert sorted((row.event_type, row.status) for row in rows) == [
        ("participant.withdrew", "delivered"),
        ("safety.alert", "delivered"),
    ]
    alert = receiver.of_type("safety.alert")
    withdrew = receiver.of_type("participant.withdrew")
    assert len(alert) == 1 and len(withdrew) == 1 and len(receiver.requests) == 2
    data = alert[0].verified["data"]
    assert data["participant"] == code and data["session"] == session_id
    assert (data["item"], data["value"], data["threshold"]) == ("AA_S_1", 3, 3)
    assert data["wave"] == "baseline" and isinstance(data["alert"], int)
    assert withdrew[0].verified["data"] == {
        "participant": code,
        "withdrawn_at": "2027-03-01T09:00:00Z",
    }
    # session.completed was not subscribed: no delivery of it.
    assert not receiver.of_type("session.completed")


def test_withdrawal_through_the_participant_page(hook_app, make_study, small, receiver):
    info = make_study(small)
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver)
    client = hook_app.test_client()
    assert client.post(f"/p/{info.token}/withdraw").status_code == 302
    with hook_app.app_context():
        assert jobs.wait_idle(hook_app)
        assert [(r.event_type, r.status) for r in deliveries()] == [
            ("participant.withdrew", "delivered")
        ]
    assert len(receiver.of_type("participant.withdrew")) == 1


def test_wave_opened_once_when_the_window_opens(hook_app, make_study, small, receiver):
    info = make_study(small, participants=2, waves=(("baseline", "open"),))
    with hook_app.app_context():
        study = db.session.get(Study, info.study_id)
        studies.add_wave(study, key="week-4", label="Week 4", offset_days=28, window_days=7)
        db.session.commit()
        add_endpoint(info.study_id, receiver, ["wave.opened"])
        complete_wave(info.tokens[0])  # baseline done; the second participant never consents
        assert jobs.wait_idle(hook_app)
        assert deliveries() == []  # no delivery was created by a completion nobody listens to

        # Before week 4 opens: nothing (baseline is completed).
        set_clock(hook_app, later(days=27))
        assert "wave.opened: 0 new" in _deliver_once(hook_app)
        # Week 4 opens for the first participant (enrolled at T0).
        set_clock(hook_app, later(days=28, seconds=60))
        assert "wave.opened: 1 new; attempted 1: 1 delivered" in _deliver_once(hook_app)
        # Noticed again: nothing new.
        assert "wave.opened: 0 new; attempted 0" in _deliver_once(hook_app)
        set_clock(hook_app, later(days=30))
        assert "wave.opened: 0 new; attempted 0" in _deliver_once(hook_app)
        rows = deliveries()
        participant_id = participation.participant_for(info.tokens[0]).id
        wave_id = study.waves[-1].id

    assert [(r.event_type, r.event_key, r.status) for r in rows] == [
        ("wave.opened", f"wave.opened:{participant_id}:{wave_id}", "delivered")
    ]
    [received] = receiver.requests
    assert received.verified["data"] == {
        "participant": f"P{participant_id:06d}",
        "wave": "week-4",
        "opens_at": "2027-03-29T09:00:00Z",
        "closes_at": "2027-04-05T09:00:00Z",
    }


def test_wave_opened_skips_the_withdrawn_and_the_completed(hook_app, make_study, small, receiver):
    info = make_study(small, participants=3, waves=(("baseline", "open"),))
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver, ["wave.opened"])
        consent(info.tokens[0])  # consented, baseline open and not done: announced
        complete_wave(info.tokens[1])  # done: not announced
        consent(info.tokens[2])
        participation.withdraw(participation.participant_for(info.tokens[2]))
        db.session.commit()
        assert "wave.opened: 1 new; attempted 1: 1 delivered" in _deliver_once(hook_app)
        assert "wave.opened: 0 new" in _deliver_once(hook_app)
        first = participation.participant_for(info.tokens[0]).code
    assert [r.verified["data"]["participant"] for r in receiver.requests] == [first]


def test_a_failed_attempt_is_retried_with_backoff(hook_app, make_study, small, receiver):
    receiver.statuses = [500]  # then 200
    info = make_study(small)
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver, ["session.completed"])
        complete_wave(info.token)
        assert jobs.wait_idle(hook_app)
        [row] = deliveries()
        assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, 500)
        assert row.last_error.startswith("HTTP 500 Internal Server Error: not today")
        assert row.last_attempt_at == T0
        assert row.next_attempt_at == T0 + timedelta(seconds=30)

        # Not due yet: nothing is sent.
        set_clock(hook_app, later(seconds=29))
        assert "attempted 0" in _deliver_once(hook_app)
        set_clock(hook_app, later(seconds=30))
        assert "attempted 1: 1 delivered" in _deliver_once(hook_app)
        [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code, row.last_error) == (
        "delivered",
        2,
        200,
        None,
    )
    assert row.delivered_at == later(seconds=30)
    assert [r.answered for r in receiver.requests] == [500, 200]
    first, second = receiver.requests
    assert first.headers["Webhook-Id"] == second.headers["Webhook-Id"]  # one event id
    assert first.verified == second.verified


def test_failed_after_the_maximum_of_attempts_then_retried_by_hand(
    hook_app, make_study, small, receiver, make_user, login
):
    receiver.default = 503
    info = make_study(small)
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver, ["session.completed"])
        complete_wave(info.token)
        assert jobs.wait_idle(hook_app)
        moment = T0
        delays = []
        for attempt in range(2, delivery.MAX_ATTEMPTS + 1):
            [row] = deliveries()
            assert (row.status, row.attempts) == ("pending", attempt - 1)
            delays.append((row.next_attempt_at - row.last_attempt_at).total_seconds())
            moment = row.next_attempt_at
            set_clock(hook_app, moment)
            _deliver_once(hook_app)
        [row] = deliveries()
        assert (row.status, row.attempts, row.next_attempt_at) == ("failed", 8, None)
        assert row.last_status_code == 503
        assert delays == [30, 60, 120, 240, 480, 960, 1920]
        set_clock(hook_app, moment + timedelta(days=1))
        assert "attempted 0" in _deliver_once(hook_app)
        assert len(receiver.requests) == 8
        delivery_id = row.id
        study = db.session.get(Study, info.study_id)
        study.owner_id = make_user("owner@example.org")
        db.session.commit()

    # The owner presses "Retry now" once the receiver works again: one more attempt.
    receiver.default = 200
    client = hook_app.test_client()
    assert login(client, "owner@example.org").status_code == 302
    response = client.post(
        f"/research/studies/{info.study_id}/webhooks/deliveries/{delivery_id}/retry"
    )
    assert response.status_code == 303
    with hook_app.app_context():
        assert jobs.wait_idle(hook_app)
        [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 9, 200)
    assert len(receiver.requests) == 9


def test_a_disabled_endpoint_receives_nothing(hook_app, make_study, small, receiver):
    info = make_study(small, participants=2)
    with hook_app.app_context():
        endpoint_id = add_endpoint(info.study_id, receiver)
        receiver.default = 500
        complete_wave(info.tokens[0])
        assert jobs.wait_idle(hook_app)
        assert [r.status for r in deliveries()] == ["pending"]
        assert endpoints.disable_endpoint(db.session.get(WebhookEndpoint, endpoint_id), actor=None)
        db.session.commit()
        [row] = deliveries()
        assert (row.status, row.last_error) == ("failed", "endpoint disabled")
        receiver.default = 200
        complete_wave(info.tokens[1])
        assert jobs.wait_idle(hook_app)
        set_clock(hook_app, later(days=1))
        assert "wave.opened: 0 new; attempted 0" in _deliver_once(hook_app)
        assert len(deliveries()) == 1
        assert not delivery.retry_now(row)  # a disabled endpoint's delivery stays failed
    assert len(receiver.requests) == 1  # the one attempt before it was disabled


def test_no_delivery_when_no_endpoint_subscribes(hook_app, make_study, small, receiver):
    info = make_study(small)
    other = make_study(small)
    with hook_app.app_context():
        add_endpoint(other.study_id, receiver)  # another study's endpoint
        add_endpoint(info.study_id, receiver, ["safety.alert"])
        complete_wave(info.token)
        participation.withdraw(participation.participant_for(info.token))
        db.session.commit()
        assert jobs.wait_idle(hook_app)
        assert "attempted 0" in _deliver_once(hook_app)
        assert deliveries() == []
    assert receiver.requests == []


def test_a_rolled_back_change_sends_nothing(hook_app, make_study, small, receiver):
    info = make_study(small)
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver)
        participation.withdraw(participation.participant_for(info.token))
        db.session.rollback()
        participation.resolve(info.token)  # still taking part
        db.session.commit()
        assert jobs.wait_idle(hook_app)
        assert deliveries() == []
    assert receiver.requests == []


def test_an_endpoint_that_does_not_answer(hook_app, make_study, small):
    info = make_study(small)
    with hook_app.app_context():
        study = db.session.get(Study, info.study_id)
        # A port nothing listens on (the receiver's, closed again).
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        endpoints.add_endpoint(
            study,
            url=f"http://127.0.0.1:{port}/hook",
            events=["participant.withdrew"],
            actor=None,
            allow_http_localhost=True,
        )
        db.session.commit()
        participation.withdraw(participation.participant_for(info.token))
        db.session.commit()
        assert jobs.wait_idle(hook_app)
        [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == ("pending", 1, None)
    assert row.last_error.startswith("ConnectionRefusedError")


def test_the_same_event_twice_is_one_delivery(hook_app, make_study, small, receiver):
    info = make_study(small)
    with hook_app.app_context():
        add_endpoint(info.study_id, receiver)
        study = db.session.get(Study, info.study_id)
        first = events.emit(study, "session.completed", "session.completed:999", {"x": 1})
        second = events.emit(study, "session.completed", "session.completed:999", {"x": 2})
        db.session.commit()
        assert jobs.wait_idle(hook_app)
        assert len(first) == 1 and second == []
        assert len(deliveries()) == 1
    assert [r.verified["data"] for r in receiver.requests] == [{"x": 1}]


def test_a_failure_after_the_endpoint_was_disabled_is_final(hook_app, make_study, small):
    info = make_study(small)
    with hook_app.app_context():
        study = db.session.get(Study, info.study_id)
        endpoint = endpoints.add_endpoint(
            study, url="https://chat.example.org/hook", events="wave.opened", actor=None
        )
        [delivery_id] = events.emit(study, "wave.opened", "wave.opened:1:1", {}, schedule=False)
        claimed = delivery.claim(delivery_id)
        assert claimed is not None and claimed.attempts == 1
        assert delivery.claim(delivery_id) is None  # another worker gets nothing meanwhile
        endpoints.disable_endpoint(endpoint, actor=None)  # while the attempt is on its way
        status = delivery.record(claimed, delivery.AttemptResult(500, "HTTP 500"))
        db.session.commit()
        [row] = deliveries()
    assert status == "failed"
    assert (row.status, row.next_attempt_at, row.last_error) == (
        "failed",
        None,
        "HTTP 500; endpoint disabled",
    )
