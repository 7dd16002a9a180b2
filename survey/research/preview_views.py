"""Research views: the preview of a study's participant pages, storing nothing.

``/research/studies/<id>/preview/<number>``: 0 is the consent page, 1..n the battery's
pages and n + 1 the thank-you page, each rendered with the participant templates (a
banner says it is a preview). A page's form posts back to the preview, which checks the
answers as the participant pages do and shows the same messages, then forgets them: no
session, answer, page visit or audit event is written. Draft and open studies alike.
"""

from __future__ import annotations

from typing import Any

from flask import abort, redirect, render_template, request, url_for

from survey.participate.forms import ConsentForm, page_form
from survey.participate.presentation import present
from survey.research.blueprint import bp, study_for
from survey.services import participation, study_access
from survey.services.errors import UnknownPage
from survey.services.instruments import definition_of


def _render(template: str, study, number: int, total: int, **context: Any) -> str:
    return render_template(
        template,
        study=study,
        participant=None,
        token=None,
        form_token="",
        preview=True,
        preview_number=number,
        preview_total=total,
        **context,
    )


@bp.route("/studies/<int:study_id>/preview/<int:number>", methods=["GET", "POST"])
def preview(study_id: int, number: int):
    study = study_for(study_id, study_access.VIEW)
    total = len(participation.battery_pages(study))
    if number == 0:
        if request.method == "POST":
            return redirect(url_for(".preview", study_id=study_id, number=1))
        return _render(
            "research/preview_consent.html",
            study,
            number,
            total,
            definition=definition_of(study.instrument_version),
            form=ConsentForm(),
            choice_missing=False,
        )
    if number == total + 1:
        return _render("research/preview_done.html", study, number, total, wave=_first_wave(study))
    try:
        view = participation.preview_view(study, number)
    except UnknownPage:
        abort(404)
    form = page_form(view)
    status = 200
    if request.method == "POST":
        if "back" in request.form:
            return redirect(url_for(".preview", study_id=study_id, number=number - 1))
        if form.validate():
            return redirect(url_for(".preview", study_id=study_id, number=number + 1))
        status = 422
    html = _render(
        "research/preview_page.html",
        study,
        number,
        total,
        view=view,
        shown=present(study, view),
        form=form,
    )
    return html, status


def _first_wave(study):
    """The wave a thank-you page names: the study's first (a placeholder without waves)."""
    return study.waves[0] if study.waves else {"label": "this questionnaire"}
