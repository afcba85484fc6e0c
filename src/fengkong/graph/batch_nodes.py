"""Columnar versions of the built-in node types, for batch evaluation.

Each :class:`VectorNode` takes its input as a :class:`~fengkong.expr.vector.Frame` (the rows
that reach the node) and returns its output frame, setting ``failed`` for rows it could not
compute; :mod:`fengkong.graph.batch` re-runs those through the single-row engine. Decision
tables (first hit), expression nodes and switches have columnar implementations here. Every
other node — or one of these with options that need per-row work — is a :class:`RowNode`,
which calls the compiled single-row node on each row.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from fengkong.errors import FengkongError
from fengkong.expr import CompiledExpression, ast
from fengkong.expr.vector import (
    NULL,
    NUMBER,
    OBJECT,
    TEXT,
    Batch,
    Column,
    Frame,
    Unsupported,
    column_from_values,
    compile_vector,
    values_of,
)
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.expression import READS_RESULTS
from fengkong.graph.nodes.options import NodeOptions, parse_options
from fengkong.graph.nodes.table import parse_columns, parse_rules
from fengkong.graph.registry import CompiledNode
from fengkong.graph.runtime import Run

_ROW_ERRORS = (FengkongError, TypeError, ValueError, ArithmeticError, RecursionError)

# A switch's decision per row: codes into a list of distinct choices (statement id tuples).
Choices = tuple[np.ndarray, list[tuple[str, ...]]]


class VectorNode:
    """A node evaluated on a frame of rows."""

    def run(self, node_input: Frame, failed: np.ndarray, run: Run) -> Frame:
        raise NotImplementedError

    def choose(self, node_input: Frame, failed: np.ndarray, run: Run) -> Choices:
        raise NotImplementedError(f"{type(self).__name__} is not a switch")


class RowNode(VectorNode):
    """Any node, run row by row through its compiled single-row functions."""

    def __init__(self, compiled: CompiledNode) -> None:
        self.compiled = compiled

    def run(self, node_input: Frame, failed: np.ndarray, run: Run) -> Frame:
        outputs: list[Any] = []
        for row, record in enumerate(node_input.records()):
            if failed[row]:
                outputs.append({})
                continue
            try:
                output = self.compiled.run(record, run)
            except _ROW_ERRORS:
                failed[row] = True
                output = {}
            if output is not None and type(output) is not dict:
                failed[row] = True  # a root array or scalar: the single-row engine merges it
                output = {}
            outputs.append(output or {})
        return Frame.from_rows(outputs)

    def choose(self, node_input: Frame, failed: np.ndarray, run: Run) -> Choices:
        choose = self.compiled.choose
        assert choose is not None
        distinct: dict[tuple[str, ...], int] = {}
        codes = np.zeros(node_input.length, dtype=np.int64)
        for row, record in enumerate(node_input.records()):
            if failed[row]:
                continue
            try:
                choice = choose(record, run)
            except _ROW_ERRORS:
                failed[row] = True
                continue
            codes[row] = distinct.setdefault(choice, len(distinct))
        return codes, list(distinct)


def fallback_node(spec: NodeSpec, compiled: CompiledNode) -> VectorNode:
    return RowNode(compiled)


def vector_node(spec: NodeSpec, compiled: CompiledNode) -> VectorNode | None:
    """The columnar implementation of a node, or None when it must run row by row."""
    try:
        if spec.type in ("inputNode", "outputNode"):
            return _PassOn() if not _has_schema(spec) else None
        if spec.type == "expressionNode":
            return _expression_node(spec)
        if spec.type == "decisionTableNode":
            return _table_node(spec)
        if spec.type == "switchNode":
            return _SwitchNode(spec)
    except Unsupported:
        return None
    return None


def _has_schema(spec: NodeSpec) -> bool:
    schema = spec.content_object().get("schema")
    return bool(schema.strip()) if isinstance(schema, str) else schema is not None


class _PassOn(VectorNode):
    def run(self, node_input: Frame, failed: np.ndarray, run: Run) -> Frame:
        return node_input


def _simple_options(spec: NodeSpec) -> NodeOptions:
    options = parse_options(spec, spec.content_object())
    if options.input_field is not None or options.loop:
        raise Unsupported("inputField and loop run row by row")
    return options


def _finish(options: NodeOptions, node_input: Frame, output: Frame) -> Frame:
    from fengkong.graph.batch import merge_frames

    if options.output_path is not None:
        prefix = ".".join(options.output_path)
        output = Frame({f"{prefix}.{path}": column for path, column in output.columns.items()},
                       output.length)
    if options.pass_through:
        output = merge_frames([node_input, output], node_input.length, into_empty=False)
    return output


def _evaluate_column(expression: CompiledExpression, frame: Frame, rows: np.ndarray | None,
                     failed: np.ndarray) -> Column:
    """An expression over the frame: columnar when possible, else row by row."""
    try:
        vector = compile_vector(expression.tree)
        batch = Batch(frame, rows)
        column = vector(batch)
        if column.kind != OBJECT:
            failed |= batch.errors
            return _full(column, frame.length)
    except Unsupported:
        pass
    values: list[Any] = []
    for row, record in enumerate(frame.records()):
        if failed[row] or (rows is not None and not rows[row]):
            values.append(None)
            continue
        try:
            values.append(expression(record))
        except _ROW_ERRORS:
            failed[row] = True
            values.append(None)
    return column_from_values(values)


def _full(column: Column, length: int) -> Column:
    if column.kind == NULL or np.ndim(column.data):
        return column
    return Column(column.kind, np.broadcast_to(column.data, (length,)), column.null,
                  column.integral)


def _output_columns(key: str, column: Column, length: int) -> dict[str, Column]:
    """Place a value at a dotted key; object values are spread into their own fields."""
    if column.kind == OBJECT:
        values = values_of(column, length)
        if all(value is None or type(value) is dict for value in values):
            spread = Frame.from_rows([value or {} for value in values])
            return {f"{key}.{path}": sub for path, sub in spread.columns.items()}
    return {key: column}


class _ExpressionNode(VectorNode):
    def __init__(self, rows: list[tuple[str, CompiledExpression]], options: NodeOptions) -> None:
        self.rows = rows
        self.options = options

    def run(self, node_input: Frame, failed: np.ndarray, run: Run) -> Frame:
        columns: dict[str, Column] = {}
        for key, expression in self.rows:
            column = _evaluate_column(expression, node_input, None, failed)
            columns.update(_output_columns(key, column, node_input.length))
        return _finish(self.options, node_input, Frame(columns, node_input.length))


def _expression_node(spec: NodeSpec) -> VectorNode:
    from fengkong.graph.nodes.compiling import compile_standard

    content = spec.content_object()
    rows = []
    for item in content.get("expressions") or []:
        key, value = item.get("key") or "", item.get("value") or ""
        if not key or not value:
            continue
        if READS_RESULTS.search(value):
            raise Unsupported("reads earlier results through $")
        rows.append((key, compile_standard(spec, value)))
    return _ExpressionNode(rows, _simple_options(spec))


class _TableNode(VectorNode):
    """First-hit decision table: the columnar matcher, then each rule's outputs."""

    def __init__(self, spec: NodeSpec) -> None:
        from fengkong.graph.nodes.compiling import compile_standard
        from fengkong.graph.table_index import RuleMatcher
        from fengkong.graph.table_vector import VectorMatcher

        content = spec.content_object()
        if (content.get("hitPolicy") or "first") != "first":
            raise Unsupported("collect tables run row by row")
        self.options = _simple_options(spec)
        inputs = parse_columns(spec, content, "inputs", field_required=False)
        outputs = parse_columns(spec, content, "outputs", field_required=True)
        rules = parse_rules(spec, content)
        matcher = RuleMatcher([field for _, field in inputs],
                              [[rule.get(cid) or "" for cid, _ in inputs] for rule in rules],
                              node_id=spec.id, node_name=spec.name)
        self.matcher = VectorMatcher(matcher)
        # Per output field: each rule's expression (None: the rule leaves the field out).
        self.outputs: list[tuple[str, list[CompiledExpression | None], _Constants]] = []
        for column_id, field in outputs:
            sources = [(rule.get(column_id) or "").strip() for rule in rules]
            cells = [compile_standard(spec, cell) if cell else None for cell in sources]
            self.outputs.append((field, cells, _Constants(cells)))

    def run(self, node_input: Frame, failed: np.ndarray, run: Run) -> Frame:
        length = node_input.length
        chosen = self.matcher.first(node_input)
        columns: dict[str, Column] = {}
        rules_used = np.unique(chosen[chosen >= 0]).tolist()
        for field, cells, constants in self.outputs:
            column = constants.pick(chosen)
            computed = [rule for rule in rules_used
                        if cells[rule] is not None and not constants.has(rule)]
            if computed:
                absent = column.absent_rows(length).copy()
                values = values_of(column, length)
                for rule in computed:
                    rows = np.flatnonzero(chosen == rule)
                    sub_failed = np.zeros(len(rows), dtype=bool)
                    result = _evaluate_column(cells[rule], node_input.take(rows), None,
                                              sub_failed)
                    failed[rows[sub_failed]] = True
                    absent[rows] = False
                    for row, value in zip(rows.tolist(), values_of(result, len(rows)),
                                          strict=True):
                        values[row] = value
                column = column_from_values(values)
                column.absent = absent if absent.any() else None
            columns.update(_output_columns(field, column, length))
        return _finish(self.options, node_input, Frame(columns, length))


