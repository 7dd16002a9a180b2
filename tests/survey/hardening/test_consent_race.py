"""Consent is idempotent per participant and consent version, even for simultaneous POSTs.

Two requests of one participant start together (a barrier releases both threads, each with
its own test client, app context, session and connection); each run must end with exactly
one ``given`` row and two redirects. Runs on SQLite and, with TEST_DATABASE_URL, PostgreSQL.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from survey.extensions import db
from survey.models import ConsentDecision, ConsentRecord, Participant
from survey.services import participation

AGREE = {"agree": "I agree"}
DECLINE = {"decline": "I do not agree"}
RUNS = 20


def decisions(app, token_index: int, tokens) -> list[tuple[str, int]]:
    """(decision, ordinal) of one participant, in order."""
    with app.app_context():
        invitation = participation.resolve(tokens[token_index])
        return [
            (record.decision, record.ordinal)
            for record in db.session.scalars(
                select(ConsentRecord)
                .where(ConsentRecord.participant_id == invitation.participant.id)
                .order_by(ConsentRecord.ordinal)
            )
        ]


def post_together(app, token: str, forms: list[dict[str, str]]):
    barrier = threading.Barrier(len(forms))

    def post(form: dict[str, str]):
        client = app.test_client()
        barrier.wait()
        return client.post(f"/p/{token}", data=form)

    with ThreadPoolExecutor(max_workers=len(forms)) as pool:
        return list(pool.map(post, forms))


def test_simultaneous_consents_store_one_given_row(app, make_study, small):
    info = make_study(small, participants=RUNS)
    for index, token in enumerate(info.tokens):
        responses = post_together(app, token, [AGREE, AGREE])
        assert [r.status_code for r in responses] == [302, 302]
        assert all(r.headers["Location"] == f"/p/{token}" for r in responses)
        assert decisions(app, index, info.tokens) == [(ConsentDecision.GIVEN, 1)]
        # Both answers lead on to the first page, as a single consent does.
        follow = app.test_client().get(f"/p/{token}")
        assert follow.status_code == 302
        assert follow.headers["Location"] == f"/p/{token}/page/1"


def test_simultaneous_decline_and_consent_keep_both_in_order(app, make_study, small):
    info = make_study(small, participants=5)
    for index, token in enumerate(info.tokens):
        responses = post_together(app, token, [DECLINE, AGREE])
        assert sorted(r.status_code for r in responses) == [302, 302]
        stored = decisions(app, index, info.tokens)
        # Neither request is lost: the later one is appended after the first, numbered on.
        assert sorted(stored) in (
            [(ConsentDecision.DECLINED, 1), (ConsentDecision.GIVEN, 2)],
            [(ConsentDecision.DECLINED, 2), (ConsentDecision.GIVEN, 1)],
        )


def test_a_decline_then_consent_then_a_new_consent_version(app, make_study, small):
    info = make_study(small)
    client = app.test_client()
    assert client.post(f"/p/{info.token}", data=DECLINE).status_code == 302
    assert client.post(f"/p/{info.token}", data=DECLINE).status_code == 302
    assert client.post(f"/p/{info.token}", data=AGREE).status_code == 302
    assert client.post(f"/p/{info.token}", data=AGREE).status_code == 302
    assert decisions(app, 0, info.tokens) == [("declined", 1), ("given", 2)]
    with app.app_context():
        participant = db.session.scalar(select(Participant))
        participant.study.consent_version = "v2"
        db.session.commit()
    assert "I agree" in client.get(f"/p/{info.token}").get_data(as_text=True)
    assert client.post(f"/p/{info.token}", data=AGREE).status_code == 302
    with app.app_context():
        rows = db.session.execute(
            select(ConsentRecord.consent_version, ConsentRecord.ordinal).order_by(ConsentRecord.id)
        ).all()
    assert rows == [("v1", 1), ("v1", 2), ("v2", 1)]
