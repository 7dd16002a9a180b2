"""Simulated studies: synthetic participants answering a study's whole battery.

:func:`simulate_study` draws a population from the battery's instrument definitions
(:mod:`survey.services.simulation.population`, where the model and every stated range
live), samples ``participants`` participants over ``waves`` waves and stores them
(:mod:`survey.services.simulation.writer`) with ``participants.simulated`` true, plus their
engagement outcomes and covariates as one new outcome version (source ``simulation``,
simulated). :attr:`SimulationResult.truth` holds the generating parameters and who was
careless; :func:`detection_rates` says how many of them the study's data-quality flags
catch. Everything is flushed, nothing committed: the command commits once.

Reproducible: the same battery, seed and sizes give the same population, answers, timings
and outcomes (relative to the recruitment start; only token hashes and row ids differ).
Waves the study lacks are added (``baseline``, ``week-4``, ``week-8``, ... opening 0, 28,
56, ... days after enrolment, for 14 days); existing waves are used in order, a wave
without a relative schedule taken as opening ``28 x position`` days after enrolment.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from survey.models import AuditAction, Study, User, Wave, WaveStatus, utcnow
from survey.models.participant import participant_code
from survey.services import audit, outcomes, studies
from survey.services.data_quality import QualityAssessor
from survey.services.errors import SurveyError
from survey.services.instruments import definition_of
from survey.services.simulation.population import AGE_GROUPS, CARELESS_KINDS, Population, Sample
from survey.services.simulation.writer import write_sample

__all__ = [
    "DetectionRates",
    "InvalidSimulation",
    "SimulationResult",
    "check_simulation",
    "detection_rates",
    "simulate_study",
]

# Participants sampled and written at a time: memory stays bounded for any size.
PARTICIPANTS_PER_CHUNK = 1000
ADDED_WAVE_DAYS = 28  # wave k (0-based) opens 28 k days after enrolment
ADDED_WINDOW_DAYS = 14
MAX_PARTICIPANTS = 100_000
MAX_WAVES = 50
OUTCOME_COLUMNS = (
    {"name": "messages_sent", "kind": "numeric"},
    {"name": "active_weeks", "kind": "numeric"},
    {"name": "dropped_out", "kind": "numeric"},
    {"name": "age_group", "kind": "categorical", "levels": list(AGE_GROUPS)},
    {"name": "delivery_mode", "kind": "categorical", "levels": ["web", "chat"]},
)


class InvalidSimulation(SurveyError):
    """A simulation that cannot run (too few participants or waves, an empty battery)."""


@dataclass(frozen=True)
class SimulationResult:
    """What :func:`simulate_study` stored: counts, the waves used (keys; ``added`` the
    ones it created), the outcome version, and :attr:`truth` (the ``--truth`` JSON)."""

    study: Study
    participants: int
    sessions: int
    complete_sessions: int
    page_visits: int
    answers: int
    safety_alerts: int
    waves: tuple[str, ...]
    added_waves: tuple[str, ...]
    outcome_version: int
    truth: dict[str, Any]
    session_kinds: dict[int, str] = field(repr=False)

    @property
    def careless(self) -> dict[str, str]:
        """Participant code -> careless kind."""
        return self.truth["careless"]


def check_simulation(study: Study, *, participants: int, waves: int, seed: int = 0) -> None:
    """Raise :class:`InvalidSimulation` unless ``study`` can be simulated at these sizes
    and seed (nothing is written)."""
    if not 1 <= participants <= MAX_PARTICIPANTS:
        raise InvalidSimulation(
            f"participants must be from 1 to {MAX_PARTICIPANTS:,}, not {participants}"
        )
    if not 1 <= waves <= MAX_WAVES:
        raise InvalidSimulation(f"waves must be from 1 to {MAX_WAVES}, not {waves}")
    if not study.battery:
        raise InvalidSimulation(
            f"study {study.slug!r} has no instrument in its battery: nothing to answer"
        )
    if seed < 0:
        raise InvalidSimulation(f"the seed must be 0 or more, not {seed}")


def _added_wave_label(position: int) -> tuple[str, str]:
    if position == 0:
        return "baseline", "Baseline"
    weeks = position * ADDED_WAVE_DAYS // 7
    return f"week-{weeks}", f"Week {weeks}"


def _waves(study: Study, count: int, actor: User | None) -> tuple[list[Wave], list[str]]:
    """The study's first ``count`` waves, adding the missing ones (audited ``wave_added``)."""
    used = list(study.waves)[:count]
    added = []
    while len(used) < count:
        key, label = _added_wave_label(len(used))
        taken_keys = {wave.key for wave in study.waves}
        taken_labels = {wave.label.casefold() for wave in study.waves}
        if key in taken_keys or label.casefold() in taken_labels:
            label = f"{label} (simulated)"
            key = studies.unused_wave_key(study, label)
        wave = studies.add_wave(
            study,
            key=key,
            label=label,
            status=WaveStatus.OPEN,
            offset_days=len(used) * ADDED_WAVE_DAYS,
            window_days=ADDED_WINDOW_DAYS,
            actor=actor,
        )
        used.append(wave)
        added.append(wave.key)
    return used, added


