"""The report as a self-contained HTML document, rendered from the simulated study's report:
well formed, every section in COSMIN order, the dict's numbers in its tables, plots inline,
nothing fetched, nothing run, the same bytes for the same report, text escaped."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from html.parser import HTMLParser
from typing import Any

import pytest

from survey.services import hypotheses
from survey.services.validation import report_html
from survey.services.validation.report_html import render_report_html

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str | None]
    children: list[Any] = field(default_factory=list)

    def text(self) -> str:
        return "".join(c if isinstance(c, str) else c.text() for c in self.children)

    def iter(self, tag: str | None = None):
        if tag is None or self.tag == tag:
            yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter(tag)

    def find_id(self, id_: str) -> Node:
        (found,) = [node for node in self.iter() if node.attrs.get("id") == id_]
        return found

    def elements(self) -> list[Node]:
        return [child for child in self.children if isinstance(child, Node)]


class Tree(HTMLParser):
    """A strict little DOM: every element must be closed, in order."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.doctype: str | None = None
        self.root = Node("#document", {})
        self.stack = [self.root]
        self.errors: list[str] = []
        self.feed(html)
        self.close()
        if len(self.stack) != 1:
            self.errors.append(f"unclosed: {[n.tag for n in self.stack[1:]]}")

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag, attrs) -> None:
        node = Node(tag, dict(attrs))
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs) -> None:
        self.stack[-1].children.append(Node(tag, dict(attrs)))

    def handle_endtag(self, tag) -> None:
        if self.stack[-1].tag != tag:
            self.errors.append(f"</{tag}> closes <{self.stack[-1].tag}> at {self.getpos()}")
            return
        self.stack.pop()

    def handle_data(self, data) -> None:
        self.stack[-1].children.append(data)


HYPOTHESES = (
    "TA correlates >= .10 with active_weeks",
    "SE correlates more with TR than with IP",
    "TA correlates <= -.30 with active_weeks",
)


def stated(data) -> list[dict[str, Any]]:
    """HYPOTHESES as hypotheses_for_run gives them, read against the study's names."""
    definition = data.instruments[0].definition
    names = {c.code: hypotheses.SCORE for c in definition.constructs}
    names |= {s.code: hypotheses.SCORE for s in definition.subconstructs}
    names |= {n: hypotheses.OUTCOME for n, kind in data.outcome_columns if kind == "numeric"}
    return [
        {
            "id": number,
            "text": text,
            "spec": hypotheses.parse_hypothesis(text, names=names),
            "stated_at": "2027-05-01T09:00:00+00:00",
        }
        for number, text in enumerate(HYPOTHESES, start=1)
    ]


@pytest.fixture(scope="module")
def report(simulated_report) -> dict[str, Any]:
    report = copy.deepcopy(simulated_report)
    report["study"]["name"] = "Validation study"
    return report


RUN = {
    "id": 7,
    "ran_by": "alice@example.org",
    "started_at": datetime(2027, 6, 2, 9, 30, tzinfo=UTC),
}


@pytest.fixture(scope="module")
def html(report) -> str:
    return render_report_html(report, run=RUN)


@pytest.fixture(scope="module")
def tree(html) -> Tree:
    return Tree(html)


def cells(row: Node) -> list[str]:
    return [cell.text().strip() for cell in row.elements() if cell.tag in ("th", "td")]


def body_rows(table: Node) -> list[Node]:
    (tbody,) = list(table.iter("tbody"))
    return [row for row in tbody.elements() if row.tag == "tr"]


def test_the_document_is_complete_and_well_formed(tree):
    assert tree.errors == []
    assert tree.doctype == "doctype html"
    (document,) = tree.root.elements()
    assert document.tag == "html" and document.attrs["lang"] == "en"
    head, body = document.elements()
    assert (head.tag, body.tag) == ("head", "body")
    assert [n.attrs.get("charset") for n in head.iter("meta")][0] == "utf-8"
    assert [n.text() for n in head.iter("title")] == ["Validation report – Validation study"]
    (style,) = list(head.iter("style"))
    assert "@media print" in style.text()
    # the only other <style> elements are matplotlib's stroke defaults inside each plot
    inner = [style for svg in body.iter("svg") for style in svg.iter("style")]
    assert len(list(body.iter("style"))) == len(inner) == len(list(body.iter("svg")))
    assert {style.text() for style in inner} == {"*{stroke-linejoin: round; stroke-linecap: butt}"}
    ids = [node.attrs["id"] for node in tree.root.iter() if node.attrs.get("id")]
    assert len(ids) == len(set(ids))  # the plots' ids too
    targets = {node.attrs["href"][1:] for node in tree.root.iter("a")}
    assert targets <= set(ids)  # the contents link to sections that exist


