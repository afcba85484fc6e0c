"""Backfill files: formats, selection, worker processes, and every bad input named.

The arithmetic is checked against the online state in ``test_backfill.py``; here, small
files check what the file layer adds: CSV and Parquet read alike, globs select, several
processes write the same file as one, and a bad file is refused with its file, column and
row (or CSV line), leaving no output behind.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from fengkong.errors import FengkongError
from fengkong.features.backfill import backfill_files, select_features
from fengkong.features.offline import OfflineInputError
from fengkong.features.spec import FeatureSpecError, load_feature_set

DAY = 86_400_000
SPEC = load_feature_set({
    "version": 1,
    "keys": ["phone", "device_id"],
    "events": {
        "application": {"timestamp": "applied_at", "fields": {
            "phone": "string", "device_id": "string", "amount": "number"}},
        "login": {"timestamp": "logged_in_at", "fields": {
            "phone": "string", "device_id": "string", "success": "bool"}},
    },
    "templates": [
        {"keys": ["phone", "device_id"], "events": ["application"], "fields": ["amount"],
         "aggregations": ["count", "sum", "mean"], "windows": ["1d", "lifetime"]},
        {"keys": ["phone", "device_id"], "events": ["login"],
         "filters": {"all": None, "failed": "not success"}, "aggregations": ["count"],
         "windows": ["1d"]},
    ],
})
APPLICATIONS = {"event_id": [1, 2, 3, 4], "applied_at": [DAY, 2 * DAY, 2 * DAY + 5, 3 * DAY],
                "phone": ["p1", "p1", "p2", "p1"], "device_id": ["d1", "d2", "d1", None],
                "amount": [100.0, None, 300.0, 50.0]}
LOGINS = ("event_id,logged_in_at,phone,device_id,success\n"
          "10,1970-01-02T07:00:00+08:00,p1,d1,true\n"
          "11,1970-01-02T10:00:00Z,p1,,false\n"
          "11,1970-01-02T11:00:00Z,p1,,false\n"  # a duplicate id: not counted
          f"12,{2 * DAY + 1},p2,d1,false\n")
QUERIES = {"application_id": ["a", "b", "c"], "as_of": [3 * DAY, 2 * DAY + 1, 2 * DAY + 1],
           "phone": ["p1", "p1", "p2"], "device_id": ["d1", None, "d1"]}


def files(folder: Path, applications: dict[str, Any] | None = None, logins: str = LOGINS,
          queries: dict[str, Any] | None = None) -> tuple[dict[str, Path], Path]:
    events = {"application": folder / "application.parquet", "login": folder / "login.csv"}
    pq.write_table(pa.table(applications or APPLICATIONS), events["application"])
    events["login"].write_text(logins)
    pq.write_table(pa.table(queries or QUERIES), folder / "queries.parquet")
    return events, folder / "queries.parquet"


def backfill(folder: Path, events: dict[str, Path], queries: Path, **options: Any
             ) -> pa.Table:
    backfill_files(SPEC, events, queries, folder / "out.parquet", **options)
    return pq.read_table(folder / "out.parquet")


def test_parquet_and_csv_events_give_point_in_time_features(tmp_path: Path) -> None:
    table = backfill(tmp_path, *files(tmp_path))
    assert table["application_id"].to_pylist() == ["b", "c", "a"]  # in as_of order
    rows = {row["application_id"]: row for row in table.to_pylist()}
    # b: p1 as of day 2 + 1 ms sees the day-1 application and (strictly before) the one at
    # day 2, and both p1 logins of day 1 (the failed one once, though it came twice).
    assert rows["b"]["phone.application.count.lifetime"] == 2
    assert rows["b"]["phone.application.amount.sum.lifetime"] == 100.0
    assert rows["b"]["phone.login.count.1d"] == 1  # the 07:00 Beijing login is 23:00 UTC
    assert rows["b"]["phone.login.failed.count.1d"] == 1
    # No device: its features have no history (counts 0, means null).
    assert rows["b"]["device_id.application.count.lifetime"] == 0
    assert rows["b"]["device_id.application.amount.mean.lifetime"] is None
    assert rows["c"]["device_id.login.failed.count.1d"] == 0  # the p2 login is 1 ms later
    assert rows["a"]["phone.application.amount.mean.1d"] is None  # one event, no amount


def test_features_are_selected_by_glob(tmp_path: Path) -> None:
    assert select_features(SPEC, ["*.login.*", "phone.application.count.*"]) == [
        "phone.application.count.1d", "phone.application.count.lifetime",
        "phone.login.count.1d", "phone.login.failed.count.1d",
        "device_id.login.count.1d", "device_id.login.failed.count.1d"]
    with pytest.raises(FeatureSpecError,
                       match=re.escape("no feature matches 'phone.logins.*'")):
        select_features(SPEC, ["phone.logins.*"])
    # Only the event types the selection reads need a file.
    events, queries = files(tmp_path)
    table = backfill(tmp_path, {"application": events["application"]}, queries,
                     features=["*.application.*"])
    assert table.num_columns == 2 + 12


def test_worker_processes_write_what_one_process_writes(tmp_path: Path) -> None:
    events, queries = files(tmp_path)
    alone = backfill(tmp_path, events, queries, workers=1)
    shared = backfill(tmp_path, events, queries, workers=2)
    assert shared.equals(alone)


@pytest.mark.parametrize(("change", "message"), [
    ({"applications": {**APPLICATIONS, "phone": [13800000000, 1, 2, 3]}},
     "application.parquet, column 'phone': expected text, found BIGINT"),
    # Numbers written as text are read (as from CSV), unreadable ones refused.
    ({"applications": {**APPLICATIONS, "amount": ["1", "1.5", "three", None]}},
     "application.parquet, column 'amount', row 3: 'three' is not a finite number"),
    ({"applications": {**APPLICATIONS, "amount": [1.0, float("inf"), 3.0, 4.0]}},
     "application.parquet, column 'amount', row 2: inf is not a finite number"),
    ({"applications": {key: value for key, value in APPLICATIONS.items()
                       if key != "phone"}},
     "application.parquet has no column 'phone'"),
    ({"logins": LOGINS.replace("1970-01-02T10:00:00Z", "1970-01-02 10:00:00")},
     "login.csv, column 'logged_in_at', line 3: '1970-01-02 10:00:00' is not a timestamp"),
    ({"logins": LOGINS.replace(",p2,d1,false", ",p2,d1,maybe")},
     "login.csv, column 'success', line 5: 'maybe' is not true or false"),
    ({"queries": {**QUERIES, "as_of": [None, DAY, DAY]}},
     "queries.parquet, column 'as_of', row 1: is missing"),
    ({"queries": {key: value for key, value in QUERIES.items() if key != "device_id"}},
     "queries.parquet has no column 'device_id'"),
])
def test_bad_input_names_file_column_and_row(tmp_path: Path, change: dict[str, Any],
                                             message: str) -> None:
    events, queries = files(tmp_path, **change)
    with pytest.raises(OfflineInputError, match=re.escape(message)):
        backfill(tmp_path, events, queries, workers=1)
    assert list(tmp_path.glob("out.parquet*")) == []  # nothing half-written is left


def test_times_without_a_zone_and_missing_files_are_refused(tmp_path: Path) -> None:
    events, queries = files(tmp_path)
    naive = dict(QUERIES, as_of=pa.array(np.array(QUERIES["as_of"], "datetime64[ms]")))
    pq.write_table(pa.table(naive), queries)
    with pytest.raises(OfflineInputError, match=r"found TIMESTAMP.*without a zone"):
        backfill(tmp_path, events, queries)
    zoned = dict(QUERIES, as_of=pa.array(np.array(QUERIES["as_of"], "datetime64[ms]"),
                                         pa.timestamp("ms", tz="UTC")))
    pq.write_table(pa.table(zoned), queries)
    assert backfill(tmp_path, events, queries)["as_of"].to_pylist() == [2 * DAY + 1,
                                                                        2 * DAY + 1, 3 * DAY]
    with pytest.raises(OfflineInputError, match="no events file for 'login'"):
        backfill(tmp_path, {"application": events["application"]}, queries)
    with pytest.raises(OfflineInputError, match="unknown event type 'logins'"):
        backfill(tmp_path, {**events, "logins": events["login"]}, queries)
    with pytest.raises(OfflineInputError, match="events file for 'login' not found"):
        backfill(tmp_path, {**events, "login": tmp_path / "nowhere.csv"}, queries)
    (tmp_path / "queries.txt").write_text("application_id,as_of\n")
    with pytest.raises(OfflineInputError,
                       match=re.escape("unknown format (expected .parquet or .csv)")):
        backfill(tmp_path, events, tmp_path / "queries.txt")


def test_a_worker_error_reaches_the_caller(tmp_path: Path) -> None:
    events, queries = files(tmp_path, logins=LOGINS.replace("p2,d1,false", "p2,d1,nope"))
    with pytest.raises(OfflineInputError,
                       match=re.escape("login.csv, column 'success', line 5")):
        backfill(tmp_path, events, queries, workers=2)
    assert list(tmp_path.glob("out.parquet*")) == []


def test_benchmarks_run_at_tiny_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # In this process (no interpreter start-up): the figures are not checked here, only that
    # both scripts run end to end and that fengkong and the DuckDB SQL agree.
    monkeypatch.syspath_prepend(str(Path(__file__).parents[2] / "benchmarks"))
    import bench_backfill
    import bench_duckdb_features

    monkeypatch.setattr("sys.argv", ["bench", "--applications", "300", "--workers", "1",
                                     "--json", str(tmp_path / "backfill.json")])
    bench_backfill.main()
    assert json.loads((tmp_path / "backfill.json").read_text())["features"] == 1000
    monkeypatch.setattr("sys.argv", ["bench", "--applications", "300", "--workers", "1",
                                     "--json", str(tmp_path / "duckdb.json")])
    bench_duckdb_features.main()
    results = json.loads((tmp_path / "duckdb.json").read_text())
    assert results["features"] == 250
    assert results["mismatches"] == {"exact": 0, "within_1e-9": 0}


def test_a_feature_may_aggregate_the_event_time_itself(tmp_path: Path) -> None:
    spec = load_feature_set({
        "version": 1, "keys": ["phone"],
        "events": {"application": {"timestamp": "applied_at",
                                   "fields": {"phone": "string", "amount": "number"}}},
        "templates": [{"keys": ["phone"], "events": ["application"],
                       "aggregations": ["max(applied_at)"], "windows": ["lifetime"]}]})
    events, queries = files(tmp_path)
    backfill_files(spec, {"application": events["application"]}, queries,
                   tmp_path / "out.parquet")
    latest = pq.read_table(tmp_path / "out.parquet")["phone.application.applied_at.max.lifetime"]
    assert latest.to_pylist() == [2 * DAY, None, 2 * DAY]  # b, c (p2 applies later), a


def test_without_the_offline_extra_the_error_says_what_to_install(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import importlib.util

    from fengkong.features import offline

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "duckdb" else real(name, *rest))
    with pytest.raises(FengkongError, match=r"needs duckdb: pip install 'fengkong\[offline\]'"):
        offline.read_applications(tmp_path / "applications.parquet", {}, "id", "at")
