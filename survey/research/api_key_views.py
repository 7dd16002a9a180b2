"""Research views: a study's API keys (owner or editor: ``edit`` access).

* ``research.api_keys`` (GET, POST): the study's keys (prefix, name, scopes, limit,
  created by and when, last used, revoked) and the form that creates one; a created key
  is shown on the answer page only this once (only its hash is stored), with the
  ``Authorization`` header to send and where the API is described (``/api/v1/docs``);
* ``research.revoke_api_key`` (POST): without ``confirm=yes`` the confirmation page,
  with it the key is revoked (it stops working at once) and the list is shown again.

Both audited by survey.services.api_keys.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for

from survey.extensions import db
from survey.models import Study
from survey.research.api_key_forms import SCOPE_LABELS, CreateKeyForm, RevokeKeyForm
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.services import api_keys, study_access
from survey.services.api_keys import ApiKeyError


def _api_base() -> str:
    return request.host_url.rstrip("/") + "/api/v1"


def _render_keys(study: Study, form: CreateKeyForm, status: int = 200):
    return (
        render_template(
            "research/api_keys.html",
            study=study,
            access=access_of(study),
            form=form,
            keys=api_keys.keys_of(study),
            api_base=_api_base(),
        ),
        status,
    )


# The study's tab (research/_study_nav.html) names this endpoint.
@bp.route("/studies/<int:study_id>/api", methods=["GET", "POST"], endpoint="api_keys")
def api_keys_page(study_id: int):
    study = study_for(study_id, study_access.EDIT)
    form = CreateKeyForm()
    if request.method != "POST":
        return _render_keys(study, form)
    if not form.validate_on_submit():
        return _render_keys(study, form, 422)
    try:
        api_key, key = api_keys.create_key(
            study,
            name=form.name.data or "",
            scopes=form.scopes.data or [],
            actor=current_researcher(),
            rate_limit_per_minute=form.rate_limit.data,
        )
    except ApiKeyError as error:
        db.session.rollback()
        field = getattr(form, error.field or "", None) or form.name
        field.errors = [*field.errors, _sentence(str(error))]
        return _render_keys(study, form, 422)
    db.session.commit()
    return render_template(
        "research/api_keys_created.html",
        study=study,
        access=access_of(study),
        api_key=api_key,
        key=key,
        api_base=_api_base(),
        scope_labels=SCOPE_LABELS,
    )


@bp.post("/studies/<int:study_id>/api/keys/<int:key_id>/revoke")
def revoke_api_key(study_id: int, key_id: int):
    study = study_for(study_id, study_access.EDIT)
    api_key = api_keys.key_of(study, key_id)
    if api_key is None:
        abort(404)
    if not api_key.active:
        flash(f"The key {api_key.prefix}… ({api_key.name}) was revoked already.")
        return redirect(url_for(".api_keys", study_id=study.id), 303)
    form = RevokeKeyForm()
    if not form.validate_on_submit() or form.confirm.data != "yes":
        confirm = RevokeKeyForm(formdata=None)
        confirm.confirm.data = "yes"
        return render_template(
            "research/api_keys_revoke.html",
            study=study,
            access=access_of(study),
            api_key=api_key,
            form=confirm,
        )
    api_keys.revoke(api_key, actor=current_researcher())
    db.session.commit()
    flash(f"The key {api_key.prefix}… ({api_key.name}) is revoked: it no longer works.")
    return redirect(url_for(".api_keys", study_id=study.id), 303)


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")
