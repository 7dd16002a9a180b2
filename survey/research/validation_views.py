"""Research views: a study's validation runs, their reports, and its hypotheses.

* ``research.validation`` (GET and POST with view access: collaborators who may see the
  data may analyse it): the study's runs, the form that asks for one, the hypotheses in
  force and the latest done run's COSMIN summary; a POST requests a run
  (survey.services.validation_runs.request_run), commits, hands it to its backend and
  sends the browser to the run's page;
* ``research.validation_run`` (view): a queued or running run as a status page that
  refreshes itself every REFRESH_SECONDS (a ``<meta http-equiv="refresh">``: no script), a
  failed run with its error and a "Run again" form, a done run as its report;
* ``research.validation_plot`` (view): one plot of a done run as a standalone SVG;
* ``research.validation_report_html`` / ``research.validation_report_json`` (view): the
  downloads, the self-contained HTML report and the report's JSON (the bytes of
  ``flask analysis validate --json``);
* ``research.validation_hypotheses`` (GET view, POST edit): the hypotheses in force and
  retired, and the form to state one; ``research.validation_retire_hypothesis`` (POST
  edit).

The plots of a report take seconds to draw (matplotlib), and a report page asks for each
of them: the drawn plots of the last PLOT_CACHE_RUNS done runs are kept per app
(:class:`RunPlots`), keyed by run and report SHA-256 (a done run's report never changes).

A plot's SVG carries its own Content-Security-Policy (SVG_POLICY: the plot's inline style
applies, nothing is fetched or run): under the site's policy (survey.headers, ``style-src
'self'``) a browser that applies an image's own policy (Firefox) would draw it unstyled.
Every other response of that view (a refusal, a 404) carries the site's policy: the SVG's
is set on the response itself when the request has finished (:func:`_keep_svg_policy`), not
through Talisman's per-view options, which would hand it to those responses too.
"""

from __future__ import annotations

import html
import re
import threading
from collections import OrderedDict
from types import SimpleNamespace
from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    request_finished,
    url_for,
)

from survey.extensions import db
from survey.models import RunStatus, Study, StudyHypothesis, ValidationRun
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.research.validation_forms import HypothesisForm, ValidationForm
from survey.services import hypotheses, study_access, validation_runs
from survey.services.study_data import UnknownWave
from survey.services.validation import report_html
from survey.services.validation.report_html import Plot, instrument_plots, render_report_html
from survey.validation_cli import report_json

REFRESH_SECONDS = 2
PLOT_CACHE_RUNS = 8
SVG_POLICY = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
PLOT_ENDPOINT = "research.validation_plot"

# The report's number formats (those of the HTML download), for the templates.
FORMATS = SimpleNamespace(
    num=report_html.number,
    p=report_html.pvalue,
    pct=report_html.percent,
    ci=report_html.interval,
    yesno=report_html.yes_no,
)

_TITLE = re.compile(r"<title\b[^>]*>(.*?)</title>", re.S)
_DESC = re.compile(r"<desc\b[^>]*>(.*?)</desc>", re.S)


def _can_edit(study: Study) -> bool:
    return study_access.allows(access_of(study), study_access.EDIT)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:]


def _when(moment) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"


def _run_or_404(study: Study, run_id: int) -> ValidationRun:
    run = validation_runs.run_of(study, run_id)
    if run is None:
        abort(404)
    return run


def _done_run_or_404(study: Study, run_id: int) -> ValidationRun:
    run = _run_or_404(study, run_id)
    if run.status != RunStatus.DONE or run.report is None:
        abort(404)
    return run


# -- the plots of a done run -------------------------------------------------------------------
class RunPlots:
    """The drawn plots of the last ``size`` done runs shown (one per app, thread-safe):
    per instrument of the report, :func:`~survey.services.validation.report_html.
    instrument_plots` with the prefix ``i<position>-``; a plot's name in its URL is that
    prefix and its key (``i1-loadings``)."""

    def __init__(self, size: int = PLOT_CACHE_RUNS) -> None:
        self.size = size
        self._runs: OrderedDict[tuple[int, str], list[dict[str, list[Plot]]]] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def of_app() -> RunPlots:
        return current_app.extensions.setdefault("survey.validation_plots", RunPlots())

    def plots(self, run: ValidationRun) -> list[dict[str, list[Plot]]]:
        key = (run.id, run.report_sha256 or "")
        with self._lock:
            if key in self._runs:
                self._runs.move_to_end(key)
                return self._runs[key]
        drawn = [
            instrument_plots(sections, prefix=f"i{position}-")
            for position, sections in enumerate(run.report["instruments"], 1)
        ]
        with self._lock:
            self._runs[key] = drawn
            while len(self._runs) > self.size:
                self._runs.popitem(last=False)
        return drawn

    def named(self, run: ValidationRun, name: str) -> Plot | None:
        for by_section in self.plots(run):
            for plots in by_section.values():
                for plot in plots:
                    if plot.prefix + plot.key == name and plot.svg is not None:
                        return plot
        return None


