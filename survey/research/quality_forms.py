"""Forms of the data-quality pages (survey.research.quality_views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    FloatField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from survey.models import Wave
from survey.services.data_quality import QualityRules
from survey.services.exclusions import MAX_REASON

SHOW_CHOICES = (
    ("flagged", "Flagged"),
    ("all", "All"),
    ("excluded", "Excluded"),
)


class QualityFilterForm(FlaskForm):
    """Which sessions the data-quality page lists (a GET form: no CSRF to protect)."""

    class Meta:
        csrf = False

    show = SelectField(
        "Show",
        choices=[SelectChoice(value, label) for value, label in SHOW_CHOICES],
        default="flagged",
    )
    wave = SelectField("Wave", validators=[Optional()], default="")
    page = IntegerField("Page", validators=[Optional(), NumberRange(min=1, max=1_000_000)])

    def set_waves(self, waves: list[Wave]) -> None:
        self.wave.choices = [
            SelectChoice("", "all waves"),
            *(SelectChoice(wave.key, wave.label) for wave in waves),
        ]


class QualityRulesForm(FlaskForm):
    """The study's thresholds and each rule on or off; field names are those of
    :class:`survey.services.data_quality.QualityRules` (the service's messages land on them)."""

    longstring_on = BooleanField("Flag straight-lining")
    longstring_at_least = IntegerField(
        "Longest run of identical answers at least",
        validators=[InputRequired("Enter the run length that raises the flag.")],
        description="Answers in the order each participant saw them, attention checks included.",
    )
    fast_on = BooleanField("Flag answering too fast")
    fast_below = FloatField(
        "Seconds per item below",
        validators=[InputRequired("Enter the seconds per item below which a session is flagged.")],
        description="Time on the submitted pages divided by the items and checks on them.",
    )
    mahalanobis_on = BooleanField("Flag unusual answer patterns (Mahalanobis distance)")
    mahalanobis_quantile = FloatField(
        "Chi-square quantile",
        validators=[InputRequired("Enter the quantile, e.g. 0.999.")],
        description="A complete session whose D² is above this quantile of the chi-square "
        "distribution is flagged.",
    )
    attention_on = BooleanField("Flag failed attention checks")
    attention_at_least = IntegerField(
        "Attention checks failed at least",
        validators=[InputRequired("Enter how many failed checks raise the flag.")],
    )
    submit = SubmitField("Save the rules")

    # (the rule's title, its on/off field, its threshold field), as the page lists them
    RULE_FIELDS = (
        ("Straight-lining", "longstring_on", "longstring_at_least"),
        ("Too fast", "fast_on", "fast_below"),
        ("Unusual pattern", "mahalanobis_on", "mahalanobis_quantile"),
        ("Attention checks", "attention_on", "attention_at_least"),
    )

    def fill(self, rules: QualityRules) -> None:
        """Show ``rules`` (the study's rules in force) in a fresh form."""
        for _title, on, threshold in self.RULE_FIELDS:
            getattr(self, on).data = getattr(rules, on)
            getattr(self, threshold).data = getattr(rules, threshold)

    def rules(self) -> QualityRules:
        """The rules as entered (checked by the service)."""
        values = {}
        for _title, on, threshold in self.RULE_FIELDS:
            values[on] = bool(getattr(self, on).data)
            values[threshold] = getattr(self, threshold).data
        return QualityRules(**values)


class _ReasonForm(FlaskForm):
    reason = TextAreaField(
        "Reason",
        validators=[Optional(), Length(max=MAX_REASON)],
        render_kw={"rows": 3},
        description="Kept with the exclusion, with your name and the time.",
    )


class ExcludeForm(_ReasonForm):
    submit = SubmitField("Exclude this session")


class IncludeForm(_ReasonForm):
    submit = SubmitField("Include it again")


class ExcludeFlaggedForm(_ReasonForm):
    wave = HiddenField()  # the wave the page showed (empty: all waves)
    submit = SubmitField("Exclude all flagged sessions")
