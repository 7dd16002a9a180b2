"""load_study_data: the analysed rows of a simulated study, on SQLite and PostgreSQL."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import ResponseSession
from survey.services import exclusions, study_data
from survey.services.validation.data import load_study_data
from tests.survey.validation.conftest import make_simulated_study


def test_rows_frames_and_counts(db_session):
    study, result = make_simulated_study(participants=30, waves=2, seed=3)
    data = load_study_data(study)
    assert data.n_rows == result.sessions == data.sessions_total
    assert data.waves == ("baseline", "week-4")
    (iemdp,) = data.instruments
    assert iemdp.raw.shape == (result.sessions, len(iemdp.definition.items))
    assert list(iemdp.raw.index.names) == ["participant", "wave"]
    # Reverse-keyed items are reversed on the 1..5 scale, the others unchanged.
    reverse = [item.id for item in iemdp.definition.items if item.reverse]
    plain = [item.id for item in iemdp.definition.items if not item.reverse]
    assert reverse and plain
    both = iemdp.raw[reverse].notna()
    assert np.array_equal(
        iemdp.keyed[reverse].to_numpy()[both.to_numpy()],
        (6 - iemdp.raw[reverse]).to_numpy()[both.to_numpy()],
    )
    assert iemdp.keyed[plain].equals(iemdp.raw[plain])
    assert data.outcomes is not None and "dropped_out" in data.outcomes.columns
    assert data.simulated_rows == data.n_rows
    # The simulation answers about 30 % of sessions by chat.
    assert set(data.rows["delivery_mode"]) == {"web", "chat"}
    assert len(data.rows_hash) == 64


def test_excluded_sessions_are_left_out_unless_asked_and_the_hash_says_so(db_session):
    study, _ = make_simulated_study(participants=20, waves=1, seed=4)
    every = load_study_data(study)
    session = db.session.scalars(select(ResponseSession).order_by(ResponseSession.id)).first()
    exclusions.exclude(session, reason="test", actor=None)
    db.session.flush()
    kept = load_study_data(study)
    assert kept.n_rows == every.n_rows - 1
    assert kept.excluded_left_out == 1 and kept.sessions_excluded == 1
    assert kept.rows_hash != every.rows_hash
    again = load_study_data(study, include_excluded=True)
    assert again.n_rows == every.n_rows and again.rows_hash == every.rows_hash
    assert load_study_data(study).rows_hash == kept.rows_hash


def test_one_wave_and_an_unknown_wave(db_session):
    study, _ = make_simulated_study(participants=15, waves=2, seed=5)
    baseline = load_study_data(study, wave="baseline")
    assert set(baseline.rows.index.get_level_values("wave")) == {"baseline"}
    assert baseline.waves == ("baseline",)
    with pytest.raises(study_data.UnknownWave):
        load_study_data(study, wave="week-99")
