"""The dashboard's live quality panel: its figures, and that they are cached per data state."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from psychometrics.reliability import cronbach_alpha
from survey.extensions import db
from survey.models import ResponseSession, SafetyAlert
from survey.services import data_quality, exclusions, quality_panel
from survey.services.validation.data import load_study_data
from tests.survey.validation.conftest import make_simulated_study


@pytest.fixture(autouse=True)
def empty_cache():
    quality_panel.clear_cache()
    yield
    quality_panel.clear_cache()


def test_figures_match_the_data_and_the_rules(db_session):
    study, _ = make_simulated_study(participants=80, waves=1, seed=9)
    panel = quality_panel.quality_panel(study)
    (iemdp,) = panel.instruments
    data = load_study_data(study, wave="baseline")
    complete = data.rows["complete"].to_numpy(dtype=bool)
    assert iemdp.complete == int(complete.sum()) and panel.wave == "baseline"
    assert iemdp.free_parameters == 420 and iemdp.needed == 2100
    keyed = data.instruments[0].keyed[complete]
    first = data.instruments[0].definition.subconstructs[0]
    expected = cronbach_alpha(keyed[[item.id for item in first.items]].dropna()).alpha
    assert iemdp.alphas[0].code == first.code
    assert iemdp.alphas[0].alpha == pytest.approx(expected, abs=1e-12)
    assessed = [
        a for chunk in data_quality.QualityAssessor.for_study(study).assess_study() for a in chunk
    ]
    assert panel.sessions == len(assessed)
    assert panel.flagged == sum(a.flagged for a in assessed) > 0
    assert panel.excluded == 0
    assert panel.open_alerts == db.session.scalar(
        select(db.func.count(SafetyAlert.id)).where(SafetyAlert.acknowledged_at.is_(None))
    )


def test_cached_until_the_data_change(db_session):
    study, _ = make_simulated_study(participants=60, waves=1, seed=10)
    first = quality_panel.quality_panel(study)
    assert quality_panel.cache_size() == 1
    assert quality_panel.quality_panel(study) == first
    assert quality_panel.cache_size() == 1  # same state: no new entry
    session = db.session.scalars(
        select(ResponseSession)
        .where(ResponseSession.completed_at.is_not(None))
        .order_by(ResponseSession.id)
    ).first()
    exclusions.exclude(session, "test", actor=None)
    db.session.flush()
    after = quality_panel.quality_panel(study)
    assert quality_panel.cache_size() == 2
    assert after.excluded == first.excluded + 1
    assert after.instruments[0].complete == first.instruments[0].complete - 1


def test_a_study_without_waves_or_sessions(db_session):
    from instruments.loader import instrument_path, load_instrument
    from survey.services import instruments, studies

    version = instruments.import_definition(load_instrument(instrument_path("iemdp", "1.1.0")))[0]
    study = studies.create_study(
        name="Empty",
        slug="empty",
        instrument_versions=[version],
        consent_text="Agree?",
        consent_version="1",
        urgent_help_note="Call 112.",
    )
    db.session.flush()
    panel = quality_panel.quality_panel(study)
    assert panel.wave is None and panel.instruments == () and panel.sessions == 0
