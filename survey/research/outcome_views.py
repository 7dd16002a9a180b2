"""Research views: a study's outcomes and covariates (the current version, the history,
downloads, the template to fill in, the upload form).

Views read the request, call one service of survey.services.outcomes, commit once and
choose a response.
"""

from __future__ import annotations

import os

from flask import (
    Response,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)

from survey.extensions import db
from survey.instance import external_id_key
from survey.models import Study
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.research.outcome_forms import OutcomeUploadForm
from survey.services import outcomes, study_access
from survey.services.errors import UploadTooLarge
from survey.services.outcomes import OutcomeFileInvalid
from survey.uploads import read_upload

PROBLEMS_SHOWN = 20  # the rest of a long list is folded into a <details>


def _server_external_id_key() -> bytes | None:
    """The server's external-id key, or None where none is configured (production without
    one): the service then says external ids cannot be matched."""
    try:
        return external_id_key(current_app)
    except RuntimeError:
        return None


def _outcomes_page(study: Study, form: OutcomeUploadForm, problems: list[str], status: int):
    current = outcomes.current_upload(study)
    return render_template(
        "research/outcomes.html",
        study=study,
        access=access_of(study),
        can_edit=study_access.allows(access_of(study), study_access.EDIT),
        form=form,
        problems=problems[:PROBLEMS_SHOWN],
        more_problems=problems[PROBLEMS_SHOWN:],
        problem_count=len(problems),
        summary=outcomes.summarise(current) if current is not None else None,
        preview=outcomes.preview_rows(current) if current is not None else [],
        history=outcomes.uploads_of(study),
        has_participants=outcomes.has_participants(study),
        limit=outcomes.MAX_UPLOAD_BYTES,
        max_levels=outcomes.MAX_LEVELS,
        max_cell=outcomes.MAX_CELL_CHARACTERS,
        max_name=outcomes.MAX_NAME_LENGTH,
    ), status


@bp.route("/studies/<int:study_id>/outcomes", methods=["GET", "POST"], endpoint="outcomes")
def outcomes_page(study_id: int):
    need = study_access.EDIT if request.method == "POST" else study_access.VIEW
    study = study_for(study_id, need)
    if request.method != "POST":  # GET, and HEAD as GET
        return _outcomes_page(study, OutcomeUploadForm(formdata=None), [], 200)
    form = OutcomeUploadForm()
    if not form.validate_on_submit():
        return _outcomes_page(study, form, [], 422)
    storage = form.file.data
    filename = os.path.basename(storage.filename or "outcomes.csv")
    data, size = read_upload(storage, outcomes.MAX_UPLOAD_BYTES)
    if data is None:
        form.file.errors = [str(UploadTooLarge(size, outcomes.MAX_UPLOAD_BYTES))]
        return _outcomes_page(study, form, [], 413)
    try:
        upload = outcomes.upload_outcomes(
            study,
            data,
            filename,
            actor=current_researcher(),
            external_id_key=_server_external_id_key(),
        )
    except OutcomeFileInvalid as error:
        db.session.rollback()
        count = len(error.problems)
        form.file.errors = [
            f"{count} problem{'' if count == 1 else 's'} in {filename} (listed below); "
            "nothing was stored."
        ]
        return _outcomes_page(study, form, error.problems, 422)
    db.session.commit()
    flash(
        f"Stored {filename} as version {upload.version}: {upload.row_count} rows, "
        f"{len(upload.columns)} column{'' if len(upload.columns) == 1 else 's'}."
    )
    return redirect(url_for(".outcomes", study_id=study.id), 303)


@bp.get("/studies/<int:study_id>/outcomes/template.csv")
def outcomes_template(study_id: int):
    study = study_for(study_id)
    per_wave = request.args.get("per", "wave") != "participant"
    kind = "per-wave" if per_wave else "per-participant"
    return Response(
        stream_with_context(outcomes.template_csv_lines(study, per_wave=per_wave)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{study.slug}-outcomes-{kind}.csv"'},
    )


@bp.get("/studies/<int:study_id>/outcomes/<int:version>.csv")
def outcomes_csv(study_id: int, version: int):
    study = study_for(study_id)
    upload = outcomes.upload_of(study, version)
    if upload is None:
        abort(404)
    download = outcomes.download_outcomes(upload, actor=current_researcher())
    db.session.commit()
    return Response(
        stream_with_context(download.lines()),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{download.filename}"',
            "X-Content-SHA256": download.sha256,
        },
    )
