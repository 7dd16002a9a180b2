"""What changed between two versions of an instrument.

:func:`diff_versions` compares two :class:`~instruments.definition.InstrumentDefinition`
objects (normally consecutive versions of one instrument) and returns an
:class:`InstrumentDiff`: a frozen record of every difference, grouped the way an admin and
an analyst think about them. It describes; it does not judge. Whether a change calls for a
patch, minor or major version is decided by :mod:`instruments.versioning`.

How items are matched
    Items are matched by id (ids are stable across versions). An item of the old version
    whose id is gone and an item of the new version whose id is new are paired as *moved*
    when they have the same text (spacing aside), each text occurring once among the
    unmatched items, and they sit in different subconstructs. The file format ties an
    item id to its subconstruct (``<SUBCODE>_<n>``), so moving an item necessarily gives it
    a new id; without this pairing a move would show as one removal plus one addition. An
    item whose id stays but whose subconstruct was moved to another construct is *moved*
    too (old and new id equal, constructs differ).

Word-level differences
    Reworded texts are compared word by word with :class:`difflib.SequenceMatcher` on
    whitespace-separated tokens (punctuation stays attached to its word, so ``"better."``
    to ``"better!"`` is one changed word). :func:`word_diff` gives the operations
    ``("equal" | "insert" | "delete", words)``, where ``words`` are the tokens joined by
    single spaces; a replacement is a ``delete`` followed by an ``insert``.

>>> import copy
>>> from instruments.loader import instrument_path, load_instrument, parse_definition
>>> old = load_instrument(instrument_path("iemdp", "1.0.0"))
>>> mapping = copy.deepcopy(old.source) | {"version": "1.0.1"}
>>> item = mapping["constructs"][0]["subconstructs"][0]["items"][0]
>>> item["text"] = "I expect writing to my therapist to help me feel better."
>>> new = parse_definition(mapping, "draft")
>>> diff = diff_versions(old, new)
>>> [(r.id, r.ops[1:3]) for r in diff.reworded]
[('OE_BEN_1', (('delete', 'messaging with'), ('insert', 'writing to')))]
>>> print(diff.summary())
iemdp 1.0.0 -> 1.0.1: 1 change
  reworded OE_BEN_1: I expect [-messaging with-] {+writing to+} my therapist to help me feel better.
>>> "OE_BEN_1" in identical_items(old, new), "OE_BEN_2" in identical_items(old, new)
(False, True)
"""

from __future__ import annotations

import dataclasses
import difflib
import string
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from instruments.definition import (
    AttentionCheck,
    InstrumentDefinition,
    Item,
    ResponseScale,
    Subconstruct,
)

__all__ = [
    "Change",
    "InstrumentDiff",
    "Move",
    "Reordering",
    "Rewording",
    "ScaleChange",
    "StructureChange",
    "WordDiff",
    "WordOp",
    "diff_versions",
    "identical_items",
    "word_diff",
]

WordOp = tuple[Literal["equal", "insert", "delete"], str]
"""One word-level operation: the kind and the words (tokens joined by single spaces)."""


