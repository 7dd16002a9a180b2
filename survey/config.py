"""Configuration classes.

Nothing here reads the environment at import time: :func:`survey.create_app` loads a class,
then (unless the class says otherwise) the environment, then an explicit mapping.

Environment variables read by ``create_app``:

``SURVEY_<NAME>``
    any configuration key ``<NAME>`` (values are parsed as JSON when possible, as Flask's
    :meth:`~flask.Config.from_prefixed_env` does), e.g. ``SURVEY_PARTICIPANT_BASE_URL``.
``DATABASE_URL``
    the database, e.g. ``postgresql+psycopg://user@host/db`` (``postgres://`` and
    ``postgresql://`` are read as psycopg 3 URLs).
``SECRET_KEY``
    the key signing sessions and CSRF tokens. Without it, the development default is a
    random key generated once and kept in ``instance/secret_key``; production refuses to
    start without one of at least 32 bytes and never writes a key file.
``SURVEY_PARTICIPANT_BASE_URL``
    the public base URL links start with (default: the request's host; see
    :attr:`Config.PARTICIPANT_BASE_URL`).
``SURVEY_EXTERNAL_ID_KEY``
    the key of the external-id HMAC (required in production; see
    :attr:`Config.EXTERNAL_ID_KEY`).
``REDIS_URL``
    e.g. ``redis://localhost:6379/0``: shared storage for the login rate limit (and, later,
    the job queue). Without it the counts live in each process's memory, and gunicorn
    refuses to start more than one worker (survey.auth.rate_limits).
``SURVEY_PROXY_FIX_X_FOR``, ``SURVEY_PROXY_FIX_X_PROTO`` (``_X_HOST``, ``_X_PORT``, ``_X_PREFIX``)
    behind a reverse proxy: how many proxies set ``X-Forwarded-For`` (``-Proto``, ...), e.g.
    ``SURVEY_PROXY_FIX_X_FOR=1`` (Werkzeug's ProxyFix, survey.proxy). Default 0: the headers
    are ignored, and the login rate limit counts the proxy's address for everyone.
``SURVEY_CONFIG``
    ``production`` selects :class:`ProductionConfig` (secure cookies, HSTS, a configured
    ``SECRET_KEY``; use it behind HTTPS, e.g. ``SURVEY_CONFIG=production gunicorn wsgi:app``);
    default ``development``.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent


class Config:
    """Defaults shared by every configuration."""

    # Read SURVEY_*, DATABASE_URL and SECRET_KEY from the environment in create_app.
    READ_ENVIRONMENT = True

    SECRET_KEY: str | None = None
    # Name of the file under the instance folder that keeps a generated secret key (when
    # SECRET_KEY is not set); None: never generate one, refuse to start without SECRET_KEY.
    SECRET_KEY_FILE: str | None = "secret_key"
    SECRET_KEY_MIN_BYTES = 0

    # None: a SQLite file in the instance folder (see SQLITE_FILE).
    SQLALCHEMY_DATABASE_URI: str | None = None
    SQLITE_FILE = "survey.sqlite3"
    # How long a SQLite write waits for another writer before giving up with "database is
    # locked" (then the request is a 503 with Retry-After).
    SQLITE_BUSY_TIMEOUT_MS = 5000
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    MIGRATIONS_DIR = str(PROJECT_DIR / "migrations")

    # Participant pages are reached by a secret link and staff log in: keep cookies
    # first-party, out of scripts, and (outside development) on HTTPS only.
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    # Flask-Login's remember-me cookie (the login form offers no remember-me; set anyway).
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    # Security headers (survey.headers, Flask-Talisman). TLS ends at the proxy, so the app
    # does not redirect HTTP to HTTPS unless asked; HSTS is sent over HTTPS in production.
    FORCE_HTTPS = False
    HSTS = False
    HSTS_MAX_AGE = 365 * 24 * 3600
    # Uploads (instrument files) and forms: refuse anything larger with 413.
    MAX_CONTENT_LENGTH = 16 * 1024 * 1024

    # Failed logins allowed per e-mail address and remote address, and per remote address
    # alone (limits notation); every POST /login that does not log in counts. Over the
    # address limit, the right password of an account under its own limit still logs in.
    LOGIN_FAILURE_LIMIT = "5 per 15 minutes"
    LOGIN_FAILURE_LIMIT_PER_ADDRESS = "50 per 15 minutes"
    # A profile of argon2.profiles (argon2id, RFC 9106's second recommendation).
    PASSWORD_HASH_PROFILE = "RFC_9106_LOW_MEMORY"
    # None: memory:// (one process), or REDIS_URL when that is set.
    RATELIMIT_STORAGE_URI: str | None = None
    REDIS_URL: str | None = None
    # Reverse proxies trusted per X-Forwarded-* header (survey.proxy); 0: none, the default.
    PROXY_FIX_X_FOR = 0
    PROXY_FIX_X_PROTO = 0
    PROXY_FIX_X_HOST = 0
    PROXY_FIX_X_PORT = 0
    PROXY_FIX_X_PREFIX = 0
    # A participant may leave a page open for a long break; the form must still submit.
    WTF_CSRF_TIME_LIMIT = 12 * 3600

    # The public base URL of the site (scheme, host, port, any path prefix; no trailing
    # slash), e.g. "https://survey.example.org": the start of every participant link and
    # open enrolment link. The one setting for it (env SURVEY_PARTICIPANT_BASE_URL). None:
    # pages build links from the request's own host (request.host_url); the CLI, which
    # has no request, uses CLI_FALLBACK_BASE_URL and says so on stderr.
    PARTICIPANT_BASE_URL: str | None = None
    CLI_FALLBACK_BASE_URL = "http://localhost:5000"
    # The key of the HMAC-SHA256 that stores an external id (the therapy platform's user
    # id) as a hash (env SURVEY_EXTERNAL_ID_KEY). It must never change once ids are stored,
    # and a system that matches ids (the therapy platform) needs the same key. Without it,
    # development generates one once into instance/<EXTERNAL_ID_KEY_FILE>; production
    # (EXTERNAL_ID_KEY_FILE None) refuses to start.
    EXTERNAL_ID_KEY: str | None = None
    EXTERNAL_ID_KEY_FILE: str | None = "external_id_key"
    # Shown on pages where no study is known (unknown link, errors).
    URGENT_HELP_NOTE = (
        "If you are in danger or thinking about harming yourself, call your local emergency "
        "number now, or go to the nearest emergency department."
    )
    # Webhooks (survey.services.webhooks): plain http:// endpoints on this machine
    # (127.0.0.1, localhost) are refused unless this is on (development and tests);
    # a failed delivery is retried after base * 2**(attempts - 1) seconds (at most an hour);
    # each attempt waits this long for an answer.
    WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    WEBHOOK_RETRY_BASE_SECONDS = 30
    WEBHOOK_TIMEOUT_SECONDS = 10


class DevelopmentConfig(Config):
    """The default: a SQLite file at ``instance/survey.sqlite3`` (WAL mode), plain HTTP."""

    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    WEBHOOKS_ALLOW_HTTP_LOCALHOST = True


class ProductionConfig(Config):
    """Behind HTTPS: cookies are sent over HTTPS only, HSTS, and a ``SECRET_KEY`` of at
    least 32 bytes from the environment (``SURVEY_CONFIG=production``)."""

    SECRET_KEY_FILE = None
    SECRET_KEY_MIN_BYTES = 32
    EXTERNAL_ID_KEY_FILE = None
    HSTS = True


class TestConfig(Config):
    """For the test suite: deterministic, no environment, CSRF off unless a test turns it on."""

    READ_ENVIRONMENT = False
    TESTING = True
    SECRET_KEY = "test-secret-key"
    SQLALCHEMY_DATABASE_URI = "sqlite://"
    WTF_CSRF_ENABLED = False
    PARTICIPANT_BASE_URL = "http://localhost"
    EXTERNAL_ID_KEY = "test-external-id-key"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    RATELIMIT_STORAGE_URI = "memory://"
    # Hashing with 64 MiB per login would make the suite slow; still argon2id.
    PASSWORD_HASH_PROFILE = "CHEAPEST"
    WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
