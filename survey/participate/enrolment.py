"""The open enrolment link /e/<key>: a short page with the study's name and a Start button
that makes the visitor a participant and sends them to their own link.

The form's token is an HMAC of the link's key (survey.services.invitations), not the
session's CSRF token: a participant's form must work without a session cookie and never
expire while the link is open. A POST without the right token is a 400 and creates nobody.
"""

from __future__ import annotations

from flask import Blueprint, Flask, Response, current_app, redirect, render_template, request
from flask.blueprints import BlueprintSetupState

from survey.extensions import csrf, db
from survey.instance import external_id_key
from survey.services import invitations
from survey.services.invitations import EnrolmentClosed

bp = Blueprint("enrol", __name__, url_prefix="/e", template_folder="templates")

# The status of the polite page for each reason enrolment is not possible.
CLOSED_STATUS = {"unknown": 404, "closed": 409, "full": 409}


@bp.record_once
def _resolve_external_id_key(state: BlueprintSetupState) -> None:
    # At create_app: a production configuration without EXTERNAL_ID_KEY refuses to start
    # (instead of failing on the first external id); development generates its key once.
    app: Flask = state.app
    external_id_key(app)


@bp.after_request
def private_page(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _closed(error: EnrolmentClosed):
    return render_template(
        "participate/enrol_closed.html", study=error.study, reason=error.reason
    ), CLOSED_STATUS[error.reason]


@bp.route("/<key>", methods=["GET", "POST"])
@csrf.exempt  # the form carries its own session-free token (checked below)
def enrol(key: str):
    secret = current_app.config["SECRET_KEY"]
    if request.method == "POST":
        if not invitations.enrolment_form_token_ok(key, request.form.get("form_token"), secret):
            return render_template("participate/enrol_expired.html"), 400
        try:
            link = invitations.enrol(key)
        except EnrolmentClosed as error:
            db.session.rollback()
            return _closed(error)
        db.session.commit()
        return redirect(f"/p/{link.token}", 303)
    try:
        study = invitations.enrolment_study(key)
    except EnrolmentClosed as error:
        return _closed(error)
    return render_template(
        "participate/enrol.html",
        study=study,
        form_token=invitations.enrolment_form_token(key, secret),
    )
