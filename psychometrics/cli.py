"""Command line: ``python -m psychometrics {describe,reliability,efa,cfa,invariance} ...``.

Reads a CSV file (one row per respondent, one column per item), runs one analysis and prints
aligned tables, or with ``--json`` one JSON document holding every number (the result objects'
``to_dict()``). Bad input ends with exit status 2 and one line on stderr naming the file and the
problem; an unexpected failure ends with status 1 and one line.

Warnings (``cfa`` and ``invariance``)
-------------------------------------
Every warning of a fit (:attr:`CFAResult.warnings`: non-convergence with the optimiser's message,
a singular information matrix, Heywood cases -- a negative variance, a standardised loading
beyond 1, a factor covariance matrix that is not positive definite -- and free parameters
without a standard error) is printed before the numbers: one ``warning: ...`` line each on
stderr (also with ``--json``) and a ``WARNING`` block at the top of the text. The numbers are
still printed. As lavaan warns and returns, a Heywood case alone leaves the exit status at 0;
so that a script can tell, a fit that did not converge or has free parameters without a standard
error (an empirically under-identified model) ends with exit status 3. A model that is not
identified on its face (negative degrees of freedom, e.g. ``f =~ x1 + x2`` alone, or a lone
indicator) is bad input: status 2, nothing printed.

JSON and text of ``cfa`` and ``invariance``
-------------------------------------------
With ``--json`` every ``fit_measures`` object carries lavaan's ``fitMeasures()`` names
(``chisq``, ``chisq.scaled``, ``cfi.robust``, ``rmsea.ci.upper``, ``ntotal``, ...; the one name
table is :mod:`psychometrics.cfa.fit_names`). This changed with issue 11: the JSON's fit-measure
keys used to be the Python keys of ``CFAResult.fit_measures()`` (``rmsea_ci_lower``, ``nobs``);
nothing else in the JSON was renamed (the invariance ``table`` keeps its column names). The
text of ``cfa`` is ``CFAResult.summary()``, laid out as lavaan's ``summary(fit,
fit.measures = TRUE, standardized = TRUE)``, after the WARNING block; composite reliability
and modification indices are in the JSON. With ``--ordered`` (one group) the text is a line
naming the estimator, ``OrdinalCFAResult.summary()`` (lavaan's summary of a categorical fit)
and the categorical omega.

``--estimator`` and ``--missing`` are on every command that fits a CFA (``cfa``,
``invariance``; ``reliability`` has ``--missing ml`` for omega's CFA, where the estimator is
always ML: MLR and MLM change standard errors, not omega). ``--std-lv`` (``cfa``,
``invariance``) identifies each factor by fixing its variance to 1 instead of its first loading
(lavaan's ``std.lv = TRUE``). ``efa`` fits no CFA: its estimator is ``--method``.

Examples
--------
::

    python -m psychometrics describe --data answers.csv --range 1 5
    python -m psychometrics reliability --data answers.csv --range 1 5 \\
        --scale anxiety=a1,a2,-a3,a4 --scale mood=m1,m2,m3
    python -m psychometrics efa --data answers.csv --items a1,a2,a3,m1,m2,m3 --seed 1
    python -m psychometrics cfa --data answers.csv --model model.lav --missing ml
    python -m psychometrics cfa --data answers.csv --model model.lav --std-lv --json
    python -m psychometrics cfa --data answers.csv --model model.lav --missing ml --estimator MLR
    python -m psychometrics invariance --data answers.csv --model model.lav --group site
    python -m psychometrics invariance --data long.csv --model model.lav --longitudinal \\
        --id participant --time wave --missing ml
    python -m psychometrics invariance --data answers.csv --model model.lav --group site \\
        --ordered all   # WLSMV: configural / thresholds / metric / scalar (Wu & Estabrook)
    python -m psychometrics invariance --data long.csv --model model.lav --longitudinal \\
        --id participant --time wave --ordered all --missing pairwise
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    import pandas as pd

# numpy and pandas are imported inside the functions that use them (as the analysis modules
# below), so that `--help` and a mistyped option answer without loading them.
# The analysis modules are imported inside the commands: scipy and scikit-learn take most of a
# second to import, and a mistyped file name should not wait for them.
EFA_METHODS = ("minres", "ml")
EFA_ROTATIONS = ("oblimin", "promax", "varimax", "quartimin", "quartimax", "equamax", "none")

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
EXIT_UNTRUSTWORTHY = 3  # printed, but did not converge or has no standard errors


class InputError(Exception):
    """Bad input: reported as one line, exit status 2."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"{source}: {message}")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, no usage dump
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        sys.exit(EXIT_BAD_INPUT)


