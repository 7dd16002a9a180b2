"""Template filters (survey/templating.py)."""

from survey.templating import paragraphs


def test_paragraphs_reflow_lines_and_split_at_blank_lines():
    assert paragraphs("One\ntwo.\n\n  \nThree.\n") == ["One two.", "Three."]
    assert paragraphs("") == []
    assert paragraphs(None) == []
