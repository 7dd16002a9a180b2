"""The login rate limit: what counts, the address limit that lets a right password through,
ProxyFix, and counts shared by several gunicorn workers through Redis."""

from __future__ import annotations

import http.client
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from flask import request
from flask_migrate import upgrade
from sqlalchemy import func, select

from survey import create_app
from survey.auth.rate_limits import (
    SharedStorageRequired,
    require_shared_storage,
    require_shared_storage_for_environment,
)
from survey.extensions import db
from survey.models import AuditEvent
from survey.services import accounts

PASSWORD = "correct horse battery staple"
WRONG = "not the password!"
PROJECT_DIR = Path(__file__).resolve().parents[3]
REDIS_TEST_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/2")


def migrated(make_app, **config):
    app = make_app(**config)
    with app.app_context():
        upgrade()
    return app


def audit_count(app, action: str) -> int:
    with app.app_context():
        return db.session.scalar(
            select(func.count()).select_from(AuditEvent).where(AuditEvent.action == action)
        )


def csrf_token(client) -> str:
    page = client.get("/login").get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert match, page
    return match.group(1)


# -- what counts -----------------------------------------------------------------------------
ATTEMPTS = {
    "wrong password": {"email": "r@example.org", "password": WRONG},
    "no password (invalid form)": {"email": "r@example.org"},
    "no CSRF token": {"email": "r@example.org", "password": PASSWORD, "csrf_token": None},
    "a NUL character": {"email": "r@example.org", "password": "not\x00the password"},
}


