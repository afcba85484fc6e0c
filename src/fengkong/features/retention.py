"""Retention: a series forgets events older than its longest window, lifetime features do not.

A series keeps, row by row, only the events its finite windows can still reach: those at or
after ``newest - (longest finite window + late tolerance)``. Older events are *folded* into
a constant-size summary that lifetime features read together with the rows:

- count, sum, mean, std: their prefix sums carry over (the first prefix row holds the
  totals of the folded events, and lifetime windows read from zero);
- min, max: the folded minimum and maximum of each (value column, filter) pair;
- last, time since last: the newest folded event of each pair (its time and value);
- first-seen age: the oldest folded event passing each filter;
- distinct counts (exact): the set of folded value codes of each pair.

Memory is therefore bounded by the longest finite window (plus the distinct values seen,
which an exact lifetime distinct count must remember). Every answer stays exact for a query
as of ``newest - late tolerance`` or later: its finite windows start after every folded
event. Earlier queries are refused (the backfill answers those, from the event log).
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fengkong.features.scan import FIRST_SEEN_AGE, LAST, MAX, MIN, TIME_SINCE_LAST


class Baseline:
    """The folded events of one series (see the module docstring)."""

    __slots__ = ("codes", "cut", "first", "has_first", "has_newest", "maximum", "minimum",
                 "newest_time", "newest_value", "only")

    def __init__(self, pairs: int, distincts: int, filters: int, capacity: int) -> None:
        # Events before ``cut`` (epoch ms) are folded; no event is folded yet.
        self.cut = np.iinfo(np.int64).min
        self.minimum = np.full(pairs, np.inf)
        self.maximum = np.full(pairs, -np.inf)
        self.has_newest = np.zeros(pairs, dtype=np.bool_)
        self.newest_time = np.zeros(pairs, dtype=np.int64)
        self.newest_value = np.full(pairs, np.nan)
        self.has_first = np.zeros(filters, dtype=np.bool_)
        self.first = np.zeros(filters, dtype=np.int64)
        # Folded value codes per distinct-count pair, and how many of them no kept row has.
        self.codes = np.zeros((distincts, capacity), dtype=np.bool_)
        self.only = np.zeros(distincts, dtype=np.int64)

    def grow_codes(self, capacity: int) -> None:
        """Make room for ``capacity`` value codes per column."""
        codes = np.zeros((self.codes.shape[0], capacity), dtype=np.bool_)
        codes[:, :self.codes.shape[1]] = self.codes
        self.codes = codes


@njit(cache=True, nogil=True)
def fold(times: np.ndarray, values: np.ndarray, codes: np.ndarray, passes: np.ndarray,
         stop: int, pair_column: np.ndarray, pair_filter: np.ndarray,
         distinct_of: np.ndarray, minimum: np.ndarray, maximum: np.ndarray,
         has_newest: np.ndarray, newest_time: np.ndarray, newest_value: np.ndarray,
         has_first: np.ndarray, first: np.ndarray,
         folded_codes: np.ndarray) -> None:  # pragma: no cover - compiled
    """Fold rows ``0 .. stop - 1`` (the oldest kept, in time order) into the summary."""
    for row in range(stop):
        for filter_index in range(passes.shape[1]):
            if passes[row, filter_index] and not has_first[filter_index]:
                has_first[filter_index] = True
                first[filter_index] = times[row]
        for pair in range(pair_column.shape[0]):
            if not passes[row, pair_filter[pair]]:
                continue
            column = pair_column[pair]
            value = np.nan
            if column >= 0:
                value = values[row, column]
                if np.isnan(value):
                    continue
                minimum[pair] = min(minimum[pair], value)
                maximum[pair] = max(maximum[pair], value)
                slot = distinct_of[pair]
                if slot >= 0:
                    folded_codes[slot, codes[row, column]] = True
            has_newest[pair] = True
            newest_time[pair] = times[row]
            newest_value[pair] = value


@njit(cache=True, nogil=True)
def merge_lifetime(as_of: int, feature_slot: np.ndarray, feature_kind: np.ndarray,
                   feature_pair: np.ndarray, feature_lifetime: np.ndarray,
                   pair_filter: np.ndarray, minimum: np.ndarray, maximum: np.ndarray,
                   has_newest: np.ndarray, newest_time: np.ndarray,
                   newest_value: np.ndarray, has_first: np.ndarray, first: np.ndarray,
                   out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Combine lifetime min, max, last, time since last and first-seen age computed over
    the kept rows (already in ``out``) with the folded events. Distinct counts and the
    additive aggregations are combined where they are computed."""
    for feature in range(feature_slot.shape[0]):
        if not feature_lifetime[feature]:
            continue
        pair = feature_pair[feature]
        slot = feature_slot[feature]
        kind = feature_kind[feature]
        kept = out[slot]
        if kind == MIN:
            if has_newest[pair] and not kept <= minimum[pair]:  # NaN: no kept value
                out[slot] = minimum[pair]
        elif kind == MAX:
            if has_newest[pair] and not kept >= maximum[pair]:
                out[slot] = maximum[pair]
        elif kind == LAST:  # the kept rows are newer: the folded one only if none
            if np.isnan(kept) and has_newest[pair]:
                out[slot] = newest_value[pair]
        elif kind == TIME_SINCE_LAST:
            if np.isnan(kept) and has_newest[pair]:
                out[slot] = (as_of - newest_time[pair]) / 1000.0
        elif kind == FIRST_SEEN_AGE and has_first[pair_filter[pair]]:
            # a folded event is older than every kept one
            out[slot] = (as_of - first[pair_filter[pair]]) / 1000.0
