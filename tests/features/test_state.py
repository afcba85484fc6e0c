"""The in-process feature state's ingest path: records, columns and single events agree;
bad rows are rejected with the field named while the rest of the batch is ingested; random
garbage never raises."""

from __future__ import annotations

import json
import math
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from fengkong.features.kernels import FeaturePlan
from fengkong.features.spec import EventValidationError, FeatureSet, load_feature_set
from fengkong.features.state import MemoryFeatureState, _text_code_of, text_code, text_codes

DAY = 86_400_000
SPEC = """
keys: [phone, device_id]
events:
  application:
    timestamp: applied_at
    fields: {phone: string, device_id: string, amount: number, channel: string,
             approved: bool, due_at: timestamp}
templates:
  - keys: [phone, device_id]
    events: [application]
    filters: {all: null, large: "amount >= 5000", app: "channel == 'app'",
              rejected: "not approved", due_soon: "due_at - applied_at < 86400000"}
    fields: [amount]
    aggregations: [count, sum, mean, std, min, max, last, distinct(channel), time_since_last]
    windows: [1h, 1d, 30d, lifetime]
"""


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return load_feature_set(yaml.safe_load(SPEC))


def state_of(features: FeatureSet) -> MemoryFeatureState:
    return MemoryFeatureState(FeaturePlan(features.features, features.events))


def history(seed: int, count: int) -> list[dict[str, Any]]:
    """Applications with their own timestamp field, some late, some without an amount."""
    rng = random.Random(seed)
    clock = 10 * DAY
    events = []
    for _ in range(count):
        clock += rng.randint(0, 3_600_000)
        stamp = clock - (rng.randint(0, DAY) if rng.random() < 0.1 else 0)
        events.append({"phone": rng.choice(["p1", "p2", "p3", None]),
                       "device_id": rng.choice(["d1", "d2"]),
                       "amount": rng.choice([rng.randint(100, 9000), 2.5, None]),
                       "channel": rng.choice(["app", "web"]),
                       "approved": rng.choice([True, False, None]),
                       "due_at": stamp + rng.randint(0, 3 * DAY),
                       "applied_at": stamp})
    return events


def same_features(one: MemoryFeatureState, other: MemoryFeatureState) -> None:
    for phone in ("p1", "p2", "p3"):
        for device in ("d1", "d2"):
            for as_of in (11 * DAY, 20 * DAY, 60 * DAY):
                keys = {"phone": phone, "device_id": device}
                np.testing.assert_allclose(one.compute(keys, as_of), other.compute(keys, as_of),
                                           rtol=1e-12, equal_nan=True)


@pytest.mark.parametrize("seed", range(2))
def test_records_columns_and_single_events_agree(features: FeatureSet, seed: int) -> None:
    events = history(seed, 600)
    ids = [index if index % 17 else index - 1 for index in range(len(events))]
    single, records, columns = (state_of(features) for _ in range(3))
    for event, event_id in zip(events, ids, strict=True):
        single.ingest("application", event, event_id=event_id)
    for start in range(0, len(events), 200):  # batches big enough for columnar filters
        chunk, chunk_ids = events[start:start + 200], ids[start:start + 200]
        report = records.ingest_many("application", chunk, event_ids=chunk_ids)
        assert not report.rejected
        as_columns = {name: [event[name] for event in chunk] for name in chunk[0]}
        as_columns["amount"] = np.array([math.nan if event["amount"] is None else
                                         event["amount"] for event in chunk])
        columns.ingest_columns("application", as_columns,
                               np.array([event["applied_at"] for event in chunk]),
                               np.array(chunk_ids))
    same_features(single, records)
    same_features(single, columns)


