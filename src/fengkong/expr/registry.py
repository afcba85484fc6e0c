"""The table of ZEN built-in functions and methods.

A built-in is a plain Python callable over already-evaluated arguments (JSON-like values,
see :mod:`fengkong.expr.values`). Arity is declared so the compiler rejects a wrong call
when the expression is compiled, with the position of the call, not when it first runs.

Closure functions (``map``, ``filter``, ``some``...) are not here: their second argument
is a closure body, not a value, so the compiler handles them itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Builtin:
    """One built-in function: ``call(*args)`` with ``min_args <= len(args) <= max_args``."""

    name: str
    call: Callable[..., Any]
    min_args: int
    max_args: int | None  # None: variadic


def builtin(
    table: dict[str, Builtin], name: str, min_args: int, max_args: int | None = -1
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering ``fn`` under ``name``; ``max_args=-1`` means same as ``min_args``."""

    def register(fn: Callable[..., Any]) -> Callable[..., Any]:
        upper = min_args if max_args == -1 else max_args
        table[name] = Builtin(name, fn, min_args, upper)
        return fn

    return register


_functions: dict[str, Builtin] | None = None


def functions() -> dict[str, Builtin]:
    """All built-in functions by name (core functions plus date and time functions)."""
    global _functions
    if _functions is None:
        from fengkong.expr import builtins, dates

        _functions = {**builtins.FUNCTIONS, **dates.FUNCTIONS}
    return _functions
