"""Benchmark robust ML, ordinal WLSMV and longitudinal invariance against lavaan, in one run.

Cases, each ours and lavaan 0.6-14 on the same CSV (``--cases``):

- ``mlr``: the IEM-DP 72-item first-order model (``generate_iemdp_data.py``: 24 correlated
  factors), N = 2,000 complete, ``estimator="MLR"``;
- ``mlr-fiml`` (not in the default list: lavaan needs more than 10 minutes): the same with about
  10 % of the values missing at random (``bench_fiml.iemdp_mar``), MLR with FIML;
- ``wlsmv``: the same model on the 72 items cut into 1..5 (``--likert``), ``ordered=True,
  estimator="WLSMV"``;
- ``longitudinal``: four IEM-DP subconstructs x 3 items over 3 waves (``longitudinal_data``:
  the generator's population, repeated with autocorrelated factors and residuals, rising latent
  means and dropout), long format; configural -> metric -> scalar -> strict with FIML. Ours
  ``longitudinal_invariance(model, long, id=, time=, missing="ml")``; lavaan
  ``cfa(semTools::measEq.syntax(..., longFacNames, longIndNames, long.equal, auto = "all"),
  meanstructure = TRUE, missing = "ml")`` for the four levels and ``lavTestLRT()``.

Three measurements:

1. in process: ours ``cfa(...)`` + ``fit_measures()`` + ``estimates`` (for longitudinal the whole
   ladder) timed with ``perf_counter``, ``--repeats`` times (minimum and median); lavaan the fit
   + ``fitMeasures()`` + ``parameterEstimates()`` timed with ``system.time()`` inside R
   (``bench_psychometrics2.R``), ``--r-repeats`` times;
2. whole process: ``python -m psychometrics cfa|invariance ... --json`` as a subprocess (start-up,
   imports, reading the CSV, the analysis, JSON on stdout: estimates, fit measures, modification
   indices, reliability, HTMT) against the wall time of the ``Rscript`` process (start-up,
   ``library(lavaan)``, ``read.csv``, the analysis, ``toJSON`` to a file), both from outside;
3. the CLI's import: ``python -X importtime -c "import psychometrics.cli"`` (the cumulative
   microseconds of the ``psychometrics`` entries at the top level) and the wall time of
   ``python -m psychometrics --help``, medians of ``--import-repeats``.

Agreement with lavaan is reported next to the times (relative chi-square difference, largest
absolute differences of the estimates and SEs), so that the speed is that of the same answer.
Results go to ``benchmarks/results/psychometrics2.json`` and ``psychometrics2.md``; with
``--profile``, a cProfile of ours per case to ``psychometrics2_profile_<case>.txt``.

Run::

    .venv/bin/python benchmarks/bench_psychometrics2.py [--cases mlr wlsmv longitudinal]
        [--n 2000] [--seed 1] [--long-n 1500] [--repeats 3] [--r-repeats 1] [--skip-r]
        [--r-timeout 1800] [--profile] [--out benchmarks/results]

This is a benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import json
import math
import os
import pstats
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO))

import bench_cfa  # noqa: E402
import bench_fiml  # noqa: E402
import generate_iemdp_data as gen  # noqa: E402

RESULTS = HERE / "results"
DATA = RESULTS / "data"
R_SCRIPT = HERE / "bench_psychometrics2.R"
CASES = ("mlr", "mlr-fiml", "wlsmv", "longitudinal")
DEFAULT_CASES = ("mlr", "wlsmv", "longitudinal")
TARGET_IN_PROCESS = 0.1
TARGET_WHOLE_PROCESS = 0.25
TARGET_IMPORT_S = 0.5

LONG_SUBCONSTRUCTS = ("SE_ACT", "TA_BOND", "UT_LAP", "SS_ENC")
LONG_WAVES = (0, 4, 8)  # weeks
LONG_FACTOR_AUTOCOR = 0.6  # a factor with itself one wave later (0.36 two waves apart)
LONG_RESIDUAL_AUTOCOR = 0.25  # an item's residual with itself at another wave
LONG_MEAN_SHIFT = (0.0, 0.2, 0.35)  # latent means per wave (SD units)
LONG_VARIANCE = (1.0, 1.05, 1.1)  # latent variances per wave


# ---------------------------------------------------------------------------------------------
# data
# ---------------------------------------------------------------------------------------------


def longitudinal_model() -> str:
    return "".join(
        f"{s} =~ " + " + ".join(f"{s}_{k}" for k in (1, 2, 3)) + "\n" for s in LONG_SUBCONSTRUCTS
    )


def longitudinal_data(n: int = 1500, seed: int = 1) -> pd.DataFrame:
    """Long data (one row per participant x wave attended) of four IEM-DP subconstructs.

    The generator's population (loadings, factor correlations, item means and SDs) at each wave;
    factors correlate ``LONG_FACTOR_AUTOCOR ** lag`` with themselves across waves (and the
    population correlation times that with the others), latent means rise by
    ``LONG_MEAN_SHIFT``, variances grow by ``LONG_VARIANCE``; each item's residual correlates
    ``LONG_RESIDUAL_AUTOCOR`` with itself at the other waves. The population is strictly
    invariant. Dropout is monotone and at random given the wave-1 mean: about 10 % miss wave 2
    and, of those left, about 10 % wave 3; a participant who drops out has no later rows.
    """
    pop = gen.population()
    subs = list(gen.SUBCONSTRUCTS)
    f_idx = [subs.index(s) for s in LONG_SUBCONSTRUCTS]
    items = [f"{s}_{k}" for s in LONG_SUBCONSTRUCTS for k in (1, 2, 3)]
    i_idx = [list(gen.ITEMS).index(i) for i in items]
    phi = pop.factor_cor()[np.ix_(f_idx, f_idx)]
    lam = pop.item_loadings[i_idx]
    mean, sd = pop.item_mean[i_idx], pop.item_sd[i_idx]
    t = len(LONG_WAVES)
    lags = np.abs(np.subtract.outer(np.arange(t), np.arange(t)))
    scale = np.repeat(np.sqrt(LONG_VARIANCE), len(f_idx))
    cov = np.kron(LONG_FACTOR_AUTOCOR**lags, phi) * np.outer(scale, scale)
    rng = np.random.default_rng(seed + 2000)
    eta = rng.multivariate_normal(np.repeat(LONG_MEAN_SHIFT, len(f_idx)), cov, size=n)
    resid_cor = np.where(lags == 0, 1.0, LONG_RESIDUAL_AUTOCOR)
    resid_chol = np.linalg.cholesky(resid_cor)
    f_of_item = np.repeat(np.arange(len(f_idx)), 3)
    x = np.empty((t, n, len(items)))
    for j in range(len(items)):
        e = rng.standard_normal((n, t)) @ resid_chol.T * math.sqrt(1 - lam[j] ** 2)
        for k in range(t):
            z = lam[j] * eta[:, k * len(f_idx) + f_of_item[j]] + e[:, k]
            x[k, :, j] = mean[j] + sd[j] * z
    score = x[0].mean(axis=1)
    z1 = (score - score.mean()) / score.std()
    stay2 = rng.random(n) > 1 / (1 + np.exp(2.2 + 0.8 * z1))
    stay3 = stay2 & (rng.random(n) > 1 / (1 + np.exp(2.2 + 0.8 * z1)))
    attended = np.column_stack([np.ones(n, bool), stay2, stay3])
    ids = np.array([f"P{i:05d}" for i in range(1, n + 1)])
    blocks = []
    for k, wave in enumerate(LONG_WAVES):
        rows = attended[:, k]
        block = pd.DataFrame(x[k, rows].round(4), columns=items)
        block.insert(0, "wave", wave)
        block.insert(0, "participant", ids[rows])
        blocks.append(block)
    return pd.concat(blocks).sort_values(["participant", "wave"], kind="stable")


def prepare(case: str, n: int, seed: int, long_n: int) -> tuple[Path, Path]:
    """Write the case's CSV and model file (once per run) and return their paths."""
    DATA.mkdir(parents=True, exist_ok=True)
    if case == "longitudinal":
        csv = DATA / f"longitudinal_n{long_n}_seed{seed}.csv"
        longitudinal_data(long_n, seed).to_csv(csv, index=False, float_format="%.17g")
        model = DATA / "longitudinal.lav"
        model.write_text(longitudinal_model())
        return csv, model
    model = DATA / "iemdp_first_order.lav"
    model.write_text(gen.first_order_syntax())
    if case == "mlr-fiml":
        csv = DATA / f"iemdp_n{n}_seed{seed}_mar10.csv"
        df = bench_fiml.iemdp_mar(n, seed)
        df.to_csv(csv, index=False, float_format="%.17g")
        return csv, model
    paths = gen.write(DATA, n, seed, likert=case == "wlsmv")
    return paths["data"], model


