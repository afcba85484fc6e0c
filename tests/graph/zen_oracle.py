"""zen-engine as the oracle: run a JDM graph in both engines and compare what they return.

Results match when both engines raised, or both returned equal values, compared as the
expression differential tests do (``tests/differential/oracle.py``): numbers with a relative
tolerance of 1e-12 (zen returns floats converted from its decimals), ``int`` and ``float``
equal when numerically equal, ``bool`` never a number, arrays element by element, objects key
by key in any order.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# zen-engine appends a Rust backtrace to error messages when RUST_BACKTRACE is set.
os.environ.setdefault("RUST_LIB_BACKTRACE", "0")

import zen

import fengkong
from fengkong.errors import FengkongError

REL_TOL = 1e-12
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "graphs"


def same(left: Any, right: Any) -> bool:
    """JSON values equal up to number representation (see the module docstring)."""
    if type(left) is bool or type(right) is bool:
        return left is right
    if isinstance(left, int | float) and isinstance(right, int | float):
        return left == right or math.isclose(left, right, rel_tol=REL_TOL)
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(same(a, b) for a, b in zip(left, right, strict=True))
    return bool(left == right)


@dataclass(frozen=True)
class Outcome:
    """What one engine did with one context: a response, or an error message."""

    response: dict[str, Any] | None
    error: str | None = None

    @property
    def result(self) -> Any:
        return self.response["result"] if self.response is not None else None


def zen_outcome(graph: dict[str, Any] | Path, context: dict[str, Any], *,
                loader: dict[str, Any] | Path | None = None, trace: bool = False) -> Outcome:
    """Evaluate with zen-engine: a static loader for dicts, a filesystem loader for a folder."""
    key = "graph.json"
    if isinstance(graph, Path):
        root, key = graph.parent, graph.name
        config: dict[str, Any] = {"type": "fs", "path": str(loader or root)}
    else:
        config = {"type": "static", "content": {**(loader or {}), key: graph}}  # type: ignore[dict-item]
    engine = zen.ZenEngine({"loader": config})  # type: ignore[arg-type]
    try:
        return Outcome(dict(engine.evaluate(key, context, {"trace": trace})))
    except RuntimeError as error:
        return Outcome(None, str(error).split("\n")[0])


def fengkong_outcome(graph: dict[str, Any] | Path, context: dict[str, Any], *,
                     loader: dict[str, Any] | Path | None = None,
                     trace: bool = False) -> Outcome:
    """Evaluate with fengkong; only a :class:`FengkongError` counts as an engine error."""
    decision = fengkong.load(graph, loader=loader)
    try:
        return Outcome(decision.evaluate(context, trace=trace))
    except FengkongError as error:
        return Outcome(None, str(error))


def compare(graph: dict[str, Any] | Path, context: dict[str, Any], *,
            loader: dict[str, Any] | Path | None = None) -> tuple[Outcome, Outcome]:
    """Both outcomes; assert on them with :func:`assert_same`."""
    return (fengkong_outcome(graph, context, loader=loader),
            zen_outcome(graph, context, loader=loader))


def assert_same(ours: Outcome, theirs: Outcome, label: str = "") -> None:
    """Fail with both results shown unless the engines agree."""
    if ours.error is not None or theirs.error is not None:
        assert (ours.error is None) == (theirs.error is None), (
            f"{label}: fengkong {ours.error or ours.result!r} / zen {theirs.error or theirs.result!r}")
        return
    assert same(ours.result, theirs.result), (
        f"{label}:\n  fengkong {json.dumps(ours.result, ensure_ascii=False)}"
        f"\n  zen      {json.dumps(theirs.result, ensure_ascii=False)}")


_TIMINGS = frozenset(("performance", "msSinceRun"))


def without_timings(value: Any) -> Any:
    """A trace with its timings removed, for comparing traces across engines."""
    if isinstance(value, dict):
        return {key: without_timings(item) for key, item in value.items()
                if key not in _TIMINGS}
    if isinstance(value, list):
        return [without_timings(item) for item in value]
    return value


def example_cases() -> list[tuple[str, int, dict[str, Any]]]:
    """(graph name, input number, context) for every example graph and its inputs."""
    cases = []
    for path in sorted(EXAMPLES.glob("*.json")):
        inputs = json.loads((EXAMPLES / "inputs" / path.name).read_text())
        cases += [(path.stem, number, context) for number, context in enumerate(inputs)]
    return cases
