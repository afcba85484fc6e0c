"""Decision ids: UUID version 7 (RFC 9562) as text — time-ordered, unique without a
database round trip. Within one millisecond the 12 ``rand_a`` bits count up (RFC 9562,
method 1), so ids made by one process sort in the order they were made. The random bits
come from a generator seeded once from the OS: uniqueness, not secrecy, is what an id
needs, and a system call per id would let go of the GIL on the writer's hot path."""

from __future__ import annotations

import os
import random
import threading
import time
import uuid

_random = random.Random(os.urandom(32))
# A forked child must not repeat its parent's random bits.
os.register_at_fork(after_in_child=lambda: _random.seed(os.urandom(32)))
_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> str:
    """A new UUIDv7, e.g. ``0190a6f2-3b4c-7d5e-8f60-123456789abc``."""
    global _last_ms, _counter
    with _lock:
        now = time.time_ns() // 1_000_000
        if now > _last_ms:
            _last_ms = now
            _counter = _random.getrandbits(10)  # leaves room to count up
        else:
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next one
                _last_ms += 1
                _counter = 0
        millis, counter = _last_ms, _counter
        tail = _random.getrandbits(62)
    value = (millis << 80) | (0x7 << 76) | (counter << 64) | (0b10 << 62) | tail
    return str(uuid.UUID(int=value))
