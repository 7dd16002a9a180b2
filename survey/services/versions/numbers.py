"""Version numbers: the next free number per level, and checking a chosen one."""

from __future__ import annotations

from instruments.versioning import LEVELS, bump, parse_version
from survey.models import Instrument, InstrumentVersion
from survey.services.errors import (
    InvalidVersionNumber,
)


def taken(instrument: Instrument, number: str, *, besides: InstrumentVersion | None = None) -> bool:
    return any(v.version == number and v is not besides for v in instrument.versions)


def next_free(instrument: Instrument, base: str, level: str) -> str:
    number = bump(base, level)
    while taken(instrument, number):
        number = bump(number, level)
    return number


def number_choices(version: InstrumentVersion) -> list[tuple[str, str]]:
    """``(level, number)`` for a new version from ``version``: the next unused number at
    each level (patch, minor, major)."""
    return [(level, next_free(version.instrument, version.version, level)) for level in LEVELS]


def level_between(base: str, number: str) -> str:
    old, new = parse_version(base), parse_version(number)
    if new.major != old.major:
        return "major"
    if new.minor != old.minor:
        return "minor"
    return "patch"


def check_number(
    instrument: Instrument,
    number: str,
    *,
    above: str | None,
    besides: InstrumentVersion | None = None,
) -> str:
    """``number`` stripped, if it is a well-formed, unused version above ``above``."""
    number = (number or "").strip()
    try:
        parsed = parse_version(number)
    except ValueError as error:
        raise InvalidVersionNumber(str(error)) from None
    if taken(instrument, number, besides=besides):
        raise InvalidVersionNumber(f"{instrument.key} {number} exists already; choose another")
    if above is not None and not parsed > parse_version(above):
        raise InvalidVersionNumber(
            f"{number} is not above {above}, the version this one is made from"
        )
    return number


def core(number: str) -> tuple[int, int, int]:
    v = parse_version(number)
    return v.major, v.minor, v.patch
