"""Fixtures for the job tests: a small simulated study, a study that cannot be analysed,
and Redis (database 13 of the local server, emptied before and after each test).

Redis tests skip when Redis does not answer, except on CI (``CI`` set), where its absence
is a failure.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest
from flask import Flask
from sqlalchemy import text, update

from survey import jobs
from survey.extensions import db
from survey.models import InstrumentVersion, Study
from tests.survey.validation.conftest import make_simulated_study

REDIS_TEST_URL = os.environ.get("TEST_JOBS_REDIS_URL", "redis://127.0.0.1:6379/13")
# 60 participants at one wave: a whole validation in well under a second or two.
PARTICIPANTS = 60
WAVES = 1


def small_study(*, slug: str = "jobs-study", seed: int = 11) -> Study:
    """A committed simulated IEM-DP study (inside an app context)."""
    study, _result = make_simulated_study(
        participants=PARTICIPANTS, waves=WAVES, seed=seed, slug=slug
    )
    db.session.commit()
    return study


def damage_content_hash(version: InstrumentVersion) -> None:
    """Make ``version``'s stored content no longer match its hash, as a damaged or
    hand-edited row would: a published version is frozen by an ORM guard and database
    triggers, which this goes around (PostgreSQL: replica mode skips triggers for one
    transaction; SQLite: the frozen-columns trigger is dropped from this test's own file).
    Loading the version then fails for real (``definition_of`` checks the hash)."""
    table = InstrumentVersion.__table__
    with db.engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.execute(text("DROP TRIGGER instrument_versions_frozen"))
        connection.execute(
            update(table).where(table.c.id == version.id).values(content_hash="0" * 64)
        )
    db.session.expire_all()


@pytest.fixture
def jobs_app(app: Flask) -> Iterator[Flask]:
    """``app``, its worker thread stopped at the end of the test."""
    yield app
    assert jobs.shutdown(app, timeout=60)


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


@pytest.fixture
def redis_client():
    """The test Redis database, empty; emptied again after the test."""
    client = redis_or_skip()
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def rq_app(app: Flask, make_app, redis_client) -> Flask:
    """An app on the same database as ``app`` with REDIS_URL set: jobs go to RQ."""
    return make_app(REDIS_URL=REDIS_TEST_URL)


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """An RQ worker in this process installs SIGINT/SIGTERM handlers: put pytest's back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)
