"""The gradient-boosted scorer against LightGBM itself: the same raw score and the same
TreeSHAP contributions (``pred_contrib``) to 1e-9, on rows with NaN, zeros, values outside
the training range and unseen categories, for several tree shapes and missing-value
types; the artifact round trip; and the errors a caller or a broken file gets."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import lightgbm
import numpy as np
import pandas as pd
import pytest

from fengkong.errors import ModelArtifactError, ModelInputError
from fengkong.models.artifact import read_artifact, write_artifact
from fengkong.models.calibration import fit_platt
from fengkong.models.gbdt import GBDTScorer, GBDTTrainer
from fengkong.models.reasons import ReasonCatalogue
from fengkong.models.trees import parse_model

TOLERANCE = 1e-9
CITIES = ["beijing", "shanghai", "shenzhen", "chengdu", "wuhan", "xian", "hangzhou"]
CHANNELS = ["app", "web", "branch", "broker"]


def applications(rows: int, seed: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Applications with missing values, exact zeros and two categorical columns (text,
    and a pandas category), and a default flag that depends on all of them."""
    rng = np.random.default_rng(seed)
    income = rng.lognormal(9, 0.6, rows)
    utilisation = rng.beta(2, 3, rows)
    enquiries = rng.poisson(2, rows).astype(float)
    overdue = np.where(rng.random(rows) < 0.6, 0.0, rng.exponential(30, rows))
    age = rng.integers(18, 70, rows).astype(float)
    city = rng.choice(CITIES, rows)
    channel = rng.choice(CHANNELS, rows)
    risky_city = np.isin(city, ["shenzhen", "wuhan"])
    logit = (-2.5 + 2.0 * utilisation + 0.3 * enquiries + 0.02 * overdue
             - 0.5 * np.log(income / 8000) + 0.8 * risky_city + 0.6 * (channel == "broker")
             - 0.01 * (age - 40))
    default = (rng.random(rows) < 1 / (1 + np.exp(-logit))).astype(int)
    income[rng.random(rows) < 0.1] = np.nan
    overdue[rng.random(rows) < 0.05] = np.nan
    frame = pd.DataFrame({
        "monthly_income": income, "credit_utilisation": utilisation,
        "enquiries_3m": enquiries, "days_overdue": overdue, "age_in_years": age,
        "city": pd.Series(city, dtype=object).where(rng.random(rows) > 0.05, None),
        "channel": pd.Categorical(channel, categories=CHANNELS),
    })
    return frame, default


def awkward_rows(frame: pd.DataFrame, seed: int) -> pd.DataFrame:
    """Test rows: real ones, with values outside the training range, NaN, zeros and
    categories never seen in training mixed in."""
    rng = np.random.default_rng(seed)
    rows = frame.sample(len(frame), random_state=seed).reset_index(drop=True).copy()
    n = len(rows)
    for name in ["monthly_income", "credit_utilisation", "enquiries_3m", "days_overdue",
                 "age_in_years"]:
        column = rows[name].to_numpy(dtype=float, copy=True)
        pick = rng.random(n)
        column[pick < 0.1] = np.nan
        column[(pick >= 0.1) & (pick < 0.2)] = 0.0
        column[(pick >= 0.2) & (pick < 0.25)] *= 100.0
        column[(pick >= 0.25) & (pick < 0.3)] = -column[(pick >= 0.25) & (pick < 0.3)]
        rows[name] = column
    city = rows["city"].astype(object)
    city[rng.random(n) < 0.1] = "lhasa"  # never seen in training
    rows["city"] = city
    channel = rows["channel"].astype(object)
    channel[rng.random(n) < 0.1] = None
    rows["channel"] = pd.Categorical(channel, categories=CHANNELS)
    return rows


@pytest.fixture(scope="module")
def data() -> tuple[pd.DataFrame, np.ndarray]:
    return applications(6000, seed=7)


@pytest.fixture(scope="module")
def trainer(data: tuple[pd.DataFrame, np.ndarray]) -> GBDTTrainer:
    frame, default = data
    return GBDTTrainer(n_estimators=80, min_child_samples=20, random_state=3).fit(frame, default)


@pytest.fixture(scope="module")
def scorer(trainer: GBDTTrainer, tmp_path_factory: pytest.TempPathFactory) -> GBDTScorer:
    return GBDTScorer.from_artifact(read_artifact(
        save(trainer, tmp_path_factory.mktemp("artifact") / "application-gbdt")))


