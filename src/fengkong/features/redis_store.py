"""Feature state in Redis, shared by several decision servers.

Every server keeps the same interface as :class:`~fengkong.features.state.MemoryFeatureState`
(``ingest``, ``ingest_many``, ``ingest_columns``, ``compute``); Redis holds what they share:

* **one string per series** (key value x event type): its events as fixed-size binary
  records — timestamp, the values the plan reads, the filter verdicts — appended in arrival
  order. ``APPEND`` is atomic, so a reader sees whole batches, never half a record.
* **one set of event ids per event type**, so that an event id is ingested once whichever
  server receives it.

Ingest routes the events locally (``MemoryFeatureState.routed``: checks, filters, text
codes, the series each event belongs to), then one Lua script checks the ids, marks them and
appends the records *atomically*: an id is marked if and only if its records are written, so
a server that dies mid-batch leaves nothing half done and the retry is not mistaken for a
duplicate. Ids that turn out to be taken (another server had them) are dropped and the rest
routed and sent again.

A query reads, in one round trip (a read-only script), each of the application's series from
the byte offset this server has already consumed to the end, decodes the new records into a
local cache of :class:`~fengkong.features.kernels.Series` (late records are merged in time
order there) and computes from the cache. The cache holds at most ``max_series`` series, least
recently used first out; an evicted series is read again from its start. Each read also
returns the Redis process's run id: after a restart or a failover, the new process may lack
records the cache holds, so the cache is dropped and read again. A series found *shorter*
than what was consumed (its keys deleted, the data flushed) is read again from its start too.

Records are laid out by the plan, so every key lives under ``namespace:fingerprint`` where the
fingerprint digests the plan's series layouts: servers with another spec use other keys and
never misread records. Key values (phone numbers, ID numbers) appear in no Redis key: a series
key is a BLAKE2 digest of (key name, event type, key value).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

try:
    import redis
except ModuleNotFoundError as missing:  # an optional extra: say which
    raise ModuleNotFoundError("the Redis feature state needs the redis client: "
                              "pip install 'fengkong[redis]'") from missing

from fengkong.errors import FengkongError
from fengkong.features.kernels import FeaturePlan, Series, compute
from fengkong.features.spec import EventValidationError
from fengkong.features.state import (
    IngestReport,
    MemoryFeatureState,
    Routed,
    SeriesBatch,
    SeriesKey,
    Timestamps,
)

RECORD_FORMAT = 1  # bump when the record encoding changes: it is part of the fingerprint

# KEYS: the id set, then the series strings; ARGV: the number of ids, the ids, then one packed
# record string per series. Returns the positions (0-based) of ids already taken; when there
# are any, nothing is written.
_INGEST = """
local count = tonumber(ARGV[1])
local taken = {}
for i = 1, count do
  if redis.call('SISMEMBER', KEYS[1], ARGV[1 + i]) == 1 then taken[#taken + 1] = i - 1 end
end
if #taken > 0 then return taken end
for i = 1, count do redis.call('SADD', KEYS[1], ARGV[1 + i]) end
for j = 2, #KEYS do redis.call('APPEND', KEYS[j], ARGV[count + j]) end
return taken
"""

# KEYS: series strings; ARGV: the byte offset consumed of each. Returns the Redis process's
# run id (new after a restart or a failover), then per series where the bytes start and the
# bytes to the end: from the offset, or from 0 when the string is shorter than the offset
# (its keys were deleted or flushed).
_READ = """#!lua flags=no-writes
local out = {string.match(redis.call('INFO', 'server'), 'run_id:(%x+)')}
for i = 1, #KEYS do
  local start = tonumber(ARGV[i])
  if redis.call('STRLEN', KEYS[i]) < start then start = 0 end
  out[2 * i] = start
  out[2 * i + 1] = redis.call('GETRANGE', KEYS[i], start, -1)
end
return out
"""


class RedisStateError(FengkongError):
    """The Redis feature state cannot be used as configured."""


def plan_fingerprint(plan: FeaturePlan) -> str:
    """A digest of what the records of ``plan`` contain: per (key, event type) group, the
    value fields and filters in column order, and the record format."""
    layouts = sorted([group.key, group.layout.event, list(group.layout.value_fields),
                      list(group.layout.filters)] for group in plan.groups)
    text = json.dumps([RECORD_FORMAT, layouts], separators=(",", ":"))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _token(value: Any) -> str:
    """A key value or event id as text, equal when the values are equal as dictionary keys
    of the memory store: 1, 1.0 and True are one, "1" is another."""
    if isinstance(value, str):
        return "s" + value
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "i" + str(int(value))
    return "r" + repr(value)


def _picked(keep: list[int], timestamps: Timestamps | None, event_ids: Sequence[Any] | None
            ) -> tuple[list[Any] | None, list[Any] | None]:
    """The timestamps and ids (when given) of the events at positions ``keep``."""
    times = None if timestamps is None else [timestamps[i] for i in keep]
    ids = None if event_ids is None else [event_ids[i] for i in keep]
    return times, ids


class RedisFeatureState:
    """Series shared through Redis; a local cache of them for computing."""

    def __init__(self, plan: FeaturePlan, client_or_url: redis.Redis | str, *,
                 namespace: str = "fengkong:features", max_series: int = 100_000,
                 replicas: int = 0, replica_timeout_ms: int = 100) -> None:
        """``client_or_url``: a ``redis.Redis`` (bytes responses) or a URL such as
        ``redis://127.0.0.1:6379/0``. ``max_series``: series kept in the local cache; at
        least the plan's number of groups, since one application reads one series each.
        ``replicas``: a batch is acknowledged only once that many replicas have it
        (``WAIT``), so that a failover cannot lose it."""
        if max_series < len(plan.groups):
            raise RedisStateError(f"max_series={max_series} is below the {len(plan.groups)} "
                                  "series one application reads")
        self._owns_client = isinstance(client_or_url, str)
        client = redis.Redis.from_url(client_or_url) if isinstance(client_or_url, str) \
            else client_or_url
        if client.get_connection_kwargs().get("decode_responses"):
            raise RedisStateError("the Redis client decodes responses to text; records are "
                                  "binary: use a client with decode_responses=False")
        self.client = client
        self.plan = plan
        self.prefix = f"{namespace}:{plan_fingerprint(plan)}:"
        self.max_series = max_series
        self.replicas = replicas
        self.replica_timeout_ms = replica_timeout_ms
        self._router = MemoryFeatureState(plan)  # routes only: its series stay empty
        self._layouts = {(group.key, group.layout.event): group.layout for group in plan.groups}
        # One record: the timestamp, the layout's values and its filter verdicts, packed.
        self._dtypes = {group: np.dtype([
            ("time", "<i8"), ("values", "<f8", (len(layout.value_fields),)),
            ("passes", "?", (len(layout.filters),))]) for group, layout in self._layouts.items()}
        self._append_script = client.register_script(_INGEST)
        self._read_script = client.register_script(_READ)
        self._series: OrderedDict[SeriesKey, Series] = OrderedDict()
        self._consumed: dict[SeriesKey, int] = {}  # bytes of each cached series applied
        self._server: bytes | None = None  # run id of the Redis process the cache came from

    def ingest(self, event_type: str, event: Mapping[str, Any], timestamp: Any = None,
               event_id: Any = None) -> bool:
        """Add one event to every series it belongs to; False for a duplicate event id. A
        bad event raises :class:`~fengkong.features.spec.EventValidationError`."""
        report = self.ingest_many(event_type, [event],
                                  None if timestamp is None else [timestamp],
                                  None if event_id is None else [event_id])
        if report.rejected:
            rejected = report.rejected[0]
            raise EventValidationError(rejected.message, field=rejected.field)
        return report.accepted == 1

    def ingest_many(self, event_type: str, events: Sequence[Any],
                    timestamps: Timestamps | None = None,
                    event_ids: Sequence[Any] | None = None) -> IngestReport:
        """Add a batch of events of one type; an id already ingested (by any server, or
        earlier in the batch) is a duplicate, a bad event is reported and the rest ingested.
        When this returns, every server's next query sees the batch."""
        def route(keep: list[int] | None) -> Routed:
            if keep is None:
                return self._router.routed(event_type, events, timestamps, event_ids)
            return self._router.routed(event_type, [events[i] for i in keep],
                                       *_picked(keep, timestamps, event_ids))

        return self._ingest(event_type, event_ids, route)

    def ingest_columns(self, event_type: str, columns: Mapping[str, Any],
                       timestamps: Timestamps | None = None,
                       event_ids: Sequence[Any] | None = None) -> IngestReport:
        """:meth:`ingest_many` for events given as columns: one sequence (or NumPy array)
        per field, all of the batch's length."""
        def route(keep: list[int] | None) -> Routed:
            if keep is None:
                return self._router.routed_columns(event_type, columns, timestamps, event_ids)
            return self._router.routed_columns(
                event_type, {name: [values[i] for i in keep] for name, values in columns.items()},
                *_picked(keep, timestamps, event_ids))

        return self._ingest(event_type, event_ids, route)

    def _ingest(self, event_type: str, event_ids: Sequence[Any] | None,
                route: Callable[[list[int] | None], Routed]) -> IngestReport:
        """Route the batch (``route(None)``: all of it; else the events at these positions),
        then write it. The router checks the events and ids and drops ids repeated within
        the batch; the ids other servers hold come back from the write, and their events are
        dropped and the rest routed again."""
        ids = None if event_ids is None else \
            event_ids.tolist() if isinstance(event_ids, np.ndarray) else list(event_ids)
        routed = route(None)
        keep = list(range(len(routed.timestamps)))
        held_elsewhere = 0
        while True:
            # Only Redis says which ids are taken: the router must not remember them (a batch
            # that failed to reach Redis would otherwise be refused when sent again).
            self._router.seen_ids.clear()
            marked = {} if ids is None else {_token(ids[keep[row]]): keep[row]
                                             for row in routed.rows
                                             if ids[keep[row]] is not None}
            dropped = self._write(event_type, marked, routed.batches)
            if not dropped:
                break
            held_elsewhere += len(dropped)
            keep = [index for index in keep if index not in dropped]
            routed = route(keep)
        report = routed.report
        report.duplicates += held_elsewhere
        report.rejected = [replace(entry, index=keep[entry.index]) for entry in report.rejected]
        return report

    def _write(self, event_type: str, marked: dict[str, int], batches: Sequence[SeriesBatch]
               ) -> set[int]:
        """Mark the ids and append the records, atomically; the events whose ids were
        already marked instead (then nothing is written)."""
        if not marked and not batches:
            return set()
        records = self._records(batches)
        keys = [self.prefix + "ids:" + event_type, *records]
        args: list[str | bytes | int] = [len(marked), *marked, *records.values()]
        if not self.replicas:
            taken = self._append_script(keys=keys, args=args)
        else:
            # WAIT covers the writes of its own connection (the pipeline keeps them on one),
            # this batch's and those before it: a resent batch found duplicate is confirmed
            # too, when its first sending went through the same connection.
            pipeline = self.client.pipeline(transaction=False)
            self._append_script(keys=keys, args=args, client=pipeline)
            pipeline.wait(self.replicas, self.replica_timeout_ms)
            taken, replicas = pipeline.execute()
            if replicas < self.replicas:
                raise RedisStateError(
                    f"only {replicas} of {self.replicas} Redis replicas confirmed the batch "
                    f"within {self.replica_timeout_ms} ms; it may be on the primary alone and "
                    "is not acknowledged: send it again (its ids make that safe)")
        order = list(marked.values())
        return {order[int(position)] for position in taken}

    def _records(self, batches: Sequence[SeriesBatch]) -> dict[str, bytes]:
        """The new records of each series (by Redis key), packed. Most batches are one
        event of one series, so the rows of each layout are packed together and cut."""
        by_layout: dict[tuple[str, str], list[SeriesBatch]] = {}
        for batch in batches:
            key, _, kind = batch.series
            by_layout.setdefault((key, kind), []).append(batch)
        records: dict[str, bytes] = {}
        for layout, members in by_layout.items():
            sizes = [len(batch.timestamps) for batch in members]
            rows = np.empty(sum(sizes), dtype=self._dtypes[layout])
            rows["time"] = np.concatenate([batch.timestamps for batch in members])
            rows["values"] = np.concatenate([batch.values for batch in members])
            rows["passes"] = np.concatenate([batch.passes for batch in members])
            packed = rows.tobytes()
            start = 0
            for batch, end in zip(members, np.cumsum(sizes) * rows.itemsize, strict=True):
                redis_key = self._redis_key(batch.series)
                records[redis_key] = records.get(redis_key, b"") + packed[start:end]
                start = end
        return records

    def compute(self, keys: Mapping[str, Any], as_of: int,
                plan: FeaturePlan | None = None) -> np.ndarray:
        """Every feature of ``plan`` (by default the state's; else one made by
        ``self.plan.select(...)``) for these key values, counting events strictly before
        ``as_of`` (epoch ms); NaN where a feature has no value. Reads what other servers
        ingested since this server last looked (in the series ``plan`` reads), in one round
        trip."""
        plan = plan or self.plan
        if any(self._layouts.get((group.key, group.layout.event)) is not group.layout
               for group in plan.groups):
            raise RedisStateError("the plan does not read this state's series: make it with "
                                  "state.plan.select(names)")
        wanted = [(group.key, keys[group.key], group.layout.event) for group in plan.groups
                  if keys.get(group.key) is not None]
        redis_keys = [self._redis_key(series) for series in wanted]
        replies = self._read_script(keys=redis_keys,
                                    args=[self._consumed.get(series, 0) for series in wanted])
        if replies[0] != self._server:
            if self._server is not None:
                # Another Redis process than the one this cache was read from (a failover to
                # a replica, a restart): it may lack writes the cache holds. Read it all again.
                self.clear_cache()
                replies = self._read_script(keys=redis_keys, args=[0] * len(wanted))
            self._server = replies[0]
        for index, series in enumerate(wanted):
            self._update(series, int(replies[2 * index + 1]), replies[2 * index + 2])
        # Evict only now: a series of this query must not go before its reply is applied.
        # This query's series were moved to the end, so the front is older ones.
        while len(self._series) > self.max_series:
            self._drop(next(iter(self._series)))
        return compute(plan, self._series, keys, as_of)

    def _update(self, series: SeriesKey, start: int, data: bytes) -> None:
        if start < self._consumed.get(series, 0):
            self._drop(series)  # the string is new from the start: so is the series
        cached = self._series.get(series)
        if cached is None:
            key, _, kind = series
            cached = self._series[series] = Series(self._layouts[key, kind])
        else:
            self._series.move_to_end(series)
        if data:
            rows = np.frombuffer(data, dtype=self._dtypes[series[0], series[2]])
            # Appends from several servers need not be in time order between them; a stable
            # sort keeps equal timestamps in arrival order, as the memory store does.
            rows = rows[np.argsort(rows["time"], kind="stable")]
            cached.add_many(rows["time"], rows["values"], rows["passes"])
        self._consumed[series] = start + len(data)

    def _drop(self, series: SeriesKey) -> None:
        self._series.pop(series, None)
        self._consumed.pop(series, None)

    def _redis_key(self, series: SeriesKey) -> str:
        key, value, kind = series
        return self.prefix + "s:" + hashlib.blake2b(
            f"{key}\0{kind}\0{_token(value)}".encode(), digest_size=16).hexdigest()

    def clear_cache(self) -> None:
        """Forget every cached series (the next queries read them from Redis again)."""
        self._series.clear()
        self._consumed.clear()

    @property
    def cached_series(self) -> int:
        return len(self._series)

    def close(self) -> None:
        """Release the connection if this state opened it (from a URL)."""
        self.clear_cache()
        if self._owns_client:
            self.client.close()


__all__ = ["RECORD_FORMAT", "RedisFeatureState", "RedisStateError", "plan_fingerprint"]
