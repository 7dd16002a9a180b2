"""Input checks shared by the analysis modules.

Every public function in :mod:`psychometrics` takes a :class:`pandas.DataFrame` of item responses
(rows are respondents, columns are items). These helpers turn what the caller passed into a float
frame, or raise :class:`ValueError` with a message that names the problem in plain words.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

MISSING_OPTIONS = ("listwise", "pairwise")


def item_frame(
    data: pd.DataFrame,
    items: Sequence[str] | None = None,
    *,
    min_items: int = 1,
    min_rows: int = 2,
) -> pd.DataFrame:
    """Return the selected item columns of ``data`` as a float64 frame.

    Parameters
    ----------
    data : pandas.DataFrame
        Responses, one row per respondent and one column per item.
    items : sequence of str, optional
        Columns to keep, in this order. All columns when omitted.
    min_items, min_rows : int
        Smallest acceptable number of columns and of rows with at least one response.

    Raises
    ------
    ValueError
        If ``data`` is not a DataFrame, names are missing or repeated, a column is not numeric,
        holds an infinite value, or there are too few items or rows.

    Examples
    --------
    >>> import pandas as pd
    >>> item_frame(pd.DataFrame({"a": [1, 2], "b": [2, 3]})).dtypes.tolist()
    [dtype('float64'), dtype('float64')]
    """
    if not isinstance(data, pd.DataFrame):
        raise ValueError(f"data must be a pandas DataFrame, got {type(data).__name__}")
    if items is None:
        items = list(data.columns)
    else:
        items = list(items)
        absent = [str(c) for c in items if c not in data.columns]
        if absent:
            raise ValueError(f"columns not in the data: {', '.join(absent)}")
    if len(set(items)) != len(items):
        repeated = sorted({str(c) for c in items if items.count(c) > 1})
        raise ValueError(f"columns named more than once: {', '.join(repeated)}")
    if len(items) < min_items:
        raise ValueError(f"need at least {min_items} items, got {len(items)}")
    frame = data.loc[:, items]
    for column in frame.columns:
        series = frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            raise ValueError(f"column {column!r} is not numeric")
    values = frame.to_numpy(dtype=float, na_value=np.nan)
    if np.isinf(values).any():
        bad = [
            str(c) for c, col in zip(frame.columns, values.T, strict=True) if np.isinf(col).any()
        ]
        raise ValueError(f"infinite values in column(s): {', '.join(bad)}")
    out = pd.DataFrame(values, index=frame.index, columns=frame.columns)
    answered = int(out.notna().any(axis=1).sum())
    if answered < min_rows:
        raise ValueError(f"need at least {min_rows} rows with responses, got {answered}")
    return out


def check_missing(missing: str, allowed: Iterable[str] = MISSING_OPTIONS) -> str:
    """Return ``missing`` if it is one of ``allowed``, else raise ValueError.

    Examples
    --------
    >>> check_missing("pairwise")
    'pairwise'
    """
    allowed = tuple(allowed)
    if missing not in allowed:
        raise ValueError(f"missing must be one of {', '.join(allowed)}; got {missing!r}")
    return missing


def complete_cases(frame: pd.DataFrame, *, min_rows: int = 2) -> pd.DataFrame:
    """Rows of ``frame`` without any missing value (listwise deletion)."""
    complete = frame.dropna(axis=0, how="any")
    if len(complete) < min_rows:
        raise ValueError(
            f"need at least {min_rows} complete rows after listwise deletion, got {len(complete)}"
        )
    return complete


def covariance_matrix(frame: pd.DataFrame, missing: str, *, ddof: int = 1) -> pd.DataFrame:
    """Item covariance matrix with listwise or pairwise deletion (R's ``cov(use=...)``).

    Pairwise: each entry uses the rows where both items were answered, with the means of those
    rows, as R's ``use = "pairwise.complete.obs"`` does.
    """
    check_missing(missing)
    if missing == "listwise":
        frame = complete_cases(frame)
    cov = frame.cov(min_periods=2, ddof=ddof)
    _check_defined(cov, "covariance")
    return cov


def correlation_matrix(frame: pd.DataFrame, missing: str) -> pd.DataFrame:
    """Pearson correlation matrix with listwise or pairwise deletion."""
    check_missing(missing)
    if missing == "listwise":
        frame = complete_cases(frame)
    corr = frame.corr(min_periods=2)
    _check_defined(corr, "correlation")
    return corr


def _check_defined(matrix: pd.DataFrame, what: str) -> None:
    values = matrix.to_numpy()
    if np.isnan(values).any():
        rows, cols = np.nonzero(np.isnan(values))
        i, j = rows[0], cols[0]
        a, b = matrix.index[i], matrix.columns[j]
        if i == j:
            raise ValueError(f"item {a!r} has no variance (or too few responses)")
        raise ValueError(f"{what} of {a!r} and {b!r} is undefined (too few rows answer both)")
    diag = np.diag(values)
    if (diag <= 0).any():
        bad = matrix.index[int(np.argmax(diag <= 0))]
        raise ValueError(f"item {bad!r} has no variance")
