"""Trust for a reverse proxy in front of the app (Werkzeug's ProxyFix), off by default.

Behind a proxy every request comes from the proxy's address; the login rate limit, the
scheme of generated URLs and secure cookies need the client's. ``PROXY_FIX_X_FOR=1`` (in
the environment ``SURVEY_PROXY_FIX_X_FOR=1``) says one proxy sets ``X-Forwarded-For``;
``PROXY_FIX_X_PROTO``, ``PROXY_FIX_X_HOST``, ``PROXY_FIX_X_PORT`` and
``PROXY_FIX_X_PREFIX`` do the same for the other ``X-Forwarded-*`` headers. Set them only to
the number of proxies you run: a client can write these headers itself.
"""

from __future__ import annotations

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

# Config key → ProxyFix argument.
PROXY_FIX_KEYS = {
    "PROXY_FIX_X_FOR": "x_for",
    "PROXY_FIX_X_PROTO": "x_proto",
    "PROXY_FIX_X_HOST": "x_host",
    "PROXY_FIX_X_PORT": "x_port",
    "PROXY_FIX_X_PREFIX": "x_prefix",
}


def proxy_fix_arguments(config: dict) -> dict[str, int]:
    """The ProxyFix arguments the configuration asks for (every count 0 when unset).

    >>> proxy_fix_arguments({"PROXY_FIX_X_FOR": "1"})["x_for"]
    1
    >>> sum(proxy_fix_arguments({}).values())
    0
    """
    arguments = {}
    for key, argument in PROXY_FIX_KEYS.items():
        value = config.get(key) or 0
        try:
            count = int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{key}={value!r}: give the number of proxies (0 for none)") from None
        if count < 0:
            raise ValueError(f"{key}={value!r}: give the number of proxies (0 for none)")
        arguments[argument] = count
    return arguments


def init_proxy_fix(app: Flask) -> None:
    """Wrap the app in ProxyFix when the configuration trusts at least one proxy header."""
    arguments = proxy_fix_arguments(app.config)
    if any(arguments.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, **arguments)  # type: ignore[method-assign]
