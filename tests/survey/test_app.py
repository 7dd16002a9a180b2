"""The app factory, configuration and error pages."""

from __future__ import annotations

import os
import stat

import pytest
from sqlalchemy import text

from survey import create_app, normalise_database_url
from survey.config import DevelopmentConfig, TestConfig
from survey.extensions import db

ENV_NAMES = ("DATABASE_URL", "SECRET_KEY", "SURVEY_PARTICIPANT_BASE_URL")


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV_NAMES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_default_config_uses_sqlite_in_instance_and_persists_secret_key(tmp_path, clean_env):
    instance = tmp_path / "instance"
    app = create_app(instance_path=str(instance))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{instance / 'survey.sqlite3'}"
    key_file = instance / "secret_key"
    assert app.config["SECRET_KEY"] == key_file.read_text().strip()
    assert len(app.config["SECRET_KEY"]) == 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    # A restart reads the same key, so participants' sessions survive it.
    again = create_app(DevelopmentConfig, instance_path=str(instance))
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]


def test_environment_is_read_when_the_app_is_created(tmp_path, clean_env):
    clean_env.setenv("DATABASE_URL", "postgres://someone@db.example/survey")
    clean_env.setenv("SECRET_KEY", "from-env")
    clean_env.setenv("SURVEY_PARTICIPANT_BASE_URL", "https://survey.example.org")
    app = create_app(instance_path=str(tmp_path))
    assert app.config["SQLALCHEMY_DATABASE_URI"] == (
        "postgresql+psycopg://someone@db.example/survey"
    )
    assert app.config["SECRET_KEY"] == "from-env"
    assert app.config["PARTICIPANT_BASE_URL"] == "https://survey.example.org"
    assert not (tmp_path / "secret_key").exists()


def test_mapping_overrides_the_environment(tmp_path, clean_env):
    clean_env.setenv("SECRET_KEY", "from-env")
    app = create_app({"SECRET_KEY": "from-mapping"}, instance_path=str(tmp_path))
    assert app.config["SECRET_KEY"] == "from-mapping"
    assert not app.testing


def test_test_config_ignores_the_environment(tmp_path, clean_env):
    clean_env.setenv("DATABASE_URL", "postgresql://elsewhere/production")
    for config in (TestConfig, {"TESTING": True}):
        app = create_app(config, instance_path=str(tmp_path))
        assert app.testing
        assert app.config["SQLALCHEMY_DATABASE_URI"] == "sqlite://"
        assert app.config["WTF_CSRF_ENABLED"] is False


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql://u@h/d", "postgresql+psycopg://u@h/d"),
        ("postgresql+psycopg://u@h/d", "postgresql+psycopg://u@h/d"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_normalise_database_url(url, expected):
    assert normalise_database_url(url) == expected


def test_sqlite_connections_use_wal_and_foreign_keys(tmp_path):
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.db'}"},
        instance_path=str(tmp_path),
    )
    with app.app_context():
        try:
            with db.engine.connect() as connection:
                assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"
                assert connection.execute(text("PRAGMA foreign_keys")).scalar() == 1
        finally:
            db.engine.dispose()


def test_extensions_and_blueprints_are_registered(app):
    assert {"sqlalchemy", "migrate", "csrf"} <= set(app.extensions)
    assert "participate" in app.blueprints
    assert app.extensions["migrate"].configure_args["render_as_batch"] is True


def test_unknown_page_is_a_friendly_404(client):
    response = client.get("/no/such/page")
    assert response.status_code == 404
    body = response.get_data(as_text=True)
    assert "Page not found" in body
    assert '<html lang="en">' in body
    assert "If you need urgent help" in body
    assert "Traceback" not in body


def test_api_errors_are_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    problem = response.get_json()
    assert problem["status"] == 404 and problem["type"].endswith("/not-found")


def test_wrong_method_is_a_friendly_405(client):
    response = client.post("/p/" + "a" * 43 + "/done")
    assert response.status_code == 405
    assert "Not possible here" in response.get_data(as_text=True)


def test_unhandled_error_is_a_friendly_500(make_app):
    app = make_app(PROPAGATE_EXCEPTIONS=False)

    def boom():
        raise RuntimeError("secret internal detail")

    app.add_url_rule("/boom", "boom", boom)
    response = app.test_client().get("/boom")
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Something went wrong on our side" in body
    assert "secret internal detail" not in body
    assert "Traceback" not in body
