"""The decision store's group commit (issue #5): decisions per second and acknowledgement
latency through ``Store.submit_decision``, on SQLite and PostgreSQL.

    python benchmarks/bench_store.py [--quick] [--seconds 5] [--repeat 1] [--busy]
        [--submitters 1,8,64] [--dir build/bench-store]
        [--postgres postgresql://postgres@127.0.0.1:5432/test] [--skip-postgres]
        [--json out.json]

For 1, 8 and 64 concurrent submitters (threads, each waiting for its acknowledgement before
sending the next decision, as a request handler does), every acknowledgement is a commit
fsynced to disk: SQLite in WAL mode with ``synchronous=FULL`` in ``--dir`` (a real disk,
not /tmp on tmpfs), PostgreSQL with its defaults (``fsync``, ``synchronous_commit=on``) in
a schema made for the run and dropped after. A decision is a realistic record: a 1 kB
application, a response with reasons, a trace of 12 nodes and 40 features. After each run
the hash chain is verified, so the figures are for correct writes.

Besides throughput and latency, each run reports the writer thread's CPU time per decision
(its thread clock: its Python, and on SQLite the database engine and the system calls it
makes on that thread; PostgreSQL's own work is in the server's processes).

``--busy`` runs a CPU-bound pure-Python loop in another thread meanwhile, standing for the
event loop of the HTTP service: every time the writer lets go of the GIL (each SQL
statement, the fsync) it must win it back from that thread, which holds it for up to the
switch interval (5 ms). The loop's speed is reported as a share of its speed alone
(measured for a second before each run), so a writer that steals less leaves more to the
server. ``--repeat`` runs each case several times and prints the median of each figure as
well (the machines are shared).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import secrets
import shutil
import statistics
import sys
import threading
import time
from collections.abc import Iterator
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


class BusyLoop:
    """A thread that keeps the GIL busy with pure Python, as a loaded event loop does;
    ``rate`` is its loops per second while it ran."""

    def __init__(self) -> None:
        self.loops = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._spin, name="busy-loop")
        self._began = self._ended = 0.0

    def _spin(self) -> None:
        self._began = time.perf_counter()
        while not self._stop.is_set():
            spin()
            self.loops += 1
        self._ended = time.perf_counter()

    @contextlib.contextmanager
    def running(self) -> Iterator[BusyLoop]:
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join()

    @property
    def rate(self) -> float:
        return self.loops / max(self._ended - self._began, 1e-9)


def spin() -> int:
    """About 50 us of pure-Python work (one 'request handler' of the busy loop)."""
    total = 0
    for number in range(1000):
        total += number * number % 7
    return total


def solo_rate(seconds: float = 1.0) -> float:
    """Loops per second of the busy loop with nothing else running."""
    with BusyLoop().running() as busy:
        time.sleep(seconds)
    return busy.rate


def run(url: str, submitters: int, seconds: float, busy: bool) -> dict[str, Any]:
    with open_store(url) as store:
        for number in range(50):  # warm the connections and the page cache
            store.record_decision(decision(-1, number))
        batches_before = store._writer.batches
        writer_clock = time.pthread_getcpuclockid(store._writer._thread.ident or 0)
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
        loop = BusyLoop()
        with loop.running() if busy else contextlib.nullcontext(loop):
            start_line.wait()
            began = time.perf_counter()
            writer_began = time.clock_gettime(writer_clock)
            time.sleep(seconds)
            stop.set()
            for thread in threads:
                thread.join()
            writer_seconds = time.clock_gettime(writer_clock) - writer_began
            elapsed = time.perf_counter() - began
        batches = store._writer.batches - batches_before
        report = store.verify_chain()
        assert report.ok, report.problems
    latencies = sorted(sample for own in samples for sample in own)
    count = len(latencies)
    result = {"submitters": submitters, "decisions": count,
              "decisions_per_s": round(count / elapsed),
              "p50_ms": round(statistics.median(latencies) * 1000, 2),
              "p99_ms": round(latencies[min(count - 1, int(count * 0.99))] * 1000, 2),
              "mean_batch": round(count / max(batches, 1), 1),
              "writer_cpu_us": round(writer_seconds / max(count, 1) * 1e6, 1),
              "chain_checked": report.checked}
    if busy:
        result["busy_loops_per_s"] = round(loop.rate)
    return result


FIGURES = ("decisions_per_s", "p50_ms", "p99_ms", "mean_batch", "writer_cpu_us",
           "busy_share")


def line(label: str, result: dict[str, Any]) -> str:
    text = (f"{label:<24} {result['decisions_per_s']:>6,} decisions/s  "
            f"p50 {result['p50_ms']:>7.2f} ms  p99 {result['p99_ms']:>7.2f} ms  "
            f"batch {result['mean_batch']:>6}  writer {result['writer_cpu_us']:>6} us/decision")
    if "busy_share" in result:
        text += f"  busy loop {result['busy_share']:.0%} of solo"
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a smoke run (0.5 s each)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--repeat", type=int, default=1, help="runs of each case")
    parser.add_argument("--busy", action="store_true",
                        help="a CPU-bound Python thread competes for the GIL meanwhile")
    parser.add_argument("--submitters", default="1,8,64",
                        help="comma-separated numbers of concurrent submitters")
    parser.add_argument("--dir", type=Path, default=ROOT / "build" / "bench-store")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--json", type=Path, help="write the results here")
    args = parser.parse_args()
    seconds = 0.5 if args.quick else args.seconds
    results: dict[str, Any] = {"machine": harness.machine(), "seconds_per_run": seconds,
                               "busy": args.busy, "runs": [], "medians": []}
    dialects = ["sqlite"] if args.skip_postgres else ["sqlite", "postgresql"]
    for dialect in dialects:
        for submitters in (int(part) for part in args.submitters.split(",")):
            repeats = []
            for _ in range(args.repeat):
                # The loop's solo speed is taken right before each run: other jobs on a
                # shared machine change it from minute to minute.
                solo = solo_rate() if args.busy else 0.0
                result = run_once(dialect, submitters, seconds, args)
                if args.busy:
                    result["busy_solo_loops_per_s"] = round(solo)
                    result["busy_share"] = round(result["busy_loops_per_s"] / solo, 3)
                repeats.append(result)
                results["runs"].append(result)
                print(line(f"{dialect} x{submitters}", result), flush=True)
            if args.repeat > 1:
                median = {"database": dialect, "submitters": submitters,
                          **{name: statistics.median(run[name] for run in repeats)
                             for name in FIGURES if name in repeats[0]}}
                results["medians"].append(median)
                print(line(f"{dialect} x{submitters} median", median), flush=True)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2))


def run_once(dialect: str, submitters: int, seconds: float,
             args: argparse.Namespace) -> dict[str, Any]:
    """One run on a fresh database: a new SQLite file, or a new PostgreSQL schema."""
    if dialect == "sqlite":
        folder = args.dir / secrets.token_hex(4)
        folder.mkdir(parents=True)
        try:
            result = run(f"sqlite:///{folder.resolve() / 'fengkong.db'}", submitters,
                         seconds, args.busy)
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    else:
        import psycopg

        schema = f"fk_bench_{secrets.token_hex(4)}"
        with psycopg.connect(args.postgres, autocommit=True) as admin:
            admin.execute(f"CREATE SCHEMA {schema}")
            try:
                separator = "&" if "?" in args.postgres else "?"
                url = f"{args.postgres}{separator}options={quote(f'-csearch_path={schema}')}"
                result = run(url, submitters, seconds, args.busy)
            finally:
                admin.execute(f"DROP SCHEMA {schema} CASCADE")
    result["database"] = dialect
    return result


if __name__ == "__main__":
    main()
