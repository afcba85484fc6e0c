"""Model artifact folders: what training writes and what a scorer loads.

A model is a folder a reviewer can read and git can diff::

    models/application-scorecard/
      metadata.json    kind, features, target, training data hash, library versions,
                       calibration, reason codes, and the SHA-256 of every other file
      points.csv       the points table (scorecard) -- or model.txt (LightGBM, gbdt)
      metrics.json     holdout AUC, KS, Gini, Brier score, calibration table
      model_card.md    the model card, with roc.png, ks.png, scores.png, calibration.png

:func:`write_artifact` writes the files and then ``metadata.json`` (last, atomically), so a
folder with metadata is complete. :func:`read_artifact` checks every file against the
SHA-256 the metadata recorded and refuses a folder where one was changed, removed or added
to the list: a scorer never runs on a points table or a model file other than the one its
metrics and card describe.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fengkong.errors import ModelArtifactError

METADATA = "metadata.json"
FORMAT = 1  # the artifact layout version; bumped when a reader could misread a folder


@dataclass(frozen=True, slots=True)
class Artifact:
    """A verified artifact folder: its ``path`` and its parsed ``metadata``."""

    path: Path
    metadata: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.metadata["kind"])

    @property
    def name(self) -> str:
        return str(self.metadata["name"])

    def file(self, name: str) -> Path:
        """The path of one of the artifact's files (which :func:`read_artifact` verified)."""
        if name not in self.metadata["files"]:
            raise ModelArtifactError(f"the model artifact {self.path} has no file {name!r} "
                                     f"(it has {', '.join(sorted(self.metadata['files']))})")
        return self.path / name

    def read_text(self, name: str) -> str:
        return self.file(name).read_text(encoding="utf-8")


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_artifact(directory: str | Path, metadata: Mapping[str, Any],
                   files: Mapping[str, bytes | str]) -> Artifact:
    """Write ``files`` (name -> content; text is written as UTF-8) into ``directory`` and
    then ``metadata.json`` with ``format`` and ``files`` (name -> SHA-256) added.

    ``metadata`` must hold at least ``name`` and ``kind``. Files of an earlier model in the
    same folder that are not in ``files`` are left alone but are not part of the new model.
    """
    path = Path(directory)
    for key in ("name", "kind"):
        if key not in metadata:
            raise ModelArtifactError(f"model metadata needs {key!r}")
    if METADATA in files:
        raise ModelArtifactError(f"{METADATA} is written from the metadata, not given as a file")
    path.mkdir(parents=True, exist_ok=True)
    digests: dict[str, str] = {}
    for name, content in files.items():
        if Path(name).name != name:
            raise ModelArtifactError(f"artifact file names are plain names, not paths: {name!r}")
        data = content.encode("utf-8") if isinstance(content, str) else content
        (path / name).write_bytes(data)
        digests[name] = hashlib.sha256(data).hexdigest()
    document = {"format": FORMAT, **metadata, "files": dict(sorted(digests.items()))}
    text = json.dumps(document, ensure_ascii=False, indent=2, sort_keys=False) + "\n"
    temporary = path / f".{METADATA}.tmp"
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path / METADATA)
    return Artifact(path, document)


def read_artifact(directory: str | Path) -> Artifact:
    """Read and verify an artifact folder; :class:`ModelArtifactError` says what is wrong."""
    path = Path(directory)
    metadata_path = path / METADATA
    if not path.is_dir():
        raise ModelArtifactError(f"no model artifact folder at {path}")
    if not metadata_path.is_file():
        raise ModelArtifactError(f"{path} is not a model artifact: it has no {METADATA}")
    try:
        metadata = json.loads(metadata_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelArtifactError(f"{metadata_path} is not valid JSON: {error}") from None
    if not isinstance(metadata, dict):
        raise ModelArtifactError(f"{metadata_path} must hold a JSON object")
    for key in ("format", "name", "kind", "files"):
        if key not in metadata:
            raise ModelArtifactError(f"{metadata_path} has no {key!r}")
    if metadata["format"] != FORMAT:
        raise ModelArtifactError(f"{metadata_path} is artifact format {metadata['format']!r}; "
                                 f"this fengkong reads format {FORMAT}")
    files = metadata["files"]
    if not isinstance(files, dict):
        raise ModelArtifactError(f"{metadata_path}: 'files' must map file names to SHA-256")
    for name, expected in files.items():
        file_path = path / name
        if Path(name).name != name or not file_path.is_file():
            raise ModelArtifactError(f"model {metadata['name']!r}: the file {name} its metadata "
                                     f"lists is missing from {path}")
        actual = sha256_file(file_path)
        if actual != expected:
            raise ModelArtifactError(
                f"model {metadata['name']!r} refuses to load: {name} does not match its "
                f"metadata (SHA-256 {actual[:12]}..., recorded {str(expected)[:12]}...); "
                "the file was changed after training — retrain or restore it")
    return Artifact(path, metadata)
