"""fengkong (风控): a real-time credit-risk decision platform.

>>> import fengkong
>>> decision = fengkong.load("flows/credit_approval.json")     # doctest: +SKIP
>>> decision.evaluate({"applicant": {"age": 35}}, trace=True)  # doctest: +SKIP

``load``, ``Engine`` and ``Decision`` come from :mod:`fengkong.graph`; typed errors from
:mod:`fengkong.errors`. The graph package is imported on first use, so ``import fengkong``
stays cheap for tools that need only a part of the platform.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fengkong import errors

if TYPE_CHECKING:
    from fengkong.graph import Decision, Engine, load

__all__ = ["Decision", "Engine", "errors", "load"]
__version__ = "0.1.0"

_GRAPH_API = {"Decision", "Engine", "load"}


def __getattr__(name: str) -> Any:
    if name in _GRAPH_API:
        import fengkong.graph

        return getattr(fengkong.graph, name)
    raise AttributeError(f"module 'fengkong' has no attribute {name!r}")