# --------------------------------------------------------------------------------------
# result types
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WordDiff:
    """Word-level comparison of two texts.

    Attributes
    ----------
    ops : tuple of (str, str)
        ``("equal" | "insert" | "delete", words)`` in text order; concatenating the
        ``equal`` and ``delete`` words gives the old text, ``equal`` and ``insert`` the new
        one (up to spacing).
    changed_words : int
        Word positions changed: for each changed run, the larger of the number of words
        deleted and inserted (replacing one word by one word counts 1).
    similarity : float
        :meth:`difflib.SequenceMatcher.ratio` on the word tokens, ``2 M / T`` (``M`` words
        in common, ``T`` words in both texts), from 0 (nothing shared) to 1 (same words).
    cosmetic : bool
        The texts are equal once case, punctuation and spacing are ignored.
    """

    ops: tuple[WordOp, ...]
    changed_words: int
    similarity: float
    cosmetic: bool

    @property
    def deleted(self) -> tuple[str, ...]:
        """Every deleted word, in order."""
        return tuple(w for op, words in self.ops if op == "delete" for w in words.split())

    @property
    def inserted(self) -> tuple[str, ...]:
        """Every inserted word, in order."""
        return tuple(w for op, words in self.ops if op == "insert" for w in words.split())

    def replacements(self) -> tuple[tuple[str, str], ...] | None:
        """The ``(old word, new word)`` pairs, in order, when every changed run replaces
        as many words as it removes (``a b -> x y`` pairs ``a`` with ``x`` and ``b`` with
        ``y``); ``None`` when some change inserts or deletes words."""
        pairs: list[tuple[str, str]] = []
        ops = list(self.ops)
        index = 0
        while index < len(ops):
            op, words = ops[index]
            if op == "equal":
                index += 1
                continue
            following = ops[index + 1] if index + 1 < len(ops) else None
            if op != "delete" or following is None or following[0] != "insert":
                return None
            old_words, new_words = words.split(), following[1].split()
            if len(old_words) != len(new_words):
                return None
            pairs.extend(zip(old_words, new_words, strict=True))
            index += 2
        return tuple(pairs)

    def inline(self) -> str:
        """The diff as one line: deletions ``[-...-]``, insertions ``{+...+}``."""
        marks = {"equal": "{}", "delete": "[-{}-]", "insert": "{{+{}+}}"}
        return " ".join(marks[op].format(words) for op, words in self.ops)


@dataclass(frozen=True)
class Rewording:
    """An item whose text changed (``id`` as in the new version)."""

    id: str
    old_text: str
    new_text: str
    words: WordDiff

    @property
    def ops(self) -> tuple[WordOp, ...]:
        """The word-level operations (see :class:`WordDiff`)."""
        return self.words.ops


@dataclass(frozen=True)
class Change:
    """One value that changed: ``field`` of ``subject`` went from ``old`` to ``new``.

    ``subject`` is an item or attention-check id, or ``"instrument"`` for metadata.
    """

    subject: str
    field: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Move:
    """An item now in another subconstruct (new id) or another construct (same id)."""

    old_id: str
    new_id: str
    old_subconstruct: str
    new_subconstruct: str
    old_construct: str
    new_construct: str


@dataclass(frozen=True)
class Reordering:
    """Changed relative order of what both versions have.

    ``scope`` is a construct code (the order of the items on its page) or ``"pages"``
    (the order of the constructs, i.e. of the pages). ``old`` and ``new`` list only what
    is in both versions, so additions and removals alone never count as reordering.
    """

    scope: str
    old: tuple[str, ...]
    new: tuple[str, ...]


@dataclass(frozen=True)
class ScaleChange:
    """A change to a response scale.

    ``change`` is ``"added"`` or ``"removed"`` (the whole scale), ``"option_added"``,
    ``"option_removed"``, ``"option_relabelled"`` (``value`` says which option, ``old`` and
    ``new`` are its labels) or ``"options_reordered"`` (``old``/``new``: the values in
    order).
    """

    scale: str
    change: Literal[
        "added",
        "removed",
        "option_added",
        "option_removed",
        "option_relabelled",
        "options_reordered",
    ]
    value: int | None = None
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class StructureChange:
    """A change to a construct or subconstruct.

    ``change`` is one of ``"added"``, ``"removed"``, ``"recoded"`` (a removed and an added
    code with the same name: ``old``/``new`` are the codes, ``code`` the new one),
    ``"renamed"``, ``"redescribed"``, ``"domain"`` (constructs), ``"page_title"`` (a
    construct's participant-facing page title; ``None`` when not set), ``"reverse"`` (the
    subconstruct's orientation within its construct) or ``"moved"`` (a subconstruct now in
    another construct: ``old``/``new`` are the construct codes).
    """

    level: Literal["construct", "subconstruct"]
    code: str
    change: Literal[
        "added",
        "removed",
        "recoded",
        "renamed",
        "redescribed",
        "domain",
        "page_title",
        "reverse",
        "moved",
    ]
    old: Any = None
    new: Any = None


