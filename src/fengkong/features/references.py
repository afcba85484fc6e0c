"""Which features a decision graph reads: the reference analysis behind the features node.

A features node puts its values in the context as one flat object keyed by feature name,
so a later node reads ``features["phone.application.count.7d"]`` (the dotted name cannot
be written as a path: ``.7d`` is not a property name in ZEN, nor in Zen). When the graph
loads, every node reachable from the features node is searched for such reads, so the node
computes those features and no others:

* expressions, switch conditions, decision-table input fields, cells and output cells, and
  ``inputField`` options are parsed as ZEN and searched for ``features[<text>]`` — also
  written ``$root.features[...]`` or ``$nodes.<features node>.features[...]``;
* JavaScript function sources, and the text of other custom nodes' configs, are searched
  for ``features["..."]`` (these are not parsed, so a read spelled otherwise is missed);
* sub-decisions are loaded through the engine's loader and searched in full (they receive
  the node's input as their context), up to the engine's nesting depth;
* ``model`` and ``scorecard`` nodes: each expression of their ``inputs``; when ``inputs``
  hands them the features object whole (``"features"``), they read their model's features,
  which are taken from the model's metadata (the features node computes those the spec
  declares).

A read whose name cannot be known before the evaluation (``features[name]``, the
``features`` object passed whole to a function, or to a model whose metadata cannot be read
here — in a sub-decision, whose folder is not known) is reported as *dynamic*: the node
then needs its features listed in its config. A node with an ``inputField`` sees a different
context, so only its ``inputField`` is searched.

Expressions that do not parse are skipped here: the node they belong to reports them,
with their position, when it compiles.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fengkong.errors import FengkongError
from fengkong.expr import ast, compile_expression, compile_unary
from fengkong.graph.loaders import Loader
from fengkong.graph.model import GraphModel, NodeSpec, parse_graph

FEATURES = "features"  # where the features node puts its values in the context
NODES = "$nodes"
MAX_DEPTH = 5  # sub-decision nesting searched, as the engine's default max_depth
MODEL_KINDS = ("model", "scorecard")  # custom nodes scoring a model (fengkong.models.node)


@dataclass
class References:
    """Feature names read after a features node, each with where it is read, and the
    places where a read cannot be resolved before the evaluation."""

    names: dict[str, list[str]] = field(default_factory=dict)
    dynamic: list[str] = field(default_factory=list)
    # Models handed the features object whole: where, and the model's features (the node
    # computes those the spec declares; a model may also read fields that are not features).
    models: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)

    def read(self, name: str, where: str) -> None:
        self.names.setdefault(name, []).append(where)


def downstream_references(graph: GraphModel, node_id: str, loader: Loader | None = None,
                          directory: Path | None = None) -> References:
    """The features read by the nodes reachable from ``node_id`` in ``graph`` (whose file is
    in ``directory``: model paths are relative to it)."""
    references = References()
    feature_node = graph.node(node_id)
    _Search(references, loader).nodes(graph, _reachable(graph, node_id), feature_node.name, 0,
                                      directory)
    return references


def _reachable(graph: GraphModel, start: str) -> list[NodeSpec]:
    """The nodes after ``start`` along the edges, in document order."""
    successors: dict[str, list[str]] = {}
    for edge in graph.edges:
        successors.setdefault(edge.source_id, []).append(edge.target_id)
    seen: set[str] = set()
    pending = list(successors.get(start, []))
    while pending:
        node_id = pending.pop()
        if node_id not in seen:
            seen.add(node_id)
            pending += successors.get(node_id, [])
    return [node for node in graph.nodes if node.id in seen]


class _Search:
    """Walks nodes and records what they read into ``references``."""

    def __init__(self, references: References, loader: Loader | None) -> None:
        self.references = references
        self.loader = loader

    def nodes(self, graph: GraphModel, nodes: list[NodeSpec], feature_node: str | None,
              depth: int, directory: Path | None) -> None:
        for node in nodes:
            content = node.content if isinstance(node.content, dict) else {}
            where = f"{node.name!r} (node {node.id!r})"
            input_field = content.get("inputField")
            if isinstance(input_field, str) and input_field.strip():
                self.expression(input_field, where, feature_node)
                continue
            if node.type == "expressionNode":
                for item in _objects(content.get("expressions")):
                    self.expression(item.get("value"), where, feature_node)
            elif node.type == "switchNode":
                for item in _objects(content.get("statements")):
                    self.expression(item.get("condition"), where, feature_node)
            elif node.type == "decisionTableNode":
                self.table(content, where, feature_node)
            elif node.type == "functionNode":
                source = content.get("source") if content else node.content
                self.text(source, where)
            elif node.type == "decisionNode":
                self.sub_decision(content.get("key"), where, depth)
            elif node.type == "customNode" and content.get("kind") in MODEL_KINDS:
                self.model(content.get("config"), where, feature_node, directory)
            elif node.type == "customNode" and content.get("kind") != FEATURES:
                for text in _strings(content.get("config")):
                    self.text(text, where)

    def table(self, content: dict[str, Any], where: str, feature_node: str | None) -> None:
        inputs = [(column.get("id"), column.get("field")) for column in
                  _objects(content.get("inputs"))]
        outputs = {column.get("id") for column in _objects(content.get("outputs"))}
        for _, source in inputs:
            self.expression(source, where, feature_node)
        # A cell under a column with a field is a unary test on it; otherwise an expression.
        unary = {column_id for column_id, source in inputs
                 if isinstance(source, str) and source.strip()}
        columns = outputs | {column_id for column_id, _ in inputs}
        for rule in _objects(content.get("rules")):
            for column_id, cell in rule.items():
                if column_id in columns:
                    self.expression(cell, where, feature_node, unary=column_id in unary)

    def model(self, config: Any, where: str, feature_node: str | None,
              directory: Path | None) -> None:
        """A model node: its ``inputs`` expressions, or its model's features when ``inputs``
        is the features object itself."""
        inputs = config.get("inputs") if isinstance(config, dict) else None
        if isinstance(inputs, dict):
            for source in inputs.values():
                self.expression(source, where, feature_node)
            return
        if not isinstance(inputs, str) or FEATURES not in inputs:
            return
        try:
            tree = compile_expression(inputs).tree
        except FengkongError:
            return  # the model node reports it when it compiles
        if not _is_features_object(tree, feature_node):
            self.tree(tree, f"{where}, config.inputs {inputs!r}", feature_node)
            return
        from fengkong.models.node import model_features  # the model node's own reading

        names = model_features(config, directory)
        if names is None:
            self.references.dynamic.append(
                f"{where} (config.inputs {inputs!r}: its model's features cannot be read "
                "here)")
        else:
            self.references.models.append((where, names))

    def expression(self, source: Any, where: str, feature_node: str | None, *,
                   unary: bool = False) -> None:
        if not isinstance(source, str) or FEATURES not in source:
            return
        try:
            tree = (compile_unary if unary else compile_expression)(source).tree
        except FengkongError:
            return
        located = f"{where}, expression {source!r}"
        self.tree(tree, located, feature_node)

    def tree(self, node: ast.Node, where: str, feature_node: str | None) -> None:
        if isinstance(node, ast.Member) and _is_features_object(node.target, feature_node):
            name = _text(node.key)
            if name is None:
                self.references.dynamic.append(where)
                self.tree(node.key, where, feature_node)
            else:
                self.references.read(name, where)
            return
        if _is_features_object(node, feature_node):
            self.references.dynamic.append(where)
            return
        for child in _children(node):
            self.tree(child, where, feature_node)

    def text(self, source: Any, where: str) -> None:
        if not isinstance(source, str):
            return
        for match in _TEXT_READ.finditer(source):
            name = match.group("name") if match.group("name") is not None \
                else match.group("property")
            if name is not None:
                self.references.read(name, where)
            elif match.group("open") is not None or match.group("member") is not None:
                # features[variable], or the object itself taken from the input
                self.references.dynamic.append(f"{where}, at character {match.start()}")

    def sub_decision(self, key: Any, where: str, depth: int) -> None:
        if not isinstance(key, str) or self.loader is None or depth + 1 >= MAX_DEPTH:
            return
        document = self.loader(key)
        if document is None:
            return  # the sub-decision node reports the missing decision when it runs
        try:
            graph = parse_graph(document)
        except FengkongError:
            return  # ... and a broken one when it loads it
        # Its folder is not known here: a model path in it cannot be resolved.
        self.nodes(graph, list(graph.nodes), None, depth + 1, None)


# JavaScript (or config text) reads: ``features["name"]``, ``features?.["name"]``,
# ``features.name``; ``features[`` followed by anything else is dynamic, and so is
# ``.features`` not followed by a read (the object taken from the input whole).
_TEXT_READ = re.compile(
    r"""(?P<member>(?<=\.))?(?<![\w$])features\s*(?:
          (?:\?\.)?\[\s*(?:(?P<quote>['"`])(?P<name>[^'"`\\]*)(?P=quote)\s*\])?(?P<open>)
        | \??\.\s*(?P<property>[A-Za-z_$][\w$]*)
        )?""",
    re.VERBOSE,
)


def _is_features_object(node: ast.Node, feature_node: str | None) -> bool:
    """``features``, ``$root.features`` or ``$nodes.<the features node>.features``."""
    if isinstance(node, ast.Identifier):
        return node.name == FEATURES
    if not (isinstance(node, ast.Member) and _text(node.key) == FEATURES):
        return False
    target = node.target
    if isinstance(target, ast.Root):
        return True
    return (feature_node is not None and isinstance(target, ast.Member)
            and _text(target.key) == feature_node
            and isinstance(target.target, ast.Identifier) and target.target.name == NODES)


def _text(node: ast.Node) -> str | None:
    return node.value if isinstance(node, ast.Literal) and type(node.value) is str else None


def _children(node: ast.Node) -> Iterator[ast.Node]:
    for item in dataclasses.fields(node):
        yield from _nodes_in(getattr(node, item.name))


def _nodes_in(value: Any) -> Iterator[ast.Node]:
    if isinstance(value, ast.Node):
        yield value
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _nodes_in(item)


def _objects(value: Any) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


__all__ = ["FEATURES", "References", "downstream_references"]
