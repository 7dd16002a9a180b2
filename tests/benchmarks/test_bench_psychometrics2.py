"""Helpers of benchmarks/bench_psychometrics2.py: the -X importtime parser and the longitudinal
data (the benchmark itself is not run here)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_psychometrics2.py"

SAMPLE = """\
import time: self [us] | cumulative | imported package
import time:       405 |        979 | _frozen_importlib_external
import time:      1299 |      17213 | site
import time:       120 |        120 |     psychometrics._json
import time:       300 |        420 |   psychometrics
import time:      7970 |      17737 | psychometrics.cli
import time:        50 |         50 | psychometricsx
import time:       800 |       2000 | psychometrics.cfa
"""


@pytest.fixture(scope="module")
def bench():
    # benchmarks/ is not a package: load the script by path.
    spec = importlib.util.spec_from_file_location("bench_psychometrics2", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_importtime_sums_the_top_level_entries_of_the_package(bench):
    # nested psychometrics (inside psychometrics.cli) is already in its cumulative time;
    # psychometricsx is another package
    assert bench.parse_importtime(SAMPLE) == 17737 + 2000


def test_importtime_without_the_package_is_an_error(bench):
    with pytest.raises(ValueError, match="no top-level import of 'psychometrics'"):
        bench.parse_importtime(SAMPLE.replace("psychometrics", "other"))


def test_importtime_reads_real_python_output(bench):
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import json"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert bench.parse_importtime(proc.stderr, package="json") > 0


def test_longitudinal_data_is_seeded_with_monotone_dropout(bench):
    a = bench.longitudinal_data(400, seed=3)
    b = bench.longitudinal_data(400, seed=3)
    assert a.equals(b)
    assert not a.equals(bench.longitudinal_data(400, seed=4))
    items = [f"{s}_{k}" for s in bench.LONG_SUBCONSTRUCTS for k in (1, 2, 3)]
    assert list(a.columns) == ["participant", "wave", *items]
    assert not a[items].isna().any().any()
    waves = a.groupby("participant")["wave"].apply(tuple)
    assert len(waves) == 400
    # everyone has wave 0; nobody comes back after missing a wave
    assert set(waves) <= {(0,), (0, 4), (0, 4, 8)}
    per_wave = a["wave"].value_counts()
    assert per_wave[0] == 400
    assert 0.80 * 400 < per_wave[4] < 0.97 * 400
    assert 0.65 * 400 < per_wave[8] < per_wave[4]
