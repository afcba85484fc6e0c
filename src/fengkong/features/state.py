"""Feature state in this process: checking events, routing them to their series, computing.

An event belongs to one series per (key, event type) group of the plan whose key it
carries: an application with a phone number, an ID number and a device updates three
series. Ingesting is two steps, kept apart so that other stores (durable, Redis) can put
something between them: :meth:`MemoryFeatureState.route` turns events into
:class:`SeriesBatch` es (timestamps, numeric values and filter verdicts per series), and
:meth:`MemoryFeatureState.apply` adds them to the series kept here.

Events arrive as records (one mapping per event) or as columns (one sequence or NumPy array
per field); records are turned into columns and both go the same way, column by column:

1. every field's values are checked against the event type's declared field type (bad
   rows are rejected with a reason, the rest go on: see :class:`IngestReport`);
2. duplicate event ids are dropped (only accepted events' ids are remembered);
3. the batch is put in time order with one stable sort;
4. the fields the features read become one float64 matrix (text as :func:`text_code`,
   computed once per distinct value in the batch);
5. filters are evaluated column-wise by :mod:`fengkong.expr.vector`; the rows it cannot
   evaluate (and filters it cannot compile) go through the row compiler, which decides;
6. rows are grouped per key value with one stable sort of key codes, giving one
   :class:`SeriesBatch` per series, in time order.

A few records with nothing to reject (fewer than 16: a decided application, a group
commit's handful) take a shorter way to the same series batches, row by row in plain
Python (:meth:`MemoryFeatureState._routed_few`): for one event, the column machinery costs
several times the arithmetic.
"""

from __future__ import annotations

import gc
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from operator import attrgetter, itemgetter, mul
from typing import Any

import numpy as np

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr import CompiledExpression, compile_expression
from fengkong.expr.vector import (
    BOOL,
    OBJECT,
    Batch,
    Frame,
    Unsupported,
    column_from_values,
    compile_vector,
)
from fengkong.features.kernels import FeaturePlan, Series, compute
from fengkong.features.pending import PendingEvents
from fengkong.features.spec import (
    EventType,
    EventValidationError,
    checked_value,
    epoch_milliseconds,
)

SeriesKey = tuple[str, Any, str]  # (key name, key value, event type)
Timestamps = np.ndarray | Sequence[Any]

# Epoch milliseconds beyond this (about 285,000 years) are a unit mistake, not a time; the
# bound also keeps window arithmetic (as_of - window) clear of int64 overflow.
TIMESTAMP_LIMIT = 2 ** 53

_NONE = type(None)
# The Python types a column of each declared field type may hold without a closer look
# (None is a missing value); anything else is checked value by value.
_PLAIN_TYPES: dict[str | None, frozenset[type]] = {
    "number": frozenset({int, float, _NONE}),
    "string": frozenset({str, _NONE}),
    "bool": frozenset({bool, _NONE}),
    "timestamp": frozenset({int, _NONE}),
    None: frozenset({int, float, bool, str, _NONE}),  # no declared type: any scalar
}
_ID_TYPES = frozenset({str, int, float, bool})
# Below this many rows, building the columns a filter reads costs more than evaluating the
# filter row by row (a single ingested event, say).
_COLUMNAR_ROWS = 16
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass
class RejectedEvent:
    """An event left out of a batch, and why (the rest of the batch is still ingested)."""

    index: int  # position in the batch given
    event_id: Any
    field: str | None  # the field at fault, when one is
    message: str


@dataclass
class IngestReport:
    """What became of a batch of events."""

    accepted: int = 0
    duplicates: int = 0
    rejected: list[RejectedEvent] = field(default_factory=list)

    def single(self) -> bool:
        """The outcome of a batch of one event, as ``ingest`` gives it: True if accepted,
        False if a duplicate; a rejected event raises its error."""
        if self.rejected:
            raise EventValidationError(self.rejected[0].message, field=self.rejected[0].field)
        return self.accepted == 1


@dataclass(slots=True)
class SeriesBatch:
    """New events of one series, in time order: what a store persists and applies."""

    series: SeriesKey
    timestamps: np.ndarray  # int64 epoch ms
    values: np.ndarray  # float64, one column per value field of the series' layout
    passes: np.ndarray  # bool, one column per filter of the series' layout


_fields_of = attrgetter("series", "timestamps", "values", "passes")


@dataclass
class Routed:
    """A routed batch: its series batches and report, and the events accepted — what a
    durable store logs (the checked values, not the series batches, so that a log outlives
    a change of spec: replaying it routes the events through the new plan)."""

    batches: list[SeriesBatch]
    report: IngestReport
    rows: list[int]  # the accepted events: positions in the batch given, in arrival order
    columns: dict[str, list[Any]]  # every row's checked values (None: missing)
    timestamps: np.ndarray  # every row's epoch ms
    event_ids: list[Any] | None

    def accepted_columns(self) -> dict[str, list[Any]]:
        """The accepted events' checked values, field by field."""
        if len(self.rows) == len(self.timestamps):  # all of them (rows keep arrival order)
            return self.columns
        return {name: [values[row] for row in self.rows] for name, values in self.columns.items()}


