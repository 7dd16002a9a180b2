"""The lifecycle of instrument versions: draft -> published -> retired.

What "``iemdp`` 1.0.0" means must never change, while the instrument keeps improving:

- **Drafts** are copies ("new version from this one") or imports. They are edited here,
  field by field or as a whole YAML text. *Every saved draft is valid*: an edit is checked
  by the instrument loader (:func:`instruments.loader.parse_definition`) and refused whole,
  with every problem listed, when the result would not load. So a draft always has a
  content hash, can be diffed, exported and previewed; work in progress that needs several
  invalid steps (a new subconstruct needs three items at once) goes through the YAML editor.
- **Publishing** re-validates the draft, compares it with the version it came from
  (:func:`instruments.versioning.propose_next_version`) and freezes it with the SHA-256 of
  its canonical form. The proposal is a *floor*: the admin may confirm it or choose a higher
  unused number, never a lower one, so a patch number always means "scores comparable".
  A draft with no change against its parent is not published (:class:`NoChanges`).
- **Published and retired versions never change.** This module refuses
  (:class:`VersionPublished`, :class:`VersionRetired`), an ORM guard in
  :mod:`survey.models.instrument` refuses any flush that would, and database triggers
  (migration 0003) refuse raw SQL.
- **Retiring** only stops a version from being chosen for *new* studies
  (:func:`usable_for_new_study`). Studies already pinned to it keep running and collecting,
  and their data stay untouched: stopping a running study mid-wave is the researcher's
  decision (close the study), not a side effect of instrument maintenance.
- **Import and export** use the YAML format of ``instruments/`` and a REDCap data
  dictionary. An upload is accepted whole or not at all; an existing key+version is
  returned unchanged when the content is identical and refused otherwise.

Every change is recorded in the audit log (:func:`survey.services.audit.record`) with the
content hash before and after. Functions flush, never commit.

One module per job: :mod:`.queries` (lookups, the new-study rule, diffs), :mod:`.numbers`
(version numbers), :mod:`.drafts` (create, replace, discard), :mod:`.editing` (field by
field and YAML edits), :mod:`.publishing` (publish, retire), :mod:`.transfer` (import and
export). Import the package, ``from survey.services import versions``, and call
``versions.publish(...)``: every public name is here.
"""

from __future__ import annotations

from survey.services.versions.drafts import (
    DRAFT_DISCARDED,
    create_draft_from,
    discard_draft,
    draft_yaml,
    require_draft,
    update_draft,
)
from survey.services.versions.editing import (
    add_item,
    edit_attention_check,
    edit_item,
    edit_metadata,
    edit_response_scale,
    edit_response_scales,
    entry_path,
    remove_item,
    replace_with_yaml,
)
from survey.services.versions.numbers import (
    number_choices,
)
from survey.services.versions.publishing import (
    publication_proposal,
    publish,
    retire,
    suggested_number,
)
from survey.services.versions.queries import (
    base_of,
    diff,
    find_instrument,
    get_version,
    identical_items,
    item_position,
    list_instruments,
    require_usable_for_new_study,
    study_count,
    usable_for_new_study,
    versions_of,
)
from survey.services.versions.transfer import (
    FORMATS,
    MAX_UPLOAD_BYTES,
    Export,
    export_version,
    format_of,
    import_version,
    read_definition,
)

__all__ = [
    "DRAFT_DISCARDED",
    "Export",
    "FORMATS",
    "MAX_UPLOAD_BYTES",
    "add_item",
    "base_of",
    "create_draft_from",
    "diff",
    "discard_draft",
    "draft_yaml",
    "edit_attention_check",
    "edit_item",
    "edit_metadata",
    "edit_response_scale",
    "edit_response_scales",
    "entry_path",
    "export_version",
    "find_instrument",
    "format_of",
    "get_version",
    "identical_items",
    "import_version",
    "item_position",
    "list_instruments",
    "number_choices",
    "publication_proposal",
    "publish",
    "read_definition",
    "remove_item",
    "replace_with_yaml",
    "require_draft",
    "require_usable_for_new_study",
    "retire",
    "study_count",
    "suggested_number",
    "update_draft",
    "usable_for_new_study",
    "versions_of",
]
