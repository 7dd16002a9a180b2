"""Test-retest reliability and measurement error of a validation run (COSMIN).

For each pair of adjacent waves with sessions (baseline -> week 4, week 4 -> week 8, ...)
and each construct and subconstruct score (:attr:`InstrumentData.scores`), over the
participants with both scores:

- **ICC(A,1)**: two-way random effects, absolute agreement, single measure (Shrout & Fleiss
  1979 ICC(2,1); McGraw & Wong 1996 ICC(A,1)) with its 95 % interval, from
  :func:`psychometrics.reliability.intraclass_corr` (``psych::ICC``'s ``ICC2`` row); the
  consistency form ICC(C,1) (``ICC3``) beside it, which ignores a shift in the mean;
- **measurement error** (de Vet et al. 2006): :math:`SEM = SD_{pooled}\\sqrt{1 - ICC}` with
  :math:`SD_{pooled} = \\sqrt{(s^2_{from} + s^2_{to}) / 2}` over the same participants, the
  smallest detectable change of an individual :math:`SDC = 1.96 \\sqrt 2\\, SEM` and of a
  group's mean :math:`SDC / \\sqrt n`;
- the **COSMIN rating**: sufficient when ICC >= 0.70, else insufficient (Prinsen et al. 2018,
  after Terwee et al. 2007); indeterminate when no ICC could be computed;
- the ICC **corrected for attenuation** (Spearman 1904): :math:`ICC / \\sqrt{r_{from}
  r_{to}}` with :math:`r` the score's reliability at each wave on the same participants,
  Cronbach's alpha of its items for a subconstruct score and stratified alpha (Cronbach,
  Schönemann & McKie 1965) over its subconstructs for a construct score:
  :math:`1 - \\sum_s s^2_s (1 - \\alpha_s) / s^2_X`, :math:`X` the sum of the (reflected)
  subconstruct scores. It estimates the stability of the true score, which is what a
  simulation's stability parameter is; it is not a COSMIN quantity.

The waves of a therapy study are treatment time points, so real change between waves
lowers agreement: these are stability coefficients over the wave interval, a lower bound of
the retest reliability a stable interval of one or two weeks would show.

References: Shrout & Fleiss (1979), doi:10.1037/0033-2909.86.2.420; McGraw & Wong (1996),
doi:10.1037/1082-989X.1.1.30; de Vet, Terwee, Knol & Bouter (2006), *J Clin Epidemiol* 59,
1033-1039, doi:10.1016/j.jclinepi.2005.10.015; Prinsen et al. (2018), *Qual Life Res* 27,
1147-1157, doi:10.1007/s11136-018-1798-3; Cronbach, Schönemann & McKie (1965),
doi:10.1177/001316446502500201.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from instruments.definition import Construct, Subconstruct
from psychometrics.reliability import cronbach_alpha, intraclass_corr
from survey.services.validation.data import InstrumentData, StudyData
from survey.services.validation.items import json_number, rows_at_wave

__all__ = [
    "ICC_SUFFICIENT",
    "MIN_ADEQUATE_N",
    "fewer_than_two_waves",
    "test_retest",
    "waves_with_sessions",
]

ICC_SUFFICIENT = 0.70
"""COSMIN's criterion for sufficient reliability (Prinsen et al. 2018, table 1)."""

MIN_ADEQUATE_N = 50
"""Below this many participants COSMIN's risk-of-bias checklist calls a reliability study's
sample doubtful (30-49) or inadequate (< 30) (Mokkink et al. 2018)."""

CI_LEVEL = 0.95
Z_SDC = 1.96  # de Vet et al. (2006): SDC = 1.96 * sqrt(2) * SEM

REFERENCE = "Prinsen et al. 2018, Qual Life Res 27:1147, doi:10.1007/s11136-018-1798-3"


def waves_with_sessions(data: StudyData, instrument: InstrumentData) -> list[str]:
    """The waves of ``data.waves`` (study order) with at least one analysed session."""
    present = set(instrument.scores.index.get_level_values("wave"))
    return [wave for wave in data.waves if wave in present]


def fewer_than_two_waves(data: StudyData, waves: list[str], what: str) -> dict[str, Any] | None:
    """The section of a longitudinal analysis ``what`` when ``waves`` (those with sessions)
    are fewer than two: ``available`` false and the reason; else None."""
    if len(waves) >= 2:
        return None
    reason = (
        f"the run is restricted to wave {data.wave!r}"
        if data.wave is not None
        else f"{what} needs two waves with sessions; this study has {len(waves)}"
    )
    return {
        "available": False,
        "reason": reason,
        "waves": waves,
        "notes": [f"{what[0].upper()}{what[1:]} not computed: {reason}."],
        "warnings": [],
    }


