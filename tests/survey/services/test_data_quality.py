"""data_quality: the rules and their round trip, and the indices and flags on constructed
sessions of an IEM-DP study (attentive respondents from a factor model, a straight-liner,
an alternating pattern, a random one, a fast one, a shuffled instrument)."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sqlalchemy import insert, select

from instruments.definition import InstrumentDefinition
from instruments.loader import instrument_path, load_instrument, parse_definition
from psychometrics import careless
from survey.extensions import db
from survey.models import (
    Answer,
    AuditAction,
    AuditEvent,
    PageVisit,
    ResponseSession,
    Study,
    WaveStatus,
)
from survey.services import data_quality, instruments, studies, study_data
from survey.services.data_quality import InvalidQualityRules, QualityAssessor, QualityRules
from survey.services.item_order import ordered_entries

T0 = datetime(2027, 3, 1, 9, 0, tzinfo=UTC)
# Complete sessions of the reference sample: well above the 72 scored items, so that a
# sample point's D² (at most (n - 1)² / n) can pass the 0.999 cut-off of 114.8.
ATTENTIVE = 300


# -- building sessions -----------------------------------------------------------------------
def iemdp_definition(*, shuffle: bool = False) -> InstrumentDefinition:
    definition = load_instrument(instrument_path("iemdp", "1.0.0"))
    if not shuffle:
        return definition
    mapping = copy.deepcopy(definition.source)
    mapping["shuffle_items"] = True
    mapping["version"] = "1.0.1"
    return parse_definition(mapping, "iemdp-shuffled.yaml")


@dataclass
class Built:
    """A study and, per label, the ids of the sessions made for it."""

    study_id: int
    definition: InstrumentDefinition
    version_id: int
    sessions: dict[str, int] = field(default_factory=dict)
    participants: dict[str, int] = field(default_factory=dict)

    def study(self) -> Study:
        study = db.session.get(Study, self.study_id)
        assert study is not None
        return study


def make_iemdp_study(*, shuffle: bool = False, slug: str = "quality", owner=None) -> Built:
    """An open IEM-DP study with an open baseline wave and a week-4 wave (no sessions)."""
    definition = iemdp_definition(shuffle=shuffle)
    version, _ = instruments.import_definition(definition)
    study = studies.create_study(
        name="Quality study",
        slug=slug,
        instrument_version=version,
        consent_text="Agree?",
        consent_version="v1",
        urgent_help_note="Call 112.",
        owner=owner,
        status="open",
    )
    studies.add_wave(study, key="baseline", label="Baseline", status=WaveStatus.OPEN)
    studies.add_wave(study, key="week-4", label="Week 4", status=WaveStatus.OPEN)
    db.session.flush()
    return Built(study.id, definition, version.id)


@dataclass(frozen=True)
class Spec:
    """A session to make: a label, answers (entry id -> value) on the first ``pages`` pages
    (all by default), each page submitted ``seconds_per_entry`` seconds per entry after it
    was shown (None: no page visits stored)."""

    label: str
    answers: dict[str, int | None]
    seconds_per_entry: float | None = 6.0
    pages: int | None = None
    wave_key: str = "baseline"


def add_sessions(built: Built, specs: list[Spec]) -> None:
    """One new participant and session per spec, written in a few multi-row INSERTs."""
    study = built.study()
    made = studies.add_participants(study, len(specs))
    waves = {w.key: w.id for w in study.waves}
    all_pages = built.definition.pages()
    sessions = []
    for spec, (participant, _token) in zip(specs, made, strict=True):
        done = spec.pages is None or spec.pages == len(all_pages)
        sessions.append(
            ResponseSession(
                participant_id=participant.id,
                wave_id=waves[spec.wave_key],
                started_at=T0,
                completed_at=T0 + timedelta(hours=1) if done else None,
            )
        )
    db.session.add_all(sessions)
    db.session.flush()
    rows, visits = [], []
    for spec, session, (participant, _token) in zip(specs, sessions, made, strict=True):
        built.sessions[spec.label] = session.id
        built.participants[spec.label] = participant.id
        chosen = all_pages if spec.pages is None else all_pages[: spec.pages]
        for number, page in enumerate(chosen):
            shown = T0 + timedelta(minutes=10 * number)
            rows.extend(
                {
                    "session_id": session.id,
                    "instrument_version_id": built.version_id,
                    "item_id": entry.id,
                    "page_key": page.key,
                    "value": spec.answers.get(entry.id),
                    "answered_at": shown,
                    "updated_at": shown,
                }
                for entry in page.entries
            )
            if spec.seconds_per_entry is not None:
                seconds = spec.seconds_per_entry * len(page.entries)
                visits.append(
                    {
                        "session_id": session.id,
                        "instrument_version_id": built.version_id,
                        "page_key": page.key,
                        "first_shown_at": shown,
                        "last_shown_at": shown,
                        "submitted_at": shown + timedelta(seconds=seconds),
                        "submit_count": 1,
                    }
                )
    db.session.execute(insert(Answer.__table__), rows)
    if visits:
        db.session.execute(insert(PageVisit.__table__), visits)
    db.session.flush()


def add_session(built: Built, label: str, answers: dict[str, int | None], **options) -> int:
    """One session (:class:`Spec` options); returns its id."""
    add_sessions(built, [Spec(label, answers, **options)])
    return built.sessions[label]


def seed_of(built: Built, label: str) -> int:
    from survey.models import Participant

    participant = db.session.get(Participant, built.participants[label])
    assert participant is not None
    return participant.item_order_seed


def attentive_answers(definition: InstrumentDefinition, rng: np.random.Generator) -> dict:
    """One respondent of a factor model: a general factor, a factor per subconstruct
    (loading 0.9 of each item on it), reverse-keyed items reversed; checks passed."""
    return attentive_many(definition, rng, 1)[0]


def attentive_many(definition: InstrumentDefinition, rng: np.random.Generator, n: int) -> list:
    """``n`` respondents of :func:`attentive_answers`'s model, drawn at once."""
    subs = definition.subconstructs
    general = rng.normal(size=(n, 1))
    factors = 0.5 * general + np.sqrt(0.75) * rng.normal(size=(n, len(subs)))
    items = [(s, item) for s, sub in enumerate(subs) for item in sub.items]
    latent = 0.9 * factors[:, [s for s, _item in items]] + 0.45 * rng.normal(size=(n, len(items)))
    values = np.clip(np.rint(3 + 1.2 * latent), 1, 5).astype(int)
    people = []
    for row in values:
        answers: dict[str, int | None] = {
            item.id: int(6 - v if item.reverse else v)
            for (_s, item), v in zip(items, row, strict=True)
        }
        answers.update({check.id: check.expected for check in definition.attention_checks})
        people.append(answers)
    return people


