"""Validation runs: asked for in a request, run as a background job, stored with the report.

The life of a run::

    run = request_run(study, wave=..., include_excluded=..., seed=..., actor=user)
    db.session.commit()          # the caller's one commit: the run is stored, queued
    start(run)                   # after the commit: hand it to its backend

:func:`request_run` stores a *queued* run (flushed, not committed) with the backend the
app is configured for (:func:`survey.jobs.configured_backend`) and audits
``validation_requested``; :func:`start` gives the committed run to that backend: the
app's worker thread, or the RQ queue. Either runs :func:`execute_run`, the job body, which
works outside any request and commits its own progress: *running* (with progress), then
*done* (the report, its SHA-256, the analysed rows' count and hash, the instrument
versions) or *failed* (a one-line error; the traceback goes to the app log).

One queued or running run per inputs (:func:`inputs_key`: study, wave, excluded sessions
in or out, seed): asking again raises :class:`RunAlreadyActive` with the run in progress.

Reading: :func:`runs_of`, :func:`run_of`, :func:`latest_done`, :func:`status_of` (a
JSON-ready progress dict), :func:`follow` (wait for a run, e.g. on RQ from the command
line). :func:`recover_interrupted` marks runs whose worker is gone as failed (see
:mod:`survey.jobs`).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select, text, update
from sqlalchemy.dialects import postgresql, sqlite

from survey import jobs
from survey.extensions import db
from survey.jobs import rq_queue
from survey.jobs.thread_worker import process_gone
from survey.models import AuditAction, Study, User, utcnow
from survey.models.validation import ACTIVE_STATUSES, RunStatus, ValidationRun
from survey.services import audit, outcomes, study_data
from survey.services.errors import SurveyError
from survey.services.validation.run import validate

__all__ = [
    "INTERRUPTED",
    "InvalidRunRequest",
    "ProgressHook",
    "RunAlreadyActive",
    "error_line",
    "execute_run",
    "fail_interrupted_runs",
    "follow",
    "inputs_key",
    "latest_done",
    "recover_interrupted",
    "report_sha256",
    "report_text",
    "request_run",
    "run_of",
    "runs_of",
    "start",
    "status_of",
]

logger = logging.getLogger("survey")  # the app's logger (Flask names it after the package)

RQ_JOB = "survey.jobs.rq_worker.run_job"
"""What an RQ worker runs: ``run_job(run_id)`` builds the app and calls :func:`execute_run`."""

INTERRUPTED = "interrupted: the server restarted before the run finished"
# At most this many progress writes per second (the first and the last step are always
# written).
PROGRESS_WRITES_PER_SECOND = 4
MAX_ERROR_CHARACTERS = 1000
MAX_LABEL_CHARACTERS = 200
MAX_SEED = 2**32 - 1
_ACTIVE_WHERE = text("status IN ('queued', 'running')")  # the partial unique index's
_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}

ProgressHook = Callable[[int, int, str], None]
"""Called by :func:`execute_run` with (steps done, steps in all, what comes next) after
the step's progress, when it was written, is committed."""


class RunAlreadyActive(SurveyError):
    """A run with the same inputs is queued or running: ``run`` is that run."""

    def __init__(self, run: ValidationRun) -> None:
        self.run = run
        super().__init__(
            f"This validation is already {run.status} (run {run.id}); wait for it to finish."
        )


class InvalidRunRequest(SurveyError):
    """The request cannot be run as asked (the message says why)."""


# -- inputs and report digests ---------------------------------------------------------------
def inputs_key(
    study: Study,
    *,
    wave: str | None,
    include_excluded: bool,
    seed: int,
    group: str | None = None,
) -> str:
    """SHA-256 of the canonical JSON (sorted keys, no spaces) of what a run is asked for:
    ``{"group", "include_excluded", "seed", "study" (its id), "wave"}``."""
    return audit.content_hash(
        {
            "study": study.id,
            "wave": wave,
            "include_excluded": bool(include_excluded),
            "seed": int(seed),
            "group": group,
        }
    )


