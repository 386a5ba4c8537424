"""The registry of pipeline steps a recipe can name, each with a typed parameter dataclass.

A recipe YAML lists steps as ``{step: NAME, params: {...}}``; ``build_step`` checks the
params against the step's dataclass (unknown keys and wrong types are errors naming the
recipe file and the step) and builds the datatrove step. Filters are wrapped in
``MarkingFilter`` so what they reject is written out with its reason, not discarded.
Step names are versioned by meaning: when a step's behaviour changes, it gets a new name.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal

from glassworks.config import from_dict
from glassworks.errors import ConfigError
from glassworks.pipeline.bff import BffConfig
from glassworks.pipeline.code.allowlist import AllowlistConfig
from glassworks.pipeline.code.filters import CodeFilterConfig
from glassworks.pipeline.code.languages import LanguageFilterConfig
from glassworks.pipeline.extract import ExtractConfig
from glassworks.pipeline.filters.refinedweb import RefinedWebConfig
from glassworks.pipeline.quality.filter import QualityScoresParams, QualityThresholdParams, TopFractionParams


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


def build_step(name: str, params: dict[str, Any], origin: str, anchors: dict[str, Path] | None = None):
    """The datatrove step for one recipe entry; ``origin`` names it in errors.

    A string parameter may start from an anchor: ``{run}/raw/code`` (inside the run
    directory) or ``{recipe}/stack-optout.txt`` (beside the recipe file). The recipe then
    stays the same for every run, and so does the config its manifests record.
    """
    if name not in STEPS:
        raise ConfigError(f"{origin}: unknown step {name!r} (known: {', '.join(sorted(STEPS))})")
    step_type = STEPS[name]
    for anchor, where in (anchors or {}).items():
        params = {k: v.replace(f"{{{anchor}}}", str(where)) if isinstance(v, str) else v for k, v in params.items()}
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


def shipped_quality_model() -> Path:
    from glassworks.pipeline.quality.shipped import SHIPPED_MODEL

    return Path(SHIPPED_MODEL)


@register("fasttext_quality_threshold", QualityThresholdParams)
def _quality(p: QualityThresholdParams):
    """DCLM's fastText quality filter, keeping score >= threshold."""
    from glassworks.pipeline.quality.filter import FastTextQualityFilter

    return FastTextQualityFilter(p.model_path or shipped_quality_model(), threshold=p.threshold)


@register("refinedweb_lines", RefinedWebConfig)
def _refinedweb(p: RefinedWebConfig):
    """DCLM's RefinedWeb line modifiers; drops a page that lost more than 5% of its words."""
    from glassworks.pipeline.filters.refinedweb import RefinedWebLines

    return RefinedWebLines(p)


@dataclass(frozen=True)
class HeuristicParams:
    words: Literal["fast", "spacy"] = "fast"  # English word splitter: glassworks' (same decisions) or spaCy's
    overrides: dict[str, Any] = field(default_factory=dict)  # thresholds passed to the datatrove filter


def _heuristic(factory_name: str):
    def build(p: HeuristicParams):
        from glassworks.pipeline.filters import heuristics

        words = heuristics.FAST_ENGLISH if p.words == "fast" else heuristics.SPACY_ENGLISH
        return marking(getattr(heuristics, factory_name)(words, **p.overrides), factory_name)

    build.__doc__ = f"datatrove's {factory_name.replace('_', ' ')} filter with its published thresholds."
    return build


for _factory in ("gopher_quality", "gopher_repetition", "c4_quality", "fineweb_quality"):
    register(_factory, HeuristicParams)(_heuristic(_factory))


# --- steps of the code recipe (The Stack) ------------------------------------------------


@dataclass(frozen=True)
class NoParams:
    pass


@dataclass(frozen=True)
class CodeTreeParams:
    root: str = "{run}/raw/code"  # the code tree on disk: licence files are read from there


@register("code_license_detect", CodeTreeParams)
def _license_detect(p: CodeTreeParams):
    """Repository licence to an SPDX expression, from licence files and headers."""
    from glassworks.pipeline.code.licenses import LicenseDetector

    return LicenseDetector(p.root)


@register("code_license_allowlist", AllowlistConfig)
def _allowlist(p: AllowlistConfig):
    """Keep files whose repository licence the permissive allowlist satisfies."""
    from glassworks.pipeline.code.allowlist import LicenseAllowlistFilter

    return marking(LicenseAllowlistFilter(p), "license")


@register("code_language_tag", NoParams)
def _language_tag(p: NoParams):
    """Programming language from extension, file name or shebang."""
    from glassworks.pipeline.code.languages import LanguageTagger

    return LanguageTagger()


@register("code_language_filter", LanguageFilterConfig)
def _code_language(p: LanguageFilterConfig):
    """Keep files in the configured programming languages."""
    from glassworks.pipeline.code.languages import LanguageFilter

    return marking(LanguageFilter(p), "code_language")


def _code_filter(cls_name: str, label: str):
    def build(p: CodeFilterConfig):
        from glassworks.pipeline.code import filters

        return marking(getattr(filters, cls_name)(p), label)

    build.__doc__ = f"The Stack's {label.replace('_', ' ')} filter."
    return build


for _name, _cls in (("max_line_length", "MaxLineLengthFilter"), ("avg_line_length", "AvgLineLengthFilter"),
                    ("alphanum_fraction", "AlphanumFractionFilter"), ("autogenerated", "AutoGeneratedFilter")):
    register(f"code_{_name}_filter", CodeFilterConfig)(_code_filter(_cls, _name))


@dataclass(frozen=True)
class OptOutParams:
    path: str  # opt-out list: one `repo` or `repo/path-glob` per line, `#` comments


@register("code_opt_out", OptOutParams)
def _opt_out(p: OptOutParams):
    """Drop repositories and paths whose owners opted out."""
    from glassworks.pipeline.code.optout import OptOutFilter

    return marking(OptOutFilter(p.path), "opt_out")


@register("code_redact_pii", NoParams)
def _redact(p: NoParams):
    """Replace emails, public IP addresses and secrets by placeholders."""
    from glassworks.pipeline.code.redact import Redactor

    return Redactor()


@register("code_exact_dedup", NoParams)
def _exact(p: NoParams):
    """Mark files repeating an earlier file's content (within a task, in repo/path order)."""
    from glassworks.pipeline.code.dedup import ExactDedup

    return ExactDedup()


@register("fasttext_quality_scores", QualityScoresParams)
def _quality_scores(p: QualityScoresParams):
    """Pass 1 of a top-fraction cut: score every document, drop nothing."""
    from glassworks.pipeline.quality.filter import FastTextQualityFilter

    return FastTextQualityFilter(p.model_path or shipped_quality_model(), scores_dir=p.scores_dir)


@register("quality_top_fraction", TopFractionParams)
def _top_fraction(p: TopFractionParams):
    """Pass 2: keep the best-scoring fraction over all tasks (ties broken by id)."""
    from glassworks.pipeline.quality.filter import TopFraction

    return TopFraction(p.scores_dir, p.fraction)
