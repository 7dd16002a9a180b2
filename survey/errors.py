"""Friendly error pages (JSON under /api/): a participant never sees a stack trace."""

from __future__ import annotations

from flask import Flask, current_app, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import OperationalError
from werkzeug.exceptions import HTTPException, ServiceUnavailable

from survey.extensions import db

MESSAGES = {
    400: (
        "Something went wrong with this page",
        "The page could not be sent. Nothing was saved. Please open your link again.",
    ),
    403: ("Not available", "This page is not available to you."),
    404: (
        "Page not found",
        "We could not find this page. If you typed the address, please check it, or open "
        "the link from your invitation again.",
    ),
    405: ("Not possible here", "This page cannot be used that way. Please open your link again."),
    500: (
        "Something went wrong on our side",
        "We are sorry: the page could not be shown. Your saved answers are safe. Please try "
        "again in a few minutes.",
    ),
    503: (
        "Busy right now",
        "The page could not be saved because the system is busy. Nothing from this page was "
        "saved; your earlier answers are safe. Please wait a few seconds and send it again.",
    ),
}
CSRF_MESSAGE = (
    "This page has expired or was sent from somewhere else, so nothing was saved. Please open "
    "your link again and continue."
)


# Seconds a client is asked to wait (Retry-After) when the database was busy.
DATABASE_BUSY_RETRY_AFTER = 5
# PostgreSQL SQLSTATEs of a busy database: serialization_failure, deadlock_detected,
# lock_not_available (lock_timeout), query_canceled (statement_timeout).
POSTGRESQL_BUSY_STATES = frozenset({"40001", "40P01", "55P03", "57014"})


class ExplainedHTTPException(HTTPException):
    """An HTTP error whose ``description`` is written for the person who sent the request:
    the error page shows it instead of the general message of its status."""


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(OperationalError, handle_operational_error)


def database_busy(error: OperationalError) -> bool:
    """Whether ``error`` says the database was busy (locked, a lock or serialization
    timeout), so the same request may succeed a few seconds later."""
    original = error.orig
    if getattr(original, "sqlstate", None) in POSTGRESQL_BUSY_STATES:
        return True
    # sqlite3: SQLITE_BUSY ("database is locked") and SQLITE_LOCKED, with their extended codes.
    name = getattr(original, "sqlite_errorname", "") or ""
    return name.startswith(("SQLITE_BUSY", "SQLITE_LOCKED")) or "database is locked" in str(
        original
    )


def handle_operational_error(error: OperationalError):
    """A busy database is a 503 with Retry-After (nothing of the request is kept); any
    other database error stays what it is, a 500."""
    if not database_busy(error):
        raise error
    db.session.rollback()
    response = handle_http_exception(ServiceUnavailable(retry_after=DATABASE_BUSY_RETRY_AFTER))
    response = current_app.make_response(response)
    response.headers["Retry-After"] = str(DATABASE_BUSY_RETRY_AFTER)
    return response


def api_problem(error: HTTPException, code: int, message: str):
    """An HTTP error under /api/ as RFC 9457 problem details (with the error's headers,
    e.g. Retry-After and Allow)."""
    from survey.api.problems import ApiProblem

    headers = {
        name: value
        for name, value in error.get_headers()
        if name.lower() in ("retry-after", "allow", "www-authenticate")
    }
    detail = (
        message if isinstance(error, ExplainedHTTPException) else (error.description or message)
    )
    return ApiProblem(code, detail, headers=headers).response()


def handle_http_exception(error: HTTPException):
    if error.code is None or error.code < 400:  # routing redirects are exceptions too
        return error
    code = error.code
    title, message = MESSAGES.get(code, (error.name, error.description or ""))
    if isinstance(error, CSRFError):
        message = CSRF_MESSAGE
    elif isinstance(error, ExplainedHTTPException):
        message = error.description or message
    if request.path.startswith("/api/"):
        return api_problem(error, code, message)
    return render_template("errors/error.html", status=code, title=title, message=message), code
