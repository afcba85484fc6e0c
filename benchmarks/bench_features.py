"""Feature engine benchmark (issue #3, in progress): the example spec's 10,000+ features for one
application, each of its 5 keys with about 1,000 events of history per event type.

    python benchmarks/bench_features.py [--events 1000] [--queries 2000] [--repeat 3]

Reports ingest throughput (events/s, in time order): one event at a time; in batches of
1,000 events (as a stream consumer takes them, split by event type) given as records
(``ingest_many``) and as columns (``ingest_columns``: NumPy arrays for numbers and
booleans, lists for text); the records' batches split into routing (checks, text codes,
filters, grouping by key) and applying to the series; and the durable state's batched
ingest, one fsync per batch — the same consumer batches (about 333 events of one type
each), then batches of 1,000 events of one type — and its replay when reopened
(``--durable-dir`` chooses the disk; default: the system's temporary directory). Batched figures are the best of ``--repeat`` runs, each on a fresh
state. Then the latency of computing every feature of the spec for one application
(median and p99 over many queries).
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from fengkong.features.durable import DurableFeatureState  # noqa: E402
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


Batch = tuple[str, list[dict[str, Any]], list[int], list[int]]  # type, events, times, ids


def stream_batches(features: Any, history: list[tuple[int, str, dict[str, Any]]],
                   size: int = 1000) -> list[Batch]:
    """The history in consumer batches of ``size`` events, each split by event type."""
    batches = []
    for offset in range(0, len(history), size):
        chunk = history[offset:offset + size]
        for event_type in features.events:
            part = [(stamp, event, offset + i) for i, (stamp, kind, event) in enumerate(chunk)
                    if kind == event_type]
            if part:
                batches.append((event_type, [event for _, event, _ in part],
                                [stamp for stamp, _, _ in part], [i for _, _, i in part]))
    return batches


def type_batches(features: Any, history: list[tuple[int, str, dict[str, Any]]],
                 size: int = 1000) -> list[Batch]:
    """The history of each event type in batches of ``size`` events of that type."""
    batches = []
    for event_type in features.events:
        part = [(stamp, event, index) for index, (stamp, kind, event) in enumerate(history)
                if kind == event_type]
        for offset in range(0, len(part), size):
            chunk = part[offset:offset + size]
            batches.append((event_type, [event for _, event, _ in chunk],
                            [stamp for stamp, _, _ in chunk], [i for _, _, i in chunk]))
    return batches


def as_columns(features: Any, batch: Batch) -> tuple[str, dict[str, Any], Any, Any]:
    """A batch as a columnar consumer holds it: arrays for numbers and booleans."""
    event_type, events, stamps, ids = batch
    fields = features.events[event_type].fields
    columns: dict[str, Any] = {}
    for name in events[0]:
        values = [event[name] for event in events]
        columns[name] = np.array(values) if fields[name] in ("number", "bool") else values
    return event_type, columns, np.array(stamps, dtype=np.int64), np.array(ids)


def median_seconds(repeat: int, run: Callable[[], float]) -> float:
    """The median of ``repeat`` runs (each returns the seconds it measured itself). The
    previous run's state is collected first, so that no run pays for freeing another's."""
    times = []
    for _ in range(repeat):
        gc.collect()
        times.append(run())
    return statistics.median(times)


def live_latencies(features: Any, state: MemoryFeatureState, applicant: dict[str, str],
                   now: int, queries: int) -> list[float]:
    """Latencies (µs, sorted) of queries each made just after one new event of every type
    arrived for the applicant's keys: the query settles them (merge, prefix sums, index)."""
    rng = random.Random(1)
    samples = []
    for query in range(queries):
        stamp = now + query * 60_000
        for event_type, spec in features.events.items():
            state.ingest(event_type, _event(event_type, spec.fields, applicant, rng), stamp,
                         f"live-{query}-{event_type}")
        begin = time.perf_counter_ns()
        state.compute(applicant, stamp + 1)
        samples.append((time.perf_counter_ns() - begin) / 1e3)
    return sorted(samples)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000, help="events per key and type")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=5, help="runs of each batched measure")
    parser.add_argument("--durable-dir", type=Path, help="where the durable state's log goes")
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
    batches = stream_batches(features, history)
    column_batches = [as_columns(features, batch) for batch in batches]

    def records(settle: bool = False) -> float:
        """Batched ingest; with ``settle``, also the work deferred to reads: settling every
        series (merge, prefix sums, index), as if every key were queried afterwards."""
        batched = MemoryFeatureState(plan)
        start = time.perf_counter()
        for event_type, events, stamps, ids in batches:
            batched.ingest_many(event_type, events, stamps, ids)
        if settle:
            batched.settle()
        return time.perf_counter() - start

    def columns() -> float:
        batched = MemoryFeatureState(plan)
        start = time.perf_counter()
        for event_type, values, stamps, ids in column_batches:
            batched.ingest_columns(event_type, values, stamps, ids)
        return time.perf_counter() - start

    def split() -> tuple[float, float]:
        batched = MemoryFeatureState(plan)
        routing = applying = 0.0
        for event_type, events, stamps, ids in batches:
            start = time.perf_counter()
            routed, _ = batched.route(event_type, events, stamps, ids)
            middle = time.perf_counter()
            batched.apply(routed)
            routing, applying = (routing + middle - start,
                                 applying + time.perf_counter() - middle)
        return routing, applying

    def durable(stream: list[Batch]) -> tuple[float, float]:
        """Seconds to ingest ``stream`` (one fsync per batch), then to reopen (replay)."""
        with tempfile.TemporaryDirectory(dir=options.durable_dir) as directory:
            with DurableFeatureState(plan, directory) as logged:
                start = time.perf_counter()
                for event_type, events, stamps, ids in stream:
                    logged.ingest_many(event_type, events, stamps, ids)
                ingesting = time.perf_counter() - start
            start = time.perf_counter()
            DurableFeatureState(plan, directory).close()
            return ingesting, time.perf_counter() - start

    thousands = type_batches(features, history)

    batch_seconds = median_seconds(options.repeat, records)
    column_seconds = median_seconds(options.repeat, columns)
    settled_seconds = median_seconds(options.repeat, lambda: records(settle=True))
    route_seconds = median_seconds(options.repeat, lambda: split()[0])
    apply_seconds = median_seconds(options.repeat, lambda: split()[1])
    durable_seconds = median_seconds(options.repeat, lambda: durable(batches)[0])
    durable_runs = [durable(thousands) for _ in range(options.repeat)]
    state.settle()  # every series made and settled, as after a day of queries
    series_count = len(state.series)
    state.compute(applicant, now)  # compiles the numba scan (cached on disk afterwards)
    samples = [0.0] * options.queries
    for query in range(options.queries):
        begin = time.perf_counter_ns()
        state.compute(applicant, now)
        samples[query] = (time.perf_counter_ns() - begin) / 1e3
    samples.sort()
    live = live_latencies(features, state, applicant, now, options.queries)
    results = {
        "machine": harness.machine(), "features": len(plan.names),
        "events_ingested": len(history), "ingest_events_per_second": len(history) / ingest_seconds,
        "ingest_batched_events_per_second": len(history) / batch_seconds,
        "ingest_columns_events_per_second": len(history) / column_seconds,
        "ingest_and_settle_every_series_events_per_second": len(history) / settled_seconds,
        "series": series_count,
        "route_batched_events_per_second": len(history) / route_seconds,
        "apply_batched_events_per_second": len(history) / apply_seconds,
        "durable_ingest_batched_events_per_second": len(history) / durable_seconds,
        "durable_ingest_1000_per_fsync_events_per_second":
            len(history) / statistics.median(run[0] for run in durable_runs),
        "durable_replay_events_per_second": len(history) / statistics.median(run[1] for run in durable_runs),
        "batches": len(batches),
        "compute_median_us": statistics.median(samples),
        "compute_p99_us": samples[int(len(samples) * 0.99)],
        # Each query preceded by new events of the applicant's keys (a login, a repayment,
        # an application), so that it pays for settling them, as a live query does.
        "compute_after_new_events_median_us": statistics.median(live),
        "compute_after_new_events_p99_us": live[int(len(live) * 0.99)],
    }
    print(json.dumps(results, indent=1))
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
