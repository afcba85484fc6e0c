"""The ``fengkong`` command line.

One function per subcommand, registered in :data:`COMMANDS` with the :func:`command`
decorator; :func:`main` builds the argparse parser from that table and dispatches. A later
subcommand (``serve``, ``train``, ``features``, ``audit``...) is one more decorated function::

    @command("serve", "run the HTTP decision service", arg("--port", type=int, default=8000))
    def serve(args: argparse.Namespace) -> int:
        ...

Every mistake a user can make ends the same way: one line ``error: ...`` on stderr naming
what is wrong and where (file, JSON line and column, graph node, expression and character
position) and exit status 2 — never a traceback. Results go to stdout as JSON, so the
command composes with ``jq`` and shell pipes.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import metadata
from pathlib import Path
from typing import Any, NoReturn, TextIO

from fengkong.errors import FengkongError

__all__ = ["COMMANDS", "Command", "ProgressBar", "UsageError", "arg", "command", "main"]

#: Exit status for every user error (bad arguments, files, JSON, graphs, expressions).
EXIT_USER_ERROR = 2

Runner = Callable[[argparse.Namespace], int]


class UsageError(Exception):
    """A mistake in how the command was called: missing file, malformed JSON, wrong type."""


@dataclass(frozen=True, slots=True)
class Argument:
    """The positional and keyword arguments of one ``parser.add_argument`` call."""

    flags: tuple[str, ...]
    options: dict[str, Any] = field(default_factory=dict)


def arg(*flags: str, **options: Any) -> Argument:
    """Declare a subcommand argument exactly as ``ArgumentParser.add_argument`` takes it."""
    return Argument(flags, options)


@dataclass(frozen=True, slots=True)
class Command:
    """One subcommand: its name, one-line help, arguments and the function that runs it."""

    name: str
    help: str
    arguments: tuple[Argument, ...]
    run: Runner
    epilog: str | None = None


#: The subcommands by name, in the order ``fengkong --help`` lists them.
COMMANDS: dict[str, Command] = {}


def command(
    name: str, help: str, *arguments: Argument, epilog: str | None = None
) -> Callable[[Runner], Runner]:
    """Register the decorated function as subcommand ``name``."""

    def register(run: Runner) -> Runner:
        COMMANDS[name] = Command(name, help, arguments, run, epilog)
        return run

    return register


# -- input and output ----------------------------------------------------------------------


def _reject_constant(name: str) -> NoReturn:
    # Python's json accepts NaN and Infinity; they are not JSON and ZEN has no such numbers.
    raise ValueError(f"{name} is not valid JSON")


def parse_json(text: str, what: str) -> Any:
    """Parse JSON text; a syntax error becomes a :class:`UsageError` with line and column."""
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except json.JSONDecodeError as error:
        raise UsageError(
            f"invalid JSON in {what}: {error.msg} at line {error.lineno}, column {error.colno}"
        ) from None
    except ValueError as error:
        raise UsageError(f"invalid JSON in {what}: {error}") from None
    except RecursionError:
        raise UsageError(f"invalid JSON in {what}: nested too deeply") from None


def read_text(source: str, what: str) -> tuple[str, str]:
    """Read ``source`` (a path, or ``-`` for stdin); returns the text and a label for errors."""
    if source == "-":
        return sys.stdin.read(), f"{what} (stdin)"
    path = Path(source)
    try:
        return path.read_text(encoding="utf-8"), f"{what} file {source}"
    except FileNotFoundError:
        raise UsageError(f"{what} file not found: {source}") from None
    except IsADirectoryError:
        raise UsageError(f"{what} file is a directory: {source}") from None
    except UnicodeDecodeError as error:
        raise UsageError(
            f"{what} file {source} is not UTF-8 text (byte {error.start})"
        ) from None
    except OSError as error:
        raise UsageError(f"cannot read {what} file {source}: {error.strerror}") from None


def read_json(source: str, what: str) -> Any:
    """Read and parse a JSON document from a path or ``-`` (stdin)."""
    text, label = read_text(source, what)
    return parse_json(text, label)


def json_object(value: Any, what: str) -> dict[str, Any]:
    """Decision inputs and expression contexts are JSON objects; say so if it is not one."""
    if not isinstance(value, dict):
        raise UsageError(f"{what} must be a JSON object, got {_json_type(value)}")
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else type(value).__name__


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def write_json(value: Any, pretty: bool = False, stream: TextIO | None = None) -> None:
    """Print ``value`` as one JSON document (UTF-8, so Chinese text stays readable)."""
    out = stream if stream is not None else sys.stdout
    out.write(json.dumps(value, ensure_ascii=False, indent=2 if pretty else None,
                         default=_json_default))
    out.write("\n")


# -- subcommands -----------------------------------------------------------------------------


@command(
    "eval",
    "evaluate a JDM decision graph on one input and print the response as JSON",
    arg("graph", metavar="GRAPH", help="decision graph: a JDM JSON file, or - for stdin"),
    arg("-i", "--input", required=True, metavar="FILE",
        help="input (the application) as a JSON object file, or - for stdin"),
    arg("--trace", action="store_true", help="include the per-node trace in the response"),
    arg("--pretty", action="store_true", help="indent the JSON output"),
    epilog="example:\n  fengkong eval examples/credit-approval.json "
           "--input examples/credit-approval.input.json --pretty",
)
def eval_command(args: argparse.Namespace) -> int:
    """``fengkong eval GRAPH --input FILE``: Zen-shaped ``{result, performance[, trace]}``."""
    if args.graph == "-" and args.input == "-":
        raise UsageError("GRAPH and --input cannot both be read from stdin (-)")
    document = json_object(read_json(args.graph, "graph"), "the graph")
    context = json_object(read_json(args.input, "input"), "the input")

    import fengkong

    # A path (not the parsed document) lets the loader resolve sub-decisions beside the file;
    # stdin has no directory, so the parsed document is passed instead.
    decision = fengkong.load(document if args.graph == "-" else Path(args.graph))
    response = decision.evaluate(context, trace=args.trace)
    write_json(response, pretty=args.pretty)
    return 0


@command(
    "expr",
    "evaluate one ZEN expression (or unary test) and print the result as JSON",
    arg("expression", metavar="EXPR", help="the expression, e.g. 'applicant.age >= 18'"),
    arg("-c", "--context", metavar="JSON",
        help="variables as a JSON object: inline text, @FILE, or - for stdin (default {})"),
    arg("-u", "--unary", action="store_true",
        help="EXPR is a unary test (as in a decision-table cell) checked against $"),
    arg("--value", metavar="JSON", help="the value of $ for --unary (same as $ in --context)"),
    arg("--pretty", action="store_true", help="indent the JSON output"),
    epilog="examples:\n"
           "  fengkong expr 'applicant.age >= 18' --context '{\"applicant\": {\"age\": 32}}'\n"
           "  fengkong expr --unary '[18..60]' --value 35",
)
def expr_command(args: argparse.Namespace) -> int:
    """``fengkong expr EXPR``: the expression's value, or true/false for a unary test."""
    context: dict[str, Any] = {}
    if args.context is not None:
        text = args.context
        what = "--context"
        if text == "-" or text.startswith("@"):
            text, what = read_text("-" if text == "-" else text[1:], "--context")
        context = json_object(parse_json(text, what), "--context")
    if args.value is not None:
        context = {**context, "$": parse_json(args.value, "--value")}

    from fengkong.expr import evaluate, evaluate_unary

    if args.unary:
        result: Any = evaluate_unary(args.expression, context)
    else:
        result = evaluate(args.expression, context)
    write_json(result, pretty=args.pretty)
    return 0


