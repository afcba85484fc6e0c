"""JDM decision graphs: load, validate, compile and evaluate them, as zen-engine does.

The public API is :func:`load`, :class:`Engine` and :class:`Decision` (see
:mod:`fengkong.graph.engine`), and the node registry (:func:`register_node_kind`,
:class:`NodeDefinition`, :class:`NodeResult`, see :mod:`fengkong.graph.registry`).
How graphs run is described in ``docs/graphs.md``.
"""

from fengkong.graph.engine import Decision, Engine, load
from fengkong.graph.registry import (
    NodeDefinition,
    NodeResult,
    node_kinds,
    register_node_kind,
    unregister_node_kind,
)

__all__ = [
    "Decision",
    "Engine",
    "NodeDefinition",
    "NodeResult",
    "load",
    "node_kinds",
    "register_node_kind",
    "unregister_node_kind",
]
