"""Data quality of a study's response sessions: the rules, the careless-response indices per
session, and the flags the rules raise.

**Rules.** :class:`QualityRules` holds a study's thresholds; each rule can be switched off.
The defaults (issue 9): longest run of identical answers >= 10, seconds per item < 2,
Mahalanobis D² above the chi-square 0.999 quantile, attention checks failed >= 1. They are
stored in ``studies.quality_rules`` as JSON (NULL means the defaults)::

    {"longstring": {"on": true, "at_least": 10},
     "fast": {"on": true, "below": 2.0},
     "mahalanobis": {"on": true, "quantile": 0.999},
     "attention": {"on": true, "at_least": 1}}

A key left out takes its default; :func:`set_rules` always stores all four.

**Indices** (:class:`QualityAssessor`), per session over the whole battery, computed by the
pure functions of :mod:`psychometrics.careless` (formulas and references there):

* ``longstring`` over every entry shown (items and attention checks) in the participant's
  presentation order: pages in battery order, each page's entries as
  :func:`survey.services.item_order.ordered_entries` shows them with the participant's
  item-order seed, so a shuffled page is unshuffled to what the participant saw;
* ``irv``, the intra-individual response variability over the scored items;
* ``mahalanobis_d2`` of the scored items from the sample mean and covariance of the complete
  sessions, its upper-tail ``mahalanobis_p`` and the ``mahalanobis_cutoff`` (chi-square
  quantile with as many degrees of freedom as the covariance has rank);
* ``even_odd`` consistency (Johnson 2005): reverse-keyed items grouped by subconstruct in
  instrument order;
* ``psychsyn`` and ``psychant``: within-person correlation over the item pairs whose sample
  correlation is above +0.60 (synonyms) or below -0.60 (antonyms);
* ``seconds_per_item`` over the submitted pages (submitted minus first shown, summed, divided
  by the entries on those pages);
* ``attention_failed`` of ``attention_answered`` attention checks.

The sample statistics (means, covariance, correlations) come from one streaming pass over
the sessions (:func:`survey.services.study_data.iter_sessions`), all of them, excluded ones
included, so excluding a session never moves another session's index. Memory is bounded by
the number of items: the pass keeps sums and cross-products, never the rows.

**Flags.** ``flag_longstring``, ``flag_fast``, ``flag_mahalanobis``, ``flag_attention`` and
``flag_any``: True or False, None where the index cannot be computed (no timings, an
incomplete session for Mahalanobis, no attention check answered) or the rule is off.
``flag_any`` is True when any rule's flag is, else False when at least one rule that is on
could tell (a session nobody can compute D² for is still checked by the other rules), None
when none could or every rule is off.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

import numpy as np

from instruments.definition import AttentionCheck, InstrumentDefinition, Page
from psychometrics import careless
from survey.models import AuditAction, ResponseSession, Study, User
from survey.services import audit
from survey.services.errors import SurveyError
from survey.services.instruments import definition_of
from survey.services.item_order import ordered_entries
from survey.services.study_data import SessionRecord, iter_sessions, wave_of


# -- rules -----------------------------------------------------------------------------------
class InvalidQualityRules(SurveyError):
    """Thresholds out of range; ``problems`` maps a :class:`QualityRules` field to its message."""

    def __init__(self, problems: Mapping[str, str]):
        self.problems = dict(problems)
        super().__init__("; ".join(f"{name}: {text}" for name, text in self.problems.items()))


# (rule, its JSON threshold key, the QualityRules threshold field)
_RULE_FIELDS = (
    ("longstring", "at_least", "longstring_at_least"),
    ("fast", "below", "fast_below"),
    ("mahalanobis", "quantile", "mahalanobis_quantile"),
    ("attention", "at_least", "attention_at_least"),
)
RULE_NAMES = tuple(rule for rule, _key, _field in _RULE_FIELDS)

LONGSTRING_RANGE = (2, 1000)
FAST_RANGE = (0.1, 60.0)
QUANTILE_RANGE = (0.5, 0.999999)
ATTENTION_RANGE = (1, 100)


@dataclass(frozen=True)
class QualityRules:
    """A study's data-quality thresholds; a rule whose ``*_on`` is False raises no flag.

    * longstring: flag when the longest run of identical answers is >= ``longstring_at_least``;
    * fast: flag when the seconds per item are < ``fast_below``;
    * mahalanobis: flag when D² is above the chi-square ``mahalanobis_quantile`` quantile;
    * attention: flag when attention checks failed are >= ``attention_at_least``.
    """

    longstring_on: bool = True
    longstring_at_least: int = 10
    fast_on: bool = True
    fast_below: float = 2.0
    mahalanobis_on: bool = True
    mahalanobis_quantile: float = 0.999
    attention_on: bool = True
    attention_at_least: int = 1

    def is_on(self, rule: str) -> bool:
        return bool(getattr(self, f"{rule}_on"))

    def problems(self) -> dict[str, str]:
        """What is out of range, by field name (empty when the rules are valid)."""
        problems: dict[str, str] = {}
        for name, low, high, integer in (
            ("longstring_at_least", *LONGSTRING_RANGE, True),
            ("fast_below", *FAST_RANGE, False),
            ("mahalanobis_quantile", *QUANTILE_RANGE, False),
            ("attention_at_least", *ATTENTION_RANGE, True),
        ):
            value = getattr(self, name)
            kind = "a whole number" if integer else "a number"
            if (
                isinstance(value, bool)
                or not isinstance(value, int | float)
                or (integer and not float(value).is_integer())
                or not math.isfinite(value)
                or not low <= value <= high
            ):
                problems[name] = f"Enter {kind} from {low:g} to {high:g}."
        for field in fields(self):
            if field.name.endswith("_on") and not isinstance(getattr(self, field.name), bool):
                problems[field.name] = "Say on or off."
        return problems

    def to_json(self) -> dict[str, dict[str, Any]]:
        """The JSON stored in ``studies.quality_rules`` (shape in the module docstring)."""
        return {
            rule: {"on": self.is_on(rule), key: getattr(self, field)}
            for rule, key, field in _RULE_FIELDS
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any] | None) -> QualityRules:
        """Rules from their stored JSON; None, and any key left out, take the defaults.
        Raises :class:`InvalidQualityRules` for an unknown key or a value out of range."""
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise InvalidQualityRules({"rules": "The stored rules are not a JSON object."})
        unknown = sorted(set(data) - set(RULE_NAMES))
        if unknown:
            raise InvalidQualityRules({"rules": f"Unknown rule(s): {', '.join(unknown)}."})
        changes: dict[str, Any] = {}
        for rule, key, field in _RULE_FIELDS:
            stored = data.get(rule, {})
            if not isinstance(stored, Mapping) or set(stored) - {"on", key}:
                raise InvalidQualityRules({rule: f'Expected {{"on": ..., "{key}": ...}}.'})
            if "on" in stored:
                changes[f"{rule}_on"] = stored["on"]
            if key in stored:
                changes[field] = stored[key]
        rules = replace(cls(), **changes)
        problems = rules.problems()
        if problems:
            raise InvalidQualityRules(problems)
        return rules

    def describe(self) -> list[RuleText]:
        """Each rule in words, as the data-quality page shows it."""
        return [
            RuleText(
                "longstring",
                "flag_longstring",
                "Straight-lining",
                f"longest run of identical answers ≥ {self.longstring_at_least}",
                self.longstring_on,
            ),
            RuleText(
                "fast",
                "flag_fast",
                "Too fast",
                f"seconds per item < {self.fast_below:g}",
                self.fast_on,
            ),
            RuleText(
                "mahalanobis",
                "flag_mahalanobis",
                "Unusual pattern",
                f"Mahalanobis D² above the chi-square {self.mahalanobis_quantile:g} quantile "
                "(degrees of freedom: the scored items)",
                self.mahalanobis_on,
            ),
            RuleText(
                "attention",
                "flag_attention",
                "Attention checks",
                f"attention checks failed ≥ {self.attention_at_least}",
                self.attention_on,
            ),
        ]


@dataclass(frozen=True)
class RuleText:
    """A rule as a page shows it: its name, flag column, title, threshold in words, state."""

    rule: str
    flag: str
    title: str
    words: str
    on: bool


DEFAULT_RULES = QualityRules()


def rules_of(study: Study) -> QualityRules:
    """The study's data-quality rules (the defaults while none are stored)."""
    return QualityRules.from_json(study.quality_rules)


