"""The one way a draft-editor form is handled: validate the form, call the service, show
the loader's problems next to their fields (400) or commit once and go back to the editor.

A stale ``base_hash`` (someone saved in between) raises
:class:`~survey.services.errors.DraftChanged` from the service, which the console renders
as 409 (``survey.admin.instruments.views.refused``); so do frozen versions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flask import flash, redirect, url_for
from werkzeug.wrappers import Response
from wtforms import Field
from wtforms.form import BaseForm

from instruments.loader import Problem
from survey.extensions import db
from survey.models import InstrumentVersion
from survey.services.errors import InvalidDefinition


@dataclass
class Submission:
    """What became of a submitted form: a redirect after saving, or the page to render
    again with ``problems`` (those not shown next to a field) and ``status``."""

    response: Response | None = None
    problems: list[str] = field(default_factory=list)
    status: int = 200


def attach_problems(problems: Iterable[Problem], fields: Mapping[str, Field]) -> list[str]:
    """Put each problem on the field whose key is the longest prefix of the problem's key;
    return the rest (``"key: message"``) for the summary."""
    rest = []
    for problem in problems:
        matches = [
            key
            for key in fields
            if problem.key == key or problem.key.startswith((f"{key}.", f"{key}["))
        ]
        if matches:
            found = fields[max(matches, key=len)]
            found.errors = [*found.errors, problem.message]
        else:
            rest.append(f"{problem.key}: {problem.message}" if problem.key else problem.message)
    return rest


def base_hash(form: BaseForm) -> str | None:
    """The content hash the editor was opened on (None: do not check)."""
    return form["base_hash"].data or None


def submit_draft_form(
    form: BaseForm,
    draft: InstrumentVersion,
    save: Callable[[], Any],
    *,
    what: str | Callable[[Any], str],
    fields: Callable[[], Mapping[str, Field]] = dict,
    summary: Field | None = None,
) -> Submission:
    """Validate ``form``; if valid, run ``save`` (a service call returning whether the
    draft changed, or what it added: ``what`` may be a function of that result).

    On :class:`InvalidDefinition` the problems go next to ``fields()`` (a mapping from
    problem key to field), or all into the list with a pointer on ``summary``; nothing is
    stored. On success: one commit, a flash saying ``what`` was saved, a redirect to the
    editor.
    """
    if not form.validate_on_submit():
        return Submission(status=400 if form.errors else 200)
    try:
        result = save()
    except InvalidDefinition as error:
        if summary is not None:
            problems = [str(problem) for problem in error.problems]
            summary.errors = [*summary.errors, f"{len(problems)} problem(s): see the list above."]
        else:
            problems = attach_problems(error.problems, fields())
        return Submission(problems=problems, status=400)
    described = what(result) if callable(what) else what
    return Submission(response=saved(draft, bool(result), described))


def saved(draft: InstrumentVersion, changed: bool, what: str) -> Response:
    """Commit the edit, say what was saved, and go back to the draft's editor."""
    db.session.commit()
    flash(f"Saved: {what}." if changed else f"No change: {what} was already like that.")
    return redirect(url_for(".edit", version_id=draft.id))
