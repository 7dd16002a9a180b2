#!/usr/bin/env python3
"""A reference chat client: a study's questionnaire as a conversation in the terminal.

What a messaging-therapy platform does for one of its users, through the public API only
(``/api/v1``, a study's API key with the scopes ``enrol`` and ``deliver``):

1. enrol the user by their external id (``POST /participants``; the same id gives the same
   participant, so running it again resumes);
2. show the study's consent text and ask (``GET /consent``, ``POST
   /participants/{p}/consent``);
3. conduct the wave open for them, one message per item: the item's text and its numbered
   options; the answer is sent at once (``POST /participants/{p}/answers``) with an
   ``Idempotency-Key``, so a retry after a network failure never stores it twice; the
   progress after each answer;
4. exit 0 when the wave is complete.

Usage::

    python examples/chat_client.py --base-url https://survey.example.org --key iemdp_...
    python examples/chat_client.py --base-url http://127.0.0.1:5000 --key KEY --auto

``--auto`` consents and answers each item with a random valid option (demos, tests);
``--seed`` makes those answers repeatable. Standard library only.

Exit codes: 0 the wave is complete; 1 the API refused something (its problem's detail is
printed); 2 bad arguments; 3 the server could not be reached; 4 consent declined or the
participant withdrew; 5 no wave open for them now; 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from typing import Any, TextIO

EXIT_COMPLETE = 0
EXIT_REFUSED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_NO_CONSENT = 4
EXIT_NO_WAVE = 5
EXIT_INTERRUPTED = 130

RETRIES = 3  # attempts for a request that failed on the network or with 429/503


class ApiError(Exception):
    """The API answered with a problem (RFC 9457): ``status``, ``kind`` (the type's last
    segment) and ``detail``."""

    def __init__(self, status: int, problem: dict[str, Any]):
        self.status = status
        self.problem = problem
        self.kind = str(problem.get("type", "")).rstrip("/").rpartition("/")[2]
        self.detail = str(problem.get("detail") or problem.get("title") or f"HTTP {status}")
        super().__init__(f"{status} {self.kind}: {self.detail}")


class Unreachable(Exception):
    """The server did not answer."""


class Api:
    """The few calls the chat needs, over urllib, with retries for transient failures."""

    def __init__(self, base_url: str, key: str, *, timeout: float = 30.0):
        self.base = base_url.rstrip("/") + "/api/v1"
        self.key = key
        self.timeout = timeout

    def call(
        self, method: str, path: str, body: Any = None, *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        headers = {"Authorization": f"Bearer {self.key}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        for attempt in range(1, RETRIES + 1):
            request = urllib.request.Request(
                self.base + path, data=data, headers=headers, method=method
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return json.loads(response.read() or b"{}")
            except urllib.error.HTTPError as error:
                problem = _problem_of(error)
                retryable = error.code in (429, 503) and attempt < RETRIES
                # Only a request that is safe to repeat is retried: a GET, or a POST with
                # its Idempotency-Key (the server answers a repeat from its record).
                if retryable and (method == "GET" or idempotency_key is not None):
                    time.sleep(_retry_after(error))
                    continue
                raise ApiError(error.code, problem) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
                if attempt < RETRIES and (method == "GET" or idempotency_key is not None):
                    time.sleep(0.5 * attempt)
                    continue
                reason = getattr(error, "reason", error)
                raise Unreachable(f"cannot reach {self.base}: {reason}") from None
        raise AssertionError("unreachable")  # pragma: no cover


def _problem_of(error: urllib.error.HTTPError) -> dict[str, Any]:
    try:
        problem = json.loads(error.read() or b"{}")
    except ValueError:
        problem = {}
    return problem if isinstance(problem, dict) else {}


def _retry_after(error: urllib.error.HTTPError) -> float:
    try:
        return min(float(error.headers.get("Retry-After", "1")), 10.0)
    except ValueError:
        return 1.0


# -- the conversation ----------------------------------------------------------------------
class Chat:
    """The conversation with one user: ``say`` prints a message, ``ask`` reads a line (or,
    with ``auto``, chooses)."""

    def __init__(
        self,
        api: Api,
        *,
        auto: bool,
        rng: random.Random,
        out: TextIO,
        read_line: Callable[[], str],
    ):
        self.api, self.auto, self.rng, self.out, self.read_line = api, auto, rng, out, read_line

    def say(self, text: str = "") -> None:
        print(text, file=self.out, flush=True)

    def ask(self, prompt: str) -> str:
        print(prompt, end=" ", file=self.out, flush=True)
        line = self.read_line()
        if line == "":  # end of input
            raise EOFError
        return line.strip()

    # 1. enrol
    def enrol(self, external_id: str) -> str:
        enrolled = self.api.call("POST", "/participants", {"external_id": external_id})
        code = enrolled["participant"]
        verb = "Enrolled" if enrolled.get("created") else "Welcome back,"
        self.say(f"{verb} participant {code} (external id {external_id}).")
        return code

    # 2. consent
    def consent(self, code: str) -> bool:
        status = self.api.call("GET", f"/participants/{code}")
        consent = status.get("consent") or {}
        if consent.get("state") == "given":
            return True
        text = self.api.call("GET", "/consent")
        self.say()
        self.say(f"Before we start, please read this (consent version {text['consent_version']}):")
        self.say()
        self.say(text["consent_text"])
        if text.get("withdrawal_text"):
            self.say()
            self.say(text["withdrawal_text"])
        self.say()
        if self.auto:
            given = True
            self.say("Do you agree to take part? [y/n] y (auto)")
        else:
            while True:
                reply = self.ask("Do you agree to take part? [y/n]").lower()
                if reply in ("y", "yes", "n", "no"):
                    given = reply.startswith("y")
                    break
                self.say("Please answer y or n.")
        decision = "given" if given else "declined"
        self.api.call(
            "POST",
            f"/participants/{code}/consent",
            {"decision": decision, "consent_version": text["consent_version"]},
            idempotency_key=str(uuid.uuid4()),
        )
        return given

    # 3. the wave, item by item
    def conduct(self, code: str) -> bool:
        delivery = self.api.call("GET", f"/participants/{code}/items")
        wave = delivery["wave"]
        if delivery["complete"]:
            self.say(f"You have already completed {wave['label']}. Thank you!")
            return True
        closes = f" (open until {wave['closes_at']})" if wave.get("closes_at") else ""
        self.say()
        self.say(f"{wave['label']}{closes}: {delivery['progress']['total']} short questions.")
        while not delivery["complete"]:
            if not delivery["items"]:  # nothing left to ask, yet not complete: ask again
                delivery = self.api.call("GET", f"/participants/{code}/items")
                if not delivery["items"] and not delivery["complete"]:
                    raise ApiError(409, {"detail": "the server has no item to ask"})
                continue
            item = delivery["items"][0]
            value = self.answer(item, delivery["progress"])
            saved = self.api.call(
                "POST",
                f"/participants/{code}/answers",
                {"answers": [{"item_id": item["item_id"], "value": value}]},
                idempotency_key=str(uuid.uuid4()),
            )
            if saved.get("safety_alert") and saved.get("urgent_help"):
                self.say()
                self.say(f"Please note: {saved['urgent_help']}")
            delivery = saved["next"]
            progress = delivery["progress"]
            self.say(f"  ({progress['answered']}/{progress['total']} answered)")
        self.say()
        self.say(f"That was the last question of {wave['label']}. Thank you!")
        return True

    def answer(self, item: dict[str, Any], progress: dict[str, Any]) -> int | None:
        options = item["options"]
        self.say()
        self.say(f"[page {progress['page']} of {progress['pages']}] {item['text']}")
        for number, option in enumerate(options, start=1):
            self.say(f"  {number}. {option['label']}")
        skip = " (Enter to skip)" if item["optional"] else ""
        if self.auto:
            choice = self.rng.randrange(len(options)) + 1
            self.say(f"> {choice} (auto)")
            return options[choice - 1]["value"]
        while True:
            reply = self.ask(f"Your answer, 1-{len(options)}{skip}:")
            if reply == "" and item["optional"]:
                return None
            if reply.isdigit() and 1 <= int(reply) <= len(options):
                return options[int(reply) - 1]["value"]
            self.say(f"Please type a number from 1 to {len(options)}.")


# -- command line --------------------------------------------------------------------------
def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Conduct a study's open wave as a chat, through the IEM-DP survey API.",
        epilog=(
            "Exit codes: 0 complete, 1 refused by the API, 2 bad arguments, 3 server "
            "unreachable, 4 no consent or withdrawn, 5 no wave open now."
        ),
    )
    parser.add_argument("--base-url", required=True, help="the survey server, e.g. https://…")
    parser.add_argument("--key", required=True, help="the study's API key (enrol, deliver)")
    parser.add_argument(
        "--external-id", help="the user's id on the platform (default: a random one)"
    )
    parser.add_argument(
        "--auto", action="store_true", help="consent and answer with random valid options"
    )
    parser.add_argument("--seed", type=int, help="seed of --auto's random answers")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per request")
    args = parser.parse_args(argv)
    if not args.base_url.startswith(("http://", "https://")):
        parser.error("--base-url must start with http:// or https://")
    return args


def main(
    argv: list[str] | None = None,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    read_line: Callable[[], str] = sys.stdin.readline,
) -> int:
    args = parse_args(argv)
    api = Api(args.base_url, args.key, timeout=args.timeout)
    chat = Chat(api, auto=args.auto, rng=random.Random(args.seed), out=out, read_line=read_line)
    external_id = args.external_id or f"chat-{uuid.uuid4().hex[:12]}"
    try:
        code = chat.enrol(external_id)
        if not chat.consent(code):
            chat.say("You chose not to take part. Thank you for your time.")
            return EXIT_NO_CONSENT
        chat.conduct(code)
        return EXIT_COMPLETE
    except ApiError as error:
        print(f"error: {error.detail} (HTTP {error.status}, {error.kind})", file=err)
        if error.kind in ("participant-withdrawn", "consent-required"):
            return EXIT_NO_CONSENT
        if error.kind == "no-open-wave":
            opens = error.problem.get("opens_at")
            if opens:
                print(f"the next wave opens at {opens}", file=err)
            return EXIT_NO_WAVE
        return EXIT_REFUSED
    except Unreachable as error:
        print(f"error: {error}", file=err)
        return EXIT_UNREACHABLE
    except (EOFError, KeyboardInterrupt):
        print("\nstopped; run again with the same --external-id to resume", file=err)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
