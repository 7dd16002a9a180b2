"""Search results as a FHIR R4 ``Bundle`` of type ``searchset``."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any


def searchset(
    resources: Iterable[dict[str, Any]],
    *,
    self_url: str,
    full_url: Callable[[dict[str, Any]], str],
) -> dict[str, Any]:
    """A ``searchset`` bundle of every resource (all matches, no paging): ``total``, a
    ``self`` link, and one entry per resource with its ``fullUrl`` (``full_url(resource)``,
    an absolute URL) and ``search.mode = match``."""
    entries = [
        {"fullUrl": full_url(resource), "resource": resource, "search": {"mode": "match"}}
        for resource in resources
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "total": len(entries),
        "link": [{"relation": "self", "url": self_url}],
        "entry": entries,
    }
