"""The application scorecard: trained with optbinning, scored in pure Python.

Training (:class:`ScorecardTrainer`) bins every characteristic with optbinning's
``BinningProcess`` — optimal bins under a monotonic trend, special codes and missing values
in bins of their own — drops the characteristics whose information value is below
``min_iv``, fits a regularised logistic regression on the weights of evidence and scales
it with optbinning's ``Scorecard`` to points (``scorecard_points`` at odds ``odds`` good to
bad, ``pdo`` points to double the odds). What it hands to the artifact is the points table
(:mod:`fengkong.models.points`) and the metadata a scorer needs.

Scoring (:class:`ScorecardScorer`) reads only that table: per characteristic a bisection on
the split points, or a dictionary of categories, then a sum — no pandas, no pickle, a few
microseconds per application — and gives exactly optbinning's ``Scorecard.score``, bit for
bit: same interval convention (``lower <= value < upper``), same routing of special codes,
missing values and unseen categories, same order of summation.

Input values, the same in training frames and request rows:

* a numerical characteristic takes numbers; ``True``/``False`` count as 1/0 (a bool
  column trains as a 0/1 numerical one). Text is an error.
* a categorical characteristic takes text. Categories are text: a column of codes the
  trainer is told is categorical (``categorical=[...]``) is trained on their text, so
  ``2`` and ``2.0`` both become the category ``"2"``, and a request sends ``"2"``. A
  number or a bool in a request is an error, not silently an unseen category.
* ``None``, NaN or an absent feature is missing and scores the characteristic's missing
  bin; so does a category training never saw (optbinning's rule).
"""

from __future__ import annotations

import difflib
import math
import numbers
import warnings
from bisect import bisect_right
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from fengkong.errors import ModelArtifactError, ModelInputError
from fengkong.models.artifact import Artifact
from fengkong.models.base import ModelScore, Reason
from fengkong.models.calibration import Platt
from fengkong.models.points import POINTS_FILE, PointsRow, format_points, parse_points

if TYPE_CHECKING:  # pandas and optbinning are training-only: the request path never imports them
    import pandas as pd

NUMERICAL = "numerical"
CATEGORICAL = "categorical"
SpecialCodes = Mapping[str, Sequence[Any] | Mapping[str, Sequence[Any]]]
# A characteristic as the scorer walks it: (name, numerical, split points, value bins' points,
# categories' and special codes' points, missing bin's points).
_Lookup = tuple[str, bool, list[float], list[float], dict[Any, float], float]


