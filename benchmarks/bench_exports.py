"""Time and peak memory of the wide CSV and .sav exports at 10,000 and 100,000 participants.

For each size, a study of IEM-DP 1.0.0 (72 items, 2 attention checks) with one wave is
simulated by the simulation service (:func:`survey.services.simulation.simulate_study`,
seed 1) into a fresh temporary SQLite file. Then each export runs in a fresh Python
subprocess, which reports its wall time and its own peak resident memory
(``resource.getrusage(RUSAGE_SELF).ru_maxrss``, which on Linux includes everything the
process ever held: interpreter, imports, the app):

- ``ours wide.csv`` and ``ours .sav``: :func:`survey.services.exports.export_to` (chunks of
  500 participants; scores and the data-quality indices included, with the assessor's
  streaming first pass);
- ``pandas wide.csv`` and ``pandas .sav``: what a user would otherwise do: ``pandas.read_sql``
  of the answers joined to their sessions, ``pivot`` to one row per session and one column per
  item, then ``DataFrame.to_csv`` or ``pyreadstat.write_sav`` of the whole frame (items only:
  no scores, indices or labels).

The table (Markdown) goes to standard output and ``benchmarks/results/exports.md``, the figures
to ``benchmarks/results/exports.json``; the last line says whether our peak memory at the
largest size is at most 1.5 times that at the smallest (the issue's criterion).

Usage::

    .venv/bin/python benchmarks/bench_exports.py                     # 10,000 and 100,000
    .venv/bin/python benchmarks/bench_exports.py --sizes 1000 5000  # quicker
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SLUG = "bench-exports"
METHODS = ("ours-wide", "ours-sav", "pandas-wide", "pandas-sav")
LABELS = {
    "ours-wide": "ours wide.csv",
    "ours-sav": "ours .sav",
    "pandas-wide": "pandas read_sql + pivot + to_csv",
    "pandas-sav": "pandas read_sql + pivot + pyreadstat.write_sav",
}
CRITERION = 1.5


def _app(database: Path):
    from survey import create_app

    return create_app(
        {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{database}", "TESTING": True},
        instance_path=str(database.parent / "instance"),
    )


def build(database: Path, participants: int) -> dict:
    """The simulated study in a new SQLite file; returns what the simulation made."""
    from flask_migrate import upgrade

    from instruments.loader import instrument_path, load_instrument
    from survey.extensions import db
    from survey.services import instruments, studies
    from survey.services.simulation import simulate_study

    app = _app(database)
    with app.app_context():
        upgrade()
        version, _ = instruments.import_definition(
            load_instrument(instrument_path("iemdp", "1.0.0"))
        )
        study = studies.create_study(
            name="Export benchmark",
            slug=SLUG,
            instrument_version=version,
            consent_text="Agree?",
            consent_version="1",
            urgent_help_note="Call 112.",
        )
        db.session.commit()
        started = time.perf_counter()
        result = simulate_study(study, participants=participants, waves=1, seed=1)
        db.session.commit()
        seconds = time.perf_counter() - started
        return {
            "participants": result.participants,
            "sessions": result.sessions,
            "answers": result.answers,
            "simulate_seconds": round(seconds, 1),
        }


def _pandas_frame(app):
    """The answers as one wide frame, the way a user would build it from the tables."""
    import pandas as pd

    from survey.extensions import db

    query = """
        SELECT s.id AS session, p.id AS participant, w.key AS wave, a.item_id AS item,
               a.value AS value
        FROM answers a
        JOIN response_sessions s ON s.id = a.session_id
        JOIN participants p ON p.id = s.participant_id
        JOIN waves w ON w.id = s.wave_id
    """
    with app.app_context(), db.engine.connect() as connection:
        long = pd.read_sql(query, connection)
    wide = long.pivot(index=["session", "participant", "wave"], columns="item", values="value")
    return wide.reset_index()


def child(method: str, database: Path, out: Path) -> dict:
    """One export in this (fresh) process: the seconds to start (imports, the app), the
    seconds of the export itself, and this process's peak memory."""
    started = time.perf_counter()
    import pandas  # noqa: F401  (both sides import it: start-up, not export)
    import pyreadstat

    from survey.extensions import db
    from survey.services import exports, studies

    app = _app(database)
    with app.app_context():
        studies.get_study(SLUG)
    ready = time.perf_counter()
    if method.startswith("ours"):
        kind = "wide" if method == "ours-wide" else "sav"
        with app.app_context():
            written = exports.export_to(studies.get_study(SLUG), kind, out, actor=None)
            db.session.commit()
            rows = written.rows
    else:
        frame = _pandas_frame(app)
        if method == "pandas-wide":
            frame.to_csv(out, index=False)
        else:
            frame.columns = [str(c) for c in frame.columns]
            pyreadstat.write_sav(frame, out)
        rows = len(frame)
    done = time.perf_counter()
    return {
        "seconds": round(done - ready, 2),
        "startup_seconds": round(ready - started, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rows": rows,
        "bytes": out.stat().st_size,
    }


def run_child(method: str, database: Path, out: Path) -> dict:
    result = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            method,
            "--database",
            str(database),
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    if result.returncode != 0:
        raise SystemExit(f"{method} failed:\n{result.stderr}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def table(results: list[dict]) -> str:
    lines = [
        "| participants × 1 wave × 72 items | export | export time (s) | start-up (s) | "
        "peak RSS (MiB) | file (MB) |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for entry in results:
        for method in METHODS:
            figures = entry["exports"][method]
            lines.append(
                f"| {entry['participants']:,} | {LABELS[method]} | {figures['seconds']:.1f} | "
                f"{figures['startup_seconds']:.1f} | "
                f"{figures['peak_rss_mib']:.0f} | {figures['bytes'] / 1e6:.1f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results")
    parser.add_argument("--child", choices=METHODS, help=argparse.SUPPRESS)
    parser.add_argument("--database", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.database, args.out)))
        return

    results = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="bench-exports-") as directory:
            database = Path(directory) / "bench.sqlite3"
            built = build(database, size)
            print(f"simulated {size:,}: {built}", file=sys.stderr)
            entry = {**built, "exports": {}}
            for method in args.methods:
                figures = run_child(method, database, Path(directory) / f"{method}.out")
                print(f"  {method}: {figures}", file=sys.stderr)
                entry["exports"][method] = figures
            results.append(entry)

    args.out.mkdir(parents=True, exist_ok=True)
    markdown = table(results)
    verdicts = []
    if len(results) > 1:
        for method in ("ours-wide", "ours-sav"):
            if method in results[0]["exports"]:
                low = results[0]["exports"][method]["peak_rss_mib"]
                high = results[-1]["exports"][method]["peak_rss_mib"]
                ratio = high / low
                verdicts.append(
                    f"{LABELS[method]}: peak at {results[-1]['participants']:,} is "
                    f"{ratio:.2f}× that at {results[0]['participants']:,} "
                    f"({'within' if ratio <= CRITERION else 'ABOVE'} the {CRITERION}× criterion)"
                )
    report = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "results": results,
        "verdicts": verdicts,
    }
    (args.out / "exports.json").write_text(json.dumps(report, indent=2) + "\n")
    (args.out / "exports.md").write_text(markdown + "\n\n" + "\n".join(verdicts) + "\n")
    print(markdown)
    for verdict in verdicts:
        print(verdict)


if __name__ == "__main__":
    main()