def test_every_section_has_its_heading_in_cosmin_order(tree):
    headings = [(n.tag, n.text().strip()) for n in tree.root.iter() if n.tag in ("h2", "h3")]
    assert headings == [
        ("h2", "Contents"),
        ("h2", "Inputs"),
        ("h2", "Warnings"),
        ("h2", "Instrument iemdp 1.1.0"),
        *[("h3", heading) for _key, heading in report_html.DOCUMENT_SECTIONS],
    ]
    assert [h for _k, h in report_html.DOCUMENT_SECTIONS] == [
        "COSMIN summary",
        "Item statistics",
        "Structural validity",
        "Internal consistency",
        "Reliability and measurement error",
        "Hypotheses testing for construct validity",
        "Cross-cultural validity / measurement invariance",
        "Criterion validity",
        "Responsiveness",
    ]


def test_inputs_show_versions_hashes_rows_seed_packages_and_the_run(report, tree):
    inputs = report["inputs"]
    selection = {cells(r)[0]: cells(r)[1] for r in body_rows(tree.root.find_id("inputs-table"))}
    assert selection["Rows analysed (participant × wave)"] == str(inputs["rows"])
    assert selection["Excluded sessions left out"] == str(inputs["excluded_left_out"])
    assert selection["Simulated rows"] == str(inputs["simulated_rows"]) == "1025"
    assert selection["Seed"] == "1"
    assert selection["Rows SHA-256"] == inputs["rows_sha256"]
    assert selection["Waves"] == "all: baseline, week-4, week-8"
    (version,) = body_rows(tree.root.find_id("inputs-instruments"))
    described = inputs["instruments"][0]
    assert cells(version) == ["iemdp", "1.1.0", "72", described["content_hash"]]
    packages = {cells(r)[0]: cells(r)[1] for r in body_rows(tree.root.find_id("inputs-packages"))}
    assert packages == inputs["packages"]
    listed = [cells(r) for r in body_rows(tree.root.find_id("inputs-hypotheses"))]
    assert (
        listed == [[str(h["id"]), h["text"], h["stated_at"]] for h in inputs["hypotheses"]]
        and len(listed) == 3
    )
    run = [cells(r) for r in body_rows(tree.root.find_id("inputs-run"))]
    assert run == [
        ["Id", "7"],
        ["Ran by", "alice@example.org"],
        ["Started at", "2027-06-02T09:30:00+00:00"],
    ]


def test_the_warnings_are_listed(report, tree):
    listed = [n.text() for n in tree.root.find_id("warnings").iter("li")]
    assert listed == report["warnings"] and len(listed) > 10


def test_cosmin_table_has_a_row_per_property_with_its_rating(report, tree):
    rows = body_rows(tree.root.find_id("i1-cosmin-table"))
    expected = report["instruments"][0]["cosmin"]["rows"]
    assert len(rows) == len(expected) == 8
    for row, entry in zip(rows, expected, strict=True):
        assert cells(row) == [
            entry["property"],
            entry["result"],
            entry["criterion"],
            entry["rating"],
        ]
        (badge,) = list(row.iter("span"))
        assert badge.attrs["class"] == f"rating rating-{entry['rating']}"


@pytest.mark.parametrize("model", ["first_order", "second_order"])
def test_fit_tables_show_the_reports_numbers_beside_the_cut_offs(report, tree, model):
    fitted = report[model]
    table = tree.root.find_id(f"i1-{model.replace('_', '-')}-fit")
    shown = {row.attrs["data-measure"]: cells(row) for row in body_rows(table)}
    assert list(shown) == ["cfi", "tli", "rmsea", "srmr"]
    # the measure judged (the robust CFI of a WLSMV or MLR fit), its lavaan name beside it
    judged = fitted["judged"]["cfi"]
    assert judged == "cfi.robust"
    cfi = fitted["fit_measures"][judged]
    assert shown["cfi"][:4] == ["CFI", judged, f"{cfi:.3f}", ">= 0.95"]
    assert shown["cfi"][4] == ("yes" if cfi >= 0.95 else "no")
    assert shown["srmr"][1:3] == ["srmr", f"{fitted['fit_measures']['srmr']:.3f}"]
    verdicts = [n.text() for n in tree.root.iter("p") if n.attrs.get("class") == "verdict"]
    assert fitted["verdict"] in verdicts
    measures = tree.root.find_id(f"i1-{model.replace('_', '-')}-measures")
    by_name = {cells(row)[1]: cells(row)[2] for row in body_rows(measures)}
    assert by_name["chisq"] == f"{fitted['fit_measures']['chisq']:.2f}"
    assert by_name["df"] == str(fitted["fit_measures"]["df"])
    assert by_name["pvalue"] == "< 0.001"
    assert by_name["chisq.scaled"] == f"{fitted['fit_measures']['chisq.scaled']:.2f}"
    assert by_name["cfi.robust"] == f"{fitted['fit_measures']['cfi.robust']:.3f}"
    if fitted["estimator"] == "WLSMV":  # no modification indices: said, not an empty table
        absent = tree.root.find_id(f"i1-{model.replace('_', '-')}-mi-absent")
        assert "not available" in absent.text() and "WLSMV" in absent.text()