# --------------------------------------------------------------------------- arguments
def build_parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--data", required=True, metavar="F.csv", help="CSV file, one row per respondent"
    )
    common.add_argument("--json", action="store_true", help="print JSON with every number")

    parser = _Parser(
        prog="python -m psychometrics",
        description="Item statistics, reliability, EFA and CFA on a CSV file.",
        epilog="Exit status: 0 done (cfa/invariance may print warnings, e.g. a Heywood case); "
        "1 internal error; 2 bad input; 3 cfa/invariance printed results that are not "
        "trustworthy: the model did not converge or standard errors are missing "
        "(under-identified). Warnings go to stderr as 'warning: ...' lines.",
    )
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=_Parser
    )

    p = sub.add_parser("describe", parents=[common], help="item statistics")
    _items_option(p)
    _range_option(p)
    p.add_argument(
        "--skew-type",
        type=int,
        choices=(1, 2, 3),
        default=3,
        help="skewness/kurtosis definition (3 = psych::describe, default)",
    )

    p = sub.add_parser("reliability", parents=[common], help="alpha, split half, omega per scale")
    p.add_argument(
        "--scale",
        action="append",
        required=True,
        metavar="NAME=ITEM,-ITEM,...",
        help="a scale; repeat for more. A leading minus reverse-keys the item "
        "against --range (min + max - x)",
    )
    _range_option(p)
    p.add_argument(
        "--missing",
        choices=("listwise", "pairwise", "ml"),
        default="listwise",
        help="listwise (default) or pairwise for alpha and split half; "
        "ml fits omega's CFA by full-information ML (alpha then listwise)",
    )
    p.add_argument("--no-omega", action="store_true", help="skip omega (no CFA)")

    p = sub.add_parser("efa", parents=[common], help="KMO, Bartlett, parallel analysis, EFA")
    _items_option(p)
    p.add_argument("--factors", type=int, help="number of factors (default: parallel analysis)")
    p.add_argument("--method", choices=EFA_METHODS, default="minres")
    p.add_argument("--rotation", choices=EFA_ROTATIONS, default="oblimin")
    p.add_argument("--missing", choices=("listwise", "pairwise"), default="listwise")
    p.add_argument("--seed", type=int, default=None, help="seed for parallel analysis")
    p.add_argument("--iterations", type=int, default=100, help="parallel analysis data sets")

    for name, text in (
        ("cfa", "confirmatory factor analysis"),
        ("invariance", "configural / metric / scalar invariance"),
    ):
        p = sub.add_parser(
            name,
            parents=[common],
            help=text,
            epilog="Warnings are printed first ('warning: ...' on stderr, a WARNING block in "
            "the text). Exit status 3 when a fit did not converge or lacks standard errors "
            "(results still printed); a Heywood case alone warns and exits 0.",
        )
        p.add_argument("--model", required=True, metavar="M.lav", help="lavaan-style model file")
        p.add_argument(
            "--score-test",
            action="store_true",
            help="score tests for releasing the equality constraints (shared labels, '==', "
            "group equality), as lavaan's lavTestScore: total and one per constraint, with "
            "expected parameter changes in the JSON"
            + ("; for each level with constraints" if name == "invariance" else ""),
        )
        p.add_argument(
            "--std-lv",
            action="store_true",
            help="identify each factor by fixing its variance to 1 instead of its first "
            "loading (lavaan's std.lv = TRUE)"
            + ("; with --longitudinal see --identification" if name == "invariance" else ""),
        )
        if name == "cfa":
            p.add_argument(
                "--orthogonal",
                action="store_true",
                help="fix the covariances between exogenous factors to 0 (lavaan's "
                "orthogonal = TRUE); covariances written in the model stay",
            )
        p.add_argument(
            "--group",
            metavar="COL",
            help="grouping column"
            + (" (multi-group invariance; or --longitudinal)" if name == "invariance" else ""),
        )
        if name == "invariance":
            _longitudinal_options(p)
            p.add_argument(
                "--group-partial",
                metavar="PAR,...",
                help="with --group: parameters released from the equality constraints of the "
                "levels that constrain them (lavaan's group.partial), e.g. 'visual=~x3,x7~1'",
            )
        if name == "cfa":
            p.add_argument(
                "--missing",
                choices=("listwise", "ml", "pairwise"),
                default=None,
                help="listwise (default) or full-information ML; pairwise: with --ordered only",
            )
            p.add_argument(
                "--estimator",
                type=str.upper,
                default=None,
                metavar="ML|MLR|MLM|WLSMV|WLSM|ULSMV",
                help="ML (default); MLR: robust (Huber-White) SEs and Yuan-Bentler scaled "
                "test, also with --missing ml; MLM: Satorra-Bentler, complete data only; "
                "WLSMV (default with --ordered), WLSM, ULSMV: ordered items",
            )
            p.add_argument(
                "--ordered",
                metavar="all|ITEM,...",
                help="treat the items as ordered categories (polychoric correlations, DWLS); "
                "'all' or every observed variable of the model",
            )
            p.add_argument(
                "--parameterization",
                choices=("delta", "theta"),
                default=None,
                help="with --ordered: delta (default, as lavaan) or theta",
            )
    return parser


