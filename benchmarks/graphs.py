"""Seeded generators of the decision graphs and applicants the engine benchmarks use.

The graphs are plain JDM documents, so the same dict runs in fengkong and in zen-engine.
"""

from __future__ import annotations

import random
from typing import Any

GRADES = ["A", "B", "C", "D", "E"]
REGIONS = ["north", "south", "east", "west", "central", "overseas"]
PRODUCTS = ["cash", "consumer", "auto", "education", "medical", "travel", "home", "sme"]


def _node(node_id: str, node_type: str, name: str, x: int, content: Any = None) -> dict[str, Any]:
    node: dict[str, Any] = {"id": node_id, "type": node_type, "name": name,
                            "position": {"x": x, "y": 0}}
    if content is not None:
        node["content"] = content
    return node


def _edge(edge_id: str, source: str, target: str, handle: str | None = None) -> dict[str, Any]:
    edge = {"id": edge_id, "sourceId": source, "targetId": target, "type": "edge"}
    if handle is not None:
        edge["sourceHandle"] = handle
    return edge


def _table(inputs: list[tuple[str, str]], outputs: list[tuple[str, str]],
           rules: list[dict[str, str]], hit_policy: str = "first") -> dict[str, Any]:
    return {
        "hitPolicy": hit_policy,
        "inputs": [{"id": f"in_{key}", "name": key, "field": field} for key, field in inputs],
        "outputs": [{"id": f"out_{key}", "name": key, "field": field} for key, field in outputs],
        "rules": [
            {"_id": f"rule{index}", **{f"in_{k}": v for k, v in rule.items() if not k.startswith("=")},
             **{f"out_{k[1:]}": v for k, v in rule.items() if k.startswith("=")}}
            for index, rule in enumerate(rules)
        ],
    }


def _single_table_graph(table: dict[str, Any]) -> dict[str, Any]:
    return {
        "nodes": [
            _node("input", "inputNode", "Application", 0),
            _node("table", "decisionTableNode", "Rules", 300, table),
            _node("output", "outputNode", "Decision", 600),
        ],
        "edges": [_edge("e1", "input", "table"), _edge("e2", "table", "output")],
    }


def rule_table_graph(rule_count: int = 100, seed: int = 7) -> dict[str, Any]:
    """A first-hit table over 5 inputs of the shapes credit rules use, catch-all last."""
    rng = random.Random(seed)
    inputs = [("age", "applicant.age"), ("income", "applicant.income"),
              ("grade", "applicant.grade"), ("score", "bureau.score"),
              ("region", "applicant.region")]

    def cell(column: str) -> str:
        if rng.random() < 0.3:
            return ""
        if column == "age":
            low = rng.randint(18, 40)
            return rng.choice([f">= {low}", f"[{low}..{low + rng.randint(5, 30)}]", f"< {low + 20}"])
        if column == "income":
            return rng.choice([f"> {rng.randint(1, 30) * 1000}", f"<= {rng.randint(5, 50) * 1000}",
                               f"[{rng.randint(1, 10) * 1000}..{rng.randint(11, 40) * 1000})"])
        if column == "grade":
            return ", ".join(f"'{g}'" for g in rng.sample(GRADES, rng.randint(1, 3)))
        if column == "score":
            low = rng.randint(300, 700)
            return rng.choice([f"> {low}", f"[{low}..{low + rng.randint(20, 200)}]"])
        return ", ".join(f"'{r}'" for r in rng.sample(REGIONS, rng.randint(1, 3)))

    rules = []
    for index in range(rule_count - 1):
        rule = {key: cell(key) for key, _ in inputs}
        rule["=decision"] = rng.choice(['"approve"', '"review"', '"reject"'])
        rule["=reason"] = f'"R{index:04d}"'
        rules.append(rule)
    rules.append({**{key: "" for key, _ in inputs}, "=decision": '"review"', "=reason": '"DEFAULT"'})
    outputs = [("decision", "decision"), ("reason", "reason")]
    return _single_table_graph(_table(inputs, outputs, rules))


def applicants(count: int, seed: int = 11) -> list[dict[str, Any]]:
    """Random applicants for :func:`rule_table_graph` and :func:`credit_graph`."""
    rng = random.Random(seed)
    people = []
    for _ in range(count):
        people.append({
            "applicant": {
                "age": rng.randint(16, 75),
                "income": rng.randint(0, 60) * 1000 + rng.choice([0, 500]),
                "grade": rng.choice(GRADES),
                "region": rng.choice(REGIONS),
                "product": rng.choice(PRODUCTS),
                "overdueCount": rng.choice([0, 0, 0, 1, 2, 5]),
                "blacklisted": rng.random() < 0.03,
                "debt": rng.randint(0, 40) * 1000,
            },
            "bureau": {"score": rng.randint(300, 900)},
            "loan": {"amount": rng.randint(1, 100) * 1000, "term": rng.choice([3, 6, 12, 24, 36])},
        })
    return people


def applicant_columns(people: list[dict[str, Any]]) -> dict[str, Any]:
    """The same applicants as columns (dotted path -> NumPy array), as a backtest reads them
    from Parquet."""
    import numpy as np

    columns: dict[str, Any] = {}
    for group, fields in people[0].items():
        for field in fields:
            values = [person[group][field] for person in people]
            kind = object if isinstance(values[0], str) else None
            columns[f"{group}.{field}"] = np.array(values, dtype=kind)
    return columns


