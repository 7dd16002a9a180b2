"""``/api/v1``: the JSON API for machines (a messaging-therapy platform), authenticated with
a study's API key, described by an OpenAPI 3.1 document (:mod:`.spec`), answering every
error as RFC 9457 problem details (:mod:`.problems`)."""

from __future__ import annotations

from flask import Blueprint, Flask

from survey.api.problems import ApiProblem

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def init_api(app: Flask) -> None:
    # importing registers the views on bp
    from survey.api import delivery, fhir, outcomes, participants, views  # noqa: F401
    from survey.api.spec import spec
    from survey.extensions import csrf, db

    @app.errorhandler(ApiProblem)
    def handle_problem(problem: ApiProblem):
        db.session.rollback()
        return problem.response()

    csrf.exempt(bp)
    app.register_blueprint(bp)
    spec.register(app)
