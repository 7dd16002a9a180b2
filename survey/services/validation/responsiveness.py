"""Responsiveness of a validation run: score trajectories over the waves and effect sizes.

For each construct and subconstruct score (:attr:`InstrumentData.scores`) and each wave with
sessions, in study order:

- the **trajectory**: ``n`` scored, mean, SD (n - 1) and the t interval of the mean,
  :math:`\\bar x \\pm t_{.975, n-1}\\, s / \\sqrt n`;
- the **change from the first wave** for the participants with both scores (``d_i`` = later
  minus first): mean change with its t interval, the paired t-test, and the two effect sizes
  of Husted et al. (2000): the standardised response mean :math:`SRM = \\bar d / s_d` and
  Cohen's effect size :math:`ES = \\bar d / s_{first}`, :math:`s_{first}` the SD at the first
  wave of the same participants.

Beside them, **attrition**: participants with a session at each wave, as a share of all
participants with a session at any wave and of those at the first wave.

COSMIN rates responsiveness against hypotheses about the expected change (or an anchor);
effect sizes alone do not say whether the instrument is responsive, so this section reports
them and the COSMIN summary judges with the hypotheses.

References: Husted, Cook, Farewell & Gladman (2000), *J Clin Epidemiol* 53, 459-468,
doi:10.1016/S0895-4356(99)00206-1; Mokkink et al. (2010), *J Clin Epidemiol* 63, 737-745,
doi:10.1016/j.jclinepi.2010.02.006.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from survey.services.validation.data import InstrumentData, StudyData
from survey.services.validation.items import json_number
from survey.services.validation.retest import fewer_than_two_waves, waves_with_sessions

__all__ = ["RETENTION_WARNING", "responsiveness"]

CI_LEVEL = 0.95
RETENTION_WARNING = 0.80
"""Below this share of the first wave's participants at a later wave the change estimates
rest on completers, worth a reviewer's question."""

MIN_CHANGE_N = 30


def responsiveness(data: StudyData, instrument: InstrumentData) -> dict[str, Any]:
    """Trajectories, change from the first wave and attrition (see the module docstring)."""
    waves = waves_with_sessions(data, instrument)
    unavailable = fewer_than_two_waves(data, waves, "responsiveness")
    if unavailable is not None:
        return unavailable
    definition = instrument.definition
    wide = {code: instrument.scores[code].unstack("wave") for code in instrument.scores.columns}
    construct_of = {sub.code: c.code for c in definition.constructs for sub in c.subconstructs}
    constructs = [
        _score("construct", c.code, c.name, None, wide[c.code], waves)
        for c in definition.constructs
    ]
    subconstructs = [
        _score("subconstruct", s.code, s.name, construct_of[s.code], wide[s.code], waves)
        for s in definition.subconstructs
    ]
    attrition = _attrition(instrument.scores.index, waves)
    warnings = [
        f"Only {row['share_of_first']:.0%} of the participants at {waves[0]} have a session "
        f"at {row['wave']}: change from {waves[0]} rests on those who stayed; if dropout "
        "relates to the scores (see criterion validity) the change is biased."
        for row in attrition[1:]
        if row["share_of_first"] is not None and row["share_of_first"] < RETENTION_WARNING
    ]
    small = sorted(
        {
            change["wave"]
            for entry in constructs
            for change in entry["change"]
            if change["n"] < MIN_CHANGE_N
        }
    )
    warnings += [
        f"Fewer than {MIN_CHANGE_N} participants have construct scores at both {waves[0]} and "
        f"{wave}: the change estimates are imprecise."
        for wave in small
    ]
    return {
        "available": True,
        "waves": waves,
        "first_wave": waves[0],
        "ci_level": CI_LEVEL,
        "attrition": attrition,
        "constructs": constructs,
        "subconstructs": subconstructs,
        "notes": _notes(data, waves[0]),
        "warnings": warnings,
    }


