"""The Redis feature state against the in-process one, on the real Redis at 127.0.0.1:6379.

Two ``RedisFeatureState`` instances stand for two decision servers sharing one namespace:
whatever either ingests, the features either computes must equal those of one
``MemoryFeatureState`` fed the same calls in the same order (late events, duplicate ids sent
to both servers, several keys and event types, filters, text values, bad events). Also: two
servers in two threads, cache eviction, a spec with other columns, the example flow's
features node, and — on Redis servers the tests start themselves — a restart that loses
writes and a replica that batches wait for.
"""

from __future__ import annotations

import json
import math
import random
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

import fengkong
from fengkong.features.kernels import FeaturePlan
from fengkong.features.node import flow_plan
from fengkong.features.redis_store import RedisFeatureState, RedisStateError, plan_fingerprint
from fengkong.features.spec import FeatureSet, load_feature_set
from fengkong.features.state import IngestReport, MemoryFeatureState

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = "redis://127.0.0.1:6379/0"
HOUR = 3_600_000
DAY = 24 * HOUR
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
        # now and then an amount of the wrong type: the state rejects that event alone
        event["amount"] = rng.choice([None, rng.randint(0, 10_000), rng.random() * 9_000]) \
            if rng.random() < 0.97 else "lots"
        event["channel"] = rng.choice(["app", "h5", "web"])
    else:
        event["success"] = rng.random() < 0.7
    return event


