"""``POST /v1/events``: logins, repayments, overdues... into the event log and the features.

A batch is checked against the project's event types first (a bad event is reported with
its index and field, the others go on), then the accepted events are written to the
store's event log — durable before the answer — and only then applied to the feature
state, so that no acknowledged event is lost and none is counted twice. Duplicates (an
event id already logged) are reported, not applied again. Batches are applied one at a
time: the feature state is not shared between a batch that is being written and the next.

Body::

    {"events": [{"id": "E1", "type": "login", "data": {"phone": "...", "login_at": "..."}}]}
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from fengkong.service.metrics import ServiceMetrics
from fengkong.service.problems import Problem
from fengkong.store import EventRecord, Store, StoreUnavailable

MAX_EVENTS = 10_000  # per request; a stream consumer sends batches of about a thousand


class EventIntake:
    """Checks, logs and applies event batches for one tenant."""

    def __init__(self, state: Any, store: Store, metrics: ServiceMetrics,
                 tenant: str = "default") -> None:
        self.state = state
        self.store = store
        self.metrics = metrics
        self.tenant = tenant
        self._one_batch_at_a_time = asyncio.Lock()

    async def receive(self, body: Any) -> dict[str, Any]:
        """The outcome of every event of the batch: counts and the rejected ones."""
        events = _events(body)
        if self.state is None:
            raise Problem(422, "no-event-types", "This strategy takes no events",
                          "the project declares no event types (features/*.yaml), so events "
                          "have no schema, no time and no feature to update")
        async with self._one_batch_at_a_time:
            return await self._receive(events)

    async def _receive(self, events: list[dict[str, Any]]) -> dict[str, Any]:
        rejected: list[dict[str, Any]] = []
        by_type: dict[str, list[int]] = defaultdict(list)
        known = set(self.state.plan.events) or None  # a plan without a spec takes any type
        for index, event in enumerate(events):
            if known is not None and event["type"] not in known:
                rejected.append({"index": index, "field": f"events[{index}].type",
                                 "message": f"unknown event type {event['type']!r} (known: "
                                            f"{', '.join(sorted(known))})"})
            else:
                by_type[event["type"]].append(index)
        routed_batches = []
        records: list[EventRecord] = []
        received_at = datetime.now(UTC)
        for event_type, indexes in by_type.items():
            routed = self.state.routed(event_type, [events[i]["data"] for i in indexes], None,
                                       [events[i]["id"] for i in indexes])
            for bad in routed.report.rejected:
                index = indexes[bad.index]
                field = f"events[{index}].data" + (f".{bad.field}" if bad.field else "")
                rejected.append({"index": index, "field": field, "message": bad.message})
            for row in routed.rows:
                index = indexes[row]
                records.append(EventRecord(
                    tenant=self.tenant, event_id=events[index]["id"], event_type=event_type,
                    occurred_at=datetime.fromtimestamp(int(routed.timestamps[row]) / 1000, UTC),
                    payload=events[index]["data"], received_at=received_at))
            routed_batches.append((event_type, routed))
        try:
            fresh = await asyncio.to_thread(self.store.append_events, records) if records else []
        except StoreUnavailable:
            # Not logged, so not acknowledged: the same events sent again are not duplicates.
            for event_type, routed in routed_batches:
                self.state.seen_ids.difference_update(
                    (event_type, routed.event_ids[row]) for row in routed.rows)
            raise Problem(503, "store-unavailable", "Events cannot be recorded right now",
                          "the event log did not confirm the write; nothing was applied, "
                          "send the batch again", headers={"Retry-After": "1"}) from None
        for _, routed in routed_batches:
            self.state.apply(routed.batches)
        accepted = sum(fresh)
        duplicates = (sum(routed.report.duplicates for _, routed in routed_batches)
                      + fresh.count(False))
        for record, new in zip(records, fresh, strict=True):
            self.metrics.events.labels(record.event_type, "new" if new else "duplicate").inc()
        rejected.sort(key=lambda entry: entry["index"])
        return {"accepted": accepted, "duplicates": duplicates, "rejected": rejected}


def _events(body: Any) -> list[dict[str, Any]]:
    """The batch's events, each checked for shape (id, type, data), or a 422 problem."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise Problem(422, "validation", "The batch is not valid",
                      'the body must be {"events": [...]}',
                      errors=[{"field": "events", "message": "must be a list of events"}])
    events = body["events"]
    if len(events) > MAX_EVENTS:
        raise Problem(413, "too-many-events", "Too many events in one batch",
                      f"{len(events)} events; send at most {MAX_EVENTS:,} per request")
    errors = []
    for index, event in enumerate(events):
        where = f"events[{index}]"
        if not isinstance(event, dict):
            errors.append({"field": where, "message": "must be an object"})
            continue
        for name, kind in (("id", str), ("type", str), ("data", dict)):
            if not isinstance(event.get(name), kind) or (kind is str and not event[name]):
                text = "non-empty text" if kind is str else "an object"
                errors.append({"field": f"{where}.{name}", "message": f"must be {text}"})
    if errors:
        raise Problem(422, "validation", "The batch is not valid",
                      f"{len(errors)} event(s) are malformed; nothing was recorded",
                      errors=errors)
    return events
