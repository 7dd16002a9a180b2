"""`flask demo simulate STUDY --participants N --waves K --seed S [--truth FILE]
[--unless-simulated] [--exclude-flagged]`.

A thin wrapper over :func:`survey.services.simulation.simulate_study`: checks everything it
can before writing (the study, the sizes, that FILE can be written), simulates, writes the
truth next to FILE, commits once, then moves the truth into place. Any error leaves
nothing behind: no rows, no file. ``--exclude-flagged`` then excludes, in the same commit,
every session the study's data-quality rules flag (as a researcher's "Exclude flagged"
would, each exclusion audited and reversible), so that analyses of a demo start from data
cleaned by stated rules.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

import click
from flask.cli import with_appcontext
from sqlalchemy import func, select

from survey.extensions import db
from survey.models import Participant
from survey.services import exclusions, simulation, studies
from survey.services.errors import UnknownStudy

EXCLUDE_FLAGGED_REASON = (
    "Flagged by the study's data-quality rules (excluded by flask demo simulate --exclude-flagged)"
)


def _truth_target(path: Path) -> Path:
    """``path`` resolved, or a click error saying why the truth cannot be written there."""
    if path.is_dir():
        raise click.BadParameter(f"{path} is a folder, not a file", param_hint="--truth")
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise click.BadParameter(
            f"{path}: the folder {folder} does not exist", param_hint="--truth"
        )
    if not os.access(folder, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise click.BadParameter(
            f"{path} cannot be written (permission denied)", param_hint="--truth"
        )
    return path


def _simulated_count(study) -> int:
    return db.session.scalar(
        select(func.count(Participant.id)).where(
            Participant.study_id == study.id, Participant.simulated.is_(True)
        )
    )


@click.command("simulate")
@click.argument("study_slug", metavar="STUDY")
@click.option(
    "--participants",
    type=click.IntRange(1, simulation.MAX_PARTICIPANTS),
    required=True,
    help="How many simulated participants to add.",
)
@click.option(
    "--waves",
    type=click.IntRange(1, simulation.MAX_WAVES),
    required=True,
    help="How many waves they answer (missing ones are added: baseline, week-4, week-8, ...).",
)
@click.option(
    "--seed",
    type=click.IntRange(0),
    required=True,
    help="Seed of the population and the sample (same seed, same data).",
)
@click.option(
    "--truth",
    "truth_path",
    type=click.Path(path_type=Path),
    help="Write the generating parameters and the careless participants to this JSON file "
    "and print how many of them the data-quality flags catch.",
)
@click.option(
    "--unless-simulated",
    is_flag=True,
    help="Do nothing when the study has simulated participants already (for `make run`).",
)
@click.option(
    "--exclude-flagged",
    is_flag=True,
    help="Then exclude every session the study's data-quality rules flag (reversible).",
)
@with_appcontext
def simulate_command(
    study_slug: str,
    participants: int,
    waves: int,
    seed: int,
    truth_path: Path | None,
    unless_simulated: bool,
    exclude_flagged: bool,
) -> None:
    """Add N simulated participants answering the battery of STUDY (its short name) at K
    waves, with careless responders, dropout, page timings and engagement outcomes; all
    marked as simulated."""
    try:
        study = studies.get_study(study_slug)
    except UnknownStudy as error:
        raise click.ClickException(str(error)) from None
    try:
        simulation.check_simulation(study, participants=participants, waves=waves, seed=seed)
    except simulation.InvalidSimulation as error:
        raise click.ClickException(str(error)) from None
    if truth_path is not None:
        truth_path = _truth_target(truth_path)
    if unless_simulated:
        existing = _simulated_count(study)
        if existing:
            click.echo(
                f"Study {study.slug} has {existing:,} simulated participants already: "
                "nothing added (--unless-simulated)."
            )
            return
    began = time.perf_counter()
    try:
        result = simulation.simulate_study(study, participants=participants, waves=waves, seed=seed)
        rates = simulation.detection_rates(result) if truth_path is not None else None
        excluded = (
            exclusions.exclude_flagged(study, actor=None, reason=EXCLUDE_FLAGGED_REASON)
            if exclude_flagged
            else None
        )
        temporary = _write_truth(result.truth, truth_path) if truth_path is not None else None
    except simulation.InvalidSimulation as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    except BaseException:
        db.session.rollback()
        raise
    try:
        db.session.commit()
    except BaseException:
        if temporary is not None:
            temporary.unlink(missing_ok=True)
        raise
    if temporary is not None and truth_path is not None:
        os.replace(temporary, truth_path)
    seconds = time.perf_counter() - began
    kinds = result.truth["careless"].values()
    added = f" (added: {', '.join(result.added_waves)})" if result.added_waves else ""
    click.echo(
        f"Simulated {result.participants:,} participants in {study.slug} in {seconds:.1f} s: "
        f"waves {', '.join(result.waves)}{added}; {result.sessions:,} sessions "
        f"({result.complete_sessions:,} complete), {result.answers:,} answers; careless: "
        + ", ".join(f"{list(kinds).count(k)} {k}" for k in simulation.CARELESS_KINDS)
        + f"; outcome version {result.outcome_version}."
    )
    if excluded is not None:
        click.echo(
            f"Excluded {len(excluded.session_ids):,} flagged sessions (--exclude-flagged; "
            "each can be included again on the study's data-quality page)."
        )
    if truth_path is not None and rates is not None:
        click.echo(f"Truth written to {truth_path}.")
        click.echo("Default data-quality flags (any rule), complete sessions:")
        for line in rates.lines():
            click.echo(f"  {line}")


def _write_truth(truth: dict, path: Path) -> Path:
    """Write ``truth`` to a new file next to ``path`` (moved into place after the commit);
    a click error if it cannot be written."""
    try:
        handle = tempfile.NamedTemporaryFile(
            "w",
            encoding="utf-8",
            dir=path.parent if str(path.parent) else ".",
            prefix=f".{path.name}.",
            suffix=".tmp",
            delete=False,
        )
        with handle:
            json.dump(truth, handle, indent=2, allow_nan=False)
            handle.write("\n")
    except OSError as error:
        raise click.BadParameter(
            f"{path} cannot be written ({error.strerror})", param_hint="--truth"
        ) from None
    return Path(handle.name)