def _notes(data: StudyData, first: str) -> list[str]:
    excluded = (
        "excluded sessions included (as asked)"
        if data.include_excluded
        else f"{data.excluded_left_out} excluded sessions left out"
    )
    return [
        "Trajectories: every session with the score at the wave, complete or not "
        f"({excluded}); mean with the t interval ({CI_LEVEL:.0%}), SD with n - 1.",
        f"Change from {first}: participants with the score at {first} and at the later "
        "wave; mean change with its t interval and the paired t-test; SRM = mean change / "
        f"SD of change; Cohen's d = mean change / SD at {first} of the same participants "
        "(Husted et al. 2000).",
        "The rows at a wave are not independent of the rows at another (the same "
        "participants), so the trajectories' intervals are not for comparing waves; the "
        "change statistics are.",
        "Attrition: participants with a session at each wave, as a share of the participants "
        f"with a session at any wave (share) and of those at {first} (share_of_first).",
        "COSMIN judges responsiveness against hypotheses about the expected change or an "
        "anchor; the effect sizes here are not a rating on their own.",
    ]


def _attrition(index: pd.MultiIndex, waves: list[str]) -> list[dict[str, Any]]:
    participants = index.get_level_values("participant")
    at = index.get_level_values("wave")
    total = participants.nunique()
    first = set(participants[at == waves[0]])
    rows = []
    for wave in waves:
        present = set(participants[at == wave])
        rows.append(
            {
                "wave": wave,
                "participants": len(present),
                "share": json_number(len(present) / total) if total else None,
                "share_of_first": json_number(len(present & first) / len(first)) if first else None,
            }
        )
    return rows


def _score(
    level: str,
    code: str,
    name: str,
    construct: str | None,
    wide: pd.DataFrame,
    waves: list[str],
) -> dict[str, Any]:
    entry: dict[str, Any] = {"level": level, "code": code, "name": name}
    if construct is not None:
        entry["construct"] = construct
    columns = {
        wave: wide[wave] if wave in wide.columns else pd.Series(dtype=float) for wave in waves
    }
    entry["waves"] = [_describe(wave, columns[wave]) for wave in waves]
    first = columns[waves[0]]
    entry["change"] = [_change(wave, waves[0], first, columns[wave]) for wave in waves[1:]]
    return entry


def _mean_interval(values: np.ndarray) -> tuple[float, float, float, float]:
    """Mean, SD and the t interval of the mean (NaN where undefined)."""
    n = values.size
    mean = values.mean() if n else math.nan
    sd = values.std(ddof=1) if n > 1 else math.nan
    if n > 1:
        half = stats.t.ppf(1 - (1 - CI_LEVEL) / 2, n - 1) * sd / math.sqrt(n)
        return mean, sd, mean - half, mean + half
    return mean, sd, math.nan, math.nan


def _describe(wave: str, column: pd.Series) -> dict[str, Any]:
    values = column.dropna().to_numpy(dtype=float)
    mean, sd, lower, upper = _mean_interval(values)
    return {
        "wave": wave,
        "n": int(values.size),
        "mean": json_number(mean),
        "sd": json_number(sd),
        "ci": {"lower": json_number(lower), "upper": json_number(upper), "level": CI_LEVEL},
    }


def _change(wave: str, first_wave: str, first: pd.Series, later: pd.Series) -> dict[str, Any]:
    pair = pd.concat([first, later], axis=1, join="inner").dropna()
    before = pair.iloc[:, 0].to_numpy(dtype=float)
    change = pair.iloc[:, 1].to_numpy(dtype=float) - before
    n = int(change.size)
    mean, sd, lower, upper = _mean_interval(change)
    sd_first = before.std(ddof=1) if n > 1 else math.nan
    t = p = math.nan
    if n > 1 and sd > 0:
        t = mean / (sd / math.sqrt(n))
        p = 2 * stats.t.sf(abs(t), n - 1)
    return {
        "wave": wave,
        "from": first_wave,
        "n": n,
        "mean_from": json_number(before.mean() if n else math.nan),
        "mean_change": json_number(mean),
        "ci": {"lower": json_number(lower), "upper": json_number(upper), "level": CI_LEVEL},
        "sd_change": json_number(sd),
        "t": json_number(t),
        "df": n - 1 if n > 1 else None,
        "p": json_number(p),
        "sd_first": json_number(sd_first),
        "srm": json_number(mean / sd) if n > 1 and sd > 0 else None,
        "cohens_d": json_number(mean / sd_first) if n > 1 and sd_first > 0 else None,
    }
