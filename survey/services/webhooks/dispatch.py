"""When deliveries are attempted: after the commit that created them, on the job backend;
and whenever ``flask webhooks deliver`` runs.

:func:`after_commit` notes delivery ids in the current database session (``session.info``);
an SQLAlchemy ``after_commit`` listener hands them, once the transaction has committed, to
the app's job backend (survey.jobs): the worker thread (:func:`run_deliveries`) or the RQ
queue ``validation`` (:func:`rq_deliver`; when Redis does not take the job, the error is
logged and the deliveries stay due for ``flask webhooks deliver``). A rollback forgets the
ids. Any commit carries them, so the places that emit events (survey.services.participation,
the API) need nothing but their own commit.

The thread job attempts the ids it was given, then, in the same pass, the other deliveries
that are due (retries whose time has come), each once: in a deployment without the command
running, a failed delivery is retried when new work arrives. ``flask webhooks deliver`` (a
loop, or ``--once`` from cron) is the dependable way to retry on time, and it also notices
waves that open (:mod:`.due`).

The job bodies commit: the claim before the HTTP request (so no other worker sends the same
delivery), the outcome after it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, current_app, has_app_context
from sqlalchemy import event
from sqlalchemy.orm import Session

from survey import jobs
from survey.extensions import db
from survey.jobs import rq_queue
from survey.models import WebhookDelivery, utcnow
from survey.services.webhooks import delivery as attempts
from survey.services.webhooks import signing

__all__ = [
    "DUE_PER_PASS",
    "RQ_JOB",
    "Tally",
    "after_commit",
    "attempt",
    "run_deliveries",
    "run_due",
    "rq_deliver",
    "schedule",
]

INFO_KEY = "survey.webhooks.pending"
RQ_JOB = "survey.services.webhooks.dispatch.rq_deliver"
# Other due deliveries a thread job attempts after its own (few: the thread is shared
# with validation runs, and an endpoint that does not answer costs the timeout each).
DUE_PER_PASS = 10

logger = logging.getLogger("survey.webhooks")


@dataclass
class Tally:
    """What a pass of attempts did: delivery status → count."""

    counts: dict[str, int] = field(default_factory=dict)

    def add(self, status: str | None) -> None:
        if status is not None:
            self.counts[status] = self.counts.get(status, 0) + 1

    @property
    def attempted(self) -> int:
        return sum(self.counts.values())


def after_commit(delivery_ids: Iterable[int]) -> None:
    """Attempt these deliveries once the current transaction has committed."""
    ids = [int(i) for i in delivery_ids]
    if not ids:
        return
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pending = db.session().info.setdefault(INFO_KEY, {"app": app, "ids": []})
    pending["ids"].extend(i for i in ids if i not in pending["ids"])


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    pending = session.info.pop(INFO_KEY, None)
    if not pending:
        return
    try:
        schedule(pending["ids"], app=pending["app"])
    except Exception:  # the commit happened: a scheduling failure must not undo the request
        logger.exception("webhook deliveries %s were not scheduled", pending["ids"])


@event.listens_for(Session, "after_rollback")
def _rolled_back(session: Session) -> None:
    session.info.pop(INFO_KEY, None)


def schedule(delivery_ids: list[int], *, app: Flask | None = None) -> None:
    """Hand committed deliveries to the app's job backend."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    if jobs.configured_backend(app) == jobs.RQ:
        try:
            jobs.enqueue_rq(
                RQ_JOB, list(delivery_ids), job_id=f"webhooks-{uuid.uuid4().hex}", app=app
            )
        except rq_queue.QueueUnavailable:
            logger.exception(
                "webhook deliveries %s not queued: flask webhooks deliver will send them",
                delivery_ids,
            )
        return
    jobs.submit_thread(run_deliveries, list(delivery_ids), app=app)


def _settings() -> dict[str, Any]:
    config = current_app.config
    base = config.get("WEBHOOK_RETRY_BASE_SECONDS")
    timeout = config.get("WEBHOOK_TIMEOUT_SECONDS")
    return {
        "retry_base_seconds": attempts.DEFAULT_RETRY_BASE_SECONDS if base is None else float(base),
        "timeout": attempts.DEFAULT_TIMEOUT_SECONDS if timeout is None else float(timeout),
    }


def attempt(delivery_id: int) -> str | None:
    """One attempt of delivery ``delivery_id`` if it is due (two commits: the claim, then
    the outcome); its new status, or None when it was not due."""
    settings = _settings()
    try:
        delivery = attempts.claim(delivery_id)
        if delivery is None:
            db.session.rollback()
            return None
        endpoint = delivery.endpoint
        url, secret, event_id = endpoint.url, endpoint.secret, delivery.event_id
        body = signing.encode_body(delivery.payload)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    result = attempts.send(url, secret, event_id, body, timeout=settings["timeout"])
    try:
        delivery = db.session.get(WebhookDelivery, delivery_id)
        assert delivery is not None
        status = attempts.record(
            delivery, result, now=utcnow(), retry_base_seconds=settings["retry_base_seconds"]
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return status


def run_due(*, limit: int = 500, skip: Iterable[int] = ()) -> Tally:
    """Attempt every delivery due now (up to ``limit``), each once."""
    tally = Tally()
    skipped = set(skip)
    for delivery_id in attempts.due_ids(limit=limit + len(skipped)):
        if delivery_id in skipped:
            continue
        if tally.attempted >= limit:
            break
        tally.add(attempt(delivery_id))
    db.session.rollback()  # end the read transaction (SQLite: no lock kept)
    return tally


def run_deliveries(delivery_ids: list[int]) -> Tally:
    """The thread job: these deliveries, then the other due ones (DUE_PER_PASS at most)."""
    tally = Tally()
    for delivery_id in delivery_ids:
        tally.add(attempt(delivery_id))
    other = run_due(limit=DUE_PER_PASS, skip=delivery_ids)
    for status, count in other.counts.items():
        tally.counts[status] = tally.counts.get(status, 0) + count
    return tally


def rq_deliver(delivery_ids: list[int]) -> dict[str, int]:
    """The RQ job (``survey.services.webhooks.dispatch.rq_deliver``): as
    :func:`run_deliveries`, in the current app (``flask jobs worker``) or the app built
    from the environment (``rq worker validation``)."""
    if has_app_context():
        app = current_app._get_current_object()  # type: ignore[attr-defined]
    else:
        from survey.jobs.rq_worker import worker_app

        app = worker_app()
    with app.app_context():
        return run_deliveries(list(delivery_ids)).counts
