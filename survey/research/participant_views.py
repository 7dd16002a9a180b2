"""Research views: a study's participants, new links, a lost link replaced, the open
enrolment link and who is due.

Views read the form, call one service of survey.services.invitations or
survey.services.participants, commit once and choose a response.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Response, current_app, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from survey.extensions import db
from survey.instance import external_id_key
from survey.models import Study, utcnow
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.research.participant_forms import (
    CreateLinksForm,
    DisableEnrolmentForm,
    EnrolmentForm,
    LinksCsvForm,
    ParticipantFilterForm,
    RegenerateLinkForm,
)
from survey.services import invitations, participants, study_access
from survey.services.invitations import InvitationError, LinksExpired


def public_base_url() -> str:
    """Where links point: the configured public base URL, else this request's host."""
    return current_app.config["PARTICIPANT_BASE_URL"] or request.host_url


def _external_id_key() -> bytes:
    return external_id_key(current_app)


def _can_edit(study: Study) -> bool:
    return study_access.allows(access_of(study), study_access.EDIT)


# -- the list --------------------------------------------------------------------------------
def _render_participants(study: Study, links_form: CreateLinksForm, status: int = 200):
    form = ParticipantFilterForm(formdata=request.args)
    form.set_waves(list(study.waves))
    if not form.validate():
        listing, status = None, 422
    else:
        chosen = participants.ParticipantFilter(
            wave_id=form.wave_id(),
            state=form.status.data or None,
            enrolled_via=form.via.data or None,
            code=form.code.data or None,
            external_id=form.external_id.data or None,
        )
        listing = participants.list_participants(
            study,
            chosen,
            page=form.page.data or 1,
            external_id_key=_external_id_key() if chosen.external_id else None,
        )
    query = MultiDict((k, v) for k, v in request.args.items(multi=True) if k != "page" and v)
    return render_template(
        "research/participants.html",
        study=study,
        form=form,
        listing=listing,
        all_waves=list(study.waves),
        labels=participants.State.LABELS,
        query=query,
        can_edit=_can_edit(study),
        access=access_of(study),
        links_form=links_form,
    ), status


@bp.get("/studies/<int:study_id>/participants", endpoint="participants")
def participants_list(study_id: int):
    study = study_for(study_id)
    return _render_participants(study, CreateLinksForm(formdata=None))


# -- new links -------------------------------------------------------------------------------
@bp.post("/studies/<int:study_id>/participants/links")
def create_links(study_id: int):
    study = study_for(study_id, study_access.EDIT)
    form = CreateLinksForm()
    if not form.validate_on_submit():
        return _render_participants(study, form, 422)
    external_ids = form.external_ids.data or ""
    try:
        links = invitations.create_links(
            study,
            count=form.count.data,
            external_ids=external_ids,
            external_id_key=_external_id_key() if external_ids.strip() else None,
            actor=current_researcher(),
        )
    except InvitationError as error:
        db.session.rollback()
        target = form.external_ids if error.field == "external_ids" else form.count
        target.errors = [*target.errors, str(error)]
        return _render_participants(study, form, 422)
    db.session.commit()
    base = public_base_url()
    csv_form = LinksCsvForm(formdata=None)
    csv_form.links.data = invitations.sign_links(study, links, current_app.config["SECRET_KEY"])
    return render_template(
        "research/links.html",
        study=study,
        links=[(link.code, invitations.link_for(link.token, base)) for link in links],
        csv_form=csv_form,
        external_ids=bool(external_ids.strip()),
    )


@bp.post("/studies/<int:study_id>/participants/links.csv")
def links_csv(study_id: int):
    study = study_for(study_id, study_access.EDIT)
    form = LinksCsvForm()
    if not form.validate_on_submit():
        return render_template("research/links_expired.html", study=study, message=None), 400
    try:
        links = invitations.signed_links(study, form.links.data, current_app.config["SECRET_KEY"])
    except LinksExpired as error:
        return render_template("research/links_expired.html", study=study, message=error), 400
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        invitations.links_csv(links, public_base_url()),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{study.slug}-links-{stamp}.csv"'},
    )


# -- a lost link -----------------------------------------------------------------------------
@bp.post("/studies/<int:study_id>/participants/<int:participant_id>/link")
def regenerate_link(study_id: int, participant_id: int):
    study = study_for(study_id, study_access.EDIT)
    participant = invitations.participant_of(study, participant_id)
    if participant is None:
        return render_template("research/links_expired.html", study=study, message=None), 404
    form = RegenerateLinkForm()
    if not form.validate_on_submit() or form.confirm.data != "yes":
        confirm = RegenerateLinkForm(formdata=None)
        confirm.confirm.data = "yes"
        return render_template(
            "research/links_regenerate.html", study=study, participant=participant, form=confirm
        )
    token = invitations.regenerate_link(participant, actor=current_researcher())
    db.session.commit()
    return render_template(
        "research/links_new.html",
        study=study,
        participant=participant,
        link=invitations.link_for(token, public_base_url()),
    )


# -- open enrolment --------------------------------------------------------------------------
@bp.route("/studies/<int:study_id>/enrolment", methods=["GET", "POST"])
def enrolment(study_id: int):
    study = study_for(study_id, study_access.EDIT)
    form, disable_form = EnrolmentForm(), DisableEnrolmentForm()
    status = 200
    if request.method == "POST":
        closing = "disable" in request.form
        if closing and disable_form.validate_on_submit():
            invitations.set_enrolment(study, cap=None, actor=current_researcher())
            db.session.commit()
            return redirect(url_for(".enrolment", study_id=study.id), 303)
        if not closing and form.validate_on_submit():
            try:
                invitations.set_enrolment(study, cap=form.cap.data, actor=current_researcher())
            except InvitationError as error:
                db.session.rollback()
                form.cap.errors = [*form.cap.errors, str(error)]
            else:
                db.session.commit()
                return redirect(url_for(".enrolment", study_id=study.id), 303)
        status = 422 if not closing else 400
    elif study.enrolment_cap is not None:
        form.cap.data = study.enrolment_cap
    link = (
        invitations.enrolment_link_for(study.enrolment_key, public_base_url())
        if study.enrolment_key
        else None
    )
    return render_template(
        "research/enrolment.html",
        study=study,
        form=form,
        disable_form=disable_form,
        link=link,
        access=access_of(study),
    ), status


# -- who is due ------------------------------------------------------------------------------
DUE_PAGE_SIZE = 50


@bp.get("/studies/<int:study_id>/due")
def due(study_id: int):
    study = study_for(study_id)
    rows = participants.due(study, utcnow())
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    pages = max(1, -(-len(rows) // DUE_PAGE_SIZE))
    page = min(page, pages)
    shown = rows[(page - 1) * DUE_PAGE_SIZE : page * DUE_PAGE_SIZE]
    return render_template(
        "research/due.html",
        study=study,
        rows=shown,
        total=len(rows),
        page=page,
        pages=pages,
        access=access_of(study),
    )


@bp.get("/studies/<int:study_id>/due.csv")
def due_csv(study_id: int):
    study = study_for(study_id)
    text = participants.due_csv(
        participants.due(study, utcnow()),
        with_external_id_hash=participants.has_external_ids(study),
    )
    stamp = utcnow().strftime("%Y%m%dT%H%M%SZ")
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{study.slug}-due-{stamp}.csv"'},
    )
