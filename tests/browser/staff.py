"""Helpers of the staff-side browser tests."""

from __future__ import annotations

import re
from typing import Any


def log_in(page: Any, base_url: str, email: str, password: str) -> None:
    """Log in through the login form as a person would; fail if it did not work."""
    page.goto(f"{base_url}/login")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name=re.compile("log in", re.IGNORECASE)).click()
    page.wait_for_load_state()
    assert "/login" not in page.url, f"{email} could not log in"


def scroll_width(page: Any) -> int:
    """The page's full width once it has loaded (with its style sheets: measured earlier, a
    page right after a click can still be laid out unstyled)."""
    page.wait_for_load_state("load")
    return page.evaluate("document.documentElement.scrollWidth")
