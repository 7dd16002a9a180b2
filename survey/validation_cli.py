"""`flask analysis validate STUDY [--wave W] [--json FILE] [--html FILE] [--include-excluded]
[--seed N] [--group NAME]`.

Runs the validation of a study's data (:func:`survey.services.validation.run.validate`)
as a stored run (:mod:`survey.services.validation_runs`: the same record the web page
makes, executed in this process) with a progress bar on standard error, prints a summary
(the CFA fits with their verdicts and the COSMIN ratings) and with ``--json`` writes the
whole report, with ``--html`` the self-contained HTML report (plots inline, no external
requests; :func:`survey.services.validation.report_html.render_report_html`). Each file is
written to a temporary file beside it and renamed when complete, so an error never leaves a
partial file. Excluded sessions are left out unless
``--include-excluded``; standard error says how many.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup

from survey.services import studies
from survey.services.errors import UnknownStudy
from survey.services.study_data import UnknownWave

analysis_cli = AppGroup("analysis", help="Validate a study's instruments on its data.")

FIT_SHOWN = ("chisq", "df", "cfi", "tli", "rmsea", "srmr")
WARNINGS_SHOWN = 10
"""Warnings printed; the JSON report has them all."""


def report_json(report: dict[str, Any]) -> str:
    """The report as JSON text: keys in the report's order, NaN refused (the sections
    give None), a final newline."""
    return json.dumps(report, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def check_target(path: Path) -> None:
    """A click error naming ``path`` when a report cannot be written there (before the run)."""
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise click.ClickException(f"cannot write {path}: it is a directory")
    if not directory.is_dir():
        raise click.ClickException(f"cannot write {path}: {directory} is not a directory")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise click.ClickException(f"cannot write {path}: permission denied")


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in the same directory."""
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise click.ClickException(f"cannot write {path}: {directory} is not a directory")
    try:
        handle, name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".part")
    except OSError as error:
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(name, path)
    except OSError as error:
        Path(name).unlink(missing_ok=True)
        raise click.ClickException(f"cannot write {path}: {error.strerror}") from None


def _number(value: Any) -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def summary_lines(report: dict[str, Any]) -> list[str]:
    """What the command prints: per instrument the two CFA fits, their verdicts and the
    COSMIN ratings; then the warnings."""
    inputs = report["inputs"]
    lines = [
        f"Study {report['study']['slug']}: {inputs['rows']} rows analysed "
        f"(wave {inputs['wave'] or 'all'}, seed {inputs['seed']})."
    ]
    for sections in report["instruments"]:
        instrument = sections["instrument"]
        lines.append(f"{instrument['key']} {instrument['version']}:")
        structural = sections["structural_validity"]
        for key in ("first_order", "second_order"):
            model = structural.get(key) or {}
            measures = model.get("fit_measures") or {}
            judged = model.get("judged") or {}  # the robust CFI/TLI/RMSEA of WLSMV and MLR
            names = [judged.get(name, name) for name in FIT_SHOWN]
            shown = ", ".join(f"{name} {_number(measures.get(name))}" for name in names)
            lines.append(
                f"  {key.replace('_', '-')} CFA ({model.get('estimator', 'n/a')}): {shown}"
            )
            if model.get("verdict"):
                lines.append(f"    {model['verdict']}")
        for row in sections["cosmin"]["rows"]:
            lines.append(f"  {row['property']}: {row['rating']} ({row['result']})")
    warnings = report["warnings"]
    for warning in warnings[:WARNINGS_SHOWN]:
        lines.append(f"warning: {warning}")
    if len(warnings) > WARNINGS_SHOWN:
        lines.append(
            f"... and {len(warnings) - WARNINGS_SHOWN} more warnings "
            f"({len(warnings)} in all; --json writes them all)"
        )
    return lines


