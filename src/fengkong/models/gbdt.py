"""Gradient-boosted models: LightGBM training, and a compiled scorer with exact reasons.

:class:`GBDTTrainer` fits a LightGBM binary model the way a credit or fraud team wants it
by default: one thread and a fixed seed (the same data gives the same model, byte for
byte), shallow trees, strong regularisation for rare defaults, categorical columns as
LightGBM categorical features, and a held-out validation fold whose scores the training
orchestrator (:mod:`fengkong.models.train`) calibrates with Platt scaling.

:class:`GBDTScorer` is the request path. It reads LightGBM's ``model.txt`` itself into
flat arrays (:mod:`fengkong.models.trees`) — LightGBM is a training dependency only — and
scores one application per numba call: the raw log-odds of default, exactly what
``Booster.predict(raw_score=True)`` gives, and the features with the largest positive
TreeSHAP contributions, exactly ``pred_contrib=True``, as adverse-action reasons.
"""

from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from fengkong.errors import ModelArtifactError, ModelInputError
from fengkong.models.artifact import Artifact
from fengkong.models.base import ModelScore, Reason
from fengkong.models.calibration import Platt
from fengkong.models.trees import Forest, parse_model

if TYPE_CHECKING:
    import lightgbm
    import pandas as pd

KIND = "gbdt"
MODEL_FILE = "model.txt"
# Value types the fast path of GBDTScorer.vector hands straight to NumPy (None is missing).
PLAIN_TYPES = frozenset({float, int, bool, type(None), np.float64, np.float32, np.int64,
                         np.int32, np.bool_})