def group_options(study: Study) -> list[str]:
    """The group variables an invariance analysis of ``study`` may use: ``delivery_mode``,
    then the categorical columns of its current outcomes."""
    upload = outcomes.current_upload(study)
    columns = upload.columns if upload is not None else []
    return ["delivery_mode"] + [c["name"] for c in columns if c.get("kind") == "categorical"]


def report_text(report: dict[str, Any]) -> str:
    """The text :func:`report_sha256` hashes: ``json.dumps(report, sort_keys=True,
    separators=(",", ":"), allow_nan=False)`` (ASCII; NaN refused)."""
    return json.dumps(report, sort_keys=True, separators=(",", ":"), allow_nan=False)


def report_sha256(report: dict[str, Any]) -> str:
    """SHA-256 (hex) of :func:`report_text` as UTF-8: equal reports, equal digests."""
    return hashlib.sha256(report_text(report).encode("utf-8")).hexdigest()


# -- requesting ------------------------------------------------------------------------------
def request_run(
    study: Study,
    *,
    wave: str | None = None,
    include_excluded: bool = False,
    seed: int = 1,
    group: str | None = None,
    actor: User | None,
    backend: str | None = None,
) -> ValidationRun:
    """Store a queued run of ``study`` (flushed, not committed) and audit it; the caller
    commits, then calls :func:`start`.

    ``backend`` defaults to the app's (:func:`survey.jobs.configured_backend`). Raises
    :class:`~survey.services.study_data.UnknownWave`, :class:`InvalidRunRequest` (a seed
    outside 0..2**32-1) and :class:`RunAlreadyActive`. Two requests racing past the check
    meet at the partial unique index (one queued or running run per inputs): the insert
    is ``ON CONFLICT DO NOTHING`` on that index, so the loser waits for the winner's
    transaction and gets :class:`RunAlreadyActive` with the winner's run, and no failed
    statement spoils the caller's transaction.
    """
    study_data.wave_of(study, wave)  # UnknownWave before anything is stored
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidRunRequest(f"the seed must be a whole number from 0 to {MAX_SEED}")
    if group is not None and group not in (options := group_options(study)):
        raise InvalidRunRequest(
            f"no group variable {group!r} in this study (choose from {', '.join(options)})"
        )
    backend = backend or jobs.configured_backend()
    if backend not in jobs.BACKENDS:
        raise InvalidRunRequest(f"no job backend {backend!r} (use thread or rq)")
    key = inputs_key(study, wave=wave, include_excluded=include_excluded, seed=seed, group=group)
    now = utcnow()
    run_id = None
    while run_id is None:
        active = _active_run(key)
        if active is not None:
            raise RunAlreadyActive(active)
        run_id = _insert_unless_active(
            study_id=study.id,
            status=RunStatus.QUEUED.value,
            inputs_key=key,
            wave=wave,
            include_excluded=bool(include_excluded),
            seed=seed,
            group_variable=group,
            backend=backend,
            job_id=jobs.new_job_id(backend),
            progress_done=0,
            progress_total=0,
            progress_label="queued",
            requested_at=now,
            requested_by_id=actor.id if actor is not None else None,
        )
        # None: a run with these inputs was committed meanwhile; the loop reports it (or,
        # if it has already finished, inserts this one).
    run = db.session.get(ValidationRun, run_id)
    assert run is not None
    audit.record(
        AuditAction.VALIDATION_REQUESTED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        details={
            "run": run.id,
            "wave": wave,
            "include_excluded": bool(include_excluded),
            "seed": seed,
            "group": group,
            "backend": backend,
        },
        now=now,
    )
    return run


def _active_run(key: str) -> ValidationRun | None:
    return db.session.scalar(
        select(ValidationRun).where(
            ValidationRun.inputs_key == key, ValidationRun.status.in_(ACTIVE_STATUSES)
        )
    )


