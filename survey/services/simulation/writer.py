"""Bulk writes of simulated participants into the database: flush, never commit.

One :func:`write_sample` call stores a :class:`~survey.services.simulation.population.Sample`
as the participant path would have: a participant per row (``simulated`` true, a random
token hash nobody holds, enrolled by invitation), their consent (given, the study's
consent version, at enrolment), a session per attended wave, a page visit per page shown
(submitted pages with ``first_shown_at`` / ``submitted_at`` the sample's page time apart,
the page after the last submitted one of an incomplete session shown and never
submitted), an answer per entry of each submitted page (delivery mode ``chat`` for the
sample's chat participants, else ``web``) and a safety alert per answer at or above a
safety item's threshold (as :func:`survey.services.participation.save_page` raises them).

Participants, consents and sessions go in through Core executemany ("insertmanyvalues"),
the participants' and sessions' ids coming back through RETURNING in parameter order; page
visits, answers and alerts straight to the driver (:class:`_Batch`: ``executemany`` on
SQLite, ``COPY`` on PostgreSQL).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Table, insert

from survey.extensions import db
from survey.models import (
    Answer,
    ConsentDecision,
    ConsentRecord,
    DeliveryMode,
    EnrolledVia,
    PageVisit,
    Participant,
    ResponseSession,
    SafetyAlert,
    Study,
    Wave,
)
from survey.models.types import UTCDateTime
from survey.services import tokens
from survey.services.simulation.population import Population, Sample

# Seconds between submitting a page and the next one being shown (the page loads).
PAGE_GAP_SECONDS = 2.0
# A link is made this long before its participant enrols (never before the recruitment).
LINK_LEAD_DAYS = 2.0
# Rows per executemany: bounds the memory of the parameter lists.
ROWS_PER_BATCH = 20_000
VISIT_COLUMNS = (
    "session_id",
    "instrument_version_id",
    "page_key",
    "first_shown_at",
    "last_shown_at",
    "submitted_at",
    "submit_count",
)
ANSWER_COLUMNS = (
    "session_id",
    "instrument_version_id",
    "item_id",
    "page_key",
    "value",
    "answered_at",
    "updated_at",
    "delivery_mode",
)
ALERT_COLUMNS = (
    "study_id",
    "participant_id",
    "session_id",
    "instrument_version_id",
    "item_id",
    "value",
    "threshold",
    "raised_at",
)


@dataclass(frozen=True)
class Written:
    """What one sample became: participant ids (sample order), the session id of each
    attended (wave, participant), and how many page visits and answers were stored."""

    participant_ids: list[int]
    session_ids: dict[tuple[int, int], int]
    page_visits: int
    answers: int
    safety_alerts: int


class _Batch:
    """Rows of one table as tuples of driver values, written ROWS_PER_BATCH at a time.

    Answers and page visits are most of a simulation's rows. They bypass the ORM: each
    value is converted by its column type's bind processor (:meth:`at` for times, once per
    page rather than once per answer), so the database stores exactly what the ORM would
    have stored, and the rows go to the driver in bulk: ``executemany`` of one INSERT on
    SQLite (in-process, fast), ``COPY ... FROM STDIN`` on PostgreSQL (an executemany there
    is a round trip per row).
    """

    def __init__(self, table: Table, columns: Sequence[str]) -> None:
        connection = db.session.connection()
        dialect = connection.dialect
        self.copy = dialect.name == "postgresql"
        if self.copy:
            self.statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
        else:
            marker = "?" if dialect.paramstyle == "qmark" else "%s"
            self.statement = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) "
                f"VALUES ({', '.join([marker] * len(columns))})"
            )
        self._time = UTCDateTime().dialect_impl(dialect).bind_processor(dialect) or (
            lambda value: value
        )
        self.rows: list[tuple[object, ...]] = []
        self.count = 0

    def at(self, value: datetime | None) -> object:
        """A time as the driver takes it (as :class:`UTCDateTime` binds it)."""
        return None if value is None else self._time(value)

    def add(self, row: tuple[object, ...]) -> None:
        self.extend((row,))

    def extend(self, rows: Iterable[tuple[object, ...]]) -> None:
        self.rows.extend(rows)
        if len(self.rows) >= ROWS_PER_BATCH:
            self.flush()

    def flush(self) -> None:
        if not self.rows:
            return
        connection = db.session.connection()
        if self.copy:
            # psycopg 3 on the session's connection, inside its transaction.
            with connection.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
                with cursor.copy(self.statement) as copy:
                    for row in self.rows:
                        copy.write_row(row)
        else:
            connection.exec_driver_sql(self.statement, self.rows)
        self.count += len(self.rows)
        self.rows = []


def write_sample(
    study: Study,
    population: Population,
    sample: Sample,
    *,
    waves: Sequence[Wave],
    version_ids: Sequence[int],
    start: datetime,
) -> Written:
    """Store ``sample`` in ``study`` at ``waves`` (one per sample wave, in order);
    ``version_ids`` are the battery's instrument version ids (population instrument
    order); times count from ``start`` (the beginning of recruitment)."""
    participant_ids = _insert_participants(study, sample, start)
    _insert_consents(study, sample, participant_ids, start)
    session_ids = _insert_sessions(population, sample, participant_ids, waves, start)
    visits, answers, alerts = _insert_pages(
        study, population, sample, participant_ids, session_ids, version_ids, start
    )
    db.session.flush()
    return Written(participant_ids, session_ids, visits, answers, alerts)


def _insert_returning_ids(table: Table, rows: list[dict[str, object]]) -> list[int]:
    """Insert ``rows`` (Core executemany, batched with RETURNING) and return their ids in
    the rows' order. Core rather than the ORM's bulk insert: that splits the rows into a
    statement per run of rows with the same empty columns (e.g. ``completed_at``)."""
    if not rows:
        return []
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(db.session.scalars(statement, rows))


def _at(start: datetime, days: float) -> datetime:
    return start + timedelta(days=float(days))


def _insert_participants(study: Study, sample: Sample, start: datetime) -> list[int]:
    rows = []
    for i in range(sample.n):
        enrolled = _at(start, sample.enrol_days[i])
        rows.append(
            {
                "study_id": study.id,
                # A hash of a token that is never shown: nobody can open this link.
                "token_hash": tokens.hash_token(tokens.generate_token()),
                "created_at": max(start, enrolled - timedelta(days=LINK_LEAD_DAYS)),
                "enrolled_at": enrolled,
                "enrolled_via": EnrolledVia.INVITATION,
                "excluded": False,
                "item_order_seed": int(sample.item_order_seed[i]),
                "simulated": True,
            }
        )
    return _insert_returning_ids(Participant.__table__, rows)


def _insert_consents(
    study: Study, sample: Sample, participant_ids: list[int], start: datetime
) -> None:
    db.session.execute(
        insert(ConsentRecord.__table__),
        [
            {
                "participant_id": participant_id,
                "consent_version": study.consent_version,
                "ordinal": 1,
                "decision": ConsentDecision.GIVEN,
                "decided_at": _at(start, sample.enrol_days[i]),
            }
            for i, participant_id in enumerate(participant_ids)
        ],
    )


def _session_times(
    sample: Sample, w: int, i: int, start: datetime
) -> tuple[datetime, list[tuple[datetime, datetime | None]]]:
    """When the session started and (first shown, submitted) of every page shown."""
    began = _at(start, sample.start_days[w, i])
    pages: list[tuple[datetime, datetime | None]] = []
    shown = began
    total = sample.page_seconds.shape[2]
    for p in range(min(int(sample.pages_submitted[w, i]) + 1, total)):
        seconds = sample.page_seconds[w, i, p]
        if math.isnan(seconds):
            pages.append((shown, None))
            break
        submitted = shown + timedelta(seconds=float(seconds))
        pages.append((shown, submitted))
        shown = submitted + timedelta(seconds=PAGE_GAP_SECONDS)
    return began, pages


def _insert_sessions(
    population: Population,
    sample: Sample,
    participant_ids: list[int],
    waves: Sequence[Wave],
    start: datetime,
) -> dict[tuple[int, int], int]:
    keys: list[tuple[int, int]] = []
    rows = []
    total = len(population.pages)
    for i, participant_id in enumerate(participant_ids):
        for w, wave in enumerate(waves):
            if not sample.present[w, i]:
                continue
            began, pages = _session_times(sample, w, i, start)
            complete = int(sample.pages_submitted[w, i]) == total
            keys.append((w, i))
            rows.append(
                {
                    "participant_id": participant_id,
                    "wave_id": wave.id,
                    "started_at": began,
                    "completed_at": pages[-1][1] if complete else None,
                    "current_page": population.pages[len(pages) - 1].key,
                }
            )
    return dict(zip(keys, _insert_returning_ids(ResponseSession.__table__, rows), strict=True))


def _insert_pages(
    study: Study,
    population: Population,
    sample: Sample,
    participant_ids: list[int],
    session_ids: dict[tuple[int, int], int],
    version_ids: Sequence[int],
    start: datetime,
) -> tuple[int, int, int]:
    visits = _Batch(PageVisit.__table__, VISIT_COLUMNS)
    answers = _Batch(Answer.__table__, ANSWER_COLUMNS)
    alerts = _Batch(SafetyAlert.__table__, ALERT_COLUMNS)
    items, checks = population.items, population.checks
    for (w, i), session_id in session_ids.items():
        _began, pages = _session_times(sample, w, i, start)
        mode = DeliveryMode.CHAT if sample.chat[i] else DeliveryMode.WEB
        values = sample.answers[w, i]
        check_values = sample.checks[w, i]
        for p, (shown, submitted) in enumerate(pages):
            page = population.pages[p]
            version_id = version_ids[page.instrument]
            shown_at, submitted_at = visits.at(shown), visits.at(submitted)
            visits.add(
                (
                    session_id,
                    version_id,
                    page.key,
                    shown_at,
                    shown_at,
                    submitted_at,
                    0 if submitted is None else 1,
                )
            )
            if submitted is None:
                continue
            entries = [(items[j].item_id, values[j]) for j in page.items] + [
                (checks[a].check_id, check_values[a]) for a in page.checks
            ]
            answers.extend(
                (
                    session_id,
                    version_id,
                    entry_id,
                    page.key,
                    None if math.isnan(value) else int(value),
                    submitted_at,
                    submitted_at,
                    mode,
                )
                for entry_id, value in entries
            )
            for j in page.items:
                threshold = items[j].safety_threshold
                if threshold is not None and not math.isnan(values[j]) and values[j] >= threshold:
                    alerts.add(
                        (
                            study.id,
                            participant_ids[i],
                            session_id,
                            version_id,
                            items[j].item_id,
                            int(values[j]),
                            threshold,
                            submitted_at,
                        )
                    )
    for batch in (visits, answers, alerts):
        batch.flush()
    return visits.count, answers.count, alerts.count
