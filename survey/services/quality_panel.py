"""The live quality panel of a study's dashboard: what the validation will have to work with.

Per instrument version of the battery, at the study's first wave (the one the structural and
internal-consistency analyses use): complete sessions not excluded against what the
first-order CFA needs (at least 200 cases, and 5 per free parameter, Bentler & Chou 1987),
Cronbach's alpha per subconstruct so far (complete sessions, reverse-keyed items), and for the
whole study the sessions the data-quality rules flag (not yet excluded) and the excluded ones;
open safety alerts.

Cheap on every page view: the figures are computed once per state of the study's data and
kept in a small in-process cache. The state is what they depend on: the completed sessions
(their count and the latest completion), the exclusions (count and latest change) and the
quality rules. An answer saved in an unfinished session does not change the state (the panel
counts complete sessions only); the next completion does.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from sqlalchemy import func, select

from instruments.measurement_model import measurement_model
from psychometrics.reliability import cronbach_alpha
from survey.extensions import db
from survey.models import ResponseSession, SafetyAlert, SessionExclusion, Study, Wave
from survey.services import data_quality
from survey.services.validation.data import load_study_data

__all__ = ["MIN_CASES", "CASES_PER_PARAMETER", "QualityPanel", "quality_panel", "clear_cache"]

MIN_CASES = 200
CASES_PER_PARAMETER = 5
CACHE_SIZE = 64

_cache: OrderedDict[tuple, QualityPanel] = OrderedDict()
_lock = threading.Lock()


@dataclass(frozen=True)
class SubconstructAlpha:
    code: str
    name: str
    alpha: float | None
    n: int


@dataclass(frozen=True)
class InstrumentPanel:
    label: str
    complete: int
    free_parameters: int
    needed: int
    alphas: tuple[SubconstructAlpha, ...]

    @property
    def share_of_needed(self) -> float:
        return min(1.0, self.complete / self.needed) if self.needed else 1.0


@dataclass(frozen=True)
class QualityPanel:
    wave: str | None
    instruments: tuple[InstrumentPanel, ...]
    sessions: int
    flagged: int
    excluded: int
    open_alerts: int


def free_parameters(first_order: dict[str, tuple[str, ...]]) -> int:
    """Free parameters of a first-order CFA with marker identification: loadings beyond
    the markers, residual variances, factor variances and covariances."""
    items = sum(len(indicators) for indicators in first_order.values())
    factors = len(first_order)
    return (items - factors) + items + factors * (factors + 1) // 2


def _state(study: Study) -> tuple:
    completed = db.session.execute(
        select(func.count(ResponseSession.id), func.max(ResponseSession.completed_at))
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id, ResponseSession.completed_at.is_not(None))
    ).one()
    exclusions = db.session.execute(
        select(
            func.count(SessionExclusion.id),
            func.max(SessionExclusion.id),
            func.max(SessionExclusion.lifted_at),
        )
        .join(ResponseSession, ResponseSession.id == SessionExclusion.session_id)
        .join(Wave, Wave.id == ResponseSession.wave_id)
        .where(Wave.study_id == study.id)
    ).one()
    rules = json.dumps(study.quality_rules, sort_keys=True)
    battery = tuple(version.id for version in study.instrument_versions)
    waves = tuple(wave.key for wave in study.waves)
    database = db.engine.url.render_as_string(hide_password=True)
    return (database, study.id, tuple(completed), tuple(exclusions), rules, battery, waves)


def _alpha(frame, items: list[str]) -> tuple[float | None, int]:
    rows = frame[items].dropna()
    if len(rows) < 3 or (rows.var(ddof=1) == 0).any():
        return None, len(rows)
    with np.errstate(all="ignore"):
        value = cronbach_alpha(rows).alpha
    return (float(value) if np.isfinite(value) else None), len(rows)


def _compute(study: Study) -> tuple[str | None, tuple[InstrumentPanel, ...], int, int, int]:
    first_wave = study.waves[0].key if study.waves else None
    instruments: list[InstrumentPanel] = []
    if first_wave is not None:
        data = load_study_data(study, wave=first_wave)
        complete_rows = data.rows["complete"].to_numpy(dtype=bool)
        for instrument in data.instruments:
            keyed = instrument.keyed[complete_rows]
            model = measurement_model(instrument.definition, second_order=False)
            parameters = free_parameters(model.first_order)
            alphas = []
            for sub in instrument.definition.subconstructs:
                value, n = _alpha(keyed, [item.id for item in sub.items])
                alphas.append(SubconstructAlpha(code=sub.code, name=sub.name, alpha=value, n=n))
            instruments.append(
                InstrumentPanel(
                    label=instrument.label,
                    complete=int(complete_rows.sum()),
                    free_parameters=parameters,
                    needed=max(MIN_CASES, CASES_PER_PARAMETER * parameters),
                    alphas=tuple(alphas),
                )
            )
    sessions = flagged = excluded = 0
    for chunk in data_quality.QualityAssessor.for_study(study).assess_study():
        for assessed in chunk:
            sessions += 1
            if assessed.record.excluded:
                excluded += 1
            elif assessed.flagged:
                flagged += 1
    return first_wave, tuple(instruments), sessions, flagged, excluded


def quality_panel(study: Study) -> QualityPanel:
    """The panel's figures (see the module docstring); open alerts are always counted."""
    key = _state(study)
    with _lock:
        cached = _cache.get(key)
        if cached is not None:
            _cache.move_to_end(key)
    if cached is None:
        wave, instruments, sessions, flagged, excluded = _compute(study)
        cached = QualityPanel(
            wave=wave,
            instruments=instruments,
            sessions=sessions,
            flagged=flagged,
            excluded=excluded,
            open_alerts=0,
        )
        with _lock:
            _cache[key] = cached
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)
    alerts = db.session.scalar(
        select(func.count(SafetyAlert.id)).where(
            SafetyAlert.study_id == study.id, SafetyAlert.acknowledged_at.is_(None)
        )
    )
    return QualityPanel(**{**cached.__dict__, "open_alerts": int(alerts or 0)})


def clear_cache() -> None:
    with _lock:
        _cache.clear()


def cache_size() -> int:
    with _lock:
        return len(_cache)
