"""The validation report's plots: SVG text drawn from the report's section dictionaries.

Each function takes a section dictionary of :func:`.run.validate` (or one part of it) and
returns one ``<svg>`` element as text, ready to be written to a file or placed inline in
HTML:

- :func:`response_distributions`: ``item_statistics``; stacked bars of the share of answers
  at each response option, one bar per item, items grouped by subconstruct (one plot per
  construct with ``construct=``);
- :func:`scree`: ``structural_validity["efa"]``; observed eigenvalues against the
  percentile of the eigenvalues of random data of the same size (Horn's parallel analysis),
  common factors and principal components side by side;
- :func:`loadings_heatmap`: a CFA model (``structural_validity["first_order"]``);
  standardised loadings, items x subconstructs;
- :func:`path_diagram`: a CFA model (``structural_validity["second_order"]``); constructs
  -> subconstructs with the standardised second-order loadings on the arrows, each
  subconstruct's items summarised as "k items, λ min-max";
- :func:`trajectories`: ``responsiveness``; each construct's mean score and its 95 % t
  interval per wave;
- :func:`invariance_ladder`: one invariance comparison (``{"label": str, "levels": [{"level":
  "configural", "cfi": .., "rmsea": .., "delta_cfi": .., "delta_rmsea": ..}, ...]}``, the rows
  of :class:`psychometrics.cfa.invariance.InvarianceResult`'s table); CFI and RMSEA from
  configural to strict, each step's change judged against ΔCFI >= -0.01 (Cheung & Rensvold
  2002, doi:10.1207/S15328007SEM0902_5) and ΔRMSEA <= 0.015 (Chen 2007,
  doi:10.1080/10705510701301834).

A section that holds nothing to draw (not computed, not fitted, no answers) raises
:class:`NothingToPlot` with the reason.

**Accessible.** The root element has ``role="img"`` and ``aria-labelledby`` pointing at a
``<title>`` (what the plot shows) and a ``<desc>`` (a text summary of what it says). Text is
SVG text (``svg.fonttype = "none"``), not glyph outlines: selectable, searchable and read by
screen readers; no font is embedded or fetched (the generic ``sans-serif`` family ends the
font list).

**Deterministic.** The same input gives the same bytes: matplotlib's defaults (not the
machine's ``matplotlibrc``) plus this module's style, a fixed ``svg.hashsalt`` for the
generated ids, and no date or creator metadata. Every id is prefixed with the plot's own key
(a hash of its function, title and description), so several plots placed in one HTML
document never share an id. Colour bars use a stepped colour map (fewer steps than
matplotlib's rasterising threshold), so no plot holds a raster image.

**Thread-safe.** Figures are :class:`matplotlib.figure.Figure` objects drawn by the SVG
canvas, never pyplot. The style is matplotlib's global ``rcParams``, so drawing happens
under a module lock inside :func:`matplotlib.style.context`, which puts the parameters
back afterwards.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
import textwrap
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any
from xml.sax.saxutils import escape

import matplotlib
import matplotlib.style
import numpy as np
from matplotlib.backends.backend_svg import FigureCanvasSVG
from matplotlib.collections import PatchCollection
from matplotlib.colors import BoundaryNorm, to_rgb
from matplotlib.figure import Figure
from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch, Rectangle

__all__ = [
    "DELTA_CFI",
    "DELTA_RMSEA",
    "NothingToPlot",
    "invariance_ladder",
    "loadings_heatmap",
    "path_diagram",
    "response_distributions",
    "scree",
    "trajectories",
]

DELTA_CFI = -0.01
"""A drop in CFI beyond this from one invariance level to the next rejects the stricter level
(Cheung & Rensvold 2002)."""

DELTA_RMSEA = 0.015
"""A rise in RMSEA beyond this rejects the stricter level (Chen 2007)."""

STYLE: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "iemdp-validation-report",
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Helvetica", "Arial"],
    "font.size": 8.0,
    "axes.titlesize": 8.0,
    "axes.labelsize": 8.0,
    "xtick.labelsize": 7.0,
    "ytick.labelsize": 7.0,
    "legend.fontsize": 7.0,
    "legend.frameon": False,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
"""Applied over matplotlib's defaults for every plot."""

METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}
"""No date (it would change the bytes) and no <metadata> element at all."""

OBSERVED = "#1f5f99"
SIMULATED = "#7a7a7a"
NEGATIVE = "#b2182b"

_LOCK = threading.Lock()
_ID = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')


class NothingToPlot(ValueError):
    """The section holds nothing to draw; the message says why."""


# --------------------------------------------------------------------------------------
# drawing and the SVG text
# --------------------------------------------------------------------------------------
@contextmanager
def _style() -> Iterator[None]:
    with _LOCK, matplotlib.style.context(["default", STYLE]):
        yield


def _draw(
    name: str,
    title: str,
    desc: str,
    figsize: tuple[float, float],
    draw: Callable[[Figure], None],
    *,
    layout: str | None = "constrained",
) -> str:
    """Draw a figure of ``figsize`` inches with ``draw`` and return it as accessible SVG."""
    with _style():
        figure = Figure(figsize=figsize, layout=layout)
        FigureCanvasSVG(figure)
        draw(figure)
        buffer = io.StringIO()
        figure.savefig(buffer, format="svg", metadata=METADATA)
    return _accessible(buffer.getvalue(), name, title, desc)


def _accessible(svg: str, name: str, title: str, desc: str) -> str:
    """The <svg> element alone (no XML prolog or DOCTYPE), ids prefixed with the plot's key,
    ``role="img"`` and a <title> and <desc> as its first children."""
    digest = hashlib.sha256("\0".join((name, title, desc)).encode()).hexdigest()[:10]
    key = f"{name}-{digest}"
    svg = svg[svg.index("<svg") :]
    svg = _ID.sub(lambda match: f"{match[1]}{key}-{match[2]}", svg)
    end = svg.index(">")
    return (
        f'{svg[:end]} role="img" aria-labelledby="{key}-title {key}-desc">\n'
        f' <title id="{key}-title">{escape(title)}</title>\n'
        f' <desc id="{key}-desc">{escape(desc)}</desc>'
        f"{svg[end + 1 :]}"
    )


def _number(value: Any) -> float:
    return math.nan if value is None else float(value)


def _short(value: float) -> str:
    """A loading as ".78" / "-.12" (two decimals, no leading zero)."""
    text = f"{value:.2f}"
    if text.startswith("0."):
        return text[1:]
    if text.startswith("-0."):
        return "-" + text[2:]
    return text


def _option_colours(count: int) -> list[tuple[float, ...]]:
    """``count`` colours from disagreement (red) to agreement (blue), ColorBrewer RdBu."""
    return [tuple(c) for c in matplotlib.colormaps["RdBu"](np.linspace(0.1, 0.9, count))]


def _text_colour(rgb: Sequence[float]) -> str:
    """Black or white, whichever reads better on ``rgb`` (relative luminance)."""
    r, g, b = rgb[:3]
    return "#000000" if 0.2126 * r + 0.7152 * g + 0.0722 * b > 0.45 else "#ffffff"


