"""The research area: own studies only, study detail, new study, answers CSV."""

from __future__ import annotations

import csv
import hashlib
import io

import pytest
from sqlalchemy import select

from survey.extensions import db
from survey.models import AuditEvent, InstrumentVersion, Study, VersionStatus


def store_version(definition, status: str) -> InstrumentVersion:
    """``definition`` stored as a version in ``status`` (draft: inserted as a draft;
    retired: published, then retired, the only way the lifecycle allows)."""
    from survey.models import Instrument, utcnow
    from survey.services import instruments

    if status == VersionStatus.DRAFT:
        instrument = db.session.scalar(
            select(Instrument).where(Instrument.key == definition.key)
        ) or Instrument(key=definition.key, title=definition.title)
        version = InstrumentVersion(
            instrument=instrument,
            version=definition.version,
            status=VersionStatus.DRAFT,
            content=definition.source,
            content_hash=definition.content_hash,
        )
        db.session.add(version)
    else:
        version, _ = instruments.import_definition(definition)
        if status == VersionStatus.RETIRED:
            version.status = VersionStatus.RETIRED
            if hasattr(version, "retired_at"):
                version.retired_at = utcnow()
    db.session.flush()
    return version


def set_owner(app, study_id: int, email: str) -> None:
    from survey.models import User

    with app.app_context():
        study = db.session.get(Study, study_id)
        study.owner = db.session.scalar(select(User).where(User.email == email))
        db.session.commit()


@pytest.fixture
def two_studies(app, researcher_client, make_user, make_study, small):
    make_user("other@example.org")
    mine = make_study(small, participants=2)
    theirs = make_study(small, participants=1)
    set_owner(app, mine.study_id, "researcher@example.org")
    set_owner(app, theirs.study_id, "other@example.org")
    return mine, theirs


def test_dashboard_lists_only_own_studies(app, researcher_client, two_studies, login):
    mine, theirs = two_studies
    body = researcher_client.get("/research/").get_data(as_text=True)
    assert f"/research/studies/{mine.study_id}" in body
    assert f"/research/studies/{theirs.study_id}" not in body


def test_admins_see_every_study(app, two_studies, make_user, login):
    mine, theirs = two_studies
    make_user("boss@example.org", "admin")
    client = app.test_client()
    login(client, "boss@example.org")
    body = client.get("/research/").get_data(as_text=True)
    assert f"/research/studies/{mine.study_id}" in body
    assert f"/research/studies/{theirs.study_id}" in body
    assert client.get(f"/research/studies/{theirs.study_id}").status_code == 200


@pytest.mark.parametrize("suffix", ["", "/answers.csv"])
def test_another_researchers_study_is_forbidden(app, researcher_client, two_studies, suffix):
    _mine, theirs = two_studies
    response = researcher_client.get(f"/research/studies/{theirs.study_id}{suffix}")
    assert response.status_code == 403
    assert "Your account does not give access to this page." in response.get_data(as_text=True)
    with app.app_context():
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "export_downloaded"))
            is None
        )
    assert researcher_client.get(f"/research/studies/999999{suffix}").status_code == 404


def test_study_detail_counts(app, researcher_client, two_studies, answers_for, small):
    mine, _ = two_studies
    participant = app.test_client()
    participant.post(f"/p/{mine.tokens[0]}", data={"agree": "I agree"})
    for number, page in enumerate(small.pages(), start=1):
        response = participant.post(f"/p/{mine.tokens[0]}/page/{number}", data=answers_for(page))
        assert response.status_code == 302
    other = app.test_client()
    other.post(f"/p/{mine.tokens[1]}", data={"agree": "I agree"})
    other.get(f"/p/{mine.tokens[1]}/page/1")
    body = researcher_client.get(f"/research/studies/{mine.study_id}").get_data(as_text=True)
    assert "<tr><th>Participants</th><td>2</td></tr>" in body
    row = body[body.index("Baseline") :]
    assert '<td class="num">2</td>' in row  # started
    assert '<td class="num">1</td>' in row  # completed
    assert '<td class="num">50 %</td>' in row


