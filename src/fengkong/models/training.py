"""Training a model end to end: split, fit, calibrate, measure, explain, write the artifact.

The trainers (:class:`fengkong.models.scorecard.ScorecardTrainer`,
:class:`fengkong.models.gbdt.GBDTTrainer`) know their algorithm; :func:`train` does what
every model needs around it, the same way each time:

1. split the rows into training and holdout: stratified by outcome (default 70/30, seeded),
   or by time (the earliest 70% train), so that the holdout figures are honest;
2. fit the trainer on the training rows;
3. fit Platt calibration on scores the model did not fit on (:mod:`.calibration`), so that
   the PD means what it says;
4. measure the holdout: AUC, Gini, KS, average precision, Brier score, calibration
   (:mod:`.metrics`), and draw the plots of the model card (:mod:`.card`);
5. resolve each feature's reason code in the catalogue (:mod:`.reasons`);
6. write the artifact folder (:mod:`.artifact`) and load it back through the request-path
   scorer, checking on holdout rows that it gives the scores the training library gave —
   so a model whose deployed scorer disagrees with its own metrics is never written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import platform
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata as package_metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from fengkong.errors import FengkongError
from fengkong.models.artifact import Artifact, write_artifact
from fengkong.models.base import Scorer
from fengkong.models.calibration import fit_platt
from fengkong.models.reasons import ReasonCatalogue
from fengkong.models.scorers import scorer_from_artifact

if TYPE_CHECKING:
    import pandas

# Libraries whose versions a model's metadata records (a model is reproducible with them).
_LIBRARIES = ("fengkong", "numpy", "pandas", "scikit-learn", "optbinning", "lightgbm", "numba")
_CHECK_ROWS = 500  # holdout rows scored one by one through the deployed scorer


class Trainer(Protocol):
    """What :func:`train` needs of a model trainer (see the module docstring)."""

    kind: str
    higher_is_better: bool

    def fit(self, X: pandas.DataFrame, y: np.ndarray) -> Any: ...

    def raw_scores(self, X: pandas.DataFrame) -> np.ndarray: ...

    def calibration_data(self) -> tuple[np.ndarray, np.ndarray]: ...

    def artifact_files(self) -> dict[str, bytes | str]: ...

    def artifact_metadata(self) -> dict[str, Any]: ...


@dataclass(frozen=True, slots=True)
class Split:
    """How rows are divided into training and holdout.

    ``time_column`` set: the rows sorted by it, the earliest ``1 - test_size`` train (a
    model is always used on applicants who come after its training data). Otherwise a
    random split stratified by outcome: scikit-learn's ``train_test_split(rows,
    test_size=test_size, stratify=y, random_state=seed)``.
    """

    test_size: float = 0.3
    seed: int = 0
    time_column: str | None = None

    def indices(self, frame: pandas.DataFrame, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not 0 < self.test_size < 1:
            raise FengkongError(f"the holdout share must be between 0 and 1, not "
                                f"{self.test_size}", field="test_size")
        if self.time_column is not None:
            if self.time_column not in frame.columns:
                raise FengkongError(f"no time column {self.time_column!r} in the data",
                                    field="time_column")
            order = np.argsort(frame[self.time_column].to_numpy(), kind="stable")
            cut = round(len(order) * (1 - self.test_size))
            return np.sort(order[:cut]), np.sort(order[cut:])
        # scikit-learn's split, so that anyone can reproduce a model's holdout (and compare
        # with figures published for these data sets) with train_test_split(random_state=seed).
        from sklearn.model_selection import train_test_split

        train, test = train_test_split(np.arange(len(y)), test_size=self.test_size,
                                       stratify=y, random_state=self.seed)
        return np.sort(train), np.sort(test)

    def to_dict(self) -> dict[str, Any]:
        if self.time_column is not None:
            return {"method": "time", "column": self.time_column, "test_size": self.test_size}
        return {"method": "stratified", "seed": self.seed, "test_size": self.test_size}


@dataclass(frozen=True, slots=True)
class TrainingReport:
    """What :func:`train` produced: the artifact, its holdout metrics, the deployed scorer,
    and the features the reason-code catalogue did not name (given ``R90``)."""

    artifact: Artifact
    metrics: dict[str, Any]
    scorer: Scorer
    unmapped_reasons: tuple[str, ...]

    def summary(self) -> dict[str, Any]:
        keys = ("rows", "bad_rate", "auc", "gini", "ks", "average_precision", "brier", "ece")
        return {"model": str(self.artifact.path), "name": self.artifact.name,
                "kind": self.artifact.kind,
                **{key: self.metrics[key] for key in keys if key in self.metrics},
                "unmapped_reasons": list(self.unmapped_reasons)}


def train(trainer: Trainer, data: pandas.DataFrame, target: str, out: str | Path, *,
          name: str | None = None, features: Sequence[str] | None = None,
          split: Split | None = None, dataset: str | None = None,
          reasons: ReasonCatalogue | None = None,
          reason_overrides: Mapping[str, str] | None = None,
          progress: Callable[[str], None] | None = None) -> TrainingReport:
    """Train ``trainer`` on ``data`` (``target``: 1 = bad, 0 = good) and write the model
    artifact folder ``out``; see the module docstring for the steps."""
    say = progress or (lambda step: None)
    split = split or Split()
    columns = list(features) if features is not None else [
        column for column in data.columns if column not in (target, split.time_column)]
    _check_columns(data, target, columns)
    y = _outcomes(data[target])
    train_rows, test_rows = split.indices(data, y)
    if min(y[train_rows].sum(), y[test_rows].sum()) == 0:
        raise FengkongError("the training or the holdout rows hold no bad outcome; "
                            "a model cannot be trained or measured", field=target)
    X = data.loc[:, columns]
    X_train, X_test = X.iloc[train_rows], X.iloc[test_rows]

    say(f"fitting the {trainer.kind} on {len(train_rows):,} rows")
    trainer.fit(X_train, y[train_rows])
    calibration = fit_platt(*trainer.calibration_data())

    say(f"measuring on {len(test_rows):,} holdout rows")
    from fengkong.models.card import model_card, render_plots
    from fengkong.models.metrics import holdout_metrics

    scores = np.asarray(trainer.raw_scores(X_test), dtype=np.float64)
    pd = calibration.pd_array(scores)
    metrics = holdout_metrics(y[test_rows], pd, scores,
                              higher_is_better=trainer.higher_is_better)
    model_metadata = trainer.artifact_metadata()
    resolution = (reasons or ReasonCatalogue.load()).resolve(
        [feature["name"] for feature in model_metadata["features"]], reason_overrides)
    name = name or Path(out).name
    metadata: dict[str, Any] = {
        "name": name,
        "kind": trainer.kind,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "target": target,
        "higher_is_better": trainer.higher_is_better,
        **model_metadata,
        "training": {"dataset": dataset, "rows": len(data), "train_rows": len(train_rows),
                     "test_rows": len(test_rows), "bad_rate": round(float(y.mean()), 6),
                     "data_sha256": data_sha256(data.loc[:, [*columns, target]]),
                     "split": split.to_dict()},
        "calibration": calibration.to_dict(),
        "reasons": resolution.to_dict(),
        "versions": library_versions(),
    }
    say("drawing the model card")
    title = f"{name} ({trainer.kind})"
    plots = render_plots(y[test_rows], pd, scores, higher_is_better=trainer.higher_is_better,
                         title=title)
    files: dict[str, bytes | str] = {
        **trainer.artifact_files(),
        "metrics.json": json.dumps(metrics, ensure_ascii=False, indent=2) + "\n",
        "model_card.md": model_card(metadata, metrics, plots),
        **plots,
    }
    artifact = write_artifact(out, metadata, files)
    scorer = scorer_from_artifact(artifact)
    _check_deployed_scorer(scorer, X_test, scores, name)
    return TrainingReport(artifact, metrics, scorer, resolution.unmapped)


def _check_columns(data: pandas.DataFrame, target: str, columns: Iterable[str]) -> None:
    if target not in data.columns:
        raise FengkongError(f"no target column {target!r} in the data (columns: "
                            f"{', '.join(map(str, data.columns[:20]))})", field="target")
    missing = [column for column in columns if column not in data.columns]
    if missing:
        raise FengkongError(f"no feature column {missing[0]!r} in the data", field=missing[0])
    if not columns:
        raise FengkongError("no feature columns to train on", field="features")


def _outcomes(column: pandas.Series) -> np.ndarray:
    values = column.to_numpy()
    if column.isna().any():
        raise FengkongError(f"the target {column.name!r} has missing values",
                            field=str(column.name))
    try:
        outcomes = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):  # text labels ("bad"/"good"): the caller must map them
        outcomes = None
    if outcomes is None or not np.isin(outcomes, (0.0, 1.0)).all():
        seen = sorted(map(str, set(values.tolist())))[:5]
        raise FengkongError(f"the target {column.name!r} must be 1 (bad) or 0 (good); it holds "
                            f"{', '.join(seen)}", field=str(column.name))
    return outcomes.astype(np.int8)


def _check_deployed_scorer(scorer: Scorer, X_test: pandas.DataFrame,
                           scores: np.ndarray, name: str) -> None:
    """The deployed scorer must reproduce the training library's scores on holdout rows."""
    rows = X_test.iloc[:_CHECK_ROWS]
    records = rows.to_dict(orient="records")
    worst = 0.0
    for record, expected in zip(records, scores[:len(records)], strict=True):
        clean = {key: (None if isinstance(value, float) and math.isnan(value) else value)
                 for key, value in record.items() if key in scorer.features}
        got = scorer.score(clean, reasons=0).score
        worst = max(worst, abs(got - float(expected)))
    if worst > 1e-9:
        raise FengkongError(f"model {name!r}: the request-path scorer differs from the training "
                            f"library by {worst:.3g} on holdout rows; the artifact was written "
                            "but must not be deployed (please report this)")


def data_sha256(frame: pandas.DataFrame) -> str:
    """A fingerprint of the training data: column names, types and every value."""
    import pandas

    digest = hashlib.sha256()
    digest.update(json.dumps([[str(name), str(dtype)] for name, dtype
                              in frame.dtypes.items()]).encode())
    digest.update(pandas.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for library in _LIBRARIES:
        try:
            versions[library] = package_metadata.version(library)
        except package_metadata.PackageNotFoundError:
            continue
    return versions