def test_tables_hold_loadings_alphas_iccs_and_criterion_numbers(report, tree):
    sections = report["instruments"][0]
    loadings = body_rows(tree.root.find_id("i1-first-order-loadings"))
    first = sections["structural_validity"]["first_order"]["loadings"]
    assert len(loadings) == 72
    assert cells(loadings[1])[:3] == ["OE_BEN", "OE_BEN_2", f"{first[1]['std_all']:.3f}"]
    upper = body_rows(tree.root.find_id("i1-second-order-loadings"))
    assert len(upper) == 24
    alphas = body_rows(tree.root.find_id("i1-alpha-subconstructs"))
    entry = sections["internal_consistency"]["subconstructs"][0]
    assert cells(alphas[0])[4] == f"{entry['alpha']['alpha']:.3f}"
    ci = entry["alpha"]["ci"]
    assert cells(alphas[0])[5] == f"[{ci['lower']:.3f}, {ci['upper']:.3f}]"
    icc = body_rows(tree.root.find_id("i1-icc"))
    pair = sections["test_retest"]["pairs"][1]["constructs"][0]
    assert cells(icc[0])[3].startswith(f"{pair['icc']:.3f} [")
    correlations = body_rows(tree.root.find_id("i1-correlations"))
    r = sections["criterion_validity"]["correlations"][0]
    assert len(correlations) == 34
    assert cells(correlations[0])[2].startswith(f"{r['r']:.3f} [")
    ratios = body_rows(tree.root.find_id("i1-logistic-1"))
    assert len(ratios) == 10


def test_hypotheses_are_listed_with_their_estimate_and_whether_they_are_met(report, tree):
    section = report["instruments"][0]["hypotheses"]
    rows = [cells(r) for r in body_rows(tree.root.find_id("i1-hypotheses-table"))]
    assert [row[0] for row in rows] == list(HYPOTHESES)
    for row, entry in zip(rows, section["results"], strict=True):
        assert row[2:4] == [str(entry["n"]), f"{entry['estimate']:.3f}"]
        assert row[6] == {True: "yes", False: "no"}[entry["met"]]
        assert row[7] == entry["result"]
    (correlation, comparison, false) = section["results"]
    ci = correlation["estimates"][0]["ci"]
    assert rows[0][4] == f"[{ci['lower']:.3f}, {ci['upper']:.3f}]"
    assert rows[1][4] == "—"  # a comparison's difference has no interval
    assert false["met"] is False and rows[2][6] == "no"
    summary = tree.root.find_id("i1-hypotheses").elements()[1].text()
    assert f"{section['met']} of {section['tested']} hypotheses tested are met" in summary


def test_every_plot_is_inline_svg_with_a_title_and_a_description(tree, report):
    figures = list(tree.root.iter("figure"))
    svgs = list(tree.root.iter("svg"))
    # ten constructs' response distributions, loadings, path diagram, scree, trajectories,
    # and an invariance ladder per comparison that was fitted
    ladders = [
        c for c in report["instruments"][0]["invariance"].get("comparisons", []) if c.get("levels")
    ]
    assert len(figures) == len(svgs) == 14 + len(ladders)
    ids = {node.attrs.get("id") for node in tree.root.iter()}
    for figure in figures:
        (svg,) = [child for child in figure.elements() if child.tag == "svg"]
        title, desc = svg.elements()[:2]
        assert (title.tag, desc.tag) == ("title", "desc")
        assert title.text().strip() and desc.text().strip()
        assert svg.attrs["role"] == "img"
        assert set(svg.attrs["aria-labelledby"].split()) <= ids
        assert [c.tag for c in figure.elements()][-1] == "figcaption"
    titles = [svg.elements()[0].text() for svg in svgs]
    assert sum(title.startswith("Invariance ladder") for title in titles) == len(ladders)


