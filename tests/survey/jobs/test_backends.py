"""The backend rule, the worker thread's resilience and how a thread run's process is
recognised; no database."""

from __future__ import annotations

import logging
import os
import subprocess
import threading

import pytest
from flask import current_app

from survey import create_app, jobs
from survey.jobs.thread_worker import ThreadWorker, process_gone, process_job_id

REDIS = "redis://127.0.0.1:6379/13"


@pytest.mark.parametrize(
    ("config", "backend"),
    [
        ({}, "thread"),
        ({"REDIS_URL": REDIS}, "rq"),
        ({"REDIS_URL": REDIS, "JOBS_BACKEND": "thread"}, "thread"),
        ({"REDIS_URL": REDIS, "JOBS_BACKEND": "rq"}, "rq"),
        ({"REDIS_URL": None, "JOBS_BACKEND": ""}, "thread"),
    ],
)
def test_the_backend_is_rq_with_redis_unless_told_thread(config, backend):
    assert jobs.backend_for(config) == backend


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"JOBS_BACKEND": "rq"}, "JOBS_BACKEND=rq needs REDIS_URL"),
        ({"JOBS_BACKEND": "celery"}, "JOBS_BACKEND='celery': use thread, rq"),
    ],
)
def test_an_app_with_an_impossible_backend_does_not_start(config, message, tmp_path):
    with pytest.raises(RuntimeError, match=message):
        create_app({"TESTING": True, **config}, instance_path=str(tmp_path))


def test_the_app_knows_its_backend(tmp_path):
    app = create_app({"TESTING": True, "REDIS_URL": REDIS}, instance_path=str(tmp_path))
    assert jobs.configured_backend(app) == "rq"
    with app.app_context():
        assert jobs.configured_backend() == "rq"


def test_a_failing_call_does_not_stop_the_worker_thread(tmp_path, caplog):
    app = create_app({"TESTING": True}, instance_path=str(tmp_path))
    worker = ThreadWorker(app)
    ran = []

    def broken() -> None:
        raise RuntimeError("boom")

    def works(value: int) -> None:
        ran.append((value, current_app.name, threading.current_thread().name))

    with caplog.at_level(logging.ERROR, logger="survey"):
        worker.submit(broken)
        worker.submit(works, 1)
        assert worker.wait_idle(timeout=30)
        worker.submit(works, 2)
        assert worker.wait_idle(timeout=30)
    assert ran == [(1, "survey", "survey-jobs"), (2, "survey", "survey-jobs")]
    (record,) = [r for r in caplog.records if "background job" in r.message]
    assert record.exc_info is not None and "boom" in caplog.text
    assert worker.shutdown(timeout=30)
    worker.submit(works, 3)  # starts again when used
    assert worker.wait_idle(timeout=30) and ran[-1][0] == 3
    assert worker.shutdown(timeout=30)


def test_a_thread_run_s_process_is_gone_only_when_it_has_ended_on_this_host():
    mine = process_job_id()
    prefix, host, pid, started = mine.split(":")
    assert (prefix, int(pid)) == ("thread", os.getpid()) and len(mine) <= 64
    assert not process_gone(mine)
    child = subprocess.Popen(["true"])
    child.wait()
    assert process_gone(f"thread:{host}:{child.pid}:")
    assert not process_gone(f"thread:elsewhere:{child.pid}:")
    if started:  # Linux: a live pid with another start time is another process
        assert process_gone(f"thread:{host}:{os.getpid()}:{int(started) + 1}")
    for other in (None, "", "0123456789abcdef", "thread:host:x:"):
        assert not process_gone(other)
