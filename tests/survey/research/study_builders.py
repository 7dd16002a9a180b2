"""Studies built through the services for the dashboard, alerts and team tests: a battery
of the small test instrument and the mood screener (a safety item), participants taken
through the first wave with chosen timings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from instruments.loader import load_instrument_text
from survey.extensions import db
from survey.models import ConsentDecision, Study
from survey.services import instruments, participation, studies

T0 = datetime(2027, 1, 4, 9, 0, tzinfo=UTC)
SCREENER = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"


def screener_definition():
    return load_instrument_text(SCREENER.read_text(encoding="utf-8"), SCREENER.name)


def answer_all(page, value=1):
    """Answers to every entry of ``page`` (attention checks get their expected value)."""
    return {entry.id: getattr(entry, "expected", None) or value for entry in page.entries}


def make_battery_study(small, *, participants: int, owner=None, slug="dash") -> Study:
    first, _ = instruments.import_definition(small)
    second, _ = instruments.import_definition(screener_definition())
    study = studies.create_study(
        name="Dashboard study",
        slug=slug,
        instrument_versions=[first, second],
        consent_text="Agree?",
        consent_version="v1",
        urgent_help_note="Call 112.",
        owner=owner,
        first_wave_label="Baseline",
    )
    studies.add_wave(study, key="week-4", label="Week 4")
    study.tokens = [token for _participant, token in studies.add_participants(study, participants)]
    db.session.flush()
    return study


def take_part(token, *, decisions=(ConsentDecision.GIVEN,), pages=0, minutes=0, safe=True):
    """A participant's way through the first wave: consent decisions, then ``pages``
    pages submitted over ``minutes`` minutes; returns the session (or None)."""
    invitation = participation.resolve(token, now=T0)
    for decision in decisions:
        participation.record_consent(invitation, decision, now=T0)
    if participation.consent_decision(invitation) != ConsentDecision.GIVEN or pages == 0:
        return None
    session = participation.start_session(invitation, now=T0)
    all_pages = participation.pages(session)
    for number in range(1, pages + 1):
        page = all_pages[number - 1]
        value = 0 if safe and page.definition.key == "mood_screener" else 2
        at = T0 + timedelta(minutes=minutes * number / len(all_pages))
        participation.save_page(session, number, answer_all(page.page, value), now=at)
    return session
