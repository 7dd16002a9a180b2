"""What an instrument holds and a FHIR ``Questionnaire`` has no element for, written as
extensions (and one identifier) under :data:`BASE`, so an exported version imports back
equal (same content hash).

=========================  =========================  =====================================
on                         extension (after BASE)     value
=========================  =========================  =====================================
Questionnaire              ``instrument-citation``    ``valueString``: the citation
Questionnaire              ``shuffle-items``          ``valueBoolean``: items shuffled per
                                                      participant within a page
group (a page)             ``construct``              complex: ``code`` (valueCode),
                                                      ``name``, ``domain``, ``description``
                                                      (valueString); the group's ``text``
                                                      is the page title
group (a page)             ``subconstruct``           complex, one per subconstruct of the
                                                      page: ``code`` (valueCode), ``name``,
                                                      ``description`` (valueString),
                                                      ``reverse`` (valueBoolean)
choice item                ``response-scale``         ``valueCode``: the scale's key
choice item (scored)       ``reverse-keyed``          ``valueBoolean`` (always written)
choice item (scored)       ``safety-threshold``       ``valueInteger``, safety items only
choice item (check)        ``attention-check``        ``valueInteger``: the expected
                                                      answer; marks an attention check
answer (response)          ``delivery-mode``          ``valueCode``: ``web`` or ``chat``
QuestionnaireResponse      ``wave``                   ``valueCode``: the wave's key
=========================  =========================  =====================================

The content hash (SHA-256 of the version's canonical JSON) is the Questionnaire's
``identifier`` with system :data:`CONTENT_HASH_SYSTEM`, so ``url|version`` names the
version and the identifier proves its content (``Questionnaire?identifier=<system>|<hex>``
finds it on a FHIR server).
"""

from __future__ import annotations

from typing import Any

BASE = "https://iemdp.org/fhir/StructureDefinition/"
CONTENT_HASH_SYSTEM = "https://iemdp.org/fhir/sid/instrument-content-sha256"

CITATION = BASE + "instrument-citation"
SHUFFLE_ITEMS = BASE + "shuffle-items"
CONSTRUCT = BASE + "construct"
SUBCONSTRUCT = BASE + "subconstruct"
RESPONSE_SCALE = BASE + "response-scale"
REVERSE_KEYED = BASE + "reverse-keyed"
SAFETY_THRESHOLD = BASE + "safety-threshold"
ATTENTION_CHECK = BASE + "attention-check"
DELIVERY_MODE = BASE + "delivery-mode"
WAVE = BASE + "wave"

# value[x] element names
_VALUE_NAMES = ("valueString", "valueCode", "valueBoolean", "valueInteger")


def extension(url: str, value_type: str, value: Any) -> dict[str, Any]:
    """One simple extension, e.g. ``extension(RESPONSE_SCALE, "valueCode", "agree5")``."""
    return {"url": url, value_type: value}


def complex_extension(url: str, parts: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """A complex extension of ``(name, value type, value)`` parts."""
    return {"url": url, "extension": [extension(name, kind, value) for name, kind, value in parts]}


def find(element: dict[str, Any], url: str) -> list[dict[str, Any]]:
    """The extensions of ``element`` with this url (an element without any: ``[]``)."""
    found = element.get("extension")
    if not isinstance(found, list):
        return []
    return [ext for ext in found if isinstance(ext, dict) and ext.get("url") == url]


def value_of(ext: dict[str, Any]) -> Any:
    """The value of a simple extension (None when it has none)."""
    for name in _VALUE_NAMES:
        if name in ext:
            return ext[name]
    return None


def parts_of(ext: dict[str, Any]) -> dict[str, Any]:
    """A complex extension's parts by name."""
    parts = ext.get("extension")
    if not isinstance(parts, list):
        return {}
    return {
        part["url"]: value_of(part)
        for part in parts
        if isinstance(part, dict) and isinstance(part.get("url"), str)
    }
