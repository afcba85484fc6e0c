"""The Redis feature state against the in-process one, on the real Redis at 127.0.0.1:6379.

Two ``RedisFeatureState`` instances stand for two decision servers sharing one namespace:
whatever either ingests, the features either computes must equal those of one
``MemoryFeatureState`` fed the same calls in the same order (late events, duplicate ids sent
to both servers, several keys and event types, filters, text values).
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

from fengkong.features.kernels import FeaturePlan
from fengkong.features.redis_store import RedisFeatureState, RedisStateError, plan_fingerprint
from fengkong.features.spec import FeatureSet, load_feature_set
from fengkong.features.state import MemoryFeatureState

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"
DAY = 86_400_000
PHONES = ["p1", "p2", "p3"]
DEVICES = ["d1", "d2"]


def spec(windows: list[str]) -> FeatureSet:
    return load_feature_set({
        "keys": ["phone", "device_id"],
        "events": {
            "application": {"timestamp": "at", "fields": {
                "phone": "string", "device_id": "string", "amount": "number",
                "channel": "string"}},
            "login": {"timestamp": "at", "fields": {
                "phone": "string", "device_id": "string", "success": "bool"}},
        },
        "templates": [
            {"keys": ["phone", "device_id"], "events": ["application"],
             "filters": {"all": None, "large": "amount >= 5000", "app": "channel == 'app'"},
             "aggregations": ["count", "sum(amount)", "mean(amount)", "std(amount)",
                              "min(amount)", "max(amount)", "last(amount)",
                              "distinct(channel)", "time_since_last", "first_seen_age"],
             "windows": windows},
            {"keys": ["phone", "device_id"], "events": ["login"],
             "filters": {"all": None, "failed": "not success"},
             "aggregations": ["count", "distinct(success)"], "windows": windows},
        ],
    })


def make_plan(windows: list[str]) -> FeaturePlan:
    features = spec(windows)
    return FeaturePlan(features.features, features.events)


PLAN = make_plan(["1h", "1d", "7d", "lifetime"])


@pytest.fixture
def client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    try:
        connection.ping()
    except redis.ConnectionError as error:
        pytest.fail(f"these tests need the real Redis at {REDIS_URL} (CI starts one): {error}")
    yield connection
    connection.close()


@pytest.fixture
def namespace(client: redis.Redis) -> Iterator[str]:
    name = f"fengkong-test:{uuid.uuid4().hex}"
    yield name
    for key in client.scan_iter(match=name + ":*", count=1000):
        client.delete(key)


def random_event(rng: random.Random, event_type: str) -> dict[str, Any]:
    event: dict[str, Any] = {"phone": rng.choice([*PHONES, None]),
                             "device_id": rng.choice(DEVICES)}
    if event_type == "application":
        event["amount"] = rng.choice([None, rng.randint(0, 10_000), rng.random() * 9_000])
        event["channel"] = rng.choice(["app", "h5", "web"])
    else:
        event["success"] = rng.random() < 0.7
    return event


def random_batch(rng: random.Random, ids: list[int]) -> tuple[str, list[dict[str, Any]],
                                                              list[int], list[Any]]:
    """A batch of one event type: random times over 30 days (late events included), ids
    that may repeat earlier ones, and some events without an id."""
    event_type = rng.choice(["application", "login"])
    size = rng.randint(1, 12)
    events = [random_event(rng, event_type) for _ in range(size)]
    stamps = [rng.randrange(0, 30 * DAY) for _ in range(size)]
    batch_ids: list[Any] = []
    for _ in range(size):
        roll = rng.random()
        if roll < 0.15 and ids:
            batch_ids.append(rng.choice(ids))  # a redelivery: a duplicate
        elif roll < 0.25:
            batch_ids.append(None)
        else:
            ids.append(len(ids))
            batch_ids.append(ids[-1] if rng.random() < 0.5 else f"e{ids[-1]}")
    return event_type, events, stamps, batch_ids


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0, equal_nan=True)


def random_query(rng: random.Random) -> tuple[dict[str, Any], int]:
    return ({"phone": rng.choice([*PHONES, "unseen", None]), "device_id": rng.choice(DEVICES)},
            rng.randrange(0, 31 * DAY))


def test_two_servers_see_what_one_process_sees(client: redis.Redis, namespace: str) -> None:
    rng = random.Random(7)
    servers = [RedisFeatureState(PLAN, client, namespace=namespace),
               RedisFeatureState(PLAN, REDIS_URL, namespace=namespace)]
    reference = MemoryFeatureState(PLAN)
    ids: list[int] = []
    for step in range(120):
        event_type, events, stamps, batch_ids = random_batch(rng, ids)
        writer = servers[step % 2]
        report = writer.ingest_many(event_type, events, stamps, batch_ids)
        expected = reference.ingest_many(event_type, events, stamps, batch_ids)
        assert (report.accepted, report.duplicates) == (expected.accepted, expected.duplicates)
        if step % 3 == 0:
            keys, as_of = random_query(rng)
            reader = servers[rng.randrange(2)]
            assert_same(reader.compute(keys, as_of), reference.compute(keys, as_of))
    for phone in [*PHONES, None]:
        for device in DEVICES:
            keys = {"phone": phone, "device_id": device}
            for server in servers:
                assert_same(server.compute(keys, 31 * DAY), reference.compute(keys, 31 * DAY))
    assert servers[1].ingest("login", {"phone": "p1", "device_id": "d1", "success": True},
                             DAY, ids[0]) is False
    for server in servers:
        server.close()


def test_a_new_server_reads_the_whole_history(client: redis.Redis, namespace: str) -> None:
    rng = random.Random(11)
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    reference = MemoryFeatureState(PLAN)
    ids: list[int] = []
    for _ in range(40):
        batch = random_batch(rng, ids)
        writer.ingest_many(*batch)
        reference.ingest_many(*batch)
    fresh = RedisFeatureState(PLAN, client, namespace=namespace)
    keys = {"phone": "p2", "device_id": "d1"}
    assert_same(fresh.compute(keys, 31 * DAY), reference.compute(keys, 31 * DAY))


def test_evicted_series_are_read_again(client: redis.Redis, namespace: str) -> None:
    rng = random.Random(3)
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    # Room for one application's series only: every other query evicts.
    reader = RedisFeatureState(PLAN, client, namespace=namespace, max_series=len(PLAN.groups))
    reference = MemoryFeatureState(PLAN)
    ids: list[int] = []
    for _ in range(60):
        batch = random_batch(rng, ids)
        writer.ingest_many(*batch)
        reference.ingest_many(*batch)
        keys, as_of = random_query(rng)
        assert_same(reader.compute(keys, as_of), reference.compute(keys, as_of))
        assert reader.cached_series <= len(PLAN.groups)
    with pytest.raises(RedisStateError, match="max_series"):
        RedisFeatureState(PLAN, client, namespace=namespace, max_series=1)


def test_lost_writes_are_noticed(client: redis.Redis, namespace: str) -> None:
    """A failover to a replica that missed writes leaves series shorter than a server has
    read: that server reads them again rather than skipping what comes next."""
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    reader = RedisFeatureState(PLAN, client, namespace=namespace)
    keys = {"phone": "p1", "device_id": "d1"}
    event = {"phone": "p1", "device_id": "d1", "amount": 100, "channel": "app"}
    writer.ingest_many("application", [event] * 3, [DAY, 2 * DAY, 3 * DAY], ["a", "b", "c"])
    reader.compute(keys, 10 * DAY)
    for key in client.scan_iter(match=namespace + ":*"):
        client.delete(key)
    writer.ingest_many("application", [{**event, "amount": 7}, {**event, "amount": 9}],
                       [4 * DAY, 5 * DAY], ["d", "e"])
    reference = MemoryFeatureState(PLAN)
    reference.ingest_many("application", [{**event, "amount": 7}, {**event, "amount": 9}],
                          [4 * DAY, 5 * DAY], ["d", "e"])
    assert_same(reader.compute(keys, 10 * DAY), reference.compute(keys, 10 * DAY))


def test_another_spec_uses_other_keys(client: redis.Redis, namespace: str) -> None:
    # Windows do not change the records: plans that differ only by windows share the data.
    assert plan_fingerprint(make_plan(["1h", "30d"])) == plan_fingerprint(PLAN)
    reordered = FeaturePlan(list(reversed(PLAN.features)), spec(["1h"]).events)
    assert plan_fingerprint(reordered) != plan_fingerprint(PLAN)  # columns in another order
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    event = {"phone": "p1", "device_id": "d1", "amount": 100, "channel": "app"}
    assert writer.ingest("application", event, DAY, "a") is True
    other = RedisFeatureState(reordered, client, namespace=namespace)
    keys = {"phone": "p1", "device_id": "d1"}
    assert_same(other.compute(keys, 2 * DAY), MemoryFeatureState(reordered).compute(keys, 2 * DAY))
    # Its ids are its own too: the event is new to it.
    assert other.ingest("application", event, DAY, "a") is True


def test_text_responses_are_refused() -> None:
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    with pytest.raises(RedisStateError, match="decode_responses"):
        RedisFeatureState(PLAN, client)
    client.close()


def test_benchmark_runs_quick(tmp_path: Path, client: redis.Redis) -> None:
    out = tmp_path / "redis.json"
    subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench_feature_redis.py"),
                    "--events", "30", "--queries", "60", "--cold", "2", "--json", str(out)],
                   check=True, capture_output=True, timeout=300)
    results = json.loads(out.read_text())
    assert results["redis_vs_memory_mismatches"] == 0
    assert results["redis_warm_p99_us"] > 0
