"""INSERT ... ON CONFLICT for the two databases the app runs on.

Saving a page and recording a page view must be idempotent even when a participant
double-clicks: two requests racing to insert the same (session, item) row must end as one
row, which a select-then-insert cannot guarantee.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table
from sqlalchemy.dialects import postgresql, sqlite

from survey.extensions import db

_INSERTS = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}


def upsert(
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    conflict: Sequence[str],
    update: Callable[[Any], Mapping[str, ColumnElement[Any]]] | None = None,
) -> None:
    """Insert ``rows`` into ``table``; rows clashing on the unique ``conflict`` columns are
    updated with ``update(excluded)`` (a mapping column → expression), or left alone."""
    dialect = db.session.get_bind().dialect.name
    try:
        insert = _INSERTS[dialect]
    except KeyError:
        raise NotImplementedError(f"no upsert for the {dialect} database") from None
    statement = insert(table).values(list(rows))
    if update is None:
        statement = statement.on_conflict_do_nothing(index_elements=list(conflict))
    else:
        statement = statement.on_conflict_do_update(
            index_elements=list(conflict), set_=dict(update(statement.excluded))
        )
    db.session.execute(statement)