def _alt_text(plot: Plot) -> str:
    """What the plot shows, in words: the SVG's own title and description."""
    parts = [
        text
        for pattern in (_TITLE, _DESC)
        if plot.svg and (match := pattern.search(plot.svg))
        if (text := html.unescape(match.group(1)).strip())
    ]
    if not parts:
        return plot.caption
    return ". ".join(part.rstrip(".") for part in parts) + "."


def _plot_view(study: Study, run: ValidationRun, plot: Plot) -> dict[str, Any]:
    """A plot as the report page shows it: an <img> of its SVG (``url``, ``alt``) with its
    caption, or the reason there is none."""
    if plot.svg is None:
        return {"key": plot.key, "caption": plot.caption, "reason": plot.reason, "url": None}
    name = plot.prefix + plot.key
    return {
        "key": plot.key,
        "caption": plot.caption,
        "reason": None,
        "url": url_for(".validation_plot", study_id=study.id, run_id=run.id, name=name),
        "alt": _alt_text(plot),
    }


def _report_instruments(study: Study, run: ValidationRun) -> list[dict[str, Any]]:
    drawn = RunPlots.of_app().plots(run)
    return [
        {
            "anchor": f"i{position}",
            "label": f"{sections['instrument']['key']} {sections['instrument']['version']}",
            "sections": sections,
            "plots": {
                section: [_plot_view(study, run, plot) for plot in plots]
                for section, plots in by_section.items()
            },
        }
        for position, (sections, by_section) in enumerate(
            zip(run.report["instruments"], drawn, strict=True), 1
        )
    ]


def _about(run: ValidationRun) -> dict[str, Any]:
    """The run as the HTML report states it (as ``flask analysis validate --html`` does)."""
    return {
        "run": run.id,
        "ran by": run.requested_by.email if run.requested_by is not None else "—",
        "requested at": run.requested_at.isoformat(),
        "finished at": run.finished_at.isoformat() if run.finished_at else None,
        "report SHA-256": run.report_sha256,
    }


# -- the validation page and asking for a run --------------------------------------------------
def _render_validation(study: Study, form: ValidationForm, status: int = 200):
    return render_template(
        "research/validation.html",
        study=study,
        access=access_of(study),
        form=form,
        runs=validation_runs.runs_of(study),
        hypotheses=hypotheses.hypotheses_of(study),
        latest=validation_runs.latest_done(study),
        when=_when,
        fmt=FORMATS,
    ), status


@bp.route("/studies/<int:study_id>/validation", methods=["GET", "POST"])
def validation(study_id: int):
    study = study_for(study_id)  # view access for both: who may see the data may analyse it
    form = ValidationForm()
    form.set_waves(list(study.waves))
    form.set_groups(validation_runs.group_options(study))
    if request.method != "POST":  # GET, or HEAD (a GET without the body)
        validation_runs.recover_interrupted()
        return _render_validation(study, form)
    if not form.validate_on_submit():
        return _render_validation(study, form, 422)
    try:
        run = validation_runs.request_run(study, **form.run_arguments(), actor=current_researcher())
    except validation_runs.RunAlreadyActive as error:
        message, run_id = str(error), error.run.id
        db.session.rollback()
        flash(message)
        return redirect(url_for(".validation_run", study_id=study.id, run_id=run_id), 303)
    except (UnknownWave, validation_runs.InvalidRunRequest) as error:
        db.session.rollback()
        if isinstance(error, UnknownWave):
            field = form.wave
        elif "group variable" in str(error):
            field = form.group
        else:
            field = form.seed
        field.errors = [*field.errors, _sentence(str(error)) + "."]
        return _render_validation(study, form, 422)
    db.session.commit()
    validation_runs.start(run)
    return redirect(url_for(".validation_run", study_id=study.id, run_id=run.id), 303)


# -- one run ------------------------------------------------------------------------------------
@bp.get("/studies/<int:study_id>/validation/runs/<int:run_id>")
def validation_run(study_id: int, run_id: int):
    study = study_for(study_id)
    validation_runs.recover_interrupted()
    run = _run_or_404(study, run_id)
    context = {
        "study": study,
        "access": access_of(study),
        "run": run,
        "status": validation_runs.status_of(run),
        "when": _when,
        "fmt": FORMATS,
    }
    if run.status == RunStatus.DONE and run.report is not None:
        return render_template(
            "research/validation_report.html",
            report=run.report,
            instruments=_report_instruments(study, run),
            **context,
        )
    return render_template(
        "research/validation_run.html",
        refresh=REFRESH_SECONDS if run.active else None,
        **context,
    )