class ScorecardTrainer:
    """Fits a points scorecard; scikit-learn style: parameters here, data in :meth:`fit`.

    * ``categorical``: characteristics to bin as categories even though their column holds
      numbers (codes); text and ``category`` columns are categorical anyway.
    * ``special_codes``: characteristic -> codes that are not amounts (``-1`` "no credit
      history") and get a bin of their own; a list for one special bin, or a mapping of
      label -> codes for one bin per label.
    * ``monotonic_trend``: the trend optbinning imposes on a numerical characteristic's
      event rate across its bins (``"auto_asc_desc"``: rising or falling, whichever fits);
      monotonic bins are what a credit committee accepts and what generalises.
    * ``min_bin_size``, ``max_n_bins``, ``max_n_prebins``, ``min_prebin_size``: optbinning's
      limits on the bins (fractions of the training rows for the sizes).
    * ``min_iv``: characteristics with a lower information value are dropped (0.02 is the
      usual "not predictive" line).
    * ``C``: inverse L2 regularisation strength of the logistic regression (scikit-learn's
      ``C``); smaller shrinks the points of weak characteristics.
    * ``pdo``, ``odds``, ``scorecard_points``: the scaling — ``scorecard_points`` at good:bad
      odds of ``odds``, ``pdo`` more points per doubling of the odds.
    * ``rounding``: whole points (what a printed scorecard shows).
    * ``metric_special``, ``metric_missing``: the weight of evidence of special and missing
      bins: ``0`` scores them as an average applicant, ``"empirical"`` as their own
      training rows did.
    """

    kind = "scorecard"
    higher_is_better = True

    def __init__(self, *, categorical: Sequence[str] = (),
                 special_codes: SpecialCodes | None = None,
                 monotonic_trend: str | None = "auto_asc_desc", min_bin_size: float = 0.02,
                 max_n_bins: int | None = None, max_n_prebins: int = 50,
                 min_prebin_size: float = 0.02, min_iv: float = 0.02, C: float = 0.1,
                 pdo: float = 20.0, odds: float = 50.0, scorecard_points: float = 600.0,
                 rounding: bool = False,
                 metric_special: float | Literal["empirical"] = "empirical",
                 metric_missing: float | Literal["empirical"] = "empirical") -> None:
        if isinstance(categorical, str):
            raise ModelInputError(f"categorical takes a list of column names, not the text "
                                  f"{categorical!r}", field="categorical")
        self.categorical = tuple(categorical)
        self.special_codes = {name: _codes_json(codes)
                              for name, codes in (special_codes or {}).items()}
        self.monotonic_trend = monotonic_trend
        self.min_bin_size = min_bin_size
        self.max_n_bins = max_n_bins
        self.max_n_prebins = max_n_prebins
        self.min_prebin_size = min_prebin_size
        self.min_iv = min_iv
        self.C = C
        self.pdo = pdo
        self.odds = odds
        self.scorecard_points = scorecard_points
        self.rounding = rounding
        self.metric_special = metric_special
        self.metric_missing = metric_missing
        _check_parameters(self.get_params())

    def get_params(self) -> dict[str, Any]:
        """The ``__init__`` parameters, JSON-ready (the artifact's ``parameters``)."""
        return {"categorical": list(self.categorical), "special_codes": self.special_codes,
                "monotonic_trend": self.monotonic_trend, "min_bin_size": self.min_bin_size,
                "max_n_bins": self.max_n_bins, "max_n_prebins": self.max_n_prebins,
                "min_prebin_size": self.min_prebin_size, "min_iv": self.min_iv, "C": self.C,
                "pdo": self.pdo, "odds": self.odds, "scorecard_points": self.scorecard_points,
                "rounding": self.rounding, "metric_special": self.metric_special,
                "metric_missing": self.metric_missing}

    def fit(self, X: pd.DataFrame, y: Any) -> ScorecardTrainer:
        """Bin, select, regress and scale. ``X``: one column per characteristic; ``y``: 1 for
        a default (bad), 0 for good."""
        import pandas as pd
        from optbinning import BinningProcess, Scorecard
        from sklearn.linear_model import LogisticRegression

        if not isinstance(X, pd.DataFrame):
            raise ModelInputError(f"the training data must be a pandas DataFrame, not "
                                  f"{type(X).__name__}")
        names = list(X.columns)
        if not names or len(set(names)) != len(names) or \
                not all(isinstance(name, str) for name in names):
            raise ModelInputError("the training data needs columns with distinct text names "
                                  "(the characteristics' names)")
        for name in [*self.categorical, *self.special_codes]:
            if name not in names:
                raise ModelInputError(f"characteristic {name!r} given in the parameters is not "
                                      f"a column of the training data{_suggest(name, names)}",
                                      field=name)
        target = _target(y, len(X))
        self.features_ = [(name, _dtype_of(X[name], name in self.categorical))
                          for name in names]
        for name, dtype in self.features_:
            if name in self.special_codes:
                _check_special_codes(name, dtype, self.special_codes[name])
        frame = self._prepare(X)
        fit_params: dict[str, dict[str, Any]] = {}
        for name, dtype in self.features_:
            params: dict[str, Any] = {}
            if dtype == NUMERICAL and self.monotonic_trend is not None:
                params["monotonic_trend"] = self.monotonic_trend
            if name in self.special_codes:
                params["special_codes"] = self.special_codes[name]
            fit_params[name] = params
        binning = BinningProcess(
            names, categorical_variables=[n for n, d in self.features_ if d == CATEGORICAL],
            max_n_prebins=self.max_n_prebins, min_prebin_size=self.min_prebin_size,
            min_bin_size=self.min_bin_size, max_n_bins=self.max_n_bins,
            binning_fit_params=fit_params,
            selection_criteria={"iv": {"min": self.min_iv}} if self.min_iv > 0 else None)
        scorecard = Scorecard(
            binning, LogisticRegression(C=self.C, max_iter=1000), scaling_method="pdo_odds",
            scaling_method_params={"pdo": self.pdo, "odds": self.odds,
                                   "scorecard_points": self.scorecard_points},
            rounding=self.rounding)
        with warnings.catch_warnings():
            # optbinning's own deprecation noise under pandas 3, and its "no variables were
            # selected" warning, which the error below says better.
            warnings.filterwarnings("ignore", module="optbinning")
            try:
                scorecard.fit(frame, target, metric_special=self.metric_special,
                              metric_missing=self.metric_missing)
            except ValueError:
                selected = getattr(scorecard.binning_process_, "get_support", None)
                if selected is not None and not selected().any():
                    raise ModelInputError(
                        f"no characteristic has an information value of at least "
                        f"min_iv={self.min_iv}: nothing to build a scorecard from") from None
                raise
            self._training_scores = np.asarray(scorecard.score(frame), dtype=np.float64)
        self.characteristics_ = [str(name) for name in
                                 scorecard.binning_process_.get_support(names=True)]
        self.scorecard_ = scorecard
        self.points_ = _points_rows(scorecard, self.characteristics_)
        self._training_target = target
        return self

    def raw_scores(self, X: pd.DataFrame) -> np.ndarray:
        """optbinning's ``Scorecard.score`` of every row of ``X`` (which needs every
        characteristic as a column; other columns are ignored)."""
        scorecard = self._fitted()
        frame = self._prepare(X)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", module="optbinning")
            return np.asarray(scorecard.score(frame), dtype=np.float64)

    def calibration_data(self) -> tuple[np.ndarray, np.ndarray]:
        """The training rows' scores and targets, to fit Platt scaling on: a regularised
        logistic model on binned characteristics is hardly overfit, and small portfolios
        (German credit trains on 700 rows) cannot spare a calibration fold."""
        self._fitted()
        return self._training_scores, self._training_target

    def artifact_files(self) -> dict[str, bytes | str]:
        self._fitted()
        return {POINTS_FILE: format_points(self.points_)}

    def artifact_metadata(self) -> dict[str, Any]:
        """``features``: every characteristic the scorer accepts, in training order — also
        those selection dropped (they score no points, but a flow may send them, and a
        retrained model may select them); ``scorecard``: what the scorer needs besides the
        points table; ``parameters``: the trainer's."""
        self._fitted()
        return {
            "features": [{"name": name, "dtype": dtype} for name, dtype in self.features_],
            "scorecard": {
                "characteristics": list(self.characteristics_),
                "scaling": {"method": "pdo_odds", "pdo": self.pdo, "odds": self.odds,
                            "scorecard_points": self.scorecard_points},
                "rounding": self.rounding,
                "intervals": "lower <= value < upper",
                "special_codes": {name: codes for name, codes in self.special_codes.items()
                                  if name in self.characteristics_},
            },
            "parameters": self.get_params(),
        }

    def _fitted(self) -> Any:
        if not hasattr(self, "scorecard_"):
            raise ModelInputError("the scorecard is not trained yet: call fit first")
        return self.scorecard_

    def _prepare(self, X: pd.DataFrame) -> pd.DataFrame:
        """The frame optbinning sees: numerical columns as float64, categorical ones as text
        (``None`` for missing), so that training, :meth:`raw_scores` and the request-path
        scorer read values the same way."""
        import pandas as pd

        if not isinstance(X, pd.DataFrame):
            raise ModelInputError(f"the data to score must be a pandas DataFrame, not "
                                  f"{type(X).__name__}")
        columns: dict[str, Any] = {}
        for name, dtype in self.features_:
            if name not in X.columns:
                raise ModelInputError(f"the data has no column {name!r}, a characteristic of "
                                      f"the scorecard{_suggest(name, map(str, X.columns))}",
                                      field=name)
            series = X[name]
            if dtype == NUMERICAL:
                columns[name] = _numerical_column(series, name)
            else:
                values = [_category_text(value) for value in series.astype(object)]
                columns[name] = pd.Series(values, index=X.index, dtype=object)
        return pd.DataFrame(columns, index=X.index)


