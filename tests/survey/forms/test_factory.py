"""Page forms built from instrument definitions through the item-type registry."""

from __future__ import annotations

import pytest
from wtforms import SelectChoice

from instruments.item_types import ITEM_TYPES
from survey.forms.factory import (
    ANSWER_REQUIRED,
    FIELD_FACTORIES,
    NOT_AN_OPTION,
    UNEXPECTED_ANSWERS,
    LikertField,
    field_factory,
    make_page_form,
    page_form_class,
)


@pytest.fixture
def request_context(app):
    def context(data=None):
        method = "POST" if data is not None else "GET"
        return app.test_request_context("/", method=method, data=data)

    return context


def test_every_item_type_has_a_field_factory():
    assert set(FIELD_FACTORIES) == set(ITEM_TYPES)


def test_registering_an_unknown_item_type_fails():
    with pytest.raises(ValueError, match="not an item type"):
        field_factory("slider")


def test_one_field_per_entry_with_the_scale_as_choices(iemdp, request_context):
    page = iemdp.pages()[1]  # SE, with an attention check
    with request_context():
        form = make_page_form(iemdp, page)
    assert form.entry_ids == tuple(entry.id for entry in page.entries)
    scale = iemdp.scale("agree5")
    for entry, field in form.entry_fields():
        assert isinstance(field, LikertField)
        assert field.name == entry.id
        assert field.label.text == entry.text
        assert field.choices == [SelectChoice(str(o.value), o.label) for o in scale.options]
        assert field.flags.required


def test_class_is_built_once_per_version_and_page(iemdp, small, make_definition, request_context):
    pages = iemdp.pages()
    assert page_form_class(iemdp, pages[0]) is page_form_class(iemdp, pages[0])
    assert page_form_class(iemdp, pages[0]) is not page_form_class(iemdp, pages[1])
    other_version = make_definition(version="1.0.1")
    assert page_form_class(small, small.pages()[0]) is not page_form_class(
        other_version, other_version.pages()[0]
    )
    # Instances never change the shared class (after WTForms' own first-use caching).
    cls = page_form_class(iemdp, pages[0])
    with request_context():
        make_page_form(iemdp, pages[0])
        fields_before = dict(vars(cls))
        make_page_form(iemdp, pages[0], tuple(reversed(pages[0].entries)), data={"OE_BEN_1": 1})
    assert dict(vars(cls)) == fields_before


def test_order_sets_the_display_order(small, request_context):
    page = small.pages()[0]
    order = tuple(reversed(page.entries))
    with request_context():
        form = make_page_form(small, page, order)
    assert [entry.id for entry, _field in form.entry_fields()] == [e.id for e in order]
    with pytest.raises(ValueError, match="exactly the entries"), request_context():
        make_page_form(small, page, order[1:])


def test_valid_submission_gives_int_answers(small, request_context, answers_for):
    page = small.pages()[1]
    with request_context(answers_for(page, 3)):
        form = make_page_form(small, page)
        assert form.validate()
    assert form.answers() == {entry.id: 3 for entry in page.entries}


def test_prefilled_answers_are_checked(small, request_context):
    page = small.pages()[0]
    with request_context():
        form = make_page_form(small, page, data={"AA_S_1": 2})
        html = str(form["AA_S_1"])
    assert 'checked id="AA_S_1-1"' in html or ('id="AA_S_1-1"' in html and "checked" in html)


@pytest.mark.parametrize("bad", ["7", "0", "abc", "", "2.0", "-1"])
def test_values_outside_the_scale_are_refused(small, request_context, answers_for, bad):
    page = small.pages()[0]
    data = answers_for(page, 1) | {"AA_S_2": bad}
    with request_context(data):
        form = make_page_form(small, page)
        assert not form.validate()
    assert list(form.errors) == ["AA_S_2"]
    assert form.errors["AA_S_2"] in ([NOT_AN_OPTION], [ANSWER_REQUIRED])


def test_missing_required_answer(small, request_context, answers_for):
    page = small.pages()[0]
    data = answers_for(page)
    del data["AA_S_3"]
    with request_context(data):
        form = make_page_form(small, page, data={"AA_S_3": 1})  # pre-fill does not count
        assert not form.validate()
    assert form.errors == {"AA_S_3": [ANSWER_REQUIRED]}


def test_optional_item_may_be_left_out(make_definition, request_context, answers_for):
    definition = make_definition(optional=["AA_S_4"])
    page = definition.pages()[0]
    data = answers_for(page)
    del data["AA_S_4"]
    with request_context(data):
        form = make_page_form(definition, page)
        assert form.validate(), form.errors
        assert not form["AA_S_4"].flags.required
    assert form.answers()["AA_S_4"] is None
    with request_context(answers_for(page) | {"AA_S_4": "9"}):
        form = make_page_form(definition, page)
        assert not form.validate()
    assert form.errors == {"AA_S_4": [NOT_AN_OPTION]}


def test_answers_to_items_of_other_pages_are_refused(small, request_context, answers_for):
    page = small.pages()[0]
    data = answers_for(page) | {"BB_S_1": "2"}
    with request_context(data):
        form = make_page_form(small, page)
        assert not form.validate()
    assert form.form_errors == [UNEXPECTED_ANSWERS]


def test_page_forms_do_not_use_the_session_csrf_token(make_app, small, answers_for):
    """A page left open past the session's lifetime still validates: the participate
    blueprint checks its own session-free form token instead (tests/survey/participate)."""
    app = make_app(WTF_CSRF_ENABLED=True)
    page = small.pages()[0]
    with app.test_request_context("/", method="POST", data=answers_for(page)):
        form = make_page_form(small, page)
        assert form.validate(), form.errors
        assert "csrf_token" not in form._fields


def test_the_form_token_and_back_button_are_not_answers(small, request_context, answers_for):
    page = small.pages()[0]
    data = answers_for(page) | {"form_token": "x", "back": "1"}
    with request_context(data):
        form = make_page_form(small, page)
        assert form.validate(), form.form_errors
    assert set(form.answers()) == {entry.id for entry in page.entries}


def test_draft_answers_keep_what_reads_as_a_number(small, request_context):
    page = small.pages()[0]
    data = {"AA_S_1": "2", "AA_S_2": "abc", "AA_S_3": "9" * 5000, "AA_S_4": "", "x": "1"}
    with request_context(data):
        form = make_page_form(small, page)
        # Not validated: a page left with Back may be half answered (the service keeps
        # only values of each item's scale).
        assert form.draft_answers() == {"AA_S_1": 2}


def test_problems_in_display_order_and_whether_only_answers_are_missing(
    small, request_context, answers_for
):
    page = small.pages()[0]
    order = tuple(reversed(page.entries))
    with request_context({"AA_S_1": "2"}):
        form = make_page_form(small, page, order)
        assert not form.validate()
    assert [entry.id for entry, _field in form.problems()] == ["AA_S_4", "AA_S_3", "AA_S_2"]
    assert form.only_missing_answers()
    with request_context({"AA_S_1": "7"}):
        form = make_page_form(small, page)
        assert not form.validate()
    assert not form.only_missing_answers()
