"""Feature engine benchmark (issue #3, in progress): the example spec's 10,000+ features for one
application, each of its 5 keys with about 1,000 events of history per event type.

    python benchmarks/bench_features.py [--events 1000] [--queries 2000]

Reports ingest throughput (events/s, in time order, one event at a time) and the latency of
computing every feature of the spec for one application (median and p99 over many queries).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from fengkong.features.kernels import FeaturePlan  # noqa: E402
from fengkong.features.spec import load_feature_set  # noqa: E402
from fengkong.features.state import MemoryFeatureState  # noqa: E402

DAY = 86_400_000
KEYS = ("id_number", "phone", "device_id", "ip", "card")


def _event(event_type: str, fields: dict[str, str], keys: dict[str, str],
           rng: random.Random) -> dict[str, Any]:
    event: dict[str, Any] = {}
    for name, kind in fields.items():
        if name in keys:
            event[name] = keys[name]
        elif kind == "number":
            event[name] = rng.choice([rng.randint(0, 60_000), rng.randint(0, 40)])
        elif kind == "bool":
            event[name] = rng.random() < 0.8
        elif kind == "string":
            event[name] = rng.choice(["app", "h5", "web", "shanghai", "beijing"])
    return event


def build_history(features: Any, events_per_key: int
                  ) -> tuple[dict[str, str], int, list[tuple[int, str, dict[str, Any]]]]:
    """One applicant's keys, the decision time, and a year of history before it (time order):
    ``events_per_key`` events of each type per key, other keys random, so that each key has
    its own history. Shared with the other feature benchmarks."""
    rng = random.Random(0)
    applicant = {key: f"{key}-applicant" for key in KEYS}
    now = 400 * DAY
    history = []
    for event_type, spec in features.events.items():
        for key in KEYS:
            if key not in spec.fields:
                continue
            for index in range(events_per_key):
                keys = {other: (applicant[other] if other == key else
                                f"{other}-{rng.randint(0, 10**9)}") for other in KEYS}
                stamp = now - 365 * DAY + index * (365 * DAY // events_per_key)
                history.append((stamp, event_type, _event(event_type, spec.fields, keys, rng)))
    history.sort(key=lambda item: item[0])
    return applicant, now, history


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per key and type")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    features = load_feature_set(ROOT / "examples" / "features" / "credit.yaml")
    plan = FeaturePlan(features.features, features.events)
    state = MemoryFeatureState(plan)
    applicant, now, history = build_history(features, options.events)
    start = time.perf_counter()
    for event_id, (stamp, event_type, event) in enumerate(history):
        state.ingest(event_type, event, stamp, event_id)
    ingest_seconds = time.perf_counter() - start
    # The same history in batches of 1,000 events (as a stream consumer takes them).
    batched = MemoryFeatureState(plan)
    start = time.perf_counter()
    for offset in range(0, len(history), 1000):
        chunk = history[offset:offset + 1000]
        for event_type in features.events:
            part = [(stamp, event, offset + i) for i, (stamp, kind, event) in enumerate(chunk)
                    if kind == event_type]
            if part:
                batched.ingest_many(event_type, [event for _, event, _ in part],
                                    [stamp for stamp, _, _ in part], [i for _, _, i in part])
    batch_seconds = time.perf_counter() - start
    state.compute(applicant, now)  # compiles the numba scan (cached on disk afterwards)
    samples = [0.0] * options.queries
    for query in range(options.queries):
        begin = time.perf_counter_ns()
        state.compute(applicant, now)
        samples[query] = (time.perf_counter_ns() - begin) / 1e3
    samples.sort()
    results = {
        "machine": harness.machine(), "features": len(plan.names),
        "events_ingested": len(history), "ingest_events_per_second": len(history) / ingest_seconds,
        "ingest_batched_events_per_second": len(history) / batch_seconds,
        "compute_median_us": statistics.median(samples),
        "compute_p99_us": samples[int(len(samples) * 0.99)],
    }
    print(json.dumps(results, indent=1))
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
