"""The online kernels against the definition of each aggregation, computed naively.

Random histories (late events, duplicate ids, missing values, filters) are ingested; then for
random applications "as of" random times every feature is recomputed from the raw events
with plain Python and compared: counts exactly, floats within 1e-9.
"""

from __future__ import annotations

import math
import random
from types import SimpleNamespace
from typing import Any

import numpy as np
import pytest

from fengkong.errors import FengkongError
from fengkong.features.kernels import FeaturePlan, compute
from fengkong.features.state import MemoryFeatureState

DAY = 86_400_000
WINDOWS = {"1h": 3_600_000, "1d": DAY, "7d": 7 * DAY, "30d": 30 * DAY, "lifetime": None}
AGGREGATIONS = ["count", "sum", "mean", "std", "min", "max", "last", "distinct",
                "time_since_last", "first_seen_age"]
FILTERS = [None, "amount >= 5000", "channel == 'app'"]


def feature(key: str, aggregation: str, window: str, filter_source: str | None,
            field: str | None = "amount") -> SimpleNamespace:
    if aggregation in ("count", "time_since_last", "first_seen_age"):
        field = None
    name = f"{key}.application.{field or ''}.{aggregation}.{window}.{filter_source}"
    return SimpleNamespace(name=name, key=key, event="application", aggregation=aggregation,
                           field=field, window=SimpleNamespace(name=window,
                                                               milliseconds=WINDOWS[window]),
                           filter=filter_source, numerator=None, denominator=None)


def all_features() -> list[SimpleNamespace]:
    features = [feature(key, aggregation, window, filter_source)
                for key in ("phone", "device_id")
                for aggregation in AGGREGATIONS
                for window in WINDOWS
                for filter_source in FILTERS]
    count = features[0].name
    total = next(f.name for f in features if f.aggregation == "sum")
    features.append(SimpleNamespace(name="ratio", key=None, event=None, aggregation="ratio",
                                    field=None, window=None, filter=None,
                                    numerator=total, denominator=count))
    return features


def passes(filter_source: str | None, event: dict[str, Any]) -> bool:
    if filter_source is None:
        return True
    if filter_source.startswith("amount"):
        return event["amount"] is not None and event["amount"] >= 5000
    return event["channel"] == "app"


def naive(feature: SimpleNamespace, events: list[tuple[int, dict[str, Any]]],
          keys: dict[str, Any], as_of: int) -> float:
    window = feature.window.milliseconds
    chosen = [(ts, event) for ts, event in events
              if event.get(feature.key) == keys.get(feature.key) and ts < as_of
              and (window is None or ts >= as_of - window) and passes(feature.filter, event)]
    chosen.sort(key=lambda item: item[0])
    aggregation = feature.aggregation
    if aggregation == "count":
        return float(len(chosen))
    if aggregation in ("time_since_last", "first_seen_age"):
        if not chosen:
            return math.nan
        return (as_of - (chosen[-1][0] if aggregation == "time_since_last" else chosen[0][0])) \
            / 1000
    # Value aggregations skip events without the value.
    values = [event["amount"] for _, event in chosen if event["amount"] is not None]
    if aggregation == "distinct":
        return float(len(set(values)))
    if not values:
        return 0.0 if aggregation == "sum" else math.nan
    if aggregation == "sum":
        return math.fsum(values)
    if aggregation == "mean":
        return math.fsum(values) / len(values)
    if aggregation == "std":
        mean = math.fsum(values) / len(values)
        return math.sqrt(max(math.fsum(v * v for v in values) / len(values) - mean * mean, 0))
    if aggregation == "min":
        return min(values)
    if aggregation == "max":
        return max(values)
    assert aggregation == "last"
    return values[-1]


