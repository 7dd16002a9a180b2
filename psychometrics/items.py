"""Descriptive item statistics.

Per item: number of responses, missing %, mean, standard deviation (n - 1 denominator), median,
minimum, maximum, skewness and excess kurtosis, floor % and ceiling %, and the count of each
response value.

Skewness and kurtosis follow the three definitions of Joanes & Gill (1998), the ``type`` argument
of R's ``psych::describe`` and ``e1071::skewness``. With :math:`m_r = \\frac1n \\sum (x_i -
\\bar x)^r` and :math:`g_1 = m_3 / m_2^{3/2}`, :math:`g_2 = m_4 / m_2^2 - 3`:

- type 1: :math:`g_1` and :math:`g_2`;
- type 2: :math:`G_1 = g_1 \\sqrt{n(n-1)} / (n-2)` and
  :math:`G_2 = ((n+1) g_2 + 6)(n-1) / ((n-2)(n-3))` (SAS, SPSS, Excel);
- type 3 (default, as ``psych::describe``): :math:`b_1 = g_1 ((n-1)/n)^{3/2}` and
  :math:`b_2 = (g_2 + 3)(1 - 1/n)^2 - 3`.

Each item uses its own number of responses :math:`n`. (``psych`` 2.2.9's ``kurtosi(type = 1)`` on
a data frame counts missing values in :math:`n`; its types 2 and 3 and all skewness types agree
with this module on incomplete items.)

Reference: Joanes, D. N., & Gill, C. A. (1998). Comparing measures of sample skewness and kurtosis.
*Journal of the Royal Statistical Society D, 47*(1), 183-189. https://doi.org/10.1111/1467-9884.00122
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from psychometrics._json import records
from psychometrics.inputs import item_frame

MAX_DISTRIBUTION_VALUES = 20


@dataclass(frozen=True)
class ItemStatistics:
    """Result of :func:`describe_items`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per item; columns ``n``, ``missing_pct``, ``mean``, ``sd``, ``median``, ``min``,
        ``max``, ``skew``, ``kurtosis`` (excess), ``floor_pct``, ``ceiling_pct``.
    distribution : pandas.DataFrame or None
        Counts of each response value (columns) per item (rows); ``None`` when the items take more
        than 20 distinct values (continuous scores).
    response_range : tuple of float
        ``(low, high)`` used for floor and ceiling.
    range_source : str
        ``"given"`` (the response options) or ``"observed"`` (each item's own min and max).
    skew_type : int
        1, 2 or 3, see the module docstring.
    n_rows : int
        Rows in the data.
    """

    table: pd.DataFrame
    distribution: pd.DataFrame | None
    response_range: tuple[float, float] | None
    range_source: str
    skew_type: int
    n_rows: int
    missing: str = field(default="available")

    def to_dict(self) -> dict:
        return {
            "n_rows": self.n_rows,
            "missing": self.missing,
            "skew_type": self.skew_type,
            "range_source": self.range_source,
            "response_range": None if self.response_range is None else list(self.response_range),
            "items": records(self.table),
            "distribution": None
            if self.distribution is None
            else {
                str(item): {_value_key(v): int(c) for v, c in row.items()}
                for item, row in self.distribution.iterrows()
            },
        }


def skewness(values: np.ndarray, type: int = 3) -> float:  # noqa: A002 - R's argument name
    """Sample skewness of the non-missing ``values`` (see the module docstring for ``type``).

    Examples
    --------
    >>> round(skewness(np.array([1.0, 2.0, 2.0, 3.0, 9.0])), 6)
    0.945293
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    _check_type(type)
    if n < 3:
        return float("nan")
    d = x - x.mean()
    m2 = np.mean(d**2)
    if m2 == 0:
        return float("nan")
    g1 = np.mean(d**3) / m2**1.5
    if type == 1:
        return float(g1)
    if type == 2:
        return float(g1 * np.sqrt(n * (n - 1)) / (n - 2))
    return float(g1 * ((n - 1) / n) ** 1.5)


def kurtosis(values: np.ndarray, type: int = 3) -> float:  # noqa: A002 - R's argument name
    """Sample excess kurtosis of the non-missing ``values`` (see the module docstring).

    Examples
    --------
    >>> round(kurtosis(np.array([1.0, 2.0, 2.0, 3.0, 9.0])), 6)
    -1.06893
    """
    x = np.asarray(values, dtype=float)
    x = x[~np.isnan(x)]
    n = x.size
    _check_type(type)
    if n < 4:
        return float("nan")
    d = x - x.mean()
    m2 = np.mean(d**2)
    if m2 == 0:
        return float("nan")
    g2 = np.mean(d**4) / m2**2 - 3.0
    if type == 1:
        return float(g2)
    if type == 2:
        return float(((n + 1) * g2 + 6) * (n - 1) / ((n - 2) * (n - 3)))
    return float((g2 + 3) * (1 - 1 / n) ** 2 - 3)


def describe_items(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    response_range: tuple[float, float] | None = None,
    skew_type: int = 3,
) -> ItemStatistics:
    """Describe each item: location, spread, shape, floor/ceiling and response distribution.

    Each item is described on the responses it has (available-case analysis, as
    ``psych::describe(na.rm = TRUE)``); ``missing_pct`` is the share of rows without a response.

    Floor % and ceiling % are the percentages of an item's responses at the lowest and highest
    response option, :math:`100 \\cdot \\#\\{x_i = \\text{low}\\} / n`. Give ``response_range``
    (the response options, e.g. ``(1, 5)``); without it each item's observed minimum and maximum
    are used, which overstates floor and ceiling effects when no one chose an extreme option.

    Parameters
    ----------
    data : pandas.DataFrame
        Responses, one column per item.
    items : sequence of str, optional
        Columns to describe (default: all).
    response_range : (float, float), optional
        Lowest and highest response option.
    skew_type : {1, 2, 3}
        Definition of skewness and kurtosis; 3 matches ``psych::describe``.

    Returns
    -------
    ItemStatistics

    References
    ----------
    Joanes, D. N., & Gill, C. A. (1998). https://doi.org/10.1111/1467-9884.00122

    Examples
    --------
    >>> import pandas as pd
    >>> df = pd.DataFrame({"q1": [1, 2, 2, 5, None], "q2": [3, 3, 4, 5, 5]})
    >>> res = describe_items(df, response_range=(1, 5))
    >>> res.table.loc["q1", ["n", "missing_pct", "mean", "floor_pct", "ceiling_pct"]].tolist()
    [4.0, 20.0, 2.5, 25.0, 25.0]
    >>> res.distribution.loc["q2"].tolist()
    [0, 0, 2, 1, 2]
    """
    _check_type(skew_type)
    frame = item_frame(data, items, min_rows=1)
    if response_range is not None:
        low, high = (float(v) for v in response_range)
        if not low < high:
            raise ValueError(f"response range must have low < high; got {low:g} and {high:g}")
        observed = frame.to_numpy()
        observed = observed[~np.isnan(observed)]
        if observed.size and (observed.min() < low or observed.max() > high):
            raise ValueError(
                f"values outside the response range {low:g}..{high:g} "
                f"(observed {observed.min():g}..{observed.max():g})"
            )
    rows = []
    for item in frame.columns:
        x = frame[item].to_numpy()
        x = x[~np.isnan(x)]
        n = x.size
        if response_range is not None:
            lo, hi = low, high
        else:
            lo, hi = (x.min(), x.max()) if n else (np.nan, np.nan)
        rows.append(
            {
                "n": n,
                "missing_pct": 100.0 * (len(frame) - n) / len(frame),
                "mean": x.mean() if n else np.nan,
                "sd": x.std(ddof=1) if n > 1 else np.nan,
                "median": float(np.median(x)) if n else np.nan,
                "min": x.min() if n else np.nan,
                "max": x.max() if n else np.nan,
                "skew": skewness(x, skew_type),
                "kurtosis": kurtosis(x, skew_type),
                "floor_pct": 100.0 * np.sum(x == lo) / n if n else np.nan,
                "ceiling_pct": 100.0 * np.sum(x == hi) / n if n else np.nan,
            }
        )
    table = pd.DataFrame(rows, index=pd.Index(frame.columns, name="item"))
    return ItemStatistics(
        table=table,
        distribution=_distribution(frame, response_range),
        response_range=None if response_range is None else (low, high),
        range_source="observed" if response_range is None else "given",
        skew_type=skew_type,
        n_rows=len(frame),
    )


def _distribution(
    frame: pd.DataFrame, response_range: tuple[float, float] | None
) -> pd.DataFrame | None:
    values = frame.to_numpy()
    observed = np.unique(values[~np.isnan(values)])
    if response_range is not None and np.all(observed == np.round(observed)):
        low, high = response_range
        if float(low).is_integer() and float(high).is_integer() and high - low < 100:
            observed = np.union1d(observed, np.arange(low, high + 1))
    if observed.size > MAX_DISTRIBUTION_VALUES:
        return None
    counts = {item: [int(np.sum(frame[item].to_numpy() == v)) for v in observed] for item in frame}
    labels = [int(v) if float(v).is_integer() else float(v) for v in observed]
    out = pd.DataFrame.from_dict(counts, orient="index", columns=labels)
    out.index.name = "item"
    return out


def _check_type(type_: int) -> None:
    if type_ not in (1, 2, 3):
        raise ValueError(f"skew/kurtosis type must be 1, 2 or 3; got {type_!r}")


def _value_key(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))
