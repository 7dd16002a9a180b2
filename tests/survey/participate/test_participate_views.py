"""The participant journey through the test client: link → consent → pages → thank you."""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import (
    Answer,
    ConsentRecord,
    PageVisit,
    ResponseSession,
    StudyStatus,
)
from survey.participate.presentation import GENERIC_PAGE_TITLE
from survey.services import studies
from survey.services.tokens import generate_token

URGENT_HELP = "Call the test crisis line on 0800 000 000."
AGREE = {"agree": "I agree"}
DECLINE = {"decline": "I do not agree"}


def row_counts(app) -> dict[str, int]:
    with app.app_context():
        return {
            table.name: db.session.scalar(select(func.count()).select_from(table))
            for table in db.metadata.sorted_tables
        }


def body(response) -> str:
    return response.get_data(as_text=True)


def consent(client, token):
    response = client.post(f"/p/{token}", data=AGREE)
    assert response.status_code == 302
    return response


def submit(client, token, number, data):
    return client.post(f"/p/{token}/page/{number}", data=data)


def checked_values(html: str) -> dict[str, str]:
    """name → value of the checked radio inputs."""
    found = {}
    for tag in re.findall(r"<input[^>]*>", html):
        if " checked" in tag:
            name = re.search(r'name="([^"]+)"', tag).group(1)
            found[name] = re.search(r'value="([^"]+)"', tag).group(1)
    return found


# -- consent ---------------------------------------------------------------------------------
def test_link_shows_the_consent_page(client, make_study, small):
    info = make_study(small)
    response = client.get(f"/p/{info.token}")
    assert response.status_code == 200
    html = body(response)
    assert "Please agree." in html and "You may stop at any time." in html
    assert "Consent version v1" in html
    assert 'value="I agree"' in html and 'value="I do not agree"' in html
    assert "<p>Intro line one line two.</p>" in html
    assert URGENT_HELP in html
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Referrer-Policy"] == "same-origin"


def test_giving_consent_leads_to_the_first_page(app, client, make_study, small):
    info = make_study(small)
    response = consent(client, info.token)
    assert response.headers["Location"] == f"/p/{info.token}"
    response = client.get(f"/p/{info.token}")
    assert response.headers["Location"] == f"/p/{info.token}/page/1"
    with app.app_context():
        record = db.session.scalar(select(ConsentRecord))
        assert (record.decision, record.consent_version) == ("given", "v1")


def test_declining_records_only_the_decline_and_thanks(app, client, make_study, small):
    info = make_study(small)
    before = row_counts(app)
    response = client.post(f"/p/{info.token}", data=DECLINE, follow_redirects=True)
    assert response.status_code == 200
    html = body(response)
    assert "Thank you" in html and "no answers were collected" in html
    assert URGENT_HELP in html
    after = row_counts(app)
    assert after["consent_records"] == before["consent_records"] + 1
    assert {k: v for k, v in after.items() if k != "consent_records"} == {
        k: v for k, v in before.items() if k != "consent_records"
    }
    with app.app_context():
        assert db.session.scalar(select(ConsentRecord.decision)) == "declined"
    # The pages stay closed; opening the link again offers the choice again.
    assert client.get(f"/p/{info.token}/page/1").headers["Location"] == f"/p/{info.token}"
    assert 'value="I agree"' in body(client.get(f"/p/{info.token}"))


def test_consent_post_without_a_choice_is_refused(app, client, make_study, small):
    info = make_study(small)
    before = row_counts(app)
    response = client.post(f"/p/{info.token}", data={})
    assert response.status_code == 400
    assert "There is a problem" in body(response)
    assert row_counts(app) == before


def test_pages_need_consent_first(client, make_study, small):
    info = make_study(small)
    for method in (client.get, client.post):
        response = method(f"/p/{info.token}/page/1")
        assert response.status_code == 302
        assert response.headers["Location"] == f"/p/{info.token}"