# --------------------------------------------------------------------------------------
# response distributions
# --------------------------------------------------------------------------------------
def response_distributions(item_statistics: dict[str, Any], *, construct: str | None = None) -> str:
    """Stacked bars of the share of answers at each option, one bar per item (raw answers,
    before reverse keying; ``(R)`` marks a reverse-keyed item), grouped by subconstruct; the
    items of ``construct`` only when given. Beside a bar: a floor or ceiling effect (share
    above the section's ``limit``) and the missing share."""
    items = [
        row
        for row in item_statistics.get("items", [])
        if construct is None or row.get("construct") == construct
    ]
    if not items:
        where = f" of construct {construct}" if construct is not None else ""
        raise NothingToPlot(f"no items{where} in the item statistics")
    if not any(row["n"] for row in items):
        raise NothingToPlot("no answers at the analysed wave")
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in items:
        groups.setdefault(row.get("subconstruct") or "", []).append(row)
    limit = item_statistics.get("limit")
    options_shown = items[0]["distribution"]
    wave = item_statistics.get("wave")
    scope = f"construct {construct}" if construct is not None else "all items"
    title = f"Response distributions, {scope} (wave {wave})"

    effects = []
    for row in items:
        for kind in ("floor", "ceiling"):
            if row.get(f"{kind}_effect"):
                effects.append(f"{row['id']} {kind} {row[f'{kind}_share']:.0%}")
    desc = (
        f"Stacked bars of the share of answers at each of the {len(options_shown)} options "
        f"({', '.join(str(o['label']) for o in options_shown)}) for the {len(items)} items of "
        f"{scope}, grouped by subconstruct ({', '.join(groups)}). "
        + (
            f"Floor or ceiling effects above {limit:.0%}: {'; '.join(effects)}."
            if effects and limit is not None
            else "No floor or ceiling effect."
        )
    )

    # y positions: a label row before each group, then one row per item
    positions: list[tuple[float, dict[str, Any]]] = []
    labels: list[tuple[float, str]] = []
    y = 0.0
    for group, rows in groups.items():
        labels.append((y, group))
        y += 1.0
        for row in rows:
            positions.append((y, row))
            y += 1.0
    height = 0.95 + 0.2 * y
    # about 0.055 in per character of a 7 pt label
    left_margin = 0.25 + 0.055 * max(
        len(row["id"]) + 4 * bool(row.get("reverse")) for _, row in positions
    )

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        # one barh call per option position (not per segment): the same bars, drawn faster
        widest = max(len(row["distribution"]) for _, row in positions)
        lefts = [0.0] * len(positions)
        handles = []
        for index in range(widest):
            ys, widths, starts, colours = [], [], [], []
            for bar, (position, row) in enumerate(positions):
                options = row["distribution"]
                if index >= len(options):
                    continue
                share = options[index]["share"] or 0.0
                colour = _option_colours(len(options))[index]
                ys.append(position)
                widths.append(share * 100)
                starts.append(lefts[bar])
                colours.append(colour)
                if share >= 0.08:
                    ax.text(
                        lefts[bar] + share * 50,
                        position,
                        f"{share * 100:.0f}",
                        ha="center",
                        va="center",
                        fontsize=5.5,
                        color=_text_colour(colour),
                    )
                lefts[bar] += share * 100
            bars = ax.barh(
                ys,
                widths,
                left=starts,
                height=0.8,
                color=colours,
                edgecolor="#ffffff",
                linewidth=0.4,
            )
            if index < len(options_shown):
                option = options_shown[index]
                handles.append((bars, f"{option['value']} {option['label']}"))
        for position, row in positions:
            remarks = [
                f"{kind} {row[f'{kind}_share']:.0%}"
                for kind in ("floor", "ceiling")
                if row.get(f"{kind}_effect")
            ]
            missing = row.get("missing_share")
            if missing:
                remarks.append(f"{missing:.0%} missing" if missing >= 0.005 else "<1% missing")
            if not row["n"]:
                remarks = ["no answers"]
            if remarks:
                ax.text(101, position, ", ".join(remarks), va="center", fontsize=6)
        for position, group in labels:
            ax.text(0, position, group, va="center", fontsize=7, fontweight="bold")
        ax.set_yticks(
            [p for p, _ in positions],
            [f"{row['id']} (R)" if row.get("reverse") else row["id"] for _, row in positions],
        )
        ax.tick_params(axis="y", length=0)
        ax.set_ylim(y - 0.4, -0.6)
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of answers")
        ax.spines["left"].set_visible(False)
        figure.legend(
            [h for h, _ in handles],
            [label for _, label in handles],
            loc="upper center",
            ncols=min(len(handles), 5),
        )
        # fixed margins in inches (labels are item ids; the legend one row on top): a
        # layout engine would measure every text first and take a third of the time
        figure.subplots_adjust(
            left=left_margin / 7.2, right=1 - 1.3 / 7.2, top=1 - 0.4 / height, bottom=0.45 / height
        )

    return _draw("distributions", title, desc, (7.2, height), draw, layout=None)


