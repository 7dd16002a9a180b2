"""The collaborators form of the research area (survey.research.monitoring_views)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice, StringField, SubmitField
from wtforms.validators import DataRequired, InputRequired, Length

from survey.models import MemberRole


class GrantForm(FlaskForm):
    """Share the study with a researcher by e-mail, or change their role."""

    email = StringField(
        "E-mail address of the researcher",
        validators=[DataRequired("Enter an e-mail address."), Length(max=254)],
        render_kw={"type": "email", "autocomplete": "off", "spellcheck": "false"},
    )
    role = RadioField(
        "Role",
        choices=[
            SelectChoice(MemberRole.VIEWER, "Viewer: sees, exports and analyses"),
            SelectChoice(MemberRole.EDITOR, "Editor: also manages participants and waves"),
        ],
        default=MemberRole.VIEWER,
        validators=[InputRequired("Choose a role.")],
    )
    submit = SubmitField("Share")
