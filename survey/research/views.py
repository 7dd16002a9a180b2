"""The research area: the list of a user's studies, a study's page, new study, answers CSV.

The blueprint, its gate and :func:`study_for` are in survey.research.blueprint; views by
topic are in the modules imported at the end of this one.
"""

from __future__ import annotations

from flask import Response, current_app, redirect, render_template, url_for

from survey.extensions import db
from survey.models import InstrumentVersion
from survey.research.blueprint import bp, current_researcher, study_for
from survey.research.forms import NewStudyForm
from survey.services import answer_export, research, studies
from survey.services.errors import InvalidSlug, SlugTaken, VersionNotPublished

_user = current_researcher


def _own_study(study_id: int):
    return study_for(study_id)


@bp.get("/")
def dashboard():
    user = _user()
    return render_template(
        "research/dashboard.html", studies=research.studies_for(user), show_owner=user.is_admin
    )


@bp.route("/studies/new", methods=["GET", "POST"])
def new_study():
    form = NewStudyForm()
    form.set_versions(research.versions_for_new_study())
    if not form.is_submitted():
        form.urgent_help_note.data = current_app.config["URGENT_HELP_NOTE"]
    status = 200
    if form.validate_on_submit():
        version = db.session.get(InstrumentVersion, form.instrument_version.data)
        try:
            if version is None:
                raise VersionNotPublished("no such instrument version")
            study = studies.create_study(
                owner=_user(),
                name=form.name.data or "",
                slug=form.slug.data or "",
                instrument_version=version,
                consent_text=form.consent_text.data or "",
                consent_version=form.consent_version.data or "",
                urgent_help_note=form.urgent_help_note.data or "",
                first_wave_label=form.first_wave_label.data or "",
            )
        except VersionNotPublished as error:
            form.instrument_version.errors = [*form.instrument_version.errors, str(error)]
            status = 422
        except (InvalidSlug, SlugTaken) as error:
            form.slug.errors = [*form.slug.errors, str(error)]
            status = 422
        else:
            db.session.commit()
            return redirect(url_for(".study", study_id=study.id))
    elif form.is_submitted():
        status = 422
    return render_template("research/new_study.html", form=form), status


@bp.get("/studies/<int:study_id>/answers.csv")
def answers_csv(study_id: int):
    study = _own_study(study_id)
    export = answer_export.export_answers(study, actor=_user())
    db.session.commit()
    return Response(
        export.text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Content-SHA256": export.sha256,
        },
    )


# Views by topic register on the same blueprint.
from survey.research import monitoring_views, participant_views, setup_views  # noqa: E402, F401
