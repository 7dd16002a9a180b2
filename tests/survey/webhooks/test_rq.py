"""With ``REDIS_URL`` the attempt after the commit is a job on the RQ queue "validation",
run by an RQ worker (``flask jobs worker``), not the web process's thread."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator

import pytest

from survey.extensions import db
from survey.jobs import rq_queue
from survey.jobs.rq_worker import make_worker
from survey.services import participation
from tests.survey.webhooks.conftest import add_endpoint, deliveries

# A database of the local Redis of its own (the job tests use 13).
REDIS_URL = os.environ.get("TEST_WEBHOOKS_REDIS_URL", "redis://127.0.0.1:6379/11")


@pytest.fixture
def redis_client():
    redis = pytest.importorskip("redis")
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        if os.environ.get("CI"):
            raise
        pytest.skip(f"no Redis at {REDIS_URL}")
    client.flushdb()
    yield client
    client.flushdb()
    client.close()


@pytest.fixture
def keep_signal_handlers() -> Iterator[None]:
    """An RQ worker in this process installs SIGINT/SIGTERM handlers: put pytest's back."""
    saved = {number: signal.getsignal(number) for number in (signal.SIGINT, signal.SIGTERM)}
    yield
    for number, handler in saved.items():
        signal.signal(number, handler)


def test_the_attempt_is_an_rq_job(
    app, make_app, make_study, small, receiver, redis_client, keep_signal_handlers
):
    info = make_study(small)
    rq_app = make_app(REDIS_URL=REDIS_URL)  # the same database, jobs on RQ
    with rq_app.app_context():
        add_endpoint(info.study_id, receiver, ["participant.withdrew"])
        participation.withdraw(participation.participant_for(info.token))
        db.session.commit()
        [row] = deliveries()
        assert (row.status, row.attempts) == ("pending", 0)  # waiting on the queue
        queue = rq_queue.queue(redis_client)
        [job] = queue.jobs
        assert job.func_name == "survey.services.webhooks.dispatch.rq_deliver"
        assert job.args == ([row.id],)
        assert receiver.requests == []

        make_worker(rq_app).work(burst=True, with_scheduler=False)
        [row] = deliveries()
    assert (row.status, row.attempts, row.last_status_code) == ("delivered", 1, 200)
    [received] = receiver.requests
    assert received.rejection is None
    assert received.verified["type"] == "participant.withdrew"
