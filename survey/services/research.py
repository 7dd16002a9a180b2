"""The research area: which studies a user sees, the versions a new study may use.
Creating a study is :func:`survey.services.studies.create_study`; a study's figures are
:mod:`survey.services.study_dashboard`."""

from __future__ import annotations

from sqlalchemy import select

from instruments.versioning import parse_version
from survey.extensions import db
from survey.models import (
    Instrument,
    InstrumentVersion,
    Study,
    User,
)
from survey.services import study_access, versions


def studies_for(user: User) -> list[Study]:
    """The studies ``user`` may see (:func:`survey.services.study_access.studies_for`)."""
    return study_access.studies_for(user)


# The platform's own instrument: a new study's battery starts with its newest version.
MAIN_INSTRUMENT_KEY = "iemdp"


def versions_for_new_study() -> list[InstrumentVersion]:
    """The instrument versions a new study's battery may ask
    (:func:`survey.services.versions.usable_for_new_study`), by instrument key, newest
    version first within an instrument."""
    candidates = db.session.scalars(
        select(InstrumentVersion)
        .join(InstrumentVersion.instrument)
        .order_by(Instrument.key, InstrumentVersion.id)
    )
    usable = [version for version in candidates if versions.usable_for_new_study(version)]
    usable.sort(key=lambda version: parse_version(version.version).precedence, reverse=True)
    usable.sort(key=lambda version: version.instrument.key)  # stable: newest first per key
    return usable


def first_instrument_choice(choices: list[InstrumentVersion]) -> InstrumentVersion | None:
    """What a new study's "first instrument" offers first: the newest IEM-DP version among
    ``choices`` (:func:`versions_for_new_study`), else the first of them."""
    main = [version for version in choices if version.instrument.key == MAIN_INSTRUMENT_KEY]
    newest = max(main, key=lambda v: parse_version(v.version).precedence, default=None)
    return newest or (choices[0] if choices else None)
