"""Variable names that SPSS and Stata accept, made from the names of the CSV exports.

The CSV exports name an item by its id (``OE_BEN_1``) or, in a battery of several
instruments, by ``<instrument key>.<item id>`` (``mood_screener.MD_LOW_4``; see
:func:`survey.services.study_data.battery_columns`). Stata allows neither ``.`` nor ``-`` in
a name, and at most 32 characters; SPSS allows at most 64 bytes and reserves a few words.
One name that both accept is made for every column (the codebook lists both names):

1. every character other than ASCII letters, digits and ``_`` becomes ``_``
   (``mood_screener.MD_LOW_4`` → ``mood_screener_MD_LOW_4``);
2. a name that does not start with a letter gets a leading ``v`` (``1st`` → ``v1st``);
3. a word Stata or SPSS reserves (``in``, ``if``, ``_n``, ``and``, ``to``, ...) gets a
   trailing ``_``;
4. a name longer than 32 characters is cut to 32;
5. a name already taken (compared without case: SPSS does not tell ``a`` from ``A``) gets
   ``_2``, ``_3``, ... in place of its last characters, staying within 32.

>>> names = SafeNames()
>>> [names.add(n) for n in ("participant", "mood_screener.MD_LOW_4", "in", "x" * 40)]
['participant', 'mood_screener_MD_LOW_4', 'in_', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx']
>>> names.add("x" * 41), names.add("IN")
('xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx_2', 'IN__2')
"""

from __future__ import annotations

import re

__all__ = ["MAX_LENGTH", "RESERVED", "SafeNames", "safe_name"]

MAX_LENGTH = 32
"""Stata's limit (SPSS allows 64 bytes): the stricter of the two."""

RESERVED = frozenset(
    {
        # Stata (help reswords)
        "_all", "_b", "byte", "_coef", "_cons", "double", "float", "if", "in", "int", "long",
        "_n", "_pi", "_pred", "_rc", "_skip", "strl", "using", "with",
        # SPSS (reserved keywords)
        "all", "and", "by", "eq", "ge", "gt", "le", "lt", "ne", "not", "or", "to",
    }
)  # fmt: skip
"""Words neither program accepts as a variable name (compared in lower case)."""

_NOT_ALLOWED = re.compile(r"[^A-Za-z0-9_]")
_STATA_STR_TYPE = re.compile(r"str[0-9]+\Z")


def safe_name(name: str) -> str:
    """``name`` after rules 1 to 4 of the module docstring (uniqueness is :class:`SafeNames`').

    >>> safe_name("iemdp.OE_BEN_1"), safe_name("wave-2"), safe_name("_n"), safe_name("to")
    ('iemdp_OE_BEN_1', 'wave_2', 'v_n', 'to_')
    """
    text = _NOT_ALLOWED.sub("_", name) or "v"
    if not text[0].isalpha():
        text = "v" + text
    lowered = text.lower()
    if lowered in RESERVED or _STATA_STR_TYPE.match(lowered):
        text += "_"
    return text[:MAX_LENGTH]


class SafeNames:
    """Hands out names unique without regard to case, in the order asked."""

    def __init__(self) -> None:
        self._taken: set[str] = set()
        self.mapping: dict[str, str] = {}

    def add(self, name: str) -> str:
        """The safe name for ``name`` (the same one when asked again)."""
        if name in self.mapping:
            return self.mapping[name]
        base = safe_name(name)
        candidate, number = base, 1
        while candidate.lower() in self._taken:
            number += 1
            suffix = f"_{number}"
            candidate = base[: MAX_LENGTH - len(suffix)] + suffix
        self._taken.add(candidate.lower())
        self.mapping[name] = candidate
        return candidate