# ---------------------------------------------------------------------------------------------
# ours
# ---------------------------------------------------------------------------------------------


def analyse_ours(case: str, model: str, df: pd.DataFrame) -> dict:
    """The in-process analysis of ``case``: fit(s), fit measures, estimates (lavaan names)."""
    from psychometrics.cfa import cfa
    from psychometrics.cfa.fit_names import lavaan_fit_measures
    from psychometrics.cfa.longitudinal import longitudinal_invariance

    def one(res) -> dict:
        est = res.estimates
        return {
            "converged": bool(res.converged),
            "iterations": res.iterations,
            "fit": lavaan_fit_measures(res),
            "estimates": est[["lhs", "op", "rhs", "est", "se"]],
        }

    if case == "longitudinal":
        res = longitudinal_invariance(model, df, id="participant", time="wave", missing="ml")
        return {
            "participants": res.participants,
            "levels": {level: one(fit) for level, fit in res.fits.items()},
            "lrt_chisq_diff": [s.get("delta_chisq") for s in res.steps],
        }
    kwargs = {
        "mlr": {"estimator": "MLR"},
        "mlr-fiml": {"estimator": "MLR", "missing": "ml"},
        "wlsmv": {"ordered": True, "estimator": "WLSMV"},
    }[case]
    return one(cfa(model, df, **kwargs))


