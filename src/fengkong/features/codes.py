"""Value codes for distinct counts: each distinct value of a column gets a small integer.

Distinct counts compare codes, not values: the scan marks ``seen[pair, code]``, the suffix
index keeps the last row of each code, the folded summary a bitmap of codes
(:mod:`fengkong.features.scan`, :mod:`fengkong.features.suffix`,
:mod:`fengkong.features.retention`). A series numbers the values of each column in order of
first appearance, 0, 1, 2...

The numbering was a Python dictionary per column, filled row by row; for a series read for
the first time with a dozen events that loop was half the cost of settling it. Here each
column has an open-addressing hash table in two NumPy arrays, filled by one compiled pass
over the new rows. The numbering is the dictionary's exactly: values compare as Python
floats do (``-0.0`` is ``0.0``), and a NaN — which never equals itself, and which no
distinct count reads (value aggregations skip missing values) — gets a fresh code each
time, as a dictionary keyed by NaN objects gave it.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_EMPTY = 0  # a free slot of the table (slots hold codes plus one)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads the float's bits


class ValueCodes:
    """The codes of the coded columns of one series (see the module docstring).

    ``columns`` are the value columns that distinct counts read. Each has a table of
    ``capacity`` slots (a power of two): ``keys`` holds the values, ``slots`` their codes
    plus one (0: a free slot); ``counts[j]`` codes are given. ``most`` is the largest count,
    which also bounds how full a table is (NaN codes take no slot): tables are kept at most
    half ``most`` full.
    """

    __slots__ = ("columns", "counts", "keys", "most", "slots")

    def __init__(self, columns: np.ndarray, expected: int) -> None:
        self.columns = columns
        capacity = _capacity_for(expected)
        self.keys = np.zeros((len(columns), capacity), dtype=np.float64)
        self.slots = np.zeros((len(columns), capacity), dtype=np.int32)
        self.counts = np.zeros(len(columns), dtype=np.int64)
        self.most = 0

    def reserve(self, rows: int) -> None:
        """Make room for ``rows`` more values in every column (before :func:`assign_codes`)."""
        needed = self.most + rows
        if 2 * needed > self.keys.shape[1]:
            self.keys, self.slots = _rehash(self.keys, self.slots, _capacity_for(needed))

    def assign(self, values: np.ndarray, out: np.ndarray) -> None:
        """Write the codes of ``values`` (rows of every value column) into the coded columns
        of ``out`` (int32, same shape), numbering new values as they come."""
        self.reserve(len(values))
        self.most = assign_codes(np.ascontiguousarray(values), self.columns, self.keys,
                                 self.slots, self.counts, out)


def _capacity_for(entries: int) -> int:
    """The power of two that holds ``entries`` at most half full (at least 8 slots)."""
    capacity = 8
    while capacity < 2 * entries:
        capacity *= 2
    return capacity


@njit(cache=True, nogil=True, inline="always")
def _home(value: float, bits: int, shift: int) -> np.int64:  # pragma: no cover - compiled
    """The first slot to probe for ``value`` (whose float64 ``bits`` are given): the top
    bits of the product, which depend on every bit of the value (a whole number's float
    has its low bits all zero). ``-0.0`` hashes as ``0.0``, as it compares."""
    if value == 0.0:
        bits = 0
    return np.int64((np.uint64(bits) * _GOLDEN) >> np.uint64(shift))


@njit(cache=True, nogil=True, inline="always")
def _shift(capacity: int) -> int:  # pragma: no cover - compiled
    """64 minus the bits of a slot number, for a power-of-two ``capacity``."""
    shift = 64
    while capacity > 1:
        capacity >>= 1
        shift -= 1
    return shift


@njit(cache=True, nogil=True)
def assign_codes(values: np.ndarray, columns: np.ndarray, keys: np.ndarray, slots: np.ndarray,
                 counts: np.ndarray, out: np.ndarray) -> int:  # pragma: no cover - compiled
    """Code each row's coded columns in row order (linear probing; the table must have room
    for every row without passing half full); the largest count of codes after."""
    mask = keys.shape[1] - 1
    shift = _shift(keys.shape[1])
    bits = values.view(np.int64)
    for row in range(values.shape[0]):
        for table in range(columns.shape[0]):
            column = columns[table]
            value = values[row, column]
            if np.isnan(value):
                out[row, column] = counts[table]
                counts[table] += 1
                continue
            slot = _home(value, bits[row, column], shift)
            while slots[table, slot] != _EMPTY and keys[table, slot] != value:
                slot = (slot + 1) & mask
            if slots[table, slot] == _EMPTY:
                keys[table, slot] = value
                counts[table] += 1
                slots[table, slot] = counts[table]  # the code plus one
            out[row, column] = slots[table, slot] - 1
    most = 0
    for table in range(columns.shape[0]):
        most = max(most, counts[table])
    return most


@njit(cache=True, nogil=True)
def _rehash(keys: np.ndarray, slots: np.ndarray, capacity: int
            ) -> tuple[np.ndarray, np.ndarray]:  # pragma: no cover - compiled
    """The tables moved into ``capacity`` slots each (codes unchanged)."""
    wider_keys = np.zeros((keys.shape[0], capacity), dtype=np.float64)
    wider_slots = np.zeros((keys.shape[0], capacity), dtype=np.int32)
    mask = capacity - 1
    shift = _shift(capacity)
    bits = keys.view(np.int64)
    for table in range(keys.shape[0]):
        for old in range(keys.shape[1]):
            if slots[table, old] == _EMPTY:
                continue
            value = keys[table, old]
            slot = _home(value, bits[table, old], shift)
            while wider_slots[table, slot] != _EMPTY:
                slot = (slot + 1) & mask
            wider_keys[table, slot] = value
            wider_slots[table, slot] = slots[table, old]
    return wider_keys, wider_slots


__all__ = ["ValueCodes", "assign_codes"]
