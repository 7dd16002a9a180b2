"""Hypotheses for construct validity (survey.services.hypotheses): the grammar, the names of
a study, stating, retiring and what a run takes, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from instruments.loader import load_instrument_text
from survey.extensions import db
from survey.models import AuditAction, AuditEvent, StudyHypothesis
from survey.services import accounts, instruments, studies
from survey.services import hypotheses as service
from survey.services.errors import SurveyError
from tests.survey.conftest import URGENT_HELP, small_definition
from tests.survey.validation.conftest import make_simulated_study

MOOD_SCREENER = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"

NAMES = {
    "TA": "score",
    "TA_BOND": "score",
    "TR": "score",
    "SE": "score",
    "IP": "score",
    "TC": "score",
    "UT_LAP": "score",
    "messages_sent": "outcome",
    "active_weeks": "outcome",
    "dropped_out": "outcome",
}
STATED = datetime(2027, 5, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def parse(text: str) -> dict:
    return service.parse_hypothesis(text, names=NAMES)


# -- the grammar ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "op", "value"),
    [
        ("TA correlates >= .30 with messages_sent", ">=", 0.3),
        ("TA correlates > 0.3 with messages_sent", ">", 0.3),
        ("TA correlates <= -.2 with messages_sent", "<=", -0.2),
        ("TA correlates < -0.20 with messages_sent", "<", -0.2),
        ("TA correlates ≥ .30 with messages_sent", ">=", 0.3),
        ("TA correlates ≤ +.5 with messages_sent", "<=", 0.5),
        ("TA correlates>=.3 with messages_sent", ">=", 0.3),
        ("  ta   CORRELATES  >=   .30\twith\nMESSAGES_SENT.  ", ">=", 0.3),
        ("TA correlate >= 1 with messages_sent", ">=", 1.0),
        ("TA correlates >= -0 with messages_sent", ">=", 0.0),
    ],
)
def test_a_threshold_on_r(text, op, value):
    spec = parse(text)
    assert spec == {
        "kind": "correlation",
        "left": "TA",
        "right": "messages_sent",
        "op": op,
        "value": value,
    }
    assert isinstance(spec["value"], float) and str(spec["value"]) != "-0.0"


def test_the_brief_examples():
    assert parse("UT_LAP correlates <= -.10 with active_weeks") == {
        "kind": "correlation",
        "left": "UT_LAP",
        "right": "active_weeks",
        "op": "<=",
        "value": -0.1,
    }
    assert parse("SE correlates more with IP than with TC") == {
        "kind": "comparison",
        "left": "SE",
        "more": "IP",
        "than": "TC",
    }


@pytest.mark.parametrize(
    "text",
    [
        "SE correlates more with IP than with TC",
        "se Correlates MORE with ip THAN WITH tc.",
        "SE correlates more strongly with IP than with TC",
        "SE correlates more with IP than TC",
        "SE  correlates\nmore with IP  than with  TC",
    ],
)
def test_a_comparison(text):
    assert parse(text) == {"kind": "comparison", "left": "SE", "more": "IP", "than": "TC"}


@pytest.mark.parametrize(
    ("text", "sign"),
    [
        ("TA correlates positively with messages_sent", "positive"),
        ("TA correlates NEGATIVELY with dropped_out", "negative"),
        ("ta_bond correlates negatively with Dropped_Out.", "negative"),
    ],
)
def test_a_sign(text, sign):
    spec = parse(text)
    assert spec["kind"] == "sign" and spec["sign"] == sign
    assert spec["left"] in NAMES and spec["right"] in NAMES  # stored as the known spelling


def test_describe_gives_the_canonical_sentence_back():
    for text in (
        "TA correlates >= 0.30 with messages_sent",
        "SE correlates more with IP than with TC",
        "TA correlates negatively with dropped_out",
    ):
        assert service.describe(parse(text)) == text
        assert parse(service.describe(parse(text))) == parse(text)


def test_an_unknown_name_lists_the_known_ones_closest_first():
    with pytest.raises(service.UnknownName) as raised:
        parse("TAA correlates >= .3 with messages_sent")
    error = raised.value
    assert isinstance(error, service.InvalidHypothesis) and isinstance(error, SurveyError)
    assert error.name == "TAA" and error.field == "text"
    assert error.known[0] == "TA" and sorted(error.known) == sorted(NAMES)
    message = str(error)
    assert message.startswith("'TAA' is not a score or outcome of this study. Did you mean TA")
    assert "Known names (closest first): TA, " in message
    with pytest.raises(service.UnknownName, match=r"Did you mean messages_sent\?"):
        parse("TA correlates >= .3 with message_sent")


def test_a_name_that_differs_only_by_case_from_two_must_be_exact():
    names = {"TA": "score", "ta": "outcome"}
    assert service.parse_hypothesis("TA correlates > 0 with ta", names=names)["right"] == "ta"
    with pytest.raises(service.UnknownName, match="matches TA, ta but for case"):
        service.parse_hypothesis("Ta correlates > 0 with ta", names=names)


def test_no_names_at_all():
    with pytest.raises(service.UnknownName, match="no instrument scores or numeric outcomes"):
        service.parse_hypothesis("TA correlates > 0 with X", names={})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The hypothesis is empty"),
        ("   ", "The hypothesis is empty"),
        ("TA is related to messages_sent", "Could not read the hypothesis"),
        ("TA correlates with messages_sent", "Could not read the hypothesis"),
        ("TA correlates >= high with messages_sent", "Could not read the hypothesis"),
        ("TA correlates >= .3 with messages_sent and active_weeks", "Could not read"),
        ("TA correlates = .3 with messages_sent", "'=' is not a comparison: use >=, >, <=, <"),
        ("TA correlates == .3 with messages_sent", "'==' is not a comparison"),
    ],
)
def test_text_outside_the_grammar_shows_the_accepted_forms(text, message):
    with pytest.raises(service.InvalidHypothesis) as raised:
        parse(text)
    assert not isinstance(raised.value, service.UnknownName)
    assert message in str(raised.value)
    assert 'Write one of: "A correlates >= .30 with B' in str(raised.value)
    assert "A correlates more with B than with C" in str(raised.value)
    assert "A correlates positively with B" in str(raised.value)


def test_a_value_beyond_one_a_name_twice_and_outcomes_only_are_refused():
    with pytest.raises(service.InvalidHypothesis, match="1.5 is not a correlation"):
        parse("TA correlates >= 1.5 with messages_sent")
    with pytest.raises(service.InvalidHypothesis, match="names one twice"):
        parse("SE correlates more with IP than with IP")
    with pytest.raises(service.InvalidHypothesis, match="names one twice"):
        parse("TA correlates positively with ta")
    with pytest.raises(service.InvalidHypothesis, match="names outcomes only"):
        parse("messages_sent correlates >= .5 with active_weeks")


# -- the database ---------------------------------------------------------------------------


def mood_screener():
    return load_instrument_text(MOOD_SCREENER.read_text(encoding="utf-8"), MOOD_SCREENER.name)


def researcher(email: str = "r@example.org"):
    return accounts.create_user(email, "correct horse battery staple", "researcher", via="test")


def test_known_names_are_the_codes_and_the_numeric_outcomes(db_session):
    study, _ = make_simulated_study(participants=40, waves=1, seed=11)
    names = service.known_names(study)
    definition = instruments.definition_of(study.instrument_version)
    codes = [c.code for c in definition.constructs] + [s.code for s in definition.subconstructs]
    assert list(names) == [*codes, "messages_sent", "active_weeks", "dropped_out"]
    assert {names[c] for c in codes} == {"score"}
    assert names["dropped_out"] == "outcome" and "age_group" not in names


def test_a_battery_of_two_prefixes_every_code(db_session):
    battery = [instruments.import_definition(d)[0] for d in (small_definition(), mood_screener())]
    study = studies.create_study(
        name="Battery",
        slug="battery-hypotheses",
        instrument_versions=battery,
        consent_text="Agree?",
        consent_version="1",
        urgent_help_note=URGENT_HELP,
    )
    names = service.known_names(study)
    assert list(names)[:4] == ["small.AA", "small.BB", "small.AA_S", "small.BB_S"]
    assert "mood_screener.MD" in names and "MD" not in names
    assert set(names.values()) == {"score"}  # no outcomes uploaded
    hypothesis = service.state_hypothesis(
        study, "small.AA correlates more with mood_screener.MD than with small.BB", actor=None
    )
    assert hypothesis.spec["more"] == "mood_screener.MD"
    with pytest.raises(service.UnknownName, match="Did you mean small.AA") as raised:
        service.state_hypothesis(study, "AA correlates > 0 with small.BB", actor=None)
    assert raised.value.known[0] == "small.AA"
    assert "codes start with the instrument key" in str(raised.value)


def test_state_retire_and_the_audit_log(db_session):
    study, _ = make_simulated_study(participants=40, waves=1, seed=12)
    actor = researcher()
    first = service.state_hypothesis(
        study, "  TA correlates ≥ .10 with active_weeks \n", actor=actor, now=STATED
    )
    second = service.state_hypothesis(
        study, "SE correlates negatively with dropped_out", actor=actor, now=STATED + HOUR
    )
    db_session.commit()
    assert first.text == "TA correlates ≥ .10 with active_weeks"  # as written, stripped
    assert first.spec == {
        "kind": "correlation",
        "left": "TA",
        "right": "active_weeks",
        "op": ">=",
        "value": 0.1,
    }
    assert first.created_at == STATED and first.created_by_id == actor.id
    assert first.in_force and first.retired_at is None
    assert service.hypotheses_of(study) == [first, second]

    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.action == AuditAction.HYPOTHESIS_STATED)
            .order_by(AuditEvent.id)
        )
    )
    assert [e.details["hypothesis"] for e in events] == [first.id, second.id]
    assert events[0].details["text"] == first.text and events[0].details["spec"] == first.spec
    assert events[0].target_type == "study" and events[0].target_id == str(study.id)
    assert events[0].actor_id == actor.id and events[0].occurred_at == STATED

    service.retire_hypothesis(first, actor=actor, now=STATED + 2 * HOUR)
    db_session.commit()
    assert first.retired_at == STATED + 2 * HOUR and first.retired_by_id == actor.id
    assert not first.in_force
    assert service.hypotheses_of(study) == [second]
    assert service.hypotheses_of(study, include_retired=True) == [first, second]
    (retired,) = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == AuditAction.HYPOTHESIS_RETIRED)
    )
    assert retired.details == {"hypothesis": first.id, "text": first.text}
    with pytest.raises(service.HypothesisAlreadyRetired, match="was retired on 2027-05-01T11"):
        service.retire_hypothesis(first, actor=actor)
    # nothing is deleted
    assert db.session.scalar(select(func.count()).select_from(StudyHypothesis)) == 2


def test_errors_store_nothing_and_a_duplicate_waits_for_retirement(db_session):
    study, _ = make_simulated_study(participants=40, waves=1, seed=13)
    with pytest.raises(service.UnknownName, match="Did you mean messages_sent"):
        service.state_hypothesis(study, "TA correlates >= .3 with mesages_sent", actor=None)
    with pytest.raises(service.InvalidHypothesis, match="to 500 characters"):
        service.state_hypothesis(study, "TA correlates > 0 with dropped_out " * 20, actor=None)
    assert service.hypotheses_of(study, include_retired=True) == []
    first = service.state_hypothesis(study, "TA correlates >= .3 with messages_sent", actor=None)
    with pytest.raises(service.DuplicateHypothesis, match=f"Hypothesis {first.id} says this"):
        service.state_hypothesis(study, "ta correlates ≥ 0.30 with MESSAGES_SENT.", actor=None)
    service.retire_hypothesis(first, actor=None)
    again = service.state_hypothesis(study, "ta correlates ≥ 0.30 with MESSAGES_SENT.", actor=None)
    assert again.spec == first.spec and again.id != first.id
    events = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.action.like("hypothesis_%"))
        .order_by(AuditEvent.id)
    ).all()
    assert events == ["hypothesis_stated", "hypothesis_retired", "hypothesis_stated"]


def test_a_run_takes_the_hypotheses_in_force_when_it_was_asked_for(db_session):
    study, _ = make_simulated_study(participants=40, waves=1, seed=14)
    early = service.state_hypothesis(
        study, "TA correlates >= .10 with active_weeks", actor=None, now=STATED
    )
    later = service.state_hypothesis(
        study, "SE correlates more with IP than with TC", actor=None, now=STATED + 2 * HOUR
    )
    service.retire_hypothesis(early, actor=None, now=STATED + 3 * HOUR)
    db_session.commit()
    assert service.hypotheses_for_run(study) == [
        {
            "id": later.id,
            "text": "SE correlates more with IP than with TC",
            "spec": {"kind": "comparison", "left": "SE", "more": "IP", "than": "TC"},
            "stated_at": "2027-05-01T11:00:00+00:00",
        }
    ]
    at_one = service.hypotheses_for_run(study, before=STATED + HOUR)
    assert [h["id"] for h in at_one] == [early.id]
    assert at_one[0]["stated_at"] == "2027-05-01T09:00:00+00:00"
    between = service.hypotheses_for_run(study, before=STATED + 150 * timedelta(minutes=1))
    assert [h["id"] for h in between] == [early.id, later.id]
    assert service.hypotheses_for_run(study, before=STATED) == []  # stated *before*
    assert [h["id"] for h in service.hypotheses_for_run(study, before=STATED + 4 * HOUR)] == [
        later.id
    ]