# --------------------------------------------------------------------------------------
# scree with parallel analysis
# --------------------------------------------------------------------------------------
def scree(efa: dict[str, Any]) -> str:
    """Observed eigenvalues and the parallel analysis's percentile of random eigenvalues,
    common factors (left) and principal components (right), with the number retained."""
    parallel = efa.get("parallel_analysis")
    if not efa.get("available") or not parallel:
        raise NothingToPlot(efa.get("reason") or "no parallel analysis in the section")
    n_factors, n_components = parallel["n_factors"], parallel["n_components"]
    total = len(parallel["observed_fa"])
    shown = min(total, max(n_factors, n_components) + 10)
    percentile = parallel["percentile"]
    title = "Scree plot with parallel analysis"
    desc = (
        f"The first {shown} of {total} observed eigenvalues (common factors and principal "
        "components of the item correlations) against the "
        f"{percentile:g}th percentile of those of {parallel['n_iter']} random normal data sets "
        f"of the same size (seed {parallel['seed']}). Factors retained: {n_factors} (observed "
        f"above random); components retained: {n_components}. The model has "
        f"{efa.get('model_factors', {}).get('first_order', '?')} first-order factors."
    )
    panels = (
        ("Common factors", "observed_fa", "simulated_fa", n_factors),
        ("Principal components", "observed_pc", "simulated_pc", n_components),
    )

    def draw(figure: Figure) -> None:
        axes = figure.subplots(1, 2)
        x = np.arange(1, shown + 1)
        for ax, (label, observed, simulated, retained) in zip(axes, panels, strict=True):
            ax.axhline(0, color="#cccccc", linewidth=0.6)
            ax.plot(
                x,
                [_number(v) for v in parallel[observed][:shown]],
                marker="o",
                markersize=3,
                linewidth=1.2,
                color=OBSERVED,
                label="observed",
            )
            ax.plot(
                x,
                [_number(v) for v in parallel[simulated][:shown]],
                marker="s",
                markersize=2.5,
                linewidth=1,
                linestyle="--",
                color=SIMULATED,
                label=f"random ({percentile:g}th percentile)",
            )
            ax.axvline(retained + 0.5, color="#444444", linewidth=0.6, linestyle=":")
            ax.text(
                retained + 0.7,
                0.55,
                f"{retained} retained",
                transform=ax.get_xaxis_transform(),
                va="center",
                fontsize=7,
            )
            ax.set_title(label)
            ax.set_xlabel("factor number" if observed.endswith("fa") else "component number")
            ax.set_ylabel("eigenvalue")
            ax.legend(loc="upper right")

    return _draw("scree", title, desc, (7.2, 2.8), draw)


# --------------------------------------------------------------------------------------
# loadings heatmap
# --------------------------------------------------------------------------------------
def _first_level(model: dict[str, Any]) -> tuple[list[str], list[str], dict[tuple[str, str], Any]]:
    """(subconstruct factors, items, {(factor, item): loading row}) of a model's first level."""
    factors = model.get("factors", {})
    first = factors.get("first_order", {})
    second = set(factors.get("second_order", {}))
    rows = [row for row in model.get("loadings", []) if row["factor"] not in second]
    names = list(first) + sorted({row["factor"] for row in rows} - set(first))
    items: list[str] = []
    for factor in names:
        items += [item for item in first.get(factor, []) if item not in items]
    items += [row["indicator"] for row in rows if row["indicator"] not in items]
    items = list(dict.fromkeys(items))
    return names, items, {(row["factor"], row["indicator"]): row for row in rows}


