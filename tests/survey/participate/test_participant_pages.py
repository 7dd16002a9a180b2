"""Participant pages from a participant's walk-through (issue 8): the study team's contact
and "Stop taking part" on every page, polite pages instead of forms, the battery, Back
keeping what was chosen, forms that outlive the session, a short error summary, progress,
what happens next, and the urgent-help note after a safety answer."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from instruments.loader import instrument_path, load_instrument, load_instrument_text
from survey.extensions import db
from survey.models import (
    Answer,
    AuditEvent,
    PageVisit,
    SafetyAlert,
    Study,
    StudyStatus,
    WaveStatus,
    WithdrawalPolicy,
)
from survey.services import instruments, studies, tokens

URGENT_HELP = "Call the test crisis line on 0800 000 000."
TEAM_CONTACT = "The Test Study team, study-team@example.org, 0100 000 000."
AGREE = {"agree": "I agree"}
# Monday 7 December 2026, 09:00 UTC: week 4 opens on Monday 4 January 2027.
ENROLMENT = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
SCREENER_PATH = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"
_slugs = iter(range(1, 10_000))


def body(response) -> str:
    return response.get_data(as_text=True)


def checked_values(html: str) -> dict[str, str]:
    """name → value of the checked radio inputs."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if " checked" in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            found[name] = re.search(r'value="([^"]+)"', tag).group(1)
    return found


def form_token_of(html: str) -> str:
    match = re.search(r'name="form_token" value="([^"]+)"', html)
    assert match, "no form token on the page"
    return match.group(1)


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


@pytest.fixture(scope="module")
def iemdp_11():
    return load_instrument(instrument_path("iemdp", "1.1.0"))


@pytest.fixture(scope="module")
def screener():
    return load_instrument_text(SCREENER_PATH.read_text(encoding="utf-8"), SCREENER_PATH.name)


@dataclass(frozen=True)
class Built:
    study_id: int
    token: str


@pytest.fixture
def build(app):
    """A study on a battery of definitions with ``waves`` (dicts for studies.add_wave) and
    one participant; committed."""

    def make(
        *definitions,
        team_contact: str = TEAM_CONTACT,
        withdrawal_policy: str = WithdrawalPolicy.KEEP,
        status: str = StudyStatus.OPEN,
        waves=({"key": "baseline", "label": "Baseline"},),
    ) -> Built:
        with app.app_context():
            versions = [instruments.import_definition(d)[0] for d in definitions]
            study = studies.create_study(
                name="Pages study",
                slug=f"pages-study-{next(_slugs)}",
                instrument_versions=versions,
                consent_text="Please agree.",
                consent_version="v1",
                urgent_help_note=URGENT_HELP,
                team_contact=team_contact,
                withdrawal_policy=withdrawal_policy,
                status=status,
            )
            for wave in waves:
                studies.add_wave(study, **wave)
            _participant, token = studies.add_participant(study)
            db.session.commit()
            return Built(study.id, token)

    return make


def at(app, moment: datetime) -> None:
    """Move the app's clock to ``moment``."""
    app.config["CLOCK"] = lambda: moment


def consent(client, token) -> None:
    assert client.post(f"/p/{token}", data=AGREE).status_code == 302


def submit(client, token, number, data):
    return client.post(f"/p/{token}/page/{number}", data=data)


# -- 1. contact, urgent help and "Stop taking part" on every page ---------------------------
def test_every_page_names_the_team_offers_to_stop_and_shows_the_help_note(
    app, client, build, small, answers_for
):
    info = build(small)
    consent(client, info.token)
    seen = {"page 1": body(client.get(f"/p/{info.token}/page/1"))}
    assert submit(client, info.token, 1, answers_for(small.pages()[0])).status_code == 302
    assert submit(client, info.token, 2, answers_for(small.pages()[1], 2)).status_code == 302
    for url in (f"/p/{info.token}/done", f"/p/{info.token}/help", f"/p/{info.token}/withdraw"):
        response = client.get(url)
        assert response.status_code == 200, url
        seen[url] = body(response)
    for url, html in seen.items():
        assert TEAM_CONTACT in html, url
        assert URGENT_HELP in html, url
        assert "Pages study" in html, url
        if not url.endswith("/withdraw"):
            assert f'href="/p/{info.token}/withdraw">Stop taking part</a>' in html, url


def test_no_contact_section_when_the_study_has_none(client, build, small):
    info = build(small, team_contact="")
    consent(client, info.token)
    html = body(client.get(f"/p/{info.token}/page/1"))
    assert "Questions about the study" not in html
    assert "Stop taking part" in html


@pytest.mark.parametrize(
    ("policy", "explained"),
    [
        (WithdrawalPolicy.KEEP, "stay in the study"),
        (WithdrawalPolicy.EXCLUDE, "left out of the study’s analyses"),
    ],
)
def test_withdrawal_explains_the_policy_then_records_it(
    app, client, build, small, policy, explained
):
    info = build(small, withdrawal_policy=policy)
    consent(client, info.token)
    before = row_counts(app)
    page = client.get(f"/p/{info.token}/withdraw")
    assert page.status_code == 200
    html = body(page)
    assert explained in html
    assert '<button type="submit" class="button">Stop taking part</button>' in html
    assert row_counts(app) == before  # the GET only asks

    response = client.post(f"/p/{info.token}/withdraw", data={})
    assert response.headers["Location"] == f"/p/{info.token}/withdraw"
    stopped = body(client.get(f"/p/{info.token}/withdraw"))
    assert "You have stopped taking part" in stopped and "<form" not in stopped
    with app.app_context():
        participant = tokens.find_participant(info.token)
        assert participant.withdrawn_at is not None
        assert participant.excluded == (policy == WithdrawalPolicy.EXCLUDE)
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "participant_withdrew")
            )
            == 1
        )
    # From then on the link says so, and nothing is answerable.
    for url in (f"/p/{info.token}", f"/p/{info.token}/page/1", f"/p/{info.token}/done"):
        html = body(client.get(url))
        assert "You have stopped taking part" in html, url
        assert "<form" not in html
    answers_before = row_counts(app)["answers"]
    submit(client, info.token, 1, {"AA_S_1": "1"})
    assert row_counts(app)["answers"] == answers_before
    # Withdrawing twice records it once.
    client.post(f"/p/{info.token}/withdraw", data={})
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "participant_withdrew")
            )
            == 1
        )