def set_rules(study: Study, rules: QualityRules, *, actor: User | None) -> bool:
    """Store ``rules`` as the study's; audited QUALITY_RULES_CHANGED with before and after.

    Returns False (and stores and records nothing) when they equal the rules in force.
    Raises :class:`InvalidQualityRules` naming every field out of range.
    """
    problems = rules.problems()
    if problems:
        raise InvalidQualityRules(problems)
    before = rules_of(study)
    if rules == before:
        return False
    study.quality_rules = rules.to_json()
    audit.record(
        AuditAction.QUALITY_RULES_CHANGED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        hash_before=audit.content_hash(before.to_json()),
        hash_after=audit.content_hash(rules.to_json()),
        details={
            "before": before.to_json(),
            "after": rules.to_json(),
            "changed": [
                name for name, value in asdict(rules).items() if getattr(before, name) != value
            ],
        },
    )
    return True


# -- the battery as the indices see it -------------------------------------------------------
Key = tuple[int, str]  # (instrument version id, item or page key)


@dataclass(frozen=True)
class _BatteryPage:
    version_id: int
    definition: InstrumentDefinition
    page: Page


@dataclass(frozen=True)
class Battery:
    """What the indices need to know about a study's battery, worked out once.

    ``scored`` are the scored items in battery and instrument order; ``even_odd`` the same
    items grouped by subconstruct (instrument order) with ``even_odd_sizes`` items each;
    ``checks`` the attention checks and their expected answers; ``page_entries`` the number
    of entries (items and checks) on each page.
    """

    pages: tuple[_BatteryPage, ...]
    scored: tuple[Key, ...]
    reverse_keyed: tuple[bool, ...]
    scale_sums: tuple[int, ...]  # min + max of each scored item's scale
    even_odd_sizes: tuple[int, ...]
    checks: tuple[tuple[Key, int], ...]
    page_entries: dict[Key, int]
    entry_count: int

    @classmethod
    def of(cls, study: Study) -> Battery:
        pages, scored, reverse, sums, sizes, checks, entries = [], [], [], [], [], [], {}
        for version in study.instrument_versions:
            definition = definition_of(version)
            for page in definition.pages():
                pages.append(_BatteryPage(version.id, definition, page))
                entries[(version.id, page.key)] = len(page.entries)
            for sub in definition.subconstructs:
                sizes.append(len(sub.items))
                for item in sub.items:
                    scale = definition.scale(item.scale)
                    scored.append((version.id, item.id))
                    reverse.append(item.reverse)
                    sums.append(scale.minimum + scale.maximum)
            checks.extend(((version.id, c.id), c.expected) for c in definition.attention_checks)
        return cls(
            pages=tuple(pages),
            scored=tuple(scored),
            reverse_keyed=tuple(reverse),
            scale_sums=tuple(sums),
            even_odd_sizes=tuple(sizes),
            checks=tuple(checks),
            page_entries=entries,
            entry_count=sum(entries.values()),
        )

    @property
    def shuffled(self) -> bool:
        """Whether any instrument of the battery shuffles its items per participant."""
        return any(page.definition.shuffle_items for page in self.pages)

    def presentation_order(self, seed: int) -> list[Key]:
        """Every entry of the battery in the order a participant with item-order ``seed``
        saw them: pages in battery order, each page's entries in its display order."""
        if not self.shuffled:
            return self.file_order
        return [
            (page.version_id, entry.id)
            for page in self.pages
            for entry in ordered_entries(page.definition, page.page, seed)
        ]

    @functools.cached_property
    def file_order(self) -> list[Key]:
        """Every entry in battery and page order, as the files list them."""
        return [(page.version_id, entry.id) for page in self.pages for entry in page.page.entries]