def _insert_unless_active(**values: Any) -> int | None:
    """INSERT ... ON CONFLICT (inputs_key) WHERE active DO NOTHING RETURNING id."""
    table = ValidationRun.__table__
    dialect = db.session.get_bind().dialect.name
    try:
        insert = _INSERTS[dialect]
    except KeyError:
        raise NotImplementedError(
            f"validation runs need PostgreSQL or SQLite, not {dialect}"
        ) from None
    statement = (
        insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["inputs_key"], index_where=_ACTIVE_WHERE)
        .returning(table.c.id)
    )
    return db.session.execute(statement).scalar()


def start(run: ValidationRun) -> None:
    """Hand a committed queued run to its backend (call it after the commit).

    Thread: the app's worker thread runs it; the first time in a process, runs of dead
    processes are marked failed first (:func:`fail_interrupted_runs`). RQ: the job goes to
    the ``validation`` queue; when Redis does not take it, the run is marked failed
    (in its own transaction) with the reason, and the error is logged: the page and the
    command line show it as any failed run.
    """
    run_id, backend, job_id = run.id, run.backend, run.job_id
    if backend == jobs.RQ:
        try:
            jobs.enqueue_rq(RQ_JOB, run_id, job_id=job_id)
        except rq_queue.QueueUnavailable as error:
            logger.exception("validation run %s could not be queued", run_id)
            jobs.run_in_own_session(_mark_failed, run_id, f"not queued: {error_line(error)}")
        return
    if jobs.first_use("validation-recovery"):
        jobs.run_in_own_session(fail_interrupted_runs)
    jobs.submit_thread(execute_run, run_id)


# -- the job body ----------------------------------------------------------------------------
class _ProgressWriter:
    """The progress callback of a run: writes done/total/label on its own connection
    (committed at once, seen by every other session), at most
    PROGRESS_WRITES_PER_SECOND times a second, always the first and the last step."""

    def __init__(self, run_id: int, hook: ProgressHook | None) -> None:
        self.run_id = run_id
        self.hook = hook
        self.last_write: float | None = None

    def __call__(self, done: int, total: int, label: str) -> None:
        now = time.monotonic()
        due = self.last_write is None or now - self.last_write >= 1 / PROGRESS_WRITES_PER_SECOND
        if due or done >= total:
            table = ValidationRun.__table__
            with db.engine.begin() as connection:
                connection.execute(
                    update(table)
                    .where(table.c.id == self.run_id)
                    .values(
                        progress_done=done,
                        progress_total=total,
                        progress_label=label[:MAX_LABEL_CHARACTERS],
                    )
                )
            self.last_write = now
        if self.hook is not None:
            self.hook(done, total, label)


