"""Safety alerts on the study page: listed with their item, acknowledged once, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditAction, AuditEvent, SafetyAlert
from survey.services import accounts, alerts, study_dashboard, team
from tests.survey.research.study_builders import make_battery_study, take_part


@pytest.fixture
def alerting(app, researcher_client, make_user, small):
    """The researcher's study: one participant answered the self-harm item with 2 (≥ 1),
    another answered 0 (no alert); viewer@example.org is a viewer."""
    make_user("viewer@example.org")
    with app.app_context():
        owner = accounts.get_user("researcher@example.org")
        study = make_battery_study(small, participants=2, owner=owner)
        take_part(study.tokens[0], pages=4, safe=False)
        take_part(study.tokens[1], pages=4, safe=True)
        team.grant(study, "viewer@example.org", "viewer", actor=owner)
        db.session.commit()
        return study.id


def test_open_alert_listed_with_its_item(app, alerting):
    with app.app_context():
        from survey.models import Study

        study = db.session.get(Study, alerting)
        listed = alerts.study_alerts(study)
        assert listed.acknowledged == ()
        (alert,) = listed.open
        # Every mood-screener item answered 2 raised one alert: the safety item's.
        assert (alert.item_id, alert.value, alert.threshold) == ("MD_LOW_4", 2, 1)
        assert alert.item_text == "I have had thoughts of harming myself."
        assert alert.wave_label == "Baseline"
        assert alert.instrument == "mood_screener 1.0.0"
        assert alert.participant_code.startswith("P0")
        assert study_dashboard.study_figures(study).open_alerts == 1


def test_acknowledge_from_the_study_page(app, researcher_client, alerting):
    page = researcher_client.get(f"/research/studies/{alerting}").get_data(as_text=True)
    assert "1 open safety alert" in page
    assert "MD_LOW_4" in page and "I have had thoughts of harming myself." in page
    assert "Acknowledge</button>" in page
    assert "<details>" not in page
    listing = researcher_client.get("/research/").get_data(as_text=True)
    assert f'/research/studies/{alerting}#alerts">1</a>' in listing
    with app.app_context():
        alert_id = db.session.scalar(select(SafetyAlert.id))
    url = f"/research/studies/{alerting}/alerts/{alert_id}/acknowledge"
    response = researcher_client.post(url)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/research/studies/{alerting}#alerts"
    assert researcher_client.post(url).status_code == 302  # again: nothing more happens
    with app.app_context():
        alert = db.session.get(SafetyAlert, alert_id)
        assert alert.acknowledged_at is not None
        assert alert.acknowledged_by.email == "researcher@example.org"
        events = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == AuditAction.ALERT_ACKNOWLEDGED)
            )
        )
        assert len(events) == 1
        assert (events[0].target_type, events[0].target_id) == ("study", str(alerting))
        assert events[0].details["item"] == "MD_LOW_4"
        assert events[0].actor_email == "researcher@example.org"
    page = researcher_client.get(f"/research/studies/{alerting}").get_data(as_text=True)
    assert "No open safety alert." in page
    assert "<summary>Acknowledged alerts (1)</summary>" in page
    assert "by researcher@example.org" in page
    listing = researcher_client.get("/research/").get_data(as_text=True)
    assert f'/research/studies/{alerting}#alerts"' not in listing


def test_unknown_or_foreign_alert_is_404(app, researcher_client, alerting, small):
    with app.app_context():
        other = make_battery_study(small, participants=1, slug="foreign")
        take_part(other.tokens[0], pages=4, safe=False)
        db.session.commit()
        foreign = db.session.scalar(select(SafetyAlert.id).where(SafetyAlert.study_id == other.id))
    for alert_id in (foreign, 999_999):
        response = researcher_client.post(
            f"/research/studies/{alerting}/alerts/{alert_id}/acknowledge"
        )
        assert response.status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(SafetyAlert)
                .where(SafetyAlert.acknowledged_at.is_not(None))
            )
            == 0
        )


def test_a_viewer_sees_alerts_without_the_button_and_cannot_acknowledge(app, alerting, login):
    viewer = app.test_client()
    login(viewer, "viewer@example.org")
    page = viewer.get(f"/research/studies/{alerting}").get_data(as_text=True)
    assert "MD_LOW_4" in page
    assert "Acknowledge</button>" not in page
    with app.app_context():
        alert_id = db.session.scalar(select(SafetyAlert.id))
    response = viewer.post(f"/research/studies/{alerting}/alerts/{alert_id}/acknowledge")
    assert response.status_code == 403
    with app.app_context():
        assert db.session.get(SafetyAlert, alert_id).acknowledged_at is None
