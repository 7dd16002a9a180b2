"""Endpoints: the URL rule, the events, adding (audited, a new secret), disabling."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Study, WebhookEndpoint
from survey.services.webhooks import endpoints


@pytest.mark.parametrize(
    "url",
    [
        "https://chat.example.org/hooks/iemdp",
        "https://chat.example.org:8443/hooks?study=1",
        "HTTPS://CHAT.EXAMPLE.ORG/x",
    ],
)
def test_https_urls_are_accepted(url):
    assert endpoints.check_url(f"  {url} ") == url


@pytest.mark.parametrize(
    ("url", "allow", "message"),
    [
        ("", False, "enter the endpoint's URL"),
        ("http://chat.example.org/hook", True, "use an https:// URL"),
        ("http://127.0.0.1:8000/hook", False, "allowed only in development"),
        ("ftp://chat.example.org/hook", False, "use an https:// URL"),
        ("https:///hook", False, "needs a host"),
        ("chat.example.org/hook", False, "needs a host"),
        ("https://user:pw@chat.example.org/hook", False, "user name or password"),
        ("https://chat.example.org/ho ok", False, "no spaces"),
        ("https://chat.example.org:99999/hook", False, "not a valid URL"),
        ("https://chat.example.org/hook#x", False, "fragment"),
        ("https://" + "a" * 2000 + ".org/", False, "at most 2000"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url, allow, message):
    with pytest.raises(endpoints.WebhookError, match=message) as caught:
        endpoints.check_url(url, allow_http_localhost=allow)
    assert caught.value.field == "url"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::1]"])
def test_plain_http_to_this_machine_only_when_allowed(host):
    url = f"http://{host}:8000/hook"
    assert endpoints.check_url(url, allow_http_localhost=True) == url


def test_the_configurations_allow_local_http_in_development_and_tests_only():
    from survey.config import Config, DevelopmentConfig, ProductionConfig, TestConfig

    assert TestConfig.WEBHOOKS_ALLOW_HTTP_LOCALHOST is True
    assert DevelopmentConfig.WEBHOOKS_ALLOW_HTTP_LOCALHOST is True
    assert ProductionConfig.WEBHOOKS_ALLOW_HTTP_LOCALHOST is False
    assert Config.WEBHOOKS_ALLOW_HTTP_LOCALHOST is False


def test_events_are_checked():
    assert endpoints.parse_events(["participant.withdrew", "wave.opened"]) == (
        "wave.opened",
        "participant.withdrew",
    )
    with pytest.raises(endpoints.WebhookError, match="unknown event session.started"):
        endpoints.parse_events("session.started")
    with pytest.raises(endpoints.WebhookError, match="at least one"):
        endpoints.parse_events([])


def test_add_and_disable_are_audited_and_keep_the_secret(app, make_study, small):
    info = make_study(small)
    with app.app_context():
        study = db.session.get(Study, info.study_id)
        endpoint = endpoints.add_endpoint(
            study, url="https://chat.example.org/hook", events="safety.alert", actor=None
        )
        other = endpoints.add_endpoint(
            study, url="https://chat.example.org/other", events="wave.opened", actor=None
        )
        db.session.commit()
        assert endpoint.secret.startswith("whsec_") and len(endpoint.secret) == 6 + 43
        assert endpoint.secret != other.secret
        assert endpoint.event_set == {"safety.alert"} and endpoint.active
        with pytest.raises(endpoints.WebhookError, match="active endpoint with this URL"):
            endpoints.add_endpoint(
                study, url="https://chat.example.org/hook", events="wave.opened", actor=None
            )
        db.session.rollback()
        endpoint = db.session.get(WebhookEndpoint, endpoint.id)
        assert endpoints.disable_endpoint(endpoint, actor=None)
        assert not endpoints.disable_endpoint(endpoint, actor=None)
        db.session.commit()
        # Disabled, the URL can be added again (with a new secret).
        again = endpoints.add_endpoint(
            study, url="https://chat.example.org/hook", events="safety.alert", actor=None
        )
        db.session.commit()
        assert again.secret != endpoint.secret
        assert [e.id for e in endpoints.endpoints_of(study)] == [again.id, other.id, endpoint.id]
        assert endpoints.endpoint_of(study, endpoint.id) is endpoint
        assert endpoints.endpoint_of(study, 10_000) is None
        audit = list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
        actions = [(e.action, e.details.get("url")) for e in audit if "webhook" in e.action]
        assert actions == [
            ("webhook_added", "https://chat.example.org/hook"),
            ("webhook_added", "https://chat.example.org/other"),
            ("webhook_disabled", "https://chat.example.org/hook"),
            ("webhook_added", "https://chat.example.org/hook"),
        ]
        assert all(endpoint.secret not in str(e.details) for e in audit)
