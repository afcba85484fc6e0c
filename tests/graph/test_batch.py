"""Batch evaluation gives every row the decision single evaluation gives it.

Checked on every example graph (each node type and option, sub-decisions, function nodes),
on the benchmark graphs over thousands of random applicants, on rows that fail (same error
message, the rest of the batch unaffected) and on columnar input. Results are compared with
null fields left out: batch columns do not tell a missing field from a null one (documented
in docs/graphs.md).
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import fengkong
from fengkong.errors import FengkongError

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "graphs"
sys.path.insert(0, str(ROOT / "benchmarks"))

import graphs as benchmark_graphs  # noqa: E402


def without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [without_nulls(item) for item in value]
    return value


def same(expected: Any, got: Any) -> bool:
    if isinstance(expected, dict) and isinstance(got, dict):
        return expected.keys() == got.keys() and all(same(expected[k], got[k]) for k in expected)
    if isinstance(expected, list) and isinstance(got, list):
        return len(expected) == len(got) and all(map(same, expected, got))
    if isinstance(expected, float) or isinstance(got, float):
        return (isinstance(expected, int | float) and isinstance(got, int | float)
                and not isinstance(expected, bool) and not isinstance(got, bool)
                and abs(expected - got) <= 1e-12 * max(1.0, abs(expected)))
    return type(expected) is type(got) and expected == got


def assert_batch_matches(decision: fengkong.Decision, contexts: list[dict[str, Any]]) -> None:
    batch = decision.evaluate_batch(contexts)
    records = batch.records()
    assert len(batch) == len(contexts)
    for context, record, error in zip(contexts, records, batch.errors, strict=True):
        try:
            expected = decision.evaluate(context)["result"]
        except FengkongError as failure:
            assert error == str(failure), context
            assert record is None
            continue
        assert error is None, (context, error)
        assert same(without_nulls(expected), without_nulls(record)), (context, expected, record)


def example_cases() -> list[tuple[str, Path]]:
    return [(path.stem, path) for path in sorted(EXAMPLES.glob("*.json"))]


@pytest.mark.parametrize(("name", "path"), example_cases())
def test_example_graphs(name: str, path: Path) -> None:
    decision = fengkong.load(path)
    contexts = json.loads((EXAMPLES / "inputs" / f"{name}.json").read_text())
    # Repeat and shuffle so that switch branches get several rows in mixed order.
    rng = random.Random(name)
    many = [rng.choice(contexts) for _ in range(60)] + contexts
    assert_batch_matches(decision, many)


@pytest.mark.parametrize("graph", ["rule_table_graph", "credit_graph"])
def test_benchmark_graphs_on_random_applicants(graph: str) -> None:
    decision = fengkong.load(getattr(benchmark_graphs, graph)())
    assert_batch_matches(decision, benchmark_graphs.applicants(3000, seed=5))


def test_rate_card_late_matches() -> None:
    graph = benchmark_graphs.rate_card_graph(2000)
    decision = fengkong.load(graph)
    assert_batch_matches(decision, benchmark_graphs.rate_card_late_applicants(graph, 1000))


def test_failing_rows_carry_their_error_and_do_not_stop_the_batch() -> None:
    decision = fengkong.load(benchmark_graphs.credit_graph())
    people = benchmark_graphs.applicants(200, seed=3)
    for index in (3, 50, 199):
        people[index]["applicant"]["debt"] = "lots"  # arithmetic on a string fails
    batch = decision.evaluate_batch(people)
    failed = [index for index, error in enumerate(batch.errors) if error is not None]
    expected = []
    for index in (3, 50, 199):
        try:
            decision.evaluate(people[index])
        except FengkongError:
            expected.append(index)
    assert failed == expected
    assert_batch_matches(decision, people)


def test_columnar_input_and_result_arrays() -> None:
    decision = fengkong.load(benchmark_graphs.credit_graph())
    people = benchmark_graphs.applicants(500, seed=8)
    columns: dict[str, Any] = {}
    for path in ("applicant.age", "applicant.income", "applicant.grade", "applicant.region",
                 "applicant.product", "applicant.overdueCount", "applicant.blacklisted",
                 "applicant.debt", "bureau.score", "loan.amount", "loan.term"):
        first, second = path.split(".")
        values = [person[first][second] for person in people]
        columns[path] = np.array(values, dtype=object if isinstance(values[0], str) else None)
    from_columns = decision.evaluate_batch(columns)
    from_rows = decision.evaluate_batch(people)
    assert from_columns.records() == from_rows.records()
    apr = from_columns.array("offer.apr")
    assert apr.dtype == np.float64
    single = [decision.evaluate(person)["result"].get("offer", {}) or {} for person in people]
    for value, result in zip(apr.tolist(), single, strict=True):
        if "apr" in result:
            assert abs(value - result["apr"]) < 1e-12
        else:
            assert np.isnan(value)
    assert set(from_columns.column("status")) <= {"approve", "review", "reject"}


@pytest.mark.parametrize("seed", range(150))
def test_random_graph_shapes(seed: int) -> None:
    """The walk stress graphs (switches first/collect, several outputs, null outputs that
    erase fields, unreachable nodes), batch against single evaluation."""
    from test_random_graphs_vs_zen import random_graph

    document, contexts = random_graph(seed)
    decision = fengkong.load(document)
    rng = random.Random(seed)
    assert_batch_matches(decision, [rng.choice(contexts) for _ in range(40)] + contexts)
