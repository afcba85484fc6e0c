"""Offline backfill benchmark (issue #3): 1,000,000 historical applications x 1,000 features
of the example spec, from their synthetic event history, end to end on 2 cores.

    python benchmarks/bench_backfill.py [--applications 1000000] [--workers 2] [--json FILE]

The synthetic generator (``fengkong.datasets``) makes the history; :func:`write_credit_history`
writes it as the example spec's event types (one Parquet file per type). The timed part is
what an analyst runs: read the event logs and the applications, replay, write the features
to Parquet (``fengkong.features.backfill.backfill_files``). Reports wall time, applications
per second and peak memory (this process and its workers).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).parent))

import harness  # noqa: E402
from fengkong.cli import ProgressBar  # noqa: E402
from fengkong.datasets import generate  # noqa: E402
from fengkong.datasets.synthetic import SyntheticData  # noqa: E402
from fengkong.features.backfill import backfill_files, select_features  # noqa: E402
from fengkong.features.spec import load_feature_set  # noqa: E402

SPEC = ROOT / "examples" / "features" / "credit.yaml"
HOUR_MS = 3_600_000
APPLICATIONS_PER_APPLICANT = 1.6  # what the generator gives over a year (about 1.61)

# The 1,000 features: every key and event type of the spec and every aggregation kind, the
# unfiltered and a few filtered variants (docs/feature-backfill.md lists them).
FEATURES = (
    "*.application.count.*", "*.application.amount.*", "*.application.large.count.*",
    "*.application.rejected.count.*", "*.application.device_id.distinct.*",
    "*.application.time_since_last.*", "*.application.first_seen_age.*",
    "*.application.count_*", "*.application.large_share.*", "*.application.amount_7d_vs_365d",
    "*.application.first_loan_large",
    "*.login.count.*", "*.login.failed.count.*", "*.login.device_id.distinct.*",
    "*.login.ip.distinct.*", "*.login.failure_rate.*", "*.login.time_since_last.*",
    "*.login.failed.time_since_last.lifetime",
    "*.repayment.count.*", "*.repayment.late.count.*", "*.repayment.days_past_due.*",
    "*.repayment.late_share.*", "*.repayment.paid_share.*",
)


def write_credit_history(data: SyntheticData, folder: Path) -> dict[str, Path]:
    """The synthetic event tables as the example spec's event types, one Parquet file each
    (``application``, ``login``, ``repayment``), with their ``event_id``.

    The generator's tables are renamed to the spec's fields and joined to the applicant for
    what an event does not carry (income and city; the ID number, phone and card behind a
    login or a repayment). The spec's fields the generator does not model are derived
    simply: ``approved`` when the amount is at most three months of income, ``hour`` of day
    in Beijing time, a repayment paid in full (``paid_amount`` = ``due_amount``).
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    people = data.applicants
    apps, logins, repayments = data.applications, data.logins, data.repayments
    applicant = apps.applicant_id - 1
    login_applicant = logins.applicant_id - 1
    payer = repayments.applicant_id - 1
    tables = {
        "application": {
            "event_id": apps.event_id, "applied_at": apps.ts, "id_number": apps.id_number,
            "phone": apps.phone, "device_id": apps.device_id, "ip": apps.ip, "card": apps.card,
            "amount": apps.amount, "term_months": apps.term.astype(np.float64),
            "monthly_income": people.monthly_income[applicant], "channel": apps.channel,
            "city": people.city[applicant],
            "approved": apps.amount <= 3 * people.monthly_income[applicant]},
        "login": {
            "event_id": logins.event_id, "logged_in_at": logins.ts,
            "id_number": people.id_number[login_applicant], "phone": logins.phone,
            "device_id": logins.device_id, "ip": logins.ip, "success": logins.success,
            "city": people.city[login_applicant],
            "hour": ((logins.ts // HOUR_MS + 8) % 24).astype(np.float64)},
        "repayment": {
            "event_id": repayments.event_id, "paid_at": repayments.ts,
            "id_number": people.id_number[payer], "phone": people.phone[payer],
            "card": people.card[payer], "due_amount": repayments.amount,
            "paid_amount": repayments.amount,
            "days_past_due": repayments.days_past_due.astype(np.float64),
            "due_at": repayments.due_ts},
    }
    folder.mkdir(parents=True, exist_ok=True)
    paths = {}
    for event_type, columns in tables.items():
        paths[event_type] = folder / f"{event_type}.parquet"
        pq.write_table(pa.table(columns), paths[event_type])
    return paths


def applicants_for(applications: int) -> int:
    """Applicants to generate so that a year gives at least ``applications`` applications."""
    return max(50, int(applications / APPLICATIONS_PER_APPLICANT * 1.02))


def write_applications(event_file: Path, count: int, path: Path) -> int:
    """The first ``count`` applications of the application event log (what is backfilled)."""
    import pyarrow.parquet as pq

    table = pq.read_table(event_file, columns=["event_id", "applied_at", "id_number", "phone",
                                               "device_id", "ip", "card"])
    table = table.slice(0, count)
    pq.write_table(table, path)
    return table.num_rows


class WorkerMemory(threading.Thread):
    """The peak resident memory of each child process (the backfill's workers), sampled
    every second from /proc. ``RUSAGE_CHILDREN`` is no use here: a spawned child starts as a
    fork of this process, and its peak includes this process's before it execs."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.peaks: dict[int, int] = {}  # pid -> VmHWM in KiB
        self.stopped = threading.Event()

    def run(self) -> None:
        me = os.getpid()
        while not self.stopped.wait(1.0):
            try:
                children = Path(f"/proc/{me}/task/{me}/children").read_text().split()
            except OSError:
                return
            for pid in map(int, children):
                try:
                    status = Path(f"/proc/{pid}/status").read_text()
                except OSError:
                    continue
                for line in status.splitlines():
                    if line.startswith("VmHWM:"):
                        self.peaks[pid] = max(self.peaks.get(pid, 0), int(line.split()[1]))

    def largest_mib(self) -> float:
        self.stopped.set()
        return max(self.peaks.values(), default=0) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk-rows", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, help="keep the files here (default: temporary)")
    parser.add_argument("--json", type=Path)
    options = parser.parse_args()
    spec = load_feature_set(SPEC)
    features = select_features(spec, FEATURES)
    with tempfile.TemporaryDirectory() as scratch:
        folder = options.folder or Path(scratch)
        start = time.perf_counter()
        data = generate(applicants=applicants_for(options.applications), seed=7)
        generate_seconds = time.perf_counter() - start
        start = time.perf_counter()
        paths = write_credit_history(data, folder)
        applications = write_applications(paths["application"], options.applications,
                                          folder / "applications.parquet")
        write_seconds = time.perf_counter() - start
        events = {name: len(table) for name, table in
                  (("application", data.applications), ("login", data.logins),
                   ("repayment", data.repayments))}
        del data
        workers = WorkerMemory()
        workers.start()
        start = time.perf_counter()
        report = backfill_files(spec, paths, folder / "applications.parquet",
                                folder / "features.parquet", features=FEATURES,
                                id_column="event_id", time_column="applied_at",
                                workers=options.workers, chunk_rows=options.chunk_rows,
                                progress=ProgressBar("backfill", "applications"))
        seconds = time.perf_counter() - start
        output_bytes = (folder / "features.parquet").stat().st_size
    peak: dict[str, Any] = {
        # ru_maxrss is in KiB on Linux; it includes generating the data, before the backfill.
        "parent_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "largest_worker_mib": round(workers.largest_mib()),
    }
    results = {
        "machine": harness.machine(), "applications": applications,
        "features": len(features), "events": events, "workers": report.workers,
        "generate_seconds": round(generate_seconds, 1),
        "write_inputs_seconds": round(write_seconds, 1),
        "backfill_seconds": round(seconds, 1),
        "applications_per_second": round(applications / seconds),
        "feature_values_per_second": round(applications * len(features) / seconds),
        "output_mib": round(output_bytes / 2**20), "peak_memory": peak,
        "under_10_minutes": seconds < 600,
    }
    print(json.dumps(results, indent=1))
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
