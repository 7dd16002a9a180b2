"""The app runs as a PostgreSQL role that may read and write rows and nothing more.

``flask db grant-app-role ROLE --apply`` (run as the tables' owner, after the migrations)
gives ROLE the app's privileges; an app connected as ROLE then serves participants, staff
logins and the version lifecycle, while TRUNCATE, DISABLE TRIGGER, ALTER and DROP on the
frozen tables are refused with InsufficientPrivilege. Each test creates its own role
(roles are cluster-wide) and drops it afterwards.
"""

from __future__ import annotations

import secrets

import psycopg.errors
import pytest
from sqlalchemy import create_engine, func, make_url, select, text
from sqlalchemy.exc import ProgrammingError

from survey.extensions import db
from survey.models import Answer, AuditEvent, ConsentRecord, InstrumentVersion
from survey.services import accounts, instruments, studies, versions

POSTGRESQL_ONLY = (
    "roles and privileges are PostgreSQL's; SQLite has none (the file's mode is its access control)"
)
PASSWORD = "a long enough test password"


@pytest.fixture
def owner_url(database_url: str) -> str:
    if not database_url.startswith("postgresql"):
        pytest.skip(POSTGRESQL_ONLY)
    return database_url


@pytest.fixture
def app_role(owner_url: str, make_app):
    """A new login role with no privileges (unique: roles are shared by the cluster)."""
    name = f"survey_app_test_{secrets.token_hex(4)}"
    owner = create_engine(owner_url)
    with owner.begin() as connection:
        connection.execute(text(f"CREATE ROLE {name} LOGIN"))
    yield name
    with owner.begin() as connection:
        connection.execute(text(f"DROP OWNED BY {name}"))
        connection.execute(text(f"DROP ROLE {name}"))
    owner.dispose()


@pytest.fixture
def role_app(app, runner, make_app, app_role, owner_url):
    """The app connected as ``app_role``, after the owner granted it the app's privileges."""
    result = runner.invoke(args=["db", "grant-app-role", app_role, "--apply"])
    assert result.exit_code == 0, result.output
    url = make_url(owner_url).set(username=app_role, password=None)
    restricted = make_app(SQLALCHEMY_DATABASE_URI=url.render_as_string(hide_password=False))
    with restricted.app_context():
        assert db.session.scalar(text("SELECT current_user")) == app_role
    yield restricted
    with restricted.app_context():
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


# -- the command -----------------------------------------------------------------------------
def test_the_command_prints_the_grants_without_applying_them(app, runner, app_role):
    result = runner.invoke(args=["db", "grant-app-role", app_role])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == f"REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {app_role};"
    assert f"GRANT SELECT, INSERT ON TABLE public.audit_events TO {app_role};" in lines
    assert f"GRANT SELECT, INSERT ON TABLE public.consent_records TO {app_role};" in lines
    assert f"GRANT SELECT, INSERT, UPDATE ON TABLE public.answers TO {app_role};" in lines
    assert f"GRANT SELECT ON TABLE public.alembic_version TO {app_role};" in lines
    assert f"GRANT USAGE ON SEQUENCE public.instrument_versions_id_seq TO {app_role};" in lines
    deleting = [line for line in lines if "DELETE" in line]
    assert deleting == [
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLE public.instrument_versions TO {app_role};"
    ]
    assert not any(word in result.output for word in ("TRUNCATE", "ALL PRIVILEGES", "CREATE"))
    with app.app_context():
        granted = db.session.scalar(
            text("SELECT has_table_privilege(:role, 'answers', 'SELECT')"), {"role": app_role}
        )
    assert granted is False


def test_the_command_refuses_roles_it_cannot_restrict(app, runner, owner_url):
    owner = make_url(owner_url).username
    for role, message in [
        ("no_such_role_for_survey", "no role 'no_such_role_for_survey'"),
        (owner, "superuser"),
    ]:
        result = runner.invoke(args=["db", "grant-app-role", role, "--apply"])
        assert result.exit_code == 1
        assert message in result.output


