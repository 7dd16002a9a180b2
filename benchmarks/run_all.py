"""Run every benchmark in this folder (``make bench``); results go to benchmarks/results/.

Arguments are passed on to each benchmark, e.g. ``--repeats 1 --skip-r``.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, extra arguments): the CFA benchmark on the first-order and the second-order model.
BENCHMARKS: list[tuple[str, list[str]]] = [
    ("bench_cfa.py", []),
    ("bench_cfa.py", ["--model", "second-order"]),
]


def main(argv: list[str]) -> int:
    failed = 0
    for script, extra in BENCHMARKS:
        command = [sys.executable, str(HERE / script), *extra, *argv]
        print("$", " ".join(command[1:]), flush=True)
        failed += subprocess.run(command, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
