"""Group commit: one thread writes everything, many callers wait on futures.

Callers put a *job* (a function of a :class:`Transaction`) on a queue and get a
``Future``. The writer thread takes every job waiting, runs them all in ONE transaction
and commits — one fsync for the whole batch — and only then resolves the futures. So a
future resolves only once its write is durable, and the throughput is the batch size
times the commit rate rather than one commit per decision.

A *batched* job (:meth:`Writer.submit_batched`) takes an item rather than a function:
consecutive items of the same batched job are handed to it together, so it can do its
reads and writes once per group rather than once per item (the decision log does its
idempotency lookups and its INSERT this way). Every SQL statement lets go of the GIL and
must win it back from the server's busy threads, so statements per group, not per item,
is what keeps the writer cheap under load.

One job must not fail the others:

* a refusal the job decides itself (:class:`StoreError`: a duplicate key, a closed review)
  is raised before the job writes anything, so the transaction goes on without it (a
  batched job returns the refusal as that item's outcome and writes nothing for it);
* any other error of one job (a constraint the job did not foresee, a bug) rolls the
  transaction back, fails that job's future and runs the batch again without it; when it
  came from a group of items, the batch runs again with each of them alone, which finds
  the culprit on the next attempt;
* an error of the database itself (disk full, read-only file, lock timeout, PostgreSQL
  gone) fails every future of the batch with :class:`StoreUnavailable` — nothing of it was
  written — and the writer drops its connection and goes on with the next batch.

If the connection dies after COMMIT was sent but before its answer came back, the batch is
reported unavailable although it may have been committed; a retry then finds the decision
by its application id (idempotency) rather than deciding twice.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from fengkong.store.backends import Backend
from fengkong.store.chain import ZERO_HASH
from fengkong.store.errors import StoreError, StoreUnavailable

log = logging.getLogger("fengkong.store")

#: The most jobs one transaction takes; more waiting simply makes the next batch.
MAX_BATCH = 2000
#: Values per ``IN (...)`` lookup.
SELECT_CHUNK = 500


class Transaction:
    """What a job sees: the open write transaction and the chain heads within it.

    Jobs read a tenant's head with :meth:`head` and move it with :meth:`advance`; the heads
    are written to ``chain_heads`` once, just before COMMIT. A job must raise its own
    :class:`StoreError` refusals before its first write.
    """

    def __init__(self, backend: Backend, connection: Any, now: datetime) -> None:
        self.backend = backend
        self.connection = connection
        self.now = now
        self._heads: dict[str, tuple[int, str]] = {}
        self._moved: set[str] = set()

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> Any:
        return self.connection.execute(self.backend.sql(sql), tuple(parameters))

    def insert(self, table: str, columns: Sequence[str],
               rows: Sequence[Sequence[Any]]) -> None:
        """Insert ``rows`` in as few round trips and GIL hand-overs as the database allows
        (see :meth:`Backend.insert`)."""
        self.backend.insert(self.connection, table, columns, rows)

    def select_in(self, sql: str, parameters: Sequence[Any],
                  values: Sequence[Any]) -> list[Any]:
        """Rows of ``sql``, whose last condition is ``column IN`` (written without its
        list), for every one of ``values``: one statement per :data:`SELECT_CHUNK`."""
        rows: list[Any] = []
        for start in range(0, len(values), SELECT_CHUNK):
            chunk = values[start:start + SELECT_CHUNK]
            rows.extend(self.execute(f"{sql} IN ({', '.join('?' * len(chunk))})",
                                     (*parameters, *chunk)).fetchall())
        return rows

    def head(self, tenant: str) -> tuple[int, str]:
        """(seq, hash) of the tenant's last entry; (0, zeros) for an empty chain."""
        if tenant not in self._heads:
            row = self.execute("SELECT seq, hash FROM chain_heads WHERE tenant = ?",
                               (tenant,)).fetchone()
            self._heads[tenant] = (int(row[0]), row[1]) if row else (0, ZERO_HASH)
        return self._heads[tenant]

    def advance(self, tenant: str, seq: int, entry_hash: str) -> None:
        self._heads[tenant] = (seq, entry_hash)
        self._moved.add(tenant)

    def write_heads(self) -> None:
        for tenant in sorted(self._moved):
            seq, entry_hash = self._heads[tenant]
            self.execute(
                "INSERT INTO chain_heads (tenant, seq, hash, updated_at) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                "updated_at = excluded.updated_at",
                (tenant, seq, entry_hash, self.backend.time(self.now)))


Job = Callable[[Transaction], Any]
#: Runs the items of consecutive submits in queue order and returns one outcome per item:
#: its result, or the :class:`StoreError` that refuses it (raised for its caller).
BatchedJob = Callable[[Transaction, list[Any]], list[Any]]


@dataclass(eq=False)
class _Work:
    run: Job | None  # a job of its own, or None for an item of ``batched``
    tenants: tuple[str, ...]
    batched: BatchedJob | None = None
    item: Any = None
    alone: bool = False  # its group failed unexpectedly: run it by itself to find out why
    future: Future[Any] = field(default_factory=Future)


class _JobFailed(Exception):
    """An unexpected error of one job, or of one group of batched items."""

    def __init__(self, works: list[_Work], error: BaseException) -> None:
        super().__init__(str(error))
        self.works = works
        self.error = error


