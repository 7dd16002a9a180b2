"""Hand-made studies over several waves, with outcomes, for the test-retest, responsiveness
and criterion section tests (no database; one-wave sections use small_study.py).

:func:`tiny_definition` is an instrument of two constructs on a 1..5 scale: ``A`` with
subconstructs ``A_X`` and ``A_Y`` (``A_Y`` reverse: its high pole is ``A``'s low pole; its
item ``A_Y_2`` reverse-worded) and ``B`` with the single subconstruct ``B_X``.
:func:`study` wraps raw answers (indexed by participant and wave) in the same
:class:`StudyData` / :class:`InstrumentData` objects :func:`load_study_data` returns, the
keyed frame and scores from :mod:`instruments.scoring`, as the real loader computes them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from instruments.definition import (
    Construct,
    InstrumentDefinition,
    Item,
    ResponseOption,
    ResponseScale,
    Subconstruct,
)
from instruments.scoring import reverse_keyed, score_frame
from survey.services.validation.data import INDEX_NAMES, InstrumentData, StudyData

SCALE = ResponseScale("agree5", tuple(ResponseOption(v, str(v)) for v in range(1, 6)))
LAYOUT = {"A": {"A_X": False, "A_Y": True}, "B": {"B_X": False}}
REVERSE_ITEMS = {"A_Y_2"}


def tiny_definition() -> InstrumentDefinition:
    constructs = []
    for code, subs in LAYOUT.items():
        subconstructs = tuple(
            Subconstruct(
                code=sub,
                name=f"{sub} facet",
                description="",
                items=tuple(
                    Item(
                        id=f"{sub}_{i}",
                        text=f"{sub} {i}",
                        reverse=f"{sub}_{i}" in REVERSE_ITEMS,
                        scale=SCALE.key,
                        subconstruct=sub,
                        construct=code,
                    )
                    for i in (1, 2, 3)
                ),
                reverse=reverse,
            )
            for sub, reverse in subs.items()
        )
        constructs.append(
            Construct(
                code=code,
                name=f"Construct {code}",
                domain="test",
                description="",
                subconstructs=subconstructs,
            )
        )
    return InstrumentDefinition(
        key="tiny",
        version="1.0.0",
        title="Tiny",
        intro="",
        citation="",
        shuffle_items=False,
        response_scales=(SCALE,),
        constructs=tuple(constructs),
    )


DEFINITION = tiny_definition()
ITEMS = [item.id for item in DEFINITION.items]


def answers(
    participants: int, waves: list[str], *, seed: int, stability: float = 0.8, shift: float = 0.0
) -> pd.DataFrame:
    """Raw answers of every participant at every wave: one latent trait per construct, AR(1)
    over the waves with ``stability`` and a mean ``shift`` per wave, three items per
    subconstruct rounded onto 1..5 (reverse-worded and reverse subconstruct items mirrored)."""
    rng = np.random.default_rng(seed)
    trait = rng.standard_normal((participants, 2))
    rows, index = [], []
    for w, wave in enumerate(waves):
        if w:
            trait = stability * trait + np.sqrt(1 - stability**2) * rng.standard_normal(trait.shape)
        for p in range(participants):
            values = []
            for c, (_code, subs) in enumerate(LAYOUT.items()):
                for sub, reverse in subs.items():
                    for i in (1, 2, 3):
                        z = 0.8 * (trait[p, c] + w * shift) + 0.6 * rng.standard_normal()
                        mirrored = reverse != (f"{sub}_{i}" in REVERSE_ITEMS)
                        values.append(float(np.clip(np.rint(3 + (-z if mirrored else z)), 1, 5)))
            rows.append(values)
            index.append((f"P{p + 1:06d}", wave))
    return pd.DataFrame(
        rows, index=pd.MultiIndex.from_tuples(index, names=INDEX_NAMES), columns=ITEMS
    )


def study(
    raw: pd.DataFrame,
    waves: list[str] | tuple[str, ...],
    *,
    wave: str | None = None,
    outcomes: pd.DataFrame | None = None,
    outcome_columns: tuple[tuple[str, str], ...] = (),
    excluded: int = 0,
) -> tuple[StudyData, InstrumentData]:
    """``raw`` as a study's analysed rows (see the module docstring)."""
    participants = raw.index.get_level_values("participant")
    position = {key: n for n, key in enumerate(waves)}
    rows = pd.DataFrame(
        {
            "participant_id": [int(code[1:]) for code in participants],
            "wave_position": [position[w] for w in raw.index.get_level_values("wave")],
            "complete": raw.notna().all(axis=1).to_numpy(),
            "simulated": False,
        },
        index=raw.index,
    )
    instrument = InstrumentData(
        version=None,  # type: ignore[arg-type]  # the sections never read it
        definition=DEFINITION,
        raw=raw,
        keyed=reverse_keyed(DEFINITION, raw).astype("float64"),
        scores=score_frame(DEFINITION, raw),
    )
    data = StudyData(
        study_id=1,
        slug="tiny",
        wave=wave,
        include_excluded=False,
        waves=tuple(waves),
        sessions_total=len(raw) + excluded,
        sessions_excluded=excluded,
        rows=rows,
        instruments=(instrument,),
        rows_hash="",
        outcomes=outcomes,
        outcome_version=None if outcomes is None else 1,
        outcome_columns=outcome_columns,
    )
    return data, instrument


def outcome_frame(records: list[tuple[str, str | None, dict[str, float]]]) -> pd.DataFrame:
    """An outcomes frame as :meth:`OutcomeTable.frame` gives it, from (participant code,
    wave key or None, {column: value}) records."""
    columns = sorted({name for _, _, values in records for name in values})
    data = {
        "participant_id": [int(code[1:]) for code, _, _ in records],
        "participant": [code for code, _, _ in records],
        "wave_id": pd.array([None if w is None else 1 for _, w, _ in records], dtype="Int64"),
        "wave": pd.array([w for _, w, _ in records], dtype="string"),
    }
    for name in columns:
        data[name] = pd.array(
            [values.get(name, np.nan) for _, _, values in records], dtype="float64"
        )
    return pd.DataFrame(data)
