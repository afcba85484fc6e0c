"""Side by side (issue #3): 250 windowed features of historical applications, computed by
fengkong's backfill and by the DuckDB SQL a user would write without it, in the same run.

    python benchmarks/bench_duckdb_features.py [--applications 100000] [--json FILE]

The features are counts, sums, means, minima, maxima and distinct counts over five windows
(an hour to 90 days) and the five keys of an application, unfiltered and for large loans.
Both sides start from the same Parquet files (the application event log of the synthetic
data, and the applications to backfill) and write Parquet; both use the two cores. The SQL
is what an analyst writes for point-in-time features: the applications are put in the event
stream of each key, and window aggregates over the frame ``[as_of - window, as_of - 1 ms]``
(strictly before the application) are kept on the application rows; the five keys are
joined on the application id. The values must agree: counts exactly, the others within
1e-9 (relative).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from bench_backfill import applicants_for, write_applications, write_credit_history  # noqa: E402
from fengkong.datasets import generate  # noqa: E402
from fengkong.features.backfill import backfill_files  # noqa: E402
from fengkong.features.spec import Feature, FeatureSet, load_feature_set  # noqa: E402

KEYS = ["id_number", "phone", "device_id", "ip", "card"]
WINDOWS = ["1h", "1d", "7d", "30d", "90d"]
# Each filter in ZEN (the spec) and in SQL (what the analyst writes).
FILTERS = {"large": ("amount >= 10000", "amount >= 10000")}
SPEC: dict[str, Any] = {
    "version": 1,
    "keys": KEYS,
    "events": {"application": {"timestamp": "applied_at", "fields": {
        "id_number": "string", "phone": "string", "device_id": "string", "ip": "string",
        "card": "string", "amount": "number"}}},
    "templates": [
        # 5 keys x 5 windows x 7 aggregations = 175
        {"keys": KEYS, "events": ["application"], "fields": ["amount"],
         "aggregations": ["count", "sum", "mean", "min", "max", "distinct(device_id)",
                          "distinct(ip)"],
         "windows": WINDOWS},
        # 5 keys x 5 windows x 3 aggregations of large loans = 75
        {"keys": KEYS, "events": ["application"], "fields": ["amount"],
         "filters": {name: zen for name, (zen, _) in FILTERS.items()},
         "aggregations": ["count", "sum", "distinct(phone)"], "windows": WINDOWS},
    ],
}
EXACT = ("count", "distinct")


def _sql_aggregate(feature: Feature) -> str:
    """One feature as a window aggregate over the application rows' frame."""
    condition = "is_event"
    if feature.filter is not None:
        condition += " AND " + next(sql for zen, sql in FILTERS.values()
                                    if zen == feature.filter)
    where = f"FILTER (WHERE {condition})"
    window = f"w_{feature.window.name}"
    field = f'"{feature.field}"'
    return {
        "count": f"COUNT(*) {where} OVER {window}",
        # fengkong's sum over no event is 0, SQL's is NULL
        "sum": f"COALESCE(SUM({field}) {where} OVER {window}, 0)",
        "mean": f"AVG({field}) {where} OVER {window}",
        "min": f"MIN({field}) {where} OVER {window}",
        "max": f"MAX({field}) {where} OVER {window}",
        "distinct": f"COUNT(DISTINCT {field}) {where} OVER {window}",
    }[feature.aggregation]


