"""Time of a full validation run beside the same battery in R, side by side in one run.

A simulated IEM-DP study (default 2,000 participants x 3 waves, seed 1) in a fresh SQLite
file; then, one after the other:

- ``validate()`` in this process (reading the rows, every section: item statistics,
  first- and second-order CFA with modification indices, KMO/Bartlett/parallel analysis,
  alpha/omega, test-retest ICCs, responsiveness, criterion validity, hypotheses), with the
  seconds per section from its progress callback;
- ``flask analysis validate`` as a new process, as a researcher runs it (imports, the stored
  run, the JSON file);
- ``Rscript benchmarks/bench_validation.R`` on the study's own wide and lavaan-model exports
  (lavaan, psych, semTools: the same sections, see that script), its seconds per section and
  the whole process. Skipped with ``--skip-r`` or when ``Rscript`` is missing.

Usage::

    .venv/bin/python benchmarks/bench_validation.py
    .venv/bin/python benchmarks/bench_validation.py --participants 600 --skip-r
"""

from __future__ import annotations

import argparse
import csv
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SECTION_NAMES = {
    "Item statistics": "item statistics",
    "Structural validity (CFA, EFA)": "structural validity (CFA, EFA)",
    "Internal consistency": "internal consistency",
    "Test-retest reliability and measurement error": "test-retest and measurement error",
    "Responsiveness": "responsiveness",
    "Criterion validity": "criterion validity",
    "Hypotheses testing": "hypotheses",
}


def build(participants: int, waves: int, scratch: Path, url: str):
    from flask_migrate import upgrade

    from survey import create_app
    from survey.extensions import db
    from survey.services import exports
    from survey.services.validation.data import load_study_data
    from tests.survey.validation.conftest import make_simulated_study

    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(scratch / "i")
    )
    with app.app_context():
        upgrade()
        study, _ = make_simulated_study(
            participants=participants, waves=waves, seed=1, slug="bench-validation"
        )
        db.session.commit()
        exports.export_to(study, "wide", scratch / "wide.csv", actor=None)
        exports.export_to(study, "model", scratch / "model.R", actor=None)
        db.session.commit()
        frame = load_study_data(study).outcomes
        with (scratch / "outcomes.csv").open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["participant", "wave", "messages_sent", "active_weeks", "dropped_out"])
            for row in frame.itertuples():
                writer.writerow(
                    [
                        row.participant,
                        row.wave,
                        row.messages_sent,
                        row.active_weeks,
                        row.dropped_out,
                    ]
                )
    return app


def time_in_process(app) -> tuple[float, dict[str, float]]:
    from survey.services import studies
    from survey.services.validation.run import validate

    marks: list[tuple[float, str]] = []
    with app.app_context():
        study = studies.get_study("bench-validation")
        started = time.perf_counter()
        validate(
            study, progress=lambda done, total, label: marks.append((time.perf_counter(), label))
        )
        total = time.perf_counter() - started
    sections: dict[str, float] = {"read rows": marks[0][0] - started}
    for (at, label), (after, _next) in zip(marks, marks[1:], strict=False):
        name = SECTION_NAMES.get(label.split(": ", 1)[-1], label)
        sections[name] = sections.get(name, 0.0) + after - at
    return total, sections


def time_cli(url: str, scratch: Path) -> float:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-validation-" + "x" * 24}
    command = [str(Path(sys.executable).parent / "flask"), "--app", str(ROOT / "wsgi.py")]
    command += ["analysis", "validate", "bench-validation", "--json", str(scratch / "r.json")]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, capture_output=True)
    return time.perf_counter() - started


def time_r(scratch: Path) -> tuple[float, dict[str, float]]:
    command = ["Rscript", str(ROOT / "benchmarks" / "bench_validation.R")]
    command += [str(scratch / "wide.csv"), str(scratch / "outcomes.csv"), str(scratch / "model.R")]
    started = time.perf_counter()
    result = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - started
    sections = {}
    for line in result.stdout.splitlines():
        name, _, seconds = line.rpartition(",")
        if name:
            sections[name] = float(seconds)
    return wall, sections


R_PARTS = (
    "structural: CFA (lavaan)",
    "structural: modification indices (lavaan)",
    "structural: EFA diagnostics (psych)",
)


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def table_rows(ours: dict, theirs: dict, total: float, cli: float, r_wall: float | None):
    """(label, our seconds, R's seconds) per row of the README table."""
    rows = [("read rows / read exports", ours.get("read rows"), theirs.get("read exports"))]
    for name in SECTION_NAMES.values():
        rows.append((name, ours.get(name), theirs.get(name)))
        if name.startswith("structural"):
            rows += [
                (f"&nbsp;&nbsp;of which {part[12:]}", None, theirs.get(part)) for part in R_PARTS
            ]
    rows.append(("all sections, in process", total, theirs.get("total")))
    rows.append(("whole command (new process: imports, stored run, JSON)", cli, r_wall))
    return rows


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=2000)
    parser.add_argument("--waves", type=int, default=3)
    parser.add_argument("--skip-r", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-validation-") as name:
        scratch = Path(name)
        url = f"sqlite:///{scratch / 'bench.sqlite3'}"
        app = build(args.participants, args.waves, scratch, url)
        ours, our_sections = time_in_process(app)
        cli = time_cli(url, scratch)
        r_wall, r_sections = (None, {})
        if not args.skip_r and shutil.which("Rscript"):
            r_wall, r_sections = time_r(scratch)
    header = f"| {args.participants:,} x {args.waves} waves | this platform (s) | R (s) |"
    print(header)
    print("|---|---:|---:|")
    for label, mine, theirs in table_rows(our_sections, r_sections, ours, cli, r_wall):
        print(f"| {label} | {_seconds(mine)} | {_seconds(theirs)} |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
