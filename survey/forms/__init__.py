"""Forms generated from instrument definitions."""

from survey.forms.factory import FIELD_FACTORIES, PageForm, make_page_form, page_form_class

__all__ = ["FIELD_FACTORIES", "PageForm", "make_page_form", "page_form_class"]