def every_entry(definition: InstrumentDefinition, value: int) -> dict:
    return {entry.id: value for page in definition.pages() for entry in page.entries}


def in_presentation_order(definition, seed: int, values) -> dict:
    """Answers given as a sequence over the entries in the order a participant with
    ``seed`` sees them."""
    order = [e.id for page in definition.pages() for e in ordered_entries(definition, page, seed)]
    return dict(zip(order, values, strict=True))


@pytest.fixture
def built(app):
    """An IEM-DP study with ATTENTIVE attentive sessions and the constructed ones."""
    rng = np.random.default_rng(20270301)
    with app.app_context():
        built = make_iemdp_study()
        definition = built.definition
        entries = [e.id for page in definition.pages() for e in page.entries]
        specs = [
            Spec(f"attentive-{n}", answers)
            for n, answers in enumerate(attentive_many(definition, rng, ATTENTIVE))
        ]
        specs += [
            Spec("straight", every_entry(definition, 3)),
            Spec("random", {e: int(rng.integers(1, 6)) for e in entries}),
            Spec("fast", attentive_answers(definition, rng), seconds_per_entry=1.0),
            Spec("untimed", attentive_answers(definition, rng), seconds_per_entry=None),
            Spec("partial", attentive_answers(definition, rng), pages=3),
            # Alternating in the order shown (not shuffled: the file's order).
            Spec("alternating", {e: (1, 5)[i % 2] for i, e in enumerate(entries)}),
        ]
        add_sessions(built, specs)
        db.session.commit()
        yield built


@pytest.fixture
def empty(app):
    """An IEM-DP study without sessions."""
    with app.app_context():
        built = make_iemdp_study(slug="empty")
        db.session.commit()
        yield built


