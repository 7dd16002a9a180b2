"""The validation pages (survey.research.validation_views): asking for a run, its progress,
its failure, its report with plots and downloads, and the study's hypotheses; who may do
what.

One test runs a whole validation through the page (150 simulated participants x 2 waves,
about the fewest the 72-item CFA fits on); the others need no finished run: a queued run
is left unstarted, a failed one fails for real (a damaged instrument version).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from html import unescape

import pytest
from sqlalchemy import func, select, update

from survey import jobs
from survey.extensions import db
from survey.models import (
    AuditAction,
    AuditEvent,
    Study,
    StudyHypothesis,
    StudyMember,
    User,
    ValidationRun,
)
from survey.services import hypotheses, validation_runs
from survey.validation_cli import report_json
from tests.survey.jobs.conftest import damage_content_hash
from tests.survey.validation.conftest import make_simulated_study

SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
OWNER = "researcher@example.org"
SVG = "{http://www.w3.org/2000/svg}svg"


@dataclass(frozen=True)
class World:
    study_id: int

    def url(self, rest: str = "") -> str:
        return f"/research/studies/{self.study_id}/validation{rest}"

    def run_url(self, run_id: int, rest: str = "") -> str:
        return self.url(f"/runs/{run_id}{rest}")


def _study(app, *, participants: int, waves: int, seed: int) -> World:
    """A simulated IEM-DP 1.1.0 study owned by researcher@example.org (committed)."""
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        study, _result = make_simulated_study(
            participants=participants, waves=waves, seed=seed, slug="validation"
        )
        study.owner_id = owner.id
        db.session.commit()
        return World(study.id)


@pytest.fixture
def client(researcher_client):
    return researcher_client


@pytest.fixture
def small_world(app, client) -> World:
    """40 participants at one wave: enough for the pages that need no finished report."""
    return _study(app, participants=40, waves=1, seed=21)


@pytest.fixture
def idle(app):
    """The app's worker thread is stopped at the end of the test."""
    yield
    assert jobs.shutdown(app, timeout=120)


def _text(response) -> str:
    return response.get_data(as_text=True)


def _field_error(html: str, field_id: str) -> str:
    match = re.search(rf'<span class="field-error" id="{field_id}-error">(.*?)</span>', html, re.S)
    assert match, f"no error next to {field_id}"
    return unescape(re.sub(r"<[^>]+>", "", match.group(1))).strip()


def _runs(app) -> list[ValidationRun]:
    with app.app_context():
        runs = list(db.session.scalars(select(ValidationRun).order_by(ValidationRun.id)))
        db.session.expunge_all()
        return runs


def _run_id(location: str) -> int:
    match = re.search(r"/validation/runs/(\d+)$", location)
    assert match, location
    return int(match.group(1))


def _queued_run(app, world: World, **inputs) -> int:
    """A run asked for and committed but handed to no worker: it stays queued."""
    with app.app_context():
        study = db.session.get(Study, world.study_id)
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        run = validation_runs.request_run(study, actor=owner, **inputs)
        db.session.commit()
        return run.id