class _Constants:
    """The literal output cells of one output column, picked per row by rule index."""

    def __init__(self, cells: list[CompiledExpression | None]) -> None:
        self.literal = [cell is not None and isinstance(cell.tree, ast.Literal) for cell in cells]
        values = [cell.tree.value if literal else None  # type: ignore[union-attr]
                  for cell, literal in zip(cells, self.literal, strict=True)]
        kinds = {type(value) for value in values if value is not None}
        # One slot past the rules stands for rows that matched no rule (field absent).
        self.numeric = kinds <= {int, float} and bool(kinds)
        self.integral = kinds == {int}
        self.null = np.array([value is None for value in values] + [True])
        # A rule without a cell for this field leaves the field out of its output.
        self.absent = np.array([cell is None for cell in cells] + [True])
        if self.numeric:
            self.table = np.array([0.0 if v is None else v for v in values] + [0.0])
        else:
            self.table = np.empty(len(values) + 1, dtype=object)
            self.table[:-1] = values
        self.text = kinds == {str}

    def has(self, rule: int) -> bool:
        return self.literal[rule]

    def pick(self, chosen: np.ndarray) -> Column:
        index = np.where(chosen >= 0, chosen, len(self.table) - 1)
        null, absent = self.null[index], self.absent[index]
        absent_or_none = absent if absent.any() else None
        if self.numeric:
            return Column(NUMBER, self.table[index], null if null.any() else None,
                          self.integral, absent_or_none)
        if self.text:
            return Column(TEXT, self.table[index], null if null.any() else None,
                          absent=absent_or_none)
        column = column_from_values(self.table[index].tolist())
        column.absent = absent_or_none
        return column


