"""Decision tables: rows of conditions over input columns, giving output values.

JDM content::

    {"hitPolicy": "first" | "collect",
     "inputs":  [{"id": "c1", "name": "Age", "field": "applicant.age"}, ...],
     "outputs": [{"id": "c9", "name": "Limit", "field": "limit.amount"}, ...],
     "rules":   [{"_id": "r1", "_description": "...", "c1": ">= 18", "c9": "5000"}, ...]}

A cell under an input column with a ``field`` is a unary test on that field's value
(``>= 18``, ``[18..60)``, ``'A', 'B'``); under a column without a field it is a boolean
expression. An empty or absent cell matches anything. Matching is done by
:class:`fengkong.graph.table_index.RuleMatcher`. ``first`` outputs the first matching row
(``null`` if none), ``collect`` the array of all matching rows' outputs. Output cells are
expressions; dotted output fields build nested objects; empty output cells are left out.

As in Zen, a row whose output cell fails to evaluate is treated as not matching (the next
matching row is used). Trace data is, per matched row, ``{"index", "reference_map",
"rule"}``: the row's position, the value of each input field, and the row's cells keyed
``"<field>[<column id>]"`` plus ``_id`` and ``_description``.
"""

from __future__ import annotations

import contextlib
from typing import Any

from fengkong.errors import ExpressionEvaluationError
from fengkong.expr import CompiledExpression
from fengkong.graph.merge import insert_path, split_path
from fengkong.graph.model import NodeSpec
from fengkong.graph.nodes.compiling import (
    array,
    compile_standard,
    mentions_nodes,
    scope_for,
    text,
)
from fengkong.graph.nodes.options import apply_options, parse_options
from fengkong.graph.registry import CompileContext, CompiledNode, register_node_type
from fengkong.graph.runtime import Run
from fengkong.graph.table_index import RuleMatcher

_HIT_POLICIES = ("first", "collect")

# An output cell: output field, its dotted path (None when flat), expression.
OutputCell = tuple[str, tuple[str, ...] | None, CompiledExpression]


class _Column:
    __slots__ = ("field", "id", "reference")

    def __init__(self, column_id: str, field: str, reference: CompiledExpression | None) -> None:
        self.id = column_id
        self.field = field
        self.reference = reference


def compile_table_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    content = spec.content_object()
    hit_policy = content.get("hitPolicy", "first")
    if hit_policy not in _HIT_POLICIES:
        raise spec.error(f"hitPolicy must be 'first' or 'collect', got {hit_policy!r}")
    inputs = parse_columns(spec, content, "inputs", field_required=False)
    outputs = parse_columns(spec, content, "outputs", field_required=True)
    rules = parse_rules(spec, content)
    table = _Table(spec, inputs, outputs, rules)
    evaluate = table.first if hit_policy == "first" else table.collect
    evaluate_traced = table.first_traced if hit_policy == "first" else table.collect_traced
    run, run_traced = apply_options(parse_options(spec, content), evaluate, evaluate_traced)
    return CompiledNode(spec.id, spec.name, spec.type, run, run_traced)


def parse_columns(spec: NodeSpec, content: dict[str, Any], key: str,
                  field_required: bool) -> list[tuple[str, str]]:
    """The ``inputs`` or ``outputs`` of a table as (column id, field); shared with the
    columnar table (graph/batch_nodes.py) so both read a table the same way."""
    columns = []
    for position, column in enumerate(array(spec, content.get(key), key)):
        if not isinstance(column, dict):
            raise spec.error(f"{key}[{position}] must be an object")
        column_id = text(spec, column.get("id"), f"{key}[{position}].id")
        field = text(spec, column.get("field"), f"{key}[{position}].field",
                     default=None if field_required else "")
        columns.append((column_id, field.strip()))
    return columns


def parse_rules(spec: NodeSpec, content: dict[str, Any]) -> list[dict[str, str]]:
    """The rules of a table, each a mapping of column id to cell text (checked)."""
    rules = array(spec, content.get("rules"), "rules")
    for position, rule in enumerate(rules):
        if not isinstance(rule, dict):
            raise spec.error(f"rules[{position}] must be an object")
        for column_id, cell in rule.items():
            if cell is not None and not isinstance(cell, str):
                raise spec.error(f"rules[{position}], column {column_id!r}: a cell must be "
                                 f"expression text, got {type(cell).__name__}")
    return rules


