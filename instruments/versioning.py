"""Semantic versions for instruments, and which version a change calls for.

A published instrument version is immutable; a draft becomes the next version. What the
next version number should be depends on what the change does to the measurement:

========  ==========================================================================
level     changes (any one of them is enough)
========  ==========================================================================
major     an item removed, re-keyed (``reverse`` flipped), moved to another
          subconstruct or construct, given another response scale or item type; a
          response scale in use whose options were added, removed, relabelled or
          reordered; a construct or subconstruct removed or recoded; a subconstruct
          moved to another construct or its orientation (``reverse``) flipped.
          Scores are no longer comparable with the old version.
minor     an item added; an item substantively reworded; an ``optional`` flag changed;
          items or pages reordered; attention checks added, removed or changed
          (except typo-level text fixes); ``shuffle_items`` changed; a construct,
          subconstruct or response scale added; a scale no entry uses changed; an
          item's ``safety_threshold`` set, removed or changed (who is flagged changes,
          the scores do not).
          Old scores remain meaningful, but responses may shift.
patch     typo-level rewording of items or attention checks (see below); edits of the
          title, intro, citation, or of construct and subconstruct names,
          descriptions, domains and page titles. Nothing a participant answers
          changes meaning.
========  ==========================================================================

Typo-level rewording
    A rewording is typo-level (:func:`is_typo_level`) when, comparing the texts word by
    word (:func:`instruments.diff.word_diff`):

    1. only case, punctuation or spacing changed; or
    2. at most :data:`MAX_TYPO_WORDS` (2) words changed, each replaced one for one by a
       *spelling variant* of itself: the two words (case and punctuation aside) are at
       most ``max(1, n // 3)`` edits apart, ``n`` the longer word's length, counting an
       insertion, deletion, substitution or swap of adjacent letters as one edit
       (``therpist`` -> ``therapist``, ``recieve`` -> ``receive``, ``replys`` ->
       ``replies``); neither word ends the other (``likely`` -> ``unlikely``, ``agree`` ->
       ``disagree`` are not spelling fixes); and neither is a negation (``not``, ``no``,
       ``never``, ``without``, any ``...n't``, ...: :data:`NEGATIONS`).

    Anything else is substantive: an inserted or deleted word, or a word replaced by
    another word. The looser rule "at most 2 changed words or a word similarity of at
    least 0.8" was rejected because it calls ``"I agree with my therapist on goals."`` ->
    ``"I disagree with my therapist on goals."`` a typo (one word, similarity 0.86); so
    is ``calm`` -> ``relaxed`` in a six-word item. The rules cannot read meaning (``hope``
    -> ``hole`` is one edit): the proposal lists its reasons for an admin to confirm or
    raise.

>>> from instruments.loader import instrument_path, load_instrument, parse_definition
>>> old = load_instrument(instrument_path("iemdp", "1.0.0"))
>>> mapping = old.source | {"version": "draft", "title": old.title + " (revised)"}
>>> proposal = propose_next_version(old, parse_definition(mapping | {"version": "1.0.1"}, "x"))
>>> proposal.version, proposal.level, proposal.reasons
('1.0.1', 'patch', ['patch: title changed'])
>>> bump("1.4.2", "minor"), bump("2.0.0-rc.1", "major")
('1.5.0', '2.0.0')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from instruments.definition import InstrumentDefinition
from instruments.diff import InstrumentDiff, WordDiff, diff_versions, word_diff

__all__ = [
    "LEVELS",
    "MAX_TYPO_WORDS",
    "NEGATIONS",
    "Proposal",
    "Version",
    "bump",
    "classify",
    "is_typo_level",
    "parse_version",
    "propose_next_version",
]

Level = Literal["patch", "minor", "major"]
LEVELS: tuple[Level, ...] = ("patch", "minor", "major")

MAX_TYPO_WORDS = 2
NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "none",
        "nothing",
        "nobody",
        "nowhere",
        "neither",
        "nor",
        "without",
        "cannot",
        "hardly",
        "rarely",
        "seldom",
    }
)


# --------------------------------------------------------------------------------------
# semantic versions
# --------------------------------------------------------------------------------------
_NUMBER = r"0|[1-9][0-9]*"
_SEMVER = re.compile(
    rf"^(?P<major>{_NUMBER})\.(?P<minor>{_NUMBER})\.(?P<patch>{_NUMBER})"
    r"(?:-(?P<pre>[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$"
)


@dataclass(frozen=True)
class Version:
    """A parsed semantic version ``MAJOR.MINOR.PATCH[-PRERELEASE]`` (semver.org 2.0.0,
    without build metadata, as the instrument loader accepts them).

    Versions compare by precedence: ``1.0.0-alpha < 1.0.0-alpha.1 < 1.0.0-beta <
    1.0.0 < 1.0.1 < 1.1.0 < 2.0.0``.

    Examples
    --------
    >>> parse_version("1.0.0-rc.1") < parse_version("1.0.0") < parse_version("1.0.10")
    True
    >>> str(parse_version("2.3.4-beta"))
    '2.3.4-beta'
    """

    major: int
    minor: int
    patch: int
    prerelease: str | None = None

    def __str__(self) -> str:
        core = f"{self.major}.{self.minor}.{self.patch}"
        return f"{core}-{self.prerelease}" if self.prerelease else core

    @property
    def precedence(self) -> tuple[object, ...]:
        """Sort key implementing semver precedence (a pre-release sorts before its
        release; numeric identifiers numerically and before alphanumeric ones)."""
        if self.prerelease is None:
            pre: tuple[object, ...] = (1,)
        else:
            pre = (
                0,
                *(
                    (0, int(part), "") if part.isdigit() else (1, 0, part)
                    for part in self.prerelease.split(".")
                ),
            )
        return (self.major, self.minor, self.patch, pre)

    def __lt__(self, other: Version) -> bool:
        return self.precedence < other.precedence

    def __le__(self, other: Version) -> bool:
        return self.precedence <= other.precedence

    def __gt__(self, other: Version) -> bool:
        return self.precedence > other.precedence

    def __ge__(self, other: Version) -> bool:
        return self.precedence >= other.precedence


def parse_version(text: str) -> Version:
    """Parse ``MAJOR.MINOR.PATCH[-PRERELEASE]``.

    Parameters
    ----------
    text : str

    Returns
    -------
    Version

    Raises
    ------
    ValueError
        With a message saying what is wrong: not a string, build metadata, the wrong
        number of parts, a non-numeric part, a leading zero, a malformed pre-release.

    Examples
    --------
    >>> parse_version("1.2.3")
    Version(major=1, minor=2, patch=3, prerelease=None)
    >>> parse_version("1.2")
    Traceback (most recent call last):
    ...
    ValueError: '1.2' is not a semantic version: expected MAJOR.MINOR.PATCH (three numbers \
separated by dots, e.g. 1.0.0), got 2 parts
    """
    if not isinstance(text, str):
        raise ValueError(f"a version must be a string such as '1.0.0', got {type(text).__name__}")
    match = _SEMVER.fullmatch(text)
    if match:
        return Version(int(match["major"]), int(match["minor"]), int(match["patch"]), match["pre"])
    raise ValueError(f"{text!r} is not a semantic version: {_why_not(text)}")


def _why_not(text: str) -> str:
    if not text.strip():
        return "it is empty"
    if text != text.strip():
        return "remove the surrounding spaces"
    if "+" in text:
        return (
            "build metadata ('+...') is not accepted; use a pre-release ('-rc.1') or a new version"
        )
    core, _, pre = text.partition("-")
    parts = core.split(".")
    if len(parts) != 3:
        return (
            "expected MAJOR.MINOR.PATCH (three numbers separated by dots, e.g. 1.0.0), "
            f"got {len(parts)} part{'' if len(parts) == 1 else 's'}"
        )
    for name, part in zip(("MAJOR", "MINOR", "PATCH"), parts, strict=True):
        if not part.isdigit() or not part.isascii():
            return f"{name} must be a non-negative whole number, got {part!r}"
        if len(part) > 1 and part.startswith("0"):
            return f"{name} must not have leading zeros, got {part!r}"
    return (
        f"the pre-release {pre!r} must be dot-separated identifiers of letters, digits "
        "and '-' (e.g. rc.1)"
    )


def bump(version: str, level: str) -> str:
    """The next version at ``level``.

    A release bumps as usual (``1.2.3`` -> ``1.2.4`` / ``1.3.0`` / ``2.0.0``). A
    pre-release is released by the bump it anticipates: ``1.2.3-rc.1`` -> ``1.2.3`` for
    any level that the pre-release already covers (patch always; minor when PATCH is 0;
    major when MINOR and PATCH are 0), else the bump of its core.

    Parameters
    ----------
    version : str
        A semantic version.
    level : {"patch", "minor", "major"}

    Returns
    -------
    str

    Raises
    ------
    ValueError
        For a malformed ``version`` or an unknown ``level``.

    Examples
    --------
    >>> [bump("1.2.3", level) for level in ("patch", "minor", "major")]
    ['1.2.4', '1.3.0', '2.0.0']
    >>> bump("1.3.0-rc.2", "minor"), bump("1.3.1-rc.2", "minor"), bump("1.3.1-rc.2", "patch")
    ('1.3.0', '1.4.0', '1.3.1')
    """
    if level not in LEVELS:
        raise ValueError(f"unknown level {level!r}: choose one of {', '.join(LEVELS)}")
    v = parse_version(version)
    pre = v.prerelease is not None
    if level == "major":
        if pre and v.minor == 0 and v.patch == 0:
            return f"{v.major}.0.0"
        return f"{v.major + 1}.0.0"
    if level == "minor":
        if pre and v.patch == 0:
            return f"{v.major}.{v.minor}.0"
        return f"{v.major}.{v.minor + 1}.0"
    if pre:
        return f"{v.major}.{v.minor}.{v.patch}"
    return f"{v.major}.{v.minor}.{v.patch + 1}"


# --------------------------------------------------------------------------------------
# proposals
# --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Proposal:
    """The proposed next version and why.

    Attributes
    ----------
    version : str
        ``bump(old.version, level)``.
    level : {"patch", "minor", "major"}
        The highest level any change calls for.
    reasons : list of str
        One line per change, ``"<level>: <what changed>"``, highest level first.
    """

    version: str
    level: Level
    reasons: list[str]


def is_typo_level(words: WordDiff) -> bool:
    """Is a rewording small enough for a patch version? (Rules in the module docstring.)

    Examples
    --------
    >>> is_typo_level(word_diff("I trust my therpist.", "I trust my therapist."))
    True
    >>> is_typo_level(word_diff("I trust my therapist.", "I distrust my therapist."))
    False
    >>> is_typo_level(word_diff("I can find time to reply.", "I cannot find time to reply."))
    False
    """
    if words.cosmetic:
        return True
    pairs = words.replacements()
    return (
        bool(pairs)
        and len(pairs) <= MAX_TYPO_WORDS
        and all(_spelling_variant(old, new) for old, new in pairs)
    )


def _bare(word: str) -> str:
    return re.sub(r"[^\w']", "", word.casefold().replace("\u2019", "'"))


def _is_negation(word: str) -> bool:
    bare = _bare(word)
    return bare in NEGATIONS or bare.endswith("n't")


def _spelling_variant(old: str, new: str) -> bool:
    a, b = _bare(old), _bare(new)
    if a == b:
        return True
    if not a or not b or a.endswith(b) or b.endswith(a) or _is_negation(a) or _is_negation(b):
        return False
    return _edit_distance(a, b) <= max(1, max(len(a), len(b)) // 3)


def _edit_distance(a: str, b: str) -> int:
    """Optimal string alignment distance: insertions, deletions, substitutions and swaps
    of adjacent characters each cost 1 (Damerau 1964, doi:10.1145/363958.363994)."""
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], previous2[j - 2] + 1)
        previous2, previous = previous, current
    return previous[len(b)]


def classify(
    diff: InstrumentDiff, old: InstrumentDefinition, new: InstrumentDefinition
) -> list[tuple[Level, str]]:
    """Every change in ``diff`` with the level it calls for, as ``(level, description)``.

    ``old`` and ``new`` are the compared definitions (needed to tell whether a changed
    response scale is in use).
    """
    out: list[tuple[Level, str]] = []
    add = out.append
    for item in diff.items_removed:
        add(("major", f"item {item.id} removed"))
    for change in diff.rekeyed:
        add(
            (
                "major",
                f"item {change.subject} re-keyed "
                f"(reverse {_flag(change.old)} -> {_flag(change.new)})",
            )
        )
    for move in diff.moved:
        if move.old_id != move.new_id:
            add(
                (
                    "major",
                    f"item {move.old_id} moved from {move.old_subconstruct} to "
                    f"{move.new_subconstruct} as {move.new_id}",
                )
            )
        else:
            add(
                (
                    "major",
                    f"item {move.new_id} moved from construct {move.old_construct} to "
                    f"{move.new_construct}",
                )
            )
    for change in diff.item_scale_changed:
        add(("major", f"item {change.subject} response scale {change.old} -> {change.new}"))
    for change in diff.type_changed:
        add(("major", f"item {change.subject} type {change.old} -> {change.new}"))
    used = {e.scale for d in (old, new) for e in (*d.items, *d.attention_checks)}
    for change in diff.scale_changes:
        if change.change == "added":
            add(("minor", f"response scale {change.scale} added"))
        elif change.change == "removed":
            add(("minor", f"response scale {change.scale} removed"))
        else:
            what = change.change.replace("_", " ")
            option = f" {change.value}" if change.value is not None else ""
            text = f"response scale {change.scale}: {what}{option}"
            if change.scale in used:
                add(("major", text))
            else:
                add(("minor", text + " (scale not in use)"))
    for s in diff.structure:
        if s.change in ("removed", "recoded", "moved", "reverse"):
            detail = {
                "removed": "removed",
                "recoded": f"recoded {s.old} -> {s.new}",
                "moved": f"moved from construct {s.old} to {s.new}",
                "reverse": f"orientation (reverse) {s.old} -> {s.new}",
            }[s.change]
            add(("major", f"{s.level} {s.code} {detail}"))
        elif s.change == "added":
            add(("minor", f"{s.level} {s.code} added"))
        else:
            add(("patch", f"{s.level} {s.code} {s.change}"))
    for item in diff.items_added:
        add(("minor", f"item {item.id} added"))
    for rewording in diff.reworded:
        words = rewording.words
        detail = f"{words.changed_words} word(s) changed, similarity {words.similarity:.2f}"
        if is_typo_level(words):
            add(("patch", f"item {rewording.id} reworded, typo-level ({detail})"))
        else:
            add(("minor", f"item {rewording.id} reworded substantively ({detail})"))
    for change in diff.optional_changed:
        add(("minor", f"item {change.subject} optional {change.old} -> {change.new}"))
    for change in diff.safety_changed:
        add(("minor", f"item {change.subject} safety threshold {change.old} -> {change.new}"))
    for reordering in diff.reordered:
        where = "pages" if reordering.scope == "pages" else f"items on page {reordering.scope}"
        add(("minor", f"{where} reordered"))
    for check in diff.checks_added:
        add(("minor", f"attention check {check.id} added"))
    for check in diff.checks_removed:
        add(("minor", f"attention check {check.id} removed"))
    for change in diff.checks_changed:
        if change.field == "text" and is_typo_level(word_diff(change.old, change.new)):
            add(("patch", f"attention check {change.subject} reworded, typo-level"))
        else:
            add(("minor", f"attention check {change.subject} {change.field} changed"))
    for change in diff.metadata:
        level: Level = "minor" if change.field in ("shuffle_items", "key") else "patch"
        add((level, f"{change.field} changed"))
    return out


def propose_next_version(old: InstrumentDefinition, new: InstrumentDefinition) -> Proposal:
    """Propose the version number of ``new`` as the successor of ``old``.

    Parameters
    ----------
    old : InstrumentDefinition
        The latest published version.
    new : InstrumentDefinition
        The draft (its own ``version`` is ignored).

    Returns
    -------
    Proposal
        The highest level any change calls for (rules in the module docstring), the
        version ``bump(old.version, level)`` and the reasons, highest level first.

    Raises
    ------
    ValueError
        When the two are different instruments (keys differ) or have the same content
        (nothing to version).
    """
    if old.key != new.key:
        raise ValueError(
            f"cannot version {new.key!r} as a successor of {old.key!r}: different instruments"
        )
    diff = diff_versions(old, new)
    if diff.is_empty:
        raise ValueError(
            f"nothing to version: the draft has the same content as {old.key} {old.version}"
        )
    levels = classify(diff, old, new)
    level = max((lv for lv, _ in levels), key=LEVELS.index)
    ordered = sorted(levels, key=lambda entry: -LEVELS.index(entry[0]))  # stable within level
    return Proposal(
        version=bump(old.version, level),
        level=level,
        reasons=[f"{lv}: {text}" for lv, text in ordered],
    )


def _flag(value: object) -> str:
    return str(value).lower()  # as written in the file: true / false