def package_version() -> str:
    """The installed distribution's version, else the source tree's (run via PYTHONPATH)."""
    try:
        return metadata.version("fengkong")
    except metadata.PackageNotFoundError:
        from fengkong import __version__

        return __version__


@command(
    "features",
    "list the features a strategy project declares, or backfill them over history",
    arg("action", choices=["list", "backfill"],
        help="list: names and descriptions; backfill: point-in-time features of historical "
             "applications from event logs, to Parquet"),
    arg("project", metavar="PROJECT", type=Path,
        help="a strategy project folder (its features/*.yaml) or one feature spec YAML file"),
    arg("--json", action="store_true", help="list: one JSON object per feature"),
    arg("--events", action="append", metavar="TYPE=FILE",
        help="backfill: the event log of one event type, Parquet or CSV (repeat per type)"),
    arg("--applications", metavar="FILE",
        help="backfill: the applications (id, as-of time, entity keys), Parquet or CSV"),
    arg("-o", "--out", metavar="FILE", help="backfill: the Parquet file to write"),
    arg("--features", action="extend", nargs="+", metavar="GLOB", dest="patterns",
        help="backfill: only the features matching these globs (default: all)"),
    arg("--id-column", default="application_id",
        help="backfill: the applications' id column (default: application_id)"),
    arg("--time-column", default="as_of",
        help="backfill: the applications' as-of time column (default: as_of)"),
    arg("--workers", type=int, default=os.cpu_count() or 1,
        help="backfill: processes sharing the work by entity key (default: one per core)"),
    epilog="examples:\n  fengkong features list examples/features/credit.yaml\n"
           "  fengkong features backfill examples/features/credit.yaml \\\n"
           "      --events application=application.parquet --events login=login.csv \\\n"
           "      --applications applications.parquet --out features.parquet "
           "--features 'phone.*'",
)
def features_command(args: argparse.Namespace) -> int:
    """``fengkong features list PROJECT``: every feature's name and description;
    ``fengkong features backfill PROJECT ...``: see :func:`backfill_command`."""
    backfill_options = {"--events": args.events, "--applications": args.applications,
                        "--out": args.out, "--features": args.patterns}
    if args.action == "backfill":
        return backfill_command(args)
    given = [flag for flag, value in backfill_options.items() if value is not None]
    if given:
        raise UsageError(f"{given[0]} belongs to 'fengkong features backfill', not 'list'")
    from fengkong.features.spec import format_feature_table, list_features  # yaml only here

    infos = list_features(args.project)
    if args.json:
        for info in infos:
            print(json.dumps(info.to_dict(), ensure_ascii=False))
    else:
        print(format_feature_table(infos))
    return 0


