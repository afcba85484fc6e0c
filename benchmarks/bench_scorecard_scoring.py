"""Scorecard scoring benchmark: one application through the request-path scorer, beside
optbinning's own ``Scorecard.score`` on a one-row DataFrame, same run, same scorecard.

    python benchmarks/bench_scorecard_scoring.py [--quick] [--json OUT]

The German credit scorecard (``fengkong.datasets.load_dataset("german_credit")``, all 1,000
rows, the trainer's defaults) is written as an artifact folder and loaded with
``load_model``, as a flow loads it. Each of the 1,000 applicants, as JSON would give them
(ints, floats, text, all 20 characteristics), is scored with 4 reasons; every call is timed
on its own (``harness.latencies``) over several runs, and the figures are the median and
p99 of all calls, with the per-run medians to show the spread. A second scorecard keeps
every characteristic (``min_iv=0``): 20 bin lookups per call, the worst case. Before
timing, every applicant's score is checked against optbinning's batch ``Scorecard.score``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import statistics
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import optbinning
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

import harness
from fengkong.datasets import load_dataset
from fengkong.models.artifact import write_artifact
from fengkong.models.calibration import fit_platt
from fengkong.models.reasons import ReasonCatalogue
from fengkong.models.scorecard import ScorecardTrainer
from fengkong.models.scorers import load_model


def _scorer(trainer: ScorecardTrainer, folder: Path) -> Any:
    metadata = trainer.artifact_metadata()
    reasons = ReasonCatalogue.load().resolve(f["name"] for f in metadata["features"])
    write_artifact(folder, {"name": "german", "kind": trainer.kind, **metadata,
                            "calibration": fit_platt(*trainer.calibration_data()).to_dict(),
                            "reasons": reasons.to_dict()}, trainer.artifact_files())
    return load_model(folder)


def _measure(label: str, trainer: ScorecardTrainer, X: pd.DataFrame, rows: list[dict[str, Any]],
             runs: int, rounds: int, optbinning_calls: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as folder:
        scorer = _scorer(trainer, Path(folder))
    expected = trainer.raw_scores(X)
    mismatches = sum(scorer.score(row, 0).score != expected[index]
                     for index, row in enumerate(rows))
    samples: list[float] = []
    run_medians = []
    for _ in range(runs):
        run = harness.latencies(lambda row: scorer.score(row, 4), rows, rounds=rounds)
        run_medians.append(statistics.median(run) * 1e6)
        samples += run
    ours = harness.summary(samples)
    frames = [X.iloc[[index]] for index in range(min(optbinning_calls, len(X)))]
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", module="optbinning")
        reference = harness.summary(harness.latencies(trainer.scorecard_.score, frames,
                                                      rounds=1, warmup=10))
    return {
        "scorecard": label, "characteristics": len(trainer.characteristics_),
        "features_per_row": len(rows[0]), "score_mismatches": int(mismatches),
        "calls": ours["samples"], "median_us": round(ours["median_us"], 2),
        "p99_us": round(ours["p99_us"], 2), "mean_us": round(ours["mean_us"], 2),
        "run_medians_us": [round(value, 2) for value in run_medians],
        "optbinning_median_us": round(reference["median_us"], 1),
        "optbinning_p99_us": round(reference["p99_us"], 1),
        "optbinning_calls": reference["samples"],
        "speedup": round(reference["median_us"] / ours["median_us"]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few calls, for a smoke run")
    parser.add_argument("--json", type=Path, help="write the results here as JSON")
    options = parser.parse_args()
    runs, rounds, optbinning_calls = (2, 1, 20) if options.quick else (5, 10, 300)
    data = load_dataset("german_credit")
    X, y = data.X, data.y
    # The applicants as a JSON request carries them: ints, floats and text.
    rows = json.loads(X.to_json(orient="records"))
    results: dict[str, Any] = {
        "date": datetime.date.today().isoformat(), "machine": harness.machine(),
        "optbinning": optbinning.__version__, "numpy": np.__version__,
        "pandas": pd.__version__, "results": [],
    }
    for label, trainer in (("default (min_iv=0.02)", ScorecardTrainer()),
                           ("every characteristic (min_iv=0)", ScorecardTrainer(min_iv=0))):
        trainer.fit(X, y)
        result = _measure(label, trainer, X, rows, runs, rounds, optbinning_calls)
        results["results"].append(result)
        print(json.dumps(result), file=sys.stderr, flush=True)
    print(f"### Scorecard scoring, German credit ({results['date']}; {results['machine']}; "
          f"optbinning {results['optbinning']}, pandas {results['pandas']})\n")
    print("| scorecard | characteristics | score() with 4 reasons: median | p99 | "
          "per-run medians | optbinning Scorecard.score, 1 row: median | ratio | "
          "mismatches |")
    print("|---|---|---|---|---|---|---|---|")
    for result in results["results"]:
        medians = ", ".join(f"{value:.1f}" for value in result["run_medians_us"])
        print(f"| {result['scorecard']} | {result['characteristics']} of "
              f"{result['features_per_row']} | {result['median_us']:.1f} µs | "
              f"{result['p99_us']:.1f} µs | {medians} | "
              f"{result['optbinning_median_us'] / 1000:.2f} ms | {result['speedup']}x | "
              f"{result['score_mismatches']} of {len(rows)} |")
    print(f"\n{results['results'][0]['calls']} timed calls per scorecard "
          f"({runs} runs x {rounds} passes over {len(rows)} applicants); optbinning: "
          f"{results['results'][0]['optbinning_calls']} one-row calls.")
    if options.json:
        options.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
