"""Render time of a large study's staff pages: 10,000 participants × 3 waves.

Builds the study with bulk inserts (not the participant pages: that would take hours) on
a fresh SQLite file, or on PostgreSQL with ``--database-url`` (the database is emptied
first: give it one of its own). The mix of statuses is realistic: 15 % never open the link,
5 % decline, the rest consent; of those, at baseline 75 % complete and 15 % stop part-way;
at week 4 45 % complete and 20 % are in progress; at week 12 15 % complete; 3 % withdraw and
1 % are excluded. Every submitted page has its page visit, as the participant pages store.

Then, logged in through the Flask test client as the owner (``--repeat`` times each, after
one warm-up request), it renders:

- the participants page, first page (``research.participants``);
- a filtered page (week 4, in progress);
- the due list (``research.due``);
- the study dashboard (``research.study``), when that view exists (skipped otherwise).

and prints a Markdown table of median and p95 milliseconds. Target: under 300 ms.

Usage::

    .venv/bin/python benchmarks/bench_study_pages.py
    .venv/bin/python benchmarks/bench_study_pages.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import platform
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PASSWORD = "benchmark owner password 1234"
EMAIL = "owner@bench.example.org"
WAVES = (
    ("baseline", "Baseline", 0, 14),
    ("week-4", "Week 4", 28, 14),
    ("week-12", "Week 12", 84, 14),
)
# Per wave: share of consenting participants who complete, and who are in progress.
COMPLETE = (0.75, 0.45, 0.15)
IN_PROGRESS = (0.15, 0.20, 0.10)


def build(app, participants: int, seed: int) -> int:
    """The study, its participants and their answers' traces; returns the study id."""
    from sqlalchemy import insert

    from instruments.loader import instrument_path, load_instrument
    from survey.extensions import db
    from survey.models import ConsentRecord, PageVisit, Participant, ResponseSession
    from survey.services import accounts, instruments, participation, studies

    rng = random.Random(seed)
    start = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
    with app.app_context():
        owner = accounts.create_user(EMAIL, PASSWORD, "researcher", via="benchmark")
        version, _ = instruments.import_definition(
            load_instrument(instrument_path("iemdp", "1.0.0"))
        )
        study = studies.create_study(
            name="Benchmark study",
            slug="benchmark-study",
            instrument_version=version,
            consent_text="Agree?",
            consent_version="1",
            urgent_help_note="Call 112.",
            owner=owner,
        )
        waves = [
            studies.add_wave(study, key=k, label=label, offset_days=offset, window_days=window)
            for k, label, offset, window in WAVES
        ]
        db.session.flush()
        page_keys = [(bp.version.id, bp.page.key) for bp in participation.battery_pages(study)]
        people, consents = [], []
        for number in range(participants):
            enrolled = start + timedelta(minutes=number * 13)
            roll = rng.random()
            people.append(
                {
                    "study_id": study.id,
                    "token_hash": f"{number:064x}",
                    "created_at": enrolled - timedelta(days=1),
                    "enrolled_at": enrolled if roll >= 0.20 else None,
                    "enrolled_via": "invitation" if number % 10 else "open_link",
                    "withdrawn_at": enrolled + timedelta(days=20) if 0.20 <= roll < 0.23 else None,
                    "excluded": 0.23 <= roll < 0.24,
                    "item_order_seed": number,
                }
            )
        db.session.execute(insert(Participant), people)
        ids = [
            row[0]
            for row in db.session.execute(
                Participant.__table__.select()
                .with_only_columns(Participant.id)
                .where(Participant.study_id == study.id)
                .order_by(Participant.id)
            )
        ]
        sessions = []
        for participant_id, person in zip(ids, people, strict=True):
            enrolled = person["enrolled_at"]
            if enrolled is None:
                if rng.random() < 0.25:  # declined (the rest never opened the link)
                    consents.append(
                        {
                            "participant_id": participant_id,
                            "consent_version": "1",
                            "ordinal": 1,
                            "decision": "declined",
                            "decided_at": person["created_at"],
                        }
                    )
                continue
            consents.append(
                {
                    "participant_id": participant_id,
                    "consent_version": "1",
                    "ordinal": 1,
                    "decision": "given",
                    "decided_at": enrolled,
                }
            )
            for position, wave in enumerate(waves):
                roll = rng.random()
                if roll < COMPLETE[position]:
                    done = len(page_keys)
                elif roll < COMPLETE[position] + IN_PROGRESS[position]:
                    done = rng.randrange(0, len(page_keys))
                else:
                    continue
                opened = enrolled + timedelta(days=WAVES[position][2])
                sessions.append(
                    {
                        "participant_id": participant_id,
                        "wave_id": wave.id,
                        "started_at": opened,
                        "completed_at": opened + timedelta(minutes=15)
                        if done == len(page_keys)
                        else None,
                        "_done": done,
                    }
                )
        db.session.execute(insert(ConsentRecord), consents)
        db.session.execute(
            insert(ResponseSession),
            [{k: v for k, v in s.items() if k != "_done"} for s in sessions],
        )
        session_ids = {
            (p, w): i
            for i, p, w in db.session.execute(
                ResponseSession.__table__.select().with_only_columns(
                    ResponseSession.id, ResponseSession.participant_id, ResponseSession.wave_id
                )
            )
        }
        visits = []
        for entry in sessions:
            session_id = session_ids[(entry["participant_id"], entry["wave_id"])]
            for index, (version_id, page_key) in enumerate(page_keys[: entry["_done"]]):
                shown = entry["started_at"] + timedelta(minutes=index)
                visits.append(
                    {
                        "session_id": session_id,
                        "instrument_version_id": version_id,
                        "page_key": page_key,
                        "first_shown_at": shown,
                        "last_shown_at": shown,
                        "submitted_at": shown + timedelta(seconds=50),
                        "submit_count": 1,
                    }
                )
        for chunk in range(0, len(visits), 20_000):
            db.session.execute(insert(PageVisit), visits[chunk : chunk + 20_000])
        db.session.commit()
        if db.engine.dialect.name == "postgresql":
            # As autovacuum would soon after a bulk load: the planner needs the statistics.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("ANALYZE")
        print(
            f"built: {participants} participants, {len(consents)} consent records, "
            f"{len(sessions)} sessions, {len(visits)} page visits",
            file=sys.stderr,
        )
        return study.id


