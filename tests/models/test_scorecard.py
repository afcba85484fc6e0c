"""The application scorecard: optbinning training, the points table, the request-path scorer.

The scorer must give exactly optbinning's ``Scorecard.score`` (bit for bit) on any row —
missing, special, out-of-range, boundary and unseen values included — with and without
rounded points; its reasons must be the points lost against each characteristic's best bin.
Two small scorecards are trained once on a seeded synthetic portfolio.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from fengkong.errors import ModelArtifactError, ModelInputError
from fengkong.models.artifact import read_artifact, write_artifact
from fengkong.models.base import ModelScore, Reason
from fengkong.models.calibration import fit_platt
from fengkong.models.points import COLUMNS, parse_points
from fengkong.models.reasons import ReasonCatalogue
from fengkong.models.scorecard import ScorecardScorer, ScorecardTrainer
from fengkong.models.scorers import load_model

SPECIAL: dict[str, Any] = {"utilisation": {"no_card": [-1], "frozen": [-2]},
                           "months_on_book": [999], "purpose": ["refused"]}
CATALOGUE = {"features": {"age": "R09", "income": "R05", "utilisation": "R02",
                          "enquiries_6m": "R03", "purpose": "R10", "region": "R16",
                          "grade": "R15", "months_on_book": "R04"}}


def portfolio(n: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Applications with numerical, categorical (text and int-coded), bool, missing and
    special values, and a noise column selection should drop; 1 = default."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 70, n)
    income = np.round(rng.lognormal(8.5, 0.5, n), 2)
    income[rng.random(n) < 0.08] = np.nan
    utilisation = np.round(rng.beta(2, 3, n), 3)
    utilisation[rng.random(n) < 0.06] = -1
    utilisation[rng.random(n) < 0.04] = -2
    enquiries = rng.poisson(1.5, n)
    months = rng.integers(1, 120, n).astype(float)
    months[rng.random(n) < 0.05] = 999
    purpose = rng.choice(["car", "home", "education", "travel", "debt"], n).astype(object)
    purpose[rng.random(n) < 0.05] = None
    purpose[rng.random(n) < 0.04] = "refused"  # a special code of a categorical characteristic
    region = rng.choice(["north", "south", "east", "west", "华东"], n, p=[.3, .3, .2, .15, .05])
    grade = rng.integers(1, 6, n)
    guarantor = rng.random(n) < 0.3
    z = (-1.2 - 0.03 * (age - 40) - 0.6 * (np.nan_to_num(np.log(income), nan=8.0) - 8.5)
         + 1.5 * np.where(utilisation >= 0, utilisation, 0.9) + 0.35 * enquiries
         - 0.005 * np.where(months < 999, months, 10) + 0.4 * (grade - 3)
         + 0.5 * pd.isna(purpose) + 0.4 * (purpose == "travel") + 0.8 * (purpose == "refused") - 0.5 * guarantor
         + 0.6 * np.isnan(income))
    bad = (rng.random(n) < 1 / (1 + np.exp(-z))).astype(int)
    frame = pd.DataFrame({
        "age": age, "income": income, "utilisation": utilisation, "enquiries_6m": enquiries,
        "months_on_book": months, "purpose": pd.Series(purpose, dtype=object),
        "region": pd.Series(region, dtype="str"), "grade": grade, "has_guarantor": guarantor,
        "noise": rng.random(n)})
    return frame, bad


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return portfolio(3000, seed=7)


@pytest.fixture(scope="module")
def trainer(data: tuple[pd.DataFrame, np.ndarray]) -> ScorecardTrainer:
    frame, bad = data
    return ScorecardTrainer(categorical=["grade"], special_codes=SPECIAL).fit(frame, bad)


@pytest.fixture(scope="module")
def rounded(data: tuple[pd.DataFrame, np.ndarray]) -> ScorecardTrainer:
    frame, bad = data
    return ScorecardTrainer(categorical=["grade"], special_codes=SPECIAL, rounding=True,
                            metric_missing=0, metric_special=0, pdo=40, odds=20,
                            scorecard_points=500).fit(frame, bad)


def build_artifact(trainer: ScorecardTrainer, directory: Path) -> Path:
    """What the training orchestrator writes: the trainer's files and metadata plus name,
    kind, calibration and reasons."""
    metadata = trainer.artifact_metadata()
    resolution = ReasonCatalogue.load(CATALOGUE).resolve(f["name"] for f in metadata["features"])
    platt = fit_platt(*trainer.calibration_data())
    write_artifact(directory, {"name": "application", "kind": trainer.kind, **metadata,
                               "calibration": platt.to_dict(), "reasons": resolution.to_dict()},
                   trainer.artifact_files())
    return directory


@pytest.fixture(scope="module")
def scorer(trainer: ScorecardTrainer, tmp_path_factory: pytest.TempPathFactory
           ) -> ScorecardScorer:
    folder = build_artifact(trainer, tmp_path_factory.mktemp("scorecard"))
    return ScorecardScorer.from_artifact(read_artifact(folder))


def awkward_rows(trainer: ScorecardTrainer, n: int, seed: int) -> pd.DataFrame:
    """Fresh applications with every value a scorer can meet: split points exactly and just
    below them, far out of range and infinite numbers, special codes, missing values, and
    categories training never saw."""
    frame, _ = portfolio(n, seed)
    frame["purpose"] = frame["purpose"].astype(object)
    frame["region"] = frame["region"].astype(object)
    frame["grade"] = frame["grade"].astype(object)
    rng = np.random.default_rng(seed)
    splits: dict[str, list[float]] = {row.characteristic: [] for row in trainer.points_}
    for row in trainer.points_:
        if row.kind == "bin" and row.lower is not None and math.isfinite(row.lower):
            splits[row.characteristic] += [row.lower, math.nextafter(row.lower, -math.inf)]
    for name in ("age", "income", "utilisation", "enquiries_6m", "months_on_book", "noise"):
        column = frame[name].astype(float).to_numpy()
        pick = rng.random(n)
        extremes = [1e12, -1e12, math.inf, -math.inf, -1.0, -2.0, 999.0, math.nan]
        column = np.where(pick < 0.15, rng.choice(extremes, n), column)
        if splits.get(name):
            column = np.where((pick > 0.7) & (pick < 0.9), rng.choice(splits[name], n), column)
        frame[name] = column
    for name, unseen in (("purpose", "crypto"), ("region", "西北"), ("grade", "9")):
        values = frame[name].to_numpy(dtype=object).copy()
        pick = rng.random(n)
        values[pick < 0.1] = unseen
        values[(pick >= 0.1) & (pick < 0.15)] = None
        frame[name] = pd.Series(values, dtype=object)
    frame["grade"] = [None if value is None else str(value) for value in frame["grade"]]
    return frame


def request_rows(frame: pd.DataFrame, seed: int) -> list[dict[str, Any]]:
    """The frame as request rows: a missing value is given as None, as NaN or left out."""
    rng = np.random.default_rng(seed)
    rows = []
    for record in frame.to_dict("records"):
        row: dict[str, Any] = {}
        for name, value in record.items():
            if isinstance(value, np.generic):
                value = value.item()
            missing = value is None or (isinstance(value, float) and math.isnan(value))
            if missing:
                choice = rng.integers(3)
                if choice == 0:
                    continue
                value = None if choice == 1 else math.nan
            elif isinstance(value, float) and value.is_integer() and rng.random() < 0.3:
                value = int(value) if abs(value) < 1e15 else value
            row[name] = value
        rows.append(row)
    return rows


def bits(values: Any) -> np.ndarray:
    return np.asarray(values, dtype=np.float64).view(np.int64)


@pytest.mark.parametrize("which", ["trainer", "rounded"])
def test_scores_equal_optbinning_bit_for_bit(which: str, request: pytest.FixtureRequest,
                                             tmp_path: Path) -> None:
    trainer: ScorecardTrainer = request.getfixturevalue(which)
    scorer = ScorecardScorer.from_artifact(read_artifact(build_artifact(trainer, tmp_path)))
    frame = awkward_rows(trainer, 4000, seed=11)
    expected = trainer.scorecard_.score(trainer._prepare(frame))  # optbinning's own
    assert np.array_equal(bits(expected), bits(trainer.raw_scores(frame)))
    actual = [scorer.score(row, reasons=0).score for row in request_rows(frame, seed=3)]
    assert np.array_equal(bits(actual), bits(expected))
    if which == "rounded":
        assert all(float(points).is_integer() for points in
                   trainer.scorecard_.table()["Points"])


def test_training_rows_score_as_in_training(trainer: ScorecardTrainer,
                                            data: tuple[pd.DataFrame, np.ndarray],
                                            scorer: ScorecardScorer) -> None:
    frame, bad = data
    frame = frame.assign(grade=frame["grade"].astype(str))  # int-coded categories: as text
    scores, target = trainer.calibration_data()
    assert np.array_equal(target, bad)
    actual = [scorer.score(row, 0).score for row in request_rows(frame, seed=5)]
    assert np.array_equal(bits(actual), bits(scores))


def test_selection_drops_noise_and_keeps_signal(trainer: ScorecardTrainer) -> None:
    assert "noise" not in trainer.characteristics_
    assert {"age", "utilisation", "enquiries_6m", "purpose", "grade"} <= set(trainer.characteristics_)
    features = trainer.artifact_metadata()["features"]
    assert [f["name"] for f in features] == [
        "age", "income", "utilisation", "enquiries_6m", "months_on_book", "purpose", "region",
        "grade", "has_guarantor", "noise"]
    dtypes = {f["name"]: f["dtype"] for f in features}
    assert dtypes["grade"] == dtypes["purpose"] == dtypes["region"] == "categorical"
    assert dtypes["has_guarantor"] == dtypes["noise"] == "numerical"


def points_of(trainer: ScorecardTrainer, characteristic: str) -> dict[str, float]:
    return {row.bin: row.points for row in trainer.points_
            if row.characteristic == characteristic}


def exact_sum(trainer: ScorecardTrainer, chosen: dict[str, float]) -> float:
    """The score of a row whose characteristics score ``chosen`` (others: missing), summed
    in the scorecard's order."""
    total = 0.0
    for name in trainer.characteristics_:
        total += chosen.get(name, points_of(trainer, name)["Missing"])
    return total


