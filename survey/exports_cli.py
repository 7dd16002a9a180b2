"""`flask exports KIND STUDY [-o FILE] [--wave W] [--include-excluded]`: a study's data.

KIND is one of long, wide, sav, dta, rds, codebook, model, bundle (see
:mod:`survey.services.exports`); STUDY is the study's slug. Text formats (long, wide,
codebook, model) go to standard output without ``-o``; the binary ones (sav, dta, rds,
bundle) need ``-o``. ``codebook -o FILE.json`` writes the JSON codebook, any other name (and
standard output) the HTML one. The file is written to a temporary file in the target
directory and renamed when complete, so an error never leaves a partial file; the export is
audited (``export_downloaded``, with its SHA-256) in the command's one commit. Standard
error says how many rows were written, how many excluded sessions were left out and how
many rows are simulated.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import click
from flask.cli import AppGroup

from survey.extensions import db
from survey.services import exports, studies
from survey.services.errors import UnknownStudy
from survey.services.exports import Selection
from survey.services.study_data import UnknownWave

exports_cli = AppGroup("exports", help="Analysis-ready exports of a study's data.")

CLI_KINDS = ("long", "wide", "sav", "dta", "rds", "codebook", "model", "bundle")


def _kind_for(kind: str, output: Path | None) -> str:
    if kind == "codebook" and output is not None and output.suffix.lower() == ".json":
        return "codebook_json"
    return kind


def _temporary_in(directory: Path, target: Path) -> Path:
    """A new empty file in ``directory`` (ClickException naming the problem if none can be
    made there)."""
    if not directory.is_dir():
        raise click.ClickException(f"cannot write {target}: {directory} is not a directory")
    try:
        handle, name = tempfile.mkstemp(dir=directory, prefix=f".{target.name}.", suffix=".part")
    except OSError as error:
        raise click.ClickException(f"cannot write {target}: {error.strerror}") from None
    os.close(handle)
    return Path(name)


def _summary(written: exports.ExportFile, where: str) -> str:
    left_out = (
        f"{written.excluded_left_out} excluded session(s) left out (--include-excluded keeps them)"
        if written.excluded_left_out
        else "no excluded session left out"
    )
    simulated = f"; {written.simulated_rows} SIMULATED row(s)" if written.simulated_rows else ""
    return (
        f"{written.kind.title} of {written.rows} session row(s) to {where}: {left_out}"
        f"{simulated}. SHA-256 {written.sha256}"
    )


def run_export(kind: str, slug: str, output: Path | None, wave: str | None, include: bool):
    """One export: checks, a temporary file, the export and its audit, one commit, the
    rename (or the copy to standard output)."""
    export_kind = exports.kind_of(_kind_for(kind, output))
    if output is None and not export_kind.text:
        raise click.UsageError(
            f"{kind} is a binary format: give -o FILE (e.g. -o {slug}{export_kind.ending})"
        )
    try:
        study = studies.get_study(slug)
    except UnknownStudy as error:
        raise click.ClickException(str(error)) from None
    if output is not None and output.is_dir():
        raise click.ClickException(f"cannot write {output}: it is a directory")
    target_dir = Path(tempfile.gettempdir()) if output is None else output.parent
    temporary = _temporary_in(target_dir, output or Path(f"{slug}{export_kind.ending}"))
    try:
        written = exports.export_to(
            study,
            export_kind.key,
            temporary,
            selection=Selection(wave=wave, include_excluded=include),
            actor=None,
        )
        if output is None:
            sys.stdout.flush()
            with open(temporary, "rb") as file:
                shutil.copyfileobj(file, sys.stdout.buffer)
            sys.stdout.buffer.flush()
        else:
            os.replace(temporary, output)
        db.session.commit()
    except UnknownWave as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    except OSError as error:
        db.session.rollback()
        where = output or "standard output"
        raise click.ClickException(f"cannot write {where}: {error.strerror or error}") from None
    finally:
        temporary.unlink(missing_ok=True)
    click.echo(_summary(written, str(output) if output else "standard output"), err=True)


def _command(kind: str) -> click.Command:
    title = exports.KINDS[kind].title
    description = exports.KINDS[kind].description

    @click.argument("study")
    @click.option(
        "-o",
        "--output",
        type=click.Path(dir_okay=True, path_type=Path),
        help="File to write (standard output when left out, for text formats).",
    )
    @click.option("--wave", metavar="W", help="Only this wave (its key); default all waves.")
    @click.option(
        "--include-excluded",
        is_flag=True,
        help="Keep excluded sessions (excluded = 1, with the reason); left out by default.",
    )
    def command(study: str, output: Path | None, wave: str | None, include_excluded: bool):
        run_export(kind, study, output, wave, include_excluded)

    command.__doc__ = f"{title}: {description}"
    return exports_cli.command(kind)(command)


for _kind in CLI_KINDS:
    _command(_kind)


def register_exports_cli(app) -> None:
    app.cli.add_command(exports_cli)


__all__ = ["CLI_KINDS", "exports_cli", "register_exports_cli", "run_export"]
