"""Why an applicant was declined or an offer flagged: a stable code, Chinese and English
text, and the figures behind it — what a reviewer reads, what a complaint answer quotes,
and what a decision table matches on (``pricing.reasons[0].code``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fengkong.pricing.display import shown_rate

PRICE_ABOVE_CAP = "PRICE_ABOVE_CAP"
LIMIT_BELOW_MINIMUM = "LIMIT_BELOW_MINIMUM"
RATE_MONITORED = "RATE_MONITORED"

CONSTRAINT_NAMES = {  # constraint -> (Chinese, English), for the limit reason's text
    "affordability": ("还款能力（收入负债比）", "affordability (debt-to-income ceiling)"),
    "risk_budget": ("风险损失预算", "the risk (loss) budget"),
    "product_maximum": ("产品最高额度", "the product maximum"),
    "regulatory_maximum": ("监管单户额度上限", "the regulatory per-borrower maximum"),
    "requested": ("申请金额", "the requested amount"),
}


@dataclass(frozen=True, slots=True)
class Reason:
    """A reason code with its texts and figures (``details``)."""

    code: str
    zh: str
    en: str
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "zh": self.zh, "en": self.en, "details": self.details}


def price_above_cap(required: float, cap: float, effective_from: str) -> Reason:
    """The risk-based all-in APR (or the product's cheapest price point) is above the cap."""
    return Reason(
        PRICE_ABOVE_CAP,
        f"风险定价所需年化综合成本 {required:.2%} 超过监管上限 {cap:.2%}，无法在上限内定价",
        f"the risk-based all-in APR of {required:.2%} is above the regulatory cap of "
        f"{cap:.2%}: the risk cannot be priced under the cap",
        {"requiredApr": shown_rate(required), "cap": cap, "capEffectiveFrom": effective_from})


def limit_below_minimum(limit: int, minimum: int, binding: str) -> Reason:
    """The largest limit the constraints allow is below the product minimum."""
    zh, en = CONSTRAINT_NAMES[binding]
    return Reason(
        LIMIT_BELOW_MINIMUM,
        f"可授信额度 {limit:,} 元低于产品最低额度 {minimum:,} 元（受限于{zh}）",
        f"the limit of RMB {limit:,} is below the product minimum of RMB {minimum:,} "
        f"(bound by {en})",
        {"limit": limit, "minimum": minimum, "binding": binding})


def rate_monitored(all_in: float, threshold: float) -> Reason:
    """A notice, not a decline: the offer is priced in the band regulators monitor."""
    return Reason(
        RATE_MONITORED,
        f"年化综合成本 {all_in:.2%} 高于 {threshold:.0%}，属监管关注区间",
        f"the all-in APR of {all_in:.2%} is above {threshold:.0%}, in the band regulators "
        "monitor",
        {"allInApr": shown_rate(all_in), "threshold": threshold})
