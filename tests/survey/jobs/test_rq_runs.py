"""Validation runs on RQ against the local Redis (database 13), run by real RQ workers in
burst mode in this process: ``flask jobs worker --burst`` inside the app, and RQ's own
SimpleWorker with the app built from the environment, as ``rq worker`` does."""

from __future__ import annotations

import hashlib
import json
import logging
import socket

import pytest
from rq import Queue, SimpleWorker
from rq.job import Job, cancel_job

from survey import jobs
from survey.extensions import db
from survey.jobs import rq_worker
from survey.models import Study, ValidationRun
from survey.services import validation_runs
from tests.survey.jobs.conftest import REDIS_TEST_URL, damage_content_hash, small_study


def independent_sha256(report: dict) -> str:
    text_form = json.dumps(report, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text_form.encode("utf-8")).hexdigest()


def test_a_run_on_rq_is_done_by_flask_jobs_worker_with_the_thread_run_s_report(
    jobs_app, rq_app, redis_client, keep_signal_handlers
):
    with jobs_app.app_context():  # the same inputs on the thread backend first
        study = small_study()
        thread_run = validation_runs.request_run(study, seed=5, actor=None)
        db.session.commit()
        validation_runs.start(thread_run)
        assert jobs.wait_idle(jobs_app, timeout=120)
        db.session.expire_all()
        thread_run = db.session.get(ValidationRun, thread_run.id)
        assert thread_run.status == "done"
        thread_sha, thread_id, study_id = thread_run.report_sha256, thread_run.id, study.id

    with rq_app.app_context():
        assert jobs.configured_backend() == "rq"
        study = db.session.get(Study, study_id)
        run = validation_runs.request_run(study, seed=5, actor=None)
        db.session.commit()
        assert run.backend == "rq" and len(run.job_id) == 32
        validation_runs.start(run)
        job = Job.fetch(run.job_id, connection=redis_client)
        assert job.get_status() == "queued" and job.origin == "validation"
        assert job.func_name == "survey.jobs.rq_worker.run_job" and job.args == (run.id,)
        with pytest.raises(validation_runs.RunAlreadyActive):  # queued on RQ: still active
            validation_runs.request_run(study, seed=5, actor=None)
        db.session.rollback()

        result = rq_app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
        assert result.exit_code == 0, result.output

        db.session.expire_all()
        done = db.session.get(ValidationRun, run.id)
        assert done.status == "done" and done.error is None
        assert done.started_at <= done.finished_at
        assert done.progress_done == done.progress_total > 0 and done.progress_label == "done"
        assert done.report_sha256 == independent_sha256(done.report) == thread_sha
        assert done.id != thread_id
        assert Job.fetch(run.job_id, connection=redis_client).get_status() == "finished"
        assert Queue("validation", connection=redis_client).count == 0


def test_a_failed_run_on_an_rq_worker_that_builds_the_app_from_the_environment(
    app, rq_app, redis_client, keep_signal_handlers, monkeypatch, caplog
):
    caplog.set_level(logging.ERROR, logger="survey")
    with rq_app.app_context():
        study = small_study()
        (version,) = study.instrument_versions
        run = validation_runs.request_run(study, actor=None)
        db.session.commit()
        damage_content_hash(version)
        validation_runs.start(run)
        run_id, version_id = run.id, version.id

    # A worker process of its own would read these (as `rq worker validation` does).
    monkeypatch.setenv("DATABASE_URL", rq_app.config["SQLALCHEMY_DATABASE_URI"])
    monkeypatch.setenv("REDIS_URL", REDIS_TEST_URL)
    monkeypatch.setenv("SECRET_KEY", "rq-worker-test-secret-key-" + "x" * 16)
    monkeypatch.setenv("SURVEY_EXTERNAL_ID_KEY", "test-external-id-key")
    monkeypatch.delenv("SURVEY_CONFIG", raising=False)
    try:
        worker = SimpleWorker(
            [Queue("validation", connection=redis_client)], connection=redis_client
        )
        assert worker.work(burst=True)
        (built,) = rq_worker._apps.values()
        assert built is not rq_app and built.config["REDIS_URL"] == REDIS_TEST_URL
    finally:
        rq_worker.forget_apps()

    with rq_app.app_context():
        failed = db.session.get(ValidationRun, run_id)
        assert failed.status == "failed" and failed.finished_at is not None
        assert failed.error == (
            f"ValueError: instrument version {version_id}: stored content does not match its hash"
        )
    # The job body handled the failure: for RQ the job finished.
    assert Job.fetch(failed.job_id, connection=redis_client).get_status() == "finished"
    assert any(f"validation run {run_id} failed" in r.message for r in caplog.records)


def test_a_run_whose_rq_job_was_canceled_is_marked_failed(rq_app, redis_client):
    with rq_app.app_context():
        study = small_study()
        run = validation_runs.request_run(study, actor=None)
        db.session.commit()
        validation_runs.start(run)
        cancel_job(run.job_id, connection=redis_client)  # an operator, through RQ
        assert validation_runs.recover_interrupted() == [run.id]
        db.session.expire_all()
        assert run.status == "failed"
        assert run.error == "interrupted: the RQ job was canceled"
        assert validation_runs.recover_interrupted() == []


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_run_redis_does_not_take_fails_with_the_reason(app, make_app, caplog):
    caplog.set_level(logging.WARNING, logger="survey")
    down = make_app(REDIS_URL=f"redis://127.0.0.1:{closed_port()}/13")
    with down.app_context():
        study = small_study()
        run = validation_runs.request_run(study, actor=None)
        db.session.commit()
        validation_runs.start(run)
        db.session.expire_all()
        assert run.status == "failed" and run.finished_at is not None
        assert run.error.startswith(
            "not queued: QueueUnavailable: the job queue (Redis, REDIS_URL) did not answer: "
            "ConnectionError: "
        )
        assert "\n" not in run.error
        # With Redis down, checking RQ runs says nothing about them (and does not fail).
        queued = validation_runs.request_run(study, seed=2, actor=None)
        db.session.commit()
        assert validation_runs.recover_interrupted() == []
        db.session.expire_all()
        assert queued.status == "queued"
        run_id = run.id
    assert any(f"validation run {run_id} could not be queued" in r.message for r in caplog.records)
    assert any(
        "RQ runs not checked" in r.message for r in caplog.records if r.levelname == "WARNING"
    )


def test_flask_jobs_worker_needs_redis(app):
    result = app.test_cli_runner().invoke(args=["jobs", "worker", "--burst"])
    assert result.exit_code == 1
    assert "REDIS_URL is not set" in result.output
