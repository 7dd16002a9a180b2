"""A published version cannot change: not through the UI, the services, the ORM, or raw SQL.

The raw-SQL tests run on SQLite and PostgreSQL (the triggers of migration 0003); drafts
stay editable the same way.
"""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from survey.models import AuditEvent, InstrumentVersion
from survey.services import versions


def raw(db_session, sql, **params):
    """Run ``sql`` in its own transaction, bypassing the ORM entirely."""
    with db_session.get_bind().begin() as connection:
        return connection.execute(text(sql), params)


def stored(db_session, version_id):
    with db_session.get_bind().connect() as connection:
        row = connection.execute(
            text(
                "SELECT content, content_hash, version, status, published_at, retired_at "
                "FROM instrument_versions WHERE id = :id"
            ),
            {"id": version_id},
        ).one()
    content = row.content if isinstance(row.content, dict) else json.loads(row.content)
    return (content, *row[1:])


REFUSED_UPDATES = [
    ("content", "UPDATE instrument_versions SET content = :content WHERE id = :id"),
    ("hash", "UPDATE instrument_versions SET content_hash = 'x' WHERE id = :id"),
    ("version", "UPDATE instrument_versions SET version = '9.9.9' WHERE id = :id"),
    ("published_at", "UPDATE instrument_versions SET published_at = NULL WHERE id = :id"),
    ("parent", "UPDATE instrument_versions SET parent_id = id WHERE id = :id"),
    ("back to draft", "UPDATE instrument_versions SET status = 'draft' WHERE id = :id"),
    ("retired_at alone", "UPDATE instrument_versions SET retired_at = published_at WHERE id = :id"),
    ("delete", "DELETE FROM instrument_versions WHERE id = :id"),
]


@pytest.mark.parametrize(("what", "sql"), REFUSED_UPDATES, ids=[w for w, _ in REFUSED_UPDATES])
def test_raw_sql_cannot_change_a_published_version(db_session, published, what, sql):
    before = stored(db_session, published.id)
    content = json.dumps(published.content | {"title": "Tampered"})
    with pytest.raises(IntegrityError, match="published or retired|draft -> published"):
        raw(db_session, sql, id=published.id, content=content)
    assert stored(db_session, published.id) == before


def test_raw_sql_cannot_change_a_retired_version_or_bring_it_back(
    db_session, version_admin, published
):
    versions.retire(published, actor=version_admin)
    db_session.commit()
    before = stored(db_session, published.id)
    for sql in (
        "UPDATE instrument_versions SET status = 'published' WHERE id = :id",
        "UPDATE instrument_versions SET retired_at = NULL WHERE id = :id",
        "UPDATE instrument_versions SET content_hash = 'x' WHERE id = :id",
        "DELETE FROM instrument_versions WHERE id = :id",
    ):
        with pytest.raises(IntegrityError):
            raw(db_session, sql, id=published.id)
    assert stored(db_session, published.id) == before


def test_raw_sql_can_still_edit_and_delete_drafts(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    db_session.commit()
    content = json.dumps(draft.content | {"title": "Edited draft"})
    raw(
        db_session,
        "UPDATE instrument_versions SET content = :c WHERE id = :id",
        c=content,
        id=draft.id,
    )
    assert stored(db_session, draft.id)[0]["title"] == "Edited draft"
    # Only the allowed steps: a draft cannot jump to retired.
    with pytest.raises(IntegrityError, match="draft -> published"):
        raw(
            db_session,
            "UPDATE instrument_versions SET status = 'retired' WHERE id = :id",
            id=draft.id,
        )
    raw(db_session, "DELETE FROM instrument_versions WHERE id = :id", id=draft.id)
    assert stored(db_session, published.id)[3] == "published"


def test_the_database_allows_the_lifecycle_steps(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    versions.edit_item(
        draft,
        "AA_S_1",
        text="Something else entirely.",
        reverse=False,
        optional=False,
        actor=version_admin,
    )
    versions.publish(draft, actor=version_admin, version="1.1.0")
    versions.retire(published, actor=version_admin)
    db_session.commit()
    statuses = dict(
        db_session.execute(select(InstrumentVersion.version, InstrumentVersion.status)).all()
    )
    assert statuses == {"1.0.0": "retired", "1.1.0": "published"}


def test_the_ui_refuses_to_edit_a_published_version(db_session, console, published):
    before = stored(db_session, published.id)
    events_before = db_session.scalar(select(func.count()).select_from(AuditEvent))
    base = f"/admin/instruments/versions/{published.id}"
    posts = [
        (f"{base}/edit", {"title": "Tampered", "citation": "c", "intro": "i"}),
        (f"{base}/items/AA_S_1", {"text": "Tampered", "position": "1"}),
        (f"{base}/items/new", {"subconstruct": "AA_S", "text": "Tampered"}),
        (f"{base}/items/AA_S_1/remove", {}),
        (
            f"{base}/checks/ATTN_1",
            {"text": "Tampered", "expected": "2", "page": "AA", "position": "0"},
        ),
        (f"{base}/scales", {"scale_agree3": "1, A\n2, B\n3, C"}),
        (f"{base}/yaml", {"content": "format: 1"}),
        (f"{base}/publish", {"version": "1.0.0"}),
        (f"{base}/discard", {}),
    ]
    for url, data in posts:
        response = console.post(url, data=data)
        assert response.status_code == 409, url
        assert "is published: its content never changes" in response.get_data(as_text=True)
    assert console.get(f"{base}/edit").status_code == 409
    db_session.expire_all()
    assert stored(db_session, published.id) == before
    assert db_session.scalar(select(func.count()).select_from(AuditEvent)) == events_before
