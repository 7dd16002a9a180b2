"""Benchmark confirmatory factor analysis: our engine, semopy, factor_analyzer and R's lavaan.

In one run and on the same simulated IEM-DP data (``generate_iemdp_data.py``: 72 items, 24
correlated first-order factors; or ``--model second-order``: 10 constructs over the 24), each tool
does a complete ML analysis, repeated ``--repeats`` times:

- ours: ``cfa(model, df)``, ``res.fit_measures()``, ``res.estimates`` (with SEs),
  ``res.modification_indices()``;
- semopy: ``Model(desc).fit(df)``, ``calc_stats``, ``inspect()`` (SEs); it has no modification
  indices;
- factor_analyzer 0.5.1: ``ConfirmatoryFactorAnalyzer`` as documented, then with a numpy array,
  then with a one-line compatibility shim (reported as a separate, labelled row);
- lavaan (if ``Rscript`` is on PATH): ``cfa()`` + ``fitMeasures()`` + ``modindices()``, timed
  inside R (R start-up and reading the CSV are reported separately).

For every tool the log-likelihood is recomputed here from its model-implied covariance matrix with
lavaan's convention, logL = -N/2 (log|Sigma| + tr(S Sigma^-1) + p log 2 pi) with the N-divisor S,
and compared with lavaan's. Results go to ``benchmarks/results/cfa.json`` and ``cfa.md``
(``cfa_second_order.*`` for the second-order model).

Run::

    .venv/bin/python benchmarks/bench_cfa.py [--n 2000] [--seed 1] [--repeats 3]
        [--model first-order|second-order] [--skip-r] [--skip-semopy] [--likert]

This is a benchmark, not a test: nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.metadata as md
import json
import math
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(1, str(REPO))

import generate_iemdp_data as gen  # noqa: E402

RESULTS = HERE / "results"
LAVAAN_SCRIPT = HERE / "bench_cfa_lavaan.R"


# ---------------------------------------------------------------------------------------------
# Shared helpers
# ---------------------------------------------------------------------------------------------


def sample_cov(df: pd.DataFrame) -> np.ndarray:
    """Covariance with the N divisor, as lavaan uses for ML."""
    return np.cov(df.to_numpy(dtype=float), rowvar=False, bias=True)


def gaussian_logl(sigma: np.ndarray, s: np.ndarray, n: int) -> float:
    """lavaan's logl: -N/2 (log|Sigma| + tr(S Sigma^-1) + p log 2 pi); NaN if Sigma is not PD."""
    sigma = np.asarray(sigma, dtype=float)
    try:
        chol = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return math.nan
    logdet = 2.0 * np.log(np.diag(chol)).sum()
    trace = np.trace(np.linalg.solve(sigma, s))
    p = s.shape[0]
    return -0.5 * n * (logdet + trace + p * math.log(2 * math.pi))


def saturated_logl(s: np.ndarray, n: int) -> float:
    p = s.shape[0]
    return -0.5 * n * (np.linalg.slogdet(s)[1] + p + p * math.log(2 * math.pi))


def first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}".rstrip(": ")


def version_of(dist: str) -> str | None:
    try:
        return md.version(dist)
    except md.PackageNotFoundError:
        return None


def lookup(obj: Any, key: str) -> Any:
    """Find ``key`` in a fit-measures object of unknown shape (mapping, Series, frame, object)."""
    if obj is None:
        return None
    if isinstance(obj, pd.Series):
        return obj.get(key)
    if isinstance(obj, pd.DataFrame):
        if key in obj.columns:
            return obj[key].iloc[0]
        if key in obj.index:
            return obj.loc[key].iloc[0]
        for name_col in ("measure", "name", "index"):
            if name_col in obj.columns and "value" in obj.columns:
                hit = obj.loc[obj[name_col] == key, "value"]
                return hit.iloc[0] if len(hit) else None
        return None
    if isinstance(obj, dict):
        return obj.get(key)
    if hasattr(obj, "to_dict"):
        return lookup(obj.to_dict(), key)
    return getattr(obj, key.replace(".", "_"), None)