def run_ours(case: str, model: str, df: pd.DataFrame, repeats: int) -> dict:
    times, out = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        out = analyse_ours(case, model, df)
        times.append(time.perf_counter() - t0)
    return {"times": times, "result": out}


def profile_ours(case: str, model: str, df: pd.DataFrame, path: Path, top: int = 30) -> str:
    """cProfile one analysis; write the ``top`` functions by cumulative time to ``path``."""
    profiler = cProfile.Profile()
    profiler.enable()
    analyse_ours(case, model, df)
    profiler.disable()
    stream = io.StringIO()
    stats = pstats.Stats(profiler, stream=stream)
    stats.sort_stats("cumulative").print_stats(top)
    stats.sort_stats("tottime").print_stats(top)
    path.write_text(stream.getvalue())
    return str(path)


def cli_command(case: str, csv: Path, model: Path) -> list[str]:
    """The CLI call that does the case's analysis (JSON on stdout)."""
    base = [sys.executable, "-m", "psychometrics"]
    if case == "longitudinal":
        return [
            *base,
            "invariance",
            "--data",
            str(csv),
            "--model",
            str(model),
            "--longitudinal",
            "--id",
            "participant",
            "--time",
            "wave",
            "--missing",
            "ml",
            "--json",
        ]
    extra = {
        "mlr": ["--estimator", "MLR"],
        "mlr-fiml": ["--estimator", "MLR", "--missing", "ml"],
        "wlsmv": ["--ordered", "all", "--estimator", "WLSMV"],
    }[case]
    return [*base, "cfa", "--data", str(csv), "--model", str(model), *extra, "--json"]


def run_cli(case: str, csv: Path, model: Path, repeats: int) -> dict:
    """Wall time of the whole CLI process, ``repeats`` times; the chi-square(s) it printed."""
    command = cli_command(case, csv, model)
    times, status, chisq = [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)
        times.append(time.perf_counter() - t0)
        status = proc.returncode
        if status not in (0, 3):
            return {"command": command[1:], "status": status, "stderr": proc.stderr[-500:]}
    out = json.loads(proc.stdout)["result"]
    if case == "longitudinal":
        chisq = {lv: fit["fit_measures"]["chisq"] for lv, fit in out["levels"].items()}
    else:
        chisq = out["fit_measures"]["chisq"]
    return {
        "command": [Path(command[0]).name, *command[1:]],
        "status": status,
        "times": times,
        "stdout_bytes": len(proc.stdout),
        "chisq": chisq,
    }


# ---------------------------------------------------------------------------------------------
# lavaan
# ---------------------------------------------------------------------------------------------