class Writer:
    """The single writer thread of one store."""

    def __init__(self, backend: Backend, max_batch: int = MAX_BATCH) -> None:
        self.backend = backend
        self.max_batch = max_batch
        self._queue: queue.SimpleQueue[_Work | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._closed = False
        self._connection: Any = None
        self.batches = 0  # committed transactions, for tests and benchmarks
        self._thread = threading.Thread(target=self._run, name="fengkong-store-writer",
                                         daemon=True)
        self._thread.start()

    def submit(self, run: Job, tenants: Sequence[str] = ()) -> Future[Any]:
        """Queue ``run``; ``tenants`` are the chains it appends to (locked for the batch)."""
        return self._put(_Work(run, tuple(tenants)))

    def submit_batched(self, batched: BatchedJob, item: Any,
                       tenants: Sequence[str] = ()) -> Future[Any]:
        """Queue ``item`` for ``batched``, which gets it together with the items queued
        right before and after it for the same job; the future gets the item's outcome."""
        return self._put(_Work(None, tuple(tenants), batched, item))

    def _put(self, work: _Work) -> Future[Any]:
        with self._lock:
            if self._closed:
                raise StoreError("the store is closed")
            self._queue.put(work)
        return work.future

    def close(self) -> None:
        """Write what is queued, then stop the thread and close the connection."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._queue.put(None)
        self._thread.join()
        self._drop_connection()

    # -- the thread ----------------------------------------------------------------------

    def _run(self) -> None:
        stop = False
        while not stop:
            first = self._queue.get()
            if first is None:
                break
            batch = [first]
            while len(batch) < self.max_batch:
                try:
                    work = self._queue.get_nowait()
                except queue.Empty:
                    break
                if work is None:
                    stop = True
                    break
                batch.append(work)
            try:
                self._commit(batch)
            except BaseException as error:  # never leave a caller waiting forever
                log.exception("store writer failed")
                for work in batch:
                    if not work.future.done():
                        work.future.set_exception(_unavailable(error))

    def _commit(self, batch: list[_Work]) -> None:
        works = [work for work in batch if work.future.set_running_or_notify_cancel()]
        while works:
            try:
                outcomes = self._attempt(works)
            except _JobFailed as failed:
                if len(failed.works) > 1:
                    for work in failed.works:
                        work.alone = True
                else:
                    failed.works[0].future.set_exception(failed.error)
                    works.remove(failed.works[0])
                continue
            except BaseException as error:
                log.error("store write failed, %d waiting writes refused: %s", len(works),
                          " ".join(str(error).split()))
                self._drop_connection()
                for work in works:
                    work.future.set_exception(_unavailable(error))
                return
            self.batches += 1
            for work, ok, value in outcomes:
                if ok:
                    work.future.set_result(value)
                else:
                    work.future.set_exception(value)
            return

    def _attempt(self, works: list[_Work]) -> list[tuple[_Work, bool, Any]]:
        connection = self._connect()
        backend = self.backend
        backend.begin_write(connection)
        try:
            backend.lock_chains(connection, sorted({t for work in works for t in work.tenants}))
            transaction = Transaction(backend, connection, datetime.now(UTC))
            outcomes: list[tuple[_Work, bool, Any]] = []
            for group in _groups(works):
                try:
                    outcomes.extend(_run(group, transaction))
                except StoreUnavailable:
                    raise
                except Exception as error:
                    if backend.unavailable(error):
                        raise
                    raise _JobFailed(group, error) from error
            transaction.write_heads()
            connection.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(Exception):
                connection.execute("ROLLBACK")
            raise
        return outcomes

    def _connect(self) -> Any:
        if self._connection is None:
            self._connection = self.backend.connect()
        return self._connection

    def _drop_connection(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):
                self._connection.close()
            self._connection = None


def _run(group: list[_Work], transaction: Transaction) -> list[tuple[_Work, bool, Any]]:
    """(work, succeeded, result or refusal) for each work of the group."""
    first = group[0]
    if first.run is None:
        assert first.batched is not None
        results = first.batched(transaction, [work.item for work in group])
        return [(work, not isinstance(result, StoreError), result)
                for work, result in zip(group, results, strict=True)]
    try:
        return [(first, True, first.run(transaction))]
    except StoreUnavailable:
        raise
    except StoreError as refusal:
        return [(first, False, refusal)]


def _groups(works: list[_Work]) -> list[list[_Work]]:
    """``works`` in queue order, consecutive items of one batched job together (a job of
    its own, or an item to be run alone, is a group of one)."""
    groups: list[list[_Work]] = []
    for work in works:
        previous = groups[-1][-1] if groups else None
        if (previous is not None and work.batched is not None and not work.alone
                and not previous.alone and previous.batched == work.batched):
            groups[-1].append(work)
        else:
            groups.append([work])
    return groups


def _unavailable(error: BaseException) -> StoreUnavailable:
    """A fresh error per waiting caller (futures are read from many threads)."""
    cause = error.message if isinstance(error, StoreUnavailable) else str(error)
    failure = StoreUnavailable("the store could not write (nothing was recorded): "
                               + " ".join(cause.split()))
    failure.__cause__ = error
    return failure
