"""Hypotheses testing for construct validity: each hypothesis stated before the run, tested.

The hypotheses come from :func:`survey.services.hypotheses.hypotheses_for_run` (plain dicts
``{"id", "text", "spec", "stated_at"}``; the grammar and the specs are documented in
:mod:`survey.services.hypotheses`). This section reads them against the analysed rows:

- **scores** at the analysed wave (:func:`.items.analysed_wave`: the selected wave, else the
  first, baseline), from ``instrument.scores`` (a name of another instrument of the battery
  from its own scores at that wave);
- **outcomes**, one value per participant by the criterion section's rule
  (:func:`.criterion.participant_outcomes`: a per-participant value as uploaded; a per-wave
  one over the waves from baseline on, 1 if 1 at any for a 0/1 outcome, else summed).

Estimates are Pearson's r over the participants with both values, with its Fisher-z 95 %
interval, p and n (:func:`psychometrics.regression.pearson_ci`):

.. math::
    [\\tanh(\\operatorname{artanh} r \\mp z_{0.975} / \\sqrt{n-3})].

A comparison ``A more with B than with C`` uses the participants with all three values,
so both r share their rows; its ``difference`` is :math:`|r_{AB}| - |r_{AC}|`.

**Met** is judged on the point estimate, as COSMIN does (Prinsen et al. 2018,
doi:10.1007/s11136-018-1798-3; the reviewer judges the estimate against the stated
expectation): ``r <op> value``; ``r > 0`` / ``r < 0``; ``|r_AB| > |r_AC|``. ``ci_verdict``
adds, for a correlation or sign, whether the whole interval agrees (``"met"``), none of it
does (``"not met"``) or it spans the boundary (``"undecided"``). COSMIN rates hypotheses
testing sufficient when at least 75 % are met.

A hypothesis that cannot be tested here (no variable of it is a score of this instrument;
a name neither a score of the battery nor a numeric outcome of the current outcome
version; fewer than three participants with its values; a constant variable) gets
``met: None`` and a ``reason``; it is listed, but not counted in ``tested`` or
``share_met``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from psychometrics.regression import pearson_ci
from survey.services.hypotheses import describe, spec_names
from survey.services.validation.criterion import participant_outcomes
from survey.services.validation.data import InstrumentData, StudyData
from survey.services.validation.items import analysed_wave, json_number, rows_at_wave

__all__ = [
    "CI_LEVEL",
    "CRITERION",
    "OTHER_INSTRUMENT",
    "SMALL_N",
    "test_hypotheses",
]

CI_LEVEL = 0.95
CRITERION = "at least 75 % met (COSMIN)"
SMALL_N = 100
"""Fewer participants than this behind a test: COSMIN's grading of the evidence
downgrades it for imprecision (Mokkink et al. 2018, COSMIN user manual, 100 and 50)."""

_OPS = {
    ">=": lambda r, v: r >= v,
    ">": lambda r, v: r > v,
    "<=": lambda r, v: r <= v,
    "<": lambda r, v: r < v,
}
_SYMBOLS = {">=": "≥", ">": ">", "<=": "≤", "<": "<"}
OTHER_INSTRUMENT = (
    "it names no score of this instrument (it is tested with the instrument whose scores it names)"
)


def test_hypotheses(
    data: StudyData, instrument: InstrumentData, hypotheses: list[dict[str, Any]]
) -> dict[str, Any]:
    """Test each hypothesis on ``instrument``'s scores (see the module docstring).

    Returns ``{"available", "reason"?, "wave", "participants", "ci_level", "results",
    "stated", "tested", "met", "share_met", "criterion", "notes", "warnings"}``; one entry of
    ``results`` per hypothesis, in the order given.
    """
    wave = analysed_wave(data)
    hypotheses = list(hypotheses)
    reason = None
    if not hypotheses:
        reason = "no hypotheses were stated before the run"
    elif wave is None:
        reason = "the study has no waves"
    elif instrument.scores.empty:
        reason = "no sessions to analyse"
    if reason is not None:
        return {
            "available": False,
            "reason": reason,
            "wave": wave,
            "participants": 0,
            "ci_level": CI_LEVEL,
            "results": [_untested(h, reason) for h in hypotheses],
            "stated": len(hypotheses),
            "tested": 0,
            "met": 0,
            "share_met": None,
            "criterion": CRITERION,
            "notes": [f"Hypotheses not tested: {reason}."],
            "warnings": [],
        }

    variables = _Variables(data, instrument, wave)
    results = [_test(hypothesis, variables) for hypothesis in hypotheses]
    tested = [entry for entry in results if entry["met"] is not None]
    met = sum(1 for entry in tested if entry["met"])
    return {
        "available": True,
        "wave": wave,
        "participants": variables.participants,
        "ci_level": CI_LEVEL,
        "results": results,
        "stated": len(results),
        "tested": len(tested),
        "met": met,
        "share_met": met / len(tested) if tested else None,
        "criterion": CRITERION,
        "notes": _notes(data, wave, variables),
        "warnings": _warnings(results),
    }


# The name is the section's, not a test's: pytest must not collect it where it is imported.
test_hypotheses.__test__ = False  # type: ignore[attr-defined]


class _Variables:
    """The values a hypothesis may name, one per participant with a session at the wave."""

    def __init__(self, data: StudyData, instrument: InstrumentData, wave: str) -> None:
        prefixed = len(data.instruments) > 1
        self.own: set[str] = set()
        self.scores: dict[str, pd.Series] = {}
        for other in data.instruments:
            prefix = f"{other.version.key}." if prefixed else ""
            frame = rows_at_wave(other.scores, wave)
            for code in frame.columns:
                self.scores[prefix + str(code)] = frame[code]
                if other is instrument:
                    self.own.add(prefix + str(code))
        self.index = rows_at_wave(instrument.scores, wave).index
        self.participants = len(self.index)
        self.categorical = {name for name, kind in data.outcome_columns if kind != "numeric"}
        numeric = [name for name, kind in data.outcome_columns if kind == "numeric"]
        self.rules: dict[str, dict[str, Any]] = {}
        self.outcomes = pd.DataFrame(index=self.index)
        if data.outcomes is not None and numeric:
            waves = tuple(data.waves)
            from_baseline = waves[waves.index(wave) :] if wave in waves else (wave,)
            per_participant, self.rules = participant_outcomes(
                data.outcomes, numeric, from_baseline
            )
            self.outcomes = per_participant.reindex(self.index)
        self.outcome_version = data.outcome_version

    def problem(self, name: str) -> str | None:
        if name in self.scores or name in self.outcomes.columns:
            return None
        if name in self.categorical:
            return f"{name} is a categorical covariate, not a numeric variable"
        if self.outcome_version is None:
            return f"{name} is not a score of the battery and the study has no outcomes"
        return (
            f"{name} is neither a score of the battery nor a numeric column of outcome "
            f"version {self.outcome_version}"
        )

    def values(self, name: str) -> pd.Series:
        if name in self.scores:
            return self.scores[name].reindex(self.index)
        return self.outcomes[name]


def _base(hypothesis: Mapping[str, Any]) -> dict[str, Any]:
    spec = dict(hypothesis.get("spec") or {})
    return {
        "id": hypothesis.get("id"),
        "text": hypothesis.get("text") or describe(spec),
        "stated_at": hypothesis.get("stated_at"),
        "spec": spec,
        "kind": spec.get("kind"),
        "variables": spec_names(spec),
    }


def _untested(hypothesis: Mapping[str, Any], reason: str) -> dict[str, Any]:
    return {
        **_base(hypothesis),
        "met": None,
        "reason": reason,
        "n": None,
        "estimate": None,
        "estimates": [],
        "ci_verdict": None,
        "result": f"Not tested: {reason}.",
    }


def _test(hypothesis: Mapping[str, Any], variables: _Variables) -> dict[str, Any]:
    entry = _base(hypothesis)
    kind, names = entry["kind"], entry["variables"]
    if kind not in ("correlation", "comparison", "sign") or not names:
        return _untested(hypothesis, f"unknown kind of hypothesis {kind!r}")
    for name in names:
        problem = variables.problem(name)
        if problem:
            return _untested(hypothesis, problem)
    if not variables.own.intersection(names):
        return _untested(hypothesis, OTHER_INSTRUMENT)
    frame = pd.DataFrame({name: variables.values(name) for name in names})
    if kind == "comparison":
        frame = frame.dropna()
    pairs = [(names[0], names[1])] + ([(names[0], names[2])] if kind == "comparison" else [])
    estimates = []
    for left, right in pairs:
        try:
            result = pearson_ci(frame[left], frame[right], CI_LEVEL)
        except ValueError as error:
            return _untested(hypothesis, f"r({left}, {right}) cannot be estimated: {error}")
        estimates.append(
            {
                "left": left,
                "right": right,
                "r": json_number(result.r),
                "n": result.n,
                "ci": {
                    "lower": json_number(result.ci_lower),
                    "upper": json_number(result.ci_upper),
                    "level": CI_LEVEL,
                },
                "p": json_number(result.p),
            }
        )
    spec = entry["spec"]
    if kind == "comparison":
        more, than = estimates
        difference = abs(more["r"]) - abs(than["r"])
        met = difference > 0
        return {
            **entry,
            "met": bool(met),
            "reason": None,
            "n": more["n"],
            "estimate": difference,
            "estimates": estimates,
            "difference": difference,
            "ci_verdict": None,
            "result": _comparison_sentence(more, than, difference, met),
        }
    (only,) = estimates
    met, verdict = _judge(spec, only)
    return {
        **entry,
        "met": met,
        "reason": None,
        "n": only["n"],
        "estimate": only["r"],
        "estimates": estimates,
        "ci_verdict": verdict,
        "result": _correlation_sentence(spec, only, met, verdict),
    }


def _judge(spec: Mapping[str, Any], estimate: Mapping[str, Any]) -> tuple[bool, str | None]:
    """Whether the point estimate satisfies the hypothesis, and what the interval says."""
    r, lower, upper = estimate["r"], estimate["ci"]["lower"], estimate["ci"]["upper"]
    if spec["kind"] == "sign":
        holds = _OPS[">"] if spec["sign"] == "positive" else _OPS["<"]
        value = 0.0
    else:
        holds, value = _OPS[spec["op"]], float(spec["value"])
    met = bool(holds(r, value))
    if lower is None or upper is None:
        return met, None
    ends = (holds(lower, value), holds(upper, value))
    verdict = "met" if all(ends) else "not met" if not any(ends) else "undecided"
    return met, verdict


def _interval(estimate: Mapping[str, Any]) -> str:
    ci = estimate["ci"]
    if ci["lower"] is None:
        return f"n = {estimate['n']}"
    return f"95 % CI {ci['lower']:.2f} to {ci['upper']:.2f}, n = {estimate['n']}"


def _correlation_sentence(
    spec: Mapping[str, Any], estimate: Mapping[str, Any], met: bool, verdict: str | None
) -> str:
    if spec["kind"] == "sign":
        expected = f"expected {spec['sign']}"
    else:
        expected = f"expected {_SYMBOLS[spec['op']]} {float(spec['value']):.2f}"
    found = (
        f"r({estimate['left']}, {estimate['right']}) = {estimate['r']:.2f} "
        f"({_interval(estimate)}), {expected}"
    )
    sure = {
        "met": "; the whole interval agrees",
        "not met": "; the whole interval disagrees",
        "undecided": "; the interval spans the expected boundary",
    }.get(verdict or "", "")
    return f"{'Met' if met else 'Not met'}: {found}{sure}."


def _comparison_sentence(
    more: Mapping[str, Any], than: Mapping[str, Any], difference: float, met: bool
) -> str:
    first = f"|r({more['left']}, {more['right']})| = {abs(more['r']):.2f}"
    second = f"|r({than['left']}, {than['right']})| = {abs(than['r']):.2f}"
    relation = "is greater than" if met else "is not greater than"
    return (
        f"{'Met' if met else 'Not met'}: {first} {relation} {second} "
        f"(difference {difference:+.2f}, n = {more['n']})."
    )


def _notes(data: StudyData, wave: str, variables: _Variables) -> list[str]:
    excluded = (
        "excluded sessions included (as asked)"
        if data.include_excluded
        else f"{data.excluded_left_out} excluded sessions left out"
    )
    notes = [
        f"Scores are those at wave {wave!r} ({variables.participants} participants with a "
        f"session there; {excluded}).",
        "Each hypothesis is tested on its point estimate, as COSMIN judges them (Prinsen et "
        "al. 2018): Pearson's r over the participants with both values, Fisher-z 95 % "
        "interval; a comparison uses the participants with all three values and compares "
        "|r|. ci_verdict says whether the whole interval agrees with a correlation or sign "
        "hypothesis.",
        f"share_met is over the hypotheses tested; hypotheses without the data to test "
        f"them are listed with their reason and not counted. Criterion: {CRITERION}.",
    ]
    if variables.rules:
        rules = "; ".join(f"{name}: {rule['rule']}" for name, rule in variables.rules.items())
        notes.append(
            f"Outcomes are version {data.outcome_version} of the study's outcomes, one value "
            f"per participant ({rules})."
        )
    return notes


def _warnings(results: list[dict[str, Any]]) -> list[str]:
    """Hypotheses that could not be tested (those about another instrument aside) and
    tests on fewer than :data:`SMALL_N` participants."""
    warnings = []
    untested = [e for e in results if e["met"] is None and e["reason"] != OTHER_INSTRUMENT]
    if untested:
        listed = "; ".join(f"{entry['text']!r}: {entry['reason']}" for entry in untested)
        warnings.append(
            f"{len(untested)} of {len(results)} hypotheses could not be tested ({listed}); "
            "they are left out of the share met."
        )
    small = [e for e in results if e["n"] is not None and e["n"] < SMALL_N]
    if small:
        listed = "; ".join(f"{entry['text']!r} (n = {entry['n']})" for entry in small)
        warnings.append(
            f"{len(small)} hypotheses rest on fewer than {SMALL_N} participants ({listed}): "
            "COSMIN downgrades such evidence for imprecision."
        )
    return warnings
