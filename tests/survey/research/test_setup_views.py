"""Study set-up in the research area (survey.research.setup_views): a new study, its
settings, its lifecycle and its waves, on SQLite and PostgreSQL."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from instruments.loader import instrument_path, load_instrument
from survey.extensions import db
from survey.models import (
    AuditEvent,
    InstrumentVersion,
    Study,
    StudyMember,
    StudyStatus,
    User,
    Wave,
    WaveStatus,
)
from survey.services import instruments, studies

OWNER = "researcher@example.org"


def _options(page: str, name: str) -> list[tuple[str, bool, str]]:
    """The (value, selected, label) of each option of the select called ``name``."""
    match = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.S)
    assert match, f"no select {name!r}"
    return [
        (value, bool(selected), label)
        for selected, value, label in re.findall(
            r'<option(\s+selected)?\s+value="([^"]*)"[^>]*>([^<]*)</option>', match.group(1)
        )
    ]


def _rendered_defaults(page: str) -> dict[str, str]:
    """What the browser sends for a form left as rendered (text, selects, checked radios)."""
    data: dict[str, str] = {}
    for name, value in re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', page):
        tag = re.search(
            rf'<input[^>]*name="{re.escape(name)}"[^>]*value="{re.escape(value)}"', page
        )
        if 'type="radio"' in tag.group(0) and "checked" not in tag.group(0):
            continue
        if 'type="submit"' not in tag.group(0):
            data.setdefault(name, value)
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S):
        data[name] = body.strip()
    for name in re.findall(r'<select[^>]*name="([^"]+)"', page):
        chosen = [value for value, selected, _ in _options(page, name) if selected]
        data[name] = chosen[0] if chosen else _options(page, name)[0][0]
    return data


@pytest.fixture
def catalogue(app, small):
    """IEM-DP 1.0.0 and 1.1.0 and the small test instrument, published."""
    with app.app_context():
        ids = {}
        for version in ("1.0.0", "1.1.0"):
            stored, _ = instruments.import_definition(
                load_instrument(instrument_path("iemdp", version))
            )
            ids[f"iemdp {version}"] = stored.id
        stored, _ = instruments.import_definition(small)
        ids["small"] = stored.id
        db.session.commit()
    return ids


def new_study_form(client) -> tuple[str, dict[str, str]]:
    page = client.get("/research/studies/new").get_data(as_text=True)
    data = _rendered_defaults(page)
    data |= {
        "name": "IEM-DP validation 2027",
        "consent_text": "Please agree.\n\nYou may stop at any time.",
        "team_contact": "Study team, team@example.org",
    }
    return page, data


# -- a new study -----------------------------------------------------------------------------
def test_new_study_form_offers_the_newest_iemdp_first_and_no_list_boxes(
    researcher_client, catalogue
):
    page = researcher_client.get("/research/studies/new").get_data(as_text=True)
    assert "size=" not in page
    first = _options(page, "first_instrument")
    assert [value for value, selected, _ in first if selected] == [str(catalogue["iemdp 1.1.0"])]
    assert {value for value, _, _ in first} == {str(i) for i in catalogue.values()}
    for name in ("then_2", "then_3", "then_4", "then_5"):
        options = _options(page, name)
        assert options[0][0] == "" and options[0][2] == "— none —"
        assert not any(selected for value, selected, _ in options if value)
    assert 'value="1"' in page  # consent version
    assert "Baseline" in page
    assert "Call the" in page or "urgent" in page.lower()


def test_new_study_succeeds_on_the_first_submit_with_the_defaults(
    app, researcher_client, catalogue
):
    _page, data = new_study_form(researcher_client)
    data["then_2"] = str(catalogue["small"])
    response = researcher_client.post("/research/studies/new", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        study = db.session.scalar(select(Study))
        assert response.headers["Location"] == f"/research/studies/{study.id}/waves"
        assert study.slug == "iem-dp-validation-2027"  # suggested from the name
        assert study.status == StudyStatus.DRAFT
        assert study.owner.email == OWNER
        assert [v.id for v in study.instrument_versions] == [
            catalogue["iemdp 1.1.0"],
            catalogue["small"],
        ]
        assert study.withdrawal_policy == "keep"
        assert study.consent_version == "1"
        assert study.urgent_help_note == app.config["URGENT_HELP_NOTE"]
        assert study.team_contact == "Study team, team@example.org"
        [wave] = study.waves
        assert (wave.key, wave.label, wave.offset_days, wave.window_days) == (
            "baseline",
            "Baseline",
            0,
            None,
        )
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study_created"))
        assert event.details["battery"] == ["iemdp 1.1.0", "small 1.0.0"]
    follow = researcher_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "as a draft" in follow and "opens at enrolment, with no end" in follow


def test_a_version_twice_is_refused_next_to_its_select(app, researcher_client, catalogue):
    _page, data = new_study_form(researcher_client)
    data["then_2"] = str(catalogue["small"])
    data["then_3"] = str(catalogue["small"])
    response = researcher_client.post("/research/studies/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(r'id="then_3-error">([^<]*)<', page)
    assert error and "in the battery already" in error.group(1)
    assert 'id="then_2-error"' not in page
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("team_contact", "", "Enter how participants reach the study team."),
        ("consent_text", "  ", "Enter the consent text."),
        ("name", "", "Enter a name."),
        ("slug", "Not a slug!", "lower-case letters, digits and &#39;-&#39;, starting"),
        ("first_instrument", "999999", "Not a valid choice"),
        ("withdrawal_policy", "delete", "Not a valid choice"),
    ],
)
def test_new_study_refusals_are_next_to_their_field(
    app, researcher_client, catalogue, field, value, message
):
    _page, data = new_study_form(researcher_client)
    data[field] = value
    response = researcher_client.post("/research/studies/new", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'id="{field}-error">([^<]*)<', page)
    assert error and message in error.group(1), page
    with app.app_context():
        assert db.session.scalar(select(Study)) is None


def test_a_taken_slug_is_refused_and_a_suggested_one_is_not(app, researcher_client, catalogue):
    _page, data = new_study_form(researcher_client)
    assert researcher_client.post("/research/studies/new", data=data).status_code == 302
    again = researcher_client.post("/research/studies/new", data=data)
    assert again.status_code == 302  # blank slug: a free one is suggested
    data["slug"] = "iem-dp-validation-2027"
    taken = researcher_client.post("/research/studies/new", data=data)
    assert taken.status_code == 422
    assert "A study with the slug" in taken.get_data(as_text=True)
    with app.app_context():
        assert sorted(db.session.scalars(select(Study.slug))) == [
            "iem-dp-validation-2027",
            "iem-dp-validation-2027-2",
        ]


# -- settings and lifecycle ------------------------------------------------------------------
@pytest.fixture
def draft(app, researcher_client, catalogue) -> int:
    _page, data = new_study_form(researcher_client)
    assert researcher_client.post("/research/studies/new", data=data).status_code == 302
    with app.app_context():
        return db.session.scalar(select(Study.id))


def _events(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        events = list(
            db.session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )
        db.session.expunge_all()
        return events


def test_a_draft_changes_everything_including_its_battery(app, researcher_client, catalogue, draft):
    url = f"/research/studies/{draft}/settings"
    page = researcher_client.get(url).get_data(as_text=True)
    assert "size=" not in page
    data = _rendered_defaults(page)
    assert data["first_instrument"] == str(catalogue["iemdp 1.1.0"])
    data |= {
        "first_instrument": str(catalogue["small"]),
        "then_2": str(catalogue["iemdp 1.0.0"]),
        "consent_text": "New consent text.",
        "withdrawal_policy": "exclude",
        "slug": "renamed-study",
    }
    response = researcher_client.post(url, data=data)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        study = db.session.get(Study, draft)
        assert [v.id for v in study.instrument_versions] == [
            catalogue["small"],
            catalogue["iemdp 1.0.0"],
        ]
        assert (study.consent_text, study.withdrawal_policy, study.slug) == (
            "New consent text.",
            "exclude",
            "renamed-study",
        )
    [event] = _events(app, "study_edited")
    assert event.hash_before != event.hash_after
    assert set(event.details["changed"]) == {
        "battery",
        "consent_text",
        "withdrawal_policy",
        "slug",
    }
    assert "Saved" in researcher_client.get(url).get_data(as_text=True)
    # The same again changes nothing and records nothing.
    researcher_client.post(url, data=_rendered_defaults(researcher_client.get(url).get_data(True)))
    assert len(_events(app, "study_edited")) == 1


def test_lifecycle_open_close_with_confirmation_reopen(app, researcher_client, draft):
    status_url = f"/research/studies/{draft}/status"
    settings = researcher_client.get(f"/research/studies/{draft}/settings").get_data(True)
    assert "Open the study" in settings
    assert researcher_client.post(status_url, data={"status": "open"}).status_code == 302
    # Closing asks first, without JavaScript: a page with a second form.
    confirm = researcher_client.post(status_url, data={"status": "closed"})
    assert confirm.status_code == 200
    assert 'name="confirm" value="yes"' in confirm.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Study, draft).status == StudyStatus.OPEN
    done = researcher_client.post(status_url, data={"status": "closed", "confirm": "yes"})
    assert done.status_code == 302
    assert researcher_client.post(status_url, data={"status": "open"}).status_code == 302
    refused = researcher_client.post(status_url, data={"status": "draft"})
    assert refused.status_code == 422
    assert "The study is open: it cannot become draft." in refused.get_data(as_text=True)
    assert researcher_client.post(status_url, data={"status": "nonsense"}).status_code == 422
    assert researcher_client.post(status_url, data={}).status_code == 422
    moves = [(e.details["from"], e.details["to"]) for e in _events(app, "study_status_changed")]
    assert moves == [("draft", "open"), ("open", "closed"), ("closed", "open")]


def test_an_open_study_freezes_consent_and_battery(app, researcher_client, draft):
    researcher_client.post(f"/research/studies/{draft}/status", data={"status": "open"})
    url = f"/research/studies/{draft}/settings"
    page = researcher_client.get(url).get_data(as_text=True)
    assert "Frozen since the study opened" in page
    assert 'name="consent_text"' not in page and 'name="first_instrument"' not in page
    data = _rendered_defaults(page) | {
        "name": "Renamed",
        "consent_text": "Sneaked in",
        "first_instrument": "1",
    }
    assert researcher_client.post(url, data=data).status_code == 302
    with app.app_context():
        study = db.session.get(Study, draft)
        assert study.name == "Renamed"
        assert study.consent_text.startswith("Please agree.")
    blank = researcher_client.post(url, data=data | {"team_contact": ""})
    assert blank.status_code == 422
    assert 'id="team_contact-error"' in blank.get_data(as_text=True)


def test_a_draft_without_waves_cannot_open(app, researcher_client, catalogue):
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == OWNER))
        study = studies.create_study(
            owner=owner,
            name="No waves",
            slug="no-waves",
            instrument_version=db.session.get(InstrumentVersion, catalogue["small"]),
            consent_text="c",
            consent_version="1",
            urgent_help_note="u",
            team_contact="t",
            status=StudyStatus.DRAFT,
        )
        db.session.commit()
        study_id = study.id
    page = researcher_client.get(f"/research/studies/{study_id}/settings").get_data(True)
    assert "before opening the study" in page
    response = researcher_client.post(
        f"/research/studies/{study_id}/status", data={"status": "open"}
    )
    assert response.status_code == 422
    assert "Add a wave before opening the study." in response.get_data(as_text=True)


# -- waves -----------------------------------------------------------------------------------
def wave_data(**changes: str) -> dict[str, str]:
    return {"label": "Week 4", "schedule": "relative", "offset_days": "28", "window_days": "14"} | (
        changes
    )


def test_add_waves_relative_fixed_and_none(app, researcher_client, draft):
    url = f"/research/studies/{draft}/waves"
    page = researcher_client.get(url).get_data(as_text=True)
    assert 'value="relative" checked' in page or 'checked id="schedule-0"' in page
    assert researcher_client.post(url, data=wave_data()).status_code == 302
    fixed = wave_data(
        label="Follow-up", schedule="fixed", opens_on="2027-01-04", closes_on="2027-01-18"
    )
    assert researcher_client.post(url, data=fixed).status_code == 302
    assert (
        researcher_client.post(url, data={"label": "Any time", "schedule": "none"}).status_code
        == 302
    )
    page = researcher_client.get(url).get_data(as_text=True)
    assert "opens 28 days after enrolment, for 14 days" in page
    assert "4 Jan 2027 – 18 Jan 2027" in page
    assert "no schedule: answerable while the wave is open" in page
    with app.app_context():
        waves = db.session.get(Study, draft).waves
        assert [(w.key, w.offset_days, w.window_days) for w in waves[:2]] == [
            ("baseline", 0, None),
            ("week-4", 28, 14),
        ]
        assert waves[2].opens_at == datetime(2027, 1, 4, tzinfo=UTC)
        assert waves[2].closes_at == datetime(2027, 1, 19, tzinfo=UTC)  # end of the last day
        assert (waves[3].key, waves[3].offset_days, waves[3].opens_at) == ("any-time", None, None)
    added = _events(app, "wave_added")
    assert [e.details["wave"] for e in added] == ["week-4", "follow-up", "any-time"]
    assert all(e.hash_before != e.hash_after for e in added)


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (wave_data(offset_days=""), "offset_days", "Enter the number of days after enrolment."),
        (wave_data(offset_days="-1"), "offset_days", "The offset cannot be negative."),
        (wave_data(offset_days="abc"), "offset_days", "Not a valid integer value."),
        (wave_data(offset_days="99999999999999999999"), "offset_days", "at most 3660 days"),
        (wave_data(window_days="0"), "window_days", "The window is at least 1 day."),
        (wave_data(label=""), "label", "Enter a label."),
        (wave_data(label="Baseline"), "label", "The study has a wave &#39;Baseline&#39; already"),
        (
            wave_data(schedule="fixed", opens_on="2027-01-18", closes_on="2027-01-04"),
            "closes_on",
            "The wave must close after it opens.",
        ),
        (wave_data(schedule="fixed", opens_on="", closes_on=""), "opens_on", "Enter the first"),
        (wave_data(schedule="fixed", opens_on="9999-12-31"), "opens_on", "choose a day from"),
        (wave_data(schedule="fixed", opens_on="2027-02-30"), "opens_on", "Not a valid date"),
        (wave_data(schedule="sometimes"), "schedule", "Not a valid choice"),
    ],
)
def test_wave_refusals_are_next_to_their_field(app, researcher_client, draft, data, field, message):
    response = researcher_client.post(f"/research/studies/{draft}/waves", data=data)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    if field == "schedule":
        assert message in page
    else:
        error = re.search(rf'id="{field}-error">([^<]*)<', page)
        assert error and message.lower() in error.group(1).lower(), page
    with app.app_context():
        assert len(db.session.get(Study, draft).waves) == 1
    assert _events(app, "wave_added") == []


def test_edit_a_wave_and_open_close_it_by_hand(app, researcher_client, draft):
    researcher_client.post(f"/research/studies/{draft}/waves", data=wave_data())
    with app.app_context():
        wave_id = db.session.scalar(select(Wave.id).where(Wave.key == "week-4"))
    url = f"/research/studies/{draft}/waves/{wave_id}"
    page = researcher_client.get(url).get_data(as_text=True)
    assert 'value="28"' in page and 'value="14"' in page
    edited = wave_data(label="Week 4 (a)", window_days="")
    assert researcher_client.post(url, data=edited | {"action": "save"}).status_code == 302
    assert researcher_client.post(url, data={"action": "close"}).status_code == 302
    again = researcher_client.post(url, data={"action": "close"})
    assert again.status_code == 422
    assert "The wave is closed already." in again.get_data(as_text=True)
    assert researcher_client.post(url, data={"action": "open"}).status_code == 302
    bad = researcher_client.post(url, data=wave_data(window_days="0") | {"action": "save"})
    assert bad.status_code == 422
    with app.app_context():
        wave = db.session.get(Wave, wave_id)
        assert (wave.key, wave.label, wave.offset_days, wave.window_days, wave.status) == (
            "week-4",
            "Week 4 (a)",
            28,
            None,
            WaveStatus.OPEN,
        )
    changes = [e.details["changed"] for e in _events(app, "wave_changed")]
    assert changes == [["label", "window_days"], ["status"], ["status"]]
    page = researcher_client.get(f"/research/studies/{draft}/waves").get_data(True)
    assert "opens 28 days after enrolment, with no end" in page


def test_a_wave_of_another_study_is_not_found(app, researcher_client, draft, make_study, small):
    other = make_study(small)
    with app.app_context():
        wave_id = db.session.scalar(select(Wave.id).where(Wave.study_id == other.study_id))
    assert researcher_client.get(f"/research/studies/{draft}/waves/{wave_id}").status_code == 404
    assert researcher_client.get(f"/research/studies/{draft}/waves/999999").status_code == 404


# -- who may ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("role", "settings", "see_waves", "change_waves"),
    [
        ("viewer", 403, 200, 403),
        ("editor", 403, 200, 302),
        ("stranger", 403, 403, 403),
        ("admin", 200, 200, 302),
    ],
)
def test_access(
    app, researcher_client, draft, make_user, login, role, settings, see_waves, change_waves
):
    email = f"{role}@example.org"
    user_id = make_user(email, "admin" if role == "admin" else "researcher")
    if role in ("viewer", "editor"):
        with app.app_context():
            db.session.add(StudyMember(study_id=draft, user_id=user_id, role=role))
            db.session.commit()
    client = app.test_client()
    login(client, email)
    base = f"/research/studies/{draft}"
    with app.app_context():
        wave_id = db.session.scalar(select(Wave.id).where(Wave.study_id == draft))
    assert client.get(f"{base}/settings").status_code == settings
    assert client.post(f"{base}/settings", data={"name": "x"}).status_code == (
        403 if settings == 403 else 422
    )
    assert client.post(f"{base}/status", data={"status": "open"}).status_code == (
        302 if settings == 200 else 403
    )
    page = client.get(f"{base}/waves")
    assert page.status_code == see_waves
    if see_waves == 200:
        assert ("Add a wave" in page.get_data(as_text=True)) == (change_waves == 302)
    assert client.get(f"{base}/waves/{wave_id}").status_code == see_waves
    added = client.post(f"{base}/waves", data=wave_data(label=f"By {role}"))
    assert added.status_code == change_waves
    closed = client.post(f"{base}/waves/{wave_id}", data={"action": "close"})
    assert closed.status_code == change_waves
    with app.app_context():
        study = db.session.get(Study, draft)
        assert study.name == "IEM-DP validation 2027"
        assert (study.status == StudyStatus.OPEN) == (settings == 200)
        assert len(study.waves) == (2 if change_waves == 302 else 1)
        assert (study.waves[0].status == WaveStatus.CLOSED) == (change_waves == 302)
