"""Fixtures of the FHIR tests: a study whose battery is two small instruments, with
participants, an API key, and sessions answered through the participation service."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "fhir"
BASE = "http://localhost"  # TestConfig.PARTICIPANT_BASE_URL
_slugs = itertools.count(1)


def fixture_json(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@dataclass(frozen=True)
class FhirStudy:
    study_id: int
    version_ids: tuple[int, ...]  # the battery, in order
    participant_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    key: str  # scope read only

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


@pytest.fixture
def make_fhir_study(app, make_definition):
    """``make_fhir_study(participants=2, scopes=("read",), keys=("small", "other"))``: a
    committed study asking the small instrument under two keys (the second titled "Other
    instrument"), waves baseline (open) and week-4 (closed), and an API key."""
    from survey.extensions import db
    from survey.services import api_keys, instruments, studies

    def make(
        participants: int = 2,
        scopes: tuple[str, ...] = ("read",),
        keys: tuple[str, str] = ("small", "other"),
    ) -> FhirStudy:
        with app.app_context():
            first, _ = instruments.import_definition(make_definition(key=keys[0]))
            second, _ = instruments.import_definition(
                make_definition(key=keys[1], title="Other instrument")
            )
            study = studies.create_study(
                name="FHIR study",
                slug=f"fhir-study-{next(_slugs)}",
                instrument_versions=[first, second],
                consent_text="Please agree.",
                consent_version="v1",
                urgent_help_note="Call the test crisis line.",
            )
            for key, status in (("baseline", "open"), ("week-4", "closed")):
                studies.add_wave(study, key=key, label=key.title(), status=status)
            made = studies.add_participants(study, participants)
            _api_key, key = api_keys.create_key(study, name="fhir test", scopes=scopes, actor=None)
            db.session.commit()
            return FhirStudy(
                study_id=study.id,
                version_ids=(first.id, second.id),
                participant_ids=tuple(participant.id for participant, _ in made),
                tokens=tuple(token for _, token in made),
                key=key,
            )

    return make


@pytest.fixture
def answer_pages(app):
    """``answer_pages(token, pages, value=2, mode="web")`` → session id: consent and submit
    the first ``pages`` pages of the battery with every entry answered ``value``
    (committed)."""
    from survey.extensions import db
    from survey.services import participation

    def answer(token: str, pages: int | None = None, value: int = 2, mode: str = "web") -> int:
        with app.app_context():
            invitation = participation.resolve(token)
            participation.record_consent(invitation, "given")
            session = participation.start_session(invitation)
            battery = participation.pages(session)
            for number, battery_page in enumerate(battery[:pages], start=1):
                answers = {entry.id: value for entry in battery_page.page.entries}
                participation.save_page(session, number, answers, delivery_mode=mode)
            db.session.commit()
            return session.id

    return answer
