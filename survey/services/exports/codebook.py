"""The codebook of a study's wide table, as JSON and as an HTML page.

It lists every variable in column order with its name in the CSV and R files and in the
.sav/.dta files, its label (the full item wording), instrument, version and content hash,
construct, subconstruct, reverse key, response scale and value labels; the missing-value
codes of each format; the data-quality rules applied (:func:`survey.services.data_quality.
rules_of`); how many sessions the selection has, how many are excluded and left out; and
whether any row is simulated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from instruments.scoring import min_answered
from survey.models import Study
from survey.services.exports.layout import (
    NOT_ANSWERED,
    NOT_ANSWERED_LABEL,
    REASON_WIDTH,
    STATA_NOT_ANSWERED,
    Layout,
    Variable,
)
from survey.services.exports.naming import MAX_LENGTH
from survey.services.exports.table import Selection, SelectionCounts

__all__ = ["CODEBOOK_FORMAT", "Codebook", "simulated_note"]

CODEBOOK_FORMAT = 1

_TEMPLATES = Environment(
    loader=FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=select_autoescape(["html"]),
    keep_trailing_newline=True,
)

MISSING_VALUES = {
    "csv": "An empty cell: not answered, not reached, or a score or index that cannot be computed.",
    "rds": "NA, as in the CSV.",
    "sav": f"{NOT_ANSWERED} = {NOT_ANSWERED_LABEL} (an item left empty on a submitted page; "
    "declared user-missing); system missing: not reached (its page not submitted), or a "
    "score or index that cannot be computed.",
    "dta": f".{STATA_NOT_ANSWERED} = {NOT_ANSWERED_LABEL} (an item left empty on a submitted "
    "page); . : not reached, or a score or index that cannot be computed.",
}

SCORING = (
    "Reverse-keyed items are scored min + max - x on their response scale. A subconstruct "
    "score is the mean of its keyed items when at least two thirds of them (rounded up) are "
    f"answered (with three items: {min_answered(3)}), else missing. A construct score is the "
    "mean of its subconstruct scores, a reverse-oriented subconstruct reflected (min + max - "
    "s), and missing when any of them is missing. Attention checks are not scored "
    "(instruments.scoring)."
)

NAMES = (
    "The .sav and .dta files use names that both SPSS and Stata accept: every character "
    "other than a letter, digit or underscore becomes '_', a name not starting with a letter "
    "gets a leading 'v', a reserved word a trailing '_', and names are cut to "
    f"{MAX_LENGTH} characters and made unique with '_2', '_3', ... Variable labels are cut "
    "to 256 bytes in SPSS and 80 characters in Stata; this codebook has them whole. "
    f"exclusion_reason is cut to {REASON_WIDTH} bytes in .sav and .dta."
)


def simulated_note(simulated_rows: int) -> str:
    """What the codebook and the bundle README say about simulated rows."""
    if simulated_rows:
        return (
            f"SIMULATED DATA: {simulated_rows} row(s) are simulated participants made by "
            "`flask demo simulate`, not people (the `simulated` column is 1 on them). "
            "Do not report them as research data."
        )
    return "No row is simulated (the `simulated` column is 0 on every row)."


def _variable(variable: Variable) -> dict[str, Any]:
    scale = variable.scale
    return {
        "name": variable.name,
        "name_sav_dta": variable.safe_name,
        "kind": variable.kind,
        "label": variable.label,
        "storage": variable.storage,
        "instrument": variable.instrument,
        "version": variable.version,
        "content_hash": variable.content_hash,
        "construct": variable.construct,
        "subconstruct": variable.subconstruct,
        "reverse": variable.reverse,
        "expected": variable.expected,
        "response_scale": None
        if scale is None
        else {
            "key": scale.key,
            "options": [{"value": o.value, "label": o.label} for o in scale.options],
        },
        "value_labels": None
        if variable.value_labels is None
        else {str(value): text for value, text in variable.value_labels.items()},
        "not_answered_code": {"sav": NOT_ANSWERED, "dta": f".{STATA_NOT_ANSWERED}"}
        if variable.not_answered
        else None,
    }


@dataclass(frozen=True)
class Codebook:
    """The codebook's content; :meth:`to_dict` is the JSON file, :meth:`write_html` the page."""

    study: Study
    layout: Layout
    selection: Selection
    counts: SelectionCounts
    generated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        rules = self.layout.rules
        return {
            "codebook_format": CODEBOOK_FORMAT,
            "study": {"slug": self.study.slug, "name": self.study.name},
            "generated_at": self.generated_at.isoformat(),
            "selection": {
                "wave": self.selection.wave,
                "include_excluded": self.selection.include_excluded,
                "description": self.selection.describe(),
            },
            "counts": {
                "sessions": self.counts.sessions,
                "excluded": self.counts.excluded,
                "excluded_left_out": self.counts.excluded_left_out,
                "rows": self.counts.rows,
                "simulated_rows": self.counts.simulated_rows,
            },
            "simulated": self.counts.simulated_rows > 0,
            "simulated_note": simulated_note(self.counts.simulated_rows),
            "battery": [
                {
                    "instrument": version.instrument.key,
                    "version": version.version,
                    "title": definition.title,
                    "content_hash": version.content_hash,
                    "citation": definition.citation,
                }
                for version, definition in zip(
                    self.layout.versions, self.layout.definitions, strict=True
                )
            ],
            "quality_rules": {
                "applied": [
                    {
                        "rule": text.rule,
                        "flag": text.flag,
                        "title": text.title,
                        "threshold": text.words,
                        "on": text.on,
                    }
                    for text in rules.describe()
                ],
                "stored": rules.to_json(),
            },
            "missing_values": MISSING_VALUES,
            "scoring": SCORING,
            "names": NAMES,
            "variables": [_variable(variable) for variable in self.layout.variables],
        }

    def write_json(self, out: IO[str]) -> None:
        json.dump(self.to_dict(), out, ensure_ascii=False, indent=2)
        out.write("\n")

    def write_html(self, out: IO[str]) -> None:
        _TEMPLATES.get_template("codebook.html").stream(codebook=self.to_dict()).dump(out)
