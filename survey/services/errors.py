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


class ParticipantWithdrawn(StudyUnavailable):
    """The participant stopped taking part: their link shows that, and nothing else."""


class BetweenWaves(NoOpenWave):
    """No wave is open for this participant now; ``opens_at`` is when the next one opens
    for them (None when no later wave is scheduled), ``completed_any`` whether they have
    completed a wave."""

    def __init__(
        self, message: str, *, study: Any = None, opens_at: Any = None, completed_any: bool = False
    ):
        self.opens_at = opens_at
        self.completed_any = completed_any
        super().__init__(message, study=study)


class InvalidStudyChange(SurveyError):
    """A change a study's state does not allow (editing an open study, an unknown status
    move, a wave with a window that ends before it opens, ...); ``field`` names the form
    field it concerns when there is one."""

    def __init__(self, message: str, *, field: str | None = None):
        self.field = field
        super().__init__(message)


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


class VersionFrozen(SurveyError):
    """A published or retired instrument version never changes; ``version`` says which."""

    def __init__(self, message: str, *, version: Any = None):
        self.version = version
        super().__init__(message)


class VersionPublished(VersionFrozen):
    """The version is published: its content is frozen (make a new version from it)."""


class VersionRetired(VersionFrozen, VersionNotPublished):
    """The version is retired: frozen, and not usable for new studies."""


class VersionIsDraft(SurveyError):
    """The operation needs a published (or retired) version, not a draft."""


class InvalidDefinition(SurveyError):
    """Instrument content the loader rejects; ``problems`` lists every problem
    (:class:`instruments.loader.Problem`: file, dotted key, message)."""

    def __init__(self, problems: Any, message: str | None = None):
        self.problems = tuple(problems)
        count = len(self.problems)
        head = message or f"{count} problem{'' if count == 1 else 's'} in the instrument"
        super().__init__("\n".join([head, *(str(problem) for problem in self.problems)]))


class InvalidVersionNumber(SurveyError):
    """A version number that is malformed, taken, or too low for the changes made."""


class NoChanges(SurveyError):
    """A draft with the same content as the version it was made from: nothing to publish."""


class DraftChanged(SurveyError):
    """The draft was changed by someone else since the editor was opened."""


class UploadTooLarge(SurveyError):
    """An upload over the size limit; refused before it is parsed."""

    def __init__(self, size: int, limit: int):
        self.size = size
        self.limit = limit
        super().__init__(
            f"the file is {_megabytes(size)} ({size:,} bytes); the limit is "
            f"{_megabytes(limit)} ({limit:,} bytes). Nothing was imported."
        )


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


class PageNotReached(SurveyError):
    """A page after the first unsubmitted one was requested; ``allowed`` is that page's number."""

    def __init__(self, allowed: int):
        self.allowed = allowed
        super().__init__(f"answer page {allowed} first")


class SlugTaken(SurveyError):
    """Another study has this slug."""


class InvalidSlug(SurveyError):
    """Not a slug: 3 to 100 of a-z, 0-9 and '-', starting and ending with a letter or digit."""
