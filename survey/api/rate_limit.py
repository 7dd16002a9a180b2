"""Each API key's own request budget: ``rate_limit_per_minute`` requests per fixed
one-minute window.

The count lives in Flask-Limiter's storage (``RATELIMIT_STORAGE_URI``: Redis when
``REDIS_URL`` is set, so every web worker counts together; the process's memory
otherwise), keyed by the key's stored hash (not its row id, which another deployment
sharing one Redis would reuse). Every authenticated request counts, refused or not; over
the budget the request is answered ``429`` with ``Retry-After`` (seconds until the window
ends) before its view runs. A fixed window lets a client send up to twice its budget
across a window boundary; for a per-minute budget that is the accepted trade for one
counter per key. When the storage does not answer, the request is refused with ``503``
(fail closed, as the login counters do): nothing is stored.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItemPerMinute
from limits.strategies import FixedWindowRateLimiter

from survey.api.problems import ApiProblem
from survey.extensions import limiter
from survey.models import ApiKey

NAMESPACE = "api-key"


def enforce(api_key: ApiKey) -> None:
    """Count one request of ``api_key``; raise a 429 problem when it is over its budget
    (a 503 problem when the counters cannot be reached)."""
    item = RateLimitItemPerMinute(api_key.rate_limit_per_minute)
    identity = api_key.key_hash[:32]
    strategy = FixedWindowRateLimiter(limiter.storage)
    try:
        if strategy.hit(item, NAMESPACE, identity):
            return
        reset_at = strategy.get_window_stats(item, NAMESPACE, identity).reset_time
    except limiter.storage.base_exceptions as error:
        raise ApiProblem(
            503, f"the request counters are unavailable ({error}); nothing was stored"
        ) from error
    retry_after = max(1, math.ceil(reset_at - time.time()))
    raise ApiProblem(
        429,
        f"this key may make {api_key.rate_limit_per_minute} requests a minute; "
        f"try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
        extra={"limit_per_minute": api_key.rate_limit_per_minute, "retry_after": retry_after},
    )