@pytest.mark.parametrize("seed", range(4))
def test_kernels_match_the_definitions(seed: int) -> None:
    rng = random.Random(seed)
    features = all_features()
    # Queries at random past dates: keep every event (no folding).
    state = MemoryFeatureState(FeaturePlan(features, late_tolerance_ms=None))
    phones = [f"138{rng.randint(0, 10**8):08d}" for _ in range(5)]
    devices = [f"dev-{i}" for i in range(4)]
    events: list[tuple[int, dict[str, Any]]] = []
    clock = 0
    for index in range(600):
        clock += rng.randint(0, 6 * 3_600_000)
        # Some events arrive late (up to 3 days behind) and some are sent twice.
        timestamp = clock - (rng.randint(0, 3 * DAY) if rng.random() < 0.1 else 0)
        event = {"phone": rng.choice(phones), "device_id": rng.choice([*devices, None]),
                 "amount": rng.choice([rng.randint(100, 20000), None]),
                 "channel": rng.choice(["app", "web"])}
        event_id = index if rng.random() > 0.05 else max(0, index - 1)
        if state.ingest("application", event, timestamp, event_id):
            events.append((timestamp, event))
    plan_names = [f.name for f in features]
    for _ in range(60):
        keys = {"phone": rng.choice(phones), "device_id": rng.choice(devices)}
        as_of = rng.randint(0, clock + DAY)
        got = state.compute(keys, as_of)
        expected = [naive(f, events, keys, as_of) for f in features[:-1]]
        count, total = expected[0], expected[plan_names.index(features[-1].numerator)]
        expected.append(total / count if count else math.nan)
        np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6, equal_nan=True,
                                   err_msg=str(keys))


def test_no_leakage_and_missing_keys() -> None:
    features = [feature("phone", "count", "lifetime", None)]
    state = MemoryFeatureState(FeaturePlan(features))
    state.ingest("application", {"phone": "1"}, 1000, 1)
    assert state.compute({"phone": "1"}, 1000).tolist() == [0.0]  # strictly before
    assert state.compute({"phone": "1"}, 1001).tolist() == [1.0]
    assert state.compute({"phone": "2"}, 5000).tolist() == [0.0]


def test_last_of_a_text_field_is_refused_not_hashed() -> None:
    from fengkong.errors import FengkongError

    text_last = feature("phone", "last", "7d", None, field="channel")
    events = {"application": SimpleNamespace(fields={"channel": "string", "amount": "number"})}
    with pytest.raises(FengkongError, match="'last' of the text field"):
        FeaturePlan([text_last], events)


@pytest.mark.parametrize("seed", range(3))
def test_batch_ingest_equals_one_at_a_time(seed: int) -> None:
    rng = random.Random(seed)
    features = all_features()
    plan = FeaturePlan(features, late_tolerance_ms=None)  # queries at random past dates
    one, batch = MemoryFeatureState(plan), MemoryFeatureState(plan)
    phones = [f"p{i}" for i in range(4)]
    clock = 0
    pending: list[tuple[int, dict[str, Any], int]] = []
    for index in range(800):
        clock += rng.randint(0, 3_600_000)
        stamp = clock - (rng.randint(0, 2 * DAY) if rng.random() < 0.1 else 0)
        event = {"phone": rng.choice(phones), "device_id": rng.choice(["d1", "d2", None]),
                 "amount": rng.choice([rng.randint(100, 20000), None]),
                 "channel": rng.choice(["app", "web"])}
        event_id = index if rng.random() > 0.05 else max(0, index - 1)
        one.ingest("application", event, stamp, event_id)
        pending.append((stamp, event, event_id))
        if len(pending) == rng.randint(1, 120) or index == 799:
            batch.ingest_many("application", [e for _, e, _ in pending],
                              [s for s, _, _ in pending], [i for _, _, i in pending])
            pending = []
    if pending:
        batch.ingest_many("application", [e for _, e, _ in pending],
                          [s for s, _, _ in pending], [i for _, _, i in pending])
    for _ in range(40):
        keys = {"phone": rng.choice(phones), "device_id": rng.choice(["d1", "d2"])}
        as_of = rng.randint(0, clock + DAY)
        np.testing.assert_allclose(batch.compute(keys, as_of), one.compute(keys, as_of),
                                   rtol=1e-9, atol=1e-6, equal_nan=True)


