"""What participant pages show besides the form: the page heading in participant language
and where a page sits in the battery. Shared by the participant views and the research
preview, so the preview shows exactly what participants see."""

from __future__ import annotations

from dataclasses import dataclass

from survey.models import Study
from survey.services.participation import PageView

# The heading of a page whose instrument gives no participant title (e.g. IEM-DP 1.0.0):
# never the construct's name, which is the researchers' word for it.
GENERIC_PAGE_TITLE = "Questions about your experience"


@dataclass(frozen=True)
class PagePresentation:
    """The heading of a page and, in a battery of several instruments, which part it is."""

    title: str
    part: int  # 1-based position of the page's instrument in the battery
    parts: int
    instrument_title: str

    @property
    def several_parts(self) -> bool:
        return self.parts > 1


def present(study: Study, view: PageView) -> PagePresentation:
    try:
        construct = view.definition.construct(view.page.key)
    except KeyError:  # a page not made from a construct: its title is all there is
        title = view.page.title
    else:
        title = construct.page_title or GENERIC_PAGE_TITLE
    version_ids = [version.id for version in study.instrument_versions]
    part = version_ids.index(view.version.id) + 1 if view.version.id in version_ids else 1
    return PagePresentation(
        title=title,
        part=part,
        parts=len(version_ids),
        instrument_title=view.definition.title,
    )