@dataclass(frozen=True)
class InstrumentDiff:
    """Every difference between two versions of an instrument, grouped by kind.

    All groups are tuples in the order of the new version (removals: of the old one).

    Attributes
    ----------
    key, old_version, new_version : str
        What was compared (the key of the new version).
    items_added, items_removed : tuple of Item
        Items only in the new / only in the old version (moved items excluded).
    reworded : tuple of Rewording
        Items whose text changed, with the word-level diff.
    rekeyed : tuple of Change
        Items whose ``reverse`` flag changed.
    moved : tuple of Move
        Items moved to another subconstruct or construct.
    optional_changed, type_changed, item_scale_changed : tuple of Change
        Items whose ``optional`` flag, item type or response scale (key) changed.
    safety_changed : tuple of Change
        Items whose ``safety_threshold`` changed (``None``: not a safety item), so an
        item became a safety item, stopped being one, or signals at another answer.
    reordered : tuple of Reordering
        Pages whose items' relative order changed, and the page order itself.
    scale_changes : tuple of ScaleChange
        Response scales added, removed, and options added, removed, relabelled, reordered.
    checks_added, checks_removed : tuple of AttentionCheck
    checks_changed : tuple of Change
        Attention-check fields that changed (text, scale, expected, page, position, ...).
    metadata : tuple of Change
        ``subject="instrument"``: key, title, intro, citation, shuffle_items.
    structure : tuple of StructureChange
        Constructs and subconstructs added, removed, recoded, renamed, redescribed, ...
    """

    key: str
    old_version: str
    new_version: str
    items_added: tuple[Item, ...] = ()
    items_removed: tuple[Item, ...] = ()
    reworded: tuple[Rewording, ...] = ()
    rekeyed: tuple[Change, ...] = ()
    moved: tuple[Move, ...] = ()
    optional_changed: tuple[Change, ...] = ()
    type_changed: tuple[Change, ...] = ()
    item_scale_changed: tuple[Change, ...] = ()
    safety_changed: tuple[Change, ...] = ()
    reordered: tuple[Reordering, ...] = ()
    scale_changes: tuple[ScaleChange, ...] = ()
    checks_added: tuple[AttentionCheck, ...] = ()
    checks_removed: tuple[AttentionCheck, ...] = ()
    checks_changed: tuple[Change, ...] = ()
    metadata: tuple[Change, ...] = ()
    structure: tuple[StructureChange, ...] = ()

    _GROUPS = (
        "items_added",
        "items_removed",
        "reworded",
        "rekeyed",
        "moved",
        "optional_changed",
        "type_changed",
        "item_scale_changed",
        "safety_changed",
        "reordered",
        "scale_changes",
        "checks_added",
        "checks_removed",
        "checks_changed",
        "metadata",
        "structure",
    )

    @property
    def is_empty(self) -> bool:
        """True when the two versions have the same content (versions aside)."""
        return self.change_count == 0

    @property
    def change_count(self) -> int:
        """The number of recorded changes, all groups together."""
        return sum(len(getattr(self, group)) for group in self._GROUPS)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict: dataclasses as dicts, tuples as lists, plus ``is_empty``."""
        out: dict[str, Any] = {
            "key": self.key,
            "old_version": self.old_version,
            "new_version": self.new_version,
            "is_empty": self.is_empty,
        }
        for group in self._GROUPS:
            out[group] = [_plain(entry) for entry in getattr(self, group)]
        return out

    def summary(self) -> str:
        """Plain text, one line per change, for a log or an admin's review."""
        count = self.change_count
        head = f"{self.key} {self.old_version} -> {self.new_version}: "
        if not count:
            return head + "no changes"
        lines = [head + f"{count} change{'' if count == 1 else 's'}"]
        lines += [f"  {line}" for line in _summary_lines(self)]
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# public functions
# --------------------------------------------------------------------------------------
def word_diff(old: str, new: str) -> WordDiff:
    """Compare two texts word by word.

    Parameters
    ----------
    old, new : str
        The texts; split into words on whitespace.

    Returns
    -------
    WordDiff

    Examples
    --------
    >>> diff = word_diff("I trust my therapist.", "I really trust my therapist!")
    >>> diff.ops
    (('equal', 'I'), ('insert', 'really'), ('equal', 'trust my'), ('delete', 'therapist.'), \
('insert', 'therapist!'))
    >>> diff.changed_words, round(diff.similarity, 2), diff.cosmetic
    (2, 0.67, False)
    >>> word_diff("I trust my therapist", "i trust my therapist.").cosmetic
    True
    """
    old_words, new_words = old.split(), new.split()
    matcher = difflib.SequenceMatcher(None, old_words, new_words, autojunk=False)
    ops: list[WordOp] = []
    changed = 0
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            ops.append(("equal", " ".join(old_words[i1:i2])))
            continue
        changed += max(i2 - i1, j2 - j1)
        if i2 > i1:
            ops.append(("delete", " ".join(old_words[i1:i2])))
        if j2 > j1:
            ops.append(("insert", " ".join(new_words[j1:j2])))
    return WordDiff(
        ops=tuple(ops),
        changed_words=changed,
        similarity=matcher.ratio(),
        cosmetic=_bare_words(old) == _bare_words(new),
    )