class GBDTTrainer:
    """A LightGBM binary classifier of default (``y = 1``), scikit-learn style.

    The defaults are for rare bads — card fraud at 0.2%, defaults at a few percent: 500
    shallow trees (8 leaves, depth 3) at a small learning rate; ``min_child_weight`` (the
    hessian a leaf needs) and ``reg_lambda`` keep a handful of bads from getting a leaf of
    their own, which on imbalanced data is what makes LightGBM's stock settings unstable.
    The shallow shape is also what keeps exact reasons within the request-path latency
    budget (see docs/model-gbdt.md).

    ``validation_fraction`` of the rows — a stratified sample, or the last rows when
    ``time_ordered`` (rows sorted by application time, for a time split) — are held out
    of training; their scores calibrate the probability of default. With
    ``early_stopping_rounds`` they also stop boosting when their log-loss stops
    improving; off by default, so a model has ``n_estimators`` trees.
    """

    kind = KIND
    higher_is_better = False  # the score is the log-odds of default

    def __init__(self, n_estimators: int = 500, learning_rate: float = 0.03,
                 num_leaves: int = 8, max_depth: int = 3, min_child_samples: int = 50,
                 min_child_weight: float = 5.0, reg_lambda: float = 10.0,
                 subsample: float = 0.8, colsample_bytree: float = 0.5,
                 validation_fraction: float = 0.2, time_ordered: bool = False,
                 early_stopping_rounds: int | None = None, random_state: int = 0) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.min_child_weight = min_child_weight
        self.reg_lambda = reg_lambda
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.validation_fraction = validation_fraction
        self.time_ordered = time_ordered
        self.early_stopping_rounds = early_stopping_rounds
        self.random_state = random_state
        self._booster: lightgbm.Booster | None = None
        self._features: list[dict[str, str]] = []
        self._categories: dict[str, list[Any]] = {}
        self._validation: tuple[np.ndarray, np.ndarray] | None = None

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters (recorded in the artifact's metadata)."""
        return {"n_estimators": self.n_estimators, "learning_rate": self.learning_rate,
                "num_leaves": self.num_leaves, "max_depth": self.max_depth,
                "min_child_samples": self.min_child_samples,
                "min_child_weight": self.min_child_weight, "reg_lambda": self.reg_lambda,
                "subsample": self.subsample, "colsample_bytree": self.colsample_bytree,
                "validation_fraction": self.validation_fraction,
                "time_ordered": self.time_ordered,
                "early_stopping_rounds": self.early_stopping_rounds,
                "random_state": self.random_state}

    def lightgbm_params(self) -> dict[str, Any]:
        """The parameters handed to ``lightgbm.train``."""
        return {
            "objective": "binary", "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves, "max_depth": self.max_depth,
            "min_data_in_leaf": self.min_child_samples,
            "min_sum_hessian_in_leaf": self.min_child_weight, "lambda_l2": self.reg_lambda,
            "bagging_fraction": self.subsample, "bagging_freq": 1 if self.subsample < 1 else 0,
            "feature_fraction": self.colsample_bytree, "seed": self.random_state,
            "num_threads": 1, "deterministic": True, "force_col_wise": True, "verbose": -1,
        }

    def fit(self, X: pd.DataFrame, y: Any) -> GBDTTrainer:
        """Train on the rows not held out for validation."""
        import lightgbm

        target = _target(X, y)
        self._features, self._categories = _describe(X)
        matrix = self.encode(X)
        fit_rows, validation_rows = self._split(target)
        names = [feature["name"] for feature in self._features]
        categorical = [i for i, feature in enumerate(self._features)
                       if feature["dtype"] == "categorical"]
        train = lightgbm.Dataset(matrix[fit_rows], target[fit_rows], feature_name=names,
                                 categorical_feature=categorical, free_raw_data=True)
        valid_sets: list[lightgbm.Dataset] = []
        callbacks: list[Callable[..., Any]] = []
        if self.early_stopping_rounds and len(validation_rows):
            valid_sets = [lightgbm.Dataset(matrix[validation_rows], target[validation_rows],
                                           reference=train)]
            callbacks = [lightgbm.early_stopping(self.early_stopping_rounds, verbose=False)]
        booster = lightgbm.train(self.lightgbm_params(), train,
                                 num_boost_round=self.n_estimators, valid_sets=valid_sets,
                                 callbacks=callbacks)
        if self.early_stopping_rounds and booster.best_iteration > 0:
            # Keep only the trees up to the best iteration, so model.txt is what scores.
            booster = lightgbm.Booster(model_str=booster.model_to_string(
                num_iteration=booster.best_iteration))
        self._booster = booster
        self._validation = None
        if len(validation_rows):
            scores = booster.predict(matrix[validation_rows], raw_score=True)
            self._validation = (np.asarray(scores, dtype=np.float64), target[validation_rows])
        return self

    def _split(self, target: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        if not 0 <= self.validation_fraction < 1:
            raise ValueError("validation_fraction must be in [0, 1)")
        rows = np.arange(len(target))
        held = round(len(target) * self.validation_fraction)
        if held == 0:
            return rows, rows[:0]
        if self.time_ordered:
            return rows[:-held], rows[-held:]
        from sklearn.model_selection import train_test_split

        fit_rows, validation_rows = train_test_split(rows, test_size=held, stratify=target,
                                                     random_state=self.random_state)
        return np.sort(fit_rows), np.sort(validation_rows)

    @property
    def booster(self) -> lightgbm.Booster:
        if self._booster is None:
            raise RuntimeError("the GBDT model is not fitted yet: call fit() first")
        return self._booster

    def encode(self, X: pd.DataFrame) -> np.ndarray:
        """The float64 matrix LightGBM sees: numbers as they are, categories as their codes
        in the training categories (NaN for missing and for categories not seen in
        training — LightGBM's own treatment of an unseen category)."""
        import pandas as pd

        missing = [f["name"] for f in self._features if f["name"] not in X.columns]
        if missing:
            raise ModelInputError(f"the data has no column {missing[0]!r}", field=missing[0])
        matrix = np.empty((len(X), len(self._features)))
        for column, feature in enumerate(self._features):
            name = feature["name"]
            if feature["dtype"] == "categorical":
                codes = pd.Index(self._categories[name]).get_indexer(
                    X[name].astype(object))
                matrix[:, column] = np.where(codes < 0, np.nan, codes)
            else:
                try:
                    matrix[:, column] = X[name].to_numpy(dtype=np.float64, na_value=np.nan)
                except (TypeError, ValueError):
                    raise ModelInputError(f"column {name!r} is numerical in the model but "
                                          "holds values that are not numbers",
                                          field=name) from None
        return matrix

    def raw_scores(self, X: pd.DataFrame) -> np.ndarray:
        """LightGBM's raw scores (log-odds of default) of every row of ``X``."""
        return np.asarray(self.booster.predict(self.encode(X), raw_score=True),
                          dtype=np.float64)

    def calibration_data(self) -> tuple[np.ndarray, np.ndarray]:
        """Raw scores and targets of the held-out validation rows, to fit Platt scaling on."""
        self.booster  # noqa: B018 - raises when not fitted
        if self._validation is None:
            raise RuntimeError("no validation rows were held out (validation_fraction=0): "
                               "there is nothing to calibrate on")
        return self._validation

    def artifact_files(self) -> dict[str, bytes | str]:
        return {MODEL_FILE: self.booster.model_to_string()}

    def artifact_metadata(self) -> dict[str, Any]:
        return {
            "features": [dict(feature) for feature in self._features],
            "gbdt": {"categories": {name: list(values)
                                    for name, values in self._categories.items()},
                     "trees": self.booster.num_trees(),
                     "num_leaves": self.num_leaves, "max_depth": self.max_depth},
            "parameters": self.get_params(),
        }


def _target(X: pd.DataFrame, y: Any) -> np.ndarray:
    import pandas as pd

    if not isinstance(X, pd.DataFrame):
        raise TypeError("GBDTTrainer.fit needs a pandas DataFrame of features")
    target = np.asarray(y, dtype=np.float64)
    if target.shape != (len(X),):
        raise ValueError(f"y has {target.shape[0] if target.ndim else 0} values for "
                         f"{len(X)} rows")
    if not np.isin(target, (0.0, 1.0)).all():
        raise ValueError("y must be 1 (default, bad) or 0 (good), with no missing values")
    return target.astype(np.int64)


def _describe(X: pd.DataFrame) -> tuple[list[dict[str, str]], dict[str, list[Any]]]:
    """Each column's model dtype, and the categories of the categorical ones (in code
    order: a pandas category's own order, sorted distinct values for a text column)."""
    import pandas as pd

    features: list[dict[str, str]] = []
    categories: dict[str, list[Any]] = {}
    for name in X.columns:
        if not isinstance(name, str):
            raise ModelInputError(f"feature names must be text, not {name!r}", field=str(name))
        column = X[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            values = list(column.cat.categories)
        elif pd.api.types.is_object_dtype(column) or pd.api.types.is_string_dtype(column):
            values = sorted(column.dropna().unique(), key=str)
        elif pd.api.types.is_bool_dtype(column) or pd.api.types.is_numeric_dtype(column):
            features.append({"name": name, "dtype": "numerical"})
            continue
        else:
            raise ModelInputError(f"column {name!r} has dtype {column.dtype}; a GBDT takes "
                                  "numbers, booleans, text or categories", field=name)
        categories[name] = [value.item() if isinstance(value, np.generic) else value
                            for value in values]
        features.append({"name": name, "dtype": "categorical"})
    return features, categories


class GBDTScorer:
    """A trained gradient-boosted model, loaded for the request path.

    ``score(row)`` gives the raw log-odds of default (LightGBM's raw score), the Platt-
    calibrated probability of default and up to ``reasons`` adverse reasons: the features
    whose TreeSHAP contribution pushes the log-odds up the most, largest first, each with
    its reason code and the row's value.
    """

    kind = KIND
    higher_is_better = False

    def __init__(self, name: str, forest: Forest, features: tuple[str, ...],
                 categories: Mapping[str, list[Any]], calibration: Platt,
                 reasons: Mapping[str, Mapping[str, str]]) -> None:
        self.name = name
        self.forest = forest
        self.features = features
        self.calibration = calibration
        self._index = {feature: i for i, feature in enumerate(features)}
        # Per feature: None (numerical) or (category -> code, categories are text).
        self._codes: list[tuple[dict[Any, int], bool] | None] = [None] * len(features)
        for feature, values in categories.items():
            self._codes[self._index[feature]] = (
                {value: code for code, value in enumerate(values)},
                all(isinstance(value, str) for value in values))
        self._reason_texts = [(str(reasons[f]["code"]), str(reasons[f]["zh"]),
                               str(reasons[f]["en"])) for f in features]
        self._missing = [math.nan] * len(features)
        self._categorical = [(i, codes) for i, codes in enumerate(self._codes)
                             if codes is not None]

    @classmethod
    def from_artifact(cls, artifact: Artifact) -> GBDTScorer:
        """Load a verified artifact folder (:func:`fengkong.models.artifact.read_artifact`)."""
        metadata = artifact.metadata
        where = f"model {metadata.get('name')!r}"
        if artifact.kind != KIND:
            raise ModelArtifactError(f"{where} is a {artifact.kind!r} model, not {KIND!r}")
        try:
            features = tuple(str(feature["name"]) for feature in metadata["features"])
            dtypes = {str(f["name"]): f["dtype"] for f in metadata["features"]}
            categories = dict(metadata["gbdt"]["categories"])
            calibration = Platt.from_dict(metadata["calibration"])
            reasons = metadata["reasons"]
        except (KeyError, TypeError, ValueError) as error:
            raise ModelArtifactError(f"{where}: metadata.json lacks what a gbdt scorer needs "
                                     f"(features, gbdt.categories, calibration, reasons): "
                                     f"{error!r}") from None
        for feature in features:
            if dtypes[feature] not in ("numerical", "categorical"):
                raise ModelArtifactError(f"{where}: feature {feature!r} has dtype "
                                         f"{dtypes[feature]!r}; expected numerical or "
                                         "categorical")
            if (dtypes[feature] == "categorical") != (feature in categories):
                raise ModelArtifactError(f"{where}: feature {feature!r} is "
                                         f"{dtypes[feature]} but its categories say otherwise")
            if feature not in reasons:
                raise ModelArtifactError(f"{where}: feature {feature!r} has no reason code")
        forest = parse_model(artifact.read_text(MODEL_FILE), features)
        try:
            return cls(artifact.name, forest, features, categories, calibration, reasons)
        except (KeyError, TypeError) as error:
            raise ModelArtifactError(f"{where}: malformed categories or reasons in "
                                     f"metadata.json: {error!r}") from None

    def vector(self, row: Mapping[str, Any]) -> np.ndarray:
        """The float64 vector the trees read: NaN for an absent or ``None`` feature, a
        category's training code (NaN when unseen). Raises :class:`ModelInputError` for an
        unknown feature or a value of the wrong type.

        The common case — known names, plain numbers — runs in C (a key-set comparison,
        ``map``, one NumPy conversion); anything else takes the checked path, which also
        finds the feature to blame.
        """
        if not self._index.keys() >= row.keys():
            return self._checked_vector(row)
        values = list(map(row.get, self.features))
        for index, (mapping, text) in self._categorical:
            value = values[index]
            if value is not None:
                if text != isinstance(value, str) or not isinstance(value, str | numbers.Real):
                    return self._checked_vector(row)
                values[index] = mapping.get(value)
        if not PLAIN_TYPES.issuperset(map(type, values)):
            return self._checked_vector(row)
        return np.array(values, dtype=np.float64)  # None -> NaN

    def _checked_vector(self, row: Mapping[str, Any]) -> np.ndarray:
        values = self._missing.copy()
        for name, value in row.items():
            index = self._index.get(name)
            if index is None:
                raise self._unknown(name)
            if value is None:
                continue
            codes = self._codes[index]
            if codes is None:
                if not isinstance(value, numbers.Real):
                    raise ModelInputError(
                        f"feature {name!r} is numerical; got {type(value).__name__} "
                        f"{value!r}", field=name)
                values[index] = float(value)
            else:
                mapping, text = codes
                if text != isinstance(value, str) or not isinstance(value, str | numbers.Real):
                    kind = "text" if text else "numbers"
                    raise ModelInputError(
                        f"feature {name!r} is categorical with {kind} as categories; got "
                        f"{type(value).__name__} {value!r}", field=name)
                code = mapping.get(value)
                if code is not None:
                    values[index] = code
        return np.array(values, dtype=np.float64)

    def _unknown(self, name: Any) -> ModelInputError:
        close = difflib.get_close_matches(str(name), self.features, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        return ModelInputError(f"model {self.name!r} has no feature {name!r}{hint}",
                               field=str(name))

    def score(self, row: Mapping[str, Any], reasons: int = 4) -> ModelScore:
        """Score one application: log-odds of default, PD and the top adverse reasons."""
        x = self.vector(row)
        if reasons <= 0:
            score = self.forest.raw_score(x)
            return ModelScore(score, self.calibration.pd(score), ())
        score, index, impact = self.forest.explain(x, reasons)
        texts = self._reason_texts
        features = self.features
        found = []
        for feature, contribution in zip(index.tolist(), impact.tolist(), strict=True):
            code, zh, en = texts[feature]
            name = features[feature]
            found.append(Reason(code, name, zh, en, contribution, row.get(name)))
        return ModelScore(score, self.calibration.pd(score), tuple(found))

    def contributions(self, row: Mapping[str, Any]) -> dict[str, float]:
        """Every feature's TreeSHAP contribution to the log-odds, and ``expected_value``
        (the model's average log-odds); they add up to the score."""
        phi = self.forest.contributions(self.vector(row))
        return {**dict(zip(self.features, phi[:-1].tolist(), strict=True)),
                "expected_value": float(phi[-1])}
