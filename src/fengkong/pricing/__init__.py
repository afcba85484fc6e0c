"""Risk-based pricing and credit limits (千人千面差异化授信及风险定价).

Every applicant gets their own price and limit: the APR their risk requires (funding,
expected loss, operating cost, capital, margin), checked with fees included against the
regulatory cap in force on the decision date, and the largest limit that their income, the
risk budget, the product and the regulator allow. ``price`` returns a
:class:`PricingDecision` — an offer or a decline with a coded reason — whose ``to_dict()``
is what the ``pricing`` graph node adds to a flow. See ``docs/pricing.md``.

>>> from fengkong.pricing import Application, load_product, price
"""

from fengkong.pricing.annuity import Basis
from fengkong.pricing.apr import AprComponents, all_in_apr, apr_components, interest_rate_for
from fengkong.pricing.decision import Application, Limit, PricingDecision, price
from fengkong.pricing.grids import AmountGrid, RateGrid
from fengkong.pricing.limit import LimitComponents
from fengkong.pricing.optimise import ProfitPoint, ProfitSearch
from fengkong.pricing.product import Costs, Fees, Optimisation, Product, load_product
from fengkong.pricing.reasons import Reason
from fengkong.pricing.regulation import DatedTable, DatedValue
from fengkong.pricing.takeup import TakeUp

__all__ = [
    "AmountGrid",
    "Application",
    "AprComponents",
    "Basis",
    "Costs",
    "DatedTable",
    "DatedValue",
    "Fees",
    "Limit",
    "LimitComponents",
    "Optimisation",
    "PricingDecision",
    "Product",
    "ProfitPoint",
    "ProfitSearch",
    "RateGrid",
    "Reason",
    "TakeUp",
    "all_in_apr",
    "apr_components",
    "interest_rate_for",
    "load_product",
    "price",
]