def _longitudinal_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--longitudinal",
        action="store_true",
        help="invariance across waves of the same participants: --data in long format "
        "(one row per participant x wave), one repeated-measures model over all waves",
    )
    p.add_argument("--id", metavar="COL", help="participant column (with --longitudinal)")
    p.add_argument("--time", metavar="COL", help="wave column (with --longitudinal)")
    p.add_argument(
        "--waves",
        metavar="A,B,...",
        help="waves to use, in order (default: all, sorted when numeric, else as they "
        "first appear)",
    )
    p.add_argument(
        "--missing",
        choices=("listwise", "ml", "pairwise"),
        default="listwise",
        help="listwise (default; with --longitudinal: participants with every item at every "
        "wave) or full-information ML (keeps those who dropped out; ML, MLR); pairwise: "
        "with --ordered (WLSMV) only",
    )
    p.add_argument(
        "--estimator",
        type=str.upper,
        default=None,
        metavar="ML|MLR|MLM|WLSMV",
        help="ML (default); MLR or MLM: robust SEs, scaled tests and Satorra-Bentler (2001) "
        "scaled differences (MLM: complete data); WLSMV (default with --ordered): ordered "
        "items, the Wu & Estabrook (2016) ladder configural / thresholds / metric / scalar "
        "with Satorra (2000) scaled-shifted differences",
    )
    p.add_argument(
        "--ordered",
        metavar="all|ITEM,...",
        help="the items are ordered categories (WLSMV): 'all' or every item of the model",
    )
    p.add_argument(
        "--parameterization",
        choices=("delta", "theta"),
        default=None,
        help="with --ordered: delta (default, as lavaan) or theta (which adds strict "
        "invariance, equal residual variances, as the last level)",
    )
    p.add_argument(
        "--identification",
        choices=("std.lv", "marker"),
        default="std.lv",
        help="with --longitudinal: factor variances 1 (semTools measEq.syntax's default, "
        "default) or marker loadings 1",
    )


def _items_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--items", metavar="A,B,...", help="columns to use (default: all)")


def _range_option(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--range",
        nargs=2,
        type=float,
        metavar=("MIN", "MAX"),
        help="lowest and highest response option",
    )


# --------------------------------------------------------------------------- input
def read_data(path: str) -> pd.DataFrame:
    file = Path(path)
    if not file.exists():
        raise InputError(path, "no such file")
    if not file.is_file():
        raise InputError(path, "not a file")
    import pandas as pd

    try:
        with warnings.catch_warnings():
            # a row with more fields than the header would otherwise become a silent index
            warnings.simplefilter("error", pd.errors.ParserWarning)
            frame = pd.read_csv(file, index_col=False)
    except pd.errors.ParserWarning:
        raise InputError(
            path, "not a readable CSV file (rows and header differ in length)"
        ) from None
    except pd.errors.EmptyDataError:
        raise InputError(path, "the file is empty") from None
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise InputError(path, f"not a readable CSV file ({first})") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if frame.shape[1] == 0 or len(frame) == 0:
        raise InputError(path, "no data rows")
    return frame


def _item_list(text: str | None) -> list[str] | None:
    if text is None:
        return None
    names = [t.strip() for t in text.split(",") if t.strip()]
    return names or None


# --------------------------------------------------------------------------- commands
def run_describe(args, data):
    from psychometrics import items as items_mod

    res = items_mod.describe_items(
        data,
        _item_list(args.items),
        response_range=None if args.range is None else tuple(args.range),
        skew_type=args.skew_type,
    )
    text = [
        f"Item statistics (n rows = {res.n_rows}; skew/kurtosis type {res.skew_type}; "
        f"floor/ceiling against the {res.range_source} range)",
        _table(res.table),
    ]
    if res.distribution is not None:
        text += ["", "Response counts", res.distribution.to_string()]
    return res.to_dict(), "\n".join(text), NO_PROBLEMS