def execute_run(run_id: int, *, progress_hook: ProgressHook | None = None) -> str | None:
    """Run the queued run ``run_id`` and store its outcome; returns its final status, or
    None when it was not queued (already taken by a worker, finished, or failed).

    Needs an app context (the worker thread and :func:`survey.jobs.rq_worker.run_job` push
    one) and commits on its own: *running* with ``started_at`` and the battery's versions,
    progress as it goes (see :class:`_ProgressWriter`), then *done* with ``report``,
    ``report_sha256`` (:func:`report_sha256`), ``row_count``, ``rows_sha256`` and
    ``finished_at``. Any exception: rollback, *failed* with :func:`error_line` and
    ``finished_at``, traceback to the app log; an exception that is not an ``Exception``
    (``KeyboardInterrupt``, ``SystemExit`` of a worker told to stop) is stored as
    ``"interrupted: <type>..."`` and raised again. If even the failure cannot be written
    (the database is gone) that error is raised.
    """
    if not _claim(run_id):
        logger.info("validation run %s is not queued; nothing to do", run_id)
        return None
    try:
        run = db.session.get(ValidationRun, run_id)
        assert run is not None
        study = run.study
        run.instrument_versions = [
            {
                "id": version.id,
                "key": version.instrument.key,
                "version": version.version,
                "content_hash": version.content_hash,
            }
            for version in study.instrument_versions
        ]
        wave, include_excluded, seed = run.wave, run.include_excluded, run.seed
        group = run.group_variable
        requested_at = run.requested_at
        db.session.commit()
        report = validate(
            study,
            wave=wave,
            include_excluded=include_excluded,
            seed=seed,
            group=group,
            progress=_ProgressWriter(run_id, progress_hook),
            # the hypotheses that stood when the run was asked for
            hypotheses_before=requested_at,
        )
        digest = report_sha256(report)  # ValueError for a NaN before anything is stored
        run = db.session.get(ValidationRun, run_id)
        assert run is not None
        run.report = report
        run.report_sha256 = digest
        run.row_count = report["inputs"]["rows"]
        run.rows_sha256 = report["inputs"]["rows_sha256"]
        run.status = RunStatus.DONE
        run.finished_at = utcnow()
        db.session.commit()
        return RunStatus.DONE.value
    except BaseException as error:
        db.session.rollback()
        line = error_line(error)
        if not isinstance(error, Exception):  # the worker is stopping (signal, Ctrl-C)
            line = f"interrupted: {line}"
        logger.exception("validation run %s failed: %s", run_id, line)
        _mark_failed(run_id, line)
        db.session.commit()
        if not isinstance(error, Exception):
            raise
        return RunStatus.FAILED.value


def _claim(run_id: int) -> bool:
    """queued → running, atomically (a second worker given the same run gets False)."""
    table = ValidationRun.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == run_id, table.c.status == RunStatus.QUEUED.value)
        .values(
            status=RunStatus.RUNNING.value,
            started_at=utcnow(),
            progress_label="starting",
        )
    )
    db.session.commit()
    return result.rowcount == 1


def _mark_failed(run_id: int, message: str, *, now: datetime | None = None) -> bool:
    """A queued or running run → failed with ``message`` (flushed); False when it is not
    active any more."""
    table = ValidationRun.__table__
    result = db.session.execute(
        update(table)
        .where(table.c.id == run_id, table.c.status.in_([s.value for s in ACTIVE_STATUSES]))
        .values(status=RunStatus.FAILED.value, error=message, finished_at=now or utcnow())
    )
    return result.rowcount == 1


def error_line(error: BaseException) -> str:
    """``"<exception type>: <message>"`` on one line (whitespace runs become one space),
    at most MAX_ERROR_CHARACTERS.

    >>> error_line(ValueError("instrument version 3:\\n  stored content does not match"))
    'ValueError: instrument version 3: stored content does not match'
    >>> error_line(KeyboardInterrupt())
    'KeyboardInterrupt'
    """
    message = " ".join(str(error).split())
    line = f"{type(error).__name__}: {message}" if message else type(error).__name__
    if len(line) > MAX_ERROR_CHARACTERS:
        line = line[: MAX_ERROR_CHARACTERS - 1] + "…"
    return line


# -- runs whose worker is gone ---------------------------------------------------------------
def fail_interrupted_runs(*, now: datetime | None = None) -> list[int]:
    """Mark failed (flushed) the queued or running runs whose worker has gone; return
    their ids.

    Thread runs whose process on this host has ended (:func:`survey.jobs.thread_worker.
    process_gone`) get :data:`INTERRUPTED`; RQ runs whose RQ job RQ ended without the run
    finishing (a killed work horse, a stopped or canceled job; asked only when the app
    has ``REDIS_URL`` and Redis answers) get what RQ recorded.
    """
    failed = []
    redis = jobs.redis_connection()
    runs = db.session.scalars(
        select(ValidationRun)
        .where(ValidationRun.status.in_(ACTIVE_STATUSES))
        .order_by(ValidationRun.id)
    )
    for run in list(runs):
        message = None
        if run.backend == jobs.THREAD and process_gone(run.job_id):
            message = INTERRUPTED
        elif run.backend == jobs.RQ and redis is not None and run.job_id:
            try:
                ended = rq_queue.ended(redis, run.job_id)
            except rq_queue.QueueUnavailable:
                logger.warning("RQ runs not checked: Redis did not answer", exc_info=True)
                redis = None  # ask no more this time
                continue
            if ended is not None:
                message = f"interrupted: {ended.reason}"
        if message is not None and _mark_failed(run.id, message, now=now):
            failed.append(run.id)
    if failed:
        db.session.expire_all()  # the runs just failed were changed past the ORM
        logger.warning("validation runs %s: worker gone, marked failed", failed)
    return failed


