"""The variables of a study's wide table: names, labels, value labels and where each comes from.

One :class:`Variable` per column of the wide exports (CSV, ``.sav``, ``.dta``, ``.rds``) in
their order, which is also the order of the codebook:

1. the fixed columns: ``participant`` (code), ``wave`` (key), ``excluded``,
   ``exclusion_reason``, ``simulated``, ``started_at``, ``completed_at`` and ``battery``
   (each instrument version and its content hash, the same on every row);
2. the items and attention checks of the battery, in battery and page order, named as
   :func:`survey.services.study_data.battery_columns` names them;
3. per instrument version, its subconstruct scores, then its construct scores
   (:func:`instruments.scoring.score_frame`), named by their codes (``OE_BEN``), prefixed
   with the instrument key like the items when the battery has several instruments;
4. the data-quality indices and flags of :class:`survey.services.data_quality.QualityAssessor`
   (every flag column's name contains ``flag``).

**Missing values.** An item shown on a submitted page and left empty is *not answered*:
code :data:`NOT_ANSWERED` (-9) in SPSS, declared user-missing, and extended missing ``.a``
in Stata, each labelled "not answered"; an item never reached (its page not submitted) is
system missing (SPSS sysmis, Stata ``.``). CSV and R have one missing value (empty, ``NA``)
for both. A score that cannot be computed (too few items answered,
:mod:`instruments.scoring` rules 2 and 4) and a flag whose index cannot be computed are
system missing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from instruments.definition import AttentionCheck, InstrumentDefinition, ResponseScale
from survey.models import InstrumentVersion, Study
from survey.services.data_quality import QualityRules
from survey.services.exports.naming import SafeNames
from survey.services.instruments import definition_of
from survey.services.study_data import Column

__all__ = [
    "NOT_ANSWERED",
    "NOT_ANSWERED_LABEL",
    "STATA_NOT_ANSWERED",
    "STRING",
    "NUMBER",
    "DATETIME",
    "Layout",
    "Variable",
    "battery_text",
    "build_layout",
]

STRING, NUMBER, DATETIME = "string", "number", "datetime"

NOT_ANSWERED = -9
"""SPSS code of an item left empty on a submitted page (declared user-missing)."""
STATA_NOT_ANSWERED = "a"
"""Stata's extended missing value ``.a`` for the same."""
NOT_ANSWERED_LABEL = "not answered"

NO_YES = {0: "No", 1: "Yes"}

REASON_WIDTH = 200
"""Bytes of ``exclusion_reason`` in .sav/.dta (a fixed string width; longer reasons are cut
there, with "..." at the end; the CSV and the database keep them whole)."""


@dataclass(frozen=True)
class Variable:
    """One column of the wide table.

    ``name`` is the CSV (and R) name, ``safe_name`` the .sav/.dta name
    (:mod:`survey.services.exports.naming`); ``label`` the full variable label (SPSS cuts
    it at 256 bytes, Stata at 80 characters; the codebook keeps it whole). ``kind`` is
    one of fixed, item, attention_check, subconstruct, construct, quality_index,
    quality_flag. ``width`` is a string column's fixed width in bytes in .sav/.dta.
    """

    name: str
    safe_name: str
    kind: str
    label: str
    storage: str = NUMBER
    value_labels: dict[int, str] | None = None
    width: int = 0
    decimals: int = 0
    not_answered: bool = False  # items: has the "not answered" code
    instrument: str | None = None
    version: str | None = None
    content_hash: str | None = None
    construct: str | None = None
    subconstruct: str | None = None
    reverse: bool | None = None
    scale: ResponseScale | None = None
    expected: int | None = None
    column: Column | None = None
    version_id: int | None = None
    source: str | None = None  # scores: the code in score_frame's output; quality: its key


@dataclass(frozen=True)
class Layout:
    """The variables of a study's wide table, in column order, and what they came from."""

    variables: tuple[Variable, ...]
    versions: tuple[InstrumentVersion, ...]
    definitions: tuple[InstrumentDefinition, ...]
    rules: QualityRules
    battery: str = ""

    @property
    def names(self) -> list[str]:
        return [variable.name for variable in self.variables]

    def of_kind(self, *kinds: str) -> list[Variable]:
        return [variable for variable in self.variables if variable.kind in kinds]


def battery_text(versions: Sequence[InstrumentVersion]) -> str:
    """The ``battery`` column: ``<key> <version> sha256:<content hash>`` per instrument,
    joined with ``; ``."""
    return "; ".join(
        f"{version.instrument.key} {version.version} sha256:{version.content_hash}"
        for version in versions
    )


def _fixed(battery: str) -> list[tuple[str, str, str, dict[int, str] | None, int]]:
    """(name, label, storage, value labels, width) of the fixed columns."""
    return [
        ("participant", "Participant code (pseudonymous: P and the participant number)", STRING,
         None, 16),
        ("wave", "Wave key", STRING, None, 64),
        ("excluded", "Session excluded from analyses (an exclusion in force, or withdrawn "
         "under the study's exclude policy)", NUMBER, NO_YES, 0),
        ("exclusion_reason", "Why the session is excluded", STRING, None, REASON_WIDTH),
        ("simulated", "Simulated participant (made by flask demo simulate, not a person)",
         NUMBER, NO_YES, 0),
        ("started_at", "Session started (UTC)", DATETIME, None, 0),
        ("completed_at", "Session completed (UTC); empty: not completed", DATETIME, None, 0),
        ("battery", "Instrument versions and content hashes (SHA-256) of the battery",
         STRING, None, max(1, len(battery.encode("utf-8")))),
    ]  # fmt: skip


