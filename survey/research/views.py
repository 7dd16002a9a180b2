"""The research area: the list of a user's studies, answers CSV
(a new study and its set-up: setup_views).

The blueprint, its gate and :func:`study_for` are in survey.research.blueprint; views by
topic are in the modules imported at the end of this one.
"""

from __future__ import annotations

from flask import Response, render_template

from survey.extensions import db
from survey.research.blueprint import bp, current_researcher, study_for
from survey.services import answer_export, research, study_dashboard

_user = current_researcher


def _own_study(study_id: int):
    return study_for(study_id)


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


@bp.get("/studies/<int:study_id>/answers.csv")
def answers_csv(study_id: int):
    study = _own_study(study_id)
    export = answer_export.export_answers(study, actor=_user())
    db.session.commit()
    return Response(
        export.text,
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{export.filename}"',
            "X-Content-SHA256": export.sha256,
        },
    )


# Views by topic register on the same blueprint.
from survey.research import (  # noqa: E402, F401
    monitoring_views,
    participant_views,
    preview_views,
    setup_views,
)
