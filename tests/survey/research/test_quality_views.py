"""The data-quality pages: the overview and its filter, the rules form, one session, and
excluding and including (survey.research.quality_views); every error next to its field."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditAction, AuditEvent, SessionExclusion, Study, StudyMember, User
from tests.survey.services.test_data_quality import (
    Built,
    Spec,
    add_sessions,
    attentive_many,
    every_entry,
    iemdp_definition,
    make_iemdp_study,
)


@dataclass(frozen=True)
class World:
    study_id: int
    sessions: dict[str, int]

    def url(self, rest: str = "") -> str:
        return f"/research/studies/{self.study_id}/quality{rest}"

    def session_url(self, label: str, rest: str = "") -> str:
        return self.url(f"/sessions/{self.sessions[label]}{rest}")


@pytest.fixture
def world(app, researcher_client) -> World:
    """An IEM-DP study of researcher@example.org: three attentive sessions, a
    straight-liner and a fast one (too few for Mahalanobis D²)."""
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == "researcher@example.org"))
        built = make_iemdp_study(slug="quality-views", owner=owner)
        entries = [e for page in built.definition.pages() for e in page.entries]
        cycling = {e.id: getattr(e, "expected", None) or 1 + i % 5 for i, e in enumerate(entries)}
        people = attentive_many(built.definition, np.random.default_rng(11), 3)
        add_sessions(
            built,
            [Spec(f"attentive-{n}", people[n]) for n in range(3)]
            + [
                Spec("straight", every_entry(built.definition, 4)),
                Spec("fast", cycling, seconds_per_entry=0.5),
            ],
        )
        db.session.commit()
        return World(built.study_id, dict(built.sessions))


@pytest.fixture
def client(researcher_client):
    return researcher_client


def _text(response) -> str:
    return response.get_data(as_text=True)


def _field_error(html: str, field_id: str) -> str:
    """The error shown next to the field ``field_id`` (the span the field points to)."""
    match = re.search(rf'<span id="{field_id}-error">(.*?)</span>\s*</span>', html, re.S)
    assert match, f"no error next to {field_id}"
    return re.sub(r"<[^>]+>", "", match.group(1)).strip()


def _value(html: str, name: str) -> str | None:
    """The value attribute of the input named ``name`` (None without one)."""
    match = re.search(rf'<input[^>]*name="{name}"[^>]*>', html)
    assert match, f"no input {name}"
    value = re.search(r'value="([^"]*)"', match.group(0))
    return value.group(1) if value else None


def _exclusions(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(SessionExclusion))


def _member(app, make_user, login, study_id, role):
    user_id = make_user(f"{role}@example.org")
    with app.app_context():
        db.session.add(StudyMember(study_id=study_id, user_id=user_id, role=role))
        db.session.commit()
    member = app.test_client()
    assert login(member, f"{role}@example.org").status_code == 302
    return member


# -- the overview ----------------------------------------------------------------------------
def test_the_overview_shows_the_rules_counts_and_the_flagged_sessions(client, world):
    response = client.get(world.url())
    html = _text(response)
    assert response.status_code == 200
    assert "longest run of identical answers ≥ 10" in html
    assert "seconds per item &lt; 2" in html
    assert "attention checks failed ≥ 1" in html
    assert "Mahalanobis D² needs more complete sessions than scored items: 5" in html
    assert "Analyses and exports leave out 0 of 5 sessions" in html
    # Flagged is the default, rendered selected; two sessions are flagged.
    assert re.search(r'<option selected value="flagged">Flagged</option>', html)
    assert "Showing 1–2 of 2 flagged sessions" in html
    for label in ("straight", "fast"):
        assert f'data-session="{world.sessions[label]}"' in html
        assert world.session_url(label) in html
    assert f'data-session="{world.sessions["attentive-0"]}"' not in html
    assert re.search(r'<tr data-rule="longstring">.*?<td class="num">1</td>', html, re.S)
    assert re.search(r'<tr data-rule="fast">.*?<td class="num">1</td>', html, re.S)
    # The bulk exclusion, its reason pre-filled.
    assert "2 flagged sessions are not excluded yet" in html
    assert "Flagged by the study&#39;s data-quality rules</textarea>" in html
    assert 'aria-current="page">Data quality</a>' in html


@pytest.mark.parametrize(
    ("show", "listed"),
    [("all", 5), ("excluded", 0), ("flagged", 2)],
)
def test_the_filter_lists_all_flagged_or_excluded(client, world, show, listed):
    html = _text(client.get(world.url(f"?show={show}")))
    assert html.count("<tr data-session=") == listed
    if listed == 0:
        assert "No excluded session" in html and "show all" in html


@pytest.mark.parametrize("query", ["?show=everything", "?wave=week-99", "?page=0", "?page=abc"])
def test_a_bad_filter_is_a_422_with_the_message(client, world, query):
    response = client.get(world.url(query))
    assert response.status_code == 422
    assert 'class="field-error"' in _text(response)


def test_one_wave_at_a_time(client, world):
    html = _text(client.get(world.url("?show=all&wave=week-4")))
    assert "No response sessions yet" in html and "at Week 4" in html
    html = _text(client.get(world.url("?show=all&wave=baseline")))
    assert html.count("<tr data-session=") == 5


def test_pages_of_fifty(client, app, world):
    with app.app_context():
        study = db.session.get(Study, world.study_id)
        built = Built(study.id, iemdp_definition(), study.instrument_version.id)
        add_sessions(
            built,
            [Spec(f"more-{n}", every_entry(built.definition, 1 + n % 5)) for n in range(60)],
        )
        db.session.commit()
    html = _text(client.get(world.url("?show=all")))
    assert "Showing 1–50 of 65" in html and "Page 1 of 2" in html
    assert html.count("<tr data-session=") == 50
    second = _text(client.get(world.url("?show=all&page=2")))
    assert "Showing 51–65 of 65" in second and second.count("<tr data-session=") == 15
    assert 'rel="prev"' in second and "show=all" in second


def test_a_study_without_sessions_says_so_and_leads_on(app, client, researcher_client):
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == "researcher@example.org"))
        built = make_iemdp_study(slug="no-sessions", owner=owner)
        db.session.commit()
        study_id = built.study_id
    html = _text(client.get(f"/research/studies/{study_id}/quality"))
    assert "No response sessions yet" in html
    assert f"/research/studies/{study_id}/participants" in html
    assert f"/research/studies/{study_id}/preview/1" in html
    assert "Exclude all flagged sessions" not in html


# -- exclude all flagged ---------------------------------------------------------------------
def test_exclude_all_flagged_with_the_reason_as_rendered(app, client, world):
    response = client.post(
        world.url("/exclude-flagged"),
        data={"reason": "Flagged by the study's data-quality rules", "wave": ""},
    )
    assert response.status_code == 303
    assert response.headers["Location"].endswith("/quality?show=excluded")
    html = _text(client.get(response.headers["Location"]))
    assert "Excluded 2 flagged sessions." in html
    assert "Analyses and exports leave out 2 of 5 sessions" in html
    assert html.count("<tr data-session=") == 2
    assert _exclusions(app) == 2
    again = _text(client.get(world.url()))
    assert "not excluded yet" not in again  # nothing left to exclude


def test_exclude_all_flagged_needs_a_reason(app, client, world):
    response = client.post(world.url("/exclude-flagged"), data={"reason": "  ", "wave": ""})
    html = _text(response)
    assert response.status_code == 422
    assert "Give a reason" in html and 'class="field-error"' in html
    assert _exclusions(app) == 0


def test_exclude_all_flagged_of_an_unknown_wave_is_refused(app, client, world):
    response = client.post(world.url("/exclude-flagged"), data={"reason": "x", "wave": "w-9"})
    assert response.status_code == 422
    assert "has no wave" in _text(response)
    assert _exclusions(app) == 0


# -- one session -----------------------------------------------------------------------------
def test_the_session_page_shows_indices_answers_and_the_exclusion_form(client, world):
    html = _text(client.get(world.session_url("straight")))
    assert "Session of P000004 at Baseline" in html
    assert '<td data-flag="longstring"><strong>flagged</strong></td>' in html
    assert '<td data-flag="attention"><strong>flagged</strong></td>' in html
    assert ">74</td>" in html  # the longest run: every entry
    assert html.count('data-check="failed"') == 2
    assert "Submitted after" in html and "s per item" in html
    assert "Never excluded." in html
    assert "Exclude this session" in html
    assert "Included: analyses and exports use this session." in html


def test_exclude_and_include_again_with_reasons(app, client, world):
    url = world.session_url("fast")
    response = client.post(url + "/exclude", data={"reason": "Far too fast to read."})
    assert response.status_code == 303
    assert response.headers["Location"].endswith(url + "#exclusion")
    html = _text(client.get(url))
    assert "<strong>Excluded</strong>: Far too fast to read." in html
    assert "researcher@example.org" in html and "<strong>in force</strong>" in html
    assert "Include it again" in html

    response = client.post(url + "/include", data={"reason": "Timings were a clock error."})
    assert response.status_code == 303
    html = _text(client.get(url))
    assert "Included: analyses and exports use this session." in html
    assert "Far too fast to read." in html and "Timings were a clock error." in html
    assert "Exclude this session" in html
    with app.app_context():
        actions = list(
            db.session.scalars(
                select(AuditEvent.action).where(AuditEvent.target_type == "response_session")
            )
        )
        assert actions == [AuditAction.SESSION_EXCLUDED, AuditAction.SESSION_INCLUDED]
        assert db.session.scalar(select(func.count()).select_from(SessionExclusion)) == 1


@pytest.mark.parametrize("action", ["exclude", "include"])
def test_a_missing_reason_is_shown_next_to_the_field(app, client, world, action):
    url = world.session_url("attentive-0")
    if action == "include":
        assert client.post(url + "/exclude", data={"reason": "First."}).status_code == 303
    response = client.post(url + f"/{action}", data={"reason": ""})
    assert response.status_code == 422
    assert (
        _field_error(_text(response), "reason") == "Give a reason: it is kept with the exclusion."
    )
    assert _exclusions(app) == (1 if action == "include" else 0)


def test_a_too_long_reason_is_refused(app, client, world):
    response = client.post(
        world.session_url("attentive-0", "/exclude"), data={"reason": "x" * 2001}
    )
    assert response.status_code == 422
    assert "2000" in _field_error(_text(response), "reason")
    assert _exclusions(app) == 0


def test_excluding_an_excluded_session_or_including_an_included_one(app, client, world):
    url = world.session_url("attentive-1")
    response = client.post(url + "/include", data={"reason": "Why?"})
    assert response.status_code == 422
    assert _field_error(_text(response), "reason") == "This session is not excluded."
    assert client.post(url + "/exclude", data={"reason": "Once."}).status_code == 303
    response = client.post(url + "/exclude", data={"reason": "Twice."})
    assert response.status_code == 422
    assert _field_error(_text(response), "reason") == "This session is excluded already."
    assert _exclusions(app) == 1


def test_a_session_of_another_study_is_not_found(app, client, world):
    with app.app_context():
        other = make_iemdp_study(slug="someone-else")
        db.session.commit()
        other_id = other.study_id
    foreign = f"/research/studies/{other_id}/quality/sessions/{world.sessions['fast']}"
    assert client.get(foreign).status_code == 403  # not the researcher's study
    mixed = world.url("/sessions/999999")
    assert client.get(mixed).status_code == 404
    assert client.post(mixed + "/exclude", data={"reason": "x"}).status_code == 404


# -- the rules -------------------------------------------------------------------------------
def test_the_rules_form_renders_the_rules_in_force(client, world):
    html = _text(client.get(world.url("/rules")))
    assert re.search(r'id="longstring_on" name="longstring_on" type="checkbox" value="y"', html)
    assert html.count('type="checkbox"') == 4 and html.count("checked") == 4
    assert _value(html, "longstring_at_least") == "10"
    assert _value(html, "fast_below") == "2.0"
    assert _value(html, "mahalanobis_quantile") == "0.999"
    assert _value(html, "attention_at_least") == "1"


def _rules(**changes) -> dict[str, str]:
    data = {
        "longstring_on": "y",
        "longstring_at_least": "10",
        "fast_on": "y",
        "fast_below": "2.0",
        "mahalanobis_on": "y",
        "mahalanobis_quantile": "0.999",
        "attention_on": "y",
        "attention_at_least": "1",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_changed_threshold_changes_the_count(app, client, world):
    response = client.post(world.url("/rules"), data=_rules(fast_below="7"))
    assert response.status_code == 303
    html = _text(client.get(response.headers["Location"]))
    assert "Rules saved." in html and "seconds per item &lt; 7" in html
    # Every session answered at 6 s per item: all five are now too fast.
    assert re.search(r'<tr data-rule="fast">.*?<td class="num">5</td>', html, re.S)
    assert "Showing 1–5 of 5 flagged sessions" in html
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == AuditAction.QUALITY_RULES_CHANGED)
        )
        assert event.details["after"]["fast"] == {"on": True, "below": 7.0}


def test_a_rule_switched_off_flags_nothing(client, world):
    response = client.post(world.url("/rules"), data=_rules(fast_on=None))
    assert response.status_code == 303
    html = _text(client.get(world.url()))
    assert "Showing 1–1 of 1 flagged session" in html
    assert re.search(r'<tr data-rule="fast">.*?<span class="hint">off</span>', html, re.S)
    form = _text(client.get(world.url("/rules")))
    assert form.count("checked") == 3


def test_saving_the_same_rules_says_so(client, world):
    response = client.post(world.url("/rules"), data=_rules())
    assert response.status_code == 303
    assert "The rules were already these." in _text(client.get(response.headers["Location"]))


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("longstring_at_least", "1", "Enter a whole number from 2 to 1000."),
        ("longstring_at_least", "ten", "Not a valid integer value."),
        ("longstring_at_least", "", "Enter the run length that raises the flag."),
        ("fast_below", "0", "Enter a number from 0.1 to 60."),
        ("fast_below", "fast", "Not a valid float value."),
        ("mahalanobis_quantile", "1", "Enter a number from 0.5 to 0.999999."),
        ("mahalanobis_quantile", "nan", "Enter a number from 0.5 to 0.999999."),
        ("attention_at_least", "0", "Enter a whole number from 1 to 100."),
        ("attention_at_least", "", "Enter how many failed checks raise the flag."),
    ],
)
def test_every_bad_threshold_is_shown_next_to_its_field(app, client, world, field, value, message):
    response = client.post(world.url("/rules"), data=_rules(**{field: value}))
    html = _text(response)
    assert response.status_code == 422
    assert _field_error(html, field) == message
    assert _value(html, field) == value  # what was typed stays
    with app.app_context():
        assert db.session.get(Study, world.study_id).quality_rules is None


def test_a_viewer_sees_the_pages_without_the_forms(app, make_user, login, world):
    viewer = _member(app, make_user, login, world.study_id, "viewer")
    html = _text(viewer.get(world.url()))
    assert "Exclude all flagged sessions" not in html and "The rules in detail" in html
    rules = _text(viewer.get(world.url("/rules")))
    assert "Save the rules" not in rules and "Straight-lining: on" in rules
    assert "Only the study's owner and editors change the rules." in rules
    session = _text(viewer.get(world.session_url("straight")))
    assert "Exclude this session" not in session
    assert viewer.post(world.url("/rules"), data=_rules(fast_below="7")).status_code == 403
