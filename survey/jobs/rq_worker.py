"""The RQ backend's worker side: the job function and the worker ``flask jobs worker`` runs.

:func:`run_job` is what the web process enqueues (``survey.jobs.rq_worker.run_job``). In
``flask jobs worker`` (an RQ :class:`~rq.SimpleWorker` inside the command's app context)
it uses that app; under plain ``rq worker validation`` it builds the app from the
environment with :func:`survey.create_app` once per process (``DATABASE_URL``,
``REDIS_URL``, ``SECRET_KEY``, ``SURVEY_*`` as for the web server: the worker must see
the same database). Each job gets its own app context, hence its own database session.

The worker is a :class:`~rq.SimpleWorker`: jobs run in the worker process itself, no fork
per job, so the app, its imports (numpy, pandas, scipy) and its connection pool are made
once; the job timeout (``JOBS_TIMEOUT``) still holds (SIGALRM in the main thread). For one
process per job, run ``rq worker validation`` (RQ's forking worker) with the same
environment; each work horse then builds the app itself.
"""

from __future__ import annotations

import os

from flask import Flask, current_app, has_app_context
from rq import SimpleWorker

from survey.extensions import db
from survey.jobs import backends, rq_queue
from survey.services.validation_runs import execute_run

__all__ = ["forget_apps", "make_worker", "run_job", "worker_app"]

# The environment create_app reads for the database and the queue: an app built for one
# set of values is kept for the process (tests change them between workers).
ENVIRONMENT_KEYS = ("SURVEY_CONFIG", "DATABASE_URL", "REDIS_URL")

_apps: dict[tuple[str | None, ...], Flask] = {}


def worker_app() -> Flask:
    """The app built from the environment, once per process (and environment)."""
    key = tuple(os.environ.get(name) for name in ENVIRONMENT_KEYS)
    app = _apps.get(key)
    if app is None:
        from survey import create_app

        app = _apps[key] = create_app()
    return app


def forget_apps() -> None:
    """Drop the apps :func:`worker_app` built, closing their database connections."""
    while _apps:
        _key, app = _apps.popitem()
        with app.app_context():
            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


def run_job(run_id: int) -> str | None:
    """The RQ job: :func:`survey.services.validation_runs.execute_run` in a fresh app
    context of the current app (``flask jobs worker``) or of :func:`worker_app`."""
    app = current_app._get_current_object() if has_app_context() else worker_app()  # type: ignore[attr-defined]
    with app.app_context():
        return execute_run(run_id)


def make_worker(app: Flask | None = None, *, name: str | None = None) -> SimpleWorker:
    """A :class:`~rq.SimpleWorker` on the app's ``validation`` queue."""
    connection = backends.redis_connection(app)
    if connection is None:
        raise RuntimeError("REDIS_URL is not set: there is no job queue to work on")
    return SimpleWorker([rq_queue.queue(connection)], connection=connection, name=name)
