"""The shipped gunicorn.conf.py, run by a real gunicorn on 127.0.0.1 and a temporary SQLite
database: it serves, its access log holds no participant token, and clients that stall
their request bodies do not take every thread."""

from __future__ import annotations

import hashlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask_migrate import upgrade

from survey import create_app
from survey.extensions import db

PROJECT_DIR = Path(__file__).resolve().parents[3]
UNKNOWN_TOKEN = "Gu" + "n" * 39 + "ic"  # well formed (43 characters), never issued
START_TIMEOUT = 30.0


@dataclass
class Server:
    port: int
    access_log: Path
    error_log: Path

    def get(self, path: str, timeout: float = 10.0) -> tuple[int, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            connection.request("GET", path)
            response = connection.getresponse()
            return response.status, response.read()
        finally:
            connection.close()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def migrated_sqlite(path: Path) -> str:
    url = f"sqlite:///{path}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def gunicorn(tmp_path) -> Iterator:
    """``gunicorn(**environment)`` starts ``gunicorn wsgi:app`` in the project directory (so
    it reads the shipped gunicorn.conf.py) and returns a :class:`Server`; stopped after."""
    processes: list[subprocess.Popen] = []
    database_url = migrated_sqlite(tmp_path / "survey.sqlite3")

    def start(**environment: str) -> Server:
        server = Server(free_port(), tmp_path / "access.log", tmp_path / "error.log")
        env = {
            name: value
            for name, value in os.environ.items()
            if not name.startswith(("SURVEY_", "GUNICORN_", "WEB_CONCURRENCY"))
            and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORT", "HOST")
        }
        env.update(
            DATABASE_URL=database_url,
            SECRET_KEY="gunicorn-test-secret-key-" + "x" * 16,
            PORT=str(server.port),
            GUNICORN_ACCESS_LOG=str(server.access_log),
            PYTHONUNBUFFERED="1",
            # gunicorn's control socket lives in $HOME by default: one per test server
            # would replace another's.
            GUNICORN_CMD_ARGS="--no-control-socket",
            **environment,
        )
        with open(server.error_log, "wb") as errors:
            process = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "wsgi:app"],
                cwd=PROJECT_DIR,
                env=env,
                stdout=errors,
                stderr=subprocess.STDOUT,
            )
        processes.append(process)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited: {server.error_log.read_text()}")
            try:
                with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                    return server
            except OSError:
                time.sleep(0.1)
        pytest.fail(f"gunicorn did not listen: {server.error_log.read_text()}")

    yield start
    for process in processes:
        process.send_signal(signal.SIGTERM)
    for process in processes:
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def test_the_shipped_config_serves_the_app(gunicorn):
    server = gunicorn()
    status, body = server.get("/login")
    assert status == 200
    assert b"Log in" in body or b"log in" in body.lower()


def test_the_access_log_holds_no_participant_token(gunicorn):
    server = gunicorn()
    status, _ = server.get(f"/p/{UNKNOWN_TOKEN}/page/1?from=/p/{UNKNOWN_TOKEN}")
    assert status == 404
    digits = hashlib.sha256(UNKNOWN_TOKEN.encode()).hexdigest()[:8]
    deadline = time.monotonic() + 10
    while "/p/" not in server.access_log.read_text() and time.monotonic() < deadline:
        time.sleep(0.1)
    log = server.access_log.read_text()
    assert f'"GET /p/[sha256:{digits}]/page/1?from=/p/[sha256:{digits}] HTTP/1.1" 404' in log
    assert UNKNOWN_TOKEN not in log
    assert UNKNOWN_TOKEN not in server.error_log.read_text()


def stalled_upload(port: int) -> socket.socket:
    """A client that sends a POST's headers and a few bytes of its body, then nothing."""
    client = socket.create_connection(("127.0.0.1", port), timeout=30)
    client.sendall(
        b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100000\r\n\r\n"
        b"email=a"
    )
    return client


def test_stalled_uploads_do_not_hold_every_thread(gunicorn):
    """One worker with two threads and three clients that stall their bodies: a fourth
    client is still served, once the body read timeout frees a thread."""
    body_timeout = 2
    server = gunicorn(GUNICORN_THREADS="2", GUNICORN_BODY_TIMEOUT=str(body_timeout))
    assert server.get("/login")[0] == 200  # the worker is up and has loaded the app
    stalled = [stalled_upload(server.port) for _ in range(3)]
    try:
        time.sleep(0.5)  # both threads are now waiting for a body
        started = time.monotonic()
        status, _ = server.get("/login", timeout=body_timeout * 4 + 5)
        waited = time.monotonic() - started
        assert status == 200
        assert waited < body_timeout * 4 + 2
    finally:
        for client in stalled:
            client.close()
