"""Guards on what a request carries, applied to every route at once.

* **A body that cannot be read is a 400.** The WSGI server's reader raises its own
  exceptions on a malformed body (gunicorn: ``ChunkMissingTerminator``, ``InvalidChunkSize``,
  ``NoMoreData``), wherever the body is first read: the CSRF check, form parsing,
  ``get_json``. :class:`GuardedInput` wraps ``wsgi.input`` so any such error becomes
  :class:`UnreadableBody`, a 400 with the friendly error page (JSON under ``/api/``).
* **No NUL character.** PostgreSQL refuses ``\\x00`` in text (a 500) and SQLite stores it;
  no form, link or file name has a use for it. :func:`refuse_nul_characters` answers 400
  (:class:`NulCharacter`) before any view runs when the path, the query string, a form
  field (name or value), an uploaded file's name or a JSON body holds one. A lone UTF-16
  surrogate (JSON's ``"\\ud800"``), which no database can encode as UTF-8, is refused the
  same way.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from typing import IO, Any

from flask import Flask, request
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import BadRequest, HTTPException

from survey.errors import ExplainedHTTPException

__all__ = [
    "GuardedInput",
    "NulCharacter",
    "UnreadableBody",
    "guard_body_reads",
    "init_request_guards",
    "refuse_nul_characters",
]

# NUL, and the UTF-16 surrogates that JSON's \u escapes can produce unpaired.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


class UnreadableBody(ExplainedHTTPException, BadRequest):
    description = (
        "The page could not be read as it was sent (the connection may have been "
        "interrupted). Nothing was saved. Please send it again."
    )


class NulCharacter(ExplainedHTTPException, BadRequest):
    description = (
        "The page contained a character that cannot be stored (a NUL character, \\x00, "
        "or half of a surrogate pair), in its address or in what was entered. Nothing was "
        "saved. Please remove it and send the page again."
    )


class UnnamedField(ExplainedHTTPException, BadRequest):
    description = (
        "A field of the page as it was sent has no readable name. Nothing was saved. "
        "Please open the page again and send it from there."
    )


class GuardedInput:
    """A ``wsgi.input`` stream whose read errors are :class:`UnreadableBody` (400).

    HTTP errors raised while reading (werkzeug's 413, a client disconnect) pass unchanged.
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self._stream = stream

    def _guarded(self, read: Callable[..., Any], *args: Any) -> Any:
        try:
            return read(*args)
        except HTTPException:
            raise
        except Exception as error:  # whatever the server's reader raises: the body is bad
            raise UnreadableBody() from error

    def read(self, *args: Any) -> bytes:
        return self._guarded(self._stream.read, *args)

    def readline(self, *args: Any) -> bytes:
        return self._guarded(self._stream.readline, *args)

    def readlines(self, *args: Any) -> list[bytes]:
        return self._guarded(self._stream.readlines, *args)

    def __iter__(self) -> Iterator[bytes]:
        iterator = iter(self._stream)
        while True:
            try:
                line = self._guarded(next, iterator)
            except StopIteration:
                return
            yield line

    def close(self) -> None:
        close = getattr(self._stream, "close", None)
        if close is not None:
            close()


def guard_body_reads(wsgi_app: Callable[..., Iterable[bytes]]) -> Callable[..., Iterable[bytes]]:
    """WSGI middleware putting :class:`GuardedInput` around ``wsgi.input``."""

    def app(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        stream = environ.get("wsgi.input")
        if stream is not None and not isinstance(stream, GuardedInput):
            environ["wsgi.input"] = GuardedInput(stream)
        return wsgi_app(environ, start_response)

    return app


def _holds_nul(values: Iterable[str]) -> bool:
    return any(UNSTORABLE.search(value) for value in values)


def _names_and_values(values: MultiDict) -> Iterator[str]:
    """Every key and every value of ``values``, repeated keys included."""
    for key, value in values.items(multi=True):
        if not isinstance(key, str):  # werkzeug's multipart parser: a part name it cannot read
            raise UnnamedField()
        yield key
        yield value


def _json_strings(document: Any) -> Iterator[str]:
    """Every string (keys included) of a decoded JSON document, without recursion."""
    pending = [document]
    while pending:
        value = pending.pop()
        if isinstance(value, str):
            yield value
        elif isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)


def refuse_nul_characters() -> None:
    """``before_request``: a NUL character anywhere in what the request carries → 400."""
    if UNSTORABLE.search(request.path):
        raise NulCharacter()
    if _holds_nul(_names_and_values(request.args)) or _holds_nul(_names_and_values(request.form)):
        raise NulCharacter()
    files = MultiDict((name, file.filename or "") for name, file in request.files.items(multi=True))
    if _holds_nul(_names_and_values(files)):
        raise NulCharacter()
    if request.is_json:
        try:
            document = request.get_json(silent=True)
        except RecursionError:  # nested deeper than the decoder goes
            raise BadRequest("The JSON document is nested too deeply.") from None
        if _holds_nul(_json_strings(document)):
            raise NulCharacter()


def init_request_guards(app: Flask) -> None:
    app.wsgi_app = guard_body_reads(app.wsgi_app)  # type: ignore[method-assign]
    app.before_request(refuse_nul_characters)
