"""Forms of a study's API keys page (survey.research.api_key_views).

The rules of a key (a name, known scopes, at least one, a limit from 1 to 100,000) belong
to survey.services.api_keys; these forms read the fields and the view puts the service's
messages next to them.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import InputRequired
from wtforms.widgets import CheckboxInput, ListWidget

from survey.models import ApiScope
from survey.services.api_keys import DEFAULT_RATE_LIMIT_PER_MINUTE, MAX_NAME_LENGTH

SCOPE_LABELS = {
    ApiScope.ENROL: "enrol — enrol users by external id, consent for them, withdraw them",
    ApiScope.DELIVER: "deliver — the next items of the open wave, and answers",
    ApiScope.OUTCOMES: "outcomes — post engagement outcomes",
    ApiScope.READ: "read — the study's progress, a participant's completion and answers",
}


class CheckboxesField(SelectMultipleField):
    """A list of checkboxes (one per choice)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class CreateKeyForm(FlaskForm):
    name = StringField(
        "Name",
        validators=[InputRequired("Give the key a name (e.g. the platform that uses it).")],
        description="What uses the key, e.g. the therapy platform's name.",
        render_kw={"maxlength": MAX_NAME_LENGTH, "autocomplete": "off"},
    )
    scopes = CheckboxesField(
        "Scopes: what the key may do",
        choices=[SelectChoice(scope, SCOPE_LABELS[scope]) for scope in ApiScope.ALL],
        default=list(ApiScope.ALL),
        validate_choice=False,  # the service names an unknown scope
    )
    rate_limit = IntegerField(
        "Rate limit (requests a minute)",
        default=DEFAULT_RATE_LIMIT_PER_MINUTE,
        validators=[InputRequired("Enter a whole number from 1 to 100000.")],
        description="Requests over it are answered 429 with Retry-After.",
    )
    submit = SubmitField("Create key")


class RevokeKeyForm(FlaskForm):
    confirm = HiddenField()
    submit = SubmitField("Revoke the key")
