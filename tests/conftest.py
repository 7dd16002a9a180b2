"""Fixtures for the survey app: ``app``, ``client``, ``runner``, ``db_session``.

Every test that uses ``app`` runs on SQLite (a fresh file) and, when the environment sets
``TEST_DATABASE_URL``, again on that PostgreSQL database (emptied before each test). The
schema is always built by the Alembic migrations, never by ``create_all``.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import MetaData, create_engine, text

# `--doctest-modules` would import every conftest.py as a test module, and conftest files
# outside packages all share the module name "conftest": keep them out of collection (they
# are still loaded as conftests).
collect_ignore = ["conftest.py"]
collect_ignore_glob = ["*/conftest.py"]

TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL")
DATABASES = ["sqlite", "postgresql"] if TEST_DATABASE_URL else ["sqlite"]


# Trigger functions the migrations create in schema public (dropping a table drops its
# triggers, not the functions they call).
OWN_FUNCTION_PATTERNS = ("%\\_append\\_only", "%\\_immutable")


def empty_postgresql(url: str) -> None:
    """Drop every table of the test database, alembic_version included, and the trigger
    functions of the migrations."""
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            metadata = MetaData()
            metadata.reflect(connection)
            metadata.drop_all(connection)
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
            functions = connection.execute(
                text(
                    "SELECT p.oid::regprocedure::text FROM pg_proc p "
                    "JOIN pg_namespace n ON n.oid = p.pronamespace "
                    "WHERE n.nspname = 'public' AND p.prorettype = 'trigger'::regtype "
                    "AND (p.proname LIKE :first OR p.proname LIKE :second)"
                ),
                {"first": OWN_FUNCTION_PATTERNS[0], "second": OWN_FUNCTION_PATTERNS[1]},
            ).scalars()
            for signature in list(functions):
                connection.execute(text(f"DROP FUNCTION IF EXISTS {signature}"))
    finally:
        engine.dispose()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    assert TEST_DATABASE_URL is not None
    empty_postgresql(TEST_DATABASE_URL)
    return TEST_DATABASE_URL


@pytest.fixture
def make_app(database_url: str, tmp_path: Any) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test database (schema not created); engines are disposed after."""
    from survey import create_app
    from survey.extensions import db

    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, **overrides}
        app = create_app(config, instance_path=str(tmp_path / "instance"))
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    app = make_app()
    with app.app_context():
        upgrade()
    return app


@pytest.fixture
def client(app: Flask):
    return app.test_client()


@pytest.fixture
def runner(app: Flask):
    return app.test_cli_runner()


@pytest.fixture
def db_session(app: Flask):
    """The scoped session inside an app context (tests commit or not, as a request would)."""
    from survey.extensions import db

    with app.app_context():
        yield db.session