def _schedule(waves: Sequence[Wave]) -> list[tuple[float, float | None]]:
    """(offset days, window days) per wave: its relative schedule, else by position."""
    schedule: list[tuple[float, float | None]] = []
    for position, wave in enumerate(waves):
        if wave.offset_days is not None:
            schedule.append((float(wave.offset_days), wave.window_days))
        else:
            schedule.append((float(position * ADDED_WAVE_DAYS), float(ADDED_WINDOW_DAYS)))
    return schedule


def simulate_study(
    study: Study,
    *,
    participants: int,
    waves: int,
    seed: int,
    actor: User | None = None,
    now: datetime | None = None,
) -> SimulationResult:
    """Simulate ``participants`` participants answering ``study``'s battery at its first
    ``waves`` waves (added when missing), drawn with ``seed``; store them, their outcomes
    (one new outcome version) and an audit event ``study_simulated``. Flushes, never
    commits. Raises :class:`InvalidSimulation`."""
    check_simulation(study, participants=participants, waves=waves, seed=seed)
    now = now or utcnow()
    versions = study.instrument_versions
    definitions = [definition_of(version) for version in versions]
    population = Population.draw(definitions, np.random.default_rng([seed, 0]))
    used_waves, added = _waves(study, waves, actor)
    schedule = _schedule(used_waves)
    span_days = population.settings.recruitment_days + max(
        offset + (window if window is not None else ADDED_WINDOW_DAYS)
        for offset, window in schedule
    )
    start = now - timedelta(days=span_days + 1)
    version_ids = [version.id for version in versions]

    careless: dict[str, str] = {}
    session_kinds: dict[int, str] = {}
    outcome_rows: list[tuple[int, int | None, dict[str, object]]] = []
    totals = Counter()
    for chunk, first in enumerate(range(0, participants, PARTICIPANTS_PER_CHUNK)):
        size = min(PARTICIPANTS_PER_CHUNK, participants - first)
        sample = population.sample(size, schedule, np.random.default_rng([seed, 1, chunk]))
        written = write_sample(
            study,
            population,
            sample,
            waves=used_waves,
            version_ids=version_ids,
            start=start,
        )
        totals["sessions"] += len(written.session_ids)
        totals["complete"] += int(
            (sample.pages_submitted[sample.present] == len(population.pages)).sum()
        )
        totals["page_visits"] += written.page_visits
        totals["answers"] += written.answers
        totals["safety_alerts"] += written.safety_alerts
        for i, participant_id in enumerate(written.participant_ids):
            if sample.kind[i]:
                careless[participant_code(participant_id)] = str(sample.kind[i])
        for (_w, i), session_id in written.session_ids.items():
            session_kinds[session_id] = str(sample.kind[i])
        outcome_rows.extend(_outcome_rows(sample, written.participant_ids, used_waves))

    upload = outcomes.store_outcomes(
        study,
        outcomes.OutcomeRecords(columns=[dict(c) for c in OUTCOME_COLUMNS], rows=outcome_rows),
        filename=f"simulation-seed-{seed}.csv",
        source="simulation",
        actor=actor,
        simulated=True,
    )
    wave_keys = tuple(wave.key for wave in used_waves)
    kinds = Counter(careless.values())
    parameters = {
        "participants": participants,
        "waves": list(wave_keys),
        "seed": seed,
        "added_waves": added,
        "sessions": totals["sessions"],
        "complete_sessions": totals["complete"],
        "answers": totals["answers"],
        "careless": {kind: kinds.get(kind, 0) for kind in CARELESS_KINDS},
        "outcome_version": upload.version,
        "recruitment_start": start.isoformat(),
    }
    truth = {
        "study": study.slug,
        **parameters,
        **population.truth(),
        "careless": dict(sorted(careless.items())),
    }
    audit.record(
        AuditAction.STUDY_SIMULATED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        hash_after=audit.content_hash(truth),
        details=parameters,
        now=now,
    )
    return SimulationResult(
        study=study,
        participants=participants,
        sessions=totals["sessions"],
        complete_sessions=totals["complete"],
        page_visits=totals["page_visits"],
        answers=totals["answers"],
        safety_alerts=totals["safety_alerts"],
        waves=wave_keys,
        added_waves=tuple(added),
        outcome_version=upload.version,
        truth=truth,
        session_kinds=session_kinds,
    )