def loadings_heatmap(model: dict[str, Any]) -> str:
    """Standardised loadings (``std_all``) of a CFA model's first level: items (rows) x
    subconstruct factors (columns), the value written in each cell; empty cells are loadings
    the model does not have."""
    factors, items, loadings = _first_level(model)
    values = [row["std_all"] for row in loadings.values() if row["std_all"] is not None]
    if not values:
        raise NothingToPlot(model.get("reason") or "the model has no standardised loadings")
    title = (
        f"Standardised loadings, {len(items)} items x {len(factors)} subconstructs "
        f"({model.get('estimator', 'CFA')}, N = {model.get('nobs')})"
    )
    weakest = min(
        (row for row in loadings.values() if row["std_all"] is not None),
        key=lambda row: abs(row["std_all"]),
    )
    desc = (
        f"Heatmap of the {len(values)} standardised loadings of the first-order factors, from "
        f"{min(values):.2f} to {max(values):.2f} (median {float(np.median(values)):.2f}); the "
        f"weakest is {weakest['indicator']} on {weakest['factor']} "
        f"({weakest['std_all']:.2f}). Colour from -1 (blue) to 1 (red); empty cells are "
        "fixed at zero by the model."
    )
    row_of = {item: i for i, item in enumerate(items)}
    column_of = {factor: j for j, factor in enumerate(factors)}
    boundaries = np.linspace(-1, 1, 21)
    cmap = matplotlib.colormaps["RdBu_r"]
    norm = BoundaryNorm(boundaries, cmap.N)

    def draw(figure: Figure) -> None:
        ax = figure.add_subplot()
        patches, shades, cells = [], [], []
        for (factor, item), row in loadings.items():
            if row["std_all"] is None:
                continue
            x, y = column_of[factor], row_of[item]
            patches.append(Rectangle((x, y), 1, 1))
            shades.append(row["std_all"])
            cells.append((x, y, row["std_all"]))
        collection = PatchCollection(
            patches, cmap=cmap, norm=norm, edgecolor="#ffffff", linewidth=0.3
        )
        collection.set_array(np.array(shades))
        ax.add_collection(collection)
        for x, y, value in cells:
            colour = cmap(norm(np.clip(value, -1, 1)))
            ax.text(
                x + 0.5,
                y + 0.5,
                _short(value),
                ha="center",
                va="center",
                fontsize=5,
                color=_text_colour(to_rgb(colour)),
            )
        for x in range(len(factors) + 1):
            ax.axvline(x, color="#e3e3e3", linewidth=0.3, zorder=0)
        ax.set_xlim(0, len(factors))
        ax.set_ylim(len(items), 0)
        ax.set_xticks(np.arange(len(factors)) + 0.5, factors, rotation=90)
        ax.set_yticks(np.arange(len(items)) + 0.5, items, fontsize=5.5)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        for side in ("left", "bottom"):
            ax.spines[side].set_visible(False)
        bar = figure.colorbar(collection, ax=ax, shrink=0.25, aspect=12, anchor=(0.0, 1.0))
        bar.set_ticks([-1, -0.5, 0, 0.5, 1])
        bar.set_label("standardised loading")

    return _draw("loadings", title, desc, (7.2, 1.3 + 0.125 * len(items)), draw)


