"""Every example graph, on every one of its inputs, gives zen-engine's result and trace."""

from __future__ import annotations

from typing import Any

import pytest
from zen_oracle import (
    EXAMPLES,
    Outcome,
    assert_same,
    example_cases,
    same,
    without_timings,
    zen_outcome,
)

import fengkong

CASES = example_cases()


@pytest.mark.parametrize(("name", "number", "context"), CASES,
                         ids=[f"{name}-{number}" for name, number, _ in CASES])
def test_result_matches_zen(name: str, number: int, context: dict[str, Any]) -> None:
    path = EXAMPLES / f"{name}.json"
    ours = fengkong.load(path).evaluate(context)
    theirs = zen_outcome(path, context)
    assert theirs.error is None, theirs.error
    assert_same(Outcome(ours), theirs, f"{name}[{number}]")


@pytest.mark.parametrize(("name", "number", "context"), CASES,
                         ids=[f"{name}-{number}" for name, number, _ in CASES])
def test_trace_matches_zen(name: str, number: int, context: dict[str, Any]) -> None:
    path = EXAMPLES / f"{name}.json"
    ours = fengkong.load(path).evaluate(context, trace=True)["trace"]
    theirs = zen_outcome(path, context, trace=True).response
    assert theirs is not None
    assert same(without_timings(ours), without_timings(theirs["trace"]))


def test_every_example_has_inputs() -> None:
    graphs = {path.stem for path in EXAMPLES.glob("*.json")}
    inputs = {path.stem for path in (EXAMPLES / "inputs").glob("*.json")}
    assert graphs == inputs
    assert len(CASES) >= 3 * len(graphs)
