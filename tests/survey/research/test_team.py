"""Collaborators (survey.services.team and research.team): grant by e-mail, change the
role, revoke, grant again; each audited; what the shared studies list says."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import AuditAction, AuditEvent, Study, StudyMember
from survey.services import accounts, study_access, team
from tests.survey.research.study_builders import make_battery_study


@pytest.fixture
def shared(app, researcher_client, make_user, small):
    """The researcher's study; colleague@example.org is another researcher."""
    make_user("colleague@example.org")
    make_user("boss@example.org", "admin")
    with app.app_context():
        owner = accounts.get_user("researcher@example.org")
        study = make_battery_study(small, participants=1, owner=owner)
        db.session.commit()
        return study.id


def member_events(app):
    with app.app_context():
        return [
            (event.action, event.details)
            for event in db.session.scalars(
                select(AuditEvent)
                .where(
                    AuditEvent.action.in_([AuditAction.MEMBER_GRANTED, AuditAction.MEMBER_REVOKED])
                )
                .order_by(AuditEvent.id)
            )
        ]


def test_grant_change_revoke_regrant(app, researcher_client, shared, login):
    url = f"/research/studies/{shared}/team"
    page = researcher_client.get(url).get_data(as_text=True)
    assert '<input checked id="role-0" name="role" required type="radio" value="viewer">' in page
    assert '<input id="role-1" name="role" required type="radio" value="editor">' in page
    response = researcher_client.post(
        url, data={"email": " Colleague@Example.org ", "role": "viewer"}
    )
    assert response.status_code == 302
    page = researcher_client.get(url).get_data(as_text=True)
    assert "Shared with colleague@example.org as viewer." in page
    assert "<td>colleague@example.org</td>" in page

    colleague = app.test_client()
    login(colleague, "colleague@example.org")
    listing = colleague.get("/research/").get_data(as_text=True)
    assert "shared with you (viewer)" in listing
    assert colleague.get(f"/research/studies/{shared}").status_code == 200
    assert colleague.get(url).status_code == 403  # only the owner manages the team

    researcher_client.post(url, data={"email": "colleague@example.org", "role": "editor"})
    assert "shared with you (editor)" in colleague.get("/research/").get_data(as_text=True)
    # The same grant again changes and records nothing.
    researcher_client.post(url, data={"email": "colleague@example.org", "role": "editor"})

    with app.app_context():
        member_id = db.session.scalar(select(StudyMember.id))
    response = researcher_client.post(f"{url}/{member_id}/revoke")
    assert response.status_code == 302
    assert researcher_client.post(f"{url}/{member_id}/revoke").status_code == 302  # no-op
    assert colleague.get(f"/research/studies/{shared}").status_code == 403
    assert "Dashboard study" not in colleague.get("/research/").get_data(as_text=True)
    page = researcher_client.get(url).get_data(as_text=True)
    assert "Former collaborators (1)" in page

    researcher_client.post(url, data={"email": "colleague@example.org", "role": "viewer"})
    with app.app_context():
        rows = list(db.session.scalars(select(StudyMember)))
        assert len(rows) == 1 and rows[0].id == member_id  # the row is reused
        assert (rows[0].role, rows[0].revoked_at) == ("viewer", None)
        assert rows[0].granted_by_id == accounts.get_user("researcher@example.org").id
    assert colleague.get(f"/research/studies/{shared}").status_code == 200
    assert member_events(app) == [
        (AuditAction.MEMBER_GRANTED, {"email": "colleague@example.org", "role": "viewer"}),
        (
            AuditAction.MEMBER_GRANTED,
            {"email": "colleague@example.org", "role": "editor", "previous_role": "viewer"},
        ),
        (AuditAction.MEMBER_REVOKED, {"email": "colleague@example.org", "role": "editor"}),
        (AuditAction.MEMBER_GRANTED, {"email": "colleague@example.org", "role": "viewer"}),
    ]


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("nobody@example.org", "There is no active researcher account with this e-mail."),
        ("not an address", "Enter an e-mail address, e.g. name@example.org."),
        ("", "Enter an e-mail address."),
        ("researcher@example.org", "That is your own account."),
        ("boss@example.org", "Admins see and manage every study already."),
    ],
)
def test_refused_grants_say_why_next_to_the_field(app, researcher_client, shared, email, message):
    response = researcher_client.post(
        f"/research/studies/{shared}/team", data={"email": email, "role": "viewer"}
    )
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    field = body[body.index('name="email"') :]
    assert f'<span class="field-error">{message}</span>' in field[: field.index("</p>")]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StudyMember)) == 0
    assert member_events(app) == []


def test_bad_role_is_422(app, researcher_client, shared):
    for role in ("owner", ""):
        response = researcher_client.post(
            f"/research/studies/{shared}/team",
            data={"email": "colleague@example.org", "role": role},
        )
        assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(StudyMember)) == 0


def test_inactive_and_owner_accounts_cannot_be_granted(app, shared):
    with app.app_context():
        study = db.session.get(Study, shared)
        admin = accounts.get_user("boss@example.org")
        with pytest.raises(team.CannotShare, match="owns the study"):
            team.grant(study, "researcher@example.org", "viewer", actor=admin)
        colleague = accounts.get_user("colleague@example.org")
        accounts.set_active(colleague, False, actor=admin)
        with pytest.raises(team.NoResearcherAccount):
            team.grant(study, "colleague@example.org", "viewer", actor=admin)
        with pytest.raises(ValueError):
            team.grant(study, "colleague@example.org", "owner", actor=admin)


def test_an_admin_may_manage_the_team_and_access_levels_follow(app, shared):
    with app.app_context():
        study = db.session.get(Study, shared)
        admin = accounts.get_user("boss@example.org")
        colleague = accounts.get_user("colleague@example.org")
        assert study_access.access_level(study, colleague) is None
        grant = team.grant(study, "colleague@example.org", "editor", actor=admin)
        assert grant.changed and grant.previous_role is None
        assert study_access.access_level(study, colleague) == study_access.EDIT
        assert team.revoke(study, grant.member.id, actor=admin) is True
        assert study_access.access_level(study, colleague) is None
        with pytest.raises(team.UnknownMember):
            team.revoke(study, 999_999, actor=admin)


def test_a_member_of_another_study_cannot_be_revoked_here(app, researcher_client, shared, small):
    with app.app_context():
        owner = accounts.get_user("researcher@example.org")
        other = make_battery_study(small, participants=1, owner=owner, slug="other")
        member = team.grant(other, "colleague@example.org", "viewer", actor=owner).member
        db.session.commit()
        member_id = member.id
    response = researcher_client.post(f"/research/studies/{shared}/team/{member_id}/revoke")
    assert response.status_code == 404
    with app.app_context():
        assert db.session.get(StudyMember, member_id).revoked_at is None