def run_reliability(args, data):
    from psychometrics.keying import ScaleKey, reverse_key

    keys = []
    for spec in args.scale:
        try:
            keys.append(ScaleKey.parse(spec))
        except ValueError as exc:
            raise InputError("--scale", str(exc)) from None
    names = [k.name for k in keys]
    if len(set(names)) != len(names):
        raise InputError("--scale", "two scales have the same name")
    needs_range = [k.name for k in keys if k.reverse]
    if needs_range and args.range is None:
        raise InputError(
            "--scale", f"scale(s) {', '.join(needs_range)} reverse-key items; give --range MIN MAX"
        )
    for key in keys:
        absent = [i for i in key.items if i not in data.columns]
        if absent:
            raise InputError(
                args.data, f"scale {key.name!r} names columns not in the data: {', '.join(absent)}"
            )
    from psychometrics import reliability as rel_mod

    item_missing = "pairwise" if args.missing == "pairwise" else "listwise"
    omega_missing = "ml" if args.missing == "ml" else "listwise"
    out: dict = {"scales": {}}
    lines: list[str] = []
    for key in keys:
        scored = data
        if key.reverse:
            low, high = args.range
            scored = reverse_key(data, key.reverse, low=low, high=high)
        alpha = rel_mod.cronbach_alpha(scored, key.items, missing=item_missing)
        half = rel_mod.split_half(scored, key.items, missing=item_missing)
        entry = {"key": key.to_dict(), "alpha": alpha.to_dict(), "split_half": half.to_dict()}
        omega_line = "omega total: not computed (--no-omega)"
        if not args.no_omega:
            omega_line, entry["omega"] = _omega(scored, key, omega_missing)
        out["scales"][key.name] = entry
        reversed_note = f"; reverse-keyed: {', '.join(key.reverse)}" if key.reverse else ""
        items_table = alpha.items.copy()
        items_table.index = [f"-{i}" if i in key.reverse else i for i in items_table.index]
        lines += [
            f"Scale {key.name} ({alpha.n_items} items{reversed_note})",
            f"  Cronbach's alpha     {alpha.alpha:.4f}  "
            f"{alpha.ci_level:.0%} CI [{alpha.ci_lower:.4f}, {alpha.ci_upper:.4f}] (Feldt)"
            f"  n = {alpha.n}, {alpha.missing}",
            f"  standardised alpha   {alpha.std_alpha:.4f}  "
            f"(mean inter-item r {alpha.average_r:.4f})",
            f"  split half (odd-even) r = {half.r_halves:.4f}, "
            f"Spearman-Brown {half.spearman_brown:.4f}, "
            f"Guttman {half.guttman_split_half:.4f}  n = {half.n}",
            f"  {omega_line}",
            _indent(_table(items_table)),
            "",
        ]
    return out, "\n".join(lines).rstrip(), NO_PROBLEMS


def _omega(scored, key, missing):
    from psychometrics import reliability as rel_mod

    if len(key.items) < 3:
        return "omega total: needs at least 3 items", None
    try:
        res = rel_mod.omega_total(scored, key.items, missing=missing)
    except ImportError:
        return "omega total: CFA engine not available", None
    line = (
        f"omega total          {res.omega:.4f}  n = {res.n}, {res.missing}\n"
        f"    (one-factor CFA, model-implied variance; with the observed variance "
        f"{_fmt(res.omega_observed)})"
    )
    return line, res.to_dict()


def run_efa(args, data):
    from psychometrics import efa as efa_mod

    items = _item_list(args.items)
    k = efa_mod.kmo(data, items, missing=args.missing)
    b = efa_mod.bartlett_sphericity(data, items, missing=args.missing)
    pa = efa_mod.parallel_analysis(
        data, items, n_iter=args.iterations, rng=args.seed, missing=args.missing
    )
    n_factors = args.factors if args.factors is not None else max(pa.n_factors, 1)
    res = efa_mod.efa(
        data, n_factors, items, method=args.method, rotation=args.rotation, missing=args.missing
    )
    out = {
        "kmo": k.to_dict(),
        "bartlett": b.to_dict(),
        "parallel_analysis": pa.to_dict(),
        "seed": args.seed,
        "efa": res.to_dict(),
    }
    chosen = "given" if args.factors is not None else "from parallel analysis (FA eigenvalues)"
    loadings = res.loadings.copy()
    loadings["h2"] = res.communalities
    loadings["u2"] = res.uniquenesses
    lines = [
        f"n = {res.n} ({res.missing})",
        f"KMO overall {k.overall:.4f}",
        _indent(_table(k.per_item.to_frame())),
        f"Bartlett's test of sphericity: chi2 = {b.chi2:.4f}, df = {b.df}, p = {b.p_value:.4g}",
        "",
        f"Parallel analysis ({pa.n_iter} random normal data sets, {pa.percentile:g}th percentile,"
        f" seed {args.seed}): {pa.n_factors} factor(s), {pa.n_components} component(s)",
        _indent(_table(pa.table)),
        "",
        f"EFA: {n_factors} factor(s) {chosen}, {res.method} extraction, {res.rotation} rotation"
        + ("" if res.converged else "  (optimiser did NOT converge)"),
        _indent(_table(loadings)),
        "",
        _indent(_table(res.variance)),
    ]
    if res.phi is not None:
        lines += ["", "  Factor correlations", _indent(_table(res.phi))]
    return out, "\n".join(lines), NO_PROBLEMS