def backfill_command(args: argparse.Namespace) -> int:
    """``fengkong features backfill``: the features of every application in
    ``--applications`` as of its time, from the ``--events`` logs, written to ``--out``;
    a progress bar on stderr, a JSON summary on stdout."""
    if args.json:
        raise UsageError("--json belongs to 'fengkong features list', not 'backfill'")
    for flag, value in (("--events", args.events), ("--applications", args.applications),
                        ("--out", args.out)):
        if not value:
            raise UsageError(f"'fengkong features backfill' needs {flag}")
    if args.workers < 1:
        raise UsageError(f"--workers must be at least 1, not {args.workers}")
    events: dict[str, str] = {}
    for given in args.events:
        event_type, sep, path = given.partition("=")
        if not sep or not event_type or not path:
            raise UsageError(f"--events takes TYPE=FILE (application=apps.parquet), "
                             f"not {given!r}")
        if event_type in events:
            raise UsageError(f"--events gives two files for {event_type!r}")
        events[event_type] = path

    import time

    from fengkong.features.backfill import backfill_files
    from fengkong.features.spec import load_project

    start = time.perf_counter()
    report = backfill_files(load_project(args.project), events, args.applications, args.out,
                            features=args.patterns or ["*"], id_column=args.id_column,
                            time_column=args.time_column, workers=args.workers,
                            progress=ProgressBar("backfill", "applications"))
    write_json({"out": str(report.path), "applications": report.rows,
                "features": len(report.features), "workers": report.workers,
                "seconds": round(time.perf_counter() - start, 1)})
    return 0


