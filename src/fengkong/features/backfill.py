"""Point-in-time backfill: the features each historical application had when it was made.

Training data must see what the decision saw: for an application at time ``t``, only events
strictly before ``t``. The backfill replays history in time order through the same state and
kernels as the online path (:class:`~fengkong.features.state.MemoryFeatureState`): the
applications are taken in time order, a chunk at a time; before each chunk the events older
than its last application are ingested; then each application's features are computed as
of its own time (events between it and the end of its chunk are in the state but not
counted: the kernels count strictly before ``as_of``). Offline and online therefore cannot
disagree by construction of the arithmetic; ``tests/features/test_backfill.py`` checks the
bookkeeping (ordering, chunking, late and duplicate events, the files) against the online
state answering as a service would, feature by feature.

Unlike the online path, the backfill knows every application in advance, so it ingests
only the events some application will count and drops a key value's series after its last
application (:class:`_Readers`): memory holds the series still to be read.

:func:`backfill` works on events in memory; :func:`backfill_files` reads event logs and an
applications table (Parquet or CSV, :mod:`fengkong.features.offline`) and streams the
features to Parquet, using several processes: the features are split by (entity key, event
type) group, since a group's features read only its own series, so each process ingests and
computes its share and none holds the whole state.
"""

from __future__ import annotations

import multiprocessing
import queue
import traceback
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from contextlib import closing
from dataclasses import dataclass
from fnmatch import fnmatchcase
from itertools import repeat
from pathlib import Path
from typing import Any

import numpy as np

from fengkong.errors import FengkongError
from fengkong.features.kernels import FeaturePlan
from fengkong.features.offline import (
    ApplicationTable,
    EventColumns,
    FeatureWriter,
    OfflineInputError,
    count_rows,
    filter_fields,
    read_applications,
    read_events,
)
from fengkong.features.spec import FeatureSet, FeatureSpecError
from fengkong.features.state import MemoryFeatureState

__all__ = ["BackfillReport", "Event", "backfill", "backfill_files", "replay",
           "select_features"]

_NEVER = np.iinfo(np.int64).min  # the last read of a key value no application reads
CHUNK_ROWS = 10_000  # applications per chunk: 10,000 x 1,000 features is 80 MB of float64


@dataclass(frozen=True)
class Event:
    """One historical event: its type, time (epoch ms), fields and id (for duplicates)."""

    type: str
    timestamp: int
    record: Mapping[str, Any]
    id: Any = None


