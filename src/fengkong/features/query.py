"""Reading one group's features from one series: the whole query in one compiled call.

A group (the features of one key and event type) is read from its series in four steps:
the window bounds (one binary search per window), the additive features from the prefix
sums (:func:`fengkong.features.sums.read_additive`), the others from the suffix index or
the backward scan (:func:`fengkong.features.suffix.read_index`,
:func:`fengkong.features.scan.scan`), and the lifetime ones combined with the folded
events (:func:`fengkong.features.retention.merge_lifetime`). Each step was a NumPy or
compiled call from Python, and the scan's features were sorted per query; on the short
series an online query meets, the calls and the sorting cost several times the arithmetic
— about 20 µs a group. This kernel runs the same four functions in one call, so the
values are theirs, bit for bit.

The scan wants its features by window start, latest first. Every window ends at the query
time, so a shorter window never starts earlier: the plan orders a group's scanned features
by window length once (``_Group.freeze_scans``), and that order holds for every query.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from fengkong.features.retention import merge_lifetime
from fengkong.features.scan import scan
from fengkong.features.suffix import read_index
from fengkong.features.sums import read_additive


@njit(cache=True, nogil=True)
def read_group(kept: np.ndarray, values: np.ndarray, codes: np.ndarray,
               passes: np.ndarray, prefix: np.ndarray, code_count: int, as_of: int,
               windows: np.ndarray, window_lifetime: np.ndarray, additive: np.ndarray,
               scanned: np.ndarray, pairs: np.ndarray, indexed: bool, newest: np.ndarray, max_stack: np.ndarray,
               max_size: np.ndarray, min_stack: np.ndarray, min_size: np.ndarray,
               distinct_rows: np.ndarray, distinct_size: np.ndarray,
               filter_rows: np.ndarray, filter_size: np.ndarray,
               folded: bool, folded_only: np.ndarray, folded_codes: np.ndarray,
               minimum: np.ndarray, maximum: np.ndarray, has_newest: np.ndarray,
               newest_time: np.ndarray, newest_value: np.ndarray, has_first: np.ndarray,
               first: np.ndarray, out: np.ndarray) -> None:  # pragma: no cover - compiled
    """Every feature of a group as of ``as_of``, into ``out`` (see the module docstring).

    The series: the times of its rows (``kept``), their values, codes, filter verdicts and
    prefix sums (arrays that may be longer than the rows), the most codes a column of it
    has, its suffix index when ``indexed`` and its folded summary when ``folded`` (else
    empty stand-ins). The group: its window lengths, its additive features (rows: slot,
    kind, window, value, count and square columns) and its scanned ones (rows: slot, kind,
    window, pair; ordered by window length), and its layout's pairs (rows: column, filter,
    needs, stack, distinct). Packed as rows because each argument costs the call from
    Python about 50 ns to unbox, and a query makes one call per group.
    """
    add_slot, add_kind, add_window = additive[0], additive[1], additive[2]
    add_value, add_count, add_square = additive[3], additive[4], additive[5]
    scan_slot, scan_kind, scan_window, scan_pair = scanned[0], scanned[1], scanned[2], scanned[3]
    pair_column, pair_filter, pair_needs = pairs[0], pairs[1], pairs[2]
    stack_of, distinct_of = pairs[3], pairs[4]
    size = kept.shape[0]
    end = int(np.searchsorted(kept, as_of, side="left"))
    starts = np.searchsorted(kept[:end], as_of - windows, side="left")
    if add_slot.shape[0]:
        read_additive(prefix, starts, window_lifetime, end, add_window, add_value, add_count,
                      add_square, add_kind, add_slot, out)
    if scan_slot.shape[0] == 0:
        return
    lifetime = window_lifetime[scan_window]
    if indexed and end == size:
        # As of after every event (the online case): the windows are suffixes.
        read_index(kept, values, starts, as_of, pair_column, pair_filter, stack_of,
                   distinct_of, scan_slot, scan_kind, scan_window, scan_pair, newest,
                   max_stack, max_size, min_stack, min_size, distinct_rows, distinct_size,
                   filter_rows, filter_size, window_lifetime, folded_only, out)
    else:
        start = starts.min()
        scan(kept[start:end], values[start:end], codes[start:end], passes[start:end],
             pair_column, pair_filter, pair_needs, code_count, starts[scan_window] - start,
             scan_kind, scan_pair, scan_slot, lifetime, distinct_of, folded_codes, as_of, out)
    if folded:
        merge_lifetime(as_of, scan_slot, scan_kind, scan_pair, lifetime, pair_filter, minimum,
                       maximum, has_newest, newest_time, newest_value, has_first, first, out)


__all__ = ["read_group"]
