"""A real HTTP receiver of webhook deliveries for the tests: a ``ThreadingHTTPServer`` on
127.0.0.1 in a thread that checks each delivery's signature with the endpoint's secret
(survey.services.webhooks.signing.verify, as a therapy platform would) and answers with
the statuses it is told."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from survey.services.webhooks import signing


@dataclass
class Received:
    """One request the receiver got, and what it made of it."""

    path: str
    headers: dict[str, str]
    body: bytes
    answered: int
    verified: dict[str, Any] | None
    rejection: str | None


@dataclass
class Receiver:
    """An HTTP server in a thread: answers with ``statuses`` in turn (then ``default``),
    verifying every request with ``secret`` (when set) as a receiver would."""

    url: str
    requests: list[Received] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default: int = 200
    secret: str | None = None
    seen: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self) -> int:
        with self.lock:
            return self.statuses.pop(0) if self.statuses else self.default

    def of_type(self, event_type: str) -> list[Received]:
        return [r for r in self.requests if r.verified and r.verified["type"] == event_type]


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            headers = dict(self.headers.items())
            verified, rejection = None, None
            if receiver.secret is not None:
                try:
                    verified = signing.verify(receiver.secret, headers, body)
                except signing.InvalidSignature as error:
                    rejection = str(error)
            status = receiver.next_status() if rejection is None else 400
            receiver.requests.append(
                Received(self.path, headers, body, status, verified, rejection)
            )
            answer = b"not today" if status >= 300 else b"ok"
            self.send_response(status)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, format: str, *args: Any) -> None:  # quiet
            pass

    return Handler


@contextmanager
def running_receiver() -> Iterator[Receiver]:
    """A receiver listening on a free port of 127.0.0.1 until the block ends."""
    receiver = Receiver(url="")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(receiver))
    receiver.url = f"http://127.0.0.1:{server.server_port}/hooks/iemdp"
    thread = threading.Thread(target=server.serve_forever, name="receiver", daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
