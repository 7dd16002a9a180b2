"""Web throughput of the participant pages under gunicorn, on SQLite and on PostgreSQL.

For each database (a fresh SQLite file in a temporary folder; a dedicated PostgreSQL
database ``bench_web``, created and dropped here) and each gunicorn configuration:

1. ``flask demo setup`` migrates the empty database, loads IEM-DP 1.0.0 and creates the demo
   study; ``flask studies add-participants`` adds ``--participants`` participants.
2. gunicorn serves ``wsgi:app`` on a free loopback port (``--workers``, ``--threads``).
3. Preparation (not measured): every participant opens their link, consents and submits
   ``i % 9`` pages, so participants stand on different pages.
4. Two measured scenarios, ``--requests`` requests each from ``--concurrency`` client
   threads (stdlib ``http.client``, keep-alive when the server allows it), each capped at
   ``--time-cap`` seconds:

   ``render``  GET of a questionnaire page the participant may see (pages 1..reached);
               correct when 200 and the page says "Page n of 10".
   ``submit``  POST of the participant's next page, every item answered (attention checks
               as asked), with the CSRF token and session cookie from the participant's
               earlier GET; correct when 302 to the following page. Pages 1-9 are
               cycled (page 10 would complete the questionnaire), so later rounds are
               resubmissions, which update the stored answers in place.

   ``api answer``  POST ``/api/v1/participants/{p}/answers`` of ONE answer (the chat's way:
               one message per item) with a fresh ``Idempotency-Key``, for the
               participant's next item (from the previous reply's ``next``); correct when
               200 and ``stored`` is 1.
   ``api page``    the same endpoint with a whole page of answers (as many items as the
               next page has), so it compares with ``submit``.

   The API participants (two sets of ``--participants``, one per API scenario) are other
   participants of the same study, enrolled (``POST
   /api/v1/participants``) and consented through the API during preparation with a key
   made by ``flask api create-key``; the answers are stamped ``delivery_mode = chat``.

   Each client thread owns its participants, so no two requests of one participant run
   at the same time.

Reports requests/s (correct responses per second of wall time), median, p95 and p99
latency and the error count; prints a Markdown table and writes ``benchmarks/results/web.json``
and ``web.md``. Client threads and server share the machine, so the numbers are for
comparing databases and configurations on one machine, not capacity figures.

Usage::

    .venv/bin/python benchmarks/web_bench.py                  # SQLite and PostgreSQL
    .venv/bin/python benchmarks/web_bench.py --skip-postgres --requests 500
    .venv/bin/python benchmarks/web_bench.py --threads 1 4    # sync and gthread workers
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import random
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "results"

HOST = "127.0.0.1"
DEMO_SLUG = "iemdp-demo"
BENCH_DATABASE = "bench_web"
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LAST_SUBMITTED_PAGE = 9  # never submit the last page: the session would complete
LINK_RE = re.compile(r"/p/([A-Za-z0-9_-]{43})\b")
# Participant forms carry a form token derived from the link (no session cookie needed).
CSRF_RE = re.compile(rb'name="form_token" value="([^"]+)"')
REQUEST_TIMEOUT = 30.0


# -- HTTP client -----------------------------------------------------------------------------
@dataclass
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes
    seconds: float
    ok: bool = False  # set by the scenario that checks the reply


class Client:
    """One keep-alive connection per client thread (http.client reopens it when closed)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.connection = http.client.HTTPConnection(HOST, port, timeout=REQUEST_TIMEOUT)

    def request(
        self,
        method: str,
        path: str,
        *,
        body: str | None = None,
        cookie: str = "",
        headers: dict[str, str] | None = None,
    ) -> Reply:
        extra = headers or {}
        headers = {"Host": f"{HOST}:{self.port}"}
        if cookie:
            headers["Cookie"] = cookie
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        headers.update(extra)
        start = time.perf_counter()
        try:
            self.connection.request(method, path, body=body, headers=headers)
            response = self.connection.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException):
            self.connection.close()  # a fresh connection for the next request
            raise
        seconds = time.perf_counter() - start
        return Reply(
            response.status, {k.lower(): v for k, v in response.getheaders()}, data, seconds
        )

    def close(self) -> None:
        self.connection.close()


