"""Online feature kernels: every windowed aggregate of an application in one vectorised pass.

State is kept per *series*: one entity key value (this phone number) and one event type
(applications). A series stores its events' timestamps in time order, the raw value of each
field the features read, one boolean column per filter, and — for the additive
aggregations — a prefix-sum matrix whose columns are ``count``, ``sum`` and ``sum of
squares`` of each (field, filter) pair.

A query "as of" time ``t`` (only events strictly before ``t`` count: no leakage) then costs,
per series, one ``searchsorted`` for all windows at once (every window ends at ``t``) and
one gather of two prefix rows per window: count, sum, mean and std of every field under
every filter fall out of ``P[hi] - P[lo]``. Min, max, last, distinct, time since last and
first-seen age come from one compiled backward pass over the longest window
(:mod:`fengkong.features.scan`). The results land in one
float64 vector in the order of the requested features (NaN where undefined: a mean over no
event), so a graph node can hand them on without a Python loop per feature.

This module holds the arithmetic; which features exist comes from
:mod:`fengkong.features.spec`, and where series live (memory, durable log, Redis) from the
state stores.

Values are float64: numbers as they are, booleans as 0/1, text (for distinct counts) as a
hash. ``last`` of a text field therefore has no float value and is refused when the plan is
made, not answered with a hash.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fengkong.errors import FengkongError
from fengkong.features.codes import ValueCodes
from fengkong.features.pending import PendingEvents
from fengkong.features.query import read_group
from fengkong.features.retention import Baseline, fold
from fengkong.features.scan import KIND_CODES
from fengkong.features.settle import append_rows, in_order
from fengkong.features.suffix import SuffixIndex, extend_index
from fengkong.features.sums import ADDITIVE_CODES, extend_prefix

_ADDITIVE = frozenset({"count", "sum", "mean", "std"})
_TIME = frozenset({"time_since_last", "first_seen_age"})


@dataclass
class _SeriesLayout:
    """Which columns a series of one event type keeps, decided by the features asked for."""

    event: str
    value_fields: tuple[str, ...]  # the fields whose values the features read
    filters: tuple[str | None, ...]  # filter sources (None: every event)
    # Prefix column index of (field, filter, power): power 0 = count, 1 = sum, 2 = sum of squares
    prefix: dict[tuple[str | None, str | None, int], int] = field(default_factory=dict)
    # The same, as arrays over prefix columns (built by freeze()): value column (-1: none),
    # filter column and power of each prefix column.
    value_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    filter_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.intp))
    power_of: np.ndarray = field(default_factory=lambda: np.zeros(0))
    # The (value column, filter) pairs of the scanned aggregations (set by the group's
    # freeze_scans): their columns (-1: time aggregations), filters, rows in the suffix
    # index's min/max stacks and distinct arrays (-1: none), and the value columns coded
    # for distinct counts.
    pairs: dict[tuple[int, int], int] = field(default_factory=dict)
    pair_column: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pair_filter: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    pair_needs: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    stack_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    distinct_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    coded: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    # The pairs' arrays as rows of one (column, filter, needs, stack, distinct), for the
    # query kernel: each argument of a compiled call costs it about 50 ns to unbox, and a
    # query makes one call per group. The number of min/max stacks and distinct arrays.
    pair_table: np.ndarray = field(default_factory=lambda: np.zeros((5, 0), dtype=np.int64))
    stacks: int = 0
    distincts: int = 0
    # Retention (fengkong.features.retention): the longest finite window, and how long
    # events are kept row by row (None: for ever).
    longest_ms: int = 0
    retention_ms: int | None = None
    # What a series that has folded nothing reads as its baseline (never written).
    empty_baseline: Baseline = field(default_factory=lambda: Baseline(0, 0, 0, 0))

    def freeze(self) -> None:
        values = {name: index for index, name in enumerate(self.value_fields)}
        filters = {source: index for index, source in enumerate(self.filters)}
        columns = sorted(self.prefix.items(), key=lambda item: item[1])
        self.value_of = np.array([values[f] if f is not None else -1
                                  for (f, _, _), _ in columns], dtype=np.intp)
        self.filter_of = np.array([filters[s] for (_, s, _), _ in columns], dtype=np.intp)
        self.power_of = np.array([power for (_, _, power), _ in columns], dtype=np.float64)


class Series:
    """The events of one key value and one event type, in time order, with prefix sums, a
    suffix index (:mod:`fengkong.features.suffix`) and the summary of the events it no
    longer keeps (:mod:`fengkong.features.retention`).

    Appending is cheap: new events wait in a buffer (:mod:`fengkong.features.pending`) and
    are *settled* (merged in time order,
    coded, summed, indexed, and the expired ones folded) when the series is next read. Most
    series are written far more often than read — every key of every event has one, but
    only an application's own keys are queried — so the work is done once per read, for
    many events at a time. Short series have no suffix index (a scan of a few rows costs
    less than building one) and a series has no summary until it first folds events.
    The readers (``times``, ``prefix``...) see the series as of the last :meth:`settle`.
    """

    __slots__ = ("_baseline", "_code_capacity", "_codes", "_filters", "_index", "_merged_from",
                 "_pending", "_prefix", "_ready", "_settled_before", "_size", "_times",
                 "_value_codes", "_values", "layout")

    def __init__(self, layout: _SeriesLayout, pending: PendingEvents | None = None) -> None:
        """``pending``: events to start with (the buffer is the series' own from now on)."""
        self.layout = layout
        self._size = 0
        self._pending = pending
        # Arrays are made when the series is first read: a series that is written but never
        # read (most of them) costs one small object.
        self._ready = False
        # A series is indexed from its second read on: most series an online query reads
        # are read once (an applicant's phone, device...), and for them the backward scan
        # costs less than building the index.
        self._settled_before = False
        self._index: SuffixIndex | None = None
        self._baseline: Baseline | None = None

    def _allocate(self, capacity: int) -> None:
        """The series' arrays, for ``capacity`` rows: exactly the events of a first read (a
        layout may have hundreds of prefix columns: spare rows are not free)."""
        layout = self.layout
        self._ready = True
        self._times = np.empty(capacity, dtype=np.int64)
        self._values = np.empty((capacity, len(layout.value_fields)), dtype=np.float64)
        self._filters = np.empty((capacity, len(layout.filters)), dtype=bool)
        # Distinct counts compare small integer codes, one per distinct value of a column.
        self._codes = np.zeros((capacity, len(layout.value_fields)), dtype=np.int32)
        self._value_codes = ValueCodes(layout.coded, capacity) if len(layout.coded) else None
        self._code_capacity = capacity
        self._prefix = np.zeros((capacity + 1, len(layout.prefix)), dtype=np.float64)

    def __len__(self) -> int:
        """Events kept row by row (folded events are not counted)."""
        pending = self._pending
        return self._size if pending is None else self._size + pending.size

    def add_many(self, timestamps: np.ndarray, values: np.ndarray, passes: np.ndarray) -> None:
        """Add events (``values``: one column per value field, ``passes``: one per filter);
        they may be older than events already added. The arrays are not written here, and
        must not be written by the caller afterwards (the first batch is kept as it is)."""
        if self._pending is None:
            self._pending = PendingEvents(timestamps, values, passes)
        else:
            self._pending.add(timestamps, values, passes)

    def _grow(self, needed: int) -> None:
        capacity = max(len(self._times), 4)
        while capacity < needed:
            capacity *= 2
        size = self._size
        self._times = _widened(self._times, size, capacity)
        self._values = _widened(self._values, size, capacity)
        self._codes = _widened(self._codes, size, capacity)
        self._filters = _widened(self._filters, size, capacity)
        self._prefix = _widened(self._prefix, size + 1, capacity + 1)
        if self._index is not None:
            self._index.grow(capacity)

    def settle(self) -> None:
        """Merge the pending events in: time order, codes, prefix sums, index; then fold the
        events no finite window can reach any more."""
        pending = self._pending
        if pending is None or not pending.size:
            if not self._ready:
                self._allocate(4)
            return
        timestamps, values, passes = pending.rows()
        size = self._size
        count = len(timestamps)
        if not self._ready:
            self._allocate(max(4, count))
        elif size + count > len(self._times):
            self._grow(size + count)
        if in_order(self._times, size, timestamps):
            self._append(timestamps, values, passes)
        else:
            self._merge(timestamps, values, passes)
        pending.clear()  # (the rows are settled: its arrays, if kept, take the next events)
        if not self._fold_expired():  # (which rebuilds the index)
            if self._index is not None:
                self._index_rows(self._merged_from)
            elif self._size >= _INDEX_FROM and self._settled_before:
                self._index_rows(0)
        self._settled_before = True

    def _append(self, timestamps: np.ndarray, values: np.ndarray, passes: np.ndarray) -> None:
        """Settle new events that are in time order and newer than the series' newest (the
        online case): one compiled call (:mod:`fengkong.features.settle`)."""
        size, layout, value_codes = self._size, self.layout, self._value_codes
        values = np.ascontiguousarray(values)  # codes read the floats' bits
        if value_codes is None:
            append_rows(self._times, self._values, self._codes, self._filters, self._prefix,
                        size, timestamps, values, passes, layout.coded, _NO_KEYS, _NO_SLOTS,
                        _NO_COUNTS, layout.value_of, layout.filter_of, layout.power_of)
        else:
            value_codes.reserve(len(timestamps))
            value_codes.most = append_rows(
                self._times, self._values, self._codes, self._filters, self._prefix, size,
                timestamps, values, passes, layout.coded, value_codes.keys, value_codes.slots,
                value_codes.counts, layout.value_of, layout.filter_of, layout.power_of)
            self._widen_codes()
        self._size = size + len(timestamps)
        self._merged_from = size

    def _merge(self, timestamps: np.ndarray, values: np.ndarray, passes: np.ndarray) -> None:
        """Settle new events that are out of order or older than the series' newest: put
        them in time order and merge them with the tail they fall into."""
        count = len(timestamps)
        if count > 1 and (timestamps[1:] < timestamps[:-1]).any():
            order = np.argsort(timestamps, kind="stable")  # equal times keep arrival order
            timestamps, values, passes = timestamps[order], values[order], passes[order]
        size = self._size
        codes = self._codes_of(values)
        start = size
        if size and timestamps[0] < self._times[size - 1]:
            # Late events: merge with the tail they fall into, keep time order (stable, so
            # events with equal timestamps stay in arrival order).
            start = int(np.searchsorted(self._times[:size], timestamps[0], side="right"))
            times = np.concatenate([self._times[start:size], timestamps])
            order = np.argsort(times, kind="stable")
            for array, new in ((self._times, timestamps), (self._values, values),
                               (self._codes, codes), (self._filters, passes)):
                array[start:size + count] = np.concatenate([array[start:size], new])[order]
        else:
            self._times[size:size + count] = timestamps
            self._values[size:size + count] = values
            self._codes[size:size + count] = codes
            self._filters[size:size + count] = passes
        self._size = size + count
        layout = self.layout
        extend_prefix(self._prefix, self._values, self._filters, start, self._size,
                      layout.value_of, layout.filter_of, layout.power_of)
        # Rows from ``start`` on moved: an index of the old rows no longer holds.
        self._merged_from = start if start == size else 0

    def _index_rows(self, start: int) -> None:
        """Index rows ``start ..`` (from 0: build the index afresh)."""
        layout = self.layout
        index = self._index
        if index is None:
            index = self._index = SuffixIndex(len(layout.pair_column), layout.stacks,
                                              layout.distincts, len(layout.filters),
                                              len(self._times), self._code_capacity)
        baseline = self._baseline or layout.empty_baseline
        if start == 0:
            index.clear()
            if self._baseline is not None:
                self._baseline.only[:] = self._baseline.codes.sum(axis=1)
        extend_index(self._values, self._codes, self._filters, start, self._size,
                     layout.pair_column, layout.pair_filter, layout.stack_of,
                     layout.distinct_of, index.newest, index.max_stack, index.max_size,
                     index.min_stack, index.min_size, index.distinct_last,
                     index.distinct_rows, index.distinct_size, index.filter_rows,
                     index.filter_size, baseline.codes, baseline.only)

    def _fold_expired(self) -> bool:
        """Fold the events older than the newest minus the retention into the baseline, when
        enough have expired to be worth the move; True if it did (and rebuilt the index)."""
        retention = self.layout.retention_ms
        size = self._size
        if retention is None or size < _FOLD_AT_LEAST:
            return False
        limit = int(self._times[size - 1]) - retention
        enough = max(_FOLD_AT_LEAST, size // 4)
        if self._times[enough - 1] >= limit:  # fewer than enough have expired
            return False
        expired = int(self._times[:size].searchsorted(limit, side="left"))
        layout = self.layout
        baseline = self._baseline
        if baseline is None:
            baseline = self._baseline = Baseline(len(layout.pair_column), layout.distincts,
                                                 len(layout.filters), self._code_capacity)
        fold(self._times, self._values, self._codes, self._filters, expired,
             layout.pair_column, layout.pair_filter, layout.distinct_of, baseline.minimum,
             baseline.maximum, baseline.has_newest, baseline.newest_time,
             baseline.newest_value, baseline.has_first, baseline.first, baseline.codes)
        baseline.cut = max(baseline.cut, limit)
        kept = size - expired
        for array in (self._times, self._values, self._codes, self._filters):
            array[:kept] = array[expired:size]
        # The first prefix row becomes the totals of everything folded so far.
        self._prefix[:kept + 1] = self._prefix[expired:size + 1]
        self._size = kept
        if self._index is not None or (kept >= _INDEX_FROM and self._settled_before):
            self._index_rows(0)
        return True

    def _codes_of(self, values: np.ndarray) -> np.ndarray:
        """Small integer codes of the values of the columns distinct counts read (0 in the
        other columns): :mod:`fengkong.features.codes`."""
        codes = np.zeros(values.shape, dtype=np.int32)
        if self._value_codes is not None:
            self._value_codes.assign(values, codes)
            self._widen_codes()
        return codes

    def _widen_codes(self) -> None:
        """Make the code-indexed arrays of the index and summary as wide as the codes."""
        assert self._value_codes is not None
        most = self._value_codes.most
        if most > self._code_capacity:
            self._code_capacity = max(2 * self._code_capacity, most)
            if self._index is not None:
                self._index.grow_codes(self._code_capacity)
            if self._baseline is not None:
                self._baseline.grow_codes(self._code_capacity)

    @property
    def code_count(self) -> int:
        """The most codes any column has (distinct values seen, NaN counted each time)."""
        return 0 if self._value_codes is None else self._value_codes.most

    def settled(self, as_of: int) -> Series:
        """The series settled, for a query as of ``as_of``; refused if the query reaches
        back into events it has folded away."""
        self.settle()
        if self._baseline is not None and as_of - self.layout.longest_ms < self._baseline.cut:
            raise FengkongError(
                f"features as of {as_of} need events this state has folded away (it keeps "
                f"{self.layout.event} events from {self._baseline.cut} on, by the longest "
                "window plus the late tolerance); compute past dates with the backfill")
        return self

    def window_bounds(self, as_of: int, window_ms: np.ndarray) -> tuple[np.ndarray, int]:
        """Settle, then (first index per window, end index): the events in [as_of - w,
        as_of) for each window length w."""
        times = self.settled(as_of).times
        end = int(np.searchsorted(times, as_of, side="left"))
        starts = np.searchsorted(times[:end], as_of - window_ms, side="left")
        return starts, end

    @property
    def times(self) -> np.ndarray:
        return self._times[:self._size]

    @property
    def values(self) -> np.ndarray:
        return self._values

    @property
    def prefix(self) -> np.ndarray:
        """Prefix rows 0..len: row i sums the folded events and the first i kept ones."""
        return self._prefix

    @property
    def index(self) -> SuffixIndex | None:
        """The suffix index (None while the series is short)."""
        return self._index

    @property
    def baseline(self) -> Baseline | None:
        """The folded events (None until some are)."""
        return self._baseline

    @property
    def codes(self) -> np.ndarray:
        """The value codes of every row (:mod:`fengkong.features.codes`)."""
        return self._codes

    @property
    def passes(self) -> np.ndarray:
        """Whether each row passes each filter of the layout."""
        return self._filters



# A series gets its suffix index once it holds this many events and is read a second time:
# below, the backward scan of its few rows is cheaper than building and keeping the index
# (measured on the backfill, where most series are short and read a few times), and a
# series read once never needs it.
_INDEX_FROM = 16
# Fold expired events only once this many (or a quarter of the series) have expired, so
# that the move and the index rebuild are paid once per many events.
_FOLD_AT_LEAST = 64


def _widened(array: np.ndarray, rows: int, capacity: int) -> np.ndarray:
    """``array`` with room for ``capacity`` rows, its first ``rows`` copied (the others are
    written before they are read)."""
    wider = np.empty((capacity, *array.shape[1:]), dtype=array.dtype)
    wider[:rows] = array[:rows]
    return wider


# Stand-ins for the code tables of a series that codes no column (never read).
_NO_KEYS = np.zeros((0, 1), dtype=np.float64)
_NO_SLOTS = np.zeros((0, 1), dtype=np.int32)
_NO_COUNTS = np.zeros(0, dtype=np.int64)

LIFETIME_MS = np.iinfo(np.int64).max // 4  # "lifetime": reaches back before any event
LATE_TOLERANCE_MS = 86_400_000  # the default: a day


def window_ms(window: Any) -> int:
    """A spec window's length in milliseconds (lifetime: effectively unbounded)."""
    milliseconds = getattr(window, "milliseconds", None)
    return LIFETIME_MS if milliseconds is None else int(milliseconds)



def _no_indices() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class _Group:
    """The features of one (key, event type) pair: what its series keep and how to read them."""

    key: str
    layout: _SeriesLayout
    windows: np.ndarray  # distinct window lengths (ms)
    window_lifetime: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    # Additive features, as arrays for fengkong.features.sums.read_additive: output slot,
    # kind code, window, and the prefix columns of the value, of the count (mean, std) and of
    # the sum of squares (std).
    slots: np.ndarray = field(default_factory=_no_indices)
    kinds: np.ndarray = field(default_factory=_no_indices)
    window_of: np.ndarray = field(default_factory=_no_indices)
    value_column: np.ndarray = field(default_factory=_no_indices)
    count_column: np.ndarray = field(default_factory=_no_indices)
    square_column: np.ndarray = field(default_factory=_no_indices)
    # Other features: (slot, aggregation, window index, value column, filter column)
    scans: list[tuple[int, str, int, int, int]] = field(default_factory=list)
    # The scans as arrays for the compiled passes (fengkong.features.suffix and .scan): per
    # feature its output slot, kind code, window and (value column, filter) pair. Features
    # that differ only by window share a pair, so each pair is indexed (or scanned) once.
    scan_slot: np.ndarray = field(default_factory=_no_indices)
    scan_kind: np.ndarray = field(default_factory=_no_indices)
    scan_window: np.ndarray = field(default_factory=_no_indices)
    scan_pair: np.ndarray = field(default_factory=_no_indices)  # the layout's pairs
    # What a key value without history gets 0 for (counts, sums, distinct counts); the
    # other features are undefined (NaN).
    zero_slots: np.ndarray = field(default_factory=_no_indices)
    # The additive and scanned features' arrays as the rows of one array each, in the order
    # above, for the query kernel (one argument instead of six, and of four).
    additive: np.ndarray = field(default_factory=lambda: np.zeros((6, 0), dtype=np.int64))
    scanned: np.ndarray = field(default_factory=lambda: np.zeros((4, 0), dtype=np.int64))

    def freeze_scans(self, new_layout: bool) -> None:
        """The scans as arrays; on a ``new_layout``, decide its pairs (a plan selected from
        another reads the pairs of the layout it shares)."""
        layout = self.layout
        needs: dict[int, int] = {}
        pair_of = []
        for _, aggregation, _, column, filter_column in self.scans:
            # time aggregations need only the filter, not a value
            key = (-1 if aggregation in _TIME else column, filter_column)
            pair = layout.pairs.setdefault(key, len(layout.pairs)) if new_layout \
                else layout.pairs[key]
            pair_of.append(pair)
            # What each pair must track: 1 min/max, 2 distinct (time pairs need neither)
            needs[pair] = needs.get(pair, 0) | (1 if aggregation in ("min", "max") else
                                                2 if aggregation == "distinct" else 0)
        self.scan_slot = np.array([scan[0] for scan in self.scans], dtype=np.int64)
        self.scan_kind = np.array([KIND_CODES[scan[1]] for scan in self.scans], dtype=np.int64)
        self.scan_window = np.array([scan[2] for scan in self.scans], dtype=np.int64)
        self.scan_pair = np.array(pair_of, dtype=np.int64)
        # By window length: the order the backward scan emits them in, whatever the query
        # (a shorter window never starts earlier; see fengkong.features.query).
        order = np.argsort(self.windows[self.scan_window], kind="stable")
        self.scan_slot, self.scan_kind, self.scan_window, self.scan_pair = (
            self.scan_slot[order], self.scan_kind[order], self.scan_window[order],
            self.scan_pair[order])
        if new_layout:
            layout.pair_column = np.array([column for column, _ in layout.pairs],
                                          dtype=np.int64)
            layout.pair_filter = np.array([filter_column for _, filter_column in layout.pairs],
                                          dtype=np.int64)
            layout.pair_needs = np.array([needs.get(pair, 0) for pair in range(len(needs))],
                                         dtype=np.int64)
            layout.stack_of, layout.distinct_of = (
                np.where(layout.pair_needs & bit,
                         np.cumsum((layout.pair_needs & bit) > 0) - 1, -1).astype(np.int64)
                for bit in (1, 2))
            layout.coded = np.array(sorted({
                int(column) for column, need in zip(layout.pair_column, layout.pair_needs,
                                                    strict=True) if need & 2}), dtype=np.int64)
            layout.stacks = int((layout.stack_of >= 0).sum())
            layout.distincts = int((layout.distinct_of >= 0).sum())
            layout.pair_table = np.stack([layout.pair_column, layout.pair_filter,
                                          layout.pair_needs, layout.stack_of,
                                          layout.distinct_of]).reshape(5, len(layout.pairs))
            layout.empty_baseline = Baseline(len(layout.pairs), layout.distincts,
                                             len(layout.filters), 0)


class FeaturePlan:
    """How to compute a list of features: their groups, layouts and output slots."""

    def __init__(self, features: Sequence[Any], events: Mapping[str, Any] | None = None,
                 late_tolerance_ms: int | None = LATE_TOLERANCE_MS,
                 layouts: Mapping[tuple[str, str], _SeriesLayout] | None = None) -> None:
        """``features`` from :mod:`fengkong.features.spec`; ``events`` (the spec's event types)
        lets the plan refuse what the float kernels cannot answer.

        Series keep their events row by row for the longest finite window plus
        ``late_tolerance_ms`` and fold older ones into lifetime summaries
        (:mod:`fengkong.features.retention`); queries as of that much before the newest
        event of a series or later are exact, earlier ones are refused. ``None`` keeps
        every event (a state answering any past date, at the cost of memory).

        ``layouts`` (by key and event type) come from another plan whose state this one
        reads: see :meth:`select`."""
        self.features = list(features)
        self.events = dict(events or {})  # the spec's event types, by name
        for feature in self.features:
            event = self.events.get(feature.event)
            field_type = (event.fields.get(feature.field)
                          if event is not None and feature.field is not None else None)
            if feature.aggregation == "last" and field_type == "string":
                raise FengkongError(f"feature {feature.name}: 'last' of the text field "
                                    f"{feature.field!r} is not supported by the online kernels "
                                    "yet", field=feature.name)
        self.names = [feature.name for feature in self.features]
        slot_of = {name: slot for slot, name in enumerate(self.names)}
        groups: dict[tuple[str, str], list[tuple[int, Any]]] = {}
        self.ratios: list[tuple[int, int, int]] = []
        for slot, feature in enumerate(self.features):
            if feature.aggregation == "ratio":
                self.ratios.append((slot, slot_of[feature.numerator],
                                    slot_of[feature.denominator]))
                continue
            groups.setdefault((feature.key, feature.event), []).append((slot, feature))
        self.late_tolerance_ms = late_tolerance_ms
        self.groups = [self._group(key, event, members, late_tolerance_ms,
                                   None if layouts is None else layouts[key, event])
                       for (key, event), members in groups.items()]
        self.layouts = {(group.key, group.layout.event): group.layout for group in self.groups}
        self.ratio_slots, self.ratio_numerators, self.ratio_denominators = (
            np.array([ratio[part] for ratio in self.ratios], dtype=np.intp) for part in range(3))
        self.keys = sorted({group.key for group in self.groups})

    def select(self, names: Sequence[str]) -> FeaturePlan:
        """A plan computing only ``names`` (and what their ratios divide) from the same
        state: a flow that reads two hundred of ten thousand declared features computes two
        hundred. Its names come in the order given, then the ratios' parts."""
        by_name = {feature.name: feature for feature in self.features}
        unknown = [name for name in names if name not in by_name]
        if unknown:
            raise FengkongError(f"unknown features: {', '.join(unknown[:5])}",
                                field=unknown[0])
        chosen = list(dict.fromkeys(names))
        for name in chosen:  # grows while iterating: ratios of ratios
            feature = by_name[name]
            if feature.aggregation == "ratio":
                chosen.extend(part for part in (feature.numerator, feature.denominator)
                              if part not in chosen)
        return FeaturePlan([by_name[name] for name in chosen], self.events,
                           self.late_tolerance_ms, self.layouts)

    @staticmethod
    def _group(key: str, event: str, members: list[tuple[int, Any]],
               late_tolerance_ms: int | None, shared: _SeriesLayout | None) -> _Group:
        windows: dict[int, int] = {}
        for _, feature in members:
            windows.setdefault(window_ms(feature.window), len(windows))
        if shared is None:
            value_fields: dict[str, int] = {}
            filters: dict[str | None, int] = {None: 0}
            for _, feature in members:
                if feature.field is not None:
                    value_fields.setdefault(feature.field, len(value_fields))
                filters.setdefault(feature.filter, len(filters))
            layout = _SeriesLayout(event, tuple(value_fields), tuple(filters))
            layout.longest_ms = max((length for length in windows if length != LIFETIME_MS),
                                    default=0)
            if late_tolerance_ms is not None:
                layout.retention_ms = layout.longest_ms + late_tolerance_ms
        else:
            layout = shared
            value_fields = {name: index for index, name in enumerate(layout.value_fields)}
            filters = {source: index for index, source in enumerate(layout.filters)}
        group = _Group(key, layout, np.array(list(windows), dtype=np.int64))
        group.window_lifetime = group.windows == LIFETIME_MS

        def prefix_column(value_field: str | None, filter_source: str | None, power: int) -> int:
            key = (value_field, filter_source, power)
            return layout.prefix[key] if shared else \
                layout.prefix.setdefault(key, len(layout.prefix))

        pending = []
        for slot, feature in members:
            aggregation = feature.aggregation
            window = windows[window_ms(feature.window)]
            if aggregation in _ADDITIVE:
                # mean and std divide by the number of events that have the value
                count = prefix_column(feature.field if aggregation != "count" else None,
                                      feature.filter, 0)
                value = count if aggregation == "count" else \
                    prefix_column(feature.field, feature.filter, 1)
                square = prefix_column(feature.field, feature.filter, 2) \
                    if aggregation == "std" else count
                pending.append((slot, aggregation, window, value, count, square))
            else:
                column = value_fields[feature.field] if feature.field is not None else -1
                group.scans.append((slot, aggregation, window, column, filters[feature.filter]))
        if shared is None:
            layout.freeze()
        group.freeze_scans(shared is None)
        columns = list(zip(*pending, strict=True)) if pending else [()] * 6
        group.slots, group.window_of, group.value_column, group.count_column, \
            group.square_column = (np.array(part, dtype=np.int64)
                                   for part in (columns[0], *columns[2:]))
        group.kinds = np.array([ADDITIVE_CODES[kind] for kind in columns[1]], dtype=np.int64)
        group.zero_slots = np.concatenate([
            group.slots[group.kinds <= ADDITIVE_CODES["sum"]],
            group.scan_slot[group.scan_kind == KIND_CODES["distinct"]]])
        group.additive = np.stack([group.slots, group.kinds, group.window_of,
                                   group.value_column, group.count_column,
                                   group.square_column]).reshape(6, len(group.slots))
        group.scanned = np.stack([group.scan_slot, group.scan_kind, group.scan_window,
                                  group.scan_pair]).reshape(4, len(group.scan_slot))
        return group


def compute(plan: FeaturePlan, series: Mapping[tuple[str, Any, str], Series],
            keys: Mapping[str, Any], as_of: int) -> np.ndarray:
    """Every planned feature for these key values, from ``series`` (by key name, key value
    and event type), counting events strictly before ``as_of`` (epoch ms); NaN where a
    feature has no value."""
    out = np.empty(len(plan.names))
    out.fill(np.nan)  # (np.full is a Python function around these two calls)
    for group in plan.groups:
        _fill_group(group, series.get((group.key, keys.get(group.key), group.layout.event)),
                    as_of, out)
    if len(plan.ratio_slots):
        denominators = out[plan.ratio_denominators]
        with np.errstate(divide="ignore", invalid="ignore"):
            ratios = out[plan.ratio_numerators] / denominators
        out[plan.ratio_slots] = np.where(denominators != 0, ratios, np.nan)
    return out


def _fill_group(group: _Group, series: Series | None, as_of: int, out: np.ndarray) -> None:
    if series is None or not len(series):
        # No history: counts, sums and distinct counts are 0, everything else undefined.
        out[group.zero_slots] = 0.0
        return
    series.settled(as_of)
    layout = group.layout
    index = series.index
    baseline = series.baseline
    shown_index = _NO_INDEX if index is None else index
    shown_baseline = layout.empty_baseline if baseline is None else baseline
    read_group(series.times, series.values, series.codes, series.passes,
               series.prefix, series.code_count, as_of, group.windows,
               group.window_lifetime, group.additive, group.scanned, layout.pair_table,
               index is not None, shown_index.newest,
               shown_index.max_stack, shown_index.max_size, shown_index.min_stack,
               shown_index.min_size, shown_index.distinct_rows, shown_index.distinct_size,
               shown_index.filter_rows, shown_index.filter_size, baseline is not None,
               shown_baseline.only, shown_baseline.codes, shown_baseline.minimum,
               shown_baseline.maximum, shown_baseline.has_newest, shown_baseline.newest_time,
               shown_baseline.newest_value, shown_baseline.has_first, shown_baseline.first,
               out)


# What a series without a suffix index shows the query kernel (never read).
_NO_INDEX = SuffixIndex(0, 0, 0, 0, 0, 0)


__all__ = ["LATE_TOLERANCE_MS", "LIFETIME_MS", "FeaturePlan", "Series", "compute", "window_ms"]
