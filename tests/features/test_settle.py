"""The fast paths of the online kernels pinned to the general ones they replace.

- value codes (:mod:`fengkong.features.codes`) number values exactly as the dictionary
  per column did: first appearance, ``-0.0`` as ``0.0``, a fresh code per NaN;
- a series settled by appends (events in time order, :mod:`fengkong.features.settle`)
  holds the very arrays — bit for bit — of one whose events were merged out of order;
- one group read in one call (:mod:`fengkong.features.query`) gives the values of the
  separate steps: window bounds, prefix sums, suffix index or scan (features sorted by
  window start per query), lifetime merge.
"""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pytest
from test_kernels import DAY, all_features

from fengkong.features.codes import ValueCodes
from fengkong.features.kernels import FeaturePlan, Series, compute
from fengkong.features.retention import merge_lifetime
from fengkong.features.scan import scan
from fengkong.features.suffix import read_index
from fengkong.features.sums import read_additive


@pytest.mark.parametrize("seed", range(5))
def test_value_codes_number_values_as_a_dictionary_did(seed: int) -> None:
    rng = random.Random(seed)
    columns = sorted(rng.sample(range(5), rng.randint(1, 5)))
    codes = ValueCodes(np.array(columns, dtype=np.int64), rng.randint(0, 20))
    known: list[dict[float, int]] = [{} for _ in range(5)]
    pool = [0.0, -0.0, 1.0, 2.0, float("nan"), 1e300, -3.5, 5e-324] + \
        [float(rng.randint(0, 2 ** 48)) for _ in range(300)]
    for _ in range(20):
        values = np.array([[rng.choice(pool) for _ in range(5)]
                           for _ in range(rng.randint(1, 60))])
        got = np.zeros(values.shape, dtype=np.int32)
        codes.assign(values, got)
        expected = np.zeros(values.shape, dtype=np.int32)
        for row, line in enumerate(values.tolist()):  # new float objects: NaN is new
            for column in columns:
                expected[row, column] = known[column].setdefault(line[column],
                                                                 len(known[column]))
        assert (got == expected).all()
    assert codes.most == max(len(known[column]) for column in columns)


def history(rng: random.Random, size: int, ties: bool = True
            ) -> list[tuple[int, np.ndarray, np.ndarray]]:
    """Events of one series (the amount, and the verdicts of no filter and two filters),
    in time order."""
    clock = 0
    events = []
    for _ in range(size):
        clock += rng.choice([0 if ties else 1, rng.randint(1, 6 * 3_600_000)])
        values = np.array([[rng.choice([rng.randint(0, 30) * 500.5, np.nan])]])
        events.append((clock, values, np.array([[True, rng.random() < 0.5,
                                                 rng.random() < 0.3]])))
    return events


def plan_and_layout() -> tuple[FeaturePlan, Any]:
    plan = FeaturePlan(all_features())
    return plan, plan.groups[0].layout


def arrays(series: Series) -> list[np.ndarray]:
    size = len(series)
    return [series.times, series.values[:size], series.codes[:size], series.passes[:size],
            series.prefix[:size + 1]]


@pytest.mark.parametrize("seed", range(4))
def test_appending_in_order_equals_merging(seed: int) -> None:
    rng = random.Random(seed)
    _, layout = plan_and_layout()
    # (distinct times: the merge keeps equal times in the order they arrive, shuffled here)
    events = history(rng, 300, ties=False)
    appended, merged = Series(layout), Series(layout)
    position = 0
    while position < len(events):  # reads between batches of 1 to 20 events
        batch = events[position:position + rng.randint(1, 20)]
        position += len(batch)
        for at, values, passes in batch:
            appended.add_many(np.array([at]), values, passes)
        shuffled = rng.sample(batch, len(batch))  # out of order: the merge
        merged.add_many(np.array([at for at, _, _ in shuffled]),
                        np.concatenate([values for _, values, _ in shuffled]),
                        np.concatenate([passes for _, _, passes in shuffled]))
        appended.settle()
        merged.settle()
    for fast, general in zip(arrays(appended), arrays(merged), strict=True):
        np.testing.assert_array_equal(fast, general)


def separate_steps(plan: FeaturePlan, series: Series, as_of: int) -> np.ndarray:
    """The group read step by step, as ``_fill_group`` did before the single call."""
    group = plan.groups[0]
    layout = group.layout
    out = np.full(len(plan.names), np.nan)
    starts, end = series.window_bounds(as_of, group.windows)
    read_additive(series.prefix, starts, group.window_lifetime, end, group.window_of,
                  group.value_column, group.count_column, group.square_column, group.kinds,
                  group.slots, out)
    baseline = series.baseline or layout.empty_baseline
    index = series.index
    if index is not None and end == len(series):
        read_index(series.times, series.values, starts, as_of, layout.pair_column,
                   layout.pair_filter, layout.stack_of, layout.distinct_of, group.scan_slot,
                   group.scan_kind, group.scan_window, group.scan_pair, index.newest,
                   index.max_stack, index.max_size, index.min_stack, index.min_size,
                   index.distinct_rows, index.distinct_size, index.filter_rows,
                   index.filter_size, group.window_lifetime, baseline.only, out)
    else:
        first = int(starts.min())
        begin = (starts - first)[group.scan_window]
        order = np.argsort(-begin, kind="stable")  # sorted per query
        scan(series.times[first:end], series.values[first:end], series.codes[first:end],
             series.passes[first:end], layout.pair_column, layout.pair_filter,
             layout.pair_needs, series.code_count, begin[order], group.scan_kind[order],
             group.scan_pair[order], group.scan_slot[order],
             group.window_lifetime[group.scan_window][order], layout.distinct_of,
             baseline.codes, as_of, out)
    if series.baseline is not None:
        merge_lifetime(as_of, group.scan_slot, group.scan_kind, group.scan_pair,
                       group.window_lifetime[group.scan_window], layout.pair_filter,
                       baseline.minimum, baseline.maximum, baseline.has_newest,
                       baseline.newest_time, baseline.newest_value, baseline.has_first,
                       baseline.first, out)
    return out


@pytest.mark.parametrize("seed", range(4))
def test_one_call_per_group_equals_the_separate_steps(seed: int) -> None:
    rng = random.Random(seed)
    plan, layout = plan_and_layout()
    series = Series(layout)
    group = plan.groups[0]
    slots = np.concatenate([group.slots, group.scan_slot])
    # long enough to be indexed (from the second read) and to fold (a year and more)
    events = history(rng, 2000)
    for count, (at, values, passes) in enumerate(events):
        series.add_many(np.array([at]), values, passes)
        if count % 97 == 0 or count == len(events) - 1:
            for as_of in (at + 1, at + rng.randint(1, DAY), at - rng.randint(0, DAY)):
                if series.baseline is not None and \
                        as_of - layout.longest_ms < series.baseline.cut:
                    continue
                fused = compute(plan, {(group.key, "k", layout.event): series},
                                {group.key: "k"}, as_of)
                np.testing.assert_array_equal(fused[slots],
                                              separate_steps(plan, series, as_of)[slots])
    assert series.index is not None and series.baseline is not None  # every path was taken
