"""Research views: a study's data quality, its rules, and excluding or including sessions.

* ``research.quality`` (view): the rules in words, counts flagged per rule and excluded,
  the sessions (Flagged / All / Excluded, per wave, 50 a page), "Exclude all flagged";
* ``research.quality_exclude_flagged`` (edit, POST): exclude every flagged session;
* ``research.quality_rules`` (GET view, POST edit): the thresholds, each rule on or off;
* ``research.quality_session`` (view): one session's indices, answers in the order the
  participant saw them, page timings, exclusion history, and the form to exclude it or
  include it again;
* ``research.quality_exclude`` / ``research.quality_include`` (edit, POST).

Views read the form, call one service of survey.services.data_quality or
survey.services.exclusions, commit once and choose a response.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from survey.extensions import db
from survey.models import ResponseSession, Study
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.research.quality_forms import (
    ExcludeFlaggedForm,
    ExcludeForm,
    IncludeForm,
    QualityFilterForm,
    QualityRulesForm,
)
from survey.services import data_quality, exclusions, study_access, study_data

DEFAULT_BULK_REASON = "Flagged by the study's data-quality rules"


def _can_edit(study: Study) -> bool:
    return study_access.allows(access_of(study), study_access.EDIT)


def _session_or_404(study: Study, session_id: int) -> ResponseSession:
    session = exclusions.session_of(study, session_id)
    if session is None:
        abort(404)
    return session


# -- the overview ----------------------------------------------------------------------------
def _render_quality(study: Study, bulk_form: ExcludeFlaggedForm, status: int = 200):
    form = QualityFilterForm(formdata=request.args)
    form.set_waves(list(study.waves))
    overview = None
    if form.validate():
        overview = data_quality.quality_overview(
            study, wave=form.wave.data or None, show=form.show.data, page=form.page.data or 1
        )
    else:
        status = 422
    return render_template(
        "research/quality.html",
        study=study,
        access=access_of(study),
        form=form,
        overview=overview,
        bulk_form=bulk_form,
        can_edit=_can_edit(study),
        query={k: v for k, v in request.args.items() if k != "page" and v},
    ), status


@bp.get("/studies/<int:study_id>/quality")
def quality(study_id: int):
    study = study_for(study_id)
    bulk_form = ExcludeFlaggedForm(formdata=None)
    bulk_form.reason.data = DEFAULT_BULK_REASON
    return _render_quality(study, bulk_form)


@bp.post("/studies/<int:study_id>/quality/exclude-flagged")
def quality_exclude_flagged(study_id: int):
    study = study_for(study_id, study_access.EDIT)
    form = ExcludeFlaggedForm()
    if not form.validate_on_submit():
        return _render_quality(study, form, 422)
    try:
        done = exclusions.exclude_flagged(
            study,
            actor=current_researcher(),
            reason=form.reason.data or "",
            wave=form.wave.data or None,
        )
    except (exclusions.ExclusionError, study_data.UnknownWave) as error:
        db.session.rollback()
        form.reason.errors = [*form.reason.errors, str(error)]
        return _render_quality(study, form, 422)
    db.session.commit()
    flash(
        f"Excluded {done.count} flagged session{'' if done.count == 1 else 's'}."
        if done.count
        else "No flagged session was left to exclude."
    )
    wave = {"wave": form.wave.data} if form.wave.data else {}
    return redirect(url_for(".quality", study_id=study.id, show="excluded", **wave), 303)


# -- the rules -------------------------------------------------------------------------------
@bp.route("/studies/<int:study_id>/quality/rules", methods=["GET", "POST"])
def quality_rules(study_id: int):
    need = study_access.EDIT if request.method == "POST" else study_access.VIEW
    study = study_for(study_id, need)
    form = QualityRulesForm()
    status = 200
    if request.method == "POST":
        if form.validate_on_submit():
            try:
                changed = data_quality.set_rules(study, form.rules(), actor=current_researcher())
            except data_quality.InvalidQualityRules as error:
                db.session.rollback()
                for name, message in error.problems.items():
                    field = getattr(form, name, None) or form.submit
                    field.errors = [*field.errors, message]
            else:
                db.session.commit()
                flash("Rules saved." if changed else "The rules were already these.")
                return redirect(url_for(".quality", study_id=study.id), 303)
        status = 422
    else:
        form.fill(data_quality.rules_of(study))
    return render_template(
        "research/quality_rules.html",
        study=study,
        access=access_of(study),
        form=form,
        can_edit=_can_edit(study),
        defaults=data_quality.DEFAULT_RULES,
    ), status


# -- one session -----------------------------------------------------------------------------
def _render_session(study: Study, session: ResponseSession, form=None, status: int = 200):
    report = data_quality.session_report(study, session)
    if form is None:
        form = IncludeForm(formdata=None) if report.excluded else ExcludeForm(formdata=None)
    action = "include" if isinstance(form, IncludeForm) else "exclude"
    return render_template(
        "research/quality_session.html",
        study=study,
        access=access_of(study),
        report=report,
        history=exclusions.exclusion_history(session),
        form=form,
        action=action,
        can_edit=_can_edit(study),
    ), status


@bp.get("/studies/<int:study_id>/quality/sessions/<int:session_id>")
def quality_session(study_id: int, session_id: int):
    study = study_for(study_id)
    return _render_session(study, _session_or_404(study, session_id))


def _change(study_id: int, session_id: int, form_class, change):
    study = study_for(study_id, study_access.EDIT)
    session = _session_or_404(study, session_id)
    form = form_class()
    if not form.validate_on_submit():
        return _render_session(study, session, form, 422)
    try:
        change(session, form.reason.data or "", actor=current_researcher())
    except exclusions.ExclusionError as error:
        db.session.rollback()
        form.reason.errors = [*form.reason.errors, str(error)]
        return _render_session(study, session, form, 422)
    db.session.commit()
    return redirect(
        url_for(".quality_session", study_id=study.id, session_id=session.id, _anchor="exclusion"),
        303,
    )


@bp.post("/studies/<int:study_id>/quality/sessions/<int:session_id>/exclude")
def quality_exclude(study_id: int, session_id: int):
    return _change(study_id, session_id, ExcludeForm, exclusions.exclude)


@bp.post("/studies/<int:study_id>/quality/sessions/<int:session_id>/include")
def quality_include(study_id: int, session_id: int):
    return _change(study_id, session_id, IncludeForm, exclusions.include)
