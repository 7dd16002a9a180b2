"""Instrument files as text: a size limit first, then UTF-8 (a byte-order mark is fine).

The one place uploads and files are decoded: the YAML loader, the REDCap reader and the
survey's import all call :func:`decode_text`, each with its own limit and advice.

>>> decode_text(b"\\xef\\xbb\\xbfkey: x", limit=100)
'key: x'
>>> decode_text(b"caf\\xe9", limit=100)
Traceback (most recent call last):
...
instruments.text_encoding.UndecodableText: not valid UTF-8 (byte 0xe9 at offset 3)
"""

from __future__ import annotations

__all__ = ["UndecodableText", "byte_size", "decode_text", "too_large"]


class UndecodableText(ValueError):
    """Text over its size limit or not UTF-8; the message says which, for the user."""


def byte_size(data: str | bytes) -> int:
    """The size of ``data`` in bytes (text counted as UTF-8)."""
    return len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)


def too_large(size: int, limit: int) -> str:
    """The message for a file of ``size`` bytes over ``limit``.

    >>> too_large(2_500_000, 2_000_000)
    'file is larger than 2 MB (2500000 bytes; the limit is 2000000)'
    """
    return f"file is larger than {limit / 1_000_000:g} MB ({size} bytes; the limit is {limit})"


def decode_text(data: str | bytes, *, limit: int, advice: str | None = None) -> str:
    """``data`` as text without a leading byte-order mark, checked against ``limit``
    bytes before it is decoded. Raises :class:`UndecodableText`; ``advice`` (e.g. "save
    the file as UTF-8") is added to the encoding message."""
    size = byte_size(data)
    if size > limit:
        raise UndecodableText(too_large(size, limit))
    if isinstance(data, str):
        return data.removeprefix("\ufeff")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        message = f"not valid UTF-8 (byte 0x{data[error.start]:02x} at offset {error.start})"
        raise UndecodableText(f"{message}; {advice}" if advice else message) from None