# --------------------------------------------------------------------------------------
# path diagram
# --------------------------------------------------------------------------------------
def path_diagram(model: dict[str, Any]) -> str:
    """The measurement model with standardised estimates: constructs (left) -> subconstructs
    (middle) with their loadings on the arrows (dashed when negative), and each
    subconstruct's items summarised (right) as "k items, λ min-max"."""
    factors = model.get("factors", {})
    second: dict[str, list[str]] = factors.get("second_order", {})
    first: dict[str, list[str]] = factors.get("first_order", {})
    loadings = {(row["factor"], row["indicator"]): row for row in model.get("loadings", [])}
    if not loadings or all(row["std_all"] is None for row in loadings.values()):
        raise NothingToPlot(model.get("reason") or "the model has no standardised loadings")

    order = [sub for subs in second.values() for sub in subs]
    order += [sub for sub in first if sub not in order]
    row_of = {sub: i for i, sub in enumerate(order)}
    summaries = {}
    for sub in order:
        values = [
            loadings[(sub, item)]["std_all"]
            for item in first.get(sub, [])
            if (sub, item) in loadings and loadings[(sub, item)]["std_all"] is not None
        ]
        count = len(first.get(sub, []))
        summaries[sub] = (
            f"{count} items, λ {_short(min(values))}–{_short(max(values))}"
            if values
            else f"{count} items"
        )
    upper = [
        loadings[(construct, sub)]["std_all"]
        for construct, subs in second.items()
        for sub in subs
        if (construct, sub) in loadings and loadings[(construct, sub)]["std_all"] is not None
    ]
    title = (
        f"Path diagram of the {'second' if second else 'first'}-order model, standardised "
        f"estimates ({model.get('estimator', 'CFA')}, N = {model.get('nobs')})"
    )
    desc = (
        f"{len(second)} constructs on {len(order)} subconstructs"
        + (
            f", second-order loadings from {min(upper):.2f} to {max(upper):.2f}"
            f" ({sum(v < 0 for v in upper)} negative, drawn dashed)"
            if upper
            else ""
        )
        + ". Each subconstruct's items: "
        + "; ".join(f"{sub} {summaries[sub]}" for sub in order)
        + "."
    )
    n = len(order)
    # x in units of 0.75 in (10 across); y in rows of 0.42 in
    x_construct, x_sub, x_items = 1.3, 5.0, 8.5
    w_construct, w_sub, w_items = 2.3, 1.7, 2.7

    def draw(figure: Figure) -> None:
        ax = figure.add_axes((0, 0, 1, 1))
        ax.set_xlim(0, 10)
        ax.set_ylim(n - 0.4, -0.6)
        ax.axis("off")
        for sub in order:
            y = row_of[sub]
            ax.add_patch(
                Ellipse((x_sub, y), w_sub, 0.72, facecolor="#eef3f8", edgecolor="#333333", lw=0.8)
            )
            ax.text(x_sub, y, sub, ha="center", va="center", fontsize=7)
            ax.add_patch(
                FancyBboxPatch(
                    (x_items - w_items / 2, y - 0.3),
                    w_items,
                    0.6,
                    boxstyle="square,pad=0",
                    facecolor="#ffffff",
                    edgecolor="#333333",
                    lw=0.6,
                )
            )
            ax.text(x_items, y, summaries[sub], ha="center", va="center", fontsize=6.5)
            ax.add_patch(
                FancyArrowPatch(
                    (x_sub + w_sub / 2, y),
                    (x_items - w_items / 2, y),
                    arrowstyle="-|>",
                    mutation_scale=7,
                    lw=0.7,
                    color="#333333",
                    shrinkA=0,
                    shrinkB=0,
                )
            )
        for construct, subs in second.items():
            ys = [row_of[sub] for sub in subs if sub in row_of]
            if not ys:
                continue
            y = (min(ys) + max(ys)) / 2
            ax.add_patch(
                Ellipse(
                    (x_construct, y),
                    w_construct,
                    0.85,
                    facecolor="#dbe6f1",
                    edgecolor="#333333",
                    lw=0.9,
                )
            )
            ax.text(
                x_construct, y, construct, ha="center", va="center", fontsize=7.5, weight="bold"
            )
            for sub in subs:
                row = loadings.get((construct, sub))
                value = None if row is None else row["std_all"]
                start = (x_construct + w_construct / 2, y)
                end = (x_sub - w_sub / 2, row_of[sub])
                negative = value is not None and value < 0
                ax.add_patch(
                    FancyArrowPatch(
                        start,
                        end,
                        arrowstyle="-|>",
                        mutation_scale=7,
                        lw=0.8,
                        color=NEGATIVE if negative else "#333333",
                        linestyle="--" if negative else "-",
                        shrinkA=0,
                        shrinkB=0,
                    )
                )
                at = 0.62
                ax.text(
                    start[0] + at * (end[0] - start[0]),
                    start[1] + at * (end[1] - start[1]),
                    "—" if value is None else _short(value),
                    ha="center",
                    va="center",
                    fontsize=6.5,
                    bbox={"boxstyle": "square,pad=0.1", "facecolor": "#ffffff", "lw": 0},
                )

    return _draw("path", title, desc, (7.5, 0.42 * n + 0.5), draw, layout=None)