# -- pages -----------------------------------------------------------------------------------
def test_whole_iemdp_questionnaire_to_completion(app, client, make_study, iemdp, answers_for):
    info = make_study(iemdp)
    consent(client, info.token)
    pages = iemdp.pages()
    assert len(pages) == 10
    for number, page in enumerate(pages, start=1):
        response = client.get(f"/p/{info.token}/page/{number}")
        assert response.status_code == 200
        html = body(response)
        assert f"Page {number} of 10" in html
        # Progress counts the pages finished: nothing on arrival at page 1.
        assert f'<progress max="10" value="{number - 1}"' in html
        # 1.0.0 has no participant page titles: a plain heading, never the construct name.
        assert f"<h1>{GENERIC_PAGE_TITLE}</h1>" in html
        assert page.construct_name not in html
        assert html.count("<fieldset") == len(page.entries)
        assert URGENT_HELP in html
        assert ("Finish" if number == 10 else "Next") in html
        response = submit(client, info.token, number, answers_for(page, 4))
        assert response.status_code == 302
        expected = "done" if number == 10 else f"page/{number + 1}"
        assert response.headers["Location"] == f"/p/{info.token}/{expected}"

    response = client.get(f"/p/{info.token}/done")
    assert response.status_code == 200
    assert "You have answered all the questions of Baseline" in body(response)
    assert URGENT_HELP in body(response)
    # The link now leads to the thank-you page and the pages are closed.
    assert client.get(f"/p/{info.token}").headers["Location"] == f"/p/{info.token}/done"
    assert client.get(f"/p/{info.token}/page/3").headers["Location"] == f"/p/{info.token}/done"
    assert submit(client, info.token, 3, answers_for(pages[2], 1)).status_code == 302

    with app.app_context():
        session = db.session.scalar(select(ResponseSession))
        assert session.completed_at is not None
        version = session.wave.study.instrument_version
        assert version.content_hash == iemdp.content_hash
        answers = db.session.scalars(select(Answer)).all()
        assert {answer.instrument_version_id for answer in answers} == {version.id}
        assert len(answers) == 74  # 72 items + 2 attention checks
        assert {answer.value for answer in answers} == {4}
        visits = db.session.scalars(select(PageVisit)).all()
        assert len(visits) == 10
        assert all(v.submitted_at >= v.first_shown_at and v.submit_count == 1 for v in visits)


def test_resume_goes_to_the_first_unsubmitted_page_with_answers_prefilled(
    client, make_study, small, answers_for
):
    info = make_study(small)
    consent(client, info.token)
    first = small.pages()[0]
    answers = answers_for(first, 1) | {"AA_S_2": "3"}
    assert submit(client, info.token, 1, answers).status_code == 302

    response = client.get(f"/p/{info.token}")  # opening the same link again, e.g. next day
    assert response.headers["Location"] == f"/p/{info.token}/page/2"
    assert checked_values(body(client.get(f"/p/{info.token}/page/2"))) == {}
    html = body(client.get(f"/p/{info.token}/page/1"))
    assert checked_values(html) == answers
    # A Back button on page 2 only.
    assert 'name="back"' in body(client.get(f"/p/{info.token}/page/2"))
    assert 'name="back"' not in html


def test_resubmitting_a_page_updates_and_does_not_duplicate(
    app, client, make_study, small, answers_for
):
    info = make_study(small)
    consent(client, info.token)
    page = small.pages()[0]
    submit(client, info.token, 1, answers_for(page, 1))
    submit(client, info.token, 1, answers_for(page, 3))
    counts = row_counts(app)
    assert counts["answers"] == len(page.entries)
    assert counts["page_visits"] == 1
    with app.app_context():
        assert set(db.session.scalars(select(Answer.value))) == {3}
        assert db.session.scalar(select(PageVisit.submit_count)) == 2


@pytest.mark.parametrize(
    ("change", "item"),
    [({"AA_S_2": "7"}, "AA_S_2"), ({"AA_S_2": "abc"}, "AA_S_2"), ({"AA_S_2": ""}, "AA_S_2")],
)
def test_tampered_values_are_shown_next_to_the_item_and_nothing_is_stored(
    app, client, make_study, small, answers_for, change, item
):
    info = make_study(small)
    consent(client, info.token)
    client.get(f"/p/{info.token}/page/1")
    before = row_counts(app)
    response = submit(client, info.token, 1, answers_for(small.pages()[0]) | change)
    assert response.status_code == 422
    html = body(response)
    assert "There is a problem" in html
    assert f'<p class="error-message" id="{item}-error">' in html
    assert f'aria-describedby="{item}-error"' in html
    assert f'href="#{item}-item"' in html  # the summary links to the question
    assert f'<fieldset id="{item}-item" class="item item--error" tabindex="-1"' in html
    assert html.count('class="error-message"') == 1
    assert URGENT_HELP in html
    assert row_counts(app) == before