@dataclass
class _Filter:
    """A compiled filter: the row compiler (always), the columnar one (when it compiles),
    and the fields it may read (words of its source; one too many costs nothing)."""

    row: CompiledExpression
    vector: Callable[[Batch], Any] | None
    fields: tuple[str, ...]


@dataclass
class _Routing:
    """What the groups of one event type read: every value field and filter once (each is
    converted or evaluated once per batch, not once per key), and each group's columns."""

    value_fields: list[str]
    filters: list[str]  # their verdicts are columns 1.. (column 0: no filter, all true)
    value_columns: list[np.ndarray]
    filter_columns: list[np.ndarray]
    shape_of: list[int]  # groups reading the same columns (one template's) share a number

    @classmethod
    def of(cls, groups: list[Any]) -> _Routing:
        value_fields = list(dict.fromkeys(name for group in groups
                                          for name in group.layout.value_fields))
        filters = list(dict.fromkeys(source for group in groups
                                     for source in group.layout.filters if source is not None))
        value_columns = [[value_fields.index(name) for name in group.layout.value_fields]
                         for group in groups]
        filter_columns = [[0 if source is None else 1 + filters.index(source)
                           for source in group.layout.filters] for group in groups]
        shapes: dict[Any, int] = {}
        return cls(value_fields, filters,
                   [np.array(columns, dtype=np.intp) for columns in value_columns],
                   [np.array(columns, dtype=np.intp) for columns in filter_columns],
                   [shapes.setdefault((tuple(values), tuple(verdicts)), len(shapes))
                    for values, verdicts in zip(value_columns, filter_columns, strict=True)])


class _Checks:
    """The rows of one batch rejected so far, each with the first reason found."""

    def __init__(self, event_type: str, size: int) -> None:
        self.event_type = event_type
        self.size = size
        self.reasons: dict[int, tuple[str | None, str]] = {}

    def reject(self, rows: Iterable[int], field_name: str | None, message: str) -> None:
        for row in rows:
            self.reasons.setdefault(row, (field_name, message))

    def report(self, event_ids: Sequence[Any] | None) -> list[RejectedEvent]:
        return [RejectedEvent(row, None if event_ids is None else event_ids[row], field_name,
                              message)
                for row, (field_name, message) in sorted(self.reasons.items())]


