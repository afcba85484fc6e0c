"""The decision store's group commit (issue #5): decisions per second and acknowledgement
latency through ``Store.submit_decision``, on SQLite and PostgreSQL.

    python benchmarks/bench_store.py [--quick] [--seconds 5] [--dir build/bench-store]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--skip-postgres]
        [--json out.json]

For 1, 8 and 64 concurrent submitters (threads, each waiting for its acknowledgement before
sending the next decision, as a request handler does), every acknowledgement is a commit
fsynced to disk: SQLite in WAL mode with ``synchronous=FULL`` in ``--dir`` (a real disk,
not /tmp on tmpfs), PostgreSQL with its defaults (``fsync``, ``synchronous_commit=on``) in
a schema made for the run and dropped after. A decision is a realistic record: a 1 kB
application, a response with reasons, a trace of 12 nodes and 40 features. After each run
the hash chain is verified, so the figures are for correct writes.
"""

from __future__ import annotations

import argparse
import json
import secrets
import shutil
import statistics
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from fengkong.store import DecisionRecord, open_store  # noqa: E402


def decision(submitter: int, number: int) -> DecisionRecord:
    application_id = f"s{submitter}-{number}-{secrets.token_hex(4)}"
    request = {"applicationId": application_id,
               "applicant": {"name": "张三", "idNumber": "110101199003070000", "age": 34,
                             "income": 18250.5, "phone": "13800000000"},
               "device": {"id": secrets.token_hex(16), "ip": "10.2.3.4", "os": "android"},
               "loan": {"amount": 20000, "term": 12, "purpose": "consumption"},
               "history": [{"month": month, "paid": True} for month in range(12)]}
    return DecisionRecord(
        flow="credit", strategy_version="3f2a9c0d", application_id=application_id,
        request=request,
        response={"outcome": "APPROVE", "limit": 20000, "apr": 0.1799,
                  "reasons": ["R01", "R07"], "score": 642},
        outcome="APPROVE",
        trace={f"node{index}": {"ms": 0.01 * index, "branch": index % 3}
               for index in range(12)},
        features={f"phone.application.count.{window}d.{index}": index
                  for index in range(8) for window in (1, 7, 30, 90, 365)},
        latency_ms=2.5, decided_at=datetime.now(UTC))


def run(url: str, submitters: int, seconds: float) -> dict[str, Any]:
    with open_store(url) as store:
        for number in range(50):  # warm the connections and the page cache
            store.record_decision(decision(-1, number))
        batches_before = store._writer.batches
        samples: list[list[float]] = [[] for _ in range(submitters)]
        stop = threading.Event()
        start_line = threading.Barrier(submitters + 1)

        def submitter(index: int) -> None:
            own = samples[index]
            number = 0
            start_line.wait()
            while not stop.is_set():
                record = decision(index, number)
                began = time.perf_counter()
                store.submit_decision(record).result()
                own.append(time.perf_counter() - began)
                number += 1

        threads = [threading.Thread(target=submitter, args=(index,))
                   for index in range(submitters)]
        for thread in threads:
            thread.start()
        start_line.wait()
        began = time.perf_counter()
        time.sleep(seconds)
        stop.set()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - began
        batches = store._writer.batches - batches_before
        report = store.verify_chain()
        assert report.ok, report.problems
    latencies = sorted(sample for own in samples for sample in own)
    count = len(latencies)
    return {"submitters": submitters, "decisions": count,
            "decisions_per_s": round(count / elapsed),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "p99_ms": round(latencies[min(count - 1, int(count * 0.99))] * 1000, 2),
            "mean_batch": round(count / max(batches, 1), 1),
            "chain_checked": report.checked}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (0.5 s each)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--dir", type=Path, default=ROOT / "build" / "bench-store")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    seconds = 0.5 if args.quick else args.seconds
    results: dict[str, Any] = {"machine": harness.machine(), "seconds_per_run": seconds,
                               "runs": []}
    targets: list[tuple[str, Any]] = [("sqlite", None)]
    if not args.skip_postgres:
        targets.append(("postgresql", None))
    for dialect, _ in targets:
        for submitters in (1, 8, 64):
            if dialect == "sqlite":
                folder = args.dir / secrets.token_hex(4)
                folder.mkdir(parents=True)
                url = f"sqlite:///{folder.resolve() / 'fengkong.db'}"
                try:
                    result = run(url, submitters, seconds)
                finally:
                    shutil.rmtree(folder, ignore_errors=True)
            else:
                import psycopg

                schema = f"fk_bench_{secrets.token_hex(4)}"
                with psycopg.connect(args.postgres, autocommit=True) as admin:
                    admin.execute(f"CREATE SCHEMA {schema}")
                    try:
                        separator = "&" if "?" in args.postgres else "?"
                        url = (f"{args.postgres}{separator}options="
                               f"{quote(f'-csearch_path={schema}')}")
                        result = run(url, submitters, seconds)
                    finally:
                        admin.execute(f"DROP SCHEMA {schema} CASCADE")
            result["database"] = dialect
            results["runs"].append(result)
            print(f"{dialect:<10} {submitters:>3} submitters: {result['decisions_per_s']:>6,} "
                  f"decisions/s  p50 {result['p50_ms']:>6.2f} ms  p99 {result['p99_ms']:>6.2f} "
                  f"ms  mean batch {result['mean_batch']:>5}", flush=True)
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
