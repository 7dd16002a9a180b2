"""The admin area: dashboard, users, audit log (filters, CSV export, one event); the
instrument console is nested in it (survey.admin.instruments).

Admins only: a before_request gate covers every view of the blueprint and of its nested
blueprints, including ones added later. Views read input, call a service, commit once,
choose a response.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from sqlalchemy import func, select

from survey.admin.forms import AuditFilterForm, CreateUserForm, UserActiveForm
from survey.admin.instruments.views import bp as instruments_bp
from survey.auth.access import (
    current_staff_user,
    register_staff_error_pages,
    require_role_for_blueprint,
)
from survey.extensions import db
from survey.models import AuditAction, AuditEvent, Role, Study, User
from survey.services import accounts, audit

bp = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")
# The gate, the staff error pages and the no-store header below are declared once here and
# cover the nested blueprints of the area too (their endpoints are admin.<name>.<view>).
bp.before_request(require_role_for_blueprint(Role.ADMIN))
register_staff_error_pages(bp)
bp.register_blueprint(instruments_bp)  # /admin/instruments/...

# The audit page shows this many events; the CSV export holds every matching one.
AUDIT_PAGE_LIMIT = 500


@bp.after_request
def private_page(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _admin() -> User:
    user = current_staff_user()
    assert user is not None  # the blueprint gate let only admins in
    return user


@bp.get("/")
def dashboard():
    counts = {
        "users": db.session.scalar(select(func.count()).select_from(User)),
        "studies": db.session.scalar(select(func.count()).select_from(Study)),
        "audit_events": db.session.scalar(select(func.count()).select_from(AuditEvent)),
    }
    events = audit.query_events(limit=10)
    return render_template(
        "admin/dashboard.html", counts=counts, events=events, names=audit.target_names(events)
    )


# -- users -----------------------------------------------------------------------------------
@bp.route("/users", methods=["GET", "POST"])
def users():
    form = CreateUserForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = accounts.create_user(
                form.email.data or "",
                form.password.data or "",
                form.role.data,
                actor=_admin(),
            )
        except accounts.WeakPassword as error:
            form.password.errors = [*form.password.errors, str(error)]
            status = 422
        except accounts.AccountError as error:
            form.email.errors = [*form.email.errors, str(error)]
            status = 422
        else:
            db.session.commit()
            flash(f"User {user.email} ({user.role}) created.")
            return redirect(url_for(".users"))
    elif request.method == "POST":
        status = 422
    return render_template(
        "admin/users.html", form=form, users=accounts.list_users(), toggle=UserActiveForm()
    ), status


@bp.post("/users/<int:user_id>/active")
def user_active(user_id: int):
    user = db.session.get(User, user_id) or abort(404)
    form = UserActiveForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        accounts.set_active(user, form.active.data == "1", actor=_admin())
    except accounts.AccountError as error:
        flash(str(error))
    else:
        db.session.commit()
        flash(f"{user.email} is now {'active' if user.active else 'deactivated'}.")
    return redirect(url_for(".users"))


# -- audit log -------------------------------------------------------------------------------
def _audit_filter() -> tuple[AuditFilterForm, audit.EventFilter | None]:
    form = AuditFilterForm(formdata=request.args)
    form.set_actions(audit.known_actions())
    if not form.validate():
        return form, None
    return form, audit.EventFilter(
        actor=form.actor.data or None,
        action=form.action.data or None,
        target_type=(form.target_type.data or "").strip() or None,
        target_id=(form.target_id.data or "").strip() or None,
        date_from=form.date_from.data,
        date_to=form.date_to.data,
    )


@bp.get("/audit", endpoint="audit")
def audit_log():
    form, event_filter = _audit_filter()
    if event_filter is None:
        return render_template("admin/audit.html", form=form, events=[], names={}, limit=0), 400
    events = audit.query_events(event_filter, limit=AUDIT_PAGE_LIMIT + 1)
    shown = events[:AUDIT_PAGE_LIMIT]
    return render_template(
        "admin/audit.html",
        form=form,
        events=shown,
        names=audit.target_names(shown),
        truncated=len(events) > AUDIT_PAGE_LIMIT,
        limit=AUDIT_PAGE_LIMIT,
        query=request.query_string.decode("ascii", "replace"),
    )


@bp.get("/audit.csv")
def audit_csv():
    form, event_filter = _audit_filter()
    if event_filter is None:
        abort(400)
    text = audit.events_csv(audit.query_events(event_filter))
    audit.record(
        AuditAction.EXPORT_DOWNLOADED,
        actor=_admin(),
        target_type="audit_log",
        hash_after=audit.text_hash(text),
        details={"export": "audit_log_csv", "filters": _filters_for_details(event_filter)},
    )
    db.session.commit()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="audit-log-{stamp}.csv"'},
    )


def _filters_for_details(event_filter: audit.EventFilter) -> dict[str, str]:
    return {
        name: str(value) for name, value in vars(event_filter).items() if value not in (None, "")
    }


@bp.get("/audit/<int:event_id>")
def audit_event(event_id: int):
    event = db.session.get(AuditEvent, event_id) or abort(404)
    return render_template("admin/audit_event.html", event=event, names=audit.target_names([event]))