@command(
    "train",
    "train a scorecard or a gradient-boosted model and write its artifact folder",
    arg("kind", choices=["scorecard", "gbdt"],
        help="scorecard: optimal binning + logistic regression + points scaling (optbinning); "
             "gbdt: LightGBM gradient-boosted trees"),
    arg("--dataset", metavar="NAME",
        help="a public data set: german_credit, credit_data, lending_club or ulb_fraud "
             "(fetched from the package registry into a cache on first use)"),
    arg("--data", metavar="FILE", help="or your own data: a CSV or Parquet file"),
    arg("--target", metavar="COLUMN", help="--data: the outcome column (1 = bad, 0 = good)"),
    arg("--bad", metavar="VALUE",
        help="--data: the target's value for a bad outcome, when it is not 1 (e.g. bad)"),
    arg("-o", "--out", required=True, type=Path, metavar="DIR",
        help="the model artifact folder to write"),
    arg("--name", help="the model's name (default: the folder's name)"),
    arg("--features", nargs="+", metavar="COLUMN",
        help="the feature columns (default: every column but the target and time column)"),
    arg("--test-size", type=float, default=0.3, help="holdout share (default 0.3)"),
    arg("--seed", type=int, default=0, help="seed of the stratified split (default 0)"),
    arg("--time-column", metavar="COLUMN",
        help="split by time: the earliest rows train, the latest are the holdout "
             "(default for ulb_fraud: Time)"),
    arg("--reason-codes", type=Path, metavar="FILE",
        help="a reason-code catalogue YAML extending fengkong's own"),
    arg("--set", action="append", default=[], metavar="PARAM=VALUE", dest="parameters",
        help="a trainer parameter, e.g. --set pdo=20 --set n_estimators=300 (repeatable)"),
    epilog="examples:\n  fengkong train scorecard --dataset german_credit --out models/german\n"
           "  fengkong train gbdt --dataset ulb_fraud --out models/fraud\n"
           "  fengkong train scorecard --data loans.csv --target default --out models/app",
)
def train_command(args: argparse.Namespace) -> int:
    """``fengkong train KIND``: progress on stderr, the holdout summary as JSON on stdout."""
    if (args.dataset is None) == (args.data is None):
        raise UsageError("give either --dataset NAME or --data FILE")
    if args.data is None and (args.target or args.bad):
        raise UsageError("--target and --bad go with --data")
    parameters = dict(_parameter(text) for text in args.parameters)

    try:
        from fengkong.models.training import Split, train
    except ImportError as error:
        raise UsageError(f"training needs the models extra ({error.name} is missing): "
                         "pip install 'fengkong[models]'") from None
    from fengkong.models.reasons import ReasonCatalogue

    trainer = _trainer(args.kind, parameters)
    overrides: dict[str, str] = {}
    time_column = args.time_column
    if args.dataset is not None:
        from fengkong.datasets.public import load_dataset

        dataset = load_dataset(args.dataset)
        frame, target, source = dataset.frame, dataset.target, args.dataset
        overrides = dict(dataset.reason_codes)
        time_column = time_column or dataset.time_column
    else:
        frame, target, source = _read_table(args.data), args.target, str(args.data)
        if not target:
            raise UsageError("--data needs --target COLUMN")
        if target not in frame.columns:
            raise UsageError(f"{args.data} has no column {target!r}")
        if args.bad is not None:
            frame[target] = (frame[target].astype(str) == args.bad).astype("int8")
    catalogue = ReasonCatalogue.load(*([args.reason_codes] if args.reason_codes else []))
    report = train(trainer, frame, target, args.out, name=args.name, features=args.features,
                   split=Split(args.test_size, args.seed, time_column), dataset=source,
                   reasons=catalogue, reason_overrides=overrides,
                   progress=lambda step: print(f"train: {step}", file=sys.stderr, flush=True))
    if report.unmapped_reasons:
        print(f"train: {len(report.unmapped_reasons)} feature(s) have no reason code in the "
              f"catalogue and explain as R90 (other credit factors): "
              f"{', '.join(report.unmapped_reasons[:10])}", file=sys.stderr)
    write_json(report.summary(), pretty=True)
    return 0


def _parameter(text: str) -> tuple[str, Any]:
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise UsageError(f"--set takes PARAM=VALUE, not {text!r}")
    try:
        return name, json.loads(value)
    except json.JSONDecodeError:
        return name, value  # plain text, e.g. --set monotonic_trend=auto_asc_desc


def _trainer(kind: str, parameters: dict[str, Any]) -> Any:
    import importlib
    import inspect

    module, name = {"scorecard": ("scorecard", "ScorecardTrainer"),
                    "gbdt": ("gbdt", "GBDTTrainer")}[kind]
    cls = getattr(importlib.import_module(f"fengkong.models.{module}"), name)
    known = [name for name in inspect.signature(cls).parameters if name != "self"]
    unknown = [name for name in parameters if name not in known]
    if unknown:
        raise UsageError(f"the {kind} trainer has no parameter {unknown[0]!r} "
                         f"(it has {', '.join(known)})")
    try:
        return cls(**parameters)
    except (TypeError, ValueError) as error:
        raise UsageError(f"bad {kind} trainer parameter: {error}") from None


