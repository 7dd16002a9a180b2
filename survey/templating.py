"""Jinja settings and filters shared by the templates."""

from __future__ import annotations

import re
from datetime import datetime

from flask import Flask, current_app

_BLANK_LINE = re.compile(r"\n\s*\n")


def paragraphs(text: str | None) -> list[str]:
    """Split plain text at blank lines; lines inside a paragraph are joined with spaces.

    Instrument intros and consent texts are written as YAML blocks with hard line breaks;
    rendered this way they reflow on a narrow screen.

    >>> paragraphs("One\\ntwo.\\n\\nThree.")
    ['One two.', 'Three.']
    """
    if not text:
        return []
    return [
        " ".join(line.strip() for line in block.splitlines() if line.strip())
        for block in _BLANK_LINE.split(text.strip())
        if block.strip()
    ]


def long_date(value: datetime | None) -> str:
    """A date in words, as participants and staff read it (UTC).

    >>> from datetime import UTC
    >>> long_date(datetime(2027, 1, 4, 9, 30, tzinfo=UTC))
    'Monday 4 January 2027'
    """
    if value is None:
        return ""
    return f"{value:%A} {value.day} {value:%B %Y}"


def init_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(paragraphs)
    app.add_template_filter(long_date)

    def has_endpoint(name: str) -> bool:
        """Whether the app has a view of that endpoint (links to unbuilt pages stay hidden)."""
        return name in current_app.view_functions

    app.add_template_global(has_endpoint)
