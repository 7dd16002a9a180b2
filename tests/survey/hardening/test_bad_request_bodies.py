"""A request body that cannot be read is a 400, never a 500 (issue 7, 1).

A malformed chunked body made gunicorn's reader raise ``ChunkMissingTerminator`` inside
the CSRF check, before any role gate: a 500 for anyone. The first tests send the raw bytes
to a real gunicorn; the others feed a failing ``wsgi.input`` through the test client, on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest
from flask_migrate import upgrade

PROJECT_DIR = Path(__file__).resolve().parents[3]
# Part of survey.request_guards.UnreadableBody's message, shown on the error page.
UNREADABLE_MESSAGE = "could not be read as it was sent"
ADMIN_EMAIL = "admin@example.org"
ADMIN_PASSWORD = "a long admin password for the body test"


def malformed_chunked_post(path: str, *, cookie: str | None = None) -> bytes:
    """The request of the issue: a chunk of 5 bytes that holds 3."""
    headers = "Host: x\r\nTransfer-Encoding: chunked\r\n"
    headers += "Content-Type: application/x-www-form-urlencoded\r\n"
    if cookie:
        headers += f"Cookie: {cookie}\r\n"
    return f"POST {path} HTTP/1.1\r\n{headers}\r\n5\r\nabc\r\n0\r\n\r\n".encode("ascii")


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: str


def send_raw(port: int, data: bytes) -> RawResponse:
    with socket.create_connection(("127.0.0.1", port), timeout=20) as connection:
        connection.sendall(data)
        received = b""
        while b"\r\n\r\n" not in received:
            chunk = connection.recv(65536)
            assert chunk, f"connection closed before a response: {received!r}"
            received += chunk
        head, _, body = received.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.strip().lower(): value.strip()
            for name, _, value in (line.partition(":") for line in header_lines)
        }
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = connection.recv(65536)
            if not chunk:
                break
            body += chunk
    return RawResponse(int(status_line.split()[1]), headers, body.decode("utf-8", "replace"))


def free_port() -> int:
    """A loopback port the OS has just handed out (never a skip: there always is one)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Server:
    port: int
    token: str


@pytest.fixture(params=["gthread", "sync"])
def gunicorn_server(request, tmp_path: Path, make_definition) -> Iterator[Server]:
    """gunicorn (one worker of each class: gthread, as gunicorn.conf.py runs, and sync)
    serving wsgi:app on a migrated SQLite file with a study (one participant) and an admin."""
    from survey import create_app
    from survey.extensions import db
    from survey.services import accounts, instruments, studies

    database = tmp_path / "survey.sqlite3"
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}"},
        instance_path=str(tmp_path / "instance"),
    )
    with app.app_context():
        upgrade()
        version, _ = instruments.import_definition(make_definition())
        study = studies.create_study(
            name="Body study",
            slug="body-study",
            instrument_version=version,
            consent_text="Agree?",
            consent_version="1",
            urgent_help_note="Call 112.",
        )
        studies.add_wave(study, key="baseline", label="Baseline")
        _participant, token = studies.add_participant(study)
        accounts.create_user(ADMIN_EMAIL, ADMIN_PASSWORD, "admin", via="test")
        db.session.commit()
        db.engine.dispose()

    port = free_port()
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SURVEY_") and key not in ("DATABASE_URL", "REDIS_URL")
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{database}",
        "SECRET_KEY": "body-test-secret-key-" + "x" * 32,
        "SURVEY_CONFIG": "development",
        "PYTHONPATH": str(PROJECT_DIR),
    }
    config = tmp_path / "gunicorn_test.conf.py"
    config.write_text("# the command line says it all\n")
    log = (tmp_path / "gunicorn.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--config",
            str(config),  # the options below, not the gunicorn.conf.py of the checkout
            "--no-control-socket",  # its default place is $HOME: one per server
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--worker-class",
            request.param,
            # More than one thread would turn a sync worker into a gthread one.
            "--threads",
            "2" if request.param == "gthread" else "1",
            "wsgi:app",
        ],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    pytest.fail(
                        "gunicorn did not start: " + (tmp_path / "gunicorn.log").read_text()
                    )
                time.sleep(0.2)
        yield Server(port=port, token=token)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def admin_cookie(port: int) -> str:
    """Log in through the login form (with its CSRF token); the session cookie."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
    connection.request("GET", "/login")
    response = connection.getresponse()
    page = response.read().decode()
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urlencode({"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD, "csrf_token": token})
    connection.request(
        "POST",
        "/login",
        body=form,
        headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie},
    )
    response = connection.getresponse()
    response.read()
    assert response.status == 302, response.status
    cookie = response.getheader("Set-Cookie").split(";", 1)[0]
    connection.close()
    return cookie


def test_malformed_chunked_bodies_through_gunicorn_are_400(gunicorn_server):
    port, token = gunicorn_server.port, gunicorn_server.token
    for path in ("/login", f"/p/{token}", f"/p/{token}/page/1", "/admin/users"):
        response = send_raw(port, malformed_chunked_post(path))
        assert response.status == 400, f"POST {path}: {response.status}"
        assert UNREADABLE_MESSAGE in response.body, response.body[:500]
    # The same as a logged-in admin, past the role gate of the admin area.
    cookie = admin_cookie(port)
    for path in ("/admin/users", "/admin/users/1/active", "/logout"):
        response = send_raw(port, malformed_chunked_post(path, cookie=cookie))
        assert response.status == 400, f"POST {path} as admin: {response.status}"
        assert UNREADABLE_MESSAGE in response.body
    # The server still answers, and a well-formed chunked POST is read (the CSRF check
    # refuses it for want of a token, with its own message).
    good = malformed_chunked_post("/login").replace(b"5\r\nabc\r\n", b"3\r\nabc\r\n")
    response = send_raw(port, good)
    assert response.status == 400
    assert UNREADABLE_MESSAGE not in response.body
    assert "expired" in response.body


# -- any failure of the body's reader, through the test client -------------------------------
class FailingInput:
    """A ``wsgi.input`` whose reader fails as a server's reader does on a malformed body."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def read(self, *_args):
        raise self.error

    readline = read


