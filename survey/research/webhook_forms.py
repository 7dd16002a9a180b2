"""The webhook endpoint form of the research area (survey.research.webhook_views).

The rules of an endpoint (https only, the events known) belong to
survey.services.webhooks.endpoints; the view puts its messages next to the fields.
"""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, SelectMultipleField, StringField, SubmitField
from wtforms.validators import DataRequired, Length
from wtforms.widgets import CheckboxInput, ListWidget

from survey.models import WebhookEvent
from survey.services.webhooks.endpoints import MAX_URL_LENGTH

EVENT_LABELS = {
    WebhookEvent.WAVE_OPENED: "wave.opened: a wave opens for a participant (time for a reminder)",
    WebhookEvent.SESSION_COMPLETED: "session.completed: a participant completes a wave",
    WebhookEvent.SAFETY_ALERT: "safety.alert: an answer reaches a safety item's threshold",
    WebhookEvent.PARTICIPANT_WITHDREW: "participant.withdrew: a participant stops taking part",
}


class EndpointForm(FlaskForm):
    """A new endpoint: its URL and the events it receives (all of them unless unticked)."""

    url = StringField(
        "Endpoint URL",
        validators=[
            DataRequired("Enter the endpoint's URL (https://...)."),
            Length(max=MAX_URL_LENGTH),
        ],
        description="Where the signed events are POSTed, e.g. https://chat.example.org/hooks/iemdp",
        render_kw={"type": "url", "autocomplete": "off", "spellcheck": "false"},
    )
    events = SelectMultipleField(
        "Events",
        choices=[SelectChoice(event, EVENT_LABELS[event]) for event in WebhookEvent.ALL],
        default=list(WebhookEvent.ALL),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
        validate_choice=False,  # the service names an unknown event (and none chosen)
    )
    submit = SubmitField("Add endpoint")