class ScorecardScorer:
    """Scores one application from a scorecard's points table (see the module docstring)."""

    kind = "scorecard"
    higher_is_better = True

    def __init__(self, name: str, features: Sequence[tuple[str, str]], rows: Sequence[PointsRow],
                 reasons: Mapping[str, Mapping[str, str]], calibration: Platt) -> None:
        self.name = name
        self.features = tuple(feature for feature, _ in features)
        self.calibration = calibration
        self._known = frozenset(self.features)
        dtypes = dict(features)
        by_characteristic: dict[str, list[PointsRow]] = {}
        for row in rows:
            by_characteristic.setdefault(row.characteristic, []).append(row)
        characteristics = []
        best = []
        texts = []
        for characteristic, bins in by_characteristic.items():
            if characteristic not in dtypes:
                raise ModelArtifactError(f"{POINTS_FILE} has points for {characteristic!r}, "
                                         "which is not one of the model's features")
            code = reasons.get(characteristic)
            if not isinstance(code, Mapping) or not {"code", "zh", "en"} <= set(code):
                raise ModelArtifactError(f"model {name!r} has no reason code (code, zh, en) "
                                         f"for its characteristic {characteristic!r}")
            lookup, best_points = _compile(characteristic, dtypes[characteristic], bins)
            characteristics.append(lookup)
            best.append(best_points)
            texts.append((str(code["code"]), characteristic, str(code["zh"]), str(code["en"])))
        if not characteristics:
            raise ModelArtifactError(f"{POINTS_FILE} of model {name!r} has no bins")
        self.characteristics = tuple(by_characteristic)
        self._lookups = tuple(characteristics)
        self._best = tuple(best)
        self._texts = tuple(texts)
        self._unscored = tuple((feature, dtypes[feature] == NUMERICAL) for feature in self.features
                               if feature not in by_characteristic)

    @classmethod
    def from_artifact(cls, artifact: Artifact) -> ScorecardScorer:
        metadata = artifact.metadata
        for key in ("features", "reasons", "calibration", "scorecard"):
            if key not in metadata:
                raise ModelArtifactError(f"model {artifact.name!r}: its metadata has no {key!r}")
        if not isinstance(metadata["reasons"], dict) or not isinstance(metadata["scorecard"], dict):
            raise ModelArtifactError(f"model {artifact.name!r}: 'reasons' and 'scorecard' must "
                                     "be JSON objects")
        features = metadata["features"]
        if not isinstance(features, list) or not all(
                isinstance(f, dict) and isinstance(f.get("name"), str)
                and f.get("dtype") in (NUMERICAL, CATEGORICAL) for f in features):
            raise ModelArtifactError(f"model {artifact.name!r}: 'features' must list "
                                     "{name, dtype: numerical|categorical} objects")
        try:
            calibration = Platt.from_dict(metadata["calibration"])
        except (ValueError, KeyError, TypeError) as error:
            raise ModelArtifactError(f"model {artifact.name!r}: bad calibration: "
                                     f"{error}") from None
        rows = parse_points(artifact.read_text(POINTS_FILE), f"{artifact.path / POINTS_FILE}")
        scorer = cls(artifact.name, [(f["name"], f["dtype"]) for f in features], rows,
                     metadata["reasons"], calibration)
        declared = metadata["scorecard"].get("characteristics")
        if declared != list(scorer.characteristics):
            raise ModelArtifactError(f"model {artifact.name!r}: {POINTS_FILE} scores "
                                     f"{list(scorer.characteristics)}, its metadata "
                                     f"declares {declared}")
        return scorer

    def score(self, row: Mapping[str, Any], reasons: int = 4) -> ModelScore:
        """Score one application: the sum of its bins' points, the PD, and the ``reasons``
        characteristics that lost most points against their best bin."""
        if not self._known.issuperset(row):
            self._unknown(row)
        get = row.get
        total = 0.0
        parts = []
        for name, numerical, splits, bins, table, missing in self._lookups:
            value = get(name)
            if value is None:
                points = missing
            elif numerical:
                if type(value) is not float:
                    value = _number(name, value)
                if value != value:  # NaN
                    points = missing
                elif value in table:  # a special code
                    points = table[value]
                else:
                    points = bins[bisect_right(splits, value)]
            elif type(value) is str:
                points = table.get(value, missing)  # a category or special code; unseen: missing
            else:
                points = _not_text(name, value, missing)
            total += points  # in characteristic order, as optbinning sums
            parts.append(points)
        for name, numerical in self._unscored:  # no points, but the same type checks
            value = get(name)
            if value is None:
                continue
            if numerical:
                _number(name, value)
            elif type(value) is not str:
                _not_text(name, value, 0.0)
        if reasons <= 0:
            if reasons < 0:
                raise ModelInputError(f"reasons must be 0 or more, not {reasons}",
                                      field="reasons")
            return ModelScore(total, self.calibration.pd(total), ())
        lost = [(points - best, index) for index, (points, best)
                in enumerate(zip(parts, self._best, strict=True)) if points < best]
        lost.sort()  # most points lost first; a tie keeps the characteristics' order
        texts = self._texts
        adverse = []
        for negative, index in lost[:reasons]:
            code, feature, zh, en = texts[index]
            value = get(feature)
            if value != value:  # NaN: reported as missing, which JSON can carry
                value = None
            adverse.append(Reason(code, feature, zh, en, -negative, value))
        return ModelScore(total, self.calibration.pd(total), tuple(adverse))

    def _unknown(self, row: Mapping[str, Any]) -> None:
        for name in row:
            if name not in self._known:
                raise ModelInputError(f"model {self.name!r} has no feature {name!r}"
                                      f"{_suggest(str(name), self.features)}", field=str(name))