def test_special_missing_and_unseen_values_route_to_their_bins(
        trainer: ScorecardTrainer, scorer: ScorecardScorer) -> None:
    utilisation = points_of(trainer, "utilisation")
    rows = {row.bin: row for row in trainer.points_ if row.characteristic == "utilisation"}
    assert rows["no_card"].kind == rows["frozen"].kind == "special"
    assert rows["no_card"].values == (-1,) and rows["no_card"].count > 100
    assert scorer.score({}, 0).score == exact_sum(trainer, {})
    assert scorer.score({"utilisation": -2}, 0).score == \
        exact_sum(trainer, {"utilisation": utilisation["frozen"]})
    assert scorer.score({"utilisation": -1.0}, 0).score == \
        exact_sum(trainer, {"utilisation": utilisation["no_card"]})
    income = {row.kind: row for row in trainer.points_ if row.characteristic == "income"}
    assert income["missing"].count > 150  # the training rows without an income
    for missing in (None, math.nan):
        assert scorer.score({"income": missing, "utilisation": -1}, 0).score == \
            exact_sum(trainer, {"utilisation": utilisation["no_card"]})
    purpose = points_of(trainer, "purpose")
    refused = next(row for row in trainer.points_ if row.characteristic == "purpose"
                   and row.kind == "special")
    assert refused.values == ("refused",) and refused.count > 50
    assert scorer.score({"purpose": "refused"}, 0).score == \
        exact_sum(trainer, {"purpose": refused.points})
    assert scorer.score({"purpose": "crypto"}, 0).score == exact_sum(trainer, {})  # unseen
    assert scorer.score({"purpose": "travel"}, 0).score == exact_sum(
        trainer, {"purpose": next(points for label, points in purpose.items()
                                  if "'travel'" in label)})


