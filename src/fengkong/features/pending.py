"""Events waiting to be settled into a series: one growing buffer per series.

Events reach a series far more often than it is read: online, one row per ingested event
(a login, a decided application), and a key value is first read after dozens of them. Kept
as one small array per ingest, the first read glued them all together — three
``np.concatenate`` calls over dozens of one-row arrays, about half the cost of settling the
series. Here they are copied, as they come, into three arrays that double when full, and
a read takes the rows as they are.

The first batch is adopted, not copied (most series get one batch and are never read); a
second one moves them into arrays of the buffer's own, which it writes from then on. After
the series has settled them, :meth:`PendingEvents.clear` keeps those arrays for the next
events, so a series read again and again stops allocating. (Handing them to the series on
its first read saved little online and cost much on wide layouts: the series' other
arrays, prefix sums of hundreds of columns, would have had the buffer's spare rows too.)
"""

from __future__ import annotations

import numpy as np


class PendingEvents:
    """The rows added since the last settle: timestamps (int64), values (float64, one column
    per value field) and filter verdicts (bool, one column per filter), in arrival order."""

    __slots__ = ("_owned", "passes", "size", "times", "values")

    def __init__(self, times: np.ndarray, values: np.ndarray, passes: np.ndarray) -> None:
        """Start with these rows (adopted: the caller does not write them afterwards)."""
        self.times, self.values, self.passes = times, values, passes
        self.size = len(times)
        self._owned = False  # the arrays are the caller's: never written here

    def __len__(self) -> int:
        return self.size

    def add(self, times: np.ndarray, values: np.ndarray, passes: np.ndarray) -> None:
        """Append rows after those waiting."""
        size = self.size
        needed = size + len(times)
        if not self._owned or needed > len(self.times):
            self._reserve(needed)
        self.times[size:needed] = times
        self.values[size:needed] = values
        self.passes[size:needed] = passes
        self.size = needed

    def rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The waiting rows (views, valid until the next :meth:`add`)."""
        size = self.size
        if size == len(self.times):  # one batch, as it came (most series): no views to make
            return self.times, self.values, self.passes
        return self.times[:size], self.values[:size], self.passes[:size]

    def clear(self) -> None:
        """Forget the rows (settled); the buffer's own arrays are kept for the next ones."""
        self.size = 0

    def _reserve(self, needed: int) -> None:
        capacity = max(4, 2 * needed)
        size = self.size
        times = np.empty(capacity, dtype=np.int64)
        values = np.empty((capacity, self.values.shape[1]), dtype=np.float64)
        passes = np.empty((capacity, self.passes.shape[1]), dtype=bool)
        times[:size] = self.times[:size]
        values[:size] = self.values[:size]
        passes[:size] = self.passes[:size]
        self.times, self.values, self.passes = times, values, passes
        self._owned = True


__all__ = ["PendingEvents"]
