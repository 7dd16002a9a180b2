"""Research views: setting a study up.

A new study (a draft), its settings, its lifecycle (draft → open → closed → open), its
waves and their schedules, and importing a comparator instrument for its battery. The
rules are in survey.services.studies; each view reads its form, calls one service,
commits once, and puts the service's refusal next to the field it names (422).
"""

from __future__ import annotations

from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from survey.auth.access import staff_error_page
from survey.extensions import db
from survey.forms.instrument_upload import import_from_form
from survey.models import InstrumentVersion, Study, StudyStatus, Wave, WaveStatus
from survey.research.blueprint import access_of, bp, current_researcher, study_for
from survey.research.forms import (
    DraftStudySettingsForm,
    ImportInstrumentForm,
    NewStudyForm,
    OpenStudySettingsForm,
    StudyStatusForm,
    WaveForm,
    WaveStatusForm,
)
from survey.services import research, studies, study_access, versions
from survey.services.errors import (
    InvalidSlug,
    InvalidStudyChange,
    SlugTaken,
    UploadTooLarge,
    VersionNotPublished,
)

# A service's field name → the form field showing its message (same name otherwise).
_FIELDS = {"instruments": "first_instrument", "opens_at": "opens_on", "closes_at": "closes_on"}
_STATUS_WORDS = {
    StudyStatus.OPEN: "opened",
    StudyStatus.CLOSED: "closed",
}


def _sentence(message: str) -> str:
    message = message.strip()
    if not message:
        return message
    message = message[0].upper() + message[1:]
    return message if message.endswith((".", "?", "!")) else f"{message}."


def _show_error(form: Any, field_name: str | None, message: str, general: list[str]) -> None:
    """Put ``message`` next to the form's field of that name, else in ``general``."""
    name = _FIELDS.get(field_name or "", field_name)
    field = form._fields.get(name) if name else None
    if field is None:
        general.append(_sentence(message))
    else:
        field.errors = [*field.errors, _sentence(message)]


# -- a new study -----------------------------------------------------------------------------
def _battery(form: DraftStudySettingsForm) -> list[InstrumentVersion]:
    chosen = [db.session.get(InstrumentVersion, version_id) for version_id in form.battery_ids()]
    return [version for version in chosen if version is not None]


def _battery_error(form: DraftStudySettingsForm, error: Exception, general: list[str]) -> None:
    """A battery refusal goes next to the select holding the refused version."""
    if isinstance(error, VersionNotPublished):
        for field in form.battery_fields():
            version = db.session.get(InstrumentVersion, int(field.data)) if field.data else None
            if version is not None and not versions.usable_for_new_study(version):
                field.errors = [*field.errors, _sentence(str(error))]
                return
        _show_error(form, "instruments", str(error), general)
    elif isinstance(error, InvalidStudyChange):
        _show_error(form, error.field, str(error), general)
    else:  # the slug's errors
        _show_error(form, "slug", str(error), general)