def _read_table(path: str) -> Any:
    try:
        import pandas
    except ImportError:
        raise UsageError("reading --data needs pandas: pip install 'fengkong[models]'") from None
    if not Path(path).is_file():
        raise UsageError(f"no data file {path}")
    try:
        if path.endswith((".parquet", ".pq")):
            return pandas.read_parquet(path)
        return pandas.read_csv(path)
    except (ValueError, OSError, ImportError) as error:
        raise UsageError(f"cannot read {path}: {error}") from None


@command(
    "score",
    "score one application with a model artifact and print score, PD and reasons",
    arg("model", type=Path, metavar="MODEL", help="a model artifact folder (fengkong train)"),
    arg("-i", "--input", required=True, metavar="FILE",
        help="the application's feature values as a JSON object file, or - for stdin"),
    arg("--reasons", type=int, default=4, help="how many adverse reasons (default 4)"),
    arg("--pretty", action="store_true", help="indent the JSON output"),
    epilog="example:\n  fengkong score models/german --input applicant.json --pretty",
)
def score_command(args: argparse.Namespace) -> int:
    from fengkong.models.scorers import load_model

    row = json_object(read_json(args.input, "input"), "the input")
    scorer = load_model(args.model)
    write_json(scorer.score(row, reasons=args.reasons).to_dict(), pretty=args.pretty)
    return 0


@command(
    "init",
    "create a strategy project that decides and passes its tests right away (offline)",
    arg("directory", type=Path, metavar="DIR", help="the new project's folder (new or empty)"),
    arg("--name", help="the project's name (default: the folder's name)"),
    epilog="example:\n  fengkong init consumer-loan && fengkong test consumer-loan",
)
def init_command(args: argparse.Namespace) -> int:
    """``fengkong init DIR``: the project template written into DIR."""
    from fengkong.project import init_project

    project = init_project(args.directory, args.name)
    print(f"created strategy project {project.name!r} in {args.directory} "
          f"(version {project.version[:12]})")
    print(f"next: fengkong test {args.directory}")
    return 0


@command(
    "test",
    "run a strategy project's tests (tests/*.yaml): exit 0 if all pass, 1 if some fail",
    arg("project", type=Path, nargs="?", default=Path("."), metavar="PROJECT",
        help="the project folder (default: the current folder)"),
    arg("-k", dest="pattern", metavar="PATTERN",
        help="only the tests whose file::name contains PATTERN (or matches it as a glob)"),
    epilog="examples:\n  fengkong test consumer-loan\n  fengkong test . -k velocity",
)
def test_command(args: argparse.Namespace) -> int:
    """``fengkong test PROJECT``: one line per test, failures in detail, a summary."""
    from fengkong.project import Project, format_report, run_tests

    report = run_tests(Project.load(args.project), args.pattern)
    print(format_report(report))
    return 0 if report.ok else 1


@command(
    "project",
    "describe a strategy project: name, version (content hash), flows, features, models",
    arg("action", choices=["info"], help="info: the project's summary"),
    arg("project", type=Path, nargs="?", default=Path("."), metavar="PROJECT",
        help="the project folder (default: the current folder)"),
    arg("--json", action="store_true", help="the summary as JSON, with every file's SHA-256"),
    epilog="example:\n  fengkong project info consumer-loan",
)
def project_command(args: argparse.Namespace) -> int:
    """``fengkong project info PROJECT``: what the project holds and its version."""
    from fengkong.project import Project

    project = Project.load(args.project)
    info = project.info()
    if args.json:
        write_json({**info, "files": project.manifest()}, pretty=True)
        return 0
    flows = ", ".join(f"{flow} (default)" if flow == project.default_flow else flow
                      for flow in info["flows"])
    events = ", ".join(f"{flow} -> {event}" for flow, event in info["events"].items())
    rows = [("name", info["name"]), ("version", info["version"]), ("flows", flows),
            ("features", f"{info['features']:,}"), ("events", events or "none"),
            ("models", ", ".join(info["models"]) or "none"),
            ("lists", ", ".join(info["lists"]) or "none"), ("files", str(info["files"]))]
    for label, value in rows:
        print(f"{label:<9} {value}")
    return 0


