"""Analysis-ready exports of a study's data (issue 9, part 5).

Formats (:data:`KINDS`): the wide CSV, the long CSV, SPSS ``.sav``, Stata ``.dta``, R
``.rds``, the codebook (HTML and JSON), the measurement models in lavaan syntax (an R script)
and the analysis bundle (a zip of all of them with the outcomes and a README). Every export
reads the sessions a chunk at a time (:mod:`survey.services.study_data`), leaves excluded
sessions out unless asked, marks simulated rows, names the instrument version(s) and content
hash(es), and is audited with its SHA-256 (:func:`export_to`).

Modules: :mod:`~.layout` (the variables, labels, missing codes), :mod:`~.naming` (names SPSS
and Stata accept), :mod:`~.table` (the wide rows chunk by chunk), one module per format
(:mod:`~.wide_csv`, :mod:`~.long_csv`, :mod:`~.spss`, :mod:`~.stata`, :mod:`~.rds`,
:mod:`~.codebook`, :mod:`~.lavaan`, :mod:`~.bundle`) and :mod:`~.export_files` (writing one
to a file, its hash and audit record).
"""

from survey.services.exports.export_files import (
    KINDS,
    ExportFile,
    ExportKind,
    UnknownExport,
    export_to,
    filename_for,
    kind_of,
)
from survey.services.exports.table import Selection, SelectionCounts, selection_counts

__all__ = [
    "KINDS",
    "ExportFile",
    "ExportKind",
    "Selection",
    "SelectionCounts",
    "UnknownExport",
    "export_to",
    "filename_for",
    "kind_of",
    "selection_counts",
]
