"""The registry of item types an instrument file may use.

The loader accepts only the types registered here, and the survey app builds one form field
per type (its own registry, keyed by the same names). Adding a type means adding it here,
teaching the loader what it needs, and giving the app a field factory for it.

>>> sorted(ITEM_TYPES)
['likert']
>>> ITEM_TYPES["likert"].needs_scale
True
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class ItemType:
    """What an item of this type needs in the file and how it is treated.

    ``needs_scale``: the item must name a response scale (``scale:``) and its answers are
    the scale's integer values. ``scorable``: answers can enter subconstruct scores (an
    attention check of a scorable type is still never scored).
    """

    name: str
    description: str
    needs_scale: bool
    scorable: bool


ITEM_TYPES: MappingProxyType[str, ItemType] = MappingProxyType(
    {
        "likert": ItemType(
            name="likert",
            description=(
                "A statement answered by choosing one option of an ordered response scale; "
                "needs `scale:` naming a key of `response_scales`; the answer is the option's "
                "integer value."
            ),
            needs_scale=True,
            scorable=True,
        ),
    }
)

DEFAULT_ITEM_TYPE = "likert"
