"""The ZEN expression language: parse once, compile to closures, evaluate many times.

>>> from fengkong.expr import evaluate, evaluate_unary
>>> evaluate("0.1 + 0.2 == 0.3")
True
>>> evaluate("sum(map(loans, #.amount))", {"loans": [{"amount": 100}, {"amount": 250}]})
350
>>> evaluate_unary(">= 18, null", {"$": 20})
True

:func:`compile_expression` and :func:`compile_unary` return reusable compiled objects; the
graph engine compiles every expression of a decision graph once, when the graph loads.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from fengkong.errors import ExpressionEvaluationError, FengkongError
from fengkong.expr import ast
from fengkong.expr.compiler import Closure, compile_node
from fengkong.expr.parser import parse_expression, parse_unary
from fengkong.expr.values import to_json

__all__ = [
    "CompiledExpression",
    "CompiledUnary",
    "compile_expression",
    "compile_unary",
    "evaluate",
    "evaluate_unary",
]

# Python errors that a bug or a pathological input could raise inside a closure; they are
# reported as evaluation errors so bad input never surfaces as a traceback.
_UNEXPECTED = (TypeError, ValueError, KeyError, IndexError, AttributeError, ArithmeticError,
               RecursionError)


def _located(error: FengkongError, source: str) -> FengkongError:
    return error.in_expression(source)


def _unexpected(error: Exception, source: str) -> ExpressionEvaluationError:
    message = f"cannot evaluate: {type(error).__name__}: {error}"
    return ExpressionEvaluationError(message, expression=source)


class CompiledExpression:
    """A compiled standard expression; call it with a scope (dict) to evaluate."""

    __slots__ = ("fn", "source", "tree")

    def __init__(self, source: str, tree: ast.Node) -> None:
        self.source = source
        self.tree = tree
        self.fn: Closure = compile_node(tree)

    def __call__(self, scope: Any, dollar: Any = None) -> Any:
        try:
            return self.fn(scope, dollar, None)
        except ExpressionEvaluationError as error:
            raise _located(error, self.source) from None
        except _UNEXPECTED as error:
            raise _unexpected(error, self.source) from None

    def __repr__(self) -> str:
        return f"CompiledExpression({self.source!r})"


class CompiledUnary:
    """A compiled unary test; call it with a scope and the value of ``$``."""

    __slots__ = ("fn", "source", "tree")

    def __init__(self, source: str, tree: ast.Node) -> None:
        self.source = source
        self.tree = tree
        self.fn: Closure = compile_node(tree)

    def __call__(self, scope: Any, value: Any) -> bool:
        try:
            result = self.fn(scope, value, None)
        except ExpressionEvaluationError as error:
            raise _located(error, self.source) from None
        except _UNEXPECTED as error:
            raise _unexpected(error, self.source) from None
        return result is True

    def __repr__(self) -> str:
        return f"CompiledUnary({self.source!r})"


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> CompiledExpression:
    """Parse and compile a standard expression (cached by source text)."""
    return CompiledExpression(source, parse_expression(source))


@lru_cache(maxsize=4096)
def compile_unary(source: str) -> CompiledUnary:
    """Parse and compile a unary test such as ``>= 18`` or ``'a', 'b'`` (cached)."""
    return CompiledUnary(source, parse_unary(source))


def evaluate(expression: str, context: dict[str, Any] | None = None) -> Any:
    """Evaluate a standard expression against ``context``; the result is JSON-ready."""
    scope = context if context is not None else {}
    return to_json(compile_expression(expression)(scope, scope.get("$")))


def evaluate_unary(expression: str, context: dict[str, Any]) -> bool:
    """Evaluate a unary test; ``context["$"]`` is the value under test (as in zen-engine)."""
    test = compile_unary(expression)
    if "$" not in context:
        raise ExpressionEvaluationError("a unary test needs the value under test as '$' in "
                                        "the context", expression=expression)
    return test(context, context["$"])
