"""Prometheus metrics of the decision service: latency, outcomes, errors.

Operations watch three things on a decision API: how long decisions take (a histogram per
flow, so p99 can be alerted on), what they decide (approval rate moving is the first sign
of a broken strategy or a shifted population), and which errors callers get. Each app
keeps its own registry, so two apps in one process (tests) do not share counters.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

CONTENT_TYPE = CONTENT_TYPE_LATEST

# Decision latency buckets in seconds: the request path lives between 0.2 and 25 ms.
_BUCKETS = (0.0005, 0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.025, 0.05, 0.1,
            0.25, 0.5, 1.0, 2.5)


class ServiceMetrics:
    """The counters and histograms one app exposes at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.decision_seconds = Histogram(
            "fengkong_decision_seconds",
            "Time to decide one application, from request to durable record", ["flow"],
            buckets=_BUCKETS, registry=self.registry)
        self.decisions = Counter(
            "fengkong_decisions", "Decisions recorded, by flow and outcome",
            ["flow", "outcome"], registry=self.registry)
        self.replays = Counter(
            "fengkong_decision_replays",
            "Requests answered with an already recorded decision (same application id or "
            "Idempotency-Key)", ["flow"], registry=self.registry)
        self.errors = Counter(
            "fengkong_errors", "Error responses, by HTTP status and problem type",
            ["status", "type"], registry=self.registry)
        self.events = Counter(
            "fengkong_events", "Events received, by type and whether they were new",
            ["event_type", "result"], registry=self.registry)

    def render(self) -> bytes:
        return generate_latest(self.registry)
