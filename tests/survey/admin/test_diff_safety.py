"""The version diff page lists safety-item changes (instruments.diff's safety_changed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from instruments.loader import load_instrument_text
from survey.extensions import db
from survey.services import instruments

MOOD_SCREENER = Path(__file__).parents[2] / "fixtures" / "instruments" / "mood_screener.yaml"
THRESHOLD = "safety_threshold: 1}"


def screener(version: str, threshold: str):
    text = MOOD_SCREENER.read_text(encoding="utf-8")
    assert THRESHOLD in text
    text = text.replace("version: 1.0.0", f"version: {version}").replace(THRESHOLD, threshold)
    return load_instrument_text(text, MOOD_SCREENER.name)


@pytest.mark.parametrize(
    ("threshold", "shown"),
    [
        ("safety_threshold: 2}", "threshold 1 → 2"),
        ("}", "is no longer a safety item (threshold was 1)"),
    ],
)
def test_the_diff_page_lists_safety_changes(app, admin_client, threshold, shown):
    with app.app_context():
        old, _ = instruments.import_definition(screener("1.0.0", THRESHOLD))
        new, _ = instruments.import_definition(screener("1.1.0", threshold))
        db.session.commit()
        old_id, new_id = old.id, new.id
    page = admin_client.get(f"/admin/instruments/diff/{old_id}/{new_id}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Safety items (1)" in html
    assert f"<code>MD_LOW_4</code>: {shown}" in html
    back = admin_client.get(f"/admin/instruments/diff/{new_id}/{old_id}")
    assert "MD_LOW_4" in back.get_data(as_text=True)
