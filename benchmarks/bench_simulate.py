"""Time of ``flask demo simulate``'s work: a simulated IEM-DP study of N participants x K waves.

Two rows per size, measured in this process one after the other:

- ``draw only``: the population model's draw of every answer, check, page time and outcome
  (numpy, :meth:`survey.services.simulation.population.Population.sample`), no database — the
  floor that any writer of the same data starts from;
- ``simulate_study``: the whole service as the command runs it (waves added, participants,
  consents, sessions, page visits, answers, the outcome version, the audit event) into a fresh
  SQLite file (or ``--database-url``, an empty PostgreSQL database), then the commit.

Usage::

    .venv/bin/python benchmarks/bench_simulate.py                          # 10,000 x 3 on SQLite
    .venv/bin/python benchmarks/bench_simulate.py --participants 600 --waves 3
    .venv/bin/python benchmarks/bench_simulate.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _study(app):
    from instruments.loader import instrument_path, load_instrument
    from survey.extensions import db
    from survey.services import instruments, studies

    version, _ = instruments.import_definition(load_instrument(instrument_path("iemdp", "1.1.0")))
    study = studies.create_study(
        name="Simulation benchmark",
        slug="bench-simulate",
        instrument_version=version,
        consent_text="Agree?",
        consent_version="1",
        urgent_help_note="Call 112.",
    )
    db.session.commit()
    return study


def run(participants: int, waves: int, database_url: str, scratch: Path) -> list[tuple[str, float]]:
    from flask_migrate import upgrade

    from survey import create_app
    from survey.extensions import db
    from survey.services.instruments import definition_of
    from survey.services.simulation import simulate_study
    from survey.services.simulation.population import Population

    app = create_app(
        {"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True},
        instance_path=str(scratch / "instance"),
    )
    with app.app_context():
        upgrade()
        study = _study(app)
        definitions = [definition_of(v) for v in study.instrument_versions]
        started = time.perf_counter()
        population = Population.draw(definitions, np.random.default_rng([1, 0]))
        schedule = [(28.0 * k, 14.0) for k in range(waves)]
        population.sample(participants, schedule, np.random.default_rng([1, 1]))
        draw_seconds = time.perf_counter() - started

        started = time.perf_counter()
        result = simulate_study(study, participants=participants, waves=waves, seed=1)
        db.session.commit()
        write_seconds = time.perf_counter() - started
        print(
            f"{result.participants:,} participants, {result.sessions:,} sessions, "
            f"{result.answers:,} answers",
            file=sys.stderr,
        )
    return [("draw only (numpy, no database)", draw_seconds), ("simulate_study", write_seconds)]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=10_000)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--database-url", help="an EMPTY database (default: a new SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-simulate-") as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'bench.sqlite3'}"
        rows = run(args.participants, args.waves, url, Path(scratch))
    backend = url.split(":", 1)[0].split("+", 1)[0]
    print(f"| {args.participants:,} x {args.waves} waves | what | seconds ({backend}) |")
    print("|---|---|---:|")
    for what, seconds in rows:
        print(f"| | {what} | {seconds:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
