"""API views: delivery (see the module's functions)."""

from __future__ import annotations

from survey.api import bp  # noqa: F401