def run_lavaan(
    rscript: str | None,
    case: str,
    csv: Path,
    model: Path,
    repeats: int,
    timeout: float,
    out_dir: Path = RESULTS,
) -> dict:
    if rscript is None:
        return {"status": "skipped"}
    out = out_dir / f"psychometrics2_lavaan_{case}.json"
    out.unlink(missing_ok=True)
    command = [rscript, str(R_SCRIPT), case, str(csv), str(model), str(repeats), str(out)]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return {"status": f"> {timeout:.0f} s (stopped)"}
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not out.exists():
        tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
        return {"status": f"error: Rscript exit {proc.returncode}: {tail}"}
    r = json.loads(out.read_text())
    written = re.search(r"write_seconds ([0-9.]+)", proc.stdout)
    times = r["times"]
    return {
        "status": "ok",
        "versions": {k: r.get(k) for k in ("lavaan", "semTools", "r", "blas", "lapack")},
        "times": times,
        "startup_seconds": r["startup_seconds"],
        "read_csv_seconds": r["read_csv_seconds"],
        "write_seconds": float(written.group(1)) if written else None,
        "rscript_wall_seconds": wall,
        # the process as a user runs it does one analysis: take the extra repeats out
        "whole_process_seconds": wall - sum(times[1:]),
        "warnings": r["warnings"],
        "result": r["result"],
    }


# ---------------------------------------------------------------------------------------------
# agreement
# ---------------------------------------------------------------------------------------------


def _estimates_frame(rows) -> pd.DataFrame:
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(rows)
    frame = frame.assign(rhs=frame["rhs"].fillna("").astype(str))
    return frame.set_index(["lhs", "op", "rhs"])[["est", "se"]].astype(float)


def agreement_one(ours: dict, lav: dict) -> dict:
    """Relative chi-square differences and the largest |est| and |SE| differences."""
    a, b = _estimates_frame(ours["estimates"]), _estimates_frame(lav["estimates"])
    common = a.index.intersection(b.index)
    d_est = (a.loc[common, "est"] - b.loc[common, "est"]).abs()
    d_se = (a.loc[common, "se"] - b.loc[common, "se"]).abs()
    out = {
        "parameters_compared": len(common),
        "max_est_diff": float(np.nanmax(d_est.to_numpy())) if len(common) else None,
        "max_se_diff": float(np.nanmax(d_se.to_numpy())) if d_se.notna().any() else None,
    }
    for key in ("chisq", "chisq.scaled"):
        x, y = ours["fit"].get(key), lav["fit"].get(key)
        if x is not None and y is not None:
            out[f"{key}_ours"], out[f"{key}_lavaan"] = x, y
            out[f"{key}_rel_diff"] = abs(x - y) / abs(y)
    return out


def agreement(case: str, ours: dict, lav: dict) -> dict:
    if case != "longitudinal":
        return agreement_one(ours, lav)
    levels = {lv: agreement_one(ours["levels"][lv], lav["levels"][lv]) for lv in ours["levels"]}
    worst = {
        key: max(v[key] for v in levels.values() if v.get(key) is not None)
        for key in ("max_est_diff", "max_se_diff", "chisq_rel_diff")
    }
    return {**worst, "levels": levels}


# ---------------------------------------------------------------------------------------------
# the CLI's import
# ---------------------------------------------------------------------------------------------

_IMPORTTIME = re.compile(r"^import time:\s+(\d+)\s+\|\s+(\d+)\s+\|( *)(\S+)\s*$")


def parse_importtime(stderr: str, package: str = "psychometrics") -> int:
    """Cumulative microseconds of ``package`` and its submodules imported at the top level.

    ``python -X importtime`` writes ``import time: self [us] | cumulative | imported package``
    lines, a nested import indented by two more spaces. The top-level entries (one space after
    the bar) of ``package`` or ``package.*`` are summed; their nested imports (numpy, pandas,
    ...) are inside their cumulative time. Raises ``ValueError`` when there is none.
    """
    total, found = 0, False
    for line in stderr.splitlines():
        m = _IMPORTTIME.match(line)
        if not m or len(m.group(3)) != 1:
            continue
        name = m.group(4)
        if name == package or name.startswith(package + "."):
            total += int(m.group(2))
            found = True
    if not found:
        raise ValueError(f"no top-level import of {package!r} in the -X importtime output")
    return total


def measure_import(repeats: int) -> dict:
    def wall(command: list[str]) -> tuple[float, subprocess.CompletedProcess]:
        t0 = time.perf_counter()
        proc = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=True)
        return time.perf_counter() - t0, proc

    py = sys.executable
    cumulative, import_wall, help_wall, bare = [], [], [], []
    for _ in range(repeats):
        _, proc = wall([py, "-X", "importtime", "-c", "import psychometrics.cli"])
        cumulative.append(parse_importtime(proc.stderr) / 1e6)
        import_wall.append(wall([py, "-c", "import psychometrics.cli"])[0])
        help_wall.append(wall([py, "-m", "psychometrics", "--help"])[0])
        bare.append(wall([py, "-c", "pass"])[0])
    return {
        "repeats": repeats,
        "importtime_cumulative_s": cumulative,
        "import_process_wall_s": import_wall,
        "help_process_wall_s": help_wall,
        "bare_python_wall_s": bare,
        "median_importtime_s": statistics.median(cumulative),
        "median_help_wall_s": statistics.median(help_wall),
        "median_bare_python_s": statistics.median(bare),
    }