def _outcome_rows(
    sample: Sample, participant_ids: list[int], waves: Sequence[Wave]
) -> list[tuple[int, int | None, dict[str, object]]]:
    """One row per participant (age group, delivery mode) and per attended wave
    (engagement)."""
    rows: list[tuple[int, int | None, dict[str, object]]] = []
    for i, participant_id in enumerate(participant_ids):
        rows.append(
            (
                participant_id,
                None,
                {
                    "age_group": str(sample.age_group[i]),
                    "delivery_mode": "chat" if sample.chat[i] else "web",
                },
            )
        )
        for w, wave in enumerate(waves):
            if sample.present[w, i]:
                rows.append(
                    (
                        participant_id,
                        wave.id,
                        {
                            "messages_sent": int(sample.messages_sent[w, i]),
                            "active_weeks": int(sample.active_weeks[w, i]),
                            "dropped_out": int(sample.dropped_out[w, i]),
                        },
                    )
                )
    return rows


# -- how well the flags find the careless ------------------------------------------------------
@dataclass(frozen=True)
class DetectionRates:
    """Shares of the simulated complete sessions flagged by the study's data-quality rules
    (``flag_any``): per careless kind, and among the attentive (false positives)."""

    flagged: dict[str, float]
    sessions: dict[str, int]
    false_positive_rate: float
    attentive_sessions: int

    def lines(self) -> list[str]:
        out = [
            f"{kind}: {self.flagged[kind]:.1%} of {self.sessions[kind]} sessions flagged"
            for kind in CARELESS_KINDS
        ]
        out.append(
            f"false positives among the others: {self.false_positive_rate:.1%} of "
            f"{self.attentive_sessions} sessions"
        )
        return out


def detection_rates(result: SimulationResult) -> DetectionRates:
    """The default (or the study's) flags' detection rates on the complete sessions of
    ``result`` (an incomplete session may lack the items a rule needs)."""
    assessor = QualityAssessor.for_study(result.study)
    flagged: Counter[str] = Counter()
    seen: Counter[str] = Counter()
    for chunk in assessor.assess_study():
        for assessed in chunk:
            kind = result.session_kinds.get(assessed.record.session_id)
            if kind is None or assessed.record.completed_at is None:
                continue
            seen[kind] += 1
            flagged[kind] += assessed.flagged
    share = {kind: flagged[kind] / seen[kind] if seen[kind] else float("nan") for kind in seen}
    return DetectionRates(
        flagged={kind: share.get(kind, float("nan")) for kind in CARELESS_KINDS},
        sessions={kind: seen[kind] for kind in CARELESS_KINDS},
        false_positive_rate=share.get("", float("nan")),
        attentive_sessions=seen[""],
    )
