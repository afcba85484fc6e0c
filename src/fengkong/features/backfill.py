"""Point-in-time backfill: the features each historical application had when it was made.

Training data must see what the decision saw: for an application at time ``t``, only events
strictly before ``t``. The backfill replays history in time order through the same state and
kernels as the online path (:mod:`fengkong.features.kernels`): before each application, the
events older than it are ingested in batches; then its features are computed as of its own
time. Offline and online therefore cannot disagree by construction of the arithmetic, and
``tests/features/test_backfill.py`` checks the bookkeeping (ordering, batching, late and
duplicate events) against a state holding the whole history.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from fengkong.features.kernels import FeaturePlan
from fengkong.features.state import MemoryFeatureState


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
    state = MemoryFeatureState(plan)
    # Duplicates are dropped in arrival order (the order given), as the online path drops
    # them, before the replay reorders by time.
    seen: set[tuple[str, Any]] = set()
    arrived = []
    for event in events:
        if event.id is not None:
            if (event.type, event.id) in seen:
                continue
            seen.add((event.type, event.id))
        arrived.append(event)
    history = sorted(arrived, key=lambda event: event.timestamp)
    order = sorted(range(len(applications)), key=lambda index: applications[index][0])
    result = np.full((len(applications), len(plan.names)), np.nan)
    next_event = 0
    for index in order:
        as_of, keys = applications[index]
        stop = next_event
        while stop < len(history) and history[stop].timestamp < as_of:
            stop += 1
        _ingest(state, history[next_event:stop])
        next_event = stop
        result[index] = state.compute(keys, as_of)
    return result


def _ingest(state: MemoryFeatureState, events: Sequence[Event]) -> None:
    by_type: dict[str, list[Event]] = {}
    for event in events:
        by_type.setdefault(event.type, []).append(event)
    for event_type, batch in by_type.items():
        state.ingest_many(event_type, [event.record for event in batch],
                          [event.timestamp for event in batch],
                          [event.id for event in batch])