# ---------------------------------------------------------------------------------------------
# report
# ---------------------------------------------------------------------------------------------


def _slim(result: dict | None) -> dict | None:
    """A case's result without the estimate tables (kept out of the JSON)."""
    if result is None:
        return None
    if "levels" in result:
        return {**result, "levels": {k: _slim(v) for k, v in result["levels"].items()}}
    return {k: v for k, v in result.items() if k != "estimates"}


def git_commit() -> str | None:
    proc = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    )
    return proc.stdout.strip() or None


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def summarise(case: str, ours: dict, cli: dict, lav: dict) -> dict:
    row = {
        "ours_in_process_min_s": min(ours["times"]),
        "ours_in_process_median_s": statistics.median(ours["times"]),
        "ours_cli_median_s": statistics.median(cli["times"]) if cli.get("times") else None,
    }
    if lav.get("status") == "ok":
        row["lavaan_in_process_min_s"] = min(lav["times"])
        row["lavaan_whole_process_s"] = lav["whole_process_seconds"]
        row["ratio_in_process"] = ratio(
            row["ours_in_process_min_s"], row["lavaan_in_process_min_s"]
        )
        row["ratio_whole_process"] = ratio(row["ours_cli_median_s"], row["lavaan_whole_process_s"])
        row["agreement"] = agreement(case, ours["result"], lav["result"])
    return row


def _s(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:.3f}" if x < 1 else f"{x:.2f}" if x < 100 else f"{x:.0f}"


def _ss(x: float | None) -> str:
    return "—" if x is None else f"{_s(x)} s"


def _r(x: float | None, target: float) -> str:
    if x is None:
        return "—"
    return f"**{x:.3f}x**" if x <= target else f"{x:.3f}x (target {target}x: not met)"


def markdown(report: dict) -> str:
    m = report["machine"]
    lines = [
        "# Psychometrics II benchmark: ours against lavaan, in one run",
        "",
        f"{report['date']}; {m['cpu']}, {m['logical_cpus']} logical CPUs, {m['memory']}; "
        f"Python {m['python']}, numpy {m['numpy']}, scipy {m['scipy']}, pandas {m['pandas']}; "
        f"{report.get('r_versions') or 'lavaan not run'}; commit {report['commit']}; "
        f"load average (1 min) {report['load_average_start'][0]:.2f} at start, "
        f"{report['load_average_end'][0]:.2f} at end.",
        "",
        "| case | ours in process (min of n) | lavaan in process | ratio | ours CLI "
        "(median) | Rscript | ratio | chisq rel. diff | max abs diff est / SE |",
        "|---|---:|---:|---|---:|---:|---|---|---|",
    ]
    for case in report["cases"].values():
        s = case["summary"]
        lav = case["lavaan"]
        agree = s.get("agreement", {})
        rel = agree.get("chisq_rel_diff")
        rel_scaled = agree.get("chisq.scaled_rel_diff")
        rel_text = "—" if rel is None else f"{rel:.1e}"
        if rel_scaled is not None:
            rel_text += f" (scaled {rel_scaled:.1e})"
        diff = (
            f"{agree['max_est_diff']:.1e} / {agree['max_se_diff']:.1e}"
            if agree.get("max_est_diff") is not None and agree.get("max_se_diff") is not None
            else "—"
        )
        lav_in = _ss(s.get("lavaan_in_process_min_s")) if lav["status"] == "ok" else lav["status"]
        lines.append(
            f"| {case['label']} | {_s(s['ours_in_process_min_s'])} s "
            f"({len(case['ours_times'])}) | {lav_in} | "
            f"{_r(s.get('ratio_in_process'), TARGET_IN_PROCESS)} | "
            f"{_s(s['ours_cli_median_s'])} s | {_ss(s.get('lavaan_whole_process_s'))} | "
            f"{_r(s.get('ratio_whole_process'), TARGET_WHOLE_PROCESS)} | {rel_text} | {diff} |"
        )
    imp = report.get("import")
    if imp:
        met = "met" if imp["median_importtime_s"] < TARGET_IMPORT_S else "NOT met"
        lines += [
            "",
            f"CLI import (`python -X importtime -c 'import psychometrics.cli'`, median of "
            f"{imp['repeats']}): **{imp['median_importtime_s']:.3f} s** cumulative "
            f"(target < {TARGET_IMPORT_S} s: {met}); `python -m psychometrics --help` "
            f"{imp['median_help_wall_s']:.3f} s wall (bare `python -c pass` "
            f"{imp['median_bare_python_s']:.3f} s).",
        ]
    return "\n".join(lines) + "\n"