@pytest.mark.parametrize("when", ["closed study", "between waves"])
def test_withdrawal_works_on_a_closed_study_and_between_waves(app, client, build, small, when):
    waves = ({"key": "baseline", "label": "Baseline", "offset_days": 0, "window_days": 7},)
    info = build(small, waves=waves)
    at(app, ENROLMENT)
    consent(client, info.token)
    if when == "closed study":
        with app.app_context():
            study = db.session.get(Study, info.study_id)
            study.status = StudyStatus.CLOSED
            db.session.commit()
    else:
        at(app, ENROLMENT + timedelta(days=8))
    html = body(client.get(f"/p/{info.token}"))
    assert f'href="/p/{info.token}/withdraw">Stop taking part</a>' in html
    assert client.post(f"/p/{info.token}/withdraw", data={}).status_code == 302
    assert "You have stopped taking part" in body(client.get(f"/p/{info.token}"))


def test_withdrawal_post_needs_the_form_token(make_app, app, build, small):
    info = build(small)
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    assert client.post(f"/p/{info.token}/withdraw", data={}).status_code == 400
    with app.app_context():
        assert tokens.find_participant(info.token).withdrawn_at is None
    token = form_token_of(body(client.get(f"/p/{info.token}/withdraw")))
    assert client.post(f"/p/{info.token}/withdraw", data={"form_token": token}).status_code == 302
    with app.app_context():
        assert tokens.find_participant(info.token).withdrawn_at is not None


