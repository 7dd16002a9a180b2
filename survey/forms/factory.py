"""Build a WTForms form for a page of an instrument definition.

Each item type of :mod:`instruments.item_types` has a field factory here, registered with
:func:`field_factory`. :func:`page_form_class` builds one :class:`PageForm` subclass per
(instrument content, page), once, and caches it: the class is never changed afterwards,
so concurrent requests share it safely. :func:`make_page_form` instantiates it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from threading import Lock
from typing import Any

from flask_wtf import FlaskForm
from wtforms import RadioField, SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Optional

from instruments.definition import AttentionCheck, InstrumentDefinition, Item, Page
from instruments.item_types import ITEM_TYPES

Entry = Item | AttentionCheck
FieldFactory = Callable[[InstrumentDefinition, Entry], UnboundField]

FIELD_FACTORIES: dict[str, FieldFactory] = {}

ANSWER_REQUIRED = "Please choose an answer."
NOT_AN_OPTION = "Please choose one of the answers shown."
UNEXPECTED_ANSWERS = (
    "The page was sent with answers to questions that are not on it, so nothing was saved. "
    "Please answer the questions below and continue."
)


def field_factory(item_type: str) -> Callable[[FieldFactory], FieldFactory]:
    """Register the decorated function as the field factory of ``item_type``."""
    if item_type not in ITEM_TYPES:
        raise ValueError(f"{item_type!r} is not an item type of instruments.item_types")

    def register(factory: FieldFactory) -> FieldFactory:
        FIELD_FACTORIES[item_type] = factory
        return factory

    return register


class LikertField(RadioField):
    """A radio group whose empty answer is left to the required/optional validators.

    (A plain RadioField reports "not a valid choice" for an unanswered optional item.)
    """

    def pre_validate(self, form: Any) -> None:
        if self.data is None and not self.process_errors:
            return
        super().pre_validate(form)


@field_factory("likert")
def likert_field(definition: InstrumentDefinition, entry: Entry) -> UnboundField:
    scale = definition.scale(entry.scale)
    validators = [Optional()] if entry.optional else [InputRequired(message=ANSWER_REQUIRED)]
    return LikertField(
        entry.text,
        choices=[SelectChoice(str(option.value), option.label) for option in scale.options],
        coerce=int,
        validators=validators,
        invalid_value_message=NOT_AN_OPTION,
        invalid_choice_message=NOT_AN_OPTION,
    )


class PageForm(FlaskForm):
    """Base class of the generated page forms: one field per entry, named by its id.

    Besides each field's own validation, a submission naming anything that is not a field
    of the page (e.g. an item of another page) is refused as a whole.
    """

    class Meta:
        # Participant forms never depend on the Flask session (it may have expired while a
        # page was open): the participate blueprint checks its own session-free form token.
        csrf = False

    entry_ids: tuple[str, ...] = ()
    # The page's entries in the order shown; make_page_form sets it per participant.
    display_order: tuple[Entry, ...] = ()
    # Names a browser may send that are not answers: the participant form token (or a
    # staff preview's CSRF token) and the Back button.
    allowed_extra_names = frozenset({"csrf_token", "form_token", "back"})

    def process(
        self,
        formdata: Any = None,
        obj: Any = None,
        data: Any = None,
        extra_filters: Any = None,
        **kwargs: Any,
    ) -> None:
        formdata = self.meta.wrap_formdata(self, formdata)
        self.submitted_names = frozenset(formdata.keys()) if formdata is not None else frozenset()
        super().process(formdata, obj, data=data, extra_filters=extra_filters, **kwargs)

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        if self.submitted_names - set(self.entry_ids) - self.allowed_extra_names:
            self.form_errors.append(UNEXPECTED_ANSWERS)
            return False
        return valid

    def answers(self) -> dict[str, int | None]:
        """The validated answers: entry id → value (``None`` for an unanswered optional).

        Only what was submitted counts, never data the form was pre-filled with.
        """
        return {
            entry_id: self[entry_id].data if self[entry_id].raw_data else None
            for entry_id in self.entry_ids
        }

    def draft_answers(self) -> dict[str, int]:
        """What was chosen so far on a page left with Back, unvalidated: entry id → the
        submitted value read as an integer (values that are not are left out; the service
        keeps only values of each item's scale)."""
        draft: dict[str, int] = {}
        for entry_id in self.entry_ids:
            raw = self[entry_id].raw_data
            value = raw[0] if raw else None
            # (a bounded length: int() refuses strings of thousands of digits)
            if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 10:
                draft[entry_id] = int(value)
        return draft

    def entry_fields(self) -> list[tuple[Entry, Any]]:
        """(entry, bound field) pairs in the order the participant sees them."""
        return [(entry, self[entry.id]) for entry in self.display_order]

    def problems(self) -> list[tuple[Entry, Any]]:
        """The (entry, field) pairs with an error, in the order the participant sees them."""
        return [(entry, field) for entry, field in self.entry_fields() if field.errors]

    def only_missing_answers(self) -> bool:
        """Whether every error of the page is a question left unanswered."""
        return all(field.errors == [ANSWER_REQUIRED] for _entry, field in self.problems())


_classes: dict[tuple[str, str], type[PageForm]] = {}
_classes_lock = Lock()


def page_form_class(definition: InstrumentDefinition, page: Page) -> type[PageForm]:
    """The form class of ``page`` (built on first use per content hash and page key)."""
    key = (definition.content_hash, page.key)
    cls = _classes.get(key)
    if cls is None:
        with _classes_lock:
            cls = _classes.get(key)
            if cls is None:
                cls = _classes[key] = _build_class(definition, page)
    return cls


def _build_class(definition: InstrumentDefinition, page: Page) -> type[PageForm]:
    attributes: dict[str, Any] = {
        "entry_ids": tuple(entry.id for entry in page.entries),
        "display_order": page.entries,
    }
    for entry in page.entries:
        if hasattr(PageForm, entry.id):
            raise ValueError(f"item id {entry.id!r} clashes with a form attribute")
        try:
            factory = FIELD_FACTORIES[entry.type]
        except KeyError:
            raise ValueError(f"no form field for item type {entry.type!r}") from None
        attributes[entry.id] = factory(definition, entry)
    name = f"PageForm_{definition.key}_{definition.version}_{page.key}".replace(".", "_")
    return type(name, (PageForm,), attributes)


def make_page_form(
    definition: InstrumentDefinition,
    page: Page,
    order: Sequence[Entry] | None = None,
    *,
    data: Mapping[str, Any] | None = None,
    **kwargs: Any,
) -> PageForm:
    """A form for ``page``; ``order`` is the display order of its entries (default: the
    page's order) and ``data`` pre-fills answers given before."""
    form = page_form_class(definition, page)(data=dict(data or {}), **kwargs)
    form.display_order = tuple(order) if order is not None else page.entries
    if {entry.id for entry in form.display_order} != set(form.entry_ids):
        raise ValueError("order must contain exactly the entries of the page")
    return form
