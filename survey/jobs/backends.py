"""Which backend runs jobs, and the per-app state behind it (``app.extensions``).

The rule (:func:`backend_for`): ``rq`` when ``REDIS_URL`` is set and ``JOBS_BACKEND`` is
not ``"thread"``, else ``thread``. ``JOBS_BACKEND`` (env ``SURVEY_JOBS_BACKEND``) is
``"thread"``, ``"rq"`` or unset (auto); ``"rq"`` without ``REDIS_URL`` refuses to start.
``JOBS_TIMEOUT`` (seconds, default 6 hours) is how long an RQ worker lets one job run.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from flask import Flask, current_app
from redis import Redis

from survey.extensions import db
from survey.jobs import rq_queue
from survey.jobs.thread_worker import ThreadWorker, process_job_id

__all__ = [
    "BACKENDS",
    "RQ",
    "THREAD",
    "backend_for",
    "configured_backend",
    "enqueue_rq",
    "first_use",
    "init_app",
    "new_job_id",
    "redis_connection",
    "run_in_own_session",
    "shutdown",
    "submit_thread",
    "wait_idle",
]

THREAD = "thread"
RQ = "rq"
BACKENDS = (THREAD, RQ)
EXTENSION = "survey.jobs"
DEFAULT_TIMEOUT = 6 * 3600


class Jobs:
    """What one app keeps for its jobs: the backend, the thread worker (made when first
    used), the Redis connection (made when first used) and what was done once."""

    def __init__(self, app: Flask, backend: str) -> None:
        self.backend = backend
        self.thread = ThreadWorker(app)
        self.redis_url: str | None = app.config.get("REDIS_URL")
        self.timeout = int(app.config.get("JOBS_TIMEOUT") or DEFAULT_TIMEOUT)
        self._redis: Redis | None = None
        self.done_once: set[str] = set()

    @property
    def redis(self) -> Redis:
        if self.redis_url is None:
            raise RuntimeError("REDIS_URL is not set: there is no job queue")
        if self._redis is None:
            self._redis = rq_queue.connect(self.redis_url)
        return self._redis


def backend_for(config: Any) -> str:
    """``rq`` or ``thread`` for a configuration (see the module docstring)."""
    wanted = config.get("JOBS_BACKEND") or None
    if wanted not in (None, *BACKENDS):
        raise RuntimeError(f"JOBS_BACKEND={wanted!r}: use thread, rq, or leave it unset")
    if wanted == RQ and not config.get("REDIS_URL"):
        raise RuntimeError("JOBS_BACKEND=rq needs REDIS_URL (the Redis the RQ workers read)")
    return RQ if config.get("REDIS_URL") and wanted != THREAD else THREAD


def init_app(app: Flask) -> None:
    app.extensions[EXTENSION] = Jobs(app, backend_for(app.config))


def _jobs(app: Flask | None) -> Jobs:
    app = app or current_app
    try:
        return app.extensions[EXTENSION]
    except KeyError:
        raise RuntimeError("survey.jobs.init_app(app) has not been called") from None


def configured_backend(app: Flask | None = None) -> str:
    """The backend new jobs of ``app`` (default: the current app) go to."""
    return _jobs(app).backend


def new_job_id(backend: str) -> str:
    """A job id for a new job: this process's (:func:`.thread_worker.process_job_id`) on the
    thread backend, a fresh UUID (the RQ job's id) on RQ."""
    return uuid.uuid4().hex if backend == RQ else process_job_id()


def submit_thread(function: Callable[..., Any], *args: Any, app: Flask | None = None) -> None:
    """Run ``function(*args)`` on the app's worker thread, in its own app context."""
    _jobs(app).thread.submit(function, *args)


def enqueue_rq(function: str, *args: Any, job_id: str, app: Flask | None = None) -> None:
    """Put ``function(*args)`` on the RQ queue (raises :class:`.rq_queue.QueueUnavailable`)."""
    jobs = _jobs(app)
    rq_queue.enqueue(jobs.redis, function, *args, job_id=job_id, timeout=jobs.timeout)


def redis_connection(app: Flask | None = None) -> Redis | None:
    """The app's Redis connection, or None without ``REDIS_URL``."""
    jobs = _jobs(app)
    return jobs.redis if jobs.redis_url else None


def first_use(key: str, app: Flask | None = None) -> bool:
    """True the first time ``key`` is asked for in this app and process, then False."""
    jobs = _jobs(app)
    if key in jobs.done_once:
        return False
    jobs.done_once.add(key)
    return True


def run_in_own_session(function: Callable[..., Any], *args: Any, app: Flask | None = None) -> Any:
    """Call ``function(*args)`` in a new app context (its own session and transaction) and
    commit; roll back and raise if it raises. For bookkeeping outside a request's
    transaction; call it when the caller's session holds no uncommitted writes (on SQLite
    they would keep the write lock this transaction waits for)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    with app.app_context():
        try:
            result = function(*args)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
    return result


def wait_idle(app: Flask | None = None, timeout: float = 30.0) -> bool:
    """Wait until the app's worker thread has run everything submitted (tests, and a CLI
    that hands work to the thread); False when ``timeout`` seconds passed first."""
    return _jobs(app).thread.wait_idle(timeout)


def shutdown(app: Flask | None = None, timeout: float = 30.0) -> bool:
    """Finish what the app's worker thread has queued and stop it (it starts again when
    used); False when it is still busy after ``timeout`` seconds."""
    return _jobs(app).thread.shutdown(timeout)
