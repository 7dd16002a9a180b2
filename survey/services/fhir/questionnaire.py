"""An instrument version as a FHIR R4 ``Questionnaire``.

- ``id``: the version's database id; ``url``: the canonical URL
  ``<public base>/fhir/Questionnaire/<instrument key>`` (one per instrument) and
  ``version`` its semantic version, so ``url|version`` is the canonical reference a
  ``QuestionnaireResponse`` names; ``identifier``: the content hash (see
  :mod:`.extensions`).
- ``status``: ``draft`` (a draft), ``active`` (published), ``retired``.
- ``title``, ``description`` (the intro), ``date`` (published, else created).
- One ``group`` item per page (``linkId`` = the construct code, ``text`` = the page's
  title), holding one ``choice`` item per entry in page order (``linkId`` = the item id,
  ``text`` = its wording, ``required`` unless optional, ``answerOption`` = the response
  scale's options as ``valueCoding``: ``code`` = the value, ``display`` = the label,
  ``system`` = :func:`scale_system`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from instruments.definition import AttentionCheck, InstrumentDefinition, Item, ResponseScale
from instruments.item_types import DEFAULT_ITEM_TYPE
from survey.models import InstrumentVersion, VersionStatus
from survey.services.fhir import extensions as ext
from survey.services.instruments import definition_of

# our status -> Questionnaire.status (PublicationStatus)
STATUS = {
    VersionStatus.DRAFT: "draft",
    VersionStatus.PUBLISHED: "active",
    VersionStatus.RETIRED: "retired",
}


def questionnaire_url(base_url: str, key: str) -> str:
    """The canonical URL of instrument ``key``'s questionnaires (every version shares it)."""
    return f"{base_url.rstrip('/')}/fhir/Questionnaire/{key}"


def canonical_url(base_url: str, key: str, version: str) -> str:
    """``url|version``: how a ``QuestionnaireResponse`` names the version it answers."""
    return f"{questionnaire_url(base_url, key)}|{version}"


def scale_system(base_url: str, key: str, scale: str) -> str:
    """The code system of a response scale's options (the codes are its values)."""
    return f"{base_url.rstrip('/')}/fhir/CodeSystem/{key}/{scale}"


def fhir_datetime(moment: datetime) -> str:
    """A FHIR ``dateTime``/``instant`` in UTC, to the second (``2026-01-02T03:04:05Z``)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def to_questionnaire(version: InstrumentVersion, *, base_url: str) -> dict[str, Any]:
    """The version as a ``Questionnaire`` resource (a JSON-ready dict)."""
    return definition_questionnaire(
        definition_of(version),
        base_url=base_url,
        resource_id=str(version.id),
        status=STATUS[version.status],
        date=version.published_at or version.created_at,
    )


def definition_questionnaire(
    definition: InstrumentDefinition,
    *,
    base_url: str,
    resource_id: str | None = None,
    status: str = "draft",
    date: datetime | None = None,
) -> dict[str, Any]:
    """A definition as a ``Questionnaire`` (see the module docstring)."""
    resource: dict[str, Any] = {"resourceType": "Questionnaire"}
    if resource_id is not None:
        resource["id"] = resource_id
    resource |= {
        "extension": [
            ext.extension(ext.CITATION, "valueString", definition.citation),
            ext.extension(ext.SHUFFLE_ITEMS, "valueBoolean", definition.shuffle_items),
        ],
        "url": questionnaire_url(base_url, definition.key),
        "identifier": [{"system": ext.CONTENT_HASH_SYSTEM, "value": definition.content_hash}],
        "version": definition.version,
        "title": definition.title,
        "status": status,
        "description": definition.intro,
    }
    if date is not None:
        resource["date"] = fhir_datetime(date)
    resource["item"] = [_page_group(definition, page, base_url) for page in definition.pages()]
    return resource


def _page_group(definition: InstrumentDefinition, page, base_url: str) -> dict[str, Any]:
    construct = definition.construct(page.key)
    extensions = [
        ext.complex_extension(
            ext.CONSTRUCT,
            [
                ("code", "valueCode", construct.code),
                ("name", "valueString", construct.name),
                ("domain", "valueString", construct.domain),
                ("description", "valueString", construct.description),
            ],
        )
    ]
    for sub in construct.subconstructs:
        extensions.append(
            ext.complex_extension(
                ext.SUBCONSTRUCT,
                [
                    ("code", "valueCode", sub.code),
                    ("name", "valueString", sub.name),
                    ("description", "valueString", sub.description),
                    ("reverse", "valueBoolean", sub.reverse),
                ],
            )
        )
    return {
        "extension": extensions,
        "linkId": page.key,
        "text": page.title,
        "type": "group",
        "item": [_entry_item(definition, entry, base_url) for entry in page.entries],
    }


def _entry_item(
    definition: InstrumentDefinition, entry: Item | AttentionCheck, base_url: str
) -> dict[str, Any]:
    scale = definition.scale(entry.scale)
    extensions = [ext.extension(ext.RESPONSE_SCALE, "valueCode", scale.key)]
    if isinstance(entry, Item):
        extensions.append(ext.extension(ext.REVERSE_KEYED, "valueBoolean", entry.reverse))
        if entry.safety_threshold is not None:
            extensions.append(
                ext.extension(ext.SAFETY_THRESHOLD, "valueInteger", entry.safety_threshold)
            )
    else:
        extensions.append(ext.extension(ext.ATTENTION_CHECK, "valueInteger", entry.expected))
    if entry.type != DEFAULT_ITEM_TYPE:  # only likert exists yet; kept for new types
        extensions.append(ext.extension(ext.BASE + "item-type", "valueCode", entry.type))
    return {
        "extension": extensions,
        "linkId": entry.id,
        "text": entry.text,
        "type": "choice",
        "required": not entry.optional,
        "answerOption": answer_options(definition.key, scale, base_url),
    }


def answer_options(key: str, scale: ResponseScale, base_url: str) -> list[dict[str, Any]]:
    system = scale_system(base_url, key, scale.key)
    return [
        {"valueCoding": {"system": system, "code": str(option.value), "display": option.label}}
        for option in scale.options
    ]


def coding(key: str, scale: ResponseScale, value: int, base_url: str) -> dict[str, Any]:
    """The ``valueCoding`` of an answer ``value`` on ``scale`` (as its answer option)."""
    found: dict[str, Any] = {"system": scale_system(base_url, key, scale.key), "code": str(value)}
    for option in scale.options:
        if option.value == value:
            found["display"] = option.label
    return found
