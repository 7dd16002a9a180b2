"""The audit log: record an action, query the log, export it as CSV.

``record`` adds and flushes, never commits: the event is stored in the same transaction
as the change it describes, or not at all.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, select

from instruments import canonical_json as canonical
from instruments.csv_cells import csv_text
from survey.extensions import db
from survey.models import (
    AuditEvent,
    Instrument,
    InstrumentVersion,
    Participant,
    Study,
    User,
    utcnow,
)
from survey.models.participant import participant_code

CSV_COLUMNS = (
    "id",
    "occurred_at",
    "actor_id",
    "actor_email",
    "action",
    "target_type",
    "target_id",
    "hash_before",
    "hash_after",
    "details",
)
# No password (or anything named like one) may enter the log, not even by mistake.
_FORBIDDEN_DETAIL = "password"


def content_hash(data: Any) -> str:
    """SHA-256 (hex) of ``data`` as canonical JSON (:mod:`instruments.canonical_json`)."""
    return canonical.content_hash(data)


def text_hash(text: str) -> str:
    """SHA-256 (hex) of ``text`` as UTF-8: what `sha256sum` prints for a downloaded file."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def record(
    action: str,
    *,
    actor: User | None,
    target_type: str,
    target_id: str | int | None = None,
    hash_before: str | None = None,
    hash_after: str | None = None,
    details: dict | None = None,
    actor_email: str | None = None,
    api_key_id: int | None = None,
    now: datetime | None = None,
) -> AuditEvent:
    """Add one event to the log (flushed, not committed) and return it.

    ``actor_email`` defaults to the actor's address; pass it without an actor for events
    whose actor is not known (a failed login records the address that was tried).
    ``api_key_id`` names the API key a machine used (the key itself is never recorded).
    """
    details = dict(details or {})
    _check_details(details)
    event = AuditEvent(
        occurred_at=now or utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_email=actor_email if actor_email is not None else (actor.email if actor else None),
        action=action,
        target_type=target_type,
        target_id=None if target_id is None else str(target_id),
        hash_before=hash_before,
        hash_after=hash_after,
        details=details,
        api_key_id=api_key_id,
    )
    db.session.add(event)
    db.session.flush()
    return event


def _check_details(details: Any) -> None:
    if isinstance(details, dict):
        for key, value in details.items():
            if _FORBIDDEN_DETAIL in str(key).lower():
                raise ValueError(f"audit details must not hold a password (key {key!r})")
            _check_details(value)
    elif isinstance(details, list | tuple):
        for value in details:
            _check_details(value)


@dataclass(frozen=True)
class EventFilter:
    """What an admin filters the log by; every field is optional.

    ``actor`` matches a part of the actor's e-mail address (case-insensitive); the target
    type and id match exactly; the dates are inclusive days in UTC.
    """

    actor: str | None = None
    action: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    date_from: date | None = None
    date_to: date | None = None

    def statement(self) -> Select[tuple[AuditEvent]]:
        query = select(AuditEvent)
        if self.actor:
            pattern = f"%{_escape_like(self.actor.strip().lower())}%"
            query = query.where(func.lower(AuditEvent.actor_email).like(pattern, escape="\\"))
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.target_type:
            query = query.where(AuditEvent.target_type == self.target_type)
        if self.target_id:
            query = query.where(AuditEvent.target_id == str(self.target_id))
        if self.date_from:
            query = query.where(AuditEvent.occurred_at >= _start_of(self.date_from))
        if self.date_to:
            query = query.where(AuditEvent.occurred_at < _start_of(self.date_to + timedelta(1)))
        return query


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)


