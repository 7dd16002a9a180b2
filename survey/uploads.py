"""Reading an uploaded file without holding more than the limit in memory."""

from __future__ import annotations

import os
from typing import Any


def read_upload(storage: Any, limit: int) -> tuple[bytes | None, int]:
    """The upload's bytes and size; the bytes are None when the size is over ``limit`` (the
    file is then only measured, never read)."""
    stream = storage.stream
    stream.seek(0, os.SEEK_END)
    size = stream.tell()
    stream.seek(0)
    if size > limit:
        return None, size
    return stream.read(), size