def test_nothing_is_fetched_and_nothing_runs(html, tree):
    assert "<script" not in html.lower()
    for node in tree.root.iter():
        assert "src" not in node.attrs, node.tag
        assert not any(name.startswith("on") for name in node.attrs), node.tag
        href = node.attrs.get("href")
        assert href is None or href.startswith("#"), href
    for tag in ("img", "link", "iframe", "object", "embed", "image", "audio", "video"):
        assert not list(tree.root.iter(tag)), tag
    assert set(re.findall(r"url\(\s*([^)]*)\)", html)) <= {
        f"#{node.attrs['id']}" for node in tree.root.iter() if node.attrs.get("id")
    }
    assert "@import" not in html and "@font-face" not in html
    assert not re.search(r"https?://", html)  # not even a namespace name


def test_the_same_report_gives_the_same_bytes_also_read_back_from_json(report, html):
    stored = json.loads(json.dumps(report))  # as a stored run gives it back
    assert render_report_html(stored, run=RUN) == html


def test_text_from_the_report_and_the_run_is_escaped(report):
    hostile = copy.deepcopy(report)
    hostile["study"]["name"] = '<script>alert("x")</script> & co'
    hostile["warnings"] = ["<img src=x onerror=alert(1)>"]
    hostile["instruments"] = []  # the document's own parts are enough here, and fast
    html = render_report_html(hostile, run={"ran_by": "<b>mallory</b>"})
    assert "<script" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; co" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&lt;b&gt;mallory&lt;/b&gt;" in html
    assert Tree(html).errors == []


def not_computed(report: dict[str, Any]) -> dict[str, Any]:
    """The report with every section in the shape its module gives when it cannot compute
    (one wave selected, no outcomes, a model that could not be fitted, no answers)."""
    out = copy.deepcopy(report)
    sections = out["instruments"][0]
    reason = "the run is restricted to wave 'baseline'"
    for key in ("test_retest", "responsiveness"):
        sections[key] = {"available": False, "reason": reason, "waves": ["baseline"]}
        sections[key] |= {"notes": [f"Not computed: {reason}."], "warnings": []}
    sections["criterion_validity"] = {
        "available": False,
        "reason": "the study has no outcomes uploaded",
        "notes": [],
        "warnings": [],
    }
    sections["item_statistics"]["items"] = []
    sections["invariance"] = {
        "available": False,
        "reason": reason,
        "comparisons": [],
        "groups": {"available": False, "reason": reason},
        "waves": {"available": False, "reason": reason},
        "notes": [],
        "warnings": [],
    }
    untested = {"met": None, "reason": reason, "n": None, "estimate": None, "estimates": []}
    untested |= {"ci_verdict": None, "result": f"Not tested: {reason}."}
    sections["hypotheses"] |= {"available": False, "reason": reason, "tested": 0, "met": 0}
    sections["hypotheses"]["results"] = [
        entry | untested for entry in sections["hypotheses"]["results"]
    ]
    sections["hypotheses"]["share_met"] = None
    structural = sections["structural_validity"]
    for model in ("first_order", "second_order"):
        structural[model].update(
            converged=False,
            iterations=None,
            reason="not fitted: fewer rows than items",
            fit_measures={},
            cutoffs={},
            fit=None,
            verdict="No verdict: the model could not be fitted.",
            loadings=[],
            factor_correlations={"factors": [], "values": [], "se": []},
            modification_indices=[],
            modification_indices_total=0,
        )
    structural["comparison"].update(
        available=False,
        chisq_diff=None,
        df_diff=None,
        pvalue=None,
        aic={"first_order": None, "second_order": None},
        bic={"first_order": None, "second_order": None},
        preferred=None,
        sentence="The models cannot be compared: both models must be fitted and converge.",
    )
    structural["efa"].update(
        available=False, reason="not computed: singular", kmo=None, bartlett=None
    )
    structural["efa"]["parallel_analysis"] = None
    return out


