"""The instrument-version console through the test client (survey.admin.instruments)."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from survey.models import AuditEvent, InstrumentVersion, VersionStatus
from survey.services import versions
from survey.services.instruments import definition_of

BASE = "/admin/instruments"


def page(response):
    return response.get_data(as_text=True)


def version_by_number(db_session, number):
    db_session.expire_all()
    return db_session.scalar(select(InstrumentVersion).where(InstrumentVersion.version == number))


def make_draft(db_session, version_admin, published, **kwargs):
    draft, _ = versions.create_draft_from(published, actor=version_admin, **kwargs)
    db_session.commit()
    return draft


def test_lists_and_version_page(db_session, console, published):
    index = console.get(f"{BASE}/")
    assert index.status_code == 200
    assert "Small test instrument" in page(index) and "1.0.0" in page(index)
    response = console.get(f"{BASE}/versions/{published.id}")
    html = page(response)
    assert response.status_code == 200
    assert published.content_hash in html
    assert "Statement BB 3." in html and "ATTN_1" in html
    assert "New version from this one" in html and "Retire" in html
    assert "Edit this draft" not in html
    assert console.get(f"{BASE}/key/small").status_code == 200
    assert console.get(f"{BASE}/key/nothing").status_code == 404
    assert console.get(f"{BASE}/versions/999").status_code == 404


def test_staff_without_the_admin_role_are_kept_out(app, client, db_session, published):
    from survey.services import accounts

    accounts.create_user("r@test.local", "a long enough test password", "researcher")
    db_session.commit()
    url = f"{BASE}/versions/{published.id}"
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.post("/login", data={"email": "r@test.local", "password": "a long enough test password"})
    assert client.get(url).status_code == 403
    assert client.post(f"{url}/retire").status_code == 403
    assert db_session.get(InstrumentVersion, published.id).status == VersionStatus.PUBLISHED


def test_new_version_edit_publish_and_diff_through_the_console(db_session, console, published):
    form = console.get(f"{BASE}/versions/{published.id}/new-version")
    assert "1.0.1 (patch" in page(form) and "1.1.0 (minor" in page(form)
    response = console.post(
        f"{BASE}/versions/{published.id}/new-version", data={"level": "minor", "version": ""}
    )
    assert response.status_code == 302
    draft = version_by_number(db_session, "1.1.0")
    assert response.headers["Location"].endswith(f"/versions/{draft.id}/edit")
    assert draft.status == VersionStatus.DRAFT

    editor = console.get(f"{BASE}/versions/{draft.id}/edit")
    assert editor.status_code == 200 and "Edit item AA_S_1" in page(editor)
    item_form = console.get(f"{BASE}/versions/{draft.id}/items/AA_S_1")
    assert 'value="1"' in page(item_form)  # position
    response = console.post(
        f"{BASE}/versions/{draft.id}/items/AA_S_1",
        data={
            "text": "Statement AA one, now clearer.",
            "position": "1",
            "base_hash": draft.content_hash,
        },
    )
    assert response.status_code == 302
    assert definition_of(version_by_number(db_session, "1.1.0")).entry("AA_S_1").text == (
        "Statement AA one, now clearer."
    )

    publish_form = console.get(f"{BASE}/versions/{draft.id}/publish")
    html = page(publish_form)
    assert "Proposed version: 1.1.0 (minor)" in html
    assert "minor: item AA_S_1 reworded" in html
    response = console.post(f"{BASE}/versions/{draft.id}/publish", data={"version": "1.1.0"})
    assert response.status_code == 302
    published_draft = version_by_number(db_session, "1.1.0")
    assert published_draft.status == VersionStatus.PUBLISHED
    assert published_draft.content_hash == definition_of(published_draft).content_hash

    diff = console.get(f"{BASE}/diff/{published.id}/{draft.id}")
    html = page(diff)
    assert diff.status_code == 200
    assert "Reworded (1)" in html
    assert "<del>1.</del>" in html and "<ins>one, now clearer.</ins>" in html
    assert "7 of 8 items" in html
    as_json = console.get(f"{BASE}/diff/{published.id}/{draft.id}/json").get_json()
    assert [r["id"] for r in as_json["reworded"]] == ["AA_S_1"]
    assert "AA_S_1" not in as_json["identical_items"] and len(as_json["identical_items"]) == 7
    compare = console.get(f"{BASE}/versions/{published.id}/compare?other={draft.id}")
    assert compare.headers["Location"].endswith(f"/diff/{published.id}/{draft.id}")

    actions = [e.action for e in db_session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert actions[-3:] == ["draft_created", "draft_edited", "version_published"]


def test_publishing_refuses_a_number_below_the_proposal(
    db_session, version_admin, console, published
):
    draft = make_draft(db_session, version_admin, published)  # 1.0.1
    versions.remove_item(draft, "AA_S_4", actor=version_admin)
    db_session.commit()
    form = console.get(f"{BASE}/versions/{draft.id}/publish")
    assert 'value="2.0.0"' in page(form)  # the proposal replaces the draft's 1.0.1
    response = console.post(f"{BASE}/versions/{draft.id}/publish", data={"version": "1.0.1"})
    assert response.status_code == 400
    assert "too low for these changes" in page(response)
    assert version_by_number(db_session, "1.0.1").status == VersionStatus.DRAFT


def test_publishing_an_unchanged_draft_is_explained(db_session, version_admin, console, published):
    draft = make_draft(db_session, version_admin, published)
    response = console.get(f"{BASE}/versions/{draft.id}/publish")
    assert "same content as small 1.0.0" in page(response)
    response = console.post(f"{BASE}/versions/{draft.id}/publish", data={"version": "1.0.1"})
    assert response.status_code == 400
    assert version_by_number(db_session, "1.0.1").status == VersionStatus.DRAFT


def test_field_errors_are_shown_next_to_the_field(db_session, version_admin, console, published):
    draft = make_draft(db_session, version_admin, published)
    before = draft.content_hash
    response = console.post(
        f"{BASE}/versions/{draft.id}/items/AA_S_1",
        data={"text": "   ", "position": "0", "base_hash": before},
    )
    html = page(response)
    assert response.status_code == 400
    assert re.search(r'id="text-error">Enter the item&#39;s text.', html)
    assert "Positions start at 1." in html
    assert 'aria-invalid="true"' in html

    response = console.post(
        f"{BASE}/versions/{draft.id}/scales",
        data={"scale_agree3": "1, Disagree\n2, Neutral\n4, Agree", "base_hash": before},
    )
    assert response.status_code == 400
    assert re.search(
        r'id="scale_agree3-error">values \[1, 2, 4\] are not symmetric', page(response)
    )

    response = console.post(
        f"{BASE}/versions/{draft.id}/checks/ATTN_1",
        data={
            "text": "Choose 'Neutral'.",
            "expected": "2",
            "page": "BB",
            "position": "9",
            "base_hash": before,
        },
    )
    assert response.status_code == 400
    assert re.search(r'id="position-error">9 is past the end of page', page(response))

    response = console.post(
        f"{BASE}/versions/{draft.id}/items/AA_S_4/remove", data={"base_hash": before}
    )
    assert response.status_code == 302  # 4 -> 3 items is fine
    draft_now = version_by_number(db_session, "1.0.1")
    response = console.post(
        f"{BASE}/versions/{draft.id}/items/AA_S_3/remove",
        data={"base_hash": draft_now.content_hash},
        follow_redirects=True,
    )
    assert "Item AA_S_3 was not removed" in page(response)
    assert "needs at least 3" in page(response)
    assert len(definition_of(version_by_number(db_session, "1.0.1")).items) == 7


def test_yaml_editor_lists_every_problem(db_session, version_admin, console, published):
    draft = make_draft(db_session, version_admin, published)
    form = console.get(f"{BASE}/versions/{draft.id}/yaml")
    assert "key: small" in page(form)
    text = versions.draft_yaml(draft).replace("reverse: false", "reverse: no", 1)
    text = text.replace("title: Small test instrument", "titel: Small test instrument")
    response = console.post(
        f"{BASE}/versions/{draft.id}/yaml", data={"content": text, "base_hash": draft.content_hash}
    )
    html = page(response)
    assert response.status_code == 400
    assert "titel: unknown key" in html
    assert "title: must be" in html or "title: is required" in html
    assert "write true or false, not &#39;no&#39;" in html
    assert version_by_number(db_session, "1.0.1").content_hash == draft.content_hash


def test_a_stale_form_is_refused_with_409(db_session, version_admin, console, published):
    draft = make_draft(db_session, version_admin, published)
    response = console.post(
        f"{BASE}/versions/{draft.id}/edit",
        data={"title": "T", "citation": "C", "intro": "I", "base_hash": "0" * 64},
    )
    assert response.status_code == 409
    assert "changed by someone else" in page(response)


def test_metadata_and_new_item_and_discard(db_session, version_admin, console, published):
    draft = make_draft(db_session, version_admin, published)
    response = console.post(
        f"{BASE}/versions/{draft.id}/edit",
        data={
            "title": "Small, revised",
            "citation": "C.",
            "intro": "Hello.",
            "shuffle_items": "y",
            "base_hash": draft.content_hash,
        },
    )
    assert response.status_code == 302
    draft = version_by_number(db_session, "1.0.1")
    assert (draft.content["title"], draft.content["shuffle_items"]) == ("Small, revised", True)
    response = console.post(
        f"{BASE}/versions/{draft.id}/items/new",
        data={
            "subconstruct": "BB_S",
            "text": "Statement BB 5.",
            "reverse": "y",
            "base_hash": draft.content_hash,
        },
    )
    assert response.status_code == 302
    assert definition_of(version_by_number(db_session, "1.0.1")).entry("BB_S_5").reverse
    response = console.post(f"{BASE}/versions/{draft.id}/discard", data={})
    assert response.status_code == 302
    assert version_by_number(db_session, "1.0.1") is None


def test_retire_through_the_console(db_session, console, published):
    confirm = console.get(f"{BASE}/versions/{published.id}/retire")
    assert "running studies continue" in page(confirm)
    response = console.post(f"{BASE}/versions/{published.id}/retire", data={})
    assert response.status_code == 302
    version = version_by_number(db_session, "1.0.0")
    assert version.status == VersionStatus.RETIRED
    html = page(console.get(f"{BASE}/versions/{published.id}"))
    assert "Usable for a new study</dt><dd>no" in html
    again = console.post(f"{BASE}/versions/{published.id}/retire", data={})
    assert again.status_code == 409 and "retired already" in page(again)


def test_exports_download_and_are_audited(db_session, console, published):
    response = console.get(f"{BASE}/versions/{published.id}/export/yaml")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="small-1.0.0.yaml"'
    assert "key: small" in page(response)
    response = console.get(f"{BASE}/versions/{published.id}/export/redcap")
    assert response.mimetype == "text/csv"
    assert "small-1.0.0-redcap.csv" in response.headers["Content-Disposition"]
    assert console.get(f"{BASE}/versions/{published.id}/export/xml").status_code == 404
    exports = db_session.scalars(
        select(AuditEvent).where(AuditEvent.action == "export_downloaded")
    ).all()
    assert [e.details["format"] for e in exports] == ["yaml", "redcap"]
    assert all(e.hash_after == published.content_hash for e in exports)
    assert db_session.scalar(select(func.count()).select_from(InstrumentVersion)) == 1


def test_a_version_number_claimed_concurrently_gives_409_and_saves_nothing(
    app, db_session, console, published
):
    """Another admin commits 1.1.0 between our check of the number and our insert: the
    database's unique constraint refuses ours, and the page says so (never a 500)."""
    from sqlalchemy import create_engine, event, insert
    from sqlalchemy.orm import Session

    other_admin = create_engine(app.config["SQLALCHEMY_DATABASE_URI"])
    claimed = []

    def claim_first(session, _context, _instances):
        if claimed:
            return
        claimed.append(True)
        with other_admin.begin() as connection:
            connection.execute(
                insert(InstrumentVersion).values(
                    instrument_id=published.instrument_id,
                    version="1.1.0",
                    status=VersionStatus.DRAFT,
                    content=published.content,
                    content_hash=published.content_hash,
                    created_at=published.created_at,
                )
            )

    events_before = db_session.scalar(select(func.count(AuditEvent.id)))
    event.listen(Session, "before_flush", claim_first)
    try:
        response = console.post(
            f"{BASE}/versions/{published.id}/new-version", data={"level": "", "version": "1.1.0"}
        )
    finally:
        event.remove(Session, "before_flush", claim_first)
        other_admin.dispose()
    assert claimed
    assert response.status_code == 409
    assert "Another change was saved at the same moment" in page(response)
    db_session.expire_all()
    numbers = db_session.scalars(
        select(InstrumentVersion.version).where(
            InstrumentVersion.instrument_id == published.instrument_id
        )
    ).all()
    assert sorted(numbers) == ["1.0.0", "1.1.0"]  # ours was not added next to theirs
    assert db_session.scalar(select(func.count(AuditEvent.id))) == events_before
