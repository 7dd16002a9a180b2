"""URL converters: an ``<int:...>`` id in a URL is one that every database can hold.

Flask's own ``int`` converter matches any number of digits, so ``/research/studies/2147483648``
reached the database, and PostgreSQL (whose ``integer`` ids stop at 2**31 - 1) answered with
an error, a 500. :func:`init_routing` replaces the ``int`` converter of the app's URL map
with :class:`IdConverter`, bounded by :data:`MAX_ID`: a larger number matches no route,
so it is a 404 before any view or query runs.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter, Map

__all__ = ["MAX_ID", "IdConverter", "database_id", "init_routing"]

# The largest value of a 32-bit signed integer column (PostgreSQL ``integer``, the type of
# every id here); SQLite's 64-bit integers hold it too.
MAX_ID = 2**31 - 1


class IdConverter(IntegerConverter):
    """``<int:...>`` for ids: ASCII digits only, 0 to :data:`MAX_ID` unless told otherwise.

    >>> from werkzeug.routing import Map, Rule
    >>> urls = Map([Rule("/studies/<int:study_id>", endpoint="study")],
    ...            converters={"int": IdConverter}).bind("localhost")
    >>> urls.match("/studies/2147483647")
    ('study', {'study_id': 2147483647})
    >>> urls.match("/studies/2147483648")
    Traceback (most recent call last):
    ...
    werkzeug.exceptions.NotFound: 404 Not Found: ...
    """

    # Python's \\d matches every Unicode digit ("١" is 1): ids are written in ASCII.
    regex = r"[0-9]+"

    def __init__(
        self,
        map: Map,
        fixed_digits: int = 0,
        min: int | None = None,
        max: int | None = MAX_ID,
        signed: bool = False,
    ) -> None:
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)


def database_id(value: str) -> int:
    """``value`` read as an id, for ids taken from a query string or a form field.

    Raises ``ValueError`` unless ``value`` is ASCII digits naming 0 to :data:`MAX_ID`, so
    ``request.args.get("other", type=database_id)`` gives ``None`` for anything else.

    >>> database_id("42")
    42
    >>> database_id("2147483648")
    Traceback (most recent call last):
    ...
    ValueError: not an id: '2147483648'
    """
    if not (value.isascii() and value.isdigit()) or int(value) > MAX_ID:
        raise ValueError(f"not an id: {value[:20]!r}")
    return int(value)


def init_routing(app: Flask) -> None:
    """Bound every ``<int:...>`` URL argument; call before any blueprint is registered
    (a rule takes its converter when it is added to the map)."""
    if any(rule.endpoint != "static" for rule in app.url_map.iter_rules()):
        raise RuntimeError("init_routing must run before the blueprints are registered")
    app.url_map.converters["int"] = IdConverter