def test_answers_export_is_wide_and_audited(
    app, researcher_client, two_studies, small, answers_for
):
    mine, _ = two_studies
    participant = app.test_client()
    participant.post(f"/p/{mine.tokens[0]}", data={"agree": "I agree"})
    participant.post(f"/p/{mine.tokens[0]}/page/1", data=answers_for(small.pages()[0], 3))
    response = researcher_client.get(f"/research/studies/{mine.study_id}/answers.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    item_ids = [entry.id for page in small.pages() for entry in page.entries]
    columns = list(rows[0])
    # The wide export: fixed columns, then the items in battery order, then scores and the
    # data-quality indices and flags.
    assert columns[:8] == [
        "participant",
        "wave",
        "excluded",
        "exclusion_reason",
        "simulated",
        "started_at",
        "completed_at",
        "battery",
    ]
    assert columns[8 : 8 + len(item_ids)] == item_ids
    assert {"AA_S", "AA", "flag_any"} <= set(columns[8 + len(item_ids) :])
    (row,) = rows
    assert row["wave"] == "baseline" and row["completed_at"] == ""
    assert [row[i] for i in item_ids[:4]] == ["3", "3", "3", "3"]
    assert row[item_ids[-1]] == ""
    assert mine.tokens[0] not in response.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(
            select(AuditEvent).where(AuditEvent.action == "export_downloaded")
        )
        assert event.actor_email == "researcher@example.org"
        assert (event.target_type, event.target_id) == ("study", str(mine.study_id))
        assert event.hash_after == hashlib.sha256(response.get_data()).hexdigest()
        assert event.details["instrument_version"] == "1.0.0"


def test_new_study_form_lists_only_published_versions(app, researcher_client, make_definition):

    with app.app_context():
        published = store_version(make_definition(), VersionStatus.PUBLISHED)
        retired = store_version(make_definition(version="0.9.0"), VersionStatus.RETIRED)
        draft = store_version(make_definition(version="1.1.0"), VersionStatus.DRAFT)
        db.session.commit()
        ids = (published.id, retired.id, draft.id)
    body = researcher_client.get("/research/studies/new").get_data(as_text=True)
    assert f'value="{ids[0]}"' in body
    assert f'value="{ids[1]}"' not in body
    assert f'value="{ids[2]}"' not in body


def new_study_data(version_id: int, slug: str = "my-study") -> dict[str, str]:
    return {
        "name": "My study",
        "slug": slug,
        "first_instrument": str(version_id),
        "consent_version": "1",
        "consent_text": "Please agree.",
        "withdrawal_policy": "keep",
        "urgent_help_note": "Call 112.",
        "team_contact": "The team, team@example.org",
        "first_wave_label": "Baseline",
    }


def test_create_study_pins_the_version_and_is_audited(app, researcher_client, make_definition):
    from survey.services import instruments

    with app.app_context():
        version, _ = instruments.import_definition(make_definition())
        db.session.commit()
        version_id, content_hash = version.id, version.content_hash
    response = researcher_client.post("/research/studies/new", data=new_study_data(version_id))
    assert response.status_code == 302
    with app.app_context():
        study = db.session.scalar(select(Study).where(Study.slug == "my-study"))
        assert response.headers["Location"] == f"/research/studies/{study.id}/waves"
        assert study.status == "draft"
        assert study.owner.email == "researcher@example.org"
        assert [v.id for v in study.instrument_versions] == [version_id]
        assert [(w.key, w.status) for w in study.waves] == [("baseline", "open")]
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study_created"))
        assert (event.target_type, event.target_id) == ("study", str(study.id))
        assert event.details["instrument_content_hash"] == content_hash
        assert event.hash_after and len(event.hash_after) == 64
    assert "My study" in researcher_client.get("/research/").get_data(as_text=True)
    again = researcher_client.post("/research/studies/new", data=new_study_data(version_id))
    assert again.status_code == 422
    assert "study with the slug &#39;my-study&#39; exists" in again.get_data(as_text=True)


@pytest.mark.parametrize("status", [VersionStatus.DRAFT, VersionStatus.RETIRED])
def test_create_study_refuses_a_version_that_is_not_published(
    app, researcher_client, make_definition, status
):
    from survey.services import studies

    with app.app_context():
        version = store_version(make_definition(), status)
        db.session.commit()
        version_id = version.id
    response = researcher_client.post("/research/studies/new", data=new_study_data(version_id))
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Study)) is None
        assert (
            db.session.scalar(select(AuditEvent).where(AuditEvent.action == "study_created"))
            is None
        )
        # The service refuses too, whatever the form offered.
        from survey.models import User
        from survey.services.errors import VersionNotPublished

        owner = db.session.scalar(select(User))
        with pytest.raises(VersionNotPublished):
            studies.create_study(
                owner=owner,
                name="x",
                slug="xyz",
                instrument_version=db.session.get(InstrumentVersion, version_id),
                consent_text="c",
                consent_version="1",
                urgent_help_note="u",
            )


def test_create_study_refuses_a_bad_slug(app, researcher_client, make_definition):
    from survey.services import instruments

    with app.app_context():
        version, _ = instruments.import_definition(make_definition())
        db.session.commit()
        version_id = version.id
    response = researcher_client.post(
        "/research/studies/new", data=new_study_data(version_id, slug="Not a slug!")
    )
    assert response.status_code == 422
    assert "lower-case letters" in response.get_data(as_text=True)
