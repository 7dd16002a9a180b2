"""Participants in parallel while gunicorn workers are killed: are answers lost or doubled?

On a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database of
``--pg-url``, which is emptied first):

1. ``flask demo setup`` migrates it and creates the demo study; ``flask studies
   add-participants`` adds ``--participants`` participants (the app's own CLI).
2. gunicorn serves ``wsgi:app`` on a free loopback port (``--workers`` × ``--threads``).
3. ``--concurrency`` client threads (real HTTP, stdlib ``http.client``) each take
   participants in turn and, like a browser, open the link, consent and then GET and POST
   every page of the questionnaire with valid answers until it is complete. Every
   ``--double-every``-th page POST and consent is sent twice at the same moment on two
   connections (a double click). A request that fails without an answer (connection reset,
   a 5xx) is sent again after a short pause, up to ``--retries`` times, as a user would
   re-submit.
4. Meanwhile a killer thread sends SIGKILL to a random worker (a child of the gunicorn
   master, by PID) every ``--kill-interval`` seconds, ``--kills`` times; the master starts
   a new worker each time.
5. Everything stops after ``--time-cap`` seconds at most. gunicorn is stopped, and the
   answers are counted in the database: **expected** (one per item of every page the
   server confirmed with its redirect), **stored**, **lost** (confirmed but missing or
   with another value), **duplicated** (more than one row per session and item), plus
   consent records per participant, request statuses, retries and workers killed.

Loopback only; the client threads and the server share the machine.

Usage::

    .venv/bin/python benchmarks/load_fault.py --database sqlite
    .venv/bin/python benchmarks/load_fault.py --database postgresql \\
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/loadtest --redis-url redis://127.0.0.1:6379/7
"""

from __future__ import annotations

import argparse
import http.client
import itertools
import os
import platform
import random
import secrets
import signal
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import web_bench
from web_bench import (
    CSRF_RE,
    DEFAULT_REDIS_URL,
    DEMO_SLUG,
    LINK_RE,
    Client,
    Participant,
    Questionnaire,
    Reply,
    app_environment,
    flask_cli,
    gunicorn_master,
    remember_cookie,
)

REPO = web_bench.REPO
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from tools.databases import KINDS, describe, fresh_database  # noqa: E402

RETRY_PAUSE = 0.3  # seconds before a re-submission (a user is not faster)


class GaveUp(Exception):
    """A request failed ``--retries`` + 1 times, or the time cap passed."""


# -- what the clients saw ----------------------------------------------------------------------
@dataclass
class Record:
    statuses: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    double_submits: int = 0
    gave_up: list[str] = field(default_factory=list)
    # participant token → {item id: value} of every page the server confirmed.
    confirmed: dict[str, dict[str, int]] = field(default_factory=dict)
    completed: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def status(self, label: str) -> None:
        with self.lock:
            self.statuses[label] += 1


