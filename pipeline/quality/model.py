"""A fastText quality classifier as DCLM applies it: one line per document, P(``__label__hq``).

DCLM's scorer joins a page's lines with a space (``" ".join(text.strip().splitlines())``),
asks fastText for its prediction and takes the probability of ``__label__hq`` as the page's
score; the training text gets the same treatment here, so both sides see the same tokens.
No lowercasing and no tokenising beyond fastText's own whitespace split: DCLM does neither.

Works with any of the packages that install a ``fasttext`` module (fasttext-numpy2-wheel,
fasttext-wheel, the predict-only fasttext-predict): it calls the compiled ``predict`` of
``_FastText`` directly, one text at a time, which all of them share. Their Python wrappers
differ: under NumPy 2, fasttext-wheel's ``predict`` fails on a single text, and its list form
returns the top probability for every label.
"""

from __future__ import annotations

from pathlib import Path

from glassworks.errors import GlassworksError
from glassworks.provenance.hashing import sha256_file

HQ, CC = "__label__hq", "__label__cc"


def dclm_text(text: str) -> str:
    """The single line DCLM feeds fastText: strip the text, then join its lines with a space."""
    return " ".join(text.strip().splitlines())


class QualityModel:
    """A loaded classifier named by its file's sha256 (first 16 hex digits in ``id``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            what = "is a directory, not a model file" if self.path.is_dir() else "quality model not found"
            raise GlassworksError(f"{self.path}: {what}")
        self.sha256, _ = sha256_file(self.path)
        self.id = self.sha256[:16]
        from fasttext.FastText import _FastText  # the constructor that skips load_model's console warning

        try:
            self._model = _FastText(model_path=str(self.path))
        except (ValueError, RuntimeError, MemoryError) as exc:
            raise GlassworksError(f"{self.path}: not a fastText model ({type(exc).__name__}: {exc})") from None
        labels = sorted(label for _, label in self._predict(""))
        if HQ not in labels:
            raise GlassworksError(f"{self.path}: a fastText model without the label {HQ} "
                                  f"(it has {', '.join(labels) or 'none'})")

    def _predict(self, line: str) -> list[tuple[float, str]]:
        """(probability, label) for every label of the model."""
        return self._model.f.predict(line + "\n", -1, 0.0, "strict")

    def scores(self, texts: list[str]) -> list[float]:
        """P(``__label__hq``) of each text, clipped to [0, 1] (fastText adds 1e-5 before its log)."""
        out = []
        for text in texts:
            probs = {label: prob for prob, label in self._predict(dclm_text(text))}
            out.append(min(1.0, max(0.0, float(probs.get(HQ, 0.0)))))
        return out