def test_the_command_refuses_a_member_of_the_owner(app, runner, app_role, owner_url):
    owner = make_url(owner_url).username
    with app.app_context():
        db.session.execute(text(f"ALTER TABLE answers OWNER TO {app_role}"))
        db.session.commit()
    result = runner.invoke(args=["db", "grant-app-role", app_role])
    assert result.exit_code == 1
    assert "must not own" in result.output
    with app.app_context():
        db.session.execute(text(f"ALTER TABLE answers OWNER TO {owner}"))
        db.session.commit()


def test_the_command_needs_postgresql(make_app, database_url):
    if database_url.startswith("postgresql"):
        pytest.skip("the SQLite case of the command")
    result = make_app().test_cli_runner().invoke(args=["db", "grant-app-role", "anyone"])
    assert result.exit_code == 1
    assert "PostgreSQL" in result.output


# -- the app as the role ---------------------------------------------------------------------
def test_the_app_works_as_the_role(role_app, small, answers_for):
    with role_app.app_context():
        admin = accounts.create_user("admin@role.test", PASSWORD, "admin", via="test")
        version, _ = instruments.import_definition(small)
        study = studies.create_study(
            name="Role study",
            slug="role-study",
            instrument_version=version,
            consent_text="Please agree.",
            consent_version="v1",
            urgent_help_note="Call the test crisis line.",
            owner=admin,
        )
        studies.add_wave(study, key="baseline", label="Baseline", status="open")
        [(_, token)] = studies.add_participants(study, 1)
        db.session.commit()
        version_id = version.id

    participant = role_app.test_client()
    assert participant.get(f"/p/{token}").status_code == 200
    assert participant.post(f"/p/{token}", data={"agree": "I agree"}).status_code == 302
    for number, page in enumerate(small.pages(), start=1):
        assert participant.get(f"/p/{token}/page/{number}").status_code == 200
        response = participant.post(f"/p/{token}/page/{number}", data=answers_for(page))
        assert response.status_code == 302
    assert response.headers["Location"] == f"/p/{token}/done"
    assert participant.get(f"/p/{token}/done").status_code == 200

    staff = role_app.test_client()
    response = staff.post("/login", data={"email": "admin@role.test", "password": PASSWORD})
    assert response.status_code == 302
    assert staff.get("/admin/instruments/").status_code == 200

    with role_app.app_context():
        admin = accounts.find_user("admin@role.test")
        published = db.session.get(InstrumentVersion, version_id)
        draft, _ = versions.create_draft_from(published, actor=admin)
        versions.edit_item(
            draft, "AA_S_1", text="Reworded.", reverse=False, optional=False, actor=admin
        )
        versions.publish(draft, actor=admin, version="1.1.0")
        db.session.commit()
        discarded, _ = versions.create_draft_from(published, actor=admin)
        versions.discard_draft(discarded, actor=admin)
        db.session.commit()
        statuses = sorted(db.session.execute(select(InstrumentVersion.status)).scalars())
        assert statuses == ["published", "published"]
        assert db.session.scalar(select(func.count()).select_from(Answer)) == sum(
            len(page.entries) for page in small.pages()
        )
        assert db.session.scalar(select(func.count()).select_from(ConsentRecord)) == 1
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) > 0


REFUSED = [
    "TRUNCATE instrument_versions",
    "TRUNCATE audit_events",
    "TRUNCATE answers",
    "ALTER TABLE instrument_versions DISABLE TRIGGER USER",
    "ALTER TABLE audit_events DISABLE TRIGGER audit_events_append_only",
    "ALTER TABLE instrument_versions ALTER COLUMN content TYPE json USING '{}'::json",
    "ALTER TABLE audit_events ALTER COLUMN action TYPE varchar(64) USING 'tampered'",
    "DROP TRIGGER instrument_versions_immutable ON instrument_versions",
    "DROP TABLE instrument_versions",
    "DROP TABLE audit_events",
    "DELETE FROM audit_events",
    "UPDATE audit_events SET action = 'tampered'",
    "DELETE FROM consent_records",
    "DELETE FROM answers",
    "CREATE TABLE shadow (id integer)",
]


@pytest.mark.parametrize("sql", REFUSED)
def test_the_role_cannot_change_tables_or_triggers(role_app, sql):
    with role_app.app_context():
        with pytest.raises(ProgrammingError) as raised:
            db.session.execute(text(sql))
        db.session.rollback()
    assert isinstance(raised.value.orig, psycopg.errors.InsufficientPrivilege)