def test_retest(data: StudyData, instrument: InstrumentData) -> dict[str, Any]:
    """ICC(A,1), SEM and SDC between adjacent waves (see the module docstring)."""
    waves = waves_with_sessions(data, instrument)
    unavailable = fewer_than_two_waves(data, waves, "test-retest reliability and measurement error")
    if unavailable is not None:
        return unavailable
    definition = instrument.definition
    pairs = [
        _pair(instrument, first, second, definition.constructs, definition.subconstructs)
        for first, second in zip(waves, waves[1:], strict=False)
    ]
    warnings = [
        f"{pair['from']} -> {pair['to']}: {entry['level']} {entry['code']} has "
        f"{entry['n']} participants with both scores, fewer than {MIN_ADEQUATE_N} "
        "(COSMIN: doubtful or inadequate sample size for reliability)."
        for pair in pairs
        for entry in pair["constructs"] + pair["subconstructs"]
        if entry["n"] < MIN_ADEQUATE_N
    ]
    warnings += [
        f"{pair['from']} -> {pair['to']}: {entry['level']} {entry['code']}: {entry['error']}"
        for pair in pairs
        for entry in pair["constructs"] + pair["subconstructs"]
        if entry.get("error")
    ]
    return {
        "available": True,
        "waves": waves,
        "criterion": {
            "icc_sufficient": ICC_SUFFICIENT,
            "rule": f"ICC(A,1) >= {ICC_SUFFICIENT:.2f} sufficient, else insufficient",
            "measurement_error": "SDC below the minimal important change (no MIC known: "
            "indeterminate)",
            "reference": REFERENCE,
        },
        "pairs": pairs,
        "notes": _notes(data),
        "warnings": warnings,
    }


test_retest.__test__ = False  # a section, not a pytest test, wherever it is imported


def _notes(data: StudyData) -> list[str]:
    excluded = (
        "excluded sessions included (as asked)"
        if data.include_excluded
        else f"{data.excluded_left_out} excluded sessions left out"
    )
    return [
        "Each pair of adjacent waves with sessions is analysed over the participants with "
        f"both scores at the two waves ({excluded}); scores are the instrument's prorated "
        "subconstruct means and construct means of subconstructs.",
        "ICC(A,1): two-way random effects, absolute agreement, single measure (Shrout & "
        "Fleiss ICC(2,1), McGraw & Wong ICC(A,1)), as psych::ICC; 95 % interval after McGraw "
        "& Wong (1996). icc_consistency is ICC(C,1) (ICC3), which ignores a shift in the "
        "mean between the waves; mean_change is the mean of (to - from).",
        "The waves are treatment time points: real change between them (the aim of the "
        "therapy) lowers agreement, so these are stability coefficients over the wave "
        "interval rather than pure test-retest reliability over a stable period.",
        "Measurement error (de Vet et al. 2006): SEM = SD_pooled * sqrt(1 - ICC), SD_pooled = "
        "sqrt((s_from^2 + s_to^2) / 2) over the same participants; SDC = 1.96 * sqrt(2) * "
        "SEM for an individual, sdc_group = SDC / sqrt(n) for a group mean; on the score's "
        "own scale.",
        f"COSMIN rating per score: ICC >= {ICC_SUFFICIENT:.2f} sufficient, else insufficient "
        f"({REFERENCE}). Measurement error is rated against the minimal important change; "
        "none is known for this instrument, so it is indeterminate.",
        "icc_disattenuated = ICC / sqrt(r_from * r_to) (Spearman's correction), r = "
        "Cronbach's alpha of the subconstruct's items, or stratified alpha over the "
        "construct's subconstructs, at each wave on the same participants (items listwise): "
        "the stability of the true score, comparable with a simulation's stability; not a "
        "COSMIN quantity.",
    ]


def _pair(
    instrument: InstrumentData,
    first: str,
    second: str,
    constructs: tuple[Construct, ...],
    subconstructs: tuple[Subconstruct, ...],
) -> dict[str, Any]:
    scores = {wave: rows_at_wave(instrument.scores, wave) for wave in (first, second)}
    keyed = {wave: rows_at_wave(instrument.keyed, wave) for wave in (first, second)}

    def both(code: str) -> pd.DataFrame:
        frame = pd.concat([scores[first][code], scores[second][code]], axis=1, join="inner")
        frame.columns = ["from", "to"]
        return frame.dropna()

    construct_of = {sub.code: c.code for c in constructs for sub in c.subconstructs}
    subs = []
    for sub in subconstructs:
        pair = both(sub.code)
        reliability = [_alpha(keyed[wave], sub, pair.index) for wave in (first, second)]
        subs.append(
            _entry(
                "subconstruct",
                sub.code,
                sub.name,
                pair,
                reliability,
                "Cronbach's alpha",
                construct=construct_of[sub.code],
            )
        )
    cons = []
    for construct in constructs:
        pair = both(construct.code)
        reliability = [
            _stratified_alpha(scores[wave], keyed[wave], construct, pair.index)
            for wave in (first, second)
        ]
        cons.append(
            _entry(
                "construct", construct.code, construct.name, pair, reliability, "stratified alpha"
            )
        )
    return {"from": first, "to": second, "constructs": cons, "subconstructs": subs}


