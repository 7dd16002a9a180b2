"""The research area's blueprint, its gate and the one way its views find a study.

Researchers and admins only (a before_request gate covers every view). The views live in
modules by topic (survey.research.views and the modules it imports); each finds its study
with :func:`study_for`, which answers 404 for no such study and 403 below the access the
view needs (survey.services.study_access).
"""

from __future__ import annotations

from flask import Blueprint, Response, abort

from survey.auth.access import (
    current_staff_user,
    register_staff_error_pages,
    require_role_for_blueprint,
)
from survey.extensions import db
from survey.models import Role, Study, User
from survey.services import study_access

bp = Blueprint("research", __name__, url_prefix="/research", template_folder="templates")
bp.before_request(require_role_for_blueprint(Role.RESEARCHER))
register_staff_error_pages(bp)


@bp.after_request
def private_page(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def current_researcher() -> User:
    user = current_staff_user()
    assert user is not None  # the blueprint gate let only staff in
    return user


def study_for(study_id: int, need: str = study_access.VIEW) -> Study:
    """The study, if the logged-in user has at least ``need`` access; else 404/403."""
    study = db.session.get(Study, study_id)
    if study is None:
        abort(404)
    if not study_access.allows(study_access.access_level(study, current_researcher()), need):
        abort(403)
    return study


def access_of(study: Study) -> str | None:
    """The logged-in user's access level to ``study`` (for templates: what to offer)."""
    return study_access.access_level(study, current_researcher())
