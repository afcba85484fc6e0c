"""A series' waiting events (:mod:`fengkong.features.pending`): the rows added, in order,
whatever the batches' sizes; the first batch is kept as given and never written."""

from __future__ import annotations

import random

import numpy as np

from fengkong.features.pending import PendingEvents


def test_the_buffer_holds_the_rows_added_and_never_writes_the_first_batch() -> None:
    rng = random.Random(5)
    parts = [(np.arange(size, dtype=np.int64) + 10 * index,
              rng.random() * np.ones((size, 2)), np.ones((size, 3), dtype=bool))
             for index, size in enumerate(rng.randint(1, 6) for _ in range(30))]
    first = tuple(array.copy() for array in parts[0])
    pending = PendingEvents(*parts[0])
    for part in parts[1:]:
        pending.add(*part)
    for round_ in range(2):  # the second time, the arrays are reused after clear()
        for got, index in zip(pending.rows(), range(3), strict=True):
            assert (got == np.concatenate([part[index] for part in parts])).all()
        assert len(pending) == sum(len(part[0]) for part in parts)
        pending.clear()
        assert len(pending) == 0
        for part in parts if round_ == 0 else []:
            pending.add(*part)
    for kept, given in zip(first, parts[0], strict=True):
        assert (kept == given).all()