def assessed(built: Built, **kwargs) -> dict[str, dict]:
    """Every session's row of the assessor, by label."""
    study = built.study()
    assessor = QualityAssessor.for_study(study, **kwargs)
    labels = {session_id: label for label, session_id in built.sessions.items()}
    return {
        labels[row.record.session_id]: row.quality
        for chunk in assessor.assess_study()
        for row in chunk
    }


# -- the indices -----------------------------------------------------------------------------
def test_columns_in_order_and_every_flag_named_flag(app, built):
    with app.app_context():
        assessor = QualityAssessor.for_study(built.study())
        assert assessor.columns[: len(data_quality.INDEX_COLUMNS)] == data_quality.INDEX_COLUMNS
        flags = [c for c in assessor.columns if c.startswith("flag_")]
        assert flags == [
            "flag_longstring",
            "flag_fast",
            "flag_mahalanobis",
            "flag_attention",
            "flag_any",
        ]
        assert all("flag" not in c for c in data_quality.INDEX_COLUMNS)
        record = next(iter(study_data.iter_sessions(built.study())))[0]
        assert list(assessor.assess([record])[0]) == list(assessor.columns)


def test_a_straight_liner_is_flagged_by_longstring_and_the_attention_checks(app, built):
    with app.app_context():
        row = assessed(built)["straight"]
    assert row["longstring"] == 74  # 72 items and 2 checks, all "3"
    assert row["irv"] == 0.0
    assert row["attention_failed"] == 2 and row["attention_answered"] == 2
    assert row["flag_longstring"] is True and row["flag_attention"] is True
    assert row["flag_fast"] is False  # 6 s per entry
    assert row["flag_any"] is True
    # Every subconstruct's halves are equal (3, and 6 - 3 for the reversed): no variance.
    assert row["even_odd"] is None


def test_an_alternating_pattern_has_runs_of_one_and_a_high_variability(app, built):
    with app.app_context():
        rows = assessed(built)
    row = rows["alternating"]
    assert row["longstring"] == 1
    assert row["flag_longstring"] is False
    entries = [e for page in built.definition.pages() for e in page.entries]
    scored = [(1, 5)[i % 2] for i, e in enumerate(entries) if not hasattr(e, "expected")]
    assert row["irv"] == pytest.approx(np.std(scored, ddof=1))
    assert row["irv"] > max(rows[f"attentive-{n}"]["irv"] for n in range(ATTENTIVE))
    # Its attention checks got 1 or 5 where 2 was expected.
    assert row["attention_failed"] == 2 and row["flag_attention"] is True


def test_a_random_responder_is_far_from_the_sample_and_inconsistent(app, built):
    with app.app_context():
        rows = assessed(built)
    random_row = rows["random"]
    attentive = [rows[f"attentive-{n}"] for n in range(ATTENTIVE)]
    assert random_row["mahalanobis_d2"] > random_row["mahalanobis_cutoff"]
    assert random_row["mahalanobis_p"] < 0.001
    assert random_row["flag_mahalanobis"] is True and random_row["flag_any"] is True
    assert random_row["longstring"] < 10 and random_row["flag_longstring"] is False
    flagged = sum(row["flag_mahalanobis"] for row in attentive)
    assert flagged <= 0.05 * ATTENTIVE
    # Attentive respondents answer their subconstructs' halves alike, and synonyms alike.
    assert np.median([row["even_odd"] for row in attentive]) > 0.8
    assert abs(random_row["even_odd"]) < 0.6
    assert np.median([row["psychsyn"] for row in attentive]) > 0.5
    assert random_row["psychsyn"] < np.median([row["psychsyn"] for row in attentive])


def test_fast_untimed_and_incomplete_sessions(app, built):
    """Too fast is flagged; without timings or complete answers a flag cannot be told."""
    with app.app_context():
        rows = assessed(built)
    assert rows["fast"]["seconds_per_item"] == pytest.approx(1.0)
    assert rows["fast"]["flag_fast"] is True and rows["fast"]["flag_any"] is True
    assert rows["attentive-0"]["seconds_per_item"] == pytest.approx(6.0)
    assert rows["attentive-0"]["flag_fast"] is False
    assert rows["untimed"]["seconds_per_item"] is None
    assert rows["untimed"]["flag_fast"] is None
    partial = rows["partial"]
    assert partial["mahalanobis_d2"] is None and partial["mahalanobis_p"] is None
    assert partial["flag_mahalanobis"] is None
    assert partial["longstring"] is not None and partial["seconds_per_item"] is not None
    # Attentive sessions pass their checks: answered as expected is not a failure.
    attentive = [rows[f"attentive-{n}"] for n in range(ATTENTIVE)]
    assert {(r["attention_failed"], r["attention_answered"]) for r in attentive} == {(0, 2)}
    assert {r["flag_attention"] for r in attentive} == {False}