# -- 2. polite pages, never a form -----------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "text"),
    [(StudyStatus.DRAFT, "has not started yet"), (StudyStatus.CLOSED, "not collecting answers")],
)
def test_draft_or_closed_study_is_a_polite_page(app, client, build, small, status, text):
    info = build(small, status=status)
    before = row_counts(app)
    response = client.get(f"/p/{info.token}")
    assert response.status_code == 403
    html = body(response)
    assert "This study is not open" in html and text in html
    assert "<form" not in html and URGENT_HELP in html and TEAM_CONTACT in html
    assert client.post(f"/p/{info.token}", data=AGREE).status_code == 403
    assert row_counts(app) == before


def test_between_waves_says_when_the_next_questionnaire_opens(
    app, client, build, small, answers_for
):
    waves = (
        {"key": "baseline", "label": "Baseline", "offset_days": 0, "window_days": 7},
        {"key": "week-4", "label": "Week 4", "offset_days": 28, "window_days": 14},
    )
    info = build(small, waves=waves)
    at(app, ENROLMENT)
    consent(client, info.token)
    for number, page in enumerate(small.pages(), start=1):
        assert submit(client, info.token, number, answers_for(page, 2)).status_code == 302
    done = body(client.get(f"/p/{info.token}/done"))
    assert "Your next questionnaire opens on <strong>Monday 4 January 2027</strong>" in done

    at(app, ENROLMENT + timedelta(days=10))
    response = client.get(f"/p/{info.token}")
    assert response.status_code == 403
    html = body(response)
    assert "Your next questionnaire opens on <strong>Monday 4 January 2027</strong>" in html
    assert "<form" not in html

    at(app, ENROLMENT + timedelta(days=28))  # the first second of week 4
    assert client.get(f"/p/{info.token}").headers["Location"] == f"/p/{info.token}/page/1"
    for number, page in enumerate(small.pages(), start=1):
        assert submit(client, info.token, number, answers_for(page, 3)).status_code == 302
    done = body(client.get(f"/p/{info.token}/done"))
    assert "You have answered all the questions of Week 4" in done
    assert "every questionnaire planned for you" in done

    at(app, ENROLMENT + timedelta(days=50))  # after week 4's window
    html = body(client.get(f"/p/{info.token}"))
    assert "You have completed every questionnaire of this study, thank you" in html


def test_no_questionnaire_open_and_none_scheduled(app, client, build, small):
    info = build(small, waves=({"key": "b", "label": "Baseline", "status": WaveStatus.CLOSED},))
    html = body(client.get(f"/p/{info.token}"))
    assert "No questionnaire is open at the moment" in html
    assert "<form" not in html


# -- 3 and 7. the battery, in participant language ------------------------------------------
def test_battery_pages_run_across_instruments_with_participant_titles(
    app, client, build, iemdp_11, screener, answers_for
):
    info = build(iemdp_11, screener)
    consent_page = body(client.get(f"/p/{info.token}"))
    assert f"<h1>{iemdp_11.title}</h1>" in consent_page  # the first instrument's intro
    consent(client, info.token)
    pages = [*iemdp_11.pages(), *screener.pages()]
    assert len(pages) == 12
    for number, page in enumerate(pages, start=1):
        html = body(client.get(f"/p/{info.token}/page/{number}"))
        construct = (iemdp_11 if number <= 10 else screener).construct(page.key)
        assert f"<h1>{construct.page_title}</h1>" in html
        assert f">{construct.name}<" not in html  # never the researchers' construct name
        part = "Part 1 of 2" if number <= 10 else "Part 2 of 2"
        assert part in html
        value = 0 if number > 10 else 3
        data = answers_for(page, value)
        for check in page.entries:
            if hasattr(check, "expected"):
                data[check.id] = str(check.expected)
        response = submit(client, info.token, number, data)
        assert response.status_code == 302, body(response)
    assert response.headers["Location"] == f"/p/{info.token}/done"
    with app.app_context():
        versions = {
            version_id
            for (version_id,) in db.session.execute(select(Answer.instrument_version_id).distinct())
        }
        assert len(versions) == 2


