"""Forms of the participants pages (survey.research.participant_views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from survey.models import Wave
from survey.services.invitations import MAX_ENROLMENT_CAP, MAX_LINKS
from survey.services.participants import ENROLLED_VIA_LABELS, State


class ParticipantFilterForm(FlaskForm):
    """Filters read from the query string (a GET form: nothing to protect with CSRF)."""

    class Meta:
        csrf = False

    wave = SelectField("Wave", validators=[Optional()])
    status = SelectField(
        "Status",
        choices=[SelectChoice("", "any"), *(SelectChoice(s, State.LABELS[s]) for s in State.ALL)],
        validators=[Optional()],
    )
    via = SelectField(
        "Came through",
        choices=[
            SelectChoice("", "any"),
            *(SelectChoice(key, label) for key, label in ENROLLED_VIA_LABELS.items()),
        ],
        validators=[Optional()],
    )
    code = StringField("Code", validators=[Optional(), Length(max=20)])
    external_id = StringField("External id", validators=[Optional(), Length(max=200)])
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=1_000_000)])

    def set_waves(self, waves: list[Wave]) -> None:
        self.wave.choices = [
            SelectChoice("", "all waves"),
            *(SelectChoice(str(wave.id), wave.label) for wave in waves),
        ]

    def wave_id(self) -> int | None:
        return int(self.wave.data) if self.wave.data else None


class CreateLinksForm(FlaskForm):
    count = IntegerField(
        "How many links",
        default=10,
        validators=[
            Optional(),
            NumberRange(min=1, max=MAX_LINKS, message=f"Make 1 to {MAX_LINKS} links at a time."),
        ],
    )
    external_ids = TextAreaField(
        "Or: external ids, one per line (one link each, instead of the number above)",
        validators=[Optional(), Length(max=250_000)],
        description="E.g. the therapy platform's user ids. Only a keyed hash of each is "
        "stored, never the id itself.",
        render_kw={"rows": 4},
    )
    submit = SubmitField("Create links")

    def validate(self, extra_validators=None) -> bool:
        if not super().validate(extra_validators):
            return False
        if self.count.data is None and not (self.external_ids.data or "").strip():
            self.count.errors = [*self.count.errors, "Enter how many links to make."]
            return False
        return True


class LinksCsvForm(FlaskForm):
    links = HiddenField(validators=[InputRequired()])
    submit = SubmitField("Download as CSV")


class RegenerateLinkForm(FlaskForm):
    confirm = HiddenField()
    submit = SubmitField("Make a new link")


class EnrolmentForm(FlaskForm):
    cap = IntegerField(
        "Most participants the link may enrol",
        validators=[
            InputRequired("Enter a cap."),
            NumberRange(
                min=1,
                max=MAX_ENROLMENT_CAP,
                message=f"Enter a whole number from 1 to {MAX_ENROLMENT_CAP:,}.",
            ),
        ],
    )
    submit = SubmitField("Open enrolment")


class DisableEnrolmentForm(FlaskForm):
    disable = SubmitField("Close the link")
