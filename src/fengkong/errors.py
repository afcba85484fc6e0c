"""Typed errors for everything a user can get wrong.

Every error fengkong raises on bad input is a :class:`FengkongError`. It carries *where*
the problem is — the graph node, the expression and the character position in it, the
field path in the input — so that the CLI can print it on one line and the HTTP API can
turn it into a problem document without parsing messages.

Errors are raised deep inside the expression compiler or a node and gain context on the
way out: a node adds its id and name with :meth:`FengkongError.at_node`, so the code that
detects a problem need not know where it is being run from.
"""

from __future__ import annotations

from typing import Any


class FengkongError(Exception):
    """Base class of fengkong's input errors."""

    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        node_id: str | None = None,
        node_name: str | None = None,
        expression: str | None = None,
        position: int | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.node_id = node_id
        self.node_name = node_name
        self.expression = expression
        self.position = position
        self.field = field

    def at_node(self, node_id: str, node_name: str | None = None) -> FengkongError:
        """Attach the graph node the error happened in (the innermost node wins)."""
        if self.node_id is None:
            self.node_id = node_id
            self.node_name = node_name
        return self

    def in_expression(self, expression: str, position: int | None = None) -> FengkongError:
        """Attach the expression source and the character position (innermost wins)."""
        if self.expression is None:
            self.expression = expression
            if self.position is None:
                self.position = position
        return self

    def where(self) -> str:
        """Human-readable location: node, field, expression and position."""
        parts = []
        if self.node_id is not None:
            name = f" '{self.node_name}'" if self.node_name else ""
            parts.append(f"node{name} (id {self.node_id})")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        if self.expression is not None:
            at = f" at position {self.position}" if self.position is not None else ""
            parts.append(f"expression {self.expression!r}{at}")
        return ", ".join(parts)

    def __str__(self) -> str:
        where = self.where()
        text = f"{self.message} [{where}]" if where else self.message
        return " ".join(text.split("\n"))

    def to_dict(self) -> dict[str, Any]:
        """The error as a JSON-ready mapping (used by the CLI and the HTTP API)."""
        out: dict[str, Any] = {"type": self.kind, "message": self.message}
        for key in ("node_id", "node_name", "field", "expression", "position"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


class ExpressionSyntaxError(FengkongError):
    """A ZEN expression or unary test that does not parse."""

    kind = "expression_syntax"


class ExpressionEvaluationError(FengkongError):
    """A ZEN expression that parsed but failed on the values it met (wrong types...)."""

    kind = "expression_evaluation"


class GraphLoadError(FengkongError):
    """A decision graph that cannot be loaded: malformed JSON, unknown node kind,
    cycle, dangling edge, bad node content."""

    kind = "graph_load"


class InputValidationError(FengkongError):
    """Input or output that violates the JSON Schema of the graph's input/output node."""

    kind = "input_validation"


class FunctionNodeError(FengkongError):
    """A JavaScript function node that threw, returned a non-object or ran out of time."""

    kind = "function_node"


class DecisionNotFoundError(FengkongError):
    """A loader that has no decision under the requested key."""

    kind = "decision_not_found"


class EvaluationLimitError(FengkongError):
    """A graph evaluation that exceeded a safety limit (sub-decision depth, loop size)."""

    kind = "evaluation_limit"


class ModelInputError(FengkongError):
    """A model asked to score a row it cannot: an unknown feature name, a value of the wrong
    type. ``field`` names the feature."""

    kind = "model_input"


class ModelArtifactError(FengkongError):
    """A model artifact folder that cannot be loaded: a missing or malformed file, or a file
    whose SHA-256 does not match the one its metadata recorded (the model refuses to load)."""

    kind = "model_artifact"


class DatasetError(FengkongError):
    """A public data set that cannot be fetched or read: the package registry unreachable
    and nothing cached, a checksum mismatch, an archive without the expected member."""

    kind = "dataset"


class PricingError(FengkongError):
    """A pricing or limit request with inputs that cannot be priced (a negative income, a
    PD outside [0, 1], a product without a term). ``field`` names the input."""

    kind = "pricing"
