"""`flask webhooks deliver [--once] [--interval SECONDS]`: send what is due.

A round: notice the waves that have opened for participants (``wave.opened``, committed
once per round), then attempt every delivery that is due (new ones and retries whose time
has come), each attempt in its own transaction (the claim is committed before the request
is sent, the outcome after: a second process never sends the same delivery at the same
time). Without ``--once`` rounds repeat every ``--interval`` seconds (default 60) until
interrupted; with it, one round and exit (for cron). Prints one line per round.

Deliveries are also attempted right after the request that created them commits (the web
server's worker thread, or the RQ queue with ``REDIS_URL``); this command is what retries
them on schedule and what announces opening waves.
"""

from __future__ import annotations

import time

import click
from flask import Flask
from flask.cli import AppGroup

from survey.extensions import db
from survey.models import DeliveryStatus
from survey.services.webhooks import dispatch, due

webhooks_cli = AppGroup("webhooks", help="Webhook deliveries (signed study events).")


def deliver_round() -> tuple[int, dispatch.Tally]:
    """One round: ``wave.opened`` detection (committed), then the due deliveries."""
    try:
        opened = due.emit_opened_waves()
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return opened, dispatch.run_due()


def _summary(opened: int, tally: dispatch.Tally) -> str:
    counts = tally.counts
    return (
        f"wave.opened: {opened} new; attempted {tally.attempted}: "
        f"{counts.get(DeliveryStatus.DELIVERED, 0)} delivered, "
        f"{counts.get(DeliveryStatus.PENDING, 0)} to retry, "
        f"{counts.get(DeliveryStatus.FAILED, 0)} failed"
    )


@webhooks_cli.command("deliver")
@click.option("--once", is_flag=True, help="One round, then exit (e.g. from cron).")
@click.option(
    "--interval",
    type=click.IntRange(1, 3600),
    default=60,
    show_default=True,
    help="Seconds between rounds (without --once).",
)
def deliver_command(once: bool, interval: int) -> None:
    """Announce opening waves and send the due webhook deliveries (retries included)."""
    while True:
        opened, tally = deliver_round()
        click.echo(_summary(opened, tally))
        if once:
            return
        time.sleep(interval)


def register_webhooks_cli(app: Flask) -> None:
    app.cli.add_command(webhooks_cli)
