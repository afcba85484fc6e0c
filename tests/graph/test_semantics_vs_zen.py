"""Graph semantics established by probing zen-engine 2.1.3, each checked against it.

Each case is a small graph and a context; fengkong must give zen-engine's result and trace
(timings aside). The cases pin down the rules docs/graphs.md describes: how a node's input
merges its predecessors' outputs, which outputs form the result, how switches prune
branches, what the node options do, and how decision tables treat errors and absent cells.
"""

from __future__ import annotations

from typing import Any

import pytest
from builders import INPUT, OUTPUT, chain, expression, graph, sub_decision, switch, table
from zen_oracle import assert_same, compare, same, without_timings, zen_outcome

import fengkong

CONTEXT = {"customer": {"age": 30, "name": "A"}, "loans": [{"amt": 10}, {"amt": 200}], "k": 1}

BRANCH_A = expression("a", [("p", "1"), ("q.r", "2"), ("q.s", "3"), ("n", "null"),
                            ("arr", "[1, 2]"), ("o", "{k: 1, m: 2}")])
BRANCH_B = expression("b", [("p", "null"), ("q.r", "null"), ("q.t", "4"), ("arr", "[3]"),
                            ("o", "{k: null}"), ("n2", "null")])
JOIN = expression("c", [("p2", "p"), ("seen", "q")])
NO_MATCH = table("nm", ["x"], ["v"], [["> 5", "1"]])
COLLECT_TWO = table("two", [""], ["v"], [["", "1"], ["", "2"]], hit_policy="collect")

SWITCH_EDGES = [("in", "sw"), ("sw", "big", "s1"), ("sw", "mid", "s2"), ("sw", "dflt", "s3"),
                ("big", "out"), ("mid", "out"), ("dflt", "out")]
BRANCHES = [expression("big", [("branch", "'big'")]), expression("mid", [("branch", "'mid'")]),
            expression("dflt", [("branch", "'default'")])]


def routed(hit_policy: str) -> dict[str, Any]:
    router = switch("sw", [("s1", "x > 10"), ("s2", "x > 5"), ("s3", "")], hit_policy)
    return graph([INPUT, router, *BRANCHES, OUTPUT], SWITCH_EDGES)


def two_branches(a: dict[str, Any], b: dict[str, Any], *, reverse: bool = False) -> dict[str, Any]:
    join = expression("c", [("z", "1")])
    edges = [("in", "a"), ("in", "b"), ("a", "c"), ("b", "c"), ("c", "out")]
    if reverse:
        edges[2], edges[3] = edges[3], edges[2]
    return graph([INPUT, {**a, "id": "a"}, {**b, "id": "b"}, join, OUTPUT], edges)


def nested_switches() -> dict[str, Any]:
    outer = switch("sw1", [("t1", "x > 5"), ("t2", "")])
    inner = switch("sw2", [("u1", "y > 5"), ("u2", "")], "collect")
    leaves = [expression("d", [("leaf", "'d'")]), expression("e", [("leaf2", "'e'")]),
              expression("f", [("z", "'f'")])]
    return graph([INPUT, outer, inner, *leaves, OUTPUT],
                 [("in", "sw1"), ("sw1", "sw2", "t1"), ("sw1", "f", "t2"), ("sw2", "d", "u1"),
                  ("sw2", "e", "u2"), ("d", "out"), ("e", "out"), ("f", "out")])


def diamond_after_switch() -> dict[str, Any]:
    outer = switch("sw1", [("t1", "x > 5"), ("t2", "")])
    nodes = [expression("d", [("d", "1")]), expression("e", [("e", "1")]),
             expression("f", [("f", "d"), ("g", "e")])]
    return graph([INPUT, outer, *nodes, OUTPUT],
                 [("in", "sw1"), ("sw1", "d", "t1"), ("sw1", "e", "t2"), ("d", "f"), ("e", "f"),
                  ("in", "f"), ("f", "out")])


def loan_table(**options: Any) -> dict[str, Any]:
    return table("t", ["amt"], ["band"], [["> 100", "'high'"], ["", "'low'"]], **options)


def per_loan(**options: Any) -> dict[str, Any]:
    return expression("ex", [("double", "amt * 2"), ("self", "$.double + 1")], **options)


def customer_calc(**options: Any) -> dict[str, Any]:
    return expression("ex", [("older", "customer.age + 1"), ("k", "null"),
                             ("customer.name", "null")], **options)


