"""A study's collaborators: the owner shares it with other researchers as viewer or editor.

A grant names an active researcher account by e-mail. Changing a collaborator's role is
granting again; revoking keeps the row (``revoked_at``) and granting again reuses it. The
owner and admins already have every access, so they cannot be granted any. Every grant,
role change and revocation is audited (``member_granted`` / ``member_revoked``, with the
e-mail address and the role).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from survey.extensions import db
from survey.models import AuditAction, MemberRole, Role, Study, StudyMember, User, utcnow
from survey.services import accounts, audit
from survey.services.errors import SurveyError
from survey.services.upsert import upsert

ROLES = (MemberRole.VIEWER, MemberRole.EDITOR)


class TeamError(SurveyError):
    """A grant or revocation that cannot be made (the message says why, for the form)."""


class NoResearcherAccount(TeamError):
    """The e-mail address names no active researcher account."""


class CannotShare(TeamError):
    """The account already has every access (the owner, an admin) or is the one sharing."""


class UnknownMember(TeamError):
    """No collaborator with this id in this study."""


@dataclass(frozen=True)
class Grant:
    """What granting did: the collaborator's row, and the role before (None: no access)."""

    member: StudyMember
    previous_role: str | None

    @property
    def changed(self) -> bool:
        return self.previous_role != self.member.role


def members(study: Study) -> list[StudyMember]:
    """The study's collaborators, current ones first, each group by e-mail address."""
    rows = db.session.scalars(
        select(StudyMember)
        .join(User, User.id == StudyMember.user_id)
        .where(StudyMember.study_id == study.id)
        .options(selectinload(StudyMember.user))
        .order_by(StudyMember.revoked_at.is_not(None), User.email)
    )
    return list(rows)


def _researcher(study: Study, email: str, actor: User) -> User:
    try:
        address = accounts.check_email(email)
    except accounts.AccountError:
        raise NoResearcherAccount("Enter an e-mail address, e.g. name@example.org.") from None
    user = accounts.find_user(address)
    if user is not None and user.id == actor.id:
        raise CannotShare("That is your own account.")
    if user is not None and user.is_admin:
        raise CannotShare("Admins see and manage every study already.")
    if user is None or user.role != Role.RESEARCHER or not user.active:
        raise NoResearcherAccount("There is no active researcher account with this e-mail.")
    if user.id == study.owner_id:
        raise CannotShare("This researcher owns the study.")
    return user


def grant(
    study: Study, email: str, role: str, *, actor: User, now: datetime | None = None
) -> Grant:
    """Give the researcher with ``email`` the ``role`` (viewer or editor) in ``study``.

    A current grant with the same role changes nothing (and records nothing); a revoked
    grant is reused. Raises :class:`NoResearcherAccount`, :class:`CannotShare` and
    ``ValueError`` for an unknown role.
    """
    if role not in ROLES:
        raise ValueError(f"unknown collaborator role {role!r}")
    user = _researcher(study, email, actor)
    now = now or utcnow()
    # Two owners' tabs granting at once: the unique (study, user) keeps one row.
    upsert(
        StudyMember.__table__,
        [
            {
                "study_id": study.id,
                "user_id": user.id,
                "role": role,
                "granted_at": now,
                "granted_by_id": actor.id,
                "revoked_at": now,  # a new row starts revoked; set below, with the audit
            }
        ],
        conflict=["study_id", "user_id"],
    )
    member = db.session.scalar(
        select(StudyMember)
        .where(StudyMember.study_id == study.id, StudyMember.user_id == user.id)
        .execution_options(populate_existing=True)
    )
    assert member is not None
    previous = None if member.revoked_at is not None else member.role
    if previous == role:
        return Grant(member, previous)
    member.role = role
    member.revoked_at = None
    member.granted_at = now
    member.granted_by_id = actor.id
    details = {"email": user.email, "role": role}
    if previous is not None:
        details["previous_role"] = previous
    audit.record(
        AuditAction.MEMBER_GRANTED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        details=details,
        now=now,
    )
    db.session.flush()
    return Grant(member, previous)


def revoke(study: Study, member_id: int, *, actor: User, now: datetime | None = None) -> bool:
    """End a collaborator's access (the row stays, with ``revoked_at``); False when it was
    revoked already. Raises :class:`UnknownMember` for a row of another study or none."""
    member = db.session.get(StudyMember, member_id)
    if member is None or member.study_id != study.id:
        raise UnknownMember(f"study {study.slug} has no collaborator {member_id}")
    if member.revoked_at is not None:
        return False
    now = now or utcnow()
    member.revoked_at = now
    audit.record(
        AuditAction.MEMBER_REVOKED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        details={"email": member.user.email, "role": member.role},
        now=now,
    )
    db.session.flush()
    return True