# -- the whole way: form, job, report, plots, downloads ----------------------------------------
def test_a_run_asked_for_on_the_page_ends_in_its_report_with_plots_and_downloads(app, client, idle):
    world = _study(app, participants=150, waves=2, seed=5)
    page = _text(client.get(world.url()))
    # The form as rendered: all waves, excluded sessions left out, seed 1.
    assert '<option selected value="">All waves</option>' in page
    assert '<option value="baseline">Baseline</option>' in page
    checkbox = re.search(r'<input[^>]*id="include_excluded"[^>]*>', page)
    assert checkbox and 'type="checkbox"' in checkbox.group(0)
    assert "checked" not in checkbox.group(0)
    assert re.search(r'<input[^>]*id="seed"[^>]*value="1"', page)
    assert "No validation has been run yet." in page

    response = client.post(world.url(), data={"wave": "", "seed": "1"})
    assert response.status_code == 303
    run_id = _run_id(response.headers["Location"])
    assert jobs.wait_idle(app, timeout=120)
    (run,) = _runs(app)
    assert (run.id, run.status, run.error, run.seed, run.wave) == (run_id, "done", None, 1, None)
    report = run.report

    response = client.get(world.run_url(run_id))
    html = _text(response)
    assert response.status_code == 200
    assert 'http-equiv="refresh"' not in html and "<script" not in html and "style=" not in html
    # The COSMIN summary, row by row, as stored.
    cosmin = report["instruments"][0]["cosmin"]["rows"]
    table = re.search(r'<table class="data cosmin" id="i1-cosmin">(.*?)</table>', html, re.S)
    assert table, "no COSMIN table"
    rows = re.findall(
        r'<tr data-property="([a-z_]+)"><th scope="row">(.*?)</th>.*?'
        r'<span class="rating rating-(\w+)">',
        table.group(1),
        re.S,
    )
    assert [(section, unescape(name), rating) for section, name, rating in rows] == [
        (row["section"], row["property"], row["rating"]) for row in cosmin
    ]
    # The fit of both models: the stored values with three decimals, beside the cut-offs.
    for model in ("first_order", "second_order"):
        cutoffs = report[model]["cutoffs"]
        anchor = "i1-" + model.replace("_", "-")
        fit = re.search(rf'<table class="data fit" id="{anchor}-fit">(.*?)</table>', html, re.S)
        assert fit, f"no fit table of {model}"
        for name, cut in cutoffs.items():
            row = re.search(rf'<tr data-measure="{name}">(.*?)</tr>', fit.group(1), re.S)
            assert row, f"{model}: no row {name}"
            assert f'<td class="num">{cut["value"]:.3f}</td>' in row.group(1)
            assert unescape(cut["criterion"]) in unescape(row.group(1))
        verdict = report["instruments"][0]["structural_validity"][model]["verdict"]
        assert unescape(verdict) in unescape(html)
        chisq = report[model]["fit_measures"]["chisq"]
        assert f"χ² = {chisq:.2f} on {report[model]['fit_measures']['df']} df" in html

    # Every plot is an <img> of its SVG, with its own policy.
    images = re.findall(r'<img src="([^"]+\.svg)" alt="([^"]+)"', html)
    assert len(images) >= 5
    names = {src.rsplit("/", 1)[1] for src, _alt in images}
    assert {"i1-loadings.svg", "i1-path.svg", "i1-scree.svg", "i1-trajectories.svg"} <= names
    for src, alt in images:
        assert src.startswith(world.run_url(run_id, "/plots/")) and alt.strip()
        svg = client.get(src)
        assert svg.status_code == 200, src
        assert svg.mimetype == "image/svg+xml"
        assert svg.headers["Content-Security-Policy"] == SVG_POLICY
        root = ElementTree.fromstring(svg.get_data())
        assert root.tag == SVG and root.find("{http://www.w3.org/2000/svg}title") is not None
    missing = client.get(world.run_url(run_id, "/plots/i1-nothing.svg"))
    assert missing.status_code == 404
    assert "'unsafe-inline'" not in missing.headers["Content-Security-Policy"]
    assert "style-src 'self'" in missing.headers["Content-Security-Policy"]

    # The downloads.
    download = client.get(world.run_url(run_id, "/report.html"))
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/html; charset=utf-8"
    assert download.headers["Content-Disposition"] == (
        f"attachment; filename=validation-validation-{run_id}.html"
    )
    document = download.get_data(as_text=True)
    assert document.startswith("<!doctype html>")
    assert "http://" not in document and "https://" not in document
    assert "<script" not in document.lower()
    assert OWNER in document and run.report_sha256 in document
    numbers = client.get(world.run_url(run_id, "/report.json"))
    assert numbers.status_code == 200
    assert numbers.headers["Content-Type"] == "application/json; charset=utf-8"
    assert numbers.headers["Content-Disposition"] == (
        f"attachment; filename=validation-validation-{run_id}.json"
    )
    assert numbers.get_data() == report_json(report).encode("utf-8")
    assert json.loads(numbers.get_data()) == report

    # The study's page lists the run and the latest COSMIN summary.
    listing = _text(client.get(world.url()))
    assert f'<tr data-run="{run_id}">' in listing and "done" in listing
    assert 'id="latest-cosmin-1"' in listing