def backfill(plan: FeaturePlan, events: Sequence[Event],
             applications: Sequence[tuple[int, Mapping[str, Any]]]) -> np.ndarray:
    """The planned features of each application ``(timestamp, keys)``, as of its timestamp.

    ``events`` are in arrival order (a duplicate id keeps its first arrival, as online).

    Returns a float64 matrix, one row per application in the order given, one column per
    feature in ``plan.names`` (NaN where a feature has no value).
    """
    by_type: dict[str, list[Event]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    columns = {event_type: _columns_of(batch) for event_type, batch in by_type.items()}
    as_of = np.array([stamp for stamp, _ in applications], dtype=np.int64)
    keys = {key: _objects([found.get(key) for _, found in applications]) for key in plan.keys}
    result = np.full((len(applications), len(plan.names)), np.nan)
    for rows, values in replay(plan, columns, as_of, keys):
        result[rows] = values
    return result


def replay(plan: FeaturePlan, events: Mapping[str, EventColumns], as_of: np.ndarray,
           keys: Mapping[str, np.ndarray], chunk_rows: int = CHUNK_ROWS
           ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Replay ``events`` (by type, in arrival order) and compute the planned features of each
    application (``as_of`` times, and the value of every key of ``plan.keys``).

    Yields ``(rows, values)`` per chunk of applications in time order (ties in the order
    given): the applications' positions and their features, one row each, one column per
    feature of ``plan.names`` (NaN where a feature has no value).
    """
    state = MemoryFeatureState(plan)
    order = np.argsort(as_of, kind="stable")
    # Python values once, not one NumPy scalar per lookup.
    times = as_of.tolist()
    key_values = [(key, keys[key].tolist()) for key in plan.keys]
    readers = _Readers(plan, key_values, order, as_of[order].tolist())
    histories = [_History(event_type, events[event_type], plan, readers)
                 for event_type in dict.fromkeys(group.layout.event for group in plan.groups)
                 if event_type in events]
    for chunk in _chunks(as_of[order], chunk_rows, plan.late_tolerance_ms):
        rows = order[chunk]
        readers.retire(state, int(as_of[rows[0]]))
        for history in histories:
            history.ingest_before(state, int(as_of[rows[-1]]))
        values = np.empty((len(rows), len(plan.names)))
        for position, row in enumerate(rows.tolist()):
            time = times[row]
            found = {key: values_of[row] for key, values_of in key_values}
            values[position] = state.compute(found, time)
            readers.read(found, time)
        yield rows, values


class _Readers:
    """When each key value is read for the last time, which the backfill knows in advance
    (unlike the online path): later events of it, and events of values no application
    reads, count for nothing and need not be ingested, and its series can be dropped once
    read for the last time. Memory then holds the series still to be read, not every
    series ever seen."""

    def __init__(self, plan: FeaturePlan, key_values: list[tuple[str, list[Any]]],
                 order: np.ndarray, sorted_times: list[int]) -> None:
        # In time order, a later application overwrites an earlier one's time.
        self.last = {key: dict(zip(np.asarray(values, dtype=object)[order].tolist(),
                                   sorted_times, strict=True)) for key, values in key_values}
        for last in self.last.values():
            last.pop(None, None)  # an unknown key value reads nothing
        self.events_of: dict[str, list[str]] = {}
        for group in plan.groups:
            self.events_of.setdefault(group.key, []).append(group.layout.event)
        self.retired: dict[str, set[Any]] = {key: set() for key in self.last}
        self._retiring: list[tuple[int, str, Any]] = []

    def read(self, keys: Mapping[str, Any], time: int) -> None:
        """These key values were read at ``time``: remember those read for the last time."""
        for key, value in keys.items():
            if self.last[key].get(value) == time:
                self._retiring.append((time, key, value))

    def retire(self, state: MemoryFeatureState, now: int) -> None:
        """Drop the series of the key values last read before ``now``."""
        waiting = []
        for last, key, value in self._retiring:
            if last < now:
                self.drop(state, key, value)
                self.retired[key].add(value)
            else:  # another application at the same instant still reads it
                waiting.append((last, key, value))
        self._retiring = waiting

    def drop(self, state: MemoryFeatureState, key: str, value: Any) -> None:
        for event_type in self.events_of[key]:
            state.forget((key, value, event_type))


def _chunks(times: np.ndarray, rows: int, span: int | None) -> Iterator[slice]:
    """Consecutive runs of the sorted ``times``: at most ``rows`` long, and at most ``span``
    ms from first to last. The state answers exactly as of ``span`` (its late tolerance)
    before its newest event, and the chunk's events reach up to its last application."""
    start = 0
    while start < len(times):
        stop = min(start + rows, len(times))
        if span is not None:
            stop = min(stop, int(np.searchsorted(times, times[start] + span, side="right")))
        yield slice(start, stop)
        start = stop


class _History:
    """One event type's history in time order, ingested up to a moving instant."""

    def __init__(self, event_type: str, events: EventColumns, plan: FeaturePlan,
                 readers: _Readers) -> None:
        self.event_type = event_type
        self.source = events.source
        self.readers = readers
        # Duplicates are dropped in arrival order, as the online path drops them, before the
        # replay reorders by time; the state then needs no memory of ids.
        kept = _first_arrivals(events.event_ids, len(events))
        timestamps = events.timestamps[kept]
        columns = {name: column[kept] for name, column in events.columns.items()}
        groups = [group for group in plan.groups if group.layout.event == event_type]
        # A key that some feature also reads as a value (distinct devices per phone) or in a
        # filter keeps its values; its series of retired values are dropped after ingesting.
        self.shared = set(filter_fields((source for group in groups
                                         for source in group.layout.filters), columns))
        self.shared.update(name for group in groups for name in group.layout.value_fields)
        # Under each key, an event counts only before the last application reading its key
        # value (see _Readers); one that no key reads is not ingested at all.
        read_by_any = np.zeros(len(kept), dtype=bool)
        for key in dict.fromkeys(group.key for group in groups):
            if key not in columns:
                continue
            limits = np.fromiter(map(readers.last[key].get, columns[key].tolist(),
                                     repeat(_NEVER)), dtype=np.int64, count=len(kept))
            read = timestamps < limits
            if key not in self.shared and not read.all():
                column = columns[key] = columns[key].astype(object)
                column[~read] = None
            read_by_any |= read
        ordered = np.flatnonzero(read_by_any)[np.argsort(timestamps[read_by_any],
                                                          kind="stable")]
        self.rows = kept[ordered]
        self.timestamps = timestamps[ordered]
        self.columns = {name: column[ordered] for name, column in columns.items()}
        self.ingested = 0

    def ingest_before(self, state: MemoryFeatureState, until: int) -> None:
        """Ingest the events older than ``until`` not ingested yet; an event the state
        refuses is an error naming its row (1-based, in the events given)."""
        start = self.ingested
        stop = int(np.searchsorted(self.timestamps, until, side="left"))
        if stop <= start:
            return
        report = state.ingest_columns(self.event_type,
                                      {name: column[start:stop]
                                       for name, column in self.columns.items()},
                                      self.timestamps[start:stop])
        if report.rejected:
            rejected = report.rejected[0]
            raise OfflineInputError(f"{self.source}, row {self.rows[start + rejected.index] + 1}"
                                    f": {rejected.message}", field=rejected.field)
        for key, retired in self.readers.retired.items():
            if key in self.shared and key in self.columns:
                for value in retired.intersection(self.columns[key][start:stop].tolist()):
                    self.readers.drop(state, key, value)
        self.ingested = stop


def _first_arrivals(ids: np.ndarray | None, count: int) -> np.ndarray:
    """Positions of the events to keep, in arrival order: an id's first arrival, and every
    event without an id."""
    if ids is None:
        return np.arange(count)
    present = np.array([found is not None for found in ids.tolist()], dtype=bool) \
        if ids.dtype == object else np.ones(count, dtype=bool)
    where = np.flatnonzero(present)
    _, first = np.unique(ids[where], return_index=True)
    keep = ~present
    keep[where[first]] = True
    return np.flatnonzero(keep)


def _objects(values: list[Any]) -> np.ndarray:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return array


def _columns_of(events: Sequence[Event]) -> EventColumns:
    names = dict.fromkeys(name for event in events for name in event.record)
    ids = [event.id for event in events]
    return EventColumns(np.array([event.timestamp for event in events], dtype=np.int64),
                        {name: _objects([event.record.get(name) for event in events])
                         for name in names},
                        None if all(found is None for found in ids) else _objects(ids))


# -- files ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BackfillReport:
    """What a file backfill wrote."""

    path: Path
    rows: int
    features: tuple[str, ...]
    workers: int


def select_features(spec: FeatureSet, patterns: Sequence[str]) -> list[str]:
    """The names of the spec's features matching any of ``patterns`` (shell-style globs,
    ``*`` also crossing dots: ``phone.*``, ``*.login.*.7d``), in spec order. A pattern that
    matches nothing is an error, as it is almost always a typo."""
    names = [feature.name for feature in spec.features]
    for pattern in patterns:
        if not any(fnmatchcase(name, pattern) for name in names):
            raise FeatureSpecError(f"no feature matches {pattern!r}", field=pattern)
    return [name for name in names if any(fnmatchcase(name, pattern) for pattern in patterns)]


def backfill_files(spec: FeatureSet, events: Mapping[str, str | Path],
                   applications: str | Path, out: str | Path, *,
                   features: Sequence[str] = ("*",), id_column: str = "application_id",
                   time_column: str = "as_of", workers: int = 1,
                   chunk_rows: int = CHUNK_ROWS,
                   progress: Callable[[int, int], None] | None = None) -> BackfillReport:
    """Backfill the features matching ``features`` for every application in the
    ``applications`` file, from ``events`` (a file per event type), into Parquet at ``out``.

    Rows come out in ``as_of`` order (ties in file order), in row groups of about
    ``chunk_rows`` applications; ``progress(done, total)`` is called after each.
    ``workers`` processes share the features by (entity key, event type) group.
    """
    names = select_features(spec, features)
    chosen = spec.select(names)
    needed = list(dict.fromkeys(feature.event for feature in chosen.features
                                if feature.event is not None))
    unknown = sorted(set(events) - set(spec.events))
    if unknown:
        raise OfflineInputError(f"unknown event type {unknown[0]!r} for an events file "
                                f"(known: {', '.join(spec.events)})", field=unknown[0])
    for event_type in needed:
        if event_type not in events:
            raise OfflineInputError(f"no events file for {event_type!r}, which the selected "
                                    f"features read (give {event_type}=PATH)",
                                    field=event_type)
    table = read_applications(applications, {}, id_column, time_column)
    sizes = {event_type: count_rows(events[event_type]) for event_type in needed} \
        if workers > 1 else {}
    jobs = [_Job(spec, tuple(share), {event_type: str(events[event_type])
                                      for event_type in needed},
                 str(applications), id_column, time_column, chunk_rows)
            for share in _partition(chosen, names, sizes, len(table), max(1, workers))]
    slots = {name: index for index, name in enumerate(names)}
    total = len(table)
    # Written aside and renamed when complete: a failed run leaves no half file behind.
    partial = Path(f"{out}.partial")
    try:
        with FeatureWriter(partial, id_column, table.ids.type, names) as writer, \
                closing(_run(jobs)) as chunks:
            # Replay chunks end where the state's late tolerance does (a day): gathered into
            # row groups of about chunk_rows, as a row group of a few dozen rows would make
            # the file mostly metadata.
            pending: list[tuple[np.ndarray, np.ndarray]] = []
            for parts in chunks:
                rows = parts[0][0]  # every job takes the same chunks of the same rows
                values = np.empty((len(rows), len(names)))
                for job, (_, part) in zip(jobs, parts, strict=True):
                    values[:, [slots[name] for name in job.names]] = part
                pending.append((rows, values))
                if sum(len(rows) for rows, _ in pending) >= chunk_rows:
                    _write(writer, table, pending, progress)
            _write(writer, table, pending, progress)
        partial.replace(out)
    finally:
        partial.unlink(missing_ok=True)
    return BackfillReport(Path(out), total, tuple(names), len(jobs))


def _write(writer: FeatureWriter, table: ApplicationTable,
           pending: list[tuple[np.ndarray, np.ndarray]],
           progress: Callable[[int, int], None] | None) -> None:
    """Write the pending chunks as one row group, and say how far the backfill is."""
    if not pending:
        return
    rows = np.concatenate([rows for rows, _ in pending])
    values = np.concatenate([values for _, values in pending])
    pending.clear()
    writer.write(table.ids.take(rows), table.as_of[rows], values)
    if progress is not None:
        progress(writer.rows, len(table))


@dataclass(frozen=True)
class _Job:
    """One process's share of a file backfill: the features it writes, and where to read."""

    spec: FeatureSet
    names: tuple[str, ...]
    events: dict[str, str]
    applications: str
    id_column: str
    time_column: str
    chunk_rows: int

    def chunks(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """This share's features for each chunk of applications, in time order: the
        applications' rows (positions in the file) and their values."""
        chosen = self.spec.select(self.names)  # ratios bring the features they divide
        plan = FeaturePlan(chosen.features, chosen.events)
        histories = {}
        for event_type in dict.fromkeys(group.layout.event for group in plan.groups):
            groups = [group for group in plan.groups if group.layout.event == event_type]
            declared = chosen.events[event_type].fields
            fields = {group.key for group in groups}
            fields.update(name for group in groups for name in group.layout.value_fields)
            fields |= filter_fields((source for group in groups
                                     for source in group.layout.filters), declared)
            histories[event_type] = read_events(self.events[event_type],
                                                chosen.events[event_type], sorted(fields))
        key_types = {key: next(event.fields[key] for event in chosen.events.values()
                               if key in event.fields) for key in plan.keys}
        table = read_applications(self.applications, key_types, self.id_column,
                                  self.time_column)
        slots = [plan.names.index(name) for name in self.names]
        for rows, values in replay(plan, histories, table.as_of, table.keys,
                                   self.chunk_rows):
            yield rows, values[:, slots]


def _partition(chosen: FeatureSet, names: Sequence[str], events: Mapping[str, int],
               applications: int, workers: int) -> list[list[str]]:
    """The output features split into at most ``workers`` shares by (key, event type)
    group — a group's features read only its own series — balancing the work (largest
    first, each to the least loaded share). A ratio goes with its numerator's group (the
    share computes its denominator too, whatever the group).

    What a group costs, as measured on the example spec: each event of its type
    (``events``: how many) is routed, and coded once more for each text field the group
    counts distinct values of; each application reads the group's features, about ten
    features costing what routing an event does."""
    group_of = {feature.name: (feature.key, feature.event) for feature in chosen.features}
    groups = dict.fromkeys(group_of[name] for name in names)
    features = dict.fromkeys(groups, 0)
    texts: dict[tuple[Any, Any], set[str]] = {group: set() for group in groups}
    for feature in chosen.features:
        group = (feature.key, feature.event)
        if group not in groups:
            continue
        features[group] += 1
        if feature.field is not None and \
                chosen.events[feature.event].fields[feature.field] == "string":
            texts[group].add(feature.field)
    cost = {group: events.get(str(group[1]), 0) * (1 + len(texts[group])) +
            applications * (1 + features[group] / 10) for group in groups}
    shares: list[list[str]] = [[] for _ in range(min(workers, len(cost)))]
    loads = [0.0] * len(shares)
    share_of = {}
    for group in sorted(cost, key=lambda group: -cost[group]):
        lightest = loads.index(min(loads))
        share_of[group] = lightest
        loads[lightest] += cost[group]
    for name in names:
        shares[share_of[group_of[name]]].append(name)
    return [share for share in shares if share]


def _run(jobs: Sequence[_Job]) -> Generator[list[tuple[np.ndarray, np.ndarray]]]:
    """Each chunk's parts, one per job: in this process for one job, else one process each."""
    if len(jobs) == 1:
        for part in jobs[0].chunks():
            yield [part]
        return
    # Spawned, not forked: the parent may already run DuckDB's and numba's threads.
    context = multiprocessing.get_context("spawn")
    queues = [context.Queue(maxsize=2) for _ in jobs]  # bounded: workers wait for the writer
    processes = [context.Process(target=_work, args=(job, results), daemon=True)
                 for job, results in zip(jobs, queues, strict=True)]
    for process in processes:
        process.start()
    try:
        while True:
            parts = [_receive(results, process) for results, process in
                     zip(queues, processes, strict=True)]
            if all(part is None for part in parts):
                return
            yield [part for part in parts if part is not None]
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()
            process.join()


def _work(job: _Job, results: Any) -> None:
    """A worker process: send each chunk's part, then None; or the error that stopped it."""
    try:
        for part in job.chunks():
            results.put(("part", part))
        results.put(("done", None))
    except FengkongError as error:
        results.put(("error", str(error)))
    except Exception:  # a bug: its traceback goes to the parent, which raises it
        results.put(("crash", traceback.format_exc()))


def _receive(results: Any, process: Any) -> tuple[np.ndarray, np.ndarray] | None:
    while True:
        try:
            kind, payload = results.get(timeout=1.0)
        except queue.Empty:
            if not process.is_alive():
                raise RuntimeError(f"backfill worker {process.pid} died (exit code "
                                   f"{process.exitcode}); out of memory?") from None
            continue
        if kind == "error":
            raise OfflineInputError(payload)
        if kind == "crash":
            raise RuntimeError(f"backfill worker failed:\n{payload}")
        return payload if kind == "part" else None
