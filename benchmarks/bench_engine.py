"""Decision engine benchmark: fengkong beside zen-engine's fastest path, same run, same data.

    python benchmarks/bench_engine.py [--quick] [--json OUT]

Three measurements (issue #2):

1. a 100-rule x 5-input first-hit decision table over 10,000 random applicants: per-call
   latency (median, p99) from Python;
2. a 10,000-rule rate-card table, applicants matching rules in its last 1%;
3. batch evaluation of 1,000,000 applicants through a realistic credit graph (knock-out
   table + switch + pricing expressions): rows per second, fengkong's columnar
   ``Decision.evaluate_batch`` against zen-engine's ``evaluate_batch``. Zen is timed on
   100,000 rows (its throughput is flat in the row count) unless ``--full-zen``.

Zen runs with the static loader and a pre-warmed decision cache (its fastest path).
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
import time
from pathlib import Path
from typing import Any

import zen

sys.path.insert(0, str(Path(__file__).parent))

import fengkong
import graphs
import harness


def _table_latency(name: str, graph: dict[str, Any], people: list[dict[str, Any]],
                   rounds: int) -> dict[str, Any]:
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {name: graph}}})
    decision = fengkong.load(graph)
    mismatches = sum(
        decision.evaluate(person)["result"] != engine.evaluate(name, person)["result"]
        for person in people[:2000]
    )
    ours = harness.summary(harness.latencies(decision.evaluate, people, rounds))
    theirs = harness.summary(harness.latencies(lambda p: engine.evaluate(name, p), people, rounds))
    return {"fengkong": ours, "zen": theirs, "result_mismatches_first_2000": mismatches,
            "median_ratio_zen_over_fengkong": theirs["median_us"] / ours["median_us"]}


def _batch(rows: int, zen_rows: int) -> dict[str, Any]:
    graph = graphs.credit_graph()
    people = graphs.applicants(rows, seed=99)
    columns = graphs.applicant_columns(people)
    decision = fengkong.load(graph)
    decision.evaluate_batch(people[:1000])  # builds the columnar plan once
    dicts_seconds, dicts_all = harness.best_of(lambda: decision.evaluate_batch(people), 3)
    columns_seconds, columns_all = harness.best_of(lambda: decision.evaluate_batch(columns), 3)
    check = decision.evaluate_batch(people[:20_000]).records()
    mismatches = sum(
        {k: v for k, v in decision.evaluate(person)["result"].items() if v is not None} != got
        for person, got in zip(people[:20_000], check, strict=True))
    engine = zen.ZenEngine({"loader": {"type": "static", "content": {"credit": graph}}})
    requests = [{"key": "credit", "context": person} for person in people[:zen_rows]]
    engine.evaluate_batch(requests[:1000])
    start = time.perf_counter()
    engine.evaluate_batch(requests)
    zen_seconds = time.perf_counter() - start
    zen_rate = zen_rows / zen_seconds
    return {
        "rows": rows,
        "fengkong_from_row_dicts": {"seconds_median_of_3": dicts_seconds, "all": dicts_all,
                                    "rows_per_second": rows / dicts_seconds,
                                    "ratio_to_zen": rows / dicts_seconds / zen_rate},
        "fengkong_from_columns": {"seconds_median_of_3": columns_seconds, "all": columns_all,
                                  "rows_per_second": rows / columns_seconds,
                                  "ratio_to_zen": rows / columns_seconds / zen_rate},
        "batch_vs_single_mismatches_first_20000": mismatches,
        "zen_rows": zen_rows, "zen_seconds": zen_seconds, "zen_rows_per_second": zen_rate,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, for a smoke run")
    parser.add_argument("--full-zen", action="store_true", help="time zen on all batch rows")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    options = parser.parse_args()
    applicant_count = 2_000 if options.quick else 10_000
    batch_rows = 20_000 if options.quick else 1_000_000
    zen_rows = batch_rows if options.full_zen else min(batch_rows, 100_000)
    results: dict[str, Any] = {
        "date": datetime.date.today().isoformat(), "machine": harness.machine(),
        "zen_engine": getattr(zen, "__version__", "2.1.3"),
    }
    results["table_100_rules"] = _table_latency(
        "rules", graphs.rule_table_graph(100), graphs.applicants(applicant_count), rounds=3)
    print(json.dumps(results["table_100_rules"], indent=1), flush=True)
    rate_card = graphs.rate_card_graph(10_000)
    results["table_10000_rules_late_match"] = _table_latency(
        "ratecard", rate_card, graphs.rate_card_late_applicants(rate_card, 1_000), rounds=5)
    print(json.dumps(results["table_10000_rules_late_match"], indent=1), flush=True)
    results["batch_credit_graph"] = _batch(batch_rows, zen_rows)
    print(json.dumps(results["batch_credit_graph"], indent=1), flush=True)
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
