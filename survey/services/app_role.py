"""The privileges of the PostgreSQL role the web app runs as, read from the current schema.

The tables belong to the role that runs the migrations. Its owner may ``TRUNCATE``,
``ALTER TABLE ... DISABLE TRIGGER`` or ``DROP`` them, which no trigger can stop; the app
itself needs none of that. It runs as another role that may only read and write rows:

- every table: SELECT, INSERT, UPDATE;
- the append-only tables (audit events, consent decisions): SELECT, INSERT;
- DELETE only where the app deletes: instrument versions (a draft is discarded; the
  triggers keep published and retired versions);
- ``alembic_version``: SELECT (the migrations, as the owner, write it);
- USAGE on the schema and on every sequence (new ids).

:func:`grant_statements` starts by revoking everything the role holds on the schema's
tables and sequences, so running it again (after every ``flask db upgrade``, which may add
tables) leaves exactly these privileges. ``flask db grant-app-role`` prints or applies it.
"""

from __future__ import annotations

from sqlalchemy import Connection, inspect, text

READ_WRITE = ("SELECT", "INSERT", "UPDATE")
# Tables whose rows the app never changes once written, and the tables it deletes from.
APPEND_ONLY_TABLES = frozenset({"audit_events", "consent_records"})
DELETING_TABLES = frozenset({"instrument_versions"})
READ_ONLY_TABLES = frozenset({"alembic_version"})


class AppRoleError(Exception):
    """The role cannot be the app's restricted role (unknown, superuser, owner, not PostgreSQL)."""


def table_privileges(table: str) -> tuple[str, ...]:
    """What the app's role may do with the rows of ``table``.

    >>> table_privileges("audit_events")
    ('SELECT', 'INSERT')
    >>> table_privileges("instrument_versions")
    ('SELECT', 'INSERT', 'UPDATE', 'DELETE')
    """
    if table in READ_ONLY_TABLES:
        return ("SELECT",)
    if table in APPEND_ONLY_TABLES:
        return ("SELECT", "INSERT")
    if table in DELETING_TABLES:
        return (*READ_WRITE, "DELETE")
    return READ_WRITE


def grant_statements(connection: Connection, role: str) -> list[str]:
    """The REVOKE and GRANT statements that give ``role`` the app's privileges on the
    tables and sequences of the connection's current schema.

    Raises :class:`AppRoleError` unless the database is PostgreSQL and ``role`` exists,
    is no superuser and neither owns the tables nor belongs to their owner.
    """
    if connection.dialect.name != "postgresql":
        raise AppRoleError(
            f"database roles are a PostgreSQL feature; this database is {connection.dialect.name}"
        )
    _check_role(connection, role)
    schema = connection.execute(text("SELECT current_schema()")).scalar_one()
    inspector = inspect(connection)
    quote = connection.dialect.identifier_preparer.quote
    grantee, namespace = quote(role), quote(schema)
    statements = [
        f"REVOKE ALL ON ALL TABLES IN SCHEMA {namespace} FROM {grantee}",
        f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {namespace} FROM {grantee}",
        f"GRANT USAGE ON SCHEMA {namespace} TO {grantee}",
    ]
    for table in sorted(inspector.get_table_names(schema=schema)):
        privileges = ", ".join(table_privileges(table))
        statements.append(f"GRANT {privileges} ON TABLE {namespace}.{quote(table)} TO {grantee}")
    for sequence in sorted(inspector.get_sequence_names(schema=schema)):
        statements.append(f"GRANT USAGE ON SEQUENCE {namespace}.{quote(sequence)} TO {grantee}")
    return statements


def apply_grants(connection: Connection, statements: list[str]) -> None:
    """Run ``statements`` on ``connection`` (the caller commits)."""
    for statement in statements:
        connection.execute(text(statement))


def _check_role(connection: Connection, role: str) -> None:
    found = connection.execute(
        text("SELECT rolsuper FROM pg_roles WHERE rolname = :role"), {"role": role}
    ).first()
    if found is None:
        raise AppRoleError(
            f"no role {role!r}: create it first, e.g. CREATE ROLE {role} LOGIN PASSWORD '...'"
        )
    if found.rolsuper:
        raise AppRoleError(f"role {role!r} is a superuser: no privilege restricts it")
    # Owning a table, or being a member of a role that does, brings the owner's rights.
    owners = list(
        connection.execute(
            text(
                "SELECT DISTINCT tableowner FROM pg_tables "
                "WHERE schemaname = current_schema() AND pg_has_role(:role, tableowner, 'MEMBER') "
                "ORDER BY tableowner"
            ),
            {"role": role},
        ).scalars()
    )
    if owners:
        raise AppRoleError(
            f"role {role!r} is or belongs to {', '.join(owners)}, the owner of the tables: "
            "the app's role must not own them (run the migrations as another role)"
        )