def _table_node(spec: NodeSpec) -> VectorNode:
    return _TableNode(spec)


class _SwitchNode(VectorNode):
    def __init__(self, spec: NodeSpec) -> None:
        from fengkong.graph.nodes.compiling import compile_standard

        content = spec.content_object()
        self.first_only = (content.get("hitPolicy") or "first") == "first"
        self.statements: list[tuple[str, CompiledExpression | None]] = []
        for item in content.get("statements") or []:
            condition = (item.get("condition") or "").strip()
            self.statements.append(
                (item["id"], compile_standard(spec, condition) if condition else None))
        if not self.first_only and len(self.statements) > 62:
            raise Unsupported("collect switch with more than 62 statements")

    def run(self, node_input: Frame, failed: np.ndarray, run: Run) -> Frame:
        return node_input

    def choose(self, node_input: Frame, failed: np.ndarray, run: Run) -> Choices:
        length = node_input.length
        holds = []
        for _, condition in self.statements:
            if condition is None:
                holds.append(np.ones(length, dtype=bool))
                continue
            # A condition that fails to evaluate counts as false, as in single evaluation.
            errors = np.zeros(length, dtype=bool)
            column = _evaluate_column(condition, node_input, None, errors)
            data = np.broadcast_to(np.asarray(column.data if column.kind != NULL else False),
                                   (length,))
            true = (data == True) & ~errors  # noqa: E712 - elementwise, also for objects
            if column.null is not None:
                true &= ~column.null
            holds.append(true.astype(bool))
        ids = [statement_id for statement_id, _ in self.statements]
        if not holds:
            return np.zeros(length, dtype=np.int64), [()]
        matrix = np.stack(holds)
        if self.first_only:
            any_true = matrix.any(axis=0)
            codes = np.where(any_true, matrix.argmax(axis=0), len(ids))
            return codes.astype(np.int64), [(statement_id,) for statement_id in ids] + [()]
        weights = (1 << np.arange(len(ids), dtype=np.int64))
        codes = (matrix.astype(np.int64) * weights[:, None]).sum(axis=0)
        distinct = np.unique(codes).tolist()
        remap = {code: position for position, code in enumerate(distinct)}
        choices = [tuple(ids[i] for i in range(len(ids)) if code >> i & 1) for code in distinct]
        return np.array([remap[code] for code in codes.tolist()], dtype=np.int64), choices
