"""No statement form rewrites a published instrument version or an audit event.

SQLite's REPLACE (``INSERT OR REPLACE``, ``REPLACE INTO``, ``UPDATE OR REPLACE``) deletes
the row in its way without firing DELETE triggers unless ``recursive_triggers`` is on. The
triggers of migration 0005 refuse these statements on their own (a plain ``sqlite3``
connection without any pragma), and the app turns the pragma on as a second lock. Every
form is tried through the app's engine (SQLite and, where the statement exists there,
PostgreSQL) and through a plain connection; drafts stay replaceable.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import closing

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from survey.models import AuditEvent, InstrumentVersion
from survey.services import accounts, versions

VERSION_COLUMNS = (
    "id, instrument_id, version, status, content, content_hash, created_at, published_at, "
    "parent_id, retired_at"
)
# The attack: the same row with other item text and a recomputed hash.
COPY_WITH_NEW_CONTENT = (
    "SELECT id, instrument_id, version, status, {content}, 'recomputed', created_at, "
    "published_at, parent_id, retired_at FROM instrument_versions WHERE id = :id"
)
SQLITE_ONLY = "REPLACE and OR-clauses are SQLite syntax; PostgreSQL has no REPLACE"

VERSION_STATEMENTS = {
    "insert or replace": (
        f"INSERT OR REPLACE INTO instrument_versions ({VERSION_COLUMNS}) {COPY_WITH_NEW_CONTENT}"
    ),
    "replace into": f"REPLACE INTO instrument_versions ({VERSION_COLUMNS}) {COPY_WITH_NEW_CONTENT}",
    "insert or replace, new id, same version": (
        "INSERT OR REPLACE INTO instrument_versions (instrument_id, version, status, content, "
        "content_hash, created_at, published_at) SELECT instrument_id, version, status, "
        "{content}, 'recomputed', created_at, published_at FROM instrument_versions "
        "WHERE id = :id"
    ),
    "on conflict do update": (
        f"INSERT INTO instrument_versions ({VERSION_COLUMNS}) {COPY_WITH_NEW_CONTENT} "
        "ON CONFLICT (id) DO UPDATE SET content = excluded.content, "
        "content_hash = excluded.content_hash"
    ),
    "on conflict (instrument_id, version) do update": (
        "INSERT INTO instrument_versions (instrument_id, version, status, content, "
        "content_hash, created_at) SELECT instrument_id, version, 'draft', {content}, "
        "'recomputed', created_at FROM instrument_versions WHERE id = :id "
        "ON CONFLICT (instrument_id, version) DO UPDATE SET content = excluded.content, "
        "content_hash = excluded.content_hash"
    ),
    "update or replace: a draft takes the id": (
        "UPDATE OR REPLACE instrument_versions SET id = :id WHERE id = :draft_id"
    ),
    "update or replace: a draft takes the version": (
        "UPDATE OR REPLACE instrument_versions SET version = "
        "(SELECT version FROM instrument_versions WHERE id = :id) WHERE id = :draft_id"
    ),
    "move the published row aside": "UPDATE instrument_versions SET id = 9999 WHERE id = :id",
    # Harmless before (the row was left alone); now refused outright.
    "insert or ignore": (
        f"INSERT OR IGNORE INTO instrument_versions ({VERSION_COLUMNS}) {COPY_WITH_NEW_CONTENT}"
    ),
    "on conflict do nothing": (
        f"INSERT INTO instrument_versions ({VERSION_COLUMNS}) {COPY_WITH_NEW_CONTENT} "
        "ON CONFLICT DO NOTHING"
    ),
}
POSTGRESQL_VERSION_STATEMENTS = {
    "on conflict do update",
    "on conflict (instrument_id, version) do update",
    "move the published row aside",
    "on conflict do nothing",
}
# The statements that leave the row alone on PostgreSQL (no trigger needed to refuse).
HARMLESS_ON_POSTGRESQL = {"on conflict do nothing"}

AUDIT_COLUMNS = (
    "id, occurred_at, actor_id, actor_email, action, target_type, target_id, hash_before, "
    "hash_after, details"
)
AUDIT_COPY = (
    "SELECT id, occurred_at, actor_id, actor_email, 'nothing_happened', target_type, "
    "target_id, hash_before, hash_after, details FROM audit_events WHERE id = :id"
)
AUDIT_STATEMENTS = {
    "insert or replace": f"INSERT OR REPLACE INTO audit_events ({AUDIT_COLUMNS}) {AUDIT_COPY}",
    "replace into": f"REPLACE INTO audit_events ({AUDIT_COLUMNS}) {AUDIT_COPY}",
    "on conflict do update": (
        f"INSERT INTO audit_events ({AUDIT_COLUMNS}) {AUDIT_COPY} "
        "ON CONFLICT (id) DO UPDATE SET action = excluded.action"
    ),
    "update or replace: another event takes the id": (
        "UPDATE OR REPLACE audit_events SET id = :id WHERE id = :other_id"
    ),
    "insert or ignore": f"INSERT OR IGNORE INTO audit_events ({AUDIT_COLUMNS}) {AUDIT_COPY}",
    "on conflict do nothing": (
        f"INSERT INTO audit_events ({AUDIT_COLUMNS}) {AUDIT_COPY} ON CONFLICT DO NOTHING"
    ),
}
POSTGRESQL_AUDIT_STATEMENTS = {"on conflict do update", "on conflict do nothing"}


@pytest.fixture
def admin(db_session):
    user = accounts.create_user("replace-admin@test.local", "a long test password", "admin")
    db_session.commit()
    return user


@pytest.fixture
def draft(db_session, admin, published):
    draft, _ = versions.create_draft_from(published, actor=admin)
    db_session.commit()
    return draft


@pytest.fixture
def dialect(db_session) -> str:
    return db_session.get_bind().dialect.name


@pytest.fixture
def plain_sqlite(db_session, dialect) -> Iterator[sqlite3.Connection]:
    """A connection to the app's SQLite file with no pragma at all (no foreign keys, no
    recursive triggers), as a sqlite3 shell would open it."""
    if dialect != "sqlite":
        pytest.skip("a plain sqlite3 connection exists only for the SQLite database")
    path = db_session.get_bind().url.database
    with closing(sqlite3.connect(path, isolation_level=None)) as connection:
        yield connection


def tampered_content(version: InstrumentVersion) -> str:
    return json.dumps(version.content | {"title": "Tampered"})


def content_placeholder(dialect: str) -> str:
    return "CAST(:content AS json)" if dialect == "postgresql" else ":content"


def run_on_engine(db_session, sql: str, **params) -> None:
    with db_session.get_bind().begin() as connection:
        connection.execute(text(sql), params)


def version_rows(db_session) -> list[tuple]:
    """Every instrument version as stored (content as text, so it compares on both)."""
    with db_session.get_bind().connect() as connection:
        rows = connection.execute(
            text(
                f"SELECT {VERSION_COLUMNS.replace('content,', 'CAST(content AS text),')} "
                "FROM instrument_versions ORDER BY id"
            )
        ).all()
    return [tuple(row) for row in rows]


def audit_rows(db_session) -> list[tuple]:
    with db_session.get_bind().connect() as connection:
        rows = connection.execute(
            text(
                f"SELECT {AUDIT_COLUMNS.replace('details', 'CAST(details AS text)')} "
                "FROM audit_events ORDER BY id"
            )
        ).all()
    return [tuple(row) for row in rows]


# -- instrument versions -----------------------------------------------------------------------
@pytest.mark.parametrize("form", list(VERSION_STATEMENTS))
def test_the_app_cannot_rewrite_a_published_version(db_session, dialect, published, draft, form):
    if dialect == "postgresql" and form not in POSTGRESQL_VERSION_STATEMENTS:
        pytest.skip(SQLITE_ONLY)
    before = version_rows(db_session)
    sql = VERSION_STATEMENTS[form].format(content=content_placeholder(dialect))
    params = {"id": published.id, "draft_id": draft.id, "content": tampered_content(published)}
    if dialect == "postgresql" and form in HARMLESS_ON_POSTGRESQL:
        run_on_engine(db_session, sql, **params)
    else:
        with pytest.raises(IntegrityError, match="published or retired"):
            run_on_engine(db_session, sql, **params)
    assert version_rows(db_session) == before


@pytest.mark.parametrize("form", list(VERSION_STATEMENTS))
def test_a_plain_sqlite_connection_cannot_rewrite_a_published_version(
    db_session, plain_sqlite, published, draft, form
):
    before = version_rows(db_session)
    sql = VERSION_STATEMENTS[form].format(content=":content")
    params = {"id": published.id, "draft_id": draft.id, "content": tampered_content(published)}
    with pytest.raises(sqlite3.IntegrityError, match="published or retired"):
        plain_sqlite.execute(sql, params)
    assert version_rows(db_session) == before


def test_drafts_stay_replaceable(db_session, dialect, published, draft):
    statements = ["on conflict do update", "on conflict (instrument_id, version) do update"]
    if dialect == "sqlite":
        statements += ["insert or replace", "replace into"]
    for form in statements:
        sql = VERSION_STATEMENTS[form].format(content=content_placeholder(dialect))
        content = json.dumps(draft.content | {"title": f"Draft via {form}"})
        run_on_engine(db_session, sql, id=draft.id, content=content)
    db_session.expire_all()
    rows = db_session.execute(select(InstrumentVersion.id, InstrumentVersion.status)).all()
    # "insert or replace, new id" is not among them: a replaced draft keeps its id.
    assert sorted(rows) == [(published.id, "published"), (draft.id, "draft")]
    stored = db_session.get(InstrumentVersion, draft.id)
    assert stored.content["title"] == f"Draft via {statements[-1]}"
    assert stored.content_hash == "recomputed"


def test_a_plain_sqlite_connection_may_replace_and_renumber_drafts(
    db_session, plain_sqlite, published, draft
):
    content = json.dumps(draft.content | {"title": "Replaced draft"})
    plain_sqlite.execute(
        VERSION_STATEMENTS["insert or replace"].format(content=":content"),
        {"id": draft.id, "content": content},
    )
    plain_sqlite.execute(
        "UPDATE instrument_versions SET id = 9999 WHERE id = :id", {"id": draft.id}
    )
    row = plain_sqlite.execute(
        "SELECT json_extract(content, '$.title') FROM instrument_versions WHERE id = 9999"
    ).fetchone()
    assert row == ("Replaced draft",)


# -- audit events --------------------------------------------------------------------------
@pytest.fixture
def audit_ids(db_session, published, draft) -> tuple[int, int]:
    """Two stored events (the user's creation, the import, the draft: at least two)."""
    ids = db_session.scalars(select(AuditEvent.id).order_by(AuditEvent.id)).all()
    assert len(ids) >= 2
    return ids[0], ids[-1]


@pytest.mark.parametrize("form", list(AUDIT_STATEMENTS))
def test_the_app_cannot_rewrite_an_audit_event(db_session, dialect, audit_ids, form):
    if dialect == "postgresql" and form not in POSTGRESQL_AUDIT_STATEMENTS:
        pytest.skip(SQLITE_ONLY)
    before = audit_rows(db_session)
    params = {"id": audit_ids[0], "other_id": audit_ids[1]}
    if dialect == "postgresql" and form == "on conflict do nothing":
        run_on_engine(db_session, AUDIT_STATEMENTS[form], **params)
    else:
        # PostgreSQL's trigger of 0002 raises a plain exception (SQLSTATE P0001).
        with pytest.raises(DBAPIError, match="append-only"):
            run_on_engine(db_session, AUDIT_STATEMENTS[form], **params)
    assert audit_rows(db_session) == before


@pytest.mark.parametrize("form", list(AUDIT_STATEMENTS))
def test_a_plain_sqlite_connection_cannot_rewrite_an_audit_event(
    db_session, plain_sqlite, audit_ids, form
):
    before = audit_rows(db_session)
    with pytest.raises(sqlite3.IntegrityError, match="append-only"):
        plain_sqlite.execute(AUDIT_STATEMENTS[form], {"id": audit_ids[0], "other_id": audit_ids[1]})
    assert audit_rows(db_session) == before


def test_new_audit_events_are_still_appended(db_session, audit_ids):
    before = audit_rows(db_session)
    run_on_engine(
        db_session,
        "INSERT INTO audit_events (occurred_at, action, target_type, details) "
        "SELECT occurred_at, action, target_type, details FROM audit_events WHERE id = :id",
        id=audit_ids[0],
    )
    after = audit_rows(db_session)
    assert after[:-1] == before
    assert after[-1][0] > audit_ids[1]


# -- the pragma, the second lock ---------------------------------------------------------------
def test_every_app_connection_fires_delete_triggers_on_replace(db_session, dialect, published):
    if dialect != "sqlite":
        pytest.skip("recursive_triggers is a SQLite pragma")
    with db_session.get_bind().connect() as connection:
        assert connection.execute(text("PRAGMA recursive_triggers")).scalar() == 1
    # Without the INSERT triggers of 0005 (dropped here), the pragma alone makes REPLACE
    # fire the DELETE triggers of 0002 and 0003 ...
    run_on_engine(db_session, "DROP TRIGGER instrument_versions_no_replace")
    run_on_engine(db_session, "DROP TRIGGER audit_events_no_replace")
    before = version_rows(db_session)
    sql = VERSION_STATEMENTS["replace into"].format(content=":content")
    with pytest.raises(IntegrityError, match="cannot be deleted"):
        run_on_engine(db_session, sql, id=published.id, content=tampered_content(published))
    event_id = db_session.scalar(select(AuditEvent.id).limit(1))
    with pytest.raises(IntegrityError, match="append-only"):
        run_on_engine(db_session, AUDIT_STATEMENTS["replace into"], id=event_id)
    assert version_rows(db_session) == before
    # ... which a connection without the pragma skips: the hole the triggers close.
    path = db_session.get_bind().url.database
    with closing(sqlite3.connect(path, isolation_level=None)) as plain:
        plain.execute(sql, {"id": published.id, "content": tampered_content(published)})
    assert version_rows(db_session) != before
