"""Benchmark full-information ML (``missing="ml"``): our engine against lavaan (and semopy).

Two data sets, in one run:

- ``bfi``: psych::bfi's 25 six-point items (N = 2,800, 87 missing-data patterns of its natural
  missingness), the five-factor model; the CSV is written by ``bench_fiml.R export-bfi`` (needs R
  with psych; the case is skipped without it);
- ``iemdp``: the IEM-DP's 72 items (``generate_iemdp_data.py``, N = 2,000, 24 correlated
  first-order factors) with about 10 % of the values missing at random: the first item of each
  subconstruct is always observed, the other two are missing with probability
  1 / (1 + exp(-(b + z))) where z is the standardised first item and b makes the rate 15 %
  (10 % of all values, about 2,000 distinct patterns).

Each tool does a complete FIML analysis: ours ``cfa(model, df, missing="ml")`` +
``fit_measures()`` + ``estimates`` (SEs from the observed information, lavaan's default);
lavaan 0.6-14 ``cfa(model, data, missing = "ml")`` + ``fitMeasures()`` + ``parameterEstimates()``
timed inside R by ``bench_fiml.R`` (one Rscript process per case, killed after ``--r-timeout``
seconds, reported as "> T s"); semopy (``Model(desc).fit(df, obj="FIML")``) if installed (only with
the ``bench`` extra). Agreement with lavaan: chi-square, log-likelihood and the largest absolute
differences of the estimates and SEs. Results go to ``benchmarks/results/fiml.json`` and
``fiml.md``.

Run::

    .venv/bin/python benchmarks/bench_fiml.py [--cases bfi iemdp] [--repeats 1]
        [--r-timeout 600] [--skip-r]

This is a benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import os
import platform
import shutil
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

import generate_iemdp_data as gen  # noqa: E402

RESULTS = HERE / "results"
DATA = RESULTS / "data"
BFI_MODEL = (
    "\n".join(f"{f} =~ " + " + ".join(f"{f}{k}" for k in range(1, 6)) for f in "ACENO") + "\n"
)


def iemdp_mar(n: int = 2000, seed: int = 1, rate: float = 0.15) -> pd.DataFrame:
    """The simulated IEM-DP items with items 2 and 3 of each subconstruct missing at random."""
    df = gen.simulate(n, seed)
    out = df.copy()
    rng = np.random.default_rng(seed + 1000)
    for s in gen.SUBCONSTRUCTS:
        anchor = df[f"{s}_1"].to_numpy()
        z = (anchor - anchor.mean()) / anchor.std()
        lo, hi = -10.0, 10.0
        for _ in range(60):  # bisection for the intercept that gives the rate
            b = 0.5 * (lo + hi)
            prob = 1.0 / (1.0 + np.exp(-(b + z)))
            lo, hi = (b, hi) if prob.mean() < rate else (lo, b)
        for k in (2, 3):
            out.loc[rng.random(n) < prob, f"{s}_{k}"] = np.nan
    return out


def prepare(case: str, rscript: str | None) -> tuple[Path, Path] | str:
    DATA.mkdir(parents=True, exist_ok=True)
    if case == "bfi":
        csv = DATA / "bfi.csv"
        if not csv.exists():
            if rscript is None:
                return "skipped: psych::bfi needs Rscript (with psych)"
            proc = subprocess.run(
                [rscript, str(HERE / "bench_fiml.R"), "export-bfi", str(csv)],
                capture_output=True,
                text=True,
                check=False,
            )
            if proc.returncode != 0:
                return f"skipped: could not export psych::bfi: {proc.stderr.strip()[-200:]}"
        model = DATA / "bfi.lav"
        model.write_text(BFI_MODEL)
        return csv, model
    csv = DATA / "iemdp_n2000_seed1_mar10.csv"
    iemdp_mar().to_csv(csv, index=False, float_format="%.17g")
    model = DATA / "iemdp_first_order.lav"
    model.write_text(gen.first_order_syntax())
    return csv, model


def run_ours(df: pd.DataFrame, model: str, repeats: int) -> dict:
    from psychometrics.cfa import cfa

    times, res, fm = [], None, None
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = cfa(model, df, missing="ml")
        fm = res.fit_measures()
        est = res.estimates
        times.append(time.perf_counter() - t0)
    n_patterns = sum(len(g.patterns) for g in res.objective.groups)
    return {
        "tool": "ours",
        "version": version_of("iemdp-platform") or "working tree",
        "status": "ok" if res.converged else "not converged",
        "seconds": min(times),
        "times": times,
        "patterns": n_patterns,
        "chisq": fm["chisq"],
        "logl": fm["logl"],
        "estimates": est[["lhs", "op", "rhs", "est", "se"]].to_dict("records"),
    }


def run_lavaan(rscript: str | None, csv: Path, model: Path, timeout: float) -> dict:
    if rscript is None:
        return {"tool": "lavaan", "status": "skipped: Rscript not on PATH"}
    out = RESULTS / f"fiml_lavaan_{csv.stem}.json"
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            [rscript, str(HERE / "bench_fiml.R"), "fit", str(csv), str(model), str(out)],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"tool": "lavaan", "status": f"> {timeout:.0f} s", "seconds": None}
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        return {"tool": "lavaan", "status": f"error: {proc.stderr.strip()[-300:]}"}
    r = json.loads(out.read_text())
    return {
        "tool": "lavaan",
        "version": r["lavaan"],
        "status": "ok" if r["converged"] else "not converged",
        "seconds": r["seconds"],
        "rscript_wall_seconds": wall,
        "iterations": r["iterations"],
        "patterns": r["patterns"],
        "chisq": r["fit"]["chisq"],
        "logl": r["fit"]["logl"],
        "estimates": r["estimates"],
    }


def run_semopy(df: pd.DataFrame, model: str) -> dict:
    try:
        import semopy
    except ImportError:
        return {"tool": "semopy", "status": "skipped: not installed (bench extra)"}
    t0 = time.perf_counter()
    try:
        m = semopy.Model(model)
        m.fit(df, obj="FIML")
        m.inspect()
        semopy.calc_stats(m)
    except Exception as exc:  # noqa: BLE001 - a benchmark reports other tools' failures
        return {"tool": "semopy", "status": f"error: {str(exc).splitlines()[0][:200]}"}
    return {
        "tool": "semopy",
        "version": version_of("semopy"),
        "status": "ok",
        "seconds": time.perf_counter() - t0,
    }


def version_of(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def agreement(ours: dict, lav: dict) -> dict:
    if "estimates" not in ours or "estimates" not in lav:
        return {}
    a = pd.DataFrame(ours["estimates"]).set_index(["lhs", "op", "rhs"])
    b = pd.DataFrame(lav["estimates"]).set_index(["lhs", "op", "rhs"])
    common = a.index.intersection(b.index)
    return {
        "chisq_diff": abs(ours["chisq"] - lav["chisq"]),
        "logl_diff": abs(ours["logl"] - lav["logl"]),
        "max_est_diff": float((a.loc[common, "est"] - b.loc[common, "est"]).abs().max()),
        "max_se_diff": float((a.loc[common, "se"] - b.loc[common, "se"]).abs().max()),
        "parameters_compared": len(common),
    }


def seconds_text(row: dict) -> str:
    if row.get("seconds") is None:
        return row["status"]
    text = f"{row['seconds']:.1f} s"
    return text if row["status"] == "ok" else f"{text} ({row['status']})"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", nargs="+", default=["bfi", "iemdp"], choices=["bfi", "iemdp"])
    parser.add_argument("--repeats", type=int, default=1, help="runs of ours per case (min)")
    parser.add_argument("--r-timeout", type=float, default=600.0, help="seconds per lavaan fit")
    parser.add_argument("--skip-r", action="store_true")
    parser.add_argument("--skip-semopy", action="store_true")
    args = parser.parse_args(argv)
    rscript = None if args.skip_r else shutil.which("Rscript")
    report = {
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, {platform.python_version()}",
        "load_average_start": os.getloadavg(),
        "cases": {},
    }
    for case in args.cases:
        prepared = prepare(case, rscript)
        if isinstance(prepared, str):
            report["cases"][case] = {"status": prepared}
            print(f"{case}: {prepared}", flush=True)
            continue
        csv, model_path = prepared
        df = pd.read_csv(csv)
        model = model_path.read_text()
        rows = [run_ours(df, model, args.repeats)]
        print(f"{case}: ours {seconds_text(rows[0])}", flush=True)
        rows.append(run_lavaan(rscript, csv, model_path, args.r_timeout))
        print(f"{case}: lavaan {seconds_text(rows[1])}", flush=True)
        if not args.skip_semopy:
            rows.append(run_semopy(df, model))
            print(f"{case}: semopy {seconds_text(rows[2])}", flush=True)
        report["cases"][case] = {
            "n": len(df),
            "items": df.shape[1],
            "missing_fraction": float(df.isna().to_numpy().mean()),
            "rows": rows,
            "agreement_with_lavaan": agreement(rows[0], rows[1]),
        }
    report["load_average_end"] = os.getloadavg()
    RESULTS.mkdir(parents=True, exist_ok=True)
    slim = json.loads(json.dumps(report, default=float))
    for case in slim["cases"].values():
        for row in case.get("rows", []):
            row.pop("estimates", None)
    (RESULTS / "fiml.json").write_text(json.dumps(slim, indent=1))
    (RESULTS / "fiml.md").write_text(markdown(slim))
    print(markdown(slim))
    return 0


def markdown(report: dict) -> str:
    lines = [
        "| Data | N | items | missing | patterns | ours | lavaan 0.6-14 | ratio | semopy |"
        " max abs diff est / SE |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, case in report["cases"].items():
        if "rows" not in case:
            lines.append(f"| {name} | {case['status']} |  |  |  |  |  |  |  |  |")
            continue
        rows = {r["tool"]: r for r in case["rows"]}
        ours, lav = rows["ours"], rows["lavaan"]
        semopy = rows.get("semopy", {"status": "not run"})
        ratio = (
            f"{ours['seconds'] / lav['seconds']:.2f}x"
            if lav.get("seconds")
            else (
                f"< {ours['seconds'] / float(lav['status'][2:-2]):.2f}x"
                if lav["status"].startswith(">")
                else ""
            )
        )
        agree = case["agreement_with_lavaan"]
        diff = f"{agree['max_est_diff']:.1e} / {agree['max_se_diff']:.1e}" if agree else ""
        lines.append(
            f"| {name} | {case['n']} | {case['items']} | {case['missing_fraction']:.1%} | "
            f"{ours['patterns']} | {seconds_text(ours)} | {seconds_text(lav)} | {ratio} | "
            f"{seconds_text(semopy) if 'seconds' in semopy else semopy['status']} | {diff} |"
        )
    lines.append("")
    lines.append(
        f"{report['date']}; {report['machine']}; load average at start "
        f"{report['load_average_start'][0]:.1f}, at end {report['load_average_end'][0]:.1f}."
    )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
