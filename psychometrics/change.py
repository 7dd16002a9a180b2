"""Reliable change of individual scores between two occasions (Jacobson & Truax, 1991).

For a person with scores x_pre and x_post on a measure with reliability r_xx (e.g. test-retest
or internal consistency) and standard deviation s_pre (of the pre-test scores, usually a
reference group's),

    SE      = s_pre * sqrt(1 - r_xx)                  (standard error of measurement)
    S_diff  = sqrt(2 SE^2) = s_pre * sqrt(2) * sqrt(1 - r_xx)
    RCI     = (x_post - x_pre) / S_diff

and the change is reliable when |RCI| exceeds 1.96 (two-sided 5 %, a change that large would
arise by measurement error alone less than 5 % of the time).

Reference: Jacobson, N. S., & Truax, P. (1991). Clinical significance: A statistical approach to
defining meaningful change in psychotherapy research. Journal of Consulting and Clinical
Psychology, 59(1), 12-19. https://doi.org/10.1037/0022-006X.59.1.12

>>> from psychometrics.change import reliable_change
>>> reliable_change([10, 20], [16, 19], reliability=0.84, sd_pre=5.0)["rci"].round(3).tolist()
[2.121, -0.354]
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["reliable_change"]


def _vector(values, name: str) -> tuple[np.ndarray, pd.Index | None]:
    index = values.index if isinstance(values, pd.Series) else None
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numeric") from None
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, not of shape {arr.shape}")
    return arr, index


def reliable_change(
    pre,
    post,
    reliability: float,
    sd_pre: float | None = None,
    *,
    higher_is_better: bool = True,
    critical: float = 1.96,
) -> pd.DataFrame:
    """Jacobson-Truax reliable change index for every person.

    Parameters
    ----------
    pre, post : array-like of float
        Scores at the first and second occasion, one per person, same length (NaN allowed:
        that person's RCI is NaN and the flags are <NA>).
    reliability : float
        Reliability of the measure, 0 <= r < 1.
    sd_pre : float, optional
        Standard deviation to use (e.g. of a normative sample); by default the sample standard
        deviation (ddof = 1) of the non-missing ``pre`` scores.
    higher_is_better : bool
        Whether an increase is an improvement (False for symptom scales).
    critical : float
        The |RCI| beyond which change is reliable; 1.96 as Jacobson & Truax.

    Returns
    -------
    DataFrame
        Columns ``rci`` (float), ``reliable_improvement`` and ``reliable_deterioration``
        (nullable boolean), indexed as ``pre`` when it is a Series. ``df.attrs`` holds
        ``se_diff``, ``sd_pre``, ``reliability`` and ``critical``.

    Raises
    ------
    ValueError
        For different lengths, a reliability outside [0, 1), a non-positive or missing SD, or
        a non-positive critical value.
    """
    x0, index = _vector(pre, "pre")
    x1, _ = _vector(post, "post")
    if x0.shape != x1.shape:
        raise ValueError(f"pre and post must have the same length ({x0.size} != {x1.size})")
    r = float(reliability)
    if not 0.0 <= r < 1.0:
        raise ValueError(f"reliability must be in [0, 1), not {reliability!r}")
    if not (np.isfinite(critical) and critical > 0):
        raise ValueError(f"critical must be a positive number, not {critical!r}")
    if sd_pre is None:
        finite = x0[np.isfinite(x0)]
        if finite.size < 2:
            raise ValueError("sd_pre cannot be estimated from fewer than two pre scores")
        sd = float(np.std(finite, ddof=1))
    else:
        sd = float(sd_pre)
    if not (np.isfinite(sd) and sd > 0):
        raise ValueError(f"the pre-test standard deviation must be positive, not {sd!r}")
    se_diff = sd * np.sqrt(2.0) * np.sqrt(1.0 - r)
    rci = (x1 - x0) / se_diff
    missing = ~np.isfinite(rci)
    up = pd.array(rci > critical, dtype="boolean")
    down = pd.array(rci < -critical, dtype="boolean")
    up[missing] = pd.NA
    down[missing] = pd.NA
    improvement, deterioration = (up, down) if higher_is_better else (down, up)
    out = pd.DataFrame(
        {
            "rci": rci,
            "reliable_improvement": improvement,
            "reliable_deterioration": deterioration,
        },
        index=index,
    )
    out.attrs.update(se_diff=float(se_diff), sd_pre=sd, reliability=r, critical=float(critical))
    return out
