"""The RQ backend's side in the web process: the Redis connection, the queue, job states.

Jobs go to the RQ queue :data:`QUEUE_NAME` on ``REDIS_URL`` under the job id the run
stored when it was requested, so a run and its RQ job can always be matched. Workers:
``flask jobs worker`` (:mod:`survey.jobs.cli`) or ``rq worker validation``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

__all__ = ["QUEUE_NAME", "JobEnded", "QueueUnavailable", "connect", "ended", "enqueue", "queue"]

QUEUE_NAME = "validation"
# Seconds a worker waits for Redis before giving up on it.
SOCKET_TIMEOUT = 10


class QueueUnavailable(Exception):
    """Redis did not take the job (the message says why, without the URL's password)."""


@dataclass(frozen=True)
class JobEnded:
    """An RQ job that ended without finishing its run: ``status`` and what RQ recorded."""

    status: str
    reason: str


def connect(url: str) -> Redis:
    return Redis.from_url(url, socket_connect_timeout=SOCKET_TIMEOUT, socket_timeout=SOCKET_TIMEOUT)


def queue(connection: Redis) -> Queue:
    return Queue(QUEUE_NAME, connection=connection)


def enqueue(connection: Redis, function: str, *args: Any, job_id: str, timeout: int) -> Job:
    """Put ``function(*args)`` (an import path, e.g. ``survey.jobs.rq_worker.run_job``) on
    the queue as job ``job_id``; raises :class:`QueueUnavailable`."""
    try:
        return queue(connection).enqueue(
            function, *args, job_id=job_id, job_timeout=timeout, description=function
        )
    except RedisError as error:
        raise QueueUnavailable(
            f"the job queue (Redis, REDIS_URL) did not answer: {type(error).__name__}: {error}"
        ) from error


ENDED = {
    JobStatus.FAILED: "the RQ job failed outside the run",
    JobStatus.STOPPED: "the RQ job was stopped",
    JobStatus.CANCELED: "the RQ job was canceled",
}


def ended(connection: Redis, job_id: str) -> JobEnded | None:
    """How job ``job_id`` ended when RQ ended it (failed outside the job body, e.g. a
    killed work horse; stopped; canceled); None while it is queued, running or finished,
    and when Redis no longer has it (nothing is known then). Raises
    :class:`QueueUnavailable` when Redis does not answer."""
    try:
        job = Job.fetch(job_id, connection=connection)
        status = job.get_status(refresh=False)
        if status not in ENDED:
            return None
        result = job.latest_result()
        detail = (getattr(result, "exc_string", None) or "").strip().splitlines()
    except NoSuchJobError:
        return None
    except RedisError as error:
        raise QueueUnavailable(
            f"the job queue (Redis, REDIS_URL) did not answer: {type(error).__name__}: {error}"
        ) from error
    reason = ENDED[status] + (f" ({detail[-1].strip()})" if detail else "")
    return JobEnded(status=str(status), reason=reason)
