"""Research views: a study's webhook endpoints and their delivery log (owner and editors).

* ``research.webhooks`` (GET, POST; edit): the endpoints (URL, events, created, status),
  the form to add one, and the latest LOG_SIZE deliveries (event, participant, status,
  attempts, last answer or error, next attempt) with "Retry now" for failed ones; a POST
  adds an endpoint and answers with its secret, shown this once
  (``research/webhooks_added.html``);
* ``research.webhook_secret`` (GET; own): an endpoint's secret again, for the owner;
* ``research.webhook_disable`` (GET: the confirmation page, POST: disable; edit);
* ``research.webhook_retry`` (POST; edit): a failed delivery tried once more now.
"""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, request, url_for

from survey.extensions import db
from survey.models import Study, WebhookEndpoint, WebhookEvent
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.research.webhook_forms import EVENT_LABELS, EndpointForm
from survey.services import study_access
from survey.services.webhooks import delivery, dispatch, endpoints, signing

LOG_SIZE = 50


def _when(moment) -> str:
    return "—" if moment is None else f"{moment:%Y-%m-%d %H:%M:%S} UTC"


def _sentence(message: str) -> str:
    return message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


def _signing() -> dict[str, str]:
    return {
        "id_header": signing.ID_HEADER,
        "timestamp_header": signing.TIMESTAMP_HEADER,
        "signature_header": signing.SIGNATURE_HEADER,
        "version": signing.SIGNATURE_VERSION,
        "tolerance": str(signing.DEFAULT_TOLERANCE // 60),
    }


def _endpoint_or_404(study: Study, endpoint_id: int) -> WebhookEndpoint:
    endpoint = endpoints.endpoint_of(study, endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


def _render_webhooks(study: Study, form: EndpointForm, status: int = 200):
    return render_template(
        "research/webhooks.html",
        study=study,
        access=access_of(study),
        form=form,
        endpoints=endpoints.endpoints_of(study),
        deliveries=delivery.deliveries_of(study, limit=LOG_SIZE),
        can_see_secrets=study_access.allows(access_of(study), study_access.OWN),
        event_labels=EVENT_LABELS,
        all_events=WebhookEvent.ALL,
        max_attempts=delivery.MAX_ATTEMPTS,
        log_size=LOG_SIZE,
        signing=_signing(),
        when=_when,
    ), status


@bp.route("/studies/<int:study_id>/webhooks", methods=["GET", "POST"])
def webhooks(study_id: int):
    study = study_for(study_id, study_access.EDIT)
    form = EndpointForm()
    if request.method != "POST":  # GET, or HEAD
        return _render_webhooks(study, form)
    if not form.validate_on_submit():
        return _render_webhooks(study, form, 422)
    try:
        endpoint = endpoints.add_endpoint(
            study,
            url=form.url.data or "",
            events=form.events.data or [],
            actor=current_researcher(),
            allow_http_localhost=bool(current_app.config.get("WEBHOOKS_ALLOW_HTTP_LOCALHOST")),
        )
    except endpoints.WebhookError as error:
        db.session.rollback()
        field = form.events if error.field == "events" else form.url
        field.errors = [*field.errors, _sentence(str(error))]
        return _render_webhooks(study, form, 422)
    secret, endpoint_id, url = endpoint.secret, endpoint.id, endpoint.url
    chosen = sorted(endpoint.event_set, key=WebhookEvent.ALL.index)
    db.session.commit()
    return render_template(
        "research/webhooks_added.html",
        study=study,
        access=access_of(study),
        endpoint_id=endpoint_id,
        url=url,
        events=chosen,
        secret=secret,
        signing=_signing(),
    )


@bp.get("/studies/<int:study_id>/webhooks/<int:endpoint_id>/secret")
def webhook_secret(study_id: int, endpoint_id: int):
    study = study_for(study_id, study_access.OWN)
    endpoint = _endpoint_or_404(study, endpoint_id)
    return render_template(
        "research/webhooks_secret.html",
        study=study,
        access=access_of(study),
        endpoint=endpoint,
        signing=_signing(),
    )


@bp.route("/studies/<int:study_id>/webhooks/<int:endpoint_id>/disable", methods=["GET", "POST"])
def webhook_disable(study_id: int, endpoint_id: int):
    study = study_for(study_id, study_access.EDIT)
    endpoint = _endpoint_or_404(study, endpoint_id)
    if request.method != "POST":
        return render_template(
            "research/webhooks_disable.html",
            study=study,
            access=access_of(study),
            endpoint=endpoint,
            form=EndpointForm(formdata=None),  # for its CSRF token
        )
    url = endpoint.url
    if endpoints.disable_endpoint(endpoint, actor=current_researcher()):
        message = f"Endpoint {url} disabled: it receives nothing more; its log stays."
    else:
        message = f"Endpoint {url} was disabled already."
    db.session.commit()
    flash(message)
    return redirect(url_for(".webhooks", study_id=study.id), 303)


@bp.post("/studies/<int:study_id>/webhooks/deliveries/<int:delivery_id>/retry")
def webhook_retry(study_id: int, delivery_id: int):
    study = study_for(study_id, study_access.EDIT)
    found = delivery.delivery_of(study, delivery_id)
    if found is None:
        abort(404)
    event_id = found.event_id
    if delivery.retry_now(found):
        dispatch.after_commit([found.id])
        message = f"Delivery {event_id} will be tried again now."
    else:
        message = f"Delivery {event_id} is not a failed delivery of an active endpoint."
    db.session.commit()
    flash(message)
    return redirect(url_for(".webhooks", study_id=study.id) + "#deliveries", 303)
