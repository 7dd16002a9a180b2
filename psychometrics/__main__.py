"""``python -m psychometrics ...``: see :mod:`psychometrics.cli`."""

from psychometrics.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