def test_answer_to_an_item_of_another_page_is_refused(app, client, make_study, small, answers_for):
    info = make_study(small)
    consent(client, info.token)
    client.get(f"/p/{info.token}/page/1")
    before = row_counts(app)
    response = submit(client, info.token, 1, answers_for(small.pages()[0]) | {"BB_S_1": "2"})
    assert response.status_code == 422
    assert "not on it, so nothing was saved" in body(response)
    assert row_counts(app) == before


def test_missing_answers_are_listed(app, client, make_study, small):
    info = make_study(small)
    consent(client, info.token)
    response = submit(client, info.token, 1, {"AA_S_1": "2"})
    assert response.status_code == 422
    html = body(response)
    assert html.count("Please choose an answer.") == 3  # next to each of the 3 items
    assert "3 questions need an answer" in html  # the summary: their count and links
    for item in ("AA_S_2", "AA_S_3", "AA_S_4"):
        assert f'href="#{item}-item"' in html
    assert checked_values(html) == {"AA_S_1": "2"}  # what was given is kept
    assert row_counts(app)["answers"] == 0


def test_missing_form_token_is_refused_and_nothing_is_stored(
    make_app, app, make_study, small, answers_for
):
    info = make_study(small)
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    before = row_counts(app)
    response = client.post(f"/p/{info.token}", data=AGREE)
    assert response.status_code == 400
    html = body(response)
    assert "were not saved" in html
    assert row_counts(app) == before

    # With the token from the page, the same request works.
    html = body(client.get(f"/p/{info.token}"))
    form_token = re.search(r'name="form_token" value="([^"]+)"', html).group(1)
    response = client.post(f"/p/{info.token}", data=AGREE | {"form_token": form_token})
    assert response.status_code == 302
    client.get(f"/p/{info.token}/page/1")
    before = row_counts(app)
    response = submit(client, info.token, 1, answers_for(small.pages()[0]))
    assert response.status_code == 400
    response = submit(client, info.token, 1, answers_for(small.pages()[0]) | {"form_token": "x"})
    assert response.status_code == 400
    assert row_counts(app) == before


@pytest.mark.parametrize("token", ["unknown", "a" * 43, "x" * 100, "%2e%2e", None])
def test_unknown_or_malformed_link_is_a_friendly_404(app, client, make_study, small, token):
    make_study(small)
    token = token or generate_token()
    before = row_counts(app)
    for response in (
        client.get(f"/p/{token}"),
        client.post(f"/p/{token}", data=AGREE),
        client.get(f"/p/{token}/page/1"),
        client.post(f"/p/{token}/page/1", data={"AA_S_1": "1"}),
        client.get(f"/p/{token}/done"),
    ):
        assert response.status_code == 404
        html = body(response)
        assert "could not find this link" in html or "Page not found" in html
        assert "Traceback" not in html
        assert "If you need urgent help" in html
    assert row_counts(app) == before


def test_closed_study(app, client, make_study, small):
    info = make_study(small, study_status=StudyStatus.CLOSED)
    response = client.get(f"/p/{info.token}")
    assert response.status_code == 403
    assert "This study is not open" in body(response)
    assert URGENT_HELP in body(response)


def test_no_open_wave(app, client, make_study, small):
    info = make_study(small, waves=(("baseline", "closed"),))
    before = row_counts(app)
    response = client.post(f"/p/{info.token}", data=AGREE)
    assert response.status_code == 403
    assert "There is no questionnaire for you right now" in body(response)
    assert URGENT_HELP in body(response)
    assert row_counts(app) == before


def test_study_closing_mid_questionnaire(app, client, make_study, small, answers_for):
    info = make_study(small)
    consent(client, info.token)
    with app.app_context():
        studies.get_study(info.slug).status = StudyStatus.CLOSED
        db.session.commit()
    before = row_counts(app)
    assert submit(client, info.token, 1, answers_for(small.pages()[0])).status_code == 403
    assert row_counts(app) == before