def diff_versions(old: InstrumentDefinition, new: InstrumentDefinition) -> InstrumentDiff:
    """Every difference between ``old`` and ``new``.

    Parameters
    ----------
    old, new : InstrumentDefinition
        Two versions, normally of the same instrument (a change of ``key`` is reported
        as a metadata change, ``version`` is not a change).

    Returns
    -------
    InstrumentDiff
        Empty (:attr:`InstrumentDiff.is_empty`) exactly when the two have the same content
        apart from the version, i.e. the same content hash once the version is equalised.
    """
    old_items = {item.id: item for item in old.items}
    new_items = {item.id: item for item in new.items}
    removed = [item for item in old.items if item.id not in new_items]
    added = [item for item in new.items if item.id not in old_items]
    moved_pairs = _pair_moves(removed, added)
    moved_old = {a.id for a, _ in moved_pairs}
    moved_new = {b.id for _, b in moved_pairs}

    # Every item present in both versions, as (old, new), in new-version order.
    pairs = [(old_items[item.id], item) for item in new.items if item.id in old_items]
    by_new = {b.id: (a, b) for a, b in [*pairs, *moved_pairs]}
    ordered_pairs = [by_new[item.id] for item in new.items if item.id in by_new]

    moves = [
        Move(a.id, b.id, a.subconstruct, b.subconstruct, a.construct, b.construct)
        for a, b in ordered_pairs
        if a.id != b.id or a.construct != b.construct
    ]

    def changes(name: str) -> tuple[Change, ...]:
        return tuple(
            Change(b.id, name, getattr(a, name), getattr(b, name))
            for a, b in ordered_pairs
            if getattr(a, name) != getattr(b, name)
        )

    return InstrumentDiff(
        key=new.key,
        old_version=old.version,
        new_version=new.version,
        items_added=tuple(item for item in added if item.id not in moved_new),
        items_removed=tuple(item for item in removed if item.id not in moved_old),
        reworded=tuple(
            Rewording(b.id, a.text, b.text, word_diff(a.text, b.text))
            for a, b in ordered_pairs
            if a.text != b.text
        ),
        rekeyed=changes("reverse"),
        moved=tuple(moves),
        optional_changed=changes("optional"),
        type_changed=changes("type"),
        item_scale_changed=changes("scale"),
        safety_changed=changes("safety_threshold"),
        reordered=_reorderings(old, new),
        scale_changes=_scale_changes(old.response_scales, new.response_scales),
        checks_added=tuple(
            c for c in new.attention_checks if c.id not in _ids(old.attention_checks)
        ),
        checks_removed=tuple(
            c for c in old.attention_checks if c.id not in _ids(new.attention_checks)
        ),
        checks_changed=_check_changes(old.attention_checks, new.attention_checks),
        metadata=tuple(
            Change("instrument", name, getattr(old, name), getattr(new, name))
            for name in ("key", "title", "intro", "citation", "shuffle_items")
            if getattr(old, name) != getattr(new, name)
        ),
        structure=_structure_changes(old, new),
    )