@analysis_cli.command("validate")
@click.argument("study_slug", metavar="STUDY")
@click.option("--wave", default=None, help="Analyse this wave only (its key).")
@click.option(
    "--json",
    "json_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the whole report to this JSON file.",
)
@click.option(
    "--html",
    "html_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the report as one self-contained HTML file (plots inline, printable).",
)
@click.option(
    "--include-excluded", is_flag=True, help="Analyse excluded sessions too (left out by default)."
)
@click.option("--seed", type=int, default=1, show_default=True, help="Seed of the random parts.")
@click.option(
    "--group",
    default=None,
    help="Group variable of the invariance analysis: delivery_mode or a categorical outcome "
    "column (default: delivery mode when both modes are used).",
)
def validate_command(
    study_slug: str,
    wave: str | None,
    json_path: Path | None,
    html_path: Path | None,
    include_excluded: bool,
    seed: int,
    group: str | None,
) -> None:
    """Validate the instruments of STUDY (its slug) on the study's responses."""
    from tqdm import tqdm

    try:
        study = studies.get_study(study_slug)
    except UnknownStudy as error:
        raise click.ClickException(str(error)) from None
    for path in (json_path, html_path):
        if path is not None:
            check_target(path)
    bar = tqdm(total=1, desc="validation", unit="section", leave=False, file=sys.stderr)

    def progress(done: int, total: int, label: str) -> None:
        bar.total = total
        bar.n = done
        bar.set_postfix_str(label, refresh=False)
        bar.refresh()

    try:
        report, run = run_in_foreground(
            study,
            wave=wave,
            include_excluded=include_excluded,
            seed=seed,
            group=group,
            progress=progress,
        )
    finally:
        bar.close()
    inputs = report["inputs"]
    left_out = inputs["excluded_left_out"]
    click.echo(
        f"{inputs['rows']} rows analysed; "
        + (
            f"{left_out} excluded session(s) left out (--include-excluded keeps them)"
            if left_out
            else "no excluded session left out"
        ),
        err=True,
    )
    if json_path is not None:
        write_atomically(json_path, report_json(report))
        click.echo(f"wrote {json_path}", err=True)
    if html_path is not None:
        from survey.services.validation.report_html import render_report_html

        write_atomically(html_path, render_report_html(report, run=run))
        click.echo(f"wrote {html_path}", err=True)
    for line in summary_lines(report):
        click.echo(line)


def run_in_foreground(
    study, *, wave: str | None, include_excluded: bool, seed: int, group: str | None, progress
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Store a run (as the web page does), execute it in this process and give its report
    and what the HTML report says about the run; a click error naming the problem when it
    cannot start or fails."""
    from survey.extensions import db
    from survey.models import RunStatus, ValidationRun
    from survey.services import validation_runs

    try:
        run = validation_runs.request_run(
            study,
            wave=wave,
            include_excluded=include_excluded,
            seed=seed,
            group=group,
            actor=None,
            backend="thread",  # this process is the worker
        )
    except (UnknownWave, validation_runs.InvalidRunRequest, validation_runs.RunAlreadyActive) as e:
        db.session.rollback()
        raise click.ClickException(str(e)) from None
    db.session.commit()
    run_id = run.id
    validation_runs.execute_run(run_id, progress_hook=progress)
    db.session.expire_all()
    run = db.session.get(ValidationRun, run_id)
    if run is None or run.status != RunStatus.DONE or run.report is None:
        error = run.error if run is not None else "the run disappeared"
        raise click.ClickException(f"validation run {run_id} failed: {error}")
    click.echo(f"validation run {run_id} stored (report SHA-256 {run.report_sha256})", err=True)
    about = {
        "run": run_id,
        "ran by": "flask analysis validate (command line)",
        "requested at": run.requested_at.isoformat(),
        "finished at": run.finished_at.isoformat() if run.finished_at else None,
        "report SHA-256": run.report_sha256,
    }
    return run.report, about


def register_validation_cli(app) -> None:
    app.cli.add_command(analysis_cli)