def _value(values: Mapping[Key, int | None], key: Key) -> float:
    value = values.get(key)
    return math.nan if value is None else float(value)


def _scored_matrix(battery: Battery, records: list[SessionRecord]) -> np.ndarray:
    """Raw answers to the scored items, one row per record (NaN: not answered)."""
    return np.array(
        [[_value(record.values, key) for key in battery.scored] for record in records],
        dtype=float,
    ).reshape(len(records), len(battery.scored))


# -- the first pass: sample moments of the complete sessions ---------------------------------
class _Moments:
    """Count, mean and centred cross-products of complete rows, merged chunk by chunk
    (Chan, Golub & LeVeque 1983): memory p + p², whatever the number of rows."""

    def __init__(self, columns: int):
        self.n = 0
        self.mean = np.zeros(columns)
        self.m2 = np.zeros((columns, columns))

    def add(self, rows: np.ndarray) -> None:
        complete = rows[~np.isnan(rows).any(axis=1)]
        count = complete.shape[0]
        if count == 0:
            return
        chunk_mean = complete.mean(axis=0)
        centred = complete - chunk_mean
        delta = chunk_mean - self.mean
        total = self.n + count
        self.m2 += centred.T @ centred + np.outer(delta, delta) * (self.n * count / total)
        self.mean += delta * (count / total)
        self.n = total

    def covariance(self) -> np.ndarray | None:
        return self.m2 / (self.n - 1) if self.n > 1 else None


