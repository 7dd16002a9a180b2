"""Fixtures for the validation run: a simulated IEM-DP study read once per session.

``simulated_data`` is the :class:`survey.services.validation.data.StudyData` of a study of
400 simulated participants over 3 waves (seed 7), excluded sessions none, read from its own
migrated SQLite file; ``simulated_truth`` is the simulation's truth (the ``--truth`` JSON);
``simulated_report`` the whole validation report of it (seed 1, the hypotheses of
``test_report_html.HYPOTHESES``), made once per session for the report tests (a full run
fits two CFAs by WLSMV and 40 FIML models; treat it as read-only, deep-copy to change it).
Section tests take these plain objects and need no database of their own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from flask_migrate import upgrade

from instruments.loader import instrument_path, load_instrument
from survey import create_app
from survey.extensions import db
from survey.models import WaveStatus
from survey.services import instruments, simulation, studies
from survey.services.validation.data import StudyData, load_study_data

NOW = datetime(2027, 6, 1, 12, 0, tzinfo=UTC)
PARTICIPANTS = 400
WAVES = 3
SEED = 7


@dataclass(frozen=True)
class Simulated:
    data: StudyData
    truth: dict[str, Any]


def make_simulated_study(*, participants: int, waves: int, seed: int, slug: str = "validation"):
    """A study of IEM-DP 1.1.0 with one open baseline wave, simulated (flushed)."""
    iemdp = load_instrument(instrument_path("iemdp", "1.1.0"))
    version = instruments.import_definition(iemdp)[0]
    study = studies.create_study(
        name="Validation study",
        slug=slug,
        instrument_versions=[version],
        consent_text="Agree?",
        consent_version="c-1",
        urgent_help_note="Call 112.",
    )
    studies.add_wave(study, key="baseline", label="Baseline", status=WaveStatus.OPEN, offset_days=0)
    db.session.flush()
    result = simulation.simulate_study(
        study, participants=participants, waves=waves, seed=seed, now=NOW
    )
    db.session.flush()
    return study, result


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    directory = tmp_path_factory.mktemp("validation-study")
    url = f"sqlite:///{directory / 'study.sqlite3'}"
    app = create_app(
        {"TESTING": True, "SQLALCHEMY_DATABASE_URI": url}, instance_path=str(directory / "i")
    )
    with app.app_context():
        upgrade()
        study, result = make_simulated_study(participants=PARTICIPANTS, waves=WAVES, seed=SEED)
        db.session.commit()
        data = load_study_data(study)
        db.session.remove()
        db.engine.dispose()
    return Simulated(data=data, truth=result.truth)


@pytest.fixture(scope="session")
def simulated_data(simulated: Simulated) -> StudyData:
    return simulated.data


@pytest.fixture(scope="session")
def simulated_truth(simulated: Simulated) -> dict[str, Any]:
    return simulated.truth


@pytest.fixture(scope="session")
def simulated_report(simulated_data: StudyData) -> dict[str, Any]:
    from survey.services.validation.run import validate_data
    from tests.survey.validation.test_report_html import stated

    return validate_data(simulated_data, seed=1, hypotheses=stated(simulated_data))