def save(trainer: GBDTTrainer, folder: Path) -> Path:
    """What the training orchestrator writes."""
    scores, default = trainer.calibration_data()
    metadata = trainer.artifact_metadata()
    features = [feature["name"] for feature in metadata["features"]]
    write_artifact(folder, {
        "name": "application-gbdt", "kind": trainer.kind, "target": "default",
        **metadata,
        "calibration": fit_platt(scores, default).to_dict(),
        "reasons": ReasonCatalogue.load().resolve(features).to_dict(),
    }, trainer.artifact_files())
    return folder


def as_row(record: dict[str, Any]) -> dict[str, Any]:
    """A request: NaN becomes None (JSON has no NaN), some features are left out."""
    row = {}
    for name, value in record.items():
        if isinstance(value, float) and math.isnan(value):
            if hash(name) % 2:
                continue  # absent
            value = None
        row[name] = value
    return row


# ----------------------------------------------------------------- exactness, forests

def lightgbm_model(frame: pd.DataFrame, default: np.ndarray, **params: Any) -> lightgbm.Booster:
    numeric = frame.drop(columns=["city", "channel"])
    settings = {"objective": "binary", "verbose": -1, "num_threads": 1, "seed": 1,
                "min_data_in_leaf": 10, **params}
    return lightgbm.train(settings, lightgbm.Dataset(numeric, default), num_boost_round=40)


@pytest.mark.parametrize("params, table_depth", [
    ({"num_leaves": 31}, 6),                          # stock shape: per-leaf tables
    ({"num_leaves": 31}, 0),                          # every leaf computed on the fly
    ({"num_leaves": 31, "zero_as_missing": True}, 6),  # missing type Zero
    ({"num_leaves": 15, "use_missing": False}, 6),     # missing type None
    ({"num_leaves": 6}, 6),                           # whole-tree tables, uneven depths
])
def test_forest_matches_lightgbm(data: tuple[pd.DataFrame, np.ndarray], params: dict[str, Any],
                                 table_depth: int) -> None:
    frame, default = data
    booster = lightgbm_model(frame, default, **params)
    forest = parse_model(booster.model_to_string(), table_depth=table_depth)
    rows = awkward_rows(frame, seed=11).drop(columns=["city", "channel"]).to_numpy()
    raw = booster.predict(rows, raw_score=True)
    shap = booster.predict(rows, pred_contrib=True)
    for x, expected_score, expected_shap in zip(rows, raw, shap, strict=True):
        assert abs(forest.raw_score(x) - expected_score) <= TOLERANCE
        phi = forest.contributions(x)
        assert np.abs(phi - expected_shap).max() <= TOLERANCE
        score, index, impact = forest.explain(x, 3)
        assert abs(score - expected_score) <= TOLERANCE
        positive = np.argsort(-expected_shap[:-1], kind="stable")[:3]
        positive = [i for i in positive if expected_shap[i] > 0]
        assert index.tolist() == positive
        assert np.allclose(impact, expected_shap[positive], rtol=0, atol=TOLERANCE)