def _read_model(path: str) -> str:
    file = Path(path)
    if not file.is_file():
        raise InputError(path, "no such file")
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(path, f"cannot read the model ({exc})") from None
    if not text.strip():
        raise InputError(path, "the model file is empty")
    return text


def _cfa_engine():
    try:
        from psychometrics import cfa as cfa_mod
    except ImportError:
        raise InputError("psychometrics.cfa", "the CFA engine is not installed") from None
    return cfa_mod


def run_cfa(args, data):
    cfa_mod = _cfa_engine()

    model = _read_model(args.model)
    kwargs = {}
    if args.missing is not None:
        kwargs["missing"] = args.missing
    if args.group is not None:
        _check_group(args, data)
        kwargs["group"] = args.group
    if args.std_lv:
        kwargs["std_lv"] = True
    if args.orthogonal:
        kwargs["orthogonal"] = True
    if args.ordered is not None or (args.estimator or "ML") in ORDINAL_ESTIMATORS:
        if args.score_test:
            raise InputError("--score-test", "with continuous indicators (ML) only")
        return _run_cfa_ordinal(args, data, cfa_mod, model, kwargs)
    if args.parameterization is not None:
        raise InputError("--parameterization", "only with --ordered (ordered items)")
    if args.estimator is None:
        args.estimator = "ML"
    kwargs["estimator"] = _robust_estimator(args)
    res = _with_model(args.model, lambda: cfa_mod.cfa(model, data, **kwargs))
    problems = _fit_problems(res)
    out, text = _lavaan_json(res), res.summary().rstrip()
    if args.score_test:
        scores = _score_test(res, "--score-test")
        out["score_test"] = scores.to_dict()
        text += "\n\n" + _score_text(scores)
    return out, _with_warning_block(problems, text), problems


def _score_test(fit, flag: str):
    try:
        return fit.score_test(epc=True)
    except ValueError as exc:
        raise InputError(flag, str(exc)) from None


def _score_text(scores) -> str:
    """The total and univariate score tests as text."""
    test = scores.test.iloc[0]
    return (
        f"Score test for releasing all {int(test['df'])} equality constraint(s): "
        f"X2 = {test['X2']:.4f}, df = {int(test['df'])}, p = {test['pvalue']:.4g}\n"
        "Univariate score tests (df = 1):\n"
        + _indent(_table(scores.uni[["lhs", "op", "rhs", "constraint", "X2", "pvalue"]]))
    )


def run_invariance(args, data):
    cfa_mod = _cfa_engine()

    if _check_invariance_mode(args):
        return _run_longitudinal(args, data)
    model = _read_model(args.model)
    _check_group(args, data)
    if args.ordered is not None or args.estimator in ORDINAL_ESTIMATORS:
        return _run_invariance_ordinal(args, data, cfa_mod, model)
    estimator = _robust_estimator(args)
    res = _with_model(
        args.model,
        lambda: cfa_mod.invariance(
            model,
            data,
            group=args.group,
            missing=args.missing,
            estimator=estimator,
            std_lv=args.std_lv,
            group_partial=_group_partial(args),
        ),
    )
    problems = Problems([], False)
    for level, fit in res.fits.items():
        found = _fit_problems(fit, prefix=f"{level} model: ")
        problems = Problems(problems.messages + found.messages, problems.severe or found.severe)
    text = (
        "Measurement invariance across "
        + args.group
        + (f" ({estimator}; delta_chisq Satorra-Bentler 2001 scaled)" if estimator != "ML" else "")
        + "\n"
        + _table(res.table, index=True)
    )
    out = res.to_dict()
    for level, fit in res.fits.items():
        out["fits"][level]["fit_measures"] = _lavaan_json(fit)["fit_measures"]
    if args.score_test:
        for level, fit in res.fits.items():
            if level == "configural" and not _has_equalities(fit):
                continue
            scores = _score_test(fit, "--score-test")
            out["fits"][level]["score_test"] = scores.to_dict()
            text += f"\n\n{level} model: " + _score_text(scores)
    return out, _with_warning_block(problems, text), problems


def _has_equalities(fit) -> bool:
    import numpy as np

    free = fit.spec.table.free
    return bool(fit.constraints is not None or np.unique(free[free >= 0]).size < (free >= 0).sum())


def _group_partial(args) -> list[str]:
    """--group-partial 'visual=~x3,x7~1' as a list (empty when not given)."""
    text = getattr(args, "group_partial", None)
    if text is None:
        return []
    items = [item.strip() for item in text.split(",") if item.strip()]
    if not items:
        raise InputError("--group-partial", "give parameters such as 'visual=~x3,x7~1'")
    return items