def _compile(name: str, dtype: str, rows: Sequence[PointsRow]) -> tuple[_Lookup, float]:
    """One characteristic's bins, checked, as the scorer's lookup tuple and the points of its
    best value bin."""
    where = f"{POINTS_FILE}, characteristic {name!r}"
    if [row.bin_id for row in rows] != list(range(len(rows))):
        raise ModelArtifactError(f"{where}: bin_id must run 0, 1, 2, ... in file order")
    kinds = [row.kind for row in rows]
    n_bins = kinds.count("bin")
    n_special = kinds.count("special")
    if (n_bins == 0 or kinds != ["bin"] * n_bins + ["special"] * n_special + ["missing"]):
        raise ModelArtifactError(f"{where}: bins must be its value bins, then its special "
                                 "bins, then one missing bin")
    bins = rows[:n_bins]
    numerical = dtype == NUMERICAL
    splits: list[float] = []
    lookup: dict[Any, float] = {}
    if numerical:
        lowers = [row.lower for row in bins]
        uppers = [row.upper for row in bins]
        edges = [lowers[0], *uppers]
        if None in lowers or None in uppers or lowers[1:] != uppers[:-1] or \
                edges[0] != -math.inf or edges[-1] != math.inf or \
                any(not a < b for a, b in pairwise(edges)):  # type: ignore[operator]
            raise ModelArtifactError(f"{where}: numerical bins need increasing, adjacent "
                                     "lower/upper bounds from -inf to inf")
        splits = [float(upper) for upper in uppers[:-1] if upper is not None]
    else:
        for row in bins:
            if row.values is None or not all(isinstance(v, str) for v in row.values):
                raise ModelArtifactError(f"{where}, bin {row.bin_id}: a categorical bin "
                                         "needs its categories as a JSON list of text")
            lookup.update(dict.fromkeys(row.values, row.points))
    for row in rows[n_bins:n_bins + n_special]:  # a later special bin wins, as in optbinning
        values = row.values if row.values is not None else ()
        for value in values:
            if numerical != (isinstance(value, int | float) and not isinstance(value, bool)):
                raise ModelArtifactError(f"{where}, bin {row.bin_id}: special code "
                                         f"{value!r} does not fit a {dtype} characteristic")
            lookup[float(value) if numerical else value] = row.points
    best = max(row.points for row in bins)
    return (name, numerical, splits, [row.points for row in bins], lookup, rows[-1].points), best


