"""Who may do what in a study: its owner, its collaborators, admins.

Levels, each including the ones below it:

* ``own``  – the owner and admins: everything, including sharing and the study's settings;
* ``edit`` – an editor collaborator: also participants and waves;
* ``view`` – a viewer collaborator: see, export, analyse.

A revoked grant, a deactivated account and any other researcher have no access.
"""

from __future__ import annotations

from sqlalchemy import or_, select

from survey.extensions import db
from survey.models import MemberRole, Role, Study, StudyMember, User

VIEW = "view"
EDIT = "edit"
OWN = "own"
LEVELS = (VIEW, EDIT, OWN)
_RANK = {VIEW: 1, EDIT: 2, OWN: 3}
_MEMBER_LEVEL = {MemberRole.VIEWER: VIEW, MemberRole.EDITOR: EDIT}


def membership(study: Study, user: User) -> StudyMember | None:
    """The user's current (not revoked) grant on the study, if any."""
    return db.session.scalar(
        select(StudyMember).where(
            StudyMember.study_id == study.id,
            StudyMember.user_id == user.id,
            StudyMember.revoked_at.is_(None),
        )
    )


def access_level(study: Study, user: User | None) -> str | None:
    """``own``, ``edit``, ``view`` or None."""
    if user is None or not user.active:
        return None
    if user.is_admin or (user.role == Role.RESEARCHER and study.owner_id == user.id):
        return OWN
    if user.role != Role.RESEARCHER:
        return None
    member = membership(study, user)
    return None if member is None else _MEMBER_LEVEL[member.role]


def allows(level: str | None, need: str) -> bool:
    """Whether access ``level`` covers ``need`` (one of :data:`LEVELS`)."""
    if need not in _RANK:
        raise ValueError(f"unknown access level {need!r}")
    return level is not None and _RANK[level] >= _RANK[need]


def studies_for(user: User) -> list[Study]:
    """The studies ``user`` may see: every study for an admin; otherwise their own and those
    shared with them (not revoked); newest first."""
    query = select(Study).order_by(Study.created_at.desc(), Study.id.desc())
    if not user.is_admin:
        shared = select(StudyMember.study_id).where(
            StudyMember.user_id == user.id, StudyMember.revoked_at.is_(None)
        )
        query = query.where(or_(Study.owner_id == user.id, Study.id.in_(shared)))
    return list(db.session.scalars(query))
