"""Fresh, empty databases for the tools and benchmarks that build the schema themselves.

SQLite: a new file in a folder the caller owns. PostgreSQL: the database named by a URL,
emptied (schema ``public`` dropped and created again), because these scripts run on a
database given to them rather than one they may create.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

KINDS = ("sqlite", "postgresql")


def fresh_database(kind: str, folder: Path, postgresql_url: str | None) -> str:
    """The URL of an empty database of ``kind``: a new SQLite file in ``folder``, or
    ``postgresql_url`` after dropping everything in it."""
    if kind == "sqlite":
        path = folder / "fresh.sqlite3"
        path.unlink(missing_ok=True)
        return f"sqlite:///{path}"
    if kind != "postgresql":
        raise ValueError(f"unknown database kind {kind!r}: use {' or '.join(KINDS)}")
    if not postgresql_url:
        raise ValueError("a PostgreSQL URL is needed (its database is emptied)")
    empty_postgresql(postgresql_url)
    return postgresql_url


def empty_postgresql(url: str) -> None:
    """Drop and re-create schema ``public`` (tables, trigger functions, alembic_version)."""
    engine = create_engine(url, connect_args={"connect_timeout": 5})
    try:
        with engine.begin() as connection:
            connection.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            connection.execute(text("CREATE SCHEMA public"))
    finally:
        engine.dispose()


def describe(url: str) -> str:
    """``SQLite 3.x`` or ``PostgreSQL 16.x (database name)``, for reports."""
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            version = connection.execute(text("SHOW server_version")).scalar_one().split()[0]
    finally:
        engine.dispose()
    return f"PostgreSQL {version} ({make_url(url).database})"