#: The store ``fengkong audit`` opens by default: the decision server's own default, a
#: SQLite file in the ``.fengkong`` folder of the project it serves (run it from there).
DEFAULT_DB = "sqlite:///.fengkong/fengkong.db"


@command(
    "audit",
    "verify the decision log's hash chain: exit 0 if intact, 1 if not",
    arg("action", choices=["verify"],
        help="verify: recompute every entry's hash and link, and compare the heads"),
    arg("--db", default=DEFAULT_DB, metavar="URL",
        help="the store: sqlite:///PATH, a file path, or postgresql://user@host/db "
             f"(default: {DEFAULT_DB})"),
    arg("--tenant", help="only this tenant's chain (default: every tenant)"),
    arg("--json", action="store_true", help="the report as JSON"),
    epilog="examples:\n  fengkong audit verify\n"
           "  fengkong audit verify --db postgresql://risk@db.internal/fengkong --json",
)
def audit_command(args: argparse.Namespace) -> int:
    """``fengkong audit verify``: a one-line summary (ship its head hash to a log kept
    outside the database) and one line per problem."""
    from fengkong.store import open_store

    with open_store(args.db, create=False) as store:
        report = store.verify_chain(args.tenant)
    if args.json:
        write_json(report.to_dict(), pretty=True)
    else:
        print(report.summary())
        for problem in report.problems:
            print(f"  {problem}")
    return 0 if report.ok else 1


@command(
    "serve",
    "run a strategy project as the HTTP decision service (OpenAPI at /openapi.json)",
    arg("--project", type=Path, default=Path("."), metavar="DIR",
        help="the strategy project folder (default: the current folder)"),
    arg("--db", metavar="URL",
        help="the decision store: sqlite:///PATH or postgresql://user@host/db (default: "
             "SQLite in the project's .fengkong/ folder)"),
    arg("--host", default="127.0.0.1", help="the address to listen on (default 127.0.0.1)"),
    arg("--port", type=int, default=8000, help="the port (default 8000)"),
    arg("--max-body", type=int, default=1024 * 1024, metavar="BYTES",
        help="the largest request body accepted (default 1 MiB)"),
    epilog="examples:\n  fengkong serve --project examples/consumer-loan\n"
           "  fengkong serve --project . --db postgresql://postgres@127.0.0.1/test --port 9000",
)
def serve_command(args: argparse.Namespace) -> int:
    """``fengkong serve``: one process, until interrupted (see docs/service.md)."""
    try:
        from fengkong.service.app import ServiceSettings
        from fengkong.service.server import serve
    except ImportError as missing:
        raise UsageError(f"the decision service needs its extra: pip install "
                         f"'fengkong[service]' ({missing})") from None
    settings = ServiceSettings(project=args.project, db=args.db, max_body_bytes=args.max_body)
    print(f"fengkong: serving {args.project} on http://{args.host}:{args.port} "
          f"(OpenAPI at /openapi.json)", file=sys.stderr)
    serve(settings, host=args.host, port=args.port)
    return 0


