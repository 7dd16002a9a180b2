"""Fuzz every route of the app for a long time; exit 1 if any request got a 5xx.

The fuzzer of ``tests/survey/test_fuzz_routes.py`` (``tools.route_fuzzer``), run longer:
on a fresh database (a SQLite file in a temporary folder, or the PostgreSQL database of
``--pg-url``, which is emptied), it builds the world of ``tools.fuzz_world`` and sends
about ``--requests`` hostile requests, spread evenly over every route of ``app.url_map``
(but ``static``) and sent as anonymous, participant, researcher and admin, half with CSRF
protection off and half with it on (``--csrf``). It prints the request count, a table of
statuses per role and every 5xx with its route, input and the line of our code it came
from. Requests go through the app's test client in this process: nothing listens on a port.

Usage::

    .venv/bin/python tools/fuzz_routes.py --requests 20000 --database sqlite --seed 1
    .venv/bin/python tools/fuzz_routes.py --database postgresql \\
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/fuzz
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import platform
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:  # run as a script: make the checkout's packages importable
    sys.path.insert(0, str(REPO))

from tools.databases import KINDS, describe, fresh_database  # noqa: E402
from tools.fuzz_world import ROLES, build_world  # noqa: E402
from tools.route_fuzzer import RouteFuzzer, Tally, Target  # noqa: E402


def fuzz_once(url: str, csrf: bool, requests: int, seed_value: int, folder: Path) -> Tally:
    from flask_migrate import upgrade

    from survey import create_app

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": csrf},
        instance_path=str(folder / "instance"),
    )
    app.logger.setLevel(logging.ERROR)  # the login rate limit warns at every refusal
    with app.app_context():
        upgrade()
    fuzzer = RouteFuzzer(app, build_world(app))
    examples = max(1, math.ceil(requests / (len(fuzzer.targets) * len(ROLES))))
    started = time.monotonic()

    def progress(target: Target, tally: Tally) -> None:
        print(
            f"  {tally.requests:>7} requests, {len(tally.findings)} kinds of 5xx "
            f"({time.monotonic() - started:.0f} s) {target.rule}",
            flush=True,
        )

    print(f"CSRF {'on' if csrf else 'off'}: {examples} requests per route × {len(ROLES)} roles")
    tally = fuzzer.run(examples, seed_value=seed_value, progress=progress)
    from survey.extensions import db

    with app.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return tally


def merge(tallies: list[Tally]) -> Tally:
    merged = Tally()
    for tally in tallies:
        for role, counts in tally.statuses.items():
            merged.statuses[role].update(counts)
        merged.endpoints.update(tally.endpoints)
        for key, finding in tally.findings.items():
            if key in merged.findings:
                merged.findings[key].count += finding.count
            else:
                merged.findings[key] = finding
    return merged


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=20000, help="about this many (20000)")
    parser.add_argument("--database", choices=KINDS, default="sqlite")
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("TEST_DATABASE_URL"),
        help="the PostgreSQL database to use, EMPTIED first (default: $TEST_DATABASE_URL)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--csrf", choices=("off", "on", "both"), default="both")
    args = parser.parse_args(argv)
    if args.requests < 1:
        parser.error("--requests must be positive")
    if args.database == "postgresql" and not args.pg_url:
        parser.error("--database postgresql needs --pg-url (or TEST_DATABASE_URL)")

    modes = {"off": [False], "on": [True], "both": [False, True]}[args.csrf]
    started = time.monotonic()
    tallies = []
    with tempfile.TemporaryDirectory(prefix="fuzz-routes-") as tmp:
        for csrf in modes:
            url = fresh_database(args.database, Path(tmp), args.pg_url)
            if not tallies:
                database = describe(url)
            tallies.append(fuzz_once(url, csrf, args.requests // len(modes), args.seed, Path(tmp)))
    tally = merge(tallies)
    seconds = time.monotonic() - started

    date = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    print()
    print(
        f"Route fuzzer, {date}: {tally.requests} requests to {len(tally.endpoints)} routes "
        f"in {seconds:.0f} s on {database}, CSRF {args.csrf}, seed {args.seed}; "
        f"{os.cpu_count()} CPUs, Python {platform.python_version()}."
    )
    print()
    print(tally.table())
    print()
    if tally.findings:
        print(f"{len(tally.findings)} kinds of 5xx:")
        print(tally.findings_report())
        return 1
    print("No 5xx.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
