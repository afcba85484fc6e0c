"""Offline backfill equals the online state, for every feature of a spec, on 100,000 events.

The online side is a decision service: it ingests the history one event at a time in
arrival order (late events, duplicate ids and missing values included) and answers each
application as soon as every event before it has arrived. The backfill reads the same
history from files — applications from Parquet, logins from CSV with ISO 8601 times — and
replays it in time order, in chunks; the in-memory backfill replays it from the events as
given. Counts must agree exactly, floats within 1e-9, and "no value" (NaN online) is null
in the Parquet output.
"""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from fengkong.features.backfill import Event, backfill, backfill_files
from fengkong.features.kernels import FeaturePlan
from fengkong.features.spec import FeatureSet, load_feature_set
from fengkong.features.state import MemoryFeatureState

DAY = 86_400_000
BEIJING = timezone(timedelta(hours=8))

# Every aggregation kind, filters on numbers, text and booleans, windows from ten minutes
# to lifetime, ratios, and two event types sharing two keys.
SPEC: dict[str, Any] = {
    "version": 1,
    "keys": ["phone", "device_id"],
    "events": {
        "application": {"timestamp": "applied_at", "fields": {
            "phone": "string", "device_id": "string", "amount": "number", "channel": "string",
            "approved": "bool"}},
        "login": {"timestamp": "logged_in_at", "fields": {
            "phone": "string", "device_id": "string", "success": "bool"}},
    },
    "templates": [
        {"keys": ["phone", "device_id"], "events": ["application"],
         "filters": {"all": None, "large": "amount >= 5000", "app": "channel == 'app'",
                     "rejected": "not approved"},
         "fields": ["amount"],
         "aggregations": ["count", "sum", "mean", "min", "max", "std", "last",
                          "distinct(channel)", "distinct(amount)", "time_since_last",
                          "first_seen_age"],
         "windows": ["1h", "1d", "7d", "30d", "lifetime"]},
        {"keys": ["phone", "device_id"], "events": ["application"], "windows": ["1d", "30d"],
         "ratios": {"large_share": ["large.count", "count"]}},
        {"keys": ["phone", "device_id"], "events": ["login"],
         "filters": {"all": None, "failed": "not success"},
         "aggregations": ["count", "distinct(device_id)", "time_since_last", "first_seen_age"],
         "windows": ["10m", "1d", "lifetime"]},
    ],
}


def history(rng: random.Random, count: int) -> list[Event]:
    """Applications and logins (7:3) over ~3 months by 300 phones and 200 devices, in
    arrival order: 5% arrive up to a day late, 1% repeat the previous id of their type,
    some have no amount or no device."""
    phones = [f"1380000{i:04d}" for i in range(300)]
    devices = [f"dev-{i}" for i in range(200)]
    events = []
    clock = 0
    last_id = {"application": 0, "login": 0}
    for index in range(1, count + 1):
        clock += rng.randint(0, 160_000)
        stamp = clock - (rng.randint(0, DAY) if rng.random() < 0.05 else 0)
        device = rng.choice(devices) if rng.random() > 0.02 else None
        if rng.random() < 0.7:
            event_type = "application"
            record: dict[str, Any] = {
                "phone": rng.choice(phones), "device_id": device,
                "amount": rng.choice([rng.randint(100, 60000) / 4, None]),
                "channel": rng.choice(["app", "web", "h5"]), "approved": rng.random() < 0.7}
        else:
            event_type = "login"
            record = {"phone": rng.choice(phones), "device_id": device,
                      "success": rng.random() < 0.9}
        event_id = last_id[event_type] if rng.random() < 0.01 else index
        last_id[event_type] = event_id
        events.append(Event(event_type, stamp, record, event_id))
    return events


def online(plan: FeaturePlan, events: list[Event],
           applications: list[tuple[int, dict[str, Any]]]) -> np.ndarray:
    """What a service answers: each application as of its time, asked at the first moment
    when no event before it is still to arrive (events arrive in list order)."""
    state = MemoryFeatureState(plan)
    # The earliest timestamp still to arrive, before each event is ingested.
    still_to_come = np.minimum.accumulate(
        np.array([event.timestamp for event in events] + [np.iinfo(np.int64).max])[::-1])[::-1]
    waiting = sorted(range(len(applications)), key=lambda index: applications[index][0])
    answers = np.full((len(applications), len(plan.names)), np.nan)
    asked = 0
    for index, event in enumerate([*events, None]):
        while asked < len(waiting) and applications[waiting[asked]][0] <= still_to_come[index]:
            as_of, keys = applications[waiting[asked]]
            answers[waiting[asked]] = state.compute(keys, as_of)
            asked += 1
        if event is not None:
            state.ingest(event.type, event.record, event.timestamp, event.id)
    return answers


