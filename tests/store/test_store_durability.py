"""Durable before acknowledged, and fail closed: a crash loses no acknowledged decision; a
database that cannot write refuses every waiting decision, keeps nothing half-written and
works again once it can."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from storekit import Raw, record

from fengkong.store import StoreUnavailable, open_store

WORKER = Path(__file__).with_name("store_worker.py")


def test_an_acknowledged_decision_survives_sigkill(url: str) -> None:
    writer = subprocess.Popen([sys.executable, str(WORKER), "record", url, "crash", "100000"],
                              stdout=subprocess.PIPE, text=True)
    assert writer.stdout is not None
    acknowledged = []
    try:
        for line in writer.stdout:
            acknowledged.append(line.strip())
            if len(acknowledged) == 40:
                break
    finally:
        writer.send_signal(signal.SIGKILL)  # mid-write: no close, no flush, no goodbye
        writer.wait(timeout=30)
    assert len(acknowledged) == 40
    with open_store(url) as store:
        for decision_id in acknowledged:
            assert store.get_decision(decision_id) is not None, decision_id
        report = store.verify_chain()
        assert report.ok, report.problems
        assert report.checked >= 40


def test_sqlite_disk_full_fails_waiting_decisions_and_recovers(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fengkong.db'}"
    done = subprocess.run([sys.executable, str(WORKER), "disk-full", url],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["first"] == 1 and result["after"] == 2  # nothing took seq 2 before
    assert all(isinstance(refusal, str) and "nothing was recorded" in refusal
               for refusal in result["refused"]), result
    with open_store(url) as store:
        assert store.find_decision(application_id="full-1") is None
        assert store.find_decision(application_id="full-2") is None
        assert store.find_decision(application_id="after") is not None
        assert store.verify_chain().ok


def test_sqlite_locked_by_another_writer_fails_closed_then_recovers(tmp_path: Path) -> None:
    path = tmp_path / "fengkong.db"
    with open_store(f"sqlite:///{path}?busy_timeout=200") as store:
        store.record_decision(record(1))
        holder = sqlite3.connect(path, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")  # a stuck writer elsewhere
        try:
            futures = [store.submit_decision(record(n)) for n in range(2, 6)]
            for future in futures:
                with pytest.raises(StoreUnavailable):
                    future.result(timeout=30)
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        assert store.record_decision(record(2)).seq == 2  # the same application, now decided
        assert store.count_decisions() == 2
        assert store.verify_chain().ok


def test_postgres_backend_terminated_mid_batch_fails_closed_then_recovers(
        postgres: object) -> None:
    url = postgres.new_url()  # type: ignore[attr-defined]
    raw = Raw(url)
    try:
        with open_store(url) as store:
            store.record_decision(record(1))
            holder = raw.execute("SELECT pg_backend_pid()")[0][0]
            # Hold the tenant's chain lock so the writer's next batch waits inside its
            # transaction, then kill the writer's backend there.
            raw.execute("SELECT pg_advisory_lock(hashtext(current_schema()), hashtext(?))",
                        ("default",))
            futures = [store.submit_decision(record(n)) for n in range(2, 6)]
            waiting: list[int] = []
            deadline = time.monotonic() + 30
            while not waiting and time.monotonic() < deadline:
                waiting = [row[0] for row in raw.execute(
                    "SELECT pid FROM pg_stat_activity WHERE ? = ANY(pg_blocking_pids(pid))",
                    (holder,))]
                time.sleep(0.05)
            assert waiting, "the writer never waited on the chain lock"
            raw.execute("SELECT pg_terminate_backend(?)", (waiting[0],))
            for future in futures:
                with pytest.raises(StoreUnavailable, match="nothing was recorded"):
                    future.result(timeout=30)
            raw.execute("SELECT pg_advisory_unlock(hashtext(current_schema()), hashtext(?))",
                        ("default",))
            assert store.count_decisions() == 1  # nothing half-written
            assert store.record_decision(record(2)).seq == 2  # a new connection
            assert store.verify_chain().ok
    finally:
        raw.close()


def test_an_unreachable_postgres_is_unavailable_not_a_crash() -> None:
    with pytest.raises(StoreUnavailable, match="cannot connect"):
        open_store("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2")


def test_decisions_submitted_while_closing_are_still_written(url: str) -> None:
    store = open_store(url)
    futures = [store.submit_decision(record(n)) for n in range(200)]
    closer = threading.Thread(target=store.close)
    closer.start()
    closer.join(timeout=60)
    assert all(future.result().seq > 0 for future in futures)
    with open_store(url) as again:
        assert again.count_decisions() == 200
