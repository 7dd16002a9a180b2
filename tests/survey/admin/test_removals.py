"""The draft editor offers "Remove" only where the removal can succeed
(survey.admin.instruments.removals): every subconstruct keeps 3 items, every attention check
stays within its page. The offer agrees with the service item by item."""

from __future__ import annotations

import re

import pytest

from survey.admin.instruments.removals import TOO_FEW_ITEMS, removal_refusals
from survey.services import versions
from survey.services.errors import InvalidDefinition

BASE = "/admin/instruments"


def make_draft(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    db_session.commit()
    return draft


def remove_buttons(html: str) -> set[str]:
    return set(re.findall(r'aria-label="Remove item ([A-Z0-9_]+)"', html))


def test_four_items_can_lose_one_three_cannot(db_session, version_admin, published):
    draft = make_draft(db_session, version_admin, published)
    assert removal_refusals(draft) == {}
    versions.remove_item(draft, "AA_S_4", actor=version_admin)
    db_session.commit()
    assert removal_refusals(draft) == {f"AA_S_{n}": TOO_FEW_ITEMS for n in (1, 2, 3)}
    assert TOO_FEW_ITEMS == "a subconstruct needs at least 3 items"


def test_an_attention_check_at_the_end_of_its_page_keeps_the_page_full(
    db_session, version_admin, published
):
    draft = make_draft(db_session, version_admin, published)
    # Page BB: 4 items + ATTN_1; put the check last (position 4): one item less and the
    # check would be past the end of the page.
    versions.edit_attention_check(
        draft,
        "ATTN_1",
        text="Choose 'Neutral'.",
        expected=2,
        page="BB",
        position=4,
        optional=False,
        actor=version_admin,
    )
    db_session.commit()
    refusals = removal_refusals(draft)
    assert set(refusals) == {f"BB_S_{n}" for n in range(1, 5)}
    assert all("attention_checks[0].position" in reason for reason in refusals.values())
    assert all("past the end of page 'BB'" in reason for reason in refusals.values())


@pytest.mark.parametrize("first_removed", [None, "AA_S_4", "BB_S_1"])
def test_the_offer_agrees_with_the_service_for_every_item(
    db_session, version_admin, published, first_removed
):
    draft = make_draft(db_session, version_admin, published)
    if first_removed:
        versions.remove_item(draft, first_removed, actor=version_admin)
        db_session.commit()
    refusals = removal_refusals(draft)
    item_ids = [
        item["id"]
        for c in draft.content["constructs"]
        for s in c["subconstructs"]
        for item in s["items"]
    ]
    for item_id in item_ids:
        savepoint = db_session.begin_nested()
        try:
            versions.remove_item(draft, item_id, actor=version_admin)
        except InvalidDefinition:
            assert item_id in refusals, item_id
        else:
            assert item_id not in refusals, item_id
        finally:
            savepoint.rollback()
        db_session.expire_all()


def test_the_editor_shows_no_remove_button_that_would_be_refused(
    db_session, version_admin, console, published
):
    draft = make_draft(db_session, version_admin, published)
    html = console.get(f"{BASE}/versions/{draft.id}/edit").get_data(as_text=True)
    assert remove_buttons(html) == {f"{c}_S_{n}" for c in ("AA", "BB") for n in range(1, 5)}
    assert "Not removable" not in html

    versions.remove_item(draft, "AA_S_4", actor=version_admin)
    db_session.commit()
    html = console.get(f"{BASE}/versions/{draft.id}/edit").get_data(as_text=True)
    assert remove_buttons(html) == {f"BB_S_{n}" for n in range(1, 5)}
    assert html.count("Not removable: a subconstruct needs at least 3 items.") == 3
    # The refused removal is still refused if posted anyway (an old page, a crafted form).
    response = console.post(
        f"{BASE}/versions/{draft.id}/items/AA_S_1/remove",
        data={"base_hash": draft.content_hash},
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "Item AA_S_1 was not removed" in response.get_data(as_text=True)