def write_files(folder: Path, spec: FeatureSet, events: list[Event],
                applications: list[tuple[int, dict[str, Any]]]) -> dict[str, Path]:
    """Applications as Parquet (epoch ms), logins as CSV (ISO 8601 in Beijing time), the
    applications to backfill as Parquet; events in arrival order, with their ids."""
    paths = {"application": folder / "application.parquet", "login": folder / "login.csv"}
    rows = [event for event in events if event.type == "application"]
    fields = spec.events["application"].fields
    columns = {"event_id": [event.id for event in rows],
               "applied_at": [event.timestamp for event in rows],
               **{name: [event.record[name] for event in rows] for name in fields
                  if name != "applied_at"}}
    pq.write_table(pa.table(columns), paths["application"])
    with paths["login"].open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["event_id", "logged_in_at", "phone", "device_id", "success"])
        for event in events:
            if event.type == "login":
                moment = datetime.fromtimestamp(event.timestamp / 1000, UTC).astimezone(BEIJING)
                record = event.record
                writer.writerow([event.id, moment.isoformat(timespec="milliseconds"),
                                 record["phone"], record["device_id"] or "",
                                 str(record["success"]).lower()])
    pq.write_table(pa.table({
        "application_id": [f"A{index}" for index in range(len(applications))],
        "as_of": [as_of for as_of, _ in applications],
        "phone": [keys["phone"] for _, keys in applications],
        "device_id": [keys["device_id"] for _, keys in applications]}),
        folder / "applications.parquet")
    return paths


def test_backfill_from_files_equals_online_on_100k_events(tmp_path: Path) -> None:
    rng = random.Random(42)
    spec = load_feature_set(SPEC)
    events = history(rng, 100_000)
    end = max(event.timestamp for event in events)
    applications = [(rng.randint(0, end + DAY),
                     {"phone": f"1380000{rng.randrange(300):04d}",
                      "device_id": f"dev-{rng.randrange(200)}" if rng.random() > 0.05
                      else None})
                    for _ in range(400)]
    # The service may see events up to a day late and answers a moment later: it keeps two
    # days beyond its windows. The tolerance changes what a state keeps, not its answers.
    plan = FeaturePlan(spec.features, spec.events)
    expected = online(FeaturePlan(spec.features, spec.events, late_tolerance_ms=2 * DAY),
                      events, applications)
    assert np.isfinite(expected).sum() > expected.size // 3  # the history is not empty
    counts = [index for index, feature in enumerate(spec.features)
              if feature.aggregation in ("count", "distinct")]

    in_memory = backfill(plan, events, applications)
    np.testing.assert_array_equal(in_memory[:, counts], expected[:, counts])
    np.testing.assert_allclose(in_memory, expected, rtol=1e-9, atol=1e-9, equal_nan=True)

    paths = write_files(tmp_path, spec, events, applications)
    report = backfill_files(spec, paths, tmp_path / "applications.parquet",
                            tmp_path / "features.parquet", chunk_rows=150)
    assert report.rows == 400 and report.features == tuple(plan.names)
    table = pq.read_table(tmp_path / "features.parquet")
    assert table.column_names == ["application_id", "as_of", *plan.names]
    position = {f"A{index}": index for index in range(len(applications))}
    order = [position[identifier] for identifier in table["application_id"].to_pylist()]
    assert table["as_of"].to_pylist() == sorted(as_of for as_of, _ in applications)
    for column in table.columns[2:]:
        assert column.null_count == 0 or not np.isnan(column.drop_null().to_numpy()).any()
    from_files = np.column_stack([column.to_numpy(zero_copy_only=False)
                                  for column in table.columns[2:]])  # null -> NaN
    np.testing.assert_array_equal(from_files[:, counts], expected[order][:, counts])
    np.testing.assert_allclose(from_files, expected[order], rtol=1e-9, atol=1e-9,
                               equal_nan=True)
