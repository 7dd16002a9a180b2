"""One owner for decoding files (size, then UTF-8) and one for canonical JSON."""

from __future__ import annotations

import pytest

from instruments import canonical_json
from instruments.loader import InstrumentValidationError, load_instrument, load_instrument_text
from instruments.redcap import MAX_CSV_BYTES, from_redcap_csv
from instruments.text_encoding import UndecodableText, byte_size, decode_text

LATIN1 = b"format: 1\nkey: sm\xe9ll\n"


def test_decode_text_checks_size_before_encoding():
    assert decode_text("\ufeffabc", limit=6) == "abc"
    assert byte_size("ü") == 2
    with pytest.raises(UndecodableText, match=r"larger than 0\.002 MB \(2001 bytes"):
        decode_text(b"\xff" * 2_001, limit=2_000)  # over the limit: never decoded
    with pytest.raises(UndecodableText) as caught:
        decode_text(LATIN1, limit=100, advice="save it as UTF-8")
    assert str(caught.value) == "not valid UTF-8 (byte 0xe9 at offset 17); save it as UTF-8"


def test_every_reader_reports_the_same_encoding_problem(tmp_path):
    path = tmp_path / "small" / "1.0.0.yaml"
    path.parent.mkdir()
    path.write_bytes(LATIN1)
    with pytest.raises(InstrumentValidationError) as from_file:
        load_instrument(path)
    with pytest.raises(InstrumentValidationError) as from_csv:
        from_redcap_csv(LATIN1, source_name="x.csv")
    expected = "not valid UTF-8 (byte 0xe9 at offset 17)"
    assert from_file.value.problems[0].message == expected
    assert from_csv.value.problems[0].message == f"{expected}; save the file as 'CSV UTF-8'"
    with pytest.raises(InstrumentValidationError, match="larger than 2 MB"):
        from_redcap_csv(b"x" * (MAX_CSV_BYTES + 1), source_name="x.csv")


def test_the_survey_import_decodes_through_the_same_owner(db_session):
    from survey.services import versions
    from survey.services.errors import InvalidDefinition

    with pytest.raises(InvalidDefinition) as caught:
        versions.read_definition(LATIN1, fmt="yaml", source_name="latin1.yaml")
    assert caught.value.problems[0].message == (
        "not valid UTF-8 (byte 0xe9 at offset 17); save the file as UTF-8"
    )


def test_one_canonical_json_for_instrument_and_audit_hashes(iemdp_text):
    from survey.services import audit

    definition = load_instrument_text(iemdp_text, "iemdp.yaml")
    assert definition.canonical_json() == canonical_json.canonical_json(definition.source)
    assert definition.content_hash == canonical_json.content_hash(definition.source)
    assert audit.content_hash(definition.source) == definition.content_hash


@pytest.fixture
def iemdp_text() -> str:
    from instruments.loader import instrument_path

    return instrument_path("iemdp", "1.0.0").read_text(encoding="utf-8")
