"""Custom node kinds: registering a kind, running it, its errors and its trace data."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from builders import chain, custom

import fengkong
from fengkong.errors import FengkongError, GraphLoadError, InputValidationError
from fengkong.graph import NodeDefinition, NodeResult, node_kinds, register_node_kind
from fengkong.graph.registry import node_types, unregister_node_kind


@pytest.fixture
def kinds() -> Iterator[list[str]]:
    """Kinds registered by a test, removed afterwards."""
    registered: list[str] = []
    yield registered
    for kind in registered:
        unregister_node_kind(kind)


def test_the_docstring_example(kinds: list[str]) -> None:
    @register_node_kind("test-greeting")
    def compile_greeting(node: NodeDefinition) -> Any:
        template = node.config["template"]
        return lambda applicant: {"greeting": template.format(**applicant)}

    kinds.append("test-greeting")
    decision = fengkong.load(chain(custom("hello", "test-greeting", {"template": "Hi {name}"})))
    assert decision.evaluate({"name": "Li"})["result"] == {"greeting": "Hi Li"}
    assert "test-greeting" in node_kinds()


def test_compiler_runs_once_at_load(kinds: list[str]) -> None:
    compiled: list[str] = []

    def compile_counter(node: NodeDefinition) -> Any:
        compiled.append(node.id)
        return lambda value: {"seen": True}

    register_node_kind("test-counter", compile_counter)
    kinds.append("test-counter")
    decision = fengkong.load(chain(custom("count", "test-counter")))
    for _ in range(3):
        decision.evaluate({})
    assert compiled == ["count"]


def test_definition_carries_identity_config_and_services(kinds: list[str]) -> None:
    seen: list[NodeDefinition] = []

    def compile_spy(node: NodeDefinition) -> Any:
        seen.append(node)
        return lambda value: value

    register_node_kind("test-spy", compile_spy)
    kinds.append("test-spy")
    engine = fengkong.Engine({"flow": chain(custom("spy", "test-spy", {"limit": 3}))},
                             services={"feature_store": "memory"})
    engine.get_decision("flow")
    (definition,) = seen
    assert (definition.id, definition.name, definition.kind) == ("spy", "SPY", "test-spy")
    assert definition.config == {"limit": 3}
    assert definition.services == {"feature_store": "memory"}


def test_node_result_adds_trace_data(kinds: list[str]) -> None:
    register_node_kind("test-traced", lambda node: lambda value: NodeResult({"v": 1}, {"why": 2}))
    kinds.append("test-traced")
    response = fengkong.load(chain(custom("t", "test-traced"))).evaluate({}, trace=True)
    assert response["result"] == {"v": 1}
    assert response["trace"]["t"]["traceData"] == {"why": 2}
    assert response["trace"]["t"]["output"] == {"v": 1}


def test_registering_a_kind_twice_is_refused_unless_replacing(kinds: list[str]) -> None:
    register_node_kind("test-twice", lambda node: lambda value: 1)
    kinds.append("test-twice")
    with pytest.raises(ValueError, match="already registered"):
        register_node_kind("test-twice", lambda node: lambda value: 2)
    register_node_kind("test-twice", lambda node: lambda value: {"v": 2}, replace=True)
    assert fengkong.load(chain(custom("n", "test-twice"))).evaluate({})["result"] == {"v": 2}


def test_compiler_rejecting_its_config_fails_the_load(kinds: list[str]) -> None:
    def strict(node: NodeDefinition) -> Any:
        if "cutoff" not in node.config:
            raise node.error("config needs a 'cutoff'")
        return lambda value: value

    register_node_kind("test-strict", strict)
    register_node_kind("test-careless", lambda node: node.config["missing"])
    kinds.extend(["test-strict", "test-careless"])
    with pytest.raises(GraphLoadError, match="config needs a 'cutoff'") as strict_error:
        fengkong.load(chain(custom("s", "test-strict")))
    assert strict_error.value.node_id == "s"
    with pytest.raises(GraphLoadError, match="rejected its config: KeyError") as careless:
        fengkong.load(chain(custom("c", "test-careless")))
    assert careless.value.node_id == "c"


def test_compiler_must_return_a_function(kinds: list[str]) -> None:
    register_node_kind("test-not-callable", lambda node: 42)
    kinds.append("test-not-callable")
    with pytest.raises(GraphLoadError, match="returned int, not a function"):
        fengkong.load(chain(custom("n", "test-not-callable")))


def test_run_time_errors_name_the_node(kinds: list[str]) -> None:
    def compile_picky(node: NodeDefinition) -> Any:
        def run(value: Any) -> Any:
            if value.get("score") is None:
                raise InputValidationError("score is required", field="score")
            return {"band": 100 // value["score"]}
        return run

    register_node_kind("test-picky", compile_picky)
    kinds.append("test-picky")
    decision = fengkong.load(chain(custom("picky", "test-picky")))
    with pytest.raises(InputValidationError) as typed:
        decision.evaluate({})
    assert (typed.value.node_id, typed.value.field) == ("picky", "score")
    with pytest.raises(FengkongError, match="node kind 'test-picky' failed: ZeroDivisionError") \
            as untyped:
        decision.evaluate({"score": 0})
    assert untyped.value.node_id == "picky"
    assert isinstance(untyped.value.__cause__, ZeroDivisionError)


def test_builtin_node_types_are_listed() -> None:
    assert set(node_types()) >= {"inputNode", "outputNode", "decisionTableNode",
                                 "expressionNode", "switchNode", "decisionNode",
                                 "functionNode", "customNode"}
