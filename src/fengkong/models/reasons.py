"""The reason-code catalogue: adverse-action reasons in Chinese and English.

A decision that refuses or prices up an applicant must say why, in words a customer and a
regulator understand and in codes an analyst can count. The catalogue (``reason_codes.yaml``
beside this module, extended by a project's own file) has two parts: ``codes`` — code,
Chinese and English text — and ``features`` — which code each model feature stands for,
by exact name or glob pattern. Several features may share a code ("many recent
applications" covers every application-velocity variable).

Training resolves every feature of the model once (:meth:`ReasonCatalogue.resolve`) and
stores the result in the artifact's metadata, so a scorer explains itself without the
catalogue. A feature the catalogue does not cover gets ``R90`` (other credit factors) and
is listed in :attr:`Resolution.unmapped`, which training reports, so nothing is silently
unexplained.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from fengkong.errors import ModelArtifactError

DEFAULT_CATALOGUE = Path(__file__).with_name("reason_codes.yaml")
OTHER = "R90"  # the code of a feature the catalogue does not name


@dataclass(frozen=True, slots=True)
class ReasonCode:
    code: str
    zh: str
    en: str

    def to_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}


@dataclass(frozen=True, slots=True)
class Resolution:
    """The reason code of every feature of a model, and the features that fell back to
    :data:`OTHER` because the catalogue does not name them."""

    reasons: dict[str, ReasonCode]
    unmapped: tuple[str, ...]

    def to_dict(self) -> dict[str, dict[str, str]]:
        """The ``reasons`` part of a model's metadata: feature -> code, zh, en."""
        return {feature: code.to_dict() for feature, code in self.reasons.items()}


class ReasonCatalogue:
    """Reason codes and the features they stand for."""

    def __init__(self, codes: Mapping[str, ReasonCode], features: Mapping[str, str]) -> None:
        unknown = sorted({code for code in features.values() if code not in codes})
        if unknown:
            raise ModelArtifactError(f"the reason-code catalogue maps features to codes it does "
                                     f"not define: {', '.join(unknown)}")
        if OTHER not in codes:
            raise ModelArtifactError(f"the reason-code catalogue must define {OTHER} "
                                     "(other credit factors)")
        self.codes = dict(codes)
        self.exact = {name: code for name, code in features.items() if not _is_pattern(name)}
        self.patterns = [(name, code) for name, code in features.items() if _is_pattern(name)]

    @classmethod
    def load(cls, *extra: str | Path | Mapping[str, Any]) -> ReasonCatalogue:
        """The default catalogue, then each of ``extra`` (a YAML file or a parsed mapping of
        the same shape) on top: a later file's codes and feature entries win."""
        codes: dict[str, ReasonCode] = {}
        features: dict[str, str] = {}
        for source in (DEFAULT_CATALOGUE, *extra):
            document = _read(source)
            for code, text in (document.get("codes") or {}).items():
                if not isinstance(text, Mapping) or not {"zh", "en"} <= set(text):
                    raise ModelArtifactError(f"reason code {code!r} in {_label(source)} needs "
                                             "'zh' and 'en' texts")
                codes[str(code)] = ReasonCode(str(code), str(text["zh"]), str(text["en"]))
            # A later source's entries come first, so that they win over earlier patterns.
            features = {**{str(k): str(v) for k, v in (document.get("features") or {}).items()},
                        **{k: v for k, v in features.items()
                           if k not in (document.get("features") or {})}}
        return cls(codes, features)

    def code_of(self, feature: str) -> ReasonCode | None:
        """The reason code of ``feature``, or ``None`` when the catalogue does not name it."""
        code = self.exact.get(feature)
        if code is None:
            code = next((code for pattern, code in self.patterns
                         if fnmatch.fnmatchcase(feature, pattern)), None)
        return None if code is None else self.codes[code]

    def resolve(self, features: Iterable[str],
                overrides: Mapping[str, str] | None = None) -> Resolution:
        """The code of every feature (``overrides``: feature -> code, first)."""
        reasons: dict[str, ReasonCode] = {}
        unmapped: list[str] = []
        for feature in features:
            if overrides and feature in overrides:
                if overrides[feature] not in self.codes:
                    raise ModelArtifactError(f"reason code {overrides[feature]!r} given for "
                                             f"feature {feature!r} is not in the catalogue")
                reasons[feature] = self.codes[overrides[feature]]
                continue
            code = self.code_of(feature)
            if code is None:
                unmapped.append(feature)
                code = self.codes[OTHER]
            reasons[feature] = code
        return Resolution(reasons, tuple(unmapped))


def _is_pattern(name: str) -> bool:
    return any(char in name for char in "*?[")


def _label(source: str | Path | Mapping[str, Any]) -> str:
    return "the given catalogue" if isinstance(source, Mapping) else str(source)


def _read(source: str | Path | Mapping[str, Any]) -> Mapping[str, Any]:
    if isinstance(source, Mapping):
        return source
    path = Path(source)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ModelArtifactError(f"cannot read the reason-code catalogue {path}: "
                                 f"{error.strerror}") from None
    except yaml.YAMLError as error:
        raise ModelArtifactError(f"the reason-code catalogue {path} is not valid YAML: "
                                 f"{error}") from None
    if not isinstance(document, Mapping):
        raise ModelArtifactError(f"the reason-code catalogue {path} must be a mapping with "
                                 "'codes' and 'features'")
    return document