def feature_sql(spec: FeatureSet, events: Path, applications: Path, out: Path) -> str:
    """The SQL an analyst would write for these features (all on the application event):
    per key, the applications join the event stream, window aggregates look back strictly
    before each of them; the keys are joined on the application id."""
    fields = sorted({feature.field for feature in spec.features if feature.field} |
                    {"amount"} | set(KEYS))
    parts = []
    for key in KEYS:
        chosen = [feature for feature in spec.features if feature.key == key]
        windows = ", ".join(
            f"w_{name} AS (PARTITION BY k ORDER BY ts RANGE BETWEEN {milliseconds} PRECEDING "
            f"AND 1 PRECEDING)"
            for name, milliseconds in {feature.window.name: feature.window.milliseconds
                                       for feature in chosen}.items())
        columns = ", ".join(f'{_sql_aggregate(feature)} AS "{feature.name}"'
                            for feature in chosen)
        names = ", ".join(f'"{feature.name}"' for feature in chosen)
        parts.append(f"""
  {key}_features AS (
    SELECT application_id, {names} FROM (
      SELECT is_event, application_id, {columns}
      FROM (
        SELECT "{key}" AS k, applied_at AS ts, {", ".join(f'"{f}"' for f in fields)},
               TRUE AS is_event, NULL::BIGINT AS application_id
        FROM read_parquet('{events}')
        UNION ALL
        SELECT "{key}", applied_at, {", ".join("NULL" for _ in fields)}, FALSE, event_id
        FROM read_parquet('{applications}')
      )
      WINDOW {windows}
    ) WHERE NOT is_event
  )""")
    joins = " ".join(f"JOIN {key}_features USING (application_id)" for key in KEYS[1:])
    names = ", ".join(f'"{feature.name}"' for feature in spec.features)
    return (f"COPY (WITH {','.join(parts)}\n"
            f"SELECT application_id, {names} FROM {KEYS[0]}_features {joins}\n"
            f"ORDER BY application_id) TO '{out}' (FORMAT parquet)")


def compare(spec: FeatureSet, ours: Path, theirs: Path) -> dict[str, int]:
    """Values that differ between the two outputs (aligned on the application id)."""
    import pyarrow.parquet as pq

    mine = pq.read_table(ours).sort_by("event_id")
    other = pq.read_table(theirs).sort_by("application_id")
    assert mine["event_id"].equals(other["application_id"]), "not the same applications"
    mismatches = {"exact": 0, "within_1e-9": 0}
    for feature in spec.features:
        a = mine[feature.name].to_numpy(zero_copy_only=False).astype(np.float64)
        b = other[feature.name].to_numpy(zero_copy_only=False).astype(np.float64)
        if feature.aggregation in EXACT:
            mismatches["exact"] += int((a != b).sum())
        else:
            close = np.isclose(a, b, rtol=1e-9, atol=0.0, equal_nan=True)
            mismatches["within_1e-9"] += int((~close).sum())
    return mismatches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2, help="processes / DuckDB threads")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--sql", type=Path, help="also write the generated SQL here")
    options = parser.parse_args()
    import duckdb

    spec = load_feature_set(SPEC)
    assert len(spec.features) == 250
    with tempfile.TemporaryDirectory() as scratch:
        folder = Path(scratch)
        data = generate(applicants=applicants_for(options.applications), seed=11)
        paths = write_credit_history(data, folder)
        applications = write_applications(paths["application"], options.applications,
                                          folder / "applications.parquet")
        events = len(data.applications)
        del data
        start = time.perf_counter()
        backfill_files(spec, {"application": paths["application"]},
                       folder / "applications.parquet", folder / "fengkong.parquet",
                       id_column="event_id", time_column="applied_at",
                       workers=options.workers)
        ours = time.perf_counter() - start
        sql = feature_sql(spec, paths["application"], folder / "applications.parquet",
                          folder / "duckdb.parquet")
        if options.sql:
            options.sql.write_text(sql + ";\n")
        connection = duckdb.connect()
        connection.execute(f"SET threads = {options.workers}")
        start = time.perf_counter()
        connection.execute(sql)
        theirs = time.perf_counter() - start
        mismatches = compare(spec, folder / "fengkong.parquet", folder / "duckdb.parquet")
    results = {
        "machine": harness.machine(), "duckdb": duckdb.__version__,
        "applications": applications, "events": events, "features": len(spec.features),
        "workers": options.workers,
        "fengkong_backfill_seconds": round(ours, 2), "duckdb_sql_seconds": round(theirs, 2),
        "duckdb_over_fengkong": round(theirs / ours, 2), "mismatches": mismatches,
    }
    print(json.dumps(results, indent=1))
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
