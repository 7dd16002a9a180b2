"""Run every benchmark in this folder (``make bench``); results go to benchmarks/results/.

Arguments are passed on to the CFA benchmarks and ``bench_psychometrics2.py`` (which ignores the
options it does not have), e.g. ``--repeats 1 --skip-r``; the web benchmark runs with its defaults
(``web_bench.py --help`` for its own options).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

# (script, extra arguments, whether the command line's arguments go to it too)
BENCHMARKS: list[tuple[str, list[str], bool]] = [
    ("bench_cfa.py", [], True),
    ("bench_cfa.py", ["--model", "second-order"], True),
    ("bench_fiml.py", [], False),
    ("bench_psychometrics2.py", [], True),
    ("web_bench.py", ["--threads", "1", "4"], False),
    ("bench_simulate.py", [], False),
    ("bench_exports.py", [], False),
    ("bench_validation.py", [], False),
]


def main(argv: list[str]) -> int:
    failed = 0
    for script, extra, pass_on in BENCHMARKS:
        command = [sys.executable, str(HERE / script), *extra, *(argv if pass_on else [])]
        print("$", " ".join(command[1:]), flush=True)
        failed += subprocess.run(command, check=False).returncode != 0
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