def test_a_split_point_belongs_to_the_bin_above(trainer: ScorecardTrainer,
                                                scorer: ScorecardScorer) -> None:
    age = [row for row in trainer.points_ if row.characteristic == "age" and row.kind == "bin"]
    assert len(age) >= 3
    for below, above in itertools.pairwise(age):
        assert below.upper == above.lower and above.lower is not None
        assert below.bin.endswith(")") and above.bin.startswith("[")
        at = scorer.score({"age": above.lower}, 0).score
        under = scorer.score({"age": math.nextafter(above.lower, -math.inf)}, 0).score
        assert at == exact_sum(trainer, {"age": above.points})
        assert under == exact_sum(trainer, {"age": below.points})


@pytest.mark.parametrize("which", ["trainer", "rounded"])
def test_reasons_are_points_lost_against_the_best_bin(which: str,
                                                      request: pytest.FixtureRequest,
                                                      tmp_path: Path) -> None:
    trainer: ScorecardTrainer = request.getfixturevalue(which)
    scorer = ScorecardScorer.from_artifact(read_artifact(build_artifact(trainer, tmp_path)))
    frame = awkward_rows(trainer, 400, seed=21)
    per_characteristic = trainer.scorecard_.transform(trainer._prepare(frame))  # optbinning's
    best = {name: max(row.points for row in trainer.points_
                      if row.characteristic == name and row.kind == "bin")
            for name in trainer.characteristics_}
    catalogue = ReasonCatalogue.load(CATALOGUE)
    ties = 0
    for index, row in enumerate(request_rows(frame, seed=8)):
        result = scorer.score(row)
        lost = [(best[name] - per_characteristic[name].iloc[index], position, name)
                for position, name in enumerate(trainer.characteristics_)]
        expected = sorted([item for item in lost if item[0] > 0], key=lambda item: (-item[0], item[1]))[:4]  # a tie: scorecard order
        assert [reason.feature for reason in result.reasons] == [name for *_, name in expected]
        assert [reason.impact for reason in result.reasons] == [impact for impact, *_ in expected]
        ties += len({impact for impact, *_ in expected}) < len(expected)
        for reason in result.reasons:
            code = catalogue.resolve([reason.feature]).reasons[reason.feature]
            assert (reason.code, reason.zh, reason.en) == (code.code, code.zh, code.en)
            given = row.get(reason.feature)
            if isinstance(given, float) and math.isnan(given):
                assert reason.value is None  # NaN is reported as missing, JSON-safe
            else:
                assert reason.value == given and type(reason.value) is type(given)
        assert result.pd == scorer.calibration.pd(result.score)
        assert len(scorer.score(row, 2).reasons) == min(2, len(expected))
        assert scorer.score(row, 0).reasons == ()
    if which == "rounded":
        assert ties > 0  # whole points tie often: the order among them was checked above


