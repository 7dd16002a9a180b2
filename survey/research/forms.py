"""Forms of the research area: a study's settings, its waves, an instrument import.

Select fields never get a ``size``: a select is one line with its choice shown.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from survey.forms.instrument_upload import InstrumentFileForm
from survey.models import InstrumentVersion, WithdrawalPolicy
from survey.services.studies import WITHDRAWAL_WORDS

NONE_CHOICE = SelectChoice("", "— none —")
# The optional selects after the first instrument: a battery asks at most five.
THEN_FIELDS = ("then_2", "then_3", "then_4", "then_5")


def version_label(version: InstrumentVersion) -> str:
    # Key and version first: a narrow screen cuts the end of a select's text off.
    return f"{version.instrument.key} {version.version} – {version.instrument.title}"


class OpenStudySettingsForm(FlaskForm):
    """What may change once a study has opened."""

    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=200)])
    team_contact = TextAreaField(
        "Study-team contact (shown on every participant page)",
        validators=[DataRequired("Enter how participants reach the study team.")],
        description="Who runs the study and how participants reach them, e.g. "
        "“IEM-DP study team, study-team@clinic.example, 020 7946 0000”.",
        render_kw={"rows": 3},
    )
    urgent_help_note = TextAreaField(
        "Urgent-help note (shown on every participant page)",
        validators=[DataRequired("Enter where participants find urgent help.")],
        render_kw={"rows": 3},
    )
    submit = SubmitField("Save changes")


class DraftStudySettingsForm(OpenStudySettingsForm):
    """Everything a draft study may change."""

    slug = StringField(
        "Short name in links and files",
        validators=[DataRequired("Enter a short name."), Length(max=100)],
        description="3 to 100 lower-case letters, digits and '-', e.g. iemdp-validation-2027.",
    )
    first_instrument = SelectField("First instrument", validators=[DataRequired("Choose one.")])
    then_2 = SelectField("Then (2nd instrument)", default="")
    then_3 = SelectField("Then (3rd instrument)", default="")
    then_4 = SelectField("Then (4th instrument)", default="")
    then_5 = SelectField("Then (5th instrument)", default="")
    consent_version = StringField(
        "Consent text version",
        default="1",
        validators=[DataRequired("Enter a version."), Length(max=32)],
    )
    consent_text = TextAreaField(
        "Consent text", validators=[DataRequired("Enter the consent text.")], render_kw={"rows": 8}
    )
    withdrawal_policy = RadioField(
        "If a participant stops taking part",
        choices=[
            SelectChoice(WithdrawalPolicy.KEEP, WITHDRAWAL_WORDS[WithdrawalPolicy.KEEP]),
            SelectChoice(WithdrawalPolicy.EXCLUDE, WITHDRAWAL_WORDS[WithdrawalPolicy.EXCLUDE]),
        ],
        default=WithdrawalPolicy.KEEP,
        validators=[DataRequired("Choose what happens to the answers.")],
        description="Say the same, in these words, in the consent text: participants read "
        "it before they agree.",
    )

    def set_versions(self, choices: list[InstrumentVersion]) -> None:
        options = [SelectChoice(str(version.id), version_label(version)) for version in choices]
        self.first_instrument.choices = options
        for name in THEN_FIELDS:
            self[name].choices = [NONE_CHOICE, *options]

    def battery_fields(self) -> list[Any]:
        return [self.first_instrument, *(self[name] for name in THEN_FIELDS)]

    def battery_ids(self) -> list[int]:
        """The chosen versions' ids in order (the empty "— none —" choices left out)."""
        return [int(field.data) for field in self.battery_fields() if field.data]

    def show_battery(self, battery: list[InstrumentVersion]) -> None:
        """Pre-select ``battery`` (a study's current one)."""
        fields = self.battery_fields()
        for field, version in zip(fields, battery, strict=False):
            field.data = str(version.id)
        for field in fields[len(battery) :]:
            field.data = ""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        seen: set[str] = set()
        for field in self.battery_fields():
            if not field.data:
                continue
            if field.data in seen:
                field.errors = [
                    *field.errors,
                    "This version is in the battery already: choose another, or — none —.",
                ]
                valid = False
            seen.add(field.data)
        return valid


class NewStudyForm(DraftStudySettingsForm):
    slug = StringField(
        "Short name in links and files",
        validators=[Optional(), Length(max=100)],
        description="Leave it blank to make one from the name. 3 to 100 lower-case "
        "letters, digits and '-', e.g. iemdp-validation-2027.",
    )
    first_wave_label = StringField(
        "First wave (opens at each participant's enrolment)",
        default="Baseline",
        validators=[DataRequired("Enter a label."), Length(max=200)],
    )
    submit = SubmitField("Create study")


class StudyStatusForm(FlaskForm):
    """A move along the study's lifecycle; ``confirm`` is set on the confirmation page."""

    status = HiddenField(validators=[DataRequired()])
    confirm = HiddenField()


SCHEDULES = (
    SelectChoice("relative", "Relative to each participant's enrolment"),
    SelectChoice("fixed", "On fixed dates"),
    SelectChoice("none", "No schedule: answerable while the wave is open"),
)


class WaveForm(FlaskForm):
    """A wave's label and schedule (adding one, or editing it)."""

    label = StringField("Label", validators=[DataRequired("Enter a label."), Length(max=200)])
    schedule = RadioField("Schedule", choices=list(SCHEDULES), default="relative")
    offset_days = IntegerField(
        "Opens this many days after enrolment",
        validators=[Optional()],
        description="0 opens it at enrolment.",
        render_kw={"inputmode": "numeric"},
    )
    window_days = IntegerField(
        "Open for this many days (optional)",
        validators=[Optional()],
        description="Leave it blank to keep it open with no end.",
        render_kw={"inputmode": "numeric"},
    )
    opens_on = DateField("First day", validators=[Optional()])
    closes_on = DateField(
        "Last day",
        validators=[Optional()],
        description="Fixed dates are in UTC: the wave opens at 00:00 on the first day and "
        "closes at the end of the last day (midnight after it).",
    )
    submit = SubmitField("Add the wave")

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.schedule.data == "relative" and self.offset_days.data is None:
            if not self.offset_days.errors:
                self.offset_days.errors = ["Enter the number of days after enrolment."]
            valid = False
        if (
            self.schedule.data == "fixed"
            and self.opens_on.data is None
            and self.closes_on.data is None
            and not (self.opens_on.errors or self.closes_on.errors)
        ):
            self.opens_on.errors = ["Enter the first day, the last day, or both."]
            valid = False
        return valid

    def show_wave(self, wave: Any, first_day: Any, last_day: Any) -> None:
        self.label.data = wave.label
        if wave.offset_days is not None:
            self.schedule.data = "relative"
        elif wave.opens_at is not None or wave.closes_at is not None:
            self.schedule.data = "fixed"
        else:
            self.schedule.data = "none"
        self.offset_days.data = wave.offset_days
        self.window_days.data = wave.window_days
        self.opens_on.data, self.closes_on.data = first_day, last_day


class WaveStatusForm(FlaskForm):
    """Open or close a wave by hand."""

    action = HiddenField(validators=[DataRequired()])


class ImportInstrumentForm(InstrumentFileForm):
    submit = SubmitField("Import and publish")
