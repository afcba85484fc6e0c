"""Feature state in this process: routing events to their series, and computing features.

An event belongs to one series per (key, event type) group of the plan whose key it
carries: an application with a phone number, an ID number and a device updates three
series. Ingesting is two steps, kept apart so that other stores (durable, Redis) can put
something between them: :meth:`MemoryFeatureState.route` turns events into
:class:`SeriesBatch` es (timestamps, numeric values and filter verdicts per series), and
:meth:`MemoryFeatureState.apply` adds them to the series kept here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr import compile_expression
from fengkong.features.kernels import FeaturePlan, Series, compute

SeriesKey = tuple[str, Any, str]  # (key name, key value, event type)


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


@dataclass
class SeriesBatch:
    """New events of one series, in time order: what a store persists and applies."""

    series: SeriesKey
    timestamps: np.ndarray  # int64 epoch ms
    values: np.ndarray  # float64, one column per value field of the series' layout
    passes: np.ndarray  # bool, one column per filter of the series' layout


class MemoryFeatureState:
    """Series for every key value seen, in this process."""

    def __init__(self, plan: FeaturePlan) -> None:
        self.plan = plan
        self.series: dict[SeriesKey, Series] = {}
        self.seen_ids: set[tuple[str, Any]] = set()
        # Compiled ZEN filters, by source text (compiled once, shared by every group).
        self.filters = {source: compile_expression(source) for group in plan.groups
                        for source in group.layout.filters if source is not None}
        self._layouts = {(group.key, group.layout.event): group.layout for group in plan.groups}

    def ingest(self, event_type: str, event: Mapping[str, Any], timestamp: int,
               event_id: Any = None) -> bool:
        """Add one event to every series it belongs to; False for a duplicate event id."""
        report = self.ingest_many(event_type, [event], [timestamp],
                                  None if event_id is None else [event_id])
        return report.accepted == 1

    def ingest_many(self, event_type: str, events: Sequence[Mapping[str, Any]],
                    timestamps: Sequence[int], event_ids: Sequence[Any] | None = None
                    ) -> IngestReport:
        """Add a batch of events of one type (a stream consumer's batch). Same result as
        :meth:`ingest` one by one."""
        batches, report = self.route(event_type, events, timestamps, event_ids)
        self.apply(batches)
        return report

    def route(self, event_type: str, events: Sequence[Mapping[str, Any]],
              timestamps: Sequence[int], event_ids: Sequence[Any] | None = None
              ) -> tuple[list[SeriesBatch], IngestReport]:
        """The series batches of these events (duplicate ids dropped and remembered), and
        what became of each event."""
        keep = []
        report = IngestReport()
        for index in range(len(events)):
            if event_ids is not None and event_ids[index] is not None:
                marker = (event_type, event_ids[index])
                if marker in self.seen_ids:
                    report.duplicates += 1
                    continue
                self.seen_ids.add(marker)
            keep.append(index)
        times = np.asarray(timestamps, dtype=np.int64)[keep]
        order = np.argsort(times, kind="stable")
        times = times[order]
        rows = [events[keep[i]] for i in order.tolist()]
        verdicts: dict[str | None, np.ndarray] = {None: np.ones(len(rows), dtype=bool)}
        groups = [group for group in self.plan.groups if group.layout.event == event_type]
        # Every value field any group reads, converted once per event (not once per key).
        names = list(dict.fromkeys(name for group in groups
                                   for name in group.layout.value_fields))
        matrix = np.array([[_number(row.get(name)) for name in names] for row in rows],
                          dtype=np.float64).reshape(len(rows), len(names))
        column_of = {name: index for index, name in enumerate(names)}
        batches: list[SeriesBatch] = []
        for group in groups:
            layout = group.layout
            for source in layout.filters:
                if source is not None and source not in verdicts:
                    verdicts[source] = np.array([self._passes(source, row) for row in rows],
                                                dtype=bool)
            members: dict[Any, list[int]] = {}
            for position, row in enumerate(rows):
                key_value = row.get(group.key)
                if key_value is not None:
                    members.setdefault(key_value, []).append(position)
            values = matrix[:, [column_of[name] for name in layout.value_fields]]
            passes = np.stack([verdicts[source] for source in layout.filters], axis=1)
            batches.extend(SeriesBatch((group.key, key_value, event_type), times[positions],
                                       values[positions], passes[positions])
                           for key_value, positions in members.items())
        report.accepted = len(rows)
        return batches, report

    def apply(self, batches: Sequence[SeriesBatch]) -> None:
        """Add routed events to their series (created on first sight)."""
        for batch in batches:
            series = self.series.get(batch.series)
            if series is None:
                key, _, event_type = batch.series
                series = self.series[batch.series] = Series(self._layouts[key, event_type])
            series.add_many(batch.timestamps, batch.values, batch.passes)

    def compute(self, keys: Mapping[str, Any], as_of: int) -> np.ndarray:
        """Every planned feature for these key values, counting events strictly before
        ``as_of`` (epoch ms); NaN where a feature has no value."""
        return compute(self.plan, self.series, keys, as_of)

    def _passes(self, source: str, event: Mapping[str, Any]) -> bool:
        # A filter that cannot be evaluated on an event (amount >= 5000 with no amount) does
        # not count it, as a decision-table cell that fails does not match.
        try:
            return self.filters[source](event) is True
        except ExpressionEvaluationError:
            return False


def text_code(value: str) -> float:
    """A text value as a number for distinct counts: a 48-bit BLAKE2 digest, the same in
    every process and on every server (Python's ``hash`` of text is salted per process),
    exact in float64. A collision would undercount by one; at 2^48 it is not a concern."""
    return float(int.from_bytes(hashlib.blake2b(value.encode(), digest_size=6).digest(),
                                "little"))


def _number(value: Any) -> float:
    if type(value) in (int, float, bool):
        return float(value)
    if value is None:
        return np.nan
    return text_code(value if isinstance(value, str) else repr(value))


__all__ = ["IngestReport", "MemoryFeatureState", "RejectedEvent", "SeriesBatch", "SeriesKey",
           "text_code"]
