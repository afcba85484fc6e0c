"""Custom nodes: JDM ``customNode``s dispatched to the kinds in the node registry.

JDM content: ``{"kind": "scorecard", "config": {...}}``. The kind's compiler (registered with
:func:`fengkong.graph.registry.register_node_kind`) runs once at load time with a
:class:`~fengkong.graph.registry.NodeDefinition` and returns the function that evaluates the
node. An unknown kind, or a compiler that rejects its config, fails the load naming the node.
At run time, a :class:`~fengkong.errors.FengkongError` from the function passes through (the
engine adds the node); any other exception is reported as a ``FengkongError`` naming the
kind, with the original exception chained.
"""

from __future__ import annotations

from typing import Any

from fengkong.errors import FengkongError, GraphLoadError
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import text
from fengkong.graph.registry import (
    CompileContext,
    CompiledNode,
    NodeDefinition,
    NodeResult,
    custom_node_compiler,
    node_kinds,
    register_node_type,
)
from fengkong.graph.runtime import Run


def compile_custom_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    content = spec.content_object()
    kind = text(spec, content.get("kind"), "kind")
    compiler = custom_node_compiler(kind)
    if compiler is None:
        known = ", ".join(node_kinds()) or "none registered"
        raise spec.error(f"unknown custom node kind {kind!r} (known kinds: {known})")
    definition = NodeDefinition(spec.id, spec.name, kind, content.get("config"),
                                context.services, context.graph, context.directory,
                                context.loader)
    try:
        function = compiler(definition)
    except FengkongError:
        raise
    except Exception as error:
        raise spec.error(
            f"node kind {kind!r} rejected its config: {type(error).__name__}: {error}"
        ) from error
    if not callable(function):
        raise GraphLoadError(f"the compiler of node kind {kind!r} returned "
                             f"{type(function).__name__}, not a function",
                             node_id=spec.id, node_name=spec.name)

    def evaluate_traced(node_input: Any, run: Run) -> tuple[Any, Any]:
        try:
            result = function(node_input)
        except FengkongError:
            raise
        except Exception as error:
            raise FengkongError(
                f"node kind {kind!r} failed: {type(error).__name__}: {error}") from error
        if type(result) is NodeResult:
            return result.output, result.trace_data
        return result, None

    def evaluate(node_input: Any, run: Run) -> Any:
        return evaluate_traced(node_input, run)[0]

    return CompiledNode(spec.id, spec.name, spec.type, evaluate, evaluate_traced)


register_node_type("customNode", compile_custom_node)