@bp.route("/studies/new", methods=["GET", "POST"])
def new_study():
    form = NewStudyForm()
    choices = research.versions_for_new_study()
    form.set_versions(choices)
    if not form.is_submitted():
        form.urgent_help_note.data = current_app.config["URGENT_HELP_NOTE"]
        first = research.first_instrument_choice(choices)
        form.first_instrument.data = str(first.id) if first else ""
    general: list[str] = []
    if form.validate_on_submit():
        name = form.name.data or ""
        try:
            study = studies.create_study(
                owner=current_researcher(),
                name=name,
                slug=(form.slug.data or "").strip() or studies.suggest_slug(name),
                instrument_versions=_battery(form),
                consent_text=form.consent_text.data or "",
                consent_version=form.consent_version.data or "",
                urgent_help_note=form.urgent_help_note.data or "",
                team_contact=form.team_contact.data or "",
                withdrawal_policy=form.withdrawal_policy.data or "",
                status=StudyStatus.DRAFT,
                first_wave_label=form.first_wave_label.data or "",
                first_wave_offset_days=0,
            )
        except (VersionNotPublished, InvalidStudyChange, InvalidSlug, SlugTaken) as error:
            db.session.rollback()
            _battery_error(form, error, general)
        else:
            db.session.commit()
            flash(
                f"Created {study.name} ({study.slug}) as a draft. Add its waves here, then "
                "open it: participants' links answer only while the study is open."
            )
            return redirect(url_for(".waves", study_id=study.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "research/new_study.html", form=form, general=general, has_versions=bool(choices)
    ), status


# -- settings and lifecycle ------------------------------------------------------------------
@bp.route("/studies/<int:study_id>/settings", methods=["GET", "POST"])
def study_settings(study_id: int):
    study = study_for(study_id, study_access.OWN)
    draft = study.status == StudyStatus.DRAFT
    form_class = DraftStudySettingsForm if draft else OpenStudySettingsForm
    form = form_class() if request.method == "POST" else form_class(obj=study)
    if isinstance(form, DraftStudySettingsForm):
        form.set_versions(_battery_choices(study))
        if not form.is_submitted():
            form.show_battery(study.instrument_versions)
    general: list[str] = []
    if form.validate_on_submit():
        changes: dict[str, Any] = {
            "name": form.name.data or "",
            "team_contact": form.team_contact.data or "",
            "urgent_help_note": form.urgent_help_note.data or "",
        }
        if isinstance(form, DraftStudySettingsForm):
            changes |= {
                "slug": form.slug.data or "",
                "consent_text": form.consent_text.data or "",
                "consent_version": form.consent_version.data or "",
                "withdrawal_policy": form.withdrawal_policy.data or "",
                "battery": _battery(form),
            }
        try:
            changed = studies.update_study(study, actor=current_researcher(), **changes)
        except (VersionNotPublished, InvalidStudyChange, InvalidSlug, SlugTaken) as error:
            db.session.rollback()
            if isinstance(form, DraftStudySettingsForm):
                _battery_error(form, error, general)
            else:
                _show_error(form, getattr(error, "field", None), str(error), general)
        else:
            db.session.commit()
            flash("Saved the study's settings." if changed else "Nothing changed.")
            return redirect(url_for(".study_settings", study_id=study.id))
    status = 422 if form.is_submitted() else 200
    return render_template(
        "research/settings.html",
        study=study,
        form=form,
        draft=draft,
        general=general,
        status_form=StudyStatusForm(formdata=None),
        withdrawal_words=studies.WITHDRAWAL_WORDS,
        access=access_of(study),
    ), status


def _battery_choices(study: Study) -> list[InstrumentVersion]:
    """What a draft's selects offer: the usable versions, and its current ones even if one
    was retired since (so the page shows them; saving then says why it cannot stay)."""
    choices = research.versions_for_new_study()
    extra = [version for version in study.instrument_versions if version not in choices]
    return [*extra, *choices]


@bp.post("/studies/<int:study_id>/status")
def study_status(study_id: int):
    study = study_for(study_id, study_access.OWN)
    form = StudyStatusForm()
    target = form.status.data or ""
    if form.validate_on_submit() and target == StudyStatus.CLOSED and form.confirm.data != "yes":
        return render_template("research/close_study.html", study=study, form=form)
    error = None if form.validate_on_submit() else "Choose what to do with the study."
    if error is None:
        try:
            studies.set_status(study, target, actor=current_researcher())
        except InvalidStudyChange as refused:
            db.session.rollback()
            error = _sentence(str(refused))
        else:
            db.session.commit()
            flash(f"The study is {_STATUS_WORDS.get(target, target)}.")
            return redirect(url_for(".study_settings", study_id=study.id))
    return render_template("research/status_refused.html", study=study, message=error), 422


# -- waves -----------------------------------------------------------------------------------
def _schedule(form: WaveForm) -> dict[str, Any]:
    """The service's schedule arguments for the form's choice (the other kind's fields are
    ignored). Raises :class:`InvalidStudyChange` for a day out of range."""
    if form.schedule.data == "relative":
        return {"offset_days": form.offset_days.data, "window_days": form.window_days.data}
    if form.schedule.data == "fixed":
        opens_at, closes_at = studies.fixed_window(form.opens_on.data, form.closes_on.data)
        return {"opens_at": opens_at, "closes_at": closes_at}
    return {}


def _waves_page(study: Study, form: WaveForm, general: list[str], status: int):
    return render_template(
        "research/waves.html",
        study=study,
        form=form,
        general=general,
        schedules={wave.id: studies.describe_schedule(wave) for wave in study.waves},
        status_form=StudyStatusForm(formdata=None),
        wave_form=WaveStatusForm(formdata=None),
        access=access_of(study),
        can_edit=_can_edit(study),
    ), status


def _wave_need() -> str:
    """Waves are seen with view access and changed with edit access."""
    return study_access.EDIT if request.method == "POST" else study_access.VIEW


def _can_edit(study: Study) -> bool:
    return study_access.allows(access_of(study), study_access.EDIT)


@bp.route("/studies/<int:study_id>/waves", methods=["GET", "POST"])
def waves(study_id: int):
    study = study_for(study_id, _wave_need())
    form = WaveForm()
    general: list[str] = []
    if form.validate_on_submit():
        try:
            wave = studies.add_wave(
                study, label=form.label.data or "", actor=current_researcher(), **_schedule(form)
            )
        except InvalidStudyChange as error:
            db.session.rollback()
            _show_error(form, error.field, str(error), general)
        else:
            words = studies.describe_schedule(wave)
            db.session.commit()
            flash(f"Added the wave {wave.label}: {words}.")
            return redirect(url_for(".waves", study_id=study.id))
    return _waves_page(study, form, general, 422 if form.is_submitted() else 200)


def _wave_of(study: Study, wave_id: int) -> Wave:
    wave = db.session.get(Wave, wave_id)
    if wave is None or wave.study_id != study.id:
        abort(404)
    return wave


@bp.route("/studies/<int:study_id>/waves/<int:wave_id>", methods=["GET", "POST"])
def wave(study_id: int, wave_id: int):
    study = study_for(study_id, _wave_need())
    found = _wave_of(study, wave_id)
    if request.method == "POST" and request.form.get("action") in ("open", "close"):
        return _set_wave_status(study, found)
    form = WaveForm()
    form.submit.label.text = "Save the wave"
    if not form.is_submitted():
        form.show_wave(found, *studies.fixed_days(found))
    general: list[str] = []
    if form.validate_on_submit():
        try:
            schedule = _schedule(form)
            changed = studies.update_wave(
                found, actor=current_researcher(), label=form.label.data or "", **schedule
            )
        except InvalidStudyChange as error:
            db.session.rollback()
            _show_error(form, error.field, str(error), general)
        else:
            words = studies.describe_schedule(found)
            db.session.commit()
            flash(f"Saved the wave {found.label}: {words}." if changed else "Nothing changed.")
            return redirect(url_for(".waves", study_id=study.id))
    return render_template(
        "research/wave.html",
        study=study,
        wave=found,
        form=form,
        general=general,
        schedule=studies.describe_schedule(found),
        wave_form=WaveStatusForm(formdata=None),
        can_edit=_can_edit(study),
    ), (422 if form.is_submitted() else 200)


def _set_wave_status(study: Study, found: Wave):
    form = WaveStatusForm()
    target = WaveStatus.OPEN if form.action.data == "open" else WaveStatus.CLOSED
    if form.validate_on_submit():
        try:
            studies.set_wave_status(found, target, actor=current_researcher())
        except InvalidStudyChange as error:
            db.session.rollback()
            message = _sentence(str(error))
        else:
            db.session.commit()
            flash(f"The wave {found.label} is {target}.")
            return redirect(url_for(".waves", study_id=study.id))
    else:
        message = "Choose whether to open or close the wave."
    return _waves_page(study, WaveForm(formdata=None), [message], 422)


# -- importing a comparator instrument -------------------------------------------------------
def _import_page(form: ImportInstrumentForm, problems: list[str], status: int):
    return render_template(
        "research/import_instrument.html",
        form=form,
        problems=problems,
        limit=versions.MAX_UPLOAD_BYTES,
    ), status


@bp.route("/instruments/import", methods=["GET", "POST"])
def import_instrument():
    form = ImportInstrumentForm()
    problems: list[str] = []
    too_large = False
    if form.validate_on_submit():
        outcome = import_from_form(form, actor=current_researcher(), publish=True)
        problems, too_large = outcome.problems, outcome.too_large
        imported = outcome.version
        if imported is not None:
            db.session.commit()
            what = f"{imported.instrument.title} ({imported.instrument.key} {imported.version})"
            flash(
                f"Imported and published {what}: a new study's battery can ask it now."
                if outcome.created
                else f"{what} is here already with the same content; nothing changed."
            )
            return redirect(url_for(".new_study"))
    db.session.rollback()
    status = 413 if too_large else 422
    return _import_page(form, problems, status if form.is_submitted() else 200)


@bp.errorhandler(RequestEntityTooLarge)
def upload_too_large(error: RequestEntityTooLarge):
    """An upload over the app's request limit: on the import page, the message next to the
    file field; elsewhere the usual error page."""
    if request.endpoint != "research.import_instrument":
        return staff_error_page(error)
    form = ImportInstrumentForm(formdata=None)
    size = request.content_length or 0
    form.file.errors = [str(UploadTooLarge(size, versions.MAX_UPLOAD_BYTES))]
    return _import_page(form, [], 413)