def _invariance_ordered(args, data):
    """--ordered and --estimator of an ordinal invariance run: (True or item list); the
    columns are checked when ``data`` is given."""
    estimator = args.estimator or "WLSMV"
    if estimator != "WLSMV":
        raise InputError(
            "--estimator",
            f"not supported with --ordered for invariance: {estimator}; supported: WLSMV",
        )
    if args.ordered is None:
        raise InputError(
            "--ordered",
            "--estimator WLSMV is for ordered items: add --ordered all (or the list of the "
            "model's items); for continuous items supported: ML, MLR, MLM",
        )
    if args.missing == "ml":
        raise InputError(
            "--missing",
            "ml is not supported with ordered items (WLSMV); supported: listwise, pairwise",
        )
    args.estimator = estimator
    if args.ordered.strip().lower() == "all":
        return True
    ordered = _item_list(args.ordered)
    absent = [] if data is None else [v for v in ordered if v not in data.columns]
    if absent:
        raise InputError("--ordered", f"not in the data: {', '.join(absent)}")
    return ordered


def _run_invariance_ordinal(args, data, cfa_mod, model):
    ordered = _invariance_ordered(args, data)
    for flag, given in (
        ("--group-partial", getattr(args, "group_partial", None) is not None),
        ("--score-test", getattr(args, "score_test", False)),
    ):
        if given:
            raise InputError(
                flag, "not supported with --ordered (WLSMV) yet; supported: ML, MLR, MLM"
            )
    if args.std_lv:
        raise InputError(
            "--std-lv", "is implied with --ordered (semTools' ID.fac = 'std.lv'): leave it out"
        )
    res = _with_model(
        args.model,
        lambda: cfa_mod.invariance(
            model,
            data,
            group=args.group,
            missing=args.missing,
            estimator="WLSMV",
            ordered=ordered,
            parameterization=args.parameterization or "delta",
        ),
    )
    problems = Problems([], False)
    for level, fit in res.fits.items():
        found = _fit_problems(fit, prefix=f"{level} model: ")
        problems = Problems(problems.messages + found.messages, problems.severe or found.severe)
    text = (
        f"Measurement invariance of ordered items across {args.group} (WLSMV, "
        f"{args.parameterization or 'delta'}; "
        "Wu & Estabrook 2016 ladder; delta_chisq Satorra 2000 scaled-shifted)\n"
        + _table(res.table.set_index("level"), index=True)
    )
    out = res.to_dict()
    for level, fit in res.fits.items():
        out["fits"][level]["fit_measures"] = _lavaan_names(fit.fit_measures())
    return out, _with_warning_block(problems, text), problems


def _lavaan_names(measures: dict) -> dict:
    return {k.replace("_", "."): v for k, v in measures.items()}


def _check_invariance_mode(args) -> bool:
    """Whether the invariance run is longitudinal; usage errors for a wrong combination."""
    if args.longitudinal and args.group is not None:
        raise InputError(
            "--group",
            "--group and --longitudinal exclude each other: --group compares "
            "independent groups, --longitudinal waves of the same participants",
        )
    if not args.longitudinal:
        given = [name for name in ("id", "time", "waves") if getattr(args, name) is not None]
        if given:
            raise InputError(f"--{given[0]}", "only with --longitudinal")
        if args.identification != "std.lv":
            raise InputError("--identification", "only with --longitudinal")
        if args.group is None:
            raise InputError(
                "invariance",
                "give --group COL (across groups) or --longitudinal --id COL --time COL "
                "(across waves)",
            )
        if args.ordered is None and args.estimator not in ORDINAL_ESTIMATORS:
            if args.parameterization is not None:
                raise InputError("--parameterization", "only with --ordered (ordered items)")
            if args.estimator is None:
                args.estimator = "ML"
            if args.missing == "pairwise":
                raise InputError("--missing", "pairwise is only for ordered items (--ordered)")
            _robust_estimator(args)
        return False
    if getattr(args, "group_partial", None) is not None:
        raise InputError("--group-partial", "only with --group (multi-group invariance)")
    if getattr(args, "score_test", False):
        raise InputError("--score-test", "only with --group (multi-group invariance) here")
    from psychometrics.cfa.longitudinal import ESTIMATOR_MISSING, SUPPORTED_ESTIMATORS

    if args.ordered is not None or args.estimator in ORDINAL_ESTIMATORS:
        _invariance_ordered(args, None)
    elif args.parameterization is not None:
        raise InputError("--parameterization", "only with --ordered (ordered items)")
    if args.estimator is None:
        args.estimator = "ML"
    if args.estimator not in SUPPORTED_ESTIMATORS:
        raise InputError(
            "--estimator",
            f"not supported: {args.estimator} for longitudinal invariance; supported: "
            + "; ".join(f"{e} (--missing {' or '.join(m)})" for e, m in ESTIMATOR_MISSING.items())
            + " (WLSMV with --ordered)",
        )
    allowed = ESTIMATOR_MISSING[args.estimator]
    if args.missing not in allowed:
        raise InputError(
            "--missing",
            f"{args.missing} is not supported with --estimator {args.estimator} for "
            f"longitudinal invariance; supported: {', '.join(allowed)}",
        )
    if args.std_lv and args.identification != "std.lv":
        raise InputError(
            "--std-lv",
            f"contradicts --identification {args.identification} (std.lv is its default)",
        )
    absent = [f"--{name} COL" for name in ("id", "time") if getattr(args, name) is None]
    if absent:
        raise InputError("--longitudinal", f"needs {' and '.join(absent)}")
    return True


