"""A graph that cannot run is rejected when it loads, with an error naming where and why."""

from __future__ import annotations

import json
from typing import Any

import pytest
from builders import INPUT, OUTPUT, chain, custom, expression, graph, switch, table

import fengkong
from fengkong.errors import ExpressionSyntaxError, FengkongError, GraphLoadError


def load_error(document: Any) -> FengkongError:
    with pytest.raises(FengkongError) as caught:
        fengkong.load(document)
    return caught.value


def test_malformed_json_gives_line_column_and_offset() -> None:
    error = load_error('{"nodes": [\n  {"id": "in",, "type": "inputNode"}\n]}')
    assert isinstance(error, GraphLoadError)
    assert "line 2 column 15" in str(error)
    assert error.position == 26


def test_malformed_json_file(tmp_path: Any) -> None:
    path = tmp_path / "broken.json"
    path.write_text("{")
    error = load_error(path)
    assert isinstance(error, GraphLoadError)
    assert "broken.json is not valid JSON" in str(error)


@pytest.mark.parametrize(("document", "message"), [
    ([], "a decision must be a JSON object, got array"),
    ({"edges": []}, "'nodes' must be an array"),
    ({"nodes": [INPUT], "edges": {}}, "'edges' must be an array"),
    ({"nodes": [5], "edges": []}, "nodes[0] must be an object"),
    ({"nodes": [{"type": "inputNode"}], "edges": []}, "nodes[0] has no 'id'"),
    ({"nodes": [{"id": "in"}], "edges": []}, "node has no 'type'"),
    ({"nodes": [INPUT, {"id": "x", "type": "outputNode"}], "edges": [{"id": "e", "sourceId": "in"}]},
     "edge 'e' needs 'sourceId' and 'targetId'"),
])
def test_malformed_documents(document: Any, message: str) -> None:
    error = load_error(document)
    assert isinstance(error, GraphLoadError)
    assert message in str(error)


def test_unknown_node_type_names_the_node() -> None:
    mystery = {"id": "m1", "name": "Mystery", "type": "fooNode", "content": {}}
    error = load_error(chain(mystery))
    assert error.node_id == "m1"
    assert "unknown node type 'fooNode'" in str(error)
    assert "decisionTableNode" in str(error)  # the known types are listed


def test_unknown_custom_kind_names_the_node() -> None:
    error = load_error(chain(custom("c1", "no-such-kind")))
    assert error.node_id == "c1"
    assert "unknown custom node kind 'no-such-kind'" in str(error)


def test_cycle_names_its_nodes() -> None:
    a, b = expression("a", [("x", "1")]), expression("b", [("y", "2")])
    error = load_error(graph([INPUT, a, b, OUTPUT],
                             [("in", "a"), ("a", "b"), ("b", "a"), ("b", "out")]))
    assert isinstance(error, GraphLoadError)
    assert "cycle: a -> b -> a" in str(error)
    assert error.node_id == "a"


def test_self_loop_is_a_cycle() -> None:
    a = expression("a", [("x", "1")])
    error = load_error(graph([INPUT, a, OUTPUT], [("in", "a"), ("a", "a"), ("a", "out")]))
    assert "cycle: a -> a" in str(error)


def test_dangling_edge_names_the_missing_node() -> None:
    error = load_error(graph([INPUT, OUTPUT], [("in", "out"), ("in", "ghost")]))
    assert isinstance(error, GraphLoadError)
    assert error.node_id == "ghost"
    assert "edge 'e1' goes to node 'ghost', which does not exist" in str(error)


def test_duplicate_node_id() -> None:
    error = load_error(graph([INPUT, expression("a", [("x", "1")]), expression("a", [])],
                             [("in", "a")]))
    assert error.node_id == "a"
    assert "duplicate node id 'a'" in str(error)