def test_page_timings_are_recorded(app, client, make_study, small, answers_for):
    info = make_study(small)
    consent(client, info.token)
    client.get(f"/p/{info.token}/page/1")
    with app.app_context():
        visit = db.session.scalar(select(PageVisit))
        assert visit.first_shown_at is not None and visit.submitted_at is None
        assert db.session.scalar(select(ResponseSession.current_page)) == "AA"
    client.get(f"/p/{info.token}/page/1")
    submit(client, info.token, 1, answers_for(small.pages()[0]))
    with app.app_context():
        visit = db.session.scalar(select(PageVisit))
        assert visit.first_shown_at <= visit.last_shown_at <= visit.submitted_at
        assert visit.submit_count == 1


def test_pages_cannot_be_skipped(client, make_study, small):
    info = make_study(small)
    consent(client, info.token)
    response = client.get(f"/p/{info.token}/page/2")
    assert response.headers["Location"] == f"/p/{info.token}/page/1"
    assert client.get(f"/p/{info.token}/page/3").status_code == 404
    assert client.get(f"/p/{info.token}/page/0").status_code == 404
    # The thank-you page needs a completed questionnaire.
    assert client.get(f"/p/{info.token}/done").headers["Location"] == f"/p/{info.token}"


def test_items_are_accessible_fieldsets_with_labelled_radios(
    client, make_study, small, answers_for
):
    info = make_study(small)
    consent(client, info.token)
    submit(client, info.token, 1, answers_for(small.pages()[0]))
    html = body(client.get(f"/p/{info.token}/page/2"))
    assert '<html lang="en">' in html
    page = small.pages()[1]
    legends = re.findall(r"<legend>(.*?)</legend>", html)
    assert legends == [entry.text.replace("'", "&#39;") for entry in page.entries]
    input_ids = re.findall(r'<input id="([^"]+)" name="[^"]+" required type="radio"', html)
    label_fors = re.findall(r'<label for="([^"]+)">', html)
    assert len(input_ids) == len(page.entries) * 3
    assert input_ids == label_fors
    assert "<script" not in html


def test_shuffled_items_keep_their_order_across_reloads(client, make_study, make_definition):
    definition = make_definition(shuffle_items=True)
    info = make_study(definition, participants=6)
    orders = set()
    for token in info.tokens:
        consent(client, token)
        first = re.findall(r"<legend>(.*?)</legend>", body(client.get(f"/p/{token}/page/1")))
        again = re.findall(r"<legend>(.*?)</legend>", body(client.get(f"/p/{token}/page/1")))
        assert first == again
        orders.add(tuple(first))
    assert len(orders) > 1


def test_simultaneous_submissions_of_a_page_store_one_row_per_item(
    app, make_study, small, answers_for
):
    info = make_study(small)
    consent(app.test_client(), info.token)
    page = small.pages()[0]

    def submit_once(value: int) -> int:
        return submit(app.test_client(), info.token, 1, answers_for(page, value)).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(submit_once, [1, 2, 3, 1, 2, 3]))
    assert statuses == [302] * 6
    counts = row_counts(app)
    assert counts["answers"] == len(page.entries)
    assert counts["page_visits"] == 1
    assert counts["response_sessions"] == 1
    with app.app_context():
        assert db.session.scalar(select(PageVisit.submit_count)) == 6


def test_consent_over_https_needs_no_referrer_and_no_session(make_app, app, make_study, small):
    """Over HTTPS Flask-WTF's session CSRF check wanted a same-origin Referer on every form
    POST (and a live session). The participant form token needs neither: the pages keep
    their same-origin Referrer-Policy, and a POST without a Referer, from a client without
    cookies, is accepted with the token and refused without it."""
    info = make_study(small)
    csrf_app = make_app(WTF_CSRF_ENABLED=True)
    client = csrf_app.test_client()
    page = client.get(f"/p/{info.token}", base_url="https://survey.example.org")
    policy = page.headers["Referrer-Policy"]
    assert policy == "same-origin"
    assert f'<meta name="referrer" content="{policy}">' in body(page)
    assert "Set-Cookie" not in page.headers  # no session is started for a participant
    form_token = re.search(r'name="form_token" value="([^"]+)"', body(page))[1]
    cookieless = csrf_app.test_client(use_cookies=False)
    refused = cookieless.post(f"/p/{info.token}", data=AGREE, base_url="https://survey.example.org")
    assert refused.status_code == 400
    response = cookieless.post(
        f"/p/{info.token}",
        data=AGREE | {"form_token": form_token},
        base_url="https://survey.example.org",
    )
    assert response.status_code == 302
