"""Rebuilding the in-process feature state from the store when a server starts.

The store is the only durable record: every acknowledged event is in its event log and
every decided application in its decision log. The embedded feature state is memory, so a
server that restarts — after a crash or a deploy — replays both logs through the
project's spec and its ``events`` mapping, and the next application sees exactly the
velocity it would have seen without the restart. (A state shared through Redis needs no
replay; it outlives the server.)
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import Any

from fengkong.errors import FengkongError
from fengkong.store import Store

log = logging.getLogger("fengkong.service")

PAGE = 10_000


def restore_feature_state(project: Any, store: Store, state: Any, tenant: str) -> int:
    """Replay the tenant's logged events and decided applications into ``state``; returns
    how many events were applied."""
    if state is None:
        return 0
    applied = 0
    after = 0
    while True:  # the event log, in arrival order
        page = store.read_events(after_seq=after, limit=PAGE, tenant=tenant)
        if not page:
            break
        by_type: dict[str, tuple[list[Any], list[Any]]] = defaultdict(lambda: ([], []))
        for event in page:
            payloads, ids = by_type[event.event_type]
            payloads.append(event.payload)
            ids.append(event.event_id)
        for event_type, (payloads, ids) in by_type.items():
            applied += state.ingest_many(event_type, payloads, None, ids).accepted
        after = page[-1].seq
    after = 0
    while True:  # decided applications, as the service fed them when it decided
        decisions = store.read_decisions(after_seq=after, limit=PAGE, tenant=tenant)
        if not decisions:
            break
        for decision in decisions:
            try:
                event = project.decision_event(decision.flow, decision.request,
                                               decision.response.get("result"))
            except FengkongError as error:  # decided under a spec that has since changed
                log.warning("decision %s not replayed into the features: %s",
                            decision.decision_id, error)
                continue
            if event is not None:
                event_type, fields, timestamp = event
                applied += state.ingest_many(event_type, [fields], [timestamp]).accepted
        after = decisions[-1].seq
    if applied:
        log.info("feature state restored from the store: %d events", applied)
    return applied
