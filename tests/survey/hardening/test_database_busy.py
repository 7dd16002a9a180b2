"""A busy database is a 503 with Retry-After, never a 500, and bulk work holds it briefly.

Issue 7, 1: ``flask studies add-participants SLUG 50000`` held SQLite's write lock for 43 s
in one transaction and participants' pages failed with "database is locked" (a 500). Now
the command commits in batches, every SQLite connection waits ``SQLITE_BUSY_TIMEOUT_MS``
for the lock, and when the wait is not enough (or, on PostgreSQL, a lock or serialization
timeout) the request is a 503 with Retry-After, rolled back. On SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
import pytest
from sqlalchemy import event, func, select, text

from survey.extensions import db
from survey.models import Answer, PageVisit, Participant

AGREE = {"agree": "I agree"}
BUSY_TIMEOUT_MS = 100  # SQLite: how long the app's writes wait here for the lock
LOCK_TIMEOUT_MS = 200  # PostgreSQL: the same, as the server's lock_timeout


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite")


@pytest.fixture
def app(make_migrated_app, database_url):
    """The app with a short wait for locks (overrides the conftest's ``app``)."""
    if is_sqlite(database_url):
        return make_migrated_app(SQLITE_BUSY_TIMEOUT_MS=BUSY_TIMEOUT_MS)
    return make_migrated_app(
        SQLALCHEMY_ENGINE_OPTIONS={
            "pool_pre_ping": True,
            "connect_args": {"options": f"-c lock_timeout={LOCK_TIMEOUT_MS}"},
        }
    )


@contextmanager
def other_connection(url: str) -> Iterator[object]:
    """A plain DB-API connection of its own (not the app's pool)."""
    if is_sqlite(url):
        connection = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    else:
        connection = psycopg.connect(url.replace("postgresql+psycopg://", "postgresql://"))
    try:
        yield connection
    finally:
        connection.close()


@contextmanager
def write_lock_held(url: str) -> Iterator[object]:
    """Another connection holds what a participant's page needs to write; yields it (it
    can still read)."""
    with other_connection(url) as connection:
        if is_sqlite(url):
            connection.execute("BEGIN IMMEDIATE")  # the database's one write lock
        else:
            connection.execute("LOCK TABLE answers IN EXCLUSIVE MODE")  # reads still pass
        try:
            yield connection
        finally:
            connection.rollback()


def scalar(connection, sql: str) -> int:
    return connection.execute(sql).fetchone()[0]


def test_every_sqlite_connection_waits_for_the_configured_busy_timeout(
    make_app, database_url, tmp_path
):
    if not is_sqlite(database_url):
        pytest.skip("a SQLite pragma: the SQLite run checks it")
    for overrides, expected in (({}, 5000), ({"SQLITE_BUSY_TIMEOUT_MS": 1234}, 1234)):
        app = make_app(
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp_path / 'busy.sqlite3'}", **overrides
        )
        with app.app_context():
            assert db.session.scalar(text("PRAGMA busy_timeout")) == expected


def test_a_page_sent_while_the_database_is_locked_is_a_503_and_stores_nothing(
    app, client, database_url, make_study, small, answers_for
):
    info = make_study(small)
    assert client.post(f"/p/{info.token}", data=AGREE).status_code == 302
    assert client.get(f"/p/{info.token}/page/1").status_code == 200
    answers = answers_for(small.pages()[0])

    with write_lock_held(database_url) as holder:
        response = client.post(f"/p/{info.token}/page/1", data=answers)
        assert response.status_code == 503, response.get_data(as_text=True)[:500]
        assert response.headers["Retry-After"] == "5"
        assert "busy" in response.get_data(as_text=True)
        # Nothing half-written: no answer, the page not marked as submitted.
        assert scalar(holder, "SELECT count(*) FROM answers") == 0
        assert (
            scalar(holder, "SELECT count(*) FROM page_visits WHERE submitted_at IS NOT NULL") == 0
        )

    # The lock released, the very same POST is stored.
    response = client.post(f"/p/{info.token}/page/1", data=answers)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Answer)) == len(answers)
        visit = db.session.scalar(select(PageVisit).where(PageVisit.page_key == "AA"))
        assert visit.submitted_at is not None


def test_a_busy_database_under_api_is_a_json_503(app, database_url):
    # No API route exists yet: this test's own route writes to the locked table.
    @app.post("/api/test-write")
    def test_write():
        db.session.execute(text("UPDATE answers SET value = value"))
        db.session.commit()
        return {"written": True}

    client = app.test_client()
    with write_lock_held(database_url):
        response = client.post("/api/test-write")
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.get_json()["status"] == 503
    assert client.post("/api/test-write").get_json() == {"written": True}


def test_other_database_errors_are_not_turned_into_a_503():
    from sqlalchemy.exc import OperationalError

    from survey.errors import database_busy

    busy = sqlite3.OperationalError("database is locked")
    busy.sqlite_errorname = "SQLITE_BUSY"
    assert database_busy(OperationalError("INSERT", {}, busy))
    assert not database_busy(
        OperationalError("SELECT", {}, sqlite3.OperationalError("no such table: x"))
    )
    assert not database_busy(
        OperationalError("SELECT", {}, psycopg.OperationalError("connection refused"))
    )


# -- bulk work in bounded batches -------------------------------------------------------------
def test_add_participants_commits_in_batches_seen_from_another_connection(
    app, runner, database_url, make_study, small
):
    from survey.cli import PARTICIPANTS_PER_COMMIT

    info = make_study(small)
    count = 2 * PARTICIPANTS_PER_COMMIT + 200
    seen: list[int] = []

    def count_from_another_connection(_session) -> None:
        with other_connection(database_url) as connection:
            seen.append(
                scalar(
                    connection,
                    f"SELECT count(*) FROM participants WHERE study_id = {info.study_id}",
                )
            )

    event.listen(db.session, "after_commit", count_from_another_connection)
    try:
        result = runner.invoke(args=["studies", "add-participants", info.slug, str(count)])
    finally:
        event.remove(db.session, "after_commit", count_from_another_connection)
    assert result.exit_code == 0, result.output
    # Each batch was committed (and visible to others) before the next one was written.
    assert seen == [1 + PARTICIPANTS_PER_COMMIT, 1 + 2 * PARTICIPANTS_PER_COMMIT, 1 + count]
    # The output is what it always was: one link per participant, nothing else.
    links = result.output.splitlines()
    assert len(links) == len(set(links)) == count
    assert all(re.fullmatch(r"http://localhost/p/[A-Za-z0-9_-]{43}", link) for link in links)
    with app.app_context():
        stored = db.session.scalar(
            select(func.count())
            .select_from(Participant)
            .where(Participant.study_id == info.study_id)
        )
    assert stored == 1 + count