class MemoryFeatureState:
    """Series for every key value seen, in this process.

    ``series`` holds the series that have been read. The events of a key value nobody has
    asked about yet wait in a buffer (:mod:`fengkong.features.pending`; most key values of
    most events are never queried: a login's IP, a repayment's card); its :class:`Series`
    is made on its first read. :meth:`settle` makes and settles every one.

    Event types and field types come from the plan's event types (the spec); a plan built
    from bare features has none, and then every field is taken as it comes (numbers,
    booleans, text) and timestamps must be passed in.
    """

    def __init__(self, plan: FeaturePlan) -> None:
        self.plan = plan
        self.series: dict[SeriesKey, Series] = {}
        self._waiting: dict[SeriesKey, PendingEvents] = {}
        self.seen_ids: set[tuple[str, Any]] = set()
        self._layouts = {(group.key, group.layout.event): group.layout for group in plan.groups}
        self._groups: dict[str, list[Any]] = {}
        for group in plan.groups:
            self._groups.setdefault(group.layout.event, []).append(group)
        self._routing = {event_type: _Routing.of(groups)
                         for event_type, groups in self._groups.items()}
        self._keys = {event_type: list(dict.fromkeys(group.key for group in groups))
                      for event_type, groups in self._groups.items()}
        # Compiled once per filter source, shared by every group that uses it.
        self._filters = {source: _compile_filter(source) for group in plan.groups
                         for source in group.layout.filters if source is not None}

    # -- ingesting ---------------------------------------------------------------------

    def ingest(self, event_type: str, event: Mapping[str, Any], timestamp: Any = None,
               event_id: Any = None) -> bool:
        """Add one event to every series it belongs to; False for a duplicate event id.

        A bad event raises :class:`~fengkong.features.spec.EventValidationError` naming the
        field (a batch reports it instead, see :meth:`ingest_many`).
        """
        return self.ingest_many(event_type, [event], None if timestamp is None else [timestamp],
                                None if event_id is None else [event_id]).single()

    def ingest_many(self, event_type: str, events: Sequence[Any],
                    timestamps: Timestamps | None = None,
                    event_ids: Sequence[Any] | None = None) -> IngestReport:
        """Add a batch of events of one type (a stream consumer's batch). Same result as
        :meth:`ingest` one by one; bad events are reported, the others ingested."""
        with _CyclesPaused():  # once for routing and applying
            batches, report = self.route(event_type, events, timestamps, event_ids)
            self.apply(batches)
        return report

    def ingest_columns(self, event_type: str, columns: Mapping[str, Any],
                       timestamps: Timestamps | None = None,
                       event_ids: Sequence[Any] | None = None) -> IngestReport:
        """Add a batch of events given as columns: one sequence (or NumPy array) per field,
        all of the batch's length. Same result as :meth:`ingest_many` on the records."""
        with _CyclesPaused():
            batches, report = self.route_columns(event_type, columns, timestamps, event_ids)
            self.apply(batches)
        return report

    def route(self, event_type: str, events: Sequence[Any], timestamps: Timestamps | None = None,
              event_ids: Sequence[Any] | None = None
              ) -> tuple[list[SeriesBatch], IngestReport]:
        """The series batches of these events (duplicate ids dropped and remembered), and
        what became of each event.

        ``timestamps`` (epoch ms, or ISO 8601 text with a UTC offset) default to each
        event's timestamp field. ``event_ids`` (optional; text, numbers or booleans,
        compared as Python values) identify duplicates.
        """
        routed = self.routed(event_type, events, timestamps, event_ids)
        return routed.batches, routed.report

    def routed(self, event_type: str, events: Sequence[Any], timestamps: Timestamps | None = None,
               event_ids: Sequence[Any] | None = None) -> Routed:
        """:meth:`route`, with the accepted events themselves (for a log)."""
        if type(events) is list and len(events) < _COLUMNAR_ROWS:
            few = self._routed_few(event_type, events, timestamps, event_ids)
            if few is not None:
                return few
        checks = _Checks(event_type, _batch_size(event_type, {"events": events},
                                                 timestamps, event_ids))
        records: list[Mapping[str, Any]] = []
        for row, event in enumerate(events):
            if isinstance(event, Mapping):
                records.append(event)
            else:
                checks.reject([row], None, f"a {event_type!r} event must be an object, not "
                                           f"{type(event).__name__}")
                records.append({})
        names: set[Any] = set().union(*records)
        # Rows lacking a field matter for entity keys and timestamps, which must be there
        # (even as null); when every row has every field there are none.
        regular = all(len(record) == len(names) for record in records)
        columns = {name: list(map(itemgetter(name), records)) if regular else
                   [record.get(name) for record in records] for name in names}

        def lacking(name: str) -> list[int]:
            if regular and name in names:
                return []
            return [row for row, record in enumerate(records) if name not in record]

        return self._route(event_type, columns, checks, lacking, timestamps, event_ids)

    def route_columns(self, event_type: str, columns: Mapping[str, Any],
                      timestamps: Timestamps | None = None,
                      event_ids: Sequence[Any] | None = None
                      ) -> tuple[list[SeriesBatch], IngestReport]:
        """:meth:`route` for events given as columns (a column given has every row)."""
        routed = self.routed_columns(event_type, columns, timestamps, event_ids)
        return routed.batches, routed.report

    def routed_columns(self, event_type: str, columns: Mapping[str, Any],
                       timestamps: Timestamps | None = None,
                       event_ids: Sequence[Any] | None = None) -> Routed:
        """:meth:`route_columns`, with the accepted events themselves (for a log)."""
        size = _batch_size(event_type, columns, timestamps, event_ids)
        lists = {name: values.tolist() if isinstance(values, np.ndarray) else list(values)
                 for name, values in columns.items()}

        def lacking(name: str) -> list[int]:
            return [] if name in lists else list(range(size))

        return self._route(event_type, lists, _Checks(event_type, size), lacking, timestamps,
                           event_ids)

    def apply(self, batches: Sequence[SeriesBatch]) -> None:
        """Add routed events to their series (those not read yet keep them waiting)."""
        kept, waiting = self.series, self._waiting
        with _CyclesPaused():
            for name, timestamps, values, passes in map(_fields_of, batches):
                series = kept.get(name)
                if series is not None:
                    series.add_many(timestamps, values, passes)
                    continue
                pending = waiting.get(name)
                if pending is None:
                    waiting[name] = PendingEvents(timestamps, values, passes)
                else:
                    pending.add(timestamps, values, passes)

    def compute(self, keys: Mapping[str, Any], as_of: int,
                plan: FeaturePlan | None = None) -> np.ndarray:
        """Every feature of ``plan`` (by default the state's; else one made by
        ``self.plan.select(...)``) for these key values, counting events strictly before
        ``as_of`` (epoch ms); NaN where a feature has no value."""
        plan = plan or self.plan
        if self._waiting:
            for group in plan.groups:
                self._made((group.key, keys.get(group.key), group.layout.event))
        return compute(plan, self.series, keys, as_of)

    def settle(self) -> None:
        """Make and settle every series now rather than on its first read (before a
        snapshot, or to measure the work reads would do)."""
        with _CyclesPaused():  # (a series or more per key value: see _CyclesPaused)
            for name in list(self._waiting):
                self._made(name)
            for series in self.series.values():
                series.settle()

    def forget(self, name: SeriesKey) -> None:
        """Drop a series and its events (the backfill, after a key value's last read)."""
        self.series.pop(name, None)
        self._waiting.pop(name, None)

    def _made(self, name: SeriesKey) -> None:
        """The series ``name`` made from its waiting events, if it has any."""
        pending = self._waiting.pop(name, None)
        if pending is not None:
            self.series[name] = Series(self._layouts[name[0], name[2]], pending)

    # -- routing a few good events, row by row ----------------------------------------------

    def _routed_few(self, event_type: str, events: list[Any], timestamps: Timestamps | None,
                    event_ids: Sequence[Any] | None) -> Routed | None:
        """:meth:`routed` for a few events (a decided application, a group commit's
        handful), in plain Python: for one event, building the columns, the float matrix
        and the filter frames of the general path costs several times the arithmetic.

        Only a batch of plain records with nothing to reject or convert (but ISO 8601
        timestamps and NaN) is taken; for any other — an unknown field, a bad value, a
        missing key or timestamp, a batch given as arrays — this returns None and the
        general path routes it, so that rejections are reported by one piece of code. (A
        bad event id is the exception: both paths reject it in :meth:`_first_arrivals`.)
        What it returns is what the general path would, array for array
        (``tests/features/test_few.py``): the same checked values, the same stable time
        order, text codes and float conversions, and the filters evaluated by the row
        compiler, which the general path also uses below ``_COLUMNAR_ROWS`` rows."""
        size = len(events)
        declared = self.plan.events.get(event_type)
        groups = self._groups.get(event_type)
        if declared is None or not groups or not size or \
                (timestamps is not None and (type(timestamps) is not list or
                                             len(timestamps) != size)) or \
                (event_ids is not None and (type(event_ids) is not list or
                                            len(event_ids) != size)):
            return None
        first = events[0]
        if type(first) is not dict or any(type(event) is not dict or event.keys() != first.keys()
                                          for event in events[1:]):
            return None  # a field lacking from a record (a key or the timestamp, maybe)
        fields = declared.fields
        clean: dict[str, list[Any]] = {}
        for name in first:
            kind = fields.get(name)
            if kind is None:
                return None  # unknown field (or not text)
            values = [event[name] for event in events]
            if not _PLAIN_TYPES[kind].issuperset(map(type, values)) or \
                    (kind == "number" and float in map(type, values)):
                checked = _plain_values(kind, values)
                if checked is None:
                    return None
                values = checked
            clean[name] = values
        keys = self._keys[event_type]
        if timestamps is None:
            if declared.timestamp not in clean:
                return None
            times = clean[declared.timestamp]
        else:
            given = _plain_values("timestamp", list(timestamps))
            if given is None:
                return None
            times = given
        if not all(type(stamp) is int and -TIMESTAMP_LIMIT <= stamp <= TIMESTAMP_LIMIT
                   for stamp in times) or not all(key in clean for key in keys) or \
                any(all(value is None for value in values)
                    for values in zip(*(clean[key] for key in keys), strict=True)):
            return None  # no timestamp, or no key at all
        report = IngestReport()
        kept = list(range(size))
        if event_ids is not None:
            event_ids = list(event_ids)
            checks = _Checks(event_type, size)
            kept, report.duplicates = self._first_arrivals(event_type, kept, event_ids, checks)
            report.rejected = checks.report(event_ids)
        report.accepted = len(kept)
        batches = self._few_series_batches(event_type, groups, clean, kept, times) if kept \
            else []
        return Routed(batches, report, kept, clean, np.array(times, dtype=np.int64),
                      event_ids)

    def _few_series_batches(self, event_type: str, groups: list[Any],
                            clean: dict[str, list[Any]], kept: list[int], times: list[int]
                            ) -> list[SeriesBatch]:
        """:meth:`_series_batches` row by row, for a few good events."""
        order = sorted(kept, key=times.__getitem__)  # stable: equal times keep arrival order
        count = len(order)
        routing = self._routing[event_type]
        columns = [clean.get(name) for name in routing.value_fields]
        texts = [value for values in columns if values is not None
                 for value in values if type(value) is str]
        codes: Mapping[Any, float] = _TEXT_CODES  # (the cache: a returning applicant's)
        if not all(text in codes for text in texts):
            codes = _known_text_codes(list(dict.fromkeys(texts)))
        nan = math.nan
        matrix = np.array([[nan if values is None or (value := values[row]) is None else
                            codes[value] if type(value) is str else float(value)
                            for values in columns] for row in order],
                          dtype=np.float64).reshape(count, len(columns))
        passes = self._passes
        filters = [(self._filters[source].row,
                    [name for name in self._filters[source].fields if name in clean])
                   for source in routing.filters]
        verdicts = np.array([[True, *(passes(row_compiled, {name: clean[name][row]
                                                            for name in names})
                                      for row_compiled, names in filters)] for row in order],
                            dtype=bool)
        stamps = np.array([times[row] for row in order], dtype=np.int64)
        batches: list[SeriesBatch] = []
        taken: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for group, value_columns, filter_columns, shape in zip(
                groups, routing.value_columns, routing.filter_columns, routing.shape_of,
                strict=True):
            # Groups of one template read the same columns: taken once (batches only read
            # their arrays, so sharing them is safe).
            if shape not in taken:
                taken[shape] = (matrix.take(value_columns, axis=1),
                                verdicts.take(filter_columns, axis=1))
            values, verdict = taken[shape]
            key, key_values = group.key, clean[group.key]
            if count == 1:
                if key_values[order[0]] is not None:
                    batches.append(SeriesBatch((key, key_values[order[0]], event_type), stamps,
                                               values, verdict))
                continue
            positions: dict[Any, list[int]] = {}
            for position, row in enumerate(order):
                positions.setdefault(key_values[row], []).append(position)
            # The general path's order: key values with several events, then the others,
            # each in order of first appearance.
            for several in (True, False):
                for value, rows in positions.items():
                    if value is None or (len(rows) > 1) is not several:
                        continue
                    at = slice(rows[0], rows[0] + 1) if len(rows) == 1 else rows
                    batches.append(SeriesBatch((key, value, event_type), stamps[at],
                                               values[at], verdict[at]))
        return batches

    # -- routing, column by column ---------------------------------------------------------

    def _route(self, event_type: str, columns: dict[Any, list[Any]], checks: _Checks,
               lacking: Callable[[str], list[int]], timestamps: Timestamps | None,
               event_ids: Sequence[Any] | None) -> Routed:
        with _CyclesPaused():
            return self._route_batch(event_type, columns, checks, lacking, timestamps,
                                     event_ids)

    def _route_batch(self, event_type: str, columns: dict[Any, list[Any]], checks: _Checks,
                     lacking: Callable[[str], list[int]], timestamps: Timestamps | None,
                     event_ids: Sequence[Any] | None) -> Routed:
        size = checks.size
        report = IngestReport()
        if event_ids is not None:
            event_ids = event_ids.tolist() if isinstance(event_ids, np.ndarray) else \
                list(event_ids)
        declared = self.plan.events.get(event_type)
        groups = self._groups.get(event_type, [])
        if declared is None and (self.plan.events or not groups):
            known = ", ".join(self.plan.events or self._groups) or "none"
            checks.reject(range(size), None,
                          f"unknown event type {event_type!r} (known: {known})")
            report.rejected = checks.report(event_ids)
            return Routed([], report, [], {}, np.zeros(size, dtype=np.int64), event_ids)
        clean = self._checked_columns(declared, columns, checks, lacking)
        times = self._times(declared, clean, checks, lacking, timestamps)
        keys = list(dict.fromkeys(group.key for group in groups))
        self._check_keys(declared, keys, clean, checks, lacking)
        kept = [row for row in range(size) if row not in checks.reasons] if checks.reasons \
            else list(range(size))
        kept, report.duplicates = self._first_arrivals(event_type, kept, event_ids, checks)
        report.rejected = checks.report(event_ids)
        report.accepted = len(kept)
        batches: list[SeriesBatch] = []
        if kept and groups:
            rows = np.array(kept, dtype=np.intp)[np.argsort(times[kept], kind="stable")]
            batches = self._series_batches(event_type, groups, clean, rows, times[rows])
        return Routed(batches, report, kept, clean, times, event_ids)

    def _checked_columns(self, declared: EventType | None, columns: dict[Any, list[Any]],
                         checks: _Checks, lacking: Callable[[str], list[int]]
                         ) -> dict[str, list[Any]]:
        """Each known field's values as stored (None: missing), bad values rejected."""
        event_type = checks.event_type
        clean = {}
        for name, values in columns.items():
            kind = declared.fields.get(name) if declared is not None else None
            if type(name) is not str or (declared is not None and kind is None):
                missing = set(lacking(name))
                fields = ", ".join(declared.fields) if declared is not None else "any text"
                checks.reject((row for row in range(checks.size) if row not in missing),
                              str(name), f"unknown field {name!r} of event type "
                              f"{event_type!r} (fields: {fields})")
                continue
            clean[name] = _checked_values(event_type, name, kind, values, checks)
        return clean

    def _times(self, declared: EventType | None, clean: dict[str, list[Any]], checks: _Checks,
               lacking: Callable[[str], list[int]], timestamps: Timestamps | None
               ) -> np.ndarray:
        """Each row's epoch ms: the timestamps given, else the event's timestamp field."""
        event_type = checks.event_type
        name = declared.timestamp if declared is not None else "timestamp"
        if timestamps is not None:
            values = timestamps.tolist() if isinstance(timestamps, np.ndarray) else \
                list(timestamps)
            values = _checked_values(event_type, name, "timestamp", values, checks)
        elif declared is None:
            checks.reject(range(checks.size), None,
                          f"no timestamps given for {event_type!r} events, and the plan "
                          "declares no timestamp field for them")
            return np.zeros(checks.size, dtype=np.int64)
        else:
            checks.reject(lacking(name), name, f"{event_type!r} event has no timestamp "
                                               f"{name!r}")
            values = clean.get(name, [None] * checks.size)
        out_of_range = [row for row, value in enumerate(values)
                        if value is None or not -TIMESTAMP_LIMIT <= value <= TIMESTAMP_LIMIT]
        for row in out_of_range:
            checks.reject([row], name, f"{event_type!r} event has no timestamp {name!r}"
                          if values[row] is None else
                          f"timestamp {name!r} of a {event_type!r} event is out of range "
                          f"(epoch milliseconds within ±2^53): {values[row]!r}")
            values[row] = 0
        return np.array(values, dtype=np.int64)

    def _check_keys(self, declared: EventType | None, keys: list[str],
                    clean: dict[str, list[Any]], checks: _Checks,
                    lacking: Callable[[str], list[int]]) -> None:
        """A declared key must be there (null means unknown); an event with no key value at
        all would update no series, a silent nothing, so it is rejected."""
        event_type = checks.event_type
        if not keys:
            return
        if declared is not None:
            for key in keys:
                checks.reject(lacking(key), key, f"{event_type!r} event has no entity key "
                                                 f"{key!r}")
        key_columns = [clean[key] for key in keys if key in clean]
        keyless = [row for row, values in enumerate(zip(*key_columns, strict=True))
                   if all(value is None for value in values)] if key_columns else \
            range(checks.size)
        checks.reject(keyless, None, f"{event_type!r} event has none of the entity keys "
                                     f"{', '.join(keys)}: it would update no feature")

    def _first_arrivals(self, event_type: str, rows: list[int], event_ids: list[Any] | None,
                        checks: _Checks) -> tuple[list[int], int]:
        """The rows whose id is new (remembered from now on), and how many were duplicates."""
        if event_ids is None:
            return rows, 0
        seen = self.seen_ids
        first = []
        duplicates = 0
        for row in rows:
            event_id = event_ids[row]
            if event_id is None:
                first.append(row)
                continue
            # Ids compare as Python values (1, 1.0 and True are one id) and must survive a
            # log (JSON) unchanged: text, finite numbers and booleans.
            if type(event_id) not in _ID_TYPES or (type(event_id) is float and
                                                   not math.isfinite(event_id)):
                checks.reject([row], None, f"event id {event_id!r} of a {event_type!r} event "
                                           "must be text, a finite number or a boolean")
                continue
            marker = (event_type, event_id)
            if marker not in seen:
                seen.add(marker)
                first.append(row)
            else:
                duplicates += 1
        return first, duplicates

    def _series_batches(self, event_type: str, groups: list[Any], clean: dict[str, list[Any]],
                        rows: np.ndarray, times: np.ndarray) -> list[SeriesBatch]:
        """One batch per (key, key value) of the rows given (in time order)."""
        order = rows.tolist()
        count = len(order)
        # A batch usually arrives whole and in time order: then its columns are used as
        # they are, not gathered row by row.
        in_place = count == len(next(iter(clean.values()), ())) and \
            bool((rows[1:] > rows[:-1]).all())
        gathered: dict[str, list[Any]] = dict(clean) if in_place else {}

        def column(name: str) -> list[Any]:
            if name not in gathered:
                values = clean.get(name)
                gathered[name] = [None] * count if values is None else \
                    [values[row] for row in order]
            return gathered[name]

        routing = self._routing[event_type]
        matrix = np.empty((count, len(routing.value_fields)), dtype=np.float64)
        for index, name in enumerate(routing.value_fields):
            matrix[:, index] = _numbers(column(name))
        verdicts = np.ones((count, 1 + len(routing.filters)), dtype=bool)
        for index, source in enumerate(routing.filters, start=1):
            verdicts[:, index] = self._verdicts(source, column, clean, count)
        batches: list[SeriesBatch] = []
        for group, value_columns, filter_columns in zip(groups, routing.value_columns,
                                                        routing.filter_columns, strict=True):
            batches.extend(_split_by_key(group.key, event_type, column(group.key), times,
                                         matrix.take(value_columns, axis=1),
                                         verdicts.take(filter_columns, axis=1)))
        return batches

    def _verdicts(self, source: str, column: Callable[[str], list[Any]], present: Iterable[str],
                  count: int) -> np.ndarray:
        """Whether each row passes a filter: column-wise where the vector compiler can, the
        row compiler for the rest (it decides what the vector compiler flags)."""
        compiled = self._filters[source]
        fields = [name for name in compiled.fields if name in present]
        verdict = np.zeros(count, dtype=bool)
        undecided: Iterable[int] = range(count)
        if compiled.vector is not None and count >= _COLUMNAR_ROWS:
            frame = Frame({name: column_from_values(column(name)) for name in fields}, count)
            batch = Batch(frame)
            try:
                result = compiled.vector(batch)
            except Unsupported:
                result = None
            if result is not None and result.kind != OBJECT:
                if result.kind == BOOL:
                    verdict[:] = result.data
                    if result.null is not None:
                        verdict &= ~result.null
                verdict &= ~batch.errors
                undecided = np.flatnonzero(batch.errors).tolist()
        for row in undecided:
            verdict[row] = self._passes(compiled.row, {name: column(name)[row]
                                                       for name in fields})
        return verdict

    @staticmethod
    def _passes(expression: CompiledExpression, event: Mapping[str, Any]) -> bool:
        # A filter that cannot be evaluated on an event (amount >= 5000 with no amount) does
        # not count it, as a decision-table cell that fails does not match.
        try:
            return expression(event) is True
        except ExpressionEvaluationError:
            return False


