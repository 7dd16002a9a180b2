"""The exports page: what each file is, the counts and the simulated marker before the
download, a GET form, and downloads that send their SHA-256."""

from __future__ import annotations

import csv
import hashlib
import io
import re

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, Study, User
from survey.services.exports import KINDS


@pytest.fixture
def owner_client(app, researcher_client, export_world):
    with app.app_context():
        study = db.session.get(Study, export_world.study_id)
        study.owner_id = db.session.scalar(
            select(User.id).where(User.email == "researcher@example.org")
        )
        db.session.commit()
    return researcher_client


def test_the_page_says_what_is_left_out_and_offers_every_file(app, owner_client, export_world):
    response = owner_client.get(f"/research/studies/{export_world.study_id}/exports")
    assert response.status_code == 200
    body = response.get_data(as_text=True)
    text = re.sub(r"\s+", " ", body)
    assert "5 sessions (participant × wave) in all waves." in text
    assert "1 excluded session left out of the files" in text
    assert "The files hold 4 rows." in text
    assert "Simulated data: 1 of these rows are simulated participants" in text
    assert '<option selected value="">All waves</option>' in body
    assert 'id="include_excluded" name="include_excluded" type="checkbox" value="y">' in body
    for kind in KINDS.values():
        assert kind.title in body
        url = f"/research/studies/{export_world.study_id}/exports/{kind.key.replace('_', '-')}"
        assert f'formaction="{url}"' in body
    assert 'aria-current="page">Exports</a>' in body


def test_the_counts_follow_the_choices(app, owner_client, export_world):
    url = f"/research/studies/{export_world.study_id}/exports?wave=week-4"
    text = re.sub(r"\s+", " ", owner_client.get(url).get_data(as_text=True))
    assert "1 session (participant × wave) at wave week-4. No session is excluded." in text
    assert "Simulated data" not in text
    url = f"/research/studies/{export_world.study_id}/exports?include_excluded=y"
    text = re.sub(r"\s+", " ", owner_client.get(url).get_data(as_text=True))
    assert "1 excluded session included, marked <code>excluded</code> = 1." in text


@pytest.mark.parametrize("kind", list(KINDS))
def test_each_download_sends_its_sha256(app, owner_client, export_world, kind):
    slug = kind.replace("_", "-")
    response = owner_client.get(f"/research/studies/{export_world.study_id}/exports/{slug}")
    assert response.status_code == 200
    body = response.get_data()
    digest = hashlib.sha256(body).hexdigest()
    assert response.headers["X-Content-SHA256"] == digest
    assert response.headers["Content-Length"] == str(len(body))
    assert response.mimetype == KINDS[kind].media_type
    expected_name = f"{export_world.slug}{KINDS[kind].ending}"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{expected_name}"'
    with app.app_context():
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_downloaded")
        )
        assert event.hash_after == digest and event.actor_email == "researcher@example.org"
        assert event.details["export"] == kind and event.details["excluded_left_out"] == 1


def test_a_download_with_the_choices(app, owner_client, export_world):
    url = f"/research/studies/{export_world.study_id}/exports/wide?wave=baseline&include_excluded=y"
    response = owner_client.get(url)
    assert response.status_code == 200
    name = f"{export_world.slug}-baseline-with-excluded-wide.csv"
    assert response.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["excluded"] for r in rows] == ["0", "0", "1", "0"]


def test_an_unknown_wave_is_said_next_to_the_field(app, owner_client, export_world):
    url = f"/research/studies/{export_world.study_id}/exports/sav?wave=week-99"
    response = owner_client.get(url)
    assert response.status_code == 400
    body = response.get_data(as_text=True)
    assert '<span class="field-error" id="wave-error">Not a valid choice.</span>' in body
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export_downloaded"))
            is None
        )


def test_the_old_answers_csv_url_sends_the_wide_csv(app, owner_client, export_world):
    response = owner_client.get(f"/research/studies/{export_world.study_id}/answers.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert list(rows[0])[:3] == ["participant", "wave", "excluded"]
    assert len(rows) == 4
    assert response.headers["X-Content-SHA256"] == hashlib.sha256(response.get_data()).hexdigest()
