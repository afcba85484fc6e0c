"""The node registry: which node kinds a graph may use and how each one compiles.

Node kinds are data, not subclasses. Every JDM node ``type`` (``expressionNode``,
``decisionTableNode``...) maps to a *compiler* that turns the node's JSON into a
:class:`CompiledNode` once, when the graph loads. JDM ``customNode`` nodes carry a ``kind``
(``features``, ``scorecard``, ``pricing``...), and each kind is registered here with
:func:`register_node_kind`. A graph that uses an unknown type or kind fails to load, naming
the node.

Adding a node kind takes a compiler that receives the node's definition and returns a
function from the node's input to its output::

    from fengkong.graph import NodeDefinition, register_node_kind

    @register_node_kind("greeting")
    def compile_greeting(node: NodeDefinition):
        template = node.config["template"]          # read the config once, at load time
        return lambda applicant: {"greeting": template.format(**applicant)}

and in the graph ``{"type": "customNode", "content": {"kind": "greeting",
"config": {"template": "Hello {name}"}}}``. The function may return a :class:`NodeResult`
to add trace data. It should raise a :class:`fengkong.errors.FengkongError` subclass for
bad input; the engine adds the node's id and name. See ``docs/graphs.md``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, overload

from fengkong.errors import FengkongError, GraphLoadError, InputValidationError
from fengkong.expr import CompiledExpression, compile_expression
from fengkong.graph.loaders import Loader
from fengkong.graph.model import GraphModel, NodeSpec

if TYPE_CHECKING:
    from fengkong.graph.runtime import Run

# How a compiled node runs: ``run(input, run) -> output`` on the fast path, and
# ``run_traced(input, run) -> (output, trace_data)`` when the caller asked for a trace.
NodeFunction = Callable[[Any, "Run"], Any]
TracedNodeFunction = Callable[[Any, "Run"], tuple[Any, Any]]


@dataclass(frozen=True, slots=True)
class CompiledNode:
    """A node ready to run: its identity and its two evaluation functions.

    ``choose`` is set on switch nodes only: ``choose(input, run)`` returns the ids of the
    statements (branches) taken.
    """

    id: str
    name: str
    type: str
    run: NodeFunction
    run_traced: TracedNodeFunction
    choose: Callable[[Any, Run], tuple[str, ...]] | None = None


@dataclass(frozen=True, slots=True)
class CompileContext:
    """What the engine offers compilers: ``services`` (feature stores, model registries...),
    and, for nodes that look beyond themselves, the ``graph`` being compiled, the
    ``directory`` of its file (``None`` when it was not read from one) and the engine's
    ``loader`` (sub-decisions)."""

    services: Mapping[str, Any] = field(default_factory=dict)
    graph: GraphModel | None = None
    directory: Path | None = None
    loader: Loader | None = None


@dataclass(frozen=True, slots=True)
class NodeDefinition:
    """A ``customNode`` as its kind's compiler sees it.

    ``graph``, ``directory`` and ``loader`` are the :class:`CompileContext`'s: a node that
    depends on what the nodes after it read (the features node) looks at ``graph``, and
    resolves relative paths in its config against ``directory``.
    """

    id: str
    name: str
    kind: str
    config: Any
    services: Mapping[str, Any]
    graph: GraphModel | None = None
    directory: Path | None = None
    loader: Loader | None = None

    def error(self, message: str) -> GraphLoadError:
        """A load error located at this node (raise it for a bad ``config``)."""
        return GraphLoadError(message, node_id=self.id, node_name=self.name)

    def expression(self, source: Any, where: str) -> CompiledExpression:
        """The ZEN expression of a config entry (``where``: "config.pd"), compiled; text
        that is not one is an error naming the entry, the node and the position."""
        if not isinstance(source, str) or not source.strip():
            raise self.error(f"{where} must be an expression (text), got {source!r}")
        try:
            return compile_expression(source)
        except FengkongError as error:
            raise error.in_expression(source).at_node(self.id, self.name) from None


@dataclass(frozen=True, slots=True)
class NodeResult:
    """A custom node's output together with data for the trace (``traceData``)."""

    output: Any
    trace_data: Any = None


