"""The decisions of one group commit are looked up, numbered and inserted together: a
fixed handful of statements per batch, duplicates within the batch resolved in queue
order, and one bad item failing alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from storekit import BASE_TIME, record, writer_held

from fengkong.store import DuplicateDecision, StoreError, open_store
from fengkong.store.writer import Transaction


def test_repeats_within_one_batch_get_the_first_decision(url: str) -> None:
    with open_store(url) as store:
        earlier = store.record_decision(record(9, idempotency_key="k9"))
        batches = store._writer.batches
        with writer_held(store):
            futures = [
                store.submit_decision(record(1, response={"attempt": 1})),
                store.submit_decision(record(1, response={"attempt": 2})),  # same application
                store.submit_decision(record(2, idempotency_key="k2", outcome="REVIEW")),
                store.submit_decision(record(3, idempotency_key="k2")),  # key of app-2
                store.submit_decision(record(2)),  # app-2 again, without its key
                store.submit_decision(record(4, idempotency_key="k9")),  # key of a logged one
                store.submit_decision(record(9)),  # logged before the batch
                store.submit_decision(record(1, tenant="bank-b")),  # another tenant's chain
                store.submit_decision(record(5, application_id=None)),
                store.submit_decision(record(6, application_id=None)),  # no id: both new
            ]
        first, again, review, reused, review_again, stolen, logged, other, anon, anon2 = (
            future.exception() or future.result() for future in futures)
        assert store._writer.batches == batches + 2  # the holding job's, then all of these
        assert not first.replayed and again.replayed
        assert again == replace(first, replayed=True)
        assert again.response == {"attempt": 1}
        assert isinstance(reused, DuplicateDecision) and "k2" in str(reused)
        assert isinstance(stolen, DuplicateDecision) and "k9" in str(stolen)
        assert review_again.replayed and review_again.decision_id == review.decision_id
        assert logged.replayed and logged.decision_id == earlier.decision_id
        assert logged == replace(earlier, replayed=True)
        assert (first.seq, review.seq, anon.seq, anon2.seq) == (2, 3, 4, 5)
        assert review.prev_hash == first.hash and anon.prev_hash == review.hash
        assert other.seq == 1 and other.tenant == "bank-b"
        for new in (first, review, anon, anon2, other):
            assert store.get_decision(new.decision_id, tenant=new.tenant) == new
        assert [item.decision_id for item in store.list_reviews().items] == \
            [review.decision_id]
        assert store.count_decisions() == 6
        report = store.verify_chain()
        assert report.ok, report.problems
        assert report.heads["default"].seq == 5


def test_a_batch_of_decisions_takes_a_fixed_number_of_statements(
        url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Per batch, not per decision: one lookup per kind of key, the head, one insert for
    the log, one for the review queue, the new head — however many decisions."""
    with open_store(url) as store:
        store.record_decision(record(0))
        statements: list[str] = []
        execute, insert = Transaction.execute, store.backend.insert

        def counted(self: Transaction, sql: str, parameters: Sequence[Any] = ()) -> Any:
            statements.append(sql)
            return execute(self, sql, parameters)

        def counted_insert(connection: Any, table: str, columns: Sequence[str],
                           rows: Sequence[Sequence[Any]]) -> None:
            statements.append(f"INSERT INTO {table}")
            insert(connection, table, columns, rows)

        monkeypatch.setattr(Transaction, "execute", counted)
        monkeypatch.setattr(store.backend, "insert", counted_insert)
        with writer_held(store):
            futures = [store.submit_decision(record(
                n % 150, idempotency_key=f"k{n % 150}",
                outcome="REVIEW" if n % 10 == 0 else "APPROVE")) for n in range(1, 201)]
        decisions = [future.result() for future in futures]
        assert sum(not decision.replayed for decision in decisions) == 149
        expected = ["AND application_id IN (", "AND idempotency_key IN (",
                    "SELECT seq, hash FROM chain_heads", "INSERT INTO decision_log",
                    "INSERT INTO review_items", "INSERT INTO chain_heads"]
        assert len(statements) == len(expected), statements
        assert all(part in sql for part, sql in zip(expected, statements, strict=True))
        assert store.count_decisions() == 150
        assert len(store.list_reviews().items) == 14  # app-10, app-20 ... app-140
        assert store.verify_chain().ok


def test_a_batch_larger_than_one_statement_is_chunked(url: str) -> None:
    count = 1300  # over 500 per lookup and about 550 rows per INSERT
    with open_store(url) as store:
        for n in range(0, count, 97):
            store.record_decision(record(n))
        with writer_held(store):
            futures = [store.submit_decision(record(n, idempotency_key=f"k{n}"))
                       for n in range(count)]
            futures += [store.submit_decision(record(n)) for n in range(0, count, 2)]
        decisions = [future.result() for future in futures]
        assert sum(decision.replayed for decision in decisions[:count]) == len(
            range(0, count, 97))
        assert all(decision.replayed for decision in decisions[count:])
        assert store.count_decisions() == count
        report = store.verify_chain()
        assert report.ok and report.checked == count


def test_a_decision_that_fails_unexpectedly_fails_alone(url: str) -> None:
    """An error nobody foresaw (here a bug in a batched job) rolls the transaction back; the
    batch runs again with that group's items one by one, so only the culprit fails and
    nothing of it is kept."""
    with open_store(url) as store:
        def drafts(transaction: Transaction, names: list[str]) -> list[Any]:
            written = [name for name in names if name != "refused"]  # refused: not written
            transaction.insert("strategy_drafts", ("tenant", "kind", "name", "revision",
                                                   "content", "author", "saved_at"),
                               [("default", "flow", name, 1, "", "x",
                                 store.backend.time(BASE_TIME)) for name in written])
            if "bad" in names:
                raise RuntimeError("a bug after writing")
            return [StoreError("refused") if name == "refused" else name for name in names]

        with writer_held(store):
            futures = [store.submit_decision(record(1))]
            futures += [store._writer.submit_batched(drafts, name)
                        for name in ("good", "bad", "refused", "fine")]
            futures.append(store.submit_decision(record(2)))
        assert futures[0].result().seq == 1 and futures[5].result().seq == 2
        assert [futures[1].result(), futures[4].result()] == ["good", "fine"]
        assert isinstance(futures[2].exception(), RuntimeError)
        assert isinstance(futures[3].exception(), StoreError)
        assert store.get_draft("default", "flow", "bad") is None
        assert store.get_draft("default", "flow", "refused") is None
        assert store.get_draft("default", "flow", "good") is not None
        assert store.verify_chain().ok