def identical_items(old: InstrumentDefinition, new: InstrumentDefinition) -> list[str]:
    """Ids of the items that are the same measurement in both versions.

    An item counts as identical when its id is in both versions and its text, its reverse
    flag, its item type, its subconstruct and its response options (values and labels,
    whatever the scale's key) are all unchanged. Responses to these items can be pooled
    across the two versions; responses to any other item cannot. An optional-flag change,
    a new position on the page or a moved subconstruct do not change what the participant
    sees in answering the item, so they do not count.

    Parameters
    ----------
    old, new : InstrumentDefinition

    Returns
    -------
    list of str
        In the order of the new version.
    """
    old_items = {item.id: item for item in old.items}
    same = []
    for item in new.items:
        before = old_items.get(item.id)
        if (
            before is not None
            and before.text == item.text
            and before.reverse == item.reverse
            and before.type == item.type
            and before.subconstruct == item.subconstruct
            and old.scale(before.scale).options == new.scale(item.scale).options
        ):
            same.append(item.id)
    return same


# --------------------------------------------------------------------------------------
# comparison helpers
# --------------------------------------------------------------------------------------
_PUNCTUATION = str.maketrans("", "", string.punctuation + "\u2018\u2019\u201c\u201d\u2013\u2014")


def _bare_words(text: str) -> list[str]:
    return text.casefold().translate(_PUNCTUATION).split()


def _ids(entries: Iterable[Item | AttentionCheck]) -> set[str]:
    return {entry.id for entry in entries}


def _pair_moves(removed: list[Item], added: list[Item]) -> list[tuple[Item, Item]]:
    """Removed and added items with the same text (spacing aside), each text unique on
    both sides, in different subconstructs."""

    def norm(item: Item) -> str:
        return " ".join(item.text.split())

    old_counts = Counter(norm(item) for item in removed)
    new_counts = Counter(norm(item) for item in added)
    old_by_text = {norm(item): item for item in removed if old_counts[norm(item)] == 1}
    pairs = []
    for item in added:
        text = norm(item)
        before = old_by_text.get(text)
        if before is not None and new_counts[text] == 1:
            if before.subconstruct != item.subconstruct:
                pairs.append((before, item))
    return pairs


def _relative(sequence: Iterable[str], keep: set[str]) -> tuple[str, ...]:
    return tuple(entry for entry in sequence if entry in keep)


def _reorderings(old: InstrumentDefinition, new: InstrumentDefinition) -> tuple[Reordering, ...]:
    out = []
    old_codes = [c.code for c in old.constructs]
    new_codes = [c.code for c in new.constructs]
    common_codes = set(old_codes) & set(new_codes)
    old_pages = {c.code: [item.id for item in c.items] for c in old.constructs}
    for construct in new.constructs:
        if construct.code not in old_pages:
            continue
        new_ids = [item.id for item in construct.items]
        common = set(old_pages[construct.code]) & set(new_ids)
        before = _relative(old_pages[construct.code], common)
        after = _relative(new_ids, common)
        if before != after:
            out.append(Reordering(construct.code, before, after))
    before = _relative(old_codes, common_codes)
    after = _relative(new_codes, common_codes)
    if before != after:
        out.append(Reordering("pages", before, after))
    return tuple(out)


