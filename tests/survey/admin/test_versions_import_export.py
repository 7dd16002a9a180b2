"""Import and export of versions: lossless round trips, and bad uploads that change nothing."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from instruments.loader import load_instrument_text
from instruments.redcap import from_redcap_csv
from survey.models import AuditEvent, Instrument, InstrumentVersion, VersionStatus
from survey.services import instruments, versions
from survey.services.errors import InvalidDefinition, UploadTooLarge, VersionConflict
from survey.services.instruments import definition_of

BASE = "/admin/instruments"


def counts(db_session):
    db_session.expire_all()
    return tuple(
        db_session.scalar(select(func.count()).select_from(model))
        for model in (Instrument, InstrumentVersion, AuditEvent)
    )


def upload(client, data: bytes, filename: str, **fields):
    """POST the import form. The body is encoded in memory: the test client would spool a
    large one to a temporary file and leave it open when the app refuses to read it."""
    file = FileStorage(io.BytesIO(data), filename=filename, content_type="application/octet-stream")
    form = {"file": file, "format": "auto", **fields}
    boundary, body = encode_multipart(form)
    return client.post(
        f"{BASE}/import", data=body, content_type=f"multipart/form-data; boundary={boundary}"
    )


# -- round trips -----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["yaml", "redcap"])
def test_export_then_import_is_lossless(db_session, version_admin, iemdp, fmt):
    published, _ = instruments.import_definition(iemdp)
    draft, _ = versions.create_draft_from(published, actor=version_admin, level="minor")
    versions.edit_item(
        draft,
        "OE_BEN_1",
        text="I expect writing to my therapist to help me.",
        reverse=False,
        optional=False,
        actor=version_admin,
    )
    versions.add_item(
        draft,
        "SS_STIG",
        text="I worry that someone reads my messages.",
        reverse=False,
        optional=True,
        actor=version_admin,
    )
    db_session.commit()
    draft_hash, draft_content = draft.content_hash, draft.content
    for version in (published, draft):
        exported = versions.export_version(version, fmt, actor=version_admin).data
        again = (
            load_instrument_text(exported.decode("utf-8"), "x.yaml")
            if fmt == "yaml"
            else from_redcap_csv(exported, source_name="x.csv")
        )
        assert again == definition_of(version)
        assert again.content_hash == version.content_hash

    # The published one is recognised as identical (a different hash would be refused).
    exported = versions.export_version(published, fmt, actor=version_admin).data
    same, created = versions.import_version(exported, fmt=fmt, actor=version_admin)
    assert (same.id, created) == (published.id, False)

    # The draft goes out, is discarded, and comes back with the same content and hash.
    exported = versions.export_version(draft, fmt, actor=version_admin).data
    versions.discard_draft(draft, actor=version_admin)
    db_session.commit()
    back, created = versions.import_version(exported, fmt=fmt, actor=version_admin, source_name="f")
    db_session.commit()
    assert created and back.status == VersionStatus.DRAFT
    assert (back.content_hash, back.content) == (draft_hash, draft_content)
    [event] = db_session.scalars(
        select(AuditEvent).where(
            AuditEvent.action == "version_imported", AuditEvent.target_id == str(back.id)
        )
    )
    assert event.hash_after == draft_hash and event.details["format"] == fmt


@pytest.mark.parametrize("fmt", ["yaml", "redcap"])
def test_round_trip_through_the_console(db_session, console, iemdp, small, fmt):
    version, _ = instruments.import_definition(small)
    db_session.commit()
    exported = console.get(f"{BASE}/versions/{version.id}/export/{fmt}")
    name = "small.yaml" if fmt == "yaml" else "small.csv"
    response = upload(console, exported.data, name)
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/versions/{version.id}")
    follow = console.get(response.headers["Location"])
    assert "already here with the same content" in follow.get_data(as_text=True)

    # A new instrument, published on import.
    text = versions.export_version(
        instruments.import_definition(iemdp)[0], fmt, actor=None, record=False
    ).data
    db_session.rollback()  # forget the iemdp import: the upload brings it
    response = upload(console, text, f"iemdp.{'yaml' if fmt == 'yaml' else 'csv'}", publish="y")
    assert response.status_code == 302
    stored = instruments.find_version("iemdp", "1.0.0")
    assert stored.status == VersionStatus.PUBLISHED
    assert stored.content_hash == iemdp.content_hash


# -- bad uploads -----------------------------------------------------------------------------
def small_yaml(small) -> str:
    from instruments.serialize import to_yaml

    return to_yaml(small)


BAD_YAML = {
    "malformed": ("key: [small\n", ["YAML syntax error at line"]),
    "unknown keys": (
        None,  # built from the small instrument below
        ["titel: unknown key", "colour: unknown key", "title: is required"],
    ),
    "duplicate ids": (None, ["duplicate id 'AA_S_1'", "duplicate id 'AA_S_3'"]),
}


def bad_yaml(small, case: str) -> bytes:
    text = small_yaml(small)
    if case == "malformed":
        return b"format: 1\nkey: [small\n"
    if case == "unknown keys":
        text = text.replace("title: Small", "titel: Small").replace(
            "    domain: test", "    domain: test\n    colour: blue", 1
        )
    elif case == "duplicate ids":
        text = text.replace("id: AA_S_2,", "id: AA_S_1,").replace("{id: ATTN_1,", "{id: AA_S_3,")
    return text.encode("utf-8")


@pytest.mark.parametrize("case", list(BAD_YAML))
def test_bad_yaml_uploads_list_every_problem_and_change_nothing(db_session, console, small, case):
    before = counts(db_session)
    response = upload(console, bad_yaml(small, case), "upload.yaml", publish="y")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was imported" in html
    for expected in BAD_YAML[case][1]:
        assert expected.replace("'", "&#39;") in html, expected
    assert counts(db_session) == before


def test_every_problem_is_listed_not_just_the_first(version_admin, small):
    with pytest.raises(InvalidDefinition) as caught:
        versions.import_version(bad_yaml(small, "unknown keys"), fmt="yaml", actor=version_admin)
    assert len(caught.value.problems) == 3


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"format: 1\nkey: sm\xe9ll\n", "latin1.yaml", "not valid UTF-8 (byte 0xe9 at offset 17)"),
        (b"\xff\xfe\x00v\x00a\x00r", "utf16.csv", "not valid UTF-8 (byte 0xff at offset 0)"),
    ],
)
def test_wrong_encodings_are_refused(db_session, console, data, name, message):
    before = counts(db_session)
    response = upload(console, data, name)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert counts(db_session) == before


def test_a_malformed_redcap_dictionary_lists_every_row_problem(db_session, console, small):
    from instruments.redcap import to_redcap_csv

    text = to_redcap_csv(small)
    text = text.replace(",radio,", ",dropdown,", 1).replace("@IEMDP-REVERSE=0", "@IEMDP-REVERSE=2")
    before = counts(db_session)
    response = upload(console, text.encode("utf-8"), "small.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "field type &#39;dropdown&#39; is not supported" in html
    assert "REVERSE" in html
    assert counts(db_session) == before


def test_a_10_mb_upload_gets_a_clear_message(db_session, console, version_admin):
    data = b"# padding\n" * 1_000_000  # 10 MB
    before = counts(db_session)
    response = upload(console, data, "huge.yaml")
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "the file is 10.0 MB (10,000,000 bytes); the limit is 2.0 MB" in html
    assert "Import an instrument version" in html  # the form again, not an error page
    assert counts(db_session) == before
    with pytest.raises(UploadTooLarge, match="10.0 MB"):
        versions.import_version(data, fmt="redcap", actor=version_admin)


def test_an_upload_over_the_request_limit_gets_the_same_message(app, db_session, console):
    app.config["MAX_CONTENT_LENGTH"] = 3_000_000
    before = counts(db_session)
    response = upload(console, b"x" * 10_000_000, "huge.csv")
    html = response.get_data(as_text=True)
    assert response.status_code == 413
    assert "the limit is 2.0 MB" in html and "Nothing was imported" in html
    assert "Import an instrument version" in html
    assert counts(db_session) == before


def test_an_existing_version_with_other_content_is_refused(db_session, console, published, small):
    before = counts(db_session)
    text = small_yaml(small).replace("Statement AA 1.", "Statement AA one.")
    response = upload(console, text.encode("utf-8"), "small.yaml")
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "small 1.0.0 exists already (published) with other content" in html
    assert counts(db_session) == before
    with pytest.raises(VersionConflict):
        versions.import_version(text, fmt="yaml", actor=None)


def test_an_unknown_format_is_asked_for(db_session, console, small):
    response = upload(console, small_yaml(small).encode(), "small.txt")
    assert response.status_code == 400
    assert "Cannot tell the format" in response.get_data(as_text=True)
    response = upload(console, small_yaml(small).encode(), "small.txt", format="yaml")
    assert response.status_code == 302


def test_cli_export_diff_retire(runner, db_session, version_admin, published, tmp_path):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    versions.edit_item(
        draft, "AA_S_1", text="Statment AA 1.", reverse=False, optional=False, actor=version_admin
    )
    versions.publish(draft, actor=version_admin)
    db_session.commit()
    result = runner.invoke(args=["instruments", "export", "small", "1.0.0"])
    assert result.exit_code == 0 and "key: small" in result.output
    out = tmp_path / "small.csv"
    result = runner.invoke(
        args=["instruments", "export", "small", "1.0.1", "--format", "redcap", "-o", str(out)]
    )
    assert result.exit_code == 0
    assert from_redcap_csv(out.read_bytes()).content_hash == draft.content_hash
    result = runner.invoke(args=["instruments", "diff", "small", "1.0.0", "1.0.1"])
    assert "reworded AA_S_1: Statement [-Statement-]" not in result.output
    assert "reworded AA_S_1" in result.output
    assert "identical items (7)" in result.output
    result = runner.invoke(args=["instruments", "retire", "small", "1.0.0"])
    assert result.exit_code == 0 and "Retired small 1.0.0" in result.output
    result = runner.invoke(args=["instruments", "retire", "small", "1.0.0"])
    assert result.exit_code == 1 and "retired already" in result.output
    result = runner.invoke(args=["instruments", "export", "small", "9.9.9"])
    assert result.exit_code == 1 and "no instrument version small 9.9.9" in result.output
