"""Research views: a study's dashboard (counts, funnels, safety alerts) and its team.

* ``research.study`` (view): the dashboard of the study;
* ``research.acknowledge_alert`` (edit, POST): acknowledge one safety alert;
* ``research.team`` (own, GET/POST): the collaborators, and sharing by e-mail;
* ``research.revoke_member`` (own, POST): end a collaborator's access.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for

from survey.extensions import db
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.research.funnel import funnel_svg, steps
from survey.research.team_forms import GrantForm
from survey.services import alerts, quality_panel, study_access, study_dashboard, team


def duration_text(value: timedelta) -> str:
    """A duration as staff read it: "42 s", "12 min 5 s", "2 h 3 min".

    >>> duration_text(timedelta(minutes=12, seconds=5.4))
    '12 min 5 s'
    """
    seconds = round(value.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, seconds = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min"
    if minutes:
        return f"{minutes} min {seconds} s"
    return f"{seconds} s"


@bp.context_processor
def _monitoring_helpers() -> dict:
    return {"duration_text": duration_text}


@bp.get("/studies/<int:study_id>")
def study(study_id: int):
    study = study_for(study_id, study_access.VIEW)
    figures = study_dashboard.study_figures(study)
    funnels = {
        wave.wave.id: (funnel_svg(wave, element_id=f"funnel-{wave.wave.id}"), steps(wave))
        for wave in figures.waves
    }
    return render_template(
        "research/study.html",
        study=study,
        access=access_of(study),
        figures=figures,
        funnels=funnels,
        alerts=alerts.study_alerts(study),
        panel=quality_panel.quality_panel(study),
    )


@bp.post("/studies/<int:study_id>/alerts/<int:alert_id>/acknowledge")
def acknowledge_alert(study_id: int, alert_id: int):
    study = study_for(study_id, study_access.EDIT)
    try:
        alerts.acknowledge(study, alert_id, actor=current_researcher())
    except alerts.UnknownAlert:
        abort(404)
    db.session.commit()
    return redirect(url_for(".study", study_id=study.id, _anchor="alerts"))


@bp.route("/studies/<int:study_id>/team", methods=["GET", "POST"], endpoint="team")
def team_page(study_id: int):
    study = study_for(study_id, study_access.OWN)
    form = GrantForm()
    status = 200
    if form.validate_on_submit():
        try:
            grant = team.grant(
                study, form.email.data or "", form.role.data, actor=current_researcher()
            )
        except team.TeamError as error:
            form.email.errors = [*form.email.errors, str(error)]
            status = 422
        else:
            db.session.commit()
            user, role = grant.member.user.email, grant.member.role
            if not grant.changed:
                flash(f"{user} is already a {role} of this study.")
            elif grant.previous_role is None:
                flash(f"Shared with {user} as {role}.")
            else:
                flash(f"{user} is now a {role} (was {grant.previous_role}).")
            return redirect(url_for(".team", study_id=study.id))
    elif form.is_submitted():
        status = 422
    return render_template(
        "research/team.html",
        study=study,
        access=access_of(study),
        form=form,
        members=team.members(study),
    ), status


@bp.post("/studies/<int:study_id>/team/<int:member_id>/revoke")
def revoke_member(study_id: int, member_id: int):
    study = study_for(study_id, study_access.OWN)
    try:
        revoked = team.revoke(study, member_id, actor=current_researcher())
    except team.UnknownMember:
        abort(404)
    db.session.commit()
    if revoked:
        flash("Access revoked.")
    return redirect(url_for(".team", study_id=study.id))
