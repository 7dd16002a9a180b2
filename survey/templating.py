"""Jinja settings and filters shared by the templates."""

from __future__ import annotations

import re

from flask import Flask

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


def init_templating(app: Flask) -> None:
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    app.add_template_filter(paragraphs)