TRENDS = ("auto", "auto_heuristic", "auto_asc_desc", "ascending", "descending", "concave",
          "convex", "peak", "valley", "peak_heuristic", "valley_heuristic")


def _check_parameters(params: Mapping[str, Any]) -> None:
    """Refuse a bad trainer parameter at construction, in words, rather than as a traceback
    from deep inside optbinning or scikit-learn at fit time."""
    def real(value: Any) -> bool:
        return isinstance(value, numbers.Real) and not isinstance(value, bool) and \
            math.isfinite(value)

    def count(value: Any) -> bool:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)

    p = params
    rules = [
        ("min_bin_size", real(p["min_bin_size"]) and 0 < p["min_bin_size"] <= 0.5,
         "a fraction in (0, 0.5]"),
        ("min_prebin_size", real(p["min_prebin_size"]) and 0 < p["min_prebin_size"] <= 0.5,
         "a fraction in (0, 0.5]"),
        ("max_n_bins", p["max_n_bins"] is None or (count(p["max_n_bins"])
                                                   and p["max_n_bins"] >= 1),
         "None or a whole number >= 1"),
        ("max_n_prebins", count(p["max_n_prebins"]) and p["max_n_prebins"] >= 2,
         "a whole number >= 2"),
        ("min_iv", real(p["min_iv"]) and p["min_iv"] >= 0, "a number >= 0"),
        ("C", real(p["C"]) and p["C"] > 0, "a number > 0"),
        ("pdo", real(p["pdo"]) and p["pdo"] > 0, "a number > 0"),
        ("odds", real(p["odds"]) and p["odds"] > 0, "a number > 0"),
        ("scorecard_points", real(p["scorecard_points"]), "a number"),
        ("rounding", isinstance(p["rounding"], bool), "true or false"),
        ("monotonic_trend", p["monotonic_trend"] is None or p["monotonic_trend"] in TRENDS,
         f"None or one of {', '.join(TRENDS)}"),
        ("metric_special", p["metric_special"] == "empirical" or real(p["metric_special"]),
         "'empirical' or a number"),
        ("metric_missing", p["metric_missing"] == "empirical" or real(p["metric_missing"]),
         "'empirical' or a number"),
        ("categorical", all(isinstance(name, str) for name in p["categorical"]),
         "a list of column names"),
    ]
    for name, good, expected in rules:
        if not good:
            raise ModelInputError(f"the scorecard trainer's {name} must be {expected}, "
                                  f"not {p[name]!r}", field=name)