# -- a run in progress ---------------------------------------------------------------------------
def test_a_run_in_progress_shows_a_progress_bar_that_refreshes_itself(app, client, small_world):
    world = small_world
    run_id = _queued_run(app, world, seed=4)
    html = _text(client.get(world.run_url(run_id)))
    assert '<meta http-equiv="refresh" content="2">' in html
    assert '<progress id="run-progress" max="1">' in html  # nothing counted yet: indeterminate
    assert "Waiting to start" in html and "queued" in html
    with app.app_context():
        db.session.execute(
            update(ValidationRun)
            .where(ValidationRun.id == run_id)
            .values(
                status="running",
                progress_done=3,
                progress_total=12,
                progress_label="iemdp 1.1.0: Structural validity (CFA, EFA)",
            )
        )
        db.session.commit()
    html = _text(client.get(world.run_url(run_id)))
    assert '<progress id="run-progress" value="3" max="12">25 %</progress>' in html
    assert "Step 3 of 12 (25 %): iemdp 1.1.0: Structural validity (CFA, EFA)" in html
    assert '<meta http-equiv="refresh" content="2">' in html
    assert "<script" not in html and "style=" not in html
    # Nothing to show or download yet.
    for rest in ("/plots/i1-loadings.svg", "/report.html", "/report.json"):
        assert client.get(world.run_url(run_id, rest)).status_code == 404, rest


def test_asking_again_for_a_run_in_progress_leads_to_it(app, client, small_world):
    world = small_world
    run_id = _queued_run(app, world, wave="baseline", seed=7)
    response = client.post(world.url(), data={"wave": "baseline", "seed": "7"})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(world.run_url(run_id))
    html = _text(client.get(response.headers["Location"]))
    assert f"This validation is already queued (run {run_id}); wait for it to finish." in html
    assert [run.id for run in _runs(app)] == [run_id]


def test_another_run_of_the_study_is_not_found(app, client, small_world):
    world = small_world
    run_id = _queued_run(app, world)
    with app.app_context():
        other, _result = make_simulated_study(participants=5, waves=1, seed=2, slug="other")
        db.session.commit()
        other_id = other.id
    admin_only = f"/research/studies/{other_id}/validation/runs/{run_id}"
    assert client.get(admin_only).status_code == 403  # not the researcher's study
    assert client.get(world.run_url(run_id + 1)).status_code == 404


# -- a failed run ----------------------------------------------------------------------------
def test_a_failed_run_shows_its_error_and_runs_again_with_the_same_inputs(
    app, client, small_world, idle
):
    world = small_world
    with app.app_context():
        (version,) = db.session.get(Study, world.study_id).instrument_versions
        version_id = version.id
        damage_content_hash(version)
    response = client.post(
        world.url(), data={"wave": "baseline", "include_excluded": "y", "seed": "9"}
    )
    assert response.status_code == 303
    first = _run_id(response.headers["Location"])
    assert jobs.wait_idle(app, timeout=60)
    html = _text(client.get(world.run_url(first)))
    assert "The validation failed" in html and 'http-equiv="refresh"' not in html
    assert (
        f"<code>ValueError: instrument version {version_id}: stored content does not match "
        "its hash</code>"
    ) in html
    # "Run again" posts the run's own inputs.
    form = re.search(
        r'<form method="post" action="([^"]+)" class="staff-form" id="run-again">(.*?)</form>',
        html,
        re.S,
    )
    assert form and form.group(1) == world.url()
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form.group(2)))
    assert fields.pop("csrf_token") is not None
    assert fields == {"wave": "baseline", "include_excluded": "y", "seed": "9", "group": ""}
    assert "Run again" in form.group(2)
    again = client.post(world.url(), data=fields)
    assert again.status_code == 303
    second = _run_id(again.headers["Location"])
    assert jobs.wait_idle(app, timeout=60)
    runs = _runs(app)
    assert [(r.id, r.status, r.wave, r.include_excluded, r.seed) for r in runs] == [
        (first, "failed", "baseline", True, 9),
        (second, "failed", "baseline", True, 9),
    ]
    listing = _text(client.get(world.url()))
    assert listing.count('<span class="status-badge run-failed">failed</span>') == 2


