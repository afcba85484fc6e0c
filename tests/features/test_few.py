"""The row-by-row route of a few events pinned to the general, column-by-column one.

``MemoryFeatureState.routed`` takes a list of fewer than 16 plain records through
``_routed_few``; anything else (a tuple, say) goes the general way. Random batches — good
events, bad ones (rejected, with the same messages), duplicate and bad ids, late and
unordered events, ISO timestamps, NaN, filters reading several fields — must give the same
series batches bit for bit, the same report, the same logged values, and the same features.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
import yaml
from hypothesis import event, given, settings
from hypothesis import strategies as st

from fengkong.features.kernels import FeaturePlan
from fengkong.features.spec import FeatureSet, load_feature_set
from fengkong.features.state import MemoryFeatureState, Routed

DAY = 86_400_000
BASE = 20 * DAY
SPEC = """
keys: [phone, device_id]
events:
  application:
    timestamp: applied_at
    fields: {phone: string, device_id: string, amount: number, channel: string,
             approved: bool, due_at: timestamp}
  login:
    timestamp: at
    fields: {phone: string, success: bool}
templates:
  - keys: [phone, device_id]
    events: [application]
    filters: {all: null, large: "amount >= 5000", app: "channel == 'app'",
              rejected: "not approved", due_soon: "due_at - applied_at < 86400000"}
    fields: [amount]
    aggregations: [count, sum, mean, std, min, max, last, distinct(channel), time_since_last]
    windows: [1h, 1d, 30d, lifetime]
  - keys: [phone]
    events: [application]
    aggregations: [distinct(device_id)]
    windows: [30d]
  - keys: [phone]
    events: [login]
    filters: {failed: "not success"}
    aggregations: [count]
    windows: [1d]
