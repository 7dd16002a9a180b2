"""The participants pages: list, new links and their CSV, a lost link, open enrolment, due
(survey.research.participant_views, survey.participate.enrolment)."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditEvent, Participant, Study, StudyMember, User
from survey.services import instruments, studies
from tests.survey.conftest import STAFF_PASSWORD

LINK_RE = re.compile(r"(https?://[^\s<\"]+/p/([A-Za-z0-9_-]{43}))")
FORM_TOKEN_RE = re.compile(r'name="form_token" value="([0-9a-f]{64})"')


@pytest.fixture
def study_id(app, small, researcher_client):
    """A study owned by researcher@example.org with two waves and 3 participants."""
    with app.app_context():
        owner = db.session.scalar(select(User).where(User.email == "researcher@example.org"))
        version, _ = instruments.import_definition(small)
        study = studies.create_study(
            name="Participants study",
            slug="participants-study",
            instrument_version=version,
            consent_text="Agree?",
            consent_version="v1",
            urgent_help_note="Call 112.",
            owner=owner,
            first_wave_label="Baseline",
        )
        studies.add_wave(study, key="week-4", label="Week 4", offset_days=28, window_days=14)
        studies.add_participants(study, 3)
        db.session.commit()
        return study.id


@pytest.fixture
def client(researcher_client):
    return researcher_client


def _count(app, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Participant).where(*where))


def _member(app, make_user, login, study_id, role):
    user_id = make_user(f"{role}@example.org")
    with app.app_context():
        db.session.add(StudyMember(study_id=study_id, user_id=user_id, role=role))
        db.session.commit()
    member = app.test_client()
    assert login(member, f"{role}@example.org").status_code == 302
    return member


def _page_links(html: str) -> list[tuple[str, str]]:
    return LINK_RE.findall(html)


# -- list ------------------------------------------------------------------------------------
def test_the_list_shows_codes_states_and_counts(app, client, study_id):
    response = client.get(f"/research/studies/{study_id}/participants")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Showing 1–3 of 3" in html
    for code in ("P000001", "P000002", "P000003"):
        assert code in html
    assert html.count('data-state="not_started"') == 6
    assert "Create links" in html and "New link" in html


def test_a_viewer_sees_the_list_without_actions(app, make_user, login, study_id):
    viewer = _member(app, make_user, login, study_id, "viewer")
    html = viewer.get(f"/research/studies/{study_id}/participants").get_data(as_text=True)
    assert "P000001" in html
    assert "Create links" not in html and "New link" not in html
    assert viewer.post(f"/research/studies/{study_id}/participants/links").status_code == 403
    assert viewer.get(f"/research/studies/{study_id}/enrolment").status_code == 403
    assert viewer.get(f"/research/studies/{study_id}/due").status_code == 200
    assert _count(app) == 3


def test_another_researcher_gets_403(app, make_user, login, study_id):
    make_user("other@example.org")
    other = app.test_client()
    login(other, "other@example.org")
    for url in ("participants", "due", "due.csv", "enrolment"):
        assert other.get(f"/research/studies/{study_id}/{url}").status_code == 403
    assert other.post(f"/research/studies/{study_id}/participants/links").status_code == 403


@pytest.mark.parametrize(
    "query",
    [
        "page=abc",
        "page=0",
        "wave=999",
        "wave=abc",
        "status=bogus",
        "via=email",
        "code=" + "9" * 30,
        "page=99999999999999999999",
    ],
)
def test_bad_filters_are_a_422_with_the_message(client, study_id, query):
    response = client.get(f"/research/studies/{study_id}/participants?{query}")
    assert response.status_code == 422, query
    assert "field-error" in response.get_data(as_text=True)


def test_filters_and_pages_in_the_query(app, client, study_id):
    with app.app_context():
        studies.add_participants(db.session.get(Study, study_id), 60)
        db.session.commit()
    html = client.get(f"/research/studies/{study_id}/participants?status=not_started").get_data(
        as_text=True
    )
    assert "Showing 1–50 of 63" in html and "Page 1 of 2" in html
    assert "page=2" in html and "status=not_started" in html
    html = client.get(
        f"/research/studies/{study_id}/participants?status=not_started&page=2"
    ).get_data(as_text=True)
    assert "Showing 51–63 of 63" in html
    html = client.get(f"/research/studies/{study_id}/participants?code=P000002").get_data(
        as_text=True
    )
    assert "Showing 1–1 of 1" in html
    html = client.get(f"/research/studies/{study_id}/participants?status=complete").get_data(
        as_text=True
    )
    assert "No participant matches" in html


# -- new links -------------------------------------------------------------------------------
def test_create_links_shows_them_once_and_the_csv_has_them(app, client, study_id):
    response = client.post(f"/research/studies/{study_id}/participants/links", data={"count": "4"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    links = _page_links(html)
    assert len(links) == 4
    assert all(link.startswith("http://localhost/p/") for link, _token in links)
    assert _count(app) == 7
    for _link, token in links:
        assert client.get(f"/p/{token}").status_code == 200
    signed = re.search(r'name="links" type="hidden" value="([^"]+)"', html).group(1)
    download = client.post(
        f"/research/studies/{study_id}/participants/links.csv", data={"links": signed}
    )
    assert download.status_code == 200
    assert download.mimetype == "text/csv"
    assert "attachment" in download.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(download.get_data(as_text=True))))
    assert rows[0] == ["code", "link"]
    assert [row[1] for row in rows[1:]] == [link for link, _token in links]
    assert all(re.fullmatch(r"P\d{6}", row[0]) for row in rows[1:])
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "participants_added")
        )
        assert event.details["count"] == 4
        assert not any(token in str(event.details) for _link, token in links)
    # Tampered, or for another study: refused, nothing handed out.
    bad = client.post(
        f"/research/studies/{study_id}/participants/links.csv", data={"links": signed + "x"}
    )
    assert bad.status_code == 400 and "P0000" not in bad.get_data(as_text=True)
    assert client.post(f"/research/studies/{study_id}/participants/links.csv").status_code == 400


def test_links_use_the_request_host_without_a_public_base(app, study_id):
    app.config["PARTICIPANT_BASE_URL"] = None
    elsewhere = app.test_client()
    host = "http://survey.test:8123"
    login = {"email": "researcher@example.org", "password": STAFF_PASSWORD}
    assert elsewhere.post("/login", data=login, base_url=host).status_code == 302
    response = elsewhere.post(
        f"/research/studies/{study_id}/participants/links", data={"count": "1"}, base_url=host
    )
    assert _page_links(response.get_data(as_text=True))[0][0].startswith(f"{host}/p/")
    app.config["PARTICIPANT_BASE_URL"] = "https://public.example.org"
    response = elsewhere.post(
        f"/research/studies/{study_id}/participants/links", data={"count": "1"}, base_url=host
    )
    assert "https://public.example.org/p/" in response.get_data(as_text=True)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"count": "0"}, "Make 1 to 1000 links at a time."),
        ({"count": "1001"}, "Make 1 to 1000 links at a time."),
        ({"count": "ten"}, "Not a valid integer value."),
        ({"count": ""}, "Enter how many links to make."),
        ({"external_ids": "a\nb\na"}, "line 3: the same external id as line 1"),
    ],
)
def test_create_links_refuses_bad_input_next_to_the_field(app, client, study_id, data, message):
    response = client.post(f"/research/studies/{study_id}/participants/links", data=data)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert _count(app) == 3


def test_external_ids_in_the_form(app, client, study_id):
    response = client.post(
        f"/research/studies/{study_id}/participants/links",
        data={"count": "10", "external_ids": "platform-1\nplatform-2\n"},
    )
    assert response.status_code == 200
    assert len(_page_links(response.get_data(as_text=True))) == 2
    again = client.post(
        f"/research/studies/{study_id}/participants/links",
        data={"external_ids": "platform-3\nplatform-2"},
    )
    assert again.status_code == 422
    assert "line 2: this external id is in the study already" in again.get_data(as_text=True)
    assert _count(app) == 5
    found = client.get(f"/research/studies/{study_id}/participants?external_id=platform-2")
    assert "Showing 1–1 of 1" in found.get_data(as_text=True)


# -- a lost link -----------------------------------------------------------------------------
def test_regenerate_asks_first_then_replaces_the_link(app, client, study_id):
    created = client.post(f"/research/studies/{study_id}/participants/links", data={"count": "1"})
    ((_link, old),) = _page_links(created.get_data(as_text=True))
    with app.app_context():
        participant_id = db.session.scalar(select(func.max(Participant.id)))
    url = f"/research/studies/{study_id}/participants/{participant_id}/link"
    confirm = client.post(url)
    assert confirm.status_code == 200
    assert "stops working at once" in confirm.get_data(as_text=True)
    assert client.get(f"/p/{old}").status_code == 200  # nothing changed yet
    done = client.post(url, data={"confirm": "yes"})
    ((_link, new),) = _page_links(done.get_data(as_text=True))
    assert new != old
    assert client.get(f"/p/{old}").status_code == 404
    assert client.get(f"/p/{new}").status_code == 200
    with app.app_context():
        events = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "link_regenerated")
        ).all()
        assert len(events) == 1 and new not in str(events[0].details)
    assert client.post(f"/research/studies/{study_id}/participants/99999/link").status_code == 404


# -- open enrolment --------------------------------------------------------------------------
def _enrolment_key(app, study_id) -> str | None:
    with app.app_context():
        return db.session.get(Study, study_id).enrolment_key


def test_open_enrolment_from_the_page_to_a_participant(app, client, study_id):
    page = client.get(f"/research/studies/{study_id}/enrolment")
    assert page.status_code == 200 and "Open enrolment" in page.get_data(as_text=True)
    for cap in ("", "0", "100001", "many"):
        refused = client.post(f"/research/studies/{study_id}/enrolment", data={"cap": cap})
        assert refused.status_code == 422, cap
        assert "field-error" in refused.get_data(as_text=True)
    assert _enrolment_key(app, study_id) is None
    opened = client.post(f"/research/studies/{study_id}/enrolment", data={"cap": "2"})
    assert opened.status_code == 303
    key = _enrolment_key(app, study_id)
    html = client.get(f"/research/studies/{study_id}/enrolment").get_data(as_text=True)
    assert f"http://localhost/e/{key}" in html and "0 of at most 2" in html

    visitor = app.test_client()  # no session, no cookies
    start = visitor.get(f"/e/{key}")
    assert start.status_code == 200
    assert "Participants study" in start.get_data(as_text=True)
    form_token = FORM_TOKEN_RE.search(start.get_data(as_text=True)).group(1)
    assert visitor.post(f"/e/{key}").status_code == 400
    assert visitor.post(f"/e/{key}", data={"form_token": "0" * 64}).status_code == 400
    assert _count(app) == 3
    for _ in range(2):
        fresh = app.test_client()
        response = fresh.post(f"/e/{key}", data={"form_token": form_token})
        assert response.status_code == 303
        token = response.headers["Location"].removeprefix("/p/")
        assert fresh.get(f"/p/{token}").status_code == 200
    assert _count(app, Participant.enrolled_via == "open_link") == 2
    full = app.test_client().post(f"/e/{key}", data={"form_token": form_token})
    assert full.status_code == 409
    assert "all the participants it needs" in full.get_data(as_text=True)
    assert app.test_client().get(f"/e/{key}").status_code == 409
    assert _count(app) == 5

    assert (
        client.post(f"/research/studies/{study_id}/enrolment", data={"disable": "1"}).status_code
        == 303
    )
    assert _enrolment_key(app, study_id) is None
    assert app.test_client().get(f"/e/{key}").status_code == 404
    assert app.test_client().post(f"/e/{key}", data={"form_token": form_token}).status_code == 404
    assert app.test_client().get("/e/nope").status_code == 404
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == "enrolment_link_changed")
            )
            == 2
        )


def test_enrolment_of_a_closed_study_is_polite(app, client, study_id):
    client.post(f"/research/studies/{study_id}/enrolment", data={"cap": "5"})
    key = _enrolment_key(app, study_id)
    with app.app_context():
        db.session.get(Study, study_id).status = "closed"
        db.session.commit()
    response = app.test_client().get(f"/e/{key}")
    assert response.status_code == 409
    assert "not open" in response.get_data(as_text=True)
    assert _count(app) == 3


# -- due -------------------------------------------------------------------------------------
def test_due_page_and_csv(app, client, study_id):
    html = client.get(f"/research/studies/{study_id}/due").get_data(as_text=True)
    assert "3 due" in html and "P000001" in html
    response = client.get(f"/research/studies/{study_id}/due.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0] == ["code", "wave", "wave_label", "open_since", "open_until"]
    assert [row[:2] for row in rows[1:]] == [[f"P00000{n}", "baseline"] for n in (1, 2, 3)]
    client.post(f"/research/studies/{study_id}/participants/links", data={"external_ids": "ext-a"})
    rows = list(
        csv.reader(
            io.StringIO(client.get(f"/research/studies/{study_id}/due.csv").get_data(as_text=True))
        )
    )
    assert rows[0][-1] == "external_id_hash"
    assert rows[-1][-1] and rows[1][-1] == ""
    assert "ext-a" not in client.get(f"/research/studies/{study_id}/due.csv").get_data(as_text=True)
