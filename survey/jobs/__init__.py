"""Background jobs: an in-process worker thread by default, RQ workers on Redis with
``REDIS_URL``.

Configuration (read by :func:`init_app` from ``app.config``):

``JOBS_BACKEND`` (env ``SURVEY_JOBS_BACKEND``)
    ``"thread"``: the embedded worker thread (:mod:`.thread_worker`), no extra service;
    ``"rq"``: the RQ queue ``validation`` on ``REDIS_URL``, run by ``flask jobs worker``
    (:mod:`.cli`) or ``rq worker validation`` (:mod:`.rq_worker`); unset: ``rq`` when
    ``REDIS_URL`` is set, else ``thread``.
``JOBS_TIMEOUT`` (env ``SURVEY_JOBS_TIMEOUT``)
    seconds an RQ worker lets one job run before it stops it (default 6 hours); the thread
    backend has no limit.

The backend is chosen per job when it is requested and stored with it (a validation run's
``backend``), so runs requested before ``REDIS_URL`` was set still finish or fail honestly.

Runs on the thread backend die with their process. Their ``job_id`` names the process
(host, pid, start time), and whenever a process first hands a run to its thread, and when
a page asks (:func:`survey.services.validation_runs.recover_interrupted`), queued or
running thread runs whose process on this host has ended are marked failed with
"interrupted: the server restarted before the run finished". Runs of other hosts are left
alone (use RQ when the app runs on several machines). Runs on RQ that RQ itself ended
(a killed work horse, a stopped or canceled job) are marked failed the same way, with
what RQ recorded.
"""

from survey.jobs.backends import (
    BACKENDS,
    RQ,
    THREAD,
    backend_for,
    configured_backend,
    enqueue_rq,
    first_use,
    init_app,
    new_job_id,
    redis_connection,
    run_in_own_session,
    shutdown,
    submit_thread,
    wait_idle,
)

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
