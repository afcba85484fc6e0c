"""Garbage in, clear error out: loading and evaluating must never raise anything but a
FengkongError, whatever the document, the context or the expression text.

Hypothesis mutates real example graphs (dropping keys, swapping values for random JSON,
corrupting expressions) and feeds random contexts; each attempt either succeeds or raises a
:class:`fengkong.errors.FengkongError` subclass with a one-line message.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fengkong
from fengkong.errors import FengkongError
from fengkong.expr import evaluate, evaluate_unary

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "graphs"
GRAPHS = [json.loads(path.read_text()) for path in sorted(EXAMPLES.glob("*.json"))
          if path.stem not in ("sub_decision", "function_node")]

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
expression_text = st.text(alphabet="ab01.+-*/%^()[]{}'\"`$#,:?!<>= andornotin", max_size=25)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            found += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found += _paths(item, (*prefix, index))
    return found


@st.composite
def mutated_graphs(draw: st.DrawFn) -> Any:
    graph = copy.deepcopy(draw(st.sampled_from(GRAPHS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(graph)
        path = draw(st.sampled_from(paths))
        parent = graph
        for key in path[:-1]:
            parent = parent[key]
        action = draw(st.sampled_from(["replace", "delete", "expression"]))
        if action == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "expression":
            parent[path[-1]] = draw(expression_text)
        else:
            parent[path[-1]] = draw(json_values)
    return graph


def _one_line(error: FengkongError) -> None:
    assert "\n" not in str(error)
    assert str(error)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_graphs(), json_values)
def test_mutated_graphs_load_or_fail_cleanly(graph: Any, context: Any) -> None:
    try:
        decision = fengkong.load(graph)
    except FengkongError as error:
        _one_line(error)
        return
    try:
        decision.evaluate(context if isinstance(context, dict) else {"x": context}, trace=True)
    except FengkongError as error:
        _one_line(error)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_random_documents_fail_cleanly(document: Any) -> None:
    for source in (document, json.dumps(document)):
        try:
            fengkong.load(source if not isinstance(source, str) else source or "{}")
        except FengkongError as error:
            _one_line(error)


@settings(max_examples=1500, deadline=None)
@given(expression_text, json_values)
def test_random_expression_text_fails_cleanly(text: str, value: Any) -> None:
    context = {"a": value, "b": 1, "$": value}
    for run in (evaluate, evaluate_unary):
        try:
            run(text, context)
        except FengkongError as error:
            _one_line(error)