"""


@pytest.fixture(scope="module")
def features() -> FeatureSet:
    return load_feature_set(yaml.safe_load(SPEC))


def iso(milliseconds: int) -> str:
    return np.datetime_as_string(np.datetime64(milliseconds, "ms")) + "+00:00"


_TIMES = st.one_of(st.integers(BASE - 2 * DAY, BASE + 2 * DAY),
                   st.integers(BASE - DAY, BASE + DAY).map(lambda ms: iso(ms - ms % 1000)),
                   st.sampled_from([None, True, 1.5e12, "yesterday", 2 ** 60, "2026-05-01T09:30"]))
_GOOD = {"phone": st.sampled_from(["p1", "p2", "p3", None]),
         "device_id": st.sampled_from(["d1", "d2", None, "中文"]),
         "amount": st.one_of(st.integers(0, 9000), st.floats(0, 9000), st.none(),
                             st.just(math.nan)),
         "channel": st.sampled_from(["app", "web", None]),
         "approved": st.sampled_from([True, False, None]),
         "due_at": st.one_of(st.integers(BASE - DAY, BASE + 3 * DAY), st.none()),
         "applied_at": st.integers(BASE - 2 * DAY, BASE + 2 * DAY)}
_BAD = {"phone": st.sampled_from([5, True]), "amount": st.sampled_from(
    [math.inf, True, "lots", [1]]), "approved": st.just(1), "due_at": _TIMES,
    "applied_at": _TIMES, "device_id": st.just(2.5)}
_IDS = st.sampled_from([1, 1.0, True, "a", "b", "c", None, math.nan, [1], 2.5])


@st.composite
def records(draw: st.DrawFn) -> Any:
    """An application record: mostly good, sometimes a bad value, a field missing, an
    unknown field, or not a record at all."""
    record = {name: draw(values) for name, values in _GOOD.items()}
    trouble = draw(st.integers(0, 9))
    if trouble == 0:
        name = draw(st.sampled_from(sorted(_BAD)))
        record[name] = draw(_BAD[name])
    elif trouble == 1:
        del record[draw(st.sampled_from(sorted(record)))]
    elif trouble == 2:
        record[draw(st.sampled_from(["colour", 7]))] = 1
    elif trouble == 3 and draw(st.booleans()):
        return draw(st.sampled_from([None, "event", [1]]))
    return record


@st.composite
def batches(draw: st.DrawFn) -> tuple[str, list[Any], list[Any] | None, list[Any] | None]:
    size = draw(st.integers(1, 15))
    event_type = draw(st.sampled_from(["application"] * 6 + ["login", "nope"]))
    if event_type == "login":
        events: list[Any] = [{"phone": draw(st.sampled_from(["p1", "p2", None])),
                              "success": draw(st.sampled_from([True, False, None])),
                              "at": draw(_GOOD["applied_at"])} for _ in range(size)]
    else:
        # one shape per batch mostly (the fast path's case), sometimes mixed
        uniform = draw(st.booleans())
        first = draw(records())
        events = [first if uniform and isinstance(first, dict) and not row else draw(records())
                  for row in range(size)]
        if uniform and isinstance(first, dict):
            events = [{**first, **{name: draw(_GOOD[name]) for name in first if name in _GOOD}}
                      for _ in range(size)]
    timestamps = draw(st.one_of(st.none(), st.lists(_TIMES, min_size=size, max_size=size)))
    ids = draw(st.one_of(st.none(), st.lists(_IDS, min_size=size, max_size=size)))
    return event_type, events, timestamps, ids


def same_value(one: Any, other: Any) -> bool:
    if isinstance(one, float) and isinstance(other, float) and one != one:
        return other != other
    return type(one) is type(other) and one == other


def same_bits(one: np.ndarray, other: np.ndarray) -> bool:
    return one.dtype == other.dtype and one.shape == other.shape and \
        np.ascontiguousarray(one).tobytes() == np.ascontiguousarray(other).tobytes()


def assert_same_routed(fast: Routed, general: Routed) -> None:
    assert (fast.report.accepted, fast.report.duplicates) == \
        (general.report.accepted, general.report.duplicates)
    assert [(entry.index, entry.field, entry.message) for entry in fast.report.rejected] == \
        [(entry.index, entry.field, entry.message) for entry in general.report.rejected]
    assert all(same_value(one.event_id, other.event_id) for one, other in
               zip(fast.report.rejected, general.report.rejected, strict=True))
    assert fast.rows == general.rows
    assert same_bits(fast.timestamps, general.timestamps)
    fast_columns, general_columns = fast.accepted_columns(), general.accepted_columns()
    assert fast_columns.keys() == general_columns.keys()
    for name, values in fast_columns.items():
        assert len(values) == len(general_columns[name])
        assert all(map(same_value, values, general_columns[name])), name
    assert (fast.event_ids is None) == (general.event_ids is None)
    assert [batch.series for batch in fast.batches] == \
        [batch.series for batch in general.batches]
    for one, other in zip(fast.batches, general.batches, strict=True):
        assert same_bits(one.timestamps, other.timestamps)
        assert same_bits(one.values, other.values)
        assert same_bits(one.passes, other.passes)


def state_of(features: FeatureSet) -> MemoryFeatureState:
    return MemoryFeatureState(FeaturePlan(features.features, features.events))


@settings(max_examples=300, deadline=None)
@given(sequence=st.lists(batches(), min_size=1, max_size=4))
def test_a_few_events_route_as_the_general_path_does(
        features: FeatureSet, sequence: list[tuple[str, list[Any], Any, Any]]) -> None:
    fast, general = state_of(features), state_of(features)
    for event_type, events, timestamps, ids in sequence:
        one = fast._routed_few(event_type, events, timestamps, ids)
        event("row by row" if one is not None else "the general path")
        if one is None:
            one = fast.routed(event_type, events, timestamps, ids)
        other = general.routed(event_type, tuple(events),
                               None if timestamps is None else tuple(timestamps),
                               None if ids is None else tuple(ids))
        assert_same_routed(one, other)
        assert fast.seen_ids == general.seen_ids
        fast.apply(one.batches)
        general.apply(other.batches)
    # The features of both paths' batches, applied to fresh states, agree bit for bit.
    fast, general = state_of(features), state_of(features)
    for event_type, events, timestamps, ids in sequence:
        fast.ingest_many(event_type, events, timestamps, ids)
        general.ingest_many(event_type, tuple(events),
                            None if timestamps is None else tuple(timestamps),
                            None if ids is None else tuple(ids))
    for phone in ("p1", "p2", "p3"):
        for device in ("d1", "d2", "中文"):
            for as_of in (BASE, BASE + DAY, BASE + 5 * DAY):
                keys = {"phone": phone, "device_id": device}
                assert same_bits(fast.compute(keys, as_of), general.compute(keys, as_of))


def test_a_good_event_takes_the_row_by_row_route(features: FeatureSet) -> None:
    state = state_of(features)
    event_ = {"phone": "p1", "device_id": "d1", "amount": 6000, "channel": "app",
              "approved": False, "due_at": iso(BASE + 1000), "applied_at": iso(BASE)}
    routed = state._routed_few("application", [event_], None, ["a-1"])
    assert routed is not None and routed.report.accepted == 1
    assert routed.accepted_columns()["due_at"] == [BASE + 1000]  # ISO read as epoch ms
    # each of these goes the general way, which reports the event
    for bad in ({**event_, "amount": "lots"}, {**event_, "colour": "red"},
                {key: value for key, value in event_.items() if key != "phone"},
                {**event_, "phone": None, "device_id": None}, {**event_, "applied_at": None}):
        assert state._routed_few("application", [bad], None, None) is None
        assert state.routed("application", [bad]).report.rejected
