"""The validation report as one self-contained HTML document: the download of a run.

:func:`render_report_html` turns the report dictionary of :func:`.run.validate` (or
:func:`.run.validate_data`) into a complete document: doctype, ``lang``, title, its own
``<style>`` (with ``@media print``), tables and inline SVG plots (:mod:`.plots`), no script,
no font, image or style sheet fetched from anywhere: it reads the same opened from disk,
offline, printed, or without JavaScript. The template lives under this package
(``templates/report.html``), beside the export codebook's rule: templates under
``survey/services/`` make files for download, which carry their own style, and the site's
check for inline style leaves them out.

The order is that of the COSMIN taxonomy (Mokkink et al. 2010; the rows of the summary,
Prinsen et al. 2018, table 1): the run's inputs and warnings, then per instrument version
its COSMIN summary, item statistics, structural validity, internal consistency, reliability
and measurement error, hypotheses testing, cross-cultural validity / measurement
invariance, criterion validity and responsiveness. A property the run has no section for
(hypotheses, invariance today) keeps its heading and says so; the summary rates it
indeterminate.

Numbers show three decimals (fit measures, loadings, reliabilities), two for chi-square
statistics and effect sizes, one for information criteria; p-values below 0.001 as
"< 0.001"; a missing value (None) as "—". Every text from the report is escaped (Jinja
autoescaping); the plots are trusted markup made by :mod:`.plots`, their own text escaped
there.

The document is a function of its arguments: the same report (and ``run``) give the same
bytes.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from survey.services.validation import plots

__all__ = [
    "DOCUMENT_SECTIONS",
    "Plot",
    "inline_svg",
    "instrument_plots",
    "render_report_html",
]

DOCUMENT_SECTIONS: tuple[tuple[str, str], ...] = (
    ("cosmin", "COSMIN summary"),
    ("item_statistics", "Item statistics"),
    ("structural_validity", "Structural validity"),
    ("internal_consistency", "Internal consistency"),
    ("test_retest", "Reliability and measurement error"),
    ("hypotheses", "Hypotheses testing for construct validity"),
    ("invariance", "Cross-cultural validity / measurement invariance"),
    ("criterion_validity", "Criterion validity"),
    ("responsiveness", "Responsiveness"),
)
"""(key in an instrument's sections, heading) in the order of the document."""

MISSING = "—"

FIT_MEASURES: tuple[tuple[str, str, int], ...] = (
    ("chisq", "χ²", 2),
    ("df", "df", 0),
    ("pvalue", "p (χ²)", -1),
    ("chisq.scaled", "χ², scaled (WLSMV: scaled-shifted; MLR: Yuan-Bentler)", 2),
    ("pvalue.scaled", "p (χ², scaled)", -1),
    ("chisq.scaling.factor", "scaling factor", 3),
    ("cfi", "CFI (unscaled)", 3),
    ("tli", "TLI (unscaled)", 3),
    ("rmsea", "RMSEA (unscaled)", 3),
    ("cfi.scaled", "CFI, scaled", 3),
    ("tli.scaled", "TLI, scaled", 3),
    ("rmsea.scaled", "RMSEA, scaled", 3),
    ("cfi.robust", "CFI, robust", 3),
    ("tli.robust", "TLI, robust", 3),
    ("rmsea.robust", "RMSEA, robust", 3),
    ("rmsea.ci.lower.robust", "RMSEA robust 90 % CI, lower", 3),
    ("rmsea.ci.upper.robust", "RMSEA robust 90 % CI, upper", 3),
    ("rmsea.ci.lower", "RMSEA 90 % CI, lower", 3),
    ("rmsea.ci.upper", "RMSEA 90 % CI, upper", 3),
    ("rmsea.pvalue", "p (RMSEA ≤ .05)", -1),
    ("aic", "AIC", 1),
    ("bic", "BIC", 1),
    ("npar", "free parameters", 0),
    ("ntotal", "N", 0),
)
"""Fit measures shown below the cut-off table: (lavaan name, label, decimals; -1 = p)."""

FIT_LABELS = {"cfi": "CFI", "tli": "TLI", "rmsea": "RMSEA", "srmr": "SRMR"}

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


# --------------------------------------------------------------------------------------
# formatting (template filters)
# --------------------------------------------------------------------------------------
def number(value: Any, digits: int = 3) -> str:
    """``value`` with ``digits`` decimals; integers as they are; None, NaN as "—"."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return MISSING
        text = f"{value:.{digits}f}"
        return text[1:] if text.startswith("-") and float(text) == 0 else text
    return str(value)


def pvalue(value: Any) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return MISSING
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def percent(value: Any, digits: int = 1) -> str:
    if value is None:
        return MISSING
    return f"{value * 100:.{digits}f} %"


def interval(ci: dict[str, Any] | None, digits: int = 3) -> str:
    """The interval ``[lower, upper]`` of a ``{"lower", "upper"}`` dictionary."""
    if not ci or ci.get("lower") is None or ci.get("upper") is None:
        return MISSING
    return f"[{number(ci['lower'], digits)}, {number(ci['upper'], digits)}]"


def yes_no(value: Any) -> str:
    return MISSING if value is None else ("yes" if value else "no")


def measure(value: Any, digits: int) -> str:
    return pvalue(value) if digits < 0 else number(value, digits)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    return MISSING if value is None else str(value)


_TEMPLATES.filters.update(
    num=number,
    p=pvalue,
    pct=percent,
    ci=interval,
    yesno=yes_no,
    measure=measure,
    text=_text,
)


# --------------------------------------------------------------------------------------
# plots
# --------------------------------------------------------------------------------------
_REFERENCE = re.compile(r'(\bid="|href="#|url\(#)([^")]+)')
_LABELLED = re.compile(r'aria-labelledby="([^"]+)"')


def inline_svg(svg: str, prefix: str = "") -> Markup:
    """An SVG of :mod:`.plots` for HTML: its ids (and the references to them) prefixed with
    ``prefix`` (two instrument versions may draw the same plot); without the namespace
    declarations (the HTML parser puts <svg> in the SVG namespace itself) and with SVG 2
    ``href`` for ``xlink:href``, so the document holds no URL at all."""
    svg = svg.replace(' xmlns:xlink="http://www.w3.org/1999/xlink"', "", 1)
    svg = svg.replace(' xmlns="http://www.w3.org/2000/svg"', "", 1)
    svg = _REFERENCE.sub(lambda match: f"{match[1]}{prefix}{match[2]}", svg)
    svg = _LABELLED.sub(
        lambda match: f'aria-labelledby="{" ".join(prefix + i for i in match[1].split())}"',
        svg,
        count=1,
    )
    return Markup(svg.replace("xlink:href=", "href="))


@dataclass(frozen=True)
class Plot:
    """One plot of the report: ``svg`` the standalone SVG text of :mod:`.plots` (what an
    ``image/svg+xml`` response serves), or None and ``reason`` why there is none."""

    key: str
    caption: str
    svg: str | None
    reason: str | None = None
    prefix: str = ""

    def inline(self) -> Markup | None:
        """The SVG as markup for an HTML document (:func:`inline_svg`)."""
        return None if self.svg is None else inline_svg(self.svg, self.prefix)


def _plot(key: str, caption: str, draw: Callable[[], str], prefix: str) -> Plot:
    try:
        return Plot(key, caption, draw(), prefix=prefix)
    except plots.NothingToPlot as reason:
        return Plot(key, caption, None, str(reason), prefix=prefix)


def instrument_plots(sections: dict[str, Any], *, prefix: str = "") -> dict[str, list[Plot]]:
    """The plots of one instrument's sections (an element of ``report["instruments"]``), by
    section key; an invariance ladder only when the sections have an invariance section.
    ``prefix`` goes before every id of the SVGs (see :func:`inline_svg`)."""
    items = sections.get("item_statistics") or {}
    structural = sections.get("structural_validity") or {}
    constructs = list(dict.fromkeys(row.get("construct") for row in items.get("items", [])))
    out: dict[str, list[Plot]] = {
        "item_statistics": [
            _plot(
                f"distributions-{code}",
                f"Response distributions of the items of {code} (raw answers at wave "
                f"{items.get('wave')}; (R) reverse-keyed).",
                lambda code=code: plots.response_distributions(items, construct=code),
                prefix,
            )
            for code in constructs
        ],
        "structural_validity": [],
        "responsiveness": [
            _plot(
                "trajectories",
                "Construct scores per wave: mean and 95 % t interval.",
                lambda: plots.trajectories(sections.get("responsiveness") or {}),
                prefix,
            )
        ],
    }
    if structural:
        out["structural_validity"] = [
            _plot(
                "loadings",
                "Standardised loadings of the first-order model (items x subconstructs).",
                lambda: plots.loadings_heatmap(structural.get("first_order") or {}),
                prefix,
            ),
            _plot(
                "path",
                "The second-order measurement model with standardised estimates.",
                lambda: plots.path_diagram(structural.get("second_order") or {}),
                prefix,
            ),
            _plot(
                "scree",
                "Scree plot with parallel analysis.",
                lambda: plots.scree(structural.get("efa") or {}),
                prefix,
            ),
        ]
    invariance = sections.get("invariance")
    if invariance:
        out["invariance"] = [
            _plot(
                f"invariance-{position}",
                f"Invariance ladder, {ladder.get('label') or 'measurement invariance'}.",
                lambda ladder=ladder: plots.invariance_ladder(ladder),
                prefix,
            )
            for position, ladder in enumerate(_ladders(invariance), 1)
        ]
    return out


def _ladders(invariance: dict[str, Any]) -> list[dict[str, Any]]:
    """The invariance comparisons of a section: its ``comparisons``, or itself as one."""
    if invariance.get("comparisons") is not None:
        return list(invariance["comparisons"])
    return [invariance] if invariance.get("levels") else []


# --------------------------------------------------------------------------------------
# tables that need reshaping
# --------------------------------------------------------------------------------------
def _by_score(entries: list[dict[str, Any]], column: str, columns: list[str]) -> list[dict]:
    """Rows per score (level, code, name) with one cell per value of ``column``."""
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for entry in entries:
        key = (entry["level"], entry["code"])
        row = rows.setdefault(
            key, {"level": entry["level"], "code": entry["code"], "name": entry.get("name")}
        )
        row.setdefault("cells", {})[entry[column]] = entry
    return [{**row, "cells": [row["cells"].get(name) for name in columns]} for row in rows.values()]


def _retest_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    """ICC per score (rows: constructs, then subconstructs) and wave pair (columns)."""
    entries = []
    for pair in section.get("pairs", []):
        label = f"{pair['from']} → {pair['to']}"
        for entry in pair["constructs"] + pair["subconstructs"]:
            entries.append({**entry, "pair": label})
    pairs = [f"{pair['from']} → {pair['to']}" for pair in section.get("pairs", [])]
    return _by_score(entries, "pair", pairs)


def _criterion_rows(section: dict[str, Any]) -> list[dict[str, Any]]:
    outcomes = [outcome["name"] for outcome in section.get("outcomes", [])]
    return _by_score(section.get("correlations", []), "outcome", outcomes)


def _study_name(report: dict[str, Any]) -> str:
    study = report.get("study") or {}
    return str(study.get("name") or study.get("slug") or "study")


def _run_rows(run: dict[str, Any] | None) -> list[tuple[str, str]]:
    """``run`` as (label, text) rows in its own order: keys humanised, dates ISO 8601."""
    if not run:
        return []
    return [(str(key).replace("_", " ").capitalize(), _text(value)) for key, value in run.items()]


# --------------------------------------------------------------------------------------
# the document
# --------------------------------------------------------------------------------------
def render_report_html(report: dict[str, Any], *, run: dict[str, Any] | None = None) -> str:
    """The report as a complete HTML document (see the module docstring). ``run`` is the
    stored run's metadata (who ran it, when, its id...), shown with the inputs in its own
    key order; the report itself holds no clock time or user."""
    instruments = []
    for position, sections in enumerate(report.get("instruments", []), 1):
        described = sections["instrument"]
        instruments.append(
            {
                "anchor": f"i{position}",
                "label": f"{described['key']} {described['version']}",
                "sections": sections,
                "plots": instrument_plots(sections, prefix=f"i{position}-"),
                "retest_rows": _retest_rows(sections.get("test_retest") or {}),
                "criterion_rows": _criterion_rows(sections.get("criterion_validity") or {}),
                "ladders": _ladders(sections.get("invariance") or {}),
            }
        )
    return _TEMPLATES.get_template("report.html").render(
        report=report,
        study_name=_study_name(report),
        run_rows=_run_rows(run),
        instruments=instruments,
        document_sections=DOCUMENT_SECTIONS,
        fit_measures=FIT_MEASURES,
        fit_labels=FIT_LABELS,
    )
