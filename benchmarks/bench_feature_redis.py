"""Feature engine against the Redis state (issue #3): the example spec's 10,000+ features for
one application, its 5 keys with about 1,000 events of history per event type, as
bench_features.py, with the state in Redis shared by two "servers".

    python benchmarks/bench_feature_redis.py [--url redis://127.0.0.1:6379/0] [--events 1000]
        [--queries 2000] [--cold 20] [--late 20]

One server ingests the history (batches of 1,000 events per type). Then:

* cold: a fresh server's first query (it reads all the applicant's series), ``--cold`` times;
* warm: ``--queries`` queries on one server, while the other ingests 3 new events of the
  applicant (in time order, as live traffic comes) before every 20th query, so those
  queries read and apply new records;
* late: ``--late`` times, the other server ingests one event of the applicant from 90 days
  ago, and the next query is timed: the series re-sort that event into place;
* the same queries in process (``MemoryFeatureState`` fed the same events), for comparison.

Every Redis answer is checked against the in-process one. The namespace is removed at the end.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import redis

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from bench_features import build_history, stream_batches  # noqa: E402
from fengkong.features.kernels import FeaturePlan  # noqa: E402
from fengkong.features.redis_store import RedisFeatureState  # noqa: E402
from fengkong.features.spec import load_feature_set  # noqa: E402
from fengkong.features.state import MemoryFeatureState  # noqa: E402

DAY = 86_400_000
NEW_EVENTS_EVERY = 20  # queries


def _timed(state: Any, keys: dict[str, str], as_of: int) -> tuple[float, np.ndarray]:
    begin = time.perf_counter_ns()
    values = state.compute(keys, as_of)
    return (time.perf_counter_ns() - begin) / 1e3, values


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[int(len(ordered) * 0.99)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--events", type=int, default=1000, help="events per key and type")
    parser.add_argument("--queries", type=int, default=2000)
    parser.add_argument("--cold", type=int, default=20, help="fresh servers' first queries")
    parser.add_argument("--late", type=int, default=20, help="queries after a late event")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    features = load_feature_set(ROOT / "examples" / "features" / "credit.yaml")
    plan = FeaturePlan(features.features, features.events)
    applicant, now, history = build_history(features, options.events)
    batches = stream_batches(features, history)  # as a stream consumer takes them
    client = redis.Redis.from_url(options.url)
    namespace = f"bench:{uuid.uuid4().hex}"
    try:
        memory = MemoryFeatureState(plan)
        writer = RedisFeatureState(plan, client, namespace=namespace)
        for batch in batches:
            memory.ingest_many(*batch)
        start = time.perf_counter()
        for batch in batches:
            writer.ingest_many(*batch)
        ingest_seconds = time.perf_counter() - start
        memory.compute(applicant, now)  # compiles the numba kernels (cached on disk after)

        version = str(client.info("server")["redis_version"])
        stored = sum(client.memory_usage(key) or 0
                     for key in client.scan_iter(match=namespace + ":*", count=1000))
        cold, mismatches = [], 0
        for _ in range(options.cold):
            fresh = RedisFeatureState(plan, client, namespace=namespace)
            elapsed, values = _timed(fresh, applicant, now)
            cold.append(elapsed)
            mismatches += int(not np.array_equal(values, memory.compute(applicant, now),
                                                 equal_nan=True))

        # Warm: one server queries; the other ingests a few of the applicant's events now and
        # then, which the next query reads and applies.
        reader = RedisFeatureState(plan, client, namespace=namespace)
        reader.compute(applicant, now)
        rng = random.Random(1)
        template = next(event for _, kind, event in history if kind == "application")
        next_id = len(history)
        stamp = history[-1][0]

        def arrive(stamps: list[int]) -> None:
            nonlocal next_id
            events = [{**template, **applicant, "amount": rng.randint(0, 60_000)}
                      for _ in stamps]
            ids = list(range(next_id, next_id + len(stamps)))
            next_id += len(stamps)
            writer.ingest_many("application", events, stamps, ids)
            memory.ingest_many("application", events, stamps, ids)

        samples: dict[str, list[float]] = {"redis": [], "memory": [], "redis_after_new": [],
                                           "redis_after_late": [], "memory_after_late": []}
        for query in range(options.queries + options.late):
            late = query >= options.queries
            if late:
                arrive([now - 90 * DAY])
            elif query % NEW_EVENTS_EVERY == 0:
                stamps = [stamp + step * 1000 for step in (1, 2, 3)]
                stamp = stamps[-1]
                arrive(stamps)
            elapsed, values = _timed(reader, applicant, now)
            samples["redis_after_late" if late else "redis"].append(elapsed)
            if not late and query % NEW_EVENTS_EVERY == 0:
                samples["redis_after_new"].append(elapsed)
            elapsed, expected = _timed(memory, applicant, now)
            samples["memory_after_late" if late else "memory"].append(elapsed)
            mismatches += int(not np.array_equal(values, expected, equal_nan=True))
    finally:
        for key in client.scan_iter(match=namespace + ":*", count=1000):
            client.delete(key)
        client.close()

    redis_median, redis_p99 = _percentiles(samples["redis"])
    memory_median, memory_p99 = _percentiles(samples["memory"])
    results = {
        "machine": harness.machine(), "redis_server": version,
        "features": len(plan.names), "events_ingested": len(history),
        "redis_ingest_batched_events_per_second": len(history) / ingest_seconds,
        "redis_bytes_per_event": stored / len(history),  # series strings and id sets
        "redis_cold_first_query_median_us": statistics.median(cold),
        "redis_cold_first_query_max_us": max(cold),
        "redis_warm_queries": len(samples["redis"]),
        "redis_warm_median_us": redis_median, "redis_warm_p99_us": redis_p99,
        "redis_after_new_events_median_us": statistics.median(samples["redis_after_new"]),
        "redis_after_new_events_max_us": max(samples["redis_after_new"]),
        "memory_median_us": memory_median, "memory_p99_us": memory_p99,
        "redis_after_late_event_median_us": statistics.median(samples["redis_after_late"]),
        "memory_after_late_event_median_us": statistics.median(samples["memory_after_late"]),
        "redis_p99_target_us": 5000.0,
        "redis_vs_memory_mismatches": mismatches,
    }
    print(json.dumps(results, indent=1))
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