@pytest.mark.parametrize(
    "error",
    [RuntimeError("chunk missing terminator"), EOFError(), UnicodeDecodeError("a", b"", 0, 1, "")],
)
@pytest.mark.parametrize(
    ("path", "content_type"),
    [
        ("/login", "application/x-www-form-urlencoded"),
        ("/admin/users", "multipart/form-data; boundary=x"),
        ("/p/some-token", "application/x-www-form-urlencoded"),
    ],
)
def test_a_failing_body_reader_is_a_400_with_the_error_page(make_app, path, content_type, error):
    app = make_app(WTF_CSRF_ENABLED=True)
    response = app.test_client().post(
        path,
        content_type=content_type,
        environ_overrides={"wsgi.input": FailingInput(error), "wsgi.input_terminated": True},
    )
    assert response.status_code == 400
    assert UNREADABLE_MESSAGE in response.get_data(as_text=True)


def test_a_failing_body_reader_under_api_is_a_json_400(make_app):
    app = make_app()
    response = app.test_client().post(
        "/api/anything",
        content_type="application/json",
        environ_overrides={
            "wsgi.input": FailingInput(RuntimeError("no more data")),
            "wsgi.input_terminated": True,
        },
    )
    assert response.status_code == 400
    assert UNREADABLE_MESSAGE in response.get_json()["detail"]


def test_a_body_too_large_is_still_a_413(make_app):
    app = make_app(MAX_CONTENT_LENGTH=10)
    response = app.test_client().post("/login", data={"email": "x" * 100})
    assert response.status_code == 413


@pytest.mark.parametrize("path", ["/login", "/logout", "/admin/audit", "/p/some-token"])
def test_a_multipart_part_whose_name_cannot_be_read_is_a_400(make_app, path):
    """``name="a\"`` (the closing quote escaped): werkzeug gives the form field the name
    None; the route fuzzer found it as a 500 in the NUL guard."""
    body = b'--x\r\nContent-Disposition: form-data; name="a\\"\r\n\r\nvalue\r\n--x--\r\n'
    app = make_app()
    response = app.test_client().post(
        path, data=body, content_type="multipart/form-data; boundary=x"
    )
    assert response.status_code == 400
    assert "no readable name" in response.get_data(as_text=True)