@pytest.mark.parametrize("seed", range(4))
def test_queries_made_now_match_the_definitions(seed: int) -> None:
    """Queries as of "now" (after every event) read the suffix index, which is extended as
    events arrive and rebuilt when a late one lands; over two years of history the events
    older than the longest finite window (30 days) are folded into lifetime summaries.
    Interleave ingestion and queries and compare every feature with its definition."""
    rng = random.Random(100 + seed)
    features = all_features()
    plan = FeaturePlan(features, late_tolerance_ms=DAY)
    state = MemoryFeatureState(plan)
    phones, devices = ["p1", "p2", "p3"], ["d1", "d2"]
    amounts = [rng.randint(100, 20000) for _ in range(6)]  # repeats exercise distinct counts
    events: list[tuple[int, dict[str, Any]]] = []
    clock = 0
    plan_names = [f.name for f in features]
    for index in range(1500):
        clock += rng.randint(0, 24 * 3_600_000)
        # Late events, some older than the retained rows (folded on arrival at the next fold).
        timestamp = clock - (rng.randint(0, 40 * DAY) if rng.random() < 0.03 else 0)
        event = {"phone": rng.choice(phones), "device_id": rng.choice([*devices, None]),
                 "amount": rng.choice([*amounts, rng.randint(100, 20000), None]),
                 "channel": rng.choice(["app", "web"])}
        state.ingest("application", event, timestamp, index)
        events.append((timestamp, event))
        if rng.random() < 0.04:
            keys = {"phone": rng.choice(phones), "device_id": rng.choice(devices)}
            as_of = max(ts for ts, _ in events) + rng.randint(-DAY, 3 * 3_600_000)
            got = state.compute(keys, as_of)
            expected = [naive(f, events, keys, as_of) for f in features[:-1]]
            count, total = expected[0], expected[plan_names.index(features[-1].numerator)]
            expected.append(total / count if count else math.nan)
            np.testing.assert_allclose(got, expected, rtol=1e-9, atol=1e-6, equal_nan=True,
                                       err_msg=f"event {index}, {keys}")
    # Memory is bounded by the longest finite window: the series kept about 30 days (+ a day
    # of tolerance, + at most a quarter more before folding), not two years.
    for series in state.series.values():
        assert len(series) < 0.1 * len(events)
    assert max(ts for ts, _ in events) - min(ts for ts, _ in events) > 700 * DAY


def test_queries_before_the_retained_events_are_refused() -> None:
    from fengkong.errors import FengkongError

    state = MemoryFeatureState(FeaturePlan([feature("phone", "count", "7d", None),
                                            feature("phone", "count", "lifetime", None)],
                                           late_tolerance_ms=DAY))
    for index in range(400):
        state.ingest("application", {"phone": "1"}, index * DAY, index)
    assert state.compute({"phone": "1"}, 400 * DAY).tolist() == [7.0, 400.0]
    assert state.compute({"phone": "1"}, 399 * DAY).tolist() == [7.0, 399.0]  # within a day
    with pytest.raises(FengkongError, match="folded away"):
        state.compute({"phone": "1"}, 300 * DAY)


def test_a_selected_plan_reads_the_same_state() -> None:
    """A flow reading a few of the declared features computes only those, from the state
    kept for all of them, and gets the same values."""
    rng = random.Random(7)
    features = all_features()
    plan = FeaturePlan(features, late_tolerance_ms=DAY)
    state = MemoryFeatureState(plan)
    clock = 0
    for index in range(400):
        clock += rng.randint(0, 12 * 3_600_000)
        state.ingest("application", {"phone": rng.choice(["p1", "p2"]),
                                     "device_id": rng.choice(["d1", None]),
                                     "amount": rng.choice([rng.randint(1, 9), None]),
                                     "channel": rng.choice(["app", "web"])}, clock, index)
    names = [*rng.sample(plan.names[:-1], 25), "ratio"]
    selected = plan.select(names)
    assert selected.names[:len(names)] == names
    assert len(selected.names) <= len(names) + 2  # the ratio's parts, if not chosen
    for keys in ({"phone": "p1", "device_id": "d1"}, {"phone": "p2"}):
        for as_of in (clock + 1, clock - 3_600_000):  # suffix index, then backward scan
            everything = dict(zip(plan.names, state.compute(keys, as_of).tolist(),
                                  strict=True))
            chosen = compute(selected, state.series, keys, as_of)
            np.testing.assert_allclose(chosen, [everything[name] for name in selected.names],
                                       equal_nan=True)
    with pytest.raises(FengkongError, match="unknown features: nope"):
        plan.select(["nope"])