# -- the participants' state -----------------------------------------------------------------
@dataclass
class Participant:
    index: int
    token: str
    cookie: str = ""
    csrf: str = ""
    next_page: int = 1  # the page this participant submits next
    reached: int = 1  # the furthest page they may open
    rng: random.Random = field(default_factory=random.Random, repr=False)

    @property
    def path(self) -> str:
        return f"/p/{self.token}"


class Questionnaire:
    """Valid answers for any page, from the instrument definition."""

    def __init__(self) -> None:
        if str(REPO) not in sys.path:
            sys.path.insert(0, str(REPO))
        from instruments.loader import instrument_path, load_instrument

        definition = load_instrument(instrument_path("iemdp", "1.0.0"))
        self.pages = definition.pages()
        self.values = {
            entry.id: definition.scale(entry.scale).values
            for page in self.pages
            for entry in page.entries
        }
        self.expected = {check.id: check.expected for check in definition.attention_checks}

    @property
    def total(self) -> int:
        return len(self.pages)

    def form(self, participant: Participant, number: int) -> str:
        answers = {"form_token": participant.csrf}
        for entry in self.pages[number - 1].entries:
            if entry.id in self.expected:
                answers[entry.id] = str(self.expected[entry.id])
            else:
                answers[entry.id] = str(participant.rng.choice(self.values[entry.id]))
        return urlencode(answers)


def remember_cookie(participant: Participant, reply: Reply) -> None:
    cookie = reply.headers.get("set-cookie")
    if cookie:
        participant.cookie = cookie.split(";", 1)[0]


def open_link(client: Client, participant: Participant) -> None:
    reply = client.request("GET", participant.path)
    if reply.status != 200:
        raise RuntimeError(f"GET link: {reply.status}")
    remember_cookie(participant, reply)
    match = CSRF_RE.search(reply.body)
    if match is None:
        raise RuntimeError("no form token on the consent page")
    participant.csrf = match.group(1).decode()
    body = urlencode({"form_token": participant.csrf, "agree": "I agree"})
    reply = client.request("POST", participant.path, body=body, cookie=participant.cookie)
    if reply.status != 302:
        raise RuntimeError(f"POST consent: {reply.status}")
    remember_cookie(participant, reply)


def submit_page(client: Client, participant: Participant, questionnaire: Questionnaire) -> Reply:
    """POST the participant's next page; on success move them on (cycling pages 1-9)."""
    number = participant.next_page
    reply = client.request(
        "POST",
        f"{participant.path}/page/{number}",
        body=questionnaire.form(participant, number),
        cookie=participant.cookie,
    )
    expected = f"{participant.path}/page/{number + 1}"
    if reply.status == 302 and urlsplit(reply.headers.get("location", "")).path == expected:
        participant.reached = max(participant.reached, number + 1)
        participant.next_page = number + 1 if number < LAST_SUBMITTED_PAGE else 1
        reply.ok = True
    return reply


def render_page(client: Client, participant: Participant, counter: int, total: int) -> Reply:
    number = counter % participant.reached + 1
    reply = client.request("GET", f"{participant.path}/page/{number}", cookie=participant.cookie)
    reply.ok = reply.status == 200 and f"Page {number} of {total}".encode() in reply.body
    return reply


# -- the chat API ----------------------------------------------------------------------------
@dataclass
class ApiParticipant:
    index: int
    code: str = ""
    queue: list[dict[str, Any]] = field(default_factory=list)  # the next items, in order
    rng: random.Random = field(default_factory=random.Random, repr=False)


