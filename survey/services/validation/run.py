"""The validation run: every section for every instrument version of a study's battery.

:func:`validate` reads the analysed rows once (:func:`.data.load_study_data`) and runs, per
instrument version, item statistics, structural validity (first- and second-order CFA,
EFA diagnostics), internal consistency, test-retest reliability and measurement error,
responsiveness and criterion validity; then it rates the evidence per COSMIN measurement
property (:mod:`.cosmin`) and gathers the warnings a reviewer would raise.

The report is a plain dictionary, ready for JSON. It is a function of its inputs alone:
the analysed rows (their SHA-256 and count are in ``inputs``), the instrument versions and
their content hashes, the selection (wave, excluded sessions), the seed and the versions of
the packages that computed it. It holds no clock time and no user, so the same inputs give
the same JSON; who ran it and when belong to the stored run, not to the numbers.

The top-level ``first_order`` and ``second_order`` are the CFA models of the battery's
first instrument (the IEM-DP in its studies), the same dictionaries as under
``instruments[0]["structural_validity"]``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from importlib import metadata
from typing import Any

from survey.models import Study
from survey.services import hypotheses as stated_hypotheses
from survey.services.validation import (
    consistency,
    cosmin,
    criterion,
    invariance,
    items,
    responsiveness,
    retest,
    structural,
)
from survey.services.validation import hypotheses as hypotheses_section
from survey.services.validation.data import InstrumentData, StudyData, load_study_data

__all__ = ["FORMAT", "SECTIONS", "Progress", "package_versions", "validate", "validate_data"]

FORMAT = "iemdp-validation/1"

Progress = Callable[[int, int, str], None]
"""Called with (steps done, steps in all, what comes next) as the run goes on."""

PACKAGES = ("iemdp-survey", "numpy", "scipy", "pandas", "factor-analyzer", "scikit-learn")

SECTIONS: tuple[tuple[str, str, Callable[..., dict[str, Any]]], ...] = (
    ("item_statistics", "Item statistics", items.item_statistics),
    ("structural_validity", "Structural validity (CFA, EFA)", structural.structural_validity),
    ("internal_consistency", "Internal consistency", consistency.internal_consistency),
    ("test_retest", "Test-retest reliability and measurement error", retest.test_retest),
    ("responsiveness", "Responsiveness", responsiveness.responsiveness),
    ("criterion_validity", "Criterion validity", criterion.criterion_validity),
    ("invariance", "Measurement invariance", invariance.measurement_invariance),
)
"""(key in the report, label, section function) in the order they run."""

SEEDED = {"structural_validity"}
"""Sections whose function takes the run's seed."""

GROUPED = {"invariance"}
"""Sections whose function takes the run's group variable."""

# Excluded sessions above this share of all sessions are worth a reviewer's question.
MANY_EXCLUDED_SHARE = 0.10


def package_versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def validate(
    study: Study,
    *,
    wave: str | None = None,
    include_excluded: bool = False,
    seed: int = 1,
    progress: Progress | None = None,
    hypotheses_before: datetime | None = None,
    group: str | None = None,
) -> dict[str, Any]:
    """The validation report of ``study`` (see the module docstring). Reads, never writes.

    The hypotheses tested are those in force (stated and not retired) at
    ``hypotheses_before`` — a stored run passes the moment it was requested — or now.
    Raises :class:`survey.services.study_data.UnknownWave` for an unknown wave."""
    data = load_study_data(study, wave=wave, include_excluded=include_excluded)
    stated = stated_hypotheses.hypotheses_for_run(study, before=hypotheses_before)
    report = validate_data(data, seed=seed, progress=progress, hypotheses=stated, group=group)
    report["study"] = {"slug": study.slug, "name": study.name}
    return {"format": report.pop("format"), "study": report.pop("study"), **report}


def validate_data(
    data: StudyData,
    *,
    seed: int = 1,
    progress: Progress | None = None,
    hypotheses: Sequence[dict[str, Any]] = (),
    group: str | None = None,
) -> dict[str, Any]:
    """The report of already-read rows (``study`` holds only the slug); ``hypotheses`` as
    :func:`survey.services.hypotheses.hypotheses_for_run` gives them; ``group`` the group
    variable of the invariance analysis (None: delivery mode when both modes are used)."""
    hypotheses = list(hypotheses)
    steps = (len(SECTIONS) + 1) * len(data.instruments)
    done = 0
    per_instrument = []
    for instrument in data.instruments:
        sections: dict[str, Any] = {"instrument": _describe(instrument)}
        for key, label, function in SECTIONS:
            if progress is not None:
                progress(done, steps, f"{instrument.label}: {label}")
            arguments: dict[str, Any] = {"seed": seed} if key in SEEDED else {}
            if key in GROUPED:
                arguments["group"] = group
            sections[key] = function(data, instrument, **arguments)
            done += 1
        if progress is not None:
            progress(done, steps, f"{instrument.label}: Hypotheses testing")
        sections["hypotheses"] = hypotheses_section.test_hypotheses(data, instrument, hypotheses)
        done += 1
        sections["cosmin"] = cosmin.summary(sections)
        per_instrument.append(sections)
    if progress is not None:
        progress(steps, steps, "done")
    first = per_instrument[0]["structural_validity"] if per_instrument else {}
    return {
        "format": FORMAT,
        "study": {"slug": data.slug},
        "inputs": {
            **data.selection(),
            "instruments": [_describe(instrument) for instrument in data.instruments],
            "seed": seed,
            "group": group,
            "hypotheses": [
                {"id": h["id"], "text": h["text"], "stated_at": h["stated_at"]} for h in hypotheses
            ],
            "packages": package_versions(),
        },
        "first_order": first.get("first_order"),
        "second_order": first.get("second_order"),
        "warnings": run_warnings(data, per_instrument),
        "instruments": per_instrument,
    }


def _describe(instrument: InstrumentData) -> dict[str, Any]:
    return {
        "key": instrument.version.key,
        "version": instrument.version.version,
        "content_hash": instrument.version.content_hash,
        "items": len(instrument.items),
    }


def run_warnings(data: StudyData, per_instrument: list[dict[str, Any]]) -> list[str]:
    """The run's own warnings, then every section's, each prefixed by where it arose."""
    warnings = []
    if data.n_rows == 0:
        warnings.append("No sessions to analyse: every section below is empty.")
    if data.sessions_total and not data.include_excluded:
        share = data.sessions_excluded / data.sessions_total
        if share > MANY_EXCLUDED_SHARE:
            warnings.append(
                f"{data.sessions_excluded} of {data.sessions_total} sessions "
                f"({share:.0%}) are excluded and left out: more than "
                f"{MANY_EXCLUDED_SHARE:.0%}; report the exclusion rules and check that "
                "the results do not depend on them (--include-excluded)."
            )
    if data.simulated_rows:
        warnings.append(f"{data.simulated_rows} of {data.n_rows} analysed rows are simulated data.")
    for sections in per_instrument:
        where = f"{sections['instrument']['key']} {sections['instrument']['version']}"
        for key, label in [(key, label) for key, label, _f in SECTIONS] + [
            ("hypotheses", "Hypotheses testing")
        ]:
            for warning in sections[key].get("warnings", []):
                warnings.append(f"{where}, {label.lower()}: {warning}")
    return warnings