@bp.get("/studies/<int:study_id>/validation/runs/<int:run_id>/plots/<name>.svg")
def validation_plot(study_id: int, run_id: int, name: str):
    study = study_for(study_id)
    run = _done_run_or_404(study, run_id)
    plot = RunPlots.of_app().named(run, name)
    if plot is None:
        abort(404)
    return Response(plot.svg, mimetype="image/svg+xml")  # its policy: _keep_svg_policy


def _keep_svg_policy(sender, response: Response, **extra: Any) -> None:
    """A plot's SVG gets SVG_POLICY in place of the site's (set by Talisman in an
    after-request function; ``request_finished`` comes after those). The view's other
    responses (refusals, 404s) keep the site's policy."""
    if (
        request.endpoint == PLOT_ENDPOINT
        and response.status_code == 200
        and response.mimetype == "image/svg+xml"
    ):
        response.headers["Content-Security-Policy"] = SVG_POLICY


@bp.record_once
def _connect_svg_policy(state) -> None:
    request_finished.connect(_keep_svg_policy, state.app)


def _attachment(body: str, content_type: str, filename: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers.set("Content-Disposition", "attachment", filename=filename)
    return response


@bp.get("/studies/<int:study_id>/validation/runs/<int:run_id>/report.html")
def validation_report_html(study_id: int, run_id: int):
    study = study_for(study_id)
    run = _done_run_or_404(study, run_id)
    return _attachment(
        render_report_html(run.report, run=_about(run)),
        "text/html; charset=utf-8",
        f"{study.slug}-validation-{run.id}.html",
    )


@bp.get("/studies/<int:study_id>/validation/runs/<int:run_id>/report.json")
def validation_report_json(study_id: int, run_id: int):
    study = study_for(study_id)
    run = _done_run_or_404(study, run_id)
    return _attachment(
        report_json(run.report),
        "application/json; charset=utf-8",
        f"{study.slug}-validation-{run.id}.json",
    )


# -- hypotheses -------------------------------------------------------------------------------
def _render_hypotheses(
    study: Study,
    form: HypothesisForm,
    status: int = 200,
    retire_errors: dict[int, str] | None = None,
):
    stated = hypotheses.hypotheses_of(study, include_retired=True)
    names = hypotheses.known_names(study)
    return render_template(
        "research/validation_hypotheses.html",
        study=study,
        access=access_of(study),
        form=form,
        in_force=[h for h in stated if h.in_force],
        retired=[h for h in stated if not h.in_force],
        scores=[name for name, kind in names.items() if kind == hypotheses.SCORE],
        outcomes=[name for name, kind in names.items() if kind == hypotheses.OUTCOME],
        accepted_forms=hypotheses.ACCEPTED_FORMS,
        describe=hypotheses.describe,
        retire_errors=retire_errors or {},
        can_edit=_can_edit(study),
        when=_when,
    ), status


@bp.route("/studies/<int:study_id>/validation/hypotheses", methods=["GET", "POST"])
def validation_hypotheses(study_id: int):
    need = study_access.EDIT if request.method == "POST" else study_access.VIEW
    study = study_for(study_id, need)
    form = HypothesisForm()
    if request.method != "POST":  # GET, or HEAD (a GET without the body)
        return _render_hypotheses(study, form)
    if form.validate_on_submit():
        try:
            stated = hypotheses.state_hypothesis(
                study, form.text.data or "", actor=current_researcher()
            )
        except hypotheses.InvalidHypothesis as error:
            db.session.rollback()
            field = getattr(form, error.field, form.text)
            field.errors = [*field.errors, str(error)]
        else:
            message = f"Hypothesis {stated.id} stated: “{stated.text}”."
            db.session.commit()
            flash(message)
            return redirect(url_for(".validation_hypotheses", study_id=study.id), 303)
    return _render_hypotheses(study, form, 422)


def _hypothesis_or_404(study: Study, hypothesis_id: int) -> StudyHypothesis:
    for hypothesis in hypotheses.hypotheses_of(study, include_retired=True):
        if hypothesis.id == hypothesis_id:
            return hypothesis
    abort(404)


@bp.post("/studies/<int:study_id>/validation/hypotheses/<int:hypothesis_id>/retire")
def validation_retire_hypothesis(study_id: int, hypothesis_id: int):
    study = study_for(study_id, study_access.EDIT)
    hypothesis = _hypothesis_or_404(study, hypothesis_id)  # its form: a CSRF token (CSRFProtect)
    try:
        hypotheses.retire_hypothesis(hypothesis, actor=current_researcher())
    except hypotheses.HypothesisAlreadyRetired as error:
        message = str(error)
        db.session.rollback()
        return _render_hypotheses(
            study, HypothesisForm(formdata=None), 422, {hypothesis_id: message}
        )
    message = (
        f"Hypothesis {hypothesis.id} retired: later runs leave it out; "
        "the runs asked for before keep it."
    )
    db.session.commit()
    flash(message)
    return redirect(url_for(".validation_hypotheses", study_id=study.id), 303)
