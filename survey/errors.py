"""Friendly error pages (JSON under /api/): a participant never sees a stack trace."""

from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

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
}
CSRF_MESSAGE = (
    "This page has expired or was sent from somewhere else, so nothing was saved. Please open "
    "your link again and continue."
)


class ExplainedHTTPException(HTTPException):
    """An HTTP error whose ``description`` is written for the person who sent the request:
    the error page shows it instead of the general message of its status."""


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(HTTPException, handle_http_exception)


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
        return jsonify(error={"status": code, "title": title, "message": message}), code
    return render_template("errors/error.html", status=code, title=title, message=message), code
