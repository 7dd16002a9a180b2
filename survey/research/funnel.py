"""The drop-off funnel of one wave as an inline SVG (server-rendered, no JavaScript).

One bar per step: the sessions started, then each page of the battery with the sessions
that submitted it, as a share of those started. Styled only with SVG presentation
attributes (``fill``), which the Content-Security-Policy allows, unlike inline styles.
The same numbers are in a table next to the chart for screen readers and for copying.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from markupsafe import Markup

from survey.services.study_dashboard import WaveFigures

SVG_NS = "http://www.w3.org/2000/svg"
WIDTH = 320  # fits a 360 px screen; a narrower one scales the chart down (viewBox)
LABEL_HEIGHT = 18
BAR_HEIGHT = 14
ROW_GAP = 8
BAR_FILL = "#1d4ed8"
TRACK_FILL = "#e5e7eb"
TEXT_FILL = "#1f2937"
FONT_SIZE = "13"
LABEL_CHARACTERS = 34  # beyond this a page title is shortened with "…" (the table has it)


def _short(text: str, limit: int = LABEL_CHARACTERS) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def steps(figures: WaveFigures) -> list[tuple[str, int]]:
    """(label, sessions) of each bar: "Started", then each page "n. title"."""
    return [("Started", figures.started)] + [
        (f"{step.number}. {step.title}", step.submitted) for step in figures.funnel
    ]


def funnel_svg(figures: WaveFigures, *, element_id: str) -> Markup:
    """The funnel of ``figures``' wave as an ``<svg role="img">`` with a title and a
    description; ``element_id`` makes the ids of its title and description unique."""
    rows = steps(figures)
    started = figures.started
    row_height = LABEL_HEIGHT + BAR_HEIGHT + ROW_GAP
    height = row_height * len(rows)
    title_id, desc_id = f"{element_id}-title", f"{element_id}-desc"
    svg = ET.Element(
        "svg",
        {
            "xmlns": SVG_NS,
            "role": "img",
            "width": "100%",
            "height": str(height),
            "viewBox": f"0 0 {WIDTH} {height}",
            "preserveAspectRatio": "xMinYMin meet",
            "aria-labelledby": f"{title_id} {desc_id}",
            "id": element_id,
            "class": "funnel",
        },
    )
    ET.SubElement(svg, "title", {"id": title_id}).text = f"Drop-off per page, {figures.wave.label}"
    pages = len(figures.funnel)
    last = figures.funnel[-1].submitted if figures.funnel else 0
    ET.SubElement(svg, "desc", {"id": desc_id}).text = (
        f"{started} sessions started; {last} of them submitted the last of {pages} pages."
        if started
        else "No session started yet."
    )
    for index, (label, count) in enumerate(rows):
        top = index * row_height
        share = count / started if started else 0.0
        group = ET.SubElement(svg, "g")
        ET.SubElement(
            group,
            "text",
            {"x": "0", "y": str(top + LABEL_HEIGHT - 5), "font-size": FONT_SIZE, "fill": TEXT_FILL},
        ).text = _short(label)
        figure = f"{count}" + (f" ({share:.0%})" if started else "")
        ET.SubElement(
            group,
            "text",
            {
                "x": str(WIDTH),
                "y": str(top + LABEL_HEIGHT - 5),
                "font-size": FONT_SIZE,
                "fill": TEXT_FILL,
                "text-anchor": "end",
            },
        ).text = figure
        bar_top = str(top + LABEL_HEIGHT)
        common = {"x": "0", "y": bar_top, "height": str(BAR_HEIGHT)}
        ET.SubElement(group, "rect", {**common, "width": str(WIDTH), "fill": TRACK_FILL})
        bar = ET.SubElement(
            group,
            "rect",
            {**common, "width": f"{WIDTH * min(share, 1.0):.1f}", "fill": BAR_FILL},
        )
        ET.SubElement(bar, "title").text = f"{label}: {figure}"
    # ElementTree escapes text and attributes; nothing else enters the markup.
    return Markup(ET.tostring(svg, encoding="unicode", short_empty_elements=True))
