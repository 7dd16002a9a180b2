"""Forms of the validation pages (survey.research.validation_views).

The rules of a run's inputs (a known wave, a seed from 0 to 2**32 - 1) and of a hypothesis
(its grammar, its length) belong to the services (survey.services.validation_runs,
survey.services.hypotheses); these forms read the fields (a wave among the study's, a
whole number for the seed) and the views put the services' messages next to them.
"""

from __future__ import annotations

from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, IntegerField, SelectChoice, SelectField, StringField, SubmitField
from wtforms.validators import InputRequired

from survey.models import Wave
from survey.services.validation_runs import MAX_SEED

SEED_MESSAGE = f"Enter the seed: a whole number from 0 to {MAX_SEED}."


class ValidationForm(FlaskForm):
    """What a validation run is asked for: a wave or all, excluded sessions in or out, the
    seed of its random parts."""

    wave = SelectField("Wave", default="")
    include_excluded = BooleanField(
        "Include excluded sessions",
        description="Left out by default: the report says how many were left out.",
    )
    seed = IntegerField(
        "Seed",
        default=1,
        validators=[InputRequired(SEED_MESSAGE)],
        description="Seeds the random parts (parallel analysis): the same data and seed give "
        "the same report.",
    )
    group = SelectField(
        "Compare groups (measurement invariance)",
        default="",
        description="Configural, metric, scalar and strict invariance across these groups.",
    )
    submit = SubmitField("Validate")

    def set_waves(self, waves: list[Wave]) -> None:
        self.wave.choices = [
            SelectChoice("", "All waves"),
            *(SelectChoice(wave.key, wave.label) for wave in waves),
        ]

    def set_groups(self, names: list[str]) -> None:
        labels = {"delivery_mode": "Delivery mode (web vs chat)"}
        self.group.choices = [
            SelectChoice("", "Automatic: delivery mode when both are used"),
            *(SelectChoice(name, labels.get(name, name)) for name in names),
        ]

    def run_arguments(self) -> dict[str, Any]:
        """The keyword arguments of :func:`survey.services.validation_runs.request_run`."""
        return {
            "wave": self.wave.data or None,
            "include_excluded": bool(self.include_excluded.data),
            "seed": self.seed.data,
            "group": self.group.data or None,
        }


class HypothesisForm(FlaskForm):
    """One hypothesis, as the researcher writes it (read by survey.services.hypotheses)."""

    text = StringField("Hypothesis", render_kw={"autocomplete": "off", "spellcheck": "false"})
    submit = SubmitField("State the hypothesis")
