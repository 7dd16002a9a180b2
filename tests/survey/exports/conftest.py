"""A study with stored answers for the export tests, made through the participation services.

``export_world`` builds (and commits) a study of the small test instrument (AA_S_2 optional)
with participants taken through the baseline wave:

* P1 completes both pages, AA_S_2 left empty (stored as an answer without a value);
* P2 submits the first page only (the second page's items never reached);
* P3 completes, and is then excluded with a reason (a session exclusion);
* P4 completes and is marked simulated (``participants.simulated``);
* P5 consents but never starts; P1 also answers week-4.

Values differ from cell to cell (``value_of``) so a shifted column would show.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from survey.extensions import db
from survey.models import ConsentDecision, Participant, ResponseSession, Wave
from survey.models.participant import participant_code
from survey.services import exclusions, participation, studies

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
EXCLUSION_REASON = "=Straight-lined every page"  # a formula-like reason: CSV must escape it


def value_of(participant: int, position: int, wave: int = 0) -> int:
    """The answer participant number ``participant`` gives at entry ``position`` (1..3)."""
    return 1 + (participant + 2 * position + wave) % 3


@dataclass
class ExportWorld:
    study_id: int
    slug: str
    version_id: int
    participant_ids: list[int]
    session_ids: dict[tuple[int, str], int] = field(default_factory=dict)

    def code(self, index: int) -> str:
        """The code of participant ``index`` (0 = P1 of the module docstring)."""
        return participant_code(self.participant_ids[index])


def _answer(definition, token, number, *, pages, skip=(), wave=0, at=T0):
    invitation = participation.resolve(token, now=at)
    if participation.consent_decision(invitation) != ConsentDecision.GIVEN:
        participation.record_consent(invitation, ConsentDecision.GIVEN, now=at)
    session = participation.start_session(invitation, now=at)
    entries = [entry for page in definition.pages() for entry in page.entries]
    position = {entry.id: n for n, entry in enumerate(entries)}
    for page_number, page in enumerate(definition.pages()[:pages], start=1):
        shown = at + timedelta(minutes=page_number)
        participation.show_page(session, page_number, now=shown)
        answers = {
            entry.id: None
            if entry.id in skip
            else getattr(entry, "expected", None) or value_of(number, position[entry.id], wave)
            for entry in page.entries
        }
        participation.save_page(session, page_number, answers, now=shown + timedelta(seconds=40))
    return session


@pytest.fixture
def export_definition(make_definition):
    return make_definition(optional={"AA_S_2"})


@pytest.fixture
def export_world(app, make_study, export_definition) -> ExportWorld:
    info = make_study(export_definition, participants=5)
    with app.app_context():
        study = studies.get_study(info.slug)
        tokens = info.tokens
        plan = {1: (2, {"AA_S_2"}), 2: (1, set()), 3: (2, set()), 4: (2, set())}
        sessions = {}
        for number, (pages, skip) in plan.items():
            sessions[number] = _answer(
                export_definition, tokens[number - 1], number, pages=pages, skip=skip
            )
        invitation = participation.resolve(tokens[4], now=T0)
        participation.record_consent(invitation, ConsentDecision.GIVEN, now=T0)
        exclusions.exclude(sessions[3], EXCLUSION_REASON, actor=None, now=T0)
        participants = [s.participant for s in sessions.values()]
        participants[3].simulated = True
        db.session.flush()
        # week-4 opens for P1 (baseline closed first, so the link opens week-4)
        baseline, week4 = study.waves
        baseline.status, week4.status = "closed", "open"
        db.session.flush()
        _answer(export_definition, tokens[0], 1, pages=2, wave=1, at=T0 + timedelta(days=28))
        db.session.commit()
        ids = sorted(p.id for p in db.session.query(Participant).filter_by(study_id=study.id))
        world = ExportWorld(
            study_id=study.id,
            slug=study.slug,
            version_id=study.instrument_version.id,
            participant_ids=ids,
        )
        for session, key in db.session.query(ResponseSession, Wave.key).join(Wave):
            world.session_ids[(session.participant_id, key)] = session.id
        return world
