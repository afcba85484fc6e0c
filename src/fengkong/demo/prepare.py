"""Everything the consumer-loan demo needs on a fresh machine: data, two models, a project.

:func:`prepare` runs four stages into a work folder, each skipped when the hash of its
inputs matches the one recorded by the previous run (``prepare.json``):

1. **scorecard** — the application scorecard, trained with :func:`fengkong.models.train` on
   ``credit_data`` (the most consumer-loan-like public data set: income, expenses, assets,
   debt, amount, term, employment) on a stratified 70/30 split; the holdout rows are kept
   aside for the replay. Its characteristics are the inputs of the flow's ``scorecard``
   node, so the flow and the model cannot drift apart;
2. **fraud** — a synthetic lending history from :func:`fengkong.datasets.generate`, its
   applications' velocity features computed point in time by the offline backfill from the
   project's own ``features/*.yaml`` (the spec the server computes online), and a
   gradient-boosted fraud model (:class:`~fengkong.models.GBDTTrainer`, default shape)
   trained on them against the generator's fraud truth, split by time. Its features are
   those the flow's fraud ``model`` node reads;
3. **stream** — the applications to replay (:mod:`fengkong.demo.stream`);
4. **project** — the example project copied into the work folder, with both model folders
   in its ``models/`` and the demo's blacklist entries in its ``lists/``. Always redone (a
   copy costs milliseconds), so that an edited rule is picked up by the next run.

Everything is seeded: two runs give the same models, the same stream, the same decisions.
Money in ``credit_data`` is in the data set's own units; it is multiplied by
:data:`YUAN_PER_UNIT` so that incomes and loans read as yuan of a Chinese consumer loan
(median income about 5,000 a month). That is a change of units, not a currency conversion.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fengkong.errors import FengkongError

if TYPE_CHECKING:
    import pandas

Progress = Callable[[str], None]
Counter = Callable[[int, int], None]

MANIFEST = "prepare.json"
FLOW = "application"  # flows/application.json, the flow the demo replays
SCORECARD = "application"  # models/application: the scorecard's folder and node name
FRAUD = "fraud"  # models/fraud: the fraud model's folder and node name
DATASET = "credit_data"
YUAN_PER_UNIT = 40.0
MONEY_COLUMNS = ("Income", "Expenses", "Assets", "Debt", "Amount", "Price")
DEMO_LIST = "demo-blacklist.csv"


@dataclass(frozen=True)
class DemoSettings:
    """The sizes and seeds of a demo. The defaults prepare in about half a minute on two
    cores; the tests use :meth:`small`."""

    seed: int = 2026
    training_applicants: int = 10_000  # the fraud model's synthetic population
    replay_applicants: int = 4_000  # the replayed applicants' population (other people)
    days: int = 365
    start: str = "2025-06-01"  # so that the replay falls under the 2026 rate cap
    fraud_ring_share: float = 0.03
    stream_size: int = 1_000  # applications prepared; `fengkong demo -n` replays a prefix

    @classmethod
    def small(cls) -> DemoSettings:
        """A quick demo for tests: a smaller population and stream."""
        return cls(training_applicants=4_000, replay_applicants=1_500, stream_size=200)


@dataclass(frozen=True)
class PreparedDemo:
    """Where :func:`prepare` put things, and what each stage reported."""

    workdir: Path
    project: Path
    stream: Path
    stages: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def reused(self) -> list[str]:
        """The stages that were taken from the previous run."""
        return [name for name, stage in self.stages.items() if stage.get("reused")]


def example_project() -> Path:
    """``examples/consumer-loan`` of the source tree this package runs from."""
    here = Path(__file__).resolve()
    for parent in here.parents:
        candidate = parent / "examples" / "consumer-loan"
        if (candidate / "fengkong.yaml").is_file():
            return candidate
    raise FengkongError("cannot find examples/consumer-loan next to the fengkong sources; "
                        "give the project folder explicitly (fengkong demo --project DIR)",
                        field="project")


def flow_model_inputs(project: Path, model_name: str) -> list[str]:
    """The features the ``scorecard``/``model`` node named ``model_name`` feeds its model,
    read from the project's flow: the flow is where an analyst adds or drops a model input,
    and the next prepare trains on exactly those."""
    path = project / "flows" / f"{FLOW}.json"
    try:
        graph = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise FengkongError(f"cannot read {path}: {error}", field=str(path)) from None
    for node in graph.get("nodes", []):
        content = node.get("content") or {}
        config = content.get("config") or {}
        if content.get("kind") in ("scorecard", "model") and config.get("name") == model_name:
            inputs = config.get("inputs")
            if isinstance(inputs, dict) and inputs:
                return list(inputs)
            raise FengkongError(f"{path}: node {node.get('id')!r} must map each model feature "
                                "to an expression in config.inputs", field=str(path))
    raise FengkongError(f"{path} has no scorecard or model node named {model_name!r}",
                        field=str(path))


# -- caching -------------------------------------------------------------------------------


def fingerprint(*parts: Any) -> str:
    """SHA-256 of the JSON of ``parts``: a stage's inputs."""
    text = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def code_digest(*modules: str) -> dict[str, str]:
    """SHA-256 of the source of the demo's own modules a stage runs (``history``,
    ``stream``...): a change in how the data is made makes the stage run again."""
    folder = Path(__file__).parent
    return files_digest([folder / f"{module}.py" for module in modules], folder)