class ProgressBar:
    """Progress of a long job on stderr: a bar redrawn in place on a terminal, else (a log
    file, CI) a plain line at most every ``interval`` seconds."""

    def __init__(self, task: str, unit: str, stream: TextIO | None = None,
                 interval: float = 10.0) -> None:
        import time

        self._clock = time.perf_counter
        self.task = task
        self.unit = unit
        self.stream = stream if stream is not None else sys.stderr
        self.interactive = self.stream.isatty()
        self.interval = 0.2 if self.interactive else interval
        self.start = self._clock()
        self.shown = self.start

    def __call__(self, done: int, total: int) -> None:
        now = self._clock()
        finished = done >= total
        if now - self.shown < self.interval and not (finished and self.interactive):
            return
        self.shown = now
        elapsed = now - self.start
        rate = done / elapsed if elapsed > 0 else 0.0
        share = done / total if total else 1.0
        left = f", {_duration((total - done) / rate)} left" if rate and not finished else ""
        line = (f"{self.task} {share:4.0%} {done:,}/{total:,} {self.unit}, {rate:,.0f}/s, "
                f"{_duration(elapsed)}{left}")
        if self.interactive:
            filled = int(share * 30)
            self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {line}\033[K"
                              + ("\n" if finished else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()


def _duration(seconds: float) -> str:
    minutes, seconds = divmod(round(seconds), 60)
    return f"{minutes}m {seconds:02d}s" if minutes else f"{seconds}s"


@command(
    "demo",
    "prepare the consumer-loan demo (data, models), serve it on SQLite and replay applications",
    arg("--workdir", type=Path, default=Path("build/demo"), metavar="DIR",
        help="where the data, models, project copy, database and server log go "
             "(default build/demo; a second run reuses what is up to date)"),
    arg("-n", "--applications", type=int, default=300, metavar="N",
        help="how many applications to replay (default 300)"),
    arg("--port", type=int, help="the server's port (default: a free one)"),
    arg("--keep-running", action="store_true",
        help="leave the server running after the summary (its URL is printed)"),
    arg("--project", type=Path, metavar="DIR",
        help="the strategy project to run (default: examples/consumer-loan)"),
    arg("--size", choices=["default", "small"], default="default",
        help="small: fewer synthetic applicants and a shorter stream, for tests and slow "
             "machines"),
    epilog="examples:\n  fengkong demo\n  fengkong demo -n 1000 --keep-running\n"
           "  fengkong demo --project my-loan --workdir build/my-demo",
)
def demo_command(args: argparse.Namespace) -> int:
    """``fengkong demo``: progress on stderr, decisions and the summary on stdout; exit 1
    when the log does not hold every decision or its chain does not verify."""
    if args.applications < 1:
        raise UsageError("--applications must be at least 1")
    try:
        from fengkong.demo import DemoSettings
        from fengkong.demo.replay import run_demo
    except ImportError as missing:
        raise UsageError(f"the demo needs the models, service and offline extras: pip "
                         f"install 'fengkong[models,service,offline]' ({missing})") from None

    def say(line: str) -> None:
        print(f"demo: {line}", file=sys.stderr, flush=True)

    bars: list[ProgressBar] = []

    def backfill_progress(done: int, total: int) -> None:
        if not bars:  # started with the backfill, so that its rate and time are its own
            bars.append(ProgressBar("demo: backfill", "applications"))
        bars[0](done, total)

    settings = DemoSettings.small() if args.size == "small" else DemoSettings()
    run = run_demo(args.workdir, args.applications, args.port, args.keep_running,
                   progress=say, settings=settings, project=args.project,
                   backfill_progress=backfill_progress)
    return 0 if run.ok else 1


@command("version", "print the fengkong version")
def version_command(args: argparse.Namespace) -> int:
    python = ".".join(str(part) for part in sys.version_info[:3])
    print(f"fengkong {package_version()} (Python {python})")
    return 0


# -- parser and dispatch -------------------------------------------------------------------


class _Parser(argparse.ArgumentParser):
    """argparse, except that a usage error is one ``error:`` line like every other error."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USER_ERROR, f"error: {message} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with one subparser per registered command."""
    parser = _Parser(
        prog="fengkong",
        description="fengkong (风控): real-time credit-risk decisions with JDM decision "
                    "graphs and ZEN expressions.",
        epilog="Run 'fengkong COMMAND --help' for a command's options. "
               "Errors print one line on stderr and exit with status 2.",
    )
    parser.add_argument("--version", action="version",
                        version=f"fengkong {package_version()}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for spec in COMMANDS.values():
        # Raw formatting keeps the examples in an epilog on their own lines.
        sub = subparsers.add_parser(spec.name, help=spec.help, description=spec.help,
                                    epilog=spec.epilog,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        for argument in spec.arguments:
            sub.add_argument(*argument.flags, **argument.options)
        sub.set_defaults(run=spec.run)
    return parser


def _one_line(error: BaseException) -> str:
    return " ".join(str(error).split())


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``fengkong`` console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        status: int = args.run(args)
    except (FengkongError, UsageError) as error:
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``fengkong ... | head``): not an error worth a traceback.
        # Point stdout at devnull so the interpreter's final flush does not fail again.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    return status


if __name__ == "__main__":
    sys.exit(main())