def _run_longitudinal(args, data):
    from psychometrics.cfa.longitudinal import build_design, longitudinal_invariance

    model = _read_model(args.model)
    try:
        _with_model(args.model, lambda: build_design(model, 2))
    except ValueError as exc:  # the model's own problem: name the model file
        raise InputError(args.model, str(exc)) from None
    res = _with_model(
        args.model,
        lambda: longitudinal_invariance(
            model,
            data,
            id=args.id,
            time=args.time,
            waves=_item_list(args.waves),
            missing=args.missing,
            estimator=args.estimator,
            identification=args.identification,
            **(
                {
                    "ordered": _longitudinal_ordered(args),
                    "parameterization": args.parameterization or "delta",
                }
                if args.estimator == "WLSMV"
                else {}
            ),
        ),
    )
    problems = NO_PROBLEMS
    for level, fit in res.fits.items():
        found = _fit_problems(fit, prefix=f"{level} model: ")
        problems = Problems(problems.messages + found.messages, problems.severe or found.severe)
    fit = next(iter(res.fits.values()))
    lines = [
        f"Longitudinal measurement invariance across {args.time} = "
        + ", ".join(map(str, res.waves))
        + f" ({res.participants} participants, {fit.nobs} analysed, missing = {res.missing}, "
        f"{res.estimator}, identification {res.identification})",
        _table(res.table()),
        "",
        *(f"{s['from']} -> {s['level']}: {s['decision']}" for s in res.steps),
        f"highest level supported: {res.highest_level or 'none'}",
    ]
    return res.to_dict(), _with_warning_block(problems, "\n".join(lines)), problems


ORDINAL_ESTIMATORS = ("WLSMV", "WLSM", "ULSMV")


def _longitudinal_ordered(args):
    """--ordered of a longitudinal run: True, or the cross-sectional item names."""
    if args.ordered.strip().lower() == "all":
        return True
    return _item_list(args.ordered)


def _run_cfa_ordinal(args, data, cfa_mod, model, kwargs):
    """``cfa --ordered``/``--estimator WLSMV|WLSM|ULSMV``: ordinal CFA (one group, delta)."""
    estimator = args.estimator or "WLSMV"
    if estimator not in ORDINAL_ESTIMATORS:
        raise InputError(
            "--estimator",
            f"not supported with --ordered: {estimator}; supported: "
            f"{', '.join(ORDINAL_ESTIMATORS)}",
        )
    if args.ordered is None:
        raise InputError(
            "--ordered",
            f"--estimator {estimator} is for ordered items: add --ordered all (or the list of "
            "the model's items); for continuous items supported: ML, MLR, MLM",
        )
    ordered = True if args.ordered.strip().lower() == "all" else _item_list(args.ordered)
    if isinstance(ordered, list):
        absent = [v for v in ordered if v not in data.columns]
        if absent:
            raise InputError("--ordered", f"not in the data: {', '.join(absent)}")
    kwargs.update(estimator=estimator, ordered=ordered)
    if args.parameterization is not None:
        kwargs["parameterization"] = args.parameterization
    res = _with_model(args.model, lambda: cfa_mod.cfa(model, data, **kwargs))
    fit = res.fit_measures()
    kind = "satorra.bentler" if res.estimator == "WLSM" else "scaled.shifted"
    lines = [
        f"Estimator {res.estimator} (ordered items, parameterization {res.parameterization}, "
        f"missing {res.missing}): robust standard errors, {kind} test",
        "",
    ]
    if "group" in kwargs:  # summary() covers one group
        lines += [
            "Fit measures",
            _indent("\n".join(f"{k:<30} {_fmt(v)}" for k, v in fit.items())),
            "",
            "Estimates",
            _indent(_table(res.estimates, index=False)),
        ]
    else:  # lavaan's summary(fit, fit.measures = TRUE, standardized = TRUE), as cfa's text
        lines.append(res.summary().rstrip())
    lines += [
        "",
        "Categorical omega (Green & Yang 2009; semTools compRelSEM)",
        _indent(_table(res.composite_reliability(), index=False)),
    ]
    problems = _fit_problems(res)
    return _lavaan_json(res), _with_warning_block(problems, "\n".join(lines)), problems


