"""Tiny builders of JDM documents for tests: nodes as the JDM editor writes them."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

INPUT = {"id": "in", "name": "Request", "type": "inputNode", "content": {}}
OUTPUT = {"id": "out", "name": "Response", "type": "outputNode", "content": {}}


def graph(nodes: list[dict[str, Any]], edges: Sequence[tuple[str, ...]]) -> dict[str, Any]:
    """Nodes plus edges given as ``(source, target)`` or ``(source, target, handle)``."""
    jdm_edges = []
    for number, (source, target, *handle) in enumerate(edges):
        edge = {"id": f"e{number}", "sourceId": source, "targetId": target}
        if handle:
            edge["sourceHandle"] = handle[0]
        jdm_edges.append(edge)
    return {"nodes": nodes, "edges": jdm_edges}


def chain(*nodes: dict[str, Any]) -> dict[str, Any]:
    """Input -> nodes... -> output, in a line."""
    ids = ["in", *(node["id"] for node in nodes), "out"]
    return graph([INPUT, *nodes, OUTPUT], list(itertools.pairwise(ids)))


def expression(node_id: str, rows: list[tuple[str, str]], **options: Any) -> dict[str, Any]:
    expressions = [{"id": f"{node_id}{n}", "key": key, "value": value}
                   for n, (key, value) in enumerate(rows)]
    return {"id": node_id, "name": node_id.upper(), "type": "expressionNode",
            "content": {"expressions": expressions, **options}}


def table(node_id: str, inputs: list[str], outputs: list[str], rules: list[list[str | None]],
          hit_policy: str = "first", **options: Any) -> dict[str, Any]:
    """Input columns by field ("" for an expression column), output columns by field; each
    rule lists its input cells then its output cells (``None``: the cell is absent)."""
    columns = [{"id": f"i{n}", "name": f"In {n}", "field": field} for n, field in enumerate(inputs)]
    results = [{"id": f"o{n}", "name": f"Out {n}", "field": field}
               for n, field in enumerate(outputs)]
    jdm_rules = []
    for number, row in enumerate(rules):
        rule = {"_id": f"r{number}"}
        for column, cell in zip(columns + results, row, strict=True):
            if cell is not None:
                rule[column["id"]] = cell
        jdm_rules.append(rule)
    return {"id": node_id, "name": node_id.upper(), "type": "decisionTableNode",
            "content": {"hitPolicy": hit_policy, "inputs": columns, "outputs": results,
                        "rules": jdm_rules, **options}}


def switch(node_id: str, statements: list[tuple[str, str]],
           hit_policy: str = "first") -> dict[str, Any]:
    return {"id": node_id, "name": node_id.upper(), "type": "switchNode",
            "content": {"hitPolicy": hit_policy,
                        "statements": [{"id": sid, "condition": condition}
                                       for sid, condition in statements]}}


def sub_decision(node_id: str, key: str, **options: Any) -> dict[str, Any]:
    return {"id": node_id, "name": node_id.upper(), "type": "decisionNode",
            "content": {"key": key, **options}}


def custom(node_id: str, kind: str, config: Any = None) -> dict[str, Any]:
    return {"id": node_id, "name": node_id.upper(), "type": "customNode",
            "content": {"kind": kind, "config": config if config is not None else {}}}
