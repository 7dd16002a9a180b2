"""The console's one form-handling path and the rules moved out of its views."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from instruments.loader import Problem
from instruments.versioning import Proposal
from survey.admin.instruments.form_handling import attach_problems
from survey.admin.instruments.forms import parse_options
from survey.models import AuditEvent
from survey.services import versions

BASE = "/admin/instruments"


class Field:
    def __init__(self):
        self.errors: list[str] = []


def test_problems_go_to_the_field_with_the_longest_matching_key():
    item, text = Field(), Field()
    rest = attach_problems(
        [
            Problem("f", "constructs[0].items[1].text", "too long"),
            Problem("f", "constructs[0].items[1]", "duplicate id"),
            Problem("f", "title", "required"),
            Problem("f", "", "not a mapping"),
        ],
        {"constructs[0].items[1]": item, "constructs[0].items[1].text": text},
    )
    assert text.errors == ["too long"]
    assert item.errors == ["duplicate id"]
    assert rest == ["title: required", "not a mapping"]


def test_parse_options_reports_every_bad_line():
    options, errors = parse_options("1, No\n\nx, Maybe\n3 Yes\n4, Yes")
    assert options == [(1, "No"), (4, "Yes")]
    assert errors == [
        "line 3: write value, label (e.g. 1, Strongly disagree)",
        "line 4: write value, label (e.g. 1, Strongly disagree)",
    ]


def test_edit_response_scales_is_one_audited_edit(db_session, version_admin, published):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    changed = versions.edit_response_scales(
        draft,
        {"agree3": [(1, "No"), (2, "Unsure"), (3, "Yes")]},
        actor=version_admin,
        expected_hash=draft.content_hash,
    )
    assert changed
    assert [o["label"] for o in draft.content["response_scales"]["agree3"]] == [
        "No",
        "Unsure",
        "Yes",
    ]
    edits = db_session.scalars(select(AuditEvent).where(AuditEvent.action == "draft_edited"))
    assert [event.details["edit"] for event in edits] == ["response scales"]


def test_rules_the_views_used_to_hold(db_session, version_admin, published):
    assert versions.study_count(published) == 0
    item, position = versions.item_position(published, "AA_S_2")
    assert (item.id, position) == ("AA_S_2", 2)
    assert versions.item_position(published, "nope") is None
    draft, _ = versions.create_draft_from(published, actor=version_admin)  # 1.0.1
    assert versions.suggested_number(draft, None) == "1.0.1"
    higher = Proposal(version="2.0.0", level="major", reasons=["x"])
    assert versions.suggested_number(draft, higher) == "2.0.0"
    lower = Proposal(version="1.0.1", level="patch", reasons=["x"])
    assert versions.suggested_number(draft, lower) == "1.0.1"


@pytest.mark.parametrize(
    ("choice", "filename", "expected"),
    [
        ("auto", "a.YAML", "yaml"),
        ("auto", "a.yml", "yaml"),
        ("auto", "dictionary.csv", "redcap"),
        ("redcap", "a.yaml", "redcap"),
        ("auto", "a.txt", None),
    ],
)
def test_format_of(choice, filename, expected):
    assert versions.format_of(choice, filename) == expected


def test_a_bad_scale_line_is_shown_and_nothing_is_saved(
    db_session, version_admin, console, published
):
    draft, _ = versions.create_draft_from(published, actor=version_admin)
    db_session.commit()
    before = draft.content_hash
    response = console.post(
        f"{BASE}/versions/{draft.id}/scales",
        data={"scale_agree3": "1, No\nthree, Yes", "base_hash": before},
    )
    assert response.status_code == 400
    assert "line 2: write value, label" in response.get_data(as_text=True)
    db_session.expire_all()
    assert versions.get_version(draft.id).content_hash == before
