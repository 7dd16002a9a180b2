"""Frozen, validated instrument definitions.

An instrument file (``instruments/<key>/<semver>.yaml``) is turned into these objects by
:mod:`instruments.loader`. Nothing here touches Flask, SQLAlchemy or the file system: the
definition is plain data that the survey app renders, the scoring module scores and the
measurement-model builder turns into lavaan syntax.
"""

from __future__ import annotations

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
    """A scored item. ``id`` is stable across versions (``<SUBCODE>_<n>``)."""

    id: str
    text: str
    reverse: bool
    scale: str
    subconstruct: str
    construct: str
    type: str = "likert"
    optional: bool = False


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
    code: str
    name: str
    domain: str
    description: str
    subconstructs: tuple[Subconstruct, ...]

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for sub in self.subconstructs for item in sub.items)


@dataclass(frozen=True)
class Page:
    """One questionnaire page: a construct's items with any attention checks placed on it."""

    key: str
    title: str
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
            pages.append(Page(key=construct.code, title=construct.name, entries=tuple(entries)))
        return tuple(pages)

    # -- identity ------------------------------------------------------------------------
    def canonical_json(self) -> str:
        """The definition's content as canonical JSON (sorted keys, no whitespace)."""
        return canonical.canonical_json(self.source)

    @property
    def content_hash(self) -> str:
        """SHA-256 of :meth:`canonical_json`: equal content, equal hash."""
        return canonical.content_hash(self.source)