def test_iso_timestamps_are_read_and_timestamps_given_win(features: FeatureSet) -> None:
    state, other = state_of(features), state_of(features)
    report = state.ingest_many("application", [
        {"phone": "p1", "device_id": None, "amount": 10,
         "applied_at": "1970-01-02T00:00:00+00:00"},
        {"phone": "p1", "device_id": None, "amount": 20,
         "applied_at": "1970-01-02T08:00:00+08:00"}])
    assert (report.accepted, report.rejected) == (2, [])
    other.ingest_many("application", [{"phone": "p1", "device_id": None, "amount": 10,
                                       "applied_at": 5},
                                      {"phone": "p1", "device_id": None, "amount": 20}],
                      [DAY, DAY])
    same_features(state, other)


def test_bad_rows_are_reported_and_the_rest_ingested(features: FeatureSet) -> None:
    state = state_of(features)
    good = {"phone": "p1", "device_id": "d1", "amount": 5, "applied_at": DAY}
    bad = [
        ({**good, "colour": "red"}, "colour", "unknown field 'colour'"),
        ({**good, "amount": "five"}, "amount", "must be a number"),
        ({**good, "amount": True}, "amount", "must be a number"),
        ({**good, "amount": math.inf}, "amount", "finite"),
        ({**good, "approved": 1}, "approved", "must be a bool"),
        ({**good, "channel": 7}, "channel", "must be a string"),
        ({key: value for key, value in good.items() if key != "applied_at"}, "applied_at",
         "no timestamp"),
        ({**good, "applied_at": "yesterday"}, "applied_at", "ISO 8601"),
        ({**good, "applied_at": "2026-05-01T09:30:00"}, "applied_at", "UTC offset"),
        ({**good, "applied_at": 10 ** 30}, "applied_at", "out of range"),
        ({key: value for key, value in good.items() if key != "phone"}, "phone",
         "no entity key 'phone'"),
        ({**good, "phone": None, "device_id": None}, None, "none of the entity keys"),
        ("not an event", None, "must be an object"),
    ]
    events = [good, *[event for event, _, _ in bad], good]
    report = state.ingest_many("application", events, event_ids=list(range(len(events))))
    assert report.accepted == 2
    assert [entry.index for entry in report.rejected] == list(range(1, len(bad) + 1))
    for entry, (_, field, text) in zip(report.rejected, bad, strict=True):
        assert entry.field == field and text in entry.message, entry
        assert entry.event_id == entry.index
    assert count(state, "p1") == 2  # the good rows
    # A rejected event's id is not remembered: sent again, corrected, it is accepted.
    again = state.ingest_many("application", [good], event_ids=[2])
    assert again.accepted == 1 and count(state, "p1") == 3


def count(state: MemoryFeatureState, phone: str) -> float:
    """The phone's lifetime application count, as of long after every event."""
    slot = state.plan.names.index("phone.application.count.lifetime")
    return float(state.compute({"phone": phone}, 400 * DAY)[slot])


def test_an_unknown_event_type_rejects_every_row(features: FeatureSet) -> None:
    report = state_of(features).ingest_many("loan", [{"phone": "p1"}] * 3, [1, 2, 3])
    assert report.accepted == 0 and len(report.rejected) == 3
    assert "unknown event type 'loan' (known: application)" in report.rejected[0].message


def test_single_ingest_raises_the_rejection(features: FeatureSet) -> None:
    state = state_of(features)
    with pytest.raises(EventValidationError, match="'amount'") as caught:
        state.ingest("application", {"phone": "p1", "amount": "x"}, DAY)
    assert caught.value.field == "amount"
    event = {"phone": "p1", "device_id": None}
    assert state.ingest("application", event, DAY, event_id="a") is True
    assert state.ingest("application", event, DAY, event_id="a") is False


def test_columns_of_different_lengths_are_refused(features: FeatureSet) -> None:
    with pytest.raises(EventValidationError, match="different lengths"):
        state_of(features).ingest_columns("application", {"phone": ["p1"], "amount": [1, 2]},
                                          [1, 2])


def test_the_route_seam_keeps_its_shape(features: FeatureSet) -> None:
    """Stores that dedupe elsewhere call route(event_type, events, timestamps)."""
    state = state_of(features)
    batches, report = state.route("application", [{"phone": "p1", "device_id": "d1"},
                                                  {"phone": "p2", "device_id": "d1"}],
                                  [2000, 1000])
    assert report.accepted == 2
    assert sorted((batch.series, batch.timestamps.tolist()) for batch in batches) == [
        (("device_id", "d1", "application"), [1000, 2000]),
        (("phone", "p1", "application"), [2000]),
        (("phone", "p2", "application"), [1000])]
    assert not state.series  # routing alone changes no series


