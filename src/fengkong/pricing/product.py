"""Loan products: the term, amounts, price grid, fees, costs and risk appetite a price and a
limit are computed from, loaded from YAML or a dict and checked field by field.

A product is what the risk team files and changes, so every mistake is a
:class:`~fengkong.errors.PricingError` whose ``field`` is the path in the document
(``costs.funding``, ``rate_cap[1].from``), and unknown keys are refused rather than ignored —
a misspelt ``upfornt`` fee must not silently price at zero fees. The format is in
``docs/pricing.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from fengkong.errors import PricingError
from fengkong.pricing.annuity import Basis
from fengkong.pricing.checks import checked_date, checked_number, checked_whole
from fengkong.pricing.grids import AmountGrid, RateGrid
from fengkong.pricing.regulation import (
    BORROWER_CAPS,
    CONSUMER_FINANCE,
    INTERNET_CONSUMER_LOAN,
    RATE_CAPS,
    DatedTable,
    DatedValue,
)
from fengkong.pricing.takeup import TakeUp


@dataclass(frozen=True, slots=True)
class Fees:
    """Fees the borrower pays besides interest, as fractions of the principal: ``upfront``
    once at drawdown, ``monthly`` with each instalment. They count in the all-in APR."""

    upfront: float = 0.0
    monthly: float = 0.0


@dataclass(frozen=True, slots=True)
class Costs:
    """The lender's annual costs per unit of outstanding balance, and its margin.

    ``funding``: the cost of the money lent. ``operating``: servicing, collections,
    acquisition spread over the balance. ``margin``: the profit the price must carry.
    Capital: the lender holds ``capital_ratio * risk_weight`` of the balance as equity, which
    costs ``cost_of_equity`` a year.
    """

    funding: float
    operating: float
    margin: float
    capital_ratio: float
    cost_of_equity: float
    risk_weight: float = 1.0


@dataclass(frozen=True, slots=True)
class Optimisation:
    """The grid of the expected-profit search: ``rates`` price points from break-even to the
    cap, times ``amounts`` limits from the product minimum to the ceiling."""

    rates: int = 10
    amounts: int = 10
    take_up: TakeUp = field(default_factory=TakeUp)


@dataclass(frozen=True, slots=True)
class Product:
    """A loan product (see the module docstring and ``docs/pricing.md``)."""

    name: str
    term_months: int
    amounts: AmountGrid
    costs: Costs
    lgd: float
    loss_budget: float
    dti_ceiling: float
    rate_grid: RateGrid = field(default_factory=RateGrid)
    basis: Basis = Basis.NOMINAL
    fees: Fees = field(default_factory=Fees)
    rate_cap: DatedTable = CONSUMER_FINANCE
    borrower_cap: DatedTable = INTERNET_CONSUMER_LOAN
    optimisation: Optimisation = field(default_factory=Optimisation)


_REQUIRED: Any = object()


class _Section:
    """One object of the product document, read key by key; ``done`` refuses the rest."""

    def __init__(self, data: Any, path: str) -> None:
        if not isinstance(data, Mapping):
            raise PricingError(f"{path or 'the product'} must be an object, got {data!r}",
                               field=path or "product")
        self.data = data
        self.path = path
        self.read: set[str] = set()

    def where(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def get(self, key: str, default: Any = _REQUIRED) -> Any:
        self.read.add(key)
        if key in self.data and self.data[key] is not None:
            return self.data[key]
        if default is _REQUIRED:
            raise PricingError(f"{self.where(key)} is missing", field=self.where(key))
        return default

    def number(self, key: str, default: Any = _REQUIRED, *, low: float | None = 0.0,
               high: float | None = None, low_open: bool = False) -> float:
        return checked_number(self.get(key, default), self.where(key), low=low, high=high,
                              low_open=low_open)

    def whole(self, key: str, default: Any = _REQUIRED, *, low: int, high: int) -> int:
        return checked_whole(self.get(key, default), self.where(key), low=low, high=high)

    def section(self, key: str, default: Any = _REQUIRED) -> _Section:
        return _Section(self.get(key, default), self.where(key))

    def done(self) -> None:
        unknown = sorted(str(key) for key in self.data if key not in self.read)
        if unknown:
            raise PricingError(f"unknown key{'s' if len(unknown) > 1 else ''} "
                               f"{', '.join(unknown)} in {self.path or 'the product'} "
                               f"(known: {', '.join(sorted(self.read))})",
                               field=self.where(unknown[0]))


def load_product(source: Mapping[str, Any] | str | Path) -> Product:
    """A product from a dict or a YAML file, checked (:class:`PricingError` naming the
    field otherwise)."""
    if isinstance(source, str | Path):
        try:
            data = yaml.safe_load(Path(source).read_text(encoding="utf-8"))
        except OSError as error:
            raise PricingError(f"cannot read the product file {str(source)!r}: "
                               f"{error.strerror}", field="product") from None
        except yaml.YAMLError as error:
            raise PricingError(f"the product file {str(source)!r} is not valid YAML: "
                               f"{' '.join(str(error).split())}", field="product") from None
        return _product(_Section(data, ""))
    return _product(_Section(source, ""))


def _product(doc: _Section) -> Product:
    name = doc.get("name")
    if not isinstance(name, str) or not name.strip():
        raise PricingError(f"name must be text, got {name!r}", field="name")
    product = Product(
        name=name,
        term_months=doc.whole("term_months", low=1, high=360),
        amounts=_amounts(doc.section("amount")),
        costs=_costs(doc.section("costs")),
        lgd=doc.number("lgd", high=1.0),
        loss_budget=doc.number("loss_budget", low_open=True),
        dti_ceiling=doc.number("dti_ceiling", high=1.0, low_open=True),
        rate_grid=_rate_grid(doc.section("rate_grid", {})),
        basis=_basis(doc.get("basis", "nominal")),
        fees=_fees(doc.section("fees", {})),
        rate_cap=_table(doc, "rate_cap", RATE_CAPS, CONSUMER_FINANCE.name, "rate"),
        borrower_cap=_table(doc, "borrower_cap", BORROWER_CAPS, INTERNET_CONSUMER_LOAN.name,
                            "amount"),
        optimisation=_optimisation(doc.section("optimisation", {})),
    )
    doc.done()
    return product


def _amounts(section: _Section) -> AmountGrid:
    minimum = section.whole("min", low=1, high=10**9)
    maximum = section.whole("max", low=minimum, high=10**9)
    step = section.whole("step", 100, low=1, high=maximum)
    section.done()
    return AmountGrid(minimum, maximum, step)


def _costs(section: _Section) -> Costs:
    costs = Costs(funding=section.number("funding", high=1.0),
                  operating=section.number("operating", high=1.0),
                  margin=section.number("margin", high=1.0),
                  capital_ratio=section.number("capital_ratio", high=1.0),
                  cost_of_equity=section.number("cost_of_equity", high=1.0),
                  risk_weight=section.number("risk_weight", 1.0, high=10.0))
    section.done()
    return costs


def _rate_grid(section: _Section) -> RateGrid:
    points = section.get("points", None)
    if points is None:
        step = section.number("step", 0.0001, low_open=True, high=0.1)
        section.done()
        return RateGrid(step=step)
    if "step" in section.data:
        raise PricingError("rate_grid takes a step or a list of points, not both",
                           field="rate_grid.step")
    if not isinstance(points, list) or not points:
        raise PricingError("rate_grid.points must be a list of annual rates",
                           field="rate_grid.points")
    rates = [checked_number(point, f"rate_grid.points[{index}]", high=10.0)
             for index, point in enumerate(points)]
    section.done()
    return RateGrid(step=None, points=tuple(sorted(set(rates))))


def _basis(value: Any) -> Basis:
    try:
        return Basis(value)
    except ValueError:
        raise PricingError(f"basis must be 'nominal' (monthly IRR x 12) or 'effective' "
                           f"(compounded), got {value!r}", field="basis") from None


def _fees(section: _Section) -> Fees:
    fees = Fees(upfront=section.number("upfront", 0.0, high=0.5),
                monthly=section.number("monthly", 0.0, high=0.1))
    section.done()
    return fees


def _table(doc: _Section, key: str, builtins: Mapping[str, DatedTable], default: str,
           value_key: str) -> DatedTable:
    """A built-in table by name, or the product's own list of dated entries."""
    value = doc.get(key, default)
    if isinstance(value, str):
        if value not in builtins:
            raise PricingError(f"{key} {value!r} is not a built-in table (known: "
                               f"{', '.join(sorted(builtins))}), nor a list of dated entries",
                               field=key)
        return builtins[value]
    if not isinstance(value, list) or not value:
        raise PricingError(f"{key} must name a built-in table ({', '.join(sorted(builtins))}) "
                           f"or list entries ({{from, {value_key}, source}})", field=key)
    high = 10.0 if value_key == "rate" else 1e9
    entries = []
    for index, item in enumerate(value):
        entry = _Section(item, f"{key}[{index}]")
        monitor = entry.get("monitor_above", None)
        entries.append(DatedValue(
            effective_from=checked_date(entry.get("from"), entry.where("from")),
            value=entry.number(value_key, low_open=True, high=high),
            source=str(entry.get("source", "product configuration")),
            monitor_above=None if monitor is None else
            checked_number(monitor, entry.where("monitor_above"), high=high)))
        entry.done()
        if any(earlier.effective_from == entries[-1].effective_from for earlier in entries[:-1]):
            raise PricingError(f"two entries of {key} take effect on "
                               f"{entries[-1].effective_from.isoformat()}: which one is in "
                               "force?", field=entry.where("from"))
    return DatedTable(f"{key} of the product", entries)


def _optimisation(section: _Section) -> Optimisation:
    take_up = section.section("take_up", {})
    optimisation = Optimisation(
        rates=section.whole("rates", 10, low=1, high=1000),
        amounts=section.whole("amounts", 10, low=1, high=1000),
        take_up=TakeUp(midpoint=take_up.number("midpoint", 0.18, high=10.0),
                       slope=take_up.number("slope", 30.0, high=1000.0),
                       maximum=take_up.number("maximum", 0.8, high=1.0)))
    take_up.done()
    section.done()
    return optimisation


__all__ = ["Costs", "Fees", "Optimisation", "Product", "load_product"]
