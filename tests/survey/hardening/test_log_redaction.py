"""Participant tokens never reach a log line the app controls (survey.logs).

The gunicorn access log is checked through a real gunicorn in test_gunicorn_config.py.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import urllib.error
import urllib.request

import pytest
from flask_migrate import upgrade
from werkzeug.serving import make_server

from survey.logs import RedactTokens, redact

UNKNOWN_TOKEN = "Zq3x" + "k" * 35 + "Unkn"  # well formed (43 characters), never issued


def prefix(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def test_redact_replaces_the_token_wherever_a_line_holds_it():
    token = UNKNOWN_TOKEN
    line = f'127.0.0.1 "POST /p/{token}/page/2?x=1 HTTP/1.1" 200 "https://h/p/{token}"'
    redacted = redact(line)
    assert token not in redacted
    assert redacted.count(f"/p/[sha256:{prefix(token)}]") == 2
    assert redacted.endswith('HTTP/1.1" 200 "https://h/p/[sha256:' + prefix(token) + ']"')
    assert redact("/static/survey.css /login /admin/") == "/static/survey.css /login /admin/"


def test_the_filter_redacts_message_arguments_and_traceback():
    token = UNKNOWN_TOKEN
    try:
        raise ValueError(f"no participant for /p/{token}")
    except ValueError:
        import sys

        record = logging.LogRecord(
            "survey",
            logging.ERROR,
            __file__,
            1,
            "Exception on %s",
            (f"/p/{token}",),
            sys.exc_info(),
        )
    assert RedactTokens().filter(record) is True
    text = logging.Formatter().format(record)
    assert token not in text
    assert text.count(prefix(token)) == 2


@pytest.fixture
def error_app(make_app):
    """The app with errors logged, not raised into the test, and a test-only participant
    route that fails."""
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def broken(token: str):
        raise RuntimeError(f"could not show /p/{token}/page/1")

    app.add_url_rule("/p/<token>/test-only-broken", view_func=broken)
    with app.app_context():
        upgrade()
    return app


def test_an_exception_in_a_participant_view_is_logged_without_the_token(error_app, caplog):
    token = UNKNOWN_TOKEN
    with caplog.at_level(logging.ERROR, logger="survey"):
        response = error_app.test_client().get(f"/p/{token}/test-only-broken")
    assert response.status_code == 500
    (record,) = [r for r in caplog.records if r.name == "survey"]
    assert record.getMessage() == (
        f"Exception on /p/[sha256:{prefix(token)}]/test-only-broken [GET]"
    )
    assert record.exc_info is not None
    assert token not in caplog.text
    assert f"could not show /p/[sha256:{prefix(token)}]/page/1" in caplog.text


def test_the_development_server_logs_an_unknown_link_without_the_token(app, caplog):
    """werkzeug's access line, from a real development server on 127.0.0.1."""
    token = UNKNOWN_TOKEN
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    caplog.set_level(logging.INFO, logger="werkzeug")
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/p/{token}"
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(url, timeout=10)
        assert refused.value.code == 404
        refused.value.close()
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    lines = [r.getMessage() for r in caplog.records if r.name == "werkzeug"]
    access = [line for line in lines if "GET /p/" in line]
    assert access, lines
    assert f"GET /p/[sha256:{prefix(token)}] HTTP/1.1" in access[0]
    assert token not in caplog.text
