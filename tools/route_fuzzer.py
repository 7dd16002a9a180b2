"""Send hostile requests to every route of the app as every role, and count what comes back.

:class:`RouteFuzzer` walks ``app.url_map`` (every rule but ``static``, see :data:`SKIPPED`),
lets hypothesis generate ``examples`` requests per rule from a fixed seed
(:func:`tools.fuzz_requests.fuzz_requests`) and sends each one as every role through the
app's Werkzeug test client. A 5xx response or an exception escaping the app (the app runs
with ``TESTING``, so Flask propagates them) is a :class:`Finding`, tallied with the request
and the line of our code it came from. Nothing stops at the first finding: a run reports
all of them, so the same code serves a short test and a long script.
"""

from __future__ import annotations

import traceback
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from hypothesis import HealthCheck, Phase, given, seed, settings
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from tools.fuzz_requests import (
    CSRF_TOKEN,
    MAX_CONTENT_LENGTH,
    FuzzRequest,
    Vocabulary,
    classic_requests,
    fill,
    forms_in,
    fuzz_requests,
)
from tools.fuzz_world import ROLES, RoleClients, World

REPO = Path(__file__).resolve().parent.parent
OUR_PACKAGES = tuple(str(REPO / name) for name in ("survey", "instruments", "psychometrics"))

SKIPPED = {
    "static": "Flask's own send_from_directory over the package's static folder (no code of "
    "ours; Werkzeug's safe_join guards the path), and its responses hold files open",
}
# A successful request to these may end a role's session or change the role itself
# (logout, deactivation, a declined consent): the fuzzer restores the roles after it.
ROLE_CHANGING = frozenset({"auth.login", "auth.logout", "admin.user_active", "participate.consent"})


@dataclass(frozen=True, order=True)
class Target:
    endpoint: str
    rule: str
    arguments: tuple[str, ...]
    methods: tuple[str, ...]


def fuzz_targets(app: Flask) -> list[Target]:
    """Every rule of ``app.url_map`` except the :data:`SKIPPED` endpoints, sorted."""
    return sorted(
        Target(rule.endpoint, rule.rule, tuple(sorted(rule.arguments)), tuple(sorted(rule.methods)))
        for rule in app.url_map.iter_rules()
        if rule.endpoint not in SKIPPED
    )


@dataclass
class Finding:
    """A 5xx or an exception: where our code was, and the first request that caused it."""

    endpoint: str
    status: int
    error: str
    where: str
    role: str
    request: str
    count: int = 1

    def __str__(self) -> str:
        text = f"{self.status} on {self.endpoint} as {self.role} ({self.count}×): {self.request}"
        if self.error:
            text += f"\n    {self.error}\n    at {self.where}"
        return text


@dataclass
class Tally:
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: {r: Counter() for r in ROLES})
    endpoints: Counter[str] = field(default_factory=Counter)
    findings: dict[tuple[str, int, str, str], Finding] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return sum(self.endpoints.values())

    def add(
        self, role: str, request: FuzzRequest, status: int, error: str = "", where: str = ""
    ) -> None:
        self.statuses[role][status] += 1
        self.endpoints[request.endpoint] += 1
        if status >= 500:
            key = (request.endpoint, status, error.split(":")[0], where)
            if key in self.findings:
                self.findings[key].count += 1
            else:
                self.findings[key] = Finding(
                    request.endpoint, status, error, where, role, request.describe()
                )

    def table(self) -> str:
        """Statuses per role as a Markdown table."""
        statuses = sorted({s for counts in self.statuses.values() for s in counts})
        lines = [
            "| role | requests | " + " | ".join(map(str, statuses)) + " |",
            "|---|---:|" + "---:|" * len(statuses),
        ]
        for role, counts in self.statuses.items():
            cells = " | ".join(str(counts.get(status, 0)) for status in statuses)
            lines.append(f"| {role} | {sum(counts.values())} | {cells} |")
        return "\n".join(lines)

    def findings_report(self) -> str:
        return "\n".join(str(finding) for finding in self.findings.values())


