"""The report's plots: valid, accessible, self-contained SVG, the same bytes for the same input,
drawn from the sections of the simulated study and from small hand-made sections."""

from __future__ import annotations

import copy
import re
import xml.etree.ElementTree as ET
from concurrent.futures import ThreadPoolExecutor

import pytest

from survey.services.validation import items, plots, responsiveness, structural

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}href"

LEVELS = (
    ("configural", 0.962, 0.041, None, None),
    ("metric", 0.959, 0.042, -0.003, 0.001),
    ("scalar", 0.941, 0.049, -0.018, 0.007),
    ("strict", 0.938, 0.050, -0.003, 0.001),
)
LADDER = {
    "label": "across delivery_mode",
    "levels": [
        dict(zip(("level", "cfi", "rmsea", "delta_cfi", "delta_rmsea"), row, strict=True))
        for row in LEVELS
    ],
}


@pytest.fixture(scope="module")
def sections(simulated_data):
    instrument = simulated_data.instruments[0]
    return {
        "item_statistics": items.item_statistics(simulated_data, instrument),
        "structural_validity": structural.structural_validity(simulated_data, instrument, seed=1),
        "responsiveness": responsiveness.responsiveness(simulated_data, instrument),
    }


def drawings(sections):
    """(name, function of no arguments) for every plot of the report."""
    structural_section = sections["structural_validity"]
    return {
        "distributions": lambda: plots.response_distributions(
            sections["item_statistics"], construct="TA"
        ),
        "scree": lambda: plots.scree(structural_section["efa"]),
        "loadings": lambda: plots.loadings_heatmap(structural_section["first_order"]),
        "path": lambda: plots.path_diagram(structural_section["second_order"]),
        "trajectories": lambda: plots.trajectories(sections["responsiveness"]),
        "invariance": lambda: plots.invariance_ladder(LADDER),
    }


@pytest.fixture(scope="module")
def drawn(sections):
    return {name: draw() for name, draw in drawings(sections).items()}


