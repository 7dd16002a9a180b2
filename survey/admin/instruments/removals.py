"""Which items of a draft the editor offers to remove.

Every saved draft is valid, so a removal the loader would reject is refused whatever the
admin does: a subconstruct keeps at least
:data:`instruments.loader.MIN_ITEMS_PER_SUBCONSTRUCT` items, an attention check must stay
within its page. Rather than restate those rules, each removal is tried on the content and
validated the way the service validates the edit (:func:`parse_draft`); nothing is stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from instruments.loader import MIN_ITEMS_PER_SUBCONSTRUCT, Problem
from survey.models import InstrumentVersion
from survey.services.errors import InvalidDefinition
from survey.services.versions.drafts import parse_draft

TOO_FEW_ITEMS = f"a subconstruct needs at least {MIN_ITEMS_PER_SUBCONSTRUCT} items"


def removal_refusals(draft: InstrumentVersion) -> dict[str, str]:
    """Item id -> why removing that item from ``draft`` would be refused (a short
    sentence); items that can be removed are not in the mapping."""
    content = draft.content
    refusals: dict[str, str] = {}
    for c, construct in enumerate(content.get("constructs", ())):
        for s, sub in enumerate(construct.get("subconstructs", ())):
            items_key = f"constructs[{c}].subconstructs[{s}].items"
            for i, item in enumerate(sub.get("items", ())):
                try:
                    parse_draft(_without(content, c, s, i), draft.instrument, draft.version)
                except InvalidDefinition as error:
                    refusals[item["id"]] = _reason(error.problems, items_key)
    return refusals


def _without(content: dict[str, Any], c: int, s: int, i: int) -> dict[str, Any]:
    """``content`` without item ``i`` of subconstruct ``s`` of construct ``c``; only the
    containers on the way down are copied (the loader does not change its input)."""
    sub = dict(content["constructs"][c]["subconstructs"][s])
    sub["items"] = [item for index, item in enumerate(sub["items"]) if index != i]
    construct = dict(content["constructs"][c])
    construct["subconstructs"] = [
        sub if index == s else other for index, other in enumerate(construct["subconstructs"])
    ]
    constructs = [
        construct if index == c else other for index, other in enumerate(content["constructs"])
    ]
    return {**content, "constructs": constructs}


def _reason(problems: Iterable[Problem], items_key: str) -> str:
    problems = list(problems)
    if any(problem.key == items_key for problem in problems):
        return TOO_FEW_ITEMS
    if not problems:
        return "the instrument would not be valid without it"
    first = problems[0]
    return f"without it, {first.key}: {first.message}" if first.key else first.message
