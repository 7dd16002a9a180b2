"""The order in which a participant sees a page's items."""

from __future__ import annotations

import random

from instruments.definition import AttentionCheck, InstrumentDefinition, Item, Page

Entry = Item | AttentionCheck


def ordered_entries(definition: InstrumentDefinition, page: Page, seed: int) -> tuple[Entry, ...]:
    """The page's entries in display order for a participant with item-order ``seed``.

    Without ``shuffle_items`` this is the definition's order. With it, the scored items are
    shuffled by a generator seeded with the participant's seed and the page key: the same
    participant sees the same order on every visit, other participants another order.
    Attention checks stay at the position the definition gives them.
    """
    if not definition.shuffle_items:
        return page.entries
    items = [entry for entry in page.entries if not isinstance(entry, AttentionCheck)]
    # A string seed is hashed with SHA-512: the order is the same on every Python version.
    random.Random(f"{seed}:{page.key}").shuffle(items)
    shuffled = iter(items)
    return tuple(
        entry if isinstance(entry, AttentionCheck) else next(shuffled) for entry in page.entries
    )