@pytest.mark.parametrize("inputs", [0, 2])
def test_exactly_one_input_node(inputs: int) -> None:
    nodes = [{**INPUT, "id": f"in{n}"} for n in range(inputs)] + [OUTPUT]
    error = load_error(graph(nodes, []))
    assert f"exactly one input node, found {inputs}" in str(error)


def bad_expression_graphs() -> list[tuple[str, dict[str, Any], str]]:
    return [
        ("expression node", chain(expression("calc", [("a", "1"), ("b", "income * * 2")])),
         "income * * 2"),
        ("table input cell", chain(table("rules", ["age"], ["band"], [[">= 18 +", "'A'"]])),
         ">= 18 +"),
        ("table expression cell", chain(table("rules", [""], ["band"], [["age >", "'A'"]])),
         "age >"),
        ("table output cell", chain(table("rules", ["age"], ["band"], [["> 5", "'A' +"]])),
         "'A' +"),
        ("table input field", chain(table("rules", ["age +"], ["band"], [["> 5", "1"]])),
         "age +"),
        ("switch condition",
         graph([INPUT, switch("route", [("s1", "score >> 5")]), OUTPUT],
               [("in", "route"), ("route", "out", "s1")]),
         "score >> 5"),
        ("inputField option",
         chain(expression("calc", [("a", "1")], inputField="loans[")), "loans["),
    ]


@pytest.mark.parametrize(("where", "document", "source"), bad_expression_graphs(),
                         ids=[case[0] for case in bad_expression_graphs()])
def test_bad_expression_names_node_expression_and_position(
        where: str, document: dict[str, Any], source: str) -> None:
    error = load_error(document)
    assert isinstance(error, ExpressionSyntaxError)
    assert error.node_id is not None and error.node_id != "in"
    assert error.expression is not None and source in error.expression
    assert isinstance(error.position, int)
    assert f"id {error.node_id}" in str(error)
    assert "at position" in str(error)


@pytest.mark.parametrize(("node", "message"), [
    (table("t", ["a"], ["b"], [["1", "1"]], hit_policy="any"), "hitPolicy must be 'first' or"),
    ({"id": "t", "name": "T", "type": "decisionTableNode", "content": {"inputs": []}},
     "outputs is missing"),
    (table("t", ["a"], ["b"], [[None, None]], executionMode="sometimes"),
     "executionMode must be 'single' or 'loop'"),
    (table("t", ["a"], ["b"], [[None, None]], passThrough="yes"), "passThrough must be"),
    ({"id": "t", "name": "T", "type": "decisionTableNode",
      "content": {"hitPolicy": "first", "inputs": [{"id": "i", "field": "a"}],
                  "outputs": [{"id": "o", "field": "b"}], "rules": [{"i": 5, "o": "1"}]}},
     "a cell must be expression text"),
    ({"id": "t", "name": "T", "type": "expressionNode", "content": "x"},
     "content must be an object"),
    ({"id": "t", "name": "T", "type": "decisionNode", "content": {"key": ""}}, "key"),
    ({"id": "t", "name": "T", "type": "switchNode", "content": {"statements": [{}]}},
     "statements[0].id is missing"),
])
def test_bad_node_content_names_the_node(node: dict[str, Any], message: str) -> None:
    error = load_error(chain(node))
    assert isinstance(error, GraphLoadError)
    assert error.node_id == "t"
    assert message in str(error)


@pytest.mark.parametrize(("schema", "message"), [
    ("{not json", "schema is not valid JSON"),
    (json.dumps({"type": "nonsense"}), "schema is not a valid JSON Schema"),
    ("[1, 2]", "schema must be a JSON Schema object"),
])
def test_bad_schema_fails_the_load(schema: str, message: str) -> None:
    document = graph([{**INPUT, "content": {"schema": schema}}, OUTPUT], [("in", "out")])
    error = load_error(document)
    assert error.node_id == "in"
    assert message in str(error)


def test_missing_decision_file(tmp_path: Any) -> None:
    error = load_error(tmp_path / "nowhere.json")
    assert "no decision file" in str(error)