# -- the assessor ----------------------------------------------------------------------------
INDEX_COLUMNS = (
    "longstring",
    "irv",
    "mahalanobis_d2",
    "mahalanobis_p",
    "mahalanobis_cutoff",
    "even_odd",
    "psychsyn",
    "psychant",
    "seconds_per_item",
    "attention_failed",
    "attention_answered",
)
FLAG_COLUMNS = tuple(f"flag_{rule}" for rule in RULE_NAMES) + ("flag_any",)
# Item pairs whose sample correlation is beyond this are psychometric synonyms (above) or
# antonyms (below its negative): careless::psychsyn's default critical value.
PSYCHSYN_CRITICAL_R = 0.60


@dataclass(frozen=True)
class AssessedSession:
    """A session and its indices and flags (keys :attr:`QualityAssessor.columns`)."""

    record: SessionRecord
    quality: dict[str, object]

    @property
    def flagged(self) -> bool:
        return self.quality["flag_any"] is True


class QualityAssessor:
    """The data-quality indices and flags of a study's sessions under the study's rules.

    Make one with :meth:`for_study` (one streaming pass for the sample statistics), then
    :meth:`assess` chunks of :class:`SessionRecord` (from
    :func:`survey.services.study_data.iter_sessions`), or :meth:`assess_study` for the
    study's sessions with their records.
    """

    def __init__(
        self,
        study: Study,
        rules: QualityRules,
        battery: Battery,
        moments: _Moments,
        *,
        wave: str | None = None,
    ):
        self.study = study
        self.rules = rules
        self.battery = battery
        self.wave = wave
        self.reference_sessions = moments.n
        self.columns: tuple[str, ...] = INDEX_COLUMNS + FLAG_COLUMNS
        self._center = moments.mean
        self._covariance = moments.covariance()
        self.mahalanobis_df = len(battery.scored)
        self.mahalanobis_cutoff: float | None = None
        self._mahalanobis_problem: str | None = None
        self._check_mahalanobis()
        self._synonyms = self._pairs(moments, anto=False)
        self._antonyms = self._pairs(moments, anto=True)

    def _check_mahalanobis(self) -> None:
        """Whether D² can be computed against the reference sample; the cut-off if so."""
        p, n = self.mahalanobis_df, self.reference_sessions
        if p == 0:
            self._mahalanobis_problem = "The battery has no scored items."
            return
        if n <= p or self._covariance is None:
            self._mahalanobis_problem = (
                f"Mahalanobis D² needs more complete sessions than scored items: {n} "
                f"complete session{'' if n == 1 else 's'} for {p} items."
            )
            return
        try:
            empty = careless.mahalanobis(
                np.empty((0, p)),
                quantile=self.rules.mahalanobis_quantile,
                center=self._center,
                covariance=self._covariance,
            )
        except ValueError as error:
            self._mahalanobis_problem = f"Mahalanobis D² cannot be computed: {error}."
            return
        self.mahalanobis_cutoff = empty.cutoff

    def mahalanobis_note(self) -> str | None:
        """Why no session has a D², or the reference it is computed against."""
        if self._mahalanobis_problem:
            return self._mahalanobis_problem
        return (
            f"Mahalanobis D² of the {self.mahalanobis_df} scored items against the "
            f"{self.reference_sessions} complete sessions of the study; cut-off "
            f"{self.mahalanobis_cutoff:.1f}."
        )

    def psychsyn_note(self) -> str | None:
        """Why there are no synonym or antonym indices, when there are none."""
        missing = [
            kind
            for kind, pairs in (("synonyms", self._synonyms), ("antonyms", self._antonyms))
            if len(pairs) < 3
        ]
        if not missing:
            return None
        return (
            f"Psychometric {' and '.join(missing)} need at least three item pairs whose "
            f"correlation among the complete sessions is beyond ±{PSYCHSYN_CRITICAL_R:.2f}; "
            f"this study has {len(self._synonyms)} synonym and {len(self._antonyms)} antonym "
            "pair(s)."
        )

    def _pairs(self, moments: _Moments, *, anto: bool) -> np.ndarray:
        """Column pairs (i < j) of the scored items whose sample correlation among the
        complete sessions is above +0.60 (synonyms) or below -0.60 (antonyms)."""
        covariance = self._covariance
        if covariance is None or moments.n < 3:
            return np.empty((0, 2), dtype=int)
        sd = np.sqrt(np.diag(covariance))
        with np.errstate(invalid="ignore", divide="ignore"):
            correlation = covariance / np.outer(sd, sd)
        first, second = np.triu_indices(len(sd), k=1)
        r = correlation[first, second]
        with np.errstate(invalid="ignore"):
            keep = r < -PSYCHSYN_CRITICAL_R if anto else r > PSYCHSYN_CRITICAL_R
        return np.column_stack([first[keep], second[keep]])

    @classmethod
    def for_study(
        cls, study: Study, *, wave: str | None = None, chunk_size: int = 500
    ) -> QualityAssessor:
        """The assessor of ``study``: reads every session once for the means and covariance
        of the complete sessions' scored items. The reference is always the whole study;
        ``wave`` (a key) only limits the sessions :meth:`assess_study` yields, so a session's
        indices are the same whichever wave is looked at. Raises
        :class:`survey.services.study_data.UnknownWave`."""
        wave_of(study, wave)
        battery = Battery.of(study)
        moments = _Moments(len(battery.scored))
        for records in iter_sessions(study, chunk_size=chunk_size):
            moments.add(_scored_matrix(battery, records))
        return cls(study, rules_of(study), battery, moments, wave=wave)

    def assess(self, records: list[SessionRecord]) -> list[dict[str, object]]:
        """One dict per record, keys :attr:`columns` (None where an index cannot be
        computed or a rule is off)."""
        if not records:
            return []
        indices = self._indices(records)
        rows = []
        for i in range(len(records)):
            row: dict[str, object] = {name: indices[name][i] for name in INDEX_COLUMNS}
            row.update(self._flags(row))
            rows.append(row)
        return rows

    def _indices(self, records: list[SessionRecord]) -> dict[str, list[object]]:
        """Every index of INDEX_COLUMNS for ``records``, one list each (None: unknown)."""
        battery, n = self.battery, len(records)
        scored = _scored_matrix(battery, records)
        shown = np.array(
            [
                [_value(r.values, key) for key in battery.presentation_order(r.item_order_seed)]
                for r in records
            ],
            dtype=float,
        ).reshape(n, battery.entry_count)
        out: dict[str, list[object]] = {}
        longest = careless.longstring(shown).longest
        out["longstring"] = [int(v) if v else None for v in longest]
        out["irv"] = [_optional(v) for v in careless.irv(scored).irv] if scored.size else [None] * n

        nothing = [None] * n
        out["mahalanobis_d2"] = out["mahalanobis_p"] = out["mahalanobis_cutoff"] = nothing
        if self.mahalanobis_cutoff is not None:
            result = careless.mahalanobis(
                scored,
                quantile=self.rules.mahalanobis_quantile,
                center=self._center,
                covariance=self._covariance,
            )
            out["mahalanobis_d2"] = [_optional(v) for v in result.d2]
            out["mahalanobis_p"] = [_optional(v) for v in result.p_value]
            out["mahalanobis_cutoff"] = [
                result.cutoff if d2 is not None else None for d2 in out["mahalanobis_d2"]
            ]

        out["even_odd"] = nothing
        if len(battery.even_odd_sizes) >= 2:
            keyed = np.where(
                np.array(battery.reverse_keyed), np.array(battery.scale_sums) - scored, scored
            )
            consistency = careless.even_odd(keyed, battery.even_odd_sizes).consistency
            out["even_odd"] = [_optional(v) for v in consistency]
        out["psychsyn"] = self._within_person(scored, self._synonyms)
        out["psychant"] = self._within_person(scored, self._antonyms)

        page_keys = list(battery.page_entries)
        seconds = np.array(
            [[_seconds(r.page_seconds.get(key)) for key in page_keys] for r in records],
            dtype=float,
        ).reshape(n, len(page_keys))
        timing = careless.seconds_per_item(seconds, [battery.page_entries[k] for k in page_keys])
        out["seconds_per_item"] = [_optional(v) for v in timing.seconds_per_item]

        out["attention_failed"] = out["attention_answered"] = [0] * n
        if battery.checks:
            answers = np.array(
                [[_value(r.values, key) for key, _expected in battery.checks] for r in records],
                dtype=float,
            ).reshape(n, len(battery.checks))
            checks = careless.attention_failed(answers, [e for _key, e in battery.checks])
            out["attention_failed"] = [int(v) for v in checks.failed]
            out["attention_answered"] = [int(v) for v in checks.answered]
        return out

    @staticmethod
    def _within_person(scored: np.ndarray, pairs: np.ndarray) -> list[object]:
        """Psychometric synonyms (or antonyms) over the study-wide ``pairs``: per row, the
        correlation across the pairs between the first and the second item's answers (Meade &
        Craig 2012; :func:`psychometrics.careless.psychsyn` given the pairs found on the whole
        study); None below three pairs answered."""
        if len(pairs) < 3:
            return [None] * scored.shape[0]
        return [_optional(v) for v in careless.psychsyn(scored, pairs=pairs).correlation]

    def _flags(self, row: Mapping[str, object]) -> dict[str, bool | None]:
        rules = self.rules

        def compare(value: object, test) -> bool | None:
            return None if value is None else bool(test(value))

        longstring, spi = row["longstring"], row["seconds_per_item"]
        d2, cutoff = row["mahalanobis_d2"], row["mahalanobis_cutoff"]
        answered = row["attention_answered"]
        flags: dict[str, bool | None] = {
            "flag_longstring": compare(longstring, lambda v: v >= rules.longstring_at_least),
            "flag_fast": compare(spi, lambda v: v < rules.fast_below),
            "flag_mahalanobis": compare(d2, lambda v: v > cutoff),
            "flag_attention": (
                None if not answered else row["attention_failed"] >= rules.attention_at_least  # type: ignore[operator]
            ),
        }
        for rule in RULE_NAMES:
            if not rules.is_on(rule):
                flags[f"flag_{rule}"] = None
        on = [flags[f"flag_{rule}"] for rule in RULE_NAMES if rules.is_on(rule)]
        if any(value is True for value in on):
            flags["flag_any"] = True
        elif any(value is False for value in on):
            flags["flag_any"] = False
        else:
            flags["flag_any"] = None
        return flags

    def assess_study(self, *, chunk_size: int = 500) -> Iterator[list[AssessedSession]]:
        """The study's sessions (the assessor's wave), chunk by chunk, as lists of
        :class:`AssessedSession`."""
        for records in iter_sessions(self.study, wave=self.wave, chunk_size=chunk_size):
            yield [
                AssessedSession(record, quality)
                for record, quality in zip(records, self.assess(records), strict=True)
            ]