def _batch_size(event_type: str, columns: Mapping[str, Any], timestamps: Any,
                event_ids: Any) -> int:
    """The length shared by a batch's columns (or events), timestamps and ids. A mismatch
    is the caller's mistake, not a bad event: nothing can be ingested."""
    parts = {**columns, "timestamps": timestamps, "event_ids": event_ids}
    lengths = {}
    for name, values in parts.items():
        if values is None and name in ("timestamps", "event_ids"):
            continue
        if (isinstance(values, np.ndarray) and values.ndim != 1) or \
                not isinstance(values, np.ndarray | Sequence) or isinstance(values, str):
            raise EventValidationError(f"{name!r} of a {event_type!r} batch must be a sequence "
                                       f"or a one-dimensional array, not {type(values).__name__}",
                                       field=str(name))
        lengths[name] = len(values)
    if len(set(lengths.values())) > 1:
        raise EventValidationError(f"the columns of a {event_type!r} batch have different "
                                   f"lengths: {lengths}")
    return next(iter(lengths.values()), 0)


class _CyclesPaused:
    """Pause Python's cycle collector while a batch is routed or applied.

    A batch allocates tens of thousands of small objects (series batches, array views, new
    series), and every 700 allocations start a collection; as the series kept grow, full
    collections keep coming too. On the benchmark's batches that was about half the time
    of routing and two thirds of applying. Nothing here makes reference cycles, so the
    collector has nothing to find meanwhile; it resumes when the batch is done (and is left
    alone if the application had turned it off, or an outer pause is still on). A class,
    not a generator context manager: one event pays for three of them (ingest, route,
    apply), at a few microseconds each that way.
    """

    __slots__ = ("_resume",)

    def __enter__(self) -> None:
        self._resume = gc.isenabled()
        gc.disable()

    def __exit__(self, *_: object) -> None:
        if self._resume:
            gc.enable()


