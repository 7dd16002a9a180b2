"""Fixtures of the webhook tests: a real HTTP receiver on 127.0.0.1 that checks each
delivery's signature with the endpoint's secret, studies with an endpoint pointing at it,
and participants taken through a wave."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask

from instruments.loader import parse_definition
from survey import jobs
from survey.extensions import db
from survey.models import ConsentDecision, Study, WebhookDelivery
from survey.services import participation
from survey.services.webhooks import endpoints
from tests.survey.conftest import SMALL
from tests.survey.webhooks.receiver import Receiver, running_receiver

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


@pytest.fixture
def hook_app(app: Flask) -> Iterator[Flask]:
    """``app`` at a fixed time T0 (``app.config["CLOCK"]``; move it with ``set_clock``),
    its worker thread stopped at the end."""
    app.config["CLOCK"] = lambda: T0
    yield app
    assert jobs.shutdown(app, timeout=60)


def set_clock(app: Flask, moment: datetime) -> None:
    app.config["CLOCK"] = lambda: moment


def safety_definition():
    """The small test instrument with a safety item: AA_S_1 at 3 ("Agree") or more."""
    mapping = copy.deepcopy(SMALL)
    mapping["key"] = "small-safety"
    mapping["constructs"][0]["subconstructs"][0]["items"][0]["safety_threshold"] = 3
    return parse_definition(mapping, "small-safety.yaml")


def add_endpoint(study_id: int, receiver: Receiver, events=None) -> int:
    """An endpoint of the study at the receiver (committed); the receiver gets its secret."""
    study = db.session.get(Study, study_id)
    endpoint = endpoints.add_endpoint(
        study,
        url=receiver.url,
        events=events
        or ["wave.opened", "session.completed", "safety.alert", "participant.withdrew"],
        actor=None,
        allow_http_localhost=True,
    )
    receiver.secret = endpoint.secret
    db.session.commit()
    return endpoint.id


def consent(token: str):
    invitation = participation.resolve(token)
    participation.record_consent(invitation, ConsentDecision.GIVEN)
    db.session.commit()
    return invitation


def complete_wave(token: str, value: int = 2) -> int:
    """Consent (if need be) and submit every page of the open wave, one commit per page as
    the participant pages do; returns the session id."""
    invitation = participation.resolve(token)
    if participation.consent_decision(invitation) != ConsentDecision.GIVEN:
        participation.record_consent(invitation, ConsentDecision.GIVEN)
        db.session.commit()
    session = participation.start_session(invitation)
    db.session.commit()
    for number, battery_page in enumerate(participation.pages(session), start=1):
        answers = {
            entry.id: getattr(entry, "expected", None) or value
            for entry in battery_page.page.entries
        }
        participation.save_page(session, number, answers)
        db.session.commit()
    return session.id


def deliveries() -> list[WebhookDelivery]:
    db.session.expire_all()
    return list(db.session.scalars(db.select(WebhookDelivery).order_by(WebhookDelivery.id)))


def later(days: float = 0, seconds: float = 0) -> datetime:
    return T0 + timedelta(days=days, seconds=seconds)
