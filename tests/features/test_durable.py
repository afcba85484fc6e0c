"""The durable feature state: every acknowledged event survives a crash (SIGKILL mid-stream),
a torn last record is cut off on recovery, and the log outlives a change of spec."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from fengkong.features.durable import LOG_NAME, DurableFeatureState, DurableStateError
from fengkong.features.kernels import FeaturePlan
from fengkong.features.spec import FeatureSet, load_feature_set
from fengkong.features.state import MemoryFeatureState

DAY = 86_400_000
SPEC = yaml.safe_load("""
keys: [phone, device_id]
events:
  application:
    timestamp: applied_at
    fields: {phone: string, device_id: string, amount: number, channel: string}
templates:
  - keys: [phone, device_id]
    events: [application]
    filters: {all: null, large: "amount >= 5000"}
    fields: [amount]
    aggregations: [count, sum, max, distinct(channel), time_since_last]
    windows: [1d, 30d, lifetime]
""")
PHONES = [f"p{index}" for index in range(5)]
DEVICES = [f"d{index}" for index in range(3)]


def plan_of(spec: dict[str, Any]) -> FeaturePlan:
    features: FeatureSet = load_feature_set(spec)
    return FeaturePlan(features.features, features.events)


def batch(index: int, size: int = 50) -> tuple[list[dict[str, Any]], list[int]]:
    """Batch ``index`` of a deterministic stream: events and their ids (a few repeated)."""
    rng = random.Random(index)
    events = [{"phone": rng.choice(PHONES), "device_id": rng.choice(DEVICES),
               "amount": rng.choice([rng.randint(1, 9000), None]),
               "channel": rng.choice(["app", "web"]),
               "applied_at": DAY + index * 3_600_000 + rng.randint(0, 7_200_000)}
              for _ in range(size)]
    ids = [index * size + (row if rng.random() > 0.05 else 0) for row in range(size)]
    return events, ids


def assert_same(one: Any, other: Any) -> None:
    for phone in PHONES:
        for device in DEVICES:
            keys = {"phone": phone, "device_id": device}
            for as_of in (2 * DAY, 40 * DAY):
                np.testing.assert_array_equal(one.compute(keys, as_of),
                                              other.compute(keys, as_of))


def memory_of(plan: FeaturePlan, batches: range) -> MemoryFeatureState:
    state = MemoryFeatureState(plan)
    for index in batches:
        events, ids = batch(index)
        state.ingest_many("application", events, event_ids=ids)
    return state


def test_reopening_restores_features_and_duplicate_ids(tmp_path: Path) -> None:
    plan = plan_of(SPEC)
    with DurableFeatureState(plan, tmp_path) as state:
        for index in range(6):
            events, ids = batch(index)
            state.ingest_many("application", events, event_ids=ids)
        state.ingest_columns("application", {"phone": ["p1"], "device_id": [None],
                                             "amount": [7.5]}, [DAY], ["columns-1"])
    expected = memory_of(plan, range(6))
    expected.ingest_columns("application", {"phone": ["p1"], "device_id": [None],
                                            "amount": [7.5]}, [DAY], ["columns-1"])
    with DurableFeatureState(plan, tmp_path) as reopened:
        assert reopened.recovery.batches == 7 and reopened.recovery.torn_bytes == 0
        assert_same(reopened, expected)
        events, ids = batch(3)
        report = reopened.ingest_many("application", events, event_ids=ids)
        assert report.accepted == 0 and report.duplicates == len(events)


def test_a_torn_last_record_is_cut_off_and_the_log_goes_on(tmp_path: Path) -> None:
    plan = plan_of(SPEC)
    with DurableFeatureState(plan, tmp_path) as state:
        for index in range(3):
            state.ingest_many("application", batch(index)[0], event_ids=batch(index)[1])
    log = tmp_path / LOG_NAME
    whole = log.stat().st_size
    with DurableFeatureState(plan, tmp_path) as state:
        state.ingest_many("application", batch(3)[0], event_ids=batch(3)[1])
    fourth = log.read_bytes()[whole:]
    for torn in (fourth[:5], fourth[:len(fourth) // 2], fourth[:-1],
                 fourth[:-3] + b"xyz"):  # a short header, a short payload, a bad checksum
        log.write_bytes(log.read_bytes()[:whole] + torn)
        with DurableFeatureState(plan, tmp_path) as recovered:
            assert recovered.recovery.torn_bytes == len(torn)
            assert log.stat().st_size == whole
            assert_same(recovered, memory_of(plan, range(3)))
    with DurableFeatureState(plan, tmp_path) as state:  # the log takes new records again
        state.ingest_many("application", batch(3)[0], event_ids=batch(3)[1])
    with DurableFeatureState(plan, tmp_path) as reopened:
        assert reopened.recovery.torn_bytes == 0
        assert_same(reopened, memory_of(plan, range(4)))


def test_the_log_outlives_a_change_of_spec(tmp_path: Path) -> None:
    with DurableFeatureState(plan_of(SPEC), tmp_path) as state:
        for index in range(3):
            state.ingest_many("application", batch(index)[0], event_ids=batch(index)[1])
    changed = yaml.safe_load(yaml.safe_dump(SPEC))
    changed["templates"][0]["filters"]["web"] = "channel == 'web'"
    changed["templates"][0]["aggregations"].append("mean")
    plan = plan_of(changed)
    with DurableFeatureState(plan, tmp_path) as reopened:
        assert_same(reopened, memory_of(plan, range(3)))


def test_one_process_at_a_time(tmp_path: Path) -> None:
    plan = plan_of(SPEC)
    with DurableFeatureState(plan, tmp_path), \
            pytest.raises(DurableStateError, match="in use by another process"):
        DurableFeatureState(plan, tmp_path)


def test_a_failed_write_is_not_acknowledged_and_leaves_no_trace(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    plan = plan_of(SPEC)
    with DurableFeatureState(plan, tmp_path) as state:
        state.ingest_many("application", batch(0)[0], event_ids=batch(0)[1])
        real_fsync = os.fsync

        def failing_fsync(fd: int) -> None:
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(os, "fsync", failing_fsync)
        with pytest.raises(DurableStateError, match="No space left"):
            state.ingest_many("application", batch(1)[0], event_ids=batch(1)[1])
        monkeypatch.setattr(os, "fsync", real_fsync)
        # Not acknowledged, so not a duplicate when sent again.
        assert state.ingest_many("application", batch(1)[0],
                                 event_ids=batch(1)[1]).accepted > 0
    with DurableFeatureState(plan, tmp_path) as reopened:
        assert reopened.recovery.torn_bytes == 0
        assert_same(reopened, memory_of(plan, range(2)))


CRASHING_WRITER = """
import sys
sys.path.insert(0, {tests!r})
from test_durable import SPEC, batch, plan_of
from fengkong.features.durable import DurableFeatureState

state = DurableFeatureState(plan_of(SPEC), sys.argv[1])
for index in range(10_000):
    events, ids = batch(index)
    state.ingest_many("application", events, event_ids=ids)
    print(index, flush=True)  # acknowledged
"""


def test_every_acknowledged_event_survives_a_kill(tmp_path: Path) -> None:
    script = CRASHING_WRITER.format(tests=str(Path(__file__).parent))
    writer = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    acknowledged = -1
    for line in writer.stdout:
        acknowledged = int(line)
        if acknowledged == 30:
            writer.send_signal(signal.SIGKILL)  # mid-stream: batch 31 may be half written
            break
    writer.wait()
    plan = plan_of(SPEC)
    with DurableFeatureState(plan, tmp_path) as recovered:
        # Every acknowledged batch is there; the one being written when the writer died may
        # be there too (it was on disk, not yet acknowledged) — but never twice or in part.
        replayed = recovered.recovery.batches
        assert replayed - 1 >= acknowledged
        assert_same(recovered, memory_of(plan, range(replayed)))
        resent = sum(len(batch(index)[0]) - recovered.ingest_many(
            "application", batch(index)[0], event_ids=batch(index)[1]).duplicates
            for index in range(replayed))
        assert resent == 0