def as_float(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def timed_repeats(once: Callable[[], tuple[dict[str, float], Any]], repeats: int):
    """Run ``once`` ``repeats`` times; it returns (phase -> seconds, output); keep the last."""
    phases: dict[str, list[float]] = {}
    output = None
    for _ in range(repeats):
        phase_times, output = once()
        for name, seconds in phase_times.items():
            phases.setdefault(name, []).append(seconds)
    totals = [sum(ts) for ts in zip(*phases.values(), strict=True)]
    return totals, phases, output


class Clock:
    """Phase stopwatch: ``clock.lap("fit")`` records the time since the previous lap."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.phases[name] = now - self._last
        self._last = now


def result(tool: str, version: str | None, status: str = "ok", **fields: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        "tool": tool,
        "version": version,
        "status": status,
        "times": [],
        "phases": {},
        "logl": None,
        "logl_reported": None,
        "chisq": None,
        "df": None,
        "npar": None,
        "converged": None,
        "admissible": None,
        "notes": [],
    }
    row.update(fields)
    return row


def summarise_times(row: dict[str, Any]) -> None:
    times = row["times"]
    row["repeats"] = len(times)
    row["median_s"] = statistics.median(times) if times else None
    row["min_s"] = min(times) if times else None
    row["phase_median_s"] = {k: statistics.median(v) for k, v in row["phases"].items()}


# ---------------------------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------------------------


def run_lavaan(
    data_path: Path, model_path: Path, repeats: int, s: np.ndarray, n: int, items: list[str]
) -> dict[str, Any]:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return result("lavaan", None, "skipped", notes=["Rscript not on PATH"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "lavaan.json"
        started = time.perf_counter()
        proc = subprocess.run(
            [rscript, str(LAVAAN_SCRIPT), str(data_path), str(model_path), str(repeats), str(out)],
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0 or not out.exists():
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
            return result(
                "lavaan", None, f"error: Rscript exit {proc.returncode}: {' | '.join(tail)}"
            )
        r = json.loads(out.read_text())
    sigma = (
        pd.DataFrame(
            r["implied_cov"]["values"],
            index=r["implied_cov"]["names"],
            columns=r["implied_cov"]["names"],
        )
        .loc[items, items]
        .to_numpy()
    )
    row = result(
        "lavaan",
        r["version"],
        times=r["times"],
        phases=r["phases"],
        logl=gaussian_logl(sigma, s, n),
        logl_reported=r["logl"],
        chisq=r["chisq"],
        df=r["df"],
        npar=r["npar"],
        converged=bool(r["converged"]),
        notes=[
            f"{r['r_version']}; BLAS {r['blas']}",
            f"R start-up + library(lavaan) {r['startup_seconds']:.2f} s, read.csv "
            f"{r['read_csv_seconds']:.2f} s, whole Rscript process {wall:.1f} s "
            "(not in the timings)",
        ]
        + [f"warning: {w}" for w in r["warnings"]],
        extra={
            "iterations": r["iterations"],
            "cfi": r["cfi"],
            "rmsea": r["rmsea"],
            "srmr": r["srmr"],
            "n_modindices": r["n_modindices"],
            "unrestricted_logl": r["unrestricted_logl"],
            "rscript_wall_s": wall,
        },
    )
    return row


def _implied_cov_of(res: Any, items: list[str]) -> tuple[np.ndarray | None, str]:
    """The engine's implied covariance in ``items`` order, and where it was found."""
    for name in ("implied_cov", "sigma", "implied_covariance", "model_implied_cov"):
        value = getattr(res, name, None)
        if callable(value):
            try:
                value = value()
            except TypeError:
                continue
        if isinstance(value, pd.DataFrame):
            return value.loc[items, items].to_numpy(), name
        if value is not None:
            return np.asarray(value, dtype=float), name
    return None, ""


def run_ours(model: str, df: pd.DataFrame, repeats: int, s: np.ndarray, n: int) -> dict[str, Any]:
    try:
        from psychometrics.cfa import cfa
    except ImportError as exc:
        note = f"psychometrics.cfa not importable yet ({first_line(exc)})"
        print(f"[ours] skipped: {note}")
        return result(
            "ours (psychometrics.cfa)", version_of("iemdp-survey"), "skipped", notes=[note]
        )

    def once():
        clock = Clock()
        res = cfa(model, df)
        clock.lap("cfa")
        fm = res.fit_measures()
        clock.lap("fit_measures")
        est = res.estimates
        clock.lap("estimates")
        mi = res.modification_indices()
        clock.lap("modification_indices")
        return clock.phases, (res, fm, est, mi)

    try:
        times, phases, (res, fm, est, mi) = timed_repeats(once, repeats)
    except Exception as exc:  # the engine is young: report, do not crash the benchmark
        traceback.print_exc()
        return result(
            "ours (psychometrics.cfa)", version_of("iemdp-survey"), f"error: {first_line(exc)}"
        )
    sigma, source = _implied_cov_of(res, list(df.columns))
    reported = as_float(lookup(fm, "logl"))
    if sigma is not None:
        logl = gaussian_logl(sigma, s, n)
        notes = [f"implied covariance from res.{source}; engine's own logl = {reported!r}"]
    else:
        logl = reported if reported is not None else math.nan
        notes = ["no implied covariance found on the result; logL is the engine's own"]
    engine_warnings = getattr(res, "warnings", None) or []
    notes += [f"engine warning: {w}" for w in engine_warnings]
    converged = getattr(res, "converged", None)
    return result(
        "ours (psychometrics.cfa)",
        version_of("iemdp-survey"),
        times=times,
        phases=phases,
        logl=logl,
        logl_reported=reported,
        chisq=as_float(lookup(fm, "chisq")),
        df=as_float(lookup(fm, "df")),
        npar=as_float(lookup(fm, "npar")),
        converged=None if converged is None else bool(converged),
        notes=notes,
        extra={
            "iterations": getattr(res, "iterations", None),
            "information": getattr(res, "information", None),
            "n_estimates": len(est) if hasattr(est, "__len__") else None,
            "n_modindices": len(mi) if hasattr(mi, "__len__") else None,
        },
    )


def run_semopy(model: str, df: pd.DataFrame, repeats: int, s: np.ndarray, n: int) -> dict[str, Any]:
    try:
        import semopy
    except ImportError as exc:
        return result("semopy", None, "skipped", notes=[first_line(exc)])
    version = version_of("semopy")

    def once():
        clock = Clock()
        m = semopy.Model(model)
        opt = m.fit(df)
        clock.lap("fit")
        stats = semopy.calc_stats(m)
        clock.lap("calc_stats")
        est = m.inspect()
        clock.lap("inspect")
        return clock.phases, (m, opt, stats, est)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            times, phases, (m, opt, stats, est) = timed_repeats(once, repeats)
        except Exception as exc:
            traceback.print_exc()
            return result("semopy", version, f"error: {first_line(exc)}")
    observed = list(m.vars["observed"])
    sigma = m.calc_sigma()[0]
    s_sem = pd.DataFrame(s, index=df.columns, columns=df.columns).loc[observed, observed].to_numpy()
    value = stats.loc["Value"] if "Value" in stats.index else stats.iloc[0]
    notes = [
        f"objective MLW at optimum = {float(opt.fun):.6g} (N x MLW = its chi2); its "
        f"'LogLik' statistic is that objective ({as_float(value.get('LogLik'))}), "
        "not a log-likelihood",
        f"solver SLSQP: {opt.message!s} after {getattr(opt, 'n_it', '?')} iterations",
        "no modification indices in semopy: less work than the other rows",
    ]
    if caught:
        kinds = sorted(
            {f"{w.category.__name__}: {str(w.message).splitlines()[0][:120]}" for w in caught}
        )
        notes.append(f"{len(caught)} warnings, e.g. " + "; ".join(kinds[:3]))
    n_free = len(est[est["Estimate"].notna()]) if "Estimate" in est else None
    return result(
        "semopy",
        version,
        times=times,
        phases=phases,
        logl=gaussian_logl(sigma, s_sem, n),
        chisq=as_float(value.get("chi2")),
        df=as_float(value.get("DoF")),
        npar=None,
        converged=bool(opt.success),
        notes=notes,
        extra={
            "objective_mlw": float(opt.fun),
            "n_parameter_rows": n_free,
            "cfi": as_float(value.get("CFI")),
            "rmsea": as_float(value.get("RMSEA")),
        },
    )


def _fa_loadings_pattern(items: list[str]) -> np.ndarray:
    factors = list(gen.SUBCONSTRUCTS)
    pattern = np.zeros((len(items), len(factors)), dtype=int)
    for i, item in enumerate(items):
        pattern[i, factors.index(item.rsplit("_", 1)[0])] = 1
    return pattern


def run_factor_analyzer(
    df: pd.DataFrame, repeats: int, s: np.ndarray, n: int
) -> list[dict[str, Any]]:
    """Three attempts, each its own row: as documented; numpy input; numpy + compat shim."""
    try:
        import factor_analyzer.confirmatory_factor_analyzer as fa_mod
        from factor_analyzer import ConfirmatoryFactorAnalyzer, ModelSpecificationParser
    except ImportError as exc:
        return [result("factor_analyzer", None, "skipped", notes=[first_line(exc)])]
    version = version_of("factor_analyzer")
    items = list(df.columns)
    spec_dict = {f: [f"{f}_{k}" for k in (1, 2, 3)] for f in gen.SUBCONSTRUCTS}
    x = df.to_numpy(dtype=float)
    rows = []

    def attempt(label: str, make_spec: Callable[[], Any], data: Any) -> dict[str, Any]:
        def once():
            clock = Clock()
            model = ConfirmatoryFactorAnalyzer(make_spec(), disp=False)
            model.fit(data)
            clock.lap("fit")
            se = model.get_standard_errors()
            clock.lap("standard_errors")
            return clock.phases, (model, se)

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                times, phases, (model, _) = timed_repeats(once, repeats)
            except Exception as exc:
                return result(label, version, f"error: {first_line(exc)}")
        sigma = model.get_model_implied_cov()
        eig_min = float(np.linalg.eigvalsh(sigma).min())
        n_neg = int((np.asarray(model.error_vars_) < 0).sum())
        # factor_analyzer's objective, -logL, is clipped at 0 ("error = 0.0 if error < 0.0").
        with np.errstate(all="ignore"):
            unclipped = n * s.shape[0] / 2 * math.log(2 * math.pi) + n / 2 * (
                np.log(np.linalg.det(sigma)) + np.trace(model.cov_ @ np.linalg.inv(sigma))
            )
        unclipped_text = (
            f"{unclipped:.6g}" if math.isfinite(unclipped) else "undefined (det(Sigma) <= 0)"
        )
        notes = [
            f"own log_likelihood_ = {model.log_likelihood_!r}; its objective -logL is "
            f"clipped at 0, and unclipped it is {unclipped_text} at the solution",
            f"implied covariance: smallest eigenvalue {eig_min:.3g}; "
            f"{n_neg} negative error variances",
        ]
        failed = [str(w.message) for w in caught if "converge" in str(w.message)]
        notes += [f"warning: {w}" for w in sorted(set(failed))]
        return result(
            label,
            version,
            times=times,
            phases=phases,
            logl=gaussian_logl(sigma, s, n),
            logl_reported=as_float(model.log_likelihood_),
            converged=not failed,
            admissible=eig_min > 0,
            notes=notes,
            extra={
                "optimizer_warned": bool(failed),
                "min_eigenvalue_sigma": eig_min,
                "negative_error_variances": n_neg,
            },
        )

    rows.append(
        attempt(
            "factor_analyzer (DataFrame, as documented)",
            lambda: ModelSpecificationParser.parse_model_specification_from_dict(df, spec_dict),
            df,
        )
    )
    rows.append(
        attempt(
            "factor_analyzer (numpy array)",
            lambda: ModelSpecificationParser.parse_model_specification_from_array(
                x, _fa_loadings_pattern(items)
            ),
            x,
        )
    )

    # factor_analyzer 0.5.1 calls check_array(force_all_finite=...), which scikit-learn removed
    # in 1.8 (renamed ensure_all_finite). Translate the keyword to see what the optimiser does.
    original = fa_mod.check_array

    def check_array_compat(*args, force_all_finite=True, **kwargs):
        return original(*args, ensure_all_finite=force_all_finite, **kwargs)

    fa_mod.check_array = check_array_compat
    try:
        row = attempt(
            "factor_analyzer (numpy + check_array shim)",
            lambda: ModelSpecificationParser.parse_model_specification_from_array(
                x, _fa_loadings_pattern(items)
            ),
            x,
        )
    finally:
        fa_mod.check_array = original
    row["notes"].insert(
        0, "shim: check_array(force_all_finite=) -> ensure_all_finite=, for this row only"
    )
    rows.append(row)
    return rows


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def fmt(x: Any, spec: str) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return format(x, spec)


def machine() -> dict[str, Any]:
    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    mem = None
    if Path("/proc/meminfo").exists():
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f"{kb / 1024**2:.0f} GiB"
    return {
        "cpu": cpu,
        "logical_cpus": os.cpu_count(),
        "memory": mem,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "pandas": pd.__version__,
        "scipy": version_of("scipy"),
        "scikit-learn": version_of("scikit-learn"),
    }


def markdown(report: dict[str, Any]) -> str:
    st = report["settings"]
    lines = [
        f"# CFA benchmark: {st['model']} model, N = {st['n']}, seed {st['seed']}",
        "",
        f"{report['date']}; {report['machine']['cpu']}, {report['machine']['logical_cpus']} "
        f"logical CPUs, {report['machine']['memory']}; Python {report['machine']['python']}; "
        f"load average (1 min) {report['machine']['load_average_at_start'][0]} at start, "
        f"{report['machine']['load_average_at_end'][0]} at end. "
        f"Data: `{st['data']}` ({st['p']} items, {st['n_factors']} latent variables).",
        "",
        "| tool | status | median s | min s | repeats | logL | chi2 (df) | converged "
        "| abs(logL - lavaan) | phases (median s) |",
        "|---|---|---:|---:|---:|---:|---|---|---:|---|",
    ]
    for r in report["results"]:
        chisq = fmt(r["chisq"], ".3f") + (
            f" ({fmt(r['df'], '.0f')})" if r["df"] is not None else ""
        )
        phases = " · ".join(f"{k} {v:.2f}" for k, v in r.get("phase_median_s", {}).items())
        converged = {True: "yes", False: "no", None: "n/a"}[r["converged"]]
        if r.get("admissible") is False:
            converged += ", to an inadmissible solution (implied cov not PD)"
        lines.append(
            f"| {r['tool']} {r['version'] or ''} | {r['status']} | {fmt(r.get('median_s'), '.2f')} "
            f"| {fmt(r.get('min_s'), '.2f')} | {r.get('repeats', 0)} | {fmt(r['logl'], '.3f')} "
            f"| {chisq} | {converged} | {fmt(r.get('abs_dlogl_vs_lavaan'), '.2e')} | {phases} |"
        )
    lines += [
        "",
        "logL is recomputed from each tool's implied covariance matrix with lavaan's "
        "convention (N-divisor S); n/a where the matrix is not positive definite. "
        "abs(logL - lavaan) is against the logl lavaan itself reports (for the lavaan row: "
        "a check of the recomputation). chi2 is as each tool reports it.",
        "",
        "Notes:",
        "",
    ]
    for r in report["results"]:
        for note in r["notes"]:
            lines.append(f"- {r['tool']}: {note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--model", choices=("first-order", "second-order"), default="first-order")
    parser.add_argument("--likert", action="store_true", help="1..5 items instead of continuous")
    parser.add_argument("--skip-r", action="store_true", help="do not run lavaan")
    parser.add_argument("--skip-semopy", action="store_true")
    parser.add_argument("--skip-factor-analyzer", action="store_true")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")

    load_at_start = [round(x, 2) for x in os.getloadavg()]
    paths = gen.write(args.out / "data", args.n, args.seed, args.likert)
    model_path = paths["model"] if args.model == "first-order" else paths["model_second_order"]
    model = model_path.read_text()
    df = pd.read_csv(paths["data"])  # the very numbers R reads
    items = list(df.columns)
    s = sample_cov(df)
    n = len(df)
    n_factors = len(gen.SUBCONSTRUCTS) + (
        len(gen.CONSTRUCTS) if args.model == "second-order" else 0
    )

    results: list[dict[str, Any]] = []
    if not args.skip_r:
        print("[lavaan] running ...", flush=True)
        results.append(run_lavaan(paths["data"], model_path, args.repeats, s, n, items))
    print("[ours] running ...", flush=True)
    results.append(run_ours(model, df, args.repeats, s, n))
    if not args.skip_semopy:
        print("[semopy] running ...", flush=True)
        results.append(run_semopy(model, df, args.repeats, s, n))
    if not args.skip_factor_analyzer:
        if args.model == "first-order":
            print("[factor_analyzer] running ...", flush=True)
            results.extend(run_factor_analyzer(df, args.repeats, s, n))
        else:
            results.append(
                result(
                    "factor_analyzer",
                    version_of("factor_analyzer"),
                    "skipped",
                    notes=["first-order models only"],
                )
            )

    # lavaan's own logl; its row then shows how well the recomputation here reproduces it.
    reference = next(
        (r["logl_reported"] for r in results if r["tool"] == "lavaan" and r["status"] == "ok"), None
    )
    for r in results:
        summarise_times(r)
        r["logl_saturated"] = saturated_logl(s, n)
        r["abs_dlogl_vs_lavaan"] = (
            abs(r["logl"] - reference)
            if reference is not None and r["logl"] is not None and not math.isnan(r["logl"])
            else None
        )
        for key in ("logl", "chisq"):
            if isinstance(r[key], float) and math.isnan(r[key]):
                r[key] = None

    report = {
        "benchmark": "cfa",
        "date": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {**machine(), "load_average_at_start": load_at_start},
        "settings": {
            "model": args.model,
            "n": n,
            "seed": args.seed,
            "repeats": args.repeats,
            "likert": args.likert,
            "p": len(items),
            "n_factors": n_factors,
            "data": str(
                paths["data"].relative_to(REPO)
                if paths["data"].is_relative_to(REPO)
                else paths["data"]
            ),
            "model_file": str(model_path.name),
        },
        "results": results,
    }
    stem = "cfa" if args.model == "first-order" else "cfa_second_order"
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / f"{stem}.json").write_text(json.dumps(report, indent=1, default=str))
    text = markdown(report)
    (args.out / f"{stem}.md").write_text(text)
    print(text)
    return report


if __name__ == "__main__":
    main()
