"""Gunicorn settings for the survey app; ``gunicorn wsgi:app`` reads this file from the
working directory (``-c PATH`` names another one; command-line options win over it).

Production runs behind a reverse proxy that ends TLS and buffers request bodies, e.g.
nginx, whose default ``proxy_request_buffering on`` reads the whole upload before gunicorn
sees a byte of it. Gunicorn's threads then never wait for a slow client. Without such a
proxy, ``BODY_READ_TIMEOUT`` still frees a thread whose client stops sending its body.

Environment (all optional):

``PORT`` / ``HOST``
    where to listen, default ``127.0.0.1:8000`` (the proxy on the same host);
    ``GUNICORN_BIND`` sets the whole address instead, e.g. ``unix:/run/survey.sock``.
``WEB_CONCURRENCY``
    worker processes, default 1. More than one needs shared rate-limit storage
    (``REDIS_URL``).
``GUNICORN_THREADS``
    threads per worker, default 8.
``GUNICORN_BODY_TIMEOUT``
    seconds a worker thread waits for the next bytes of a request body, default 10.
``GUNICORN_ACCESS_LOG``
    access log file, default ``-`` (standard output).

Participant tokens (``/p/<token>``) never reach gunicorn's logs: :class:`RedactingLogger`
puts :class:`survey.logs.RedactTokens` on the access and error loggers, which rewrites the
token to the first eight hex digits of its SHA-256 (the start of
``participants.token_hash``).
"""

from __future__ import annotations

import os

from gunicorn.glogging import Logger

from survey.auth.rate_limits import require_shared_storage_for_environment
from survey.logs import add_filter

_host = os.environ.get("HOST", "127.0.0.1")
_port = os.environ.get("PORT", "8000")
bind = [os.environ.get("GUNICORN_BIND") or f"{_host}:{_port}"]

# Threads: a request waiting on the database does not hold a whole process.
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "1"))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))

# A worker that stops answering the arbiter's heartbeat for `timeout` seconds is killed
# and replaced; on a restart, requests in flight get `graceful_timeout` seconds.
timeout = 30
graceful_timeout = 30
# Idle kept-alive connections are closed after this many seconds (the proxy reconnects).
keepalive = 5
# Request line and headers: refuse oversized ones before the app runs (400/431).
limit_request_line = 4094
limit_request_fields = 64
limit_request_field_size = 8190

# Seconds one read of a request body may wait for data (gthread leaves body reads
# unbounded: 16 clients that send headers and then stall would hold 16 threads for good).
BODY_READ_TIMEOUT = float(os.environ.get("GUNICORN_BODY_TIMEOUT", "10"))

accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
# The default format with the request's duration in milliseconds; the line is redacted
# as a whole, so the request line and the referrer lose their tokens alike.
access_log_format = '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(M)sms'


class RedactingLogger(Logger):
    """Gunicorn's logger with participant tokens redacted from access and error lines."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            add_filter(log)


logger_class = RedactingLogger


def pre_request(worker, req) -> None:
    """Bound each read of this request's body (the headers are already read)."""
    sock = getattr(getattr(req, "unreader", None), "sock", None)
    if sock is not None and BODY_READ_TIMEOUT > 0:
        sock.settimeout(BODY_READ_TIMEOUT)


def on_starting(server) -> None:
    """Refuse to start several workers that would each count failed logins in their own
    memory: without ``REDIS_URL`` every login limit would hold once per worker."""
    require_shared_storage_for_environment(server.cfg.workers)
