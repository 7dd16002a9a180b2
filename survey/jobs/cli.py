"""`flask jobs worker [--burst]`: an RQ worker on the ``validation`` queue of ``REDIS_URL``.

The worker is an RQ :class:`~rq.SimpleWorker` running jobs inside this command's app
(:mod:`survey.jobs.rq_worker`); start as many as the machines have cores to spare, on any
machine that reaches the same database and Redis.
"""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from survey.jobs import backends, rq_queue
from survey.jobs.rq_worker import make_worker

jobs_cli = AppGroup("jobs", help="Background jobs (validation runs).")


@jobs_cli.command("worker")
@click.option("--burst", is_flag=True, help="Run the queued jobs, then stop.")
@click.option("--name", default=None, help="The worker's name in RQ (default: RQ's).")
def worker_command(burst: bool, name: str | None) -> None:
    """Run validation jobs from the RQ queue "validation" on REDIS_URL."""
    if not current_app.config.get("REDIS_URL"):
        raise click.ClickException(
            "REDIS_URL is not set: validation runs go to the web server's own worker thread "
            "(no worker to start). Set REDIS_URL to run them on RQ workers."
        )
    if backends.configured_backend() != backends.RQ:
        click.echo(
            "note: JOBS_BACKEND=thread: this app hands new runs to its own thread, not to "
            "this worker; it runs what is already queued on RQ.",
            err=True,
        )
    worker = make_worker(name=name)
    click.echo(f"RQ worker {worker.name} on queue {rq_queue.QUEUE_NAME!r}", err=True)
    worker.work(burst=burst, with_scheduler=False)


def register_jobs_cli(app: Flask) -> None:
    app.cli.add_command(jobs_cli)
