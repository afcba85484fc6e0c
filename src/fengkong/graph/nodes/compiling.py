"""What the built-in node compilers share: reading node content, compiling its expressions.

Every expression and unary test in a node is compiled when the graph loads; a syntax error
is reported with the node, the expression and the character position. ``$nodes`` (the
outputs of the nodes that ran before, by node name) is added to an expression's scope only
for nodes that mention it, so other nodes evaluate directly on their input.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fengkong.errors import FengkongError
from fengkong.expr import CompiledExpression, CompiledUnary, compile_expression, compile_unary
from fengkong.graph.model import NodeSpec
from fengkong.graph.runtime import Run

NODES_VARIABLE = "$nodes"

Scope = Callable[[Any, Run], Any]


def compile_standard(spec: NodeSpec, source: str) -> CompiledExpression:
    """Compile a standard expression of ``spec``; a syntax error names node and position."""
    try:
        return compile_expression(source)
    except FengkongError as error:
        raise error.in_expression(source).at_node(spec.id, spec.name) from None


def compile_test(spec: NodeSpec, source: str) -> CompiledUnary:
    """Compile a unary test (``>= 18``, ``'A', 'B'``) of ``spec``."""
    try:
        return compile_unary(source)
    except FengkongError as error:
        raise error.in_expression(source).at_node(spec.id, spec.name) from None


def text(spec: NodeSpec, value: Any, what: str, *, default: str | None = None) -> str:
    """A string field of the node content (``None`` allowed when a default is given)."""
    if value is None and default is not None:
        return default
    if not isinstance(value, str):
        kind = "missing" if value is None else f"a {type(value).__name__}, not a string"
        raise spec.error(f"{what} is {kind}")
    return value


def array(spec: NodeSpec, value: Any, what: str) -> list[Any]:
    """An array field of the node content."""
    if not isinstance(value, list):
        kind = "missing" if value is None else f"a {type(value).__name__}, not an array"
        raise spec.error(f"{what} is {kind}")
    return value


def mentions_nodes(*sources: str) -> bool:
    """Whether any of the expression sources refers to ``$nodes``."""
    return any(NODES_VARIABLE in source for source in sources)


def _plain_scope(value: Any, run: Run) -> Any:
    return value


def _scope_with_nodes(value: Any, run: Run) -> Any:
    if type(value) is dict:
        return {**value, NODES_VARIABLE: run.nodes}
    return value


def scope_for(uses_nodes: bool) -> Scope:
    """The function that turns a node input into an expression scope."""
    return _scope_with_nodes if uses_nodes else _plain_scope