def _scale_changes(
    old: tuple[ResponseScale, ...], new: tuple[ResponseScale, ...]
) -> tuple[ScaleChange, ...]:
    old_scales = {scale.key: scale for scale in old}
    new_scales = {scale.key: scale for scale in new}
    out = [ScaleChange(key, "removed") for key in old_scales if key not in new_scales]
    for key, scale in new_scales.items():
        before = old_scales.get(key)
        if before is None:
            out.append(ScaleChange(key, "added"))
            continue
        old_labels = {o.value: o.label for o in before.options}
        new_labels = {o.value: o.label for o in scale.options}
        for value, label in old_labels.items():
            if value not in new_labels:
                out.append(ScaleChange(key, "option_removed", value, old=label))
        for value, label in new_labels.items():
            if value not in old_labels:
                out.append(ScaleChange(key, "option_added", value, new=label))
            elif old_labels[value] != label:
                out.append(
                    ScaleChange(key, "option_relabelled", value, old=old_labels[value], new=label)
                )
        common = set(old_labels) & set(new_labels)
        old_order = tuple(v for v in before.values if v in common)
        new_order = tuple(v for v in scale.values if v in common)
        if old_order != new_order:
            out.append(ScaleChange(key, "options_reordered", old=old_order, new=new_order))
    return tuple(out)


_CHECK_FIELDS = ("text", "scale", "expected", "page", "position", "type", "optional")


def _check_changes(
    old: tuple[AttentionCheck, ...], new: tuple[AttentionCheck, ...]
) -> tuple[Change, ...]:
    old_checks = {check.id: check for check in old}
    return tuple(
        Change(check.id, name, getattr(old_checks[check.id], name), getattr(check, name))
        for check in new
        if check.id in old_checks
        for name in _CHECK_FIELDS
        if getattr(old_checks[check.id], name) != getattr(check, name)
    )


def _structure_changes(
    old: InstrumentDefinition, new: InstrumentDefinition
) -> tuple[StructureChange, ...]:
    out: list[StructureChange] = []

    def compare(
        level: Literal["construct", "subconstruct"],
        before: dict[str, Any],
        after: dict[str, Any],
        fields: dict[str, Callable[[Any], Any]],
    ) -> None:
        gone = [code for code in before if code not in after]
        new_codes = [code for code in after if code not in before]
        # A code replaced by another under the same name is a recoding, not two changes.
        gone_names = Counter(before[code].name for code in gone)
        new_names = Counter(after[code].name for code in new_codes)
        recoded: dict[str, str] = {}  # old code -> new code
        for code in new_codes:
            name = after[code].name
            if gone_names[name] == 1 and new_names[name] == 1:
                recoded[next(c for c in gone if before[c].name == name)] = code
        out.extend(
            StructureChange(level, code, "removed", old=before[code].name)
            for code in gone
            if code not in recoded
        )
        for code, entry in after.items():
            if code in recoded.values():
                old_code = next(c for c, n in recoded.items() if n == code)
                out.append(StructureChange(level, code, "recoded", old=old_code, new=code))
                previous = before[old_code]
            elif code in new_codes:
                out.append(StructureChange(level, code, "added", new=entry.name))
                continue
            else:
                previous = before[code]
            for change, get in fields.items():
                if get(previous) != get(entry):
                    out.append(
                        StructureChange(level, code, change, old=get(previous), new=get(entry))
                    )

    compare(
        "construct",
        {c.code: c for c in old.constructs},
        {c.code: c for c in new.constructs},
        {
            "renamed": lambda c: c.name,
            "redescribed": lambda c: c.description,
            "domain": lambda c: c.domain,
            "page_title": lambda c: c.page_title,
        },
    )
    old_parent = {s.code: c.code for c in old.constructs for s in c.subconstructs}
    new_parent = {s.code: c.code for c in new.constructs for s in c.subconstructs}
    subs_before = {s.code: _WithParent(s, old_parent[s.code]) for s in old.subconstructs}
    subs_after = {s.code: _WithParent(s, new_parent[s.code]) for s in new.subconstructs}
    compare(
        "subconstruct",
        subs_before,
        subs_after,
        {
            "renamed": lambda s: s.name,
            "redescribed": lambda s: s.description,
            "reverse": lambda s: s.reverse,
            "moved": lambda s: s.parent,
        },
    )
    return tuple(out)