# --------------------------------------------------------------------------------------
# trajectories
# --------------------------------------------------------------------------------------
def trajectories(responsiveness: dict[str, Any]) -> str:
    """Each construct's mean score per wave with its 95 % t interval (small multiples on one
    shared score axis), from the section's ``constructs[].waves``."""
    constructs = responsiveness.get("constructs") or []
    if not responsiveness.get("available") or not constructs:
        raise NothingToPlot(responsiveness.get("reason") or "no construct trajectories")
    waves = list(responsiveness.get("waves") or [w["wave"] for w in constructs[0]["waves"]])
    level = responsiveness.get("ci_level", 0.95)
    title = f"Construct scores per wave: mean and {level:.0%} interval"
    changes = []
    for entry in constructs:
        means = [w["mean"] for w in entry["waves"] if w["mean"] is not None]
        if len(means) > 1:
            changes.append((means[-1] - means[0], entry["code"]))
    largest = max(changes, key=lambda pair: abs(pair[0])) if changes else None
    desc = (
        f"Mean score and {level:.0%} t interval at each of the waves {', '.join(waves)} for "
        f"{len(constructs)} constructs ({', '.join(e['code'] for e in constructs)}); all "
        "sessions with the score at each wave."
        + (
            f" Largest change from the first to the last wave: {largest[1]} ({largest[0]:+.2f})."
            if largest
            else ""
        )
    )
    columns = min(5, len(constructs))
    rows = math.ceil(len(constructs) / columns)
    lows = [_number(w["ci"]["lower"]) for e in constructs for w in e["waves"]]
    highs = [_number(w["ci"]["upper"]) for e in constructs for w in e["waves"]]
    finite = [v for v in lows + highs if math.isfinite(v)]
    span = (min(finite), max(finite)) if finite else (0.0, 1.0)
    pad = max((span[1] - span[0]) * 0.1, 0.05)

    def draw(figure: Figure) -> None:
        axes = np.atleast_1d(figure.subplots(rows, columns, sharey=True, squeeze=False)).ravel()
        for ax, entry in zip(axes, constructs, strict=False):
            by_wave = {w["wave"]: w for w in entry["waves"]}
            x = np.arange(len(waves))
            mean = np.array([_number(by_wave.get(w, {}).get("mean")) for w in waves])
            lower = np.array(
                [_number(by_wave.get(w, {}).get("ci", {}).get("lower")) for w in waves]
            )
            upper = np.array(
                [_number(by_wave.get(w, {}).get("ci", {}).get("upper")) for w in waves]
            )
            ax.errorbar(
                x,
                mean,
                yerr=np.vstack([mean - lower, upper - mean]),
                marker="o",
                markersize=3,
                linewidth=1,
                capsize=2.5,
                color=OBSERVED,
            )
            name = textwrap.fill(str(entry.get("name") or ""), 20)
            ax.set_title(f"{entry['code']}\n{name}", fontsize=7)
            ax.set_xticks(x, waves, rotation=30 if len(waves) > 2 else 0, fontsize=6)
            ax.set_xlim(-0.4, len(waves) - 0.6)
            ax.set_ylim(span[0] - pad, span[1] + pad)
        for ax in axes[len(constructs) :]:
            ax.axis("off")
        for ax in axes[::columns]:
            ax.set_ylabel("mean score")

    return _draw("trajectories", title, desc, (7.2, 0.5 + 2.0 * rows), draw)


