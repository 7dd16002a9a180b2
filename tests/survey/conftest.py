"""Instrument definitions and studies for the survey tests."""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass
from typing import Any

import pytest

from instruments.definition import InstrumentDefinition, Page
from instruments.loader import instrument_path, load_instrument, parse_definition

URGENT_HELP = "Call the test crisis line on 0800 000 000."
_slugs = itertools.count(1)

SMALL = {
    "format": 1,
    "key": "small",
    "version": "1.0.0",
    "title": "Small test instrument",
    "citation": "Test citation.",
    "intro": "Intro line one\nline two.\n\nSecond paragraph.",
    "shuffle_items": False,
    "response_scales": {
        "agree3": [
            {"value": 1, "label": "Disagree"},
            {"value": 2, "label": "Neutral"},
            {"value": 3, "label": "Agree"},
        ]
    },
    "constructs": [
        {
            "code": code,
            "name": f"Construct {code}",
            "domain": "test",
            "description": f"Construct {code}.",
            "subconstructs": [
                {
                    "code": f"{code}_S",
                    "name": f"Sub {code}",
                    "description": "A subconstruct.",
                    "items": [
                        {
                            "id": f"{code}_S_{n}",
                            "text": f"Statement {code} {n}.",
                            "reverse": n == 3,
                            "scale": "agree3",
                        }
                        for n in range(1, 5)
                    ],
                }
            ],
        }
        for code in ("AA", "BB")
    ],
    "attention_checks": [
        {
            "id": "ATTN_1",
            "text": "Choose 'Neutral'.",
            "scale": "agree3",
            "expected": 2,
            "page": "BB",
            "position": 1,
        }
    ],
}


def small_definition(*, version: str = "1.0.0", **changes: Any) -> InstrumentDefinition:
    """A two-page instrument (4 items + 4 items and an attention check) with ``changes``.

    ``optional`` names item ids to make optional.
    """
    mapping = copy.deepcopy(SMALL)
    mapping["version"] = version
    optional = set(changes.pop("optional", ()))
    mapping.update(changes)
    for construct in mapping["constructs"]:
        for item in construct["subconstructs"][0]["items"]:
            if item["id"] in optional:
                item["optional"] = True
    return parse_definition(mapping, "small.yaml")


@pytest.fixture(scope="session")
def iemdp() -> InstrumentDefinition:
    return load_instrument(instrument_path("iemdp", "1.0.0"))


@pytest.fixture
def small() -> InstrumentDefinition:
    return small_definition()


@dataclass(frozen=True)
class StudyInfo:
    slug: str
    study_id: int
    tokens: tuple[str, ...]

    @property
    def token(self) -> str:
        return self.tokens[0]


@pytest.fixture
def make_study(app):
    """Create (and commit) a study on a definition with waves baseline (open) and week-4
    (closed) and ``participants`` participants."""
    from survey.extensions import db
    from survey.services import instruments, studies

    def make(
        definition: InstrumentDefinition,
        *,
        participants: int = 1,
        consent_version: str = "v1",
        study_status: str = "open",
        waves: tuple[tuple[str, str], ...] = (("baseline", "open"), ("week-4", "closed")),
    ) -> StudyInfo:
        with app.app_context():
            version, _ = instruments.import_definition(definition)
            study = studies.create_study(
                name="Test study",
                slug=f"test-study-{next(_slugs)}",
                instrument_version=version,
                consent_text="Please agree.\n\nYou may stop at any time.",
                consent_version=consent_version,
                urgent_help_note=URGENT_HELP,
                status=study_status,
            )
            for key, status in waves:
                studies.add_wave(study, key=key, label=key.title(), status=status)
            tokens = tuple(token for _, token in studies.add_participants(study, participants))
            db.session.commit()
            return StudyInfo(slug=study.slug, study_id=study.id, tokens=tokens)

    return make


@pytest.fixture
def published(db_session, small):
    """``small`` 1.0.0 stored as a published version (committed)."""
    from survey.services import instruments

    version, _ = instruments.import_definition(small)
    db_session.commit()
    return version


def page_answers(page: Page, value: int = 2) -> dict[str, str]:
    """Form data answering every entry of ``page`` with ``value``."""
    return {entry.id: str(value) for entry in page.entries}


@pytest.fixture
def make_definition():
    """``small_definition`` as a fixture: ``make_definition(shuffle_items=True, ...)``."""
    return small_definition


@pytest.fixture
def answers_for():
    """``page_answers`` as a fixture: ``answers_for(page, value)`` → form data."""
    return page_answers


# -- staff accounts --------------------------------------------------------------------------
STAFF_PASSWORD = "correct horse battery staple"


@pytest.fixture
def make_user(app):
    """Create (and commit) a staff user; returns its id. ``make_user(email, role)``."""
    from survey.extensions import db
    from survey.services import accounts

    def make(email: str, role: str = "researcher", password: str = STAFF_PASSWORD) -> int:
        with app.app_context():
            user = accounts.create_user(email, password, role, via="test")
            db.session.commit()
            return user.id

    return make


@pytest.fixture
def login():
    """``login(client, email, password=STAFF_PASSWORD)`` → the response of the POST."""

    def log_in(client, email: str, password: str = STAFF_PASSWORD):
        return client.post("/login", data={"email": email, "password": password})

    return log_in


@pytest.fixture
def admin_client(app, make_user, login):
    """A test client logged in as admin@example.org (an admin)."""
    make_user("admin@example.org", "admin")
    client = app.test_client()
    assert login(client, "admin@example.org").status_code == 302
    return client


@pytest.fixture
def researcher_client(app, make_user, login):
    """A test client logged in as researcher@example.org (a researcher)."""
    make_user("researcher@example.org", "researcher")
    client = app.test_client()
    assert login(client, "researcher@example.org").status_code == 302
    return client