def test_sections_that_could_not_be_computed_keep_their_heading_and_say_why(report):
    html = render_report_html(not_computed(report))
    tree = Tree(html)
    assert tree.errors == []
    headings = [n.text().strip() for n in tree.root.iter("h3")]
    assert headings == [heading for _key, heading in report_html.DOCUMENT_SECTIONS]
    absent = [n.text() for n in tree.root.iter("p") if n.attrs.get("class") == "absent"]
    assert "Not computed: the run is restricted to wave 'baseline'." in absent
    assert "Not computed: the study has no outcomes uploaded." in absent
    assert "Not computed: not computed: singular." in absent
    assert "Not tested: the run is restricted to wave 'baseline'." in absent
    hypotheses_rows = body_rows(tree.root.find_id("i1-hypotheses-table"))
    assert [cells(row)[2:7] for row in hypotheses_rows] == [["—"] * 5] * 3
    assert "No plot: not fitted: fewer rows than items." in absent
    assert not list(tree.root.iter("svg"))
    assert "No verdict: the model could not be fitted." in html
    assert not [n for n in tree.root.iter("table") if n.attrs.get("class") == "fit"]


def test_two_instrument_versions_get_their_own_articles_and_distinct_ids(report):
    two = not_computed(report)  # fast: only the trajectories are drawn, once per version
    (sections,) = two["instruments"]
    sections["responsiveness"] = report["instruments"][0]["responsiveness"]
    other = copy.deepcopy(sections)
    other["instrument"] = {**sections["instrument"], "version": "1.0.0"}
    two["instruments"].append(other)
    tree = Tree(render_report_html(two))
    assert tree.errors == []
    articles = list(tree.root.iter("article"))
    assert [n.attrs["id"] for n in articles] == ["i1", "i2"]
    assert [n.text().strip() for n in tree.root.iter("h2")][-2:] == [
        "Instrument iemdp 1.1.0",
        "Instrument iemdp 1.0.0",
    ]
    svgs = list(tree.root.iter("svg"))
    assert len(svgs) == 2 and svgs[0].elements()[0].text() == svgs[1].elements()[0].text()
    ids = [node.attrs["id"] for node in tree.root.iter() if node.attrs.get("id")]
    assert len(ids) == len(set(ids))
    for svg in svgs:
        labelled = svg.attrs["aria-labelledby"].split()
        assert labelled == [child.attrs["id"] for child in svg.elements()[:2]]


def test_a_structural_section_that_could_not_be_fitted_is_said_in_the_report(report):
    from survey.services.validation.structural import structural_validity
    from tests.survey.validation.small_study import simulated_answers, study_data

    raw = simulated_answers(150, seed=2)
    raw["B_3"] = 3.0  # everyone answered 3: no ordinal fit
    data = study_data(raw)
    later = not_computed(report)  # fast: no other plot to draw
    later["instruments"][0]["structural_validity"] = structural_validity(data, data.instruments[0])
    tree = Tree(render_report_html(later))
    assert tree.errors == []
    section = tree.root.find_id("i1-structural_validity")
    assert "B_3 (everyone answered 3)" in section.text()
    assert "at least two observed categories" in section.text()


def test_an_invariance_section_is_shown_with_its_ladder_when_the_report_has_one(report):
    later = not_computed(report)  # fast: no other plot to draw
    sections = later["instruments"][0]
    levels = [
        {"level": "configural", "cfi": 0.962, "rmsea": 0.041, "chisq": 812.5, "df": 420},
        {
            "level": "metric",
            "cfi": 0.959,
            "rmsea": 0.042,
            "delta_cfi": -0.003,
            "delta_rmsea": 0.001,
        },
    ]
    sections["invariance"] = {
        "comparisons": [{"label": "across delivery_mode", "levels": levels}],
        "notes": ["Multi-group CFA across delivery_mode."],
        "warnings": [],
    }
    tree = Tree(render_report_html(later))
    assert tree.errors == []
    ladder = [cells(r) for r in body_rows(tree.root.find_id("i1-invariance-1"))]
    assert ladder[0][:4] == ["configural", "812.50", "420", "0.962"]
    assert ladder[1][9:] == ["-0.003", "0.001"]
    (svg,) = list(tree.root.iter("svg"))
    assert svg.elements()[0].text().startswith("Invariance ladder, across delivery_mode")


def test_numbers_are_rounded_and_missing_values_are_a_dash():
    assert report_html.number(0.123456) == "0.123"
    assert report_html.number(0.123456, 2) == "0.12"
    assert report_html.number(-0.0001) == "0.000"
    assert report_html.number(2208) == "2208"
    assert report_html.number(None) == report_html.number(float("nan")) == "—"
    assert report_html.pvalue(2.7e-36) == "< 0.001"
    assert report_html.pvalue(0.10265) == "0.103"
    assert report_html.percent(0.1575) == "15.8 %"
    assert report_html.interval({"lower": 0.6681, "upper": 0.7662}) == "[0.668, 0.766]"
    assert report_html.interval({"lower": None, "upper": 0.7}) == "—"