CASES: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
    # -- inputs and results
    ("merge: first predecessor as is, others merged, null deletes",
     graph([INPUT, BRANCH_A, BRANCH_B, JOIN, OUTPUT],
           [("in", "a"), ("in", "b"), ("a", "c"), ("b", "c"), ("c", "out")]), {"ctx": 1}),
    ("merge: edge order decides the predecessor order",
     graph([INPUT, BRANCH_A, BRANCH_B, JOIN, OUTPUT],
           [("in", "b"), ("in", "a"), ("b", "c"), ("a", "c"), ("c", "out")]), {"ctx": 1}),
    ("merge: a null output counts as {}", two_branches(expression("a", [("p", "1"), ("n", "null")]),
                                                       NO_MATCH), {"x": 1}),
    ("merge: an array replaces", two_branches(COLLECT_TWO, expression("b", [("p", "1")])), {}),
    ("merge: an object replaces an array",
     two_branches(expression("a", [("p", "1")]), COLLECT_TWO, reverse=True), {}),
    ("result: several output nodes, the first reached wins",
     graph([INPUT, BRANCH_A, BRANCH_B, OUTPUT, {**OUTPUT, "id": "out2"}],
           [("in", "a"), ("in", "b"), ("a", "out"), ("b", "out2")]), {}),
    ("result: top-level nulls dropped, nested kept",
     chain(expression("calc", [("a", "null"), ("b.c", "null"), ("d", "[null, 1]")])), {}),
    ("result: an upstream node outside the input's reach still runs",
     graph([INPUT, BRANCH_A, expression("orphan", [("o", "2")]), OUTPUT],
           [("in", "a"), ("a", "out"), ("orphan", "out")]), {}),
    ("result: a collect table's array is the result",
     chain(table("t", [""], ["v"], [["", "1"], ["", "2"]], hit_policy="collect")), {}),
    ("result: first-hit table without match gives {}", chain(NO_MATCH), {"x": 1}),
    ("$nodes: outputs of earlier nodes by name",
     chain(expression("a", [("v", "x + 1")]),
           expression("b", [("w", "$nodes.A.v"), ("w2", "$nodes.Request.x")])), {"x": 1}),
    ("$: earlier results of the same node, null before the first",
     chain(expression("a", [("s", "$"), ("v", "x"), ("t", "$"), ("u", "$.v")])), {"x": 1}),
    # -- switches
    *[(f"switch {policy} x={x}", routed(policy), {"x": x})
      for policy in ("first", "collect") for x in (20, 7, 1)],
    ("switch: no branch taken prunes back to the input",
     graph([INPUT, switch("sw", [("s1", "x > 10")]), BRANCHES[0], OUTPUT],
           [("in", "sw"), ("sw", "big", "s1"), ("big", "out")]), {"x": 1}),
    ("switch: pruning stops at nodes with other inputs",
     graph([INPUT, switch("sw", [("s1", "x > 10")]), *BRANCHES[:2], OUTPUT],
           [("in", "sw"), ("sw", "big", "s1"), ("big", "out"), ("in", "mid"), ("mid", "out")]),
     {"x": 1}),
    ("switch: failing or non-boolean conditions are false",
     graph([INPUT, switch("sw", [("s1", "x * 'a'"), ("s2", "x")]), BRANCHES[0], OUTPUT],
           [("in", "sw"), ("sw", "big", "s1"), ("sw", "big", "s2"), ("big", "out")]), {"x": 6}),
    *[(f"switch: nested {context}", nested_switches(), context)
      for context in ({"x": 6, "y": 6}, {"x": 6, "y": 1}, {"x": 1, "y": 9})],
    *[(f"switch: diamond {context}", diamond_after_switch(), context)
      for context in ({"x": 6}, {"x": 1})],
    # -- decision tables
    ("table: absent input cell matches anything",
     chain(table("t", ["x", "y"], ["o"], [["> 5", None, "'A'"]])), {"x": 6}),
    ("table: failing output cell skips the rule",
     chain(table("t", ["x"], ["o"], [["> 4", "x * 'a'"], ["> 3", "'C'"]])), {"x": 4.5}),
    ("table: failing input cell does not match",
     chain(table("t", ["x"], ["o"], [["> 'a' + 1", "'A'"], ["", "'B'"]])), {"x": 6}),
    ("table: non-boolean expression cell does not match",
     chain(table("t", [""], ["o"], [["x", "'A'"], ["", "'B'"]])), {"x": 6}),
    ("table: on an array input, no reference values are traced",
     graph([INPUT, COLLECT_TWO, table("t", ["v"], ["w"], [["", "1"]]), OUTPUT],
           [("in", "two"), ("two", "t"), ("t", "out")]), {}),
    ("table: collect with dotted outputs",
     chain(table("t", ["age"], ["d", "limit.amount", "limit.ccy"],
                 [[">= 18", "'ok'", "age * 100", "'CNY'"], ["", "'any'", "", None]],
                 hit_policy="collect")), {"age": 30}),
    # -- node options
    ("loop", chain(per_loan(inputField="loans", executionMode="loop")), CONTEXT),
    ("loop + outputPath",
     chain(per_loan(inputField="loans", executionMode="loop", outputPath="res.items")), CONTEXT),
    ("loop + passThrough",
     chain(per_loan(inputField="loans", executionMode="loop", passThrough=True)), CONTEXT),
    ("loop + passThrough + outputPath",
     chain(per_loan(inputField="loans", executionMode="loop", passThrough=True,
                    outputPath="res")), CONTEXT),
    ("loop over []", chain(per_loan(inputField="[]", executionMode="loop")), CONTEXT),
    ("loop sees $nodes",
     chain(expression("ex", [("v", "$nodes.Request.k"), ("w", "amt")], inputField="loans",
                      executionMode="loop")), CONTEXT),
    ("inputField", chain(expression("ex", [("older", "age + 1"), ("k2", "k")],
                                    inputField="customer")), CONTEXT),
    ("inputField + passThrough", chain(expression("ex", [("older", "age + 1")],
                                                  inputField="customer", passThrough=True)),
     CONTEXT),
    ("inputField expression", chain(expression(
        "ex", [("older", "age + 1")], inputField="customer.age > 5 ? customer : null")), CONTEXT),
    ("inputField missing", chain(expression("ex", [("v", "1"), ("w", "k")],
                                            inputField="nothing")), CONTEXT),
    ("outputPath", chain(customer_calc(outputPath="calc")), CONTEXT),
    ("passThrough: nulls delete input fields", chain(customer_calc(passThrough=True)), CONTEXT),
    ("passThrough into a deep outputPath",
     chain(customer_calc(outputPath="customer.extra", passThrough=True)), CONTEXT),
    ("passThrough flows on",
     chain(customer_calc(passThrough=True), expression("n", [("seen", "k"),
                                                              ("nm", "customer.name")])),
     CONTEXT),
    ("table loop", chain(loan_table(inputField="loans", executionMode="loop")), CONTEXT),
    ("table loop collect passThrough outputPath",
     chain(loan_table(inputField="loans", executionMode="loop", hit_policy="collect",
                      passThrough=True, outputPath="bands")), CONTEXT),
    ("table passThrough", chain(loan_table(passThrough=True)), {"amt": 5, "x": 1}),
    ("table passThrough without match",
     chain(table("t", ["amt"], ["band"], [["> 100", "'high'"]], passThrough=True)),
     {"amt": 5, "x": 1}),
    ("table outputPath without match",
     chain(table("t", ["amt"], ["band"], [["> 100", "'high'"]], outputPath="r")), {"amt": 5}),
    ("table loop without match",
     chain(table("t", ["amt"], ["band"], [["> 100", "'high'"]], inputField="loans",
                 executionMode="loop")), CONTEXT),
    ("switch ignores node options",
     graph([INPUT, {**switch("sw", [("s1", "age > 10")]),
                    "content": {"statements": [{"id": "s1", "condition": "age > 10"}],
                                "inputField": "customer"}},
            expression("a", [("x", "1")]), OUTPUT],
           [("in", "sw"), ("sw", "a", "s1"), ("a", "out")]), CONTEXT),
]