class History:
    """Random batches as a live stream brings them: time moves on, events arrive up to 20
    hours late (within the state's late tolerance), ids are sometimes delivered twice, some
    events have no id, a few are bad (a field of the wrong type, an id that is no id)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.clock = 0
        self.ids: list[Any] = []

    def batch(self) -> tuple[str, list[dict[str, Any]], list[int], list[Any]]:
        rng = self.rng
        self.clock += rng.randrange(0, 6 * HOUR)
        event_type = rng.choice(["application", "login"])
        size = rng.randint(1, 12)
        events = [random_event(rng, event_type) for _ in range(size)]
        stamps = [max(0, self.clock - rng.randrange(0, 20 * HOUR)) for _ in range(size)]
        batch_ids: list[Any] = []
        for _ in range(size):
            roll = rng.random()
            if roll < 0.15 and self.ids:
                batch_ids.append(rng.choice(self.ids))  # a redelivery: a duplicate
            elif roll < 0.25:
                batch_ids.append(None)
            elif roll < 0.26:
                batch_ids.append(math.nan)  # not an id: the event is rejected
            else:
                number = len(self.ids)
                self.ids.append(number if rng.random() < 0.5 else f"e{number}")
                batch_ids.append(self.ids[-1])
        return event_type, events, stamps, batch_ids

    def query(self) -> tuple[dict[str, Any], int]:
        """An application now (or up to 12 hours ago, as a slow request): its keys, as_of."""
        rng = self.rng
        keys = {"phone": rng.choice([*PHONES, "unseen", None]),
                "device_id": rng.choice(DEVICES)}
        return keys, self.clock + rng.randrange(-12 * HOUR, 3 * DAY)


def feed(history: History, batches: int, *states: Any) -> None:
    """The same next ``batches`` batches of the history into every state."""
    for _ in range(batches):
        batch = history.batch()
        for state in states:
            state.ingest_many(*batch)


def assert_same(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=1e-12, atol=0, equal_nan=True)


def same_report(actual: IngestReport, expected: IngestReport) -> bool:
    return (actual.accepted, actual.duplicates, actual.rejected) == \
        (expected.accepted, expected.duplicates, expected.rejected)


def test_two_servers_see_what_one_process_sees(client: redis.Redis, namespace: str) -> None:
    history = History(7)
    servers = [RedisFeatureState(PLAN, client, namespace=namespace),
               RedisFeatureState(PLAN, REDIS_URL, namespace=namespace)]
    reference = MemoryFeatureState(PLAN)
    for step in range(150):
        batch = history.batch()
        if step % 4 == 3:  # as columns
            event_type, events, stamps, ids = batch
            columns = {name: [event[name] for event in events] for name in events[0]}
            report = servers[step % 2].ingest_columns(event_type, columns, stamps, ids)
            expected = reference.ingest_columns(event_type, columns, stamps, ids)
        else:
            report = servers[step % 2].ingest_many(*batch)
            expected = reference.ingest_many(*batch)
        assert same_report(report, expected)
        if step % 3 == 0:
            keys, as_of = history.query()
            reader = servers[history.rng.randrange(2)]
            assert_same(reader.compute(keys, as_of), reference.compute(keys, as_of))
    for phone in [*PHONES, None]:
        for device in DEVICES:
            keys = {"phone": phone, "device_id": device}
            for server in servers:
                assert_same(server.compute(keys, history.clock),
                            reference.compute(keys, history.clock))
    # The first id, sent again as either event type: a duplicate of the type it had.
    answers = [servers[1].ingest(event_type, random_event(history.rng, event_type),
                                 history.clock, history.ids[0])
               for event_type in ("application", "login")]
    assert sorted(answers) == [False, True]
    for server in servers:
        server.close()


def test_a_new_server_reads_the_whole_history(client: redis.Redis, namespace: str) -> None:
    history = History(11)
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    reference = MemoryFeatureState(PLAN)
    feed(history, 60, writer, reference)
    fresh = RedisFeatureState(PLAN, client, namespace=namespace)
    keys = {"phone": "p2", "device_id": "d1"}
    assert_same(fresh.compute(keys, history.clock), reference.compute(keys, history.clock))


def test_concurrent_servers_ingest_each_event_once(namespace: str) -> None:
    """Two servers in two threads receive the same events (a redelivering stream), in
    batches cut differently: each event is accepted by exactly one of them."""
    rng = random.Random(9)
    stamps = rng.sample(range(30 * DAY), 300)  # distinct: the order of equal times is moot
    batch = [random_event(rng, "application") | {"amount": rng.randint(0, 9_000)}
             for _ in stamps]
    ids = [f"e{index}" for index in range(len(batch))]
    reports: list[IngestReport] = []

    def serve(seed: int) -> None:
        state = RedisFeatureState(PLAN, REDIS_URL, namespace=namespace)
        cut = random.Random(seed)
        start = 0
        while start < len(batch):
            end = start + cut.randint(1, 20)
            reports.append(state.ingest_many("application", batch[start:end],
                                             stamps[start:end], ids[start:end]))
            start = end
        state.close()

    threads = [threading.Thread(target=serve, args=(seed,)) for seed in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(report.accepted for report in reports) == len(batch)
    assert sum(report.duplicates for report in reports) == len(batch)
    reference = MemoryFeatureState(PLAN)
    reference.ingest_many("application", batch, stamps, ids)
    reader = RedisFeatureState(PLAN, REDIS_URL, namespace=namespace)
    for phone in PHONES:
        for device in DEVICES:
            keys = {"phone": phone, "device_id": device}
            assert_same(reader.compute(keys, 30 * DAY), reference.compute(keys, 30 * DAY))
    reader.close()


def test_a_selected_plan_reads_the_same_state(client: redis.Redis, namespace: str) -> None:
    history = History(13)
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    reader = RedisFeatureState(PLAN, client, namespace=namespace)
    reference = MemoryFeatureState(PLAN)
    feed(history, 30, writer, reference)
    names = [name for name in PLAN.names if name.startswith("device_id.login.")][:3]
    selected = PLAN.select(names)
    keys = {"phone": "p1", "device_id": "d2"}
    assert_same(reader.compute(keys, history.clock, selected),
                reference.compute(keys, history.clock, selected))
    assert reader.cached_series == 1  # it read the one series its features need
    with pytest.raises(RedisStateError, match="select"):
        reader.compute(keys, history.clock, make_plan(["1d"]))


def test_ids_are_equal_as_in_memory(client: redis.Redis, namespace: str) -> None:
    state = RedisFeatureState(PLAN, client, namespace=namespace)
    reference = MemoryFeatureState(PLAN)
    ids = [1, 1.0, True, "1", 2.5, "2.5"]
    batch = ("application", [EVENT] * len(ids), [DAY] * len(ids), ids)
    assert same_report(state.ingest_many(*batch), reference.ingest_many(*batch))
    assert state.ingest_many(*batch).duplicates == len(ids)


def test_evicted_series_are_read_again(client: redis.Redis, namespace: str) -> None:
    history = History(3)
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    # Room for one application's series only: every other query evicts.
    reader = RedisFeatureState(PLAN, client, namespace=namespace, max_series=len(PLAN.groups))
    reference = MemoryFeatureState(PLAN)
    for _ in range(80):
        batch = history.batch()
        writer.ingest_many(*batch)
        reference.ingest_many(*batch)
        keys, as_of = history.query()
        assert_same(reader.compute(keys, as_of), reference.compute(keys, as_of))
        assert reader.cached_series <= len(PLAN.groups)
    with pytest.raises(RedisStateError, match="max_series"):
        RedisFeatureState(PLAN, client, namespace=namespace, max_series=1)


class LocalRedis:
    """A Redis server of this test's own, without persistence (for restarts and replicas,
    which the shared one must not undergo)."""

    def __init__(self, directory: Path, *arguments: str) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.skip("redis-server is not on PATH: the restart and replica tests start "
                        "their own")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        # --dir: a replica keeps the snapshot it syncs from in its working directory; a
        # primary would wait 5 s for more replicas before sending one.
        self.command = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", str(directory),
                        "--repl-diskless-sync-delay", "0", *arguments]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(self.command, stdout=subprocess.DEVNULL)
        connection = redis.Redis.from_url(self.url)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    connection.ping()
                    return
                except redis.ConnectionError:
                    assert time.monotonic() < deadline, f"{self.command} did not start in 10 s"
                    time.sleep(0.01)
        finally:
            connection.close()

    def stop(self) -> None:
        """Stop the server, losing everything it held."""
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def __enter__(self) -> LocalRedis:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


EVENT = {"phone": "p1", "device_id": "d1", "amount": 100, "channel": "app"}
KEYS = {"phone": "p1", "device_id": "d1"}


def events(amounts: list[int], first_day: int) -> tuple[list[dict[str, Any]], list[int],
                                                         list[str]]:
    days = range(first_day, first_day + len(amounts))
    return ([{**EVENT, "amount": amount} for amount in amounts], [day * DAY for day in days],
            [f"id{day}" for day in days])


def test_lost_writes_are_noticed(client: redis.Redis, namespace: str) -> None:
    """Series shorter than a server has read (keys deleted, data flushed) are read again
    from their start rather than from the old offset."""
    writer = RedisFeatureState(PLAN, client, namespace=namespace)
    reader = RedisFeatureState(PLAN, client, namespace=namespace)
    writer.ingest_many("application", *events([1, 2, 3], 1))
    reader.compute(KEYS, 10 * DAY)
    for key in client.scan_iter(match=namespace + ":*"):
        client.delete(key)
    writer.ingest_many("application", *events([7, 9], 4))
    reference = MemoryFeatureState(PLAN)
    reference.ingest_many("application", *events([7, 9], 4))
    assert_same(reader.compute(KEYS, 10 * DAY), reference.compute(KEYS, 10 * DAY))


def test_a_restarted_redis_is_read_afresh(tmp_path: Path) -> None:
    """A Redis that comes back without some writes (a restart without persistence, a
    failover to a replica that lagged) and has since grown past what a server read: the
    server notices the new Redis process and reads everything again."""
    with LocalRedis(tmp_path) as server:
        writer = RedisFeatureState(PLAN, server.url)
        reader = RedisFeatureState(PLAN, server.url)
        writer.ingest_many("application", *events([1, 2, 3], 1))
        reader.compute(KEYS, 10 * DAY)
        server.stop()
        server.start()  # the same address, a new process, nothing kept
        writer.ingest_many("application", *events([5, 6, 7, 8], 4))
        reference = MemoryFeatureState(PLAN)
        reference.ingest_many("application", *events([5, 6, 7, 8], 4))
        assert_same(reader.compute(KEYS, 10 * DAY), reference.compute(KEYS, 10 * DAY))
        writer.close()
        reader.close()


def test_batches_wait_for_replicas(tmp_path: Path) -> None:
    (tmp_path / "primary").mkdir()
    (tmp_path / "replica").mkdir()
    with LocalRedis(tmp_path / "primary") as primary, \
            LocalRedis(tmp_path / "replica", "--replicaof", "127.0.0.1",
                       str(primary.port)) as replica:
        replica_client = redis.Redis.from_url(replica.url)
        deadline = time.monotonic() + 10
        while replica_client.info("replication")["master_link_status"] != "up":
            assert time.monotonic() < deadline, "the replica did not sync in 10 s"
            time.sleep(0.01)
        safe = RedisFeatureState(PLAN, primary.url, replicas=1, replica_timeout_ms=2000)
        assert safe.ingest_many("application", *events([1, 2], 1)).accepted == 2
        # A second replica that does not exist: the batch is written, not acknowledged.
        too_many = RedisFeatureState(PLAN, primary.url, replicas=2, replica_timeout_ms=20)
        with pytest.raises(RedisStateError, match="only 1 of 2 Redis replicas"):
            too_many.ingest_many("application", *events([3], 3))
        assert safe.ingest_many("application", *events([3], 3)).duplicates == 1
        with pytest.raises(RedisStateError, match="only 1 of 2 Redis replicas"):
            too_many.ingest_many("application", *events([3], 3))  # a duplicate, unconfirmed
        # The replica has every batch: a server reading from it sees them.
        reference = MemoryFeatureState(PLAN)
        reference.ingest_many("application", *events([1, 2, 3], 1))
        on_replica = RedisFeatureState(PLAN, replica_client)
        assert_same(on_replica.compute(KEYS, 10 * DAY), reference.compute(KEYS, 10 * DAY))
        for state in (safe, too_many):
            state.close()
        replica_client.close()


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


def test_a_flow_decides_the_same_on_redis(client: redis.Redis, namespace: str) -> None:
    """The features node of the example flow, served by a Redis state on one server while
    another ingests, decides as with the in-process state."""
    flow = ROOT / "examples" / "features" / "flow-with-features.json"
    plan = flow_plan(flow)
    ingesting = RedisFeatureState(plan, client, namespace=namespace)
    deciding = RedisFeatureState(plan, client, namespace=namespace)
    reference = MemoryFeatureState(plan)
    on_redis = fengkong.load(flow, services={"features": deciding})
    in_process = fengkong.load(flow, services={"features": reference})
    rng = random.Random(5)
    people = [{"id_number": f"ID{i}", "phone": f"P{i % 4}", "device_id": f"D{i % 3}",
               "ip": f"10.0.0.{i % 2}", "card": f"C{i}"} for i in range(8)]
    clock = 1_767_225_600_000
    for index in range(120):
        clock += rng.randrange(HOUR)
        person = rng.choice(people)
        login = {key: person[key] for key in ("id_number", "phone", "device_id", "ip")} | {
            "success": rng.random() < 0.3, "city": "Shanghai", "hour": 3,
            "logged_in_at": clock}
        for state in (ingesting, reference):
            state.ingest("login", login, clock, f"login{index}")
        case = {"applicationId": f"A{index}", "appliedAt": clock + 1,
                "applicant": {"idNumber": person["id_number"], "phone": person["phone"]},
                "device": {"id": person["device_id"], "ip": person["ip"]}}
        assert on_redis.evaluate(case)["result"] == in_process.evaluate(case)["result"]
        application = person | {"amount": 5000, "term_months": 12, "monthly_income": 9000,
                                "channel": "app", "city": "Shanghai",
                                "approved": rng.random() < 0.5, "applied_at": clock + 1}
        for state in (ingesting, reference):
            state.ingest("application", application, clock + 1, f"A{index}")


def test_an_unreachable_redis_fails_loudly() -> None:
    """No Redis, no features: an error, never features computed from a stale or empty cache."""
    state = RedisFeatureState(PLAN, "redis://127.0.0.1:1/0")  # nothing listens on port 1
    with pytest.raises(redis.ConnectionError):
        state.compute(KEYS, DAY)
    with pytest.raises(redis.ConnectionError):
        state.ingest("application", EVENT, DAY, "a")
    state.close()


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
