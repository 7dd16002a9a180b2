"""A live server of the real app and a headless Chromium for the browser tests.

The database is a fresh SQLite file made the way an operator makes one: the ``flask demo
setup`` command (Alembic migrations, IEM-DP, the demo study) run in a subprocess: IEM-DP
1.0.0 unless the test module sets ``DEMO_IEMDP_VERSION`` (the participant tests use 1.1.0,
the demo's default, with participant page titles; the admin tests make 1.1.0 from 1.0.0).
The app is served by werkzeug's WSGI server in a background thread on a free loopback
port, with CSRF protection on and the environment ignored.

Chromium is Debian's (``/usr/bin/chromium``, or ``$CHROMIUM_PATH``); Playwright's own
browser download is not used. Without it the tests are skipped, unless ``CI=true``: CI
installs Chromium, so a missing browser there is a failure, not a skip.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from survey.config import PROJECT_DIR, Config

DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DEMO_SLUG = "iemdp-demo"
# The IEM-DP version the live server's demo study asks, unless a test module says otherwise.
DEFAULT_DEMO_IEMDP_VERSION = "1.0.0"
LINK_RE = re.compile(r"/p/([A-Za-z0-9_-]{43})\b")


def _missing(reason: str) -> None:
    """Skip, or fail on CI, where a skipped browser test would hide a broken setup."""
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run on CI)", pytrace=False)
    pytest.skip(reason)


@dataclass
class LiveServer:
    """The running app: its base URL, the app object and its database file."""

    app: Flask
    base_url: str
    database_url: str
    cli_env: dict[str, str]

    def participant_url(self, token: str) -> str:
        return f"{self.base_url}/p/{token}"

    def add_participant(self) -> str:
        """A new participant of the demo study, through ``flask studies add-participants``."""
        output = run_flask(self.cli_env, "studies", "add-participants", DEMO_SLUG, "1")
        return _tokens(output)[0]


def run_flask(env: dict[str, str], *args: str) -> str:
    """Run ``flask --app wsgi ARGS`` as an operator would; return its standard output."""
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(
            f"flask {' '.join(args)} exited with {result.returncode}:\n{result.stderr}"
        )
    return result.stdout


def _tokens(output: str) -> list[str]:
    tokens = LINK_RE.findall(output)
    assert tokens, f"no participant link in the output:\n{output}"
    return tokens


@pytest.fixture(scope="module")
def live_server(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[LiveServer]:
    from survey import create_app
    from survey.extensions import db

    directory = tmp_path_factory.mktemp("live")
    database_url = f"sqlite:///{directory / 'survey.sqlite3'}"
    secret_key = "browser-test-secret-key"
    # The subprocess reads only what we set: no SURVEY_* or DATABASE_URL leaking in.
    cli_env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SURVEY_") and name not in ("DATABASE_URL", "SECRET_KEY")
    }
    cli_env.update(DATABASE_URL=database_url, SECRET_KEY=secret_key)
    version = getattr(request.module, "DEMO_IEMDP_VERSION", DEFAULT_DEMO_IEMDP_VERSION)
    run_flask(cli_env, "demo", "setup", "--iemdp-version", version)

    config: type[Any] = type(
        "BrowserTestConfig",
        (Config,),
        {
            "READ_ENVIRONMENT": False,
            "SECRET_KEY": secret_key,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "WTF_CSRF_ENABLED": True,
        },
    )
    app = create_app(config, instance_path=str(directory / "instance"))
    server: BaseWSGIServer = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(app, f"http://127.0.0.1:{server.server_port}", database_url, cli_env)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture(scope="module")
def chromium_path() -> Path:
    path = Path(os.environ.get("CHROMIUM_PATH") or DEFAULT_CHROMIUM)
    if not path.is_file():
        _missing(f"no Chromium at {path} (apt-get install chromium, or set CHROMIUM_PATH)")
    return path


@pytest.fixture(scope="module")
def browser(chromium_path: Path, live_server: LiveServer) -> Iterator[Any]:
    """A headless Chromium; it depends on the server so it is closed first (its keep-alive
    connections end before the server shuts down)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the playwright package is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(chromium_path), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def clock(live_server: LiveServer) -> Iterator[Any]:
    """``clock(moment)`` sets the live app's time (app.config["CLOCK"], shared by the
    server thread); the real clock is back after the test."""

    def set_time(moment: Any) -> None:
        live_server.app.config["CLOCK"] = lambda: moment

    yield set_time
    live_server.app.config.pop("CLOCK", None)


@pytest.fixture
def artifacts_dir() -> Path:
    """Where screenshots are kept for people to look at (git-ignored)."""
    path = PROJECT_DIR / "tests" / "artifacts"
    path.mkdir(parents=True, exist_ok=True)
    return path