def texts(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return ["".join(node.itertext()) for node in root.iter(f"{SVG}text")]


@pytest.mark.parametrize(
    "name", ["distributions", "scree", "loadings", "path", "trajectories", "invariance"]
)
def test_each_plot_is_accessible_svg_that_fetches_nothing(drawn, name):
    svg = drawn[name]
    assert svg.startswith("<svg ")  # no XML prolog or DOCTYPE: ready to go inline
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    first, second = list(root)[:2]
    assert (first.tag, second.tag) == (f"{SVG}title", f"{SVG}desc")
    assert first.text.strip() and len(second.text) > 40
    assert root.get("aria-labelledby") == f"{first.get('id')} {second.get('id')}"
    ids = [node.get("id") for node in root.iter() if node.get("id")]
    assert len(ids) == len(set(ids))
    references = [node.get(XLINK) or node.get("href") for node in root.iter()]
    assert all(ref.startswith("#") and ref[1:] in ids for ref in references if ref)
    assert set(re.findall(r"url\(([^)]*)\)", svg)) <= {f"#{i}" for i in ids}
    # the only URLs are the two namespace names, which nothing fetches
    assert set(re.findall(r"https?://[^\"'\s)]+", svg)) == {
        "http://www.w3.org/2000/svg",
        "http://www.w3.org/1999/xlink",
    }
    assert root.find(f".//{SVG}image") is None  # vector only, no embedded raster
    assert "<script" not in svg and "@import" not in svg and "@font-face" not in svg
    assert "<metadata" not in svg  # no date, no creator


def test_the_same_input_gives_the_same_bytes_in_any_thread(sections, drawn):
    functions = drawings(sections)
    with ThreadPoolExecutor(max_workers=3) as pool:
        again = dict(zip(functions, pool.map(lambda draw: draw(), functions.values()), strict=True))
    assert again == drawn


def test_plots_in_one_document_share_no_id(drawn):
    seen: dict[str, str] = {}
    for name, svg in drawn.items():
        for found in re.findall(r'\bid="([^"]+)"', svg):
            assert seen.setdefault(found, name) == name, found


def test_distributions_show_each_item_grouped_by_subconstruct(sections, drawn):
    shown = texts(drawn["distributions"])
    statistics = sections["item_statistics"]
    ta = [row for row in statistics["items"] if row["construct"] == "TA"]
    for row in ta:
        label = f"{row['id']} (R)" if row["reverse"] else row["id"]
        assert label in shown
    assert {"TA_BOND", "TA_GOAL", "TA_TASK"} <= set(shown)
    assert not any(text.startswith("OE_") for text in shown)
    options = ta[0]["distribution"]
    assert all(f"{o['value']} {o['label']}" in shown for o in options)  # the legend
    # the segment labels are the shares of the first item, in percent
    first = [f"{o['share'] * 100:.0f}" for o in options if o["share"] >= 0.08]
    assert all(value in shown for value in first)
    every = plots.response_distributions(statistics)
    assert len([t for t in texts(every) if re.fullmatch(r"[A-Z]+_[A-Z]+_\d( \(R\))?", t)]) == 72


def test_floor_and_ceiling_effects_are_written_beside_the_bars():
    statistics = {
        "wave": "baseline",
        "limit": 0.15,
        "items": [
            {
                "id": "X_1",
                "subconstruct": "X <&> Y",
                "construct": "X",
                "reverse": False,
                "n": 10,
                "missing_share": 0.2,
                "distribution": [
                    {"value": 1, "label": "no", "count": 0, "share": 0.0},
                    {"value": 2, "label": "yes", "count": 10, "share": 1.0},
                ],
                "floor_share": 0.0,
                "ceiling_share": 1.0,
                "floor_effect": False,
                "ceiling_effect": True,
            }
        ],
    }
    svg = plots.response_distributions(statistics)
    shown = texts(svg)  # parses: the subconstruct's "<&>" is escaped
    assert "X <&> Y" in shown
    assert "ceiling 100%, 20% missing" in shown
    assert "X_1 ceiling 100%" in ET.fromstring(svg).find(f"{SVG}desc").text


def test_scree_shows_the_eigenvalues_and_the_factors_retained(sections, drawn):
    parallel = sections["structural_validity"]["efa"]["parallel_analysis"]
    shown = texts(drawn["scree"])
    assert f"{parallel['n_factors']} retained" in shown
    assert f"{parallel['n_components']} retained" in shown
    desc = ET.fromstring(drawn["scree"]).find(f"{SVG}desc").text
    assert f"Factors retained: {parallel['n_factors']}" in desc


def test_heatmap_writes_every_first_order_loading_in_its_cell(sections, drawn):
    model = sections["structural_validity"]["first_order"]
    shown = texts(drawn["loadings"])
    values = [row["std_all"] for row in model["loadings"]]
    assert len(values) == 72
    written = [text for text in shown if re.fullmatch(r"-?\d?\.\d\d", text)]
    assert sorted(written) == sorted(plots._short(value) for value in values)
    assert set(model["factors"]["first_order"]) <= set(shown)


def test_path_diagram_puts_the_second_order_loadings_on_the_arrows(sections, drawn):
    model = sections["structural_validity"]["second_order"]
    shown = texts(drawn["path"])
    upper = [row for row in model["loadings"] if row["level"] == 2]
    assert len(upper) == 24
    assert sorted(t for t in shown if re.fullmatch(r"-?\d?\.\d\d", t)) == sorted(
        plots._short(row["std_all"]) for row in upper
    )
    assert set(model["factors"]["second_order"]) <= set(shown)
    # items summarised per subconstruct with the range of their standardised loadings
    lower = [row for row in model["loadings"] if row["factor"] == "TA_BOND"]
    low, high = (f(row["std_all"] for row in lower) for f in (min, max))
    assert f"3 items, λ {plots._short(low)}–{plots._short(high)}" in shown
    negative = [row["indicator"] for row in upper if row["std_all"] < 0]
    assert negative  # the reverse-oriented subconstructs load negatively
    assert "negative, drawn dashed" in ET.fromstring(drawn["path"]).find(f"{SVG}desc").text


def test_trajectories_have_a_panel_per_construct(sections, drawn):
    shown = texts(drawn["trajectories"])
    codes = [entry["code"] for entry in sections["responsiveness"]["constructs"]]
    assert len(codes) == 10
    assert all(any(text.split("\n")[0] == code for text in shown) for code in codes)
    assert {"baseline", "week-4", "week-8"} <= set(shown)


def test_invariance_ladder_marks_the_step_that_is_not_supported(drawn):
    shown = texts(drawn["invariance"])
    assert "Δ -0.018 not supported" in shown
    assert "Δ -0.003" in shown and "Δ +0.007" in shown
    desc = ET.fromstring(drawn["invariance"]).find(f"{SVG}desc").text
    assert "scalar: ΔCFI -0.018, ΔRMSEA +0.007 (not supported)" in desc
    assert "metric: ΔCFI -0.003, ΔRMSEA +0.001 (supported)" in desc


def test_sections_without_anything_to_draw_say_why(sections):
    with pytest.raises(plots.NothingToPlot, match="needs two waves"):
        plots.trajectories({"available": False, "reason": "responsiveness needs two waves"})
    with pytest.raises(plots.NothingToPlot, match="singular"):
        plots.scree({"available": False, "reason": "not computed: singular"})
    unfitted = copy.deepcopy(sections["structural_validity"]["first_order"])
    unfitted.update(loadings=[], reason="not fitted: too few rows")
    for draw in (plots.loadings_heatmap, plots.path_diagram):
        with pytest.raises(plots.NothingToPlot, match="too few rows"):
            draw(unfitted)
    with pytest.raises(plots.NothingToPlot, match="no items of construct ZZ"):
        plots.response_distributions(sections["item_statistics"], construct="ZZ")
    with pytest.raises(plots.NothingToPlot):
        plots.invariance_ladder({"levels": []})