class Api:
    """Requests of the chat API with the study's key."""

    def __init__(self, key: str, questionnaire: Questionnaire) -> None:
        self.key = key
        self.questionnaire = questionnaire

    def call(
        self, client: Client, method: str, path: str, document: Any = None, **headers: str
    ) -> tuple[Reply, Any]:
        all_headers = {"Authorization": f"Bearer {self.key}", **headers}
        body = None
        if document is not None:
            body = json.dumps(document)
            all_headers["Content-Type"] = "application/json"
        reply = client.request(method, "/api/v1" + path, body=body, headers=all_headers)
        try:
            data = json.loads(reply.body) if reply.body else None
        except ValueError:
            data = None
        return reply, data

    def value_for(self, participant: ApiParticipant, item: dict[str, Any]) -> int:
        expected = self.questionnaire.expected.get(item["item_id"])
        if expected is not None:
            return expected
        return participant.rng.choice([option["value"] for option in item["options"]])

    def enrol(self, client: Client, participant: ApiParticipant, consent_version: str) -> None:
        reply, data = self.call(
            client, "POST", "/participants", {"external_id": f"bench-{participant.index}"}
        )
        if reply.status not in (200, 201):
            raise RuntimeError(f"API enrol: {reply.status} {reply.body[:200]!r}")
        participant.code = data["participant"]
        reply, _ = self.call(
            client,
            "POST",
            f"/participants/{participant.code}/consent",
            {"decision": "given", "consent_version": consent_version},
        )
        if reply.status != 200:
            raise RuntimeError(f"API consent: {reply.status} {reply.body[:200]!r}")
        reply, data = self.call(client, "GET", f"/participants/{participant.code}/items?limit=50")
        if reply.status != 200:
            raise RuntimeError(f"API items: {reply.status} {reply.body[:200]!r}")
        participant.queue = data["items"]

    def answer(self, client: Client, participant: ApiParticipant, whole_page: bool) -> Reply:
        """POST the next item's answer (or the next page's answers); refill the queue from
        the reply's ``next`` items."""
        if not participant.queue:  # ask again (not measured)
            reply, data = self.call(
                client, "GET", f"/participants/{participant.code}/items?limit=50"
            )
            participant.queue = data["items"] if reply.status == 200 and data else []
        if not participant.queue:
            raise RuntimeError(
                f"participant {participant.code} has nothing left to answer: GET items "
                f"answered {reply.status} {reply.body[:300]!r}"
            )
        first = participant.queue[0]
        chosen = (
            [item for item in participant.queue if item["page"] == first["page"]]
            if whole_page
            else [first]
        )
        answers = [
            {"item_id": item["item_id"], "value": self.value_for(participant, item)}
            for item in chosen
        ]
        reply, data = self.call(
            client,
            "POST",
            f"/participants/{participant.code}/answers?limit=50",
            {"answers": answers},
            **{"Idempotency-Key": secrets.token_hex(16)},
        )
        if reply.status == 200 and data and data.get("stored") == len(answers):
            participant.queue = data["next"]["items"]
            reply.ok = True
        return reply


def prepare_api(
    port: int, participants: list[ApiParticipant], api: Api, consent_version: str, concurrency: int
) -> None:
    """Not measured: enrol and consent every API participant, fetch their first items."""
    in_threads(
        port,
        participants,
        concurrency,
        lambda client, participant: api.enrol(client, participant, consent_version),
        "API preparation",
    )


