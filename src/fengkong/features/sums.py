"""Compiled prefix-sum kernels: extending a series' prefix rows, reading additive features.

Both are plain loops over a few hundred columns or features, where NumPy's per-call overhead
(a microsecond or so per operation, a dozen operations per series) would cost more than the
arithmetic. Compiled with numba, cached on disk.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def extend_prefix(prefix: np.ndarray, values: np.ndarray, passes: np.ndarray, start: int,
                  stop: int, value_of: np.ndarray, filter_of: np.ndarray,
                  power_of: np.ndarray) -> None:  # pragma: no cover - compiled
    """Recompute prefix rows ``start + 1 .. stop`` from the events ``start .. stop - 1``.

    Column ``c`` adds, for each event passing filter ``filter_of[c]``: 1 (a count, when
    ``value_of[c]`` is -1), else the value ``** power_of[c]``, skipping missing values.
    """
    columns = prefix.shape[1]
    for row in range(start, stop):
        for column in range(columns):
            term = 0.0
            if passes[row, filter_of[column]]:
                source = value_of[column]
                if source < 0:
                    term = 1.0
                else:
                    value = values[row, source]
                    if not np.isnan(value):
                        power = power_of[column]
                        term = 1.0 if power == 0.0 else (value if power == 1.0 else value * value)
            prefix[row + 1, column] = prefix[row, column] + term


@njit(cache=True, nogil=True, inline="always")
def _at(prefix: np.ndarray, row: int, column: int) -> float:  # pragma: no cover - compiled
    return prefix[row, column] if row >= 0 else 0.0


@njit(cache=True, nogil=True)
def read_additive(prefix: np.ndarray, starts: np.ndarray, lifetime: np.ndarray, end: int,
                  window_of: np.ndarray,
                  value_column: np.ndarray, count_column: np.ndarray,
                  square_column: np.ndarray, kind: np.ndarray, slots: np.ndarray,
                  out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Count (0), sum (1), mean (2) and std (3, population) of each feature's window, from
    the difference of two prefix rows. Lifetime windows read from zero rather than from
    the first prefix row, so that the folded events it totals count
    (:mod:`fengkong.features.retention`).
    """
    for feature in range(slots.shape[0]):
        window = window_of[feature]
        start = -1 if lifetime[window] else starts[window]
        value = prefix[end, value_column[feature]] - _at(prefix, start, value_column[feature])
        code = kind[feature]
        if code <= 1:
            out[slots[feature]] = value
            continue
        count = prefix[end, count_column[feature]] - _at(prefix, start, count_column[feature])
        if count == 0:
            out[slots[feature]] = np.nan
            continue
        mean = value / count
        if code == 2:
            out[slots[feature]] = mean
        else:
            squares = (prefix[end, square_column[feature]] -
                       _at(prefix, start, square_column[feature])) / count
            out[slots[feature]] = np.sqrt(max(squares - mean * mean, 0.0))


ADDITIVE_CODES = {"count": 0, "sum": 1, "mean": 2, "std": 3}