@pytest.mark.parametrize("kind", ATTEMPTS)
def test_every_post_that_does_not_log_in_counts(make_app, kind):
    app = migrated(make_app, WTF_CSRF_ENABLED=True, LOGIN_FAILURE_LIMIT="3 per 15 minutes")
    with app.app_context():
        from survey.services import accounts

        accounts.create_user("r@example.org", PASSWORD, "researcher")
        db.session.commit()
    client = app.test_client()
    token = csrf_token(client)
    data = {"csrf_token": token, **ATTEMPTS[kind]}
    data = {name: value for name, value in data.items() if value is not None}
    for _ in range(3):
        status = client.post("/login", data=data).status_code
        assert status in (200, 400), status
    response = client.post(
        "/login", data={"email": "r@example.org", "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 15 * 60


def test_a_login_and_a_paused_attempt_do_not_count(make_app, make_user, login):
    app = migrated(make_app, LOGIN_FAILURE_LIMIT="2 per 15 minutes")
    make_user("r@example.org")
    client = app.test_client()
    for _ in range(4):
        assert login(client, "r@example.org").status_code == 302
        client.post("/logout")
    for _ in range(2):
        assert login(client, "r@example.org", WRONG).status_code == 200
    for _ in range(3):
        assert login(client, "r@example.org").status_code == 429
    assert audit_count(app, "login_failed") == 2


# -- the address limit lets the right password through ----------------------------------------
def test_over_the_address_limit_a_right_password_still_logs_in(make_app, make_user, login):
    app = migrated(
        make_app,
        LOGIN_FAILURE_LIMIT="2 per 15 minutes",
        LOGIN_FAILURE_LIMIT_PER_ADDRESS="3 per 15 minutes",
    )
    make_user("r@example.org")
    make_user("other@example.org")
    guesser, colleague = app.test_client(), app.test_client()  # one address, 127.0.0.1
    for n in range(3):
        assert login(guesser, f"guess{n}@example.org", WRONG).status_code == 200
    assert login(guesser, "guess9@example.org", WRONG).status_code == 429

    # The address is over its limit: a wrong password is refused (and audits nothing) ...
    response = login(colleague, "r@example.org", WRONG)
    assert response.status_code == 429
    assert "Too many failed attempts" in response.get_data(as_text=True)
    assert response.headers["Retry-After"]
    assert audit_count(app, "login_failed") == 3
    # ... the right password of an account under its own limit logs in.
    response = login(colleague, "r@example.org")
    assert response.status_code == 302
    assert colleague.get("/research/").status_code == 200

    # Refused failures still count on the account: over its own limit, it is paused too.
    assert login(guesser, "other@example.org", WRONG).status_code == 429
    assert login(guesser, "other@example.org", WRONG).status_code == 429
    assert login(app.test_client(), "other@example.org").status_code == 429


# -- ProxyFix --------------------------------------------------------------------------------
def failed_login_from(client, address: str, n: int) -> int:
    return client.post(
        "/login",
        data={"email": f"guess{n}@example.org", "password": WRONG},
        headers={"X-Forwarded-For": address},
    ).status_code


def test_forwarded_addresses_are_ignored_by_default(make_app):
    app = migrated(make_app, LOGIN_FAILURE_LIMIT_PER_ADDRESS="3 per 15 minutes")
    client = app.test_client()
    for n in range(3):
        assert failed_login_from(client, f"203.0.113.{n + 1}", n) == 200
    # Four "addresses", one real one (127.0.0.1): over its limit.
    assert failed_login_from(client, "203.0.113.9", 9) == 429


def test_a_configured_proxy_counts_each_forwarded_address_apart(make_app):
    app = migrated(make_app, PROXY_FIX_X_FOR=1, LOGIN_FAILURE_LIMIT_PER_ADDRESS="3 per 15 minutes")
    client = app.test_client()
    for n in range(3):
        assert failed_login_from(client, "203.0.113.1", n) == 200
    assert failed_login_from(client, "203.0.113.1", 3) == 429
    assert failed_login_from(client, "203.0.113.2", 4) == 200
    # One proxy is trusted: the address it appended is the client, not what the client sent.
    assert failed_login_from(client, "198.51.100.7, 203.0.113.1", 5) == 429


def test_proxy_fix_is_configured_from_the_environment(tmp_path, monkeypatch):
    for name in ("SURVEY_CONFIG", "DATABASE_URL", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("SECRET_KEY", "k" * 40)
    monkeypatch.setenv("SURVEY_PROXY_FIX_X_FOR", "1")
    monkeypatch.setenv("SURVEY_PROXY_FIX_X_PROTO", "1")
    app = create_app(instance_path=str(tmp_path))

    @app.get("/test-client-address")
    def client_address():
        return f"{request.remote_addr} {request.scheme}"

    response = app.test_client().get(
        "/test-client-address",
        headers={"X-Forwarded-For": "203.0.113.5", "X-Forwarded-Proto": "https"},
    )
    assert response.get_data(as_text=True) == "203.0.113.5 https"
    monkeypatch.setenv("SURVEY_PROXY_FIX_X_FOR", "some")
    with pytest.raises(ValueError, match="PROXY_FIX_X_FOR"):
        create_app(instance_path=str(tmp_path))


# -- several workers -------------------------------------------------------------------------
def test_several_workers_need_shared_storage():
    require_shared_storage(1, "memory://")
    require_shared_storage(4, "redis://127.0.0.1:6379/0")
    with pytest.raises(SharedStorageRequired, match="2 workers .* REDIS_URL"):
        require_shared_storage(2, "memory://")
    with pytest.raises(SharedStorageRequired):
        require_shared_storage_for_environment(3, {})
    require_shared_storage_for_environment(3, {"REDIS_URL": "redis://127.0.0.1:6379/0"})
    with pytest.raises(SharedStorageRequired):
        require_shared_storage_for_environment(
            3,
            {"REDIS_URL": "redis://127.0.0.1:6379/0", "SURVEY_RATELIMIT_STORAGE_URI": "memory://"},
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


GUNICORN = [sys.executable, "-m", "gunicorn", "--config", str(PROJECT_DIR / "gunicorn.conf.py")]


def clean_environment(**values: str) -> dict[str, str]:
    """This process's environment without the app's and gunicorn's settings, plus ``values``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("SURVEY_", "GUNICORN_", "WEB_CONCURRENCY"))
        and name not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "PORT", "HOST")
    }
    env.update(values)
    return env


def test_gunicorn_refuses_two_workers_counting_in_memory(tmp_path):
    env = clean_environment(SECRET_KEY="k" * 40, PYTHONPATH=str(PROJECT_DIR))
    command = [*GUNICORN, "--workers", "2", "--bind", f"127.0.0.1:{free_port()}", "wsgi:app"]
    result = subprocess.run(
        command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "2 workers would each count failed logins in their own memory" in result.stderr
    assert "REDIS_URL" in result.stderr


def test_counters_that_do_not_answer_refuse_the_login_with_503(make_app, make_user, login):
    """Redis down (here: a port nobody listens on): a clear 503 with Retry-After, for the
    right password too (fail closed), never a 500; the failure is logged, nothing stored."""
    with socket.socket() as probe:  # a port that was free a moment ago
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    app = migrated(make_app, RATELIMIT_STORAGE_URI=f"redis://127.0.0.1:{port}/0")
    with app.app_context():
        accounts.create_user("r@example.org", PASSWORD, "researcher", via="test")
        db.session.commit()
    client = app.test_client()
    for password in (PASSWORD, WRONG):
        response = client.post("/login", data={"email": "r@example.org", "password": password})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "30"
        assert "not possible for a moment" in response.get_data(as_text=True)
    assert client.get("/research/").status_code == 302  # not logged in
    assert audit_count(app, "login") == 0


def redis_or_skip():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_TEST_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):  # CI's machine runs Redis: its absence is a failure there
            raise
        pytest.skip(f"no Redis at {REDIS_TEST_URL}")
    return client


# The app gunicorn serves: the project's, plus a header naming the worker that answered.
WSGI_MODULE = """
import os

from survey import create_app

app = create_app()


@app.after_request
def name_the_worker(response):
    response.headers["X-Worker-Pid"] = str(os.getpid())
    return response
"""


class Site:
    """Requests to a running server, each on its own connection (so the kernel hands them
    to whichever worker accepts first), with one browser's session cookie and CSRF token."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.cookie = ""
        self.token = ""

    def request(self, method: str, path: str, body: str = "") -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Connection": "close"}
        if self.cookie:
            headers["Cookie"] = self.cookie
        if body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        response.text = response.read().decode("utf-8", "replace")
        connection.close()
        return response

    def open_login_page(self) -> None:
        response = self.request("GET", "/login")
        assert response.status == 200, response.text
        self.cookie = response.getheader("Set-Cookie").split(";", 1)[0]
        self.token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', response.text)[1]

    def login_body(self, email: str, password: str) -> str:
        return urllib.parse.urlencode(
            {"email": email, "password": password, "csrf_token": self.token}
        )

    def log_in(self, email: str, password: str) -> tuple[int, str]:
        response = self.request("POST", "/login", self.login_body(email, password))
        return response.status, response.getheader("X-Worker-Pid")

    def held_log_in(self, email: str, password: str) -> HeldRequest:
        """A login attempt sent in part: the sync worker that accepted it waits for the
        rest and takes no other connection until :meth:`HeldRequest.finish`."""
        return HeldRequest(self, "POST", "/login", self.login_body(email, password))


class HeldRequest:
    """The request line is sent at once, the headers and body on finish: the worker that
    accepted the connection waits in the header parser (the limit answers 429 before it
    reads a body) and, being a sync worker, takes no other connection meanwhile."""

    def __init__(self, site: Site, method: str, path: str, body: str = "") -> None:
        headers = f"Connection: close\r\nCookie: {site.cookie}\r\n"
        if body:
            headers += "Content-Type: application/x-www-form-urlencoded\r\n"
        self.rest = f"{headers}Content-Length: {len(body)}\r\n\r\n{body}"
        self.socket = socket.create_connection(("127.0.0.1", site.port), timeout=30)
        self.socket.sendall(f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{site.port}\r\n".encode())

    def finish(self) -> tuple[int, str]:
        self.socket.sendall(self.rest.encode())
        response = http.client.HTTPResponse(self.socket)
        response.begin()
        response.read()
        status, pid = response.status, response.getheader("X-Worker-Pid")
        self.socket.close()
        return status, pid


def both_workers_answer(site: Site) -> set[str]:
    """Wait until the second worker has booted: with the first one held, a request can
    only be answered by the other (it waits in the listen queue until that one is up)."""
    held = HeldRequest(site, "GET", "/login")
    time.sleep(0.5)  # a worker accepts the held connection and waits for the rest
    response = site.request("GET", "/login")
    assert response.status == 200, response.text
    status, pid = held.finish()
    assert status == 200
    return {pid, response.getheader("X-Worker-Pid")}


@pytest.fixture
def two_workers(tmp_path):
    """``gunicorn -w 2`` on a migrated SQLite file with one researcher, counting in Redis."""
    store = redis_or_skip()
    store.flushdb()
    url = f"sqlite:///{tmp_path / 'survey.sqlite3'}"
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url})
    with app.app_context():
        from survey.services import accounts

        upgrade()
        accounts.create_user("r@example.org", PASSWORD, "researcher")
        db.session.commit()
        db.engine.dispose()
    (tmp_path / "rate_limit_wsgi.py").write_text(WSGI_MODULE, encoding="utf-8")
    env = clean_environment(
        DATABASE_URL=url,
        REDIS_URL=REDIS_TEST_URL,
        SECRET_KEY="rate-limit-test-secret-key-" + "x" * 16,
        SURVEY_PASSWORD_HASH_PROFILE="CHEAPEST",
        PYTHONPATH=os.pathsep.join([str(PROJECT_DIR), str(tmp_path)]),
    )
    port = free_port()
    # The shipped gunicorn.conf.py (its on_starting check passes: the storage is Redis), with
    # sync workers of one thread (gunicorn turns "sync" with threads > 1 into gthread), so
    # that each worker takes one connection at a time.

    command = [*GUNICORN, "--workers", "2", "--worker-class", "sync", "--threads", "1"]
    command += ["--bind", f"127.0.0.1:{port}", "--access-logfile", str(tmp_path / "access.log")]
    command += ["--error-logfile", str(tmp_path / "error.log"), "rate_limit_wsgi:app"]
    server = subprocess.Popen(command, cwd=tmp_path, env=env)
    site = Site(port)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                site.open_login_page()
                break
            except (OSError, http.client.HTTPException):
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (tmp_path / "error.log").read_text(encoding="utf-8", errors="replace")
                    pytest.fail(f"gunicorn did not start:\n{log}")
                time.sleep(0.2)
        assert len(both_workers_answer(site)) == 2
        yield site
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        store.flushdb()


@pytest.mark.slow
def test_two_gunicorn_workers_share_the_failure_count(two_workers):
    site = two_workers
    # Two at a time: while one sync worker is busy, the other takes the next connection.
    with ThreadPoolExecutor(max_workers=2) as pool:
        failures = list(pool.map(lambda _: site.log_in("r@example.org", WRONG), range(5)))
    assert [status for status, _ in failures] == [200] * 5
    # Every later attempt is paused, whichever worker answers. One attempt is held half
    # sent, so the worker that accepted it is busy: the next attempt can only reach the
    # other worker. Then the held one is finished by the first.
    answered_by: dict[str, int] = {}
    held = site.held_log_in("r@example.org", PASSWORD)
    time.sleep(0.5)  # a worker accepts the held connection and waits for the rest
    status, pid = site.log_in("r@example.org", PASSWORD)
    answered_by[pid] = status
    status, pid = held.finish()
    answered_by[pid] = status
    assert len(answered_by) == 2, f"one worker answered both attempts: {answered_by}"
    assert set(answered_by.values()) == {429}, f"a worker let an attempt through: {answered_by}"
    pids = {pid for _, pid in failures} | set(answered_by)
    assert len(pids) == 2
