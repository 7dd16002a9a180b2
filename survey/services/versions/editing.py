"""Editing a draft field by field or as YAML; every edit goes through
:func:`survey.services.versions.drafts.update_draft` (validated whole, audited)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from instruments.loader import (
    InstrumentValidationError,
    load_instrument_text,
)
from survey.models import Instrument, InstrumentVersion, User
from survey.services.errors import (
    InvalidDefinition,
)
from survey.services.versions.drafts import draft_name, require_draft, update_draft


def _edit(
    draft: InstrumentVersion,
    change: Callable[[dict[str, Any]], None],
    *,
    actor: User | None,
    expected_hash: str | None,
    edit: str,
) -> bool:
    require_draft(draft)
    mapping = copy.deepcopy(draft.content)
    change(mapping)
    return update_draft(draft, mapping, actor=actor, expected_hash=expected_hash, edit=edit)


def entry_path(content: dict[str, Any], entry_id: str) -> str | None:
    """The dotted key of an item or attention check in ``content`` (as problems name it),
    e.g. ``constructs[0].subconstructs[1].items[2]``; None if there is no such entry."""
    for c, construct in enumerate(content.get("constructs", ())):
        for s, sub in enumerate(construct.get("subconstructs", ())):
            for i, item in enumerate(sub.get("items", ())):
                if item.get("id") == entry_id:
                    return f"constructs[{c}].subconstructs[{s}].items[{i}]"
    for index, check in enumerate(content.get("attention_checks", ())):
        if check.get("id") == entry_id:
            return f"attention_checks[{index}]"
    return None


def _find_item(mapping: dict[str, Any], item_id: str) -> tuple[list[dict[str, Any]], int]:
    for construct in mapping["constructs"]:
        for sub in construct["subconstructs"]:
            for index, item in enumerate(sub["items"]):
                if item["id"] == item_id:
                    return sub["items"], index
    raise KeyError(item_id)


def edit_metadata(
    draft: InstrumentVersion,
    *,
    title: str,
    citation: str,
    intro: str,
    shuffle_items: bool,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    def change(mapping: dict[str, Any]) -> None:
        mapping.update(title=title, citation=citation, intro=intro, shuffle_items=shuffle_items)

    return _edit(draft, change, actor=actor, expected_hash=expected_hash, edit="metadata")


def edit_item(
    draft: InstrumentVersion,
    item_id: str,
    *,
    text: str,
    reverse: bool,
    optional: bool,
    position: int | None = None,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    """Change an item's text, keying, optional flag and (1-based) position within its
    subconstruct. Raises ``KeyError`` for an unknown item."""

    def change(mapping: dict[str, Any]) -> None:
        items, index = _find_item(mapping, item_id)
        item = items[index]
        item.update(text=text, reverse=reverse, optional=optional)
        if position is not None:
            items.pop(index)
            items.insert(min(max(position, 1), len(items) + 1) - 1, item)

    return _edit(draft, change, actor=actor, expected_hash=expected_hash, edit=f"item {item_id}")


def _used_numbers(instrument: Instrument, subconstruct: str) -> set[int]:
    """Item numbers of ``subconstruct`` used in any version of the instrument: a new item
    never reuses the id of an item removed earlier (ids mean one item forever)."""
    prefix = f"{subconstruct}_"
    numbers = set()
    for version in instrument.versions:
        for construct in version.content.get("constructs", ()):
            for sub in construct.get("subconstructs", ()):
                for item in sub.get("items", ()):
                    suffix = str(item.get("id", "")).removeprefix(prefix)
                    if str(item.get("id", "")).startswith(prefix) and suffix.isdigit():
                        numbers.add(int(suffix))
    return numbers


def add_item(
    draft: InstrumentVersion,
    subconstruct: str,
    *,
    text: str,
    reverse: bool,
    optional: bool = False,
    actor: User | None,
    expected_hash: str | None = None,
) -> str:
    """Append a new item to ``subconstruct`` and return its id (``<SUBCODE>_<n>``, ``n``
    never used in this instrument). It takes its construct's response scale."""
    require_draft(draft)
    new_id = f"{subconstruct}_{max(_used_numbers(draft.instrument, subconstruct), default=0) + 1}"

    def change(mapping: dict[str, Any]) -> None:
        for construct in mapping["constructs"]:
            for sub in construct["subconstructs"]:
                if sub["code"] == subconstruct:
                    scales = [i["scale"] for s in construct["subconstructs"] for i in s["items"]]
                    scale = scales[0] if scales else next(iter(mapping["response_scales"]))
                    sub["items"].append(
                        {
                            "id": new_id,
                            "text": text,
                            "reverse": reverse,
                            "scale": scale,
                            "optional": optional,
                        }
                    )
                    return
        raise KeyError(subconstruct)

    _edit(draft, change, actor=actor, expected_hash=expected_hash, edit=f"item {new_id} added")
    return new_id


def remove_item(
    draft: InstrumentVersion,
    item_id: str,
    *,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    def change(mapping: dict[str, Any]) -> None:
        items, index = _find_item(mapping, item_id)
        items.pop(index)

    return _edit(
        draft, change, actor=actor, expected_hash=expected_hash, edit=f"item {item_id} removed"
    )


def edit_attention_check(
    draft: InstrumentVersion,
    check_id: str,
    *,
    text: str,
    expected: int,
    page: str,
    position: int,
    optional: bool,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    def change(mapping: dict[str, Any]) -> None:
        for check in mapping.get("attention_checks", ()):
            if check["id"] == check_id:
                check.update(
                    text=text, expected=expected, page=page, position=position, optional=optional
                )
                return
        raise KeyError(check_id)

    return _edit(
        draft, change, actor=actor, expected_hash=expected_hash, edit=f"attention check {check_id}"
    )


def edit_response_scale(
    draft: InstrumentVersion,
    scale: str,
    options: Iterable[tuple[int, str]],
    *,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    """Replace the options of response scale ``scale`` with ``(value, label)`` pairs."""
    options = list(options)

    def change(mapping: dict[str, Any]) -> None:
        if scale not in mapping["response_scales"]:
            raise KeyError(scale)
        mapping["response_scales"][scale] = [
            {"value": value, "label": label} for value, label in options
        ]

    return _edit(draft, change, actor=actor, expected_hash=expected_hash, edit=f"scale {scale}")


def replace_with_yaml(
    draft: InstrumentVersion,
    text: str,
    *,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    """Replace the whole draft with an instrument file's text (structural edits: constructs,
    subconstructs, moves). Everything the loader reads is checked, including duplicate keys
    and booleans spelled ``yes``/``no``, which a parsed mapping no longer shows."""
    require_draft(draft)
    name = draft_name(draft.instrument.key, draft.version)
    try:
        definition = load_instrument_text(text, name)
    except InstrumentValidationError as error:
        raise InvalidDefinition(error.problems) from None
    return update_draft(
        draft, definition.source, actor=actor, expected_hash=expected_hash, edit="yaml"
    )


def edit_response_scales(
    draft: InstrumentVersion,
    scales: Mapping[str, Iterable[tuple[int, str]]],
    *,
    actor: User | None,
    expected_hash: str | None = None,
) -> bool:
    """Replace the options of several response scales with ``(value, label)`` pairs in one
    edit (one validation, one audit event)."""
    require_draft(draft)
    mapping = copy.deepcopy(draft.content)
    mapping["response_scales"] = {
        key: [{"value": value, "label": label} for value, label in options]
        for key, options in scales.items()
    }
    return update_draft(
        draft, mapping, actor=actor, expected_hash=expected_hash, edit="response scales"
    )