def in_threads(
    port: int,
    participants: list[Any],
    concurrency: int,
    prepare_one: Callable[[Client, Any], None],
    what: str,
) -> None:
    """``prepare_one(client, participant)`` for every participant from ``concurrency``
    threads (thread t: participants t, t + concurrency, ...); raises when any failed."""
    failures: list[str] = []

    def worker(own: list[Any]) -> None:
        client = Client(port)
        try:
            for participant in own:
                prepare_one(client, participant)
        except (OSError, http.client.HTTPException, RuntimeError) as error:
            failures.append(str(error))
        finally:
            client.close()

    threads = [
        threading.Thread(target=worker, args=(participants[t::concurrency],))
        for t in range(concurrency)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise RuntimeError(f"{what} failed: {failures[:3]}")


# -- running requests from client threads ----------------------------------------------------
@dataclass
class Outcome:
    latencies: list[float]
    errors: int
    error_examples: list[str]
    elapsed: float
    stopped_by_time_cap: bool


def run_clients(
    port: int,
    participants: list[Any],
    concurrency: int,
    requests: int,
    time_cap: float,
    one_request: Callable[[Client, Any, int], Reply],
) -> Outcome:
    """``requests`` requests (fewer if ``time_cap`` seconds pass) from ``concurrency``
    threads; thread t serves participants t, t + concurrency, ..."""
    tickets = iter(range(requests))
    ticket_lock = threading.Lock()
    latencies: list[float] = []
    errors: list[str] = []
    result_lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + time_cap
    capped = threading.Event()

    def worker(own: list[Participant]) -> None:
        client = Client(port)
        done = 0
        try:
            while True:
                if time.perf_counter() > deadline:
                    capped.set()
                    return
                with ticket_lock:
                    ticket = next(tickets, None)
                if ticket is None:
                    return
                participant = own[done % len(own)]
                try:
                    reply = one_request(client, participant, done // len(own))
                except (OSError, http.client.HTTPException) as error:
                    with result_lock:
                        errors.append(f"{type(error).__name__}: {error}")
                else:
                    with result_lock:
                        if reply.ok:
                            latencies.append(reply.seconds)
                        else:
                            location = reply.headers.get("location", "")
                            errors.append(f"HTTP {reply.status} {location}".rstrip())
                done += 1
        finally:
            client.close()

    groups = [participants[t::concurrency] for t in range(concurrency)]
    threads = [threading.Thread(target=worker, args=(group,)) for group in groups if group]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    return Outcome(latencies, len(errors), sorted(set(errors))[:5], elapsed, capped.is_set())


def summarise(scenario: str, outcome: Outcome) -> dict[str, Any]:
    latencies = sorted(outcome.latencies)

    def percentile(p: float) -> float | None:
        if not latencies:
            return None
        return latencies[min(len(latencies) - 1, max(0, round(p * len(latencies)) - 1))] * 1000

    return {
        "scenario": scenario,
        "requests": len(latencies) + outcome.errors,
        "ok": len(latencies),
        "errors": outcome.errors,
        "error_examples": outcome.error_examples,
        "seconds": round(outcome.elapsed, 3),
        "requests_per_second": round(len(latencies) / outcome.elapsed, 1),
        "median_ms": round(statistics.median(latencies) * 1000, 1) if latencies else None,
        "p95_ms": round(percentile(0.95), 1) if latencies else None,
        "p99_ms": round(percentile(0.99), 1) if latencies else None,
        "stopped_by_time_cap": outcome.stopped_by_time_cap,
    }


# -- the app: CLI and gunicorn ---------------------------------------------------------------
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def app_environment(database_url: str, secret_key: str) -> dict[str, str]:
    """The environment minus any SURVEY_* / DATABASE_URL of the caller, plus ours."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("SURVEY_") and name not in ("DATABASE_URL", "SECRET_KEY")
    }
    env.update(DATABASE_URL=database_url, SECRET_KEY=secret_key, PYTHONUNBUFFERED="1")
    return env


def flask_cli(env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed:\n{result.stderr}")
    return result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command() -> list[str]:
    script = Path(sys.executable).parent / "gunicorn"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


@contextmanager
def gunicorn(env: dict[str, str], workers: int, threads: int, log_path: Path) -> Iterator[int]:
    """Serve wsgi:app; yield the port; stop the server (SIGTERM, then SIGKILL) after."""
    with gunicorn_master(env, workers, threads, log_path) as (_master, port):
        yield port


@contextmanager
def gunicorn_master(
    env: dict[str, str], workers: int, threads: int, log_path: Path
) -> Iterator[tuple[subprocess.Popen[bytes], int]]:
    """:func:`gunicorn`, yielding the master process too (its children are the workers)."""
    port = free_port()
    command = [
        *gunicorn_command(),
        "--workers", str(workers),
        "--threads", str(threads),
        "--bind", f"{HOST}:{port}",
        "--graceful-timeout", "10",
        "--chdir", str(REPO),
        "wsgi:app",
    ]  # fmt: skip
    with open(log_path, "w", encoding="utf-8") as log:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        wait_until_serving(process, port, log_path)
        yield process, port
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_serving(process: subprocess.Popen[bytes], port: int, log_path: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"gunicorn exited:\n{log_path.read_text()}")
        connection = http.client.HTTPConnection(HOST, port, timeout=5)
        try:
            connection.request("GET", "/p/not-a-link")
            if connection.getresponse().status == 404:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.2)
    raise RuntimeError(f"gunicorn did not answer on port {port} within 60 s")


# -- databases -------------------------------------------------------------------------------
@contextmanager
def sqlite_database(folder: Path) -> Iterator[str]:
    yield f"sqlite:///{folder / 'bench.sqlite3'}"


def postgres_problem(admin_url: str) -> str | None:
    """Why PostgreSQL cannot be used (``None`` when it answers)."""
    try:
        from sqlalchemy import create_engine, text
    except ImportError as error:
        return str(error)
    engine = create_engine(admin_url, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as error:  # noqa: BLE001  (any failure means: skip PostgreSQL)
        return f"{type(error).__name__}: {str(error).splitlines()[0]}"
    finally:
        engine.dispose()
    return None


@contextmanager
def postgres_database(admin_url: str) -> Iterator[str]:
    """A dedicated, empty database ``bench_web`` next to ``admin_url``'s; dropped after."""
    from sqlalchemy import create_engine, make_url, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    drop = text(f'DROP DATABASE IF EXISTS "{BENCH_DATABASE}" WITH (FORCE)')
    try:
        with engine.connect() as connection:
            connection.execute(drop)  # left over from an interrupted run
            connection.execute(text(f'CREATE DATABASE "{BENCH_DATABASE}"'))
        url = make_url(admin_url).set(database=BENCH_DATABASE)
        try:
            yield url.render_as_string(hide_password=False)
        finally:
            with engine.connect() as connection:
                connection.execute(drop)
    finally:
        engine.dispose()


def database_version(url: str) -> str:
    if url.startswith("sqlite"):
        return f"SQLite {sqlite3.sqlite_version}"
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return connection.execute(text("SHOW server_version")).scalar_one().split()[0]
    finally:
        engine.dispose()


# -- one database × one server configuration -------------------------------------------------
def bench_one(
    label: str,
    database_url: str,
    threads: int,
    args: argparse.Namespace,
    questionnaire: Questionnaire,
    folder: Path,
) -> list[dict[str, Any]]:
    env = app_environment(database_url, secrets.token_hex(32))
    if args.redis_url:  # several workers need shared login counters (gunicorn.conf.py)
        env["REDIS_URL"] = args.redis_url
    print(f"[{label}, {args.workers} workers × {threads} threads] setting up ...", flush=True)
    flask_cli(env, "demo", "setup")
    output = flask_cli(env, "studies", "add-participants", DEMO_SLUG, str(args.participants))
    participants = [
        Participant(index, token, rng=random.Random(index))
        for index, token in enumerate(LINK_RE.findall(output))
    ]
    assert len(participants) == args.participants
    key = flask_cli(
        env, "api", "create-key", DEMO_SLUG, "--scopes", "enrol,deliver", "--name", "bench",
        "--rate-limit", "100000",
    ).strip().splitlines()[-1]  # fmt: skip
    api = Api(key, questionnaire)
    # one set for single answers, another for whole pages: neither runs out of items
    api_participants = [
        ApiParticipant(index, rng=random.Random(10_000 + index))
        for index in range(args.participants)
    ]
    page_participants = [
        ApiParticipant(index, rng=random.Random(10_000 + index))
        for index in range(args.participants, 2 * args.participants)
    ]

    version = database_version(database_url)
    rows = []
    log_path = folder / f"gunicorn-{label}-{threads}.log"
    with gunicorn(env, args.workers, threads, log_path) as port:
        prepare(port, participants, questionnaire, args.concurrency)
        consent_version = api_consent_version(port, api)
        prepare_api(
            port, api_participants + page_participants, api, consent_version, args.concurrency
        )
        for scenario, who, one_request in (
            ("render", participants, lambda c, p, n: render_page(c, p, n, questionnaire.total)),
            ("submit", participants, lambda c, p, _n: submit_page(c, p, questionnaire)),
            ("api answer", api_participants, lambda c, p, _n: api.answer(c, p, False)),
            ("api page", page_participants, lambda c, p, _n: api.answer(c, p, True)),
        ):
            print(f"[{label}] {scenario}: {args.requests} requests ...", flush=True)
            outcome = run_clients(
                port, who, args.concurrency, args.requests, args.time_cap, one_request
            )
            row = summarise(scenario, outcome)
            row.update(
                database=label,
                database_version=version,
                workers=args.workers,
                threads=threads,
                worker_class="gthread" if threads > 1 else "sync",
                concurrency=args.concurrency,
            )
            rows.append(row)
    row_tracebacks = log_path.read_text(encoding="utf-8", errors="replace").count("Traceback")
    for row in rows:
        row["server_tracebacks"] = row_tracebacks
    return rows


def api_consent_version(port: int, api: Api) -> str:
    client = Client(port)
    try:
        reply, data = api.call(client, "GET", "/consent")
    finally:
        client.close()
    if reply.status != 200:
        raise RuntimeError(f"API consent text: {reply.status} {reply.body[:200]!r}")
    return data["consent_version"]


def prepare(
    port: int, participants: list[Participant], questionnaire: Questionnaire, concurrency: int
) -> None:
    """Not measured: consent for everyone, then participant i submits pages 1..i % 9."""

    def prepare_one(client: Client, participant: Participant) -> None:
        open_link(client, participant)
        for _ in range(participant.index % LAST_SUBMITTED_PAGE):
            if not submit_page(client, participant, questionnaire).ok:
                raise RuntimeError(f"preparing participant {participant.index} failed")

    in_threads(port, participants, concurrency, prepare_one, "preparation")


# -- report ----------------------------------------------------------------------------------
def markdown(rows: list[dict[str, Any]], meta: dict[str, Any]) -> str:
    lines = [
        f"Web benchmark, {meta['date']}: {meta['cpus']} CPUs, Python {meta['python']}, "
        f"gunicorn {meta['gunicorn']}; {meta['participants']} participants, "
        f"{meta['requests']} requests per scenario from {meta['concurrency']} client threads "
        "on the same machine.",
        "",
        "| database | gunicorn | scenario | requests | errors | req/s | median ms | p95 ms "
        "| p99 ms |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        server = f"{row['workers']} × {row['worker_class']}"
        if row["threads"] > 1:
            server += f" ({row['threads']} threads)"
        lines.append(
            f"| {row['database']} ({row['database_version']}) | {server} | {row['scenario']} | "
            f"{row['requests']} | {row['errors']} | {row['requests_per_second']} | "
            f"{row['median_ms']} | {row['p95_ms']} | {row['p99_ms']} |"
        )
    notes = [f"- {skip}" for skip in meta["skipped"]]
    notes += [
        f"- {row['database']} {row['scenario']} ({row['threads']} threads): stopped by the time cap"
        for row in rows
        if row["stopped_by_time_cap"]
    ]
    notes += [
        f"- {row['database']} {row['scenario']} ({row['threads']} threads) errors: "
        + "; ".join(row["error_examples"])
        for row in rows
        if row["errors"]
    ]
    if notes:
        lines += ["", *notes]
    return "\n".join(lines) + "\n"


def version_of(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="per scenario (2000)")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads (8)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (2)")
    parser.add_argument(
        "--threads", type=int, nargs="+", default=[1],
        help="gunicorn threads per worker; several values run several configurations (1)",
    )  # fmt: skip
    parser.add_argument("--participants", type=int, default=200, help="(200)")
    parser.add_argument(
        "--time-cap", type=float, default=60.0, help="seconds per scenario at most (60)"
    )
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help=f"an existing database to connect to for creating {BENCH_DATABASE!r} (%(default)s)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("REDIS_URL", DEFAULT_REDIS_URL),
        help="shared login counters, needed by several workers ($REDIS_URL or %(default)s)",
    )
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--output-dir", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.participants < args.concurrency:
        parser.error("--participants must be at least --concurrency")
    if min(args.requests, args.concurrency, args.workers, *args.threads) < 1:
        parser.error("--requests, --concurrency, --workers and --threads must be positive")

    questionnaire = Questionnaire()
    databases: list[tuple[str, Callable[[Path], Any]]] = [("SQLite", sqlite_database)]
    skipped = []
    if args.skip_postgres:
        skipped.append("PostgreSQL skipped (--skip-postgres)")
    else:
        problem = postgres_problem(args.pg_url)
        if problem:
            skipped.append(f"PostgreSQL skipped: {problem}")
            print(skipped[-1], file=sys.stderr)
        else:
            databases.append(("PostgreSQL", lambda _folder: postgres_database(args.pg_url)))

    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="web-bench-") as tmp:
        for threads in args.threads:
            for label, make_database in databases:
                folder = Path(tmp) / f"{label}-{threads}"
                folder.mkdir()
                with make_database(folder) as database_url:
                    rows += bench_one(label, database_url, threads, args, questionnaire, folder)

    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "python": platform.python_version(),
        "gunicorn": version_of("gunicorn"),
        "flask": version_of("flask"),
        "sqlalchemy": version_of("sqlalchemy"),
        "psycopg": version_of("psycopg"),
        "participants": args.participants,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "time_cap_seconds": args.time_cap,
        "skipped": skipped,
    }
    table = markdown(rows, meta)
    print()
    print(table)
    args.output_dir.mkdir(parents=True, exist_ok=True)
    (args.output_dir / "web.json").write_text(
        json.dumps({"meta": meta, "results": rows}, indent=2) + "\n", encoding="utf-8"
    )
    (args.output_dir / "web.md").write_text(table, encoding="utf-8")
    print(f"wrote {args.output_dir / 'web.json'} and {args.output_dir / 'web.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