def test_the_streamed_reference_equals_the_whole_matrix(app, built):
    """Chunks of 7 participants merged: D² and synonyms as careless computes them on the
    whole data at once."""
    with app.app_context():
        study = built.study()
        rows = assessed(built, chunk_size=7)
        battery = data_quality.Battery.of(study)
        records = [r for chunk in study_data.iter_sessions(study) for r in chunk]
        labels = {v: k for k, v in built.sessions.items()}
        matrix = np.array(
            [
                [np.nan if r.values.get(k) is None else r.values[k] for k in battery.scored]
                for r in records
            ]
        )
    whole = careless.mahalanobis(matrix, quantile=0.999)
    # The pairs come from the complete sessions' correlations (careless: pairwise).
    complete = [i for i in range(len(records)) if not np.isnan(matrix[i]).any()]
    synonyms = careless.psychsyn(matrix[complete], critval=0.60)
    antonyms = careless.psychsyn(matrix[complete], critval=0.60, anto=True)
    for i, record in enumerate(records):
        row = rows[labels[record.session_id]]
        if np.isnan(whole.d2[i]):
            assert row["mahalanobis_d2"] is None
        else:
            assert row["mahalanobis_d2"] == pytest.approx(whole.d2[i], rel=1e-9)
            assert row["mahalanobis_cutoff"] == pytest.approx(whole.cutoff)
    for i, j in enumerate(complete):
        row = rows[labels[records[j].session_id]]
        for name, theirs in (("psychsyn", synonyms), ("psychant", antonyms)):
            value = theirs.correlation[i]  # NaN for a straight line: no variance
            assert row[name] == (None if np.isnan(value) else pytest.approx(value, rel=1e-9))


def test_longstring_is_read_in_the_order_each_participant_saw(app):
    """A shuffled instrument: 12 identical answers in a row as shown, alternating after.
    In the file's order the same answers make no run of 10."""
    with app.app_context():
        built = make_iemdp_study(shuffle=True, slug="shuffled")
        definition = built.definition
        count = sum(len(page.entries) for page in definition.pages())
        values = [4] * 12 + [(1, 5)[i % 2] for i in range(count - 12)]
        # The participant's seed is known once they exist: store empty answers, then fill
        # them in the order that seed shows.
        session_id = add_session(built, "shuffled", {})
        seed = seed_of(built, "shuffled")
        answers = in_presentation_order(definition, seed, values)
        for answer in db.session.scalars(select(Answer).where(Answer.session_id == session_id)):
            answer.value = answers[answer.item_id]
        db.session.flush()

        row = assessed(built)["shuffled"]
        file_order = [answers[e.id] for page in definition.pages() for e in page.entries]
        assert ordered_entries(definition, definition.pages()[0], seed) != (
            definition.pages()[0].entries
        )
    assert row["longstring"] == 12
    assert row["flag_longstring"] is True
    assert careless.longstring([file_order]).longest[0] < 10


def test_a_switched_off_rule_raises_no_flag(app, built):
    with app.app_context():
        study = built.study()
        data_quality.set_rules(
            study, QualityRules(longstring_on=False, attention_on=False), actor=None
        )
        rows = assessed(built)
    straight = rows["straight"]
    assert straight["longstring"] == 74  # the index is still there
    assert straight["flag_longstring"] is None and straight["flag_attention"] is None
    # The fast and Mahalanobis rules are still on and say no: not flagged by anything on.
    assert straight["flag_fast"] is False
    assert straight["flag_any"] is (straight["flag_mahalanobis"] or False)


def test_a_changed_threshold_changes_the_flag(app, built):
    with app.app_context():
        study = built.study()
        assert assessed(built)["attentive-0"]["flag_fast"] is False
        data_quality.set_rules(study, QualityRules(fast_below=7.0), actor=None)
        assert assessed(built)["attentive-0"]["flag_fast"] is True