def files_digest(paths: list[Path], root: Path) -> dict[str, str]:
    """Relative path -> SHA-256 of each file: inputs that are files."""
    return {path.relative_to(root).as_posix(): hashlib.sha256(path.read_bytes()).hexdigest()
            for path in sorted(paths)}


class _Stages:
    """The manifest of the previous run and the one being written."""

    def __init__(self, workdir: Path, say: Progress) -> None:
        self.path = workdir / MANIFEST
        self.say = say
        try:
            self.previous: dict[str, Any] = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.previous = {}
        self.current: dict[str, dict[str, Any]] = {}

    def run(self, name: str, inputs: str, outputs: list[Path],
            build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The stage's report, from the previous run when its inputs hash the same and its
        outputs are all there, else from ``build()``."""
        before = self.previous.get(name)
        if (isinstance(before, dict) and before.get("inputs") == inputs
                and all(path.exists() for path in outputs)):
            self.say(f"{name}: up to date (inputs {inputs[:12]}), reused")
            report = {**before, "reused": True}
        else:
            started = time.perf_counter()
            report = {"inputs": inputs, **build(),
                      "seconds": round(time.perf_counter() - started, 1)}
            self.say(f"{name}: done in {report['seconds']} s")
        self.current[name] = report
        # Written after every stage: an interrupted run keeps what it finished.
        saved = {**self.previous, **{key: {k: v for k, v in value.items() if k != "reused"}
                                     for key, value in self.current.items()}}
        self.path.write_text(json.dumps(saved, indent=2, ensure_ascii=False) + "\n",
                             encoding="utf-8")
        return report


# -- the stages ----------------------------------------------------------------------------


def prepare(workdir: str | Path, progress: Progress | None = None, *,
            settings: DemoSettings | None = None, project: str | Path | None = None,
            backfill_progress: Counter | None = None) -> PreparedDemo:
    """Prepare the demo in ``workdir`` (see the module docstring); progress lines go to
    ``progress``. ``project`` is the strategy project to run (default: the example)."""
    say = progress or (lambda line: None)
    settings = settings or DemoSettings()
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    source = Path(project).resolve() if project is not None else example_project()
    stages = _Stages(workdir, say)
    versions = _versions()

    scorecard_features = flow_model_inputs(source, SCORECARD)
    credit = _credit_data(scorecard_features)
    from fengkong.models.training import data_sha256

    holdout_path = workdir / "data" / "credit_holdout.parquet"
    scorecard_dir = workdir / "models" / SCORECARD
    scorecard = stages.run(
        "scorecard",
        fingerprint("scorecard", asdict(settings)["seed"], scorecard_features,
                    data_sha256(credit), YUAN_PER_UNIT, versions, code_digest("prepare")),
        [scorecard_dir / "metadata.json", holdout_path],
        lambda: _train_scorecard(credit, scorecard_features, settings, scorecard_dir,
                                 holdout_path, say))

    fraud_features = flow_model_inputs(source, FRAUD)
    spec_files = sorted((source / "features").glob("*.yaml"))
    history_settings = {key: getattr(settings, key) for key in
                        ("seed", "training_applicants", "days", "start", "fraud_ring_share")}
    fraud_dir = workdir / "models" / FRAUD
    stages.run(
        "fraud",
        fingerprint("fraud", history_settings, fraud_features,
                    files_digest(spec_files, source), versions,
                    code_digest("prepare", "history")),
        [fraud_dir / "metadata.json"],
        lambda: _train_fraud_model(source, fraud_features, settings, workdir, fraud_dir, say,
                                   backfill_progress))

    stream_path = workdir / "replay" / "stream.json"
    stages.run(
        "stream",
        fingerprint("stream", asdict(settings), scorecard["inputs"], YUAN_PER_UNIT, versions,
                    code_digest("history", "stream")),
        [stream_path],
        lambda: _build_stream(holdout_path, settings, stream_path, say))

    project_dir = workdir / "project"
    started = time.perf_counter()
    _assemble_project(source, project_dir, {SCORECARD: scorecard_dir, FRAUD: fraud_dir},
                      stream_path)
    stages.current["project"] = {"source": str(source), "path": str(project_dir),
                                 "seconds": round(time.perf_counter() - started, 1)}
    say(f"project: {source.name} copied to {project_dir} with models/{SCORECARD}, "
        f"models/{FRAUD} and lists/{DEMO_LIST}")
    return PreparedDemo(workdir, project_dir, stream_path, dict(stages.current))


def _versions() -> dict[str, str]:
    """The library versions a prepared artifact depends on: a new NumPy may draw other
    random numbers, a new LightGBM grow other trees."""
    from fengkong.models.training import library_versions

    return library_versions()


def _credit_data(features: list[str]) -> pandas.DataFrame:
    """credit_data with its money in yuan (see the module docstring) and only the columns
    the scorecard node maps, plus the outcome."""
    from fengkong.datasets import load_dataset

    dataset = load_dataset(DATASET)
    unknown = [name for name in features if name not in dataset.features]
    if unknown:
        raise FengkongError(f"the scorecard node maps {unknown[0]!r}, which {DATASET} does not "
                            f"have (it has {', '.join(dataset.features)})", field=unknown[0])
    frame = dataset.frame.loc[:, [*features, dataset.target]].copy()
    for column in MONEY_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column] * YUAN_PER_UNIT
    return frame


def _train_scorecard(credit: pandas.DataFrame, features: list[str], settings: DemoSettings,
                     out: Path, holdout_path: Path, say: Progress) -> dict[str, Any]:
    from fengkong.datasets import load_dataset
    from fengkong.models import ScorecardTrainer, Split, train

    target = load_dataset(DATASET).target
    split = Split(0.3, seed=settings.seed)
    say(f"scorecard: training on {DATASET} ({len(credit):,} rows, {len(features)} "
        f"characteristics, stratified 70/30 split, seed {settings.seed})")
    report = train(ScorecardTrainer(), credit, target, out, name=SCORECARD, features=features,
                   split=split, dataset=DATASET,
                   progress=lambda step: say(f"scorecard: {step}"))
    # The same split again (it is seeded), to keep the rows the model never saw.
    _, test_rows = split.indices(credit, credit[target].to_numpy())
    holdout_path.parent.mkdir(parents=True, exist_ok=True)
    credit.iloc[test_rows].to_parquet(holdout_path)
    say(f"scorecard: holdout AUC {report.metrics['auc']:.3f}, KS {report.metrics['ks']:.3f}; "
        f"{len(test_rows):,} holdout rows kept for the replay")
    return {"auc": report.metrics["auc"], "ks": report.metrics["ks"],
            "holdout_rows": len(test_rows), "model": str(out)}


def _train_fraud_model(source: Path, features: list[str], settings: DemoSettings,
                       workdir: Path, out: Path, say: Progress,
                       backfill_progress: Counter | None) -> dict[str, Any]:
    import pyarrow.parquet as pq

    from fengkong.datasets import generate
    from fengkong.demo.history import event_columns, write_event_logs
    from fengkong.features.backfill import backfill_files
    from fengkong.features.spec import load_project
    from fengkong.models import GBDTTrainer, Split, train

    say(f"fraud: generating {settings.training_applicants:,} applicants over "
        f"{settings.days} days (seed {settings.seed})")
    data = generate(applicants=settings.training_applicants, days=settings.days,
                    seed=settings.seed, fraud_ring_share=settings.fraud_ring_share,
                    start=settings.start)
    folder = workdir / "data" / "history"
    columns = event_columns(data)
    logs = write_event_logs(columns, folder)
    counts = {event_type: len(table["event_id"]) for event_type, table in columns.items()}
    say("fraud: " + ", ".join(f"{count:,} {name}s" for name, count in counts.items())
        + f" written to {folder}")
    spec = load_project(source)
    say(f"fraud: backfilling {len(features)} of the project's {len(spec.features):,} features "
        f"point in time for {counts['application']:,} applications")
    matrix_path = workdir / "data" / "fraud_features.parquet"
    backfill_files(spec, logs, logs["application"], matrix_path, features=features,
                   id_column="event_id", time_column="applied_at", workers=1,
                   progress=backfill_progress)
    frame = pq.read_table(matrix_path).to_pandas()
    fraud = dict(zip(data.labels.loan_id.tolist(), data.labels.fraud.tolist(), strict=True))
    frame["fraud"] = frame["event_id"].map(fraud).astype("int8")
    # Rows come out of the backfill in time order: the time split and the trainer's
    # validation fold (the last rows) both follow time.
    say(f"fraud: training the GBDT on {len(frame):,} applications "
        f"({int(frame['fraud'].sum()):,} fraud), time split 70/30")
    report = train(GBDTTrainer(time_ordered=True, random_state=settings.seed), frame, "fraud",
                   out, name=FRAUD, features=features,
                   split=Split(0.3, time_column="as_of"), dataset="synthetic",
                   progress=lambda step: say(f"fraud: {step}"))
    say(f"fraud: holdout AUC {report.metrics['auc']:.3f}, average precision "
        f"{report.metrics['average_precision']:.3f}")
    return {"auc": report.metrics["auc"],
            "average_precision": report.metrics["average_precision"],
            "applications": counts["application"], "fraud": int(frame["fraud"].sum()),
            "features": len(features), "model": str(out)}


def _build_stream(holdout_path: Path, settings: DemoSettings, out: Path, say: Progress
                  ) -> dict[str, Any]:
    import pandas

    from fengkong.datasets import generate
    from fengkong.demo.stream import build_stream

    say(f"stream: generating the replayed population ({settings.replay_applicants:,} "
        f"applicants, seed {settings.seed + 1})")
    data = generate(applicants=settings.replay_applicants, days=settings.days,
                    seed=settings.seed + 1, fraud_ring_share=settings.fraud_ring_share,
                    start=settings.start)
    stream = build_stream(data, pandas.read_parquet(holdout_path), settings.stream_size,
                          settings.seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(stream, ensure_ascii=False), encoding="utf-8")
    summary = stream["summary"]
    say(f"stream: {summary['applications']:,} applications with "
        f"{summary['events']:,} history events; {summary['fraud']} from fraud rings, "
        f"{summary['blacklisted']} blacklisted, {summary['malformed_id']} malformed ID numbers")
    return dict(summary)


def _assemble_project(source: Path, target: Path, models: Mapping[str, Path],
                      stream_path: Path) -> None:
    """The source project with the trained models and the demo's list entries. The
    service's own folder (.fengkong) and the source's models are not copied."""
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns(".fengkong", "__pycache__"))
    for name, folder in models.items():
        destination = target / "models" / name
        if destination.exists():
            shutil.rmtree(destination)
        shutil.copytree(folder, destination)
    stream = json.loads(stream_path.read_text(encoding="utf-8"))
    (target / "lists").mkdir(exist_ok=True)
    (target / "lists" / DEMO_LIST).write_text(stream["blacklist"], encoding="utf-8")


__all__ = ["DemoSettings", "PreparedDemo", "example_project", "flow_model_inputs",
           "prepare"]