def _entry(
    level: str,
    code: str,
    name: str,
    pair: pd.DataFrame,
    reliability: list[float | None],
    reliability_method: str,
    *,
    construct: str | None = None,
) -> dict[str, Any]:
    n = len(pair)
    entry: dict[str, Any] = {"level": level, "code": code, "name": name}
    if construct is not None:
        entry["construct"] = construct
    entry["n"] = n
    try:
        result = intraclass_corr(pair, ci=CI_LEVEL)
    except ValueError as error:
        return {
            **entry,
            **dict.fromkeys(_NUMBERS),
            "ci": {"lower": None, "upper": None, "level": CI_LEVEL},
            "reliability": {"from": None, "to": None, "method": reliability_method},
            "rating": "indeterminate",
            "error": f"no ICC: {error}",
        }
    icc2 = result.table.loc["ICC2"]
    icc = float(icc2["icc"])
    sd_pooled = math.sqrt((pair["from"].var(ddof=1) + pair["to"].var(ddof=1)) / 2)
    sem = sd_pooled * math.sqrt(1 - icc) if icc <= 1 else math.nan
    sdc = Z_SDC * math.sqrt(2) * sem
    r_from, r_to = reliability
    corrected = (
        icc / math.sqrt(r_from * r_to)
        if r_from is not None and r_to is not None and r_from > 0 and r_to > 0
        else None
    )
    return {
        **entry,
        "icc": json_number(icc),
        "ci": {
            "lower": json_number(icc2["ci_lower"]),
            "upper": json_number(icc2["ci_upper"]),
            "level": CI_LEVEL,
        },
        "f": json_number(icc2["f"]),
        "df1": json_number(icc2["df1"]),
        "df2": json_number(icc2["df2"]),
        "p": json_number(icc2["p"]),
        "icc_consistency": json_number(result.table.loc["ICC3", "icc"]),
        "mean_from": json_number(pair["from"].mean()),
        "mean_to": json_number(pair["to"].mean()),
        "mean_change": json_number((pair["to"] - pair["from"]).mean()),
        "sd_pooled": json_number(sd_pooled),
        "sem": json_number(sem),
        "sdc": json_number(sdc),
        "sdc_group": json_number(sdc / math.sqrt(n)),
        "reliability": {
            "from": json_number(r_from),
            "to": json_number(r_to),
            "method": reliability_method,
        },
        "icc_disattenuated": json_number(corrected),
        "rating": "sufficient" if icc >= ICC_SUFFICIENT else "insufficient",
    }


_NUMBERS = (
    "icc",
    "f",
    "df1",
    "df2",
    "p",
    "icc_consistency",
    "mean_from",
    "mean_to",
    "mean_change",
    "sd_pooled",
    "sem",
    "sdc",
    "sdc_group",
    "icc_disattenuated",
)


def _alpha(keyed: pd.DataFrame, sub: Subconstruct, participants: pd.Index) -> float | None:
    """Cronbach's alpha of ``sub``'s keyed items over ``participants`` (items listwise)."""
    try:
        return cronbach_alpha(keyed.loc[participants, [item.id for item in sub.items]]).alpha
    except ValueError:  # one item, or fewer than three complete rows
        return None


def _stratified_alpha(
    scores: pd.DataFrame, keyed: pd.DataFrame, construct: Construct, participants: pd.Index
) -> float | None:
    """Stratified alpha of ``construct``'s score over ``participants``: its subconstructs'
    alphas and score variances against the variance of their (reflected) sum."""
    parts = scores.loc[participants, [sub.code for sub in construct.subconstructs]]
    alphas = [_alpha(keyed, sub, participants) for sub in construct.subconstructs]
    if any(a is None for a in alphas) or len(parts) < 3:
        return None
    signs = [-1.0 if sub.reverse else 1.0 for sub in construct.subconstructs]
    total = (parts * signs).sum(axis=1).var(ddof=1)
    if not total > 0:
        return None
    error = sum(
        parts[sub.code].var(ddof=1) * (1 - a)
        for sub, a in zip(construct.subconstructs, alphas, strict=True)
    )
    return float(1 - error / total)
