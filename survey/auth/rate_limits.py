"""Limits on failed logins, counted where every web worker sees the same numbers.

Two counters, fixed windows, in the storage of Flask-Limiter (``RATELIMIT_STORAGE_URI``:
Redis when ``REDIS_URL`` is set, else the process's memory):

* per account: e-mail address and remote address (``LOGIN_FAILURE_LIMIT``);
* per remote address alone (``LOGIN_FAILURE_LIMIT_PER_ADDRESS``).

Every ``POST /login`` that does not log in counts on both: a wrong password, an unknown
address, an invalid form, a request refused with 400 (no CSRF token, a NUL byte, a body
that cannot be read) or one that failed with an error. An account over its limit is paused,
even for the right password. An address over its limit is paused too, except for the right
password of an account that is not over its own limit: behind a proxy (or a NAT) many
people share one address, and one guesser must not lock all of them out.

Memory storage is per process: :func:`require_shared_storage` refuses to start several
workers on it (``gunicorn.conf.py`` calls it before forking).
"""

from __future__ import annotations

import hashlib
import math
import os
import time
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass

from flask import Flask
from limits import RateLimitItem, parse
from limits.strategies import FixedWindowRateLimiter

from survey.extensions import limiter

MEMORY_STORAGE = "memory://"

__all__ = [
    "MEMORY_STORAGE",
    "CountersUnavailable",
    "LoginCounters",
    "SharedStorageRequired",
    "login_counters",
    "require_shared_storage",
    "require_shared_storage_for_environment",
    "storage_uri",
]


class SharedStorageRequired(RuntimeError):
    """Several worker processes were asked to count failed logins in their own memory."""


class CountersUnavailable(RuntimeError):
    """The storage of the counters (Redis) did not answer: logins fail closed."""


@contextmanager
def _storage_errors_as_unavailable():
    try:
        yield
    except limiter.storage.base_exceptions as error:
        raise CountersUnavailable(f"login counters unavailable: {error}") from error


def storage_uri(configured: str | None, redis_url: str | None) -> str:
    """Where the counters live: ``RATELIMIT_STORAGE_URI`` when set, else ``REDIS_URL``,
    else the process's memory.

    >>> storage_uri(None, "redis://127.0.0.1:6379/0")
    'redis://127.0.0.1:6379/0'
    >>> storage_uri(None, None)
    'memory://'
    """
    return configured or redis_url or MEMORY_STORAGE


def require_shared_storage(workers: int, storage_uri: str) -> None:
    """Raise :class:`SharedStorageRequired` when ``workers`` processes would each keep
    their own counts (``memory://``), which multiplies every limit by the worker count.

    >>> require_shared_storage(1, "memory://")
    >>> require_shared_storage(4, "redis://127.0.0.1:6379/0")
    >>> require_shared_storage(2, "memory://")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    survey.auth.rate_limits.SharedStorageRequired: 2 workers would each count ...
    """
    if workers > 1 and storage_uri.startswith(MEMORY_STORAGE):
        raise SharedStorageRequired(
            f"{workers} workers would each count failed logins in their own memory "
            f"({storage_uri}), so every login limit would hold {workers} times over. "
            "Set REDIS_URL (or SURVEY_RATELIMIT_STORAGE_URI) to shared storage, or run "
            "one worker."
        )


def require_shared_storage_for_environment(
    workers: int, environ: Mapping[str, str] | None = None
) -> None:
    """:func:`require_shared_storage` for the storage the app will read from the
    environment (``SURVEY_RATELIMIT_STORAGE_URI``, else ``REDIS_URL``): for a process
    manager that starts workers before any app exists, e.g. gunicorn's ``on_starting``."""
    environ = os.environ if environ is None else environ
    uri = storage_uri(environ.get("SURVEY_RATELIMIT_STORAGE_URI"), environ.get("REDIS_URL"))
    require_shared_storage(workers, uri)


def _digest(*parts: str) -> str:
    # Neither e-mail addresses nor remote addresses are written to the storage as such.
    return hashlib.sha256("\0".join(parts).encode("utf-8", "replace")).hexdigest()[:32]


@dataclass(frozen=True)
class LoginCounters:
    """The two failure counters of one login attempt (an e-mail and a remote address).

    Checking and counting are two steps (the outcome is known only after the password
    check), so requests running at the same moment can pass a limit by at most the number
    of requests in flight, once per window.
    """

    per_account: RateLimitItem
    per_address: RateLimitItem
    account_key: str
    address_key: str

    @property
    def _strategy(self) -> FixedWindowRateLimiter:
        return FixedWindowRateLimiter(limiter.storage)

    # Each method raises CountersUnavailable when the storage does not answer.

    def account_blocked(self) -> bool:
        with _storage_errors_as_unavailable():
            return not self._strategy.test(self.per_account, "login-account", self.account_key)

    def address_blocked(self) -> bool:
        with _storage_errors_as_unavailable():
            return not self._strategy.test(self.per_address, "login-address", self.address_key)

    def count_failure(self) -> None:
        with _storage_errors_as_unavailable():
            self._strategy.hit(self.per_account, "login-account", self.account_key)
            self._strategy.hit(self.per_address, "login-address", self.address_key)

    def retry_after(self) -> int:
        """Seconds until every limit this attempt is over resets (at least 1)."""
        now = time.time()
        with _storage_errors_as_unavailable():
            resets = [
                self._strategy.get_window_stats(item, namespace, key).reset_time
                for item, namespace, key in (
                    (self.per_account, "login-account", self.account_key),
                    (self.per_address, "login-address", self.address_key),
                )
                if not self._strategy.test(item, namespace, key)
            ]
        return max(1, math.ceil(max(resets, default=now) - now))


def login_counters(app: Flask, email: str, address: str) -> LoginCounters:
    """The counters for a login attempt with ``email`` (normalised) from ``address``."""
    return LoginCounters(
        per_account=parse(app.config["LOGIN_FAILURE_LIMIT"]),
        per_address=parse(app.config["LOGIN_FAILURE_LIMIT_PER_ADDRESS"]),
        account_key=_digest(email, address),
        address_key=_digest(address),
    )
