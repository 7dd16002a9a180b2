"""Hand-made StudyData for the section tests: a tiny instrument and frames built in the test.

The instrument has one construct ``AB`` on a 1..5 scale with two subconstructs of three
items, ``A`` (item ``A_3`` reverse-keyed) and ``B`` (reverse-oriented within ``AB``, item
``B_2`` reverse-keyed). :func:`study_data` wraps answers given per (participant, wave) into
the :class:`~survey.services.validation.data.StudyData` the sections take, with the keyed
items and scores computed by :mod:`instruments.scoring` as :func:`load_study_data` does.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from instruments.definition import InstrumentDefinition
from instruments.loader import load_instrument_text
from instruments.scoring import reverse_keyed, score_frame
from survey.services.validation.data import INDEX_NAMES, InstrumentData, StudyData

TINY = """\
format: 1
key: tiny
version: 1.0.0
title: Tiny test instrument
citation: Test fixture, not a measure.
intro: Test.
shuffle_items: false
response_scales:
  agree5:
    - {value: 1, label: Strongly disagree}
    - {value: 2, label: Disagree}
    - {value: 3, label: Neither}
    - {value: 4, label: Agree}
    - {value: 5, label: Strongly agree}
constructs:
  - code: AB
    name: A and B
    domain: test
    description: Test construct.
    subconstructs:
      - code: A
        name: Facet A
        description: Facet A.
        reverse: false
        items:
          - {id: A_1, text: "A one.", reverse: false, scale: agree5}
          - {id: A_2, text: "A two.", reverse: false, scale: agree5}
          - {id: A_3, text: "A three.", reverse: true, scale: agree5}
      - code: B
        name: Facet B
        description: Facet B, its high pole the construct's low pole.
        reverse: true
        items:
          - {id: B_1, text: "B one.", reverse: false, scale: agree5}
          - {id: B_2, text: "B two.", reverse: true, scale: agree5}
          - {id: B_3, text: "B three.", reverse: false, scale: agree5}
"""

ITEMS = ("A_1", "A_2", "A_3", "B_1", "B_2", "B_3")


def tiny_definition() -> InstrumentDefinition:
    return load_instrument_text(TINY, "tiny.yaml")


def study_data(
    raw: pd.DataFrame,
    *,
    waves: Sequence[str] = ("baseline",),
    wave: str | None = None,
    definition: InstrumentDefinition | None = None,
) -> StudyData:
    """StudyData of answers ``raw`` (columns item ids, index (participant, wave))."""
    definition = definition or tiny_definition()
    raw = raw.astype("float64")
    instrument = InstrumentData(
        version=None,  # type: ignore[arg-type]  # the sections never read it
        definition=definition,
        raw=raw,
        keyed=reverse_keyed(definition, raw).astype("float64"),
        scores=score_frame(definition, raw),
    )
    rows = pd.DataFrame(
        {
            "participant_id": range(1, len(raw) + 1),
            "wave_position": [list(waves).index(w) for w in raw.index.get_level_values("wave")],
            "complete": raw.notna().all(axis=1).to_numpy(),
            "simulated": False,
        },
        index=raw.index,
    )
    return StudyData(
        study_id=1,
        slug="tiny",
        wave=wave,
        include_excluded=False,
        waves=tuple(waves),
        sessions_total=len(raw),
        sessions_excluded=0,
        rows=rows,
        instruments=(instrument,),
        rows_hash="",
    )


def answers(values: dict[str, Sequence[float]], wave: str = "baseline") -> pd.DataFrame:
    """A raw frame from columns of answers (NaN for no answer), participants P1, P2, ..."""
    n = len(next(iter(values.values())))
    index = pd.MultiIndex.from_tuples([(f"P{i + 1}", wave) for i in range(n)], names=INDEX_NAMES)
    return pd.DataFrame({item: values[item] for item in ITEMS}, index=index, dtype="float64")


def simulated_answers(n: int, *, seed: int, loading: float = 0.75, wave: str = "baseline"):
    """Raw 1..5 answers of ``n`` people from a two-factor model (A and B correlating -0.4 in
    the keyed direction of their items), cut at fixed thresholds."""
    rng = np.random.default_rng(seed)
    factors = rng.multivariate_normal([0, 0], [[1, -0.4], [-0.4, 1]], size=n)
    columns = {}
    for position, item in enumerate(ITEMS):
        factor = factors[:, 0 if item.startswith("A") else 1]
        z = loading * factor + np.sqrt(1 - loading**2) * rng.standard_normal(n)
        if item in ("A_3", "B_2"):  # reverse-keyed: worded toward the low pole
            z = -z
        columns[item] = 1.0 + np.searchsorted([-1.5, -0.5, 0.5, 1.5], z + 0.1 * position)
    return answers(columns, wave=wave)