def object_input(node_input: Any, node: str) -> dict[str, Any]:
    """``node_input`` when it is an object (the context a credit node reads its fields
    from), else an :class:`~fengkong.errors.InputValidationError` naming the ``node``
    ("the pricing node")."""
    if type(node_input) is not dict:
        raise InputValidationError(f"{node} needs an object as its input, got "
                                   f"{type(node_input).__name__}")
    return node_input


NodeTypeCompiler = Callable[[NodeSpec, CompileContext], CompiledNode]
CustomNodeFunction = Callable[[Any], Any]
CustomNodeCompiler = Callable[[NodeDefinition], CustomNodeFunction]
C = TypeVar("C", bound=CustomNodeCompiler)

_node_types: dict[str, NodeTypeCompiler] = {}
_custom_kinds: dict[str, CustomNodeCompiler] = {}


def register_node_type(node_type: str, compiler: NodeTypeCompiler) -> None:
    """Register the compiler of a JDM node ``type`` (the built-in types use this)."""
    _node_types[node_type] = compiler


@overload
def register_node_kind(kind: str, *, replace: bool = False) -> Callable[[C], C]: ...
@overload
def register_node_kind(kind: str, compiler: C, *, replace: bool = False) -> C: ...
def register_node_kind(
    kind: str, compiler: C | None = None, *, replace: bool = False
) -> C | Callable[[C], C]:
    """Register a ``customNode`` kind; usable as a decorator or called with the compiler.

    Registering a kind twice is an error unless ``replace=True`` (so that two plugins do not
    silently shadow each other).
    """

    def register(function: C) -> C:
        if kind in _custom_kinds and not replace and _custom_kinds[kind] is not function:
            raise ValueError(f"node kind {kind!r} is already registered")
        _custom_kinds[kind] = function
        return function

    return register(compiler) if compiler is not None else register


def unregister_node_kind(kind: str) -> None:
    """Remove a ``customNode`` kind (graphs loaded before keep their compiled nodes)."""
    _custom_kinds.pop(kind, None)


# The kinds fengkong itself provides, by the module that registers each: imported on first
# use, so that a graph using them loads without the caller importing anything, while the
# graph package does not depend on the features (or models...) packages.
_BUILTIN_KINDS = {
    "features": "fengkong.features.node",
    "scorecard": "fengkong.models.node",
    "model": "fengkong.models.node",
    "pricing": "fengkong.pricing.node",
    "list": "fengkong.fraud.node",
    "identity": "fengkong.fraud.node",
}


def custom_node_compiler(kind: str) -> CustomNodeCompiler | None:
    """The compiler registered for a ``customNode`` kind, if any."""
    if kind not in _custom_kinds and kind in _BUILTIN_KINDS:
        importlib.import_module(_BUILTIN_KINDS[kind])
    return _custom_kinds.get(kind)


def node_kinds() -> list[str]:
    """The registered ``customNode`` kinds (and fengkong's own), sorted."""
    return sorted({*_custom_kinds, *_BUILTIN_KINDS})


def node_types() -> list[str]:
    """The JDM node types the engine can run, sorted."""
    _load_builtins()
    return sorted(_node_types)


def compile_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    """Compile one node with the compiler of its type; an unknown type names the node."""
    _load_builtins()
    compiler = _node_types.get(spec.type)
    if compiler is None:
        known = ", ".join(sorted(_node_types))
        raise spec.error(f"unknown node type {spec.type!r} (known types: {known})")
    return compiler(spec, context)


def _load_builtins() -> None:
    # The built-in node modules register themselves on import; importing them here rather
    # than at the top keeps this module free of import cycles.
    import fengkong.graph.nodes  # noqa: F401
