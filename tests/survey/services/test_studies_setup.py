"""Setting a study up (survey.services.studies): lifecycle, settings, battery, waves and
their schedules, every change audited; on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from instruments.loader import instrument_path, load_instrument, load_instrument_text
from survey.models import (
    AuditEvent,
    ResponseSession,
    StudyStatus,
    VersionStatus,
    Wave,
    WaveStatus,
    WithdrawalPolicy,
)
from survey.services import audit, instruments, research, studies
from survey.services.errors import (
    InvalidSlug,
    InvalidStudyChange,
    SlugTaken,
    VersionNotPublished,
    VersionRetired,
)

MOOD_SCREENER = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"
SECOND = timedelta(seconds=1)


@pytest.fixture
def versions(db_session, small):
    small_version, _ = instruments.import_definition(small)
    mood, _ = instruments.import_definition(
        load_instrument_text(MOOD_SCREENER.read_text(encoding="utf-8"), MOOD_SCREENER.name)
    )
    return small_version, mood


def draft_study(versions, **changes):
    arguments = dict(
        name="Draft",
        slug="draft-1",
        instrument_versions=list(versions),
        consent_text="c",
        consent_version="1",
        urgent_help_note="help",
        team_contact="team",
        status=StudyStatus.DRAFT,
        first_wave_label="Baseline",
        first_wave_offset_days=0,
    )
    return studies.create_study(**(arguments | changes))


def events(db_session, action: str) -> list[AuditEvent]:
    return list(
        db_session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        )
    )


# -- lifecycle -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (StudyStatus.DRAFT, StudyStatus.OPEN, True),
        (StudyStatus.DRAFT, StudyStatus.CLOSED, False),
        (StudyStatus.DRAFT, StudyStatus.DRAFT, False),
        (StudyStatus.OPEN, StudyStatus.CLOSED, True),
        (StudyStatus.OPEN, StudyStatus.DRAFT, False),
        (StudyStatus.OPEN, StudyStatus.OPEN, False),
        (StudyStatus.CLOSED, StudyStatus.OPEN, True),
        (StudyStatus.CLOSED, StudyStatus.DRAFT, False),
        (StudyStatus.CLOSED, StudyStatus.CLOSED, False),
        (StudyStatus.OPEN, "archived", False),
    ],
)
def test_status_moves(db_session, versions, start, target, allowed):
    study = draft_study(versions, status=start)
    before = audit.content_hash(studies.study_settings(study))
    if allowed:
        studies.set_status(study, target, actor=None)
        assert study.status == target
        [event] = events(db_session, "study_status_changed")
        assert (event.details, event.hash_before) == ({"from": start, "to": target}, before)
        assert event.hash_after == audit.content_hash(studies.study_settings(study))
    else:
        with pytest.raises(InvalidStudyChange) as refused:
            studies.set_status(study, target, actor=None)
        assert refused.value.field == "status"
        assert study.status == start
        assert events(db_session, "study_status_changed") == []


def test_a_draft_opens_only_with_a_wave(db_session, versions):
    study = draft_study(versions, first_wave_label=None)
    with pytest.raises(InvalidStudyChange, match="add a wave"):
        studies.set_status(study, StudyStatus.OPEN, actor=None)
    studies.add_wave(study, label="Baseline", offset_days=0)
    studies.set_status(study, StudyStatus.OPEN, actor=None)
    assert study.status == StudyStatus.OPEN


def test_create_study_refuses_an_unknown_status_and_the_cli_default_stays_open(
    db_session, versions
):
    with pytest.raises(InvalidStudyChange):
        draft_study(versions, status="archived")
    study = draft_study(versions, status=StudyStatus.OPEN, slug="cli-1", first_wave_label=None)
    assert study.status == StudyStatus.OPEN and study.waves == []
    cli = studies.create_study(
        name="CLI",
        slug="cli-2",
        instrument_version=versions[0],
        consent_text="c",
        consent_version="1",
        urgent_help_note="u",
        first_wave_label="",
    )
    assert cli.status == StudyStatus.OPEN
    assert [(w.key, w.offset_days) for w in cli.waves] == [("baseline", None)]


# -- settings --------------------------------------------------------------------------------
def test_a_draft_changes_every_setting_in_one_audited_event(db_session, versions):
    small, mood = versions
    study = draft_study(versions)
    created = events(db_session, "study_created")[0]
    changed = studies.update_study(
        study,
        actor=None,
        name=" Renamed ",
        slug="renamed",
        consent_text="New consent",
        consent_version="2",
        urgent_help_note="New help",
        team_contact="New team",
        withdrawal_policy=WithdrawalPolicy.EXCLUDE,
        battery=[mood, small],
    )
    assert changed
    assert (study.name, study.slug, study.consent_version, study.withdrawal_policy) == (
        "Renamed",
        "renamed",
        "2",
        "exclude",
    )
    assert study.instrument_versions == [mood, small]
    assert [entry.position for entry in study.battery] == [0, 1]
    [event] = events(db_session, "study_edited")
    assert event.hash_before == created.hash_after
    assert event.hash_after == audit.content_hash(studies.study_settings(study))
    assert set(event.details["changed"]) == {
        "name",
        "slug",
        "consent_text",
        "consent_version",
        "urgent_help_note",
        "team_contact",
        "withdrawal_policy",
        "battery",
    }
    assert event.details["battery"] == ["mood_screener 1.0.0", "small 1.0.0"]
    # The same values again: nothing changes, nothing is recorded.
    assert not studies.update_study(study, actor=None, name="Renamed", battery=[mood, small])
    assert len(events(db_session, "study_edited")) == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"consent_text": "Other"}, "consent_text"),
        ({"consent_version": "2"}, "consent_version"),
        ({"withdrawal_policy": "exclude"}, "withdrawal_policy"),
        ({"slug": "other-slug"}, "slug"),
        ({"battery": "reversed"}, "battery"),
    ],
)
@pytest.mark.parametrize("status", [StudyStatus.OPEN, StudyStatus.CLOSED])
def test_once_open_consent_policy_slug_and_battery_are_frozen(
    db_session, versions, status, changes, field
):
    study = draft_study(versions)
    studies.set_status(study, StudyStatus.OPEN, actor=None)
    if status == StudyStatus.CLOSED:
        studies.set_status(study, StudyStatus.CLOSED, actor=None)
    if changes.get("battery") == "reversed":
        changes = {"battery": list(reversed(study.instrument_versions))}
    before = studies.study_settings(study)
    with pytest.raises(InvalidStudyChange, match="can no longer change") as refused:
        studies.update_study(study, actor=None, name="Also renamed", **changes)
    assert refused.value.field == field
    # Refused before anything changed: no rollback needed.
    assert events(db_session, "study_edited") == []
    assert studies.study_settings(study) == before
    # What stays editable still is.
    assert studies.update_study(study, actor=None, name="N", team_contact="T", urgent_help_note="U")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"team_contact": ""}, "team_contact"),
        ({"consent_text": "\n"}, "consent_text"),
        ({"consent_version": "v" * 33}, "consent_version"),
        ({"urgent_help_note": ""}, "urgent_help_note"),
        ({"withdrawal_policy": "delete"}, "withdrawal_policy"),
        ({"battery": []}, "instruments"),
    ],
)
def test_settings_refusals_name_their_field(db_session, versions, changes, field):
    study = draft_study(versions)
    with pytest.raises(InvalidStudyChange) as refused:
        studies.update_study(study, actor=None, **changes)
    assert refused.value.field == field


def test_slugs_checked_and_suggested(db_session, versions):
    draft_study(versions, slug="taken")
    other = draft_study(versions, slug="other")
    with pytest.raises(SlugTaken):
        studies.update_study(other, actor=None, slug="taken")
    with pytest.raises(InvalidSlug):
        studies.update_study(other, actor=None, slug="No!")
    assert not studies.update_study(other, actor=None, slug=" OTHER ")  # its own slug
    assert studies.suggest_slug("Étude IEM-DP: 2027!") == "etude-iem-dp-2027"
    assert studies.suggest_slug("Taken") == "taken-2"
    assert studies.suggest_slug("A") == "study-a"
    assert studies.suggest_slug("!!!") == "study"
    assert len(studies.suggest_slug("long name " * 30)) <= 100


# -- battery ---------------------------------------------------------------------------------
def test_battery_checks(db_session, versions):
    small, mood = versions
    study = draft_study(versions)
    with pytest.raises(InvalidStudyChange, match="twice") as twice:
        studies.set_battery(study, [small, mood, small], actor=None)
    assert twice.value.field == "instruments"
    mood.status = VersionStatus.RETIRED
    with pytest.raises(VersionRetired):
        studies.set_battery(study, [small, mood], actor=None)
    mood.status = VersionStatus.DRAFT
    with pytest.raises(VersionNotPublished):
        studies.set_battery(study, [mood], actor=None)
    mood.status = VersionStatus.PUBLISHED
    assert studies.set_battery(study, [mood], actor=None)
    assert study.instrument_versions == [mood]
    assert studies.set_battery(study, [small, mood], actor=None)
    assert study.instrument_versions == [small, mood]


def test_a_battery_with_answers_never_changes(db_session, versions):
    small, mood = versions
    study = draft_study(versions)
    [(participant, _token)] = studies.add_participants(study, 1)
    db_session.add(ResponseSession(participant=participant, wave=study.waves[0]))
    db_session.flush()
    with pytest.raises(InvalidStudyChange, match="have answered"):
        studies.set_battery(study, [mood], actor=None)


def test_the_newest_iemdp_is_the_first_choice(db_session, versions):
    small, mood = versions
    assert research.first_instrument_choice(research.versions_for_new_study()) == mood
    for version in ("1.0.0", "1.1.0"):
        instruments.import_definition(load_instrument(instrument_path("iemdp", version)))
    choices = research.versions_for_new_study()
    assert [(v.instrument.key, v.version) for v in choices] == [
        ("iemdp", "1.1.0"),
        ("iemdp", "1.0.0"),
        ("mood_screener", "1.0.0"),
        ("small", "1.0.0"),
    ]
    assert research.first_instrument_choice(choices) == choices[0]
    assert research.first_instrument_choice([]) is None


# -- waves -----------------------------------------------------------------------------------
def test_add_wave_derives_a_free_key_and_is_audited(db_session, versions):
    study = draft_study(versions)
    week4 = studies.add_wave(study, label="Week 4", offset_days=28, window_days=14)
    assert (week4.key, week4.position, week4.status) == ("week-4", 1, WaveStatus.OPEN)
    study.waves[0].label = "Start"  # a key can be taken by a wave with another label
    studies.add_wave(study, label="Baseline!", offset_days=0)
    assert [w.key for w in studies.get_study("draft-1").waves][-1] == "baseline-2"
    with pytest.raises(InvalidStudyChange, match="already") as twice:
        studies.add_wave(study, label="week 4")
    assert twice.value.field == "label"
    with pytest.raises(InvalidStudyChange) as key_taken:
        studies.add_wave(study, key="week-4", label="Other")
    assert key_taken.value.field == "label"
    with pytest.raises(InvalidStudyChange) as blank:
        studies.add_wave(study, label="  ")
    assert blank.value.field == "label"
    added = events(db_session, "wave_added")
    assert [e.details["wave"] for e in added] == ["week-4", "baseline-2"]
    assert added[0].details["schedule"] == "opens 28 days after enrolment, for 14 days"


@pytest.mark.parametrize(
    ("schedule", "field"),
    [
        ({"offset_days": -1}, "offset_days"),
        ({"offset_days": 3661}, "offset_days"),
        ({"offset_days": 1, "window_days": 0}, "window_days"),
        ({"offset_days": 1, "window_days": 3661}, "window_days"),
        ({"window_days": 3}, "window_days"),
        ({"offset_days": 1, "opens_at": datetime(2027, 1, 1, tzinfo=UTC)}, "offset_days"),
        (
            {
                "opens_at": datetime(2027, 1, 2, tzinfo=UTC),
                "closes_at": datetime(2027, 1, 2, tzinfo=UTC),
            },
            "closes_at",
        ),
    ],
)
def test_schedules_that_cannot_hold(db_session, versions, schedule, field):
    study = draft_study(versions)
    with pytest.raises(InvalidStudyChange) as refused:
        studies.add_wave(study, label="Later", **schedule)
    assert refused.value.field == field
    with pytest.raises(InvalidStudyChange) as again:
        studies.update_wave(study.waves[0], actor=None, label="Baseline", **schedule)
    assert again.value.field == field


def test_update_wave_and_set_wave_status_are_audited(db_session, versions):
    study = draft_study(versions)
    wave = studies.add_wave(study, label="Week 4", offset_days=28, window_days=14)
    opens_at, closes_at = studies.fixed_window(date(2027, 1, 4), date(2027, 1, 18))
    assert studies.update_wave(
        wave, actor=None, label="Week 4", opens_at=opens_at, closes_at=closes_at
    )
    assert (wave.key, wave.offset_days, wave.window_days) == ("week-4", None, None)
    assert not studies.update_wave(
        wave, actor=None, label="Week 4", opens_at=opens_at, closes_at=closes_at
    )
    with pytest.raises(InvalidStudyChange, match="already"):
        studies.update_wave(wave, actor=None, label="baseline")
    studies.set_wave_status(wave, WaveStatus.CLOSED, actor=None)
    with pytest.raises(InvalidStudyChange, match="closed already"):
        studies.set_wave_status(wave, WaveStatus.CLOSED, actor=None)
    with pytest.raises(InvalidStudyChange):
        studies.set_wave_status(wave, "paused", actor=None)
    changed = events(db_session, "wave_changed")
    assert [e.details["changed"] for e in changed] == [
        ["offset_days", "window_days", "opens_at", "closes_at"],
        ["status"],
    ]
    assert changed[0].details["schedule"] == "4 Jan 2027 – 18 Jan 2027"
    assert changed[1].details["from"] == "open" and changed[1].details["to"] == "closed"
    assert all(e.hash_before != e.hash_after for e in changed)


def test_a_fixed_wave_opens_at_midnight_utc_and_closes_at_the_end_of_its_last_day(
    db_session, versions
):
    opens_at, closes_at = studies.fixed_window(date(2027, 1, 4), date(2027, 1, 18))
    assert (opens_at, closes_at) == (
        datetime(2027, 1, 4, tzinfo=UTC),
        datetime(2027, 1, 19, tzinfo=UTC),
    )
    study = draft_study(versions)
    wave = studies.add_wave(study, label="Fixed", opens_at=opens_at, closes_at=closes_at)
    assert not wave.is_answerable(opens_at - SECOND)
    assert wave.is_answerable(opens_at)
    assert wave.is_answerable(closes_at - SECOND)
    assert not wave.is_answerable(closes_at)
    assert studies.fixed_days(wave) == (date(2027, 1, 4), date(2027, 1, 18))
    assert studies.fixed_window(None, None) == (None, None)
    for day in (date(1999, 12, 31), date(9999, 12, 31)):
        with pytest.raises(InvalidStudyChange):
            studies.fixed_window(day, None)
        with pytest.raises(InvalidStudyChange):
            studies.fixed_window(None, day)


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        ({"offset_days": 0}, "opens at enrolment, with no end"),
        ({"offset_days": 1, "window_days": 1}, "opens 1 day after enrolment, for 1 day"),
        ({"offset_days": 28, "window_days": 14}, "opens 28 days after enrolment, for 14 days"),
        (
            {
                "opens_at": datetime(2027, 1, 4, tzinfo=UTC),
                "closes_at": datetime(2027, 1, 19, tzinfo=UTC),
            },
            "4 Jan 2027 – 18 Jan 2027",
        ),
        ({"opens_at": datetime(2027, 1, 4, tzinfo=UTC)}, "from 4 Jan 2027, with no end"),
        ({"closes_at": datetime(2027, 1, 19, tzinfo=UTC)}, "until 18 Jan 2027"),
        (
            {"closes_at": datetime(2027, 1, 19, 15, 30, tzinfo=UTC)},
            "until 19 Jan 2027 15:30 UTC",
        ),
        ({}, "no schedule: answerable while the wave is open"),
    ],
)
def test_schedules_in_words(schedule, words):
    assert studies.describe_schedule(Wave(key="w", label="W", **schedule)) == words
