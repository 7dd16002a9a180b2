"""The instance folder and what the app keeps there: private to the user running it.

The folder is created 0700, the generated development secret key 0600, and the SQLite
database file is created empty with mode 0600 before SQLite opens it: SQLite gives its
``-wal`` and ``-shm`` files the mode of the database file, so they are private too.
Existing files keep the mode they have.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask
from sqlalchemy.engine import make_url

__all__ = [
    "create_private_file",
    "external_id_key",
    "make_private_directory",
    "secret_key",
    "sqlite_file",
]


def make_private_directory(path: Path) -> None:
    """Create ``path`` (and missing parents) with mode 0700; an existing folder is kept."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)


def create_private_file(path: Path) -> bool:
    """Create ``path`` empty with mode 0600 unless it exists; ``True`` when created."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    os.close(fd)
    return True


def sqlite_file(uri: str) -> Path | None:
    """The database file a SQLite URL names, or ``None`` (another database, memory, URI form).

    >>> sqlite_file("sqlite:////srv/survey/survey.sqlite3")
    PosixPath('/srv/survey/survey.sqlite3')
    >>> sqlite_file("sqlite://") is None, sqlite_file("postgresql+psycopg://u@h/d") is None
    (True, True)
    """
    url = make_url(uri)
    database = url.database
    if url.get_backend_name() != "sqlite" or not database or database == ":memory:":
        return None
    if url.query.get("uri") or database.startswith("file:"):
        return None
    return Path(database)


def secret_key(app: Flask) -> str:
    """The configured ``SECRET_KEY``, or (when ``SECRET_KEY_FILE`` names a file) a random key
    generated once into the instance folder; at least ``SECRET_KEY_MIN_BYTES`` long.

    Raises :class:`RuntimeError` when no key is configured and none may be generated
    (production), or when the key is too short.
    """
    config = app.config
    key = config["SECRET_KEY"]
    if not key:
        if not config["SECRET_KEY_FILE"]:
            raise RuntimeError(
                "SECRET_KEY is not set: this configuration never generates a key file. Set "
                "SECRET_KEY in the environment to a random value of at least "
                f"{config['SECRET_KEY_MIN_BYTES']} bytes, e.g. "
                '`python -c "import secrets; print(secrets.token_hex(32))"`.'
            )
        key = _persistent_secret_key(Path(app.instance_path) / config["SECRET_KEY_FILE"])
    minimum = config["SECRET_KEY_MIN_BYTES"]
    length = len(key.encode("utf-8") if isinstance(key, str) else key)
    if length < minimum:
        raise RuntimeError(
            f"SECRET_KEY is {length} bytes long: this configuration needs at least {minimum}. "
            '`python -c "import secrets; print(secrets.token_hex(32))"` prints a good one.'
        )
    return key


def external_id_key(app: Flask) -> bytes:
    """The key of the external-id HMAC: ``EXTERNAL_ID_KEY``, or (when
    ``EXTERNAL_ID_KEY_FILE`` names a file) a random key generated once into the instance
    folder, as the development secret key is. Kept in the config once read.

    Raises :class:`RuntimeError` when none is configured and none may be generated
    (production): a key made up per process would make stored hashes unmatchable.
    """
    key = app.config.get("EXTERNAL_ID_KEY")
    if not key:
        file_name = app.config.get("EXTERNAL_ID_KEY_FILE")
        if not file_name:
            raise RuntimeError(
                "EXTERNAL_ID_KEY is not set: this configuration never generates a key file. "
                "Set SURVEY_EXTERNAL_ID_KEY to a random value and never change it (stored "
                'external ids are hashed with it), e.g. `python -c "import secrets; '
                'print(secrets.token_hex(32))"`.'
            )
        key = _persistent_secret_key(Path(app.instance_path) / file_name)
        app.config["EXTERNAL_ID_KEY"] = key
    return key.encode("utf-8") if isinstance(key, str) else bytes(key)


def _persistent_secret_key(path: Path) -> str:
    """A random key kept in ``path`` so sessions survive restarts; created once, mode 0600."""
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    make_private_directory(path.parent)
    key = secrets.token_hex(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another worker won the race: use its key
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as file:
        file.write(key + "\n")
    return key