def test_points_table_round_trips_and_reads_like_a_table(trainer: ScorecardTrainer) -> None:
    text = trainer.artifact_files()["points.csv"]
    assert isinstance(text, str) and text.startswith("\ufeff" + ",".join(COLUMNS) + "\n")
    rows = parse_points(text)
    assert rows == trainer.points_
    table = trainer.scorecard_.table(style="detailed")
    assert np.array_equal(bits([row.points for row in rows]), bits(table["Points"]))
    region = [row for row in rows if row.characteristic == "region" and row.kind == "bin"]
    if region:
        assert all(row.values and row.bin == "[" + " ".join(map(repr, row.values)) + "]"
                   for row in region)
        assert "华东" in text  # written as UTF-8 text, not escaped
    assert "\n" not in "".join(row.bin for row in rows)


def test_artifact_round_trip_and_registry(trainer: ScorecardTrainer, tmp_path: Path) -> None:
    folder = build_artifact(trainer, tmp_path / "model")
    metadata = json.loads((folder / "metadata.json").read_text(encoding="utf-8"))
    assert metadata["scorecard"]["characteristics"] == trainer.characteristics_
    assert metadata["parameters"]["special_codes"] == {
        "utilisation": {"no_card": [-1], "frozen": [-2]}, "months_on_book": [999],
        "purpose": ["refused"]}
    model = load_model(folder)
    assert isinstance(model, ScorecardScorer)
    assert model.features == tuple(f["name"] for f in metadata["features"])
    assert model.kind == "scorecard" and model.higher_is_better
    row = {"age": 33, "income": 4100.5, "utilisation": 0.92, "enquiries_6m": 4,
           "purpose": "travel", "region": "south", "grade": "5", "has_guarantor": False,
           "noise": 0.3}
    result = model.score(row)
    frame = pd.DataFrame([{**row, "months_on_book": math.nan}])
    assert result.score == trainer.raw_scores(frame)[0]
    assert result.to_dict()["reasons"][0]["code"].startswith("R")