def test_text_codes_are_stable_and_agree_one_by_one() -> None:
    rng = random.Random(3)
    values = ["".join(rng.choice("ab中文😀z\x00") for _ in range(rng.randint(0, 90)))
              for _ in range(300)]
    assert text_codes(values).tolist() == [_text_code_of(value) for value in values]
    assert text_code("13800000000") == 33988963022387.0  # stored codes depend on it
    assert len({text_code(f"phone-{index}") for index in range(20_000)}) == 20_000


_VALUES = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=5),
                    st.lists(st.integers(), max_size=2), st.dictionaries(st.text(), st.integers(),
                                                                         max_size=1))
_FIELDS = st.sampled_from(["phone", "device_id", "amount", "channel", "approved", "due_at",
                           "applied_at", "other"])


@settings(max_examples=150, deadline=None)
@given(events=st.lists(st.one_of(st.dictionaries(_FIELDS, _VALUES, max_size=7), _VALUES),
                       max_size=25),
       ids=st.one_of(st.none(), st.lists(_VALUES, min_size=25, max_size=25)),
       event_type=st.sampled_from(["application", "application", "nope"]))
def test_garbage_is_reported_never_raised(features: FeatureSet, events: list[Any],
                                          ids: list[Any] | None, event_type: str) -> None:
    state = state_of(features)
    event_ids = None if ids is None else ids[:len(events)]
    report = state.ingest_many(event_type, events, event_ids=event_ids)
    assert report.accepted + report.duplicates + len(report.rejected) == len(events)
    assert all(entry.message for entry in report.rejected)
    state.compute({"phone": "p1", "device_id": "d1"}, 10 ** 12)


@settings(max_examples=100, deadline=None)
@given(columns=st.dictionaries(_FIELDS, st.lists(_VALUES, min_size=8, max_size=8), max_size=7),
       timestamps=st.one_of(st.none(), st.lists(_VALUES, min_size=8, max_size=8)))
def test_garbage_columns_are_reported_never_raised(features: FeatureSet,
                                                   columns: dict[str, list[Any]],
                                                   timestamps: list[Any] | None) -> None:
    state = state_of(features)
    report = state.ingest_columns("application", columns, timestamps)
    assert report.accepted + report.duplicates + len(report.rejected) == 8 or not columns
    state.compute({"phone": "p1", "device_id": "d1"}, 10 ** 12)


def test_the_ingest_benchmark_runs_at_tiny_size(tmp_path: Path) -> None:
    script = Path(__file__).parents[2] / "benchmarks" / "bench_features.py"
    output = tmp_path / "figures.json"
    subprocess.run([sys.executable, str(script), "--events", "5", "--queries", "3",
                    "--repeat", "1", "--durable-dir", str(tmp_path), "--json", str(output)],
                   check=True, capture_output=True)
    figures = json.loads(output.read_text())
    assert figures["ingest_columns_events_per_second"] > 0
    assert figures["durable_ingest_1000_per_fsync_events_per_second"] > 0


def test_text_codes_survive_the_cache_filling_up(monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache of recent text codes is bounded: when it is cleared, a batch mixing cached
    and new texts still gets every code (a million-application backfill overflowed it)."""
    from fengkong.features import state

    monkeypatch.setattr(state, "_TEXT_CODES_KEPT", 8)
    monkeypatch.setattr(state, "_TEXT_CODES", {})
    first = [f"phone-{index}" for index in range(6)]
    assert state._known_text_codes(first) == {text: text_code(text) for text in first}
    mixed = [*first[:3], *(f"card-{index}" for index in range(4))]  # overflows: clears
    assert state._known_text_codes(mixed) == {text: text_code(text) for text in mixed}
