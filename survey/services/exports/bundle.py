"""The analysis bundle: one zip with every export of a study and a README saying how to load it.

Members: ``README.txt``, ``long.csv``, ``wide.csv``, ``wide.sav``, ``wide.dta``,
``wide.rds``, ``codebook.html``, ``codebook.json``, ``model.R`` and ``models/*.lav`` (each
measurement model on its own), and ``outcomes.csv`` when the study has outcomes (its
current version). The four wide files are written in one pass over the sessions
(:class:`~survey.services.exports.table.WideTable` feeding four sinks), the long CSV in a
second; each member is written to a scratch directory and streamed into the zip, so memory
stays bounded except for the .rds member, which pyreadr writes from a whole data frame
(:mod:`survey.services.exports.rds`).
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from survey.models import Study
from survey.services import outcomes
from survey.services.exports.codebook import Codebook, simulated_note
from survey.services.exports.lavaan import model_texts, write_r_script
from survey.services.exports.layout import NOT_ANSWERED, Layout
from survey.services.exports.long_csv import LongCsvWriter
from survey.services.exports.rds import RdsSink
from survey.services.exports.readstat_frames import file_labels
from survey.services.exports.spss import SavSink
from survey.services.exports.stata import DtaSink
from survey.services.exports.table import Selection, SelectionCounts, WideTable
from survey.services.exports.wide_csv import WideCsvSink

__all__ = ["BundleWritten", "write_bundle"]


@dataclass(frozen=True)
class BundleWritten:
    rows: int
    simulated_rows: int
    members: tuple[str, ...]


def _readme(
    study: Study,
    layout: Layout,
    selection: Selection,
    counts: SelectionCounts,
    generated_at: datetime,
    members: list[str],
    outcomes_note: str,
) -> str:
    battery = "\n".join(
        f"  {v.instrument.key} {v.version}  content hash (SHA-256) {v.content_hash}"
        for v in layout.versions
    )
    reverse = [v.name for v in layout.of_kind("item") if v.reverse]
    shown_reverse = ", ".join(reverse[:6]) + (", ..." if len(reverse) > 6 else "")
    return f"""Analysis bundle of study {study.slug}: {study.name}
Generated {generated_at.isoformat()}; {selection.describe()}.

{simulated_note(counts.simulated_rows)}

Battery:
{battery}

Sessions in the selected waves: {counts.sessions}; excluded: {counts.excluded}; excluded and
left out of these files: {counts.excluded_left_out}; rows: {counts.rows} (one per participant
and wave). Excluded sessions that are in the files have excluded = 1 and exclusion_reason.

Files
  wide.csv       one row per participant and wave: participant, wave, excluded,
                 exclusion_reason, simulated, started_at, completed_at, battery, the items,
                 subconstruct and construct scores, data-quality indices and flags
  long.csv       one row per stored answer (instrument, version, content_hash, item,
                 value, answered_at, delivery_mode, ...)
  wide.sav       SPSS: the wide table with variable and value labels; {NOT_ANSWERED} = not
                 answered (user-missing)
  wide.dta       Stata 15+: the same; .a = not answered
  wide.rds       R: the same as a data frame, items as factors of the response labels
  codebook.html  every variable: names in CSV and in .sav/.dta, wording, instrument,
  codebook.json  construct, subconstruct, reverse key, response scale, version and hash;
                 the data-quality rules applied; missing-value codes
  model.R        the measurement models (first- and second-order) in lavaan syntax, the
                 reverse keying they need, and lavaan::cfa calls
  models/*.lav   each model on its own
{outcomes_note}
All files: {", ".join(members)}.

R
  d <- read.csv("wide.csv")            # or: d <- readRDS("wide.rds")
  d <- subset(d, excluded == 0)        # when excluded sessions are in the files
  d <- subset(d, simulated == 0)       # real participants only
  source("model.R")                    # reverse-keys the items, defines the models
  # The models are fitted to reverse-keyed items ({shown_reverse} are
  # reverse-keyed: min + max - x); model.R does that and shows the lavaan::cfa call:
  # fit <- lavaan::cfa(model_..._second_order, data = items_..., missing = "ml")

SPSS
  GET FILE='wide.sav'.
  (or File > Open > Data). Value labels and the user-missing code {NOT_ANSWERED} are set;
  SELECT IF (excluded = 0). leaves out excluded sessions.

Stata
  use wide.dta, clear
  drop if excluded == 1

Scores follow instruments.scoring: reverse-keyed items min + max - x, a subconstruct score
is the mean of its keyed items when at least two thirds are answered, a construct score the
mean of its subconstruct scores (reverse-oriented ones reflected), missing if any is missing.
"""


def write_bundle(
    study: Study, selection: Selection, path: Path, scratch: Path, *, generated_at: datetime
) -> BundleWritten:
    """Write the bundle zip at ``path``; member files are made in ``scratch``."""
    table = WideTable(study, selection)
    layout = table.layout
    labels = file_labels(study, layout, selection.describe(), generated_at)
    files: dict[str, Path] = {}

    files["wide.csv"] = scratch / "wide.csv"
    files["wide.sav"] = scratch / "wide.sav"
    files["wide.dta"] = scratch / "wide.dta"
    files["wide.rds"] = scratch / "wide.rds"
    with open(files["wide.csv"], "w", encoding="utf-8", newline="") as wide:
        sinks = [
            WideCsvSink(layout, wide),
            SavSink(layout, files["wide.sav"], scratch, notes=labels.notes, label=labels.sav),
            DtaSink(layout, files["wide.dta"], scratch, label=labels.dta),
            RdsSink(layout, files["wide.rds"]),
        ]
        for chunk in table.chunks():
            for sink in sinks:
                sink.add(chunk)
        for sink in sinks:
            sink.finish()

    files["long.csv"] = scratch / "long.csv"
    with open(files["long.csv"], "w", encoding="utf-8", newline="") as long:
        LongCsvWriter(study, selection).write(long)

    counts = table.counts()
    codebook = Codebook(study, layout, selection, counts, generated_at)
    files["codebook.html"] = scratch / "codebook.html"
    with open(files["codebook.html"], "w", encoding="utf-8") as out:
        codebook.write_html(out)
    files["codebook.json"] = scratch / "codebook.json"
    with open(files["codebook.json"], "w", encoding="utf-8") as out:
        codebook.write_json(out)

    files["model.R"] = scratch / "model.R"
    with open(files["model.R"], "w", encoding="utf-8") as out:
        write_r_script(layout, out)
    (scratch / "models").mkdir()
    for text in model_texts(layout):
        member = f"models/{text.filename}"
        files[member] = scratch / member
        files[member].write_text(text.syntax, encoding="utf-8")

    outcomes_note = ""
    upload = outcomes.current_upload(study)
    if upload is not None:
        files["outcomes.csv"] = scratch / "outcomes.csv"
        with open(files["outcomes.csv"], "w", encoding="utf-8", newline="") as out:
            for line in outcomes.outcomes_csv_lines(upload):
                out.write(line)
        outcomes_note = (
            f"  outcomes.csv   outcomes and covariates, version {upload.version} "
            f"({upload.filename}, {upload.row_count} rows"
            + (", SIMULATED" if upload.simulated else "")
            + "); join on participant (and wave; an empty wave is per participant)\n"
        )

    members = ["README.txt", *files]
    readme = _readme(study, layout, selection, counts, generated_at, members, outcomes_note)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as zipped:
        zipped.writestr("README.txt", readme)
        for member, file in files.items():
            zipped.write(file, member)
    return BundleWritten(
        rows=table.rows, simulated_rows=table.simulated_rows, members=tuple(members)
    )
