"""Forms of the participant area; the questionnaire pages come from survey.forms."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SubmitField

from survey.forms import PageForm, make_page_form
from survey.models import ConsentDecision
from survey.services.participation import PageView


class ConsentForm(FlaskForm):
    class Meta:
        csrf = False  # the participate blueprint checks its session-free form token

    agree = SubmitField("I agree")
    decline = SubmitField("I do not agree")

    def decision(self) -> str | None:
        """The button pressed, as a consent decision (``None`` when neither was)."""
        if self.agree.data:
            return ConsentDecision.GIVEN
        if self.decline.data:
            return ConsentDecision.DECLINED
        return None


def page_form(view: PageView, saved: dict[str, int | None] | None = None) -> PageForm:
    """The form of a questionnaire page, pre-filled with the answers ``saved`` before."""
    return make_page_form(view.definition, view.page, view.entries, data=saved)
