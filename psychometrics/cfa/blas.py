"""Run the engine's linear algebra on one BLAS thread.

The matrices of a CFA are small (tens to a few hundred rows); a multi-threaded BLAS spends more
time synchronising than computing on them, and far more on a busy machine. threadpoolctl (a
dependency of scikit-learn) limits the threads for the duration of a call and restores them.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

__all__ = ["single_threaded_blas"]


@contextlib.contextmanager
def single_threaded_blas() -> Iterator[None]:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
