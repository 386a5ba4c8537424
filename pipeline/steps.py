"""The registry of pipeline steps a recipe can name, each with a typed parameter dataclass.

A recipe YAML lists steps as ``{step: NAME, params: {...}}``; ``build_step`` checks the
params against the step's dataclass (unknown keys and wrong types are errors naming the
recipe file and the step) and builds the datatrove step. Filters are wrapped in
``MarkingFilter`` so what they reject is written out with its reason, not discarded.
Step names are versioned by meaning: when a step's behaviour changes, it gets a new name.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from glassworks.config import from_dict
from glassworks.errors import ConfigError
from glassworks.pipeline.bff import BffConfig
from glassworks.pipeline.extract import ExtractConfig


@dataclass(frozen=True)
class StepType:
    params: type
    build: Callable[[Any], Any]
    doc: str


STEPS: dict[str, StepType] = {}


def register(name: str, params: type):
    """Decorator: make ``build(params) -> PipelineStep`` available to recipes as ``name``."""

    def wrap(build: Callable[[Any], Any]) -> Callable[[Any], Any]:
        if name in STEPS:
            raise ValueError(f"step {name!r} is registered twice")
        STEPS[name] = StepType(params=params, build=build, doc=(build.__doc__ or "").strip())
        return build

    return wrap


def build_step(name: str, params: dict[str, Any], origin: str):
    """The datatrove step for one recipe entry; ``origin`` names it in errors."""
    if name not in STEPS:
        raise ConfigError(f"{origin}: unknown step {name!r} (known: {', '.join(sorted(STEPS))})")
    step_type = STEPS[name]
    return step_type.build(from_dict(step_type.params, params, origin=origin))


def marking(inner, label: str):
    from glassworks.pipeline.documents import MarkingFilter

    return MarkingFilter(inner, label)


# --- steps of the web and text recipes -------------------------------------------------


@dataclass(frozen=True)
class SourceLabelParams:
    source: str  # the label every document of this source carries in metadata.source


@register("source_label", SourceLabelParams)
def _source_label(p: SourceLabelParams):
    """Set metadata.source on every document (added by the runner at a source's first stage)."""
    from glassworks.pipeline.documents import SourceLabel

    return SourceLabel(p.source)


@register("html_extract_resiliparse", ExtractConfig)
def _html_extract(p: ExtractConfig):
    """HTML to text with resiliparse (DCLM's extractor)."""
    from glassworks.pipeline.extract import HtmlExtractor

    return HtmlExtractor(p)


@dataclass(frozen=True)
class NormalizeParams:
    form: str = "NFC"  # Unicode normal form


@register("unicode_normalize", NormalizeParams)
def _normalize(p: NormalizeParams):
    """Unicode normalisation (NFC by default)."""
    from glassworks.pipeline.normalize import UnicodeNormalizer

    return UnicodeNormalizer(p.form)


@dataclass(frozen=True)
class ShortDocumentParams:
    min_chars: int = 200  # SlimPajama: at least 200 characters without punctuation and whitespace


@register("short_document_filter", ShortDocumentParams)
def _short(p: ShortDocumentParams):
    """SlimPajama's short-document rule."""
    from glassworks.pipeline.normalize import ShortDocumentFilter

    return marking(ShortDocumentFilter(p.min_chars), "short_document_filter")


@dataclass(frozen=True)
class LangIdParams:
    model_path: Path | None = None  # default: lid.176.ftz shipped by spacy-fastlang


@register("fasttext_langid", LangIdParams)
def _langid(p: LangIdParams):
    """fastText lid.176 language label and score."""
    from glassworks.pipeline.langid import FastTextLanguageId

    return FastTextLanguageId(p.model_path)


@dataclass(frozen=True)
class KeepLanguagesParams:
    languages: tuple[str, ...] = ("en",)  # ISO 639 codes to keep
    min_score: float = 0.65  # minimum fastText probability of the label


@register("language_filter", KeepLanguagesParams)
def _keep_languages(p: KeepLanguagesParams):
    """Keep documents in the given languages with a confident label."""
    from glassworks.pipeline.langid import LanguageIdFilter

    return marking(LanguageIdFilter(p.languages, p.min_score), "language_filter")



@register("bff_dedup", BffConfig)
def _bff(p: BffConfig):
    """DCLM's BFF: Bloom-filter paragraph and document dedup (13-grams, threshold 0.8)."""
    from glassworks.pipeline.bff import BffDedup

    return BffDedup(p)