# -- bad input ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"wave": "", "seed": ""}, "seed", "Enter the seed: a whole number from 0 to 4294967295."),
        ({"wave": "", "seed": "one"}, "seed", "Not a valid integer value."),
        (
            {"wave": "", "seed": "-1"},
            "seed",
            "The seed must be a whole number from 0 to 4294967295.",
        ),
        (
            {"wave": "", "seed": "4294967296"},
            "seed",
            "The seed must be a whole number from 0 to 4294967295.",
        ),
        ({"wave": "week-99", "seed": "1"}, "wave", "Not a valid choice."),
    ],
)
def test_a_bad_seed_or_wave_is_shown_next_to_its_field(
    app, client, small_world, data, field, message
):
    response = client.post(small_world.url(), data=data)
    html = _text(response)
    assert response.status_code == 422
    assert _field_error(html, field) == message
    assert _runs(app) == []


# -- hypotheses --------------------------------------------------------------------------------
def _hypotheses(app) -> list[tuple[str, bool]]:
    with app.app_context():
        return [
            (h.text, h.retired_at is None)
            for h in db.session.scalars(select(StudyHypothesis).order_by(StudyHypothesis.id))
        ]


def test_state_and_retire_hypotheses(app, client, small_world):
    world = small_world
    page = _text(client.get(world.url("/hypotheses")))
    assert "A correlates more with B than with C" in page
    assert "<code>TA_BOND</code>" in page and "<code>messages_sent</code>" in page
    assert "No hypothesis is in force." in page

    response = client.post(
        world.url("/hypotheses"), data={"text": "TA correlates >= .30 with messages_sent"}
    )
    assert response.status_code == 303
    html = _text(client.get(response.headers["Location"]))
    assert "Hypothesis 1 stated: “TA correlates &gt;= .30 with messages_sent”." in html
    assert "<code>TA correlates &gt;= 0.30 with messages_sent</code>" in html
    assert f"by {OWNER}" in html and ">Retire</button>" in html
    assert (
        client.post(
            world.url("/hypotheses"), data={"text": "SE correlates more with IP than with TC"}
        ).status_code
        == 303
    )
    # The validation page lists what a run would test.
    listing = _text(client.get(world.url()))
    assert "TA correlates &gt;= .30 with messages_sent" in listing
    assert "SE correlates more with IP than with TC" in listing

    response = client.post(world.url("/hypotheses/1/retire"))
    assert response.status_code == 303
    html = _text(client.get(response.headers["Location"]))
    assert "Hypothesis 1 retired" in html
    retired = re.search(r'<table class="data" id="hypotheses-retired">(.*?)</table>', html, re.S)
    assert retired and "TA correlates" in retired.group(1) and OWNER in retired.group(1)
    assert _hypotheses(app) == [
        ("TA correlates >= .30 with messages_sent", False),
        ("SE correlates more with IP than with TC", True),
    ]
    # Retired once only; the message is beside it.
    response = client.post(world.url("/hypotheses/1/retire"))
    assert response.status_code == 422
    assert "was retired on" in _field_error(_text(response), "retire-1")
    assert client.post(world.url("/hypotheses/99/retire")).status_code == 404
    with app.app_context():
        actions = list(
            db.session.scalars(
                select(AuditEvent.action)
                .where(AuditEvent.action.in_(["hypothesis_stated", "hypothesis_retired"]))
                .order_by(AuditEvent.id)
            )
        )
    assert actions == [
        AuditAction.HYPOTHESIS_STATED,
        AuditAction.HYPOTHESIS_STATED,
        AuditAction.HYPOTHESIS_RETIRED,
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "The hypothesis is empty"),
        ("TA is related to messages_sent", "Could not read the hypothesis"),
        ("TA correlates = .3 with messages_sent", "'=' is not a comparison"),
        ("TAA correlates >= .30 with messages_sent", "'TAA' is not a score or outcome"),
        ("TA correlates >= 1.5 with messages_sent", "1.5 is not a correlation"),
        ("x" * 501, "Keep a hypothesis to 500 characters"),
    ],
)
def test_a_hypothesis_that_cannot_be_read_is_explained_next_to_the_field(
    app, client, small_world, text, expected
):
    response = client.post(small_world.url("/hypotheses"), data={"text": text})
    html = _text(response)
    assert response.status_code == 422
    assert expected in _field_error(html, "text")
    assert re.search(r'<input[^>]*aria-invalid="true"[^>]*id="text"', html)
    assert _hypotheses(app) == []


