"""Deciding one application over HTTP: validate, replay or evaluate, record, then answer.

The order is the contract with the lender:

1. the body is parsed and checked (400 for bad JSON, 404 for an unknown flow, 422 for an
   application the flow's schema or nodes refuse, naming the field);
2. the flow runs; its result must carry an outcome (``decision``: APPROVE, REJECT or
   REVIEW), else the strategy is broken and nothing is recorded (500);
3. the decision is written to the store and **fsynced before the answer** (group commit);
   if the store cannot write, the caller gets 503 and no decision (fail closed);
4. an application id or ``Idempotency-Key`` that already has a decision gets that decision
   back, never a second one: the store's writer checks inside the transaction that would
   record it, so a retry and two concurrent requests alike get the first decision (a
   different body under the same id is a 409). Retries are rare, so they are not looked
   up before the flow runs: that read would cost every application a database round trip;
5. only a newly recorded decision becomes an event in the feature state, applied before
   the next evaluation, so the next application sees this one in its velocity variables.

Everything runs on the event loop's thread except the store's writer, so the feature state
needs no lock; a decision costs the loop its evaluation time (about a millisecond).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from fengkong.errors import FengkongError
from fengkong.service.metrics import ServiceMetrics
from fengkong.service.problems import Problem, from_error, invalid_json
from fengkong.store import (
    DecisionRecord,
    DuplicateDecision,
    Store,
    StoredDecision,
    StoreUnavailable,
)

log = logging.getLogger("fengkong.service")

OUTCOMES = ("APPROVE", "REJECT", "REVIEW")
APPLICATION_ID = "applicationId"  # where the loan-origination system puts its id
MAX_ID_LENGTH = 128


class DecisionDesk:
    """Decides applications for one strategy version against one store.

    ``project`` gives the flows, the strategy version and the decision -> event mapping;
    ``engine`` evaluates flows with the feature ``state`` as its features service.
    """

    def __init__(self, project: Any, engine: Any, store: Store, state: Any,
                 metrics: ServiceMetrics, tenant: str = "default") -> None:
        self.project = project
        self.engine = engine
        self.store = store
        self.state = state
        self.metrics = metrics
        self.tenant = tenant
        # Decided applications waiting to become events: applied in one batch right before
        # the next evaluation (one ingest per group commit instead of one per decision).
        self._pending: list[tuple[str, dict[str, Any], int]] = []

    async def decide(self, flow: str, body: bytes,
                     idempotency_key: str | None) -> tuple[StoredDecision, bool]:
        """The recorded decision for this application and whether it was already recorded
        (a replay). Raises :class:`Problem` for every refusal."""
        started = time.perf_counter()
        if flow not in self.project.flows:
            raise Problem(404, "unknown-flow", "No such flow",
                          f"flow {flow!r} is not in strategy {self.project.name!r} "
                          f"(flows: {', '.join(sorted(self.project.flows))})")
        application = parse_application(body)
        application_id = _application_id(application)
        key = _idempotency_key(idempotency_key)

        result, trace = self._evaluate(flow, application)
        outcome = result.get("decision") if isinstance(result, dict) else None
        if outcome not in OUTCOMES:
            raise Problem(500, "strategy-error", "The strategy gave no outcome",
                          f"flow {flow!r} must put one of {', '.join(OUTCOMES)} in its "
                          f"result's 'decision'; it gave {outcome!r}. Nothing was recorded.")
        record = DecisionRecord(
            tenant=self.tenant, flow=flow, strategy_version=self.project.version,
            application_id=application_id, idempotency_key=key, request=application,
            response={"outcome": outcome, "result": result},
            outcome=outcome, trace=compact_trace(trace), features=used_features(trace),
            latency_ms=round((time.perf_counter() - started) * 1000, 3),
            decided_at=datetime.now(UTC))
        try:
            stored = await asyncio.wrap_future(self.store.submit_decision(record))
        except DuplicateDecision as error:
            raise Problem(422, "idempotency-key-reused", "This Idempotency-Key decided another "
                          "application", str(error), errors=[
                              {"field": "Idempotency-Key", "message": error.message}]) from None
        except StoreUnavailable as error:
            log.error("decision store unavailable: %s", error)
            raise Problem(503, "store-unavailable", "Decisions cannot be recorded right now",
                          "the decision store did not confirm the write, so no decision is "
                          "given; retry with the same application id",
                          headers={"Retry-After": "1"}) from None
        if stored.replayed:  # a retry, or a concurrent request for it that was recorded first
            return self._replay(stored, flow, application), True
        self._remember(flow, application, result)
        self.metrics.decisions.labels(flow, outcome).inc()
        self.metrics.decision_seconds.labels(flow).observe(time.perf_counter() - started)
        return stored, False

    def _evaluate(self, flow: str, application: dict[str, Any]
                  ) -> tuple[Any, dict[str, Any]]:
        self._apply_pending()
        try:
            response = self.engine.evaluate(flow, application, trace="steps")
        except FengkongError as error:
            raise from_error(error) from None
        except Exception:  # a bug in a node must not become a traceback for the caller
            log.exception("flow %r failed", flow)
            raise Problem(500, "strategy-error", "The strategy failed on this application",
                          f"flow {flow!r} raised an internal error; nothing was recorded"
                          ) from None
        return response["result"], response.get("trace") or {}

    def _replay(self, stored: StoredDecision, flow: str,
                application: dict[str, Any]) -> StoredDecision:
        # The stored request reads back as JSON does (1.0 as 1), and Python compares those
        # equal: no fingerprint of every request is needed for the rare retry.
        if stored.request != application or stored.flow != flow:
            raise Problem(409, "already-decided", "This application was already decided",
                          f"application {stored.application_id!r} has decision "
                          f"{stored.decision_id} (flow {stored.flow!r}); a retry must send "
                          "the same flow and body", decisionId=stored.decision_id)
        self.metrics.replays.labels(flow).inc()
        return stored

    def _remember(self, flow: str, application: dict[str, Any], result: Any) -> None:
        """Queue the decided application (durable by now) as an event of the feature state;
        the next evaluation applies it first, so it sees this application."""
        try:
            event = self.project.decision_event(flow, application, result)
        except FengkongError as error:
            # The decision stands (it is recorded); the feature state misses one event.
            log.error("decision on flow %r not added to the feature state: %s", flow, error)
            self.metrics.events.labels(flow, "rejected").inc()
            return
        if event is not None:
            self._pending.append(event)

    def _apply_pending(self) -> None:
        if not self._pending or self.state is None:
            return
        pending, self._pending = self._pending, []
        by_type: dict[str, tuple[list[Any], list[int]]] = {}
        for event_type, fields, timestamp in pending:
            events, timestamps = by_type.setdefault(event_type, ([], []))
            events.append(fields)
            timestamps.append(timestamp)
        for event_type, (events, timestamps) in by_type.items():
            report = self.state.ingest_many(event_type, events, timestamps)
            self.metrics.events.labels(event_type, "new").inc(report.accepted)
            for rejected in report.rejected:
                log.error("a decided %r application not added to the feature state: %s",
                          event_type, rejected.message)
                self.metrics.events.labels(event_type, "rejected").inc()


def parse_application(body: bytes) -> dict[str, Any]:
    """The JSON object of a request body, or a 400/422 problem saying what is wrong."""
    try:
        application = json.loads(body, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise invalid_json(error.msg, error.lineno, error.colno, error.pos) from None
    except (UnicodeDecodeError, ValueError) as error:
        raise Problem(400, "invalid-json", "The request body is not valid JSON",
                      str(error)) from None
    if not isinstance(application, dict):
        raise Problem(422, "validation", "The application must be a JSON object",
                      f"got a JSON {type(application).__name__}", errors=[
                          {"field": "", "message": "must be an object"}])
    return application


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _application_id(application: Mapping[str, Any]) -> str | None:
    value = application.get(APPLICATION_ID)
    if value is None:
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_ID_LENGTH:
        raise Problem(422, "validation", "The application is not valid",
                      f"{APPLICATION_ID} must be text of 1 to {MAX_ID_LENGTH} characters",
                      errors=[{"field": APPLICATION_ID,
                               "message": f"must be text of 1 to {MAX_ID_LENGTH} characters"}])
    return value


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not value or len(value) > MAX_ID_LENGTH or not value.isprintable():
        raise Problem(400, "invalid-header", "Bad Idempotency-Key header",
                      f"Idempotency-Key must be 1 to {MAX_ID_LENGTH} printable characters")
    return value


def compact_trace(trace: Mapping[str, Any]) -> dict[str, Any]:
    """What each node did — name, order, time and the node's own trace data — without the
    context each node passed on (with a thousand features that would be most of the
    record; the features are recorded once, by :func:`used_features`)."""
    return {node_id: {"name": step.get("name"), "order": step.get("order"),
                      "performance": step.get("performance"),
                      "traceData": step.get("traceData")}
            for node_id, step in trace.items() if isinstance(step, Mapping)}


def used_features(trace: Mapping[str, Any]) -> dict[str, Any] | None:
    """The variables the flow's features nodes computed, as they were at decision time
    (the ``features`` object of the last node output that has one: later nodes pass the
    same object on)."""
    features = None
    for step in trace.values():
        output = step.get("output") if isinstance(step, Mapping) else None
        if isinstance(output, Mapping) and isinstance(output.get("features"), Mapping):
            features = output["features"]
    return dict(features) if features else None