def test_a_changed_points_table_refuses_to_load(trainer: ScorecardTrainer,
                                                tmp_path: Path) -> None:
    folder = build_artifact(trainer, tmp_path)
    path = folder / "points.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    last = lines[1].rsplit(",", 1)
    lines[1] = f"{last[0]},{float(last[1]) + 1}\n"
    path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(ModelArtifactError, match=r"points\.csv does not match"):
        load_model(folder)


def rewritten(trainer: ScorecardTrainer, directory: Path, text: str,
              **changes: Any) -> ModelArtifactError:
    """The error of loading an artifact written (validly hashed) with ``text`` as its points
    table and ``changes`` to its metadata."""
    build_artifact(trainer, directory)
    metadata = {**read_artifact(directory).metadata, **changes}
    metadata.pop("files")
    metadata.pop("format")
    write_artifact(directory, metadata, {"points.csv": text})
    with pytest.raises(ModelArtifactError) as raised:
        load_model(directory)
    return raised.value


def test_a_malformed_points_table_is_refused_with_a_reason(trainer: ScorecardTrainer,
                                                           tmp_path: Path) -> None:
    text = str(trainer.artifact_files()["points.csv"])
    lines = text.splitlines()[1:]
    assert "header" in str(rewritten(trainer, tmp_path / "a", "\n".join(lines)))
    table = list(csv.reader(io.StringIO(text.removeprefix("\ufeff"))))
    age = next(i for i, cells in enumerate(table) if cells[:2] == ["age", "1"])
    table[age][4] = repr(float(table[age][4]) + 0.5)  # no longer the previous upper bound
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(table)
    assert "adjacent" in str(rewritten(trainer, tmp_path / "b", out.getvalue()))
    no_number = text.replace(",inf,", ",infinite,", 1)
    assert "line" in str(rewritten(trainer, tmp_path / "c", no_number))
    error = rewritten(trainer, tmp_path / "d", text, reasons={})
    assert "reason code" in str(error)
    error = rewritten(trainer, tmp_path / "e", text,
                      scorecard={"characteristics": ["age"]})
    assert "declares" in str(error)


def test_bad_input_names_the_feature(scorer: ScorecardScorer) -> None:
    with pytest.raises(ModelInputError, match="did you mean 'income'") as raised:
        scorer.score({"incme": 1000})
    assert raised.value.field == "incme"
    cases: list[tuple[dict[str, Any], str, str]] = [({"age": "33"}, "age", "numerical"), ({"age": [33]}, "age", "list"),
             ({"purpose": 3}, "purpose", "categorical"), ({"grade": 5}, "grade", "'5'"),
             ({"purpose": True}, "purpose", "boolean"), ({"region": {"a": 1}}, "region", "dict"),
             ({"noise": "x"}, "noise", "numerical"), ({"age": 10**400}, "age", "too large")]
    for row, field, text in cases:
        with pytest.raises(ModelInputError, match=text) as raised:
            scorer.score(row)
        assert raised.value.field == field
    with pytest.raises(ModelInputError):
        scorer.score({}, reasons=-1)


