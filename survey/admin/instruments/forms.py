"""Forms of the instrument-version console. Each edit form carries ``base_hash``: the draft's
content hash when the form was opened, so a save never overwrites someone else's newer one."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    HiddenField,
    IntegerField,
    RadioField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    DataRequired,
    InputRequired,
    NumberRange,
    Optional,
    StopValidation,
)

from survey.forms.instrument_upload import InstrumentFileForm


class DraftForm(FlaskForm):
    base_hash = HiddenField()


class NewVersionForm(FlaskForm):
    level = RadioField("Kind of change you plan", choices=[], validate_choice=False)
    version = StringField(
        "Or type a version number",
        validators=[Optional()],
        description="MAJOR.MINOR.PATCH, above the version you start from and not used yet.",
    )
    submit = SubmitField("Create the draft")

    def set_choices(self, choices: Iterable[tuple[str, str]]) -> None:
        explanations = {
            "patch": "typo-level wording fixes, title, intro, citation",
            "minor": "items added or reworded, order changed, attention checks",
            "major": "items removed, re-keyed or moved, response scale changed",
        }
        self.level.choices = [
            SelectChoice(level, f"{number} ({level}: {explanations[level]})")
            for level, number in choices
        ]


class MetadataForm(DraftForm):
    title = StringField("Title", validators=[DataRequired("Enter a title.")])
    citation = TextAreaField("Citation", validators=[DataRequired("Enter a citation.")])
    intro = TextAreaField(
        "Introduction shown to participants", validators=[DataRequired("Enter an introduction.")]
    )
    shuffle_items = BooleanField("Shuffle the items within a page")
    submit = SubmitField("Save")


class ItemForm(DraftForm):
    text = TextAreaField("Item text", validators=[DataRequired("Enter the item's text.")])
    reverse = BooleanField("Reverse-keyed (worded toward the low pole of its subconstruct)")
    optional = BooleanField("Optional (participants may skip it)")
    position = IntegerField(
        "Position within its subconstruct",
        validators=[
            InputRequired("Enter a position."),
            NumberRange(min=1, message="Positions start at 1."),
        ],
    )
    submit = SubmitField("Save item")


class NewItemForm(DraftForm):
    subconstruct = SelectField("Subconstruct", choices=[], validate_choice=True)
    text = TextAreaField("Item text", validators=[DataRequired("Enter the item's text.")])
    reverse = BooleanField("Reverse-keyed (worded toward the low pole of its subconstruct)")
    optional = BooleanField("Optional (participants may skip it)")
    submit = SubmitField("Add item")


class CheckForm(DraftForm):
    text = TextAreaField("Text", validators=[DataRequired("Enter the text.")])
    expected = SelectField("Expected answer", coerce=int, choices=[])
    page = SelectField("Shown on the page of", choices=[])
    position = IntegerField(
        "Position on that page (0 = first)",
        validators=[
            InputRequired("Enter a position."),
            NumberRange(min=0, message="Positions start at 0."),
        ],
    )
    optional = BooleanField("Optional (participants may skip it)")
    submit = SubmitField("Save attention check")


class ScalesForm(DraftForm):
    submit = SubmitField("Save response scales")


class ScaleOptionsField(TextAreaField):
    """A response scale's options, one ``value, label`` per line; after validation
    ``options`` holds the ``(value, label)`` pairs, and every malformed line is an error."""

    options: list[tuple[int, str]]

    def pre_validate(self, form) -> None:
        self.options, errors = parse_options(self.data or "")
        if errors:
            self.errors.extend(errors)
            raise StopValidation()


def options_text(options: Iterable[Mapping[str, object]]) -> str:
    """The options of a stored response scale as the field shows them."""
    return "\n".join(f"{option['value']}, {option['label']}" for option in options)


def parse_options(text: str) -> tuple[list[tuple[int, str]], list[str]]:
    """``(value, label)`` pairs of the non-blank lines of ``text``, and an error per line
    that is not ``value, label``."""
    options, errors = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        value, sep, label = line.partition(",")
        try:
            parsed = int(value.strip())
        except ValueError:
            parsed = None
        if not sep or parsed is None or not label.strip():
            errors.append(f"line {number}: write value, label (e.g. 1, Strongly disagree)")
            continue
        options.append((parsed, label.strip()))
    return options, errors


def scales_form(keys: Iterable[str], **kwargs) -> ScalesForm:
    """A form with one text area per response scale (a fresh subclass per draft)."""
    fields = {
        f"scale_{key}": ScaleOptionsField(
            f"Options of {key}",
            description="One option per line: value, label (e.g. 1, Strongly disagree).",
        )
        for key in keys
    }
    return type("DraftScalesForm", (ScalesForm,), fields)(**kwargs)


class YamlForm(DraftForm):
    content = TextAreaField("Instrument file (YAML)", validators=[DataRequired("Enter the file.")])
    submit = SubmitField("Save")


class ConfirmForm(FlaskForm):
    """A button behind CSRF protection (remove item, retire, discard)."""

    base_hash = HiddenField()
    submit = SubmitField("Confirm")


class PublishForm(FlaskForm):
    version = StringField("Version number", validators=[DataRequired("Enter the version number.")])
    submit = SubmitField("Publish")


class ImportForm(InstrumentFileForm):
    publish = BooleanField("Publish immediately (otherwise it is imported as a draft)")
    submit = SubmitField("Import")