def test_category_codes_follow_lightgbm_on_any_float() -> None:
    """Codes LightGBM must decide itself: NaN, negative, fractional, past every bitset."""
    rng = np.random.default_rng(2)
    n = 5000
    codes = rng.integers(0, 40, n).astype(float)
    amount = rng.normal(size=n)
    default = ((codes % 7 < 2) ^ (amount > 1) ^ (rng.random(n) < 0.1)).astype(int)
    train = np.column_stack([codes, amount])
    booster = lightgbm.train(
        {"objective": "binary", "verbose": -1, "num_threads": 1, "num_leaves": 8,
         "min_data_per_group": 5, "cat_smooth": 1, "max_cat_to_onehot": 8},
        lightgbm.Dataset(train, default, categorical_feature=[0]), num_boost_round=30)
    forest = parse_model(booster.model_to_string())
    assert (forest.node_decision & 1).any()
    rows = np.column_stack([rng.choice([np.nan, -3.0, -0.5, 2.5, 31.9, 64.0, 1e12, 7.0], n // 2),
                            rng.normal(size=n // 2)])
    rows[: n // 4, 0] = rng.integers(0, 40, n // 4)
    raw = booster.predict(rows, raw_score=True)
    shap = booster.predict(rows, pred_contrib=True)
    for x, expected_score, expected_shap in zip(rows, raw, shap, strict=True):
        assert abs(forest.raw_score(x) - expected_score) <= TOLERANCE
        assert np.abs(forest.contributions(x) - expected_shap).max() <= TOLERANCE


def test_missing_types_are_all_exercised(data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, default = data
    seen = set()
    for params in ({"num_leaves": 31}, {"num_leaves": 31, "zero_as_missing": True},
                   {"num_leaves": 15, "use_missing": False}):
        forest = parse_model(lightgbm_model(frame, default, **params).model_to_string())
        seen |= {(decision >> 2) & 3 for decision in forest.node_decision}
        seen |= {f"default_left={bool(decision & 2)}" for decision in forest.node_decision
                 if (decision >> 2) & 3}
    assert {0, 1, 2, "default_left=True", "default_left=False"} <= seen


def test_trainer_model_with_categories_matches_lightgbm(trainer: GBDTTrainer,
                                                        data: tuple[pd.DataFrame, np.ndarray]
                                                        ) -> None:
    frame, _ = data
    forest = parse_model(trainer.booster.model_to_string())
    assert (forest.node_decision & 1).any(), "the model should split on a category"
    assert (forest.tree_table >= 0).all(), "default-shape trees use whole-tree tables"
    matrix = trainer.encode(awkward_rows(frame, seed=5))
    raw = trainer.booster.predict(matrix, raw_score=True)
    shap = trainer.booster.predict(matrix, pred_contrib=True)
    for x, expected_score, expected_shap in zip(matrix, raw, shap, strict=True):
        assert abs(forest.raw_score(x) - expected_score) <= TOLERANCE
        assert np.abs(forest.contributions(x) - expected_shap).max() <= TOLERANCE


# ----------------------------------------------------------------- trainer

def test_trainer_metadata(trainer: GBDTTrainer, data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, default = data
    metadata = trainer.artifact_metadata()
    assert metadata["features"] == [
        {"name": name, "dtype": "categorical" if name in ("city", "channel") else "numerical"}
        for name in frame.columns]
    assert metadata["gbdt"]["categories"] == {"city": sorted(CITIES), "channel": CHANNELS}
    assert metadata["gbdt"]["trees"] == 80
    assert metadata["parameters"]["n_estimators"] == 80
    scores, held_default = trainer.calibration_data()
    assert len(scores) == len(held_default) == round(0.2 * len(frame))
    assert abs(held_default.mean() - default.mean()) < 0.01  # stratified
    assert trainer.kind == "gbdt" and trainer.higher_is_better is False
    assert trainer.artifact_files()["model.txt"].startswith("tree\n")


def test_time_ordered_holds_out_the_last_rows_and_is_deterministic(
        data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, default = data
    frame, default = frame.iloc[:3000], default[:3000]
    first = GBDTTrainer(n_estimators=20, time_ordered=True, validation_fraction=0.25).fit(
        frame, default)
    second = GBDTTrainer(n_estimators=20, time_ordered=True, validation_fraction=0.25).fit(
        frame, default)
    assert first.artifact_files() == second.artifact_files()
    scores, held_default = first.calibration_data()
    assert np.array_equal(held_default, default[-750:])
    assert np.allclose(scores, first.raw_scores(frame.iloc[-750:]), rtol=0, atol=1e-12)


def test_early_stopping_keeps_only_the_best_trees(data: tuple[pd.DataFrame, np.ndarray]
                                                  ) -> None:
    frame, default = data
    model = GBDTTrainer(n_estimators=400, learning_rate=0.3, early_stopping_rounds=10).fit(
        frame, default)
    trees = model.artifact_metadata()["gbdt"]["trees"]
    assert 0 < trees < 400
    assert parse_model(str(model.artifact_files()["model.txt"])).n_trees == trees


# ----------------------------------------------------------------- scorer

def test_scorer_matches_lightgbm_with_reasons(scorer: GBDTScorer, trainer: GBDTTrainer,
                                              data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, _ = data
    rows = awkward_rows(frame, seed=9).iloc[:1500]
    raw = trainer.raw_scores(rows)
    shap = trainer.booster.predict(trainer.encode(rows), pred_contrib=True)
    names = list(frame.columns)
    catalogue = ReasonCatalogue.load()
    for record, expected_score, expected_shap in zip(rows.to_dict("records"), raw, shap,
                                                     strict=True):
        row = as_row(record)
        result = scorer.score(row)
        assert abs(result.score - expected_score) <= TOLERANCE
        assert result.pd == pytest.approx(scorer.calibration.pd(expected_score), abs=1e-12)
        order = [i for i in np.argsort(-expected_shap[:-1], kind="stable")
                 if expected_shap[i] > 0][:4]
        assert [reason.feature for reason in result.reasons] == [names[i] for i in order]
        for reason, i in zip(result.reasons, order, strict=True):
            assert abs(reason.impact - expected_shap[i]) <= TOLERANCE
            assert reason.value == row.get(names[i])
            code = catalogue.code_of(names[i])
            assert reason.code == (code.code if code else "R90")
        contributions = scorer.contributions(row)
        assert abs(sum(contributions.values()) - expected_score) <= 1e-9
        assert scorer.score(row, reasons=0).reasons == ()


def test_unseen_category_and_missing_are_scored_like_lightgbm(
        scorer: GBDTScorer, trainer: GBDTTrainer) -> None:
    base = {"monthly_income": 6000.0, "credit_utilisation": 0.7, "enquiries_3m": 4.0,
            "days_overdue": 0.0, "age_in_years": 30.0, "city": "shenzhen", "channel": "broker"}
    for change in ({"city": "lhasa"}, {"city": None}, {"channel": None},
                   {"monthly_income": None}, {"days_overdue": float("nan")}):
        row = {**base, **change}
        frame = pd.DataFrame([{k: (np.nan if v is None else v) for k, v in row.items()}])
        frame["channel"] = pd.Categorical(frame["channel"], categories=CHANNELS)
        assert abs(scorer.score(row).score - trainer.raw_scores(frame)[0]) <= TOLERANCE
    absent = {k: v for k, v in base.items() if k != "monthly_income"}
    assert scorer.score(absent).score == scorer.score({**base, "monthly_income": None}).score


def test_reasons_are_positive_and_limited(scorer: GBDTScorer,
                                          data: tuple[pd.DataFrame, np.ndarray]) -> None:
    frame, _ = data
    for record in frame.iloc[:200].to_dict("records"):
        result = scorer.score(as_row(record), reasons=2)
        assert len(result.reasons) <= 2
        impacts = [reason.impact for reason in result.reasons]
        assert all(impact > 0 for impact in impacts) and impacts == sorted(impacts, reverse=True)
        assert all(reason.zh and reason.en for reason in result.reasons)


# ----------------------------------------------------------------- bad input and files

def test_unknown_feature_names_the_feature_and_suggests(scorer: GBDTScorer) -> None:
    with pytest.raises(ModelInputError) as raised:
        scorer.score({"credit_utilization": 0.5})
    assert raised.value.field == "credit_utilization"
    assert "credit_utilisation" in str(raised.value)


@pytest.mark.parametrize("field, value", [
    ("monthly_income", "8000"), ("age_in_years", [30]), ("city", 3), ("channel", {"a": 1})])
def test_wrong_type_names_the_feature(scorer: GBDTScorer, field: str, value: Any) -> None:
    with pytest.raises(ModelInputError) as raised:
        scorer.score({field: value})
    assert raised.value.field == field
    assert field in str(raised.value)


def test_numpy_numbers_and_booleans_are_numbers(scorer: GBDTScorer) -> None:
    plain = scorer.score({"enquiries_3m": 1.0, "age_in_years": 40.0})
    assert scorer.score({"enquiries_3m": np.int64(1), "age_in_years": np.float32(40)}) == plain
    assert scorer.score({"enquiries_3m": True, "age_in_years": 40}).score == plain.score


def test_tampered_model_refuses_to_load(trainer: GBDTTrainer, tmp_path: Path) -> None:
    folder = save(trainer, tmp_path / "model")
    text = (folder / "model.txt").read_text()
    (folder / "model.txt").write_text(text.replace("leaf_value=", "leaf_value=1", 1))
    with pytest.raises(ModelArtifactError, match="refuses to load"):
        read_artifact(folder)


@pytest.mark.parametrize("damage", [
    lambda text: "not a model at all",
    lambda text: text[: len(text) // 3],                                  # truncated
    lambda text: text.replace("left_child=", "left_child=7", 1),          # bad child
    lambda text: text.replace("num_leaves=8", "num_leaves=9", 1),         # wrong counts
    lambda text: text.replace("objective=binary", "objective=regression", 1),
    lambda text: text.replace("threshold=", "threshold=abc ", 1),
])
def test_malformed_model_txt_is_an_artifact_error(trainer: GBDTTrainer, tmp_path: Path,
                                                  damage: Any) -> None:
    folder = save(trainer, tmp_path / "model")
    text = (folder / "model.txt").read_text()
    artifact = read_artifact(folder)
    # Re-record the damaged file, as a broken training job would have written it.
    write_artifact(folder, {k: v for k, v in artifact.metadata.items()
                            if k not in ("files", "format")},
                   {"model.txt": damage(text)})
    with pytest.raises(ModelArtifactError):
        GBDTScorer.from_artifact(read_artifact(folder))


def test_metadata_that_does_not_match_the_model_is_refused(trainer: GBDTTrainer,
                                                           tmp_path: Path) -> None:
    folder = save(trainer, tmp_path / "model")
    artifact = read_artifact(folder)
    metadata = {k: v for k, v in artifact.metadata.items() if k not in ("files", "format")}
    metadata["features"] = metadata["features"][::-1]
    write_artifact(folder, metadata, trainer.artifact_files())
    with pytest.raises(ModelArtifactError, match=r"different models|categories"):
        GBDTScorer.from_artifact(read_artifact(folder))