def _compile_filter(source: str) -> _Filter:
    row = compile_expression(source)
    try:
        vector = compile_vector(row.tree)
    except Unsupported:
        vector = None
    return _Filter(row, vector, tuple(dict.fromkeys(_WORD.findall(source))))


def _checked_values(event_type: str, name: Any, kind: str | None, values: list[Any],
                    checks: _Checks) -> list[Any]:
    """A column's values as stored: timestamps as epoch ms, NaN as missing (None); a value
    of the wrong type rejects its row (and is stored as None)."""
    types = set(map(type, values))
    plain = _PLAIN_TYPES[kind]
    if not types <= plain:
        values = list(values)
        for row, value in enumerate(values):
            if type(value) in plain:
                continue
            try:
                if kind is None:
                    raise EventValidationError(f"field {name!r} of a {event_type!r} event must "
                                               f"be a number, text or bool, not {value!r}",
                                               field=str(name))
                values[row] = checked_value(event_type, name, kind, value)
            except EventValidationError as error:
                checks.reject([row], str(name), error.message)
                values[row] = None
    if float in types and kind in ("number", None):
        # NaN (how NumPy and pandas mark a missing number) is a missing value; an infinity
        # has no place in a sum.
        for row, value in enumerate(values):
            if type(value) is float and not math.isfinite(value):
                if value != value:
                    values[row] = None
                else:
                    checks.reject([row], str(name), f"field {name!r} of a {event_type!r} event "
                                                    f"must be a finite number, not {value!r}")
    return values


