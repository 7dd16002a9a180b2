"""/login and /logout for staff (admins and researchers).

Failed attempts are rate-limited per e-mail address and remote address (and per remote
address alone); only failures count, so a successful login is never slowed down by them.
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
from flask_limiter import RateLimitExceeded
from flask_limiter.util import get_remote_address
from flask_login import login_user, logout_user

from survey.auth.access import current_staff_user, safe_next_url
from survey.auth.forms import LoginForm, LogoutForm
from survey.extensions import db, limiter
from survey.models import User
from survey.services import accounts

bp = Blueprint("auth", __name__, template_folder="templates")

RATE_LIMITED_MESSAGE = (
    "Too many failed attempts. For your security, logging in is paused for a while; "
    "please try again in 15 minutes."
)


@bp.after_request
def private_page(response: Response) -> Response:
    response.headers["Cache-Control"] = "no-store"
    return response


def _email_and_address() -> str:
    email = accounts.normalise_email(request.form.get("email", ""))[:254]
    return f"login:{email}|{get_remote_address()}"


def _address() -> str:
    return f"login-address:{get_remote_address()}"


def _login_failed(_response: Response) -> bool:
    return bool(g.get("login_failed"))


@bp.errorhandler(RateLimitExceeded)
def rate_limited(_error: RateLimitExceeded) -> Response:
    # The address is logged (not stored): an operator sees who is guessing passwords.
    current_app.logger.warning("login rate limit reached from %s", get_remote_address())
    html = render_template("auth/login.html", form=LoginForm(), error=RATE_LIMITED_MESSAGE)
    return Response(html, status=429, headers={"Retry-After": "900"})


def home_for(user: User) -> str:
    return url_for("admin.dashboard") if user.is_admin else url_for("research.dashboard")


@bp.get("/")
def home():
    """The site root: staff go to their area, everyone else to the login page (participants
    arrive through their own links, never through the root)."""
    user = current_staff_user()
    return redirect(home_for(user) if user is not None else url_for(".login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURE_LIMIT"],
    key_func=_email_and_address,
    methods=["POST"],
    deduct_when=_login_failed,
)
@limiter.limit(
    lambda: current_app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"],
    key_func=_address,
    methods=["POST"],
    deduct_when=_login_failed,
)
def login():
    user = current_staff_user()
    if user is not None:
        return redirect(home_for(user))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next_url(request.args.get("next"))
        return render_template("auth/login.html", form=form)
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form), 400
    user = accounts.authenticate(form.email.data or "", form.password.data or "")
    db.session.commit()
    if user is None:
        g.login_failed = True
        error = "The e-mail address or the password is not right."
        return render_template("auth/login.html", form=form, error=error), 200
    login_user(user)
    return redirect(safe_next_url(form.next.data) or home_for(user))


@bp.post("/logout")
def logout():
    form = LogoutForm()
    user = current_staff_user()
    if form.validate_on_submit() and user is not None:
        accounts.record_logout(user)
        db.session.commit()
        logout_user()
    return redirect(url_for(".login"))
