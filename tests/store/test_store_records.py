"""Events, the manual-review queue and strategy documents."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta

import pytest
from storekit import BASE_TIME, Raw, record

from fengkong.store import (
    EventRecord,
    ReviewClosed,
    ReviewNotFound,
    StoreError,
    VersionConflict,
    open_store,
)


def event(event_id: str, tenant: str = "default", **payload: object) -> EventRecord:
    return EventRecord(tenant=tenant, event_id=event_id, event_type="login",
                       occurred_at=BASE_TIME + timedelta(minutes=len(event_id)),
                       payload={"device": "d-1", **payload})


def test_events_are_deduplicated_per_tenant_and_read_in_arrival_order(url: str) -> None:
    with open_store(url) as store:
        assert store.append_events([event("e1"), event("e2"), event("e1")]) == \
            [True, True, False]
        assert store.append_events([event("e2"), event("e3"), event("e1", tenant="b")]) == \
            [False, True, True]
        assert store.append_events([]) == []
        read = store.read_events()
        assert [(e.tenant, e.event_id) for e in read] == \
            [("default", "e1"), ("default", "e2"), ("default", "e3"), ("b", "e1")]
        assert read[0].payload == {"device": "d-1"} and read[0].occurred_at == \
            BASE_TIME + timedelta(minutes=2)
        assert [e.seq for e in read] == sorted(e.seq for e in read)
        assert [e.event_id for e in store.read_events(after_seq=read[1].seq, limit=1)] == ["e3"]
        assert [e.event_id for e in store.read_events(tenant="b")] == ["e1"]
        assert store.count_events() == 4 and store.count_events("b") == 1
        with pytest.raises(StoreError, match="occurred_at"):
            store.append_events([EventRecord(event_id="x", event_type="login",
                                             occurred_at=BASE_TIME.replace(tzinfo=None),
                                             payload={})])
    with open_store(url) as store:  # durable, and still a duplicate after a restart
        assert store.append_events([event("e3")]) == [False]
        assert store.count_events() == 4


def test_a_review_decision_is_queued_in_its_own_transaction_and_resolved_once(
        url: str) -> None:
    with open_store(url) as store:
        first = store.record_decision(record(1, outcome="REVIEW"))
        store.record_decision(record(2))
        second = store.record_decision(record(3, outcome="REVIEW", flow="topup"))
        queue = store.list_reviews()
        assert [item.decision_id for item in queue.items] == [first.decision_id,
                                                              second.decision_id]
        assert queue.items[1].queue == "topup" and queue.items[0].status == "open"
        assert queue.next_cursor is None

        closed = store.resolve_review(first.decision_id, "approve", "王审核", "bank statement ok")
        assert (closed.status, closed.action, closed.reviewer) == ("approved", "approve", "王审核")
        assert closed.resolution_seq == 4
        assert store.get_review(first.decision_id) == closed
        assert [item.decision_id for item in store.list_reviews().items] == [second.decision_id]
        assert [item.status for item in store.list_reviews(status="approved").items] == \
            ["approved"]
        assert len(store.list_reviews(status=None).items) == 2

        with pytest.raises(ReviewClosed, match="already approved by 王审核"):
            store.resolve_review(first.decision_id, "reject", "李", "")
        with pytest.raises(ReviewNotFound) as missing:
            store.resolve_review("no-such-decision", "approve", "李", "")
        assert isinstance(missing.value, KeyError)
        with pytest.raises(StoreError, match="approve or reject"):
            store.resolve_review(second.decision_id, "maybe", "李", "")
        # The verdict is in the chain; the decision itself is unchanged.
        assert store.get_decision(first.decision_id) == first
        report = store.verify_chain()
        assert report.ok and report.checked == 4


def test_review_paging_and_explicit_opening(url: str) -> None:
    with open_store(url) as store:
        ids = [store.record_decision(record(n, outcome="REVIEW")).decision_id
               for n in range(5)]
        other = store.record_decision(record(9, outcome="APPROVE"))
        opened = store.open_review(other.decision_id, queue="fraud", reason="device ring")
        assert (opened.queue, opened.reason, opened.status) == ("fraud", "device ring", "open")
        assert store.open_review(other.decision_id) == opened  # already open: the same item
        with pytest.raises(StoreError, match="no decision"):
            store.open_review("missing")
        seen, cursor = [], None
        while True:
            page = store.list_reviews(limit=2, cursor=cursor)
            seen.extend(item.decision_id for item in page.items)
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [*ids, other.decision_id]


def test_drafts_keep_every_revision(url: str) -> None:
    with open_store(url) as store:
        first = store.save_draft("default", "flow", "flows/credit.json", '{"nodes": []}', "li")
        second = store.save_draft("default", "flow", "flows/credit.json", '{"nodes": [1]}',
                                  "wang")
        store.save_draft("default", "features", "features/a.yaml", "a: 1", "li")
        store.save_draft("bank-b", "flow", "flows/credit.json", "{}", "zhao")
        assert (first.revision, second.revision) == (1, 2)
        assert store.get_draft("default", "flow", "flows/credit.json") == second
        assert store.get_draft("default", "flow", "flows/credit.json", revision=1) == first
        assert store.get_draft("default", "flow", "missing") is None
        assert [(d.kind, d.name, d.revision) for d in store.list_drafts()] == \
            [("features", "features/a.yaml", 1), ("flow", "flows/credit.json", 2)]
        assert [d.name for d in store.list_drafts("default", kind="flow")] == \
            ["flows/credit.json"]
        assert second.to_dict()["savedAt"].endswith("Z")


def test_versions_are_immutable_and_releases_append_only(url: str, raw: Raw) -> None:
    with open_store(url) as store:
        manifest = {"flows/credit.json": "ab12"}
        store.store_version("default", "v1hash", manifest, {"flows/credit.json": "{}"}, "li")
        store.store_version("default", "v1hash", manifest, {"flows/credit.json": "{}"}, "li")
        with pytest.raises(VersionConflict):
            store.store_version("default", "v1hash", manifest, {"flows/credit.json": "{1}"},
                                "li")
        store.store_version("default", "v2hash", {}, {}, "wang")
        version = store.get_version("default", "v1hash")
        assert version is not None and version.files == {"flows/credit.json": "{}"}
        assert store.get_version("bank-b", "v1hash") is None
        assert {v.version_hash for v in store.list_versions()} == {"v1hash", "v2hash"}

        store.append_release("default", "consumer-loan", "v1hash", "publish", "li", "first")
        store.append_release("default", "consumer-loan", "v2hash", "publish", "wang", "")
        back = store.append_release("default", "consumer-loan", "v1hash", "rollback", "li",
                                    "v2 approves too much")
        current = store.current_release("default", "consumer-loan")
        assert current == back and current.version_hash == "v1hash"
        assert [r.action for r in store.list_releases("default", "consumer-loan")] == \
            ["rollback", "publish", "publish"]
        assert store.current_release("default", "other") is None
        with pytest.raises(StoreError, match="not stored"):
            store.append_release("default", "consumer-loan", "nope", "publish", "li", "")
        with pytest.raises(StoreError, match="publish or rollback"):
            store.append_release("default", "consumer-loan", "v1hash", "delete", "li", "")
    for statement in ("UPDATE releases SET actor = 'x'", "DELETE FROM strategy_versions"):
        with pytest.raises(Exception, match="append-only"):
            raw.execute(statement)


def test_store_urls() -> None:
    with pytest.raises(StoreError, match="unknown store URL"):
        open_store("mysql://localhost/db")
    with pytest.raises(StoreError, match="in-memory"):
        open_store("sqlite:///:memory:")
    with pytest.raises(StoreError, match="busy_timeout"):
        open_store("sqlite:///x.db?timeout=3")


def test_a_bare_path_is_sqlite_and_create_false_refuses_a_missing_file(tmp_path) -> None:
    path = tmp_path / "sub" / "fengkong.db"
    with pytest.raises(StoreError, match="no database"):
        open_store(str(path), create=False)
    with open_store(str(path)) as store:
        store.record_decision(record(1))
    with open_store(f"sqlite:///{path}", create=False) as store:
        assert store.count_decisions() == 1


def test_the_store_imports_without_psycopg() -> None:
    script = ("import sys; sys.modules['psycopg'] = None\n"
              "from fengkong.store import open_store, StoreError\n"
              "try:\n    open_store('postgresql://postgres@127.0.0.1/test')\n"
              "except StoreError as error:\n    print(error)\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)
    assert "pip install 'fengkong[postgres]'" in done.stdout, done.stderr
