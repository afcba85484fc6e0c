"""Bad input at evaluation time: a typed error naming the node, field or expression position."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from builders import INPUT, OUTPUT, chain, expression, graph, sub_decision, table

import fengkong
from fengkong.errors import (
    DecisionNotFoundError,
    EvaluationLimitError,
    ExpressionEvaluationError,
    FengkongError,
    InputValidationError,
)

APPLICATION_SCHEMA = {
    "type": "object",
    "required": ["applicant"],
    "properties": {
        "applicant": {
            "type": "object",
            "required": ["age"],
            "properties": {"age": {"type": "integer", "minimum": 18},
                           "name": {"type": "string"}},
        },
        "loans": {"type": "array", "items": {"type": "object",
                                             "properties": {"amount": {"type": "number"}}}},
    },
}


def with_input_schema(schema: Any, as_text: bool = True) -> fengkong.Decision:
    content = {"schema": json.dumps(schema) if as_text else schema}
    return fengkong.load(graph([{**INPUT, "content": content}, OUTPUT], [("in", "out")]))


def evaluation_error(decision: fengkong.Decision, context: Any) -> FengkongError:
    with pytest.raises(FengkongError) as caught:
        decision.evaluate(context)
    return caught.value


@pytest.mark.parametrize(("context", "field", "message"), [
    ({"applicant": {"age": 16}}, "applicant.age", "applicant.age must be bigger than or equal"),
    ({"applicant": {"age": "30"}}, "applicant.age", "applicant.age must be integer"),
    ({"applicant": {}}, "applicant.age", "missing required field 'applicant.age'"),
    ({}, "applicant", "missing required field 'applicant'"),
    ({"applicant": {"age": 30}, "loans": [{"amount": 1}, {"amount": "x"}]}, "loans[1].amount",
     "loans[1].amount must be number"),
])
def test_schema_violation_names_the_field(context: dict[str, Any], field: str,
                                          message: str) -> None:
    error = evaluation_error(with_input_schema(APPLICATION_SCHEMA), context)
    assert isinstance(error, InputValidationError)
    assert error.field == field
    assert error.node_id == "in"
    assert message in str(error)
    assert error.to_dict()["field"] == field


def test_schema_may_be_an_object_too() -> None:
    decision = with_input_schema(APPLICATION_SCHEMA, as_text=False)
    assert decision.evaluate({"applicant": {"age": 30}})["result"] == {"applicant": {"age": 30}}
    assert isinstance(evaluation_error(decision, {}), InputValidationError)


def test_schema_defaults_are_not_filled_into_the_context() -> None:
    decision = with_input_schema({"type": "object", "properties": {"x": {"default": 1}}})
    context: dict[str, Any] = {}
    assert decision.evaluate(context)["result"] == {}
    assert context == {}


def test_output_schema_violation_names_output_node_and_field() -> None:
    schema = json.dumps({"type": "object", "properties": {"decision": {"enum": ["APPROVE"]}}})
    document = graph([INPUT, expression("calc", [("decision", "'MAYBE'")]),
                      {**OUTPUT, "content": {"schema": schema}}],
                     [("in", "calc"), ("calc", "out")])
    error = evaluation_error(fengkong.load(document), {})
    assert isinstance(error, InputValidationError)
    assert (error.node_id, error.field) == ("out", "decision")
    assert str(error).startswith("output does not match the schema")


def test_expression_error_names_node_expression_and_position() -> None:
    decision = fengkong.load(chain(expression("calc", [("ok", "1"), ("dti", "debt / 'x'")])))
    error = evaluation_error(decision, {"debt": 10})
    assert isinstance(error, ExpressionEvaluationError)
    assert (error.node_id, error.node_name) == ("calc", "CALC")
    assert error.expression == "debt / 'x'"
    assert isinstance(error.position, int)
    assert "node 'CALC' (id calc)" in str(error)


def test_missing_field_reads_as_null() -> None:
    decision = fengkong.load(chain(expression("calc", [
        ("nickname", "applicant.nickname"), ("deep", "a.b.c.d"), ("isNull", "applicant.x == null"),
    ])))
    output = decision.evaluate({"applicant": {}}, trace=True)["trace"]["calc"]["output"]
    assert output == {"nickname": None, "deep": None, "isNull": True}


def test_missing_field_in_a_table_cell_does_not_match() -> None:
    rules = table("rules", ["applicant.age"], ["band"], [["> 60", "'senior'"], ["", "'other'"]])
    assert fengkong.load(chain(rules)).evaluate({})["result"] == {"band": "other"}


def test_arithmetic_on_a_missing_field_is_an_error() -> None:
    decision = fengkong.load(chain(expression("calc", [("next", "age + 1")])))
    error = evaluation_error(decision, {})
    assert isinstance(error, ExpressionEvaluationError)
    assert error.node_id == "calc"


def test_loop_over_a_non_array_names_the_input_field() -> None:
    node = expression("each", [("x", "1")], inputField="applicant", executionMode="loop")
    error = evaluation_error(fengkong.load(chain(node)), {"applicant": {"age": 3}})
    assert isinstance(error, ExpressionEvaluationError)
    assert error.node_id == "each"
    assert error.expression == "applicant"
    assert "needs an array as input, got object" in str(error)


@pytest.mark.parametrize("context", [[1, 2], 5, "[1]", b"nope"])
def test_context_must_be_an_object(context: Any) -> None:
    error = evaluation_error(fengkong.load(chain()), context)
    assert isinstance(error, InputValidationError)
    assert "context" in str(error)


def test_context_may_be_json_text() -> None:
    assert fengkong.load(chain()).evaluate('{"a": 1}')["result"] == {"a": 1}


def test_missing_sub_decision_names_the_node() -> None:
    error = evaluation_error(fengkong.load(chain(sub_decision("sub", "nowhere.json"))), {})
    assert isinstance(error, DecisionNotFoundError)
    assert error.node_id == "sub"
    assert "nowhere.json" in str(error)


def test_sub_decisions_nest_at_most_max_depth() -> None:
    documents = {f"level{n}": chain(sub_decision("down", f"level{n + 1}")) for n in range(6)}
    documents["level6"] = chain(expression("leaf", [("leaf", "true")]))
    engine = fengkong.Engine(documents)
    assert engine.evaluate("level2", {})["result"] == {"leaf": True}  # 4 levels below
    with pytest.raises(EvaluationLimitError) as caught:
        engine.evaluate("level1", {})  # 5 levels below
    assert caught.value.node_id == "down"
    assert "max_depth=5" in str(caught.value)
    assert engine.get_decision("level0").evaluate({}, max_depth=7)["result"] == {"leaf": True}


def test_a_decision_calling_itself_stops() -> None:
    engine = fengkong.Engine({"self": chain(sub_decision("again", "self"))})
    with pytest.raises(EvaluationLimitError):
        engine.evaluate("self", {})


def test_errors_never_leak_a_python_exception_from_bad_input() -> None:
    decision = fengkong.load(chain(
        expression("calc", [("a", "len(x)"), ("b", "x[5]"), ("c", "upper(x)")])))
    for context in ({"x": None}, {"x": 5}, {"x": {"k": 1}}, {"x": [1]}):
        with contextlib.suppress(FengkongError):
            decision.evaluate(context)