# -- 4. Back keeps what was chosen -----------------------------------------------------------
def test_back_keeps_what_was_chosen_on_the_page(app, client, build, iemdp_11, answers_for):
    info = build(iemdp_11)
    consent(client, info.token)
    first, second = iemdp_11.pages()[:2]
    assert submit(client, info.token, 1, answers_for(first, 4)).status_code == 302
    chosen = {entry.id: "2" for entry in second.entries[:4]}
    response = submit(client, info.token, 2, chosen | {"back": "1"})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/p/{info.token}/page/1"
    # Page 1 as it was, then Next: the four answers of page 2 are still chosen.
    assert checked_values(body(client.get(f"/p/{info.token}/page/1"))) == answers_for(first, 4)
    assert submit(client, info.token, 1, answers_for(first, 4)).status_code == 302
    assert checked_values(body(client.get(f"/p/{info.token}/page/2"))) == chosen
    with app.app_context():  # page 2 is not submitted by Back
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(PageVisit)
                .where(PageVisit.submitted_at.is_not(None))
            )
            == 1
        )


def test_back_with_tampered_values_keeps_only_valid_ones(app, client, build, small):
    info = build(small)
    consent(client, info.token)
    assert submit(client, info.token, 1, {k: "2" for k in ("AA_S_1", "AA_S_2", "AA_S_3", "AA_S_4")})
    data = {"BB_S_1": "3", "BB_S_2": "99", "BB_S_3": "x", "ZZ": "1", "back": "1"}
    assert submit(client, info.token, 2, data).status_code == 302
    assert checked_values(body(client.get(f"/p/{info.token}/page/2"))) == {"BB_S_1": "3"}


# -- 5. an expired or missing session never loses answers -----------------------------------
def test_a_page_posted_without_any_cookie_is_saved(make_app, app, build, small, answers_for):
    info = build(small)
    live = make_app(WTF_CSRF_ENABLED=True)
    browser = live.test_client()
    html = body(browser.get(f"/p/{info.token}"))
    assert (
        browser.post(
            f"/p/{info.token}", data=AGREE | {"form_token": form_token_of(html)}
        ).status_code
        == 302
    )
    page = body(browser.get(f"/p/{info.token}/page/1"))
    # The cookies are gone (expired session, another browser tab after a restart, ...).
    fresh = live.test_client(use_cookies=False)
    data = answers_for(small.pages()[0], 3) | {"form_token": form_token_of(page)}
    response = fresh.post(f"/p/{info.token}/page/1", data=data)
    assert response.status_code == 302
    assert response.headers["Location"] == f"/p/{info.token}/page/2"
    with app.app_context():
        assert set(db.session.scalars(select(Answer.value))) == {3}


def test_a_post_without_the_token_gets_a_participant_page_with_a_way_back(
    make_app, app, build, small, answers_for
):
    info = build(small)
    live = make_app(WTF_CSRF_ENABLED=True)
    before = row_counts(app)
    response = live.test_client().post(
        f"/p/{info.token}/page/1", data=answers_for(small.pages()[0])
    )
    assert response.status_code == 400
    html = body(response)
    assert "Pages study" in html and URGENT_HELP in html
    assert "the answers on that page were not saved" in html
    assert f'<a class="button" href="/p/{info.token}">Go back to your questionnaire</a>' in html
    assert row_counts(app) == before


def test_the_form_token_changes_with_the_link(make_app, app, build, small):
    """A regenerated link (a new token hash) makes old pages' tokens stale."""
    info = build(small)
    live = make_app(WTF_CSRF_ENABLED=True)
    old_token = form_token_of(body(live.test_client().get(f"/p/{info.token}")))
    with app.app_context():
        participant = tokens.find_participant(info.token)
        new_link = tokens.generate_token()
        participant.token_hash = tokens.hash_token(new_link)
        db.session.commit()
    response = live.test_client().post(f"/p/{new_link}", data=AGREE | {"form_token": old_token})
    assert response.status_code == 400
    fresh = form_token_of(body(live.test_client().get(f"/p/{new_link}")))
    assert fresh != old_token


