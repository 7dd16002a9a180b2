"""The instrument-version console (/admin/instruments/...): versions, draft editor,
publishing, retiring, diffs, import and export. Admins only.

Views read the form, call one service of :mod:`survey.services.versions`, commit once and
redirect or re-render with every problem next to its field; the draft editor's forms all go
through :func:`survey.admin.instruments.form_handling.submit_draft_form`. A published or
retired version is refused with 409 and a message (the service raises; :func:`refused`
renders).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import RequestEntityTooLarge

from survey.admin.instruments.form_handling import base_hash, saved, submit_draft_form
from survey.admin.instruments.forms import (
    CheckForm,
    ConfirmForm,
    ImportForm,
    ItemForm,
    MetadataForm,
    NewItemForm,
    NewVersionForm,
    PublishForm,
    YamlForm,
    options_text,
    scales_form,
)
from survey.admin.instruments.removals import removal_refusals
from survey.auth.access import current_staff_user
from survey.errors import handle_http_exception
from survey.extensions import db
from survey.forms.instrument_upload import import_from_form
from survey.models import InstrumentVersion, User, VersionStatus
from survey.routing import database_id
from survey.services import versions
from survey.services.errors import (
    DraftChanged,
    InvalidDefinition,
    InvalidVersionNumber,
    NoChanges,
    UploadTooLarge,
    VersionFrozen,
    VersionIsDraft,
)
from survey.services.instruments import definition_of

# Nested in the admin blueprint (survey.admin.views), which gates every request to admins,
# renders 403/404 in the staff layout and sends no-store: endpoints are admin.instruments.*.
bp = Blueprint("instruments", __name__, url_prefix="/instruments")


def _actor() -> User | None:
    return current_staff_user()


def _version(version_id: int) -> InstrumentVersion:
    return versions.get_version(version_id) or abort(404)


def _draft(version_id: int) -> InstrumentVersion:
    version = _version(version_id)
    versions.require_draft(version)  # VersionFrozen -> 409 (see refused)
    return version


# -- refusals ------------------------------------------------------------------------------
@bp.errorhandler(VersionFrozen)
@bp.errorhandler(DraftChanged)
@bp.errorhandler(VersionIsDraft)
def refused(error: Exception):
    db.session.rollback()
    version = getattr(error, "version", None)
    if version is None and request.view_args and "version_id" in request.view_args:
        version = versions.get_version(request.view_args["version_id"])
    return (
        render_template("admin/instruments/refused.html", message=str(error), version=version),
        409,
    )


@bp.errorhandler(IntegrityError)
def concurrent_change(_error: IntegrityError):
    # The services check numbers before they claim them; only another admin's change
    # committed in between (the same version number, say) reaches the database's constraint.
    db.session.rollback()
    message = (
        "Another change was saved at the same moment (for example, the same version number "
        "by another admin). Reload the page and try again."
    )
    return render_template("admin/instruments/refused.html", message=message, version=None), 409


@bp.errorhandler(RequestEntityTooLarge)
def too_large(error: RequestEntityTooLarge):
    user = current_staff_user()
    if user is None or not user.is_admin:
        return handle_http_exception(error)
    size = request.content_length or 0
    message = str(UploadTooLarge(size, versions.MAX_UPLOAD_BYTES))
    if request.endpoint == "admin.instruments.import_upload":
        form = ImportForm(formdata=None)
        form.file.errors = [message]
        return render_template("admin/instruments/import.html", form=form, problems=()), 413
    return render_template("admin/instruments/refused.html", message=message, version=None), 413


# -- lists and pages -----------------------------------------------------------------------
@bp.get("/")
def index():
    instruments = versions.list_instruments()
    return render_template(
        "admin/instruments/index.html",
        instruments=[(i, versions.versions_of(i)) for i in instruments],
    )


@bp.get("/key/<instrument_key>")
def instrument(instrument_key: str):
    found = versions.find_instrument(instrument_key) or abort(404)
    return render_template(
        "admin/instruments/instrument.html",
        instrument=found,
        versions=versions.versions_of(found),
    )


@bp.get("/versions/<int:version_id>")
def version(version_id: int):
    found = _version(version_id)
    return render_template(
        "admin/instruments/version.html",
        version=found,
        definition=definition_of(found),
        others=[v for v in versions.versions_of(found.instrument) if v.id != found.id],
        base=versions.base_of(found),
        studies=versions.study_count(found),
        usable=versions.usable_for_new_study(found),
        confirm=ConfirmForm(),
    )


@bp.get("/versions/<int:version_id>/compare")
def compare(version_id: int):
    found = _version(version_id)
    other = request.args.get("other", type=database_id)
    if other is None or versions.get_version(other) is None:
        flash("Choose a version to compare with.")
        return redirect(url_for(".version", version_id=found.id))
    return redirect(url_for(".diff", version_id=found.id, other_version_id=other))


@bp.get("/diff/<int:version_id>/<int:other_version_id>")
def diff(version_id: int, other_version_id: int):
    old, new = _version(version_id), _version(other_version_id)
    if old.instrument_id != new.instrument_id:
        abort(404)
    identical = versions.identical_items(old, new)
    return render_template(
        "admin/instruments/diff.html",
        old=old,
        new=new,
        diff=versions.diff(old, new),
        identical=identical,
        new_items=len(definition_of(new).items),
    )


@bp.get("/diff/<int:version_id>/<int:other_version_id>/json")
def diff_json(version_id: int, other_version_id: int):
    old, new = _version(version_id), _version(other_version_id)
    if old.instrument_id != new.instrument_id:
        abort(404)
    body = versions.diff(old, new).to_dict()
    body["identical_items"] = versions.identical_items(old, new)
    body["old_hash"], body["new_hash"] = old.content_hash, new.content_hash
    return jsonify(body)


# -- new version, publish, retire, discard -------------------------------------------------
@bp.route("/versions/<int:version_id>/new-version", methods=["GET", "POST"])
def new_version(version_id: int):
    source = _version(version_id)
    if source.status == VersionStatus.DRAFT:
        raise VersionIsDraft(
            f"{source.instrument.key} {source.version} is a draft: publish or discard it first"
        )
    form = NewVersionForm()
    form.set_choices(versions.number_choices(source))
    if request.method != "POST":  # GET and HEAD
        form.level.data = "patch"
    elif form.validate_on_submit():
        typed = (form.version.data or "").strip() or None
        try:
            draft, _ = versions.create_draft_from(
                source, actor=_actor(), new_version=typed, level=form.level.data or "patch"
            )
        except InvalidVersionNumber as error:
            (form.version if typed else form.level).errors = [str(error)]
        else:
            db.session.commit()
            flash(
                f"Draft {draft.version} created from {source.version}. Edit it, then publish: "
                "the console proposes the number again from your changes."
            )
            return redirect(url_for(".edit", version_id=draft.id))
    status = 400 if form.errors else 200
    return render_template("admin/instruments/new_version.html", form=form, source=source), status


@bp.route("/versions/<int:version_id>/publish", methods=["GET", "POST"])
def publish(version_id: int):
    draft = _draft(version_id)
    form = PublishForm()
    problems: list[str] = []
    proposal = None
    try:
        proposal = versions.publication_proposal(draft)
    except NoChanges as error:
        problems.append(str(error))
    except InvalidDefinition as error:  # never expected: drafts are saved valid
        problems.extend(str(problem) for problem in error.problems)
    if request.method != "POST":  # GET and HEAD
        form.version.data = versions.suggested_number(draft, proposal)
    elif form.validate_on_submit() and not problems:
        try:
            published, _ = versions.publish(draft, actor=_actor(), version=form.version.data)
        except InvalidVersionNumber as error:
            form.version.errors = [str(error)]
        except (NoChanges, InvalidDefinition) as error:
            problems.append(str(error))
        else:
            db.session.commit()
            flash(
                f"Published {published.instrument.key} {published.version} "
                f"(sha256 {published.content_hash})."
            )
            return redirect(url_for(".version", version_id=published.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "admin/instruments/publish.html",
        form=form,
        draft=draft,
        base=versions.base_of(draft),
        proposal=proposal,
        problems=problems,
    ), status


@bp.route("/versions/<int:version_id>/retire", methods=["GET", "POST"])
def retire(version_id: int):
    found = _version(version_id)
    if found.status != VersionStatus.PUBLISHED:
        versions.retire(found, actor=_actor())  # raises the matching refusal
    form = ConfirmForm()
    if form.validate_on_submit():
        versions.retire(found, actor=_actor())
        db.session.commit()
        flash(
            f"Retired {found.instrument.key} {found.version}: no new study can use it; "
            "the studies using it continue."
        )
        return redirect(url_for(".version", version_id=found.id))
    return render_template(
        "admin/instruments/retire.html",
        version=found,
        form=form,
        studies=versions.study_count(found),
    )


@bp.route("/versions/<int:version_id>/discard", methods=["GET", "POST"])
def discard(version_id: int):
    draft = _draft(version_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        key, number = draft.instrument.key, draft.version
        versions.discard_draft(draft, actor=_actor())
        db.session.commit()
        flash(f"Discarded the draft {key} {number}.")
        return redirect(url_for(".instrument", instrument_key=key))
    status = 400 if request.method == "POST" else 200  # a POST without a valid token
    return render_template(
        "admin/instruments/discard.html", draft=draft, form=form, base=versions.base_of(draft)
    ), status


# -- draft editor --------------------------------------------------------------------------
METADATA_FIELDS = ("title", "citation", "intro", "shuffle_items")


def _form_data(draft: InstrumentVersion, values: dict[str, Any]) -> dict[str, Any] | None:
    """What an editor form opens with: the draft's values and its hash (None on POST: the
    submitted data)."""
    if request.method == "POST":
        return None
    return values | {"base_hash": draft.content_hash}


@bp.route("/versions/<int:version_id>/edit", methods=["GET", "POST"])
def edit(version_id: int):
    draft = _draft(version_id)
    form = MetadataForm(
        data=_form_data(draft, {name: draft.content[name] for name in METADATA_FIELDS})
    )
    done = submit_draft_form(
        form,
        draft,
        lambda: versions.edit_metadata(
            draft,
            title=form.title.data,
            citation=form.citation.data,
            intro=form.intro.data,
            shuffle_items=form.shuffle_items.data,
            actor=_actor(),
            expected_hash=base_hash(form),
        ),
        what="title, citation and introduction",
        fields=lambda: {name: form[name] for name in METADATA_FIELDS},
    )
    if done.response:
        return done.response
    return render_template(
        "admin/instruments/edit.html",
        draft=draft,
        definition=definition_of(draft),
        form=form,
        problems=done.problems,
        base=versions.base_of(draft),
        confirm=ConfirmForm(data={"base_hash": draft.content_hash}),
        refusals=removal_refusals(draft),
    ), done.status


def _item_or_404(draft: InstrumentVersion, item_id: str) -> tuple[Any, int]:
    """The item and its 1-based position within its subconstruct."""
    return versions.item_position(draft, item_id) or abort(404)


def _entry_fields(draft: InstrumentVersion, entry_id: str, form: Any, names: Iterable[str]):
    """Problem key -> field for the fields ``names`` of an item or attention check."""
    path = versions.entry_path(draft.content, entry_id) or "?"
    return {f"{path}.{name}": form[name] for name in names}


@bp.route("/versions/<int:version_id>/items/<item_id>", methods=["GET", "POST"])
def item(version_id: int, item_id: str):
    draft = _draft(version_id)
    found, position = _item_or_404(draft, item_id)
    form = ItemForm(
        data=_form_data(
            draft,
            {
                "text": found.text,
                "reverse": found.reverse,
                "optional": found.optional,
                "position": position,
            },
        )
    )
    done = submit_draft_form(
        form,
        draft,
        lambda: versions.edit_item(
            draft,
            item_id,
            text=form.text.data,
            reverse=form.reverse.data,
            optional=form.optional.data,
            position=form.position.data,
            actor=_actor(),
            expected_hash=base_hash(form),
        ),
        what=f"item {item_id}",
        fields=lambda: _entry_fields(draft, item_id, form, ("text", "reverse", "optional")),
    )
    if done.response:
        return done.response
    return render_template(
        "admin/instruments/item.html", draft=draft, item=found, form=form, problems=done.problems
    ), done.status


@bp.route("/versions/<int:version_id>/items/new", methods=["GET", "POST"])
def new_item(version_id: int):
    draft = _draft(version_id)
    definition = definition_of(draft)
    form = NewItemForm(data=_form_data(draft, {}))
    form.subconstruct.choices = [
        (sub.code, f"{sub.code} – {sub.name}") for sub in definition.subconstructs
    ]
    done = submit_draft_form(
        form,
        draft,
        lambda: versions.add_item(
            draft,
            form.subconstruct.data,
            text=form.text.data,
            reverse=form.reverse.data,
            optional=form.optional.data,
            actor=_actor(),
            expected_hash=base_hash(form),
        ),
        what=lambda new_id: f"new item {new_id}",
    )
    if done.response:
        return done.response
    return render_template(
        "admin/instruments/item_new.html", draft=draft, form=form, problems=done.problems
    ), done.status


@bp.post("/versions/<int:version_id>/items/<item_id>/remove")
def remove_item(version_id: int, item_id: str):
    draft = _draft(version_id)
    _item_or_404(draft, item_id)
    form = ConfirmForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        changed = versions.remove_item(
            draft, item_id, actor=_actor(), expected_hash=base_hash(form)
        )
    except InvalidDefinition as error:
        db.session.rollback()
        for problem in error.problems:
            flash(f"Item {item_id} was not removed: {problem.key}: {problem.message}")
        return redirect(url_for(".edit", version_id=draft.id))
    return saved(draft, changed, f"item {item_id} removed")


@bp.route("/versions/<int:version_id>/checks/<item_id>", methods=["GET", "POST"])
def check(version_id: int, item_id: str):
    draft = _draft(version_id)
    definition = definition_of(draft)
    found = next((c for c in definition.attention_checks if c.id == item_id), None)
    if found is None:
        abort(404)
    form = CheckForm(
        data=_form_data(
            draft,
            {
                "text": found.text,
                "expected": found.expected,
                "page": found.page,
                "position": found.position,
                "optional": found.optional,
            },
        )
    )
    form.expected.choices = [
        (option.value, f"{option.value} – {option.label}")
        for option in definition.scale(found.scale).options
    ]
    form.page.choices = [(c.code, f"{c.code} – {c.name}") for c in definition.constructs]
    done = submit_draft_form(
        form,
        draft,
        lambda: versions.edit_attention_check(
            draft,
            item_id,
            text=form.text.data,
            expected=form.expected.data,
            page=form.page.data,
            position=form.position.data,
            optional=form.optional.data,
            actor=_actor(),
            expected_hash=base_hash(form),
        ),
        what=f"attention check {item_id}",
        fields=lambda: _entry_fields(
            draft, item_id, form, ("text", "expected", "page", "position")
        ),
    )
    if done.response:
        return done.response
    return render_template(
        "admin/instruments/check.html", draft=draft, check=found, form=form, problems=done.problems
    ), done.status


@bp.route("/versions/<int:version_id>/scales", methods=["GET", "POST"])
def scales(version_id: int):
    draft = _draft(version_id)
    scale_options = draft.content["response_scales"]
    form = scales_form(
        scale_options,
        data=_form_data(
            draft, {f"scale_{key}": options_text(opts) for key, opts in scale_options.items()}
        ),
    )
    done = submit_draft_form(
        form,
        draft,
        lambda: versions.edit_response_scales(
            draft,
            {key: form[f"scale_{key}"].options for key in scale_options},
            actor=_actor(),
            expected_hash=base_hash(form),
        ),
        what="response scales",
        fields=lambda: {f"response_scales.{key}": form[f"scale_{key}"] for key in scale_options},
    )
    if done.response:
        return done.response
    return render_template(
        "admin/instruments/scales.html",
        draft=draft,
        form=form,
        fields=[form[f"scale_{key}"] for key in scale_options],
        problems=done.problems,
    ), done.status


@bp.route("/versions/<int:version_id>/yaml", methods=["GET", "POST"])
def yaml_editor(version_id: int):
    draft = _draft(version_id)
    form = YamlForm(data=_form_data(draft, {"content": versions.draft_yaml(draft)}))
    done = submit_draft_form(
        form,
        draft,
        lambda: versions.replace_with_yaml(
            draft, form.content.data, actor=_actor(), expected_hash=base_hash(form)
        ),
        what="the whole instrument (YAML)",
        summary=form.content,
    )
    if done.response:
        return done.response
    return render_template(
        "admin/instruments/yaml.html", draft=draft, form=form, problems=done.problems
    ), done.status


# -- import and export ---------------------------------------------------------------------
@bp.get("/versions/<int:version_id>/export/<fmt>")
def export(version_id: int, fmt: str):
    found = _version(version_id)
    if fmt not in versions.FORMATS:
        abort(404)
    exported = versions.export_version(found, fmt, actor=_actor())
    db.session.commit()
    return Response(
        exported.data,
        mimetype=exported.mimetype,
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )


@bp.route("/import", methods=["GET", "POST"], endpoint="import_upload")
def import_upload():
    form = ImportForm()
    problems: list[str] = []
    if form.validate_on_submit():
        outcome = import_from_form(form, actor=_actor(), publish=form.publish.data)
        problems, imported = outcome.problems, outcome.version
        if imported is not None:
            db.session.commit()
            what = f"{imported.instrument.key} {imported.version}"
            flash(
                f"Imported {what} as {imported.status}."
                if outcome.created
                else f"{what} is already here with the same content; nothing changed."
            )
            return redirect(url_for(".version", version_id=imported.id))
    too_large = any("the limit is" in message for message in form.file.errors)
    status = 413 if too_large else (400 if form.errors or problems else 200)
    db.session.rollback()
    return render_template("admin/instruments/import.html", form=form, problems=problems), status