LABELS = {
    "mlr": "MLR, 72 items, N = {n}, complete",
    "mlr-fiml": "MLR + FIML, 72 items, N = {n}, 10 % missing",
    "wlsmv": "WLSMV, 72 ordinal items (1..5), N = {n}",
    "longitudinal": "longitudinal invariance, 4 factors x 3 items x 3 waves, {p} participants, "
    "FIML, 4 levels",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), choices=CASES)
    parser.add_argument("--n", type=int, default=2000, help="respondents of the 72-item cases")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--long-n", type=int, default=1500, help="longitudinal participants")
    parser.add_argument("--repeats", type=int, default=3, help="runs of ours (in process, CLI)")
    parser.add_argument("--r-repeats", type=int, default=1, help="lavaan fits per case")
    parser.add_argument("--r-timeout", type=float, default=1800.0, help="seconds per Rscript")
    parser.add_argument("--import-repeats", type=int, default=5)
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile ours once per case")
    parser.add_argument("--out", type=Path, default=RESULTS, help="folder of the results")
    args, ignored = parser.parse_known_args(argv)
    if ignored:  # run_all.py passes the CFA benchmark's options to everyone
        print(f"ignoring options of the other benchmarks: {' '.join(ignored)}", flush=True)
    rscript = None if args.skip_r else shutil.which("Rscript")
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "load_average_start": os.getloadavg(),
        "commit": git_commit(),
        "settings": vars(args),
        "cases": {},
    }
    args.out.mkdir(parents=True, exist_ok=True)
    report["import"] = measure_import(args.import_repeats)
    print(f"import: {report['import']['median_importtime_s']:.3f} s", flush=True)
    for case in args.cases:
        csv, model_path = prepare(case, args.n, args.seed, args.long_n)
        df = pd.read_csv(csv)
        model = model_path.read_text()
        ours = run_ours(case, model, df, args.repeats)
        print(f"{case}: ours in process {min(ours['times']):.3f} s", flush=True)
        cli = run_cli(case, csv, model_path, args.repeats)
        print(f"{case}: ours CLI {cli.get('times') or cli}", flush=True)
        lav = run_lavaan(rscript, case, csv, model_path, args.r_repeats, args.r_timeout, args.out)
        print(f"{case}: lavaan {lav.get('times') or lav['status']}", flush=True)
        if lav.get("versions"):
            v = lav["versions"]
            report["r_versions"] = (
                f"{v['r']}, lavaan {v['lavaan']}"
                + (f", semTools {v['semTools']}" if v.get("semTools") else "")
                + f", BLAS {v['blas']}"
            )
        participants = ours["result"].get("participants")
        report["cases"][case] = {
            "label": LABELS[case].format(n=len(df), p=participants),
            "data": str(csv.relative_to(REPO)),
            "rows": len(df),
            "missing_fraction": float(df.isna().to_numpy().mean()),
            "ours_times": ours["times"],
            "ours_result": _slim(ours["result"]),
            "cli": cli,
            "lavaan": {**lav, "result": _slim(lav.get("result"))},
            "summary": summarise(case, ours, cli, lav),
        }
        if args.profile:
            path = args.out / f"psychometrics2_profile_{case}.txt"
            report["cases"][case]["profile"] = profile_ours(case, model, df, path)
        write_report(report, args.out)  # after every case: a late failure keeps the earlier ones
    print(write_report(report, args.out))
    return 0


def write_report(report: dict, out_dir: Path = RESULTS) -> str:
    """Write ``psychometrics2.json`` and ``.md`` (load average now as the end); return the md."""
    report["load_average_end"] = os.getloadavg()
    report["machine"] = bench_cfa.machine()
    text = json.dumps(report, indent=1, default=lambda o: getattr(o, "tolist", lambda: str(o))())
    (out_dir / "psychometrics2.json").write_text(text)
    md_text = markdown(report)
    (out_dir / "psychometrics2.md").write_text(md_text)
    return md_text


if __name__ == "__main__":
    sys.exit(main())
