"""Studies, waves and participants (survey.services.studies)."""

from __future__ import annotations

import pytest

from survey.models import StudyStatus, VersionStatus, WaveStatus
from survey.services import instruments, studies
from survey.services.errors import UnknownStudy, VersionNotPublished


def new_study(small, **changes):
    version, _ = instruments.import_definition(small)
    arguments = dict(
        name="S",
        slug="s-1",
        instrument_version=version,
        consent_text="c",
        consent_version="1",
        urgent_help_note="help",
    )
    return studies.create_study(**(arguments | changes))


def test_create_study_with_waves_in_order(db_session, small):
    study = new_study(small)
    baseline = studies.add_wave(study, key="baseline", label="Baseline")
    week4 = studies.add_wave(study, key="week-4", label="Week 4", status=WaveStatus.CLOSED)
    db_session.commit()
    assert study.status == StudyStatus.OPEN
    assert (baseline.position, week4.position) == (0, 1)
    assert [wave.key for wave in studies.get_study("s-1").waves] == ["baseline", "week-4"]


def test_get_unknown_study(db_session):
    assert studies.find_study("nope") is None
    with pytest.raises(UnknownStudy):
        studies.get_study("nope")


def test_study_needs_a_published_version(db_session, small):
    version, _ = instruments.import_definition(small)
    version.status = VersionStatus.DRAFT
    with pytest.raises(VersionNotPublished):
        studies.create_study(
            name="S",
            slug="s-1",
            instrument_version=version,
            consent_text="c",
            consent_version="1",
            urgent_help_note="h",
        )


def test_add_participants_returns_distinct_tokens_and_seeds(db_session, small):
    study = new_study(small)
    created = studies.add_participants(study, 5)
    assert len({token for _, token in created}) == 5
    assert all(p.study is study and not p.excluded for p, _ in created)
    assert all(0 <= p.item_order_seed < 2**31 for p, _ in created)
    with pytest.raises(ValueError):
        studies.add_participants(study, 0)


def test_one_create_study_checks_the_slug_and_is_audited(db_session, small):
    from sqlalchemy import select

    from survey.models import AuditEvent
    from survey.services.errors import InvalidSlug, SlugTaken

    for bad in ("s", "Not a slug!", "-starts-with-a-dash"):
        with pytest.raises(InvalidSlug):
            new_study(small, slug=bad)
    study = new_study(small, slug=" Mixed-Case ", first_wave_label="  ")
    assert study.slug == "mixed-case"
    assert [(wave.key, wave.label) for wave in study.waves] == [("baseline", "Baseline")]
    with pytest.raises(SlugTaken):
        new_study(small, slug="mixed-case")
    [event] = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "study_created"))
    assert (event.target_id, event.details["slug"]) == (str(study.id), "mixed-case")


def test_the_new_study_rule_has_one_owner():
    from survey.services import research

    for duplicate in ("create_study", "usable_for_new_study", "SlugTaken", "InvalidSlug"):
        assert not hasattr(research, duplicate), f"research.{duplicate} duplicates a rule"