def rules_flagged(quality: Mapping[str, object]) -> list[str]:
    """The rules whose flag is raised in ``quality`` (a row of :meth:`QualityAssessor.assess`)."""
    return [rule for rule in RULE_NAMES if quality.get(f"flag_{rule}") is True]


# -- the data-quality page -------------------------------------------------------------------
PAGE_SIZE = 50
SHOW = {"flagged": "flagged", "all": "", "excluded": "excluded"}


@dataclass(frozen=True)
class ListedSession:
    """A row of the data-quality page: the session, its indices and the rules that fired."""

    record: SessionRecord
    quality: dict[str, object]
    flags: list[str]


@dataclass(frozen=True)
class QualityOverview:
    """The data-quality page of a study (or one wave): rules in words, sessions flagged
    per rule (``unknown``: the index could not be computed), excluded, and one page of the
    sessions ``show`` selects ("flagged", "all" or "excluded"), in participant order."""

    rules: list[RuleText]
    total: int
    excluded: int
    flagged: dict[str, int]
    unknown: dict[str, int]
    flagged_any: int
    flagged_not_excluded: int
    show: str
    matching: int
    page: int
    pages: int
    rows: list[ListedSession]
    wave_label: str | None
    wave_labels: dict[int, str]
    mahalanobis_note: str | None
    psychsyn_note: str | None

    @property
    def show_label(self) -> str:
        return SHOW[self.show]

    @property
    def first(self) -> int:
        return (self.page - 1) * PAGE_SIZE + 1

    @property
    def last(self) -> int:
        return self.first + len(self.rows) - 1


