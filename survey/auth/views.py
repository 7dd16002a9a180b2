"""/login and /logout for staff (admins and researchers).

Failed attempts are rate-limited per e-mail address and remote address, and per remote
address alone (survey.auth.rate_limits): every POST that does not log in counts, whatever
refused it; a successful login never counts and is never slowed down by them.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_limiter.util import get_remote_address
from flask_login import login_user, logout_user

from survey.auth import rate_limits
from survey.auth.access import current_staff_user, safe_next_url
from survey.auth.forms import LoginForm, LogoutForm
from survey.extensions import db
from survey.models import User
from survey.services import accounts

bp = Blueprint("auth", __name__, template_folder="templates")

RATE_LIMITED_MESSAGE = (
    "Too many failed attempts. For your security, logging in is paused for a while; "
    "please try again in 15 minutes."
)
COUNTERS_UNAVAILABLE_MESSAGE = (
    "Logging in is not possible for a moment (a service the login needs does not answer). "
    "Please try again in a minute."
)


@bp.after_request
def private_page(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _attempted_email() -> str:
    try:
        email = request.form.get("email", "")
    except Exception:  # an unreadable body (often why the attempt failed) names no e-mail
        email = ""
    return accounts.normalise_email(email)[: accounts.EMAIL_MAX_LENGTH]


def _login_counters() -> rate_limits.LoginCounters:
    return rate_limits.login_counters(current_app, _attempted_email(), get_remote_address())


@bp.teardown_request
def count_failed_login(_error: BaseException | None) -> None:
    # At teardown, so that an attempt refused before the view ran (CSRF, a bad body) or
    # ended by an error counts as well: everything but a login or a paused attempt.
    if request.endpoint != "auth.login" or request.method != "POST":
        return
    if g.pop("login_not_counted", False):
        return
    try:
        _login_counters().count_failure()
    except rate_limits.CountersUnavailable as error:
        # The response is sent already; the attempt could not be refused more than it was.
        current_app.logger.error("failed login not counted: %s", error)


@bp.errorhandler(rate_limits.CountersUnavailable)
def counters_unavailable(error: rate_limits.CountersUnavailable) -> Response:
    # Fail closed: without the counters nobody could tell a guesser from a colleague.
    current_app.logger.error("login refused: %s", error)
    g.login_not_counted = True
    html = render_template("auth/login.html", form=LoginForm(), error=COUNTERS_UNAVAILABLE_MESSAGE)
    return Response(html, status=503, headers={"Retry-After": "30"})


def rate_limited(counters: rate_limits.LoginCounters) -> Response:
    # The address is logged (not stored): an operator sees who is guessing passwords.
    current_app.logger.warning("login rate limit reached from %s", get_remote_address())
    html = render_template("auth/login.html", form=LoginForm(), error=RATE_LIMITED_MESSAGE)
    return Response(html, status=429, headers={"Retry-After": str(counters.retry_after())})


def home_for(user: User) -> str:
    return url_for("admin.dashboard") if user.is_admin else url_for("research.dashboard")


@bp.get("/")
def home():
    """The site root: staff go to their area, everyone else to the login page (participants
    arrive through their own links, never through the root)."""
    user = current_staff_user()
    return redirect(home_for(user) if user is not None else url_for(".login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    user = current_staff_user()
    if user is not None:
        g.login_not_counted = True
        return redirect(home_for(user))
    form = LoginForm()
    if request.method != "POST":  # GET and HEAD
        form.next.data = safe_next_url(request.args.get("next"))
        return render_template("auth/login.html", form=form)
    counters = _login_counters()
    if counters.account_blocked():
        g.login_not_counted = True  # paused attempts record nothing and count nothing
        return rate_limited(counters)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400
    # Over the address limit, only the right password of an account that is not over its
    # own limit gets through; a failure is refused like a paused attempt, but counts.
    address_blocked = counters.address_blocked()
    user = accounts.authenticate(
        form.email.data or "", form.password.data or "", audit_failure=not address_blocked
    )
    db.session.commit()
    if user is None:
        if address_blocked:
            return rate_limited(counters)
        error = "The e-mail address or the password is not right."
        return render_template("auth/login.html", form=form, error=error), 200
    g.login_not_counted = True
    login_user(user)
    return redirect(safe_next_url(form.next.data) or home_for(user))


@bp.post("/logout")
def logout():
    form = LogoutForm()
    user = current_staff_user()
    if form.validate_on_submit() and user is not None:
        accounts.log_out(user)
        db.session.commit()
        logout_user()
    return redirect(url_for(".login"))
