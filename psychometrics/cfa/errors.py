"""Errors raised by the CFA engine; all are ``ValueError`` subclasses with plain messages."""

from __future__ import annotations

__all__ = ["DataError", "ModelIdentificationError", "NonPositiveDefiniteError"]


class ModelIdentificationError(ValueError):
    """The model is not identified (negative degrees of freedom, a lone indicator, ...)."""


class NonPositiveDefiniteError(ValueError):
    """A sample covariance matrix is not positive definite."""


class DataError(ValueError):
    """The data do not fit the model: absent or non-numeric variables, too few rows, ..."""