def test_too_few_sessions_for_mahalanobis_say_why(app):
    with app.app_context():
        built = make_iemdp_study(slug="few")
        rng = np.random.default_rng(1)
        add_sessions(
            built, [Spec(f"a{n}", attentive_answers(built.definition, rng)) for n in range(5)]
        )
        assessor = QualityAssessor.for_study(built.study())
        rows = assessed(built)
    assert assessor.mahalanobis_cutoff is None
    assert "5 complete sessions for 72 items" in assessor.mahalanobis_note()
    assert all(row["mahalanobis_d2"] is None for row in rows.values())
    assert all(row["flag_mahalanobis"] is None for row in rows.values())
    # The other rules still decide: attentive, timed, checks passed -> not flagged.
    assert [row["flag_any"] for row in rows.values()] == [False] * 5, rows


def test_synonyms_need_pairs_beyond_the_critical_correlation(app, built):
    with app.app_context():
        assert QualityAssessor.for_study(built.study()).psychsyn_note() is None
        few = make_iemdp_study(slug="two")
        rng = np.random.default_rng(2)
        add_sessions(
            few, [Spec(f"a{n}", a) for n, a in enumerate(attentive_many(few.definition, rng, 2))]
        )
        note = QualityAssessor.for_study(few.study()).psychsyn_note()
        rows = assessed(few)
    assert note == (
        "Psychometric synonyms and antonyms need at least three item pairs whose correlation "
        "among the complete sessions is beyond ±0.60; this study has 0 synonym and 0 antonym "
        "pair(s)."
    )
    assert all(row["psychsyn"] is None and row["psychant"] is None for row in rows.values())


def test_the_wave_limits_the_sessions_not_the_reference(app, built):
    with app.app_context():
        rng = np.random.default_rng(7)
        add_session(built, "week-4", attentive_answers(built.definition, rng), wave_key="week-4")
        everything = assessed(built)
        week4 = assessed(built, wave="week-4")
        with pytest.raises(study_data.UnknownWave):
            QualityAssessor.for_study(built.study(), wave="week-99")
    assert list(week4) == ["week-4"]
    assert week4["week-4"] == pytest.approx(everything["week-4"], rel=1e-12)


# -- the overview and one session ------------------------------------------------------------
def test_the_overview_counts_per_rule_and_lists_a_page(app, built):
    with app.app_context():
        study = built.study()
        overview = data_quality.quality_overview(study)
        everything = assessed(built)
        expected = {
            rule: sum(row[f"flag_{rule}"] is True for row in everything.values())
            for rule in data_quality.RULE_NAMES
        }
        assert overview.total == len(built.sessions) and overview.excluded == 0
        assert overview.flagged == expected
        assert overview.unknown["fast"] == 1  # the untimed session
        assert overview.unknown["mahalanobis"] == 1  # the partial one
        assert overview.flagged_any == sum(r["flag_any"] is True for r in everything.values())
        assert overview.matching == overview.flagged_any
        assert {r.record.session_id for r in overview.rows} >= {
            built.sessions[k] for k in ("straight", "random", "fast", "alternating")
        }
        listed = data_quality.quality_overview(study, show="all", page=3)
        total = len(built.sessions)  # 306: 6 pages of 50 and one of 6
        assert listed.matching == total and listed.pages == 7
        assert listed.page == 3 and listed.first == 101 and listed.last == 150
        assert [r.record.session_id for r in listed.rows] == list(range(101, 151))
        past = data_quality.quality_overview(study, show="all", page=99)
        assert past.page == 7 and len(past.rows) == 6
        with pytest.raises(ValueError, match="show must be one of"):
            data_quality.quality_overview(study, show="nothing")


def test_the_session_report_shows_answers_in_the_order_seen(app):
    with app.app_context():
        built = make_iemdp_study(shuffle=True, slug="report")
        rng = np.random.default_rng(3)
        session_id = add_session(built, "one", attentive_answers(built.definition, rng))
        seed = seed_of(built, "one")
        session = db.session.get(ResponseSession, session_id)
        report = data_quality.session_report(built.study(), session)
    definition = built.definition
    assert report.shuffled and len(report.pages) == 10
    for shown, page in zip(report.pages, definition.pages(), strict=True):
        assert [e.id for e in shown.entries] == [
            e.id for e in ordered_entries(definition, page, seed)
        ]
        assert shown.submitted and shown.seconds == pytest.approx(6.0 * len(page.entries))
    checks = [e for p in report.pages for e in p.entries if e.check]
    assert [c.id for c in checks] == [c.id for c in definition.attention_checks]
    assert all(not c.failed and c.expected == 2 for c in checks)
    assert report.quality["attention_failed"] == 0
    assert report.rule_words["longstring"] == "longest run of identical answers ≥ 10"
    assert not report.excluded


