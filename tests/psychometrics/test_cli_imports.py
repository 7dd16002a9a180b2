"""The command line answers ``--help`` without importing the heavy modules.

numpy, pandas, scipy (scipy.stats alone takes ~2 s under load) and scikit-learn are imported by the
commands that use them, not when ``psychometrics.cli`` is imported. Checked by what a fresh
interpreter has in ``sys.modules`` (not by timing it).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("numpy", "pandas", "scipy", "scipy.stats", "sklearn")

PROBE = """
import json, runpy, sys
argv = json.loads(sys.argv[1])
if argv is None:
    import psychometrics.cli
else:
    sys.argv = ["psychometrics", *argv]
    try:
        runpy.run_module("psychometrics", run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        assert exc.code in (0, None), exc.code
print(json.dumps(sorted(sys.modules)))
"""


def _modules_after(argv: list[str] | None) -> set[str]:
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, json.dumps(argv)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(proc.stdout.splitlines()[-1]))


@pytest.mark.parametrize(
    "argv",
    [None, ["--help"], ["cfa", "--help"], ["invariance", "--help"], ["reliability", "--help"]],
    ids=["import", "help", "cfa-help", "invariance-help", "reliability-help"],
)
def test_cli_does_not_import_heavy_modules(argv):
    loaded = _modules_after(argv)
    assert "psychometrics.cli" in loaded
    assert sorted(m for m in HEAVY if m in loaded) == []


def test_the_probe_sees_heavy_modules_when_they_are_imported():
    """The check can fail: reading the data (what every command does first) imports pandas."""
    hs = Path(__file__).parent / "data" / "holzinger_swineford_1939.csv"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json, sys, psychometrics.cli as c; c.read_data(sys.argv[1]); "
            "print(json.dumps(sorted(sys.modules)))",
            str(hs),
        ],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    loaded = set(json.loads(proc.stdout.splitlines()[-1]))
    assert {"numpy", "pandas"} <= loaded
