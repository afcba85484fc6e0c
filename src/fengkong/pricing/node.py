"""The ``pricing`` graph node: the rate and limit of each applicant, inside a decision flow.

JDM::

    {"type": "customNode", "content": {"kind": "pricing", "config": {
        "product": "../products/cash-12m.yaml",
        "pd": "models.application.pd",
        "income": "applicant.monthlyIncome",
        "obligations": "bureau.monthlyRepayments",
        "requested": "loan.amount",
        "existingCredit": "customer.grantedLimits",
        "date": "appliedAt",
        "optimise": false}}}

* ``product``: the product — a YAML file relative to the graph's file (else to the working
  directory), or the product inline as an object (``docs/pricing.md`` has the format).
* ``pd``, ``income``, ``obligations``: ZEN expressions giving the lifetime probability of
  default, the monthly income and the existing monthly debt payments (yuan).
* ``requested`` (optional): the amount asked for; the limit does not exceed it. An
  expression giving ``null`` means no amount was asked for.
* ``existingCredit`` (optional): the credit the lender has already granted the borrower
  (yuan); it counts against the regulatory per-borrower maximum. Without it, none.
* ``date`` (optional): the decision date the regulatory caps are read at — a date, ISO 8601
  time with an offset, or epoch milliseconds; without it, today in Beijing. Give it whenever
  the application carries its time, or a backtest prices last year under today's rules.
* ``optimise`` (optional, default false): search the (limit, rate) grid for the highest
  expected profit.

The node passes its input on and adds ``pricing``: :meth:`PricingDecision.to_dict` — the
outcome (``offer``/``decline``), APR components, all-in APR, cap, limit and its binding
constraint, repayment, reasons. Config mistakes fail the graph's load, naming the node; bad
values at run time (a PD of 1.3, a null income) are :class:`PricingError`s whose ``field``
is the expression that gave them. The graph registry imports this module (registering the
kind) the first time a flow uses it.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from fengkong.errors import PricingError
from fengkong.expr import CompiledExpression
from fengkong.expr.values import to_json
from fengkong.graph.registry import (
    NodeDefinition,
    NodeResult,
    object_input,
    register_node_kind,
)
from fengkong.pricing.decision import Application, price
from fengkong.pricing.product import Product, load_product

PRICING = "pricing"  # the node kind, and the field the node adds
_EXPRESSIONS = ("pd", "income", "obligations", "requested", "existingCredit", "date")
_REQUIRED = ("product", "pd", "income", "obligations")
_CONFIG = ("product", *_EXPRESSIONS, "optimise")
# The input a price() error names -> the config entry whose expression gave it.
_ENTRY_OF_FIELD = {"pd": "pd", "monthly_income": "income", "obligations": "obligations",
                   "requested": "requested", "existing_credit": "existingCredit",
                   "date": "date"}


class PricingNode:
    """A compiled pricing node: evaluates its expressions and prices the application."""

    def __init__(self, product: Product, expressions: Mapping[str, CompiledExpression],
                 optimise: bool) -> None:
        self.product = product
        self.expressions = dict(expressions)
        self.optimise = optimise

    def __call__(self, node_input: Any) -> NodeResult:
        object_input(node_input, "the pricing node")
        # to_json: a ZEN date (d("2026-05-01")) arrives as its ISO text.
        values = {entry: to_json(expression(node_input))
                  for entry, expression in self.expressions.items()}
        try:
            application = Application(monthly_income=values["income"],
                                      obligations=values["obligations"],
                                      requested=values.get("requested"),
                                      existing_credit=values.get("existingCredit", 0.0))
            decision = price(application, self.product, values["pd"], values.get("date"),
                             optimise=self.optimise)
        except PricingError as error:
            raise self._located(error) from None
        out = decision.to_dict()
        limit = out["limit"]
        trace = {"outcome": decision.outcome, "product": self.product.name,
                 "binding": None if limit is None else limit["binding"]}
        return NodeResult({**node_input, PRICING: out}, trace)

    def _located(self, error: PricingError) -> PricingError:
        """The error with its field named by the expression that gave the value."""
        entry = _ENTRY_OF_FIELD.get(error.field or "")
        expression = self.expressions.get(entry or "")
        if entry is None or expression is None:
            return error
        return PricingError(f"{error.message} (config.{entry}: {expression.source})",
                            field=expression.source)


@register_node_kind(PRICING)
def compile_pricing_node(node: NodeDefinition) -> PricingNode:
    """The ``pricing`` kind's compiler: load the product and compile the expressions."""
    config = node.config
    if not isinstance(config, dict):
        raise node.error("config must be an object with 'product', 'pd', 'income' and "
                         "'obligations'")
    unknown = sorted(set(config) - set(_CONFIG))
    if unknown:
        raise node.error(f"unknown config entr{'ies' if len(unknown) > 1 else 'y'} "
                         f"{', '.join(unknown)} (known: {', '.join(_CONFIG)})")
    missing = [entry for entry in _REQUIRED if config.get(entry) is None]
    if missing:
        raise node.error(f"config.{missing[0]} is missing (the node needs "
                         f"{', '.join(_REQUIRED)})")
    optimise = config.get("optimise", False)
    if not isinstance(optimise, bool):
        raise node.error(f"config.optimise must be true or false, got {optimise!r}")
    expressions = {entry: node.expression(config[entry], f"config.{entry}")
                   for entry in _EXPRESSIONS if config.get(entry) is not None}
    return PricingNode(_product(node, config["product"]), expressions, optimise)


def _product(node: NodeDefinition, source: Any) -> Product:
    try:
        if isinstance(source, Mapping):
            return load_product(source)
        if isinstance(source, str) and source.strip():
            path = Path(source)
            if not path.is_absolute() and node.directory is not None:
                path = node.directory / path
            return load_product(path)
    except PricingError as error:
        where = f" (field {error.field})" if error.field and error.field != "product" else ""
        raise node.error(f"config.product{where}: {error.message}") from None
    raise node.error("config.product must be a path to a product YAML (text) or an inline "
                     "product (object)")



__all__ = ["PRICING", "PricingNode", "compile_pricing_node"]
