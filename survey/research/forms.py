"""Forms of the research area."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectField, StringField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from survey.models import InstrumentVersion


class NewStudyForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=200)])
    slug = StringField(
        "Short name in links and files",
        validators=[DataRequired("Enter a short name."), Length(min=3, max=100)],
        description="Lower-case letters, digits and '-', e.g. iemdp-validation-2026.",
    )
    instrument_version = SelectField(
        "Instrument version", coerce=int, validators=[DataRequired("Choose a version.")]
    )
    consent_version = StringField(
        "Consent text version",
        default="1",
        validators=[DataRequired("Enter a version."), Length(max=32)],
    )
    consent_text = TextAreaField(
        "Consent text", validators=[DataRequired("Enter the consent text.")], render_kw={"rows": 8}
    )
    urgent_help_note = TextAreaField(
        "Urgent-help note (shown on every participant page)",
        validators=[DataRequired("Enter where participants find urgent help.")],
        render_kw={"rows": 3},
    )
    first_wave_label = StringField(
        "First wave", default="Baseline", validators=[DataRequired(), Length(max=200)]
    )
    submit = SubmitField("Create study")

    def set_versions(self, versions: list[InstrumentVersion]) -> None:
        self.instrument_version.choices = [
            SelectChoice(
                str(version.id),
                f"{version.instrument.title} ({version.instrument.key} {version.version})",
            )
            for version in versions
        ]
