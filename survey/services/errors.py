"""Domain exceptions raised by the services."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class SurveyError(Exception):
    """Base class of the domain errors."""


class UnknownToken(SurveyError):
    """No participant has this link (or the token is malformed)."""


class StudyUnavailable(SurveyError):
    """The participant's study accepts no answers now; ``study`` says which study."""

    def __init__(self, message: str, *, study: Any = None):
        self.study = study
        super().__init__(message)


class StudyClosed(StudyUnavailable):
    """The participant's study does not accept answers (draft or closed)."""


class NoOpenWave(StudyUnavailable):
    """No wave of the study is open now."""


class ConsentRequired(SurveyError):
    """The participant has not consented to the study's current consent version."""


class SessionCompleted(SurveyError):
    """The wave's questionnaire was completed; its answers can no longer change."""


class UnknownPage(SurveyError):
    """No page with this key or number in the instrument."""


class UnknownStudy(SurveyError):
    """No study with this slug."""


class VersionConflict(SurveyError):
    """An instrument version with this key and version number exists with other content."""


class InvalidAnswers(SurveyError):
    """Answers that do not fit the page of the definition; ``errors`` maps id → message."""

    def __init__(self, errors: Mapping[str, str]):
        self.errors = dict(errors)
        details = "; ".join(f"{key}: {message}" for key, message in self.errors.items())
        super().__init__(f"invalid answers: {details}")


class VersionNotPublished(SurveyError):
    """A study can only use a published instrument version."""


class PageNotReached(SurveyError):
    """A page after the first unsubmitted one was requested; ``allowed`` is that page's number."""

    def __init__(self, allowed: int):
        self.allowed = allowed
        super().__init__(f"answer page {allowed} first")