def test_bools_count_as_numbers_and_dropped_features_score_nothing(
        trainer: ScorecardTrainer, scorer: ScorecardScorer) -> None:
    assert scorer.score({"enquiries_6m": True}, 0).score == \
        scorer.score({"enquiries_6m": 1}, 0).score
    assert scorer.score({"noise": 0.99}, 0).score == scorer.score({}, 0).score
    assert scorer.score({"purpose": math.nan}, 0).score == scorer.score({}, 0).score
    frame = pd.DataFrame([{name: math.nan for name in scorer.features}])
    frame["has_guarantor"] = True
    assert scorer.score({"has_guarantor": True}, 0).score == trainer.raw_scores(frame)[0]


def test_category_codes_and_dtypes_read_as_text(trainer: ScorecardTrainer,
                                                scorer: ScorecardScorer) -> None:
    frame = awkward_rows(trainer, 50, seed=4)
    expected = trainer.raw_scores(frame)
    as_codes = frame.assign(grade=[None if g is None else float(g) for g in frame["grade"]],
                            region=frame["region"].astype("category"))
    assert np.array_equal(bits(trainer.raw_scores(as_codes)), bits(expected))  # 5.0 -> "5"
    assert scorer.score({"grade": "5"}, 0).score != scorer.score({"grade": "1"}, 0).score


def test_training_mistakes_are_clear_errors(data: tuple[pd.DataFrame, np.ndarray],
                                            trainer: ScorecardTrainer) -> None:
    frame, bad = data
    small = frame.head(300)
    with pytest.raises(ModelInputError, match="1 for a default"):
        ScorecardTrainer().fit(small, np.where(bad[:300] == 1, "bad", "good"))
    with pytest.raises(ModelInputError, match="both defaults"):
        ScorecardTrainer().fit(small, np.zeros(300))
    with pytest.raises(ModelInputError, match="did you mean 'grade'"):
        ScorecardTrainer(categorical=["grad"]).fit(small, bad[:300])
    with pytest.raises(ModelInputError, match="must be text") as raised:
        ScorecardTrainer(special_codes={"purpose": [-1]}).fit(small, bad[:300])
    assert raised.value.field == "purpose"
    with pytest.raises(ModelInputError, match="min_iv"):
        ScorecardTrainer(min_iv=50).fit(small[["noise"]], bad[:300])
    with pytest.raises(ModelInputError, match="no column 'age'"):
        trainer.raw_scores(frame.drop(columns=["age"]))
    with pytest.raises(ModelInputError, match="numerical characteristic") as raised:
        trainer.raw_scores(frame.assign(age=["young"] * len(frame)))
    assert raised.value.field == "age"
    for bad_parameter in ({"C": 0}, {"min_bin_size": 0.7}, {"monotonic_trend": "up"},
                          {"max_n_bins": 2.5}, {"metric_missing": "mean"}, {"rounding": "yes"},
                          {"categorical": "grade"}, {"special_codes": {"age": "-1"}}):
        with pytest.raises(ModelInputError):
            ScorecardTrainer(**bad_parameter)
    with pytest.raises(ModelInputError, match="not trained"):
        ScorecardTrainer().raw_scores(frame)


def test_codes_name_each_reason_code_once_worst_first() -> None:
    def reason(code: str, feature: str, impact: float) -> Reason:
        return Reason(code, feature, "原因", "reason", impact)

    result = ModelScore(500.0, 0.2, (reason("R06", "credit_amount", 9.0),
                                     reason("R09", "age_in_years", 7.0),
                                     reason("R06", "duration_in_month", 5.0)))
    assert result.codes == ["R06", "R09"]
    assert result.to_dict()["codes"] == ["R06", "R09"]
    assert len(result.to_dict()["reasons"]) == 3  # every feature stays in the detail
    assert ModelScore(500.0, 0.2, ()).codes == []