# Labels of the data-quality indices (survey.services.data_quality; formulas in
# psychometrics.careless). A column not listed here is labelled by its name.
INDEX_LABELS = {
    "longstring": "Longest run of identical answers, in the order shown",
    "irv": "Intra-individual response variability (SD of the scored items)",
    "mahalanobis_d2": "Mahalanobis D squared from the sample mean of the scored items",
    "mahalanobis_p": "Upper-tail chi-square p of the Mahalanobis D squared",
    "mahalanobis_cutoff": "Chi-square quantile the Mahalanobis D squared is compared with",
    "even_odd": "Even-odd consistency (Johnson 2005)",
    "psychsyn": "Psychometric synonyms: within-person correlation of item pairs r > .60",
    "psychant": "Psychometric antonyms: within-person correlation of item pairs r < -.60",
    "seconds_per_item": "Seconds per item on the submitted pages",
    "attention_failed": "Attention checks failed",
    "attention_answered": "Attention checks answered",
}


def _scale_labels(scale: ResponseScale) -> dict[int, str]:
    return {option.value: option.label for option in scale.options}


def _item_variable(column: Column, version: InstrumentVersion, definition, names) -> Variable:
    entry = column.entry
    scale = definition.scale(entry.scale)
    common = {
        "name": column.name,
        "safe_name": names.add(column.name),
        "value_labels": _scale_labels(scale),
        "not_answered": True,
        "instrument": version.instrument.key,
        "version": version.version,
        "content_hash": version.content_hash,
        "scale": scale,
        "column": column,
        "version_id": version.id,
    }
    if isinstance(entry, AttentionCheck):
        expected = dict(_scale_labels(scale)).get(entry.expected, "")
        return Variable(
            kind="attention_check",
            label=f"Attention check (expected {entry.expected} {expected!r}): {entry.text}",
            construct=entry.page,
            expected=entry.expected,
            **common,
        )
    return Variable(
        kind="item",
        label=entry.text,
        construct=entry.construct,
        subconstruct=entry.subconstruct,
        reverse=entry.reverse,
        **common,
    )


def _score_variables(
    version: InstrumentVersion, definition: InstrumentDefinition, prefixed: bool, names
) -> list[Variable]:
    prefix = f"{version.instrument.key}." if prefixed else ""
    common = {
        "decimals": 3,
        "instrument": version.instrument.key,
        "version": version.version,
        "content_hash": version.content_hash,
        "version_id": version.id,
    }
    variables = []
    for sub in definition.subconstructs:
        items = ", ".join(
            f"{item.id} (reversed)" if item.reverse else item.id for item in sub.items
        )
        name = prefix + sub.code
        variables.append(
            Variable(
                name=name,
                safe_name=names.add(name),
                kind="subconstruct",
                label=f"Mean of {items}: {sub.name}",
                construct=sub.items[0].construct if sub.items else None,
                subconstruct=sub.code,
                reverse=sub.reverse,
                scale=definition.scale(sub.items[0].scale) if sub.items else None,
                source=sub.code,
                **common,
            )
        )
    for construct in definition.constructs:
        parts = ", ".join(
            f"{sub.code} (reflected)" if sub.reverse else sub.code
            for sub in construct.subconstructs
        )
        name = prefix + construct.code
        variables.append(
            Variable(
                name=name,
                safe_name=names.add(name),
                kind="construct",
                label=f"Mean of {parts}: {construct.name}",
                construct=construct.code,
                source=construct.code,
                **common,
            )
        )
    return variables


def _quality_variables(columns: Sequence[str], rules: QualityRules, names) -> list[Variable]:
    flag_words = {
        text.flag: f"{text.title}: {text.words}" + ("" if text.on else " (rule off)")
        for text in rules.describe()
    }
    variables = []
    for name in columns:
        if "flag" in name:
            label = flag_words.get(name, "Any data-quality rule flagged the session")
            variables.append(
                Variable(
                    name=name,
                    safe_name=names.add(name),
                    kind="quality_flag",
                    label=label,
                    value_labels=NO_YES,
                    source=name,
                )
            )
        else:
            variables.append(
                Variable(
                    name=name,
                    safe_name=names.add(name),
                    kind="quality_index",
                    label=INDEX_LABELS.get(name, name.replace("_", " ")),
                    decimals=3,
                    source=name,
                )
            )
    return variables


def build_layout(
    study: Study, columns: Sequence[Column], quality_columns: Sequence[str], rules: QualityRules
) -> Layout:
    """The variables of ``study``'s wide table: fixed, items (``columns`` from
    :func:`~survey.services.study_data.battery_columns`), scores, then ``quality_columns``."""
    versions = tuple(study.instrument_versions)
    definitions = tuple(definition_of(version) for version in versions)
    by_id = {
        version.id: (version, definition)
        for version, definition in zip(versions, definitions, strict=True)
    }
    names = SafeNames()
    battery = battery_text(versions)
    variables = [
        Variable(
            name=name,
            safe_name=names.add(name),
            kind="fixed",
            label=label,
            storage=storage,
            value_labels=value_labels,
            width=width,
        )
        for name, label, storage, value_labels, width in _fixed(battery)
    ]
    for column in columns:
        version, definition = by_id[column.version_id]
        variables.append(_item_variable(column, version, definition, names))
    for version, definition in zip(versions, definitions, strict=True):
        variables.extend(_score_variables(version, definition, len(versions) > 1, names))
    variables.extend(_quality_variables(quality_columns, rules, names))
    return Layout(
        variables=tuple(variables),
        versions=versions,
        definitions=definitions,
        rules=rules,
        battery=battery,
    )
