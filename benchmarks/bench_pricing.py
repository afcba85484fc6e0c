"""Pricing benchmark: the latency of pricing one applicant, against the 1 ms decision budget.

    python benchmarks/bench_pricing.py [--quick] [--json OUT]

Over 10,000 seeded random applicants (PD, income, obligations, requested amount), each call
timed on its own (``harness.latencies``), median and p99 of:

1. ``price(...)`` — risk-based APR, all-in APR, cap, limit (target: under 50 µs median);
2. ``price(..., optimise=True)`` over the default 10 rates x 10 amounts grid;
3. ``PricingDecision.to_dict()`` — the JSON-ready output the node adds to a flow;
4. a whole JDM flow (input -> ``pricing`` node -> output) through ``fengkong.load``.

The product has an upfront and a monthly fee, so every all-in APR is a real IRR solve. There
is no peer to run beside: no open-source engine prices loans; zen-engine would need the IRR
written as a JavaScript function node.
"""

from __future__ import annotations

import argparse
import datetime
import json
import random
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

import fengkong
import harness
from fengkong.pricing import Application, load_product, price

PRODUCT = {
    "name": "cash-12m",
    "term_months": 12,
    "amount": {"min": 1000, "max": 50_000, "step": 100},
    "fees": {"upfront": 0.01, "monthly": 0.0005},
    "costs": {"funding": 0.035, "operating": 0.03, "margin": 0.02, "capital_ratio": 0.105,
              "cost_of_equity": 0.12},
    "lgd": 0.85,
    "loss_budget": 800,
    "dti_ceiling": 0.5,
}
ON = datetime.date(2026, 5, 1)


def applicants(count: int) -> list[dict[str, Any]]:
    """Seeded applicants: PDs mostly 0.5-15% (a few far above the cap), incomes 3k-50k."""
    rng = random.Random(7)
    return [{"pd": min(1.0, rng.lognormvariate(-3.4, 0.8)),
             "income": round(rng.uniform(3_000, 50_000), 2),
             "obligations": round(rng.uniform(0, 4_000), 2),
             "requested": rng.choice([None, 5_000, 10_000, 20_000, 50_000])}
            for _ in range(count)]


def flow() -> dict[str, Any]:
    config = {"product": PRODUCT, "pd": "pd", "income": "income",
              "obligations": "obligations", "requested": "requested", "date": "'2026-05-01'"}
    return {"nodes": [{"id": "in", "name": "Request", "type": "inputNode", "content": {}},
                      {"id": "p", "name": "Price", "type": "customNode",
                       "content": {"kind": "pricing", "config": config}},
                      {"id": "out", "name": "Response", "type": "outputNode", "content": {}}],
            "edges": [{"id": "e1", "sourceId": "in", "targetId": "p"},
                      {"id": "e2", "sourceId": "p", "targetId": "out"}]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    args = parser.parse_args()
    people = applicants(1_000 if args.quick else 10_000)
    rounds = 1 if args.quick else 3
    product = load_product(PRODUCT)
    cases = [(person, Application(person["income"], person["obligations"],
                                  person["requested"])) for person in people]
    decisions = [price(application, product, person["pd"], ON) for person, application in cases]
    decision = fengkong.load(flow())

    measured = {
        "price": harness.latencies(
            lambda case: price(case[1], product, case[0]["pd"], ON), cases, rounds),
        "price_optimised_10x10": harness.latencies(
            lambda case: price(case[1], product, case[0]["pd"], ON, optimise=True), cases,
            rounds),
        "to_dict": harness.latencies(lambda made: made.to_dict(), decisions, rounds),
        "flow_with_pricing_node": harness.latencies(decision.evaluate, people, rounds),
    }
    offers = sum(made.outcome == "offer" for made in decisions)
    results: dict[str, Any] = {name: harness.summary(samples)
                               for name, samples in measured.items()}
    results["applicants"] = len(people)
    results["offer_share"] = offers / len(people)
    results["machine"] = harness.machine()
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1), encoding="utf-8")
    labels = {"price": "`price(...)`, risk-based",
              "price_optimised_10x10": "`price(..., optimise=True)`, 10 x 10 grid",
              "to_dict": "`PricingDecision.to_dict()`",
              "flow_with_pricing_node": "JDM flow: input -> `pricing` node -> output"}
    header = (f"## Pricing — `python benchmarks/bench_pricing.py`\n\n"
              f"Date {datetime.date.today().isoformat()}; machine: {results['machine']}. "
              f"{len(people):,} seeded applicants x {rounds} rounds, "
              f"{results['offer_share']:.0%} offered.")
    print(harness.latency_table(header, labels, results))


if __name__ == "__main__":
    main()
