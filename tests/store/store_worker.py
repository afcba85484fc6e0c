"""A separate process that writes to a store, for the crash and multi-process tests.

    python store_worker.py record URL PREFIX COUNT    # print each decision id once durable
    python store_worker.py same URL COUNT             # decide app-0..COUNT-1 (racing a twin)
    python store_worker.py disk-full URL              # writes fail past RLIMIT_FSIZE
"""

from __future__ import annotations

import json
import os
import resource
import signal
import sys
from datetime import UTC, datetime

from fengkong.store import DecisionRecord, StoreUnavailable, open_store


def make(application_id: str) -> DecisionRecord:
    return DecisionRecord(flow="credit", strategy_version="v1", application_id=application_id,
                          request={"id": application_id}, response={"ok": True},
                          outcome="APPROVE", latency_ms=1.0, decided_at=datetime.now(UTC))


def main(mode: str, url: str, *rest: str) -> None:
    store = open_store(url)
    if mode == "record":
        prefix, count = rest[0], int(rest[1])
        for number in range(count):
            stored = store.record_decision(make(f"{prefix}-{number}"))
            print(stored.decision_id, flush=True)  # acknowledged: it must survive a kill
    elif mode == "same":
        futures = [store.submit_decision(make(f"app-{number}")) for number in range(int(rest[0]))]
        print(json.dumps({future.result().application_id: [future.result().decision_id,
                                                           future.result().replayed]
                          for future in futures}), flush=True)
    elif mode == "disk-full":
        first = store.record_decision(make("before"))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of being killed
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1024, hard))  # "the disk is full"
        refused = []
        for name in ("full-1", "full-2"):
            try:
                store.record_decision(make(name))
                refused.append(False)
            except StoreUnavailable as error:
                refused.append(str(error))
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # space freed
        after = store.record_decision(make("after"))
        print(json.dumps({"first": first.seq, "refused": refused, "after": after.seq}),
              flush=True)
    store.close()
    os._exit(0)


if __name__ == "__main__":
    main(*sys.argv[1:])
