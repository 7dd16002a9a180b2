"""The world the route fuzzer plays in: real objects behind every URL argument, and one
logged-in test client per role.

Everything is created through the app's own services on a migrated database and committed
once, as a CLI command would. The clients are Werkzeug test clients of the app; a staff
client whose session a fuzzed request ended (a logout, a deactivation) is logged in again
by :meth:`RoleClients.restore`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask import Flask
from flask.testing import FlaskClient

ROLES = ("anonymous", "participant", "researcher", "admin")
PASSWORD = "fuzzing the routes of a survey, 7 times over"
EMAILS = {
    "researcher": "fuzz-researcher@example.org",
    "other": "fuzz-other@example.org",
    "admin": "fuzz-admin@example.org",
}
CSRF_RE = re.compile(
    r'<input[^>]*name="csrf_token"[^>]*value="([^"]+)"|'
    r'<input[^>]*value="([^"]+)"[^>]*name="csrf_token"'
)


@dataclass(frozen=True)
class World:
    """Valid values for every URL argument, first the one a role would normally use."""

    values: dict[str, tuple[str, ...]]
    user_ids: dict[str, int] = field(default_factory=dict)

    def valid(self, argument: str) -> tuple[str, ...]:
        """Real values for ``argument`` (a made-up one for an argument nobody declared)."""
        return self.values.get(argument, ("1",))


def build_world(app: Flask) -> World:
    """Create users, the IEM-DP 1.0.0 instrument with a draft, two studies (one per
    researcher) and three participant links; ``app``'s database must be migrated."""
    from sqlalchemy import func, select

    from instruments.loader import instrument_path, load_instrument
    from survey.extensions import db
    from survey.models import AuditEvent, ConsentDecision, WaveStatus
    from survey.services import accounts, instruments, participation, studies, versions

    definition = load_instrument(instrument_path("iemdp", "1.0.0"))
    with app.app_context():
        users = {
            name: accounts.create_user(
                email, PASSWORD, "admin" if name == "admin" else "researcher", via="fuzz"
            )
            for name, email in EMAILS.items()
        }
        published, _ = instruments.import_definition(definition)
        draft, _ = versions.create_draft_from(published, actor=users["admin"])
        study_ids, tokens = [], []
        for owner in (users["researcher"], users["other"]):
            study = studies.create_study(
                name=f"Fuzzed study of {owner.email}",
                slug=f"fuzz-{owner.id}",
                instrument_version=published,
                consent_text="Do you agree?",
                consent_version="1",
                urgent_help_note="Call 112.",
                owner=owner,
            )
            studies.add_wave(study, key="baseline", label="Baseline", status=WaveStatus.OPEN)
            study_ids.append(study.id)
            tokens.append(studies.add_participant(study)[1])
            if owner is users["researcher"]:
                fresh = studies.add_participant(study)[1]
        # The participant role has consented, so its questionnaire pages are open to it.
        participation.record_consent(participation.resolve(tokens[0]), ConsentDecision.GIVEN)
        db.session.commit()
        event_id = db.session.scalar(select(func.min(AuditEvent.id)))
        item_ids = [entry.id for page in definition.pages() for entry in page.entries]
        checks = [check.id for check in definition.attention_checks]
        values = {
            "token": (tokens[0], fresh, tokens[1]),
            "study_id": tuple(map(str, study_ids)),
            "user_id": tuple(str(users[name].id) for name in ("researcher", "other", "admin")),
            "event_id": (str(event_id),),
            "instrument_key": (definition.key,),
            "version_id": (str(draft.id), str(published.id)),
            "other_version_id": (str(published.id), str(draft.id)),
            "item_id": (item_ids[0], item_ids[-1], checks[0]),
            "number": tuple(str(n) for n in range(1, len(definition.pages()) + 1)),
            "fmt": tuple(versions.FORMATS),
            "filename": ("survey.css",),
        }
        return World(values, {name: user.id for name, user in users.items()})


def csrf_token_in(html: str) -> str | None:
    match = CSRF_RE.search(html)
    return (match.group(1) or match.group(2)) if match else None


class RoleClients:
    """One test client per role, each with a CSRF token valid for its session."""

    # A page of each role carrying a form (for the CSRF token).
    FORM_PAGES = {"anonymous": "/login", "researcher": "/research/", "admin": "/admin/"}

    def __init__(self, app: Flask, world: World) -> None:
        self.app = app
        self.world = world
        self.clients: dict[str, FlaskClient] = {}
        self.csrf: dict[str, str] = {}
        for role in ROLES:
            self._open(role)

    @property
    def participant_path(self) -> str:
        return f"/p/{self.world.valid('token')[0]}"

    def _open(self, role: str) -> None:
        client = self.app.test_client()
        if role in ("researcher", "admin"):
            token = csrf_token_in(client.get("/login").get_data(as_text=True)) or ""
            response = client.post(
                "/login",
                data={"email": EMAILS[role], "password": PASSWORD, "csrf_token": token},
            )
            if response.status_code != 302:
                raise RuntimeError(f"fuzz world: {role} cannot log in ({response.status_code})")
        page = self.FORM_PAGES.get(role, self.participant_path)
        # A participant who consented is sent on to their page: its form has the token.
        response = client.get(page, follow_redirects=role == "participant")
        if response.status_code != 200:
            raise RuntimeError(f"fuzz world: GET {page} as {role}: {response.status_code}")
        self.clients[role] = client
        self.csrf[role] = csrf_token_in(response.get_data(as_text=True)) or ""

    def restore(self) -> None:
        """Undo what a fuzzed request may have done to the roles themselves: reactivate the
        fuzz users, reset the login rate limit and log staff clients in again."""
        from survey.extensions import db, limiter
        from survey.models import User
        from survey.services import accounts

        with self.app.app_context():
            admin = db.session.get(User, self.world.user_ids["admin"])
            for user_id in self.world.user_ids.values():
                accounts.set_active(db.session.get(User, user_id), True, actor=admin)
            db.session.commit()
            limiter.reset()
        for role, page in self.FORM_PAGES.items():
            if role != "anonymous" and self.clients[role].get(page).status_code != 200:
                self._open(role)
