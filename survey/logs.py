"""Participant tokens kept out of log lines.

A participant's link ``/p/<token>`` is their only credential, and it reaches logs in the
access lines of the development server (werkzeug) and of gunicorn, and in the message Flask
writes for an unhandled error (``Exception on /p/<token>/page/1 [GET]``). Every line the app
controls goes through :class:`RedactTokens`, which replaces the token with the first eight
hex digits of its SHA-256: the same digits that start ``participants.token_hash``, so an
operator can still find the participant a line is about, but nobody can open the link.

>>> redact("GET /p/abc/page/1 HTTP/1.1")
'GET /p/[sha256:ba7816bf]/page/1 HTTP/1.1'
>>> redact(redact("/p/abc")) == redact("/p/abc")
True
"""

from __future__ import annotations

import hashlib
import logging
import re

from flask import Flask

__all__ = ["RedactTokens", "init_logging", "redact"]

HASH_DIGITS = 8
# The path segment after /p/, up to the next separator; an already redacted segment is left
# alone, so a line passing two filters is redacted once.
TOKEN_IN_PATH = re.compile(r"/p/(?!\[sha256:)([^/?#\s\"'\\]+)")
# Loggers whose records the app writes or whose lines carry request paths.
APP_LOGGERS = ("werkzeug",)


def redact(text: str) -> str:
    """``text`` with every ``/p/<token>`` replaced by ``/p/[sha256:<8 hex digits>]``."""
    return TOKEN_IN_PATH.sub(_hashed_segment, text)


def _hashed_segment(match: re.Match[str]) -> str:
    digest = hashlib.sha256(match.group(1).encode("utf-8", "surrogatepass")).hexdigest()
    return f"/p/[sha256:{digest[:HASH_DIGITS]}]"


class RedactTokens(logging.Filter):
    """Rewrites a record's message, traceback and stack in place; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        if record.exc_info and not record.exc_text:
            # Formatters reuse exc_text when it is set, so the traceback is written redacted.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def add_filter(logger: logging.Logger) -> None:
    """Attach one :class:`RedactTokens` to ``logger`` (again on the same logger: no-op)."""
    if not any(isinstance(existing, RedactTokens) for existing in logger.filters):
        logger.addFilter(RedactTokens())


def init_logging(app: Flask) -> None:
    """Redact tokens in the app's logger (Flask's ``log_exception`` writes there) and in
    werkzeug's (the development server's access lines).

    A logger's filters see only records created on that logger, so code of this package
    logs through ``current_app.logger``; gunicorn's loggers get the same filter from the
    shipped ``gunicorn.conf.py``.
    """
    add_filter(app.logger)
    for name in APP_LOGGERS:
        add_filter(logging.getLogger(name))