class Browser:
    """One participant's browser: a keep-alive connection, a cookie, re-submission on failure."""

    def __init__(self, port: int, participant: Participant, args, record: Record, deadline):
        self.port = port
        self.participant = participant
        self.args = args
        self.record = record
        self.deadline = deadline
        self.client = Client(port)

    def send(
        self, method: str, path: str, body: str | None = None, client: Client | None = None
    ) -> Reply:
        client = client or self.client
        for attempt in range(self.args.retries + 1):
            if time.monotonic() > self.deadline:
                raise GaveUp("time cap")
            if attempt:
                with self.record.lock:
                    self.record.retries += 1
                time.sleep(RETRY_PAUSE)
            try:
                reply = client.request(method, path, body=body, cookie=self.participant.cookie)
            except (OSError, http.client.HTTPException) as error:
                self.record.status(type(error).__name__)
                continue
            self.record.status(str(reply.status))
            if reply.status < 500:
                remember_cookie(self.participant, reply)
                return reply
        raise GaveUp(f"{method} {path.replace(self.participant.token, '<token>')}")

    def twice(self, path: str, body: str) -> list[Reply]:
        """The same POST on two connections at once (a double click)."""
        with self.record.lock:
            self.record.double_submits += 1
        second = Client(self.port)
        replies: list[Reply | BaseException] = [None, None]  # type: ignore[list-item]

        def post(index: int, client: Client) -> None:
            try:
                replies[index] = self.send("POST", path, body, client)
            except BaseException as error:  # noqa: BLE001  (re-raised below, in this thread)
                replies[index] = error

        threads = [
            threading.Thread(target=post, args=(i, c)) for i, c in ((0, self.client), (1, second))
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        second.close()
        errors = [reply for reply in replies if isinstance(reply, BaseException)]
        if len(errors) == 2:
            raise errors[0]
        return [reply for reply in replies if isinstance(reply, Reply)]

    def post(self, path: str, body: str, double: bool) -> list[Reply]:
        return self.twice(path, body) if double else [self.send("POST", path, body)]


def answer_everything(
    browser: Browser, questionnaire: Questionnaire, next_ticket: Callable[[], int]
) -> None:
    """Link, consent, then every page; confirmed pages go into the record."""
    participant, record = browser.participant, browser.record
    path = participant.path
    reply = browser.send("GET", path)
    match = CSRF_RE.search(reply.body)
    if reply.status != 200 or match is None:
        raise GaveUp(f"GET link: {reply.status}")
    participant.csrf = match.group(1).decode()
    consent = urlencode({"form_token": participant.csrf, "agree": "I agree"})
    replies = browser.post(path, consent, double=next_ticket() % browser.args.double_every == 0)
    if not any(r.status == 302 for r in replies):
        raise GaveUp(f"consent: {[r.status for r in replies]}")
    confirmed = record.confirmed.setdefault(participant.token, {})
    for number in range(1, questionnaire.total + 1):
        page_path = f"{path}/page/{number}"
        reply = browser.send("GET", page_path)
        if reply.status != 200:
            raise GaveUp(f"GET page {number}: {reply.status}")
        body = questionnaire.form(participant, number)
        answers = {key: int(value) for key, value in parse_qsl(body) if key != "form_token"}
        double = next_ticket() % browser.args.double_every == 0
        following = f"{path}/page/{number + 1}" if number < questionnaire.total else f"{path}/done"
        replies = browser.post(page_path, body, double)
        locations = {urlsplit(r.headers.get("location", "")).path for r in replies}
        if not any(r.status == 302 for r in replies) or not locations & {following, f"{path}/done"}:
            raise GaveUp(
                f"POST page {number}: {[(r.status, r.headers.get('location')) for r in replies]}"
            )
        with record.lock:
            confirmed.update(answers)
    with record.lock:
        record.completed += 1


def run_participants(port, participants, questionnaire, args, deadline) -> Record:
    record = Record()
    queue = iter(participants)
    queue_lock = threading.Lock()
    tickets = itertools.count(1)  # numbers the POSTs; every double_every-th is doubled

    def next_ticket() -> int:
        with queue_lock:
            return next(tickets)

    def worker() -> None:
        while time.monotonic() < deadline:
            with queue_lock:
                participant = next(queue, None)
            if participant is None:
                return
            browser = Browser(port, participant, args, record, deadline)
            try:
                answer_everything(browser, questionnaire, next_ticket)
            except GaveUp as error:
                with record.lock:
                    record.gave_up.append(str(error))
            finally:
                browser.client.close()

    threads = [threading.Thread(target=worker) for _ in range(args.concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return record


# -- the fault: SIGKILL to workers -----------------------------------------------------------
def worker_pids(master_pid: int) -> list[int]:
    """The gunicorn master's child processes (its workers), from /proc."""
    try:
        children = Path(f"/proc/{master_pid}/task/{master_pid}/children").read_text()
    except OSError:
        return []
    return [int(pid) for pid in children.split()]


def kill_workers(master_pid: int, kills: int, interval: float, stop: threading.Event, killed: list):
    rng = random.Random(7)
    while len(killed) < kills and not stop.wait(interval):
        pids = worker_pids(master_pid)
        if not pids:
            continue
        pid = rng.choice(pids)
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue
        killed.append(pid)
        print(f"  killed worker {pid} ({len(killed)}/{kills})", flush=True)


# -- counting in the database ----------------------------------------------------------------
def count_answers(database_url: str, record: Record) -> dict[str, int]:
    from sqlalchemy import func, select

    from survey import create_app
    from survey.extensions import db
    from survey.models import Answer, ConsentRecord, ResponseSession
    from survey.models import Participant as ParticipantRow
    from survey.services.tokens import hash_token

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url})
    with app.app_context():
        hashes = {hash_token(token): token for token in record.confirmed}
        rows = db.session.execute(
            select(ParticipantRow.token_hash, Answer.item_id, Answer.value)
            .join(ResponseSession, ResponseSession.participant_id == ParticipantRow.id)
            .join(Answer, Answer.session_id == ResponseSession.id)
            .where(ParticipantRow.token_hash.in_(list(hashes)))
        ).all()
        consents = db.session.execute(
            select(ParticipantRow.token_hash, func.count(ConsentRecord.id))
            .join(ConsentRecord, ConsentRecord.participant_id == ParticipantRow.id)
            .where(ParticipantRow.token_hash.in_(list(hashes)), ConsentRecord.decision == "given")
            .group_by(ParticipantRow.token_hash)
        ).all()
        completed = db.session.scalar(
            select(func.count(ResponseSession.id))
            .join(ParticipantRow, ResponseSession.participant_id == ParticipantRow.id)
            .where(
                ParticipantRow.token_hash.in_(list(hashes)),
                ResponseSession.completed_at.is_not(None),
            )
        )
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()

    stored: dict[tuple[str, str], list[int | None]] = {}
    for token_hash, item_id, value in rows:
        stored.setdefault((hashes[token_hash], item_id), []).append(value)
    expected = {
        (token, item): value
        for token, answers in record.confirmed.items()
        for item, value in answers.items()
    }
    lost = sum(1 for key, value in expected.items() if value not in stored.get(key, []))
    return {
        "expected": len(expected),
        "stored": len(rows),
        "lost": lost,
        "duplicated": sum(len(values) - 1 for values in stored.values()),
        "unexpected": sum(1 for key in stored if key not in expected),
        "consent_given_rows": sum(count for _, count in consents),
        "participants_with_consent": len(consents),
        "sessions_completed": completed or 0,
    }


# -- main -------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=KINDS, default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="the PostgreSQL database to use, EMPTIED first (default: $TEST_DATABASE_URL)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        help="shared rate-limit storage for several workers ($REDIS_URL or %(default)s)",
    )
    parser.add_argument("--participants", type=int, default=200, help="(200)")
    parser.add_argument("--concurrency", type=int, default=16, help="client threads (16)")
    parser.add_argument("--workers", type=int, help="gunicorn workers (SQLite 2, PostgreSQL 4)")
    parser.add_argument("--threads", type=int, default=4, help="threads per worker (4)")
    parser.add_argument("--kills", type=int, default=6, help="workers to SIGKILL (6)")
    parser.add_argument("--kill-interval", type=float, default=3.0, help="seconds (3)")
    parser.add_argument("--double-every", type=int, default=5, help="every n-th POST twice (5)")
    parser.add_argument("--retries", type=int, default=5, help="re-submissions per request (5)")
    parser.add_argument("--time-cap", type=float, default=300.0, help="seconds of load (300)")
    parser.add_argument("--seed", type=int, default=1, help="answers drawn per participant (1)")
    args = parser.parse_args(argv)
    if args.database == "postgresql" and not args.pg_url:
        parser.error("--database postgresql needs --pg-url (or TEST_DATABASE_URL)")
    if min(args.participants, args.concurrency, args.threads, args.double_every) < 1:
        parser.error("--participants, --concurrency, --threads and --double-every must be positive")
    workers = args.workers or (2 if args.database == "sqlite" else 4)

    questionnaire = Questionnaire()
    with tempfile.TemporaryDirectory(prefix="load-fault-") as tmp:
        folder = Path(tmp)
        url = fresh_database(args.database, folder, args.pg_url)
        env = app_environment(url, secrets.token_hex(32))
        env.pop("REDIS_URL", None)
        if args.redis_url:
            env["REDIS_URL"] = args.redis_url
        print(f"[{args.database}] demo setup and {args.participants} participants ...", flush=True)
        flask_cli(env, "demo", "setup")
        output = flask_cli(env, "studies", "add-participants", DEMO_SLUG, str(args.participants))
        participants = [
            Participant(i, token, rng=random.Random(args.seed * 100_003 + i))
            for i, token in enumerate(LINK_RE.findall(output))
        ]
        assert len(participants) == args.participants, output[-500:]

        log_path = folder / "gunicorn.log"
        killed: list[int] = []
        with gunicorn_master(env, workers, args.threads, log_path) as (master, port):
            print(
                f"[{args.database}] gunicorn {workers} × {args.threads} on port {port}", flush=True
            )
            stop = threading.Event()
            killer = threading.Thread(
                target=kill_workers, args=(master.pid, args.kills, args.kill_interval, stop, killed)
            )
            started = time.monotonic()
            killer.start()
            try:
                record = run_participants(
                    port, participants, questionnaire, args, started + args.time_cap
                )
            finally:
                stop.set()
                killer.join()
            seconds = time.monotonic() - started
        log = log_path.read_text(encoding="utf-8", errors="replace")
        counts = count_answers(url, record)
        database = describe(url)

    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    requests = sum(record.statuses.values())
    statuses = ", ".join(f"{k}: {v}" for k, v in sorted(record.statuses.items()))
    print()
    print(
        f"Load and fault, {date}: {database}, gunicorn {workers} workers × {args.threads} "
        f"threads, {args.participants} participants from {args.concurrency} client threads, "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}; {seconds:.0f} s."
    )
    print(f"  participants completed: {record.completed} of {args.participants}")
    print(f"  requests: {requests} ({statuses})")
    print(f"  retries: {record.retries}; double submits: {record.double_submits}")
    print(f"  workers killed: {len(killed)}; server tracebacks: {log.count('Traceback')}")
    print(
        f"  answers: expected {counts['expected']}, stored {counts['stored']}, "
        f"lost {counts['lost']}, duplicated {counts['duplicated']}, "
        f"unexpected {counts['unexpected']}"
    )
    print(
        f"  consent: {counts['consent_given_rows']} 'given' rows for "
        f"{counts['participants_with_consent']} participants; sessions completed in the "
        f"database: {counts['sessions_completed']}"
    )
    if record.gave_up:
        print(f"  gave up ({len(record.gave_up)}): {Counter(record.gave_up).most_common(5)}")
    bad = counts["lost"] or counts["duplicated"] or counts["unexpected"]
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