# --------------------------------------------------------------------------------------
# invariance ladder
# --------------------------------------------------------------------------------------
def _measure(row: dict[str, Any], name: str) -> float:
    value = row.get(name)
    if value is None:
        value = (row.get("fit_measures") or {}).get(name)
    return _number(value)


def invariance_ladder(ladder: dict[str, Any]) -> str:
    """CFI (left) and RMSEA (right) at each invariance level, configural to strict, each
    step labelled with its change; a step beyond :data:`DELTA_CFI` or :data:`DELTA_RMSEA` is
    drawn with a cross and its label says "not supported"."""
    levels = ladder.get("levels") or []
    if not levels:
        raise NothingToPlot(ladder.get("reason") or "no invariance levels")
    label = ladder.get("label") or "measurement invariance"
    names = [str(row["level"]) for row in levels]
    title = f"Invariance ladder, {label}: CFI and RMSEA from {names[0]} to {names[-1]}"
    steps = []
    for row in levels[1:]:
        d_cfi, d_rmsea = _measure(row, "delta_cfi"), _measure(row, "delta_rmsea")
        held = (math.isnan(d_cfi) or d_cfi >= DELTA_CFI) and (
            math.isnan(d_rmsea) or d_rmsea <= DELTA_RMSEA
        )
        steps.append(
            f"{row['level']}: ΔCFI {d_cfi:+.3f}, ΔRMSEA {d_rmsea:+.3f} "
            f"({'supported' if held else 'not supported'})"
        )
    desc = (
        f"Fit of the invariance models {', '.join(names)} for {label}; a level is supported "
        f"when CFI drops by at most {-DELTA_CFI:.2f} and RMSEA rises by at most "
        f"{DELTA_RMSEA:.3f} from the previous level. " + "; ".join(steps) + "."
    )
    panels = (
        ("CFI", "cfi", "delta_cfi", lambda d: d >= DELTA_CFI),
        ("RMSEA", "rmsea", "delta_rmsea", lambda d: d <= DELTA_RMSEA),
    )

    def draw(figure: Figure) -> None:
        axes = figure.subplots(1, 2)
        x = np.arange(len(levels))
        for ax, (heading, name, delta, holds) in zip(axes, panels, strict=True):
            # the measure the ladder judges (cfi.robust, rmsea.robust for MLR ladders)
            values = np.array(
                [_measure(row, (row.get("judged") or {}).get(name, name)) for row in levels]
            )
            ax.plot(x, values, color=OBSERVED, linewidth=1)
            for i, row in enumerate(levels):
                change = _measure(row, delta) if i else math.nan
                failed = i > 0 and not math.isnan(change) and not holds(change)
                ax.plot(
                    x[i],
                    values[i],
                    marker="X" if failed else "o",
                    markersize=6 if failed else 4,
                    color=NEGATIVE if failed else OBSERVED,
                    linestyle="none",
                )
                if i and not math.isnan(change):
                    ax.annotate(
                        f"Δ {change:+.3f}" + (" not supported" if failed else ""),
                        (x[i], values[i]),
                        xytext=(0, 7),
                        textcoords="offset points",
                        ha="center",
                        fontsize=6,
                        color=NEGATIVE if failed else "#000000",
                    )
            finite = values[np.isfinite(values)]
            if finite.size:
                pad = max(float(np.ptp(finite)) * 0.4, 0.01)
                ax.set_ylim(float(finite.min()) - pad, float(finite.max()) + pad)
            ax.set_xticks(x, names)
            ax.set_xlim(-0.5, len(levels) - 0.5)
            ax.set_title(heading)

    return _draw("invariance", title, desc, (7.2, 2.6), draw)
