"""The built-in JDM node types; importing this package registers them.

``inputNode``/``outputNode`` (:mod:`.io`), ``expressionNode`` (:mod:`.expression`),
``decisionTableNode`` (:mod:`.table`), ``switchNode`` (:mod:`.switch`), ``decisionNode``
(:mod:`.decision`), ``functionNode`` (:mod:`.function`) and ``customNode``
(:mod:`.custom`, which dispatches to the registered kinds).
"""

from fengkong.graph.nodes import custom, decision, expression, function, io, switch, table

__all__ = ["custom", "decision", "expression", "function", "io", "switch", "table"]
