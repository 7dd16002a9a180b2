"""Half a wave in the chat, the rest on the web: one complete session, each answer stamped
with the way it came."""

from __future__ import annotations

from sqlalchemy import select

from survey.extensions import db
from survey.models import PageVisit, ResponseSession
from tests.survey.api.test_api_delivery import (
    answers_url,
    checked_values,
    consented,
    items_url,
    stored,
)
from tests.survey.conftest import page_answers


def test_the_first_page_in_the_chat_and_the_rest_on_the_web(app, client, api_study, small):
    [(code, token)] = consented(app, api_study.study_id)
    first, second = small.pages()
    # the chat, item by item through the first page
    for entry in first.entries:
        delivered = client.get(items_url(code), headers=api_study.headers).get_json()
        assert delivered["items"][0]["item_id"] == entry.id
        response = client.post(
            answers_url(code),
            json={"answers": [{"item_id": entry.id, "value": 3}]},
            headers=api_study.headers,
        )
        assert response.status_code == 200, response.get_data(as_text=True)
    assert response.get_json()["submitted_pages"] == ["AA"]

    # the web link resumes at the second page
    entry_page = client.get(f"/p/{token}")
    assert entry_page.headers["Location"] == f"/p/{token}/page/2"
    assert client.get(f"/p/{token}/page/2").status_code == 200
    done = client.post(f"/p/{token}/page/2", data=page_answers(second, 1))
    assert done.headers["Location"] == f"/p/{token}/done"
    assert client.get(f"/p/{token}/done").status_code == 200

    answers = stored(app, code)
    assert {item: mode for item, (_value, mode) in answers.items()} == {
        **{entry.id: "chat" for entry in first.entries},
        **{entry.id: "web" for entry in second.entries},
    }
    with app.app_context():
        [session] = db.session.scalars(select(ResponseSession)).all()
        assert session.completed_at is not None
        assert db.session.scalar(select(PageVisit).where(PageVisit.page_key == "BB")).submitted_at
    after = client.get(items_url(code), headers=api_study.headers).get_json()
    assert after["complete"] is True and after["progress"]["answered"] == 9


def test_a_page_begun_on_the_web_is_finished_in_the_chat(app, client, api_study, small):
    [(code, token)] = consented(app, api_study.study_id)
    first, second = small.pages()
    assert client.post(f"/p/{token}/page/1", data=page_answers(first, 2)).status_code == 302
    # half of the second page, then Back: a web draft
    half = {entry.id: "2" for entry in second.entries[:2]}
    back = client.post(f"/p/{token}/page/2", data=half | {"back": "Back"})
    assert back.status_code == 302
    delivered = client.get(items_url(code, 10), headers=api_study.headers).get_json()
    rest = [entry.id for entry in second.entries[2:]]
    assert [item["item_id"] for item in delivered["items"]] == rest
    assert delivered["progress"] == {"answered": 6, "total": 9, "page": 2, "pages": 2}
    response = client.post(
        answers_url(code),
        json={"answers": [{"item_id": item_id, "value": 2} for item_id in rest]},
        headers=api_study.headers,
    )
    body = response.get_json()
    assert body["completed"] is True and body["submitted_pages"] == ["BB"]
    modes = {item: mode for item, (_value, mode) in stored(app, code).items()}
    assert modes == {
        **{entry.id: "web" for entry in first.entries},
        **{entry.id: "web" for entry in second.entries[:2]},
        **{item_id: "chat" for item_id in rest},
    }
    assert client.get(f"/p/{token}").headers["Location"] == f"/p/{token}/done"


def test_the_web_shows_the_chats_draft_and_keeps_its_stamp(app, client, api_study, small):
    [(code, token)] = consented(app, api_study.study_id)
    first = small.pages()[0]
    client.post(
        answers_url(code),
        json={"answers": [{"item_id": first.entries[0].id, "value": 1}]},
        headers=api_study.headers,
    )
    html = client.get(f"/p/{token}/page/1").get_data(as_text=True)
    assert checked_values(html) == {first.entries[0].id: "1"}
    # the web submits the page with the chat's answer unchanged and the rest new
    data = page_answers(first, 3) | {first.entries[0].id: "1"}
    assert client.post(f"/p/{token}/page/1", data=data).status_code == 302
    modes = {item: mode for item, (_value, mode) in stored(app, code).items()}
    assert modes[first.entries[0].id] == "chat"
    assert {modes[entry.id] for entry in first.entries[1:]} == {"web"}