@pytest.mark.parametrize(("label", "document", "context"), CASES, ids=[c[0] for c in CASES])
def test_same_result_and_trace_as_zen(label: str, document: dict[str, Any],
                                      context: dict[str, Any]) -> None:
    ours, theirs = compare(document, context)
    assert_same(ours, theirs, label)
    our_trace = fengkong.load(document).evaluate(context, trace=True)["trace"]
    their_trace = zen_outcome(document, context, trace=True).response
    assert their_trace is not None
    assert same(without_timings(our_trace), without_timings(their_trace["trace"])), label


def test_several_ending_nodes_merge_in_document_order() -> None:
    # Zen's trace shows the first ending node's output after the final merge changed it
    # in place (a trace artefact); fengkong shows what the node output. Results agree.
    document = graph([INPUT, BRANCH_A, BRANCH_B], [("in", "a"), ("in", "b")])
    ours, theirs = compare(document, {})
    assert_same(ours, theirs)
    assert ours.result == {"q": {"s": 3, "t": 4}, "arr": [3], "o": {"m": 2}}


SCORE = chain(expression("s", [("score", "age * 2"), ("nul", "null")]))


@pytest.mark.parametrize(("label", "node"), [
    ("sub-decision", sub_decision("d", "score.json")),
    ("sub-decision loop", sub_decision("d", "score.json", inputField="apps",
                                       executionMode="loop", outputPath="scores",
                                       passThrough=True)),
])
def test_sub_decisions_like_zen(label: str, node: dict[str, Any]) -> None:
    context = {"age": 30, "apps": [{"age": 1}, {"age": 2}], "k": 3}
    document = chain(node)
    loader = {"score.json": SCORE}
    ours, theirs = compare(document, context, loader=loader)
    assert_same(ours, theirs, label)
    our_trace = fengkong.load(document, loader=loader).evaluate(context, trace=True)["trace"]
    their_trace = zen_outcome(document, context, loader=loader, trace=True).response
    assert their_trace is not None
    assert same(without_timings(our_trace), without_timings(their_trace["trace"]))