def query_events(
    event_filter: EventFilter | None = None, *, limit: int | None = None, **fields: Any
) -> list[AuditEvent]:
    """Events matching the filter, newest first (at most ``limit``).

    Pass an :class:`EventFilter` or its fields as keywords:
    ``query_events(action="version_published", target_type="instrument_version")``.
    """
    if event_filter is None:
        event_filter = EventFilter(**fields)
    elif fields:
        raise TypeError("pass an EventFilter or filter keywords, not both")
    query = event_filter.statement().order_by(AuditEvent.occurred_at.desc(), AuditEvent.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def known_actions() -> list[str]:
    """Every action that occurs in the log, sorted (for the filter's choices)."""
    return list(db.session.scalars(select(AuditEvent.action).distinct().order_by("action")))


def events_csv(events: Iterable[AuditEvent]) -> str:
    """The events as CSV, one row each, in the order given; details as JSON."""
    return csv_text(CSV_COLUMNS, (_csv_row(event) for event in events))


def _csv_row(event: AuditEvent) -> Sequence[object]:
    return (
        event.id,
        event.occurred_at.isoformat(),
        event.actor_id,
        event.actor_email,
        event.action,
        event.target_type,
        event.target_id,
        event.hash_before,
        event.hash_after,
        json.dumps(event.details or {}, sort_keys=True, ensure_ascii=False),
    )


# -- display: what a target is called -------------------------------------------------------
# A title ending in an abbreviation in parentheses is shown by it: "... Questionnaire (IEM-DP)".
_ABBREVIATION_RE = re.compile(r"\(([^()]{1,30})\)\s*$")


def target_ref(event: AuditEvent) -> str:
    """The stored reference of an event's target, ``type:id`` (or the type alone)."""
    if event.target_id is None:
        return event.target_type
    return f"{event.target_type}:{event.target_id}"


def target_names(events: Iterable[AuditEvent]) -> dict[str, str]:
    """What the targets of ``events`` are called, keyed by :func:`target_ref`.

    One query per target type, whatever the number of events: an instrument version is
    "IEM-DP 1.0.0 (iemdp)", a study its name, a user the e-mail address. A target that no
    longer exists (a discarded draft) is named from the event's details when they say; a
    target with no name is left out (show the reference).
    """
    events = list(events)
    ids: dict[str, set[int]] = {}
    for event in events:
        if event.target_id is not None and event.target_id.isdigit():
            ids.setdefault(event.target_type, set()).add(int(event.target_id))
    names: dict[str, str] = {}
    for target_type, lookup in _NAME_LOOKUPS.items():
        if ids.get(target_type):
            for target_id, name in lookup(sorted(ids[target_type])):
                names[f"{target_type}:{target_id}"] = name
    for event in events:
        ref = target_ref(event)
        if ref not in names and event.target_id is not None:
            fallback = _name_from_details(event)
            if fallback:
                names[ref] = fallback
    return names


def short_title(title: str) -> str:
    """An instrument's title as the log shows it: its trailing abbreviation, if any."""
    found = _ABBREVIATION_RE.search(title)
    return found.group(1).strip() if found else title


def _version_names(ids: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = db.session.execute(
        select(InstrumentVersion.id, InstrumentVersion.version, Instrument.key, Instrument.title)
        .join(Instrument, InstrumentVersion.instrument_id == Instrument.id)
        .where(InstrumentVersion.id.in_(ids))
    )
    for version_id, number, key, title in rows:
        yield version_id, f"{short_title(title)} {number} ({key})"


def _study_names(ids: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = db.session.execute(select(Study.id, Study.name).where(Study.id.in_(ids)))
    return [(study_id, name) for study_id, name in rows]


def _user_names(ids: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = db.session.execute(select(User.id, User.email).where(User.id.in_(ids)))
    return [(user_id, email) for user_id, email in rows]


def _participant_names(ids: Sequence[int]) -> Iterable[tuple[int, str]]:
    rows = db.session.execute(
        select(Participant.id, Study.name)
        .join(Study, Study.id == Participant.study_id)
        .where(Participant.id.in_(ids))
    )
    return [(pid, f"{participant_code(pid)} of {name}") for pid, name in rows]


_NAME_LOOKUPS = {
    "instrument_version": _version_names,
    "study": _study_names,
    "user": _user_names,
    "participant": _participant_names,
}


def _name_from_details(event: AuditEvent) -> str | None:
    details = event.details or {}
    if event.target_type == "instrument_version" and details.get("key"):
        if details.get("version"):
            return f"{details['key']} {details['version']}"
    if event.target_type == "user" and details.get("email"):
        return str(details["email"])
    return None


__all__ = [
    "CSV_COLUMNS",
    "EventFilter",
    "content_hash",
    "events_csv",
    "known_actions",
    "query_events",
    "record",
    "short_title",
    "target_names",
    "target_ref",
    "text_hash",
]
