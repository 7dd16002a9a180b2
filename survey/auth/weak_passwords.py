"""Passwords too easy to guess: the commonest ones, and the account's own e-mail address.

A password is compared in its *forms*: case-folded with the surrounding spaces removed,
and its *core*, the same without the digits and symbols at either end, since adding
``123`` or ``!`` to a common password is the first thing a guesser tries
(``Password1234`` is ``password``). The list is the 10,000 commonest passwords of zxcvbn
(``common_passwords.txt`` beside this module says where it came from).

>>> sorted(forms("  Password1234! "))
['password', 'password1234!']
>>> is_common("Password1234"), is_common("correct horse battery staple")
(True, False)
>>> resembles_email("Alice.Smith2024", "alice.smith@example.org")
True
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

__all__ = ["common_passwords", "forms", "is_common", "resembles_email"]

# Digits, punctuation, symbols and spaces at either end (\W is "not a letter or digit").
_EDGES = re.compile(r"^[\W\d_]+|[\W\d_]+$")


def forms(text: str) -> set[str]:
    """The case-folded, trimmed ``text`` and its core (without edge digits and symbols)."""
    folded = text.strip().casefold()
    return {form for form in (folded, _EDGES.sub("", folded)) if form}


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of common passwords (lower case)."""
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def is_common(password: str) -> bool:
    """Whether the password, or its core, is one of the commonest passwords."""
    return not forms(password).isdisjoint(common_passwords())


def resembles_email(password: str, email: str) -> bool:
    """Whether the password is the e-mail address or its local part (the part before the
    ``@``), in any case and with digits or symbols around it."""
    local = email.strip().rpartition("@")[0]
    own = forms(email) | (forms(local) if local else set())
    return not forms(password).isdisjoint(own)
