"""Participant pages: /p/<token> → consent → one page per construct → thank you.

Views read the request, call the participation services, commit once and choose a
response; the rules live in survey.services.participation.
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, request, url_for
from werkzeug.exceptions import NotFound

from survey.errors import handle_http_exception
from survey.extensions import db
from survey.models import ConsentDecision
from survey.participate.forms import ConsentForm, page_form
from survey.services import participation
from survey.services.errors import (
    ConsentRequired,
    InvalidAnswers,
    NoOpenWave,
    PageNotReached,
    SessionCompleted,
    StudyUnavailable,
    UnknownPage,
    UnknownToken,
)
from survey.services.instruments import definition_of
from survey.services.participation import Invitation, PageView

bp = Blueprint("participate", __name__, url_prefix="/p", template_folder="templates")


@bp.after_request
def private_page(response: Response) -> Response:
    # The URL holds the participant's secret: keep it out of caches and indexes (and, by
    # survey.headers' same-origin Referrer-Policy, out of other sites' logs).
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.get("/<token>")
def entry(token: str):
    invitation = participation.resolve(token)
    if participation.consent_decision(invitation) != ConsentDecision.GIVEN:
        return _render_consent(invitation, ConsentForm())
    session = participation.find_session(invitation)
    if session is not None and session.completed_at is not None:
        return redirect(url_for(".done", token=token))
    return redirect(url_for(".page", token=token, number=participation.resume_number(session)))


@bp.post("/<token>")
def consent(token: str):
    invitation = participation.resolve(token)
    form = ConsentForm()
    decision = form.decision() if form.validate_on_submit() else None
    if decision is None:
        return _render_consent(invitation, form, choice_missing=True), 400
    participation.record_consent(invitation, decision)
    db.session.commit()
    if decision == ConsentDecision.GIVEN:
        return redirect(url_for(".entry", token=token))
    return redirect(url_for(".declined", token=token))


@bp.get("/<token>/declined")
def declined(token: str):
    invitation = participation.resolve(token)
    if participation.consent_decision(invitation) != ConsentDecision.DECLINED:
        return redirect(url_for(".entry", token=token))
    return render_template("participate/declined.html", invitation=invitation, token=token)


@bp.route("/<token>/page/<int:number>", methods=["GET", "POST"])
def page(token: str, number: int):
    invitation = participation.resolve(token)
    session = participation.start_session(invitation)
    view = participation.page_view(session, number)
    if request.method != "POST":  # GET and HEAD
        participation.show_page(session, number)
        form = page_form(view, participation.saved_answers(session, number))
        html = _render_page(invitation, view, form, token)
        db.session.commit()
        return html

    form = page_form(view)
    if form.validate_on_submit():
        try:
            completed = participation.save_page(session, number, form.answers()).completed
        except InvalidAnswers as error:  # the form and the service disagree: show why
            form.form_errors.extend(f"{key}: {message}" for key, message in error.errors.items())
        else:
            db.session.commit()
            if completed:
                return redirect(url_for(".done", token=token))
            return redirect(url_for(".page", token=token, number=number + 1))
    return _render_page(invitation, view, form, token), 422


@bp.get("/<token>/done")
def done(token: str):
    invitation = participation.resolve(token)
    session = participation.find_session(invitation)
    if session is None or session.completed_at is None:
        return redirect(url_for(".entry", token=token))
    return render_template("participate/done.html", invitation=invitation, token=token)


def _render_consent(
    invitation: Invitation, form: ConsentForm, *, choice_missing: bool = False
) -> str:
    return render_template(
        "participate/consent.html",
        invitation=invitation,
        definition=definition_of(invitation.study.instrument_version),
        form=form,
        choice_missing=choice_missing,
    )


def _render_page(invitation: Invitation, view: PageView, form, token: str) -> str:
    return render_template(
        "participate/page.html", invitation=invitation, view=view, form=form, token=token
    )


# -- domain errors → responses ---------------------------------------------------------------
@bp.errorhandler(UnknownToken)
def unknown_token(_error: UnknownToken):
    return render_template("participate/unknown_link.html"), 404


@bp.errorhandler(UnknownPage)
def unknown_page(_error: UnknownPage):
    return handle_http_exception(NotFound())


@bp.errorhandler(StudyUnavailable)
def study_unavailable(error: StudyUnavailable):
    return render_template(
        "participate/unavailable.html",
        study=error.study,
        no_open_wave=isinstance(error, NoOpenWave),
    ), 403


@bp.errorhandler(ConsentRequired)
def consent_required(_error: ConsentRequired):
    return redirect(url_for(".entry", token=request.view_args["token"]))


@bp.errorhandler(SessionCompleted)
def session_completed(_error: SessionCompleted):
    return redirect(url_for(".done", token=request.view_args["token"]))


@bp.errorhandler(PageNotReached)
def page_not_reached(error: PageNotReached):
    return redirect(url_for(".page", token=request.view_args["token"], number=error.allowed))
