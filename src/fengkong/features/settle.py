"""Appending events in time order to a series: rows, value codes and prefix sums in one pass.

Online, events almost always arrive in time order: a decided application, a login, a
repayment is newer than everything its series holds. Settling them is then an append —
copy the rows after the last one, code their values (:mod:`fengkong.features.codes`),
extend the prefix sums from the last row (:func:`fengkong.features.sums.extend_prefix`).
Done from Python that was a dozen NumPy calls per series, each costing more than its
arithmetic on the one to forty rows a query finds waiting; here it is one compiled call.

The arithmetic is the general path's, row for row: the same prefix rows are added in the
same order and the codes numbered the same, so a series settled here is identical to one
settled by the merge (``tests/features/test_settle.py`` checks it). Events out of order, or
older than the series' newest, are not appended: the call says so and the caller merges.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fengkong.features.codes import assign_codes
from fengkong.features.sums import extend_prefix

_OLDEST = np.iinfo(np.int64).min


@njit(cache=True, nogil=True)
def in_order(times: np.ndarray, size: int,
             new_times: np.ndarray) -> bool:  # pragma: no cover - compiled
    """Whether ``new_times`` are in time order and none is older than the newest of the
    ``size`` rows kept (equal times append: they keep arrival order either way)."""
    previous = times[size - 1] if size else _OLDEST
    for row in range(new_times.shape[0]):
        if new_times[row] < previous:
            return False
        previous = new_times[row]
    return True


@njit(cache=True, nogil=True)
def append_rows(times: np.ndarray, values: np.ndarray, codes: np.ndarray, passes: np.ndarray,
                prefix: np.ndarray, size: int, new_times: np.ndarray, new_values: np.ndarray,
                new_passes: np.ndarray, coded: np.ndarray, code_keys: np.ndarray,
                code_slots: np.ndarray, code_counts: np.ndarray, value_of: np.ndarray,
                filter_of: np.ndarray, power_of: np.ndarray) -> int:  # pragma: no cover
    """Write the new rows at ``size ..`` (the arrays have room, the rows are in order and
    not older than row ``size - 1``), code them and extend the prefix sums over them.
    ``coded`` empty: no column is coded (the code tables are not read). Returns the
    largest count of codes of a column (0 without coded columns)."""
    count = new_times.shape[0]
    stop = size + count
    times[size:stop] = new_times
    values[size:stop] = new_values
    passes[size:stop] = new_passes
    codes[size:stop] = 0
    most = 0
    if coded.shape[0]:
        most = assign_codes(new_values, coded, code_keys, code_slots, code_counts,
                            codes[size:stop])
    extend_prefix(prefix, values, passes, size, stop, value_of, filter_of, power_of)
    return most


__all__ = ["append_rows", "in_order"]
