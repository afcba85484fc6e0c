"""Offline backfill equals the online state, feature by feature, on 100,000 events.

The online side ingests the whole history one event at a time (late events and duplicate
ids included) and answers each application "as of" its time; the backfill replays the same
history in time order and batches. Counts must agree exactly, floats within 1e-9.
"""

from __future__ import annotations

import random

import numpy as np
from test_kernels import DAY, all_features

from fengkong.features.backfill import Event, backfill
from fengkong.features.kernels import FeaturePlan
from fengkong.features.state import MemoryFeatureState


def test_backfill_equals_online_on_100k_events() -> None:
    rng = random.Random(42)
    features = all_features()
    plan = FeaturePlan(features)
    phones = [f"1380000{i:04d}" for i in range(300)]
    devices = [f"dev-{i}" for i in range(200)]
    events = []
    clock = 0
    for index in range(100_000):
        clock += rng.randint(0, 120_000)
        stamp = clock - (rng.randint(0, DAY) if rng.random() < 0.05 else 0)
        record = {"phone": rng.choice(phones), "device_id": rng.choice(devices),
                  "amount": rng.choice([rng.randint(100, 60000), None]),
                  "channel": rng.choice(["app", "web"])}
        event_id = index if rng.random() > 0.01 else max(0, index - 1)
        events.append(Event("application", stamp, record, event_id))
    applications = [(rng.randint(0, clock + DAY),
                     {"phone": rng.choice(phones), "device_id": rng.choice(devices)})
                    for _ in range(400)]

    online = MemoryFeatureState(plan)
    for event in events:
        online.ingest(event.type, event.record, event.timestamp, event.id)
    expected = np.array([online.compute(keys, as_of) for as_of, keys in applications])

    offline = backfill(plan, events, applications)
    counts = [index for index, feature in enumerate(features)
              if feature.aggregation in ("count", "distinct")]
    np.testing.assert_array_equal(offline[:, counts], expected[:, counts])
    np.testing.assert_allclose(offline, expected, rtol=1e-9, atol=1e-9, equal_nan=True)