def where_raised(error: BaseException) -> tuple[str, str]:
    """``(exception line, "our frame; raised in frame")`` of an exception."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [frame for frame in frames if frame.filename.startswith(OUR_PACKAGES)]

    def name(frame: traceback.FrameSummary) -> str:
        path = Path(frame.filename)
        shown = path.relative_to(REPO) if path.is_relative_to(REPO) else path.name
        return f"{shown}:{frame.lineno} in {frame.name}"

    message = str(error).splitlines()[0][:200] if str(error) else ""
    places = [name(ours[-1])] if ours else []
    if frames and (not ours or frames[-1] is not ours[-1]):
        places.append(f"raised in {name(frames[-1])}")
    return f"{type(error).__module__}.{type(error).__name__}: {message}", "; ".join(places)


class RouteFuzzer:
    """The fuzzer for one app whose database holds :func:`tools.fuzz_world.build_world`."""

    def __init__(self, app: Flask, world: World, *, endpoints: set[str] | None = None) -> None:
        self.app = app
        self.world = world
        self.targets = [
            target
            for target in fuzz_targets(app)
            if endpoints is None or target.endpoint in endpoints
        ]
        self.roles = RoleClients(app, world)
        self.vocabulary = self._harvest()
        self.tally = Tally()

    # -- what the pages' forms post -------------------------------------------------------------
    def _harvest(self) -> Vocabulary:
        """Collect the forms of every page each role can open, keyed by the endpoint they
        post to."""
        vocabulary = Vocabulary()
        adapter = self.app.url_map.bind("localhost")
        for target in self.targets:
            if "GET" not in target.methods:
                continue
            numbers = self.world.valid("number") if "number" in target.arguments else ("1",)
            for number in numbers:
                values = {name: self.world.valid(name)[0] for name in target.arguments}
                if "number" in values:
                    values["number"] = number
                path = fill(target.rule, values)
                for role in ("admin", "participant", "anonymous"):
                    response = self.roles.clients[role].get(path)
                    if response.status_code == 200 and response.mimetype == "text/html":
                        page = response.get_data(as_text=True)
                        for action, method, fields, files in forms_in(page):
                            try:
                                endpoint, _ = adapter.match(action or path, method=method)
                            except (HTTPException, RequestRedirect):
                                continue
                            vocabulary.add_form(endpoint, method, fields, files)
                        break
        return vocabulary

    # -- sending ----------------------------------------------------------------------------------
    def send(self, role: str, request: FuzzRequest) -> tuple[int, str, str]:
        """``(status, error, where)`` of ``request`` sent as ``role``; an exception escaping
        the app counts as a 500."""
        token = self.roles.csrf[role]
        client = self.roles.clients[role]
        options: dict = {
            "method": request.method,
            "query_string": request.query.replace(CSRF_TOKEN, token),
            "headers": list(request.headers),
        }
        body = request.body
        if len(body) < MAX_CONTENT_LENGTH:  # a body the app refuses unread carries no token
            body = body.replace(CSRF_TOKEN.encode(), token.encode())
        if request.content_type is not None:
            options["content_type"] = request.content_type
        if body or request.content_type is not None:
            options["data"] = body
        try:
            response = client.open(request.path, **options)
        except Exception as error:  # noqa: BLE001  (whatever escapes the app is the finding)
            return 500, *where_raised(error)
        status = response.status_code
        response.close()
        if request.endpoint in ROLE_CHANGING and request.method == "POST" and status < 400:
            self.roles.restore()
        return status, "", ""

    def _run(self, target: Target, roles: tuple[str, ...], examples: int, seed_value: int) -> None:
        route = {
            "endpoint": target.endpoint,
            "rule": target.rule,
            "methods": target.methods,
            "valid_values": {name: self.world.valid(name) for name in target.arguments},
            "vocabulary": self.vocabulary,
        }
        for request in classic_requests(**route):
            for role in roles:
                self.tally.add(role, request, *self.send(role, request))
        strategy = fuzz_requests(**route)

        # Nothing raises, so only generation runs (no shrinking, no example database),
        # from the seed, without time limits.
        @settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[Phase.generate],
            derandomize=False,
            suppress_health_check=[
                HealthCheck.too_slow,
                HealthCheck.data_too_large,
                HealthCheck.large_base_example,
                HealthCheck.filter_too_much,
            ],
        )
        @seed(seed_value)
        @given(strategy)
        def as_every_role(request: FuzzRequest) -> None:
            for role in roles:
                self.tally.add(role, request, *self.send(role, request))

        as_every_role()

    def run(
        self,
        examples: int,
        *,
        seed_value: int = 0,
        roles: tuple[str, ...] = ROLES,
        progress: Callable[[Target, Tally], None] | None = None,
    ) -> Tally:
        """The two :func:`~tools.fuzz_requests.classic_requests` and ``examples`` generated
        ones per target, each sent as every role of ``roles``; returns (and keeps) the tally."""
        for target in self.targets:
            self._run(target, roles, examples, seed_value)
            if progress is not None:
                progress(target, self.tally)
        return self.tally