def _selected(show: str, listed: AssessedSession) -> bool:
    if show == "flagged":
        return listed.flagged
    if show == "excluded":
        return listed.record.excluded
    return True


def quality_overview(
    study: Study, *, wave: str | None = None, show: str = "flagged", page: int = 1
) -> QualityOverview:
    """The data-quality page: two passes over the sessions (the assessor's, then the
    counts), keeping only the page of rows shown. Raises ``ValueError`` for an unknown
    ``show`` and :class:`survey.services.study_data.UnknownWave`."""
    if show not in SHOW:
        raise ValueError(f"show must be one of {', '.join(SHOW)}, got {show!r}")
    assessor = QualityAssessor.for_study(study, wave=wave)
    flagged = dict.fromkeys(RULE_NAMES, 0)
    unknown = dict.fromkeys(RULE_NAMES, 0)
    total = excluded = flagged_any = open_flagged = matching = 0
    start = (max(page, 1) - 1) * PAGE_SIZE
    rows: list[ListedSession] = []
    last_page: list[ListedSession] = []
    for chunk in assessor.assess_study():
        for listed in chunk:
            total += 1
            excluded += listed.record.excluded
            for rule in RULE_NAMES:
                value = listed.quality[f"flag_{rule}"]
                flagged[rule] += value is True
                unknown[rule] += value is None and assessor.rules.is_on(rule)
            flagged_any += listed.flagged
            open_flagged += listed.flagged and not listed.record.excluded
            if _selected(show, listed):
                row = ListedSession(listed.record, listed.quality, rules_flagged(listed.quality))
                if start <= matching < start + PAGE_SIZE:
                    rows.append(row)
                if matching % PAGE_SIZE == 0:
                    last_page = []
                last_page.append(row)  # the page a number past the end shows
                matching += 1
    pages = max(1, -(-matching // PAGE_SIZE))
    if page > pages:
        page, rows = pages, last_page
    labels = {w.id: w.label for w in study.waves}
    chosen = wave_of(study, wave)
    return QualityOverview(
        rules=assessor.rules.describe(),
        total=total,
        excluded=excluded,
        flagged=flagged,
        unknown=unknown,
        flagged_any=flagged_any,
        flagged_not_excluded=open_flagged,
        show=show,
        matching=matching,
        page=max(page, 1),
        pages=pages,
        rows=rows,
        wave_label=chosen.label if chosen else None,
        wave_labels=labels,
        mahalanobis_note=assessor.mahalanobis_note(),
        psychsyn_note=assessor.psychsyn_note(),
    )


# -- one session -----------------------------------------------------------------------------
@dataclass(frozen=True)
class ShownEntry:
    """An entry of a page as the participant saw it, with their answer."""

    position: int  # 1-based on the page, in the participant's order
    id: str
    text: str
    value: int | None
    label: str
    check: bool
    expected: int | None
    failed: bool


@dataclass(frozen=True)
class ShownPage:
    """A battery page as one participant saw it, with its timing."""

    number: int
    instrument: str
    title: str
    entries: list[ShownEntry]
    shown: bool
    submitted: bool
    seconds: float | None


@dataclass(frozen=True)
class SessionReport:
    """One session's indices, flags and answers in presentation order."""

    record: SessionRecord
    quality: dict[str, object]
    rules: QualityRules
    rule_words: dict[str, str]
    flags: list[str]
    pages: list[ShownPage]
    wave_label: str
    shuffled: bool
    participant_excluded: bool
    participant_reason: str | None

    @property
    def excluded(self) -> bool:
        return self.record.excluded


def _shown_pages(battery: Battery, record: SessionRecord) -> list[ShownPage]:
    pages = []
    for number, page in enumerate(battery.pages, start=1):
        key = (page.version_id, page.page.key)
        entries = []
        for position, entry in enumerate(
            ordered_entries(page.definition, page.page, record.item_order_seed), start=1
        ):
            value = record.values.get((page.version_id, entry.id))
            labels = {o.value: o.label for o in page.definition.scale(entry.scale).options}
            check = isinstance(entry, AttentionCheck)
            expected = entry.expected if isinstance(entry, AttentionCheck) else None
            entries.append(
                ShownEntry(
                    position=position,
                    id=entry.id,
                    text=entry.text,
                    value=value,
                    label=labels.get(value, "") if value is not None else "",
                    check=check,
                    expected=expected,
                    failed=check and value is not None and value != expected,
                )
            )
        pages.append(
            ShownPage(
                number=number,
                instrument=page.definition.title,
                title=page.page.title,
                entries=entries,
                shown=key in record.page_submitted,
                submitted=record.page_submitted.get(key, False),
                seconds=record.page_seconds.get(key),
            )
        )
    return pages


def session_report(study: Study, session: ResponseSession) -> SessionReport:
    """The data-quality view of one of the study's sessions (the indices need the whole
    study's sample statistics: one streaming pass, then the session's wave is read again
    to find its record)."""
    assessor = QualityAssessor.for_study(study)
    record = next(
        record
        for records in iter_sessions(study, wave=session.wave.key)
        for record in records
        if record.session_id == session.id
    )
    quality = assessor.assess([record])[0]
    rules = assessor.rules
    return SessionReport(
        record=record,
        quality=quality,
        rules=rules,
        rule_words={text.rule: text.words for text in rules.describe()},
        flags=rules_flagged(quality),
        pages=_shown_pages(assessor.battery, record),
        wave_label=session.wave.label,
        shuffled=assessor.battery.shuffled,
        participant_excluded=session.participant.excluded,
        participant_reason=session.participant.exclusion_reason,
    )


def _optional(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _seconds(value: float | None) -> float:
    return math.nan if value is None else max(float(value), 0.0)