def measure(client, url: str, repeat: int) -> tuple[float, float]:
    response = client.get(url)  # warm-up (template compilation, caches)
    assert response.status_code == 200, (url, response.status_code)
    times = []
    for _ in range(repeat):
        began = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - began) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    p95 = times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]
    return statistics.median(times), p95


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", help="PostgreSQL (emptied first); default SQLite")
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args()

    from flask_migrate import upgrade

    from survey import create_app

    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        if args.database_url:
            from tests.conftest import empty_postgresql

            empty_postgresql(args.database_url)
        app = create_app(
            {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False},
            instance_path=str(Path(folder) / "instance"),
        )
        app.config["CLOCK"] = lambda: datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
        with app.app_context():
            upgrade()
        began = time.perf_counter()
        study_id = build(app, args.participants, args.seed)
        print(f"built in {time.perf_counter() - began:.1f} s", file=sys.stderr)
        client = app.test_client()
        login = client.post("/login", data={"email": EMAIL, "password": PASSWORD})
        assert login.status_code == 302, login.status_code
        with app.app_context():
            from survey.extensions import db
            from survey.models import Wave

            week4 = db.session.query(Wave).filter_by(study_id=study_id, key="week-4").one().id
        pages = [
            ("participants, first page", f"/research/studies/{study_id}/participants"),
            (
                "participants, week 4 in progress",
                f"/research/studies/{study_id}/participants?wave={week4}&status=in_progress",
            ),
            ("participants, page 100", f"/research/studies/{study_id}/participants?page=100"),
            ("due list", f"/research/studies/{study_id}/due"),
        ]
        if "research.study" in app.view_functions:
            pages.append(("study dashboard", f"/research/studies/{study_id}"))
        else:
            print("research.study does not exist yet: dashboard skipped", file=sys.stderr)
        database = "PostgreSQL" if args.database_url else "SQLite"
        print(
            f"\n{database}, {args.participants:,} participants × 3 waves, "
            f"{args.repeat} requests each"
        )
        print(
            f"({platform.processor() or platform.machine()}, Python {platform.python_version()})\n"
        )
        print("| page | median ms | p95 ms |")
        print("|---|---:|---:|")
        for name, page_url in pages:
            median, p95 = measure(client, page_url, args.repeat)
            print(f"| {name} | {median:.0f} | {p95:.0f} |")
        with app.app_context():
            from survey.extensions import db

            db.session.remove()
            for engine in db.engines.values():
                engine.dispose()


if __name__ == "__main__":
    main()
