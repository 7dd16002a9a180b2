"""Participant pages: /p/<token> → consent → the battery's pages → thank you.

Views read the request, call the participation services, commit once and choose a
response; the rules live in survey.services.participation.

The forms here do not depend on the Flask session (it may expire while a page is open):
the blueprint is exempt from Flask-WTF's session CSRF check and every POST carries the
participant form token instead (survey.participate.form_tokens), checked before any view.
"""

from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from werkzeug.exceptions import NotFound

from survey.errors import handle_http_exception
from survey.extensions import csrf, db
from survey.models import ConsentDecision, Participant, Study, StudyStatus, utcnow
from survey.participate import form_tokens
from survey.participate.forms import ConsentForm, page_form
from survey.participate.presentation import present
from survey.services import participation
from survey.services.errors import (
    BetweenWaves,
    ConsentRequired,
    InvalidAnswers,
    PageNotReached,
    ParticipantWithdrawn,
    SessionCompleted,
    StudyClosed,
    StudyUnavailable,
    UnknownPage,
    UnknownToken,
)
from survey.services.instruments import definition_of
from survey.services.participation import Invitation, PageView

bp = Blueprint("participate", __name__, url_prefix="/p", template_folder="templates")
# The link's secret proves who is posting; the participant form token replaces the session
# CSRF token (see require_form_token).
csrf.exempt(bp)


@bp.after_request
def private_page(response: Response) -> Response:
    # The URL holds the participant's secret: keep it out of caches and indexes (and, by
    # survey.headers' same-origin Referrer-Policy, out of other sites' logs).
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


@bp.before_request
def require_form_token():
    """A POST without the participant's form token changes nothing: a 400 page of the
    study, saying the page's answers were not saved, with a way back."""
    if request.method != "POST" or not form_tokens.required(current_app.config):
        return None
    token = (request.view_args or {}).get("token")
    if not isinstance(token, str):
        abort(400)
    participant = participation.participant_for(token)  # UnknownToken: the 404 page
    if form_tokens.is_valid(participant, request.form.get(form_tokens.FIELD)):
        return None
    return _render("participate/not_saved.html", participant, token), 400


def _render(template: str, participant: Participant, token: str, **context: Any) -> str:
    """A participant page: the study's name, contact and help note, the form token."""
    return render_template(
        template,
        study=participant.study,
        participant=participant,
        token=token,
        form_token=form_tokens.form_token(participant),
        preview=False,
        **context,
    )


@bp.get("/<token>")
def entry(token: str):
    invitation = participation.resolve(token)
    if participation.consent_decision(invitation) != ConsentDecision.GIVEN:
        return _render_consent(invitation, token, ConsentForm())
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
        return _render_consent(invitation, token, form, choice_missing=True), 400
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
    return _render("participate/declined.html", invitation.participant, token)


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
    if "back" in request.form:  # Back keeps what was chosen so far, checked or not
        participation.save_draft(session, number, form.draft_answers())
        db.session.commit()
        return redirect(url_for(".page", token=token, number=max(number - 1, 1)))
    if form.validate_on_submit():
        try:
            saved = participation.save_page(session, number, form.answers())
        except InvalidAnswers as error:  # the form and the service disagree: show why
            form.form_errors.extend(f"{key}: {message}" for key, message in error.errors.items())
        else:
            db.session.commit()
            if saved.safety_alerts:  # the urgent-help note at once, then carry on
                return redirect(url_for(".urgent_help", token=token))
            if saved.completed:
                return redirect(url_for(".done", token=token))
            return redirect(url_for(".page", token=token, number=number + 1))
    return _render_page(invitation, view, form, token), 422


@bp.get("/<token>/help")
def urgent_help(token: str):
    """Shown after a page whose answers raised a safety alert: the urgent-help note first,
    then "Continue" to wherever the link leads now (the next page, or thank you)."""
    participant = participation.participant_for(token)
    return _render("participate/urgent_help.html", participant, token)


@bp.get("/<token>/done")
def done(token: str):
    invitation = participation.resolve(token)
    session = participation.find_session(invitation)
    if session is None or session.completed_at is None:
        return redirect(url_for(".entry", token=token))
    next_opening = participation.next_opening(invitation.participant, utcnow())
    return _render(
        "participate/done.html",
        invitation.participant,
        token,
        wave=invitation.wave,
        next_opening=next_opening,
    )


@bp.route("/<token>/withdraw", methods=["GET", "POST"])
def withdraw(token: str):
    """GET: what stopping means, and the button; POST: stop. Whatever the state of the
    study or the waves: a participant can always stop."""
    participant = participation.participant_for(token)
    if request.method == "POST":
        participation.withdraw(participant)
        db.session.commit()
        return redirect(url_for(".withdraw", token=token))
    if participant.withdrawn_at is not None:
        return _render("participate/withdrawn.html", participant, token)
    return _render("participate/withdraw.html", participant, token)


def _render_consent(
    invitation: Invitation, token: str, form: ConsentForm, *, choice_missing: bool = False
) -> str:
    return _render(
        "participate/consent.html",
        invitation.participant,
        token,
        definition=definition_of(invitation.study.instrument_version),
        form=form,
        choice_missing=choice_missing,
    )


def _render_page(invitation: Invitation, view: PageView, form, token: str) -> str:
    return _render(
        "participate/page.html",
        invitation.participant,
        token,
        view=view,
        shown=present(invitation.study, view),
        form=form,
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
    """Polite pages, never a form: a stopped participant, a draft or closed study, no
    questionnaire open for them now (and when the next one opens)."""
    token = request.view_args["token"]
    participant = participation.participant_for(token)
    if isinstance(error, ParticipantWithdrawn) or participant.withdrawn_at is not None:
        return _render("participate/withdrawn.html", participant, token)
    study: Study = error.study or participant.study
    return _render(
        "participate/unavailable.html",
        participant,
        token,
        closed=isinstance(error, StudyClosed),
        draft=isinstance(error, StudyClosed) and study.status == StudyStatus.DRAFT,
        opens_at=error.opens_at if isinstance(error, BetweenWaves) else None,
        completed_any=isinstance(error, BetweenWaves) and error.completed_any,
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
