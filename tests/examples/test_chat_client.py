"""examples/chat_client.py end to end: a subprocess talking to the real app over HTTP."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from survey.config import PROJECT_DIR
from survey.extensions import db
from survey.models import Answer, ApiScope, ResponseSession, Study
from survey.services import api_keys, instruments, studies
from tests.survey.conftest import URGENT_HELP, small_definition

CLIENT = PROJECT_DIR / "examples" / "chat_client.py"


@pytest.fixture
def live_url(app) -> Iterator[str]:
    """The app served by werkzeug on a free loopback port (one thread per request)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="chat-live", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@dataclass(frozen=True)
class ChatStudy:
    study_id: int
    key: str  # enrol and deliver: what a chat platform needs


@pytest.fixture
def small():
    return small_definition()


@pytest.fixture
def chat_study(app, small) -> ChatStudy:
    """The small instrument's open study (baseline open, week-4 closed) and a key."""
    with app.app_context():
        version, _ = instruments.import_definition(small)
        study = studies.create_study(
            name="Chat study",
            slug="chat-study",
            instrument_version=version,
            consent_text="Please agree.\n\nYou may stop at any time.",
            consent_version="v1",
            urgent_help_note=URGENT_HELP,
            status="open",
        )
        for key, status in (("baseline", "open"), ("week-4", "closed")):
            studies.add_wave(study, key=key, label=key.title(), status=status)
        _api_key, key = api_keys.create_key(
            study, name="chat", scopes=(ApiScope.ENROL, ApiScope.DELIVER), actor=None
        )
        db.session.commit()
        return ChatStudy(study.id, key)


def run_client(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(CLIENT), *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def sessions_of(app, study_id: int) -> list[tuple[ResponseSession, dict[str, tuple[int, str]]]]:
    with app.app_context():
        found = []
        for session in db.session.scalars(
            select(ResponseSession)
            .join(ResponseSession.participant)
            .where(ResponseSession.participant.has(study_id=study_id))
        ):
            answers = {
                a.item_id: (a.value, a.delivery_mode)
                for a in db.session.scalars(select(Answer).where(Answer.session_id == session.id))
            }
            found.append((session, answers))
        return found


def test_auto_conducts_the_open_wave_to_completion(app, live_url, chat_study, small):
    result = run_client("--base-url", live_url, "--key", chat_study.key, "--auto", "--seed", "7")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Please agree." in result.stdout  # the consent text was shown
    for entry in (e for page in small.pages() for e in page.entries):
        assert entry.text in result.stdout  # one message per item
    assert "(9/9 answered)" in result.stdout
    [(session, answers)] = sessions_of(app, chat_study.study_id)
    assert session.completed_at is not None
    assert len(answers) == 9
    assert {mode for _value, mode in answers.values()} == {"chat"}
    assert all(value in (1, 2, 3) for value, _mode in answers.values())
    # the same external id again: the same participant, already complete
    again = run_client("--base-url", live_url, "--key", chat_study.key, "--auto")
    assert again.returncode == 0  # another random id: a new participant, completed too
    assert len(sessions_of(app, chat_study.study_id)) == 2


def test_answers_typed_on_stdin_and_resuming_by_external_id(app, live_url, chat_study, small):
    args = ("--base-url", live_url, "--key", chat_study.key, "--external-id", "user-42")
    # consent, two answers (one mistyped first), then the input ends
    first = run_client(*args, stdin="maybe\ny\n7\n3\n1\n")
    assert first.returncode == 130, first.stdout + first.stderr
    assert "Please answer y or n." in first.stdout
    assert "Please type a number from 1 to 3." in first.stdout
    assert "resume" in first.stderr
    [(session, answers)] = sessions_of(app, chat_study.study_id)
    assert answers == {"AA_S_1": (3, "chat"), "AA_S_2": (1, "chat")}
    # the rest, in a second run for the same user: no consent asked again
    second = run_client(*args, stdin="2\n" * 7)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Welcome back" in second.stdout and "agree to take part" not in second.stdout
    [(session, answers)] = sessions_of(app, chat_study.study_id)
    assert session.completed_at is not None and len(answers) == 9
    assert answers["AA_S_1"] == (3, "chat")


def test_declining_consent_exits_4(app, live_url, chat_study):
    result = run_client("--base-url", live_url, "--key", chat_study.key, stdin="n\n")
    assert result.returncode == 4
    assert "not to take part" in result.stdout
    assert sessions_of(app, chat_study.study_id) == []


def test_errors_are_clear_messages_with_exit_codes(app, live_url, chat_study):
    unknown = run_client("--base-url", live_url, "--key", "iemdp_nope", "--auto")
    assert unknown.returncode == 1
    assert "error: this API key is not known (HTTP 401" in unknown.stderr
    assert "Traceback" not in unknown.stderr
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    unreachable = run_client("--base-url", f"http://127.0.0.1:{port}", "--key", "k", "--auto")
    assert unreachable.returncode == 3 and "cannot reach" in unreachable.stderr
    usage = run_client("--base-url", "ftp://x", "--key", "k")
    assert usage.returncode == 2
    with app.app_context():
        study = db.session.get(Study, chat_study.study_id)
        studies.set_wave_status(study.waves[0], "closed", actor=None)
        db.session.commit()
    closed = run_client("--base-url", live_url, "--key", chat_study.key, "--auto")
    assert closed.returncode == 5, closed.stdout + closed.stderr
    assert "no wave is open" in closed.stderr
