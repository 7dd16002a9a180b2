"""Importing instrument definitions as published versions (survey.services.instruments)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey.models import Instrument, InstrumentVersion, VersionStatus
from survey.services import instruments
from survey.services.errors import VersionConflict


def test_import_stores_a_published_version_with_its_hash(db_session, iemdp):
    version, created = instruments.import_definition(iemdp)
    assert created
    db_session.commit()
    assert version.status == VersionStatus.PUBLISHED
    assert version.published_at is not None
    assert version.published_at.tzinfo is not None
    assert version.content_hash == iemdp.content_hash
    assert version.instrument.key == "iemdp"
    assert version.instrument.title == iemdp.title
    db_session.expire_all()
    stored = db_session.get(InstrumentVersion, version.id)
    assert stored.content == iemdp.source


def test_import_is_idempotent_for_the_same_content(db_session, iemdp):
    first, _ = instruments.import_definition(iemdp)
    second, created = instruments.import_definition(iemdp)
    assert not created
    assert second is first
    assert db_session.scalar(select(func.count()).select_from(InstrumentVersion)) == 1
    assert db_session.scalar(select(func.count()).select_from(Instrument)) == 1


def test_same_version_with_other_content_is_refused(db_session, small, make_definition):
    instruments.import_definition(small)
    changed = make_definition(title="Another title")
    with pytest.raises(VersionConflict, match="small 1.0.0"):
        instruments.import_definition(changed)
    newer, created = instruments.import_definition(make_definition(version="1.1.0"))
    assert created
    assert newer.instrument.key == "small"
    assert [v.version for v in newer.instrument.versions] == ["1.0.0", "1.1.0"]


def test_definition_of_round_trips_through_the_database(db_session, iemdp):
    version, _ = instruments.import_definition(iemdp)
    db_session.commit()
    instruments._definitions.clear()  # force a parse of the stored content
    db_session.expire_all()
    definition = instruments.definition_of(db_session.get(InstrumentVersion, version.id))
    assert definition == iemdp
    assert definition.content_hash == iemdp.content_hash
    assert instruments.definition_of(version) is definition


def test_definition_of_refuses_content_that_does_not_match_its_hash(db_session, small):
    version, _ = instruments.import_definition(small)
    instruments._definitions.clear()
    version.content_hash = "0" * 64
    with pytest.raises(ValueError, match="does not match its hash"):
        instruments.definition_of(version)
