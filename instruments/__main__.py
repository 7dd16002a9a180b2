"""``python -m instruments``: validate instrument files and hand an instrument to the analyses.

Usage::

    python -m instruments [FILE ...]             validate (every discovered file without FILEs)
    python -m instruments model FILE [--first-order]
                                                 print the lavaan measurement model
    python -m instruments scales FILE            print the arguments of
                                                 `python -m psychometrics reliability` for
                                                 every subconstruct (keying and range included)
    python -m instruments key FILE DATA.csv      print DATA.csv with the items reverse-keyed,
                                                 the data the measurement model is fitted to

Validation prints one line per valid file (key, version, content hash) and every problem of the
others as ``file: key: message``; exits with status 1 if any file is invalid. The other commands
exit with status 1 and one line on stderr naming the file and the problem.

The commands bridge the two halves without coupling them: ``psychometrics`` knows nothing of
instrument files, so an analysis of raw answers reads, for example::

    python -m instruments model iemdp/1.0.0.yaml > iemdp.lav
    python -m instruments key iemdp/1.0.0.yaml answers.csv > keyed.csv
    python -m psychometrics cfa --data keyed.csv --model iemdp.lav
    python -m psychometrics reliability --data answers.csv \\
        $(python -m instruments scales iemdp/1.0.0.yaml)
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from instruments.definition import InstrumentDefinition
from instruments.loader import (
    InstrumentValidationError,
    discover,
    load_instrument,
    validate_file,
)
from instruments.measurement_model import measurement_model
from instruments.scoring import reverse_keyed


class CommandError(Exception):
    """A problem worth one line on stderr."""


def validate(args: Sequence[str]) -> int:
    paths = [Path(arg) for arg in args] or discover()
    if not paths:
        print("no instrument files found", file=sys.stderr)
        return 1
    failed = 0
    for path in paths:
        problems = validate_file(path)
        if problems:
            failed += 1
            for problem in problems:
                print(problem, file=sys.stderr)
        else:
            definition = load_instrument(path)
            print(f"ok {path}: {definition.key} {definition.version} {definition.content_hash}")
    return 1 if failed else 0


def _load(path: str) -> InstrumentDefinition:
    try:
        return load_instrument(path)
    except InstrumentValidationError as error:
        raise CommandError(str(error).splitlines()[0]) from None


def scale_arguments(definition: InstrumentDefinition) -> list[str]:
    """``--range MIN MAX`` and one ``--scale SUB=ITEM,-ITEM,...`` per subconstruct (a leading
    minus marks a reverse-keyed item), e.g. ``--scale OE_BEN=OE_BEN_1,OE_BEN_2,-OE_BEN_3``."""
    scales = {definition.scale(item.scale) for item in definition.items}
    if len(scales) != 1:
        raise CommandError(
            f"{definition.key} {definition.version}: items use {len(scales)} response scales; "
            "psychometrics reliability takes one --range"
        )
    (scale,) = scales
    args = ["--range", str(scale.minimum), str(scale.maximum)]
    for sub in definition.subconstructs:
        items = ",".join(("-" if item.reverse else "") + item.id for item in sub.items)
        args += ["--scale", f"{sub.code}={items}"]
    return args


def _keyed_csv(definition: InstrumentDefinition, data_path: str) -> str:
    try:
        frame = pd.read_csv(data_path)
    except FileNotFoundError:
        raise CommandError(f"{data_path}: no such file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise CommandError(f"{data_path}: not a readable CSV file ({error})") from None
    try:
        keyed = reverse_keyed(definition, frame)
    except ValueError as error:
        raise CommandError(f"{data_path}: {error}") from None
    extra = [column for column in frame.columns if column not in keyed.columns]
    return pd.concat([frame[extra], keyed], axis=1).to_csv(index=False)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help") for arg in args):
        print((__doc__ or "").strip())
        return 0
    command = args[0] if args else None
    try:
        if command == "model" and len(args) in (2, 3) and args[2:] in ([], ["--first-order"]):
            model = measurement_model(_load(args[1]), second_order="--first-order" not in args)
            print(model.syntax, end="")
            for note in model.notes:
                print(f"# {note}", file=sys.stderr)
            return 0
        if command == "scales" and len(args) == 2:
            print(" ".join(scale_arguments(_load(args[1]))))
            return 0
        if command == "key" and len(args) == 3:
            print(_keyed_csv(_load(args[1]), args[2]), end="")
            return 0
        if command in ("model", "scales", "key"):
            raise CommandError(f"wrong arguments for '{command}' (see --help)")
    except CommandError as error:
        print(f"python -m instruments {command}: error: {error}", file=sys.stderr)
        return 1
    return validate(args)


if __name__ == "__main__":
    sys.exit(main())