def rate_card_graph(rule_count: int = 10_000) -> dict[str, Any]:
    """A large pricing table: product x region x score band x term grid, one rule per cell."""
    bands = max(1, rule_count // (len(PRODUCTS) * len(REGIONS) * 5))
    width = 600 / bands
    rules = []
    for product in PRODUCTS:
        for region in REGIONS:
            for term in (3, 6, 12, 24, 36):
                for band in range(bands):
                    low = 300 + band * width
                    rules.append({
                        "product": f"'{product}'", "region": f"'{region}'", "term": str(term),
                        "score": f"[{low:.2f}..{low + width:.2f})",
                        "=rate": f"{0.24 - band * 0.12 / bands:.4f}",
                        "=band": f'"{product}-{region}-{term}-{band}"',
                    })
    rules = rules[:rule_count]
    inputs = [("product", "loan.product"), ("region", "applicant.region"), ("term", "loan.term"),
              ("score", "bureau.score")]
    return _single_table_graph(_table(inputs, [("rate", "pricing.rate"), ("band", "pricing.band")],
                                      rules))


def rate_card_late_applicants(graph: dict[str, Any], count: int, seed: int = 5) -> list[dict]:
    """Applicants matching one of the last 1% of the rate card's rules."""
    rng = random.Random(seed)
    rules = graph["nodes"][1]["content"]["rules"]
    tail = rules[-max(1, len(rules) // 100):]
    people = []
    for _ in range(count):
        rule = rng.choice(tail)
        low, high = (float(x) for x in rule["in_score"].strip("[)").split(".."))
        people.append({
            "loan": {"product": rule["in_product"].strip("'"), "term": int(rule["in_term"])},
            "applicant": {"region": rule["in_region"].strip("'")},
            "bureau": {"score": round(rng.uniform(low, high - 0.01), 2)},
        })
    return people


def credit_graph() -> dict[str, Any]:
    """A realistic approval flow: knock-out table -> switch on grade -> pricing expressions."""
    knockouts = _table(
        [("age", "applicant.age"), ("income", "applicant.income"),
         ("overdue", "applicant.overdueCount"), ("blacklisted", "applicant.blacklisted"),
         ("score", "bureau.score")],
        [("status", "status"), ("reason", "reason")],
        [
            {"age": "< 18", "income": "", "overdue": "", "blacklisted": "", "score": "",
             "=status": '"reject"', "=reason": '"UNDERAGE"'},
            {"age": "> 65", "income": "", "overdue": "", "blacklisted": "", "score": "",
             "=status": '"reject"', "=reason": '"OVERAGE"'},
            {"age": "", "income": "", "overdue": "", "blacklisted": "true", "score": "",
             "=status": '"reject"', "=reason": '"BLACKLIST"'},
            {"age": "", "income": "< 3000", "overdue": "", "blacklisted": "", "score": "",
             "=status": '"reject"', "=reason": '"LOW_INCOME"'},
            {"age": "", "income": "", "overdue": ">= 3", "blacklisted": "", "score": "",
             "=status": '"reject"', "=reason": '"DELINQUENT"'},
            {"age": "", "income": "", "overdue": "", "blacklisted": "", "score": "< 450",
             "=status": '"reject"', "=reason": '"LOW_SCORE"'},
            {"age": "", "income": "", "overdue": "[1..2]", "blacklisted": "", "score": "[450..600)",
             "=status": '"review"', "=reason": '"THIN_MARGIN"'},
            {"age": "", "income": "", "overdue": "", "blacklisted": "", "score": "",
             "=status": '"approve"', "=reason": '"OK"'},
        ],
    )
    knockouts["passThrough"] = True  # keep the application for the nodes downstream
    switch = {"hitPolicy": "first", "statements": [
        {"id": "prime", "condition": "status == 'approve' and bureau.score >= 700"},
        {"id": "near", "condition": "status == 'approve'"},
        {"id": "other", "condition": ""},
    ]}

    def pricing(base_rate: str, multiple: str) -> dict[str, Any]:
        return {"passThrough": True, "expressions": [
            {"id": "x1", "key": "offer.limit",
             "value": f"min([max([applicant.income * {multiple} - applicant.debt * 0.5, 0]), "
                      "200000])"},
            {"id": "x2", "key": "offer.apr",
             "value": f"{base_rate} + (900 - bureau.score) * 0.0002"},
            {"id": "x3", "key": "offer.monthlyPayment",
             "value": "round(loan.amount * (1 + 0.12 * loan.term / 12) / loan.term, 2)"},
        ]}

    nodes = [
        _node("input", "inputNode", "Application", 0),
        _node("knockouts", "decisionTableNode", "Knock-out rules", 200, knockouts),
        _node("route", "switchNode", "Route by risk", 400, switch),
        _node("prime", "expressionNode", "Prime pricing", 600, pricing("0.08", "6")),
        _node("near", "expressionNode", "Near-prime pricing", 600, pricing("0.14", "3")),
        _node("decline", "expressionNode", "No offer", 600, {"passThrough": True, "expressions": [
            {"id": "x4", "key": "offer", "value": "null"}]}),
        _node("output", "outputNode", "Decision", 800),
    ]
    edges = [
        _edge("e1", "input", "knockouts"), _edge("e2", "knockouts", "route"),
        _edge("e3", "route", "prime", "prime"), _edge("e4", "route", "near", "near"),
        _edge("e5", "route", "decline", "other"),
        _edge("e6", "prime", "output"), _edge("e7", "near", "output"),
        _edge("e8", "decline", "output"),
    ]
    return {"nodes": nodes, "edges": edges}
