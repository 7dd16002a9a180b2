"""``python -m instruments [FILE ...]``: validate instrument files.

Without arguments every file found by :func:`instruments.loader.discover` is checked. Prints
one line per valid file (key, version, content hash) and every problem of the others as
``file: key: message``; exits with status 1 if any file is invalid.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from instruments.loader import discover, load_instrument, validate_file


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if any(arg in ("-h", "--help") for arg in args):
        print((__doc__ or "").strip())
        return 0
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


if __name__ == "__main__":
    sys.exit(main())
