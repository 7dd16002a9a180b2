"""Research views: a study's analysis-ready exports (view access).

* ``research.exports`` (GET): what each file is, the wave and "include excluded sessions"
  choices (a GET form: all waves, excluded left out by default), how many excluded
  sessions are left out and whether rows are simulated, and a download button per format;
* ``research.export_<kind>`` (GET, one per :data:`survey.services.exports.KINDS` key):
  the file, written to a temporary file by :func:`survey.services.exports.export_to`
  (audited with its SHA-256), then streamed with ``X-Content-SHA256``;
* ``research.answers_csv`` (GET, the old ``answers.csv`` URL): the wide CSV with the
  default choices.
"""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

from flask import Response, render_template, request
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectChoice, SelectField
from wtforms.validators import Optional

from survey.extensions import db
from survey.models import Study
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.services import exports, study_access
from survey.services.exports import KINDS, Selection
from survey.services.study_data import UnknownWave

# The order of the download buttons.
BLOCK = 1 << 16
PAGE_KINDS = ("wide", "long", "sav", "dta", "rds", "codebook", "codebook_json", "model", "bundle")


class ExportForm(FlaskForm):
    """The export choices, read from the query string (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    wave = SelectField("Waves", default="", validators=[Optional()])
    include_excluded = BooleanField(
        "Include excluded sessions (marked excluded = 1, with the reason)"
    )

    def set_waves(self, study: Study) -> None:
        self.wave.choices = [
            SelectChoice("", "All waves"),
            *(SelectChoice(wave.key, f"{wave.label} ({wave.key})") for wave in study.waves),
        ]

    def selection(self) -> Selection:
        return Selection(
            wave=self.wave.data or None, include_excluded=bool(self.include_excluded.data)
        )


def _form(study: Study) -> ExportForm:
    form = ExportForm(formdata=request.args)
    form.set_waves(study)
    return form


def _page(study: Study, form: ExportForm, status: int = 200):
    valid = form.validate()
    counts = exports.selection_counts(study, form.selection()) if valid else None
    return render_template(
        "research/exports.html",
        study=study,
        access=access_of(study),
        form=form,
        counts=counts,
        kinds=[KINDS[key] for key in PAGE_KINDS],
    ), (status if valid else 400)


@bp.get("/studies/<int:study_id>/exports", endpoint="exports")
def exports_page(study_id: int):
    study = study_for(study_id, study_access.VIEW)
    return _page(study, _form(study))


def _blocks(path: Path):
    """The file's bytes in blocks; the file is unlinked at once (the open handle keeps it
    readable) and closed when the response ends, however it ends."""
    with open(path, "rb") as file:
        path.unlink()
        while block := file.read(BLOCK):
            yield block


def _send(study: Study, kind: str, selection: Selection) -> Response:
    handle, name = tempfile.mkstemp(prefix="export-", suffix=KINDS[kind].ending)
    os.close(handle)
    path = Path(name)
    try:
        written = exports.export_to(
            study, kind, path, selection=selection, actor=current_researcher()
        )
        db.session.commit()
        blocks = _blocks(path)
        next_block = next(blocks, b"")  # opens and unlinks the file now
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Response(
        itertools.chain([next_block], blocks),
        mimetype=written.kind.media_type,
        headers={
            "Content-Disposition": f'attachment; filename="{written.filename}"',
            "Content-Length": str(written.size),
            "X-Content-SHA256": written.sha256,
        },
    )


def _download(study_id: int, kind: str):
    study = study_for(study_id, study_access.VIEW)
    form = _form(study)
    if not form.validate():
        return _page(study, form)
    try:
        return _send(study, kind, form.selection())
    except UnknownWave as error:
        db.session.rollback()
        form.wave.errors = [str(error)]
        return _page(study, form, 400)


def _download_view(kind: str):
    def view(study_id: int):
        return _download(study_id, kind)

    view.__name__ = f"export_{kind}"
    view.__doc__ = f"The {KINDS[kind].title} of the study."
    return view


for _kind in PAGE_KINDS:
    bp.add_url_rule(
        f"/studies/<int:study_id>/exports/{_kind.replace('_', '-')}",
        endpoint=f"export_{_kind}",
        view_func=_download_view(_kind),
        methods=["GET"],
    )


@bp.get("/studies/<int:study_id>/answers.csv")
def answers_csv(study_id: int):
    """The old answers CSV URL: the wide CSV, all waves, excluded sessions left out."""
    return _download(study_id, "wide")
