"""The suffix index: min, max, last, distinct and time aggregations in O(log n) per feature.

An online query is almost always made "now", after every event of the series: its windows
are then suffixes of the series (from some start row to the end), one per window length.
For suffixes, each aggregation that prefix sums cannot give has a small structure kept up
to date as events are appended, per (value column, filter) *pair*:

- **max / min**: a monotonic stack of rows, each holding a value larger (smaller) than every
  later one. The maximum of the suffix starting at row ``s`` is the value of the first stack
  row at or after ``s`` (a binary search). Appending pops the rows the new value beats.
- **last / time since last**: the newest qualifying row; the suffix has one iff it is
  at or after ``s``.
- **distinct count** (exact): the row of the last occurrence of each distinct value, and
  those rows in sorted order. The suffix from ``s`` holds exactly the values whose last
  occurrence is at or after ``s``: a binary search counts them. Appending a value moves its
  last occurrence to the end.
- **first-seen age**: the rows passing each filter, in order; the oldest in the suffix is
  found by binary search.

Appending costs O(1) amortised per pair (plus, for distinct counts, moving one entry);
a query costs one binary search per feature instead of a pass over the events. A late
event (older than the newest) rebuilds the index of its series. Queries as of a time
before the newest event are not suffixes; they use the backward scan
(:mod:`fengkong.features.scan`).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fengkong.features.scan import DISTINCT, FIRST_SEEN_AGE, LAST, MAX, MIN, TIME_SINCE_LAST


class SuffixIndex:
    """The index of one series, for the pairs of its layout (see the module docstring).

    ``stack_of[p]`` is pair ``p``'s row in the min/max stacks (-1 when it has no min/max
    feature), ``distinct_of[p]`` its row in the distinct-count arrays.
    """

    __slots__ = ("distinct_last", "distinct_rows", "distinct_size", "filter_rows",
                 "filter_size", "max_size", "max_stack", "min_size", "min_stack", "newest")

    def __init__(self, pairs: int, stacks: int, distincts: int, filters: int,
                 capacity: int, code_capacity: int) -> None:
        self.newest = np.full(pairs, -1, dtype=np.int64)
        self.max_stack = np.empty((stacks, capacity), dtype=np.int32)
        self.min_stack = np.empty((stacks, capacity), dtype=np.int32)
        self.max_size = np.zeros(stacks, dtype=np.int64)
        self.min_size = np.zeros(stacks, dtype=np.int64)
        # Last occurrence row of each value code (-1: not seen), and those rows sorted.
        self.distinct_last = np.full((distincts, code_capacity), -1, dtype=np.int32)
        self.distinct_rows = np.empty((distincts, capacity), dtype=np.int32)
        self.distinct_size = np.zeros(distincts, dtype=np.int64)
        self.filter_rows = np.empty((filters, capacity), dtype=np.int32)
        self.filter_size = np.zeros(filters, dtype=np.int64)

    def grow(self, capacity: int) -> None:
        """Make room for ``capacity`` rows."""
        for name in ("max_stack", "min_stack", "distinct_rows", "filter_rows"):
            setattr(self, name, _widen(getattr(self, name), capacity))

    def grow_codes(self, capacity: int) -> None:
        """Make room for ``capacity`` value codes per column."""
        self.distinct_last = _widen(self.distinct_last, capacity)

    def clear(self) -> None:
        """Forget every row (before rebuilding from the first)."""
        self.newest[:] = -1
        self.max_size[:] = 0
        self.min_size[:] = 0
        self.distinct_last[:] = -1
        self.distinct_size[:] = 0
        self.filter_size[:] = 0


def _widen(array: np.ndarray, capacity: int) -> np.ndarray:
    wider = np.full((array.shape[0], capacity), -1, dtype=array.dtype)
    wider[:, :array.shape[1]] = array
    return wider


@njit(cache=True, nogil=True)
def extend_index(values: np.ndarray, codes: np.ndarray, passes: np.ndarray, start: int,
                 stop: int, pair_column: np.ndarray, pair_filter: np.ndarray,
                 stack_of: np.ndarray, distinct_of: np.ndarray,
                 newest: np.ndarray, max_stack: np.ndarray, max_size: np.ndarray,
                 min_stack: np.ndarray, min_size: np.ndarray, distinct_last: np.ndarray,
                 distinct_rows: np.ndarray, distinct_size: np.ndarray,
                 filter_rows: np.ndarray, filter_size: np.ndarray, folded_codes: np.ndarray,
                 folded_only: np.ndarray) -> None:  # pragma: no cover - compiled
    """Append rows ``start .. stop - 1`` (the newest of the series) to the index.

    ``folded_only[slot]`` counts the folded value codes (:mod:`fengkong.features.retention`)
    no indexed row has: a code seen again leaves it."""
    for row in range(start, stop):
        for filter_index in range(passes.shape[1]):
            if passes[row, filter_index]:
                filter_rows[filter_index, filter_size[filter_index]] = row
                filter_size[filter_index] += 1
        for pair in range(pair_column.shape[0]):
            if not passes[row, pair_filter[pair]]:
                continue
            column = pair_column[pair]
            if column < 0:
                newest[pair] = row
                continue
            value = values[row, column]
            if np.isnan(value):
                continue  # value aggregations skip events without the value
            newest[pair] = row
            stack = stack_of[pair]
            if stack >= 0:
                size = max_size[stack]
                while size and values[max_stack[stack, size - 1], column] <= value:
                    size -= 1
                max_stack[stack, size] = row
                max_size[stack] = size + 1
                size = min_size[stack]
                while size and values[min_stack[stack, size - 1], column] >= value:
                    size -= 1
                min_stack[stack, size] = row
                min_size[stack] = size + 1
            slot = distinct_of[pair]
            if slot >= 0:
                code = codes[row, column]
                previous = distinct_last[slot, code]
                size = distinct_size[slot]
                if previous < 0:
                    if code < folded_codes.shape[1] and folded_codes[slot, code]:
                        folded_only[slot] -= 1
                else:
                    # Drop the previous last occurrence from the sorted rows.
                    position = np.searchsorted(distinct_rows[slot, :size], previous)
                    distinct_rows[slot, position:size - 1] = \
                        distinct_rows[slot, position + 1:size]
                    size -= 1
                distinct_rows[slot, size] = row
                distinct_size[slot] = size + 1
                distinct_last[slot, code] = row


@njit(cache=True, nogil=True)
def read_index(times: np.ndarray, values: np.ndarray, starts: np.ndarray, as_of: int,
               pair_column: np.ndarray, pair_filter: np.ndarray, stack_of: np.ndarray,
               distinct_of: np.ndarray, feature_slot: np.ndarray, feature_kind: np.ndarray,
               feature_window: np.ndarray, feature_pair: np.ndarray,
               newest: np.ndarray, max_stack: np.ndarray, max_size: np.ndarray,
               min_stack: np.ndarray, min_size: np.ndarray, distinct_rows: np.ndarray,
               distinct_size: np.ndarray, filter_rows: np.ndarray, filter_size: np.ndarray,
               window_lifetime: np.ndarray, folded_only: np.ndarray,
               out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Each feature over the suffix starting at ``starts[feature_window]``. Lifetime
    distinct counts add the folded values no row has; the other lifetime aggregations are
    combined with the folded events afterwards (``retention.merge_lifetime``)."""
    for feature in range(feature_slot.shape[0]):
        start = starts[feature_window[feature]]
        pair = feature_pair[feature]
        kind = feature_kind[feature]
        slot = feature_slot[feature]
        if kind == DISTINCT:
            index = distinct_of[pair]
            size = distinct_size[index]
            out[slot] = size - np.searchsorted(distinct_rows[index, :size], start)
            if window_lifetime[feature_window[feature]]:
                out[slot] += folded_only[index]
            continue
        row = newest[pair]
        if row < start:  # no qualifying event in the window (or none at all: -1)
            out[slot] = np.nan
        elif kind == LAST:
            out[slot] = values[row, pair_column[pair]]
        elif kind == TIME_SINCE_LAST:
            out[slot] = (as_of - times[row]) / 1000.0
        elif kind == FIRST_SEEN_AGE:
            index = pair_filter[pair]
            rows = filter_rows[index, :filter_size[index]]
            out[slot] = (as_of - times[rows[np.searchsorted(rows, start)]]) / 1000.0
        else:
            stack = stack_of[pair]
            if kind == MAX:
                rows = max_stack[stack, :max_size[stack]]
            else:
                assert kind == MIN
                rows = min_stack[stack, :min_size[stack]]
            out[slot] = values[rows[np.searchsorted(rows, start)], pair_column[pair]]