def recover_interrupted() -> list[int]:
    """:func:`fail_interrupted_runs` in its own transaction (committed): for a page or a
    command to call before it shows runs, while its own session has written nothing."""
    return jobs.run_in_own_session(fail_interrupted_runs)


# -- reading ---------------------------------------------------------------------------------
def runs_of(study: Study, limit: int = 20) -> list[ValidationRun]:
    """The study's runs, newest first."""
    return list(
        db.session.scalars(
            select(ValidationRun)
            .where(ValidationRun.study_id == study.id)
            .order_by(ValidationRun.requested_at.desc(), ValidationRun.id.desc())
            .limit(limit)
        )
    )


def run_of(study: Study, run_id: int) -> ValidationRun | None:
    """Run ``run_id`` if it is one of ``study``'s, else None (a 404 for the view)."""
    run = db.session.get(ValidationRun, run_id)
    return run if run is not None and run.study_id == study.id else None


def latest_done(study: Study) -> ValidationRun | None:
    """The study's most recently finished done run, or None."""
    return db.session.scalar(
        select(ValidationRun)
        .where(ValidationRun.study_id == study.id, ValidationRun.status == RunStatus.DONE)
        .order_by(ValidationRun.finished_at.desc(), ValidationRun.id.desc())
        .limit(1)
    )


def status_of(run: ValidationRun) -> dict[str, Any]:
    """A run's state as JSON-ready values, for a status page or its JSON endpoint: ``id``,
    ``status``, ``active``, ``backend``, ``wave``, ``include_excluded``, ``seed``,
    ``progress`` (``done``, ``total``, ``label``, ``share`` from 0 to 1), ``error``,
    ``requested_at``, ``started_at``, ``finished_at`` (ISO 8601 or None), ``row_count``,
    ``report_sha256``."""

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value is not None else None

    return {
        "id": run.id,
        "status": run.status,
        "active": run.active,
        "backend": run.backend,
        "wave": run.wave,
        "include_excluded": run.include_excluded,
        "seed": run.seed,
        "group": run.group_variable,
        "progress": {
            "done": run.progress_done,
            "total": run.progress_total,
            "label": run.progress_label,
            "share": float(run.share_done),
        },
        "error": run.error,
        "requested_at": moment(run.requested_at),
        "started_at": moment(run.started_at),
        "finished_at": moment(run.finished_at),
        "row_count": run.row_count,
        "report_sha256": run.report_sha256,
    }


def follow(
    run_id: int,
    *,
    interval: float = 0.5,
    timeout: float | None = None,
    on_progress: Callable[[ValidationRun], None] | None = None,
) -> ValidationRun:
    """Read run ``run_id`` again every ``interval`` seconds until it is neither queued nor
    running (e.g. the command line waiting on an RQ worker), calling ``on_progress`` with
    each reading; returns the finished run, or the active one when ``timeout`` seconds
    passed. Each reading ends the session's transaction (rollback: nothing is written)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        db.session.rollback()  # a new snapshot: see what the worker committed
        run = db.session.get(ValidationRun, run_id)
        if run is None:
            raise LookupError(f"no validation run {run_id}")
        if on_progress is not None:
            on_progress(run)
        if not run.active or (deadline is not None and time.monotonic() >= deadline):
            return run
        time.sleep(interval)