class _Table:
    """A compiled table: the rule matcher and each rule's output builder."""

    def __init__(self, spec: NodeSpec, inputs: list[tuple[str, str]],
                 outputs: list[tuple[str, str]], rules: list[dict[str, str]]) -> None:
        sources = [cell for rule in rules for cell in rule.values() if cell]
        sources += [field for _, field in inputs]
        self.scope_of = scope_for(mentions_nodes(*sources))
        self.matcher = RuleMatcher(
            inputs=[field for _, field in inputs],
            rules=[[rule.get(column_id) or "" for column_id, _ in inputs] for rule in rules],
            node_id=spec.id,
            node_name=spec.name,
        )
        self.outputs: list[tuple[OutputCell, ...]] = [
            tuple(
                (field, split_path(field) if "." in field else None,
                 compile_standard(spec, rule[column_id]))
                for column_id, field in outputs
                if (rule.get(column_id) or "").strip()
            )
            for rule in rules
        ]
        self.rules = rules
        self.columns = [
            _Column(column_id, field, compile_standard(spec, field) if field else None)
            for column_id, field in inputs
        ]

    def row_output(self, index: int, scope: Any) -> dict[str, Any]:
        output: dict[str, Any] = {}
        for field, path, expression in self.outputs[index]:
            if path is None:
                output[field] = expression(scope)
            else:
                insert_path(output, path, expression(scope))
        return output

    def first_output(self, scope: Any) -> tuple[int, Any]:
        """The first matching row whose outputs evaluate, and its output (``-1, None``)."""
        index = self.matcher.first(scope)
        if index < 0:
            return -1, None
        try:
            return index, self.row_output(index, scope)
        except ExpressionEvaluationError:
            # Rare: the first match's outputs failed; Zen then tries the following matches.
            for later in self.matcher.all(scope):
                if later > index:
                    try:
                        return later, self.row_output(later, scope)
                    except ExpressionEvaluationError:
                        continue
            return -1, None

    def all_outputs(self, scope: Any) -> list[tuple[int, Any]]:
        rows = []
        for index in self.matcher.all(scope):
            try:
                rows.append((index, self.row_output(index, scope)))
            except ExpressionEvaluationError:
                continue
        return rows

    def first(self, node_input: Any, run: Run) -> Any:
        return self.first_output(self.scope_of(node_input, run))[1]

    def collect(self, node_input: Any, run: Run) -> Any:
        return [output for _, output in self.all_outputs(self.scope_of(node_input, run))]

    def first_traced(self, node_input: Any, run: Run) -> tuple[Any, Any]:
        scope = self.scope_of(node_input, run)
        index, output = self.first_output(scope)
        return output, (self.row_trace(index, scope) if index >= 0 else None)

    def collect_traced(self, node_input: Any, run: Run) -> tuple[Any, Any]:
        scope = self.scope_of(node_input, run)
        rows = self.all_outputs(scope)
        return [output for _, output in rows], [self.row_trace(index, scope) for index, _ in rows]

    def row_trace(self, index: int, scope: Any) -> dict[str, Any]:
        rule = self.rules[index]
        cells: dict[str, Any] = {"_id": rule.get("_id") or ""}
        if "_description" in rule:
            cells["_description"] = rule["_description"]
        references: dict[str, Any] = {}
        for column in self.columns:
            # Zen leaves out columns without a field and cells absent from the rule, and
            # reads no reference values when the input is not an object.
            if column.reference is None or column.id not in rule:
                continue
            if type(scope) is dict:
                with contextlib.suppress(ExpressionEvaluationError):
                    references[column.field] = column.reference(scope)
            cells[f"{column.field}[{column.id}]"] = rule[column.id] or ""
        return {"index": index, "reference_map": references, "rule": cells}


register_node_type("decisionTableNode", compile_table_node)