# -- 6. a short error summary that leads to the question ------------------------------------
def test_error_summary_counts_lists_three_and_folds_the_rest(client, build, iemdp_11):
    info = build(iemdp_11)
    consent(client, info.token)
    page = iemdp_11.pages()[0]
    response = submit(client, info.token, 1, {})
    assert response.status_code == 422
    html = body(response)
    summary = html[
        html.index('class="error-summary"') : html.index(
            "</div>", html.index('class="error-summary"')
        )
    ]
    assert f"{len(page.entries)} questions need an answer" in summary
    links = re.findall(r'<a href="#([^"]+)">', summary)
    assert len(links) == len(page.entries)
    assert summary.index("<details>") > summary.index(f'href="#{links[2]}"')
    assert summary.index("<details>") < summary.index(f'href="#{links[3]}"')
    assert f"Show the other {len(page.entries) - 3}" in summary
    assert "Please choose an answer" not in summary  # the count says it once
    for target in links:
        assert f'<fieldset id="{target}" class="item item--error" tabindex="-1"' in html


def test_one_missing_answer_reads_in_the_singular(client, build, small, answers_for):
    info = build(small)
    consent(client, info.token)
    data = answers_for(small.pages()[0])
    del data["AA_S_2"]
    html = body(submit(client, info.token, 1, data))
    assert "1 question needs an answer" in html and "<details>" not in html
    # A value that is not an answer of the scale: the summary says what is wrong.
    html = body(submit(client, info.token, 1, answers_for(small.pages()[0]) | {"AA_S_2": "7"}))
    assert "1 question needs your attention" in html
    assert "Statement AA 2. – Please choose one of the answers shown.</a>" in html


# -- 8. progress counts finished pages -------------------------------------------------------
def test_progress_counts_finished_pages(client, build, small, answers_for):
    info = build(small)
    consent(client, info.token)
    first = body(client.get(f"/p/{info.token}/page/1"))
    assert '<progress max="2" value="0"' in first and "0 of 2 pages finished" in first
    submit(client, info.token, 1, answers_for(small.pages()[0]))
    second = body(client.get(f"/p/{info.token}/page/2"))
    assert '<progress max="2" value="1"' in second
    # Back on page 1 it still counts the one finished page.
    assert '<progress max="2" value="1"' in body(client.get(f"/p/{info.token}/page/1"))


# -- 11. the urgent-help note at once after a safety answer ---------------------------------
def test_a_safety_answer_shows_the_help_note_then_carries_on(
    app, client, build, screener, answers_for
):
    info = build(screener)
    consent(client, info.token)
    mood, energy = screener.pages()
    data = answers_for(mood, 0) | {"MD_LOW_4": "1"}  # "Sometimes": at the threshold
    response = submit(client, info.token, 1, data)
    assert response.headers["Location"] == f"/p/{info.token}/help"
    html = body(client.get(f"/p/{info.token}/help"))
    assert '<section class="urgent-help-now"' in html
    assert html.index(URGENT_HELP) < html.index("Continue")
    assert f'<a class="button" href="/p/{info.token}">Continue</a>' in html
    assert client.get(f"/p/{info.token}").headers["Location"] == f"/p/{info.token}/page/2"
    with app.app_context():
        alert = db.session.scalar(select(SafetyAlert))
        assert (alert.item_id, alert.value) == ("MD_LOW_4", 1)

    # A page without a safety answer goes straight on; the last page to thank you.
    data = answers_for(energy, 0) | {"ATTN_1": "2"}
    response = submit(client, info.token, 2, data)
    assert response.headers["Location"] == f"/p/{info.token}/done"


def test_no_help_page_below_the_threshold(client, build, screener, answers_for):
    info = build(screener)
    consent(client, info.token)
    response = submit(client, info.token, 1, answers_for(screener.pages()[0], 0))
    assert response.headers["Location"] == f"/p/{info.token}/page/2"


def test_participants_are_never_given_a_session_cookie(make_app, build, small, answers_for):
    info = build(small)
    client = make_app(WTF_CSRF_ENABLED=True).test_client()
    for url in (f"/p/{info.token}", f"/p/{info.token}/withdraw"):
        assert "Set-Cookie" not in client.get(url).headers, url
