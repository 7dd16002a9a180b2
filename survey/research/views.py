"""The research area: the list of a user's studies (a new study and its set-up:
setup_views; the exports and the old answers CSV URL: export_views).

The blueprint, its gate and :func:`study_for` are in survey.research.blueprint; views by
topic are in the modules imported at the end of this one.
"""

from __future__ import annotations

from flask import render_template

from survey.research.blueprint import bp, current_researcher
from survey.services import research, study_dashboard

_user = current_researcher


@bp.get("/")
def dashboard():
    user = _user()
    studies = research.studies_for(user)
    return render_template(
        "research/dashboard.html",
        studies=studies,
        rows=study_dashboard.study_list(studies, user),  # battery, access, open alerts
        show_owner=user.is_admin,
    )


# Views by topic register on the same blueprint.
from survey.research import (  # noqa: E402, F401
    api_key_views,
    export_views,
    monitoring_views,
    outcome_views,
    participant_views,
    preview_views,
    quality_views,
    setup_views,
    validation_views,
    webhook_views,
)