# -- the rules -------------------------------------------------------------------------------
def test_default_rules_are_those_of_the_issue():
    rules = QualityRules()
    assert (rules.longstring_at_least, rules.fast_below) == (10, 2.0)
    assert (rules.mahalanobis_quantile, rules.attention_at_least) == (0.999, 1)
    assert all(rules.is_on(rule) for rule in data_quality.RULE_NAMES)
    assert [text.words for text in rules.describe()] == [
        "longest run of identical answers ≥ 10",
        "seconds per item < 2",
        "Mahalanobis D² above the chi-square 0.999 quantile (degrees of freedom: the scored items)",
        "attention checks failed ≥ 1",
    ]
    assert QualityRules.from_json(None) == rules


def test_rules_round_trip_through_the_study_audited(app, empty):
    built = empty
    with app.app_context():
        study = built.study()
        assert data_quality.rules_of(study) == data_quality.DEFAULT_RULES
        chosen = QualityRules(longstring_at_least=12, fast_on=False, mahalanobis_quantile=0.99)
        assert data_quality.set_rules(study, chosen, actor=None) is True
        db.session.commit()
        db.session.expire_all()
        study = built.study()
        assert study.quality_rules == {
            "longstring": {"on": True, "at_least": 12},
            "fast": {"on": False, "below": 2.0},
            "mahalanobis": {"on": True, "quantile": 0.99},
            "attention": {"on": True, "at_least": 1},
        }
        assert data_quality.rules_of(study) == chosen
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == AuditAction.QUALITY_RULES_CHANGED)
        )
        assert event.target_type == "study" and event.target_id == str(study.id)
        assert event.details["before"] == QualityRules().to_json()
        assert event.details["after"] == chosen.to_json()
        assert event.details["changed"] == [
            "longstring_at_least",
            "fast_on",
            "mahalanobis_quantile",
        ]
        assert event.hash_before != event.hash_after
        # The same rules again: nothing stored, nothing recorded.
        assert data_quality.set_rules(study, chosen, actor=None) is False
        assert (
            len(
                list(
                    db.session.scalars(
                        select(AuditEvent).where(
                            AuditEvent.action == AuditAction.QUALITY_RULES_CHANGED
                        )
                    )
                )
            )
            == 1
        )


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"longstring_at_least": 1}, {"longstring_at_least"}),
        ({"longstring_at_least": 2.5}, {"longstring_at_least"}),
        ({"fast_below": 0}, {"fast_below"}),
        ({"fast_below": float("nan")}, {"fast_below"}),
        ({"mahalanobis_quantile": 1.0}, {"mahalanobis_quantile"}),
        (
            {"mahalanobis_quantile": 0.2, "attention_at_least": 0},
            {"mahalanobis_quantile", "attention_at_least"},
        ),
        ({"attention_on": "yes"}, {"attention_on"}),
        ({"fast_below": None}, {"fast_below"}),
    ],
)
def test_rules_out_of_range_name_every_field(app, empty, changes, fields):
    built = empty
    rules = QualityRules(**changes)
    assert set(rules.problems()) == fields
    with app.app_context():
        study = built.study()
        with pytest.raises(InvalidQualityRules) as raised:
            data_quality.set_rules(study, rules, actor=None)
        assert set(raised.value.problems) == fields
        assert study.quality_rules is None


def test_stored_rules_take_defaults_for_what_they_leave_out():
    rules = QualityRules.from_json({"fast": {"below": 3}})
    assert rules == QualityRules(fast_below=3)
    with pytest.raises(InvalidQualityRules, match="Unknown rule"):
        QualityRules.from_json({"speed": {}})
    with pytest.raises(InvalidQualityRules, match="Expected"):
        QualityRules.from_json({"fast": {"below": 3, "above": 1}})
    with pytest.raises(InvalidQualityRules):
        QualityRules.from_json({"fast": {"below": -1}})