@dataclass(frozen=True)
class _WithParent:
    """A subconstruct with the code of its construct, for comparison."""

    sub: Subconstruct
    parent: str

    @property
    def name(self) -> str:
        return self.sub.name

    @property
    def description(self) -> str:
        return self.sub.description

    @property
    def reverse(self) -> bool:
        return self.sub.reverse


# --------------------------------------------------------------------------------------
# output helpers
# --------------------------------------------------------------------------------------
def _plain(value: Any) -> Any:
    """Dataclasses and tuples to JSON-ready dicts and lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out = {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
        if isinstance(value, Rewording):
            # The word diff inline, as the admin console shows it.
            out["ops"] = [list(op) for op in value.ops]
        return out
    if isinstance(value, tuple | list):
        return [_plain(entry) for entry in value]
    return value


def _short(value: Any, limit: int = 60) -> str:
    """A text quoted and cut to ``limit`` characters; anything else as is."""
    if not isinstance(value, str):
        return str(value)
    text = " ".join(value.split())
    return repr(text if len(text) <= limit else text[: limit - 3] + "...")


def _threshold(value: int | None) -> str:
    return "none" if value is None else str(value)


def _summary_lines(diff: InstrumentDiff) -> list[str]:
    lines = [f"item added: {i.id} ({i.subconstruct}) {_short(i.text)}" for i in diff.items_added]
    lines += [
        f"item removed: {i.id} ({i.subconstruct}) {_short(i.text)}" for i in diff.items_removed
    ]
    lines += [f"reworded {r.id}: {r.words.inline()}" for r in diff.reworded]
    lines += [
        f"re-keyed {c.subject}: reverse {str(c.old).lower()} -> {str(c.new).lower()}"
        for c in diff.rekeyed
    ]
    for m in diff.moved:
        if m.old_id != m.new_id:
            lines.append(
                f"moved {m.old_id} -> {m.new_id}: {m.old_subconstruct} -> {m.new_subconstruct}"
            )
        else:
            lines.append(f"moved {m.new_id}: construct {m.old_construct} -> {m.new_construct}")
    for group, what in (
        ("optional_changed", "optional"),
        ("type_changed", "type"),
        ("item_scale_changed", "scale"),
    ):
        lines += [f"{what} of {c.subject}: {c.old} -> {c.new}" for c in getattr(diff, group)]
    lines += [
        f"safety threshold of {c.subject}: {_threshold(c.old)} -> {_threshold(c.new)}"
        for c in diff.safety_changed
    ]
    for r in diff.reordered:
        where = "page order" if r.scope == "pages" else f"order on page {r.scope}"
        lines.append(f"{where}: {', '.join(r.old)} -> {', '.join(r.new)}")
    for s in diff.scale_changes:
        if s.change in ("added", "removed"):
            lines.append(f"response scale {s.scale} {s.change}")
        elif s.change == "options_reordered":
            lines.append(f"response scale {s.scale}: options reordered {s.old} -> {s.new}")
        else:
            labels = " -> ".join(_short(x) for x in (s.old, s.new) if x is not None)
            lines.append(
                f"response scale {s.scale}: option {s.value} {s.change.split('_')[1]} {labels}"
            )
    lines += [f"attention check added: {c.id} on page {c.page}" for c in diff.checks_added]
    lines += [f"attention check removed: {c.id}" for c in diff.checks_removed]
    lines += [
        f"attention check {c.subject}: {c.field} {_short(c.old)} -> {_short(c.new)}"
        for c in diff.checks_changed
    ]
    lines += [f"{c.field}: {_short(c.old)} -> {_short(c.new)}" for c in diff.metadata]
    for s in diff.structure:
        if s.change == "added":
            lines.append(f"{s.level} {s.code} added ({s.new})")
        elif s.change == "removed":
            lines.append(f"{s.level} {s.code} removed ({s.old})")
        elif s.change == "recoded":
            lines.append(f"{s.level} {s.old} recoded as {s.new}")
        else:
            lines.append(f"{s.level} {s.code} {s.change}: {_short(s.old)} -> {_short(s.new)}")
    return lines
