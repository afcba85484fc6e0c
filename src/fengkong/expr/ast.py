"""The syntax tree of a ZEN expression.

Every node records ``start`` and ``end`` character offsets into the source, so compile-time
and run-time errors can name the exact place. The tree is plain data: the compiler
(:mod:`fengkong.expr.compiler`) and the columnar compiler (:mod:`fengkong.expr.vector`)
walk it; nothing here evaluates anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Node:
    start: int
    end: int


@dataclass(slots=True)
class Literal(Node):
    value: Any  # None, bool, int, float or str


@dataclass(slots=True)
class Template(Node):
    parts: list[Node]  # Literal strings and expressions, concatenated as text


@dataclass(slots=True)
class Identifier(Node):
    name: str


@dataclass(slots=True)
class Root(Node):
    """``$root``: the whole evaluation context."""


@dataclass(slots=True)
class Pointer(Node):
    """``#`` (or a closure alias): the current element inside a closure body."""


@dataclass(slots=True)
class ArrayLiteral(Node):
    items: list[Node]


@dataclass(slots=True)
class ObjectLiteral(Node):
    entries: list[tuple[Node, Node]]


@dataclass(slots=True)
class Member(Node):
    target: Node
    key: Node  # Literal str for ``.name``, any node for ``[expr]``


@dataclass(slots=True)
class Slice(Node):
    target: Node
    low: Node | None
    high: Node | None  # inclusive, as in ZEN


@dataclass(slots=True)
class Interval(Node):
    low: Node
    high: Node
    low_closed: bool
    high_closed: bool


@dataclass(slots=True)
class Unary(Node):
    operator: str  # "-", "+", "not", "!"
    operand: Node


@dataclass(slots=True)
class Binary(Node):
    operator: str
    left: Node
    right: Node
    at: int = -1  # where the operator is written (errors point there), -1 when implied


@dataclass(slots=True)
class Conditional(Node):
    condition: Node
    when_true: Node
    when_false: Node


@dataclass(slots=True)
class Call(Node):
    name: str
    arguments: list[Node]


@dataclass(slots=True)
class ClosureCall(Node):
    """``map(items, # * 2)``: ``body`` is evaluated once per element."""

    name: str
    items: Node
    body: Node
    alias: str | None


@dataclass(slots=True)
class MethodCall(Node):
    target: Node
    name: str
    arguments: list[Node]


def dotted_path(node: Node) -> tuple[str, ...] | None:
    """The keys of a plain field path such as ``applicant.address.city`` (not ``$``, ``#`` or
    a computed ``[key]``), or None when the node is something else."""
    keys: list[str] = []
    while isinstance(node, Member):
        if not (isinstance(node.key, Literal) and type(node.key.value) is str):
            return None
        keys.append(node.key.value)
        node = node.target
    if not isinstance(node, Identifier) or node.name == "$":
        return None
    keys.append(node.name)
    return tuple(reversed(keys))


@dataclass(slots=True)
class Assignments(Node):
    """``a = 1; b.c = a + 1; b.c * 2``: keys are dotted paths; ``output`` may be absent."""

    assignments: list[tuple[str, Node]]
    output: Node | None