def _plain_values(kind: str, values: list[Any]) -> list[Any] | None:
    """:func:`_checked_values` of a column with nothing to reject: its values as stored
    (ISO 8601 timestamps as epoch ms, NaN as None), or None when a value would be rejected
    or converted otherwise (the general path then reports it)."""
    plain = _PLAIN_TYPES[kind]
    stored = list(values)
    for row, value in enumerate(values):
        kind_of = type(value)
        if kind_of is float and kind == "number" and not math.isfinite(value):
            if value == value:
                return None  # an infinity: rejected
            stored[row] = None
        elif kind_of not in plain:
            moment = epoch_milliseconds(value) if kind == "timestamp" and kind_of is str else None
            if moment is None:
                return None
            stored[row] = moment
    return stored


def _numbers(values: list[Any]) -> np.ndarray:
    """A column as float64: numbers as they are, booleans 0/1, text as its code, NaN for
    missing values. Text codes are computed once per distinct value."""
    types = set(map(type, values))
    if str not in types:
        if _NONE in types:
            return np.array([math.nan if value is None else value for value in values],
                            dtype=np.float64)
        return np.array(values, dtype=np.float64)
    codes = _known_text_codes([value for value in dict.fromkeys(values) if type(value) is str])
    if types <= {str, _NONE}:
        codes[None] = math.nan
        return np.fromiter(map(codes.__getitem__, values), dtype=np.float64, count=len(values))
    return np.array([codes[value] if type(value) is str else
                     math.nan if value is None else float(value) for value in values],
                    dtype=np.float64)


