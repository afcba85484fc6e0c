"""Model quality on real public data: fengkong's trainers against a plain scikit-learn
logistic regression, on the same splits.

* Scorecards (optbinning binning + logistic regression + points) on German credit,
  credit_data and lending_club: holdout AUC over a stratified 70/30 split, mean of 5 seeds.
  Targets: >= 0.79, >= 0.84, >= 0.72.
* Gradient-boosted trees (LightGBM, 500 trees, 1 thread) on the ULB card-fraud data:
  precision-recall AUC (average precision) on a time split, the first 70% by time
  training. Target: >= 0.83.

Each model goes through ``fengkong.models.training.train`` — the product path: split,
fit, Platt calibration, holdout metrics, model card, artifact, and the check that the
request-path scorer reproduces the training library's scores. The holdout figures are
recomputed with scikit-learn's metrics as an independent referee. The baseline is the
logistic regression an analyst would fit first: median/most-frequent imputation,
standardised numbers, one-hot categories.

    python benchmarks/bench_model_quality.py [--seeds 5] [--datasets german_credit ...]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from fengkong.datasets.public import Dataset, load_dataset
from fengkong.models.training import Split, train
from harness import machine

TARGETS = {"german_credit": 0.79, "credit_data": 0.84, "lending_club": 0.72, "ulb_fraud": 0.83}


def baseline(dataset: Dataset, train_rows: np.ndarray, test_rows: np.ndarray) -> np.ndarray:
    """Holdout probabilities of a plain scikit-learn logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    features = [f for f in dataset.features if f != dataset.time_column]
    numeric = [f for f in features if f not in dataset.categorical]
    model = make_pipeline(
        ColumnTransformer([
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()),
             numeric),
            ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"),
                                          OneHotEncoder(handle_unknown="ignore")),
             list(dataset.categorical)),
        ]),
        LogisticRegression(max_iter=2000))
    X = dataset.frame.loc[:, features]
    y = dataset.y
    model.fit(X.iloc[train_rows], y[train_rows])
    return model.predict_proba(X.iloc[test_rows])[:, 1]


def run(dataset: Dataset, kind: str, split: Split, workdir: Path) -> dict[str, Any]:
    from sklearn.metrics import average_precision_score, roc_auc_score

    if kind == "scorecard":
        from fengkong.models.scorecard import ScorecardTrainer as Trainer
    else:
        from fengkong.models.gbdt import GBDTTrainer as Trainer  # type: ignore[assignment]
    trainer: Any = Trainer()
    start = time.perf_counter()
    report = train(trainer, dataset.frame, dataset.target, workdir / f"{dataset.name}-{split.seed}",
                   split=split, dataset=dataset.name, reason_overrides=dataset.reason_codes)
    seconds = time.perf_counter() - start
    train_rows, test_rows = split.indices(dataset.frame, dataset.y)
    y_test = dataset.y[test_rows]
    features = [f["name"] for f in report.artifact.metadata["features"]]
    scores = trainer.raw_scores(dataset.frame.loc[:, features].iloc[test_rows])
    risk = -scores if trainer.higher_is_better else scores
    lr = baseline(dataset, train_rows, test_rows)
    return {"seed": split.seed, "seconds": round(seconds, 1),
            "auc": float(roc_auc_score(y_test, risk)),
            "average_precision": float(average_precision_score(y_test, risk)),
            "reported_auc": report.metrics["auc"],
            "ece": report.metrics.get("ece"),
            "baseline_auc": float(roc_auc_score(y_test, lr)),
            "baseline_average_precision": float(average_precision_score(y_test, lr))}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    results: dict[str, Any] = {"machine": machine(), "datasets": {}}
    lines = ["| data set | model | metric | fengkong (mean) | per seed | LR baseline (mean) "
             "| target | fit+card s |", "|---|---|---|---|---|---|---|---|"]
    with tempfile.TemporaryDirectory() as temporary:
        for name in args.datasets:
            dataset = load_dataset(name)
            if name == "ulb_fraud":
                kind, metric = "gbdt", "average_precision"
                splits = [Split(0.3, 0, dataset.time_column)]
            else:
                kind, metric = "scorecard", "auc"
                splits = [Split(0.3, seed) for seed in range(args.seeds)]
            runs = [run(dataset, kind, split, Path(temporary)) for split in splits]
            mean = statistics.fmean(r[metric] for r in runs)
            base = statistics.fmean(r[f"baseline_{metric}"] for r in runs)
            results["datasets"][name] = {"kind": kind, "metric": metric, "mean": mean,
                                         "baseline_mean": base, "target": TARGETS[name],
                                         "met": mean >= TARGETS[name], "runs": runs}
            per_seed = ", ".join(f"{r[metric]:.3f}" for r in runs)
            seconds = statistics.fmean(r["seconds"] for r in runs)
            lines.append(f"| {name} | {kind} | {metric} | **{mean:.4f}** | {per_seed} | "
                         f"{base:.4f} | >= {TARGETS[name]} | {seconds:.1f} |")
            print(lines[-1], file=sys.stderr, flush=True)
    print(f"Model quality ({results['machine']})\n")
    print("\n".join(lines))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