def _number(name: str, value: Any) -> float:
    """A request value for a numerical characteristic, as the float optbinning compares."""
    if isinstance(value, numbers.Real) and not isinstance(value, str):
        try:
            return float(value)
        except OverflowError:
            raise ModelInputError(f"feature {name!r}: {value} is too large a number",
                                  field=name) from None
    raise ModelInputError(f"feature {name!r} is numerical; got {_describe(value)}", field=name)


def _not_text(name: str, value: Any, missing: float) -> float:
    """A non-text request value for a categorical characteristic: NaN is missing (pandas
    writes a missing category as NaN); anything else is an error."""
    if type(value) is float and value != value:
        return missing
    hint = f" (send the category as text, e.g. {str(value)!r})" \
        if isinstance(value, numbers.Real) else ""
    raise ModelInputError(f"feature {name!r} is categorical (text); got "
                          f"{_describe(value)}{hint}", field=name)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {value}"
    if isinstance(value, str):
        return f"the text {value!r}"
    if isinstance(value, numbers.Real):
        return f"the number {value!r}"
    return f"a {type(value).__name__}"


def _suggest(name: str, choices: Any) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _codes_json(codes: Any) -> list[Any] | dict[str, list[Any]]:
    """Special codes as JSON-ready lists (numbers or text), checked once at construction."""
    if isinstance(codes, Mapping):
        return {str(label): _code_list(values) for label, values in codes.items()}
    return _code_list(codes)


def _code_list(values: Any) -> list[Any]:
    if isinstance(values, str | bytes) or not isinstance(values, Sequence):
        raise ModelInputError(f"special codes must be a list of codes, not {values!r}")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, str | numbers.Real):
            raise ModelInputError(f"a special code must be a number or text, not {value!r}")
        out.append(value if isinstance(value, str) else
                   int(float(value)) if float(value).is_integer() else float(value))
    return out


def _check_special_codes(name: str, dtype: str, codes: list[Any] | dict[str, list[Any]]) -> None:
    """Special codes of the characteristic's own kind: numbers for a numerical one, text for
    a categorical one (whose values are text), or they could never match."""
    for code in (code for group in (codes.values() if isinstance(codes, dict) else [codes])
                 for code in group):
        if isinstance(code, str) != (dtype == CATEGORICAL):
            raise ModelInputError(f"special code {code!r} of {dtype} characteristic {name!r} "
                                  f"must be {'text' if dtype == CATEGORICAL else 'a number'}",
                                  field=name)


def _target(y: Any, n_rows: int) -> np.ndarray:
    target = np.asarray(y)
    if target.ndim != 1 or len(target) != n_rows:
        raise ModelInputError(f"the target must be one value per training row ({n_rows}); got "
                              f"shape {target.shape}", field="target")
    try:
        numeric = target.astype(np.float64)
    except (TypeError, ValueError):
        numeric = np.full(len(target), np.nan)
    if not np.isin(numeric, (0.0, 1.0)).all():
        raise ModelInputError("the target must be 1 for a default (bad) and 0 for good, with "
                              "no missing values", field="target")
    if numeric.min() == numeric.max():
        raise ModelInputError("the target needs both defaults (1) and goods (0)", field="target")
    return numeric.astype(np.int64)


