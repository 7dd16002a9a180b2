"""Migration 0005 numbers the consent decisions already stored and deletes none of them.

A database upgraded from 0004 may hold the duplicates of the consent race (two ``given``
rows of one participant and consent version): they are kept, numbered in the order the
service reads them (decided_at, then id), and the unique constraint holds from then on.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from survey.extensions import db
from survey.models import ConsentDecision
from survey.services import participation

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
INSERT_CONSENT = (
    "INSERT INTO consent_records (participant_id, consent_version, decision, decided_at) "
    "VALUES (:participant, :version, :decision, :at)"
)


def test_upgrade_keeps_and_numbers_duplicate_consents(app, make_study, small):
    info = make_study(small, participants=2)
    with app.app_context():
        downgrade(revision="0004")  # the study stays; consent_records loses the ordinal
        participant_ids = (
            db.session.execute(text("SELECT id FROM participants ORDER BY id")).scalars().all()
        )
        first, second = participant_ids
        rows = [
            # In id order: a double submit (the same time), a later decline, another
            # participant's rows stored out of time order, an older consent version.
            (first, "v1", "given", T0),
            (first, "v1", "given", T0),
            (first, "v1", "declined", T0 + timedelta(days=1)),
            (second, "v1", "given", T0 + timedelta(hours=2)),
            (second, "v1", "declined", T0 + timedelta(hours=1)),
            (first, "v0", "given", T0 - timedelta(days=9)),
        ]
        for row in rows:
            db.session.execute(
                text(INSERT_CONSENT),
                dict(zip(("participant", "version", "decision", "at"), row, strict=True)),
            )
        db.session.commit()

        upgrade()
        numbered = db.session.execute(
            text("SELECT ordinal FROM consent_records ORDER BY id")
        ).scalars()
        assert list(numbered) == [1, 2, 3, 2, 1, 1]
        # The latest decision is still the one the service read before the upgrade.
        invitation = participation.resolve(info.tokens[0])
        assert participation.consent_decision(invitation) == ConsentDecision.DECLINED
        assert participation.record_consent(invitation, ConsentDecision.GIVEN) is not None
        db.session.commit()
        assert db.session.scalar(text("SELECT max(ordinal) FROM consent_records WHERE id > 6")) == 4
        with pytest.raises(IntegrityError):
            db.session.execute(
                text(
                    "INSERT INTO consent_records (participant_id, consent_version, decision, "
                    "decided_at, ordinal) VALUES (:participant, 'v1', 'given', :at, 1)"
                ),
                {"participant": first, "at": T0},
            )
        db.session.rollback()

        downgrade(revision="0004")
        count = db.session.scalar(text("SELECT count(*) FROM consent_records"))
        assert count == len(rows) + 1
