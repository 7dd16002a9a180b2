"""Who may open which page: the logged-in user, role checks, study ownership.

``roles_required`` is the one gate of the admin and research areas:

* anonymous (including a participant holding a link) → 302 to ``/login?next=...``
* logged in without the role → 403 (the friendly error page)
* admins pass every researcher check.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Blueprint, Flask, abort, g, redirect, render_template, request, url_for
from flask_login import current_user
from werkzeug.exceptions import HTTPException

from survey.extensions import db, login_manager
from survey.models import Role, Study, User

F = TypeVar("F", bound=Callable[..., Any])


def init_login_manager(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    app.before_request(_forget_cached_user)


def _forget_cached_user() -> None:
    # Flask-Login caches the user in `g`. A request normally gets a fresh `g`, but one made
    # while an app context is already pushed (a test, a CLI command) shares it: load the
    # user from this request's own session every time.
    g.pop("_login_user", None)


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """The active user behind a session id ``<user id>:<session token>``.

    Logout, a new password and deactivation rotate the token (survey.services.accounts),
    so a session made before, or a copy of its cookie, no longer matches.
    """
    user_id, _, token = session_id.partition(":")
    if not (user_id.isascii() and user_id.isdigit()) or not token:
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active:
        return None
    if not hmac.compare_digest(token.encode("utf-8"), user.session_token.encode("utf-8")):
        return None
    return user


def current_staff_user() -> User | None:
    """The logged-in user, or ``None``."""
    if current_user.is_authenticated:
        return current_user._get_current_object()  # the User itself, not the proxy
    return None


def login_redirect():
    """A redirect to the login page that comes back to the current page."""
    target = request.full_path if request.query_string else request.path
    return redirect(url_for("auth.login", next=target))


def roles_required(*roles: str) -> Callable[[F], F]:
    """Let a view through only for logged-in users holding one of ``roles``.

    ``roles_required(Role.RESEARCHER)`` admits admins as well.
    """
    unknown = set(roles) - set(Role.ALL)
    if not roles or unknown:
        raise ValueError(f"roles_required needs roles out of {Role.ALL}, got {roles!r}")

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            user = current_staff_user()
            if user is None:
                return login_redirect()
            if not user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]

    return decorator


def require_role_for_blueprint(*roles: str) -> Callable[[], Any]:
    """A ``before_request`` function applying :func:`roles_required` to a whole blueprint,
    so no view of it can be forgotten: ``bp.before_request(require_role_for_blueprint(...))``.
    """
    check = roles_required(*roles)(lambda: None)
    return check


def researcher_owns(study: Study, user: User | None = None) -> bool:
    """Whether ``user`` (default: the logged-in user) may see and manage ``study``.

    Admins own every study; a researcher owns the studies whose owner they are.
    """
    user = user if user is not None else current_staff_user()
    if user is None or not user.active:
        return False
    return user.is_admin or (user.role == Role.RESEARCHER and study.owner_id == user.id)


def require_study_access(study: Study) -> None:
    """Abort with 403 unless the logged-in user owns ``study`` (admins always do)."""
    if not researcher_owns(study):
        abort(403)


STAFF_MESSAGES = {
    403: ("Not available", "Your account does not give access to this page."),
    404: ("Page not found", "There is no such page, or what it showed no longer exists."),
}


def staff_error_page(error: HTTPException) -> Any:
    """An error page of the staff areas, in their layout (navigation, logout):
    ``bp.register_error_handler(403, staff_error_page)``."""
    code = error.code or 500
    title, message = STAFF_MESSAGES.get(code, (error.name, error.description or ""))
    return render_template("staff/error.html", status=code, title=title, message=message), code


def register_staff_error_pages(blueprint: Blueprint) -> None:
    for code in STAFF_MESSAGES:
        blueprint.register_error_handler(code, staff_error_page)


def safe_next_url(target: str | None) -> str | None:
    """``target`` when it is a path on this site, else ``None`` (no open redirects).

    >>> safe_next_url("/research/studies/3?tab=waves")
    '/research/studies/3?tab=waves'
    >>> [safe_next_url(t) for t in ("https://evil.example/", "//evil.example", "/\\\\evil")]
    [None, None, None]
    >>> safe_next_url("research") is None and safe_next_url("") is None
    True
    """
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return None
    if "\\" in target or any(ord(char) < 32 for char in target):
        return None
    return target
