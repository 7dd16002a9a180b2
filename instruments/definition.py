"""Frozen, validated instrument definitions.

An instrument file (``instruments/<key>/<semver>.yaml``) is turned into these objects by
:mod:`instruments.loader`. Nothing here touches Flask, SQLAlchemy or the file system: the
definition is plain data that the survey app renders, the scoring module scores and the
measurement-model builder turns into lavaan syntax.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from instruments import canonical_json as canonical


@dataclass(frozen=True)
class ResponseOption:
    value: int
    label: str


@dataclass(frozen=True)
class ResponseScale:
    """An ordered set of integer response options (e.g. a 5-point agreement scale)."""

    key: str
    options: tuple[ResponseOption, ...]

    @property
    def values(self) -> tuple[int, ...]:
        return tuple(option.value for option in self.options)

    @property
    def minimum(self) -> int:
        return min(self.values)

    @property
    def maximum(self) -> int:
        return max(self.values)

    def reverse(self, value: float) -> float:
        """Reverse-key a response: ``min + max - x`` (``6 - x`` on a 1..5 scale)."""
        return self.minimum + self.maximum - value


@dataclass(frozen=True)
class Item:
    """A scored item. ``id`` is stable across versions (``<SUBCODE>_<n>``).

    ``safety_threshold`` makes the item a *safety item* (as the self-harm item of a
    depression measure): an answer at or above it, on the raw scale as the participant
    answered (before any reverse keying), is a safety signal. ``None``: not a safety item.
    """

    id: str
    text: str
    reverse: bool
    scale: str
    subconstruct: str
    construct: str
    type: str = "likert"
    optional: bool = False
    safety_threshold: int | None = None

    def is_safety_signal(self, answer: float | None) -> bool:
        """True when this is a safety item and ``answer`` is at or above its threshold.

        A missing answer (``None``, or ``NaN`` from a data frame) is never a signal.
        """
        if self.safety_threshold is None or answer is None:
            return False
        return answer >= self.safety_threshold


@dataclass(frozen=True)
class AttentionCheck:
    """An unscored item with one correct answer, shown on the page of construct ``page``."""

    id: str
    text: str
    scale: str
    expected: int
    page: str
    position: int
    type: str = "likert"
    optional: bool = False


@dataclass(frozen=True)
class Subconstruct:
    """A facet of a construct, measured by its items.

    ``reverse`` is true when the subconstruct's high pole is its construct's low pole (e.g.
    *Lapsing* within *Use trajectory*): its score is reflected (``min + max - s``) before it
    enters the construct score, and its second-order loading is negative.
    """

    code: str
    name: str
    description: str
    items: tuple[Item, ...]
    reverse: bool = False


@dataclass(frozen=True)
class Construct:
    """A construct of the model; one questionnaire page.

    ``name`` is the researcher's name of the construct ("Rupture and repair");
    ``page_title``, when given, is the page's title in participant language ("How you and
    your therapist work things out"). :attr:`title` is what the page shows.
    """

    code: str
    name: str
    domain: str
    description: str
    subconstructs: tuple[Subconstruct, ...]
    page_title: str | None = None

    @property
    def title(self) -> str:
        """The participant-facing page title: ``page_title``, else the construct name."""
        return self.page_title if self.page_title is not None else self.name

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for sub in self.subconstructs for item in sub.items)


@dataclass(frozen=True)
class Page:
    """One questionnaire page: a construct's items with any attention checks placed on it.

    ``key`` is the construct code, ``title`` the participant-facing title (the construct's
    ``page_title``, else its name) and ``construct_name`` the construct's own name.
    """

    key: str
    title: str
    construct_name: str
    entries: tuple[Item | AttentionCheck, ...]


@dataclass(frozen=True)
class InstrumentDefinition:
    key: str
    version: str
    title: str
    intro: str
    citation: str
    shuffle_items: bool
    response_scales: tuple[ResponseScale, ...]
    constructs: tuple[Construct, ...]
    attention_checks: tuple[AttentionCheck, ...] = ()
    source: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    # -- lookups -------------------------------------------------------------------------
    @property
    def subconstructs(self) -> tuple[Subconstruct, ...]:
        return tuple(sub for construct in self.constructs for sub in construct.subconstructs)

    @property
    def items(self) -> tuple[Item, ...]:
        """All scored items in instrument order."""
        return tuple(item for construct in self.constructs for item in construct.items)

    @property
    def safety_items(self) -> tuple[Item, ...]:
        """The items with a ``safety_threshold``, in instrument order."""
        return tuple(item for item in self.items if item.safety_threshold is not None)

    def safety_signals(self, answers: Mapping[str, float | None]) -> tuple[Item, ...]:
        """The safety items whose answer in ``answers`` (item id -> raw answer) is at or
        above their threshold, in instrument order.

        Ids that are not safety items, and missing or ``None`` answers, are ignored.

        >>> import copy
        >>> from instruments.loader import instrument_path, load_instrument, parse_definition
        >>> mapping = copy.deepcopy(load_instrument(instrument_path("iemdp", "1.0.0")).source)
        >>> mapping["constructs"][0]["subconstructs"][0]["items"][2]["safety_threshold"] = 4
        >>> definition = parse_definition(mapping, "example")
        >>> [item.id for item in definition.safety_items]
        ['OE_BEN_3']
        >>> [item.id for item in definition.safety_signals({"OE_BEN_3": 5, "OE_BEN_1": 5})]
        ['OE_BEN_3']
        >>> definition.safety_signals({"OE_BEN_3": 3, "OE_BEN_1": None})
        ()
        """
        return tuple(
            item for item in self.safety_items if item.is_safety_signal(answers.get(item.id))
        )

    def construct(self, code: str) -> Construct:
        for construct in self.constructs:
            if construct.code == code:
                return construct
        raise KeyError(code)

    def subconstruct(self, code: str) -> Subconstruct:
        for sub in self.subconstructs:
            if sub.code == code:
                return sub
        raise KeyError(code)

    def scale(self, key: str) -> ResponseScale:
        for scale in self.response_scales:
            if scale.key == key:
                return scale
        raise KeyError(key)

    def entry(self, entry_id: str) -> Item | AttentionCheck:
        for entry in (*self.items, *self.attention_checks):
            if entry.id == entry_id:
                return entry
        raise KeyError(entry_id)

    def pages(self) -> tuple[Page, ...]:
        """One page per construct, in instrument order, attention checks inserted at their
        ``position`` (0-based index among the page's entries)."""
        pages = []
        for construct in self.constructs:
            entries: list[Item | AttentionCheck] = list(construct.items)
            checks = sorted(
                (c for c in self.attention_checks if c.page == construct.code),
                key=lambda c: c.position,
            )
            for check in checks:
                entries.insert(min(check.position, len(entries)), check)
            pages.append(
                Page(
                    key=construct.code,
                    title=construct.title,
                    construct_name=construct.name,
                    entries=tuple(entries),
                )
            )
        return tuple(pages)

    # -- identity ------------------------------------------------------------------------
    def canonical_json(self) -> str:
        """The definition's content as canonical JSON (sorted keys, no whitespace)."""
        return canonical.canonical_json(self.source)

    @property
    def content_hash(self) -> str:
        """SHA-256 of :meth:`canonical_json`: equal content, equal hash."""
        return canonical.content_hash(self.source)
