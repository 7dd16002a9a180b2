"""Forms of the admin area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, EqualTo, Length, Optional, ValidationError

from survey.auth.passwords import MAX_LENGTH, MIN_LENGTH
from survey.models import AuditAction, Role

ROLE_CHOICES = [SelectChoice(Role.RESEARCHER, "Researcher"), SelectChoice(Role.ADMIN, "Admin")]
STANDARD_ACTIONS = sorted(value for name, value in vars(AuditAction).items() if name.isupper())


class CreateUserForm(FlaskForm):
    email = EmailField(
        "E-mail address", validators=[DataRequired("Enter an e-mail address."), Length(max=254)]
    )
    role = SelectField("Role", choices=ROLE_CHOICES, default=Role.RESEARCHER)
    password = PasswordField(
        "Initial password",
        validators=[
            DataRequired("Enter a password."),
            Length(
                min=MIN_LENGTH,
                max=MAX_LENGTH,
                message=f"A password needs {MIN_LENGTH} to {MAX_LENGTH} characters.",
            ),
        ],
        render_kw={"autocomplete": "new-password"},
        description=(
            f"At least {MIN_LENGTH} characters, not a common password, not the e-mail "
            "address. Pass it on in person or by phone."
        ),
    )
    confirm = PasswordField(
        "Repeat the password",
        validators=[EqualTo("password", "The two passwords differ.")],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField("Create user")


class UserActiveForm(FlaskForm):
    active = HiddenField(validators=[DataRequired()])
    submit = SubmitField()

    def validate_active(self, field: HiddenField) -> None:
        if field.data not in ("0", "1"):
            raise ValidationError("active is 0 or 1")


class AuditFilterForm(FlaskForm):
    """Filters read from the query string (a GET form: nothing to protect with CSRF)."""

    class Meta:
        csrf = False

    actor = StringField("Actor (part of e-mail)", validators=[Optional(), Length(max=254)])
    action = SelectField("Action", validators=[Optional()], validate_choice=False)
    target_type = StringField("Target type", validators=[Optional(), Length(max=64)])
    target_id = StringField("Target id", validators=[Optional(), Length(max=64)])
    date_from = DateField("From (UTC)", validators=[Optional()])
    date_to = DateField("To (UTC)", validators=[Optional()])

    def set_actions(self, actions: list[str]) -> None:
        names = sorted(set(actions) | set(STANDARD_ACTIONS))
        self.action.choices = [SelectChoice("", "any")] + [SelectChoice(a) for a in names]

    def validate_date_to(self, field: DateField) -> None:
        if field.data and self.date_from.data and field.data < self.date_from.data:
            raise ValidationError("The end date is before the start date.")
