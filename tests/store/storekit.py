"""Helpers of the store tests: plain SQL beside the store, and decision records to submit.
(A module of its own, not ``conftest``: several test folders have a ``conftest`` and only
one can be imported by that name.)"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fengkong.store import DecisionRecord, Store

BASE_TIME = datetime(2024, 5, 1, 8, 30, tzinfo=UTC)


class Raw:
    """Plain SQL on the store's database, beside the store (for tampering and checks)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
        if self.dialect == "sqlite":
            self.connection: Any = sqlite3.connect(url[len("sqlite:///"):],
                                                   isolation_level=None)
        else:
            import psycopg

            self.connection = psycopg.connect(url, autocommit=True)

    def execute(self, sql: str, parameters: Sequence[Any] = ()) -> list[Any]:
        if self.dialect == "postgresql":
            sql = sql.replace("?", "%s")
        cursor = self.connection.execute(sql, tuple(parameters))
        return list(cursor.fetchall()) if cursor.description else []

    def drop_guards(self) -> None:
        """What a database superuser can do: remove the append-only triggers."""
        if self.dialect == "sqlite":
            for name in ("decision_log_no_update", "decision_log_no_delete",
                         "chain_heads_forward", "chain_heads_no_delete"):
                self.execute(f"DROP TRIGGER {name}")
        else:
            self.execute("DROP TRIGGER decision_log_append_only ON decision_log")
            self.execute("DROP TRIGGER chain_heads_forward ON chain_heads")

    def close(self) -> None:
        self.connection.close()


def record(number: int = 0, **changes: Any) -> DecisionRecord:
    """A plausible decision record; ``changes`` override fields."""
    fields: dict[str, Any] = {
        "flow": "credit", "strategy_version": "3f2a9c", "application_id": f"app-{number}",
        "request": {"applicant": {"name": "张三", "age": 31, "income": 12500.5},
                    "loan": {"amount": 20000, "term": 12}, "n": number},
        "response": {"outcome": "APPROVE", "limit": 20000, "apr": 0.1799,
                     "reasons": ["R01"]},
        "outcome": "APPROVE", "trace": {"nodes": [{"id": "n1", "ms": 0.012}]},
        "features": {"phone.application.count.7d": 2, "ratio": 1e-7},
        "latency_ms": 3.25, "decided_at": BASE_TIME + timedelta(seconds=number),
    }
    fields.update(changes)
    return DecisionRecord(**fields)


@contextlib.contextmanager
def writer_held(store: Store) -> Iterator[None]:
    """Keep the store's writer inside a transaction until the block ends, so that the
    writes submitted meanwhile are committed together, as one batch, afterwards."""
    running, release = threading.Event(), threading.Event()

    def hold(transaction: object) -> None:
        running.set()
        release.wait(60)

    held = store._writer.submit(hold)
    assert running.wait(60), "the writer never took the holding job"
    try:
        yield
    finally:
        release.set()
        held.result(60)
