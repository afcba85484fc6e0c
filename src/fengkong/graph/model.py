"""The JDM document model: parse a decision graph and check that it is a well-formed graph.

A JDM document (GoRules' JSON Decision Model) is ``{"nodes": [...], "edges": [...]}``. Each
node has an ``id``, a ``name``, a ``type`` (``inputNode``, ``decisionTableNode``...) and a
type-specific ``content``; each edge joins ``sourceId`` to ``targetId`` and, out of a switch
node, names the statement it belongs to in ``sourceHandle``. Editor-only keys (positions,
colours, ``contentType``...) are ignored.

This module knows nothing about what nodes do. It rejects, naming the node or edge at fault:
malformed JSON (with line and column), a node or edge that is not an object or lacks its
``id``/``type``, a duplicate node id, an edge to a node that does not exist, a cycle, and a
graph without exactly one input node. Node contents are checked when each node kind
compiles its node (:mod:`fengkong.graph.registry`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fengkong.errors import GraphLoadError

INPUT_NODE = "inputNode"
OUTPUT_NODE = "outputNode"
SWITCH_NODE = "switchNode"


@dataclass(frozen=True, slots=True)
class NodeSpec:
    """One node of a JDM graph, as written in the document."""

    id: str
    name: str
    type: str
    content: Any
    index: int

    def content_object(self) -> dict[str, Any]:
        """The node's ``content`` as an object (``{}`` when absent)."""
        if self.content is None:
            return {}
        if not isinstance(self.content, dict):
            raise self.error(f"content must be an object, got {type(self.content).__name__}")
        return self.content

    def error(self, message: str) -> GraphLoadError:
        """A load error located at this node."""
        return GraphLoadError(message, node_id=self.id, node_name=self.name)


@dataclass(frozen=True, slots=True)
class EdgeSpec:
    """One edge; ``source_handle`` is the switch statement id the edge leaves from."""

    id: str
    source_id: str
    target_id: str
    source_handle: str | None


@dataclass(frozen=True, slots=True)
class GraphModel:
    """A parsed, structurally valid decision graph (nodes in document order)."""

    nodes: tuple[NodeSpec, ...]
    edges: tuple[EdgeSpec, ...]

    def node(self, node_id: str) -> NodeSpec:
        for node in self.nodes:
            if node.id == node_id:
                return node
        raise KeyError(node_id)


def read_json(text: str | bytes, origin: str = "decision") -> Any:
    """Parse JSON text, reporting a syntax error with its line, column and offset."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise GraphLoadError(
            f"{origin} is not valid JSON: {error.msg} at line {error.lineno} column {error.colno}",
            position=error.pos,
        ) from None
    except UnicodeDecodeError as error:
        raise GraphLoadError(f"{origin} is not UTF-8 text: {error.reason}") from None


def parse_graph(source: str | bytes | Mapping[str, Any] | Path) -> GraphModel:
    """Parse a JDM document (a dict, JSON text or a path to a JSON file) and validate it."""
    if isinstance(source, Path):
        try:
            document = read_json(source.read_bytes(), origin=str(source))
        except OSError as error:
            raise GraphLoadError(f"cannot read {source}: {error.strerror}") from None
    elif isinstance(source, str | bytes):
        document = read_json(source)
    else:
        document = source
    if not isinstance(document, Mapping):
        raise GraphLoadError(f"a decision must be a JSON object, got {_json_type(document)}")
    nodes = _parse_nodes(document.get("nodes"))
    edges = _parse_edges(document.get("edges", []))
    model = GraphModel(nodes, edges)
    _check_edges(model)
    _check_acyclic(model)
    _check_single_input(model)
    return model


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _parse_nodes(raw: Any) -> tuple[NodeSpec, ...]:
    if not isinstance(raw, list):
        raise GraphLoadError(f"'nodes' must be an array, got {_json_type(raw)}")
    nodes: list[NodeSpec] = []
    seen: dict[str, NodeSpec] = {}
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise GraphLoadError(f"nodes[{index}] must be an object, got {_json_type(item)}")
        node_id = item.get("id")
        if not isinstance(node_id, str) or not node_id:
            raise GraphLoadError(f"nodes[{index}] has no 'id' (a non-empty string)")
        name = item.get("name", node_id)
        if not isinstance(name, str):
            raise GraphLoadError(f"node name must be a string, got {_json_type(name)}",
                                 node_id=node_id)
        node_type = item.get("type")
        if not isinstance(node_type, str) or not node_type:
            raise GraphLoadError("node has no 'type'", node_id=node_id, node_name=name)
        if node_id in seen:
            raise GraphLoadError(f"duplicate node id {node_id!r} (nodes[{seen[node_id].index}] "
                                 f"and nodes[{index}])", node_id=node_id, node_name=name)
        node = NodeSpec(node_id, name, node_type, item.get("content"), index)
        seen[node_id] = node
        nodes.append(node)
    return tuple(nodes)


def _parse_edges(raw: Any) -> tuple[EdgeSpec, ...]:
    if not isinstance(raw, list):
        raise GraphLoadError(f"'edges' must be an array, got {_json_type(raw)}")
    edges: list[EdgeSpec] = []
    for index, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise GraphLoadError(f"edges[{index}] must be an object, got {_json_type(item)}")
        edge_id = item.get("id", f"edges[{index}]")
        source, target = item.get("sourceId"), item.get("targetId")
        if not (isinstance(source, str) and source and isinstance(target, str) and target):
            raise GraphLoadError(f"edge {edge_id!r} needs 'sourceId' and 'targetId' (node ids)")
        handle = item.get("sourceHandle")
        if handle is not None and not isinstance(handle, str):
            raise GraphLoadError(f"edge {edge_id!r}: 'sourceHandle' must be a string")
        edges.append(EdgeSpec(str(edge_id), source, target, handle or None))
    return tuple(edges)


def _check_edges(model: GraphModel) -> None:
    ids = {node.id for node in model.nodes}
    for edge in model.edges:
        for end, role in ((edge.source_id, "from"), (edge.target_id, "to")):
            if end not in ids:
                raise GraphLoadError(
                    f"edge {edge.id!r} goes {role} node {end!r}, which does not exist",
                    node_id=end,
                )


def _check_acyclic(model: GraphModel) -> None:
    """Reject a cycle, naming its nodes in order (depth-first search with colours)."""
    successors: dict[str, list[str]] = {node.id: [] for node in model.nodes}
    for edge in model.edges:
        successors[edge.source_id].append(edge.target_id)
    state: dict[str, int] = {}  # 1: on the current path, 2: finished
    for root in successors:
        if root in state:
            continue
        path = [root]
        stack = [iter(successors[root])]
        state[root] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                cycle = [*path[path.index(nxt):], nxt]
                node = model.node(nxt)
                raise GraphLoadError(f"the graph has a cycle: {' -> '.join(cycle)}",
                                     node_id=node.id, node_name=node.name)
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(successors[nxt]))


def _check_single_input(model: GraphModel) -> None:
    inputs = [node for node in model.nodes if node.type == INPUT_NODE]
    if len(inputs) != 1:
        ids = ", ".join(node.id for node in inputs) or "none"
        raise GraphLoadError(f"a decision needs exactly one input node, found {len(inputs)} "
                             f"({ids})", node_id=inputs[1].id if inputs else None)
