"""Per-participant item order (survey.services.item_order)."""

from __future__ import annotations

from instruments.definition import AttentionCheck
from survey.services.item_order import ordered_entries


def test_fixed_order_without_shuffle(iemdp):
    assert not iemdp.shuffle_items
    for page in iemdp.pages():
        assert ordered_entries(iemdp, page, seed=123) == page.entries


def test_shuffle_is_stable_per_seed_and_keeps_attention_checks_in_place(make_definition):
    definition = make_definition(shuffle_items=True)
    page = definition.pages()[1]
    orders = {ordered_entries(definition, page, seed) for seed in range(50)}
    assert len(orders) > 1
    for seed in range(50):
        order = ordered_entries(definition, page, seed)
        assert order == ordered_entries(definition, page, seed)
        assert sorted(e.id for e in order) == sorted(e.id for e in page.entries)
        checks = [i for i, e in enumerate(order) if isinstance(e, AttentionCheck)]
        assert checks == [i for i, e in enumerate(page.entries) if isinstance(e, AttentionCheck)]


def test_shuffle_is_reproducible_across_runs(make_definition):
    # Pinned: a string seed is hashed, so the order must not depend on the process.
    definition = make_definition(shuffle_items=True)
    page = definition.pages()[0]
    order = [entry.id for entry in ordered_entries(definition, page, seed=42)]
    assert order == ["AA_S_1", "AA_S_3", "AA_S_4", "AA_S_2"]
