"""Input and output nodes, and the JSON Schemas they enforce.

The input node receives the evaluation context; the first output node reached ends the walk
and its input becomes the decision result. Either may carry a JSON Schema in
``content.schema`` — as JSON text, which is what the JDM editor writes and Zen reads, or as
an object. Schemas are compiled once at load time (with ``fastjsonschema``); a schema that is
not valid JSON or not a valid schema fails the load. A context (or result) that violates the
schema raises :class:`~fengkong.errors.InputValidationError` whose ``field`` is the path of
the offending value (``applicant.age``, ``loans[0].amount``).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fengkong.errors import InputValidationError
from fengkong.graph.model import NodeSpec
from fengkong.graph.registry import CompileContext, CompiledNode, register_node_type
from fengkong.graph.runtime import Run

Validator = Callable[[Any], Any]


def compile_schema(spec: NodeSpec) -> Validator | None:
    """The node's schema validator, or ``None`` when the node has no schema."""
    schema = spec.content_object().get("schema")
    if isinstance(schema, str):
        if not schema.strip():
            return None
        try:
            schema = json.loads(schema)
        except json.JSONDecodeError as error:
            raise spec.error(f"schema is not valid JSON: {error.msg} at line {error.lineno} "
                             f"column {error.colno}") from None
    if schema is None:
        return None
    if not isinstance(schema, dict | bool):
        raise spec.error("schema must be a JSON Schema object")
    import fastjsonschema  # imported on first use: most graphs carry no schema

    try:
        # use_default=False: validation must not fill defaults into the caller's context.
        validate = fastjsonschema.compile(schema, use_default=False)
    except fastjsonschema.JsonSchemaDefinitionException as error:
        raise spec.error(f"schema is not a valid JSON Schema: {error}") from None
    return _checked(spec, validate, fastjsonschema.JsonSchemaValueException)


def _checked(spec: NodeSpec, validate: Validator, failure: type[Exception]) -> Validator:
    def check(value: Any) -> Any:
        try:
            return validate(value)
        except failure as error:
            raise _violation(spec, error) from None

    return check


def _violation(spec: NodeSpec, error: Any) -> InputValidationError:
    """A readable error from fastjsonschema's, which names values ``data.a.b[0]``."""
    path = error.name[len("data"):].lstrip(".") if error.name.startswith("data") else error.name
    message = error.message
    if error.rule == "required" and isinstance(error.value, dict):
        missing = [key for key in error.rule_definition if key not in error.value]
        if missing:
            path = f"{path}.{missing[0]}" if path else missing[0]
            message = f"missing required field {path!r}"
    elif message.startswith(error.name):
        message = f"{path or 'input'}{message[len(error.name):]}"
    where = "input" if spec.type == "inputNode" else "output"
    return InputValidationError(f"{where} does not match the schema: {message}",
                                node_id=spec.id, node_name=spec.name, field=path or None)


def compile_io_node(spec: NodeSpec, context: CompileContext) -> CompiledNode:
    """An input or output node: checks its schema, passes its input on."""
    check = compile_schema(spec)
    if check is None:
        def passes_on(value: Any, run: Run) -> Any:
            return value
    else:
        def passes_on(value: Any, run: Run) -> Any:
            check(value)
            return value

    return CompiledNode(spec.id, spec.name, spec.type, passes_on,
                        lambda value, run: (passes_on(value, run), None))


register_node_type("inputNode", compile_io_node)
register_node_type("outputNode", compile_io_node)
