"""The compiled scan: min, max, last, distinct, time since last and first-seen age.

These aggregations cannot be read off prefix sums. They are computed in one backward pass
over the longest window of a series (newest event first): a running minimum, maximum, last
(newest) and first (oldest) qualifying row and a distinct count are kept per (value column,
filter) pair, and each feature is emitted as the pass crosses the start of its window —
every window ends at the same instant, so each is a suffix of the longest. Cost: one visit
per (event, pair), whatever the number of windows. Compiled with numba (cached on disk);
distinct counts read integer codes assigned to values when events are ingested.
"""

from __future__ import annotations

import numpy as np
from numba import njit

MIN, MAX, LAST, DISTINCT, TIME_SINCE_LAST, FIRST_SEEN_AGE = range(6)
KIND_CODES = {"min": MIN, "max": MAX, "last": LAST, "distinct": DISTINCT,
              "time_since_last": TIME_SINCE_LAST, "first_seen_age": FIRST_SEEN_AGE}


@njit(cache=True, nogil=True)
def scan(times: np.ndarray, values: np.ndarray, codes: np.ndarray, passes: np.ndarray,
         pair_column: np.ndarray, pair_filter: np.ndarray, pair_needs: np.ndarray,
         code_count: int,
         feature_begin: np.ndarray, feature_kind: np.ndarray, feature_pair: np.ndarray,
         feature_slot: np.ndarray, feature_lifetime: np.ndarray, distinct_of: np.ndarray,
         folded_codes: np.ndarray, as_of: int, out: np.ndarray) -> None:  # pragma: no cover
    """Fill ``out[feature_slot]``; features must be ordered by ``feature_begin`` descending.

    ``pair_column[p]`` is -1 for pairs that only need the filter (time aggregations);
    ``pair_needs[p]`` says what else to track: 1 minimum and maximum, 2 distinct values.
    Lifetime distinct counts add the folded values (``folded_codes``, by ``distinct_of``)
    the pass did not meet; other lifetime aggregations are combined with the folded events
    afterwards (``retention.merge_lifetime``).
    """
    rows = times.shape[0]
    pairs = pair_column.shape[0]
    minimum = np.full(pairs, np.inf)
    maximum = np.full(pairs, -np.inf)
    newest = np.full(pairs, -1)
    oldest = np.full(pairs, -1)
    distinct = np.zeros(pairs)
    tracks_distinct = False
    for pair in range(pairs):
        if pair_needs[pair] & 2:
            tracks_distinct = True
    seen = np.zeros((pairs if tracks_distinct else 1, max(code_count, 1)), dtype=np.bool_)
    feature = 0
    features = feature_begin.shape[0]
    for row in range(rows - 1, -2, -1):
        # Emit the features whose window starts after this row: their suffix is complete.
        while feature < features and feature_begin[feature] > row:
            pair = feature_pair[feature]
            kind = feature_kind[feature]
            slot = feature_slot[feature]
            if kind == DISTINCT:
                out[slot] = distinct[pair]
                if feature_lifetime[feature]:
                    folded = folded_codes[distinct_of[pair]]
                    for code in range(folded.shape[0]):
                        if folded[code] and not (code < seen.shape[1] and seen[pair, code]):
                            out[slot] += 1
            elif newest[pair] < 0:
                out[slot] = np.nan
            elif kind == MIN:
                out[slot] = minimum[pair]
            elif kind == MAX:
                out[slot] = maximum[pair]
            elif kind == LAST:
                out[slot] = values[newest[pair], pair_column[pair]]
            elif kind == TIME_SINCE_LAST:
                out[slot] = (as_of - times[newest[pair]]) / 1000.0
            else:
                out[slot] = (as_of - times[oldest[pair]]) / 1000.0
            feature += 1
        if row < 0 or feature == features:
            break
        for pair in range(pairs):
            if not passes[row, pair_filter[pair]]:
                continue
            column = pair_column[pair]
            if column >= 0:
                value = values[row, column]
                if np.isnan(value):
                    continue  # value aggregations skip events without the value
                needs = pair_needs[pair]
                if needs & 1:
                    if value < minimum[pair]:
                        minimum[pair] = value
                    if value > maximum[pair]:
                        maximum[pair] = value
                if needs & 2:
                    code = codes[row, column]
                    if not seen[pair, code]:
                        seen[pair, code] = True
                        distinct[pair] += 1
            if newest[pair] < 0:
                newest[pair] = row
            oldest[pair] = row
