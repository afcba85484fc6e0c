"""The trace: one entry per node that ran, in Zen's shape; timings formatted as Zen's."""

from __future__ import annotations

import re

import pytest
from builders import INPUT, OUTPUT, chain, expression, graph, switch, table

import fengkong
from fengkong.graph.trace import format_duration

ENTRY_KEYS = ["input", "output", "name", "id", "performance", "traceData", "order"]
DURATION = re.compile(r"^\d+\.\d(ns|µs|ms|s)$")


def routed() -> fengkong.Decision:
    return fengkong.load(graph(
        [INPUT, switch("route", [("big", "amount > 1000"), ("small", "")]),
         table("grade", ["amount"], ["grade"], [["> 5000", "'A'"], ["", "'B'"]]),
         expression("tiny", [("grade", "'C'")]), OUTPUT],
        [("in", "route"), ("route", "grade", "big"), ("route", "tiny", "small"),
         ("grade", "out"), ("tiny", "out")]))


def test_entry_shape_and_order() -> None:
    response = routed().evaluate({"amount": 6000}, trace=True)
    trace = response["trace"]
    assert list(trace) == ["in", "route", "grade", "out"]  # the branch not taken is absent
    for order, (node_id, entry) in enumerate(trace.items()):
        assert list(entry) == ENTRY_KEYS
        assert entry["id"] == node_id
        assert entry["order"] == order
        assert DURATION.match(entry["performance"])
    assert trace["in"]["input"] is None and trace["in"]["output"] == {"amount": 6000}
    assert trace["out"]["input"] == {"grade": "A"} and trace["out"]["output"] is None
    assert trace["route"]["input"] == trace["route"]["output"] == {"amount": 6000}
    assert trace["route"]["traceData"] == {"statements": [{"id": "big"}]}
    assert trace["grade"]["traceData"] == {
        "index": 0, "reference_map": {"amount": 6000},
        "rule": {"_id": "r0", "amount[i0]": "> 5000"}}
    assert trace["grade"]["name"] == "GRADE"


def test_expression_trace_data() -> None:
    decision = fengkong.load(chain(expression("calc", [("a", "1"), ("b.c", "$.a + 1")])))
    entry = decision.evaluate({}, trace=True)["trace"]["calc"]
    assert entry["traceData"] == {"a": {"result": 1}, "b.c": {"result": 2}}
    assert entry["output"] == {"a": 1, "b": {"c": 2}}


def test_collect_and_loop_trace_data_are_lists() -> None:
    rules = table("flags", ["x"], ["flag"], [["> 1", "'a'"], ["> 2", "'b'"]],
                  hit_policy="collect", inputField="items", executionMode="loop")
    trace = fengkong.load(chain(rules)).evaluate({"items": [{"x": 3}, {"x": 0}]}, trace=True)
    data = trace["trace"]["flags"]["traceData"]
    assert [[row["index"] for row in item] for item in data] == [[0, 1], []]


def test_steps_trace_keeps_each_nodes_output_object_without_copies() -> None:
    decision = routed()
    full = decision.evaluate({"amount": 6000}, trace=True)["trace"]
    steps = decision.evaluate({"amount": 6000}, trace="steps")["trace"]
    assert list(steps) == list(full)
    for node_id, entry in steps.items():
        assert list(entry) == ["output", "name", "id", "performance", "traceData", "order"]
        assert entry["traceData"] == full[node_id]["traceData"]
        assert entry["order"] == full[node_id]["order"]
    assert steps["grade"]["output"] == {"grade": "A"}
    # The input node's output is the context object itself, not a JSON copy of it.
    context = {"amount": 6000}
    assert decision.evaluate(context, trace="steps")["trace"]["in"]["output"] is context


def test_no_trace_unless_asked() -> None:
    assert "trace" not in routed().evaluate({"amount": 1})


def test_sub_decision_trace_is_nested() -> None:
    engine = fengkong.Engine({"child": chain(expression("leaf", [("v", "1")])),
                              "parent": chain({"id": "call", "name": "Call",
                                               "type": "decisionNode",
                                               "content": {"key": "child"}})})
    entry = engine.evaluate("parent", {}, trace=True)["trace"]["call"]
    assert list(entry["traceData"]) == ["in", "leaf", "out"]
    assert entry["traceData"]["leaf"]["output"] == {"v": 1}


@pytest.mark.parametrize(("nanoseconds", "text"), [
    (0, "0.0ns"), (663, "663.0ns"), (1_000, "1.0µs"), (73_849, "73.8µs"), (73_850, "73.9µs"),
    (999_950, "1000.0µs"), (2_345_678, "2.3ms"), (1_000_000_000, "1.0s"),
    (12_345_678_901, "12.3s"),
])
def test_format_duration_like_rust(nanoseconds: int, text: str) -> None:
    assert format_duration(nanoseconds) == text
