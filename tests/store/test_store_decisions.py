"""The decision log: migrations, recording, reads, group commit, idempotency, paging."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from storekit import BASE_TIME, Raw, record

from fengkong.store import (
    ZERO_HASH,
    DecisionQuery,
    DuplicateDecision,
    StoreError,
    open_store,
)
from fengkong.store.schema import MIGRATIONS

WORKER = Path(__file__).with_name("store_worker.py")


def test_migrations_from_empty_then_reopen(url: str) -> None:
    with open_store(url) as store:
        assert store.schema_version() == MIGRATIONS[-1].version
        first = store.record_decision(record(1))
    with open_store(url) as store:
        assert store.migrate() == []  # nothing left to apply
        assert store.get_decision(first.decision_id) == first
    raw = Raw(url)
    try:
        rows = raw.execute("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in rows] == [m.version for m in MIGRATIONS]
    finally:
        raw.close()


def test_processes_opening_at_once_apply_each_migration_once(url: str) -> None:
    script = ("import sys; from fengkong.store import open_store; "
              "open_store(sys.argv[1]).close(); print('ok')")
    processes = [subprocess.Popen([sys.executable, "-c", script, url], stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outputs = [process.communicate(timeout=60) for process in processes]
    assert [out for out, _ in outputs] == ["ok\n"] * 4, outputs
    raw = Raw(url)
    try:
        assert raw.execute("SELECT COUNT(*) FROM schema_migrations")[0][0] == len(MIGRATIONS)
    finally:
        raw.close()


def test_a_recorded_decision_reads_back_exactly(url: str) -> None:
    with open_store(url) as store:
        stored = store.record_decision(record(7, idempotency_key="key-7"))
        assert stored.seq == 1 and stored.prev_hash == ZERO_HASH and not stored.replayed
        assert len(stored.hash) == 64 and stored.decided_at == BASE_TIME + timedelta(seconds=7)
        assert stored.request["applicant"]["name"] == "张三"
        assert store.get_decision(stored.decision_id) == stored
        assert store.get_decision(stored.decision_id, tenant="other") is None
        assert store.get_decision("no-such-id") is None
        assert store.find_decision(application_id="app-7") == stored
        assert store.find_decision(idempotency_key="key-7") == stored
        assert store.find_decision(application_id="app-8") is None
        assert store.count_decisions() == 1
        assert json.dumps(stored.to_dict(), ensure_ascii=False)  # JSON-ready


def test_decimal_values_are_stored_as_json_numbers(url: str) -> None:
    with open_store(url) as store:
        stored = store.record_decision(record(1, response={"apr": Decimal("0.2399"),
                                                           "limit": Decimal("5000")}))
        assert stored.response == {"apr": 0.2399, "limit": 5000}
        assert store.get_decision(stored.decision_id) == stored
        assert store.verify_chain().ok


@pytest.mark.parametrize("changes, field", [
    ({"decided_at": BASE_TIME.replace(tzinfo=None)}, "decided_at"),
    ({"request": {"x": float("nan")}}, "request"),
    ({"response": {"when": BASE_TIME}}, "response"),
    ({"request": ["not", "an", "object"]}, "request"),
    ({"outcome": ""}, "outcome"),
    ({"application_id": 42}, "application_id"),
    ({"latency_ms": "fast"}, "latency_ms"),
])
def test_a_record_that_is_not_valid_is_refused_before_queueing(
        url: str, changes: dict[str, object], field: str) -> None:
    with open_store(url) as store:
        with pytest.raises(StoreError) as caught:
            store.submit_decision(record(1, **changes))
        assert caught.value.field == field
        assert store.count_decisions() == 0


def test_group_commit_records_every_concurrent_submit_in_one_chain(url: str) -> None:
    threads, each = 16, 60
    with open_store(url) as store:
        def submit(thread: int) -> list[str]:
            futures = [store.submit_decision(record(thread * 1000 + n)) for n in range(each)]
            return [future.result().decision_id for future in futures]

        with ThreadPoolExecutor(threads) as pool:
            ids = [i for part in pool.map(submit, range(threads)) for i in part]
        assert len(set(ids)) == threads * each
        assert store.count_decisions() == threads * each
        assert store._writer.batches < threads * each  # writes shared commits
        report = store.verify_chain()
        assert report.ok, report.problems
        assert report.checked == threads * each
        assert report.heads["default"].seq == threads * each
        seqs = sorted(store.get_decision(i).seq for i in ids[:50])  # type: ignore[union-attr]
        assert len(set(seqs)) == 50


def test_twenty_threads_deciding_one_application_get_one_decision(url: str) -> None:
    with open_store(url) as store:
        barrier = threading.Barrier(20)

        def submit(number: int) -> tuple[str, bool]:
            barrier.wait()
            stored = store.record_decision(record(1, response={"attempt": number}))
            return stored.decision_id, stored.replayed

        with ThreadPoolExecutor(20) as pool:
            results = list(pool.map(submit, range(20)))
        assert len({decision_id for decision_id, _ in results}) == 1
        assert sorted(replayed for _, replayed in results) == [False] + [True] * 19
        assert store.count_decisions() == 1


def test_two_processes_racing_on_the_same_applications_get_one_decision_each(url: str) -> None:
    count = 60
    processes = [subprocess.Popen([sys.executable, str(WORKER), "same", url, str(count)],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert all(process.returncode == 0 for process in processes), outputs
    first, second = (json.loads(out) for out, _ in outputs)
    for application in first:
        assert first[application][0] == second[application][0]  # the same decision
        assert first[application][1] != second[application][1]  # one wrote, one replayed
    with open_store(url) as store:
        assert store.count_decisions() == count
        assert store.verify_chain().ok


def test_idempotency_keys(url: str) -> None:
    with open_store(url) as store:
        keyed = store.record_decision(record(1, idempotency_key="k1"))
        again = store.record_decision(record(1, idempotency_key="k1"))
        assert again.replayed and again.decision_id == keyed.decision_id
        # The application id governs: a new key for a decided application replays it.
        assert store.record_decision(record(1, idempotency_key="k2")).decision_id == \
            keyed.decision_id
        with pytest.raises(DuplicateDecision, match="k1"):
            store.record_decision(record(2, idempotency_key="k1"))
        anonymous = store.record_decision(record(3, application_id=None, idempotency_key="k3"))
        assert store.record_decision(record(4, application_id=None,
                                            idempotency_key="k3")).decision_id == \
            anonymous.decision_id
        with pytest.raises(DuplicateDecision):
            store.record_decision(record(5, idempotency_key="k3"))  # key had no application
        store.record_decision(record(6, application_id=None))
        store.record_decision(record(7, application_id=None))  # no key, no id: both written
        assert store.count_decisions() == 4
        assert store.verify_chain().ok


def test_a_refused_record_does_not_fail_the_others_in_its_batch(url: str) -> None:
    with open_store(url) as store:
        store.record_decision(record(0, idempotency_key="taken"))
        futures = [store.submit_decision(record(n, idempotency_key="taken" if n == 5 else None))
                   for n in range(1, 11)]
        outcomes = [future.exception() for future in futures]
        assert isinstance(outcomes[4], DuplicateDecision)
        assert [error for n, error in enumerate(outcomes) if n != 4] == [None] * 9
        assert store.count_decisions() == 10
        assert store.verify_chain().ok


def test_a_job_that_fails_mid_write_is_rolled_back_alone(url: str) -> None:
    """An unexpected error after a job wrote (here a bug) must not keep its half-write nor
    fail the jobs batched with it."""
    with open_store(url) as store:
        def broken(transaction: object) -> None:
            transaction.execute(  # type: ignore[attr-defined]
                "INSERT INTO strategy_drafts (tenant, kind, name, revision, content, author, "
                "saved_at) VALUES ('default', 'flow', 'half', 1, '', 'x', ?)",
                (store.backend.time(BASE_TIME),))
            raise RuntimeError("a bug after writing")

        futures = [store.submit_decision(record(1))]
        futures.append(store._writer.submit(broken))
        futures.append(store.submit_decision(record(2)))
        assert isinstance(futures[1].exception(), RuntimeError)
        assert futures[0].result().seq == 1 and futures[2].result().seq == 2
        assert store.get_draft("default", "flow", "half") is None
        assert store.verify_chain().ok


def test_tenants_have_separate_chains(url: str) -> None:
    with open_store(url) as store:
        a1 = store.record_decision(record(1, tenant="bank-a"))
        b1 = store.record_decision(record(1, tenant="bank-b"))  # same application id
        a2 = store.record_decision(record(2, tenant="bank-a"))
        assert (a1.seq, b1.seq, a2.seq) == (1, 1, 2) and a2.prev_hash == a1.hash
        assert b1.decision_id != a1.decision_id
        assert store.count_decisions("bank-a") == 2 and store.count_decisions() == 3
        report = store.verify_chain()
        assert report.ok and set(report.heads) == {"bank-a", "bank-b"}
        assert store.verify_chain("bank-b").checked == 1


def test_paging_through_2500_decisions_returns_each_once_newest_first(url: str) -> None:
    with open_store(url) as store:
        futures = [store.submit_decision(record(
            n, flow="credit" if n % 2 else "topup",
            outcome=("APPROVE", "REJECT", "REVIEW")[n % 3])) for n in range(2500)]
        for future in futures:
            future.result()
        seen: list[int] = []
        cursor = None
        while True:
            page = store.list_decisions(DecisionQuery(limit=1000, cursor=cursor))
            seen.extend(item.seq for item in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == list(range(2500, 0, -1))

        flows: list[str] = []
        cursor = None
        while True:
            page = store.list_decisions(DecisionQuery(flow="topup", outcome="REJECT", limit=100,
                                                      cursor=cursor))
            flows.extend(item.application_id or "" for item in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        expected = [f"app-{n}" for n in range(2499, -1, -1) if n % 2 == 0 and n % 3 == 1]
        assert flows == expected

        window = store.list_decisions(DecisionQuery(
            decided_from=BASE_TIME + timedelta(seconds=10),
            decided_to=BASE_TIME + timedelta(seconds=20), limit=1000))
        assert [item.application_id for item in window.items] == \
            [f"app-{n}" for n in range(19, 9, -1)]
        assert store.list_decisions(DecisionQuery(application_id="app-42")).items[0].seq == 43
        with pytest.raises(StoreError, match="cursor"):
            store.list_decisions(DecisionQuery(cursor="not-a-cursor"))
        with pytest.raises(StoreError, match="limit"):
            store.list_decisions(DecisionQuery(limit=1001))


def test_a_closed_store_refuses_work(url: str) -> None:
    store = open_store(url)
    store.close()
    store.close()  # closing twice is fine
    with pytest.raises(StoreError, match="closed"):
        store.submit_decision(record(1))


def test_read_decisions_pages_in_chain_order_without_review_entries(url: str) -> None:
    with open_store(url) as store:
        review = store.record_decision(record(0, outcome="REVIEW"))
        store.resolve_review(review.decision_id, "approve", "li")
        for n in range(1, 6):
            store.record_decision(record(n))
        seen, after = [], 0
        while page := store.read_decisions(after_seq=after, limit=2):
            seen.extend(decision.application_id for decision in page)
            after = page[-1].seq
        assert seen == [f"app-{n}" for n in range(6)]
        assert store.read_decisions(tenant="other") == []
