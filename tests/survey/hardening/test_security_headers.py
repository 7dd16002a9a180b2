"""Security headers on every response (survey.headers), the production secret key and the
private instance folder (survey.instance)."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
from flask import Flask, url_for
from flask_migrate import upgrade
from sqlalchemy import text
from werkzeug.routing import IntegerConverter

from survey import create_app
from survey.extensions import db
from survey.headers import CONTENT_SECURITY_POLICY

TEMPLATE_ROOT = Path(__file__).resolve().parents[3] / "survey"
PRODUCTION_KEY = "p" * 32


def csp_directives(header: str) -> dict[str, list[str]]:
    directives = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(response, where: str) -> None:
    headers = response.headers
    csp = headers.get("Content-Security-Policy")
    assert csp, f"{where}: no Content-Security-Policy"
    directives = csp_directives(csp)
    assert directives["frame-ancestors"] == ["'none'"], where
    assert directives["object-src"] == ["'none'"], where
    scripts = directives.get("script-src", directives["default-src"])
    assert "'unsafe-inline'" not in scripts and "'unsafe-eval'" not in scripts, where
    assert "'unsafe-inline'" not in csp, where
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where
    # Plain HTTP in development: never HSTS.
    assert "Strict-Transport-Security" not in headers, where


# -- every route, anonymous and admin ---------------------------------------------------------
@pytest.fixture
def world(app, make_study, small, make_user):
    """Real objects behind the URL arguments (anything else gets a placeholder: a 404 must
    carry the headers as well)."""
    from sqlalchemy import func, select

    from survey.models import AuditEvent

    info = make_study(small)
    admin_id = make_user("admin@example.org", "admin")
    with app.app_context():
        event_id = db.session.scalar(select(func.min(AuditEvent.id))) or 1
        version_id = db.session.execute(text("SELECT min(id) FROM instrument_versions")).scalar()
    return {
        "filename": "survey.css",
        "token": info.token,
        "number": 1,
        "study_id": info.study_id,
        "user_id": admin_id,
        "event_id": event_id,
        "instrument_key": "small",
        "version_id": version_id,
        "other_version_id": version_id,
        "item_id": "AA_S_1",
        "fmt": "yaml",
    }


def rule_urls(app: Flask, world: dict) -> list[str]:
    urls = []
    with app.test_request_context():
        for rule in app.url_map.iter_rules():
            values = {}
            for name in rule.arguments:
                converter = rule._converters.get(name)
                fallback = 1 if isinstance(converter, IntegerConverter) else "placeholder"
                values[name] = world.get(name, fallback)
            urls.append(url_for(rule.endpoint, **values))
    return sorted(set(urls))


def test_every_route_carries_the_headers_for_anonymous_and_admin(app, world, login):
    urls = [*rule_urls(app, world), "/no-such-page", "/p/" + "A" * 43]
    assert len(urls) > 20
    anonymous = app.test_client()
    admin = app.test_client()
    assert login(admin, "admin@example.org").status_code == 302
    statuses = set()
    for who, client in (("anonymous", anonymous), ("admin", admin)):
        for url in urls:
            with client.get(url) as response:
                statuses.add(response.status_code)
                assert_security_headers(response, f"GET {url} as {who} ({response.status_code})")
    # HTML pages, redirects, refusals and missing pages were all among them.
    assert {200, 302, 404, 405} <= statuses


def test_head_answers_every_route_as_get_does(app, world, login):
    """HEAD (curl -I, uptime monitors) is a GET without the body, never a form submission
    (the login page answered HEAD with the 400 of an empty login form)."""
    anonymous = app.test_client()
    admin = app.test_client()
    assert login(admin, "admin@example.org").status_code == 302
    for who, client in (("anonymous", anonymous), ("admin", admin)):
        for url in rule_urls(app, world):
            with client.head(url) as head, client.get(url) as get:
                assert head.status_code == get.status_code, f"HEAD {url} as {who}"
                assert head.get_data() == b"", f"HEAD {url} as {who}"
                assert_security_headers(head, f"HEAD {url} as {who} ({head.status_code})")


def test_json_error_server_error_and_csrf_refusal_carry_the_headers(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False, WTF_CSRF_ENABLED=True)

    def broken():
        raise RuntimeError("boom")

    app.add_url_rule("/test-only/broken", view_func=broken)
    with app.app_context():
        upgrade()
    client = app.test_client()
    api = client.get("/api/nothing-here")
    assert api.status_code == 404 and api.is_json
    server_error = client.get("/test-only/broken")
    assert server_error.status_code == 500
    refused = client.post("/login", data={"email": "a@example.org", "password": "x"})
    assert refused.status_code == 400
    for response in (api, server_error, refused):
        assert_security_headers(response, f"{response.status_code} {response.mimetype}")


def test_the_policy_allows_nothing_inline_and_nothing_from_elsewhere():
    for directive, sources in CONTENT_SECURITY_POLICY.items():
        assert sources in ("'self'", "'none'"), directive
    assert CONTENT_SECURITY_POLICY["frame-ancestors"] == "'none'"


def test_templates_hold_no_inline_script_or_style():
    """What the policy would block in a browser: inline <script>, on* handlers, style=,
    <style> blocks and javascript: URLs."""
    inline = re.compile(
        r"<script(?![^>]*\bsrc=)|<style\b|\son[a-z]+\s*=|\sstyle\s*=|javascript:", re.I
    )
    # Templates under survey/services/ make files for download (the export codebook), which
    # are opened from disk, outside the site and its policy, and must carry their own style.
    templates = sorted(
        path
        for path in TEMPLATE_ROOT.rglob("templates/**/*.html")
        if "services" not in path.relative_to(TEMPLATE_ROOT).parts
    )
    assert len(templates) > 20
    found = [
        f"{path.relative_to(TEMPLATE_ROOT)}:{number}: {line.strip()}"
        for path in templates
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if inline.search(line)
    ]
    assert not found, "\n".join(found)


def test_participant_and_staff_pages_keep_their_own_headers(app, world, login):
    client = app.test_client()
    participant = client.get(f"/p/{world['token']}")
    assert participant.status_code == 200
    assert participant.headers["Referrer-Policy"] == "same-origin"
    assert participant.headers["Cache-Control"] == "no-store"
    unknown = client.get("/p/" + "A" * 43)
    assert unknown.status_code == 404
    assert unknown.headers["Referrer-Policy"] == "same-origin"
    staff = client.get("/login")
    assert staff.headers["Referrer-Policy"] == "same-origin"
    assert staff.headers["Cache-Control"] == "no-store"


# -- production: HSTS, no HTTPS redirect, a real secret key ------------------------------------
@pytest.fixture
def environment(monkeypatch):
    for name in ("SURVEY_CONFIG", "DATABASE_URL", "SECRET_KEY", "REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    # Production also needs the key external ids are hashed with.
    monkeypatch.setenv("SURVEY_EXTERNAL_ID_KEY", "e" * 64)
    return monkeypatch


def headers_of(app: Flask, url: str = "/static/survey.css", **kwargs):
    with app.test_client().get(url, **kwargs) as response:
        return response.status_code, response.headers


def test_hsts_in_production_only(environment, tmp_path):
    development = create_app(instance_path=str(tmp_path / "development"))
    environment.setenv("SURVEY_CONFIG", "production")
    environment.setenv("SECRET_KEY", PRODUCTION_KEY)
    production = create_app(instance_path=str(tmp_path / "production"))
    https = "https://survey.example.org"
    status, headers = headers_of(production, base_url=https)
    assert status == 200
    assert headers["Strict-Transport-Security"] == "max-age=31536000"
    assert "Strict-Transport-Security" not in headers_of(development, base_url=https)[1]
    # TLS ends at the proxy: plain HTTP is served, not redirected, and gets no HSTS.
    status, headers = headers_of(production)
    assert status == 200
    assert "Strict-Transport-Security" not in headers
    # Through a proxy that says the client used HTTPS.
    forwarded = headers_of(production, headers={"X-Forwarded-Proto": "https"})[1]
    assert "Strict-Transport-Security" in forwarded


def test_https_redirect_only_when_configured(environment, tmp_path):
    environment.setenv("SURVEY_FORCE_HTTPS", "true")
    app = create_app(instance_path=str(tmp_path))
    status, headers = headers_of(app)
    assert status == 302
    assert headers["Location"].startswith("https://")


@pytest.mark.parametrize("key", [None, "", "s" * 31])
def test_production_refuses_to_start_without_a_long_secret_key(environment, tmp_path, key):
    environment.setenv("SURVEY_CONFIG", "production")
    if key is not None:
        environment.setenv("SECRET_KEY", key)
    instance = tmp_path / "instance"
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        create_app(instance_path=str(instance))
    assert not (instance / "secret_key").exists()


def test_production_uses_the_configured_key_and_writes_no_key_file(environment, tmp_path):
    environment.setenv("SURVEY_CONFIG", "production")
    environment.setenv("SECRET_KEY", PRODUCTION_KEY)
    instance = tmp_path / "instance"
    app = create_app(instance_path=str(instance))
    assert app.config["SECRET_KEY"] == PRODUCTION_KEY
    assert not (instance / "secret_key").exists()
    assert not (instance / "external_id_key").exists()


def test_production_refuses_to_start_without_an_external_id_key(environment, tmp_path):
    environment.setenv("SURVEY_CONFIG", "production")
    environment.setenv("SECRET_KEY", PRODUCTION_KEY)
    environment.delenv("SURVEY_EXTERNAL_ID_KEY")
    instance = tmp_path / "instance"
    with pytest.raises(RuntimeError, match="EXTERNAL_ID_KEY is not set"):
        create_app(instance_path=str(instance))
    assert not (instance / "external_id_key").exists()


# -- the instance folder and the SQLite files are private --------------------------------------
@pytest.fixture
def usual_umask():
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_instance_folder_database_and_key_are_private(environment, tmp_path, usual_umask):
    instance = tmp_path / "instance"
    app = create_app(instance_path=str(instance))
    database = instance / "survey.sqlite3"
    with app.app_context():
        try:
            upgrade()  # writes in WAL mode: -wal and -shm exist while connected
            with db.engine.connect() as connection:
                connection.execute(text("SELECT count(*) FROM users")).scalar()
                assert mode(instance) == 0o700
                assert mode(instance / "secret_key") == 0o600
                for path in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
                    assert path.exists(), path
                    assert mode(path) == 0o600, (path, oct(mode(path)))
        finally:
            db.engine.dispose()


def test_a_sqlite_database_url_is_created_private(environment, tmp_path, usual_umask):
    database = tmp_path / "elsewhere.sqlite3"
    environment.setenv("DATABASE_URL", f"sqlite:///{database}")
    app = create_app(instance_path=str(tmp_path / "instance"))
    with app.app_context():
        try:
            with db.engine.begin() as connection:
                connection.execute(text("CREATE TABLE t (x integer)"))
            assert mode(database) == 0o600
        finally:
            db.engine.dispose()