def _dtype_of(series: pd.Series, categorical: bool) -> str:
    import pandas as pd

    if categorical:
        return CATEGORICAL
    if pd.api.types.is_numeric_dtype(series.dtype):  # bool too: binned as 0/1
        return NUMERICAL
    if pd.api.types.is_datetime64_any_dtype(series.dtype) or \
            pd.api.types.is_timedelta64_dtype(series.dtype):
        raise ModelInputError(f"column {series.name!r} holds dates or durations; give the "
                              "scorecard a number (days since, months on book)",
                              field=str(series.name))
    return CATEGORICAL  # text, category, object


def _numerical_column(series: pd.Series, name: str) -> np.ndarray:
    import pandas as pd

    if pd.api.types.is_numeric_dtype(series.dtype):
        return series.to_numpy(dtype=np.float64, na_value=np.nan)
    values = np.empty(len(series), dtype=np.float64)
    for index, value in enumerate(series.astype(object)):
        if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
            values[index] = np.nan
        elif isinstance(value, numbers.Real) and not isinstance(value, str):
            values[index] = float(value)
        else:
            raise ModelInputError(f"column {name!r} is a numerical characteristic; it holds "
                                  f"{_describe(value)}", field=name)
    return values


def _category_text(value: Any) -> str | None:
    """A training value of a categorical characteristic as its category text."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, str):
        return value
    if _is_missing_scalar(value):
        return None
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return str(int(value))
    if isinstance(value, numbers.Real) and float(value).is_integer():
        return str(int(float(value)))
    return str(value)


def _is_missing_scalar(value: Any) -> bool:
    import pandas as pd

    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _points_rows(scorecard: Any, characteristics: Sequence[str]) -> list[PointsRow]:
    """The points table of a fitted optbinning ``Scorecard``, from its own detailed table
    (the points ``Scorecard.score`` adds up) and each characteristic's bins."""
    table = scorecard.table(style="detailed")
    rows: list[PointsRow] = []
    for name in characteristics:
        binned = scorecard.binning_process_.get_binned_variable(name)
        part = table[table["Variable"] == name]
        splits = binned.splits
        n_bins = len(splits) + 1 if binned.dtype == NUMERICAL else len(splits)
        special = binned.special_codes
        specials: list[tuple[str, list[Any]]] = (
            [(str(label), _code_list(list(np.atleast_1d(codes)) if not isinstance(codes, list)
                                     else codes))
             for label, codes in special.items()] if isinstance(special, dict)
            else [("Special", _code_list(list(special) if special is not None else []))])
        if len(part) != n_bins + len(specials) + 1:
            raise RuntimeError(f"optbinning's table for {name!r} has {len(part)} rows; "
                               f"expected {n_bins} bins, {len(specials)} special, 1 missing")
        bounds = [-math.inf, *map(float, splits), math.inf] if binned.dtype == NUMERICAL else []
        for index in range(len(part)):
            values: tuple[Any, ...] | None = None
            lower = upper = None
            if index < n_bins:
                kind = "bin"
                if binned.dtype == NUMERICAL:
                    lower, upper = bounds[index], bounds[index + 1]
                else:
                    values = tuple(str(category) for category in splits[index])
            elif index < n_bins + len(specials):
                kind = "special"
                values = tuple(specials[index - n_bins][1])
            else:
                kind = "missing"
            label = str(part["Bin"].iloc[index])
            if kind == "bin" and values is not None:
                # optbinning prints a categorical bin as its array; under pandas 3 that is a
                # multi-line ArrowStringArray repr, so write it the way NumPy prints one.
                label = "[" + " ".join(repr(category) for category in values) + "]"
            rows.append(PointsRow(
                characteristic=name, bin_id=index, bin=label, kind=kind,
                lower=lower, upper=upper, values=values,
                count=int(part["Count"].iloc[index]),
                event_rate=float(part["Event rate"].iloc[index]),
                woe=float(part["WoE"].iloc[index]),
                points=float(part["Points"].iloc[index]),
            ))
    return rows