def _lavaan_json(res) -> dict:
    """``res.to_dict()`` with its fit measures under lavaan's ``fitMeasures()`` names."""
    from psychometrics.cfa.fit_names import lavaan_fit_measures

    out = res.to_dict()
    out["fit_measures"] = lavaan_fit_measures(res)
    return out


ROBUST_ESTIMATORS = ("ML", "MLR", "MLM")


def _robust_estimator(args) -> str:
    """--estimator of cfa and multi-group invariance: ML, MLR or MLM (usage error otherwise)."""
    if args.estimator not in ROBUST_ESTIMATORS:
        raise InputError(
            "--estimator",
            f"not supported: {args.estimator}; supported: ML, MLR (complete data or --missing "
            "ml), MLM (complete data)",
        )
    if args.estimator == "MLM" and args.missing == "ml":
        raise InputError(
            "--estimator",
            "MLM needs complete data (--missing listwise); with --missing ml use MLR",
        )
    return args.estimator


class Problems(NamedTuple):
    """Warnings about a result; ``severe``: it did not converge or lacks standard errors."""

    messages: list[str]
    severe: bool


NO_PROBLEMS = Problems([], False)


def _fit_problems(res, prefix: str = "") -> Problems:
    """The fit's own warnings, plus one for free parameters without a standard error."""
    import numpy as np

    messages = list(res.warnings)
    est = res.estimates
    no_se = est[est["free"] & ~np.isfinite(est["se"].to_numpy(dtype=float))]
    if len(no_se):
        names = [f"{r.lhs} {r.op} {r.rhs}" for r in no_se.itertuples()]
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        messages.append(
            f"no standard error for {len(no_se)} of {int(est['free'].sum())} free "
            f"parameter(s) ({shown}): z values and p values are missing"
        )
    severe = not res.converged or bool(len(no_se))
    return Problems([prefix + m for m in messages], severe)


def _with_warning_block(problems: Problems, text: str) -> str:
    if not problems.messages:
        return text
    head = (
        f"WARNING: the results below are not trustworthy (exit status {EXIT_UNTRUSTWORTHY})"
        if problems.severe
        else "WARNING: read the results below with these warnings in mind"
    )
    return "\n".join([head, *(f"  - {m}" for m in problems.messages), "", text])


def _check_group(args, data):
    if args.group not in data.columns:
        raise InputError(args.data, f"group column {args.group!r} is not in the data")


def _with_model(model_path, fit):
    from psychometrics.syntax import ModelSyntaxError

    try:
        return fit()
    except ModelSyntaxError as exc:
        raise InputError(model_path, str(exc)) from None


COMMANDS = {
    "describe": run_describe,
    "reliability": run_reliability,
    "efa": run_efa,
    "cfa": run_cfa,
    "invariance": run_invariance,
}


# --------------------------------------------------------------------------- output
def _fmt(value) -> str:
    import numpy as np

    if isinstance(value, (float, np.floating)):
        return "NA" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def _table(frame: pd.DataFrame, index: bool = True) -> str:
    import pandas as pd

    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        index = False  # row numbers carry no information
    return frame.to_string(index=index, float_format=lambda v: f"{v:.4f}", na_rep="NA")


def _indent(text: str, prefix: str = "  ") -> str:
    return "\n".join(prefix + line for line in text.splitlines())


# --------------------------------------------------------------------------- main
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    prog = parser.prog
    try:
        data = read_data(args.data)
        try:
            result, text, problems = COMMANDS[args.command](args, data)
        except ValueError as exc:  # includes ModelSyntaxError raised outside _with_model
            raise InputError(
                args.data, str(exc).splitlines()[0] if str(exc) else "bad input"
            ) from None
    except InputError as exc:
        sys.stderr.write(f"{prog} {args.command}: error: {exc}\n")
        return EXIT_BAD_INPUT
    except Exception as exc:  # never a traceback on the command line
        sys.stderr.write(f"{prog} {args.command}: internal error: {type(exc).__name__}: {exc}\n")
        return EXIT_FAILURE
    for message in problems.messages:
        sys.stderr.write(f"warning: {message}\n")
    if args.json:
        from psychometrics._json import jsonable

        document = {"command": args.command, "data": args.data, "result": jsonable(result)}
        sys.stdout.write(json.dumps(document, indent=2, allow_nan=False) + "\n")
    else:
        sys.stdout.write(text + "\n")
    return EXIT_UNTRUSTWORTHY if problems.severe else 0
