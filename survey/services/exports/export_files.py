"""Writing one export of a study to a file: the formats, the file's name and hash, the audit.

:func:`export_to` writes the export of one :data:`KINDS` key to a path the caller chose
(the CLI: a temporary file in the target directory, renamed when complete; the page: a
temporary file streamed to the browser), computes its SHA-256 and records
``export_downloaded`` in the audit log with it (flushed, not committed), with the details
{export, wave, include_excluded, rows, excluded_left_out, simulated_rows, battery
versions and content hashes}. Work files (the chunks of .sav/.dta, the bundle's members)
go to a temporary directory removed afterwards.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from survey.models import AuditAction, Study, User, utcnow
from survey.services import audit, data_quality, study_data
from survey.services.errors import SurveyError
from survey.services.exports.bundle import write_bundle
from survey.services.exports.codebook import Codebook
from survey.services.exports.lavaan import write_r_script
from survey.services.exports.layout import build_layout
from survey.services.exports.long_csv import LongCsvWriter
from survey.services.exports.rds import RdsSink
from survey.services.exports.readstat_frames import file_labels
from survey.services.exports.spss import SavSink
from survey.services.exports.stata import DtaSink
from survey.services.exports.table import Selection, SelectionCounts, WideTable, selection_counts
from survey.services.exports.wide_csv import WideCsvSink

__all__ = [
    "KINDS",
    "ExportFile",
    "ExportKind",
    "UnknownExport",
    "export_to",
    "file_sha256",
    "filename_for",
    "kind_of",
]


class UnknownExport(SurveyError):
    """No export of this kind."""


@dataclass(frozen=True)
class ExportKind:
    """One downloadable file: its key, title, what it is, file name ending and media type.
    ``text``: it can go to standard output."""

    key: str
    title: str
    description: str
    ending: str
    media_type: str
    text: bool


KINDS: dict[str, ExportKind] = {
    kind.key: kind
    for kind in (
        ExportKind(
            "wide", "Wide CSV", "One row per participant and wave: items, subconstruct and "
            "construct scores, data-quality indices and flags.", "-wide.csv", "text/csv", True,
        ),
        ExportKind(
            "long", "Long CSV", "One row per answer: instrument, version, content hash, item, "
            "value, when it was answered and how (web or chat).", "-long.csv", "text/csv", True,
        ),
        ExportKind(
            "sav", "SPSS (.sav)", "The wide table with variable labels (item wording), value "
            "labels (the response scale) and -9 = not answered as user-missing.", ".sav",
            "application/x-spss-sav", False,
        ),
        ExportKind(
            "dta", "Stata (.dta)", "The wide table for Stata 15 or later: variable and value "
            "labels, .a = not answered.", ".dta", "application/x-stata-dta", False,
        ),
        ExportKind(
            "rds", "R (.rds)", "The wide table as an R data frame, items as factors of their "
            "response labels (readRDS).", ".rds", "application/octet-stream", False,
        ),
        ExportKind(
            "codebook", "Codebook (HTML)", "Every variable: names, wording, instrument, "
            "construct, subconstruct, reverse key, response scale, version and hash; the "
            "data-quality rules applied and the counts.", "-codebook.html",
            "text/html", True,
        ),
        ExportKind(
            "codebook_json", "Codebook (JSON)", "The codebook for programs.",
            "-codebook.json", "application/json", True,
        ),
        ExportKind(
            "model", "Measurement models (R, lavaan)", "First- and second-order models in "
            "lavaan syntax per instrument version, the reverse keying and lavaan::cfa calls.",
            "-model.R", "text/plain", True,
        ),
        ExportKind(
            "bundle", "Analysis bundle (zip)", "All of the above and the outcomes, with a "
            "README on loading them in R, SPSS and Stata.", "-bundle.zip", "application/zip",
            False,
        ),
    )
}  # fmt: skip


def kind_of(key: str) -> ExportKind:
    try:
        return KINDS[key]
    except KeyError:
        known = ", ".join(KINDS)
        raise UnknownExport(f"no export {key!r} (the exports: {known})") from None


@dataclass(frozen=True)
class ExportFile:
    """A written export: where, under which name, its SHA-256 and what it holds."""

    kind: ExportKind
    path: Path
    filename: str
    sha256: str
    size: int
    rows: int
    excluded_left_out: int
    simulated_rows: int


def _safe(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text)


def filename_for(study: Study, kind: ExportKind, selection: Selection) -> str:
    """``<slug>[-<wave>][-with-excluded]<ending>``, e.g. ``iemdp-demo-wide.csv``."""
    parts = [_safe(study.slug)]
    if selection.wave:
        parts.append(_safe(selection.wave))
    if selection.include_excluded:
        parts.append("with-excluded")
    return "-".join(parts) + kind.ending


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class _Written:
    rows: int
    simulated_rows: int


Writer = Callable[[Study, Selection, Path, Path, datetime], _Written]


def _wide_pass(study, selection, make_sink) -> _Written:
    table = WideTable(study, selection)
    sink = make_sink(table)
    for chunk in table.chunks():
        sink.add(chunk)
    sink.finish()
    return _Written(table.rows, table.simulated_rows)


def _wide(study, selection, path, scratch, now) -> _Written:
    with open(path, "w", encoding="utf-8", newline="") as out:
        return _wide_pass(study, selection, lambda table: WideCsvSink(table.layout, out))


def _sav(study, selection, path, scratch, now) -> _Written:
    def sink(table):
        labels = file_labels(study, table.layout, selection.describe(), now)
        return SavSink(table.layout, path, scratch, notes=labels.notes, label=labels.sav)

    return _wide_pass(study, selection, sink)


def _dta(study, selection, path, scratch, now) -> _Written:
    def sink(table):
        labels = file_labels(study, table.layout, selection.describe(), now)
        return DtaSink(table.layout, path, scratch, label=labels.dta)

    return _wide_pass(study, selection, sink)


def _rds(study, selection, path, scratch, now) -> _Written:
    return _wide_pass(study, selection, lambda table: RdsSink(table.layout, path))


def _long(study, selection, path, scratch, now) -> _Written:
    writer = LongCsvWriter(study, selection)
    with open(path, "w", encoding="utf-8", newline="") as out:
        writer.write(out)
    return _Written(writer.rows, writer.simulated_rows)


def _codebook(study, selection, path, scratch, now, *, as_json: bool) -> _Written:
    table = WideTable(study, selection)
    counts: SelectionCounts = selection_counts(study, selection)
    codebook = Codebook(study, table.layout, selection, counts, now)
    with open(path, "w", encoding="utf-8") as out:
        (codebook.write_json if as_json else codebook.write_html)(out)
    return _Written(counts.rows, counts.simulated_rows)


def _model(study, selection, path, scratch, now) -> _Written:
    study_data.wave_of(study, selection.wave)
    layout = build_layout(
        study, study_data.battery_columns(study), (), data_quality.rules_of(study)
    )
    with open(path, "w", encoding="utf-8") as out:
        write_r_script(layout, out)
    counts = selection_counts(study, selection)
    return _Written(counts.rows, counts.simulated_rows)


def _bundle(study, selection, path, scratch, now) -> _Written:
    written = write_bundle(study, selection, path, scratch, generated_at=now)
    return _Written(written.rows, written.simulated_rows)


WRITERS: dict[str, Writer] = {
    "wide": _wide,
    "long": _long,
    "sav": _sav,
    "dta": _dta,
    "rds": _rds,
    "codebook": lambda *args: _codebook(*args, as_json=False),
    "codebook_json": lambda *args: _codebook(*args, as_json=True),
    "model": _model,
    "bundle": _bundle,
}


def export_to(
    study: Study,
    kind: str,
    path: Path,
    *,
    selection: Selection | None = None,
    actor: User | None,
) -> ExportFile:
    """Write export ``kind`` of ``study`` to ``path`` and audit it (flushed, not committed);
    ``selection`` defaults to all waves with excluded sessions left out.

    Raises :class:`UnknownExport` for an unknown kind and
    :class:`~survey.services.study_data.UnknownWave` for a wave the study lacks, before
    anything is written.
    """
    export_kind = kind_of(kind)
    selection = selection or Selection()
    study_data.wave_of(study, selection.wave)
    now = utcnow()
    with tempfile.TemporaryDirectory(prefix="export-") as scratch:
        written = WRITERS[export_kind.key](study, selection, Path(path), Path(scratch), now)
    digest = file_sha256(Path(path))
    left_out = (
        0
        if selection.include_excluded
        else (study_data.session_counts(study, wave=selection.wave).excluded)
    )
    versions = study.instrument_versions
    first = versions[0]
    audit.record(
        AuditAction.EXPORT_DOWNLOADED,
        actor=actor,
        target_type="study",
        target_id=study.id,
        hash_after=digest,
        details={
            "export": export_kind.key,
            "wave": selection.wave,
            "include_excluded": selection.include_excluded,
            "rows": written.rows,
            "excluded_left_out": left_out,
            "simulated_rows": written.simulated_rows,
            "battery": [
                {
                    "instrument": v.instrument.key,
                    "version": v.version,
                    "content_hash": v.content_hash,
                }
                for v in versions
            ],
            "instrument": first.instrument.key,
            "instrument_version": first.version,
            "instrument_content_hash": first.content_hash,
        },
        now=now,
    )
    return ExportFile(
        kind=export_kind,
        path=Path(path),
        filename=filename_for(study, export_kind, selection),
        sha256=digest,
        size=Path(path).stat().st_size,
        rows=written.rows,
        excluded_left_out=left_out,
        simulated_rows=written.simulated_rows,
    )
