"""Fixtures for the survey app: ``app``, ``client``, ``runner``, ``db_session``.

Every test that uses ``app`` runs on SQLite (a fresh file) and, when the environment sets
``TEST_DATABASE_URL``, again on that PostgreSQL database. The schema is always built by the
Alembic migrations, never by ``create_all``.

``app`` starts every test from a database at the newest revision with no rows in it. The
migrations run once per session: on SQLite each test gets a copy of a file migrated at the
start; on PostgreSQL the tables of the previous test are truncated when its schema is still
exactly what the migrations built (a fingerprint of columns, indexes, constraints, triggers
and grants), and otherwise everything is dropped and migrated again. ``make_app`` without
``app`` hands a test an empty database, as before, for tests of the migrations themselves.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
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


# What the schema of a freshly migrated PostgreSQL database looks like, one row per column,
# index, constraint, trigger and table grant (compared as a digest).
SCHEMA_FINGERPRINT_SQL = """
SELECT x FROM (
  SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' '
         || is_nullable || ' ' || coalesce(column_default, '')
    FROM information_schema.columns WHERE table_schema = 'public'
  UNION ALL SELECT 'index ' || indexdef FROM pg_indexes WHERE schemaname = 'public'
  UNION ALL SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' '
         || pg_get_constraintdef(oid)
    FROM pg_constraint WHERE connamespace = 'public'::regnamespace
  UNION ALL SELECT 'trigger ' || tgrelid::regclass::text || ' ' || tgname || ' ' || tgenabled::text
    FROM pg_trigger WHERE NOT tgisinternal
  UNION ALL SELECT 'grant ' || relname || ' ' || coalesce(relacl::text, '')
    FROM pg_class WHERE relnamespace = 'public'::regnamespace
  UNION ALL SELECT 'revision ' || version_num FROM alembic_version
) AS rows(x) ORDER BY x
"""

# The digest of the schema the migrations built in this session (set on the first rebuild).
_migrated_postgresql_fingerprint: str | None = None


def postgresql_fingerprint(connection: Any) -> str | None:
    """The digest of the public schema, or None when it has no alembic_version table."""
    present = connection.execute(text("SELECT to_regclass('public.alembic_version')")).scalar()
    if present is None:
        return None
    rows = connection.execute(text(SCHEMA_FINGERPRINT_SQL)).scalars()
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()


def truncate_postgresql(url: str) -> bool:
    """Empty every table (identities restarted) when the schema is still the migrated one;
    False when it is not (or cannot be emptied that way), leaving the database as it was."""
    if _migrated_postgresql_fingerprint is None:
        return False
    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            if postgresql_fingerprint(connection) != _migrated_postgresql_fingerprint:
                return False
            tables = connection.execute(
                text(
                    "SELECT quote_ident(tablename) FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version'"
                )
            ).scalars()
            # The append-only audit table refuses TRUNCATE by a trigger; replica mode (the
            # test server's superuser may set it) skips ordinary triggers for this one step.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            connection.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
        return True
    except Exception:  # a role that may not set replica mode: migrate from scratch instead
        return False
    finally:
        engine.dispose()


def migrate_postgresql(url: str, make: Callable[..., Flask]) -> None:
    """Drop everything, migrate to the newest revision and remember the schema's digest."""
    global _migrated_postgresql_fingerprint
    empty_postgresql(url)
    builder = make()
    with builder.app_context():
        upgrade()
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            _migrated_postgresql_fingerprint = postgresql_fingerprint(connection)
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def migrated_sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file at the newest revision, migrated once for the whole session."""
    from survey import create_app
    from survey.extensions import db

    directory = tmp_path_factory.mktemp("migrated-template")
    path = directory / "template.sqlite3"
    config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"}
    builder = create_app(config, instance_path=str(directory / "instance"))
    with builder.app_context():
        upgrade()
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    leftovers = [p.name for p in directory.glob("template.sqlite3-*")]
    assert not leftovers, f"the migrated template left journal files: {leftovers}"
    return path


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Any) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.sqlite3'}"
    assert TEST_DATABASE_URL is not None
    if "make_app" not in request.fixturenames:
        empty_postgresql(TEST_DATABASE_URL)
    # else make_app empties it on its first app, unless ``app`` prepared it migrated.
    return TEST_DATABASE_URL


class _MakeApp:
    """``make_app``: build apps on the test database; engines are disposed after."""

    def __init__(self, database_url: str, tmp_path: Any) -> None:
        self.database_url = database_url
        self.tmp_path = tmp_path
        self.apps: list[Flask] = []
        # PostgreSQL is shared between tests: emptied before the first app unless ``app``
        # has already brought it to the newest revision.
        self.prepared = not database_url.startswith("postgresql")
        self.migrated = False

    def __call__(self, **overrides: Any) -> Flask:
        if not self.prepared:
            self.prepared = True
            empty_postgresql(self.database_url)
        return self.build(**overrides)

    def build(self, **overrides: Any) -> Flask:
        from survey import create_app

        config = {"TESTING": True, "SQLALCHEMY_DATABASE_URI": self.database_url, **overrides}
        app = create_app(config, instance_path=str(self.tmp_path / "instance"))
        self.apps.append(app)
        return app

    def dispose(self) -> None:
        from survey.extensions import db

        for app in self.apps:
            with app.app_context():
                db.session.remove()
                for engine in db.engines.values():
                    engine.dispose()


@pytest.fixture
def make_app(database_url: str, tmp_path: Any) -> Iterator[Callable[..., Flask]]:
    """Build apps on the test database (an empty one: schema not created)."""
    maker = _MakeApp(database_url, tmp_path)
    yield maker
    maker.dispose()


@pytest.fixture
def make_migrated_app(make_app: _MakeApp, request: pytest.FixtureRequest) -> Callable[..., Flask]:
    """``make_migrated_app(**config)``: an app with these config overrides on a database at
    the newest revision with no rows (prepared on the first call; later calls share it)."""

    def make(**overrides: Any) -> Flask:
        if not getattr(make_app, "migrated", False):
            prepare_migrated(make_app, request)
        return make_app(**overrides)

    return make


def prepare_migrated(make_app: _MakeApp, request: pytest.FixtureRequest) -> None:
    url = make_app.database_url
    if url.startswith("sqlite"):
        template = request.getfixturevalue("migrated_sqlite_template")
        target = Path(url.removeprefix("sqlite:///"))
        shutil.copyfile(template, target)
        os.chmod(target, 0o600)
    else:
        make_app.prepared = True
        if not truncate_postgresql(url):
            migrate_postgresql(url, make_app.build)
    make_app.migrated = True


@pytest.fixture
def app(make_migrated_app: Callable[..., Flask]) -> Flask:
    """The app on a database at the newest revision with no rows."""
    return make_migrated_app()


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