def test_the_same_hypothesis_twice_is_refused(app, client, small_world):
    url = small_world.url("/hypotheses")
    assert client.post(url, data={"text": "TA correlates positively with SE"}).status_code == 303
    response = client.post(url, data={"text": "ta correlates positively with se."})
    assert response.status_code == 422
    assert "Hypothesis 1 says this already" in _field_error(_text(response), "text")
    assert len(_hypotheses(app)) == 1


# -- who may do what ---------------------------------------------------------------------------
def _member(app, make_user, login, study_id: int, role: str):
    user_id = make_user(f"{role}@example.org")
    with app.app_context():
        db.session.add(StudyMember(study_id=study_id, user_id=user_id, role=role))
        db.session.commit()
    member = app.test_client()
    assert login(member, f"{role}@example.org").status_code == 302
    return member


def test_viewers_see_and_analyse_editors_state_hypotheses_others_are_refused(
    app, make_user, login, small_world
):
    world = small_world
    run_id = _queued_run(app, world, seed=3)
    viewer = _member(app, make_user, login, world.study_id, "viewer")
    editor = _member(app, make_user, login, world.study_id, "editor")
    make_user("other@example.org")
    other = app.test_client()
    assert login(other, "other@example.org").status_code == 302
    anonymous = app.test_client()

    for url in (world.url(), world.run_url(run_id), world.url("/hypotheses")):
        assert viewer.get(url).status_code == 200, url
        assert editor.get(url).status_code == 200, url
        assert other.get(url).status_code == 403, url
        response = anonymous.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]
    # A viewer may ask for a run (here: the one in progress).
    response = viewer.post(world.url(), data={"wave": "", "seed": "3"})
    assert response.status_code == 303 and response.headers["Location"].endswith(
        world.run_url(run_id)
    )
    assert other.post(world.url(), data={"wave": "", "seed": "3"}).status_code == 403
    # Hypotheses: stated and retired by editors and owners only.
    page = _text(viewer.get(world.url("/hypotheses")))
    assert "State the hypothesis" not in page
    assert "Only the study's owner and editors state and retire hypotheses." in page
    data = {"text": "TA correlates positively with SE"}
    assert viewer.post(world.url("/hypotheses"), data=data).status_code == 403
    assert editor.post(world.url("/hypotheses"), data=data).status_code == 303
    assert ">Retire</button>" not in _text(viewer.get(world.url("/hypotheses")))
    assert viewer.post(world.url("/hypotheses/1/retire")).status_code == 403
    assert other.post(world.url("/hypotheses/1/retire")).status_code == 403
    assert _hypotheses(app) == [("TA correlates positively with SE", True)]
    with app.app_context():
        study = db.session.get(Study, world.study_id)
        assert [h.text for h in hypotheses.hypotheses_of(study)] == [data["text"]]
        assert db.session.scalar(select(func.count()).select_from(ValidationRun)) == 1