def _known_text_codes(texts: list[str]) -> dict[Any, float]:
    """The codes of these texts, from a cache of recent ones: a channel, a city or a
    returning applicant's phone is hashed once, not in every batch."""
    cache = _TEXT_CODES
    missing = [text for text in texts if text not in cache]
    if missing:
        if len(cache) + len(missing) > _TEXT_CODES_KEPT:
            cache.clear()  # crude but bounded; codes never change, so nothing is wrong
            missing = texts  # the ones that were cached are gone too
        cache.update(zip(missing, text_codes(missing).tolist(), strict=True))
    return {text: cache[text] for text in texts}


_TEXT_CODES: dict[str, float] = {}
_TEXT_CODES_KEPT = 1 << 17


def _split_by_key(key: str, event_type: str, key_values: list[Any], times: np.ndarray,
                  values: np.ndarray, passes: np.ndarray) -> list[SeriesBatch]:
    """The rows of each key value (null keys update no series), in time order: one stable
    sort of small integer codes, then contiguous slices."""
    if len(key_values) == 1:  # one event (ingest): nothing to group
        value = key_values[0]
        return [] if value is None else [SeriesBatch((key, value, event_type), times, values,
                                                     passes)]
    distinct = list(dict.fromkeys(key_values))
    if len(distinct) < len(key_values):
        code_of = {value: code for code, value in enumerate(distinct)}
        codes = np.fromiter(map(code_of.__getitem__, key_values), dtype=np.int64,
                            count=len(key_values))
        order = np.argsort(codes, kind="stable")
        codes, times, values, passes = codes[order], times[order], values[order], passes[order]
        bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
        starts, sizes = bounds[:-1], np.diff(bounds)
        distinct = [distinct[code] for code in codes[starts].tolist()]
    else:  # every row a key value of its own: no sort
        starts, sizes = np.arange(len(distinct)), np.ones(len(distinct), dtype=np.int64)
    batches = []
    many = np.flatnonzero(sizes > 1)
    for group, start, end in zip(many.tolist(), starts[many].tolist(),
                                 (starts + sizes)[many].tolist(), strict=True):
        if distinct[group] is not None:
            batches.append(SeriesBatch((key, distinct[group], event_type), times[start:end],
                                       values[start:end], passes[start:end]))
    # Series with one new event (most, when keys are many): the rows as views, which is
    # faster than slicing each.
    one = np.flatnonzero(sizes == 1)
    rows = starts[one]
    batches.extend(SeriesBatch((key, value, event_type), stamp, row, verdict)
                   for value, stamp, row, verdict in zip(
                       [distinct[group] for group in one.tolist()],
                       times[rows].reshape(len(rows), 1),
                       values[rows].reshape(len(rows), 1, values.shape[1]),
                       passes[rows].reshape(len(rows), 1, passes.shape[1]), strict=True)
                   if value is not None)
    return batches


