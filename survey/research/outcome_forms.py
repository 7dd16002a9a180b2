"""The form of the outcomes page (survey.research.outcome_views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SubmitField

from survey.services.outcomes import MAX_UPLOAD_BYTES


class OutcomeUploadForm(FlaskForm):
    """One CSV file of outcomes or covariates; everything else is read from the file."""

    file = FileField(
        "Outcomes file (CSV)",
        validators=[FileRequired("Choose a CSV file to upload.")],
        description=f"Comma-separated, UTF-8, at most {MAX_UPLOAD_BYTES // 1_000_000} MB.",
        render_kw={"accept": ".csv,text/csv"},
    )
    submit = SubmitField("Upload outcomes")