def text_code(value: str) -> float:
    """A text value as a number for distinct counts (see :func:`text_codes`)."""
    return float(text_codes([value])[0])


def text_codes(values: Sequence[str]) -> np.ndarray:
    """Text values as numbers for distinct counts: a 48-bit hash of each value's characters,
    the same in every process and on every server (Python's ``hash`` of text is salted per
    process), exact in float64. A collision would undercount by one; at 2^48 it is not a
    concern. Trailing NUL characters are ignored (they pad shorter values when a batch is
    hashed as one array).

    A multilinear hash (the sum of each UTF-32 code point times a fixed random 64-bit key
    of its position, modulo 2^64), finished by the splitmix64 mixer: one matrix product for
    a whole batch, where a cryptographic digest costs a microsecond per value.
    """
    if len(values) < 8:  # an event's or a few: plain integers beat a dozen array calls
        return np.array([_text_code_of(value) for value in values], dtype=np.float64)
    codes = np.empty(len(values), dtype=np.float64)
    lengths = np.fromiter(map(len, values), dtype=np.int64, count=len(values))
    # Values longer than this are hashed alone, so that one long value does not widen the
    # array of a whole batch (padding adds nothing to the sum).
    short = lengths <= 64
    groups = [np.flatnonzero(short)] + [np.array([row]) for row in np.flatnonzero(~short)]
    for rows in groups:
        if len(rows):
            text = np.array([values[row] for row in rows.tolist()], dtype=str)
            characters = text.view(np.uint32).reshape(len(rows), -1).astype(np.uint64)
            total = characters @ _position_keys(characters.shape[1])
            codes[rows] = (_splitmix(total) >> np.uint64(16)).astype(np.float64)
    return codes


@lru_cache(maxsize=256)
def _position_keys(width: int) -> np.ndarray:
    """Odd pseudo-random 64-bit keys of character positions 0 .. width - 1 (fixed forever:
    stored codes depend on them)."""
    positions = np.arange(1, width + 1, dtype=np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    return _splitmix(positions) | np.uint64(1)


@lru_cache(maxsize=256)
def _position_key_ints(width: int) -> tuple[int, ...]:
    return tuple(_position_keys(width).tolist())


def _text_code_of(value: str) -> float:
    """:func:`text_codes` of one value, with Python integers (the same arithmetic)."""
    total = sum(map(mul, map(ord, value), _position_key_ints(len(value))))
    state = total & _MASK
    state = ((state ^ (state >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    state = ((state ^ (state >> 27)) * 0x94D049BB133111EB) & _MASK
    return float((state ^ (state >> 31)) >> 16)


_MASK = (1 << 64) - 1


def _splitmix(state: np.ndarray) -> np.ndarray:
    state = (state ^ (state >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    state = (state ^ (state >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return state ^ (state >> np.uint64(31))


__all__ = ["TIMESTAMP_LIMIT", "IngestReport", "MemoryFeatureState", "RejectedEvent", "Routed",
           "SeriesBatch", "SeriesKey", "Timestamps", "text_code", "text_codes"]
